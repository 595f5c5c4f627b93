//! Firing calibration at initialization: every spiking layer starts alive on real data.
//!
//! The ETTFS rule (`ettfs_init.rs`) sets `Var(W) = T / N_in` on the assumption that every
//! input unit fires once and the spikes spread over T steps. On real images neither holds: a
//! direct-encoded first layer sees normalized pixels, half of them negative, so about a third
//! of its neurons fire; average pooling folded into a convolution shrinks the spread of its
//! currents by up to the pooling area; and each layer fires less than the one before. Measured
//! on CIFAR-10 (docs/results/cifar10.md) the shipped 8-layer VGG with the ETTFS gain 0.3 is
//! silent from its third spiking layer on, and no gradient reaches anything below.
//!
//! So, as LSUV does for ANNs, the gains are measured instead of assumed: on one batch of
//! training data, layer by layer from the input, each synapse's weights are scaled so that a
//! chosen fraction of the next spiking layer's neurons (over samples and units) fire. A fire-
//! once IF neuron without leak fires iff the peak of its running potential
//! `max_t sum_{k<=t} I[k]` reaches the threshold 1, and the currents are linear in the
//! synapse's scale (the bias is zero at the start), so one forward pass per layer gives the
//! exact scale: one over the `(1 - fraction)` quantile of the peaks. Layers before it are
//! already calibrated when a layer is measured.

use crate::data::batch::{assemble, InputSpec};
use crate::data::Dataset;
use crate::layers::LayerKind;
use crate::model::Model;
use crate::tensor::Tensor;
use anyhow::{bail, Result};

/// What the calibration did to one spiking layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCalibration {
    /// The spiking layer's name (`if1`, ..., `out`), as in [`Model::spiking_layers`].
    pub layer: String,
    /// Fraction of its neurons (over the batch's samples and its units) that fired before
    /// (`readout`, a membrane decoder: the spread of its logits, calibrated to 1).
    pub before: f64,
    /// The gain of the synapse that feeds it: before and after.
    pub gain_before: f32,
    pub gain: f32,
}

/// Encode the first `n` samples of `ds` (not augmented) into `model`'s input, and return a
/// copy of that input: the batch the calibration and the check before the first epoch use.
pub fn first_batch(model: &mut Model, ds: &Dataset, input: &InputSpec, n: usize) -> Tensor {
    let idx: Vec<usize> = (0..n.min(ds.len())).collect();
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    assemble(
        ds,
        &idx,
        input,
        model.input_mut(),
        &mut labels,
        &mut scratch,
    );
    model.input_mut().clone()
}

/// Gains rounded to 3 significant digits: they are stored in the config, which the processes
/// of a data-parallel run compare, and a reader sees `2.41`, not `2.4107935`.
fn round3(g: f32) -> f32 {
    let e = 10f32.powi(2 - g.abs().log10().floor() as i32);
    (g * e).round() / e
}

/// Peak running potential `max_t sum_{k<=t} I[k]` of every (sample, unit) of `current`, which is
/// `[T, B, units...]`, or `[1, B, units...]` for a current that is the same at all `t` steps.
fn peaks(current: &[f32], steps: usize, t: usize) -> Vec<f32> {
    let n = current.len() / steps;
    if steps == 1 {
        // (k + 1) I is largest at k = t - 1 for I > 0, at k = 0 otherwise.
        return current
            .iter()
            .map(|&i| if i > 0.0 { i * t as f32 } else { i })
            .collect();
    }
    let mut v = vec![0f32; n];
    let mut peak = vec![f32::NEG_INFINITY; n];
    for row in current.chunks_exact(n) {
        for ((v, p), &i) in v.iter_mut().zip(&mut peak).zip(row) {
            *v += i;
            *p = p.max(*v);
        }
    }
    peak
}

/// The value below which `1 - fraction` of `x` lie (`x` is reordered).
fn upper_quantile(x: &mut [f32], fraction: f64) -> f32 {
    let k = (((1.0 - fraction) * x.len() as f64) as usize).min(x.len() - 1);
    *x.select_nth_unstable_by(k, f32::total_cmp).1
}

/// Calibrate the gains of `model`'s synapses so that `fraction` of every spiking layer's
/// neurons fire on `input` (an encoded batch, as the data pipeline writes it into
/// [`Model::input_mut`]). The model's synapses are rescaled in place; returns the gain of every
/// synapse in order (to store in `model.synapse_gains`) and what happened per spiking layer.
/// The output synapse is calibrated only when the decoder's output neurons spike.
pub fn calibrate(
    model: &mut Model,
    input: &Tensor,
    fraction: f32,
) -> Result<(Vec<f32>, Vec<LayerCalibration>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        bail!("model.init_firing must be between 0 and 1 (a fraction of neurons), got {fraction}");
    }
    let t = model.cfg.time_steps;
    let synapses: Vec<usize> = (0..model.layers.len())
        .filter(|&i| model.layers[i].kind() == LayerKind::Synapse)
        .collect();
    let mut gains = initial_gains(model, synapses.len());
    let mut report = Vec::new();
    for (name, neuron) in model.spiking_layers() {
        // The spiking layer's input current, and the synapse below it that sets its scale.
        let at = neuron.unwrap_or(model.layers.len());
        let Some(s) = synapses.iter().rposition(|&j| j < at) else {
            continue;
        };
        *model.input_mut() = input.clone();
        model.forward();
        let (current, steps) = model.neuron_input(at);
        let mut peak = peaks(&current, steps, t);
        let before = peak.iter().filter(|&&p| p >= 1.0).count() as f64 / peak.len() as f64;
        let positive = peak.iter().filter(|&&p| p > 0.0).count() as f64 / peak.len() as f64;
        if positive == 0.0 {
            bail!(
                "firing calibration: no neuron of {name} receives a positive current on the \
                 first batch, so no gain makes it fire (is its input silent?)"
            );
        }
        // No gain makes a neuron with a negative peak fire: at most the positive ones can.
        let q = upper_quantile(&mut peak, (fraction as f64).min(0.95 * positive));
        let gain = round3(gains[s] / q);
        model.layers[synapses[s]]
            .synapse_mut()
            .expect("a synapse layer has weights")
            .rescale(gain / gains[s]);
        report.push(LayerCalibration {
            layer: name,
            before,
            gain_before: gains[s],
            gain,
        });
        gains[s] = gain;
    }
    if !model.decoder.spiking() {
        // A membrane readout: the output synapse sets the logits' scale, linear in its gain;
        // start them at unit spread, as an ANN's initialization does, instead of wherever the
        // hidden layers' firing put them (logits of spread 5 start the loss near 6).
        let s = synapses.len() - 1;
        *model.input_mut() = input.clone();
        model.forward();
        let logits = model.logits.data.to_vec();
        let n = logits.len().max(1) as f64;
        let mean = logits.iter().map(|&x| x as f64).sum::<f64>() / n;
        let std = (logits
            .iter()
            .map(|&x| (x as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        if std > 0.0 {
            let gain = round3(gains[s] / std as f32);
            model.layers[synapses[s]]
                .synapse_mut()
                .expect("a synapse layer has weights")
                .rescale(gain / gains[s]);
            report.push(LayerCalibration {
                layer: "readout".into(),
                before: std,
                gain_before: gains[s],
                gain,
            });
            gains[s] = gain;
        }
    }
    Ok((gains, report))
}

/// The gains `model` was built with (see [`crate::model::ModelConfig::synapse_gains`]).
fn initial_gains(model: &Model, synapses: usize) -> Vec<f32> {
    let cfg = &model.cfg;
    if !cfg.synapse_gains.is_empty() {
        return cfg.synapse_gains.clone();
    }
    let mut g = vec![cfg.init_gain; synapses];
    if let (Some(last), Some(out)) = (g.last_mut(), cfg.output_init_gain) {
        *last = out;
    }
    g
}

/// Fraction of each spiking layer's neurons that fired in the last forward pass, by name.
pub fn firing_fractions(model: &Model) -> Vec<(String, f64)> {
    let t = model.cfg.time_steps;
    model
        .first_spike_times()
        .into_iter()
        .map(|(name, _, first)| {
            let fired = first.iter().filter(|&&f| (f as usize) < t).count();
            (name, fired as f64 / first.len().max(1) as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_follow_the_running_potential() {
        // Two units over 3 steps: currents (0.5, -1), (0.7, 2), (-0.4, -0.5).
        let cur = [0.5, -1.0, 0.7, 2.0, -0.4, -0.5];
        assert_eq!(peaks(&cur, 3, 3), vec![1.2, 1.0]);
        // A constant current over 4 steps.
        assert_eq!(peaks(&[0.3, -0.2], 1, 4), vec![1.2, -0.2]);
    }

    #[test]
    fn quantile_and_rounding() {
        let mut x: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(upper_quantile(&mut x, 0.25), 75.0);
        assert_eq!(round3(2.41079), 2.41);
        assert_eq!(round3(0.0123456), 0.0123);
        assert_eq!(round3(123.456), 123.0);
    }
}
