//! On-disk cache of preprocessed splits, so that a second run does not parse event
//! recordings or decode images again.
//!
//! The file name carries a hash of everything the split depends on: the source files' names,
//! sizes and modification times, and the preprocessing parameters. A changed recording or a
//! changed parameter therefore misses the cache instead of reading stale samples. Files are
//! written to a temporary name and renamed, so a crash or a concurrent run never leaves a half
//! written file under the real name; a file that fails its checksum is ignored and rebuilt.
//!
//! Layout (little-endian): magic `TTFSDS01`, classes u32, steps u32, frame 3 x u32, scale f32,
//! N u64, labels N x u16, data `N * steps * C*H*W` bytes, [`checksum`] of all preceding bytes.
//! The file does not record the [`Kind`]: the caller knows it, since the key names the data
//! set, and leaving it out keeps caches written before images were cached valid.

use super::{Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"TTFSDS01";
const HEADER: usize = 8 + 4 * 5 + 4 + 8;

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Checksum of a cache file's contents: FNV-style over 64-bit words (8x fewer dependent
/// multiplies than byte-wise FNV, which would dominate reading a large cached split). Each
/// step is a bijection of the running value, so any change of one word changes the result.
pub fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap()))
            .wrapping_mul(PRIME)
            .rotate_left(29);
    }
    for &b in words.remainder() {
        h = (h ^ b as u64).wrapping_mul(PRIME).rotate_left(29);
    }
    h
}

/// One line per source file: path relative to `root`, size, modification time.
pub fn fingerprint(root: &Path, files: &[PathBuf]) -> Result<String> {
    let mut s = String::new();
    for f in files {
        let m = std::fs::metadata(f).with_context(|| format!("cannot stat {}", f.display()))?;
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let rel = f.strip_prefix(root).unwrap_or(f);
        s += &format!("{} {} {mtime}\n", rel.display(), m.len());
    }
    Ok(s)
}

/// The default cache directory: `$XDG_CACHE_HOME/ttfs`, else `~/.cache/ttfs`, else the
/// system temporary directory.
pub fn default_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("ttfs");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(h).join(".cache").join("ttfs");
    }
    std::env::temp_dir().join("ttfs-cache")
}

pub fn path(dir: &Path, name: &str, split: &str, key: &str) -> PathBuf {
    dir.join(format!("{name}-{split}-{:016x}.bin", fnv1a(key.as_bytes())))
}

pub fn encode(ds: &Dataset) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + 2 * ds.len() + ds.data.len() + 8);
    out.extend_from_slice(MAGIC);
    for v in [ds.classes, ds.steps, ds.frame[0], ds.frame[1], ds.frame[2]] {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    out.extend_from_slice(&ds.scale.to_le_bytes());
    out.extend_from_slice(&(ds.len() as u64).to_le_bytes());
    for &l in &ds.labels {
        out.extend_from_slice(&l.to_le_bytes());
    }
    out.extend_from_slice(&ds.data);
    let h = checksum(&out);
    out.extend_from_slice(&h.to_le_bytes());
    out
}

/// Decode a cache file's bytes into a data set of `kind` called `name`. Takes the buffer so
/// that the samples need not be copied out of it.
pub fn decode(mut bytes: Vec<u8>, name: &str, kind: Kind, origin: &str) -> Result<Dataset> {
    if bytes.len() < HEADER + 8 || &bytes[..8] != MAGIC {
        bail!("{origin}: not a ttfs cache file (bad magic or too short)");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if checksum(body) != u64::from_le_bytes(sum.try_into().unwrap()) {
        bail!("{origin}: checksum mismatch (corrupt or truncated cache file)");
    }
    let u32_at = |o: usize| u32::from_le_bytes(body[o..o + 4].try_into().unwrap()) as usize;
    let (classes, steps) = (u32_at(8), u32_at(12));
    let frame = [u32_at(16), u32_at(20), u32_at(24)];
    let scale = f32::from_le_bytes(body[28..32].try_into().unwrap());
    let n = u64::from_le_bytes(body[32..40].try_into().unwrap()) as usize;
    let sample = steps * frame.iter().product::<usize>();
    let need = n
        .checked_mul(2 + sample)
        .and_then(|x| x.checked_add(HEADER));
    if need != Some(body.len()) {
        bail!("{origin}: header describes {n} samples of {sample} bytes, which does not match the file size");
    }
    let labels = body[HEADER..HEADER + 2 * n]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    // The samples stay where they are: drop the checksum, move them to the front.
    bytes.truncate(bytes.len() - 8);
    bytes.drain(..HEADER + 2 * n);
    let ds = Dataset {
        name: name.into(),
        kind,
        classes,
        frame,
        steps,
        scale,
        data: bytes,
        labels,
    };
    ds.validate(origin)?;
    Ok(ds)
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}", tmp.display(), path.display())
    })
}

/// The split cached under `key` in `dir`, or `build()` written there. `None` as `dir`
/// disables the cache. A cache that cannot be read or written only costs time: it is reported
/// on stderr and the split is built from the sources.
pub fn cached(
    dir: Option<&Path>,
    name: &str,
    kind: Kind,
    split: &str,
    key: &str,
    build: impl FnOnce() -> Result<Dataset>,
) -> Result<Dataset> {
    let Some(dir) = dir else {
        return build();
    };
    if let Some(ds) = read(dir, name, kind, split, key) {
        return Ok(ds);
    }
    let ds = build()?;
    store(dir, name, split, key, &ds);
    Ok(ds)
}

/// Both splits cached under `key` in `dir` (files `NAME-train-HASH.bin` and
/// `NAME-test-HASH.bin`), or `build()` written there, as [`cached`]. For data sets whose splits
/// are built together: an image folder's frame depends on the images of both.
pub fn cached_splits(
    dir: Option<&Path>,
    name: &str,
    kind: Kind,
    key: &str,
    build: impl FnOnce() -> Result<Splits>,
) -> Result<Splits> {
    let Some(dir) = dir else {
        return build();
    };
    if let Some(train) = read(dir, name, kind, "train", key) {
        if let Some(test) = read(dir, name, kind, "test", key) {
            return Ok(Splits { train, test });
        }
    }
    let s = build()?;
    store(dir, name, "train", key, &s.train);
    store(dir, name, "test", key, &s.test);
    Ok(s)
}

/// The split cached under `key`, if there is a valid file (a corrupt one is reported).
fn read(dir: &Path, name: &str, kind: Kind, split: &str, key: &str) -> Option<Dataset> {
    let p = path(dir, name, split, key);
    let bytes = std::fs::read(&p).ok()?;
    decode(bytes, name, kind, &p.display().to_string())
        .map_err(|e| crate::warnings::warn(format!("ignoring cache: {e:#}")))
        .ok()
}

/// Write `ds` to the cache; a failure is reported and otherwise ignored.
fn store(dir: &Path, name: &str, split: &str, key: &str, ds: &Dataset) {
    if let Err(e) = write_atomic(&path(dir, name, split, key), &encode(ds)) {
        crate::warnings::warn(format!("could not cache {name} {split}: {e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Dataset {
        Dataset {
            name: "n".into(),
            kind: Kind::Events,
            classes: 3,
            frame: [2, 2, 2],
            steps: 2,
            scale: 1.0,
            data: (0..32).collect(),
            labels: vec![2, 0],
        }
    }

    #[test]
    fn round_trips_and_detects_corruption() {
        let ds = sample();
        let bytes = encode(&ds);
        let back = decode(bytes.clone(), "n", Kind::Events, "c").unwrap();
        assert_eq!(
            (back.data, back.labels, back.frame),
            (ds.data, ds.labels, ds.frame)
        );
        let mut bad = bytes.clone();
        bad[50] ^= 1;
        assert!(decode(bad, "n", Kind::Events, "c")
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        assert!(decode(bytes[..20].to_vec(), "n", Kind::Events, "c").is_err());
        let junk = b"garbage garbage garbage garbage garbage garbage!".to_vec();
        assert!(decode(junk, "n", Kind::Events, "c").is_err());
        // A flipped high bit in the last data word is caught too.
        let mut bad = bytes.clone();
        let last = bad.len() - 9;
        bad[last] ^= 0x80;
        assert!(decode(bad, "n", Kind::Events, "c").is_err());
    }

    #[test]
    fn both_splits_of_an_image_set_are_cached_together() {
        let dir = std::env::temp_dir().join(format!("ttfs-cache-splits-{}", std::process::id()));
        let image = |n: u8| {
            Dataset {
                kind: Kind::Image,
                steps: 1,
                scale: 1.0 / 255.0,
                ..sample()
            }
            .subset(&[n as usize % 2])
        };
        let mut builds = 0;
        for _ in 0..2 {
            let s = cached_splits(Some(&dir), "i", Kind::Image, "k", || {
                builds += 1;
                Ok(Splits {
                    train: image(0),
                    test: image(1),
                })
            })
            .unwrap();
            assert_eq!(
                (s.train.kind, s.test.labels.clone()),
                (Kind::Image, vec![0])
            );
        }
        assert_eq!(builds, 1);
        // A lost test file rebuilds both.
        std::fs::remove_file(path(&dir, "i", "test", "k")).unwrap();
        cached_splits(Some(&dir), "i", Kind::Image, "k", || {
            builds += 1;
            Ok(Splits {
                train: image(0),
                test: image(1),
            })
        })
        .unwrap();
        assert_eq!(builds, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn builds_once_then_reads_the_cache() {
        let dir = std::env::temp_dir().join(format!("ttfs-cache-test-{}", std::process::id()));
        let mut builds = 0;
        for _ in 0..2 {
            let ds = cached(Some(&dir), "n", Kind::Events, "train", "k1", || {
                builds += 1;
                Ok(sample())
            })
            .unwrap();
            assert_eq!(ds.labels, vec![2, 0]);
        }
        assert_eq!(builds, 1);
        // Another key misses; a corrupt file is rebuilt.
        cached(Some(&dir), "n", Kind::Events, "train", "k2", || {
            builds += 1;
            Ok(sample())
        })
        .unwrap();
        std::fs::write(path(&dir, "n", "train", "k1"), b"junk").unwrap();
        cached(Some(&dir), "n", Kind::Events, "train", "k1", || {
            builds += 1;
            Ok(sample())
        })
        .unwrap();
        assert_eq!(builds, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
