//! `ttfs data` and data on disk: where a data set is found, image folders checked, trained on
//! and cached, and the CIFAR-10 config on a JPEG copy.

use crate::common::{text, ttfs};
use crate::helpers::{tmp, write_small_mnist, BIN};
use std::path::Path;
use std::process::Command;

#[test]
fn data_is_found_through_ttfs_data_and_the_folder_is_recorded() {
    let dir = tmp("ttfs-data");
    let root = dir.join("datasets");
    write_small_mnist(&root.join("mnist"));
    let elsewhere = dir.join("cwd");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = |env: Option<&Path>, args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).current_dir(&elsewhere).env_remove("TTFS_DATA");
        if let Some(e) = env {
            c.env("TTFS_DATA", e);
        }
        c.output().unwrap()
    };
    let out = dir.join("r");
    let train = [
        "train",
        "--data",
        "mnist",
        "--epochs",
        "3",
        "--quiet",
        "--threads",
        "1",
        "--set",
        "model.spec=fc32 if fc10",
        "--out",
        out.to_str().unwrap(),
    ];
    // Not found: the error names every place searched.
    let o = run(None, &train);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("data/mnist") && e.contains("TTFS_DATA"),
        "{e}"
    );
    assert!(e.trim().lines().count() == 1, "not one line: {e}");
    // Found under $TTFS_DATA, and recorded in the run directory.
    let o = run(Some(&root), &train);
    assert!(o.status.success(), "{}", text(&o));
    let cmd = std::fs::read_to_string(out.join("command.txt")).unwrap();
    let found = std::fs::canonicalize(root.join("mnist")).unwrap();
    assert!(cmd.contains(&format!("data: {}", found.display())), "{cmd}");
    // `data check` without a folder looks where `train` looks.
    let o = run(Some(&root), &["data", "check", "mnist"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("checking") && s.contains("train: 300 samples"),
        "{s}"
    );
    // `data info` without a name lists the data sets.
    let o = run(None, &["data", "info"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for n in ttfs::data::NAMES {
        assert!(s.contains(n), "{n} missing: {s}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An image folder of `side` x `side` colour images, `per_class` in train/ and a quarter as
/// many in test/ for each of `classes`: a bright row at the class's height over a faint
/// background, easy to learn. Every image is a JPEG, or with `png_too` every other one a PNG.
fn write_image_folder(dir: &Path, classes: &[&str], side: usize, per_class: usize, png_too: bool) {
    for (split, n) in [("train", per_class), ("test", per_class / 4)] {
        for (c, class) in classes.iter().enumerate() {
            let folder = dir.join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            let row = (2 * c + 1) * side / (2 * classes.len());
            for i in 0..n {
                let mut px: Vec<u8> = (0..3 * side * side)
                    .map(|j| ((i * 7 + j) % 40) as u8)
                    .collect();
                for ch in 0..3 {
                    let at = ch * side * side + row * side;
                    px[at..at + side].fill(255);
                }
                let png = png_too && i % 2 == 0;
                let bytes = ttfs::data::image_folder::encode(
                    [3, side, side],
                    &px,
                    if png { None } else { Some(90) },
                )
                .unwrap();
                let ext = if png { "png" } else { "jpg" };
                std::fs::write(folder.join(format!("{i:04}.{ext}")), bytes).unwrap();
            }
        }
    }
}

#[test]
fn an_image_folder_is_checked_trained_on_and_cached() {
    let dir = tmp("image-folder");
    let data = dir.join("pictures");
    let cache = dir.join("cache");
    write_image_folder(&data, &["square", "circle", "cross"], 8, 40, true);
    std::fs::write(data.join("README.md"), "three shapes").unwrap();
    std::fs::write(data.join("train/circle/.DS_Store"), "").unwrap();
    std::fs::write(data.join("train/circle/notes.txt"), "").unwrap();
    let o = ttfs(&["data", "check", "image-folder", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    for want in [
        "train/: 120 images in 3 class folders",
        "test/: 30 images in 3 class folders",
        "classes (label folder): 0 circle, 1 cross, 2 square",
        "skipped 1 files",
        "decoded 150 images in",
        "train: 120 samples, 3 classes, frame [3, 8, 8] x 1 steps",
        "per class 0:40 1:40 2:40",
    ] {
        assert!(s.contains(want), "{want}: {s}");
    }
    let cache_set = format!("data.cache_dir=\"{}\"", cache.display());
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--set",
        "data.name=image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "model.spec=fc32 if fc3",
        "--set",
        &cache_set,
        "--set",
        "train.batch_size=8",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("final test accuracy"), "{}", text(&o));
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        2,
        "train and test cached"
    );
    // The model's input comes from the images (read back from the cache).
    let o = ttfs(&[
        "info",
        "--data",
        "image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "model.spec=fc32 if fc3",
        "--set",
        &cache_set,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("input [3, 8, 8]"), "{}", text(&o));
    let o = ttfs(&["eval", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // A class folder without images stops the run with one line naming it.
    std::fs::create_dir_all(data.join("train/star")).unwrap();
    std::fs::create_dir_all(data.join("test/star")).unwrap();
    let o = ttfs(&[
        "train",
        "--data",
        "image-folder",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        dir.join("r2").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.trim().lines().count() == 1, "{e}");
    assert!(e.contains("star: no images"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cifar10_config_trains_on_a_jpeg_copy() {
    let dir = tmp("cifar10-jpeg");
    let data = dir.join("CIFAR-10-images");
    let classes = ttfs::data::cifar::CIFAR10_CLASSES;
    write_image_folder(&data, &classes, 32, 24, false);
    let o = ttfs(&["data", "check", "cifar10", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("the class folders are CIFAR-10's classes in label order")
            && s.contains("frame [3, 32, 32]"),
        "{s}"
    );
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/cifar10.toml");
    let out = dir.join("r");
    let o = ttfs(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        // A small network, all 240 images for training, no crop (it would move the rows).
        "--set",
        "model.spec=fc64 if fc10",
        "--set",
        "data.validation=0",
        "--set",
        "data.augment_crop=0",
        "--set",
        "train.batch_size=8",
        // The config warms up over its first epoch: one epoch would end still warming up.
        "--set",
        "schedule.warmup_epochs=0",
        "--set",
        &format!("data.cache_dir=\"{}\"", dir.join("cache").display()),
        "--epochs",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("final test accuracy"), "{}", text(&o));
    // Nine class folders are not CIFAR-10.
    for split in ["train", "test"] {
        std::fs::remove_dir_all(data.join(split).join("truck")).unwrap();
    }
    let o = ttfs(&["data", "check", "cifar10", data.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && e.contains("9 class folders, but CIFAR-10 has 10 classes"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
