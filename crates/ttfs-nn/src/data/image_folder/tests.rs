//! Image folders: exact PNG and approximate JPEG decoding, labels from the sorted class
//! folders, the cache, and an error naming the file or folder for every problem. The
//! helpers that write small image folders are used by other tests of the crate too.

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
