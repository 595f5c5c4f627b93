//! N-MNIST (Orchard et al. 2015): MNIST digits recorded by a moving ATIS sensor, 34x34.
//!
//! Layout: `Train/<digit>/*.bin` (60000 files) and `Test/<digit>/*.bin` (10000), one recording
//! per file. Each event is 40 bits, big-endian: byte 0 x, byte 1 y, byte 2 bit 7 polarity
//! (1 = ON) and bits 6..0 the timestamp's bits 22..16, bytes 3-4 the timestamp's low 16 bits
//! (microseconds).

use super::cache;
use super::events::{self, Event, EventParams};
use super::{Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub const SENSOR: [usize; 2] = [34, 34];
pub const CLASSES: usize = 10;

/// Decode one recording's bytes.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Vec<Event>> {
    if !bytes.len().is_multiple_of(5) {
        bail!(
            "{origin}: {} bytes is not a whole number of 5-byte events (truncated?)",
            bytes.len()
        );
    }
    let events: Vec<Event> = bytes
        .chunks_exact(5)
        .map(|b| Event {
            x: b[0] as u16,
            y: b[1] as u16,
            p: b[2] >> 7,
            t: (((b[2] & 0x7f) as u64) << 16) | ((b[3] as u64) << 8) | b[4] as u64,
        })
        .collect();
    events::check(&events, SENSOR, origin)?;
    Ok(events)
}

/// Encode events in the N-MNIST format (for tests, fuzzing seeds and benchmarks).
pub fn encode(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 5);
    for e in events {
        let t = e.t & 0x7f_ffff;
        out.extend_from_slice(&[
            e.x as u8,
            e.y as u8,
            (e.p << 7) | (t >> 16) as u8,
            (t >> 8) as u8,
            t as u8,
        ]);
    }
    out
}

/// The recordings of one split (`Train` or `Test`) with their labels, in a fixed order
/// (digit, then file name).
pub fn list_split(dir: &Path, split: &str) -> Result<Vec<(PathBuf, u16)>> {
    let root = dir.join(split);
    if !root.is_dir() {
        bail!("{}: missing folder {split}/", dir.display());
    }
    let mut out = Vec::new();
    for digit in 0..CLASSES {
        let d = root.join(digit.to_string());
        if !d.is_dir() {
            bail!("{}: missing folder {split}/{digit}/", dir.display());
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .with_context(|| format!("cannot list {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "bin"))
            .collect();
        if files.is_empty() {
            bail!("{}: no .bin recordings", d.display());
        }
        files.sort();
        out.extend(files.into_iter().map(|f| (f, digit as u16)));
    }
    Ok(out)
}

/// Read, decode and bin the recordings `files` in parallel.
pub fn build(files: &[(PathBuf, u16)], p: &EventParams) -> Result<Dataset> {
    let frame = p.frame(SENSOR)?;
    let sample = p.frames * frame.iter().product::<usize>();
    // Each recording is binned straight into its place in the split's buffer.
    let mut data = vec![0u8; files.len() * sample];
    data.par_chunks_mut(sample)
        .zip(files.par_iter())
        .try_for_each(|(out, (f, _))| -> Result<()> {
            let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            let mut ev = parse(&bytes, &f.display().to_string())?;
            events::sort_by_time(&mut ev);
            events::encode(&ev, SENSOR, frame, p, out);
            Ok(())
        })?;
    Ok(Dataset {
        name: "n-mnist".into(),
        kind: Kind::Events,
        classes: CLASSES,
        frame,
        steps: p.frames,
        scale: 1.0,
        data,
        labels: files.iter().map(|(_, l)| *l).collect(),
    })
}

pub fn load_split(
    dir: &Path,
    split: &str,
    p: &EventParams,
    cache_dir: Option<&Path>,
) -> Result<Dataset> {
    let files = list_split(dir, split)?;
    let paths: Vec<PathBuf> = files.iter().map(|(f, _)| f.clone()).collect();
    let key = format!(
        "n-mnist v1 {}\n{}",
        p.key(),
        cache::fingerprint(dir, &paths)?
    );
    cache::cached(cache_dir, "n-mnist", Kind::Events, split, &key, || {
        build(&files, p)
    })
}

pub fn load_dir(dir: &Path, p: &EventParams, cache_dir: Option<&Path>) -> Result<Splits> {
    super::load_train_test("n-mnist", dir, &download_hint(), ("Train", "Test"), |s| {
        load_split(dir, s, p, cache_dir)
    })
}

pub fn download_hint() -> String {
    "N-MNIST: download Train.zip and Test.zip from https://www.garrickorchard.com/datasets/n-mnist, \
     unzip both into one directory (giving Train/0..9/*.bin and Test/0..9/*.bin) and pass it \
     with --data-dir"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::events::{BinBy, EventEncoding};

    #[test]
    fn decodes_the_40_bit_events_exactly() {
        // x 33, y 7, ON, t = 0x5a_1234: byte 2 = 0x80 | 0x5a.
        let bytes = [33, 7, 0xda, 0x12, 0x34, 0, 1, 0x7f, 0xff, 0xff];
        let ev = parse(&bytes, "00002.bin").unwrap();
        assert_eq!(
            ev,
            vec![
                Event {
                    x: 33,
                    y: 7,
                    p: 1,
                    t: 0x5a_1234
                },
                Event {
                    x: 0,
                    y: 1,
                    p: 0,
                    t: 0x7f_ffff
                },
            ]
        );
        assert_eq!(encode(&ev), bytes);
        let e = parse(&bytes[..9], "00002.bin").unwrap_err().to_string();
        assert!(
            e.contains("00002.bin") && e.contains("5-byte events"),
            "{e}"
        );
        let e = parse(&[34, 0, 0, 0, 0], "f.bin").unwrap_err().to_string();
        assert!(
            e.contains("f.bin: event 0 at (x 34, y 0) lies outside the 34x34 sensor"),
            "{e}"
        );
        assert!(parse(&[], "f").unwrap().is_empty());
    }

    #[test]
    fn loads_a_directory_bins_and_caches() {
        let root = std::env::temp_dir().join(format!("ttfs-nmnist-{}", std::process::id()));
        let dir = root.join("data");
        let cache_dir = root.join("cache");
        for split in ["Train", "Test"] {
            for d in 0..10u8 {
                let p = dir.join(split).join(d.to_string());
                std::fs::create_dir_all(&p).unwrap();
                let ev = [
                    Event {
                        x: d as u16,
                        y: 1,
                        p: 1,
                        t: 10,
                    },
                    Event {
                        x: d as u16,
                        y: 1,
                        p: 1,
                        t: 20,
                    },
                    Event {
                        x: 0,
                        y: 33,
                        p: 0,
                        t: 1000,
                    },
                ];
                std::fs::write(p.join("00001.bin"), encode(&ev)).unwrap();
            }
        }
        let p = EventParams {
            frames: 2,
            bin_by: BinBy::Time,
            encoding: EventEncoding::Counts,
            resolution: 17,
        };
        let s = load_dir(&dir, &p, Some(&cache_dir)).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (10, 10));
        assert_eq!((s.train.steps, s.train.frame), (2, [2, 17, 17]));
        assert_eq!(s.train.labels, (0..10).collect::<Vec<u16>>());
        let x = s.train.sample(6);
        let f = 2 * 17 * 17;
        assert_eq!(x[17 * 17 + 3], 2); // bin 0, ON, y 0 (1/2), x 3 (6/2)
        assert_eq!(x[f + 16 * 17], 1); // bin 1, OFF, y 16 (33/2), x 0
        assert_eq!(x.iter().map(|&v| v as usize).sum::<usize>(), 3);
        assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 2);
        // A second load reads the cache and gives the same samples.
        let again = load_dir(&dir, &p, Some(&cache_dir)).unwrap();
        assert_eq!(again.train.data, s.train.data);
        // A malformed recording is reported by name (and a changed file misses the cache).
        std::fs::write(dir.join("Test/3/00001.bin"), [1, 2, 3]).unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, Some(&cache_dir)).err().unwrap());
        assert!(
            e.contains("Test/3/00001.bin") && e.contains("5-byte events"),
            "{e}"
        );
        std::fs::remove_dir_all(dir.join("Test/3")).unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(e.contains("missing folder Test/3/"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("does not exist") && e.contains("garrickorchard"),
            "{e}"
        );
    }
}
