//! Products that skip the zeros of a spike operand (TTFS-sparse kernels).
//!
//! A TTFS layer's input over all T steps has at most one spike per unit, so a frame is at
//! least `1 - 1/T` zeros. Scanning for nonzeros and adding one row of the dense operand per
//! spike does about one dense product's work per sample instead of T.

use super::gemm::SyncPtr;
use crate::kernels::ConvGeom;
use rayon::prelude::*;

/// Rows and columns of `c` per parallel task (fixed: results never depend on the thread
/// count). A task's column block of `b` (`k x 64` floats) stays in L2 while its spikes are
/// visited, instead of streaming whole rows of `b` from L3 for every spike.
const ROWS_PER_TASK: usize = 32;
const COLS_PER_TASK: usize = 64;

/// Fraction of nonzeros of `x`.
pub fn density(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().filter(|&&v| v != 0.0).count() as f32 / x.len() as f32
}

#[inline]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

/// The nonzeros of `op(a)` (`[m, k]`) by row: row `i` holds `(p, a[i, p])` for `p` ascending.
struct SparseRows {
    start: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl SparseRows {
    fn new(m: usize, k: usize, a: &[f32], a_t: bool) -> Self {
        let mut start = vec![0usize; m + 1];
        let mut entries;
        if a_t {
            // a is stored [k, m]: count per column, then fill in ascending p (a counting sort).
            for p in 0..k {
                for (i, &v) in a[p * m..(p + 1) * m].iter().enumerate() {
                    if v != 0.0 {
                        start[i + 1] += 1;
                    }
                }
            }
            for i in 0..m {
                start[i + 1] += start[i];
            }
            entries = vec![(0u32, 0.0f32); start[m]];
            let mut next = start.clone();
            for p in 0..k {
                for (i, &v) in a[p * m..(p + 1) * m].iter().enumerate() {
                    if v != 0.0 {
                        entries[next[i]] = (p as u32, v);
                        next[i] += 1;
                    }
                }
            }
        } else {
            entries = Vec::new();
            for i in 0..m {
                for (p, &v) in a[i * k..(i + 1) * k].iter().enumerate() {
                    if v != 0.0 {
                        entries.push((p as u32, v));
                    }
                }
                start[i + 1] = entries.len();
            }
        }
        SparseRows { start, entries }
    }

    fn row(&self, i: usize) -> &[(u32, f32)] {
        &self.entries[self.start[i]..self.start[i + 1]]
    }
}

/// `c[m, n] = op(a)[m, k] . b[k, n]` visiting only the nonzeros of `a`. `a` is stored
/// row-major `[m, k]`, or `[k, m]` when `a_t`; `b` is row-major `[k, n]`; `c` is overwritten.
#[allow(clippy::too_many_arguments)]
pub fn gemm_sparse_a(m: usize, k: usize, n: usize, a: &[f32], a_t: bool, b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let rows = SparseRows::new(m, k, a, a_t);
    let col_blocks = n.div_ceil(COLS_PER_TASK);
    let tasks = m.div_ceil(ROWS_PER_TASK) * col_blocks;
    let cp = SyncPtr(c.as_mut_ptr());
    (0..tasks).into_par_iter().for_each(|t| {
        let (i0, j0) = (
            (t / col_blocks) * ROWS_PER_TASK,
            (t % col_blocks) * COLS_PER_TASK,
        );
        let w = COLS_PER_TASK.min(n - j0);
        for i in i0..(i0 + ROWS_PER_TASK).min(m) {
            // SAFETY: tasks own disjoint (row range, column block) tiles of `c`.
            let cr = unsafe { std::slice::from_raw_parts_mut(cp.get().add(i * n + j0), w) };
            cr.fill(0.0);
            for &(p, v) in rows.row(i) {
                let p = p as usize;
                axpy(v, &b[p * n + j0..p * n + j0 + w], cr);
            }
        }
    });
}

/// Calls `f(weight_row, out_position)` for every (kernel tap, output position) an input
/// pixel `(c, iy, ix)` reaches: `weight_row = (c*K + ky)*K + kx`, `out = oy*OW + ox`.
#[inline]
fn for_each_tap(g: &ConvGeom, c: usize, iy: usize, ix: usize, mut f: impl FnMut(usize, usize)) {
    let (oh, ow) = (g.out_h() as isize, g.out_w() as isize);
    let s = g.stride as isize;
    for ky in 0..g.k {
        let ny = (iy + g.pad) as isize - ky as isize; // = oy * S
        if ny < 0 || ny % s != 0 || ny / s >= oh {
            continue;
        }
        for kx in 0..g.k {
            let nx = (ix + g.pad) as isize - kx as isize;
            if nx < 0 || nx % s != 0 || nx / s >= ow {
                continue;
            }
            f((c * g.k + ky) * g.k + kx, (ny / s * ow + nx / s) as usize);
        }
    }
}

/// Calls `f(weight_row, out_position, value)` for every nonzero input pixel of frame `x`
/// and every (kernel tap, output position) it reaches.
#[inline]
fn for_each_event_tap(g: &ConvGeom, x: &[f32], mut f: impl FnMut(usize, usize, f32)) {
    for c in 0..g.in_c {
        for iy in 0..g.in_h {
            let row = &x[(c * g.in_h + iy) * g.in_w..(c * g.in_h + iy + 1) * g.in_w];
            for (ix, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    for_each_tap(g, c, iy, ix, |w, o| f(w, o, v));
                }
            }
        }
    }
}

/// Event-driven convolution of one frame: every nonzero input pixel adds its value times the
/// weights of each tap to the outputs it reaches. `wt` is `[C*K*K, OC]` (weights transposed so
/// a tap's output channels are contiguous), `out_t` (overwritten) is `[OH*OW, OC]`.
pub fn conv_frame_events(g: &ConvGeom, x: &[f32], wt: &[f32], out_t: &mut [f32]) {
    let oc = g.out_c;
    out_t.fill(0.0);
    for_each_event_tap(g, x, |w, o, v| {
        axpy(
            v,
            &wt[w * oc..(w + 1) * oc],
            &mut out_t[o * oc..(o + 1) * oc],
        )
    });
}

/// Event-driven weight gradient of one frame: `dwt[tap, :] += x * dy_t[out, :]` for every
/// nonzero input pixel and tap. `dy_t` is `[OH*OW, OC]`, `dwt` is `[C*K*K, OC]`.
pub fn conv_frame_events_dw(g: &ConvGeom, x: &[f32], dy_t: &[f32], dwt: &mut [f32]) {
    let oc = g.out_c;
    for_each_event_tap(g, x, |w, o, v| {
        axpy(
            v,
            &dy_t[o * oc..(o + 1) * oc],
            &mut dwt[w * oc..(w + 1) * oc],
        )
    });
}

/// `dst[c, r] = src[r, c]` for a `[rows, cols]` source, in square tiles so that both the
/// reads and the writes stay within a few cache lines.
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const TILE: usize = 16;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..r1 {
                let s = &src[r * cols..r * cols + c1];
                for c in c0..c1 {
                    dst[c * rows + r] = s[c];
                }
            }
        }
    }
}

/// Parallel transpose of a large matrix (weights), by blocks of destination rows.
pub fn transpose_par(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    let dp = SyncPtr(dst.as_mut_ptr());
    (0..cols).into_par_iter().with_min_len(64).for_each(|c| {
        // SAFETY: each task writes destination row `c` only.
        let d = unsafe { std::slice::from_raw_parts_mut(dp.get().add(c * rows), rows) };
        for r in 0..rows {
            d[r] = src[r * cols + c];
        }
    });
}
