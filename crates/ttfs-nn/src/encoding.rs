//! Input encodings: from intensities `x` in [0, 1] (`[B, F]`) to the network's input over
//! time (`[T, B, F]`).

use crate::kernels::Device;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Latency (TTFS) code: one spike at `t = round((1 - x) (T - 1))`, brighter fires earlier.
    Latency,
    /// Analog ("direct") input: the first layer receives `x` as a constant current each step.
    Direct,
}

/// What the latency code does with `x = 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroInput {
    /// Fire at the last step `T - 1` (SpikingJelly's convention).
    Last,
    /// Never fire (snnTorch's convention).
    Silent,
}

// x is [B, F] with values in [0, 1]; out (reset) is [T, B, F], or [1, B, F] for direct
// input (the same at every step: the model repeats it over time). An empty batch (`b = 0`: a
// process of a data-parallel run with no sample of a batch smaller than the process count)
// gives an empty `[T, 0, 0]`.
pub fn encode(enc: Encoding, zero: ZeroInput, t: usize, b: usize, x: &[f32], out: &mut Tensor) {
    let f = x.len().checked_div(b).unwrap_or(0);
    let n = b * f;
    match enc {
        Encoding::Latency => {
            out.reset(Device::Cpu, &[t, b, f]);
            for (i, &xi) in x.iter().enumerate() {
                if xi <= 0.0 && zero == ZeroInput::Silent {
                    continue;
                }
                let step = ((1.0 - xi.clamp(0.0, 1.0)) * (t - 1) as f32).round() as usize;
                out.data[step * n + i] = 1.0;
            }
        }
        Encoding::Direct => {
            out.reshape_for_overwrite(Device::Cpu, &[1, b, f]);
            out.data.copy_from_slice(&x[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_code_fires_once_at_the_right_step() {
        let x = [1.0, 0.5, 0.0, 0.25];
        let mut out = Tensor::default();
        encode(Encoding::Latency, ZeroInput::Last, 5, 1, &x, &mut out);
        let steps: Vec<Vec<usize>> = (0..4)
            .map(|i| (0..5).filter(|&k| out.data[k * 4 + i] == 1.0).collect())
            .collect();
        assert_eq!(steps, vec![vec![0], vec![2], vec![4], vec![3]]);
        encode(Encoding::Latency, ZeroInput::Silent, 5, 1, &x, &mut out);
        assert_eq!((0..5).map(|k| out.data[k * 4 + 2]).sum::<f32>(), 0.0);
        assert_eq!(out.data.iter().sum::<f32>(), 3.0);
    }

    #[test]
    fn an_empty_batch_encodes_to_nothing() {
        let mut out = Tensor::default();
        for enc in [Encoding::Latency, Encoding::Direct] {
            encode(enc, ZeroInput::Last, 4, 0, &[], &mut out);
            assert!(out.data.is_empty(), "{enc:?}");
        }
    }

    #[test]
    fn direct_code_is_one_constant_frame() {
        let x = [0.2, 0.7];
        let mut out = Tensor::default();
        encode(Encoding::Direct, ZeroInput::Last, 3, 1, &x, &mut out);
        assert_eq!(out.shape, vec![1, 1, 2]);
        assert_eq!(out.data.to_vec(), vec![0.2, 0.7]);
    }
}
