//! Convolution as im2col + GEMM, one frame per rayon task.
//!
//! For a frame `x` of shape `[C, H, W]`, `col` is `[C*K*K, OH*OW]` (one row per weight of an
//! output channel) and `y = w . col` is `[OC, OH*OW]`, already in the frame's NCHW layout.

use super::gemm::gemm_serial;
use super::sparse;
use super::transpose::transpose;
use crate::kernels::{ConvGeom, Events};
use rayon::prelude::*;

/// Frames per task in backward; fixed so that the weight-gradient reduction order (and so
/// its bits) never depends on the thread count.
const FRAMES_PER_CHUNK_MIN: usize = 8;
const MAX_PARTIALS: usize = 16;
/// Floats of the column matrix of the input gradient, `[C*K*K, OH*OW, F]`, for `F` frames at
/// once: the product packs the weights once per call, and per frame that packing
/// (`C*K*K*OC` floats) cost as much as a third of the product on the conv nets' second layer.
/// `event_products -- conv`, backward of the folded 32x14x14 -> 64 k4 s2 layer at density
/// 0.05: 12.1 / 8.4 / 7.8 / 8.4 ms with 0.125 / 0.25 / 0.5 / 1 M floats.
const DX_COLUMNS_FLOATS: usize = 512 * 1024;

/// Output columns `ox` whose input column `ox*S + j - P` lies inside `[0, in_w)`.
#[inline]
fn valid_ox(g: &ConvGeom, j: usize, ow: usize) -> std::ops::Range<usize> {
    // ox*S + j >= P  and  ox*S + j - P < in_w
    let lo = g.pad.saturating_sub(j).div_ceil(g.stride);
    let hi = if g.in_w + g.pad > j {
        (g.in_w + g.pad - j).div_ceil(g.stride).min(ow)
    } else {
        0
    };
    lo..hi.max(lo)
}

/// `col[(c*K + i)*K + j][oy*OW + ox] = x[c][oy*S + i - P][ox*S + j - P]` (0 outside).
fn im2col(g: &ConvGeom, x: &[f32], col: &mut [f32]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let p = oh * ow;
    for c in 0..g.in_c {
        let xc = &x[c * g.in_h * g.in_w..(c + 1) * g.in_h * g.in_w];
        for i in 0..g.k {
            for j in 0..g.k {
                let row = &mut col[((c * g.k + i) * g.k + j) * p..][..p];
                let valid = valid_ox(g, j, ow);
                for oy in 0..oh {
                    let iy = (oy * g.stride + i) as isize - g.pad as isize;
                    let dst = &mut row[oy * ow..(oy + 1) * ow];
                    if iy < 0 || iy >= g.in_h as isize || valid.is_empty() {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &xc[iy as usize * g.in_w..(iy as usize + 1) * g.in_w];
                    dst[..valid.start].fill(0.0);
                    dst[valid.end..].fill(0.0);
                    let x0 = valid.start * g.stride + j - g.pad;
                    if g.stride == 1 {
                        dst[valid.clone()].copy_from_slice(&src[x0..x0 + valid.len()]);
                    } else {
                        for (k, d) in dst[valid.clone()].iter_mut().enumerate() {
                            *d = src[x0 + k * g.stride];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`] for `n` frames at once, the frames innermost: `col` is
/// `[C*K*K, OH*OW, n]` and `dx` (overwritten) `[C*H*W, n]`. Every column entry is a vector
/// of `n` contiguous frames, so the scatter of a strided convolution (a load and a store per
/// value, one frame at a time) becomes vector adds; each value gets its terms in the same
/// order as a frame-by-frame scatter would add them.
fn col2im_frames(g: &ConvGeom, col: &[f32], n: usize, dx: &mut [f32]) {
    dx.fill(0.0);
    let (oh, ow) = (g.out_h(), g.out_w());
    let p = oh * ow;
    let plane = g.in_h * g.in_w;
    for c in 0..g.in_c {
        let dxc = &mut dx[c * plane * n..(c + 1) * plane * n];
        for i in 0..g.k {
            for j in 0..g.k {
                let row = &col[((c * g.k + i) * g.k + j) * p * n..][..p * n];
                let valid = valid_ox(g, j, ow);
                for oy in 0..oh {
                    let iy = (oy * g.stride + i) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.in_h as isize {
                        continue;
                    }
                    for ox in valid.clone() {
                        let ix = ox * g.stride + j - g.pad;
                        let at = (iy as usize * g.in_w + ix) * n;
                        let src = &row[(oy * ow + ox) * n..][..n];
                        dxc[at..at + n]
                            .iter_mut()
                            .zip(src)
                            .for_each(|(d, v)| *d += v);
                    }
                }
            }
        }
    }
}

/// The input gradient of `frames` frames (`dy` `[frames, OC*P]`, `dx` `[frames, C*H*W]`,
/// overwritten), in groups of frames: `dcol[KK, P, F] = w^T . dy[OC, P, F]`, one product per
/// group (it packs the weights once per call, and per frame that packing, `KK*OC` floats, cost
/// as much as a third of the product on the conv nets' second layer), the frames innermost
/// so that the scatter back to the input is vector adds ([`col2im_frames`]); `dy` goes in and
/// `dx` comes out through 8x8 register transposes.
fn input_gradient(g: &ConvGeom, w: &[f32], dy: &[f32], frames: usize, dx: &mut [f32]) {
    let (kk, p, il, ol, oc) = g.sizes();
    // Frames per group: as many as fit the column matrix, rounded down to a multiple of 8 but
    // at least 8 (whole vectors in the scatter, whole 8x8 blocks in the transposes: with the
    // 6 frames that fit for the Fashion-MNIST recipe's conv2, 48x14x14 -> 96 k3, both ran
    // element by element and its backward took 44.6 ms in `event_products -- conv`, 33.9
    // with 8).
    let fit = (DX_COLUMNS_FLOATS / (kk * p)).max(1);
    let group = (fit / 8 * 8).max(8).min(frames);
    let mut dy_g = vec![0.0f32; oc * p * group];
    let mut dcol = vec![0.0f32; kk * p * group];
    let mut dx_g = vec![0.0f32; il * group];
    for g0 in (0..frames).step_by(group.max(1)) {
        let n = group.min(frames - g0);
        // dy_g[o, p, q] = dy[g0 + q, o, p]: the group's [n, OC*P] transposed
        transpose(&dy[g0 * ol..(g0 + n) * ol], n, ol, &mut dy_g);
        // SAFETY: `dcol` holds KK * P*n elements, `w` and `dy_g` their extents.
        unsafe {
            gemm_serial(
                kk,
                oc,
                p * n,
                w,
                (1, kk as isize),
                &dy_g,
                ((p * n) as isize, 1),
                0.0,
                dcol.as_mut_ptr(),
                p * n,
            )
        };
        col2im_frames(g, &dcol, n, &mut dx_g[..il * n]);
        transpose(&dx_g[..il * n], il, n, &mut dx[g0 * il..(g0 + n) * il]);
    }
}

// x is [frames, C*H*W], w is [OC, C*K*K], bias is [OC], y is [frames, OC*OH*OW]
pub fn forward(g: &ConvGeom, frames: usize, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let (kk, p, il, ol, oc) = g.sizes();
    assert!(
        x.len() >= frames * il && y.len() >= frames * ol && w.len() >= oc * kk && bias.len() >= oc
    );
    y[..frames * ol]
        .par_chunks_mut(ol)
        .zip(x.par_chunks(il))
        .for_each_init(
            || vec![0.0f32; kk * p],
            |col, (yf, xf)| {
                im2col(g, xf, col);
                // y[OC, P] = w[OC, KK] . col[KK, P]
                // SAFETY: `yf` holds OC*P elements, `w` and `col` their full extents.
                unsafe {
                    gemm_serial(
                        oc,
                        kk,
                        p,
                        w,
                        (kk as isize, 1),
                        col,
                        (p as isize, 1),
                        0.0,
                        yf.as_mut_ptr(),
                        p,
                    )
                };
                add_bias(yf, bias, p);
            },
        );
}

// x holds the events of [frames, C*H*W] spike maps (one row per frame, `Kernels::
// collect_events`), w is [OC, C*K*K], bias is [OC], y is [frames, OC*OH*OW]
pub fn forward_events(g: &ConvGeom, x: &Events, w: &[f32], bias: &[f32], y: &mut [f32]) {
    let (kk, p, _, ol, oc) = g.sizes();
    let frames = x.rows;
    assert!(x.cols == g.in_len() && y.len() >= frames * ol && w.len() >= oc * kk);
    // The weights transposed so that a tap's output channels are contiguous, each frame's
    // output in [P, OC] then transposed back.
    let wt = sparse::forward_weights(g, w);
    y[..frames * ol]
        .par_chunks_mut(ol)
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; p * oc], sparse::ByPosition::default()),
            |(out_t, by_pos), (f, yf)| {
                sparse::conv_frame_forward(g, x.row(f), &wt, out_t, by_pos);
                transpose(out_t, p, oc, yf);
                add_bias(yf, bias, p);
            },
        );
}

// yf is [OC, P]
fn add_bias(yf: &mut [f32], bias: &[f32], p: usize) {
    for (o, yo) in yf.chunks_mut(p).enumerate() {
        let b = bias[o];
        if b != 0.0 {
            yo.iter_mut().for_each(|v| *v += b);
        }
    }
}

// dy is [frames, OC*OH*OW]; dw [OC, C*K*K] and dbias [OC] are overwritten; dx [frames, C*H*W]
// x_events: the events of x when forward took them (the weight gradient visits only those)
#[allow(clippy::too_many_arguments)]
pub fn backward(
    g: &ConvGeom,
    frames: usize,
    x: &[f32],
    x_events: Option<&Events>,
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    dbias: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let (kk, p, il, ol, oc) = g.sizes();
    let per_chunk = FRAMES_PER_CHUNK_MIN.max(frames.div_ceil(MAX_PARTIALS));
    let chunks = frames.div_ceil(per_chunk);
    let mut dx_buf = Vec::new();
    let dx: &mut [f32] = match dx {
        Some(d) => d,
        None => &mut dx_buf,
    };
    let want_dx = !dx.is_empty();
    let dx_chunk_len = if want_dx { per_chunk * il } else { 0 };
    // Spike input: the weight gradient visits only the input events (no im2col of x).
    let events = x_events.is_some();
    if let Some(e) = x_events {
        assert!(
            e.rows == frames && e.cols == il,
            "conv backward: events of another input"
        );
    }
    let mut dx_chunks: Vec<&mut [f32]> = if want_dx {
        dx[..frames * il].chunks_mut(dx_chunk_len).collect()
    } else {
        (0..chunks).map(|_| &mut [][..]).collect()
    };
    // Each chunk returns its partial (dw, dbias); they are summed below in chunk order.
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx_chunks
        .par_iter_mut()
        .enumerate()
        .map(|(ci, dxc)| {
            let mut col = vec![0.0f32; kk * p];
            // [OC, KK], or [KK, OC] on the event path (transposed after the reduction)
            let mut dw_part = vec![0.0f32; oc * kk];
            let mut db_part = vec![0.0f32; oc];
            let mut dy_t = if events {
                vec![0.0f32; p * oc]
            } else {
                Vec::new()
            };
            let f0 = ci * per_chunk;
            let f1 = (f0 + per_chunk).min(frames);
            for f in f0..f1 {
                let dyf = &dy[f * ol..(f + 1) * ol];
                if let Some(e) = x_events {
                    transpose(dyf, oc, p, &mut dy_t);
                    sparse::conv_frame_events_dw(g, e.row(f), &dy_t, &mut dw_part);
                } else {
                    im2col(g, &x[f * il..(f + 1) * il], &mut col);
                    // dw[OC, KK] += dy[OC, P] . col[KK, P]^T
                    unsafe {
                        gemm_serial(
                            oc,
                            p,
                            kk,
                            dyf,
                            (p as isize, 1),
                            &col,
                            (1, p as isize),
                            1.0,
                            dw_part.as_mut_ptr(),
                            kk,
                        )
                    };
                }
                for (o, d) in db_part.iter_mut().enumerate() {
                    *d += dyf[o * p..(o + 1) * p].iter().sum::<f32>();
                }
            }
            if want_dx {
                input_gradient(g, w, &dy[f0 * ol..f1 * ol], f1 - f0, dxc);
            }
            (dw_part, db_part)
        })
        .collect();
    let mut total = vec![0.0f32; oc * kk];
    dbias[..oc].fill(0.0);
    for (dwp, dbp) in &partials {
        total.iter_mut().zip(dwp).for_each(|(a, b)| *a += b);
        dbias.iter_mut().zip(dbp).for_each(|(a, b)| *a += b);
    }
    if events {
        transpose(&total, kk, oc, &mut dw[..oc * kk]);
    } else {
        dw[..oc * kk].copy_from_slice(&total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event-driven forward and weight gradient (on the events `collect` gives, as the
    /// layer does) agree with the dense path on the same spike maps.
    #[test]
    fn event_path_matches_dense_path() {
        let mut rng = crate::rng::Rng::new(5);
        for g in [
            ConvGeom {
                in_c: 3,
                in_h: 9,
                in_w: 8,
                out_c: 5,
                k: 3,
                stride: 1,
                pad: 1,
            },
            ConvGeom {
                in_c: 2,
                in_h: 9,
                in_w: 9,
                out_c: 4,
                k: 3,
                stride: 2,
                pad: 2,
            },
            // a 3x3 conv with its 2x2 average pooling folded in (the conv nets' layers)
            ConvGeom {
                in_c: 3,
                in_h: 10,
                in_w: 10,
                out_c: 6,
                k: 4,
                stride: 2,
                pad: 1,
            },
            // output channels in register blocks (sparse::OC_BLOCK): one and two blocks,
            // strided and padded, and unpadded
            ConvGeom {
                in_c: 3,
                in_h: 10,
                in_w: 10,
                out_c: 128,
                k: 4,
                stride: 2,
                pad: 1,
            },
            ConvGeom {
                in_c: 2,
                in_h: 9,
                in_w: 9,
                out_c: 256,
                k: 3,
                stride: 2,
                pad: 2,
            },
            ConvGeom {
                in_c: 5,
                in_h: 6,
                in_w: 5,
                out_c: 128,
                k: 3,
                stride: 1,
                pad: 0,
            },
        ] {
            let frames = 20;
            // Some frames empty, some rows full: the pixel walk crosses empty rows and channels.
            let spikes: Vec<f32> = (0..frames * g.in_len())
                .map(|i| {
                    let f = i / g.in_len();
                    let p = if f % 5 == 0 {
                        0.0
                    } else {
                        0.03 * (f % 4) as f32
                    };
                    if rng.uniform() < p {
                        rng.range(0.5, 1.5)
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut ev = Events::default();
            assert!(super::super::events::collect(
                &spikes,
                frames,
                g.in_len(),
                0.15,
                &mut ev
            ));
            assert!(!ev.is_empty());
            let w: Vec<f32> = (0..g.out_c * g.patch_len())
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let bias: Vec<f32> = (0..g.out_c).map(|_| rng.range(-1.0, 1.0)).collect();
            let (mut ys, mut yd) = (
                vec![0.0; frames * g.out_len()],
                vec![0.0; frames * g.out_len()],
            );
            forward_events(&g, &ev, &w, &bias, &mut ys);
            forward(&g, frames, &spikes, &w, &bias, &mut yd);
            for (a, b) in ys.iter().zip(&yd) {
                assert!((a - b).abs() < 1e-4, "forward {a} vs {b}");
            }
            let dy: Vec<f32> = (0..frames * g.out_len())
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let (mut dws, mut dwd) = (vec![0.0; w.len()], vec![0.0; w.len()]);
            let (mut dbs, mut dbd) = (vec![0.0; g.out_c], vec![0.0; g.out_c]);
            let (mut dxs, mut dxd) = (vec![0.0; spikes.len()], vec![0.0; spikes.len()]);
            let x = &spikes;
            backward(
                &g,
                frames,
                x,
                Some(&ev),
                &w,
                &dy,
                &mut dws,
                &mut dbs,
                Some(&mut dxs),
            );
            backward(
                &g,
                frames,
                x,
                None,
                &w,
                &dy,
                &mut dwd,
                &mut dbd,
                Some(&mut dxd),
            );
            for (what, s, d) in [
                ("dw", &dws, &dwd),
                ("dbias", &dbs, &dbd),
                ("dx", &dxs, &dxd),
            ] {
                for (i, (a, b)) in s.iter().zip(d.iter()).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-3,
                        "{g:?} {what}[{i}]: events {a} vs dense {b}"
                    );
                }
            }
        }
    }

    fn naive(g: &ConvGeom, x: &[f32], w: &[f32]) -> Vec<f32> {
        let (oh, ow) = (g.out_h(), g.out_w());
        let mut y = vec![0.0; g.out_len()];
        for o in 0..g.out_c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = 0.0;
                    for c in 0..g.in_c {
                        for i in 0..g.k {
                            for j in 0..g.k {
                                let iy = (oy * g.stride + i) as isize - g.pad as isize;
                                let ix = (ox * g.stride + j) as isize - g.pad as isize;
                                if iy >= 0
                                    && ix >= 0
                                    && (iy as usize) < g.in_h
                                    && (ix as usize) < g.in_w
                                {
                                    s += w[((o * g.in_c + c) * g.k + i) * g.k + j]
                                        * x[(c * g.in_h + iy as usize) * g.in_w + ix as usize];
                                }
                            }
                        }
                    }
                    y[(o * oh + oy) * ow + ox] = s;
                }
            }
        }
        y
    }

    #[test]
    fn forward_matches_direct_convolution() {
        let mut rng = crate::rng::Rng::new(3);
        for g in [
            ConvGeom {
                in_c: 2,
                in_h: 7,
                in_w: 6,
                out_c: 3,
                k: 3,
                stride: 1,
                pad: 1,
            },
            ConvGeom {
                in_c: 3,
                in_h: 9,
                in_w: 9,
                out_c: 4,
                k: 3,
                stride: 2,
                pad: 0,
            },
            ConvGeom {
                in_c: 1,
                in_h: 5,
                in_w: 8,
                out_c: 2,
                k: 5,
                stride: 1,
                pad: 2,
            },
        ] {
            let x: Vec<f32> = (0..2 * g.in_len()).map(|_| rng.range(-1.0, 1.0)).collect();
            let w: Vec<f32> = (0..g.out_c * g.patch_len())
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let mut y = vec![0.0; 2 * g.out_len()];
            forward(&g, 2, &x, &w, &vec![0.0; g.out_c], &mut y);
            for f in 0..2 {
                let want = naive(&g, &x[f * g.in_len()..(f + 1) * g.in_len()], &w);
                for (a, b) in y[f * g.out_len()..(f + 1) * g.out_len()].iter().zip(&want) {
                    assert!((a - b).abs() < 1e-4);
                }
            }
            // col2im is the adjoint of im2col, frame by frame: <im2col(x_q), c_q> == <x_q,
            // col2im(c)_q> for each of n frames side by side (`[KK, P, n]` in, `[il, n]` out).
            let (p, n, il) = (g.out_h() * g.out_w(), 3, g.in_len());
            let c: Vec<f32> = (0..g.patch_len() * p * n)
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let mut back = vec![0.0; il * n];
            col2im_frames(&g, &c, n, &mut back);
            let xs: Vec<f32> = (0..il * n).map(|_| rng.range(-1.0, 1.0)).collect();
            for q in 0..n {
                let mut col = vec![0.0; g.patch_len() * p];
                im2col(&g, &xs[q * il..(q + 1) * il], &mut col);
                let lhs: f32 = col.iter().enumerate().map(|(i, a)| a * c[i * n + q]).sum();
                let rhs: f32 = (0..il).map(|i| xs[q * il + i] * back[i * n + q]).sum();
                assert!((lhs - rhs).abs() < 1e-3, "{g:?}: {lhs} vs {rhs}");
            }
        }
    }
}
