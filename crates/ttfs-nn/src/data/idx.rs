//! The IDX format of MNIST and Fashion-MNIST (`.gz` or raw).
//!
//! Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then
//! each dimension as a big-endian u32; the values follow. Images are `[N, 28, 28]`
//! (magic 0x00000803), labels `[N]` (magic 0x00000801).

use super::{Dataset, Kind, Splits};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decode an IDX file's bytes of unsigned-byte values: returns (dimensions, values).
pub fn parse(bytes: &[u8], origin: &str) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.len() < 4 {
        bail!(
            "{origin}: file is {} bytes long, too short for an IDX header",
            bytes.len()
        );
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        bail!(
            "{origin}: not an IDX file (magic number starts {:02x} {:02x}, expected 00 00)",
            bytes[0],
            bytes[1]
        );
    }
    if bytes[2] != 0x08 {
        bail!(
            "{origin}: IDX value type 0x{:02x} is not supported (expected 0x08, unsigned byte)",
            bytes[2]
        );
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        bail!("{origin}: IDX header declares zero dimensions");
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        bail!(
            "{origin}: truncated IDX header ({} bytes, {ndim} dimensions need {header})",
            bytes.len()
        );
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let count = match count {
        Some(c) => c,
        None => bail!("{origin}: IDX dimensions {dims:?} overflow"),
    };
    let body = &bytes[header..];
    if body.len() != count {
        bail!(
            "{origin}: IDX dimensions {dims:?} need {count} bytes of data but the file has {} ({})",
            body.len(),
            if body.len() < count {
                "truncated"
            } else {
                "trailing bytes"
            }
        );
    }
    Ok((dims, body.to_vec()))
}

/// Read a file, decompressing it when its name ends in `.gz`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| {
                format!(
                    "{}: not a valid gzip file (truncated or corrupt)",
                    path.display()
                )
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// `dir/stem.gz` if it exists, else `dir/stem`.
fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{}: missing {stem}.gz (or {stem})", dir.display())
}

/// Load one split: `prefix` is `train` or `t10k`.
pub fn load_split(name: &str, dir: &Path, prefix: &str) -> Result<Dataset> {
    let ip = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lp = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let io = ip.display().to_string();
    let lo = lp.display().to_string();
    let (idims, images) = parse(&read_maybe_gz(&ip)?, &io)?;
    let (ldims, labels) = parse(&read_maybe_gz(&lp)?, &lo)?;
    if idims.len() != 3 {
        bail!("{io}: expected 3 dimensions [N, rows, cols], found {idims:?}");
    }
    if ldims.len() != 1 {
        bail!("{lo}: expected 1 dimension [N], found {ldims:?}");
    }
    if idims[0] != ldims[0] {
        bail!(
            "{io} has {} images but {lo} has {} labels",
            idims[0],
            ldims[0]
        );
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        bail!("{lo}: label {l} of sample {i} is out of range (0 to 9)");
    }
    let ds = Dataset {
        name: name.into(),
        kind: Kind::Image,
        classes: 10,
        frame: [1, idims[1], idims[2]],
        steps: 1,
        scale: 1.0 / 255.0,
        data: images,
        labels: labels.into_iter().map(u16::from).collect(),
    };
    ds.validate(&io)?;
    Ok(ds)
}

pub fn load_dir(name: &str, dir: &Path) -> Result<Splits> {
    super::load_train_test(name, dir, &download_hint(name), ("train", "t10k"), |s| {
        load_split(name, dir, s)
    })
}

pub fn download_hint(name: &str) -> String {
    match name {
        "fashion-mnist" => "Fashion-MNIST: `apt-get install dataset-fashion-mnist` (files land in \
             /usr/share/datasets/fashion-mnist/, where ttfs looks) or download the four \
             *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist into \
             data/fashion-mnist/ (or pass their directory with --data-dir)"
            .into(),
        _ => "MNIST: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
             t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (e.g. from \
             https://ossci-datasets.s3.amazonaws.com/mnist/) into data/mnist/ (or pass their \
             directory with --data-dir)"
            .into(),
    }
}

/// Encode values as an IDX file of unsigned bytes (for tests and tools).
pub fn encode(dims: &[usize], values: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(values);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let bytes = encode(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let (d, v) = parse(&bytes, "f").unwrap();
        assert_eq!(d, vec![2, 2, 3]);
        assert_eq!(v[11], 12);
        let e = parse(&bytes[..bytes.len() - 1], "imgs")
            .unwrap_err()
            .to_string();
        assert!(e.contains("imgs") && e.contains("truncated"), "{e}");
        let mut bad = bytes.clone();
        bad[0] = 1;
        assert!(parse(&bad, "f")
            .unwrap_err()
            .to_string()
            .contains("not an IDX file"));
        bad = bytes.clone();
        bad[2] = 0x0D;
        assert!(parse(&bad, "f")
            .unwrap_err()
            .to_string()
            .contains("not supported"));
        assert!(parse(&bytes[..6], "f")
            .unwrap_err()
            .to_string()
            .contains("truncated IDX header"));
        assert!(parse(&[], "f").is_err());
    }

    #[test]
    fn loads_a_directory_and_checks_labels() {
        let dir = std::env::temp_dir().join(format!("ttfs-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (p, n) in [("train", 3), ("t10k", 2)] {
            let imgs: Vec<u8> = (0..n * 4).map(|i| i as u8).collect();
            let gz = {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&encode(&[n, 2, 2], &imgs)).unwrap();
                e.finish().unwrap()
            };
            std::fs::write(dir.join(format!("{p}-images-idx3-ubyte.gz")), gz).unwrap();
            std::fs::write(
                dir.join(format!("{p}-labels-idx1-ubyte")),
                encode(&[n], &vec![7; n]),
            )
            .unwrap();
        }
        let s = load_dir("mnist", &dir).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (3, 2));
        assert_eq!(s.train.frame, [1, 2, 2]);
        assert_eq!(s.test.sample(1), &[4, 5, 6, 7]);
        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), encode(&[2], &[3, 10])).unwrap();
        let e = format!("{:#}", load_dir("mnist", &dir).err().unwrap());
        assert!(e.contains("label 10 of sample 1 is out of range"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        let e = format!("{:#}", load_dir("mnist", &dir).err().unwrap());
        assert!(
            e.contains("does not exist") && e.contains("download"),
            "{e}"
        );
    }
}
