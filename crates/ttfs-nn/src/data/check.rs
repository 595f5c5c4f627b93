//! `ttfs data check NAME DIR` and `ttfs data info NAME`: verify a data set directory and say
//! where each data set comes from.

use super::{cifar, dvs_gesture, idx, image_folder, md5, nmnist, LoadOptions, Splits, NAMES};
use anyhow::{bail, Context, Result};
use std::fmt::Write;
use std::path::Path;

/// Published MD5 sums of the `.gz` files (MNIST from its original page, Fashion-MNIST from
/// its repository's README).
const IDX_MD5: &[(&str, &str, &str)] = &[
    (
        "mnist",
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "mnist",
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    (
        "mnist",
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    (
        "mnist",
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
    (
        "fashion-mnist",
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "fashion-mnist",
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "fashion-mnist",
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "fashion-mnist",
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

/// Samples per split of the official releases, to flag incomplete copies.
fn expected(name: &str) -> Option<(usize, usize)> {
    match name {
        "mnist" | "fashion-mnist" | "n-mnist" => Some((60000, 10000)),
        "cifar10" | "cifar100" => Some((50000, 10000)),
        _ => None,
    }
}

/// Check the files of `name` in `dir` and load every sample; returns the report to print.
/// Any problem found is an error naming the file.
pub fn check(name: &str, dir: &Path) -> Result<String> {
    let mut r = String::new();
    // Image folders: the decoding time is worth reporting (the rest is a few reads).
    let mut folder = false;
    if !dir.is_dir() && name != "digits" {
        bail!("{name}: {} is not a directory", dir.display());
    }
    match name {
        "mnist" | "fashion-mnist" => {
            for &(_, file, sum) in IDX_MD5.iter().filter(|(n, _, _)| *n == name) {
                let p = dir.join(file);
                if p.is_file() {
                    let bytes = std::fs::read(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    let got = md5::hex(&bytes);
                    if got != sum {
                        bail!(
                            "{}: md5 {got} differs from the published {sum} (corrupt or a different release)",
                            p.display()
                        );
                    }
                    writeln!(r, "{file}: md5 {got} matches the published checksum")?;
                } else {
                    let raw = p.with_extension("");
                    if !raw.is_file() {
                        bail!(
                            "{}: missing {file} (or its uncompressed form)",
                            dir.display()
                        );
                    }
                    writeln!(
                        r,
                        "{}: uncompressed, no published checksum (content checked below)",
                        raw.display()
                    )?;
                }
            }
        }
        "cifar10" | "cifar100" if cifar::is_image_folder(dir, variant_of(name)) => {
            writeln!(r, "no .bin files: reading the image folder")?;
            let l = describe_image_folder(dir, &mut r)?;
            folder = true;
            if name == "cifar10" {
                if l.classes == cifar::CIFAR10_CLASSES {
                    writeln!(r, "the class folders are CIFAR-10's classes in label order")?;
                } else {
                    writeln!(
                        r,
                        "warning: the class folders are not CIFAR-10's ({}): their sorted \
                         order gives the labels",
                        cifar::CIFAR10_CLASSES.join(", ")
                    )?;
                }
            }
        }
        "cifar10" | "cifar100" => {
            let v = variant_of(name);
            let (train, test) = v.files();
            for f in train.iter().chain(&test) {
                let p = dir.join(f);
                let len = std::fs::metadata(&p)
                    .with_context(|| format!("{}: missing {f}", dir.display()))?
                    .len() as usize;
                let records = if v == cifar::Variant::Cifar10 || f == "test.bin" {
                    10000
                } else {
                    50000
                };
                let want = records * v.record_len();
                if len != want {
                    bail!(
                        "{}: {len} bytes, expected {want} ({records} records of {} bytes)",
                        p.display(),
                        v.record_len()
                    );
                }
                writeln!(r, "{f}: {records} records of {} bytes", v.record_len())?;
            }
        }
        "n-mnist" => {
            for split in ["Train", "Test"] {
                let files = nmnist::list_split(dir, split)?;
                writeln!(
                    r,
                    "{split}/: {} recordings in 10 digit folders",
                    files.len()
                )?;
            }
        }
        "dvs-gesture" => {
            for list in ["trials_to_train.txt", "trials_to_test.txt"] {
                let files = dvs_gesture::list_split(dir, list)?;
                for f in &files {
                    let l = dvs_gesture::labels_path(f);
                    if !l.is_file() {
                        bail!("{}: has no label file {}", f.display(), l.display());
                    }
                }
                writeln!(
                    r,
                    "{list}: {} recordings, each with its labels",
                    files.len()
                )?;
            }
        }
        image_folder::NAME => {
            describe_image_folder(dir, &mut r)?;
            folder = true;
        }
        "digits" => writeln!(r, "digits: embedded in the binary")?,
        _ => bail!("unknown data set `{name}` (known: {})", NAMES.join(", ")),
    }
    // Decode everything (no cache, so every recording is parsed): the parsers check magic
    // numbers, sizes, coordinates and label ranges.
    let opt = LoadOptions {
        cache_dir: None,
        ..LoadOptions::default()
    };
    let start = std::time::Instant::now();
    let splits = super::load_with(name, Some(dir), &opt)?;
    if folder {
        writeln!(
            r,
            "decoded {} images in {:.2} s",
            splits.train.len() + splits.test.len(),
            start.elapsed().as_secs_f64()
        )?;
    }
    r += &summary(name, &splits);
    Ok(r)
}

/// CIFAR's layout named `name` (fine labels).
fn variant_of(name: &str) -> cifar::Variant {
    if name == "cifar10" {
        cifar::Variant::Cifar10
    } else {
        cifar::Variant::Cifar100 { coarse: false }
    }
}

/// Report an image folder's images per split, its classes and the files skipped.
fn describe_image_folder(dir: &Path, r: &mut String) -> Result<image_folder::Listing> {
    let l = image_folder::list(dir)?;
    for (split, files) in [("train", &l.train), ("test", &l.test)] {
        writeln!(
            r,
            "{split}/: {} images in {} class folders",
            files.len(),
            l.classes.len()
        )?;
    }
    let names: Vec<String> = l
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i} {c}"))
        .collect();
    writeln!(r, "classes (label folder): {}", names.join(", "))?;
    if let Some(first) = l.ignored.first() {
        writeln!(
            r,
            "skipped {} files that are not .png, .jpg or .jpeg images, e.g. {}",
            l.ignored.len(),
            first.strip_prefix(dir).unwrap_or(first).display()
        )?;
    }
    Ok(l)
}

/// Samples per split and per class.
pub fn summary(name: &str, s: &Splits) -> String {
    let mut r = String::new();
    for (split, ds) in [("train", &s.train), ("test", &s.test)] {
        let _ = writeln!(
            r,
            "{split}: {} samples, {} classes, frame {:?} x {} steps",
            ds.len(),
            ds.classes,
            ds.frame,
            ds.steps
        );
        let counts: Vec<String> = ds
            .class_counts()
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect();
        let _ = writeln!(r, "  per class {}", counts.join(" "));
        if let Some(empty) = ds.class_counts().iter().position(|&n| n == 0) {
            let _ = writeln!(r, "  warning: class {empty} has no samples");
        }
    }
    if let Some((tr, te)) = expected(name) {
        if (s.train.len(), s.test.len()) != (tr, te) {
            let _ = writeln!(
                r,
                "warning: the official release has {tr} train / {te} test samples: this copy differs"
            );
        } else {
            let _ = writeln!(r, "sample counts match the official release");
        }
    }
    r
}

/// One line per data set: its name, what it is, its classes and frame.
pub fn list() -> String {
    let rows = [
        (
            "digits",
            "UCI 8x8 handwritten digits, embedded (no download)",
            "10, [1, 8, 8]",
        ),
        (
            "mnist",
            "handwritten digits, 60,000 train / 10,000 test",
            "10, [1, 28, 28]",
        ),
        (
            "fashion-mnist",
            "Zalando's clothing images, 60,000 / 10,000",
            "10, [1, 28, 28]",
        ),
        (
            "cifar10",
            "colour images, 50,000 / 10,000",
            "10, [3, 32, 32]",
        ),
        (
            "cifar100",
            "colour images, 50,000 / 10,000",
            "100 (or 20), [3, 32, 32]",
        ),
        (
            "n-mnist",
            "MNIST seen by an event camera, 60,000 / 10,000",
            "10, [2, 34, 34] events",
        ),
        (
            "dvs-gesture",
            "IBM DVS128 hand gestures",
            "11, [2, 128, 128] events",
        ),
        (
            "image-folder",
            "your images in train/<class>/ and test/<class>/",
            "class folders, images' [C, H, W]",
        ),
    ];
    let mut r = String::from("data sets (`ttfs data info NAME` says where to get one):\n");
    for (n, what, shape) in rows {
        let _ = writeln!(r, "  {n:<14} {what:<52} {shape}");
    }
    let _ = write!(
        r,
        "searched, in this order: --data-dir / data.dir, $TTFS_DATA/NAME, data/NAME, \
         /usr/share/datasets/NAME"
    );
    r
}

/// Where the official files come from and what layout `ttfs` expects.
pub fn info(name: &str) -> Result<String> {
    Ok(match name {
        "digits" => "digits: UCI optical handwritten digits, 1797 samples of 8x8 pixels (0..16), \
                     embedded in the binary; 360 held out as the test split. Nothing to download."
            .into(),
        "mnist" | "fashion-mnist" => format!(
            "{}\nLayout: DIR/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
             t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (.gz or uncompressed). \
             60000 train / 10000 test images of 28x28, 10 classes. `ttfs data check {name} DIR` \
             compares the .gz files with their published md5 sums.",
            idx::download_hint(name)
        ),
        "cifar10" => format!(
            "{}\nLayout: DIR/data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin, each \
             10000 records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32). \
             10 classes. Config: data.augment_flip, data.augment_crop, data.normalize_mean/std.",
            cifar::download_hint(cifar::Variant::Cifar10)
        ),
        "cifar100" => format!(
            "{}\nLayout: DIR/train.bin (50000 records) and test.bin (10000), each record a coarse \
             label byte, a fine label byte and 3072 pixel bytes. 100 fine classes \
             (data.coarse_labels = true: the 20 super-classes).",
            cifar::download_hint(cifar::Variant::Cifar100 { coarse: false })
        ),
        "n-mnist" => format!(
            "{}\nLayout: DIR/Train/<digit>/*.bin (60000) and DIR/Test/<digit>/*.bin (10000), 5-byte \
             events on a 34x34 sensor. Binned into data.frames frames of [2, H, W] (data.bin_by, \
             data.event_encoding, data.resolution), cached in data.cache_dir.",
            nmnist::download_hint()
        ),
        "dvs-gesture" => format!(
            "{}\nLayout: DIR/user<NN>_<lighting>.aedat (AEDAT 3.1) with \
             user<NN>_<lighting>_labels.csv, and trials_to_train.txt / trials_to_test.txt listing \
             the recordings of each split. 11 classes, 128x128 sensor, one sample per labelled \
             gesture. Binned into data.frames frames of [2, H, W] (data.bin_by, \
             data.event_encoding, data.resolution such as 32 or 64), cached in data.cache_dir.",
            dvs_gesture::download_hint()
        ),
        image_folder::NAME => format!(
            "{}\nLayout: DIR/train/<class>/*.png|jpg|jpeg and DIR/test/<class>/*.png|jpg|jpeg \
             (extensions in any case); hidden and other files are skipped, and nothing beside \
             train/ and test/ is read. The classes are train/'s folder names, sorted; label i is \
             the i-th. test/ must have the same class folders, none empty. Every image must have \
             the same size; images are stored as 8-bit RGB [3, H, W] planes, or [1, H, W] when \
             all are grayscale. Decoded in parallel once, then read from data.cache_dir. \
             cifar10 and cifar100 read this layout too when their .bin files are absent (e.g. a \
             JPEG copy of CIFAR-10), checking 10 or 100 classes of 3x32x32.",
            image_folder::hint()
        ),
        _ => bail!("unknown data set `{name}` (known: {})", NAMES.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_a_cifar10_directory_and_reports_counts() {
        let dir = std::env::temp_dir().join(format!("ttfs-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let px = vec![7u8; 10000 * cifar::PIXELS];
        let labels: Vec<[u8; 1]> = (0..10000).map(|i| [(i % 10) as u8]).collect();
        let refs: Vec<&[u8]> = labels.iter().map(|l| &l[..]).collect();
        let file = cifar::encode(&refs, &px);
        for f in [
            "data_batch_1.bin",
            "data_batch_2.bin",
            "data_batch_3.bin",
            "data_batch_4.bin",
        ] {
            std::fs::write(dir.join(f), &file).unwrap();
        }
        std::fs::write(dir.join("test_batch.bin"), &file).unwrap();
        std::fs::write(dir.join("data_batch_5.bin"), &file[..file.len() - 3073]).unwrap();
        let e = format!("{:#}", check("cifar10", &dir).unwrap_err());
        assert!(
            e.contains("data_batch_5.bin: 30726927 bytes, expected 30730000"),
            "{e}"
        );
        std::fs::write(dir.join("data_batch_5.bin"), &file).unwrap();
        let r = check("cifar10", &dir).unwrap();
        let known = crate::data::frame_of("cifar10", &Default::default()).unwrap();
        assert!(r.contains(&format!("frame {known:?}")), "{r}");
        assert!(r.contains("train: 50000 samples"), "{r}");
        assert!(r.contains("per class 0:5000 1:5000"), "{r}");
        assert!(r.contains("match the official release"), "{r}");
        std::fs::remove_dir_all(&dir).unwrap();
        let e = format!("{:#}", check("cifar10", &dir).unwrap_err());
        assert!(e.contains("is not a directory"), "{e}");
        for n in NAMES {
            assert!(info(n).unwrap().len() > 50);
            assert!(list().contains(&format!("  {n} ")), "{n} not listed");
        }
        assert!(info("imagenet").is_err());
    }

    #[test]
    fn checks_an_image_folder_and_names_its_classes() {
        use crate::data::image_folder::tests::{pattern, put, small_folder, tmp};
        let dir = tmp("check");
        small_folder(&dir);
        let r = check("image-folder", &dir).unwrap();
        for want in [
            "train/: 3 images in 2 class folders",
            "test/: 2 images in 2 class folders",
            "classes (label folder): 0 a_cat, 1 b_dog",
            "skipped 2 files that are not .png, .jpg or .jpeg images, e.g. train/a_cat/",
            "decoded 5 images in",
            "train: 3 samples, 2 classes, frame [3, 3, 4] x 1 steps",
            "per class 0:2 1:1",
        ] {
            assert!(r.contains(want), "{want}: {r}");
        }
        let e = format!(
            "{:#}",
            crate::data::frame_of("image-folder", &Default::default()).unwrap_err()
        );
        assert!(e.contains("--data-dir"), "{e}");
        let opt = LoadOptions {
            cache_dir: None,
            ..Default::default()
        };
        let f = crate::data::frame_in("image-folder", Some(&dir), &opt).unwrap();
        assert_eq!(f, [3, 3, 4]);
        // CIFAR-10 as JPEG images, with its class names.
        std::fs::remove_dir_all(&dir).unwrap();
        let f = cifar::FRAME;
        for split in ["train", "test"] {
            for (i, c) in cifar::CIFAR10_CLASSES.iter().enumerate() {
                put(
                    &dir,
                    &format!("{split}/{c}/0000.jpg"),
                    f,
                    &pattern(f, i),
                    Some(90),
                );
            }
        }
        let r = check("cifar10", &dir).unwrap();
        for want in [
            "no .bin files: reading the image folder",
            "train/: 10 images in 10 class folders",
            "0 airplane, 1 automobile, 2 bird",
            "the class folders are CIFAR-10's classes in label order",
            "train: 10 samples, 10 classes, frame [3, 32, 32]",
            "warning: the official release has 50000 train / 10000 test samples",
        ] {
            assert!(r.contains(want), "{want}: {r}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn idx_checksums_are_compared() {
        let dir = std::env::temp_dir().join(format!("ttfs-check-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("train-images-idx3-ubyte.gz"), b"not the real file").unwrap();
        let e = format!("{:#}", check("mnist", &dir).unwrap_err());
        assert!(
            e.contains("train-images-idx3-ubyte.gz: md5")
                && e.contains("differs from the published f68b3c2d"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
