//! CIFAR-10 and CIFAR-100, "binary version" files.
//!
//! CIFAR-10: `data_batch_1.bin` .. `data_batch_5.bin` (train) and `test_batch.bin`, each
//! 10000 records of 1 label byte (0..9) then 3072 pixel bytes: the 32x32 red plane, then green,
//! then blue, rows top to bottom. CIFAR-100: `train.bin` (50000) and `test.bin` (10000) records
//! of a coarse label byte (0..19), a fine label byte (0..99), then the same 3072 pixel bytes.
//! The pixel layout is already our `[C, H, W]`, so records are copied as they are.
//!
//! A directory without these files but with `train/<class>/` and `test/<class>/` folders of
//! images (a PNG or JPEG copy) is read as an [image folder](super::image_folder) instead,
//! checked to hold the variant's number of classes and 3x32x32 colour images.

use super::{image_folder, Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use std::path::Path;

pub const PIXELS: usize = 3 * 32 * 32;
pub const FRAME: [usize; 3] = [3, 32, 32];

/// CIFAR-10's class names in label order (`batches.meta.txt`); also the usual folder names of
/// an image-folder copy, whose sorted order they are.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Which of the two CIFAR layouts, and for CIFAR-100 which label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Cifar10,
    /// `coarse`: the 20 super-classes instead of the 100 fine classes.
    Cifar100 {
        coarse: bool,
    },
}

impl Variant {
    pub fn label_bytes(self) -> usize {
        match self {
            Variant::Cifar10 => 1,
            Variant::Cifar100 { .. } => 2,
        }
    }

    pub fn record_len(self) -> usize {
        self.label_bytes() + PIXELS
    }

    pub fn classes(self) -> usize {
        match self {
            Variant::Cifar10 => 10,
            Variant::Cifar100 { coarse: true } => 20,
            Variant::Cifar100 { coarse: false } => 100,
        }
    }

    /// (training files, test files), in the order their records are concatenated.
    pub fn files(self) -> (Vec<String>, Vec<String>) {
        match self {
            Variant::Cifar10 => (
                (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
                vec!["test_batch.bin".into()],
            ),
            Variant::Cifar100 { .. } => (vec!["train.bin".into()], vec!["test.bin".into()]),
        }
    }
}

/// Decode one file of records: returns (pixels `[N, 3, 32, 32]`, labels `[N]`).
/// Both labels of a CIFAR-100 record are range-checked, whichever is kept.
pub fn parse(bytes: &[u8], variant: Variant, origin: &str) -> Result<(Vec<u8>, Vec<u16>)> {
    let rec = variant.record_len();
    if bytes.is_empty() {
        bail!("{origin}: file is empty (expected records of {rec} bytes)");
    }
    if !bytes.len().is_multiple_of(rec) {
        bail!(
            "{origin}: {} bytes is not a whole number of {rec}-byte records ({} records and {} \
             bytes left over: truncated, or not a {} file)",
            bytes.len(),
            bytes.len() / rec,
            bytes.len() % rec,
            match variant {
                Variant::Cifar10 => "CIFAR-10",
                Variant::Cifar100 { .. } => "CIFAR-100",
            }
        );
    }
    let n = bytes.len() / rec;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, r) in bytes.chunks_exact(rec).enumerate() {
        let label = match variant {
            Variant::Cifar10 => {
                if r[0] > 9 {
                    bail!(
                        "{origin}: record {i}: label {} is out of range (0 to 9)",
                        r[0]
                    );
                }
                r[0]
            }
            Variant::Cifar100 { coarse } => {
                if r[0] > 19 {
                    bail!(
                        "{origin}: record {i}: coarse label {} is out of range (0 to 19)",
                        r[0]
                    );
                }
                if r[1] > 99 {
                    bail!(
                        "{origin}: record {i}: fine label {} is out of range (0 to 99)",
                        r[1]
                    );
                }
                if coarse {
                    r[0]
                } else {
                    r[1]
                }
            }
        };
        labels.push(label as u16);
        pixels.extend_from_slice(&r[variant.label_bytes()..]);
    }
    Ok((pixels, labels))
}

/// Load and concatenate `files` of `dir` into one split.
pub fn load_split(name: &str, dir: &Path, variant: Variant, files: &[String]) -> Result<Dataset> {
    let mut ds = Dataset {
        name: name.into(),
        kind: Kind::Image,
        classes: variant.classes(),
        frame: FRAME,
        steps: 1,
        scale: 1.0 / 255.0,
        data: Vec::new(),
        labels: Vec::new(),
    };
    for f in files {
        let path = dir.join(f);
        if !path.is_file() {
            bail!("{}: missing {f}", dir.display());
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let (pixels, labels) = parse(&bytes, variant, &path.display().to_string())?;
        ds.data.extend_from_slice(&pixels);
        ds.labels.extend_from_slice(&labels);
    }
    ds.validate(&dir.display().to_string())?;
    Ok(ds)
}

pub fn load_dir(name: &str, dir: &Path, variant: Variant) -> Result<Splits> {
    let (train_files, test_files) = variant.files();
    super::load_train_test(name, dir, &download_hint(variant), ("train", "test"), |s| {
        load_split(
            name,
            dir,
            variant,
            if s == "train" {
                &train_files
            } else {
                &test_files
            },
        )
    })
}

/// Whether `dir` is read as an image folder: it holds none of the binary files, but a
/// `train/` folder.
pub fn is_image_folder(dir: &Path, variant: Variant) -> bool {
    let (train, test) = variant.files();
    !train.iter().chain(&test).any(|f| dir.join(f).is_file()) && dir.join("train").is_dir()
}

/// Load CIFAR from `dir`: the binary files, or else an image folder (decoded once into
/// `cache_dir`).
pub fn load(name: &str, dir: &Path, variant: Variant, cache_dir: Option<&Path>) -> Result<Splits> {
    if is_image_folder(dir, variant) {
        load_image_folder(name, dir, variant, cache_dir)
    } else {
        load_dir(name, dir, variant)
    }
}

/// CIFAR as an image folder. Its labels are the class folders in sorted order, which for the
/// usual folder names (`airplane`, `automobile`, ... `truck`) are the official labels.
pub fn load_image_folder(
    name: &str,
    dir: &Path,
    variant: Variant,
    cache_dir: Option<&Path>,
) -> Result<Splits> {
    let listing = image_folder::list(dir)?;
    let which = match variant {
        Variant::Cifar10 => "CIFAR-10",
        Variant::Cifar100 { coarse: false } => "CIFAR-100",
        Variant::Cifar100 { coarse: true } => "CIFAR-100 with data.coarse_labels",
    };
    if listing.classes.len() != variant.classes() {
        bail!(
            "{name}: {} holds {} class folders, but {which} has {} classes",
            dir.join("train").display(),
            listing.classes.len(),
            variant.classes()
        );
    }
    let s = image_folder::load_listed(name, dir, &listing, cache_dir)?;
    if s.train.frame != FRAME {
        bail!(
            "{name}: the images of {} give frames {:?} ([C, H, W]), but {which}'s are {FRAME:?} \
             (32x32 colour)",
            dir.display(),
            s.train.frame
        );
    }
    Ok(s)
}

pub fn download_hint(variant: Variant) -> String {
    let (which, archive, folder) = match variant {
        Variant::Cifar10 => ("CIFAR-10", "cifar-10-binary.tar.gz", "cifar-10-batches-bin"),
        Variant::Cifar100 { .. } => ("CIFAR-100", "cifar-100-binary.tar.gz", "cifar-100-binary"),
    };
    format!(
        "{which}: download the binary version {archive} from \
         https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass the `{folder}` \
         directory with --data-dir (a folder of train/<class>/ and test/<class>/ images is read \
         too, see `ttfs data info image-folder`)"
    )
}

/// Encode records in the binary format (for tests, fuzzing seeds and tools). `labels` holds
/// one byte per record for CIFAR-10, two (coarse, fine) for CIFAR-100.
pub fn encode(labels: &[&[u8]], pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        out.extend_from_slice(l);
        out.extend_from_slice(&pixels[i * PIXELS..(i + 1) * PIXELS]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(n: usize) -> Vec<u8> {
        (0..n * PIXELS).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn decodes_cifar10_records_exactly() {
        let px = pixels(2);
        let bytes = encode(&[&[3], &[9]], &px);
        assert_eq!(bytes.len(), 2 * 3073);
        let (p, l) = parse(&bytes, Variant::Cifar10, "b.bin").unwrap();
        assert_eq!(l, vec![3, 9]);
        assert_eq!(p, px);
        // R plane first: record 1's first green pixel is byte 1024 of its pixels.
        assert_eq!(p[PIXELS + 1024], px[PIXELS + 1024]);
    }

    #[test]
    fn decodes_cifar100_fine_and_coarse() {
        let px = pixels(2);
        let bytes = encode(&[&[4, 77], &[19, 0]], &px);
        let (_, fine) = parse(&bytes, Variant::Cifar100 { coarse: false }, "t").unwrap();
        let (_, coarse) = parse(&bytes, Variant::Cifar100 { coarse: true }, "t").unwrap();
        assert_eq!((fine, coarse), (vec![77, 0], vec![4, 19]));
    }

    #[test]
    fn rejects_bad_files_with_clear_errors() {
        let px = pixels(2);
        let good = encode(&[&[3], &[9]], &px);
        let e = parse(
            &good[..good.len() - 5],
            Variant::Cifar10,
            "data_batch_1.bin",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("data_batch_1.bin") && e.contains("1 records and 3068 bytes left over"),
            "{e}"
        );
        let e = parse(&encode(&[&[3], &[10]], &px), Variant::Cifar10, "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 1: label 10 is out of range"), "{e}");
        let e = parse(&[], Variant::Cifar10, "f").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let v = Variant::Cifar100 { coarse: false };
        let e = parse(&encode(&[&[1, 100]], &px), v, "train.bin")
            .unwrap_err()
            .to_string();
        assert!(e.contains("train.bin: record 0: fine label 100"), "{e}");
        let e = parse(&encode(&[&[20, 1]], &px), v, "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("coarse label 20"), "{e}");
        // A CIFAR-10 file read as CIFAR-100 has the wrong record size.
        let e = parse(&good, v, "f").unwrap_err().to_string();
        assert!(e.contains("3074-byte records"), "{e}");
    }

    #[test]
    fn reads_an_image_folder_when_the_bin_files_are_absent() {
        use crate::data::image_folder::tests::{pattern, put, tmp};
        let dir = tmp("cifar10");
        for (split, k) in [("train", 0), ("test", 1)] {
            for (i, c) in CIFAR10_CLASSES.iter().enumerate() {
                let rel = format!("{split}/{c}/0000.png");
                put(&dir, &rel, FRAME, &pattern(FRAME, 2 * i + k), None);
            }
        }
        std::fs::write(dir.join("README.md"), "not the binary version").unwrap();
        let s = load("cifar10", &dir, Variant::Cifar10, None).unwrap();
        assert_eq!((s.train.frame, s.train.classes), (FRAME, 10));
        assert_eq!(s.train.name, "cifar10");
        assert_eq!(s.test.labels, (0..10).collect::<Vec<u16>>());
        assert_eq!(s.test.sample(3), &pattern(FRAME, 7)[..]);
        // Wrong number of classes, for CIFAR-10 and CIFAR-100.
        let e = format!(
            "{:#}",
            load("cifar100", &dir, Variant::Cifar100 { coarse: false }, None)
                .err()
                .unwrap()
        );
        assert!(
            e.contains("train holds 10 class folders, but CIFAR-100 has 100 classes"),
            "{e}"
        );
        for split in ["train", "test"] {
            std::fs::remove_dir_all(dir.join(split).join("truck")).unwrap();
        }
        let e = format!(
            "{:#}",
            load("cifar10", &dir, Variant::Cifar10, None).err().unwrap()
        );
        assert!(
            e.contains("train holds 9 class folders, but CIFAR-10 has 10 classes"),
            "{e}"
        );
        // Wrong image size.
        let small = [3, 16, 16];
        for split in ["train", "test"] {
            put(
                &dir,
                &format!("{split}/truck/0000.png"),
                FRAME,
                &pattern(FRAME, 0),
                None,
            );
            for c in CIFAR10_CLASSES {
                put(
                    &dir,
                    &format!("{split}/{c}/0000.png"),
                    small,
                    &pattern(small, 0),
                    None,
                );
            }
        }
        let e = format!(
            "{:#}",
            load("cifar10", &dir, Variant::Cifar10, None).err().unwrap()
        );
        assert!(
            e.contains("give frames [3, 16, 16]") && e.contains("are [3, 32, 32]"),
            "{e}"
        );
        // One binary file present: the binary version, and what it lacks.
        std::fs::write(dir.join("data_batch_1.bin"), encode(&[&[1]], &pixels(1))).unwrap();
        let e = format!(
            "{:#}",
            load("cifar10", &dir, Variant::Cifar10, None).err().unwrap()
        );
        assert!(e.contains("missing data_batch_2.bin"), "{e}");
        // Neither: the hint names both forms.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let e = format!(
            "{:#}",
            load("cifar10", &dir, Variant::Cifar10, None).err().unwrap()
        );
        assert!(
            e.contains("missing data_batch_1.bin") && e.contains("test/<class>/ images"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loads_a_cifar10_directory() {
        let dir = std::env::temp_dir().join(format!("ttfs-cifar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let px = pixels(2);
        for i in 1..=5 {
            let l = [i as u8];
            std::fs::write(
                dir.join(format!("data_batch_{i}.bin")),
                encode(&[&l, &[0]], &px),
            )
            .unwrap();
        }
        let e = format!(
            "{:#}",
            load_dir("cifar10", &dir, Variant::Cifar10).err().unwrap()
        );
        assert!(
            e.contains("missing test_batch.bin") && e.contains("cifar.html"),
            "{e}"
        );
        std::fs::write(dir.join("test_batch.bin"), encode(&[&[2]], &px)).unwrap();
        let s = load_dir("cifar10", &dir, Variant::Cifar10).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (10, 1));
        assert_eq!(s.train.labels, vec![1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
        assert_eq!(s.train.frame, [3, 32, 32]);
        assert_eq!(s.test.sample(0), &px[..PIXELS]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
