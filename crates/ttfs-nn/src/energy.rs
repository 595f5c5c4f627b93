//! Synaptic operations, energy and latency of a forward pass, counted exactly from the spikes.
//!
//! On neuromorphic hardware the energy of inference follows the number of synaptic
//! operations: every input event (a spike, or any nonzero value reaching a synapse) is one
//! accumulate per outgoing synapse of its unit ([`crate::layers::Layer::fanout`]: `out` for a
//! linear layer; for a convolution, the output channels times the output positions whose
//! window holds the unit, so borders and strides are exact). Layers that receive the analog
//! image (direct encoding, before the first spiking layer) multiply: their dense
//! multiply-accumulates (MACs) are counted once per sample, since their input, and so their
//! output current, is the same at every step (ttfs computes them once, see `Model::forward`).
//! Neuron updates, biases and pooling are not synaptic operations and are not counted.
//!
//! Energy uses the 45 nm figures of M. Horowitz, "Computing's energy problem (and what we can
//! do about it)", ISSCC 2014: a 32-bit floating-point add 0.9 pJ ([`PJ_PER_AC`]), a multiply
//! 3.7 pJ, so a multiply-accumulate 4.6 pJ ([`PJ_PER_MAC`]); the same constants most SNN
//! papers use. The network as an ANN (the same layers, one dense pass) costs
//! [`EnergyReport::dense_macs`] MACs.
//!
//! Early exit: a sample's decision is taken at its first output spike (membrane decoder: the
//! first step at which an output potential reaches the threshold 1), from the outputs seen so
//! far; the operations spent are those of the steps up to and including that one. A sample
//! with no output event decides at the last step.

use crate::layers::LayerKind;
use crate::loss;
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// Energy of one accumulate (32-bit float add, 45 nm; Horowitz, ISSCC 2014), in pJ.
pub const PJ_PER_AC: f64 = 0.9;
/// Energy of one multiply-accumulate (3.7 pJ multiply + 0.9 pJ add, same source), in pJ.
pub const PJ_PER_MAC: f64 = 4.6;

/// Operations of one synapse layer, summed over the samples seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerOps {
    /// Index of the layer in the model.
    pub layer: usize,
    /// The layer's name (`conv1`, `fc2`: `layer_names.rs`).
    pub name: String,
    /// What the layer is (`conv 1->6 k3 s1 p1 (WeightAffine)`).
    #[serde(default)]
    pub describe: String,
    /// Receives the analog input: dense MACs instead of accumulates.
    pub analog: bool,
    /// Input units per sample.
    pub input_units: usize,
    /// Sum over samples of input events (0 for an analog layer).
    pub input_events: f64,
    /// Sum over samples of operations: accumulates, or MACs for an analog layer.
    pub ops: f64,
    /// `ops_by_step[t]`: the part of `ops` spent at step `t` (an analog layer's at step 0).
    pub ops_by_step: Vec<f64>,
    /// MACs per sample of the same layer in an ANN (one dense pass).
    pub dense_macs: f64,
}

/// Synaptic operations, energy and early exit over an evaluation (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    pub samples: usize,
    pub time_steps: usize,
    pub layers: Vec<LayerOps>,
    /// Early exit, summed over samples: the decision step, the accuracy credit of the
    /// decision and the accumulates spent up to it.
    pub exit_step_sum: f64,
    pub exit_correct: f64,
    pub exit_ops: f64,
    /// Samples with an output event before the end of the window.
    pub exited: usize,
}

impl EnergyReport {
    fn per_sample(&self, x: f64) -> f64 {
        x / self.samples.max(1) as f64
    }

    /// Accumulates per sample (spike-driven layers).
    pub fn synops(&self) -> f64 {
        self.per_sample(
            self.layers
                .iter()
                .filter(|l| !l.analog)
                .map(|l| l.ops)
                .sum(),
        )
    }

    /// MACs per sample of the layers that receive the analog input.
    pub fn analog_macs(&self) -> f64 {
        self.per_sample(self.layers.iter().filter(|l| l.analog).map(|l| l.ops).sum())
    }

    /// MACs per sample of the same network as an ANN.
    pub fn dense_macs(&self) -> f64 {
        self.layers.iter().map(|l| l.dense_macs).sum()
    }

    /// Energy per sample in pJ: accumulates at [`PJ_PER_AC`], analog MACs at [`PJ_PER_MAC`].
    pub fn energy_pj(&self) -> f64 {
        self.synops() * PJ_PER_AC + self.analog_macs() * PJ_PER_MAC
    }

    /// Energy per sample of the ANN in pJ.
    pub fn dense_energy_pj(&self) -> f64 {
        self.dense_macs() * PJ_PER_MAC
    }

    /// Accumulates per sample spent up to and including step `t`.
    pub fn synops_until(&self, t: usize) -> f64 {
        self.per_sample(
            self.layers
                .iter()
                .filter(|l| !l.analog)
                .map(|l| {
                    l.ops_by_step[..=t.min(self.time_steps - 1)]
                        .iter()
                        .sum::<f64>()
                })
                .sum(),
        )
    }

    /// Mean decision step with early exit.
    pub fn exit_step(&self) -> f64 {
        self.per_sample(self.exit_step_sum)
    }

    /// Accuracy with early exit.
    pub fn exit_accuracy(&self) -> f64 {
        self.per_sample(self.exit_correct)
    }

    /// Accumulates per sample spent with early exit.
    pub fn exit_synops(&self) -> f64 {
        self.per_sample(self.exit_ops)
    }

    /// Energy per sample with early exit, in pJ (the analog layers are computed either way).
    pub fn exit_energy_pj(&self) -> f64 {
        self.exit_synops() * PJ_PER_AC + self.analog_macs() * PJ_PER_MAC
    }

    /// Add the model's last forward pass on a batch with `labels`.
    pub fn record(&mut self, model: &Model, labels: &[usize]) {
        let t = model.cfg.time_steps;
        let b = model.acts[0].shape[1];
        assert_eq!(labels.len(), b, "one label per sample");
        self.time_steps = t;
        // The input was one frame for all steps (direct encoding of images): the layers
        // before the first spiking layer see analog values.
        let static_analog =
            model.cfg.encoding == crate::encoding::Encoding::Direct && model.acts[0].shape[0] == 1;
        let mut per_sample = vec![0.0f64; b * t]; // accumulates [B, T]
        let mut seen_neuron = false;
        let mut k = 0;
        let names = model.node_names();
        for (i, layer) in model.layers.iter().enumerate() {
            if layer.kind() == LayerKind::Neuron {
                seen_neuron = true;
            }
            if layer.kind() != LayerKind::Synapse {
                continue;
            }
            let frame = &model.frames[i];
            let fanout = layer.fanout(frame).expect("a synapse has a fan-out");
            let macs = layer.macs_per_frame(frame) as f64;
            if self.layers.len() <= k {
                self.layers.push(LayerOps {
                    layer: i,
                    name: names[i].clone(),
                    describe: layer.describe(),
                    analog: static_analog && !seen_neuron,
                    input_units: fanout.len(),
                    ops_by_step: vec![0.0; t],
                    dense_macs: macs,
                    ..Default::default()
                });
            }
            let st = &mut self.layers[k];
            k += 1;
            if st.analog {
                st.ops += macs * b as f64;
                st.ops_by_step[0] += macs * b as f64;
                continue;
            }
            let x = model.acts[i].data.read();
            let f = fanout.len();
            let steps = x.len() / (b * f);
            debug_assert_eq!(steps, t);
            for step in 0..steps {
                for s in 0..b {
                    let row = &x[(step * b + s) * f..(step * b + s + 1) * f];
                    let (mut events, mut ops) = (0u64, 0u64);
                    for (v, &w) in row.iter().zip(&fanout) {
                        let hit = (*v != 0.0) as u64;
                        events += hit;
                        ops += hit * w as u64;
                    }
                    st.input_events += events as f64;
                    st.ops += ops as f64;
                    st.ops_by_step[step] += ops as f64;
                    per_sample[s * t + step] += ops as f64;
                }
            }
        }
        let c = model.classes();
        let readout = model.decoder.readout();
        let mut logits = vec![0.0f32; c];
        for (s, &y) in labels.iter().enumerate() {
            let first = model.decoder.first_output_time(&readout.out, s, c);
            let at = first.min(t - 1);
            if first < t {
                self.exited += 1;
            }
            model.decoder.logits_until(&readout, at, s, &mut logits);
            self.exit_correct += loss::correct_credit(&logits, y) as f64;
            self.exit_step_sum += at as f64;
            self.exit_ops += per_sample[s * t..s * t + at + 1].iter().sum::<f64>();
        }
        self.samples += b;
    }

    /// The report as a table (per layer, total, the ANN, early exit, decision time).
    pub fn table(&self, accuracy_at: &[f64]) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "synaptic operations per sample (one accumulate per input event per outgoing synapse; \
             analog input: dense MACs), energy at {PJ_PER_AC} pJ/AC and {PJ_PER_MAC} pJ/MAC \
             (45 nm, Horowitz ISSCC 2014):"
        );
        let label = |l: &LayerOps| match l.describe.is_empty() {
            true => l.name.clone(),
            false => format!("{}: {}", l.name, l.describe),
        };
        let w = self
            .layers
            .iter()
            .map(|l| label(l).len())
            .max()
            .unwrap_or(0)
            .max(7);
        let _ = writeln!(
            s,
            "  {:>3} {:<w$} {:>10} {:>14} {:>14} {:>10}",
            "#", "synapse", "events/in", "SynOps", "ANN MACs", "SNN/ANN"
        );
        for l in &self.layers {
            let ops = self.per_sample(l.ops);
            let (ev, what) = if l.analog {
                ("analog".to_string(), format!("{ops:.0} MAC"))
            } else {
                (
                    format!(
                        "{:.3}",
                        self.per_sample(l.input_events) / l.input_units.max(1) as f64
                    ),
                    format!("{ops:.0}"),
                )
            };
            let _ = writeln!(
                s,
                "  {:>3} {:<w$} {:>10} {:>14} {:>14.0} {:>10.3}",
                l.layer,
                label(l),
                ev,
                what,
                l.dense_macs,
                ops / l.dense_macs.max(1.0)
            );
        }
        let _ = writeln!(
            s,
            "  total: {:.0} accumulates + {:.0} analog MACs = {:.1} nJ per sample; the ANN: {:.0} \
             MACs = {:.1} nJ ({:.1}x the SNN's energy)",
            self.synops(),
            self.analog_macs(),
            self.energy_pj() / 1e3,
            self.dense_macs(),
            self.dense_energy_pj() / 1e3,
            self.dense_energy_pj() / self.energy_pj().max(1e-9)
        );
        let _ = writeln!(
            s,
            "  early exit (decide at the first output spike / threshold crossing): accuracy \
             {:.2}% at mean step {:.2} ({:.1}% of samples exit before the end), {:.0} \
             accumulates = {:.1} nJ per sample ({:.1}% of the full run's accumulates)",
            100.0 * self.exit_accuracy(),
            self.exit_step(),
            100.0 * self.exited as f64 / self.samples.max(1) as f64,
            self.exit_synops(),
            self.exit_energy_pj() / 1e3,
            100.0 * self.exit_synops() / self.synops().max(1e-9)
        );
        if !accuracy_at.is_empty() {
            let _ = writeln!(
                s,
                "  accuracy against decision time (deciding at step t from the outputs seen so far) \
                 and the accumulates spent up to t:"
            );
            for (t, a) in accuracy_at.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "    t = {t:>3}  {:>6.2}%  {:>14.0} accumulates  {:>9.1} nJ",
                    100.0 * a,
                    self.synops_until(t),
                    (self.synops_until(t) * PJ_PER_AC + self.analog_macs() * PJ_PER_MAC) / 1e3
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::ettfs_init::Init;
    use crate::layers::{conv2d::Conv2d, Layer};
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use crate::weight_norm::Norm;

    /// The fan-out of every input unit equals the number of outputs a unit impulse reaches
    /// through all-positive weights, for plain, strided, padded and pooling-folded
    /// convolutions.
    #[test]
    fn conv_fanout_counts_the_outputs_an_impulse_reaches() {
        for (k, stride, pad, pool, h, w) in [
            (3, 1, 1, 1, 6, 7),
            (3, 2, 1, 1, 7, 6),
            (5, 2, 0, 1, 9, 9),
            (3, 1, 1, 2, 8, 7),
        ] {
            let (in_c, out_c) = (2, 3);
            let mut conv = Conv2d::new(
                "c",
                in_c,
                out_c,
                k,
                stride,
                pad,
                Norm::None,
                Init::Ettfs,
                1.0,
                1,
                &mut Rng::new(1),
            )
            .with_avg_pool(pool);
            conv.weights.raw.value.iter_mut().for_each(|v| *v = 1.0);
            let frame = [in_c, h, w];
            let fanout = conv.fanout(&frame).unwrap();
            assert_eq!(fanout.len(), in_c * h * w);
            for (u, &want) in fanout.iter().enumerate() {
                let mut x = Tensor::zeros(&[1, 1, in_c, h, w]);
                x.data[u] = 1.0;
                let mut y = Tensor::default();
                conv.forward(&x, &mut y);
                let reached = y.data.iter().filter(|&&v| v != 0.0).count() as u32;
                assert_eq!(want, reached, "k{k} s{stride} p{pad} pool{pool} unit {u}");
            }
        }
    }
}
