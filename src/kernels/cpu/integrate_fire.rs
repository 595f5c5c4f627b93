//! The fused integrate-and-fire kernel: one pass over T forward, one backward.
//!
//! Non-leaky IF, threshold 1, for `n` independent neurons with time outermost (`[T, n]`):
//!
//! ```text
//! v[t] = v[t-1] + I[t]                      (fire-once: no reset is needed)
//! h[t] = H(v[t] - 1)
//! m[t] = 1 - sum_{k<t} s[k]                 (fire-once mask; 1 until the neuron fired)
//! s[t] = h[t] * m[t]
//! ```
//!
//! With `fire_once = false` the mask is 1 and `v` is reset by subtraction after a spike
//! (`v[t+1] = v[t] - s[t] + I[t+1]`, reset detached as in SpikingJelly).
//! Neurons are split into fixed chunks of units, each chunk a rayon task that walks T.

use super::gemm::SyncPtr;
use crate::kernels::IfParams;
use rayon::prelude::*;

const UNITS_PER_TASK: usize = 2048;

const THRESHOLD: f32 = 1.0;

// cur, s, v are [t, n]
pub fn forward(p: &IfParams, t: usize, n: usize, cur: &[f32], s: &mut [f32], v: &mut [f32]) {
    assert!(cur.len() >= t * n && s.len() >= t * n && v.len() >= t * n);
    let (sp, vp) = (SyncPtr(s.as_mut_ptr()), SyncPtr(v.as_mut_ptr()));
    (0..n.div_ceil(UNITS_PER_TASK))
        .into_par_iter()
        .for_each(|ci| {
            let j0 = ci * UNITS_PER_TASK;
            let w = UNITS_PER_TASK.min(n - j0);
            let mut pot = vec![0.0f32; w]; // membrane potential
            let mut spent = vec![0.0f32; w]; // sum of spikes so far (the mask is 1 - spent)
            for step in 0..t {
                let row = step * n + j0;
                let c = &cur[row..row + w];
                // SAFETY: tasks own disjoint unit ranges [j0, j0 + w) of every time row.
                let (sr, vr) = unsafe {
                    (
                        std::slice::from_raw_parts_mut(sp.get().add(row), w),
                        std::slice::from_raw_parts_mut(vp.get().add(row), w),
                    )
                };
                if p.fire_once {
                    for j in 0..w {
                        let vj = pot[j] + c[j];
                        pot[j] = vj;
                        vr[j] = vj;
                        let sj = p.surrogate.spike(vj - THRESHOLD, p.smooth) * (1.0 - spent[j]);
                        spent[j] += sj;
                        sr[j] = sj;
                    }
                } else {
                    for j in 0..w {
                        let vj = pot[j] + c[j];
                        vr[j] = vj;
                        let sj = p.surrogate.spike(vj - THRESHOLD, p.smooth);
                        pot[j] = vj - sj;
                        sr[j] = sj;
                    }
                }
            }
        });
}

// s, v, ds, dcur are [t, n]; dcur is overwritten
//
// Backward mirrors forward in reverse time. With G[t] the total gradient reaching s[t]
// (directly and, when the mask is differentiated, through every later mask):
//   G[t]      = ds[t] - sum_{k>t} G[k] h[k]          (mask_grad; else G[t] = ds[t])
//   dL/dv[t]  = G[t] m[t] H'(v[t] - 1) + dL/dv[t+1]  (v[t+1] = v[t] + I[t+1])
//   dL/dI[t]  = dL/dv[t]
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &IfParams,
    t: usize,
    n: usize,
    s: &[f32],
    v: &[f32],
    ds: &[f32],
    dcur: &mut [f32],
) {
    assert!(s.len() >= t * n && v.len() >= t * n && ds.len() >= t * n && dcur.len() >= t * n);
    let dp = SyncPtr(dcur.as_mut_ptr());
    (0..n.div_ceil(UNITS_PER_TASK))
        .into_par_iter()
        .for_each(|ci| {
            let j0 = ci * UNITS_PER_TASK;
            let w = UNITS_PER_TASK.min(n - j0);
            let mut total = vec![0.0f32; w]; // sum over all t of s
            let mut suffix = vec![0.0f32; w]; // sum over k >= t of s
            let mut dv = vec![0.0f32; w]; // dL/dv[t]
            let mut through_mask = vec![0.0f32; w]; // sum_{k>t} G[k] h[k]
            let mut surrogate = vec![0.0f32; w]; // H'(v[t] - 1)
            if p.fire_once {
                for step in 0..t {
                    let row = &s[step * n + j0..step * n + j0 + w];
                    total.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                }
            }
            for step in (0..t).rev() {
                let row = step * n + j0;
                let (sr, vr, gr) = (&s[row..row + w], &v[row..row + w], &ds[row..row + w]);
                // SAFETY: tasks own disjoint unit ranges of every time row.
                let dr = unsafe { std::slice::from_raw_parts_mut(dp.get().add(row), w) };
                if p.fire_once && !p.mask_grad {
                    // The common case, branch-free. After the spike the mask is 0 and the
                    // term vanishes (the surrogate is finite).
                    p.surrogate.grad_row(vr, THRESHOLD, &mut surrogate);
                    let state = dv.iter_mut().zip(suffix.iter_mut()).zip(&total);
                    let inputs = sr.iter().zip(&surrogate).zip(gr).zip(dr.iter_mut());
                    for (((dv, suffix), total), (((s, sg), g), d)) in state.zip(inputs) {
                        *suffix += s;
                        let mask = 1.0 - (total - *suffix);
                        *dv += g * mask * sg;
                        *d = *dv;
                    }
                    continue;
                }
                p.surrogate.grad_row(vr, THRESHOLD, &mut surrogate);
                for j in 0..w {
                    let x = vr[j] - THRESHOLD;
                    let mask = if p.fire_once {
                        suffix[j] += sr[j];
                        1.0 - (total[j] - suffix[j])
                    } else {
                        1.0
                    };
                    let mut g = gr[j];
                    if p.fire_once && p.mask_grad {
                        g -= through_mask[j];
                        through_mask[j] += g * p.surrogate.spike(x, p.smooth);
                    }
                    if mask != 0.0 {
                        dv[j] += g * mask * surrogate[j];
                    }
                    dr[j] = dv[j];
                }
            }
        });
}
