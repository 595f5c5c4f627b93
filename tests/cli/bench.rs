//! `ttfs bench` against a stand-in peer: rounds taking turns, and a data set's folder handed
//! to the peer.

use crate::common::{text, ttfs};
use crate::helpers::{tmp, write_small_mnist};

/// `ttfs bench` of the MLP for one step a round, 1 thread, against the stand-in `peer`.
fn bench_mlp(peer: &std::path::Path, rounds: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "bench",
        "--models",
        "mlp",
        "--steps",
        "1",
        "--rounds",
        rounds,
        "--threads",
        "1",
        "--python",
        "sh",
        "--peer",
        peer.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ttfs(&args)
}

/// The ratio of the summary line `summary mlp: ttfs is Rx faster than MODE ...`.
fn summary_ratio(out: &str, mode: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("summary mlp: ttfs is") && l.contains(&format!("than {mode} ")))
        .unwrap_or_else(|| panic!("no {mode} summary in\n{out}"));
    line.split("ttfs is ")
        .nth(1)
        .unwrap()
        .split('x')
        .next()
        .unwrap()
        .parse()
        .unwrap()
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
    let o = bench_mlp(&peer, "3", &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(out.matches("ttfs  mlp  median").count(), 3, "{out}");
    assert_eq!(out.matches("compiled").count(), 4, "{out}");
    let ratio = |mode: &str| summary_ratio(&out, mode);
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

/// `ttfs bench --band B`: the peer runs as its users run it (no `BAND`), then once more
/// compiled with `BAND=B`, and the summary gives a ratio against each.
#[test]
fn bench_with_a_band_also_times_the_peer_with_the_same_cut_surrogate() {
    let dir = tmp("bench-band");
    std::fs::create_dir_all(&dir).unwrap();
    let peer = dir.join("peer.sh");
    // Uncut: 1000 ms compiled, 3000 eager; with the band (compiled only): 2000 ms.
    std::fs::write(
        &peer,
        "if [ -n \"$BAND\" ]; then [ \"$BAND\" = 0.25 ] && [ \"$COMPILE\" = 1 ] || exit 5; \
         echo median_ms=2000; exit 0; fi\n\
         if [ \"$COMPILE\" = 1 ]; then echo median_ms=1000; else echo median_ms=3000; fi\n",
    )
    .unwrap();
    let o = bench_mlp(&peer, "2", &["--band", "0.25"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!out.contains("failed"), "{out}");
    let ratio = |mode: &str| summary_ratio(&out, mode);
    let (compiled, banded) = (ratio("compiled"), ratio("compiled+band0.25"));
    assert!((banded / compiled - 2.0).abs() < 0.3, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
