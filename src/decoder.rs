//! Output decoding (the paper's third contribution: temporal-weighting decoding).
//!
//! The last synapse's currents `I[t, b, c]` become logits `Y[b, c]` for cross entropy:
//!
//! | kind          | output unit                     | logits                               |
//! |---------------|---------------------------------|--------------------------------------|
//! | `temporal`    | fire-once IF                    | `sum_t w[t] O[t]`, `w` decreasing     |
//! | `first_spike` | fire-once IF                    | `-scale * t_first / T` (T if silent)  |
//! | `count`       | IF firing repeatedly (reset -1) | `scale/T * sum_t O[t]`                |
//! | `membrane`    | none: `v[t] = sum_{k<=t} I[k]`  | `sum_t w[t] v[t]`                     |
//!
//! `temporal` weights are exponential `w[t] ~ g^-t` or linear `w[t] ~ (T - t)`, normalized
//! so that `sum_t w[t] = scale`: earlier output spikes weigh more, which pushes the network to
//! decide early. `first_spike` equals linear weighting up to a constant (`t_first = sum_t t
//! O[t] + T (1 - sum_t O[t])` for a fire-once unit), kept as its own name for comparisons.

use crate::kernels::{Buf, Device, IfParams};
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderKind {
    Temporal,
    FirstSpike,
    Count,
    Membrane,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// `w[t] ~ base^-t`.
    Exp,
    /// `w[t] ~ (T - t)`.
    Linear,
    /// `w[t] ~ 1`.
    Uniform,
    /// Only the last step counts (membrane decoder: the final potential).
    Last,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderConfig {
    pub kind: DecoderKind,
    /// Time weighting for `temporal` and `membrane`.
    pub weighting: Weighting,
    /// `g` of the exponential weighting.
    pub base: f32,
    /// Sum of the time weights: the logit scale.
    pub scale: f32,
}

impl Default for DecoderConfig {
    /// The model's default decoder (`ModelConfig::default`): a `[model.decoder]` table given in
    /// part (`--set model.decoder.kind=membrane`) takes its other keys from here, so the two
    /// must agree (they did not: such a table silently switched the scale from 40 to 10).
    fn default() -> Self {
        DecoderConfig {
            kind: DecoderKind::Temporal,
            weighting: Weighting::Exp,
            base: 1.25,
            scale: 40.0,
        }
    }
}

/// For reports (`ttfs info`): what the output layer is and how logits are read from it.
impl std::fmt::Display for DecoderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let weights = match self.weighting {
            Weighting::Exp => format!("weights {}^-t", self.base),
            Weighting::Linear => "weights (T - t)".into(),
            Weighting::Uniform => "equal weights".into(),
            Weighting::Last => "the last step only".into(),
        };
        let s = self.scale;
        match self.kind {
            DecoderKind::Temporal => write!(
                f,
                "temporal: fire-once output neurons, logits = their spikes with {weights} \
                 summing to {s}"
            ),
            DecoderKind::FirstSpike => write!(
                f,
                "first_spike: fire-once output neurons, logit = -{s} x first spike step / T"
            ),
            DecoderKind::Count => write!(
                f,
                "count: output neurons firing repeatedly, logit = {s} / T x spike count"
            ),
            DecoderKind::Membrane => write!(
                f,
                "membrane: non-spiking output, logits = potentials with {weights} summing to {s}"
            ),
        }
    }
}

/// Time weights `w[t]` for `t = 0..T`.
pub fn time_weights(cfg: &DecoderConfig, t: usize) -> Vec<f32> {
    let raw: Vec<f32> = match cfg.kind {
        DecoderKind::FirstSpike => {
            return (0..t)
                .map(|k| cfg.scale * (t - k) as f32 / t as f32)
                .collect()
        }
        DecoderKind::Count => return vec![cfg.scale / t as f32; t],
        _ => match cfg.weighting {
            Weighting::Exp => (0..t).map(|k| cfg.base.powi(-(k as i32))).collect(),
            Weighting::Linear => (0..t).map(|k| (t - k) as f32).collect(),
            Weighting::Uniform => vec![1.0; t],
            Weighting::Last => (0..t).map(|k| if k + 1 == t { 1.0 } else { 0.0 }).collect(),
        },
    };
    let sum: f32 = raw.iter().sum();
    raw.iter().map(|w| w * cfg.scale / sum).collect()
}

pub struct Decoder {
    pub cfg: DecoderConfig,
    /// The output neuron (absent for `membrane`).
    pub neuron: Option<IfParams>,
    /// `[T, B, C]`: output spikes, or membrane potentials for `membrane`.
    pub out: Tensor,
    v: Buf<f32>,
    /// Time weights `w[t]` on the host (decisions by time) and on the device; for
    /// `membrane`, `suffix[t] = sum_{k >= t} w[k]` (its backward).
    w: Vec<f32>,
    w_dev: Buf<f32>,
    suffix_dev: Buf<f32>,
    dout: Buf<f32>,
}

impl Decoder {
    /// `neuron` gives the surrogate and mask settings of the output neuron.
    pub fn new(cfg: DecoderConfig, neuron: IfParams) -> Self {
        let neuron = match cfg.kind {
            DecoderKind::Membrane => None,
            DecoderKind::Count => Some(IfParams {
                fire_once: false,
                mask_grad: false,
                ..neuron
            }),
            _ => Some(IfParams {
                fire_once: true,
                ..neuron
            }),
        };
        Decoder {
            cfg,
            neuron,
            out: Tensor::default(),
            v: Buf::default(),
            w: Vec::new(),
            w_dev: Buf::default(),
            suffix_dev: Buf::default(),
            dout: Buf::default(),
        }
    }

    /// Whether `out` holds spikes (false: membrane potentials).
    pub fn spiking(&self) -> bool {
        self.neuron.is_some()
    }

    /// The time weights for `t` steps on `device` (computed when `t` or the device changes).
    fn weights_for(&mut self, t: usize, device: Device) {
        if self.w.len() == t && self.w_dev.device() == device && self.w_dev.len() == t {
            return;
        }
        self.w = time_weights(&self.cfg, t);
        let mut suffix = self.w.clone();
        for k in (0..t.saturating_sub(1)).rev() {
            suffix[k] += suffix[k + 1];
        }
        self.w_dev = Buf::from_vec(device, self.w.clone());
        self.suffix_dev = Buf::from_vec(device, suffix);
    }

    // cur is [T, B, C]; logits (reset) is [B, C]
    pub fn forward(&mut self, cur: &Tensor, logits: &mut Tensor) {
        let (t, b, c) = (cur.shape[0], cur.shape[1], cur.shape[2]);
        let n = b * c;
        let dev = cur.device();
        let k = cur.data.kernels();
        self.weights_for(t, dev);
        self.out.reshape_for_overwrite(dev, &cur.shape);
        match &self.neuron {
            Some(p) => {
                self.v.resize_for_overwrite(dev, cur.len());
                k.if_forward(p, t, n, &cur.data, &mut self.out.data, &mut self.v);
            }
            // v[t] = v[t-1] + I[t]
            None => k.cumsum_steps(&cur.data, t, n, &mut self.out.data),
        }
        // Y = sum_t w[t] out[t]
        logits.shape = vec![b, c];
        k.weighted_step_sum(&self.out.data, Some(&self.w_dev), t, n, &mut logits.data);
    }

    // dlogits is [B, C]; dcur is [T, B, C]
    pub fn backward(&mut self, cur: &Tensor, dlogits: &Tensor, dcur: &mut Tensor) {
        let t = cur.shape[0];
        let n = cur.len() / t;
        let k = cur.data.kernels();
        dcur.reshape_for_overwrite(cur.device(), &cur.shape);
        match &self.neuron {
            Some(p) => {
                // dO[t] = w[t] dY
                k.scale_steps(&self.w_dev, &dlogits.data, t, n, &mut self.dout);
                k.if_backward(p, t, n, &self.out.data, &self.v, &self.dout, &mut dcur.data);
            }
            // dI[k] = sum_{t >= k} w[t] dY
            None => k.scale_steps(&self.suffix_dev, &dlogits.data, t, n, &mut dcur.data),
        }
    }

    /// Logits of sample `b` from the outputs `out` (a host copy of [`Decoder::out`]) seen up
    /// to and including step `upto` (the decision an event-driven run would take at time
    /// `upto`). `logits` is `[classes]`.
    pub fn logits_until(&self, out: &[f32], upto: usize, b: usize, logits: &mut [f32]) {
        let c = logits.len();
        let n = out.len() / self.out.shape[0];
        logits.fill(0.0);
        for k in 0..=upto.min(self.w.len() - 1) {
            let wk = self.w[k];
            let row = &out[k * n + b * c..k * n + (b + 1) * c];
            logits.iter_mut().zip(row).for_each(|(y, o)| *y += wk * o);
        }
    }

    /// Step at which sample `b` first has an output spike (membrane: a potential at or above
    /// threshold 1) in `out` (a host copy of [`Decoder::out`]); `T` if never.
    pub fn first_output_time(&self, out: &[f32], b: usize, classes: usize) -> usize {
        let t = self.out.shape[0];
        let n = out.len() / t;
        for k in 0..t {
            let row = &out[k * n + b * classes..k * n + (b + 1) * classes];
            let hit = if self.spiking() {
                row.iter().any(|&s| s > 0.0)
            } else {
                row.iter().any(|&v| v >= 1.0)
            };
            if hit {
                return k;
            }
        }
        t
    }
}
