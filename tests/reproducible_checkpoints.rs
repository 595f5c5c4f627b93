//! Two identical runs (same config, same thread count) write byte-identical checkpoints, so
//! that `cmp` or a file hash can show that two runs match. Each run is its own process: the
//! metadata went through a `HashMap` whose order changes from process to process.

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

#[test]
fn identical_runs_write_identical_checkpoint_bytes() {
    let dir = common::tmp("repro", "runs");
    let run = |name: &str| {
        let out = dir.join(name);
        let o = Command::new(BIN)
            .args(["train", "--epochs", "2", "--quiet", "--threads", "1"])
            .args([
                "--set",
                "model.spec=fc24 if fc10",
                "--set",
                "train.batch_size=64",
                // A validation split, so that a best.safetensors is chosen and written too.
                "--set",
                "data.validation=300",
            ])
            .args(["--set", "train.checkpoint_every_steps=7"])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let (a, b) = (run("a"), run("b"));
    for file in ["last.safetensors", "best.safetensors"] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        let first = x.iter().zip(&y).position(|(p, q)| p != q);
        assert!(
            x == y,
            "{file} differs between two identical runs ({} and {} bytes, first difference at \
             byte {first:?})",
            x.len(),
            y.len()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
