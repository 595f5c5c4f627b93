//! Turning samples into the network's input `[T, B, F]` and a label vector.

use super::augment::Augment;
use super::{Dataset, Kind};
use crate::encoding::{encode, Encoding, ZeroInput};
use crate::kernels::Device;
use crate::rng::Rng;
use crate::tensor::Tensor;
use anyhow::{bail, Result};

/// How samples become network input.
#[derive(Clone, Debug)]
pub struct InputSpec {
    pub encoding: Encoding,
    pub zero: ZeroInput,
    pub time_steps: usize,
    /// Per-channel `(mean, std)` applied to image intensities, `x = (v * scale - mean) / std`
    /// (for the direct encoding, whose input need not lie in [0, 1]). Training and evaluation.
    pub normalize: Option<(Vec<f32>, Vec<f32>)>,
}

impl InputSpec {
    /// Check that `ds` can feed a network run for `time_steps` steps.
    pub fn check(&self, ds: &Dataset) -> Result<()> {
        if ds.kind == Kind::Events && ds.steps != self.time_steps {
            bail!(
                "{}: samples are binned into {} frames but the model runs {} time steps (set model.time_steps = {} or re-bin)",
                ds.name,
                ds.steps,
                self.time_steps,
                ds.steps
            );
        }
        if let Some((mean, std)) = &self.normalize {
            if ds.kind != Kind::Image {
                bail!(
                    "{}: per-channel normalization applies to images only",
                    ds.name
                );
            }
            if self.encoding != Encoding::Direct {
                bail!("data.normalize_mean/std need model.encoding = \"direct\" (the latency code needs intensities in [0, 1])");
            }
            if mean.len() != ds.frame[0] || std.len() != ds.frame[0] {
                bail!(
                    "{}: {} channels but data.normalize_mean has {} values and data.normalize_std {}",
                    ds.name,
                    ds.frame[0],
                    mean.len(),
                    std.len()
                );
            }
            if std.iter().any(|&s| s.is_nan() || s <= 0.0) {
                bail!("data.normalize_std must be positive");
            }
        }
        Ok(())
    }
}

/// Write the samples `idx` of `ds` into `out` (`[T, B, F]`) and their labels into `labels`.
/// `scratch` holds `[B, F]` intensities between steps (kept by the caller to avoid allocating).
pub fn assemble(
    ds: &Dataset,
    idx: &[usize],
    spec: &InputSpec,
    out: &mut Tensor,
    labels: &mut Vec<usize>,
    scratch: &mut Vec<f32>,
) {
    assemble_with(ds, idx, spec, None, out, labels, scratch)
}

/// [`assemble`], augmenting each sample first when `aug` is given (training batches only);
/// its random numbers are drawn in sample order.
pub fn assemble_with(
    ds: &Dataset,
    idx: &[usize],
    spec: &InputSpec,
    mut aug: Option<(&Augment, &mut Rng)>,
    out: &mut Tensor,
    labels: &mut Vec<usize>,
    scratch: &mut Vec<f32>,
) {
    let b = idx.len();
    let f = ds.frame_len();
    labels.clear();
    labels.extend(idx.iter().map(|&i| ds.labels[i] as usize));
    // One augmented sample at a time: [steps, C, H, W].
    let mut tmp = if aug.is_some() {
        vec![0u8; ds.sample_len()]
    } else {
        Vec::new()
    };
    match ds.kind {
        Kind::Image => {
            scratch.clear();
            let plane = ds.frame[1] * ds.frame[2];
            for &i in idx {
                let s = pick(ds, i, &mut aug, &mut tmp);
                match &spec.normalize {
                    None => scratch.extend(s.iter().map(|&v| v as f32 * ds.scale)),
                    Some((mean, std)) => scratch.extend(s.iter().enumerate().map(|(k, &v)| {
                        let c = k / plane % mean.len();
                        (v as f32 * ds.scale - mean[c]) / std[c]
                    })),
                }
            }
            encode(spec.encoding, spec.zero, spec.time_steps, b, scratch, out);
        }
        Kind::Events => {
            let t = spec.time_steps;
            out.reset(Device::Cpu, &[t, b, f]);
            for (j, &i) in idx.iter().enumerate() {
                let s = pick(ds, i, &mut aug, &mut tmp);
                for k in 0..t {
                    let dst = &mut out.data[(k * b + j) * f..(k * b + j + 1) * f];
                    dst.iter_mut()
                        .zip(&s[k * f..(k + 1) * f])
                        .for_each(|(d, &v)| *d = v as f32 * ds.scale);
                }
            }
        }
    }
}

/// Sample `i` of `ds`, augmented into `tmp` when `aug` is given.
fn pick<'a>(
    ds: &'a Dataset,
    i: usize,
    aug: &mut Option<(&Augment, &mut Rng)>,
    tmp: &'a mut [u8],
) -> &'a [u8] {
    match aug {
        Some((a, rng)) => {
            a.apply(ds.sample(i), ds.frame, rng, tmp);
            tmp
        }
        None => ds.sample(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_set() -> Dataset {
        Dataset {
            name: "t".into(),
            kind: Kind::Image,
            classes: 2,
            frame: [2, 1, 2],
            steps: 1,
            scale: 1.0 / 255.0,
            data: vec![0, 255, 51, 102, 255, 0, 0, 0],
            labels: vec![1, 0],
        }
    }

    #[test]
    fn normalizes_per_channel_for_direct_input() {
        let ds = image_set();
        let spec = InputSpec {
            encoding: Encoding::Direct,
            zero: ZeroInput::Last,
            time_steps: 1,
            normalize: Some((vec![0.5, 0.2], vec![0.5, 0.1])),
        };
        spec.check(&ds).unwrap();
        let (mut out, mut labels, mut scratch) = (Tensor::default(), Vec::new(), Vec::new());
        assemble(&ds, &[0], &spec, &mut out, &mut labels, &mut scratch);
        let want = [-1.0, 1.0, 0.0, 2.0];
        for (o, w) in out.data.iter().zip(want) {
            assert!((o - w).abs() < 1e-5, "{:?}", out.data);
        }
        let latency = InputSpec {
            encoding: Encoding::Latency,
            ..spec.clone()
        };
        assert!(latency
            .check(&ds)
            .unwrap_err()
            .to_string()
            .contains("direct"));
        let wrong = InputSpec {
            normalize: Some((vec![0.5], vec![0.5])),
            ..spec
        };
        assert!(wrong
            .check(&ds)
            .unwrap_err()
            .to_string()
            .contains("2 channels"));
    }

    #[test]
    fn augmentation_draws_from_the_given_stream() {
        let ds = image_set();
        let spec = InputSpec {
            encoding: Encoding::Direct,
            zero: ZeroInput::Last,
            time_steps: 1,
            normalize: None,
        };
        let aug = Augment {
            flip: true,
            translate: 0,
            cutout: 0,
            mirror: false,
        };
        let (mut out, mut labels, mut scratch) = (Tensor::default(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for seed in 0..64 {
            let mut rng = Rng::new(seed);
            assemble_with(
                &ds,
                &[1, 0],
                &spec,
                Some((&aug, &mut rng)),
                &mut out,
                &mut labels,
                &mut scratch,
            );
            assert_eq!(labels, vec![0, 1]);
            let first: Vec<u32> = out.data.iter().map(|v| v.to_bits()).collect();
            let mut rng = Rng::new(seed);
            assemble_with(
                &ds,
                &[1, 0],
                &spec,
                Some((&aug, &mut rng)),
                &mut out,
                &mut labels,
                &mut scratch,
            );
            assert_eq!(
                first,
                out.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            seen.insert(first);
        }
        assert_eq!(seen.len(), 4); // both samples flipped or not, independently
    }
}
