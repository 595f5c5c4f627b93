//! Convolutions (`conv.cu`): im2col + SGEMM over chunks of frames whose size depends only
//! on the shape, the bias gradient as a product with ones; and the box folds that turn a
//! convolution followed by average pooling into one convolution (`fold_box`,
//! `unfold_box_grad`).

use super::launch::{args, int, Arg};
use super::{Exec, Gpu, Scratch};
use crate::kernels::{Buf, ConvGeom, Events};

impl<E: Exec> Gpu<E> {
    /// Frames per convolution chunk: the columns and the channel-major output of a chunk fit
    /// the scratch limit. A function of the geometry only.
    pub(super) fn conv_chunk(&self, g: &ConvGeom) -> usize {
        let p = g.out_h() * g.out_w();
        let per_frame = (g.patch_len() + g.out_c) * p;
        (self.conv_scratch / per_frame.max(1)).max(1)
    }
}

/// The arguments shared by `im2col` and `col2im` after the two pointers.
fn im2col_geom(g: &ConvGeom, frames: usize) -> [Arg; 9] {
    [
        int(frames),
        int(g.in_c),
        int(g.in_h),
        int(g.in_w),
        int(g.k),
        int(g.stride),
        int(g.pad),
        int(g.out_h()),
        int(g.out_w()),
    ]
}

// x is [frames, in_c*in_h*in_w], w is [out_c, patch_len], y is [frames, out_c*P]
//
// Per chunk of frames: col[PL, f*P + p] = im2col(x), yt[OC, f*P + p] = w . col, then
// y[f, o, p] = yt[o, f*P + p] + bias[o].
pub(super) fn forward<E: Exec>(
    gpu: &Gpu<E>,
    g: &ConvGeom,
    frames: usize,
    x: &Buf<f32>,
    w: &Buf<f32>,
    bias: &Buf<f32>,
    y: &mut Buf<f32>,
) {
    let (pl, p, il, ol, oc) = (
        g.patch_len(),
        g.out_h() * g.out_w(),
        g.in_len(),
        g.out_len(),
        oc_of(g),
    );
    let px = gpu.inp(x, frames * il, "conv x");
    let pw = gpu.inp(w, oc * pl, "conv w");
    let pbias = gpu.inp(bias, oc, "conv bias");
    let py = gpu.out(y, frames * ol);
    let chunk = gpu.conv_chunk(g);
    let dev = gpu.exec.device();
    let mut s = gpu.scratch();
    let Scratch { col, yt, .. } = &mut *s;
    col.resize_for_overwrite(dev, pl * chunk.min(frames) * p);
    yt.resize_for_overwrite(dev, oc * chunk.min(frames) * p);
    let (pcol, pyt) = (gpu.exec.addr_mut(col), gpu.exec.addr_mut(yt));
    for f0 in (0..frames).step_by(chunk) {
        let fc = chunk.min(frames - f0);
        let xf = px + (f0 * il * 4) as u64;
        gpu.run(
            "im2col",
            pl * fc * p,
            &args![Arg::Ptr(xf), Arg::Ptr(pcol); im2col_geom(g, fc)],
        );
        // yt[OC, fc*P] = w[OC, PL] . col[PL, fc*P]
        gpu.gemm_at(oc, pl, fc * p, pw, false, pcol, false, 0.0, pyt);
        gpu.run(
            "channels_to_frames",
            fc * oc * p,
            &args![
                Arg::Ptr(pyt),
                Arg::Ptr(pbias),
                Arg::Ptr(py + (f0 * ol * 4) as u64),
                int(fc),
                int(oc),
                int(p)
            ],
        );
    }
}

// dy is [frames, out_c*P]; dw [out_c, PL] and dbias [out_c] overwritten; dx [frames, in_len]
//
// Per chunk: yt[OC, fc*P] = dy as channels; dw (+)= yt . col^T (beta 1 after the first
// chunk); dbias (+)= row sums of yt; dcol[PL, fc*P] = w^T . yt, dx = col2im(dcol).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<E: Exec>(
    gpu: &Gpu<E>,
    g: &ConvGeom,
    frames: usize,
    x: &Buf<f32>,
    x_events: Option<&Events>,
    w: &Buf<f32>,
    dy: &Buf<f32>,
    dw: &mut Buf<f32>,
    dbias: &mut Buf<f32>,
    dx: Option<&mut Buf<f32>>,
) {
    assert!(
        x_events.is_none(),
        "the GPU backend never collects events (collect_events is false)"
    );
    let (pl, p, il, ol, oc) = (
        g.patch_len(),
        g.out_h() * g.out_w(),
        g.in_len(),
        g.out_len(),
        oc_of(g),
    );
    let px = gpu.inp(x, frames * il, "conv x");
    let pw = gpu.inp(w, oc * pl, "conv w");
    let pdy = gpu.inp(dy, frames * ol, "conv dy");
    let pdw = gpu.out(dw, oc * pl);
    let pdb = gpu.out(dbias, oc);
    let pdx = dx.map(|d| gpu.out(d, frames * il));
    if frames == 0 {
        gpu.run(
            "fill",
            oc * pl,
            &[Arg::Ptr(pdw), Arg::F32(0.0), int(oc * pl)],
        );
        gpu.run("fill", oc, &[Arg::Ptr(pdb), Arg::F32(0.0), int(oc)]);
        return;
    }
    let chunk = gpu.conv_chunk(g);
    let dev = gpu.exec.device();
    let mut s = gpu.scratch();
    let Scratch { col, yt, ones, .. } = &mut *s;
    col.resize_for_overwrite(dev, pl * chunk.min(frames) * p);
    yt.resize_for_overwrite(dev, oc * chunk.min(frames) * p);
    let n_ones = chunk.min(frames) * p;
    ones.resize_for_overwrite(dev, n_ones);
    let (pcol, pyt, pones) = (
        gpu.exec.addr_mut(col),
        gpu.exec.addr_mut(yt),
        gpu.exec.addr_mut(ones),
    );
    gpu.run(
        "fill",
        n_ones,
        &[Arg::Ptr(pones), Arg::F32(1.0), int(n_ones)],
    );
    for (ci, f0) in (0..frames).step_by(chunk).enumerate() {
        let fc = chunk.min(frames - f0);
        gpu.run(
            "frames_to_channels",
            fc * oc * p,
            &args![
                Arg::Ptr(pdy + (f0 * ol * 4) as u64),
                Arg::Ptr(pyt),
                int(fc),
                int(oc),
                int(p)
            ],
        );
        gpu.run(
            "im2col",
            pl * fc * p,
            &args![Arg::Ptr(px + (f0 * il * 4) as u64), Arg::Ptr(pcol); im2col_geom(g, fc)],
        );
        // dw[OC, PL] (+)= yt[OC, fc*P] . col[PL, fc*P]^T
        let beta = if ci == 0 { 0.0 } else { 1.0 };
        gpu.gemm_at(oc, fc * p, pl, pyt, false, pcol, true, beta, pdw);
        // dbias[OC] (+)= yt[OC, fc*P] . ones[fc*P]
        gpu.gemm_at(oc, fc * p, 1, pyt, false, pones, false, beta, pdb);
        if let Some(pdx) = pdx {
            // dcol[PL, fc*P] = w[OC, PL]^T . yt[OC, fc*P] (into col, after the dw product
            // read it: launches run in order)
            gpu.gemm_at(pl, oc, fc * p, pw, true, pyt, false, 0.0, pcol);
            gpu.run(
                "col2im",
                fc * il,
                &args![Arg::Ptr(pcol), Arg::Ptr(pdx + (f0 * il * 4) as u64); im2col_geom(g, fc)],
            );
        }
    }
}

pub(super) fn fold_box<E: Exec>(
    gpu: &Gpu<E>,
    w: &Buf<f32>,
    rows: usize,
    k: usize,
    s: usize,
    pool: usize,
    folded: &mut Buf<f32>,
) {
    let kf = s * (pool - 1) + k;
    let pw = gpu.inp(w, rows * k * k, "fold_box w");
    let pf = gpu.out(folded, rows * kf * kf);
    gpu.run(
        "fold_box",
        rows * kf * kf,
        &[
            Arg::Ptr(pw),
            Arg::Ptr(pf),
            int(rows),
            int(k),
            int(s),
            int(pool),
        ],
    );
}

pub(super) fn unfold_box_grad<E: Exec>(
    gpu: &Gpu<E>,
    dfolded: &Buf<f32>,
    rows: usize,
    k: usize,
    s: usize,
    pool: usize,
    dw: &mut Buf<f32>,
) {
    let kf = s * (pool - 1) + k;
    let pf = gpu.inp(dfolded, rows * kf * kf, "unfold_box_grad dfolded");
    let pw = gpu.out(dw, rows * k * k);
    gpu.run(
        "unfold_box_grad",
        rows * k * k,
        &[
            Arg::Ptr(pf),
            Arg::Ptr(pw),
            int(rows),
            int(k),
            int(s),
            int(pool),
        ],
    );
}

fn oc_of(g: &ConvGeom) -> usize {
    g.out_c
}
