//! Experiment runs end to end on the embedded digits with tiny models: exact resume (in
//! process and after a real SIGKILL), metrics files, damaged checkpoints, plots, error messages.

mod common;

use common::{text, ttfs};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::progress::{Mode, Progress};
use ttfs::run_dir::{RunDir, BEST, CSV_HEADER, LAST};
use ttfs::train::Trainer;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp("test", name)
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
fn resume_from_the_first_epoch_writes_the_best_checkpoint() {
    let cfg = tiny_config(2, 0);
    let dir = tmp("best-after-resume");
    let rd = RunDir::open(&dir).unwrap();
    // Stopped in the middle of epoch 1: no epoch has been evaluated, so no best yet.
    let mut a = Trainer::new(&cfg).unwrap();
    let mut bytes = Vec::new();
    a.run_epoch(None, |tr, s| {
        if s.progress.steps == 5 {
            bytes = Checkpoint::capture(tr, s.progress.clone(), f64::NEG_INFINITY)
                .to_bytes()
                .unwrap();
            return false;
        }
        true
    });
    let ck = Checkpoint::from_bytes(&bytes, "mem").unwrap();
    assert_eq!(
        ck.best_accuracy,
        f64::NEG_INFINITY,
        "stored as {}",
        ck.best_accuracy
    );
    let mut b = Trainer::new(&ck.config).unwrap();
    ck.restore(&mut b).unwrap();
    let ms = ttfs::run::train(
        &mut b,
        &rd,
        Some(&ck),
        &mut Progress::with_mode(Mode::Quiet),
    )
    .unwrap();
    let best = Checkpoint::load(&dir.join(BEST)).expect("no best.safetensors after the resume");
    let top = ms.iter().map(|m| m.eval.accuracy).fold(0.0, f64::max);
    assert_eq!(best.best_accuracy, top);
    // `eval` of the run directory says which checkpoint it read.
    let o = ttfs(&["eval", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("best.safetensors") && s.contains("best"), "{s}");
    // Older versions wrote "no best yet" as NaN: read as no best yet, too.
    let dir2 = tmp("best-after-resume-nan");
    let mut old = ck.clone();
    old.best_accuracy = f64::NAN;
    let mut c = Trainer::new(&old.config).unwrap();
    old.restore(&mut c).unwrap();
    let rd2 = RunDir::open(&dir2).unwrap();
    ttfs::run::train(
        &mut c,
        &rd2,
        Some(&old),
        &mut Progress::with_mode(Mode::Quiet),
    )
    .unwrap();
    assert!(
        dir2.join(BEST).is_file(),
        "no best.safetensors after a NaN best"
    );
    std::fs::remove_dir_all(&dir2).unwrap();
    std::fs::remove_file(dir.join(BEST)).unwrap();
    let o = ttfs(&["eval", dir.to_str().unwrap()]);
    let s = text(&o);
    assert!(
        s.contains("last.safetensors") && s.contains("no best.safetensors"),
        "{s}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_of_the_validation_split_repeats_what_training_reported() {
    let dir = tmp("eval-validation");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec![
        "train",
        "--epochs",
        "4",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--set", "data.validation=300"]);
    let o = ttfs(&args);
    assert!(o.status.success(), "{}", text(&o));
    let rec = &RunDir::open(&out).unwrap().read_metrics().unwrap()[3];
    assert_eq!(rec.metrics.eval_split, "validation");
    let o = ttfs(&[
        "eval",
        out.join(LAST).to_str().unwrap(),
        "--split",
        "validation",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let want = format!(
        "accuracy {:.2}% on 300 samples",
        100.0 * rec.metrics.eval.accuracy
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&want),
        "{want}\n{}",
        text(&o)
    );
    // The training samples are the 1437 - 300 the run trained on.
    let o = ttfs(&["eval", out.to_str().unwrap(), "--split", "train"]);
    assert!(text(&o).contains("on 1137 samples"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
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

/// Send `sig` (`INT`, `TERM`) to a child process, as Ctrl-C or `kill` would.
#[cfg(unix)]
fn send(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} failed");
}

/// Wait until `path` exists (a child process writes it).
fn wait_for(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
#[cfg(unix)]
fn sigint_and_sigterm_save_the_epoch_and_the_run_resumes_exactly() {
    let dir = tmp("signals");
    // Steps of a few ms, so that the signal most likely lands in the middle of an epoch.
    let args = [
        "train",
        "--epochs",
        "4",
        "--quiet",
        "--threads",
        "1",
        "--set",
        "model.spec=fc1024 if fc10",
        "--set",
        "train.batch_size=128",
    ];
    let a = dir.join("uninterrupted");
    let o = Command::new(BIN)
        .args(args)
        .args(["--out", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let b = dir.join(sig);
        let child = Command::new(BIN)
            .args(args)
            .args(["--out", b.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // After the first epoch's checkpoint the signal handler is in place; a little later
        // the second epoch is under way.
        wait_for(&b.join(LAST));
        std::thread::sleep(Duration::from_millis(40));
        send(&child, sig);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains(&format!("SIG{sig}"))
                && e.contains(&format!("ttfs train --resume {}", b.display())),
            "{e}"
        );
        let ck = Checkpoint::load(&b.join(LAST)).unwrap();
        assert!(ck.epoch < 4, "the run ended before the signal");
        eprintln!(
            "SIG{sig}: saved at epoch {} after {} steps of it",
            ck.epoch + 1,
            ck.epoch_progress.steps
        );
        let o = ttfs(&["train", "--resume", b.to_str().unwrap(), "--quiet"]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            state_bits(&a.join(LAST)),
            state_bits(&b.join(LAST)),
            "SIG{sig} at epoch {} step {} of the epoch, then resumed: other parameters",
            ck.epoch + 1,
            ck.epoch_progress.steps
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(unix)]
fn a_second_signal_exits_at_once() {
    use std::io::BufRead;
    let dir = tmp("two-signals");
    let out = dir.join("r");
    // One step an epoch of about 0.3 s (all 1437 images, latency-coded so that fc1 runs on
    // every step): the second signal lands while the first step is still running.
    let mut child = Command::new(BIN)
        .args(["train", "--epochs", "5", "--threads", "1"])
        .args([
            "--set",
            "model.spec=fc1024 if fc10",
            "--set",
            "model.encoding=latency",
        ])
        .args(["--set", "train.batch_size=1437"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Lines of stdout and stderr as they come.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let mut readers = Vec::new();
    let stdout = Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>;
    let stderr = Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>;
    for pipe in [stdout, stderr] {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        }));
    }
    drop(tx);
    let mut seen = String::new();
    let mut wait_line = |prefix: &str| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no line starting with {prefix:?} in:\n{seen}"));
        seen += &line;
        seen.push('\n');
        if line.starts_with(prefix) {
            break;
        }
    };
    // The signal handler is installed right after the run's first line.
    wait_line("run ");
    std::thread::sleep(Duration::from_millis(100));
    send(&child, "INT");
    wait_line("SIGINT: finishing the current step");
    send(&child, "INT");
    let status = child.wait().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    let rest: Vec<String> = rx.iter().collect();
    let all = format!("{seen}{}", rest.join("\n"));
    assert_eq!(status.code(), Some(130), "{all}");
    assert!(
        all.contains("second signal") && !all.contains("--resume"),
        "{all}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoints_are_also_written_by_time() {
    let dir = tmp("time-checkpoints");
    let out = dir.join("r");
    // Every 6 ms instead of every 10 minutes; no step-based checkpoints.
    let mut child = Command::new(BIN)
        .args(["train", "--epochs", "2", "--quiet", "--threads", "1"])
        .args([
            "--set",
            "model.spec=fc256 if fc10",
            "--set",
            "train.batch_size=16",
        ])
        .args(["--set", "train.checkpoint_every_minutes=0.0001"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&out.join(LAST));
    let first = Checkpoint::load(&out.join(LAST)).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        first.epoch == 0 && first.epoch_progress.steps > 0,
        "the first checkpoint is at epoch {} step {}: not written by time within epoch 1",
        first.epoch,
        first.epoch_progress.steps
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_directory_is_restarted_or_overwritten_on_request() {
    let dir = tmp("overwrite");
    let out = dir.join("r");
    let o_s = out.to_str().unwrap();
    let mut args: Vec<&str> = vec!["train", "--epochs", "1", "--quiet", "--out", o_s];
    args.extend_from_slice(TINY);
    // A run that stopped before its first checkpoint: --resume says how to start it again,
    // and that works.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("config.toml"), Config::default().to_toml()).unwrap();
    let o = ttfs(&["train", "--resume", o_s]);
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success() && e.contains("--config"), "{e}");
    let again = format!("{o_s}/config.toml");
    let o = ttfs(&[
        "train", "--config", &again, "--out", o_s, "--epochs", "1", "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("starting again"), "{}", text(&o));
    // A run with checkpoints: refused, then overwritten with --overwrite.
    let o = ttfs(&args);
    assert!(
        !o.status.success() && text(&o).contains("--overwrite"),
        "{}",
        text(&o)
    );
    args.push("--overwrite");
    let o = ttfs(&args);
    assert!(o.status.success(), "{}", text(&o));
    let recs = RunDir::open(&out).unwrap().read_metrics().unwrap();
    assert_eq!(recs.len(), 1, "the old run's metrics were kept");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_that_learn_nothing_say_so() {
    let dir = tmp("sanity");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec![
        "train",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--set", "optimizer.lr=1e6"]);
    let o = ttfs(&args);
    assert!(!o.status.success(), "{}", text(&o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(e.matches("at chance level").count(), 3, "{e}");
    // No training, no "final" accuracy.
    let o = ttfs(&[
        "train",
        "--epochs",
        "0",
        "--out",
        dir.join("zero").to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("final test accuracy"), "{}", text(&o));
    assert!(text(&o).contains("train.epochs is 0"), "{}", text(&o));
    // A finished run has nothing to resume.
    let mut args: Vec<&str> = vec![
        "train",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--overwrite",
    ];
    args.extend_from_slice(TINY);
    assert!(ttfs(&args).status.success());
    let o = ttfs(&["train", "--resume", out.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).contains("finished its 1 epochs"),
        "{}",
        text(&o)
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
    for n in [
        "curves",
        "curves_hours",
        "first_spike_hist",
        "accuracy_vs_time",
        "raster",
    ] {
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
fn plots_of_a_sparse_network_say_what_they_show() {
    let dir = tmp("plots");
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--epochs",
        "2",
        "--quiet",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "model.spec=fc1024 if fc10",
        "--set",
        "model.init_gain=0.6",
        "--set",
        "model.decoder.kind=membrane",
        "--set",
        "model.decoder.scale=10",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ttfs(&["plot", out.to_str().unwrap(), "--sample", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let svg =
        |n: &str| std::fs::read_to_string(out.join("plots").join(format!("{n}.svg"))).unwrap();
    let best =
        ttfs::plot::best_epoch(&RunDir::open(&out).unwrap().read_metrics().unwrap()).unwrap();
    assert!(svg("curves").contains(&format!("best test: epoch {}", best.0)));
    // The never-fired share as a number; panels named as everywhere (`layer_names.rs`), the
    // raster's with the synapse whose spikes they are.
    let h = svg("first_spike_hist");
    assert!(
        h.contains("if1 (spikes): ") && h.contains("% never fired"),
        "{h}"
    );
    // The raster: which sample, the fired neurons in order, how many are left out.
    let r = svg("raster");
    assert!(r.contains("Spikes of test sample 2: label"), "raster title");
    let line = r
        .lines()
        .find(|l| l.starts_with("if1 (fc1): "))
        .expect("if1 panel");
    assert!(
        line.contains("units fired, by first spike") && line.contains("silent"),
        "{line}"
    );
    if !line.contains("more not shown") {
        let fired: usize = line["if1 (fc1): ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(fired <= ttfs::plot::RASTER_UNITS, "{line}");
    }
    // The output potentials have a legend naming the true class.
    assert!(
        r.contains("(true") && r.contains("other classes"),
        "no legend"
    );
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

/// `model.decoder.learn_weights`: the time weights train, are saved with the run, and the
/// saved run evaluates to what training reported. A decoder with fixed weights refuses it.
#[test]
fn learned_time_weights_train_and_are_saved() {
    let dir = tmp("learn-weights");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec!["train", "--epochs", "2", "--quiet"];
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--set", "model.decoder.learn_weights=true"]);
    args.extend_from_slice(&["--set", "model.decoder.exact_time=true"]);
    let o = ttfs(&args);
    assert!(o.status.success(), "{}", text(&o));
    let ck = Checkpoint::load(&out.join(LAST)).unwrap();
    let w = ck
        .params
        .iter()
        .find(|p| p.name == "decoder.time_weights")
        .expect("decoder.time_weights in the checkpoint");
    // T = 8 steps and w[-1]; they moved from the initial 1.25^-t weights.
    let cfg = ttfs::decoder::DecoderConfig::default();
    let start = ttfs::decoder::time_weights(&cfg, 8);
    assert_eq!(w.shape, vec![9]);
    assert!(
        w.data[1..]
            .iter()
            .zip(&start)
            .any(|(a, b)| (a - b).abs() > 1e-3),
        "{:?}",
        w.data
    );
    let rec = &RunDir::open(&out).unwrap().read_metrics().unwrap()[1];
    let o = ttfs(&[
        "eval",
        out.join(LAST).to_str().unwrap(),
        "--split",
        &rec.metrics.eval_split,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let want = format!("accuracy {:.2}%", 100.0 * rec.metrics.eval.accuracy);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&want),
        "{want}\n{}",
        text(&o)
    );
    let o = ttfs(&[
        "train",
        "--set",
        "model.decoder.kind=\"first_spike\"",
        "--set",
        "model.decoder.learn_weights=true",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("learn_weights") && e.contains("FirstSpike"),
        "{e}"
    );
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

/// A small MNIST-format data set: a bright row at the label's height, easy to learn.
fn write_small_mnist(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (split, n) in [("train", 300), ("t10k", 100)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let mut images = vec![0u8; n * 28 * 28];
        for (i, &l) in labels.iter().enumerate() {
            let row = 3 + 2 * l as usize;
            images[i * 784 + row * 28..i * 784 + row * 28 + 28].fill(255);
        }
        let idx = ttfs::data::idx::encode;
        std::fs::write(
            dir.join(format!("{split}-images-idx3-ubyte")),
            idx(&[n, 28, 28], &images),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{split}-labels-idx1-ubyte")),
            idx(&[n], &labels),
        )
        .unwrap();
    }
}

#[test]
fn data_is_found_through_ttfs_data_and_the_folder_is_recorded() {
    let dir = tmp("ttfs-data");
    let root = dir.join("datasets");
    write_small_mnist(&root.join("mnist"));
    let elsewhere = dir.join("cwd");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = |env: Option<&Path>, args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).current_dir(&elsewhere).env_remove("TTFS_DATA");
        if let Some(e) = env {
            c.env("TTFS_DATA", e);
        }
        c.output().unwrap()
    };
    let out = dir.join("r");
    let train = [
        "train",
        "--data",
        "mnist",
        "--epochs",
        "3",
        "--quiet",
        "--threads",
        "1",
        "--set",
        "model.spec=fc32 if fc10",
        "--out",
        out.to_str().unwrap(),
    ];
    // Not found: the error names every place searched.
    let o = run(None, &train);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("data/mnist") && e.contains("TTFS_DATA"),
        "{e}"
    );
    assert!(e.trim().lines().count() == 1, "not one line: {e}");
    // Found under $TTFS_DATA, and recorded in the run directory.
    let o = run(Some(&root), &train);
    assert!(o.status.success(), "{}", text(&o));
    let cmd = std::fs::read_to_string(out.join("command.txt")).unwrap();
    let found = std::fs::canonicalize(root.join("mnist")).unwrap();
    assert!(cmd.contains(&format!("data: {}", found.display())), "{cmd}");
    // `data check` without a folder looks where `train` looks.
    let o = run(Some(&root), &["data", "check", "mnist"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("checking") && s.contains("train: 300 samples"),
        "{s}"
    );
    // `data info` without a name lists the data sets.
    let o = run(None, &["data", "info"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for n in ttfs::data::NAMES {
        assert!(s.contains(n), "{n} missing: {s}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An image folder of `side` x `side` colour images, `per_class` in train/ and a quarter as
/// many in test/ for each of `classes`: a bright row at the class's height over a faint
/// background, easy to learn. Every image is a JPEG, or with `png_too` every other one a PNG.
fn write_image_folder(dir: &Path, classes: &[&str], side: usize, per_class: usize, png_too: bool) {
    for (split, n) in [("train", per_class), ("test", per_class / 4)] {
        for (c, class) in classes.iter().enumerate() {
            let folder = dir.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            let row = (2 * c + 1) * side / (2 * classes.len());
            for i in 0..n {
                let mut px: Vec<u8> = (0..3 * side * side)
                    .map(|j| ((i * 7 + j) % 40) as u8)
                    .collect();
                for ch in 0..3 {
                    let at = ch * side * side + row * side;
                    px[at..at + side].fill(255);
                }
                let png = png_too && i % 2 == 0;
                let bytes = ttfs::data::image_folder::encode(
                    [3, side, side],
                    &px,
                    if png { None } else { Some(90) },
                )
                .unwrap();
                let ext = if png { "png" } else { "jpg" };
                std::fs::write(folder.join(format!("{i:04}.{ext}")), bytes).unwrap();
            }
        }
    }
}

#[test]
fn an_image_folder_is_checked_trained_on_and_cached() {
    let dir = tmp("image-folder");
    let data = dir.join("pictures");
    let cache = dir.join("cache");
    write_image_folder(&data, &["square", "circle", "cross"], 8, 40, true);
    std::fs::write(data.join("README.md"), "three shapes").unwrap();
    std::fs::write(data.join("train/circle/.DS_Store"), "").unwrap();
    std::fs::write(data.join("train/circle/notes.txt"), "").unwrap();
    let o = ttfs(&["data", "check", "image-folder", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    for want in [
        "train/: 120 images in 3 class folders",
        "test/: 30 images in 3 class folders",
        "classes (label folder): 0 circle, 1 cross, 2 square",
        "skipped 1 files",
        "decoded 150 images in",
        "train: 120 samples, 3 classes, frame [3, 8, 8] x 1 steps",
        "per class 0:40 1:40 2:40",
    ] {
        assert!(s.contains(want), "{want}: {s}");
    }
    let cache_set = format!("data.cache_dir=\"{}\"", cache.display());
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--set",
        "data.name=image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "model.spec=fc32 if fc3",
        "--set",
        &cache_set,
        "--set",
        "train.batch_size=8",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("final test accuracy"), "{}", text(&o));
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        2,
        "train and test cached"
    );
    // The model's input comes from the images (read back from the cache).
    let o = ttfs(&[
        "info",
        "--data",
        "image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "model.spec=fc32 if fc3",
        "--set",
        &cache_set,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("input [3, 8, 8]"), "{}", text(&o));
    let o = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // A class folder without images stops the run with one line naming it.
    std::fs::create_dir_all(data.join("train/star")).unwrap();
    std::fs::create_dir_all(data.join("test/star")).unwrap();
    let o = ttfs(&[
        "train",
        "--data",
        "image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        dir.join("r2").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.trim().lines().count() == 1, "{e}");
    assert!(e.contains("star: no images"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cifar10_config_trains_on_a_jpeg_copy() {
    let dir = tmp("cifar10-jpeg");
    let data = dir.join("CIFAR-10-images");
    let classes = ttfs::data::cifar::CIFAR10_CLASSES;
    write_image_folder(&data, &classes, 32, 24, false);
    let o = ttfs(&["data", "check", "cifar10", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("the class folders are CIFAR-10's classes in label order")
            && s.contains("frame [3, 32, 32]"),
        "{s}"
    );
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/cifar10.toml");
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        // A small network, all 240 images for training, no crop (it would move the rows).
        "--set",
        "model.spec=fc64 if fc10",
        "--set",
        "data.validation=0",
        "--set",
        "data.augment_crop=0",
        "--set",
        "train.batch_size=8",
        // The config warms up over its first epoch: one epoch would end still warming up.
        "--set",
        "schedule.warmup_epochs=0",
        "--set",
        &format!("data.cache_dir=\"{}\"", dir.join("cache").display()),
        "--epochs",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("final test accuracy"), "{}", text(&o));
    // Nine class folders are not CIFAR-10.
    for split in ["train", "test"] {
        std::fs::remove_dir_all(data.join(split).join("truck")).unwrap();
    }
    let o = ttfs(&["data", "check", "cifar10", data.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("9 class folders, but CIFAR-10 has 10 classes"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn info_knows_each_data_sets_geometry_without_its_files() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (name, frame, decoder) in [
        (
            "cifar10",
            [3, 32, 32],
            "decoder membrane: non-spiking output",
        ),
        (
            "dvs-gesture",
            [2, 32, 32],
            "decoder temporal: fire-once output neurons",
        ),
    ] {
        let p = configs.join(format!("{name}.toml"));
        let o = ttfs(&[
            "info",
            "--config",
            p.to_str().unwrap(),
            "--data-dir",
            "/nonexistent",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.contains(&format!("input {frame:?}")), "{name}: {s}");
        let cfg = Config::load(Some(&p), &[]).unwrap();
        let model =
            ttfs::model::Model::new(&cfg.model, &frame, &mut ttfs::rng::Rng::new(0)).unwrap();
        assert!(
            s.contains(&format!("total: {} parameters", model.num_params())),
            "{name}: {s}"
        );
        assert!(s.contains(decoder) && !s.contains("DecoderConfig"), "{s}");
    }
}

#[test]
fn command_line_mistakes_are_one_clear_line() {
    let o = ttfs(&["train", "--threads", "0"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("at least 1"),
        "{}",
        text(&o)
    );
    let o = ttfs(&["train", "--set", "train.epochs=many"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("expected a whole number") && !e.contains("usize"),
        "{e}"
    );
    let o = ttfs(&["train", "--set", "optimizer.lr=fast"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("expected a number") && !e.contains("f32"), "{e}");
}

/// `ttfs bench --rounds N`: ttfs and the peer take turns, and the summary gives the median of
/// the rounds' ratios. A stand-in peer (a shell script printing the peer's result line) keeps
/// PyTorch out of the test.
#[test]
fn bench_rounds_take_turns_and_summarize_the_ratios() {
    let dir = tmp("bench-rounds");
    std::fs::create_dir_all(&dir).unwrap();
    let peer = dir.join("peer.sh");
    std::fs::write(
        &peer,
        "[ \"$1 $2\" = \"bench mlp\" ] || exit 3\n\
         if [ \"$COMPILE\" = 1 ]; then echo median_ms=1000; else echo median_ms=3000; fi\n",
    )
    .unwrap();
    let o = ttfs(&[
        "bench",
        "--models",
        "mlp",
        "--steps",
        "1",
        "--rounds",
        "3",
        "--threads",
        "1",
        "--python",
        "sh",
        "--peer",
        peer.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(out.matches("ttfs  mlp  median").count(), 3, "{out}");
    assert_eq!(out.matches("compiled").count(), 4, "{out}");
    let ratio = |mode: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.starts_with("summary mlp: ttfs is") && l.contains(mode))
            .unwrap_or_else(|| panic!("no {mode} summary in\n{out}"));
        line.split("ttfs is ")
            .nth(1)
            .unwrap()
            .split('x')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // The stand-in eager peer takes three times the compiled one's time in every round.
    let (eager, compiled) = (ratio("eager"), ratio("compiled"));
    assert!(eager > 1.0 && (eager / compiled - 3.0).abs() < 0.5, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ttfs bench --data`: ttfs trains on the data set's images and the peer is told the same
/// folder (`DATA_DIR`); a set smaller than one batch is refused with its name.
#[test]
fn bench_on_a_data_set_hands_its_folder_to_the_peer() {
    let dir = tmp("bench-data");
    let data = dir.join("mnist");
    write_small_mnist(&data);
    let peer = dir.join("peer.sh");
    std::fs::write(
        &peer,
        format!(
            "[ \"$DATA_DIR\" = \"{}\" ] || exit 4\necho median_ms=10\n",
            data.display()
        ),
    )
    .unwrap();
    let bench = |batch: &str| {
        ttfs(&[
            "bench",
            "--models",
            "mlp,cnn",
            "--steps",
            "2",
            "--batch",
            batch,
            "--threads",
            "1",
            "--data",
            "mnist",
            "--data-dir",
            data.to_str().unwrap(),
            "--python",
            "sh",
            "--peer",
            peer.to_str().unwrap(),
        ])
    };
    let o = bench("16");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.contains("input: mnist training images"), "{out}");
    assert_eq!(out.matches("ttfs is").count(), 4, "{out}");
    let o = bench("400");
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("mnist") && e.contains("fewer than one batch of 400"),
        "{e}"
    );
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
            // A config named for its readout or its layers has that readout and those layers.
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            let kind = format!("{:?}", cfg.model.decoder.kind).to_lowercase();
            for readout in ["temporal", "membrane"] {
                if name.ends_with(&format!("-{readout}")) {
                    assert_eq!(kind, readout, "{name}");
                }
            }
            if name.contains("-fc400-") {
                let layers: Vec<&str> = name.split('-').filter(|t| t.starts_with("fc")).collect();
                let mut want: Vec<String> = layers.iter().map(|l| format!("{l} if")).collect();
                want.push("fc10".into());
                assert_eq!(cfg.model.spec, want.join(" "), "{name}");
            }
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} configs in {}", dir.display());
}

#[test]
fn documentation_points_only_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "configs"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md" || x == "toml") {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for bad in ["../shared", "/work/", "../../"] {
            assert!(!text.contains(bad), "{} mentions {bad}", f.display());
        }
    }
}
