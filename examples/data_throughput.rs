//! Preprocessing throughput of the event data sets, on synthetic recordings written in the
//! real formats to a temporary directory: events/s and samples/s of a first (cold) load that
//! parses and bins every recording, and the speed-up of a second load served by the cache.
//! Then the same for an image folder of CIFAR-shaped JPEGs, and for the image folder `DIR`
//! when given (a fresh cache in the temporary directory; `DIR` is only read).
//!
//! `cargo run --release --example data_throughput [-- SCALE [DIR]]` (SCALE multiplies the
//! number of recordings and images, default 1).

use std::path::Path;
use std::time::Instant;
use ttfs::data::events::{BinBy, Event, EventEncoding, EventParams};
use ttfs::data::{aedat, image_folder, nmnist, LoadOptions, Splits};
use ttfs::rng::Rng;

/// `n` events over `span_us`, uniformly placed on a `side` x `side` sensor, in time order.
fn recording(rng: &mut Rng, n: usize, t0: u64, span_us: u64, side: usize) -> Vec<Event> {
    let mut t: Vec<u64> = (0..n)
        .map(|_| t0 + rng.below(span_us as usize) as u64)
        .collect();
    t.sort_unstable();
    t.into_iter()
        .map(|t| Event {
            t,
            x: rng.below(side) as u16,
            y: rng.below(side) as u16,
            p: rng.below(2) as u8,
        })
        .collect()
}

fn timed(name: &str, dir: &Path, opt: &LoadOptions) -> (Splits, f64) {
    let start = Instant::now();
    let s = ttfs::data::load_with(name, Some(dir), opt).expect("load");
    (s, start.elapsed().as_secs_f64())
}

/// Cold and cached loads of the image folder `dir`.
fn report_images(what: &str, dir: &Path, opt: &LoadOptions) {
    let (s, cold) = timed("image-folder", dir, opt);
    let (s2, warm) = timed("image-folder", dir, opt);
    assert_eq!(s.train.data, s2.train.data, "cache changed the samples");
    let n = s.train.len() + s.test.len();
    println!("{what}: {n} images -> {:?}", s.train.frame);
    println!(
        "  first load (decode + write cache): {cold:.3} s = {:.0} images/s",
        n as f64 / cold
    );
    println!(
        "  second load (cache): {warm:.3} s, speed-up x{:.1}",
        cold / warm
    );
}

fn report(what: &str, name: &str, dir: &Path, opt: &LoadOptions, events: usize, bytes: usize) {
    let (s, cold) = timed(name, dir, opt);
    let (s2, warm) = timed(name, dir, opt);
    assert_eq!(s.train.data, s2.train.data, "cache changed the samples");
    let n = s.train.len() + s.test.len();
    println!(
        "{what}: {n} samples, {events} events ({:.1} MB of recordings) -> {:?} x {} frames",
        bytes as f64 / 1e6,
        s.train.frame,
        s.train.steps
    );
    println!(
        "  first load (parse + bin + write cache): {cold:.3} s = {:.2} M events/s, {:.0} samples/s",
        events as f64 / cold / 1e6,
        n as f64 / cold
    );
    println!(
        "  second load (cache): {warm:.3} s = {:.0} samples/s, speed-up x{:.1}",
        n as f64 / warm,
        cold / warm
    );
}

fn main() {
    let scale: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SCALE must be a whole number"))
        .unwrap_or(1);
    let root = std::env::temp_dir().join(format!("ttfs-throughput-{}", std::process::id()));
    let mut rng = Rng::new(1);
    println!("{} threads", rayon::current_num_threads());

    // N-MNIST: ~4000 events over ~300 ms per recording (the real files average about that).
    let dir = root.join("n-mnist");
    let (mut events, mut bytes) = (0, 0);
    for (split, per_digit) in [("Train", 200 * scale), ("Test", 50 * scale)] {
        for d in 0..10 {
            let p = dir.join(split).join(d.to_string());
            std::fs::create_dir_all(&p).unwrap();
            for i in 0..per_digit {
                let n = 3000 + rng.below(2000);
                let b = nmnist::encode(&recording(&mut rng, n, 0, 300_000, 34));
                events += n;
                bytes += b.len();
                std::fs::write(p.join(format!("{i:05}.bin")), b).unwrap();
            }
        }
    }
    let opt = LoadOptions {
        events: EventParams {
            frames: 16,
            bin_by: BinBy::Time,
            encoding: EventEncoding::Counts,
            resolution: 0,
        },
        coarse_labels: false,
        cache_dir: Some(root.join("cache")),
    };
    report("N-MNIST-shaped", "n-mnist", &dir, &opt, events, bytes);

    // DVS128 Gesture: recordings of 11 gestures of ~6 s, ~100k events each (the real files
    // hold about 1.3M events per recording), 128x128 down-sampled to 32x32.
    let dir = root.join("DvsGesture");
    std::fs::create_dir_all(&dir).unwrap();
    let (mut events, mut bytes) = (0, 0);
    for (split, files) in [("train", 6 * scale), ("test", 2 * scale)] {
        let mut list = String::new();
        for f in 0..files {
            let name = format!("user{:02}_{split}", f + 1);
            let mut ev = Vec::new();
            let mut csv = String::from("class,startTime_usec,endTime_usec\n");
            for g in 0..11u64 {
                let t0 = 1_000_000 + g * 6_500_000;
                csv += &format!("{},{t0},{}\n", g + 1, t0 + 6_000_000);
                ev.extend(recording(&mut rng, 100_000, t0, 6_000_000, 128));
            }
            let b = aedat::encode(&ev, 4096);
            events += ev.len();
            bytes += b.len();
            std::fs::write(dir.join(format!("{name}.aedat")), b).unwrap();
            std::fs::write(dir.join(format!("{name}_labels.csv")), csv).unwrap();
            list += &format!("{name}.aedat\n");
        }
        std::fs::write(dir.join(format!("trials_to_{split}.txt")), list).unwrap();
    }
    let opt = LoadOptions {
        events: EventParams {
            resolution: 32,
            ..opt.events
        },
        ..opt
    };
    report(
        "DVS-Gesture-shaped",
        "dvs-gesture",
        &dir,
        &opt,
        events,
        bytes,
    );

    // CIFAR-shaped image folder: 32x32 colour JPEGs (quality 90) of smooth random blobs,
    // about the size of the real copy's files.
    let dir = root.join("images");
    let frame = [3, 32, 32];
    for (split, per_class) in [("train", 500 * scale), ("test", 100 * scale)] {
        for c in 0..10 {
            let p = dir.join(split).join(format!("class{c}"));
            std::fs::create_dir_all(&p).unwrap();
            for i in 0..per_class {
                let (cy, cx, v) = (rng.below(32), rng.below(32), rng.below(200));
                let px: Vec<u8> = (0..3 * 1024usize)
                    .map(|j| {
                        let (y, x) = (j / 32 % 32, j % 32);
                        let d = y.abs_diff(cy) + x.abs_diff(cx);
                        (v + 50 * (j / 1024)).saturating_sub(4 * d).min(255) as u8
                    })
                    .collect();
                let bytes = image_folder::encode(frame, &px, Some(90)).unwrap();
                std::fs::write(p.join(format!("{i:04}.jpg")), bytes).unwrap();
            }
        }
    }
    report_images("CIFAR-shaped JPEG folder", &dir, &opt);
    if let Some(real) = std::env::args().nth(2) {
        report_images(&real, Path::new(&real), &opt);
    }
    std::fs::remove_dir_all(&root).unwrap();
}
