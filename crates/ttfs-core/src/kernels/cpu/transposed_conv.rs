//! The input gradient of a convolution over the events of its output gradient: a transposed
//! convolution that visits only the nonzero (frame, channel, position) entries.
//!
//! With a surrogate cut to a band around the threshold (`model.band`), a neuron's input
//! gradient changes only at the steps where the neuron is near its threshold, so the step
//! changes of a convolution's output gradient (`Kernels::step_change_events`) are mostly
//! zeros, and the input gradient is taken over those: `dx[k] = sum_{j >= k} conv^T(d[j])`,
//! with `dy[k] = sum_{j >= k} d[j]`. Each event `d[f, o, oy, ox]` adds `d * w[o, c, ky, kx]` to the input `(c, oy*S + ky
//! - P, ox*S + kx - P)` of frame `f` and of every earlier step's, for every tap inside the map:
//! `K*K*C` multiply-adds an event, where the dense product costs that for every output.

use super::gemm::SyncPtr;
use super::transpose::transpose;
use crate::kernels::{ConvGeom, Events};
use rayon::prelude::*;

// d holds the events of the step changes of [t, b, OC*OH*OW] (one row a frame, frame = step *
// b + sample), w is [OC, C*K*K], dx [t, b, C*H*W] is overwritten with
// dx[k] = sum_{j >= k} conv^T(d[j]).
//
// One task per sample walks its steps from the last: the running sum stays in one [H*W, C]
// buffer (a tap's input channels contiguous, so an event adds a vector per tap) and each
// step's is transposed out, so nothing is zeroed per frame and dx is written once.
pub fn input_grad_changes(g: &ConvGeom, t: usize, d: &Events, w: &[f32], dx: &mut [f32]) {
    let (kk, p, il, ol, oc) = g.sizes();
    let frames = d.rows;
    assert!(
        d.cols == ol
            && frames.is_multiple_of(t.max(1))
            && dx.len() >= frames * il
            && w.len() >= oc * kk
    );
    let b = frames / t.max(1);
    let (c, k, plane) = (g.in_c, g.k, g.in_h * g.in_w);
    // The weights as [OC, K, K, C].
    let mut wr = vec![0.0f32; oc * kk];
    for (src, dst) in w[..oc * kk].chunks(kk).zip(wr.chunks_mut(kk)) {
        transpose(src, c, k * k, dst);
    }
    let ow = g.out_w();
    let (pad, s) = (g.pad as isize, g.stride as isize);
    let (in_h, in_w) = (g.in_h as isize, g.in_w as isize);
    let out = SyncPtr(dx.as_mut_ptr());
    (0..b).into_par_iter().for_each_init(
        || vec![0.0f32; il],
        |acc, sample| {
            acc.fill(0.0);
            for step in (0..t).rev() {
                let f = step * b + sample;
                // Events ascend by column `o*P + pos`: the channel is followed, not divided.
                let (mut o, mut o_start) = (0, 0);
                for &(col, v) in d.row(f) {
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
                            acc[at..at + c]
                                .iter_mut()
                                .zip(tap)
                                .for_each(|(a, w)| *a += v * w);
                        }
                    }
                }
                // [H*W, C] -> frame f's [C, H*W].
                // SAFETY: each task writes the frames of its own sample only.
                let dxf = unsafe { std::slice::from_raw_parts_mut(out.get().add(f * il), il) };
                transpose(acc, plane, c, dxf);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::super::{conv, events};
    use super::*;
    use crate::rng::Rng;

    /// Against the dense input gradient of `conv::backward` on the output gradient the step
    /// changes sum to (`dy[k] = sum_{j >= k} d[j]`): sparse changes and dense ones (every
    /// entry an event), one step and several, for unit and larger strides, padding, and a
    /// folded-pooling-like kernel (k4 s2).
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
            let (t, b) = if in_c == 16 { (1, 5) } else { (4, 3) };
            let frames = t * b;
            let w: Vec<f32> = (0..oc * kk).map(|_| rng.range(-1.0, 1.0)).collect();
            for density in [0.03f32, 0.3, 1.0] {
                let d: Vec<f32> = (0..frames * ol)
                    .map(|_| {
                        if rng.uniform() < density {
                            rng.range(-1.0, 1.0)
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut ev = Events::default();
                assert!(events::collect(&d, frames, ol, 1.0, &mut ev));
                let mut got = vec![f32::NAN; frames * il];
                input_grad_changes(&g, t, &ev, &w, &mut got);
                let n = b * ol;
                let mut dy = d.clone();
                for i in (0..(t - 1) * n).rev() {
                    dy[i] += dy[i + n];
                }
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
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{g:?} t {t} density {density} at {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
