//! The GPU code path end to end without a GPU: the `emu` device runs the GPU backend (its CUDA C
//! kernels compiled for this CPU, its launch and GEMM mapping, its device buffers that have no
//! host view) under the same trainer, checkpoints and evaluation as the CPU. And `--device
//! cuda` on a machine without a GPU is a one-line error.

mod common;

use std::process::Command;
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::kernels::Device;
use ttfs::progress::{Mode, Progress};
use ttfs::run_dir::{RunDir, LAST};
use ttfs::train::Trainer;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp("gpu", name)
}

/// Folded conv + average pooling, a neuron, first-spike pooling, a linear readout.
const SPEC: &str = "conv6k3p1 ap2 if conv8k3p1 if fp2 fc10";

fn config(device: &str, epochs: usize, spec: &str) -> Config {
    Config::from_toml(
        "",
        "t",
        &[
            format!("model.spec={spec}"),
            "train.batch_size=64".into(),
            format!("train.epochs={epochs}"),
            format!("train.device=\"{device}\""),
            "data.augment_flip=true".into(),
        ],
    )
    .unwrap()
}

fn params(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    ttfs::checkpoint::params_of(&t.model)
        .into_iter()
        .map(|p| (p.name, p.data))
        .collect()
}

#[test]
fn the_gpu_code_path_trains_like_the_cpu() {
    let run = |device: &str| {
        let mut cfg = config(device, 1, "conv8k3p1 ap2 if fc10");
        cfg.model.decoder.kind = ttfs::decoder::DecoderKind::Membrane;
        // Learned time weights: their gradient is summed on the host from the device's outputs.
        cfg.model.decoder.learn_weights = true;
        cfg.data.augment_flip = false;
        cfg.train.batch_size = 32;
        let mut t = Trainer::new(&cfg).unwrap();
        let m = t.train_epoch(|_, _, _, _| {});
        assert_eq!(t.model.device, device.parse::<Device>().unwrap());
        (m, params(&t))
    };
    let (cpu, cpu_params) = run("cpu");
    let (emu, emu_params) = run("emu");
    assert!(
        (cpu.train_loss - emu.train_loss).abs() < 1e-3 * cpu.train_loss.abs(),
        "train loss cpu {} emu {}",
        cpu.train_loss,
        emu.train_loss
    );
    assert!(
        (cpu.eval.accuracy - emu.eval.accuracy).abs() <= 0.01,
        "accuracy cpu {} emu {}",
        cpu.eval.accuracy,
        emu.eval.accuracy
    );
    assert!(
        cpu.eval.accuracy > 0.5,
        "the net learned: {}",
        cpu.eval.accuracy
    );
    assert!(cpu_params
        .iter()
        .any(|(name, _)| name == "decoder.time_weights"));
    for ((name, a), (_, b)) in cpu_params.iter().zip(&emu_params) {
        let worst = common::worst_relative(a, b);
        assert!(
            worst < 1e-3,
            "{name}: parameters differ by {worst} of their scale"
        );
    }
    // Spike statistics are read back from the device.
    let (c, e) = (&cpu.eval.monitor, &emu.eval.monitor);
    assert_eq!(c.layers.len(), e.layers.len());
    for (a, b) in c.layers.iter().zip(&e.layers) {
        assert!((a.spikes_per_neuron() - b.spikes_per_neuron()).abs() < 0.01);
    }
}

/// The auxiliary membrane loss (`train.aux_membrane_loss`) and an output surrogate of its own
/// run on the GPU backend as on the CPU: the same losses and parameters after a few steps.
#[test]
fn the_aux_membrane_loss_on_the_gpu_path_steps_like_the_cpu() {
    let run = |device: &str| {
        let mut cfg = config(device, 1, "fc32 if fc10");
        cfg.data.augment_flip = false;
        cfg.train.aux_membrane_loss = 1.0;
        cfg.model.output_alpha = Some(2.0);
        cfg.model.decoder.learn_weights = true;
        let mut t = Trainer::new(&cfg).unwrap();
        let idx: Vec<usize> = (0..64).collect();
        let losses: Vec<f32> = (0..4).map(|_| t.train_step(&idx).0).collect();
        (losses, params(&t))
    };
    let (cpu, cpu_params) = run("cpu");
    let (emu, emu_params) = run("emu");
    for (a, b) in cpu.iter().zip(&emu) {
        assert!(
            (a - b).abs() < 1e-4 * a.abs(),
            "losses cpu {cpu:?} emu {emu:?}"
        );
    }
    assert!(cpu_params
        .iter()
        .any(|(name, _)| name == "decoder.time_weights"));
    for ((name, a), (_, b)) in cpu_params.iter().zip(&emu_params) {
        let worst = common::worst_relative(a, b);
        assert!(
            worst < 1e-3,
            "{name}: parameters differ by {worst} of their scale"
        );
    }
}

#[test]
fn resume_on_the_gpu_path_is_bitwise_identical() {
    let cfg = config("emu", 2, SPEC);
    let da = tmp("a");
    let mut a = Trainer::new(&cfg).unwrap();
    let rda = RunDir::open(&da).unwrap();
    ttfs::run::train(&mut a, &rda, None, &mut Progress::with_mode(Mode::Quiet)).unwrap();
    // Stopped after 7 steps of the second epoch, continued from the checkpoint's bytes.
    let mut b = Trainer::new(&cfg).unwrap();
    b.train_epoch(|_, _, _, _| {});
    let mut bytes = Vec::new();
    b.run_epoch(None, |tr, s| {
        if s.progress.steps == 7 {
            bytes = Checkpoint::capture(tr, s.progress.clone(), 0.0)
                .to_bytes()
                .unwrap();
        }
        s.progress.steps < 8
    });
    let ck = Checkpoint::from_bytes(&bytes, "mem").unwrap();
    let mut c = Trainer::new(&ck.config).unwrap();
    ck.restore(&mut c).unwrap();
    let db = tmp("b");
    let rdb = RunDir::open(&db).unwrap();
    ttfs::run::train(
        &mut c,
        &rdb,
        Some(&ck),
        &mut Progress::with_mode(Mode::Quiet),
    )
    .unwrap();
    let bits = |p: &std::path::Path| {
        let ck = Checkpoint::load(p).unwrap();
        let mut v: Vec<u32> = ck
            .params
            .iter()
            .flat_map(|t| t.data.iter().map(|x| x.to_bits()))
            .collect();
        v.extend(
            ck.opt_m
                .iter()
                .chain(&ck.opt_v)
                .flatten()
                .map(|x| x.to_bits()),
        );
        v
    };
    assert_eq!(
        bits(&da.join(LAST)),
        bits(&db.join(LAST)),
        "resumed run differs"
    );
    std::fs::remove_dir_all(&da).unwrap();
    std::fs::remove_dir_all(&db).unwrap();
}

#[test]
fn the_cli_records_the_device_and_eval_runs_on_it() {
    let d = tmp("cli");
    let out = d.join("run");
    let o = Command::new(BIN)
        .args([
            "train",
            "--device",
            "emu",
            "--epochs",
            "1",
            "--threads",
            "1",
            "-q",
        ])
        .args(["--set", "model.spec=fc24 if fc10", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(cfg.contains("device = \"emu\""), "config.toml: {cfg}");
    let acc = |device: &str| {
        let o = Command::new(BIN)
            .args(["eval", "--device", device, "--threads", "1"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = String::from_utf8_lossy(&o.stdout).to_string();
        s.lines()
            .find(|l| l.contains("accuracy"))
            .unwrap_or_else(|| panic!("no accuracy in {s}"))
            .to_string()
    };
    assert_eq!(acc("cpu"), acc("emu"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn cuda_without_a_gpu_is_a_one_line_error() {
    if std::path::Path::new("/dev/nvidia0").exists() {
        eprintln!("this machine has an NVIDIA GPU: nothing to check");
        return;
    }
    for args in [
        &["train", "--device", "cuda", "--epochs", "1"][..],
        &["bench", "--device", "cuda:1", "--steps", "1"][..],
        &["selftest", "--device", "cuda"][..],
    ] {
        let o = Command::new(BIN).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("error: --device cuda"),
            "{args:?}: {err}"
        );
        // Without the feature: how to rebuild; with it: which library or device is missing.
        let says_what = if cfg!(feature = "cuda") {
            err.contains("libcuda") || err.contains("driver") || err.contains("GPU")
        } else {
            err.contains("--features cuda")
        };
        assert!(says_what, "{args:?}: {err}");
    }
}

#[test]
fn data_kept_on_the_device_gives_the_host_assembled_batches() {
    // Augmented training batches (flip, translation, cutout) and evaluation batches, gathered
    // on the (emulated) GPU against assembled on the host: the same run, bit for bit.
    let run = |on_device: bool| {
        let mut cfg = config("emu", 1, "conv4k3p1 ap2 if fc10");
        cfg.data.on_device = on_device;
        cfg.data.augment_crop = 1;
        cfg.data.augment_cutout = 3;
        cfg.data.validation = 100;
        let mut t = Trainer::new(&cfg).unwrap();
        let m = t.train_epoch(|_, _, _, _| {});
        let test = t.evaluate_test();
        (m.train_loss, m.eval.loss, test.loss, params(&t))
    };
    let (a, b) = (run(true), run(false));
    assert_eq!(a.0.to_bits(), b.0.to_bits(), "training loss");
    assert_eq!(a.1.to_bits(), b.1.to_bits(), "validation loss");
    assert_eq!(a.2.to_bits(), b.2.to_bits(), "test loss");
    for ((name, x), (_, y)) in a.3.iter().zip(&b.3) {
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y), "{name}");
    }
}
