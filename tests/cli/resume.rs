//! `ttfs train --resume`, and the run loop resumed in process: bitwise the same parameters as an
//! uninterrupted run, mid-epoch and after a real SIGKILL.

use crate::common::{text, ttfs};
use crate::helpers::{state_bits, tiny_config, tmp, BIN, TINY};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;
use ttfs::progress::{Mode, Progress};
use ttfs::run_dir::{RunDir, BEST, LAST};
use ttfs::train::Trainer;

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
    // Only a validation split chooses a best epoch.
    let mut cfg = tiny_config(2, 0);
    cfg.data.validation = 300;
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
