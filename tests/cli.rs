//! Experiment runs end to end on the embedded digits with tiny models: exact resume (in
//! process and after a real SIGKILL), metrics files, damaged checkpoints, plots, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::progress::{Mode, Progress};
use ttfs::run_dir::{RunDir, CSV_HEADER, LAST};
use ttfs::train::Trainer;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

/// A fresh, empty directory under the system temp dir.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ttfs-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ttfs(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run ttfs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Tiny digits run arguments.
const TINY: &[&str] = &[
    "--set",
    "model.spec=fc24 if fc10",
    "--set",
    "train.batch_size=64",
    "--threads",
    "1",
];

fn tiny_config(epochs: usize, every: usize) -> Config {
    Config::from_toml(
        "",
        "t",
        &[
            "model.spec=fc24 if fc10".into(),
            "train.batch_size=64".into(),
            format!("train.epochs={epochs}"),
            format!("train.checkpoint_every_steps={every}"),
            // Augmentation draws from the training generator: resume must re-draw it.
            "data.augment_flip=true".into(),
            "data.augment_crop=1".into(),
        ],
    )
    .unwrap()
}

/// Parameters and optimizer state of a checkpoint, as raw bits.
fn state_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    let ck = Checkpoint::load(path).unwrap();
    let mut v: Vec<(String, Vec<u32>)> = ck
        .params
        .iter()
        .map(|p| (p.name.clone(), p.data.iter().map(|x| x.to_bits()).collect()))
        .collect();
    for (k, m) in ck.opt_m.iter().chain(&ck.opt_v).enumerate() {
        v.push((format!("opt{k}"), m.iter().map(|x| x.to_bits()).collect()));
    }
    v.push(("rng".into(), ck.rng.iter().map(|&x| x as u32).collect()));
    v
}

#[test]
fn resume_mid_epoch_in_process_is_bitwise_identical() {
    let cfg = tiny_config(3, 0);
    // Uninterrupted.
    let da = tmp("inproc-a");
    let rda = RunDir::open(&da).unwrap();
    let mut a = Trainer::new(&cfg).unwrap();
    ttfs::run::train(&mut a, &rda, None, &mut Progress::with_mode(Mode::Quiet)).unwrap();
    // Interrupted in the middle of epoch 2, continued from the checkpoint's bytes.
    let db = tmp("inproc-b");
    let rdb = RunDir::open(&db).unwrap();
    let mut b = Trainer::new(&cfg).unwrap();
    b.train_epoch(|_, _, _, _| {});
    let mut bytes = Vec::new();
    let stopped = b.run_epoch(None, |tr, s| {
        if s.progress.steps == 5 {
            bytes = Checkpoint::capture(tr, s.progress.clone(), 0.0)
                .to_bytes()
                .unwrap();
        }
        // One more step after the checkpoint, which the "crash" loses.
        s.progress.steps < 6
    });
    assert!(stopped.is_none());
    drop(b);
    let ck = Checkpoint::from_bytes(&bytes, "mem").unwrap();
    assert_eq!((ck.epoch, ck.epoch_progress.steps), (1, 5));
    let mut c = Trainer::new(&ck.config).unwrap();
    ck.restore(&mut c).unwrap();
    ttfs::run::train(
        &mut c,
        &rdb,
        Some(&ck),
        &mut Progress::with_mode(Mode::Quiet),
    )
    .unwrap();
    assert_eq!(c.step, a.step);
    assert_eq!(
        state_bits(&da.join(LAST)),
        state_bits(&db.join(LAST)),
        "resumed parameters differ from the uninterrupted run"
    );
    std::fs::remove_dir_all(&da).unwrap();
    std::fs::remove_dir_all(&db).unwrap();
}

#[test]
fn training_is_deterministic_for_a_fixed_thread_count() {
    let cfg = Config::from_toml(
        "",
        "t",
        &[
            "model.spec=conv4k3p1 ap2 if fc10".into(),
            "train.epochs=1".into(),
        ],
    )
    .unwrap();
    let run = || {
        let mut t = Trainer::new(&cfg).unwrap();
        t.train_epoch(|_, _, _, _| {});
        ttfs::checkpoint::params_of(&t.model)
    };
    let (x, y) = (run(), run());
    for (p, q) in x.iter().zip(&y) {
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p.data), bits(&q.data), "{} differs", p.name);
    }
}

#[test]
fn sigkill_and_resume_matches_an_uninterrupted_run() {
    let dir = tmp("kill");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let mut args: Vec<&str> = vec!["train", "--epochs", "8", "--quiet"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--set", "train.checkpoint_every_steps=2"]);
    // The run to kill.
    let b_s = b.to_str().unwrap();
    let mut child = Command::new(BIN)
        .args(&args)
        .args(["--out", b_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !b.join(LAST).exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run finished before it could be killed: make it longer"
    );
    let ck = Checkpoint::load(&b.join(LAST)).unwrap();
    assert!(ck.step < 8 * 23, "killed at step {} of {}", ck.step, 8 * 23);
    let o = ttfs(&["train", "--resume", b_s, "--threads", "1", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    // The uninterrupted run.
    let o = Command::new(BIN)
        .args(&args)
        .args(["--out", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        state_bits(&a.join(LAST)),
        state_bits(&b.join(LAST)),
        "parameters after kill + resume differ from the uninterrupted run (killed at step {})",
        ck.step
    );
    // Metrics hold each epoch exactly once.
    let rd = RunDir::open(&b).unwrap();
    let epochs: Vec<usize> = rd
        .read_metrics()
        .unwrap()
        .iter()
        .map(|r| r.metrics.epoch)
        .collect();
    assert_eq!(epochs, (1..=8).collect::<Vec<_>>());
    let cmd = std::fs::read_to_string(b.join("command.txt")).unwrap();
    assert!(
        cmd.contains("--resume") && cmd.contains("threads: 1"),
        "{cmd}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_directory_metrics_eval_and_plots() {
    let dir = tmp("run");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec!["train", "--epochs", "2", "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    let o = ttfs(&args);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "config.toml",
        "command.txt",
        "metrics.jsonl",
        "metrics.csv",
        "eval.json",
        "last.safetensors",
        "best.safetensors",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The stored config is complete and loads back.
    let cfg = Config::load(Some(&out.join("config.toml")), &[]).unwrap();
    assert_eq!(cfg.model.spec, "fc24 if fc10");
    let cmd = std::fs::read_to_string(out.join("command.txt")).unwrap();
    for k in ["command: ", "ttfs: ", "git: ", "threads: 1", "host: "] {
        assert!(cmd.contains(k), "{k} missing in {cmd}");
    }
    // JSON lines: every line an object with the epoch's metrics.
    let jsonl = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["epoch"].as_u64(), Some(i as u64 + 1));
        assert!(l["train_loss"].as_f64().unwrap().is_finite());
        assert!(l["eval"]["accuracy"].as_f64().unwrap() > 0.0);
        assert_eq!(l["eval"]["accuracy_at"].as_array().unwrap().len(), 8);
        assert!(l["step"].as_u64().unwrap() > 0);
    }
    // CSV: the header, then one row per epoch with a number in every numeric column.
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some(CSV_HEADER));
    let header: Vec<&str> = CSV_HEADER.split(',').collect();
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let cells: Vec<&str> = r.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{r}");
        for (h, c) in header.iter().zip(&cells) {
            if *h != "eval_split" {
                assert!(c.parse::<f64>().is_ok(), "{h} = {c} is not a number");
            }
        }
    }
    // eval prints the report.
    let o = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    for k in [
        "accuracy",
        "spikes/neuron",
        "mean first output spike",
        "decision time",
    ] {
        assert!(s.contains(k), "{k} missing in {s}");
    }
    // ... with the synaptic operations and energy, and the early exit.
    for k in [
        "synaptic operations per sample",
        "0.9 pJ/AC and 4.6 pJ/MAC",
        "the ANN:",
        "early exit",
    ] {
        assert!(s.contains(k), "{k} missing in {s}");
    }
    // The event-driven engine classifies every sample as the dense pass does.
    let o = ttfs(&["eval", out.to_str().unwrap(), "--engine", "events"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    let acc = |prefix: &str| -> String {
        let line = s
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap();
        line.split("accuracy ").nth(1).unwrap()[..6].to_string()
    };
    assert_eq!(acc("dense"), acc("event-driven, all"), "{s}");
    assert!(s.contains("samples/s"), "{s}");
    // NIR export, and its errors.
    let nir = out.join("model.nir");
    let o = ttfs(&[
        "export",
        "nir",
        out.to_str().unwrap(),
        nir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(&std::fs::read(&nir).unwrap()[..8], b"\x89HDF\r\n\x1a\n");
    let o = ttfs(&["export", "nir", "/nonexistent/run", nir.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.starts_with("error: ") && e.contains("does not exist") && e.lines().count() == 1,
        "{e}"
    );
    // info with the run's measured rates.
    let o = ttfs(&["info", "--run", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("synaptic operations"));
    // plot writes PNGs and SVGs.
    let o = ttfs(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for n in ["curves", "first_spike_hist", "accuracy_vs_time", "raster"] {
        let png = std::fs::read(out.join("plots").join(format!("{n}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{n}.png");
        let svg = std::fs::read_to_string(out.join("plots").join(format!("{n}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{n}.svg");
    }
    // A second run into the same directory is refused.
    let o = ttfs(&args);
    assert!(!o.status.success());
    assert!(text(&o).contains("--resume"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_checkpoints_are_rejected_with_a_clear_message() {
    let dir = tmp("damaged");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec!["train", "--epochs", "1", "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    assert!(ttfs(&args).status.success());
    let good = std::fs::read(out.join(LAST)).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let o = ttfs(&["eval", cut.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("cut.safetensors") && e.contains("truncated or damaged"),
        "{e}"
    );
    let mut flipped = good.clone();
    let k = flipped.len() - 3;
    flipped[k] ^= 0x40;
    let bad = dir.join("flipped.safetensors");
    std::fs::write(&bad, &flipped).unwrap();
    let o = ttfs(&["eval", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum"));
    // Resuming from a damaged last checkpoint says so too.
    std::fs::write(out.join(LAST), &good[..100]).unwrap();
    let o = ttfs(&["train", "--resume", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("truncated or damaged"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_tell_the_user_what_to_do() {
    let dir = tmp("errors");
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        "/nonexistent/mnist",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("download") && e.contains("--data-dir"), "{e}");
    assert!(!out.exists(), "a failed start left a run directory");
    let o = ttfs(&["train", "--set", "optimizer.lrr=0.1"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("optimizer.lrr") && e.contains("`lr`") && e.contains("--set"),
        "{e}"
    );
    // A learning rate that blows the network up: stopped, diagnosed, state saved.
    let mut args: Vec<&str> = vec!["train", "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&[
        "--set",
        "optimizer.lr=1e30",
        "--set",
        "optimizer.kind=sgd",
        "--set",
        "model.decoder.kind=membrane",
    ]);
    let o = ttfs(&args);
    assert!(!o.status.success(), "{}", text(&o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("diverged") && e.contains("grad norm"), "{e}");
    assert!(e.contains("optimizer.lr"), "{e}");
    assert!(out.join("diverged.safetensors").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in ["train", "eval", "plot", "info", "export"] {
        let o = ttfs(&[cmd, "--help"]);
        assert!(o.status.success());
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.contains("Examples:") && s.contains("ttfs "), "{cmd}: {s}");
    }
    let o = ttfs(&["--help"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for cmd in ["train", "eval", "plot", "info", "export"] {
        assert!(s.contains(cmd), "{s}");
    }
}

#[test]
fn shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let cfg = Config::load(Some(&p), &[]).unwrap_or_else(|e| panic!("{e:#}"));
            ttfs::spec::parse(&cfg.model.spec).unwrap();
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} configs in {}", dir.display());
}
