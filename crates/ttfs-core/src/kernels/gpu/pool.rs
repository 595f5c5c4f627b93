//! Pooling (`pool.cu`): average and max pooling windows over `[C, H, W]` frames, and the
//! first-spike latch (`latch_first`, `mask_after_first`).

use super::launch::{args, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::{Buf, PoolGeom};

fn pool_geom(g: &PoolGeom, frames: usize) -> [Arg; 6] {
    [
        int(frames),
        int(g.c),
        int(g.in_h),
        int(g.in_w),
        int(g.k),
        int(g.stride),
    ]
}

pub(super) fn avg_forward<E: Exec>(
    gpu: &Gpu<E>,
    g: &PoolGeom,
    frames: usize,
    x: &Buf<f32>,
    y: &mut Buf<f32>,
) {
    let px = gpu.inp(x, frames * g.in_len(), "avg_pool x");
    let py = gpu.out(y, frames * g.out_len());
    gpu.run(
        "avg_pool_forward",
        frames * g.out_len(),
        &args![Arg::Ptr(px), Arg::Ptr(py); pool_geom(g, frames)],
    );
}

pub(super) fn avg_backward<E: Exec>(
    gpu: &Gpu<E>,
    g: &PoolGeom,
    frames: usize,
    dy: &Buf<f32>,
    dx: &mut Buf<f32>,
) {
    let pdy = gpu.inp(dy, frames * g.out_len(), "avg_pool dy");
    let pdx = gpu.out(dx, frames * g.in_len());
    gpu.run(
        "avg_pool_backward",
        frames * g.in_len(),
        &args![Arg::Ptr(pdy), Arg::Ptr(pdx); pool_geom(g, frames)],
    );
}

pub(super) fn max_forward<E: Exec>(
    gpu: &Gpu<E>,
    g: &PoolGeom,
    frames: usize,
    x: &Buf<f32>,
    y: &mut Buf<f32>,
    arg: &mut Buf<u32>,
) {
    let px = gpu.inp(x, frames * g.in_len(), "max_pool x");
    let py = gpu.out(y, frames * g.out_len());
    let pa = gpu.out(arg, frames * g.out_len());
    gpu.run(
        "max_pool_forward",
        frames * g.out_len(),
        &args![Arg::Ptr(px), Arg::Ptr(py), Arg::Ptr(pa); pool_geom(g, frames)],
    );
}

pub(super) fn max_backward<E: Exec>(
    gpu: &Gpu<E>,
    g: &PoolGeom,
    frames: usize,
    dy: &Buf<f32>,
    arg: &Buf<u32>,
    dx: &mut Buf<f32>,
) {
    let pdy = gpu.inp(dy, frames * g.out_len(), "max_pool dy");
    let pa = gpu.inp(arg, frames * g.out_len(), "max_pool arg");
    let pdx = gpu.out(dx, frames * g.in_len());
    gpu.run(
        "max_pool_backward",
        frames * g.in_len(),
        &args![Arg::Ptr(pdy), Arg::Ptr(pa), Arg::Ptr(pdx); pool_geom(g, frames)],
    );
}

pub(super) fn latch_first<E: Exec>(
    gpu: &Gpu<E>,
    y: &mut Buf<f32>,
    t: usize,
    n: usize,
    first: &mut Buf<u32>,
) {
    let py = gpu.inout(y, t * n, "latch_first y");
    let pf = gpu.out(first, n);
    gpu.run(
        "latch_first",
        n,
        &[Arg::Ptr(py), Arg::Ptr(pf), int(t), int(n)],
    );
}

pub(super) fn mask_after_first<E: Exec>(
    gpu: &Gpu<E>,
    dy: &Buf<f32>,
    first: &Buf<u32>,
    t: usize,
    n: usize,
    out: &mut Buf<f32>,
) {
    let pdy = gpu.inp(dy, t * n, "mask_after_first dy");
    let pf = gpu.inp(first, n, "mask_after_first first");
    let po = gpu.out(out, t * n);
    gpu.run(
        "mask_after_first",
        t * n,
        &[Arg::Ptr(pdy), Arg::Ptr(pf), Arg::Ptr(po), int(t), int(n)],
    );
}
