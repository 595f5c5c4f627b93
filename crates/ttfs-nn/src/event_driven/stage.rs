//! One stage of the event-driven engine at one step: what a synapse, a pooling, a neuron or
//! a reshape does with the events (or dense map) it receives, and the operations it counts.

use super::{EventNet, Scratch, Signal};
use crate::kernels::{ConvGeom, PoolGeom};

/// A layer of the model, folded into plain weights in the engine's channel-last layout.
pub(super) enum Stage {
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

impl EventNet {
    /// Stage `i` at `step`: its output signal and the operations it executed.
    pub(super) fn stage(
        &self,
        i: usize,
        sig: Signal,
        step: usize,
        s: &mut Scratch,
    ) -> (Signal, u64) {
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
pub(super) fn spike(v: f32) -> f32 {
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

pub(super) fn to_dense(sig: Signal, n: usize) -> Vec<f32> {
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
