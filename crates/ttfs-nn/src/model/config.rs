//! The model's settings (`[model]` in a config): the spec, time steps, encoding, the
//! initialization and normalization, the surrogate and its band, the firing calibration and
//! the decoder; and the neuron settings derived from them for each spiking layer.

use crate::decoder::DecoderConfig;
use crate::encoding::{Encoding, ZeroInput};
use crate::ettfs_init::Init;
use crate::kernels::IfParams;
use crate::surrogate::{Surrogate, SurrogateKind};
use crate::weight_norm::Norm;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Layers, see `spec.rs`, e.g. `fc400 if fc400 if fc10`.
    pub spec: String,
    /// Number of time steps T.
    pub time_steps: usize,
    pub encoding: Encoding,
    pub zero_input: ZeroInput,
    pub init: Init,
    /// Multiplies the initialization's standard deviation (and weight norm's target).
    pub init_gain: f32,
    pub norm: Norm,
    pub surrogate: SurrogateKind,
    /// Sharpness of the surrogate derivative.
    pub alpha: f32,
    /// Let the gradient flow through the fire-once mask (default: detached).
    pub mask_grad: bool,
    /// Sparse backward: the hidden neurons' surrogate derivative is cut to `|v - 1| < band`
    /// (exactly 0 outside), so only entries near the threshold carry gradient and the
    /// synapses' backward takes its event-driven paths (absent: the uncut surrogate). The
    /// output neurons keep the uncut one (a narrow band there leaves far-below-threshold
    /// outputs without gradient: docs/results/cpu-speed.md, "A compact-support surrogate").
    pub band: Option<f32>,
    /// One band per hidden spiking layer, in the spec's order, in place of `band` (empty:
    /// `band` for every hidden layer; `inf` leaves a layer uncut).
    pub layer_bands: Vec<f32>,
    /// Surrogate sharpness of the output neurons only (absent: `alpha`). A wider surrogate
    /// there reaches output potentials far below threshold, which a steep one leaves without
    /// gradient (silent output neurons). Measured in docs/results/decoder-study.md:
    /// output alpha 2 with hidden alpha 8 lowers the temporal decoder on Fashion-MNIST.
    pub output_alpha: Option<f32>,
    /// `init_gain` of the last synapse only (absent: `init_gain`). With weight normalization
    /// it sets the scale of the output currents for the whole run, which for an IF output
    /// neuron is the same as dividing its threshold by `output_init_gain / init_gain`.
    pub output_init_gain: Option<f32>,
    /// Fraction of each spiking layer's neurons that should fire on the first training batch
    /// at initialization (absent: no calibration). Before the first step, each synapse's gain
    /// is set, layer by layer, so that this fraction fires (see `firing_calibration.rs`); the
    /// gains found are stored in `synapse_gains`. Keeps deep nets alive on real data, where
    /// the ETTFS rule's assumption (every input fires once, currents spread over T) fails.
    pub init_firing: Option<f32>,
    /// The gain of every synapse, in order (empty: `init_gain`, and `output_init_gain` for
    /// the last): written by the `init_firing` calibration, read when a run is resumed or a
    /// checkpoint loaded.
    pub synapse_gains: Vec<f32>,
    pub decoder: DecoderConfig,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            spec: "fc256 if fc10".into(),
            time_steps: 8,
            encoding: Encoding::Direct,
            zero_input: ZeroInput::Last,
            init: Init::Ettfs,
            init_gain: 0.35,
            norm: Norm::WeightAffine,
            surrogate: SurrogateKind::Sigmoid,
            alpha: 8.0,
            mask_grad: false,
            band: None,
            layer_bands: Vec::new(),
            output_alpha: None,
            output_init_gain: None,
            init_firing: None,
            synapse_gains: Vec::new(),
            decoder: DecoderConfig::default(),
        }
    }
}

impl ModelConfig {
    pub fn if_params(&self) -> IfParams {
        IfParams {
            surrogate: Surrogate::new(self.surrogate, self.alpha),
            fire_once: true,
            mask_grad: self.mask_grad,
            smooth: false,
        }
    }

    /// The same network at `t` time steps (incremental time steps, `schedule.time_steps`):
    /// every synapse's gain is rescaled so that its weights stay what they are at
    /// `self.time_steps`. The initialization's scale depends on T (ETTFS: `sqrt(T / N_in)`),
    /// and weight normalization keeps each synapse at that scale times its gain for the whole
    /// run, so the gain takes the ratio of the two scales.
    pub fn at_time_steps(&self, t: usize) -> anyhow::Result<ModelConfig> {
        let mut m = self.clone();
        m.time_steps = t;
        if t == self.time_steps {
            return Ok(m);
        }
        let synapses = crate::spec::parse(&self.spec)?
            .iter()
            .filter(|s| s.is_synapse())
            .count();
        let ratio = self.init.std(1, self.time_steps) / self.init.std(1, t);
        m.synapse_gains = (0..synapses)
            .map(|i| self.synapse_gain(i, synapses) * ratio)
            .collect();
        Ok(m)
    }

    /// The gain synapse `i` of `synapses` is built with (see `synapse_gains`).
    pub fn synapse_gain(&self, i: usize, synapses: usize) -> f32 {
        match self.synapse_gains.get(i) {
            Some(&g) => g,
            None if i + 1 == synapses => self.output_init_gain.unwrap_or(self.init_gain),
            None => self.init_gain,
        }
    }

    /// The settings of hidden spiking layer `i` (0-based, in the spec's order):
    /// [`ModelConfig::if_params`] cut to its band (`layer_bands`, else `band`).
    pub fn hidden_if_params(&self, i: usize) -> IfParams {
        let mut p = self.if_params();
        let band = self.layer_bands.get(i).copied().or(self.band);
        p.surrogate = p.surrogate.banded(band.filter(|b| b.is_finite()));
        p
    }

    /// The output neurons' settings: [`ModelConfig::if_params`] with `output_alpha`.
    pub fn output_if_params(&self) -> IfParams {
        let mut p = self.if_params();
        if let Some(a) = self.output_alpha {
            p.surrogate = Surrogate::new(self.surrogate, a);
        }
        p
    }
}
