//! SIGINT and SIGTERM stop a training run after the current step with its state saved, and
//! the run resumes exactly; a second signal exits at once.

use crate::common::{text, ttfs};
use crate::helpers::{state_bits, tmp, wait_for, BIN};
use std::process::{Command, Stdio};
use std::time::Duration;
use ttfs::checkpoint::Checkpoint;
use ttfs::run_dir::LAST;

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
    // One step an epoch of about 1 s (all 1437 images, latency-coded over 32 steps so that fc1
    // runs on every one): the second signal lands while the first step is still running. (At
    // 0.3 s a step, a loaded machine once let the step end and the run save before the test
    // sent the second signal.)
    let mut child = Command::new(BIN)
        .args(["train", "--epochs", "5", "--threads", "1"])
        .args([
            "--set",
            "model.spec=fc1024 if fc10",
            "--set",
            "model.encoding=latency",
            "--set",
            "model.time_steps=32",
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
