//! The input gradient of a convolution over the events of its output gradient: a transposed
//! convolution that visits only the nonzero (frame, channel, position) entries.
//!
//! With a surrogate cut to a band around the threshold (`model.band`), a neuron's input
//! gradient changes only at the steps where the neuron is near its threshold, so the step
//! changes of a convolution's output gradient (`Kernels::step_change_events`) are mostly
//! zeros. The layer takes its input gradient over those and sums the result backward over
//! steps (`layers/conv2d.rs`). Each event `d[f, o, oy, ox]` adds `d * w[o, c, ky, kx]` to the
//! input `(c, oy*S + ky - P, ox*S + kx - P)` of frame `f`, for every tap inside the map:
//! `K*K*C` multiply-adds an event, where the dense product costs that for every output.

use super::transpose::transpose;
use crate::kernels::{ConvGeom, Events};
use rayon::prelude::*;

// dy holds the events of [frames, OC*OH*OW] (one row a frame), w is [OC, C*K*K], dx
// [frames, C*H*W] is overwritten
pub fn input_grad_events(g: &ConvGeom, dy: &Events, w: &[f32], dx: &mut [f32]) {
    let (kk, p, il, ol, oc) = g.sizes();
    let frames = dy.rows;
    assert!(dy.cols == ol && dx.len() >= frames * il && w.len() >= oc * kk);
    let (c, k, plane) = (g.in_c, g.k, g.in_h * g.in_w);
    // The weights as [OC, K, K, C]: a tap's input channels contiguous, so that an event adds
    // a vector per tap into the frame's gradient kept as [H*W, C] (transposed back at the end).
    let mut wr = vec![0.0f32; oc * kk];
    for (src, dst) in w[..oc * kk].chunks(kk).zip(wr.chunks_mut(kk)) {
        transpose(src, c, k * k, dst);
    }
    let ow = g.out_w();
    let (pad, s) = (g.pad as isize, g.stride as isize);
    let (in_h, in_w) = (g.in_h as isize, g.in_w as isize);
    dx[..frames * il]
        .par_chunks_mut(il)
        .enumerate()
        .for_each_init(
            || vec![0.0f32; il],
            |dx_t, (f, dxf)| {
                let events = dy.row(f);
                if events.is_empty() {
                    dxf.fill(0.0);
                    return;
                }
                dx_t.fill(0.0);
                // Events ascend by column `o*P + pos`: the channel is followed, not divided out.
                let (mut o, mut o_start) = (0, 0);
                for &(col, d) in events {
                    let col = col as usize;
                    while col >= o_start + p {
                        o += 1;
                        o_start += p;
                    }
                    let pos = col - o_start;
                    let (oy, ox) = ((pos / ow) as isize, (pos % ow) as isize);
                    let taps = &wr[o * kk..(o + 1) * kk];
                    for ky in 0..k {
                        let iy = oy * s + ky as isize - pad;
                        if iy < 0 || iy >= in_h {
                            continue;
                        }
                        for kx in 0..k {
                            let ix = ox * s + kx as isize - pad;
                            if ix < 0 || ix >= in_w {
                                continue;
                            }
                            let at = (iy * in_w + ix) as usize * c;
                            let tap = &taps[(ky * k + kx) * c..][..c];
                            dx_t[at..at + c]
                                .iter_mut()
                                .zip(tap)
                                .for_each(|(a, b)| *a += d * b);
                        }
                    }
                }
                // [H*W, C] -> [C, H*W]
                transpose(dx_t, plane, c, dxf);
            },
        );
}

#[cfg(test)]
mod tests {
    use super::super::{conv, events};
    use super::*;
    use crate::rng::Rng;

    /// Against the dense input gradient of `conv::backward` on the same output gradient:
    /// sparse gradients (events of few entries) and a dense one (every entry an event), for
    /// unit and larger strides, padding, and a folded-pooling-like kernel (k4 s2).
    #[test]
    fn matches_the_dense_input_gradient() {
        let mut rng = Rng::new(21);
        let geoms = [
            (3, 7, 6, 5, 3, 1, 1),
            (4, 9, 9, 6, 4, 2, 1),
            (2, 8, 5, 3, 3, 2, 0),
            (16, 6, 6, 8, 3, 1, 1),
        ];
        for (in_c, in_h, in_w, out_c, k, stride, pad) in geoms {
            let g = ConvGeom {
                in_c,
                in_h,
                in_w,
                out_c,
                k,
                stride,
                pad,
            };
            let (kk, _, il, ol, oc) = g.sizes();
            let frames = 5;
            let w: Vec<f32> = (0..oc * kk).map(|_| rng.range(-1.0, 1.0)).collect();
            for density in [0.03f32, 0.3, 1.0] {
                let dy: Vec<f32> = (0..frames * ol)
                    .map(|_| {
                        if rng.uniform() < density {
                            rng.range(-1.0, 1.0)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut ev = Events::default();
                assert!(events::collect(&dy, frames, ol, 1.0, &mut ev));
                let mut got = vec![f32::NAN; frames * il];
                input_grad_events(&g, &ev, &w, &mut got);
                let x = vec![0.0f32; frames * il];
                let (mut dw, mut db) = (vec![0.0; oc * kk], vec![0.0; oc]);
                let mut want = vec![0.0f32; frames * il];
                conv::backward(
                    &g,
                    frames,
                    &x,
                    None,
                    &w,
                    &dy,
                    &mut dw,
                    &mut db,
                    Some(&mut want),
                );
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "{g:?} density {density} at {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
