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
            yf.fill(f32::NEG_INFINITY);
            for_each_window(g, |o, i| {
                if xf[i] > yf[o] {
                    yf[o] = xf[i];
                    af[o] = i as u32;
                }
            });
        });
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
