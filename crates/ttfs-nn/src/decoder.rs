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
//!
//! `learn_weights` (`temporal` and `membrane`): the time weights start at the weighting's
//! values and are trained with the rest of the network (parameter `decoder.time_weights`,
//! `[w[-1], w[0], ..., w[T-1]]`; `w[-1]` only matters with `exact_time`). Their gradient is
//! `dL/dw[k] = sum_{b,c} dY[b,c] O[k,b,c]` (at exact times split between `w[k-1]` and `w[k]` by
//! the crossing fraction). The output layer is `[T, B, classes]`, so it is summed on the host.
//!
//! `exact_time` (spiking fire-once decoders): a step's current is constant over the step, so
//! the potential rises linearly within it and an output neuron crosses threshold at a known
//! fraction of its spike step; the weight is read at that time, between `w[t-1]` and `w[t]`
//! (`kernels/cpu/crossing_time.rs`), instead of at the step's end. Outputs that fire in the
//! same step then no longer tie, and the crossing time has a gradient of its own beside the
//! surrogate's.

use crate::kernels::cpu::crossing_time::fraction;
use crate::kernels::{Buf, Device, IfParams};
use crate::layers::Param;
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
    /// Read each output spike's weight at the exact time its neuron crossed threshold within
    /// the step (`temporal` and `first_spike` only).
    pub exact_time: bool,
    /// Train the time weights (`temporal` and `membrane` only), starting from `weighting`.
    pub learn_weights: bool,
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
            exact_time: false,
            learn_weights: false,
        }
    }
}

impl DecoderConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.exact_time && !matches!(self.kind, DecoderKind::Temporal | DecoderKind::FirstSpike)
        {
            anyhow::bail!(
                "model.decoder.exact_time reads the crossing time of fire-once output neurons: \
                 it needs model.decoder.kind \"temporal\" or \"first_spike\", not {:?}",
                self.kind
            );
        }
        if self.learn_weights && !matches!(self.kind, DecoderKind::Temporal | DecoderKind::Membrane)
        {
            anyhow::bail!(
                "model.decoder.learn_weights trains the time weights of the temporal or membrane \
                 decoder, not of {:?} (its weights are fixed by definition)",
                self.kind
            );
        }
        Ok(())
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
        // The time weights of `temporal` and `membrane`, as a phrase.
        let weights = if self.learn_weights {
            format!("learned weights (starting at {weights} summing to {s})")
        } else {
            format!("{weights} summing to {s}")
        };
        if self.exact_time {
            write!(f, "at exact crossing times, ")?;
        }
        match self.kind {
            DecoderKind::Temporal => write!(
                f,
                "temporal: fire-once output neurons, logits = their spikes with {weights}"
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
                "membrane: non-spiking output, logits = potentials with {weights}"
            ),
        }
    }
}

/// Time weights `w[t]` for `t = 0..T`.
pub fn time_weights(cfg: &DecoderConfig, t: usize) -> Vec<f32> {
    time_weights_from(cfg, t, 0)
}

/// `w[k-1] - w[k]` for `k = 0..T`, with `w[-1]` the weighting's formula one step before 0:
/// how much more a spike weighs at the start of step k than at its end (`exact_time`).
pub fn time_weight_drops(cfg: &DecoderConfig, t: usize) -> Vec<f32> {
    let before = time_weights_from(cfg, t, -1);
    let w = time_weights(cfg, t);
    (0..t).map(|k| before[k] - w[k]).collect()
}

/// `w[k + shift]` for `k = 0..T`, normalized as `w[0..T]` is.
fn time_weights_from(cfg: &DecoderConfig, t: usize, shift: i32) -> Vec<f32> {
    let raw = |k: i32| -> f32 {
        match (cfg.kind, cfg.weighting) {
            (DecoderKind::FirstSpike, _) => cfg.scale * (t as i32 - k) as f32 / t as f32,
            (DecoderKind::Count, _) => cfg.scale / t as f32,
            (_, Weighting::Exp) => cfg.base.powi(-k),
            (_, Weighting::Linear) => (t as i32 - k) as f32,
            (_, Weighting::Uniform) => 1.0,
            (_, Weighting::Last) => (k + 1 == t as i32) as u8 as f32,
        }
    };
    let steps = (0..t as i32).map(|k| k + shift);
    match cfg.kind {
        // Already on their scale.
        DecoderKind::FirstSpike | DecoderKind::Count => steps.map(raw).collect(),
        _ => {
            let sum: f32 = (0..t as i32).map(raw).sum();
            steps.map(|k| raw(k) * cfg.scale / sum).collect()
        }
    }
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
    /// `exact_time`: `w[t-1] - w[t]` on the device, the weight each step gave each unit's
    /// spike (`[T, B, C]`) and the crossing time's gradient for the currents.
    drop_dev: Buf<f32>,
    weff: Buf<f32>,
    dextra: Buf<f32>,
    /// `learn_weights`: `[w[-1], w[0], ..., w[T-1]]`, trained.
    pub time_weights: Option<Param>,
}

/// A host copy of what the output layer did for a batch, to read decisions from
/// ([`Decoder::logits_until`]).
pub struct Readout {
    /// `[T, B, C]`: spikes, or membrane potentials for `membrane`.
    pub out: Vec<f32>,
    /// `exact_time`: the weight each step gave each unit's spike (`[T, B, C]`).
    weff: Option<Vec<f32>>,
}

impl Decoder {
    /// `neuron` gives the surrogate and mask settings of the output neuron; `t` the number of
    /// time steps (the length of learned time weights).
    pub fn new(cfg: DecoderConfig, neuron: IfParams, t: usize) -> Self {
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
            neuron,
            out: Tensor::default(),
            v: Buf::default(),
            w: Vec::new(),
            w_dev: Buf::default(),
            suffix_dev: Buf::default(),
            dout: Buf::default(),
            drop_dev: Buf::default(),
            weff: Buf::default(),
            dextra: Buf::default(),
            time_weights: cfg.learn_weights.then(|| {
                let before = time_weights_from(&cfg, t, -1);
                let w = std::iter::once(before[0]).chain(time_weights(&cfg, t));
                Param::new("decoder.time_weights", &[t + 1], w.collect(), false)
            }),
            cfg,
        }
    }

    /// The time weights `w[t]` and the drops `w[t-1] - w[t]` (`exact_time`) on the host:
    /// learned ones, else the weighting's.
    pub fn host_weights(&self, t: usize) -> (Vec<f32>, Vec<f32>) {
        match &self.time_weights {
            Some(p) => {
                let u = p.value.read();
                assert_eq!(
                    u.len(),
                    t + 1,
                    "the decoder learned {} time weights, the model runs {t} steps",
                    u.len() - 1
                );
                (u[1..].to_vec(), (0..t).map(|k| u[k] - u[k + 1]).collect())
            }
            None => (time_weights(&self.cfg, t), time_weight_drops(&self.cfg, t)),
        }
    }

    /// Whether spike weights are read at exact crossing times.
    fn exact_time(&self) -> bool {
        self.cfg.exact_time && self.spiking()
    }

    /// A host copy of the last forward's outputs (and weights, for `exact_time`).
    pub fn readout(&self) -> Readout {
        Readout {
            out: self.out.data.read().into_owned(),
            weff: self.exact_time().then(|| self.weff.read().into_owned()),
        }
    }

    /// Whether `out` holds spikes (false: membrane potentials).
    pub fn spiking(&self) -> bool {
        self.neuron.is_some()
    }

    /// The time weights for `t` steps on `device` (computed when `t` or the device changes).
    /// Learned weights change at every step, so they are read each time.
    fn weights_for(&mut self, t: usize, device: Device) {
        let same = self.w.len() == t && self.w_dev.device() == device && self.w_dev.len() == t;
        if same && self.time_weights.is_none() {
            return;
        }
        let (w, drop) = self.host_weights(t);
        self.w = w;
        let mut suffix = self.w.clone();
        for k in (0..t.saturating_sub(1)).rev() {
            suffix[k] += suffix[k + 1];
        }
        if same {
            // Learned weights, every step: into the buffers in place (no device allocation).
            self.w_dev.write(&self.w);
            self.suffix_dev.write(&suffix);
            self.drop_dev.write(&drop);
            return;
        }
        self.w_dev = Buf::from_vec(device, self.w.clone());
        self.suffix_dev = Buf::from_vec(device, suffix);
        self.drop_dev = Buf::from_vec(device, drop);
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
        logits.shape = vec![b, c];
        if self.exact_time() {
            // Y = sum_t weff[t] out[t], weights read at the crossing times
            let (s, v, w, drop) = (&self.out.data, &self.v, &self.w_dev, &self.drop_dev);
            k.crossing_time_forward(t, n, s, v, w, drop, &mut self.weff, &mut logits.data);
            return;
        }
        // Y = sum_t w[t] out[t]
        k.weighted_step_sum(&self.out.data, Some(&self.w_dev), t, n, &mut logits.data);
    }

    // dlogits is [B, C]; dcur is [T, B, C]
    pub fn backward(&mut self, cur: &Tensor, dlogits: &Tensor, dcur: &mut Tensor) {
        let t = cur.shape[0];
        let n = cur.len() / t;
        let k = cur.data.kernels();
        dcur.reshape_for_overwrite(cur.device(), &cur.shape);
        match &self.neuron {
            Some(p) if self.cfg.exact_time => {
                // dO[t] = weff[t] dY through the spikes, plus the crossing times' own path
                let (s, v) = (&self.out.data, &self.v);
                let (drop, weff) = (&self.drop_dev, &self.weff);
                let (dout, dextra) = (&mut self.dout, &mut self.dextra);
                k.crossing_time_backward(t, n, s, v, drop, weff, &dlogits.data, dout, dextra);
                k.if_backward(p, t, n, &self.out.data, &self.v, &self.dout, &mut dcur.data);
                k.add_assign(&mut dcur.data, &self.dextra);
            }
            Some(p) => {
                // dO[t] = w[t] dY
                k.scale_steps(&self.w_dev, &dlogits.data, t, n, &mut self.dout);
                k.if_backward(p, t, n, &self.out.data, &self.v, &self.dout, &mut dcur.data);
            }
            // dI[k] = sum_{t >= k} w[t] dY
            None => k.scale_steps(&self.suffix_dev, &dlogits.data, t, n, &mut dcur.data),
        }
        self.time_weights_backward(t, &dlogits.data);
    }

    /// `learn_weights`: add `dL/du` for `u = [w[-1], w[0], ..]` to the parameter's gradient:
    /// `dY O[k]` goes to `w[k]`, or at exact times `f dY s[k]` to `w[k]` and `(1 - f) dY s[k]`
    /// to `w[k-1]` (`weff[k] = f w[k] + (1 - f) w[k-1]`, `f` the crossing fraction).
    fn time_weights_backward(&mut self, t: usize, dlogits: &Buf<f32>) {
        let exact = self.exact_time();
        let Some(p) = &mut self.time_weights else {
            return;
        };
        let (out, dy) = (self.out.data.read(), dlogits.read());
        let v = if exact { Some(self.v.read()) } else { None };
        let n = dy.len();
        let mut du = p.grad.to_vec();
        for k in 0..t {
            for j in 0..n {
                let g = dy[j] * out[k * n + j];
                if g == 0.0 {
                    continue;
                }
                match &v {
                    Some(v) => {
                        let prev = if k == 0 { 0.0 } else { v[(k - 1) * n + j] };
                        let (f, _, _) = fraction(prev, v[k * n + j]);
                        du[k + 1] += f * g;
                        du[k] += (1.0 - f) * g;
                    }
                    None => du[k + 1] += g,
                }
            }
        }
        p.grad.write(&du);
    }

    /// Logits of sample `b` from the outputs seen up to and including step `upto` (the
    /// decision an event-driven run would take at time `upto`), from a [`Decoder::readout`].
    /// `logits` is `[classes]`.
    pub fn logits_until(&self, r: &Readout, upto: usize, b: usize, logits: &mut [f32]) {
        let c = logits.len();
        let n = r.out.len() / self.out.shape[0];
        logits.fill(0.0);
        for k in 0..=upto.min(self.w.len() - 1) {
            let cols = k * n + b * c..k * n + (b + 1) * c;
            let row = &r.out[cols.clone()];
            match &r.weff {
                Some(weff) => logits
                    .iter_mut()
                    .zip(row.iter().zip(&weff[cols]))
                    .for_each(|(y, (o, w))| *y += o * w),
                None => {
                    let wk = self.w[k];
                    logits.iter_mut().zip(row).for_each(|(y, o)| *y += wk * o)
                }
            }
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
