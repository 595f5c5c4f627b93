//! Event-driven inference: one sample at a time, step by step, propagating only spikes.
//!
//! Each input event (a spike, or a nonzero value) of a synapse adds its weight column (linear)
//! or its kernel taps (convolution) to the next layer's current once; nothing is done for the
//! zeros. A neuron that already fired is skipped. This is how a fire-once network runs on
//! neuromorphic hardware, and its cost follows the spikes: the accumulates it executes are the
//! synaptic operations that `energy.rs` counts (a test checks that they are equal).
//!
//! Per step `t` and layer, a signal is either a list of events or a dense map (currents, or
//! the analog input of a direct encoding). Spatial maps are kept channel-last (`[H, W, C]`)
//! inside the engine, so that a convolution tap adds one contiguous run of `out_c` weights;
//! spike times are reported in the model's `[C, H, W]` order. Layers before the first neuron
//! see a constant input under direct encoding: they run once, at step 0, and their output is
//! reused (as `Model::forward` does).
//!
//! With early exit the run stops at the first output event (a spike, or for the membrane
//! decoder an output potential at or above 1) and decides from the outputs seen so far.

use crate::decoder::DecoderKind;
use crate::kernels::cpu::crossing_time;
use crate::kernels::{ConvGeom, Device, PoolGeom};
use crate::layers::{LayerKind, Plain};
use crate::model::Model;
use anyhow::{bail, Result};

/// A signal between two layers at one step.
#[derive(Clone, Debug)]
enum Signal {
    /// `(index, value)` in the engine's layout; values nonzero.
    Events(Vec<(u32, f32)>),
    Dense(Vec<f32>),
}

/// Frame layout: a spatial map `[C, H, W]` (stored channel-last) or a vector.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Map { c: usize, h: usize, w: usize },
    Flat(usize),
}

impl Shape {
    fn of(frame: &[usize]) -> Shape {
        match frame {
            [c, h, w] => Shape::Map {
                c: *c,
                h: *h,
                w: *w,
            },
            f => Shape::Flat(f.iter().product()),
        }
    }
    fn len(&self) -> usize {
        match *self {
            Shape::Map { c, h, w } => c * h * w,
            Shape::Flat(n) => n,
        }
    }
    /// Engine index (channel-last) of model index `i` (`[C, H, W]`).
    fn engine_index(self, i: usize) -> usize {
        match self {
            Shape::Map { c, h, w } => {
                let (ch, y, x) = (i / (h * w), (i / w) % h, i % w);
                (y * w + x) * c + ch
            }
            Shape::Flat(_) => i,
        }
    }
    /// Model index (`[C, H, W]`) of engine index `i`.
    fn model_index(self, i: usize) -> usize {
        match self {
            Shape::Map { c, h, w } => {
                let (y, x, ch) = (i / (w * c), (i / c) % w, i % c);
                (ch * h + y) * w + x
            }
            Shape::Flat(_) => i,
        }
    }
}

enum Stage {
    /// `wt` is `[n_in, n_out]`: an input event adds row `i`.
    Linear {
        wt: Vec<f32>,
        b: Vec<f32>,
        n_out: usize,
    },
    /// `wt` is `[in_c, k, k, out_c]` (folded with the pooling when there is one).
    Conv {
        wt: Vec<f32>,
        b: Vec<f32>,
        g: ConvGeom,
    },
    AvgPool {
        g: PoolGeom,
    },
    MaxPool {
        g: PoolGeom,
        first_only: bool,
    },
    Neuron {
        fire_once: bool,
    },
    Flatten,
}

/// What one sample's run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventOutput {
    /// `[classes]`, from the outputs seen up to `decision_step`.
    pub logits: Vec<f32>,
    /// The step the decision was taken at: the first output event with early exit, else the
    /// last step.
    pub decision_step: usize,
    /// Whether the run stopped at an output event before the last step.
    pub exited: bool,
    /// Accumulates executed by the layers fed by events (spikes), the synaptic operations.
    pub synops: u64,
    /// Multiply-accumulates executed on the analog input (direct encoding), once per sample.
    pub analog_ops: u64,
    /// With `record`: per spiking layer (neurons, then the spiking output if any), the step
    /// of each unit's first spike in `[C, H, W]` order; `T` for a unit that never fired.
    pub first_spikes: Vec<Vec<u32>>,
}

/// A model compiled for event-driven inference (see the module docs).
pub struct EventNet {
    t: usize,
    stages: Vec<Stage>,
    /// Layout of each stage's input; the last entry is the output's.
    shapes: Vec<Shape>,
    decoder: DecoderKind,
    /// Time weights of the decoder.
    w: Vec<f32>,
    /// `exact_time`: `w[t-1] - w[t]`, to read a spike's weight at its crossing time.
    drop: Option<Vec<f32>>,
    classes: usize,
    /// Index of the first neuron stage (`stages.len()` if none).
    first_neuron: usize,
}

/// Reusable state of one run (kept by the caller across samples to avoid allocating).
#[derive(Default)]
pub struct Scratch {
    v: Vec<Vec<f32>>,
    fired: Vec<Vec<u32>>,
    cur: Vec<f32>,
}

impl EventNet {
    /// Compile `model` (its parameters folded into plain weights).
    pub fn new(model: &mut Model) -> Result<EventNet> {
        let t = model.cfg.time_steps;
        let cpu = Device::Cpu.kernels()?;
        let mut stages = Vec::new();
        let mut shapes = Vec::new();
        for (i, layer) in model.layers.iter_mut().enumerate() {
            let frame = &model.frames[i];
            let shape = Shape::of(frame);
            let stage = match layer.plain() {
                Plain::Linear { w, b, n_in, n_out } => {
                    if shape.len() != n_in {
                        bail!("linear layer {i} expects {n_in} inputs, gets {frame:?}");
                    }
                    let mut wt = vec![0.0; n_in * n_out];
                    for o in 0..n_out {
                        for j in 0..n_in {
                            wt[j * n_out + o] = w[o * n_in + j];
                        }
                    }
                    Stage::Linear { wt, b, n_out }
                }
                Plain::Conv {
                    w,
                    b,
                    in_c,
                    out_c,
                    k,
                    stride,
                    pad,
                    pool,
                } => {
                    let Shape::Map { h, w: width, .. } = shape else {
                        bail!("convolution layer {i} needs a [C, H, W] input, gets {frame:?}");
                    };
                    // Folded with the average pooling, as the model runs it.
                    let (w, kf) = if pool > 1 {
                        let mut folded = crate::kernels::Buf::default();
                        let src = crate::kernels::Buf::from_vec(Device::Cpu, w);
                        cpu.fold_box(&src, out_c * in_c, k, stride, pool, &mut folded);
                        (folded.to_vec(), stride * (pool - 1) + k)
                    } else {
                        (w, k)
                    };
                    let g = ConvGeom {
                        in_c,
                        in_h: h,
                        in_w: width,
                        out_c,
                        k: kf,
                        stride: stride * pool,
                        pad,
                    };
                    let taps = in_c * kf * kf;
                    let mut wt = vec![0.0; taps * out_c];
                    for o in 0..out_c {
                        for p in 0..taps {
                            wt[p * out_c + o] = w[o * taps + p];
                        }
                    }
                    Stage::Conv { wt, b, g }
                }
                Plain::AvgPool { k, stride } | Plain::MaxPool { k, stride, .. } => {
                    let Shape::Map { c, h, w } = shape else {
                        bail!("pooling layer {i} needs a [C, H, W] input, gets {frame:?}");
                    };
                    let g = PoolGeom {
                        c,
                        in_h: h,
                        in_w: w,
                        k,
                        stride,
                    };
                    match layer.plain() {
                        Plain::MaxPool { first_only, .. } => Stage::MaxPool { g, first_only },
                        _ => Stage::AvgPool { g },
                    }
                }
                Plain::Neuron { fire_once } => Stage::Neuron { fire_once },
                Plain::Flatten => Stage::Flatten,
            };
            stages.push(stage);
            shapes.push(shape);
        }
        shapes.push(Shape::of(model.frames.last().unwrap()));
        let first_neuron = model
            .layers
            .iter()
            .position(|l| l.kind() == LayerKind::Neuron)
            .unwrap_or(stages.len());
        let (w, drop) = model.decoder.host_weights(t);
        Ok(EventNet {
            t,
            stages,
            shapes,
            decoder: model.cfg.decoder.kind,
            w,
            drop: model.cfg.decoder.exact_time.then_some(drop),
            classes: model.classes(),
            first_neuron,
        })
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Whether the decoder's output neurons spike (else: membrane potentials).
    fn spiking_output(&self) -> bool {
        self.decoder != DecoderKind::Membrane
    }

    /// Run one sample. `x` is its encoded input in the model's layout: `[T, in_frame...]`, or
    /// `[1, in_frame...]` for an input that is the same at every step (direct encoding).
    /// `early_exit`: stop at the first output event. `record`: fill `first_spikes`.
    pub fn run(&self, x: &[f32], early_exit: bool, record: bool, s: &mut Scratch) -> EventOutput {
        let t = self.t;
        let in_shape = self.shapes[0];
        let f = in_shape.len();
        assert!(
            x.len() == f || x.len() == t * f,
            "input has {} values, expected {f} or {}",
            x.len(),
            t * f
        );
        let static_input = x.len() == f && t > 1;
        // State: per neuron stage (and the output) potentials and first-spike steps.
        s.v.resize(self.stages.len() + 1, Vec::new());
        s.fired.resize(self.stages.len() + 1, Vec::new());
        for (i, st) in self.stages.iter().enumerate() {
            let n = self.shapes[i + 1].len();
            match st {
                Stage::Neuron { .. } => {
                    s.v[i].clear();
                    s.v[i].resize(n, 0.0);
                    s.fired[i].clear();
                    s.fired[i].resize(n, t as u32);
                }
                Stage::MaxPool {
                    first_only: true, ..
                } => {
                    s.fired[i].clear();
                    s.fired[i].resize(n, t as u32);
                }
                _ => {}
            }
        }
        let out_i = self.stages.len();
        s.v[out_i].clear();
        s.v[out_i].resize(self.classes, 0.0);
        s.fired[out_i].clear();
        s.fired[out_i].resize(self.classes, t as u32);
        let mut out = EventOutput {
            logits: vec![0.0; self.classes],
            decision_step: t - 1,
            ..Default::default()
        };
        let mut prefix_out: Option<Signal> = None;
        for step in 0..t {
            // The input of this step, in the engine's layout.
            let (mut sig, start) = match (&prefix_out, static_input) {
                (Some(p), _) => (p.clone(), self.first_neuron),
                (None, true) => {
                    let mut d = vec![0.0; f];
                    for (i, &v) in x.iter().enumerate() {
                        d[in_shape.engine_index(i)] = v;
                    }
                    (Signal::Dense(d), 0)
                }
                (None, false) => {
                    let row = &x[step * f..(step + 1) * f];
                    let ev = row
                        .iter()
                        .enumerate()
                        .filter(|(_, &v)| v != 0.0)
                        .map(|(i, &v)| (in_shape.engine_index(i) as u32, v))
                        .collect();
                    (Signal::Events(ev), 0)
                }
            };
            for i in start..self.stages.len() {
                let analog = static_input && i < self.first_neuron;
                let ops;
                (sig, ops) = self.stage(i, sig, step, s);
                if analog {
                    out.analog_ops += ops;
                } else {
                    out.synops += ops;
                }
                if static_input && i + 1 == self.first_neuron && prefix_out.is_none() {
                    prefix_out = Some(sig.clone());
                }
            }
            // The decoder: `sig` holds the output currents.
            let cur = to_dense(sig, self.classes);
            let (v, fired) = (&mut s.v[out_i], &mut s.fired[out_i]);
            let wt = self.w[step];
            let mut event = false;
            for c in 0..self.classes {
                let o = match self.decoder {
                    DecoderKind::Membrane => {
                        v[c] += cur[c];
                        event |= v[c] >= 1.0;
                        v[c]
                    }
                    DecoderKind::Count => {
                        let vc = v[c] + cur[c];
                        let sp = spike(vc);
                        v[c] = vc - sp;
                        if sp > 0.0 && fired[c] == t as u32 {
                            fired[c] = step as u32;
                        }
                        event |= sp > 0.0;
                        sp
                    }
                    DecoderKind::Temporal | DecoderKind::FirstSpike => {
                        let prev = v[c];
                        v[c] += cur[c];
                        let sp = if fired[c] == t as u32 {
                            spike(v[c])
                        } else {
                            0.0
                        };
                        if sp > 0.0 {
                            fired[c] = step as u32;
                        }
                        event |= sp > 0.0;
                        match &self.drop {
                            // The weight at the crossing time (kernels/cpu/crossing_time.rs).
                            Some(drop) => {
                                let (f, _, _) = crossing_time::fraction(prev, v[c]);
                                out.logits[c] += sp * (wt + (1.0 - f) * drop[step]);
                                continue;
                            }
                            None => sp,
                        }
                    }
                };
                out.logits[c] += wt * o;
            }
            if early_exit && event {
                out.decision_step = step;
                out.exited = step + 1 < t;
                break;
            }
        }
        if record {
            for (i, st) in self.stages.iter().enumerate() {
                if let Stage::Neuron { .. } = st {
                    let shape = self.shapes[i + 1];
                    let mut times = vec![0u32; shape.len()];
                    for (j, &ft) in s.fired[i].iter().enumerate() {
                        times[shape.model_index(j)] = ft;
                    }
                    out.first_spikes.push(times);
                }
            }
            if self.spiking_output() {
                out.first_spikes.push(s.fired[out_i].clone());
            }
        }
        out
    }

    /// Stage `i` at `step`: its output signal and the operations it executed.
    fn stage(&self, i: usize, sig: Signal, step: usize, s: &mut Scratch) -> (Signal, u64) {
        let (in_shape, out_shape) = (self.shapes[i], self.shapes[i + 1]);
        match &self.stages[i] {
            Stage::Linear { wt, b, n_out } => {
                let mut cur = std::mem::take(&mut s.cur);
                cur.clear();
                cur.extend_from_slice(b);
                let ev = to_events(sig);
                for &(j, v) in &ev {
                    let row = &wt[j as usize * n_out..(j as usize + 1) * n_out];
                    cur.iter_mut().zip(row).for_each(|(c, w)| *c += v * w);
                }
                let ops = (ev.len() * n_out) as u64;
                let d = cur.clone();
                s.cur = cur;
                (Signal::Dense(d), ops)
            }
            Stage::Conv { wt, b, g } => {
                let (oh, ow, oc) = (g.out_h(), g.out_w(), g.out_c);
                let mut cur = vec![0.0f32; oh * ow * oc];
                for px in cur.chunks_exact_mut(oc) {
                    px.copy_from_slice(b);
                }
                let ev = to_events(sig);
                let (c_in, w_in) = (g.in_c, g.in_w);
                let mut ops = 0u64;
                for &(j, v) in &ev {
                    let j = j as usize;
                    let (y, x, c) = (j / (w_in * c_in), (j / c_in) % w_in, j % c_in);
                    for ky in 0..g.k {
                        let Some(oy) = tap(y, ky, g.pad, g.stride, oh) else {
                            continue;
                        };
                        for kx in 0..g.k {
                            let Some(ox) = tap(x, kx, g.pad, g.stride, ow) else {
                                continue;
                            };
                            let p = (c * g.k + ky) * g.k + kx;
                            let wrow = &wt[p * oc..(p + 1) * oc];
                            let dst = &mut cur[(oy * ow + ox) * oc..(oy * ow + ox + 1) * oc];
                            dst.iter_mut().zip(wrow).for_each(|(d, w)| *d += v * w);
                            ops += oc as u64;
                        }
                    }
                }
                (Signal::Dense(cur), ops)
            }
            Stage::AvgPool { g } => {
                let x = to_dense(sig, in_shape.len());
                (Signal::Dense(pool_dense(g, &x, false)), 0)
            }
            Stage::MaxPool { g, first_only } => match sig {
                Signal::Events(ev) => {
                    // Spikes: each pooled unit takes the largest event of its window at this
                    // step; first-spike pooling passes a unit's first step only.
                    let mut best: Vec<(u32, f32)> = Vec::new();
                    let (c, w_in) = (g.c, g.in_w);
                    let (oh, ow) = (g.out_h(), g.out_w());
                    for &(j, v) in &ev {
                        let j = j as usize;
                        let (y, x, ch) = (j / (w_in * c), (j / c) % w_in, j % c);
                        for oy in windows(y, g.k, g.stride, oh) {
                            for ox in windows(x, g.k, g.stride, ow) {
                                best.push((((oy * ow + ox) * c + ch) as u32, v));
                            }
                        }
                    }
                    best.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                    best.dedup_by_key(|e| e.0);
                    if *first_only {
                        let fired = &mut s.fired[i];
                        best.retain(|&(u, _)| {
                            let u = u as usize;
                            let new = fired[u] == self.t as u32;
                            if new {
                                fired[u] = step as u32;
                            }
                            new
                        });
                    }
                    // A window of spikes and zeros: its max is the largest spike (spikes are
                    // positive).
                    (Signal::Events(best), 0)
                }
                Signal::Dense(x) => {
                    let mut y = pool_dense(g, &x, true);
                    if *first_only {
                        let fired = &mut s.fired[i];
                        for (u, v) in y.iter_mut().enumerate() {
                            if fired[u] != self.t as u32 {
                                *v = 0.0;
                            } else if *v != 0.0 {
                                fired[u] = step as u32;
                            }
                        }
                    }
                    (Signal::Dense(y), 0)
                }
            },
            Stage::Neuron { fire_once } => {
                let cur = to_dense(sig, out_shape.len());
                let (v, fired) = (&mut s.v[i], &mut s.fired[i]);
                let mut spikes = Vec::new();
                let never = self.t as u32;
                let step = step as u32;
                if *fire_once {
                    // Integrate every neuron (one vectorized pass; a neuron that fired is
                    // masked below, its potential no longer matters), then look for threshold
                    // crossings among those that have not fired, 16 at a time with a bit mask
                    // (no branch per neuron).
                    v.iter_mut().zip(&cur).for_each(|(vj, &c)| *vj += c);
                    for (k, (vc, fc)) in v.chunks(16).zip(fired.chunks_mut(16)).enumerate() {
                        let mut mask = 0u32;
                        for (q, (&vj, &f)) in vc.iter().zip(fc.iter()).enumerate() {
                            mask |= (((vj - 1.0 >= 0.0) & (f == never)) as u32) << q;
                        }
                        while mask != 0 {
                            let q = mask.trailing_zeros() as usize;
                            fc[q] = step;
                            spikes.push(((k * 16 + q) as u32, 1.0));
                            mask &= mask - 1;
                        }
                    }
                } else {
                    for (j, &c) in cur.iter().enumerate() {
                        let vj = v[j] + c;
                        let sp = spike(vj);
                        v[j] = vj - sp;
                        if sp > 0.0 {
                            if fired[j] == never {
                                fired[j] = step;
                            }
                            spikes.push((j as u32, sp));
                        }
                    }
                }
                (Signal::Events(spikes), 0)
            }
            Stage::Flatten => (
                match sig {
                    Signal::Events(ev) => Signal::Events(
                        ev.into_iter()
                            .map(|(j, v)| (in_shape.model_index(j as usize) as u32, v))
                            .collect(),
                    ),
                    Signal::Dense(x) => {
                        let mut y = vec![0.0; x.len()];
                        for (j, v) in x.into_iter().enumerate() {
                            y[in_shape.model_index(j)] = v;
                        }
                        Signal::Dense(y)
                    }
                },
                0,
            ),
        }
    }
}

/// The spike of a neuron at potential `v` (threshold 1), as the integrate-and-fire kernel
/// decides it.
#[inline]
fn spike(v: f32) -> f32 {
    if v - 1.0 >= 0.0 {
        1.0
    } else {
        0.0
    }
}

/// Output row of kernel tap `ky` for input row `y`: `oy * s - pad + ky = y`.
#[inline]
fn tap(y: usize, ky: usize, pad: usize, s: usize, n_out: usize) -> Option<usize> {
    let num = (y + pad).checked_sub(ky)?;
    if num % s != 0 || num / s >= n_out {
        return None;
    }
    Some(num / s)
}

/// Pooling windows (rows) that hold input row `y`: `o * s <= y < o * s + k`.
fn windows(y: usize, k: usize, s: usize, n_out: usize) -> impl Iterator<Item = usize> {
    let lo = (y + 1).saturating_sub(k).div_ceil(s);
    let hi = (y / s).min(n_out.saturating_sub(1));
    (lo..=hi).filter(move |&o| o * s <= y && y < o * s + k && o < n_out)
}

/// Average (or max) pooling of a channel-last map.
fn pool_dense(g: &PoolGeom, x: &[f32], max: bool) -> Vec<f32> {
    let (c, w_in) = (g.c, g.in_w);
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut y = vec![0.0f32; oh * ow * c];
    let inv = 1.0 / (g.k * g.k) as f32;
    for oy in 0..oh {
        for ox in 0..ow {
            let dst = &mut y[(oy * ow + ox) * c..(oy * ow + ox + 1) * c];
            if max {
                dst.fill(f32::NEG_INFINITY);
            }
            for ky in 0..g.k {
                for kx in 0..g.k {
                    let p = (oy * g.stride + ky) * w_in + ox * g.stride + kx;
                    let src = &x[p * c..(p + 1) * c];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = if max { d.max(v) } else { *d + v };
                    }
                }
            }
            if !max {
                dst.iter_mut().for_each(|d| *d *= inv);
            }
        }
    }
    y
}

fn to_events(sig: Signal) -> Vec<(u32, f32)> {
    match sig {
        Signal::Events(e) => e,
        Signal::Dense(d) => d
            .into_iter()
            .enumerate()
            .filter(|(_, v)| *v != 0.0)
            .map(|(i, v)| (i as u32, v))
            .collect(),
    }
}

fn to_dense(sig: Signal, n: usize) -> Vec<f32> {
    match sig {
        Signal::Dense(d) => d,
        Signal::Events(e) => {
            let mut d = vec![0.0; n];
            for (i, v) in e {
                d[i as usize] = v;
            }
            d
        }
    }
}

/// Totals of an event-driven pass over a data set.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventEval {
    pub samples: usize,
    /// Accuracy (ties share credit, as in `train::evaluate`).
    pub accuracy: f64,
    /// Accumulates per sample (spike-driven layers).
    pub synops: f64,
    /// Multiply-accumulates per sample on the analog input.
    pub analog_ops: f64,
    /// Mean decision step.
    pub decision_step: f64,
    pub seconds: f64,
}

impl EventEval {
    pub fn samples_per_s(&self) -> f64 {
        self.samples as f64 / self.seconds.max(1e-12)
    }
}

/// Classify every sample of `ds` with `net`, one sample at a time (samples are spread over
/// the worker threads in fixed chunks; `--threads 1` runs them on one core).
pub fn classify(
    net: &EventNet,
    ds: &crate::data::Dataset,
    input: &crate::data::batch::InputSpec,
    early_exit: bool,
) -> EventEval {
    use rayon::prelude::*;
    let start = std::time::Instant::now();
    const CHUNK: usize = 64;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let c = net.classes();
    let parts: Vec<[f64; 4]> = idx
        .par_chunks(CHUNK)
        .map(|chunk| {
            let (mut x, mut labels, mut scratch) =
                (crate::tensor::Tensor::default(), Vec::new(), Vec::new());
            crate::data::batch::assemble(ds, chunk, input, &mut x, &mut labels, &mut scratch);
            let (steps, bs) = (x.shape[0], x.shape[1]);
            let per = x.len() / (steps * bs);
            let mut sample = vec![0.0f32; steps * per];
            let mut s = Scratch::default();
            let mut acc = [0.0f64; 4];
            for (b, &y) in labels.iter().enumerate() {
                for k in 0..steps {
                    let src = &x.data[(k * bs + b) * per..(k * bs + b + 1) * per];
                    sample[k * per..(k + 1) * per].copy_from_slice(src);
                }
                let out = net.run(&sample, early_exit, false, &mut s);
                debug_assert_eq!(out.logits.len(), c);
                acc[0] += crate::loss::correct_credit(&out.logits, y) as f64;
                acc[1] += out.synops as f64;
                acc[2] += out.analog_ops as f64;
                acc[3] += out.decision_step as f64;
            }
            acc
        })
        .collect();
    let n = ds.len().max(1) as f64;
    let sum = |k: usize| parts.iter().map(|p| p[k]).sum::<f64>() / n;
    EventEval {
        samples: ds.len(),
        accuracy: sum(0),
        synops: sum(1),
        analog_ops: sum(2),
        decision_step: sum(3),
        seconds: start.elapsed().as_secs_f64(),
    }
}
