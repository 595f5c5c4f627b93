//! Average and max pooling over `[C, H, W]` frames, one frame per rayon task.

use crate::kernels::PoolGeom;
use rayon::prelude::*;

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
            if g.k == g.stride {
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

pub fn max_backward(g: &PoolGeom, frames: usize, dy: &[f32], arg: &[u32], dx: &mut [f32]) {
    let ol = g.out_len();
    dx[..frames * g.in_len()]
        .par_chunks_mut(g.in_len())
        .zip(dy.par_chunks(ol).zip(arg.par_chunks(ol)))
        .for_each(|(dxf, (dyf, af))| {
            dxf.fill(0.0);
            for (d, &a) in dyf.iter().zip(af) {
                dxf[a as usize] += d;
            }
        });
}

/// Zero every step of `y` (`[t, n]`) after each unit's first nonzero one; `first` gets that
/// step (t for a unit that stays at zero).
pub fn latch_first(y: &mut [f32], t: usize, n: usize, first: &mut Vec<u32>) {
    first.clear();
    first.resize(n, t as u32);
    for (step, row) in y[..t * n].chunks_exact_mut(n).enumerate() {
        // Branch-free (spikes are rare and unpredictable): `first` is T until the unit fires.
        let step = step as u32;
        for (v, f) in row.iter_mut().zip(first.iter_mut()) {
            let latched = *f < step;
            let kept = if latched { 0.0 } else { *v };
            *v = kept;
            *f = if !latched && kept != 0.0 { step } else { *f };
        }
    }
}

/// `out[s, j] = dy[s, j]` up to and including step `first[j]`, 0 after (`[t, n]`).
pub fn mask_after_first(dy: &[f32], first: &[u32], t: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(&dy[..t * n]);
    for (step, row) in out.chunks_exact_mut(n).enumerate() {
        let step = step as u32;
        for (d, &f) in row.iter_mut().zip(first) {
            *d = if f < step { 0.0 } else { *d };
        }
    }
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
            assert_eq!((y1, a1), (y2, a2), "{g:?}");
        }
    }
}
