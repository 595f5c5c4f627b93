//! Data-parallel training over MPI (`--features mpi`), run under `mpirun -np 2` on this machine:
//! the same model as one process, the same bits run to run, a killed rank ends the job, a
//! resumed job ends where an uninterrupted one does, and processes started differently refuse
//! to train together. Needs Open MPI's `mpirun`; without it the tests say why and pass, except
//! under CI (`CI` set), where they fail.
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn mpirun_present() -> bool {
    let ok = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = "mpirun (Open MPI) not found: apt-get install openmpi-bin libopenmpi-dev";
        if std::env::var_os("CI").is_some() {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
    }
    ok
}

fn mpirun(n: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &n.to_string(),
    ]);
    c.arg(BIN);
    c
}

fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp("mpi", name)
}

/// 20 steps of 32 digits, augmented (the draws must not depend on the number of processes);
/// a net that learns in 20 steps (a run at chance level ends with an error).
const TWENTY_STEPS: &[&str] = &[
    "train",
    "-q",
    "--threads",
    "1",
    "--epochs",
    "1",
    "--set",
    "data.train_samples=640",
    "--set",
    "train.batch_size=32",
    "--set",
    "data.augment_crop=1",
    "--set",
    "model.spec=fc256 if fc10",
    "--set",
    "model.decoder.kind=\"membrane\"",
];

fn params(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let ck = Checkpoint::load(&dir.join("last.safetensors")).unwrap();
    ck.params.into_iter().map(|t| (t.name, t.data)).collect()
}

/// Wait for a job to end, at most `limit` after `since` (else fail with `what`): its exit
/// status and what it printed on stderr.
fn wait_for_end(
    child: &mut std::process::Child,
    since: Instant,
    limit: Duration,
    what: &str,
) -> (std::process::ExitStatus, String) {
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(since.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, err)
}

fn run_ok(mut c: Command) -> String {
    let o = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

#[test]
fn two_ranks_train_the_model_one_process_trains() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("same");
    let mut one = Command::new(BIN);
    one.args(TWENTY_STEPS).arg("--out").arg(d.join("one"));
    run_ok(one);
    for (k, name) in ["two", "two-again"].iter().enumerate() {
        let mut two = mpirun(2);
        two.args(TWENTY_STEPS).arg("--out").arg(d.join(name));
        let text = run_ok(two);
        if k == 0 {
            assert!(
                std::fs::read_to_string(d.join(name).join("command.txt"))
                    .unwrap()
                    .contains("ranks: 2"),
                "the run directory records the processes"
            );
            assert!(!text.contains("error"), "{text}");
        }
    }
    let (one, two, again) = (
        params(&d.join("one")),
        params(&d.join("two")),
        params(&d.join("two-again")),
    );
    for ((name, a), (_, b)) in one.iter().zip(&two) {
        let worst = common::worst_relative(a, b);
        assert!(
            worst < 1e-5,
            "{name}: 1 and 2 processes differ by {worst:e}"
        );
    }
    let bits = |p: &[(String, Vec<f32>)]| {
        p.iter()
            .flat_map(|(_, v)| v.iter().map(|x| x.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bits(&two),
        bits(&again),
        "2 processes, twice: different bits"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_killed_rank_ends_the_job_and_resume_matches_an_uninterrupted_run() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("kill");
    let args = [
        "train",
        "-q",
        "--threads",
        "1",
        "--epochs",
        "40",
        "--set",
        "train.checkpoint_every_steps=7",
        "--set",
        "model.spec=fc32 if fc10",
    ];
    let mut whole = mpirun(2);
    whole.args(args).arg("--out").arg(d.join("whole"));
    run_ok(whole);

    let mut job = mpirun(2);
    job.args(args)
        .arg("--out")
        .arg(d.join("cut"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = job.spawn().unwrap();
    let last = d.join("cut").join("last.safetensors");
    let t0 = Instant::now();
    while !last.exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(last.exists(), "no checkpoint appeared");
    // SIGKILL one rank (a child of mpirun): the whole job must end, non-zero, within seconds.
    let ranks = String::from_utf8(
        Command::new("pgrep")
            .args(["-P", &child.id().to_string()])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let victim = ranks
        .lines()
        .last()
        .expect("mpirun has rank processes")
        .to_string();
    let killed = Instant::now();
    Command::new("kill").args(["-9", &victim]).status().unwrap();
    let (status, err) = wait_for_end(
        &mut child,
        killed,
        Duration::from_secs(20),
        "the job did not end after a rank was killed",
    );
    assert!(
        !status.success(),
        "the job exited 0 after a rank was killed"
    );
    println!(
        "job ended {:.1} s after the kill: {}",
        killed.elapsed().as_secs_f64(),
        err.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
    );
    let mut resume = mpirun(2);
    resume
        .args(["train", "-q", "--threads", "1", "--resume"])
        .arg(d.join("cut"));
    run_ok(resume);
    assert_eq!(
        params(&d.join("whole")),
        params(&d.join("cut")),
        "the resumed job ended elsewhere than the uninterrupted one"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn processes_started_with_different_configs_refuse_to_train() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("mismatch");
    let t0 = Instant::now();
    let o = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "1", BIN])
        .args(["train", "-q", "--epochs", "1", "--seed", "1", "--out"])
        .arg(d.join("r"))
        .args([":", "-np", "1", BIN])
        .args(["train", "-q", "--epochs", "1", "--seed", "2", "--out"])
        .arg(d.join("r"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "mismatched processes trained: {err}");
    assert!(
        err.contains("differ between ranks") && err.contains("rank 1"),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(30));
    std::fs::remove_dir_all(&d).unwrap();
}

/// The final test accuracy a run prints ("final test accuracy 97.00% ...").
fn final_accuracy(text: &str) -> f64 {
    let at = text
        .find("final test accuracy ")
        .unwrap_or_else(|| panic!("no final accuracy in: {text}"));
    let rest = &text[at + "final test accuracy ".len()..];
    rest[..rest.find('%').unwrap()].parse().unwrap()
}

#[test]
fn a_last_batch_smaller_than_the_ranks_trains_like_one_process() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("uneven");
    // 641 samples in batches of 32: the 21st batch has 1 sample, and rank 1 none of it.
    let mut args: Vec<&str> = TWENTY_STEPS.to_vec();
    let at = args
        .iter()
        .position(|a| *a == "data.train_samples=640")
        .unwrap();
    args[at] = "data.train_samples=641";
    args.retain(|a| *a != "-q");
    let mut one = Command::new(BIN);
    one.args(&args).arg("--out").arg(d.join("one"));
    let one_text = run_ok(one);
    let mut two = mpirun(2);
    two.args(&args)
        .arg("--out")
        .arg(d.join("two"))
        .arg("--set")
        .arg("train.checkpoint_every_steps=1");
    let t0 = Instant::now();
    let o = two.output().unwrap();
    let two_text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{two_text}");
    assert!(t0.elapsed() < Duration::from_secs(120));
    for ((name, a), (_, b)) in params(&d.join("one")).iter().zip(&params(&d.join("two"))) {
        let worst = common::worst_relative(a, b);
        assert!(
            worst < 1e-5,
            "{name}: 1 and 2 processes differ by {worst:e}"
        );
    }
    let (a1, a2) = (final_accuracy(&one_text), final_accuracy(&two_text));
    println!("uneven last batch: 1 process {a1:.2}%, 2 processes {a2:.2}%");
    // The parameters agree to 1e-5: at most a sample at a decision boundary may flip.
    assert!((a1 - a2).abs() <= 0.5, "1 process {a1}%, 2 processes {a2}%");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_batch_smaller_than_the_ranks_is_refused_at_start_in_one_line() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("batch1");
    let t0 = Instant::now();
    let o = mpirun(2)
        .args(["train", "-q", "--set", "train.batch_size=1", "--out"])
        .arg(d.join("r"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(ours.len(), 1, "one error line, from rank 0: {err}");
    assert!(
        ours[0].contains("train.batch_size = 1") && ours[0].contains("2 processes"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !ours[0].contains("  "),
        "{err}"
    );
    assert!(!d.join("r").exists(), "nothing written before the refusal");
    assert!(t0.elapsed() < Duration::from_secs(30));
    println!("{}", ours[0]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_panic_on_one_rank_ends_the_job() {
    if !mpirun_present() {
        return;
    }
    let d = tmp("panic");
    let t0 = Instant::now();
    // TTFS_TEST_PANIC_ON_RANK: a test-only trigger (src/cli/train.rs); rank 0 meanwhile waits in
    // its first step's collective.
    let o = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .args(["-x", "TTFS_TEST_PANIC_ON_RANK=1", BIN])
        .args(["train", "-q", "--threads", "1", "--epochs", "1", "--out"])
        .arg(d.join("r"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let took = t0.elapsed();
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("forced panic on rank 1") && err.contains("MPI_Abort"),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
    println!("job ended {:.1} s after start", took.as_secs_f64());
    std::fs::remove_dir_all(&d).unwrap();
}

/// A 2-process job of many short epochs, stopped by SIGTERM sent to `target(mpirun's pid)`
/// once its first epoch is recorded: the exit status and what the job printed on stderr.
fn stop_a_job(
    name: &str,
    target: impl Fn(u32) -> Vec<String>,
) -> (std::process::ExitStatus, String, std::path::PathBuf) {
    let d = tmp(name);
    let mut job = mpirun(2);
    job.args(["train", "-q", "--threads", "1", "--epochs", "1000"])
        .arg("--out")
        .arg(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = job.spawn().unwrap();
    let t0 = Instant::now();
    while !d.join("metrics.csv").exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(d.join("metrics.csv").exists(), "no epoch ended");
    Command::new("kill")
        .arg("-TERM")
        .args(target(child.id()))
        .status()
        .unwrap();
    let (status, err) = wait_for_end(
        &mut child,
        t0,
        Duration::from_secs(120),
        "the job did not stop after SIGTERM",
    );
    (status, err, d)
}

/// The ranks of a job are mpirun's children (in process groups of their own, so a terminal's
/// Ctrl-C reaches mpirun alone, which passes it on).
fn ranks_of(mpirun: u32) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-P", &mpirun.to_string()])
        .output()
        .unwrap();
    let ranks: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ranks.len(), 2, "mpirun has 2 rank processes: {ranks:?}");
    ranks
}

#[test]
fn sigterm_stops_every_rank_after_one_step_saves_once_and_says_how_to_resume() {
    if !mpirun_present() {
        return;
    }
    // As Slurm's scancel does: every rank receives SIGTERM; mpirun reports their exit status.
    let (status, err, d) = stop_a_job("sigterm-ranks", ranks_of);
    let resume = format!(
        "Continue with: mpirun -np 2 {BIN} train --resume {}",
        d.display()
    );
    assert_eq!(status.code(), Some(143), "{err}");
    assert_eq!(
        err.matches("SIGTERM: the 2 processes finish").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches(&resume).count(), 1, "{err}");
    assert!(d.join("last.safetensors").exists());
    // As a terminal's Ctrl-C or `kill PID-OF-MPIRUN` does: mpirun passes SIGTERM to the ranks,
    // which save the same way; mpirun itself then exits 1 (Open MPI's status for a job it
    // ended on a signal, whatever the processes returned).
    let (status, err, d2) = stop_a_job("sigterm-mpirun", |pid| vec![pid.to_string()]);
    assert!(!status.success(), "{err}");
    assert_eq!(
        err.matches("SIGTERM: the 2 processes finish").count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("Continue with: mpirun -np 2").count(),
        1,
        "{err}"
    );
    assert!(d2.join("last.safetensors").exists());
    println!("mpirun signalled: exit {:?}", status.code());
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_dir_all(&d2).unwrap();
}
