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
//!
//! `stage.rs` holds what each layer does with a step's signal, `classify.rs` the pass over a
//! data set; this file compiles a model and runs one sample.

mod classify;
mod stage;

pub use classify::{classify, EventEval};
use stage::{spike, to_dense, Stage};

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
}
