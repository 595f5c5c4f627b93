//! The embedded default data set: the UCI 8x8 optical handwritten digits (1797 samples,
//! pixel values 0..16, BSD-3 via scikit-learn), compiled into the binary so that `ttfs train`
//! needs no download. Fixed split: a seeded shuffle, the last 360 samples are the test set.

use super::{Dataset, Kind, Splits};
use crate::rng::Rng;
use anyhow::{bail, Context, Result};
use std::io::Read;

const CSV_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
pub const TEST_SAMPLES: usize = 360;
const SPLIT_SEED: u64 = 2024;

/// Parse the CSV (64 pixel values 0..16 and a label per line) from `text`.
pub fn parse_csv(text: &str, origin: &str) -> Result<Dataset> {
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let vals: Vec<&str> = line.split(',').collect();
        if vals.len() != 65 {
            bail!(
                "{origin}: line {}: expected 65 comma-separated values, found {}",
                n + 1,
                vals.len()
            );
        }
        for (i, v) in vals.iter().enumerate() {
            let x: f32 = v
                .trim()
                .parse()
                .with_context(|| format!("{origin}: line {}: `{v}` is not a number", n + 1))?;
            if i < 64 {
                if !(0.0..=16.0).contains(&x) {
                    bail!("{origin}: line {}: pixel {x} outside 0 to 16", n + 1);
                }
                data.push(x as u8);
            } else {
                if !(0.0..=9.0).contains(&x) || x.fract() != 0.0 {
                    bail!("{origin}: line {}: label {x} outside 0 to 9", n + 1);
                }
                labels.push(x as u16);
            }
        }
    }
    let ds = Dataset {
        name: "digits".into(),
        kind: Kind::Image,
        classes: 10,
        frame: [1, 8, 8],
        steps: 1,
        scale: 1.0 / 16.0,
        data,
        labels,
    };
    ds.validate(origin)?;
    Ok(ds)
}

pub fn load() -> Result<Splits> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(CSV_GZ)
        .read_to_string(&mut text)
        .context("embedded digits.csv.gz")?;
    let all = parse_csv(&text, "embedded digits.csv.gz")?;
    let mut idx: Vec<usize> = (0..all.len()).collect();
    Rng::new(SPLIT_SEED).shuffle(&mut idx);
    let (train, test) = idx.split_at(all.len() - TEST_SAMPLES);
    Ok(Splits {
        train: all.subset(train),
        test: all.subset(test),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_load_with_a_fixed_split() {
        let s = load().unwrap();
        assert_eq!(s.train.len(), 1437);
        assert_eq!(s.test.len(), 360);
        assert_eq!(s.train.sample_len(), 64);
        let known = crate::data::frame_of("digits", &Default::default()).unwrap();
        assert_eq!(known, s.train.frame);
        assert!(s.train.class_counts().iter().all(|&c| c > 100));
        let again = load().unwrap();
        assert_eq!(again.test.labels, s.test.labels);
    }

    #[test]
    fn bad_csv_is_reported_with_the_line() {
        let e = parse_csv("1,2,3\n", "x.csv").unwrap_err().to_string();
        assert!(e.contains("x.csv: line 1: expected 65"), "{e}");
        let mut line = vec!["0"; 64];
        line.push("12");
        let e = parse_csv(&line.join(","), "y.csv").unwrap_err().to_string();
        assert!(e.contains("label 12"), "{e}");
    }
}
