//! Weight normalization (`weight_norm.cu`), one thread per row of weights; the equations
//! are in `kernels/cpu/weight_norm.rs`.

use super::launch::{flag, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::Buf;

#[allow(clippy::too_many_arguments)]
pub(super) fn forward<E: Exec>(
    gpu: &Gpu<E>,
    raw: &Buf<f32>,
    gamma: &Buf<f32>,
    target_std: f32,
    rows: usize,
    n: usize,
    u: &mut Buf<f32>,
    inv_sigma: &mut Buf<f32>,
    w: &mut Buf<f32>,
) {
    let pr = gpu.inp(raw, rows * n, "weight_norm raw");
    let pg = gpu.inp(gamma, rows, "weight_norm gamma");
    let pu = gpu.out(u, rows * n);
    let pi = gpu.out(inv_sigma, rows);
    let pw = gpu.out(w, rows * n);
    gpu.run(
        "weight_norm_forward",
        rows,
        &[
            Arg::Ptr(pr),
            Arg::Ptr(pg),
            Arg::F32(target_std),
            Arg::Ptr(pu),
            Arg::Ptr(pi),
            Arg::Ptr(pw),
            int(rows),
            int(n),
        ],
    );
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<E: Exec>(
    gpu: &Gpu<E>,
    dw: &Buf<f32>,
    u: &Buf<f32>,
    inv_sigma: &Buf<f32>,
    gamma: &Buf<f32>,
    target_std: f32,
    rows: usize,
    n: usize,
    affine: bool,
    raw_grad: &mut Buf<f32>,
    gamma_grad: &mut Buf<f32>,
) {
    let pdw = gpu.inp(dw, rows * n, "weight_norm dw");
    let pu = gpu.inp(u, rows * n, "weight_norm u");
    let pi = gpu.inp(inv_sigma, rows, "weight_norm inv_sigma");
    let pg = gpu.inp(gamma, rows, "weight_norm gamma");
    let prg = gpu.inout(raw_grad, rows * n, "weight_norm raw_grad");
    let pgg = gpu.inout(
        gamma_grad,
        if affine { rows } else { 0 },
        "weight_norm gamma_grad",
    );
    gpu.run(
        "weight_norm_backward",
        rows,
        &[
            Arg::Ptr(pdw),
            Arg::Ptr(pu),
            Arg::Ptr(pi),
            Arg::Ptr(pg),
            Arg::F32(target_std),
            Arg::Ptr(prg),
            Arg::Ptr(pgg),
            int(rows),
            int(n),
            flag(affine),
        ],
    );
}
