//! What several of the command line's tests use: the binary, scratch directories, the tiny
//! digits run, a checkpoint's state as bits, and a small MNIST-format data set.

use crate::common;
use std::path::Path;
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;

pub const BIN: &str = env!("CARGO_BIN_EXE_ttfs");

pub fn tmp(name: &str) -> std::path::PathBuf {
    common::tmp("test", name)
}

/// Tiny digits run arguments.
pub const TINY: &[&str] = &[
    "--set",
    "model.spec=fc24 if fc10",
    "--set",
    "train.batch_size=64",
    "--threads",
    "1",
];

pub fn tiny_config(epochs: usize, every: usize) -> Config {
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
pub fn state_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
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

/// Wait until `path` exists (a child process writes it).
pub fn wait_for(path: &Path) {
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

/// A small MNIST-format data set: a bright row at the label's height, easy to learn.
pub fn write_small_mnist(dir: &Path) {
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
