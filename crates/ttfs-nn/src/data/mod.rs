//! Data sets: one in-memory representation for every source, and the loaders that fill it.
//!
//! Every parser checks what it reads and returns an error that names the file and the
//! problem (wrong magic number, truncated record, label out of range...), never a panic.

pub mod aedat;
pub mod augment;
pub mod batch;
pub mod cache;
pub mod check;
pub mod cifar;
pub mod digits;
pub mod dvs_gesture;
pub mod events;
pub mod idx;
pub mod image_folder;
pub mod locate;
pub mod md5;
pub mod nmnist;
pub mod on_device;
pub mod prefetch;

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// How the stored values reach the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Static images: values times `scale` are intensities in [0, 1], encoded over T steps by
    /// the model's input encoding.
    Image,
    /// Event data already binned into `steps` frames: values are event counts (or 0/1 spikes)
    /// fed to the network as they are.
    Events,
}

/// A split of a data set held in memory, samples back to back.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub kind: Kind,
    pub classes: usize,
    /// Shape `[C, H, W]` of one frame.
    pub frame: [usize; 3],
    /// Frames per sample: 1 for images, T for binned events.
    pub steps: usize,
    /// Multiplier from stored value to network input (1/255 for 8-bit images).
    pub scale: f32,
    /// `[N, steps, C, H, W]`.
    pub data: Vec<u8>,
    pub labels: Vec<u16>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn frame_len(&self) -> usize {
        self.frame.iter().product()
    }

    pub fn sample_len(&self) -> usize {
        self.steps * self.frame_len()
    }

    pub fn sample(&self, i: usize) -> &[u8] {
        let n = self.sample_len();
        &self.data[i * n..(i + 1) * n]
    }

    /// Images given as values (`[N, C, H, W]`, one byte each, times `scale` in [0, 1]) and
    /// labels, e.g. from Python's numpy arrays. Errors name what does not fit.
    pub fn from_images(
        name: &str,
        data: Vec<u8>,
        frame: [usize; 3],
        labels: Vec<u16>,
        classes: usize,
        scale: f32,
    ) -> Result<Dataset> {
        if !(scale > 0.0 && scale.is_finite()) {
            bail!("{name}: the value scale must be positive, got {scale}");
        }
        if frame.contains(&0) {
            bail!("{name}: empty image shape {frame:?}");
        }
        let ds = Dataset {
            name: name.to_string(),
            kind: Kind::Image,
            classes,
            frame,
            steps: 1,
            scale,
            data,
            labels,
        };
        ds.validate(name)?;
        Ok(ds)
    }

    /// The samples at `idx`, in that order (used to split off a validation set).
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut data = Vec::with_capacity(idx.len() * self.sample_len());
        for &i in idx {
            data.extend_from_slice(self.sample(i));
        }
        Dataset {
            data,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            ..self.clone_empty()
        }
    }

    pub(crate) fn clone_empty(&self) -> Dataset {
        Dataset {
            data: Vec::new(),
            labels: Vec::new(),
            name: self.name.clone(),
            ..*self
        }
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }

    /// Check the invariants every loader must guarantee.
    pub fn validate(&self, origin: &str) -> Result<()> {
        if self.data.len() != self.len() * self.sample_len() {
            bail!(
                "{origin}: {} bytes of samples for {} labels of {} bytes each",
                self.data.len(),
                self.len(),
                self.sample_len()
            );
        }
        if let Some((i, l)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= self.classes)
        {
            bail!(
                "{origin}: label {l} of sample {i} is out of range (classes 0 to {})",
                self.classes.saturating_sub(1)
            );
        }
        Ok(())
    }
}

/// Load both splits of data set `name` from `dir` with `load(split)`, `split` being
/// `names.0` then `names.1`. A missing directory or a failing split is reported with `hint`
/// (where the files come from).
pub fn load_train_test(
    name: &str,
    dir: &Path,
    hint: &str,
    names: (&str, &str),
    load: impl Fn(&str) -> Result<Dataset>,
) -> Result<Splits> {
    if !dir.is_dir() {
        bail!("{name}: directory {} does not exist. {hint}", dir.display());
    }
    let with_hint = |e: anyhow::Error| anyhow::anyhow!("{e:#}. {hint}");
    let train = load(names.0).map_err(with_hint)?;
    let test = load(names.1).map_err(with_hint)?;
    Ok(Splits { train, test })
}

/// A data set's training and test splits.
pub struct Splits {
    pub train: Dataset,
    pub test: Dataset,
}

/// Names accepted by [`load`].
pub const NAMES: &[&str] = &[
    "digits",
    "mnist",
    "fashion-mnist",
    "cifar10",
    "cifar100",
    "n-mnist",
    "dvs-gesture",
    "image-folder",
];

/// How a data set is read beyond its name and directory.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Binning, encoding and resolution of event data sets.
    pub events: events::EventParams,
    /// CIFAR-100: the 20 coarse classes instead of the 100 fine ones.
    pub coarse_labels: bool,
    /// Where preprocessed event data and decoded image folders are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            events: events::EventParams {
                frames: 16,
                bin_by: events::BinBy::Time,
                encoding: events::EventEncoding::Counts,
                resolution: 0,
            },
            coarse_labels: false,
            cache_dir: Some(cache::default_dir()),
        }
    }
}

/// The `[C, H, W]` frame of data set `name` as `opt` reads it, known without its files (for
/// `ttfs info`). An image folder's frame is its images': see [`frame_in`].
pub fn frame_of(name: &str, opt: &LoadOptions) -> Result<[usize; 3]> {
    Ok(match name {
        "digits" => [1, 8, 8],
        "mnist" | "fashion-mnist" => [1, 28, 28],
        "cifar10" | "cifar100" => cifar::FRAME,
        "n-mnist" => opt.events.frame(nmnist::SENSOR)?,
        "dvs-gesture" => opt.events.frame(dvs_gesture::SENSOR)?,
        image_folder::NAME => bail!(
            "{name}: the frame is that of the images, unknown without them (give the folder \
             with --data-dir)"
        ),
        _ => bail!("unknown data set `{name}` (known: {})", NAMES.join(", ")),
    })
}

/// The `[C, H, W]` frame of data set `name`: [`frame_of`], except for an image folder, which
/// is loaded from `dir` (or where [`locate`](locate::locate) finds it) to see its images, a
/// cheap read of the cache once it was decoded.
pub fn frame_in(name: &str, dir: Option<&Path>, opt: &LoadOptions) -> Result<[usize; 3]> {
    if name != image_folder::NAME {
        return frame_of(name, opt);
    }
    Ok(load_with(name, dir, opt)?.train.frame)
}

/// Load data set `name` from `dir` (found by [`locate`](locate::locate) when `None`; ignored
/// for the embedded `digits`) with default options.
pub fn load(name: &str, dir: Option<&Path>) -> Result<Splits> {
    load_with(name, dir, &LoadOptions::default())
}

/// Load data set `name` from `dir`, or when `None` from where [`locate`](locate::locate)
/// finds it.
pub fn load_with(name: &str, dir: Option<&Path>, opt: &LoadOptions) -> Result<Splits> {
    let dir = locate::locate(name, dir)?;
    let dir = || {
        dir.clone()
            .expect("every data set but digits has a directory")
    };
    let cache = opt.cache_dir.as_deref();
    match name {
        "digits" => digits::load(),
        "mnist" | "fashion-mnist" => idx::load_dir(name, &dir()),
        "cifar10" => cifar::load(name, &dir(), cifar::Variant::Cifar10, cache),
        "cifar100" => {
            let v = cifar::Variant::Cifar100 {
                coarse: opt.coarse_labels,
            };
            cifar::load(name, &dir(), v, cache)
        }
        "n-mnist" => nmnist::load_dir(&dir(), &opt.events, cache),
        "dvs-gesture" => dvs_gesture::load_dir(&dir(), &opt.events, cache),
        image_folder::NAME => image_folder::load_dir(name, &dir(), cache),
        _ => bail!("unknown data set `{name}` (known: {})", NAMES.join(", ")),
    }
}
