//! Average and max pooling over `[C, H, W]` frames, one frame per rayon task.

use super::gemm::SyncPtr;
use crate::kernels::PoolGeom;
use rayon::prelude::*;

/// Units per task of the first-spike latch and its mask (fixed: no result depends on it).
const UNITS_PER_TASK: usize = 16 * 1024;

/// Calls `f(out_index, in_index)` for every (output unit, input in its window) pair.
#[inline]
fn for_each_window(g: &PoolGeom, mut f: impl FnMut(usize, usize)) {
    let (oh, ow) = (g.out_h(), g.out_w());
    for c in 0..g.c {
        for oy in 0..oh {
            for ox in 0..ow {
                let o = (c * oh + oy) * ow + ox;
                for i in 0..g.k {
                    let row = (c * g.in_h + oy * g.stride + i) * g.in_w + ox * g.stride;
                    for j in 0..g.k {
                        f(o, row + j);
                    }
                }
            }
        }
    }
}

// x is [frames, C*H*W], y is [frames, C*OH*OW]
pub fn avg_forward(g: &PoolGeom, frames: usize, x: &[f32], y: &mut [f32]) {
    let inv = 1.0 / (g.k * g.k) as f32;
    let (oh, ow) = (g.out_h(), g.out_w());
    y[..frames * g.out_len()]
        .par_chunks_mut(g.out_len())
        .zip(x.par_chunks(g.in_len()))
        .for_each(|(yf, xf)| {
            // Row by row: each input row of a window adds its k-wide segments to one output row.
            for c in 0..g.c {
                for oy in 0..oh {
                    let out = &mut yf[(c * oh + oy) * ow..(c * oh + oy + 1) * ow];
                    out.fill(0.0);
                    for i in 0..g.k {
                        let row = &xf[(c * g.in_h + oy * g.stride + i) * g.in_w..][..g.in_w];
                        if g.k == g.stride {
                            // Tiling windows (the common 2x2): consecutive k-wide segments.
                            for (o, seg) in out.iter_mut().zip(row.chunks_exact(g.k)) {
                                *o += seg.iter().sum::<f32>();
                            }
                        } else {
                            for (ox, o) in out.iter_mut().enumerate() {
                                *o += row[ox * g.stride..ox * g.stride + g.k].iter().sum::<f32>();
                            }
                        }
                    }
                    out.iter_mut().for_each(|v| *v *= inv);
                }
            }
        });
}

pub fn avg_backward(g: &PoolGeom, frames: usize, dy: &[f32], dx: &mut [f32]) {
    let inv = 1.0 / (g.k * g.k) as f32;
    let (oh, ow) = (g.out_h(), g.out_w());
    dx[..frames * g.in_len()]
        .par_chunks_mut(g.in_len())
        .zip(dy.par_chunks(g.out_len()))
        .for_each(|(dxf, dyf)| {
            if g.stride != g.k {
                // Overlapping or gapped windows: accumulate.
                dxf.fill(0.0);
                for_each_window(g, |o, i| dxf[i] += dyf[o] * inv);
                return;
            }
            // Windows tile the map: every covered input gets its window's gradient once; only
            // rows and columns left over by the tiling need zeros.
            if !g.in_h.is_multiple_of(g.k) || !g.in_w.is_multiple_of(g.k) {
                dxf.fill(0.0);
            }
            for c in 0..g.c {
                for oy in 0..oh {
                    let d = &dyf[(c * oh + oy) * ow..(c * oh + oy + 1) * ow];
                    for i in 0..g.k {
                        let row = &mut dxf[(c * g.in_h + oy * g.k + i) * g.in_w..][..g.in_w];
                        for (seg, &v) in row.chunks_exact_mut(g.k).zip(d) {
                            seg.fill(v * inv);
                        }
                    }
                }
            }
        });
}

// arg[f, o] is the index within frame f of the window's maximum (first one on ties)
pub fn max_forward(g: &PoolGeom, frames: usize, x: &[f32], y: &mut [f32], arg: &mut [u32]) {
    let ol = g.out_len();
    y[..frames * ol]
        .par_chunks_mut(ol)
        .zip(arg[..frames * ol].par_chunks_mut(ol))
        .zip(x.par_chunks(g.in_len()))
        .for_each(|((yf, af), xf)| {
            if g.k == 2 && g.stride == 2 {
                max_forward_2x2(g, xf, yf, af);
            } else if g.k == g.stride {
                max_forward_tiling(g, xf, yf, af);
            } else {
                max_forward_windows(g, xf, yf, af);
            }
        });
}

/// [`max_forward`] of one frame, any windows: window by window.
fn max_forward_windows(g: &PoolGeom, xf: &[f32], yf: &mut [f32], af: &mut [u32]) {
    yf.fill(f32::NEG_INFINITY);
    for_each_window(g, |o, i| {
        if xf[i] > yf[o] {
            yf[o] = xf[i];
            af[o] = i as u32;
        }
    });
}

/// [`max_forward`] of one frame for windows that tile the map (the common 2x2): row by row,
/// each input row of a window compared against one output row, k-wide segments in turn.
fn max_forward_tiling(g: &PoolGeom, xf: &[f32], yf: &mut [f32], af: &mut [u32]) {
    let (oh, ow, k) = (g.out_h(), g.out_w(), g.k);
    for c in 0..g.c {
        for oy in 0..oh {
            let o = (c * oh + oy) * ow..(c * oh + oy + 1) * ow;
            let (out, arg) = (&mut yf[o.clone()], &mut af[o]);
            for i in 0..k {
                let start = (c * g.in_h + oy * k + i) * g.in_w;
                let row = &xf[start..start + ow * k];
                for (ox, ((y, a), seg)) in out
                    .iter_mut()
                    .zip(arg.iter_mut())
                    .zip(row.chunks_exact(k))
                    .enumerate()
                {
                    for (j, &v) in seg.iter().enumerate() {
                        // The first tap initialises; later ones win only when strictly greater
                        // (the first maximum on ties, as in the generic loop).
                        if (i == 0 && j == 0) || v > *y {
                            *y = v;
                            *a = (start + ox * k + j) as u32;
                        }
                    }
                }
            }
        }
    }
}

/// [`max_forward`] of one frame for 2x2 windows at stride 2 (the conv nets' pooling): the
/// four taps of a window compared with selects, not branches (spike maps make every
/// comparison a coin toss for the branch predictor), in the generic loop's order: row by row,
/// left to right, a later tap winning only when strictly greater.
fn max_forward_2x2(g: &PoolGeom, xf: &[f32], yf: &mut [f32], af: &mut [u32]) {
    let (oh, ow, w) = (g.out_h(), g.out_w(), g.in_w);
    for c in 0..g.c {
        for oy in 0..oh {
            let top = (c * g.in_h + 2 * oy) * w;
            let (r0, r1) = (&xf[top..top + 2 * ow], &xf[top + w..top + w + 2 * ow]);
            let o = (c * oh + oy) * ow;
            let (out, arg) = (&mut yf[o..o + ow], &mut af[o..o + ow]);
            for ox in 0..ow {
                let mut m = r0[2 * ox];
                let mut at = 0;
                for (v, tap) in [
                    (r0[2 * ox + 1], 1),
                    (r1[2 * ox], w),
                    (r1[2 * ox + 1], w + 1),
                ] {
                    let wins = v > m;
                    m = if wins { v } else { m };
                    at = if wins { tap } else { at };
                }
                out[ox] = m;
                arg[ox] = (top + 2 * ox + at) as u32;
            }
        }
    }
}

pub fn max_backward(g: &PoolGeom, frames: usize, dy: &[f32], arg: &[u32], dx: &mut [f32]) {
    let ol = g.out_len();
    dx[..frames * g.in_len()]
        .par_chunks_mut(g.in_len())
        .zip(dy.par_chunks(ol).zip(arg.par_chunks(ol)))
        .for_each(|(dxf, (dyf, af))| {
            if g.k == 2 && g.stride == 2 {
                return max_backward_2x2(g, dyf, af, dxf);
            }
            dxf.fill(0.0);
            for (d, &a) in dyf.iter().zip(af) {
                dxf[a as usize] += d;
            }
        });
}

/// [`max_backward`] of one frame for 2x2 windows at stride 2: the windows tile the map, so
/// each input is written once, its window's gradient where it won and 0 elsewhere (no fill
/// and scatter). `d + 0.0`, as the scatter's `0 + d` gives (a -0 gradient becomes +0).
fn max_backward_2x2(g: &PoolGeom, dyf: &[f32], af: &[u32], dxf: &mut [f32]) {
    let (oh, ow, w) = (g.out_h(), g.out_w(), g.in_w);
    // Rows and columns past the last whole window get no gradient.
    for c in 0..g.c {
        let plane = &mut dxf[c * g.in_h * w..(c + 1) * g.in_h * w];
        plane[2 * oh * w..].fill(0.0);
        for oy in 0..oh {
            let top = (c * g.in_h + 2 * oy) * w;
            let o = (c * oh + oy) * ow;
            let (dy, arg) = (&dyf[o..o + ow], &af[o..o + ow]);
            let (r0, r1) = plane[2 * oy * w..(2 * oy + 2) * w].split_at_mut(w);
            r0[2 * ow..].fill(0.0);
            r1[2 * ow..].fill(0.0);
            for ox in 0..ow {
                let (d, at) = (dy[ox] + 0.0, arg[ox] as usize - (top + 2 * ox));
                let pick = |tap: usize| if at == tap { d } else { 0.0 };
                r0[2 * ox] = pick(0);
                r0[2 * ox + 1] = pick(1);
                r1[2 * ox] = pick(w);
                r1[2 * ox + 1] = pick(w + 1);
            }
        }
    }
}

/// Zero every step of `y` (`[t, n]`) after each unit's first nonzero one; `first` gets that
/// step (t for a unit that stays at zero).
pub fn latch_first(y: &mut [f32], t: usize, n: usize, first: &mut Vec<u32>) {
    assert!(y.len() >= t * n);
    first.clear();
    first.resize(n, t as u32);
    let yp = SyncPtr(y.as_mut_ptr());
    // Chunks of units in parallel, each through every step.
    first
        .par_chunks_mut(UNITS_PER_TASK)
        .enumerate()
        .for_each(|(ci, first)| {
            let j0 = ci * UNITS_PER_TASK;
            for step in 0..t {
                // SAFETY: chunks own disjoint unit ranges [j0, j0 + len) of every step's row.
                let row = unsafe {
                    std::slice::from_raw_parts_mut(yp.get().add(step * n + j0), first.len())
                };
                // Branch-free (spikes are rare and unpredictable): `first` is T until the
                // unit fires.
                let step = step as u32;
                for (v, f) in row.iter_mut().zip(first.iter_mut()) {
                    let latched = *f < step;
                    let kept = if latched { 0.0 } else { *v };
                    *v = kept;
                    *f = if !latched && kept != 0.0 { step } else { *f };
                }
            }
        });
}

/// `out[s, j] = dy[s, j]` up to and including step `first[j]`, 0 after (`[t, n]`).
pub fn mask_after_first(dy: &[f32], first: &[u32], t: usize, n: usize, out: &mut Vec<f32>) {
    if out.len() != t * n {
        out.clear();
        out.resize(t * n, 0.0);
    }
    // Every step's row in chunks of units, in parallel, written in one pass.
    out.par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(step, row)| {
            row.par_chunks_mut(UNITS_PER_TASK)
                .enumerate()
                .for_each(|(ci, out)| {
                    let j0 = ci * UNITS_PER_TASK;
                    let dy = &dy[step * n + j0..][..out.len()];
                    let first = &first[j0..][..out.len()];
                    let step = step as u32;
                    for ((o, &d), &f) in out.iter_mut().zip(dy).zip(first) {
                        *o = if f < step { 0.0 } else { d };
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row-wise path for tiling windows picks the same maximum and the same winner (the
    /// first on ties, which spike maps are full of) as the window-by-window loop.
    #[test]
    fn tiling_max_matches_window_by_window() {
        let mut rng = crate::rng::Rng::new(2);
        for (c, h, w, k) in [(3, 8, 8, 2), (2, 7, 9, 2), (2, 9, 7, 3)] {
            let g = PoolGeom {
                c,
                in_h: h,
                in_w: w,
                k,
                stride: k,
            };
            let x: Vec<f32> = (0..g.in_len())
                .map(|_| [0.0, 0.0, 0.5, 1.0][rng.below(4)])
                .collect();
            let (mut y1, mut y2) = (vec![0.0; g.out_len()], vec![0.0; g.out_len()]);
            let (mut a1, mut a2) = (vec![0u32; g.out_len()], vec![0u32; g.out_len()]);
            max_forward_tiling(&g, &x, &mut y1, &mut a1);
            max_forward_windows(&g, &x, &mut y2, &mut a2);
            assert_eq!((&y1, &a1), (&y2, &a2), "{g:?}");
            if k == 2 {
                let (mut y3, mut a3) = (vec![0.0; g.out_len()], vec![0u32; g.out_len()]);
                max_forward_2x2(&g, &x, &mut y3, &mut a3);
                assert_eq!((&y3, &a3), (&y2, &a2), "2x2 {g:?}");
            }
        }
    }

    /// The 2x2 backward writes what the fill-and-scatter gives, bit for bit (a -0 gradient
    /// included), odd map sizes' uncovered rows and columns zeroed.
    #[test]
    fn backward_2x2_matches_the_scatter() {
        let mut rng = crate::rng::Rng::new(4);
        for (c, h, w) in [(3, 8, 8), (2, 7, 9), (1, 5, 4)] {
            let g = PoolGeom {
                c,
                in_h: h,
                in_w: w,
                k: 2,
                stride: 2,
            };
            let x: Vec<f32> = (0..g.in_len())
                .map(|_| [0.0, 0.0, 0.5, 1.0][rng.below(4)])
                .collect();
            let (mut y, mut arg) = (vec![0.0; g.out_len()], vec![0u32; g.out_len()]);
            max_forward_2x2(&g, &x, &mut y, &mut arg);
            let mut dy: Vec<f32> = (0..g.out_len()).map(|_| rng.range(-1.0, 1.0)).collect();
            dy[0] = -0.0;
            let mut want = vec![0.0f32; g.in_len()];
            for (d, &a) in dy.iter().zip(&arg) {
                want[a as usize] += d;
            }
            let mut got = vec![f32::NAN; g.in_len()];
            max_backward_2x2(&g, &dy, &arg, &mut got);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{g:?}");
        }
    }

    /// The latch and its mask, in parallel chunks of units, against the step-by-step rule
    /// over more units than one chunk.
    #[test]
    fn latch_and_mask_keep_each_units_first_spike() {
        let mut rng = crate::rng::Rng::new(6);
        let (t, n) = (5, 2 * UNITS_PER_TASK + 7);
        let y0: Vec<f32> = (0..t * n)
            .map(|_| if rng.uniform() < 0.3 { 1.0 } else { 0.0 })
            .collect();
        let (mut y, mut first) = (y0.clone(), Vec::new());
        latch_first(&mut y, t, n, &mut first);
        let dy: Vec<f32> = (0..t * n).map(|_| rng.uniform()).collect();
        let mut masked = Vec::new();
        mask_after_first(&dy, &first, t, n, &mut masked);
        for j in 0..n {
            let f = (0..t).find(|&s| y0[s * n + j] != 0.0).unwrap_or(t);
            assert_eq!(first[j] as usize, f, "unit {j}");
            for s in 0..t {
                let kept = if s == f { y0[s * n + j] } else { 0.0 };
                assert_eq!(y[s * n + j], kept, "unit {j} step {s}");
                let g = if s <= f { dy[s * n + j] } else { 0.0 };
                assert_eq!(masked[s * n + j], g, "unit {j} step {s}");
            }
        }
    }
}
