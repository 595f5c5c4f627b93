//! `ttfs eval`: the validation split repeats what training reported; damaged checkpoints are
//! refused with a clear message.

use crate::common::{text, ttfs};
use crate::helpers::{tmp, TINY};
use ttfs::run_dir::{RunDir, BEST, LAST};

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
    // With a validation split the run directory's best epoch is evaluated.
    assert!(out.join(BEST).is_file());
    let o = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(
        text(&o).contains("best.safetensors (the best epoch's"),
        "{}",
        text(&o)
    );
    // The test-time flip: its line, its JSON, and no flip with the event-driven engine.
    let json = dir.join("flip.json");
    let o = ttfs(&[
        "eval",
        out.to_str().unwrap(),
        "--flip",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(text(&o).contains("test-time flip ("), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let acc = v["flip"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc) && v["flip"]["accuracy_at"].as_array().unwrap().len() == 8);
    let o = ttfs(&[
        "eval",
        out.to_str().unwrap(),
        "--flip",
        "--engine",
        "events",
    ]);
    assert!(!o.status.success() && text(&o).contains("--flip runs with the dense engine"));
    // The training samples are the 1437 - 300 the run trained on.
    let o = ttfs(&["eval", out.to_str().unwrap(), "--split", "train"]);
    assert!(text(&o).contains("on 1137 samples"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The line of `ttfs eval`'s report that gives the accuracy.
fn accuracy_line(o: &std::process::Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let line = out.lines().find(|l| l.starts_with("accuracy "));
    line.unwrap_or_else(|| panic!("no accuracy line:\n{}", text(o)))
        .to_string()
}

/// With `train.ema_decay` the checkpoint's parameters are the average, which the epochs
/// evaluated; `--online` evaluates the trained weights, which are those of the same run
/// without the average.
#[test]
fn eval_online_gives_the_run_without_the_average() {
    let dir = tmp("eval-online");
    let train = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec!["train", "--epochs", "3", "--out", out.to_str().unwrap()];
        args.extend_from_slice(TINY);
        args.extend_from_slice(&["--set", "data.validation=300"]);
        args.extend_from_slice(extra);
        let o = ttfs(&args);
        assert!(o.status.success(), "{}", text(&o));
        let averaged = text(&o).contains("train.ema_decay = 0.95: every evaluation");
        assert_eq!(averaged, !extra.is_empty(), "{}", text(&o));
        out
    };
    let averaged = train("averaged", &["--set", "train.ema_decay=0.95"]);
    let plain = train("plain", &[]);
    let eval = |run: &std::path::Path, extra: &[&str]| {
        let last = run.join(LAST);
        let mut args = vec!["eval", last.to_str().unwrap(), "--split", "validation"];
        args.extend_from_slice(extra);
        ttfs(&args)
    };
    let o = eval(&averaged, &[]);
    assert!(
        text(&o).contains("parameters: the moving average"),
        "{}",
        text(&o)
    );
    let rec = &RunDir::open(&averaged).unwrap().read_metrics().unwrap()[2];
    let want = format!("accuracy {:.2}% on 300", 100.0 * rec.metrics.eval.accuracy);
    assert!(accuracy_line(&o).starts_with(&want), "{want}\n{}", text(&o));
    let online = eval(&averaged, &["--online"]);
    assert!(text(&online).contains("the trained weights (--online)"));
    assert_eq!(accuracy_line(&online), accuracy_line(&eval(&plain, &[])));
    assert_ne!(accuracy_line(&online), accuracy_line(&o));
    let o = eval(&plain, &["--online"]);
    assert!(!o.status.success() && text(&o).contains("only a run with train.ema_decay"));
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
