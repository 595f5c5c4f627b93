//! `ttfs train`: determinism, checkpoints by time, run directories restarted or overwritten,
//! runs that learn nothing, learned decoder weights, and errors that say what to do.

use crate::common::{text, ttfs};
use crate::helpers::{tmp, wait_for, BIN, TINY};
use std::process::{Command, Stdio};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::run_dir::{RunDir, LAST};
use ttfs::train::Trainer;

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

/// `ttfs train | head -1`: the reader goes away after the first line. The run must neither
/// panic on the closed pipe nor lose its work: it trains to the end, says once on stderr that
/// standard output failed, saves its checkpoints and exits 0.
#[test]
fn a_closed_stdout_does_not_lose_the_run() {
    use std::io::BufRead;
    let dir = tmp("closed-stdout");
    let out = dir.join("r");
    let mut child = Command::new(BIN)
        // 30 epochs, a line each over about half a second: most come after the reader is gone.
        .args(["train", "--threads", "1"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (and the pipe's only read end) is dropped here, as `head -1` exits.
    assert!(first.starts_with("run "), "{first}");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}\n{stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.matches("standard output failed").count(),
        1,
        "{stderr}"
    );
    let last = Checkpoint::load(&out.join(LAST)).unwrap();
    assert_eq!(last.epoch, 30, "the run trained to its end");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn incremental_time_steps_grow_the_model_during_the_run() {
    let dir = tmp("stages");
    let out = dir.join("r");
    let mut args: Vec<&str> = vec![
        "train",
        "--epochs",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "model.time_steps=4",
        "--set",
        "schedule.time_steps=[[0, 1], [2, 4]]",
    ];
    args.extend_from_slice(TINY);
    let o = ttfs(&args);
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(
        said.contains("schedule.time_steps [epochs, T]: [[0, 1], [2, 4]]"),
        "{said}"
    );
    assert!(said.contains("epoch 3: 1 -> 4 time steps"), "{said}");
    // one T per epoch in the metrics; the checkpoint holds the model at its own T
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let ts: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|r| r.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(ts, ["1", "1", "4"]);
    let ck = Checkpoint::load(&out.join(LAST)).unwrap();
    assert_eq!(ck.config.model.time_steps, 4);
    let e = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(text(&e).contains("T=4"), "{}", text(&e));
}
