//! Elementwise kernels, broadcasts and reductions (`elementwise.cu`): fills, copies, sums
//! over rows or steps, and the partial sums of squares for gradient clipping.

use super::launch::{flag, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::Buf;

/// `sum_squares`: elements per partial sum (a constant, so the bits do not depend on the
/// device).
const SUM_SQUARES_CHUNK: usize = 4096;

pub(super) fn fill<E: Exec>(gpu: &Gpu<E>, dst: &mut Buf<f32>, value: f32) {
    let n = dst.len();
    let pd = gpu.inout(dst, n, "fill dst");
    gpu.run("fill", n, &[Arg::Ptr(pd), Arg::F32(value), int(n)]);
}

pub(super) fn copy<E: Exec>(gpu: &Gpu<E>, src: &Buf<f32>, dst: &mut Buf<f32>) {
    let n = src.len();
    let ps = gpu.inp(src, n, "copy src");
    let pd = gpu.out(dst, n);
    if n > 0 {
        gpu.exec.memcpy(pd, ps, n * 4);
    }
}

pub(super) fn add_assign<E: Exec>(gpu: &Gpu<E>, dst: &mut Buf<f32>, src: &Buf<f32>) {
    let n = dst.len();
    assert_eq!(n, src.len(), "add_assign: lengths differ");
    let ps = gpu.inp(src, n, "add_assign src");
    let pd = gpu.inout(dst, n, "add_assign dst");
    gpu.run("add_assign", n, &[Arg::Ptr(pd), Arg::Ptr(ps), int(n)]);
}

pub(super) fn lerp<E: Exec>(gpu: &Gpu<E>, dst: &mut Buf<f32>, src: &Buf<f32>, weight: f32) {
    let n = dst.len();
    assert_eq!(n, src.len(), "lerp: lengths differ");
    let ps = gpu.inp(src, n, "lerp src");
    let pd = gpu.inout(dst, n, "lerp dst");
    gpu.run(
        "lerp",
        n,
        &[Arg::Ptr(pd), Arg::Ptr(ps), Arg::F32(weight), int(n)],
    );
}

pub(super) fn scale<E: Exec>(gpu: &Gpu<E>, x: &mut Buf<f32>, factor: f32) {
    let n = x.len();
    let px = gpu.inout(x, n, "scale x");
    gpu.run("scale", n, &[Arg::Ptr(px), Arg::F32(factor), int(n)]);
}

pub(super) fn repeat<E: Exec>(gpu: &Gpu<E>, src: &Buf<f32>, times: usize, dst: &mut Buf<f32>) {
    let n = src.len();
    let ps = gpu.inp(src, n, "repeat src");
    let pd = gpu.out(dst, n * times);
    gpu.run(
        "repeat",
        n * times,
        &[Arg::Ptr(ps), Arg::Ptr(pd), int(n), int(times)],
    );
}

pub(super) fn add_bias<E: Exec>(
    gpu: &Gpu<E>,
    y: &mut Buf<f32>,
    bias: &Buf<f32>,
    rows: usize,
    cols: usize,
) {
    let pb = gpu.inp(bias, cols, "add_bias bias");
    let py = gpu.inout(y, rows * cols, "add_bias y");
    gpu.run(
        "add_bias",
        rows * cols,
        &[Arg::Ptr(py), Arg::Ptr(pb), int(rows), int(cols)],
    );
}

pub(super) fn column_sums<E: Exec>(
    gpu: &Gpu<E>,
    x: &Buf<f32>,
    rows: usize,
    cols: usize,
    out: &mut Buf<f32>,
) {
    let px = gpu.inp(x, rows * cols, "column_sums x");
    let po = gpu.out(out, cols);
    gpu.run(
        "column_sums",
        cols,
        &[Arg::Ptr(px), Arg::Ptr(po), int(rows), int(cols)],
    );
}

pub(super) fn weighted_step_sum<E: Exec>(
    gpu: &Gpu<E>,
    x: &Buf<f32>,
    w: Option<&Buf<f32>>,
    t: usize,
    n: usize,
    out: &mut Buf<f32>,
) {
    let px = gpu.inp(x, t * n, "weighted_step_sum x");
    let pw = w.map_or(0, |w| gpu.inp(w, t, "weighted_step_sum w"));
    let po = gpu.out(out, n);
    gpu.run(
        "weighted_step_sum",
        n,
        &[
            Arg::Ptr(px),
            Arg::Ptr(pw),
            Arg::Ptr(po),
            int(t),
            int(n),
            flag(w.is_some()),
        ],
    );
}

pub(super) fn cumsum_steps<E: Exec>(
    gpu: &Gpu<E>,
    x: &Buf<f32>,
    t: usize,
    n: usize,
    out: &mut Buf<f32>,
) {
    let px = gpu.inp(x, t * n, "cumsum_steps x");
    let po = gpu.out(out, t * n);
    gpu.run(
        "cumsum_steps",
        n,
        &[Arg::Ptr(px), Arg::Ptr(po), int(t), int(n)],
    );
}

pub(super) fn scale_steps<E: Exec>(
    gpu: &Gpu<E>,
    w: &Buf<f32>,
    g: &Buf<f32>,
    t: usize,
    n: usize,
    out: &mut Buf<f32>,
) {
    let pw = gpu.inp(w, t, "scale_steps w");
    let pg = gpu.inp(g, n, "scale_steps g");
    let po = gpu.out(out, t * n);
    gpu.run(
        "scale_steps",
        t * n,
        &[Arg::Ptr(pw), Arg::Ptr(pg), Arg::Ptr(po), int(t), int(n)],
    );
}

// Partial sums of SUM_SQUARES_CHUNK squares on the device, added on the host in f64.
pub(super) fn sum_squares<E: Exec>(gpu: &Gpu<E>, x: &Buf<f32>) -> f64 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    let parts = n.div_ceil(SUM_SQUARES_CHUNK);
    let px = gpu.inp(x, n, "sum_squares x");
    let mut s = gpu.scratch();
    let pp = gpu.out(&mut s.partial, parts);
    gpu.run(
        "sum_squares_partial",
        parts,
        &[Arg::Ptr(px), Arg::Ptr(pp), int(n), int(SUM_SQUARES_CHUNK)],
    );
    s.partial.read()[..parts].iter().map(|&v| v as f64).sum()
}
