//! Image folders, the layout of torchvision's `ImageFolder`: `DIR/train/<class>/*` and
//! `DIR/test/<class>/*`, one folder per class holding that class's images.
//!
//! The classes are the folder names of `train/`, sorted (byte order, as Python's `sorted`), and
//! a label is a class's index in that order; `test/` must hold the same class folders. Images
//! are the files ending in `.png`, `.jpg` or `.jpeg` (any case) directly in a class folder,
//! taken in sorted file-name order; hidden files and folders (`.DS_Store`, `.ipynb_checkpoints`)
//! and other files (`README`, `labels.csv`) are skipped, and anything beside `train/` and `test/`
//! is never looked at. The format is read from the file's bytes, not its name.
//!
//! Every image becomes 8-bit RGB, stored in planar `[C, H, W]` order like CIFAR's records (an
//! alpha channel is dropped, 16-bit values are scaled to 8 bits). When every image of both
//! splits is grayscale the frame keeps one channel; otherwise grayscale images are repeated in
//! all three. All images must have the same size: the network's input has one shape.
//!
//! Decoding is parallel over images and its result is cached like preprocessed event data
//! ([`cache`](super::cache)), keyed by every image's name, size and modification time, so a
//! second load reads two files instead of decoding tens of thousands.

use super::{cache, Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub const NAME: &str = "image-folder";

/// File extensions read as images, compared without regard to case.
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The files of an image folder, in load order.
#[derive(Clone, Debug)]
pub struct Listing {
    /// Class names (the sorted folder names of `train/`); label `i` is `classes[i]`.
    pub classes: Vec<String>,
    /// `(image, label)` of each split, by class, then by file name.
    pub train: Vec<(PathBuf, u16)>,
    pub test: Vec<(PathBuf, u16)>,
    /// Files in class folders that were skipped as not images (hidden files not counted).
    pub ignored: Vec<PathBuf>,
}

/// Whether `name` is hidden (`.DS_Store`, `.git`): skipped wherever it appears.
fn hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Whether `path` ends in one of [`EXTENSIONS`].
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Whether the entry is a folder, or a link to one. The type comes with the listing on most
/// systems, which saves a `stat` per image of a large folder.
fn is_dir(e: &std::fs::DirEntry) -> bool {
    match e.file_type() {
        Ok(t) if !t.is_symlink() => t.is_dir(),
        _ => e.path().is_dir(),
    }
}

/// The visible sub-folders of `root` as (name, path), sorted by name.
fn class_folders(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))? {
        let e = e.with_context(|| format!("cannot list {}", root.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !hidden(&name) && is_dir(&e) {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The images of one class folder, sorted by file name; other visible files go to `ignored`.
fn images_in(folder: &Path, ignored: &mut Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for e in
        std::fs::read_dir(folder).with_context(|| format!("cannot list {}", folder.display()))?
    {
        let e = e.with_context(|| format!("cannot list {}", folder.display()))?;
        if hidden(&e.file_name().to_string_lossy()) || is_dir(&e) {
            continue;
        }
        let p = e.path();
        if is_image(&p) {
            files.push(p);
        } else {
            ignored.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// List the classes and images of the image folder `dir`. Errors name the folder at fault: no
/// `train/` or `test/`, no class folders, a class in one split only, a class without images.
pub fn list(dir: &Path) -> Result<Listing> {
    for split in ["train", "test"] {
        if !dir.join(split).is_dir() {
            bail!(
                "{}: no {split}/ folder (an image folder holds train/<class>/*.png|jpg|jpeg and \
                 test/<class>/*.png|jpg|jpeg)",
                dir.display()
            );
        }
    }
    let train = class_folders(&dir.join("train"))?;
    let test = class_folders(&dir.join("test"))?;
    if train.is_empty() {
        bail!(
            "{}: no class folders (expected one folder of images per class)",
            dir.join("train").display()
        );
    }
    if train.len() > u16::MAX as usize + 1 {
        bail!(
            "{}: {} class folders, more than the {} labels ttfs stores",
            dir.join("train").display(),
            train.len(),
            u16::MAX as usize + 1
        );
    }
    let names = |v: &[(String, PathBuf)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let (classes, test_names) = (names(&train), names(&test));
    if let Some(c) = test_names.iter().find(|c| !classes.contains(c)) {
        bail!(
            "{}: class `{c}` has no folder in train/ (the classes are train/'s folders, and \
             test/ must use the same)",
            dir.join("test").join(c).display()
        );
    }
    if let Some(c) = classes.iter().find(|c| !test_names.contains(c)) {
        bail!(
            "{}: class `{c}` has no folder in test/ (both splits need every class)",
            dir.join("train").join(c).display()
        );
    }
    let mut ignored = Vec::new();
    let mut split_files = |folders: &[(String, PathBuf)]| -> Result<Vec<(PathBuf, u16)>> {
        let mut out = Vec::new();
        // Both splits list their classes in the same (sorted) order, so the index is the label.
        for (label, (_, folder)) in folders.iter().enumerate() {
            let files = images_in(folder, &mut ignored)?;
            if files.is_empty() {
                bail!(
                    "{}: no images (files ending in .png, .jpg or .jpeg)",
                    folder.display()
                );
            }
            out.extend(files.into_iter().map(|f| (f, label as u16)));
        }
        Ok(out)
    };
    let train = split_files(&train)?;
    let test = split_files(&test)?;
    Ok(Listing {
        classes,
        train,
        test,
        ignored,
    })
}

/// One decoded image: `pixels` is planar `[channels, height, width]`, `channels` 1 for a
/// grayscale image and 3 otherwise.
struct Decoded {
    width: u32,
    height: u32,
    channels: usize,
    pixels: Vec<u8>,
}

/// Read and decode the image `path` to 8 bits, planar.
fn decode(path: &Path) -> Result<Decoded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A decoder that panics on a malformed file must not end the run without naming it.
    let img = crate::collective::catch_unwind(|| image::load_from_memory(&bytes))
        .map_err(|_| anyhow::anyhow!("{}: the image decoder crashed on it", path.display()))?
        .map_err(|e| anyhow::anyhow!("{}: cannot decode the image: {e}", path.display()))?;
    let (width, height) = (img.width(), img.height());
    let plane = width as usize * height as usize;
    let (channels, pixels) = if img.color().has_color() {
        // Interleaved RGB (alpha dropped) to planes R, G, B.
        let rgb = img.into_rgb8();
        let mut pixels = vec![0u8; 3 * plane];
        for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
            for c in 0..3 {
                pixels[c * plane + i] = px[c];
            }
        }
        (3, pixels)
    } else {
        (1, img.into_luma8().into_raw())
    };
    Ok(Decoded {
        width,
        height,
        channels,
        pixels,
    })
}

/// Decode every image of `listing` (in parallel, in listing order) into the two splits of a
/// data set called `name`: frame `[C, H, W]`, C 1 when every image is grayscale, else 3.
/// Errors name the file: unreadable, not a PNG or JPEG, or of another size than the first.
pub fn build(listing: &Listing, name: &str) -> Result<Splits> {
    let files: Vec<&Path> = listing
        .train
        .iter()
        .chain(&listing.test)
        .map(|(f, _)| f.as_path())
        .collect();
    // Every result is kept, so that of several bad files the first in order is reported,
    // whichever thread got there first.
    let decoded: Vec<Result<Decoded>> = files.par_iter().map(|f| decode(f)).collect();
    let decoded = decoded.into_iter().collect::<Result<Vec<Decoded>>>()?;
    let (w, h) = (decoded[0].width, decoded[0].height);
    if let Some(i) = decoded.iter().position(|d| (d.width, d.height) != (w, h)) {
        bail!(
            "images of different sizes: {} is {w}x{h} (width x height), {} is {}x{}; every \
             image must have the same size",
            files[0].display(),
            files[i].display(),
            decoded[i].width,
            decoded[i].height
        );
    }
    let channels = decoded.iter().map(|d| d.channels).max().unwrap_or(1);
    let frame = [channels, h as usize, w as usize];
    let sample: usize = frame.iter().product();
    let mut decoded = decoded.into_iter();
    let mut split = |labels: &[(PathBuf, u16)]| -> Result<Dataset> {
        let mut data = Vec::with_capacity(labels.len() * sample);
        for d in decoded.by_ref().take(labels.len()) {
            // A grayscale image in a colour data set: the same plane as R, G and B.
            for _ in 0..channels / d.channels {
                data.extend_from_slice(&d.pixels);
            }
        }
        let ds = Dataset {
            name: name.into(),
            kind: Kind::Image,
            classes: listing.classes.len(),
            frame,
            steps: 1,
            scale: 1.0 / 255.0,
            data,
            labels: labels.iter().map(|(_, l)| *l).collect(),
        };
        ds.validate(name)?;
        Ok(ds)
    };
    let train = split(&listing.train)?;
    let test = split(&listing.test)?;
    Ok(Splits { train, test })
}

/// Both splits of the image folder `dir` as a data set called `name`, read from `cache_dir`
/// when this folder's images were decoded before (`None`: no cache).
pub fn load_dir(name: &str, dir: &Path, cache_dir: Option<&Path>) -> Result<Splits> {
    if !dir.is_dir() {
        bail!(
            "{name}: directory {} does not exist. {}",
            dir.display(),
            hint()
        );
    }
    load_listed(name, dir, &list(dir)?, cache_dir)
}

/// [`load_dir`] with the folder already listed (by [`list`]).
pub fn load_listed(
    name: &str,
    dir: &Path,
    listing: &Listing,
    cache_dir: Option<&Path>,
) -> Result<Splits> {
    let files: Vec<PathBuf> = listing
        .train
        .iter()
        .chain(&listing.test)
        .map(|(f, _)| f.clone())
        .collect();
    // The paths carry the split and class names, so the key changes with any of them; the
    // cache files are shared by every data set name that reads this folder.
    let key = format!("{NAME} v1\n{}", cache::fingerprint(dir, &files)?);
    let mut s = cache::cached_splits(cache_dir, NAME, Kind::Image, &key, || build(listing, name))?;
    s.train.name = name.into();
    s.test.name = name.into();
    Ok(s)
}

/// Encode planar `[C, H, W]` pixels (C 1 or 3) as a PNG file, or as a JPEG of quality
/// `jpeg` (1..=100) when given: for tests and tools that write image folders.
pub fn encode(frame: [usize; 3], pixels: &[u8], jpeg: Option<u8>) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let [c, h, w] = frame;
    let color = match c {
        1 => image::ColorType::L8,
        3 => image::ColorType::Rgb8,
        _ => bail!("cannot encode {c} channels as an image (1 or 3)"),
    };
    if pixels.len() != c * h * w {
        bail!("{} pixel bytes for a frame {frame:?}", pixels.len());
    }
    // Planar to interleaved: pixel i's channels side by side.
    let plane = h * w;
    let interleaved: Vec<u8> = (0..plane * c)
        .map(|j| pixels[(j % c) * plane + j / c])
        .collect();
    let mut out = Vec::new();
    let (w, h) = (w as u32, h as u32);
    match jpeg {
        None => {
            image::codecs::png::PngEncoder::new(&mut out).write_image(&interleaved, w, h, color)
        }
        Some(q) => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).write_image(
            &interleaved,
            w,
            h,
            color,
        ),
    }?;
    Ok(out)
}

pub fn hint() -> String {
    "image-folder: pass a folder holding train/<class>/ and test/<class>/, one folder of .png or \
     .jpg images per class (torchvision's ImageFolder layout), with --data-dir"
        .into()
}

#[cfg(test)]
pub(crate) mod tests;
