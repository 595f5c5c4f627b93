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
//!
//! Two ways to get from the forward pass to the backward pass: [`forward`] stores the `[T, n]`
//! potentials that [`backward`] reads (the output decoder, which reads them itself), or
//! [`forward_spikes`] keeps none and [`backward_recomputed`] makes them again per chunk of
//! units, in cache, from the currents (the neuron layers: the model keeps the currents anyway).
//! Recomputing writes and holds one `[T, n]` array fewer per layer (at T = 32, a sixth of the
//! bench conv net's peak memory) for a few percent more time in backward.
//!
//! The stored potentials carry the mask: a hard fire-once neuron with the mask detached
//! (training's case) stores [`SPENT`] for every step after its spike, where each surrogate's
//! derivative is exactly 0, so backward needs neither the spikes nor the mask. It reads two
//! `[T, n]` arrays and writes one, where it read four and wrote one (the spikes twice, for
//! the mask's total and its running sum), with the same results bit for bit (`m[t] H'` was
//! `1 * H'` before the spike and a signed zero after it, as `H'(SPENT)` is now).

use super::gemm::SyncPtr;
use super::stream;
use crate::kernels::{constant_input_supported, IfParams};
use rayon::prelude::*;

const UNITS_PER_TASK: usize = 2048;

const THRESHOLD: f32 = 1.0;

/// The potential stored for the steps after a fire-once neuron's spike (mask 0): finite, so
/// that differences of potentials stay finite (`crossing_time.rs`), and far enough above the
/// threshold that every surrogate's derivative is exactly 0 (tested below).
pub const SPENT: f32 = f32::MAX;

/// Whether [`forward`] stores [`SPENT`] after a spike: hard fire-once neurons whose mask is
/// detached (the mask's gradient and smooth mode need the potentials after the spike).
#[inline]
pub fn stores_spent(p: &IfParams) -> bool {
    p.fire_once && !p.mask_grad && !p.smooth
}

// cur, s, v are [t, n]
pub fn forward(p: &IfParams, t: usize, n: usize, cur: &[f32], s: &mut [f32], v: &mut [f32]) {
    assert!(cur.len() >= t * n && s.len() >= t * n && v.len() >= t * n);
    forward_into(p, t, n, cur, s, Some(v));
}

/// [`forward`] without keeping the potentials (`s` is `[t, n]`): what a layer writes when its
/// backward recomputes them ([`backward_recomputed`]). Each step's potentials go to a row of
/// the task's own, in cache.
pub fn forward_spikes(p: &IfParams, t: usize, n: usize, cur: &[f32], s: &mut [f32]) {
    assert!(cur.len() >= t * n && s.len() >= t * n);
    forward_into(p, t, n, cur, s, None);
}

fn forward_into(
    p: &IfParams,
    t: usize,
    n: usize,
    cur: &[f32],
    s: &mut [f32],
    v: Option<&mut [f32]>,
) {
    let sp = SyncPtr(s.as_mut_ptr());
    let vp = v.map(|v| SyncPtr(v.as_mut_ptr()));
    (0..n.div_ceil(UNITS_PER_TASK))
        .into_par_iter()
        .for_each(|ci| {
            let j0 = ci * UNITS_PER_TASK;
            let w = UNITS_PER_TASK.min(n - j0);
            let mut state = Integrator::new(w);
            let mut own_v = if vp.is_none() {
                vec![0.0f32; w]
            } else {
                Vec::new()
            };
            for step in 0..t {
                let row = step * n + j0;
                // SAFETY: tasks own disjoint unit ranges [j0, j0 + w) of every time row.
                let sr = unsafe { std::slice::from_raw_parts_mut(sp.get().add(row), w) };
                let vr = match &vp {
                    Some(vp) => unsafe { std::slice::from_raw_parts_mut(vp.get().add(row), w) },
                    None => &mut own_v[..],
                };
                state.step(p, &cur[row..row + w], vr, sr);
            }
        });
}

/// The state of a chunk of neurons walking forward in time: potentials and spikes so far.
struct Integrator {
    /// Membrane potentials.
    pot: Vec<f32>,
    /// Sum of spikes so far (the fire-once mask is 1 - spent).
    spent: Vec<f32>,
}

impl Integrator {
    fn new(w: usize) -> Self {
        Integrator {
            pot: vec![0.0; w],
            spent: vec![0.0; w],
        }
    }

    /// One step on current `c`: the step's potentials (as stored for backward) to `v`, its
    /// spikes to `s`.
    #[inline]
    fn step(&mut self, p: &IfParams, c: &[f32], v: &mut [f32], s: &mut [f32]) {
        if p.fire_once {
            integrate_step(p, c, &mut self.pot, &mut self.spent, v, s);
            return;
        }
        let w = c.len();
        let (pot, v, s) = (&mut self.pot[..w], &mut v[..w], &mut s[..w]);
        for j in 0..w {
            let vj = pot[j] + c[j];
            v[j] = vj;
            let sj = p.surrogate.spike(vj - THRESHOLD, p.smooth);
            pot[j] = vj - sj;
            s[j] = sj;
        }
    }
}

// s, v, ds, dcur are [t, n]; dcur is overwritten
//
// Backward mirrors forward in reverse time. With G[t] the total gradient reaching s[t]
// (directly and, when the mask is differentiated, through every later mask):
//   G[t]      = ds[t] - sum_{k>t} G[k] h[k]          (mask_grad; else G[t] = ds[t])
//   dL/dv[t]  = G[t] m[t] H'(v[t] - 1) + dL/dv[t+1]  (v[t+1] = v[t] + I[t+1])
//   dL/dI[t]  = dL/dv[t]
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
            let rows = |x| Rows::of(x, n, j0, w);
            backward_chunk(p, t, rows(s), rows(v), rows(ds), dp, n, j0);
        });
}

/// Units per task of [`backward_recomputed`] at `t` steps: the chunk's potentials and spikes
/// (`2 t w` floats) stay within [`RECOMPUTE_FLOATS`], so that they are read back from cache.
fn recompute_units(t: usize) -> usize {
    (RECOMPUTE_FLOATS / (2 * t.max(1)) / 16 * 16).clamp(16, UNITS_PER_TASK)
}

/// Floats of a task's recomputed potentials and spikes (512 KiB, about a core's L2). A
/// quarter of it (chunks of 512 units at T = 32) made backward slower, 8.4 ms against 7.2-7.6
/// (`examples/neuron_kernels.rs -- 200704 32`): each step's rows were read in shorter runs.
const RECOMPUTE_FLOATS: usize = 128 << 10;

/// [`backward`] from the currents `cur` (`[t, n]`) instead of stored spikes and potentials:
/// each task runs [`forward`] again on its chunk of units into scratch (in cache), then
/// backward over it. The same operations in the same order, so the same bits; a layer keeps
/// no `[t, n]` potentials between its forward and backward passes, and reads the currents
/// where it read the potentials.
pub fn backward_recomputed(
    p: &IfParams,
    t: usize,
    n: usize,
    cur: &[f32],
    ds: &[f32],
    dcur: &mut [f32],
) {
    assert!(cur.len() >= t * n && ds.len() >= t * n && dcur.len() >= t * n);
    let dp = SyncPtr(dcur.as_mut_ptr());
    let units = recompute_units(t);
    (0..n.div_ceil(units)).into_par_iter().for_each(|ci| {
        let j0 = ci * units;
        let w = units.min(n - j0);
        if stores_spent(p) {
            spent_backward_recomputed(p, t, n, cur, ds, j0, w, dp);
            return;
        }
        with_recomputed(p, t, n, cur, j0, w, |s, v| {
            let own = |x| Rows::of(x, w, 0, w);
            backward_chunk(p, t, own(s), own(v), Rows::of(ds, n, j0, w), dp, n, j0);
        });
    });
}

/// [`backward_recomputed`] for the common neuron (hard fire-once, mask detached) on units
/// `j0..j0 + w`: walking forward, each step's `ds H'(v - 1)` goes to scratch as soon as its
/// potentials are made, so neither potentials nor spikes are kept; walking back, their
/// running sum is `dL/dI`. The terms and their sum are [`spent_step_back`]'s, so the bits
/// are [`backward`]'s.
#[allow(clippy::too_many_arguments)]
#[allow(clippy::manual_memcpy)] // one pass updates the running sum and copies it out
fn spent_backward_recomputed(
    p: &IfParams,
    t: usize,
    n: usize,
    cur: &[f32],
    ds: &[f32],
    j0: usize,
    w: usize,
    dp: SyncPtr<f32>,
) {
    with_scratch((t + 4) * w, |scratch| {
        let (terms, rest) = scratch.split_at_mut(t * w);
        let (v, rest) = rest.split_at_mut(w);
        let (s, rest) = rest.split_at_mut(w);
        let (sg, dv) = rest.split_at_mut(w);
        let mut state = Integrator::new(w);
        for (step, term) in terms.chunks_exact_mut(w).enumerate() {
            let row = step * n + j0;
            state.step(p, &cur[row..row + w], v, s);
            p.surrogate.grad_row(v, THRESHOLD, sg);
            let g = &ds[row..row + w];
            for j in 0..w {
                term[j] = g[j] * sg[j];
            }
        }
        dv.fill(0.0);
        for (step, term) in terms.chunks_exact(w).enumerate().rev() {
            // SAFETY: the caller's tasks own disjoint unit ranges of every time row.
            let out = unsafe { std::slice::from_raw_parts_mut(dp.get().add(step * n + j0), w) };
            for j in 0..w {
                dv[j] += term[j];
                out[j] = dv[j];
            }
        }
    })
}

/// `f` on a thread's scratch of `len` floats, reused across calls (these kernels run per
/// chunk of units, every step); its values are left over from earlier calls.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        if scratch.len() < len {
            scratch.resize(len, 0.0);
        }
        f(&mut scratch[..len])
    })
}

/// How many potentials of [`forward`] on `cur` (`[t, n]`) lie within `half_width` of the
/// threshold, as they would be stored (so [`SPENT`] after a spike, where [`stores_spent`]):
/// the entries a banded surrogate gives a gradient. Recomputed, as [`backward_recomputed`].
pub fn count_near_threshold(p: &IfParams, t: usize, n: usize, cur: &[f32], half_width: f32) -> u64 {
    assert!(cur.len() >= t * n);
    let units = recompute_units(t);
    (0..n.div_ceil(units))
        .into_par_iter()
        .map(|ci| {
            let j0 = ci * units;
            let w = units.min(n - j0);
            with_recomputed(p, t, n, cur, j0, w, |_, v| {
                v.iter()
                    .filter(|&&x| (x - THRESHOLD).abs() < half_width)
                    .count() as u64
            })
        })
        .sum()
}

/// `f(s, v)` on the spikes and potentials (`[t, w]`) of units `j0..j0 + w` of [`forward`]
/// on `cur` (`[t, n]`), made in a thread's scratch.
#[allow(clippy::too_many_arguments)]
fn with_recomputed<R>(
    p: &IfParams,
    t: usize,
    n: usize,
    cur: &[f32],
    j0: usize,
    w: usize,
    f: impl FnOnce(&[f32], &[f32]) -> R,
) -> R {
    with_scratch(2 * t * w, |scratch| {
        let (s, v) = scratch.split_at_mut(t * w);
        let mut state = Integrator::new(w);
        for step in 0..t {
            let row = step * n + j0;
            let at = step * w;
            state.step(
                p,
                &cur[row..row + w],
                &mut v[at..at + w],
                &mut s[at..at + w],
            );
        }
        f(s, v)
    })
}

/// `w` units from unit `j0` of each step of a `[t, stride]` array.
#[derive(Clone, Copy)]
struct Rows<'a> {
    data: &'a [f32],
    stride: usize,
    j0: usize,
    w: usize,
}

impl<'a> Rows<'a> {
    fn of(data: &'a [f32], stride: usize, j0: usize, w: usize) -> Self {
        Rows {
            data,
            stride,
            j0,
            w,
        }
    }

    fn at(&self, step: usize) -> &'a [f32] {
        &self.data[step * self.stride + self.j0..][..self.w]
    }
}

/// [`backward`] for one chunk of units: spikes `s`, potentials `v` and spike gradients `ds`
/// per step; writes units `j0..j0 + w` of every step of `dcur` (`[t, n]`, behind `dp`).
#[allow(clippy::too_many_arguments)]
fn backward_chunk(
    p: &IfParams,
    t: usize,
    s: Rows,
    v: Rows,
    ds: Rows,
    dp: SyncPtr<f32>,
    n: usize,
    j0: usize,
) {
    let w = s.w;
    let mut total = vec![0.0f32; w]; // sum over all t of s
    let mut suffix = vec![0.0f32; w]; // sum over k >= t of s
    let mut dv = vec![0.0f32; w]; // dL/dv[t]
    let mut through_mask = vec![0.0f32; w]; // sum_{k>t} G[k] h[k]
    let mut surrogate = vec![0.0f32; w]; // H'(v[t] - 1)
    if p.fire_once && !stores_spent(p) {
        for step in 0..t {
            total.iter_mut().zip(s.at(step)).for_each(|(a, b)| *a += b);
        }
    }
    for step in (0..t).rev() {
        let (vr, gr) = (v.at(step), ds.at(step));
        // SAFETY: the caller's tasks own disjoint unit ranges of every time row.
        let dr = unsafe { std::slice::from_raw_parts_mut(dp.get().add(step * n + j0), w) };
        p.surrogate.grad_row(vr, THRESHOLD, &mut surrogate);
        if stores_spent(p) {
            // The common case: the mask is in the potentials (SPENT after the spike).
            spent_step_back(&surrogate, gr, &mut dv, dr);
            continue;
        }
        let sr = s.at(step);
        if p.fire_once && !p.mask_grad {
            // Smooth mode: the mask from the spikes.
            fire_once_step_back(sr, &surrogate, gr, &total, &mut suffix, &mut dv, dr);
            continue;
        }
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
}

// ---- a current that is the same at every step -------------------------------------------
//
// Direct encoding feeds an image as a constant current, so the layers before the first neuron
// run once per sample and the neuron sees `I[t] = c` at every step (model.rs). These two
// kernels take `c` (`[n]`) instead of its T copies: forward writes only the spikes, and
// backward recomputes the potentials per chunk of units (in cache) and returns
// `dc = sum_t dL/dI[t]`, the same numbers, added in the same order, as `forward` and `backward`
// on the repeated current followed by the sum over steps, without the three `[T, n]` arrays
// (the copies, the potentials, their gradient) that those stream through memory.
// Fire-once neurons with the mask detached only (`kernels::constant_input_supported`).

// c is [n]; s is [t, n]
pub fn forward_constant(p: &IfParams, t: usize, n: usize, c: &[f32], s: &mut [f32]) {
    assert!(constant_input_supported(p, t) && c.len() >= n && s.len() >= t * n);
    let sp = SyncPtr(s.as_mut_ptr());
    // The spikes are the only array this pass writes to memory: each step's are made in
    // cache, then copied out, streamed past the caches when large (`stream::MIN_BYTES`; the
    // general `forward`, which also reads a `[t, n]` current and writes the potentials,
    // measured no gain from streaming its outputs).
    let streamed = stream::worth(t * n);
    (0..n.div_ceil(UNITS_PER_TASK))
        .into_par_iter()
        .for_each(|ci| {
            let j0 = ci * UNITS_PER_TASK;
            let w = UNITS_PER_TASK.min(n - j0);
            let mut state = vec![0.0f32; 4 * w];
            let (pot, rest) = state.split_at_mut(w);
            let (spent, rest) = rest.split_at_mut(w);
            let (v, sr) = rest.split_at_mut(w);
            for step in 0..t {
                integrate_step(p, &c[j0..j0 + w], pot, spent, v, sr);
                // SAFETY: tasks own disjoint unit ranges [j0, j0 + w) of every time row.
                unsafe { stream::copy(sr, sp.get().add(step * n + j0), streamed) };
            }
            stream::fence();
        });
}

// c, dc are [n]; ds is [t, n]; dc is overwritten
pub fn backward_constant(p: &IfParams, t: usize, n: usize, c: &[f32], ds: &[f32], dc: &mut [f32]) {
    assert!(constant_input_supported(p, t) && c.len() >= n && ds.len() >= t * n && dc.len() >= n);
    let dp = SyncPtr(dc.as_mut_ptr());
    (0..n.div_ceil(UNITS_PER_TASK))
        .into_par_iter()
        .for_each(|ci| {
            let j0 = ci * UNITS_PER_TASK;
            let w = UNITS_PER_TASK.min(n - j0);
            let c = &c[j0..j0 + w];
            thread_local! {
                /// The chunk's scratch, reused (this runs per chunk of units, every step).
                static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            SCRATCH.with_borrow_mut(|scratch| {
            // The forward pass again, kept for this chunk (in cache): potentials and spikes.
            scratch.clear();
            scratch.resize((2 * t + 5) * w, 0.0);
            let (v, rest) = scratch.split_at_mut(t * w);
            let (s, rest) = rest.split_at_mut(t * w);
            let (pot, rest) = rest.split_at_mut(w);
            let (total, rest) = rest.split_at_mut(w);
            let (suffix, rest) = rest.split_at_mut(w);
            let (dv, surrogate) = rest.split_at_mut(w);
            for (vr, sr) in v.chunks_exact_mut(w).zip(s.chunks_exact_mut(w)) {
                integrate_step(p, c, pot, total, vr, sr);
            }
            // `backward`'s fire-once loop; dL/dI[t] kept per step (in v, no longer needed).
            for step in (0..t).rev() {
                let (vr, sr) = (&mut v[step * w..][..w], &s[step * w..][..w]);
                let gr = &ds[step * n + j0..step * n + j0 + w];
                p.surrogate.grad_row(vr, THRESHOLD, surrogate);
                if stores_spent(p) {
                    spent_step_back(surrogate, gr, dv, vr);
                } else {
                    fire_once_step_back(sr, surrogate, gr, total, suffix, dv, vr);
                }
            }
            // dc = sum over steps in order, from 0 (as weighted_step_sum without weights).
            // SAFETY: tasks own disjoint unit ranges.
            let out = unsafe { std::slice::from_raw_parts_mut(dp.get().add(j0), w) };
            out.fill(0.0);
            for row in v.chunks_exact(w) {
                out.iter_mut().zip(row).for_each(|(a, b)| *a += b);
            }
            });
        });
}

/// One step, backward in time, of the hard fire-once neuron with the mask detached, for a
/// chunk of units, from its potentials as [`forward`] stored them: surrogate derivatives `sg`
/// (0 after the spike: [`SPENT`]) and spike gradients `g` of the step; `dv` (dL/dv) carries
/// across steps; `out` gets the step's dL/dI.
/// Indexed, not a chain of `zip`s, which stayed scalar.
#[inline]
#[allow(clippy::manual_memcpy)] // one pass updates the running sum and copies it out
fn spent_step_back(sg: &[f32], g: &[f32], dv: &mut [f32], out: &mut [f32]) {
    let w = out.len();
    let (sg, g, dv) = (&sg[..w], &g[..w], &mut dv[..w]);
    for j in 0..w {
        dv[j] += g[j] * sg[j];
        out[j] = dv[j];
    }
}

/// One step, backward in time, of the fire-once neuron with the mask detached, for a chunk of
/// units: spikes `s`, surrogate derivatives `sg` and spike gradients `g` of the step; `total`
/// (all spikes), `suffix` (spikes from this step on) and `dv` (dL/dv) carry across steps;
/// `out` gets the step's dL/dI. Branch-free: after the spike the mask is 0 and the term
/// vanishes (the surrogate is finite).
#[inline]
fn fire_once_step_back(
    s: &[f32],
    sg: &[f32],
    g: &[f32],
    total: &[f32],
    suffix: &mut [f32],
    dv: &mut [f32],
    out: &mut [f32],
) {
    let state = dv.iter_mut().zip(suffix.iter_mut()).zip(total);
    let inputs = s.iter().zip(sg).zip(g).zip(out.iter_mut());
    for (((dv, suffix), total), (((s, sg), g), d)) in state.zip(inputs) {
        *suffix += s;
        let mask = 1.0 - (total - *suffix);
        *dv += g * mask * sg;
        *d = *dv;
    }
}

/// One step of the fire-once neuron for a chunk of units with current `c`: potentials `pot`
/// and spike sums `spent` advance; the step's potentials go to `v` (as stored for backward:
/// [`SPENT`] after the spike where [`stores_spent`]) and its spikes to `s`.
/// The hard step is written out (not `Surrogate::spike`, which tests `smooth` per unit), so
/// that it vectorizes.
#[inline]
fn integrate_step(
    p: &IfParams,
    c: &[f32],
    pot: &mut [f32],
    spent: &mut [f32],
    v: &mut [f32],
    s: &mut [f32],
) {
    let w = c.len();
    let (pot, spent, v, s) = (&mut pot[..w], &mut spent[..w], &mut v[..w], &mut s[..w]);
    if p.smooth {
        for j in 0..w {
            let vj = pot[j] + c[j];
            pot[j] = vj;
            v[j] = vj;
            let sj = p.surrogate.spike(vj - THRESHOLD, true) * (1.0 - spent[j]);
            spent[j] += sj;
            s[j] = sj;
        }
        return;
    }
    let keep = !stores_spent(p); // the mask's gradient reads the potentials after the spike
    for j in 0..w {
        let vj = pot[j] + c[j];
        pot[j] = vj;
        v[j] = if spent[j] == 0.0 || keep { vj } else { SPENT };
        // H(v - 1), as Surrogate::spike
        let h = if vj - THRESHOLD >= 0.0 { 1.0 } else { 0.0 };
        let sj = h * (1.0 - spent[j]);
        spent[j] += sj;
        s[j] = sj;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::surrogate::{Surrogate, SurrogateKind};

    /// Every surrogate's derivative is exactly 0 at [`SPENT`], and the backward that reads
    /// the mask from the stored potentials gives the bits of the masked formula on the true
    /// potentials (`dL/dv[t] += ds[t] m[t] H'(v[t] - 1)`), for every surrogate.
    #[test]
    fn spent_potentials_give_the_masked_gradient_bit_for_bit() {
        let mut rng = Rng::new(9);
        let (t, n) = (8, 2500); // two chunks of units
        for kind in [
            SurrogateKind::Sigmoid,
            SurrogateKind::Atan,
            SurrogateKind::Triangle,
            SurrogateKind::Rectangle,
        ] {
            for alpha in [1.0, 4.0, 8.0] {
                let sur = Surrogate::new(kind, alpha);
                assert_eq!(sur.grad(SPENT - THRESHOLD).to_bits(), 0, "{kind:?} {alpha}");
                let mut row = [1.0f32; 3];
                sur.grad_row(&[SPENT; 3], THRESHOLD, &mut row);
                assert!(row.iter().all(|g| g.to_bits() == 0), "{kind:?} {alpha}");
            }
            let p = IfParams {
                surrogate: Surrogate::new(kind, 4.0),
                fire_once: true,
                mask_grad: false,
                smooth: false,
            };
            assert!(stores_spent(&p));
            let cur: Vec<f32> = (0..t * n).map(|_| rng.range(-0.2, 0.6)).collect();
            let ds: Vec<f32> = (0..t * n).map(|_| rng.range(-1.0, 1.0)).collect();
            let (mut s, mut v) = (vec![0.0; t * n], vec![0.0; t * n]);
            forward(&p, t, n, &cur, &mut s, &mut v);
            let mut dcur = vec![0.0; t * n];
            backward(&p, t, n, &s, &v, &ds, &mut dcur);
            let (mut spent_steps, mut fired) = (0, 0);
            for j in 0..n {
                let (mut pot, mut before) = (0.0f32, 0.0f32); // before: spikes at k < t
                let mut masked = vec![0.0f32; t]; // m[t] H'(v[t] - 1) on the true potentials
                for k in 0..t {
                    pot += cur[k * n + j];
                    let stored = v[k * n + j];
                    if before == 0.0 {
                        assert_eq!(stored.to_bits(), pot.to_bits(), "{kind:?} unit {j}");
                    } else {
                        assert_eq!(stored, SPENT, "{kind:?} unit {j} step {k}");
                        spent_steps += 1;
                    }
                    masked[k] = (1.0 - before) * p.surrogate.grad(pot - THRESHOLD);
                    before += s[k * n + j];
                }
                fired += (before > 0.0) as usize;
                let mut dv = 0.0f32;
                for k in (0..t).rev() {
                    dv += ds[k * n + j] * masked[k];
                    assert_eq!(dv.to_bits(), dcur[k * n + j].to_bits(), "{kind:?} unit {j}");
                }
            }
            assert!(
                spent_steps > n && fired > n / 4 && fired < n,
                "{kind:?}: {fired} fired"
            );
        }
    }

    /// The layer's path (spikes only forward, potentials recomputed in backward) gives the
    /// bits of the stored-potentials path, for every neuron mode, surrogate and band, over
    /// several chunks of units and a partial one; the count near the threshold is the count
    /// on the stored potentials.
    #[test]
    fn recomputed_potentials_give_the_stored_path_bit_for_bit() {
        let mut rng = Rng::new(17);
        let mut cases = 0;
        for (kind, band) in [
            (SurrogateKind::Sigmoid, None),
            (SurrogateKind::Triangle, None),
            (SurrogateKind::Sigmoid, Some(0.3)),
        ] {
            // (fire_once, mask_grad, smooth)
            for (fire_once, mask_grad, smooth) in [
                (true, false, false),
                (true, true, false),
                (true, false, true),
                (false, false, false),
                (false, false, true),
            ] {
                // Chunks of recompute_units(t) = 2048 / 1632 units: one and a part at
                // t = 8, two and a part at t = 40.
                for (t, n) in [(1, 37), (8, 2100), (40, 3500)] {
                    let p = IfParams {
                        surrogate: Surrogate::new(kind, 4.0).banded(band),
                        fire_once,
                        mask_grad,
                        smooth,
                    };
                    let case = format!("{p:?} t={t} n={n}");
                    let hi = if t == 1 { 1.5 } else { 0.5 };
                    let cur: Vec<f32> = (0..t * n).map(|_| rng.range(-0.2, hi)).collect();
                    let ds: Vec<f32> = (0..t * n).map(|_| rng.range(-1.0, 1.0)).collect();
                    let (mut s, mut v) = (vec![0.0; t * n], vec![0.0; t * n]);
                    forward(&p, t, n, &cur, &mut s, &mut v);
                    if !smooth {
                        assert!(
                            s.contains(&1.0) && s.contains(&0.0),
                            "{case}: proves little"
                        );
                    }
                    let mut s_only = vec![7.0; t * n];
                    forward_spikes(&p, t, n, &cur, &mut s_only);
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&s), bits(&s_only), "{case}: spikes");
                    let mut stored = vec![0.0; t * n];
                    backward(&p, t, n, &s, &v, &ds, &mut stored);
                    let mut recomputed = vec![7.0; t * n];
                    backward_recomputed(&p, t, n, &cur, &ds, &mut recomputed);
                    assert_eq!(bits(&stored), bits(&recomputed), "{case}: dL/dI");
                    for half in [0.1, 0.5] {
                        assert_eq!(
                            count_near_threshold(&p, t, n, &cur, half),
                            super::super::elementwise::count_within(&v, 1.0, half),
                            "{case}: count within {half}"
                        );
                    }
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 45);
        assert_eq!(recompute_units(8), 2048);
        assert_eq!(recompute_units(40), 1632);
        assert_eq!(recompute_units(1), UNITS_PER_TASK);
    }

    /// The constant-current kernels give the bits of the general ones on T copies of the
    /// current followed by the sum over steps (the path they replace in model.rs).
    #[test]
    fn constant_current_matches_the_repeated_current_bit_for_bit() {
        let mut rng = Rng::new(5);
        for kind in [
            SurrogateKind::Sigmoid,
            SurrogateKind::Atan,
            SurrogateKind::Triangle,
        ] {
            for smooth in [false, true] {
                // n spans two chunks of units; t = 1 and a long window too
                for (t, n) in [(8, 2100), (1, 30), (40, 70)] {
                    let p = IfParams {
                        surrogate: Surrogate::new(kind, 4.0),
                        fire_once: true,
                        mask_grad: false,
                        smooth,
                    };
                    let hi = if t == 1 { 1.5 } else { 0.6 };
                    let c: Vec<f32> = (0..n).map(|_| rng.range(-0.1, hi)).collect();
                    let ds: Vec<f32> = (0..t * n).map(|_| rng.range(-1.0, 1.0)).collect();
                    let repeated: Vec<f32> = (0..t).flat_map(|_| c.iter().copied()).collect();
                    let (mut s, mut v) = (vec![0.0; t * n], vec![0.0; t * n]);
                    forward(&p, t, n, &repeated, &mut s, &mut v);
                    let mut s_const = vec![7.0; t * n];
                    forward_constant(&p, t, n, &c, &mut s_const);
                    let case = format!("{kind:?} smooth={smooth} t={t} n={n}");
                    assert!(
                        s.iter()
                            .zip(&s_const)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{case}"
                    );
                    if !smooth {
                        assert!(s.contains(&1.0), "{case}: no spike, proves nothing");
                    }
                    let mut dcur = vec![0.0; t * n];
                    backward(&p, t, n, &s, &v, &ds, &mut dcur);
                    let mut want = Vec::new();
                    super::super::elementwise::weighted_step_sum(&dcur, None, t, n, &mut want);
                    let mut dc = vec![7.0; n];
                    backward_constant(&p, t, n, &c, &ds, &mut dc);
                    for j in 0..n {
                        assert_eq!(want[j].to_bits(), dc[j].to_bits(), "{case}: unit {j}");
                    }
                }
            }
        }
    }
}
