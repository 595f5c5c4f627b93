//! DVS128 Gesture (Amir et al. 2017): 11 hand and arm gestures by 29 subjects under 3
//! lighting conditions, recorded by a 128x128 DVS.
//!
//! Layout: `user<NN>_<lighting>.aedat` recordings (AEDAT 3.1), each with a
//! `user<NN>_<lighting>_labels.csv` giving the class and time span of every gesture in it, and
//! `trials_to_train.txt` / `trials_to_test.txt` listing the recordings of each split. One
//! sample per labelled gesture: the events with `start <= t < end`.

use super::aedat::{self, Gesture};
use super::cache;
use super::events::{self, Event, EventParams};
use super::{Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub const SENSOR: [usize; 2] = [128, 128];
pub const CLASSES: usize = 11;

/// The recordings listed in `dir/list` (one file name per line, blank lines ignored).
pub fn list_split(dir: &Path, list: &str) -> Result<Vec<PathBuf>> {
    let p = dir.join(list);
    let text = std::fs::read_to_string(&p)
        .with_context(|| format!("{}: missing or unreadable {list}", dir.display()))?;
    let files: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l))
        .collect();
    if files.is_empty() {
        bail!("{}: lists no recordings", p.display());
    }
    for f in &files {
        if !f.is_file() {
            bail!(
                "{}: lists {} which does not exist",
                p.display(),
                f.display()
            );
        }
    }
    Ok(files)
}

/// `user01_lab.aedat` -> `user01_lab_labels.csv`.
pub fn labels_path(recording: &Path) -> PathBuf {
    let stem = recording.file_stem().unwrap_or_default().to_string_lossy();
    recording.with_file_name(format!("{stem}_labels.csv"))
}

/// Cut a recording (events in time order) into its labelled gestures.
pub fn slice<'a>(
    events: &'a [Event],
    gestures: &[Gesture],
    origin: &str,
) -> Result<Vec<&'a [Event]>> {
    gestures
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let a = events.partition_point(|e| e.t < g.start);
            let b = events.partition_point(|e| e.t < g.end);
            if a == b {
                bail!(
                    "{origin}: gesture {i} (class {}, {}..{} us) contains no events (labels do not match the recording?)",
                    g.class + 1,
                    g.start,
                    g.end
                );
            }
            Ok(&events[a..b])
        })
        .collect()
}

/// Decode one recording and its labels, and bin every gesture: returns (samples, labels).
pub fn build_recording(
    path: &Path,
    p: &EventParams,
    frame: [usize; 3],
) -> Result<(Vec<u8>, Vec<u16>)> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {origin}"))?;
    let mut ev = aedat::parse(&bytes, &origin)?;
    events::check(&ev, SENSOR, &origin)?;
    events::sort_by_time(&mut ev);
    let lp = labels_path(path);
    let text = std::fs::read_to_string(&lp)
        .with_context(|| format!("cannot read the labels of {origin}: {}", lp.display()))?;
    let gestures = aedat::parse_labels(&text, &lp.display().to_string())?;
    let sample = p.frames * frame.iter().product::<usize>();
    let mut data = vec![0u8; gestures.len() * sample];
    for (s, out) in slice(&ev, &gestures, &origin)?
        .iter()
        .zip(data.chunks_exact_mut(sample))
    {
        events::encode(s, SENSOR, frame, p, out);
    }
    Ok((data, gestures.iter().map(|g| g.class).collect()))
}

pub fn build(files: &[PathBuf], p: &EventParams) -> Result<Dataset> {
    let frame = p.frame(SENSOR)?;
    let parts: Vec<(Vec<u8>, Vec<u16>)> = files
        .par_iter()
        .map(|f| build_recording(f, p, frame))
        .collect::<Result<_>>()?;
    let mut ds = Dataset {
        name: "dvs-gesture".into(),
        kind: Kind::Events,
        classes: CLASSES,
        frame,
        steps: p.frames,
        scale: 1.0,
        data: Vec::new(),
        labels: Vec::new(),
    };
    for (d, l) in parts {
        ds.data.extend_from_slice(&d);
        ds.labels.extend_from_slice(&l);
    }
    Ok(ds)
}

pub fn load_split(
    dir: &Path,
    split: &str,
    p: &EventParams,
    cache_dir: Option<&Path>,
) -> Result<Dataset> {
    let files = list_split(dir, &format!("trials_to_{split}.txt"))?;
    let mut sources = Vec::new();
    for f in &files {
        sources.push(f.clone());
        sources.push(labels_path(f));
    }
    let key = format!(
        "dvs-gesture v1 {}\n{}",
        p.key(),
        cache::fingerprint(dir, &sources)?
    );
    cache::cached(cache_dir, "dvs-gesture", Kind::Events, split, &key, || {
        build(&files, p)
    })
}

pub fn load_dir(dir: &Path, p: &EventParams, cache_dir: Option<&Path>) -> Result<Splits> {
    super::load_train_test(
        "dvs-gesture",
        dir,
        &download_hint(),
        ("train", "test"),
        |s| load_split(dir, s, p, cache_dir),
    )
}

pub fn download_hint() -> String {
    "DVS128 Gesture: download DvsGesture.tar.gz from IBM Research \
     (https://research.ibm.com/interactive/dvsgesture/), unpack it and pass the DvsGesture \
     directory (user*_*.aedat, user*_*_labels.csv, trials_to_train.txt, trials_to_test.txt) \
     with --data-dir"
        .into()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::data::events::{BinBy, EventEncoding};

    /// Write a recording with one gesture per entry of `classes` (1..=11), gesture `i` spanning
    /// `[1000 i, 1000 i + 1000)` us with `per` events at x = 4 i + class, y = 2 * class.
    pub fn write_recording(dir: &Path, name: &str, classes: &[u16], per: usize) {
        let mut ev = Vec::new();
        let mut csv = String::from("class,startTime_usec,endTime_usec\r\n");
        for (i, &c) in classes.iter().enumerate() {
            let t0 = 1000 * i as u64;
            csv += &format!("{c},{t0},{}\r\n", t0 + 1000);
            for k in 0..per {
                ev.push(Event {
                    t: t0 + (k * 1000 / per) as u64,
                    x: 4 * i as u16 + c,
                    y: 2 * c,
                    p: (k % 2) as u8,
                });
            }
        }
        std::fs::write(dir.join(format!("{name}.aedat")), aedat::encode(&ev, 7)).unwrap();
        std::fs::write(dir.join(format!("{name}_labels.csv")), csv).unwrap();
    }

    #[test]
    fn loads_gestures_from_recordings() {
        let root = std::env::temp_dir().join(format!("ttfs-dvs-{}", std::process::id()));
        let dir = root.join("DvsGesture");
        std::fs::create_dir_all(&dir).unwrap();
        write_recording(&dir, "user01_lab", &[1, 5, 11], 10);
        write_recording(&dir, "user02_led", &[2], 4);
        write_recording(&dir, "user03_lab", &[3, 4], 6);
        std::fs::write(
            dir.join("trials_to_train.txt"),
            "user01_lab.aedat\nuser02_led.aedat\n\n",
        )
        .unwrap();
        std::fs::write(dir.join("trials_to_test.txt"), "user03_lab.aedat\r\n").unwrap();
        let p = EventParams {
            frames: 2,
            bin_by: BinBy::Count,
            encoding: EventEncoding::Counts,
            resolution: 64,
        };
        let s = load_dir(&dir, &p, Some(&root.join("cache"))).unwrap();
        assert_eq!(s.train.labels, vec![0, 4, 10, 1]);
        assert_eq!(s.test.labels, vec![2, 3]);
        assert_eq!((s.train.frame, s.train.steps), ([2, 64, 64], 2));
        // Gesture 1 of user01 (class 5): 10 events at x 9, y 10 -> (4, 5), polarity alternating;
        // by count, 5 events per frame, 3 OFF + 2 ON in frame 0.
        let x = s.train.sample(1);
        let f = 2 * 64 * 64;
        assert_eq!((x[5 * 64 + 4], x[64 * 64 + 5 * 64 + 4]), (3, 2));
        assert_eq!((x[f + 5 * 64 + 4], x[f + 64 * 64 + 5 * 64 + 4]), (2, 3));
        assert_eq!(x.iter().map(|&v| v as usize).sum::<usize>(), 10);
        let ttfs = EventParams {
            encoding: EventEncoding::Ttfs,
            ..p
        };
        let t = load_dir(&dir, &ttfs, None).unwrap();
        assert_eq!(
            t.train.sample(1).iter().map(|&v| v as usize).sum::<usize>(),
            2
        );
        // Bad inputs name the file and the problem.
        std::fs::write(
            dir.join("user03_lab_labels.csv"),
            "class,startTime_usec,endTime_usec\n3,0,1000\n4,5000,6000\n",
        )
        .unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("user03_lab.aedat: gesture 1 (class 4, 5000..6000 us) contains no events"),
            "{e}"
        );
        std::fs::write(
            dir.join("user03_lab_labels.csv"),
            "class,startTime_usec,endTime_usec\n12,0,1000\n",
        )
        .unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("user03_lab_labels.csv: line 2: class 12 is out of range"),
            "{e}"
        );
        std::fs::write(dir.join("trials_to_test.txt"), "user09_lab.aedat\n").unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("trials_to_test.txt: lists")
                && e.contains("user09_lab.aedat which does not exist"),
            "{e}"
        );
        let bytes = std::fs::read(dir.join("user02_led.aedat")).unwrap();
        std::fs::write(dir.join("user02_led.aedat"), &bytes[..bytes.len() - 1]).unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("user02_led.aedat: packet 0") && e.contains("only 31 bytes remain"),
            "{e}"
        );
        std::fs::remove_file(dir.join("trials_to_train.txt")).unwrap();
        let e = format!("{:#}", load_dir(&dir, &p, None).err().unwrap());
        assert!(
            e.contains("missing or unreadable trials_to_train.txt") && e.contains("IBM"),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
