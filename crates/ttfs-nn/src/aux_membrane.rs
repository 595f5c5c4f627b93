//! An auxiliary membrane-readout loss for spiking decoders (`train.aux_membrane_loss`).
//!
//! A fire-once output neuron that never crosses threshold contributes a zero logit, and with
//! a steep surrogate almost no gradient: the temporal decoder cannot tell a neuron just below
//! threshold from one far below it. The membrane readout of the same output currents (the
//! potentials `v[t] = sum_{k<=t} I[k]`, weighted over time, `Decoder` of kind `membrane`)
//! gives every output unit a gradient whether it fires or not. Training adds
//! `lambda * CE(membrane logits)` to the loss, with `lambda` falling linearly from
//! `aux_membrane_loss` to 0 over the first half of training ([`aux_weight`]), so the second
//! half, and the model that results, are trained by the spiking decoder alone.
//!
//! Measured (docs/results/decoder-study.md): on Fashion-MNIST at reduced scale, lambda0 = 1
//! leaves the temporal decoder where it was (84.14 ± 0.34% against 84.35 ± 0.46%); silent
//! output neurons are not what holds it back on images.

use crate::decoder::{Decoder, DecoderConfig, DecoderKind, Weighting};
use crate::kernels::{Buf, IfParams};
use crate::tensor::Tensor;

/// The membrane readout used by the auxiliary loss: the ablation's membrane decoder
/// (weights `1.25^-t` summing to 10).
pub fn aux_decoder_config() -> DecoderConfig {
    DecoderConfig {
        kind: DecoderKind::Membrane,
        weighting: Weighting::Exp,
        base: 1.25,
        scale: 10.0,
        exact_time: false,
        learn_weights: false,
    }
}

/// The auxiliary loss's weight at optimizer step `step` of `total`: `lambda0` at step 0,
/// falling linearly to 0 at half of the steps and 0 after.
pub fn aux_weight(lambda0: f32, step: usize, total: usize) -> f32 {
    let half = (total as f32 / 2.0).max(1.0);
    lambda0 * (1.0 - step as f32 / half).max(0.0)
}

/// The auxiliary readout's decoder and buffers (see the module documentation).
pub struct AuxMembrane {
    decoder: Decoder,
    logits: Tensor,
    dlogits: Tensor,
    dcur: Tensor,
    losses: Buf<f32>,
    /// Weight of the term in the current step's gradient (0: none pending).
    pending: f32,
}

impl AuxMembrane {
    pub fn new(neuron: IfParams) -> Self {
        AuxMembrane {
            // fixed weights: the step count only sizes learned ones
            decoder: Decoder::new(aux_decoder_config(), neuron, 0),
            logits: Tensor::default(),
            dlogits: Tensor::default(),
            dcur: Tensor::default(),
            losses: Buf::default(),
            pending: 0.0,
        }
    }

    /// `lambda` times the mean cross entropy of the membrane readout of the output currents
    /// `cur` (`[T, B, C]`) against `labels` (on the device); its gradient, scaled by
    /// `lambda * grad_factor`, is kept for [`AuxMembrane::add_grad`].
    pub fn loss(&mut self, cur: &Tensor, labels: &Buf<u32>, lambda: f32, grad_factor: f32) -> f32 {
        let classes = cur.shape[2];
        self.decoder.forward(cur, &mut self.logits);
        let k = cur.data.kernels();
        self.dlogits.shape = self.logits.shape.clone();
        k.cross_entropy(
            &self.logits.data,
            labels,
            classes,
            0.0,
            &mut self.dlogits.data,
            &mut self.losses,
        );
        k.scale(&mut self.dlogits.data, lambda * grad_factor);
        self.pending = lambda;
        let losses = self.losses.read();
        let mean = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len().max(1) as f64;
        lambda * mean as f32
    }

    /// Add the gradient of the last [`AuxMembrane::loss`] with respect to the output currents
    /// `cur` to `dcur` (once; nothing when no loss is pending).
    pub fn add_grad(&mut self, cur: &Tensor, dcur: &mut Tensor) {
        if self.pending == 0.0 {
            return;
        }
        self.pending = 0.0;
        self.decoder.backward(cur, &self.dlogits, &mut self.dcur);
        cur.data
            .kernels()
            .add_assign(&mut dcur.data, &self.dcur.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_falls_linearly_to_zero_at_half_of_training() {
        assert_eq!(aux_weight(2.0, 0, 100), 2.0);
        assert_eq!(aux_weight(2.0, 25, 100), 1.0);
        assert_eq!(aux_weight(2.0, 50, 100), 0.0);
        assert_eq!(aux_weight(2.0, 99, 100), 0.0);
        assert_eq!(aux_weight(0.0, 0, 100), 0.0);
        // A run of one step still starts at lambda0.
        assert_eq!(aux_weight(1.0, 0, 1), 1.0);
    }
}
