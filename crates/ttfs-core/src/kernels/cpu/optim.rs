//! Optimizer updates (the equations are in `optim.rs`). Elementwise, so chunks in parallel
//! give the same bits as one pass; one straight loop per kind (no branch inside: it
//! vectorizes).

use crate::kernels::{AdamStep, SgdStep};
use rayon::prelude::*;

/// Parameters per parallel optimizer task.
const CHUNK: usize = 8192;

pub fn adam(value: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamStep) {
    value
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|((value, grad), (m, v))| {
            let (b1, b2, eps) = (s.beta1, s.beta2, s.eps);
            for i in 0..value.len() {
                let g = grad[i] * s.clip + s.l2 * value[i];
                let x = value[i] - s.decoupled * value[i];
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                value[i] = x - s.step * m[i] / ((v[i] * s.inv_bc2).sqrt() + eps);
            }
        });
}

pub fn sgd(value: &mut [f32], grad: &[f32], m: &mut [f32], s: &SgdStep) {
    value
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .for_each(|((value, grad), m)| {
            for i in 0..value.len() {
                let g = grad[i] * s.clip + s.weight_decay * value[i];
                m[i] = s.momentum * m[i] + g;
                let d = if s.nesterov {
                    g + s.momentum * m[i]
                } else {
                    m[i]
                };
                value[i] -= s.lr * d;
            }
        });
}
