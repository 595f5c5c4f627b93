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
pub(crate) mod tests {
    use super::*;

    /// A fresh temporary folder for one test.
    pub(crate) fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ttfs-imgf-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Write the planar `[C, H, W]` image `pixels` to `dir/rel` (PNG, or JPEG of quality `jpeg`).
    pub(crate) fn put(dir: &Path, rel: &str, frame: [usize; 3], pixels: &[u8], jpeg: Option<u8>) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, encode(frame, pixels, jpeg).unwrap()).unwrap();
    }

    /// Distinct pixel values for image number `k`.
    pub(crate) fn pattern(frame: [usize; 3], k: usize) -> Vec<u8> {
        let n: usize = frame.iter().product();
        (0..n).map(|i| ((i * 7 + k * 31) % 251) as u8).collect()
    }

    const RGB: [usize; 3] = [3, 3, 4];

    /// Two classes (`b_dog` listed before `a_cat` on purpose), three PNG images in train/, two
    /// in test/, and files that must be skipped.
    pub(crate) fn small_folder(dir: &Path) {
        put(dir, "train/b_dog/x.png", RGB, &pattern(RGB, 0), None);
        put(dir, "train/a_cat/2.png", RGB, &pattern(RGB, 1), None);
        put(dir, "train/a_cat/10.PNG", RGB, &pattern(RGB, 2), None);
        put(dir, "test/a_cat/t.png", RGB, &pattern(RGB, 3), None);
        put(dir, "test/b_dog/t.png", RGB, &pattern(RGB, 4), None);
        for junk in [
            "train/a_cat/.DS_Store",
            "train/a_cat/README",
            "train/a_cat/notes.txt",
            "train/a_cat/.hidden.png",
            "train/.DS_Store",
            "train/labels.csv",
            "README.md",
        ] {
            std::fs::write(dir.join(junk), b"not an image").unwrap();
        }
        std::fs::create_dir_all(dir.join("train/.ipynb_checkpoints")).unwrap();
        std::fs::create_dir_all(dir.join("other/zebra")).unwrap();
    }

    #[test]
    fn loads_png_exactly_with_labels_from_sorted_class_folders() {
        let dir = tmp("png");
        small_folder(&dir);
        let l = list(&dir).unwrap();
        assert_eq!(l.classes, ["a_cat", "b_dog"]);
        let names: Vec<String> = l
            .train
            .iter()
            .map(|(f, _)| f.display().to_string())
            .collect();
        assert!(
            names[0].ends_with("a_cat/10.PNG") && names[1].ends_with("a_cat/2.png"),
            "{names:?}"
        );
        assert_eq!(l.ignored.len(), 2, "{:?}", l.ignored); // README, notes.txt
        let s = load_dir("image-folder", &dir, None).unwrap();
        for ds in [&s.train, &s.test] {
            assert_eq!(
                (ds.kind, ds.frame, ds.steps, ds.classes),
                (Kind::Image, RGB, 1, 2)
            );
            assert_eq!(ds.scale, 1.0 / 255.0);
            assert_eq!(ds.name, "image-folder");
        }
        assert_eq!(s.train.labels, [0, 0, 1]);
        assert_eq!(s.test.labels, [0, 1]);
        // Planar, exactly the pixels written: 10.PNG sorts before 2.png.
        for (i, k) in [(0, 2), (1, 1), (2, 0)] {
            assert_eq!(s.train.sample(i), &pattern(RGB, k)[..], "train {i}");
        }
        assert_eq!(s.test.sample(1), &pattern(RGB, 4)[..]);
        // Pixel (x 1, y 2) of the first image: R, G, B planes of 3x4.
        let px = s.train.sample(0);
        let p = pattern(RGB, 2);
        assert_eq!([px[9], px[12 + 9], px[24 + 9]], [p[9], p[21], p[33]]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn grayscale_keeps_one_channel_unless_any_image_has_colour() {
        let dir = tmp("gray");
        let g = [1, 5, 2];
        put(&dir, "train/0/a.png", g, &pattern(g, 0), None);
        put(&dir, "test/0/a.png", g, &pattern(g, 1), None);
        let s = load_dir("image-folder", &dir, None).unwrap();
        assert_eq!(s.train.frame, [1, 5, 2]);
        assert_eq!(s.test.sample(0), &pattern(g, 1)[..]);
        // One colour image in test/: every image has three channels, gray ones repeated.
        put(
            &dir,
            "test/0/b.png",
            [3, 5, 2],
            &pattern([3, 5, 2], 2),
            None,
        );
        let s = load_dir("image-folder", &dir, None).unwrap();
        assert_eq!(s.train.frame, [3, 5, 2]);
        assert_eq!(s.train.sample(0), &pattern(g, 0).repeat(3)[..]);
        assert_eq!(s.test.sample(1), &pattern([3, 5, 2], 2)[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn decodes_jpeg_approximately() {
        let dir = tmp("jpeg");
        let f = [3, 16, 16];
        // Smooth colour ramps survive JPEG's quantization within a few levels.
        let ramp = |k: usize| -> Vec<u8> {
            (0..3 * 256)
                .map(|i| {
                    let (c, y, x) = (i / 256, i / 16 % 16, i % 16);
                    (40 + 8 * x + 4 * y + 20 * c + 10 * k) as u8
                })
                .collect()
        };
        put(&dir, "train/a/0.jpg", f, &ramp(0), Some(95));
        put(&dir, "train/b/0.JPEG", f, &ramp(1), Some(95));
        put(&dir, "test/a/0.Jpg", f, &ramp(2), Some(95));
        put(&dir, "test/b/0.jpeg", f, &ramp(3), Some(95));
        let s = load_dir("image-folder", &dir, None).unwrap();
        assert_eq!((s.train.frame, s.train.labels.clone()), (f, vec![0, 1]));
        // JPEG is lossy (and halves the colour resolution): close on average, never far.
        for (ds, i, k) in [(&s.train, 0, 0), (&s.train, 1, 1), (&s.test, 1, 3)] {
            let diff: Vec<i32> = ds
                .sample(i)
                .iter()
                .zip(ramp(k))
                .map(|(&a, b)| (a as i32 - b as i32).abs())
                .collect();
            let mean = diff.iter().sum::<i32>() as f64 / diff.len() as f64;
            let worst = *diff.iter().max().unwrap();
            assert!(
                mean < 3.0 && worst <= 20,
                "sample {i}: mean {mean:.2}, worst {worst}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Give `p` the modification time `t`.
    fn set_mtime(p: &Path, t: std::time::SystemTime) {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(t).unwrap();
    }

    #[test]
    fn decodes_once_into_the_cache_and_misses_after_a_change() {
        let dir = tmp("cache");
        let cache_dir = dir.join("cache");
        let data = dir.join("data");
        small_folder(&data);
        let first = load_dir("image-folder", &data, Some(&cache_dir)).unwrap();
        assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 2);
        // Same name, size and time, but no longer an image: only the cache can give the
        // samples, so the second load did not decode.
        let img = data.join("train/b_dog/x.png");
        let t = std::fs::metadata(&img).unwrap().modified().unwrap();
        let len = std::fs::metadata(&img).unwrap().len() as usize;
        std::fs::write(&img, vec![b'?'; len]).unwrap();
        set_mtime(&img, t);
        let again = load_dir("cifar-named", &data, Some(&cache_dir)).unwrap();
        assert_eq!(
            (again.train.data, again.test.data),
            (first.train.data, first.test.data)
        );
        assert_eq!(again.train.name, "cifar-named");
        // A changed modification time misses the cache: the file is decoded, and fails.
        set_mtime(&img, t + std::time::Duration::from_secs(1));
        let e = format!(
            "{:#}",
            load_dir("image-folder", &data, Some(&cache_dir))
                .err()
                .unwrap()
        );
        assert!(e.contains("b_dog/x.png: cannot decode the image"), "{e}");
        // A changed image is read anew; so is an added one.
        put(&data, "train/b_dog/x.png", RGB, &pattern(RGB, 9), None);
        let s = load_dir("image-folder", &data, Some(&cache_dir)).unwrap();
        assert_eq!(s.train.sample(2), &pattern(RGB, 9)[..]);
        put(&data, "test/b_dog/u.png", RGB, &pattern(RGB, 5), None);
        let s = load_dir("image-folder", &data, Some(&cache_dir)).unwrap();
        assert_eq!((s.test.len(), s.test.labels.clone()), (3, vec![0, 1, 1]));
        assert_eq!(s.test.sample(2), &pattern(RGB, 5)[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_problem_is_an_error_naming_the_file_or_folder() {
        let dir = tmp("errors");
        let err = |d: &Path| format!("{:#}", load_dir("image-folder", d, None).err().unwrap());
        let e = err(&dir.join("nowhere"));
        assert!(
            e.contains("nowhere does not exist") && e.contains("train/<class>/"),
            "{e}"
        );
        let e = err(&dir);
        assert!(e.contains("errors: no train/ folder"), "{e}");
        std::fs::create_dir_all(dir.join("train")).unwrap();
        let e = err(&dir);
        assert!(e.contains("errors: no test/ folder"), "{e}");
        std::fs::create_dir_all(dir.join("test")).unwrap();
        std::fs::write(dir.join("train/README"), b"x").unwrap();
        let e = err(&dir);
        assert!(e.contains("errors/train: no class folders"), "{e}");
        small_folder(&dir);
        std::fs::create_dir_all(dir.join("test/c_eel")).unwrap();
        let e = err(&dir);
        assert!(
            e.contains("test/c_eel: class `c_eel` has no folder in train/"),
            "{e}"
        );
        std::fs::create_dir_all(dir.join("train/c_eel")).unwrap();
        std::fs::create_dir_all(dir.join("train/d_fox")).unwrap();
        let e = err(&dir);
        assert!(
            e.contains("train/d_fox: class `d_fox` has no folder in test/"),
            "{e}"
        );
        std::fs::remove_dir_all(dir.join("train/d_fox")).unwrap();
        std::fs::write(dir.join("train/c_eel/notes.txt"), b"x").unwrap();
        let e = err(&dir);
        assert!(
            e.contains("train/c_eel: no images (files ending in .png"),
            "{e}"
        );
        std::fs::remove_dir_all(dir.join("train/c_eel")).unwrap();
        std::fs::remove_dir_all(dir.join("test/c_eel")).unwrap();
        assert!(load_dir("image-folder", &dir, None).is_ok());
        // A truncated image and a text file named .jpg.
        let png = encode(RGB, &pattern(RGB, 0), None).unwrap();
        std::fs::write(dir.join("test/b_dog/t.png"), &png[..png.len() / 2]).unwrap();
        std::fs::write(dir.join("test/b_dog/z.jpg"), b"hello").unwrap();
        let e = err(&dir);
        assert!(
            e.contains("test/b_dog/t.png: cannot decode the image"),
            "{e}"
        );
        std::fs::remove_file(dir.join("test/b_dog/t.png")).unwrap();
        let e = err(&dir);
        assert!(
            e.contains("test/b_dog/z.jpg: cannot decode the image"),
            "{e}"
        );
        // One image of another size: both sizes named with a file of each.
        put(
            &dir,
            "test/b_dog/z.jpg",
            [3, 4, 4],
            &pattern([3, 4, 4], 0),
            Some(90),
        );
        let e = err(&dir);
        assert!(
            e.contains("images of different sizes")
                && e.contains("a_cat/10.PNG is 4x3")
                && e.contains("b_dog/z.jpg is 4x4"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn encodes_what_it_decodes() {
        let f = [3, 2, 5];
        let png = encode(f, &pattern(f, 3), None).unwrap();
        let img = image::load_from_memory(&png).unwrap().into_rgb8();
        // Interleaved pixel (x 4, y 1) holds planar bytes 9, 19, 29.
        let p = pattern(f, 3);
        assert_eq!(img.get_pixel(4, 1).0, [p[9], p[19], p[29]]);
        assert!(encode([2, 2, 2], &[0; 8], None).is_err());
        assert!(encode(f, &[0; 5], None).is_err());
    }
}
