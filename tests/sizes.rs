//! Sizes that a spec, an input shape or a batch decides are checked before they are allocated:
//! a one-line error naming the layer, the size and the memory, never an aborted process.

use std::process::Command;
use ttfs::model::{Model, ModelConfig};
use ttfs::rng::Rng;

const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

fn build(spec: &str, input: &[usize], t: usize) -> anyhow::Result<Model> {
    let cfg = ModelConfig {
        spec: spec.into(),
        time_steps: t,
        ..Default::default()
    };
    Model::new(&cfg, input, &mut Rng::new(0))
}

fn refused(spec: &str, input: &[usize], t: usize) -> String {
    let e = format!("{:#}", build(spec, input, t).err().expect("refused"));
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn model_sizes_are_checked_before_allocation() {
    let e = refused("fc1000000000 if fc10", &[1, 8, 8], 8);
    assert!(
        e.contains("model.spec: fc1 (`fc1000000000`): 1000000000 x 64 weights need 256 GB"),
        "{e}"
    );
    // The second layer's weights, after a first that fits.
    let e = refused("fc64 if fc4000000000", &[1, 8, 8], 8);
    assert!(
        e.contains("fc2 (`fc4000000000`): 4000000000 x 64 weights"),
        "{e}"
    );
    let e = refused("conv65536k64 if fc10", &[64, 64, 64], 8);
    assert!(
        e.contains("conv1 (`conv65536k64s1p0`): 65536 x 64 x 64 x 64 weights"),
        "{e}"
    );
    // One sample's activations: a wide padded convolution.
    let e = refused("conv64k3p100000 if fc10", &[1, 8, 8], 8);
    assert!(
        e.contains("the output of layer 1 (`conv64k3s1p100000`)"),
        "{e}"
    );
    let e = refused("fc8 if fc3", &[1, 1, 0], 8);
    assert!(
        e.contains("input shape [1, 1, 0]: every dimension must be at least 1"),
        "{e}"
    );
    let e = refused("fc8 if fc3", &[1, 8, 8], 1 << 40);
    assert!(e.contains("one sample's input needs"), "{e}");
    let e = refused("conv8k3 ap4 if ap4 if fc10", &[1, 8, 8], 8);
    assert!(
        e.contains("model.spec: pooling `ap4s4`") && e.contains("does not fit the [8, 1, 1] maps"),
        "{e}"
    );
}

#[test]
fn batch_sizes_are_checked_against_the_model() {
    let m = build("fc4000 if fc10", &[1, 8, 8], 100_000).unwrap();
    m.check_batch(1, true, "train.batch_size").unwrap();
    let e = format!(
        "{:#}",
        m.check_batch(1000, true, "train.batch_size").unwrap_err()
    );
    assert!(
        e.contains("train.batch_size = 1000: a batch's activations and their gradients need")
            && e.contains("[4000] x 1000 samples x 100000 steps")
            && e.contains("lower train.batch_size"),
        "{e}"
    );
}

/// From the command line: the error, not an abort (exit code 1, no signal).
#[test]
fn the_command_line_reports_sizes_instead_of_aborting() {
    for (args, want) in [
        (
            vec!["info", "--set", "model.spec=fc1000000000 if fc10"],
            "1000000000 x 64 weights need 256 GB",
        ),
        (
            vec![
                "train",
                "--set",
                "model.spec=fc4000 if fc10",
                "--set",
                "model.time_steps=100000",
                "--set",
                "train.batch_size=1000",
                "--out",
                "/nonexistent/never-created",
            ],
            "train.batch_size = 1000",
        ),
    ] {
        let o = Command::new(BIN).args(&args).output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains(want) && e.trim().lines().count() == 1, "{e}");
    }
}
