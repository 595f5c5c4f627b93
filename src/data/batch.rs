//! Turning samples into the network's input `[T, B, F]` and a label vector.

use super::{Dataset, Kind};
use crate::encoding::{encode, Encoding, ZeroInput};
use crate::tensor::Tensor;
use anyhow::{bail, Result};

/// How samples become network input.
#[derive(Clone, Debug)]
pub struct InputSpec {
    pub encoding: Encoding,
    pub zero: ZeroInput,
    pub time_steps: usize,
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
    let b = idx.len();
    let f = ds.frame_len();
    labels.clear();
    labels.extend(idx.iter().map(|&i| ds.labels[i] as usize));
    match ds.kind {
        Kind::Image => {
            scratch.clear();
            for &i in idx {
                scratch.extend(ds.sample(i).iter().map(|&v| v as f32 * ds.scale));
            }
            encode(spec.encoding, spec.zero, spec.time_steps, b, scratch, out);
        }
        Kind::Events => {
            let t = spec.time_steps;
            out.reset(&[t, b, f]);
            for (j, &i) in idx.iter().enumerate() {
                let s = ds.sample(i);
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
