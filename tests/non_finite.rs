//! Parameters that turn NaN: the run stops with the divergence diagnosis naming the tensor,
//! `last.safetensors` keeps the last good state (at epoch ends and at step checkpoints), and a
//! checkpoint that holds NaN parameters (as older versions could write) is refused by
//! `--resume` and `eval` with a message.

mod common;

use std::path::Path;
use std::process::Command;
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::progress::{Mode, Progress};
use ttfs::run_dir::{RunDir, DIVERGED, LAST};
use ttfs::train::Trainer;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn config(epochs: usize, every: usize) -> Config {
    Config::from_toml(
        "",
        "t",
        &[
            "model.spec=fc24 if fc10".into(),
            "train.batch_size=64".into(),
            format!("train.epochs={epochs}"),
            format!("train.checkpoint_every_steps={every}"),
        ],
    )
    .unwrap()
}

/// Set `count` values of parameter `name` to NaN.
fn poison(tr: &mut Trainer, name: &str, count: usize) {
    let mut params = tr.model.params_mut();
    let p = params.iter_mut().find(|p| p.name == name).unwrap();
    let mut v = p.value.to_vec();
    v[..count].fill(f32::NAN);
    p.value.write(&v);
}

/// One good epoch, then NaN parameters in the second: the run must stop with the diagnosis and
/// leave `last.safetensors` byte for byte as the good epoch wrote it.
fn nan_in_the_second_epoch(every: usize) {
    let dir = common::tmp("nonfinite", &format!("every{every}"));
    let rd = RunDir::open(&dir).unwrap();
    let quiet = || Progress::with_mode(Mode::Quiet);
    let mut tr = Trainer::new(&config(1, every)).unwrap();
    ttfs::run::train(&mut tr, &rd, None, &mut quiet()).unwrap();
    let good = std::fs::read(dir.join(LAST)).unwrap();
    tr.cfg.train.epochs = 2;
    poison(&mut tr, "fc2.bias", 3);
    let e = format!(
        "{:#}",
        ttfs::run::train(&mut tr, &rd, None, &mut quiet()).unwrap_err()
    );
    eprintln!("checkpoint_every_steps = {every}:\n{e}\n");
    assert!(e.contains("training diverged"), "{e}");
    assert!(
        e.contains("NaN values of") && e.contains("nothing was saved over last.safetensors"),
        "{e}"
    );
    assert!(
        e.contains("the last good checkpoint is") && e.contains("optimizer.lr"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(dir.join(LAST)).unwrap(),
        good,
        "a NaN state was written over last.safetensors"
    );
    assert_eq!(Checkpoint::load(&dir.join(LAST)).unwrap().epoch, 1);
    // The diverged state is kept for inspection, and refused as a checkpoint.
    let e = format!("{:#}", Checkpoint::load(&dir.join(DIVERGED)).unwrap_err());
    assert!(
        e.contains("diverged.safetensors") && e.contains("NaN"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nan_parameters_stop_the_run_at_the_epoch_end_and_keep_the_last_good_checkpoint() {
    nan_in_the_second_epoch(0);
}

#[test]
fn nan_parameters_stop_the_run_at_a_step_checkpoint_and_keep_the_last_good_checkpoint() {
    nan_in_the_second_epoch(3);
}

#[test]
fn the_names_and_counts_are_those_injected() {
    // Caught before any step: the first checkpoint of a run whose parameters are NaN at once.
    let dir = common::tmp("nonfinite", "at-once");
    let rd = RunDir::open(&dir).unwrap();
    let mut tr = Trainer::new(&config(1, 1)).unwrap();
    poison(&mut tr, "fc1.bias", 5);
    let ck = Checkpoint::capture(&tr, Default::default(), 0.0);
    let bad = ttfs::param_check::in_checkpoint(&ck).unwrap();
    assert_eq!((bad.tensor.as_str(), bad.bad, bad.len), ("fc1.bias", 5, 24));
    let e = format!("{:#}", ck.save(&dir.join(LAST)).unwrap_err());
    assert!(
        e.contains("not writing") && e.contains("`fc1.bias` holds 5 NaN values of 24"),
        "{e}"
    );
    assert!(!dir.join(LAST).exists());
    drop(rd);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run directory whose last.safetensors holds NaN parameters, as an older version wrote them.
fn run_with_a_nan_checkpoint(dir: &Path) {
    let cfg = config(2, 0);
    let rd = RunDir::open(dir).unwrap();
    rd.write_config(&cfg).unwrap();
    let mut tr = Trainer::new(&cfg).unwrap();
    tr.train_epoch(|_, _, _, _| {});
    poison(&mut tr, "fc1.bias", 24);
    let bytes = Checkpoint::capture(&tr, Default::default(), 0.5)
        .to_bytes()
        .unwrap();
    std::fs::write(dir.join(LAST), bytes).unwrap();
}

#[test]
fn a_checkpoint_with_nan_parameters_is_refused_by_resume_and_eval() {
    let dir = common::tmp("nonfinite", "resume");
    let run = dir.join("r");
    std::fs::create_dir_all(&run).unwrap();
    run_with_a_nan_checkpoint(&run);
    for args in [
        vec!["train", "--resume", run.to_str().unwrap()],
        vec!["eval", run.to_str().unwrap()],
    ] {
        let o = Command::new(BIN).args(&args).output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        eprintln!("ttfs {}: {e}", args.join(" "));
        assert!(!o.status.success(), "{e}");
        assert!(
            e.contains("last.safetensors: parameter `fc1.bias` holds 24 NaN values of 24")
                && e.contains("saved after training diverged"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
