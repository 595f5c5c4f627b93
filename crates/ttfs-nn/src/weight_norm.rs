//! Weight normalization with a learnable affine transform (the paper's second contribution).
//!
//! Every forward pass standardizes each output unit's raw weights `V[o, :]` to zero mean and
//! the initialization's standard deviation `target_std`, then scales by a learnable gain:
//!
//! ```text
//! u[o, i]  = (V[o, i] - mean_o) / (sigma_o + eps)      sigma_o: population std of V[o, :]
//! W[o, i]  = gamma[o] * target_std * u[o, i]
//! I        = W x + beta                                (gamma = 1, beta = 0 at the start)
//! ```
//!
//! For inference `W` and `beta` are exactly a plain weight matrix and bias ([`SynapseWeights::fold`]).
//! Whatever the raw weights drift to, the spread of input currents stays where the
//! initialization put it, which keeps spike times inside the window of T steps.

use crate::ettfs_init::Init;
use crate::kernels::Buf;
use crate::layers::Param;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// Plain weights and a learnable bias.
    None,
    /// Standardized weights, gamma = 1 and beta = 0 fixed.
    Weight,
    /// Standardized weights with learnable gamma and beta (the paper's).
    WeightAffine,
}

/// The parameters of a synapse (`[out, fan_in]` weights and `[out]` bias) and how they map to
/// the effective weights used in the product.
pub struct SynapseWeights {
    pub norm: Norm,
    pub out: usize,
    pub fan_in: usize,
    pub target_std: f32,
    /// Raw weights `V` (`Norm::None`: the weights themselves).
    pub raw: Param,
    pub gamma: Param,
    /// The bias (beta).
    pub beta: Param,
    /// Effective weights `W` and bias of the last [`SynapseWeights::refresh`], on the
    /// parameters' device.
    pub w: Buf<f32>,
    pub bias: Buf<f32>,
    u: Buf<f32>,
    inv_sigma: Buf<f32>,
}

impl SynapseWeights {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        prefix: &str,
        shape: &[usize],
        norm: Norm,
        init: Init,
        gain: f32,
        t: usize,
        rng: &mut Rng,
    ) -> Self {
        let out = shape[0];
        let fan_in: usize = shape[1..].iter().product();
        let raw = Param::new(
            &format!("{prefix}.weight"),
            shape,
            init.sample(out * fan_in, fan_in, t, gain, rng),
            true,
        );
        let gamma = Param::new(&format!("{prefix}.gamma"), &[out], vec![1.0; out], false);
        let beta = Param::new(&format!("{prefix}.bias"), &[out], vec![0.0; out], false);
        let mut s = SynapseWeights {
            norm,
            out,
            fan_in,
            target_std: init.std(fan_in, t) * gain,
            raw,
            gamma,
            beta,
            w: Buf::default(),
            bias: Buf::default(),
            u: Buf::default(),
            inv_sigma: Buf::default(),
        };
        s.refresh();
        s
    }

    /// Recompute the effective weights from the parameters (once per forward pass).
    pub fn refresh(&mut self) {
        let k = self.raw.value.kernels();
        k.copy(&self.beta.value, &mut self.bias);
        if self.norm == Norm::None {
            k.copy(&self.raw.value, &mut self.w);
            return;
        }
        k.weight_norm_forward(
            &self.raw.value,
            &self.gamma.value,
            self.target_std,
            self.out,
            self.fan_in,
            &mut self.u,
            &mut self.inv_sigma,
            &mut self.w,
        );
    }

    /// Multiply the effective weights and bias by `factor` (the initialization's firing
    /// calibration): normalized synapses scale their fixed target, plain ones their weights.
    pub fn rescale(&mut self, factor: f32) {
        if self.norm == Norm::None {
            let k = self.raw.value.kernels();
            k.scale(&mut self.raw.value, factor);
            k.scale(&mut self.beta.value, factor);
        } else {
            self.target_std *= factor;
        }
        self.refresh();
    }

    /// Accumulate parameter gradients from the gradients of the effective weights `dw` and
    /// bias `dbias` (mirror of [`SynapseWeights::refresh`]).
    pub fn backward(&mut self, dw: &Buf<f32>, dbias: &Buf<f32>) {
        let k = self.raw.value.kernels();
        if self.norm != Norm::Weight {
            // bias = beta
            k.add_assign(&mut self.beta.grad, dbias);
        }
        if self.norm == Norm::None {
            k.add_assign(&mut self.raw.grad, dw);
            return;
        }
        k.weight_norm_backward(
            dw,
            &self.u,
            &self.inv_sigma,
            &self.gamma.value,
            self.target_std,
            self.out,
            self.fan_in,
            self.norm == Norm::WeightAffine,
            &mut self.raw.grad,
            &mut self.gamma.grad,
        );
    }

    /// The parameters that training updates.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self.norm {
            Norm::None => vec![&mut self.raw, &mut self.beta],
            Norm::Weight => vec![&mut self.raw],
            Norm::WeightAffine => vec![&mut self.raw, &mut self.gamma, &mut self.beta],
        }
    }

    pub fn params(&self) -> Vec<&Param> {
        match self.norm {
            Norm::None => vec![&self.raw, &self.beta],
            Norm::Weight => vec![&self.raw],
            Norm::WeightAffine => vec![&self.raw, &self.gamma, &self.beta],
        }
    }

    /// Plain weights and bias equivalent to the normalized synapse, for inference/export.
    pub fn fold(&mut self) -> (Vec<f32>, Vec<f32>) {
        self.refresh();
        (self.w.to_vec(), self.bias.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{linear::Linear, Layer};
    use crate::tensor::Tensor;

    #[test]
    fn folded_weights_give_the_same_currents() {
        let mut rng = Rng::new(9);
        let mut normed = Linear::new(
            "fc",
            6,
            4,
            Norm::WeightAffine,
            Init::Ettfs,
            0.5,
            4,
            &mut rng,
        );
        for p in normed.params_mut() {
            p.value.iter_mut().for_each(|v| *v += rng.range(-0.5, 0.5));
        }
        let (w, b) = normed.weights.fold();
        let mut plain = Linear::new("fc", 6, 4, Norm::None, Init::Ettfs, 1.0, 4, &mut rng);
        plain.weights.raw.value.copy_from_slice(&w);
        plain.weights.beta.value.copy_from_slice(&b);
        let x = Tensor::from_vec(&[2, 3, 6], (0..36).map(|_| rng.range(0.0, 1.0)).collect());
        let (mut y1, mut y2) = (Tensor::default(), Tensor::default());
        normed.forward(&x, &mut y1);
        plain.forward(&x, &mut y2);
        assert_eq!(y1, y2);
        // The standardized rows have zero mean and the target standard deviation times gamma.
        for o in 0..4 {
            let row = &w[o * 6..(o + 1) * 6];
            let mean = row.iter().sum::<f32>() / 6.0;
            let std = (row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 6.0).sqrt();
            let want = normed.weights.gamma.value[o].abs() * normed.weights.target_std;
            assert!(
                mean.abs() < 1e-5 && (std - want).abs() < 1e-4 * want.max(1.0),
                "row {o}: mean {mean} std {std} want {want}"
            );
        }
    }
}
