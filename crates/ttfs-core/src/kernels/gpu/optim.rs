//! Optimizer steps (`optim.cu`): Adam / AdamW and SGD with momentum, one thread per value.

use super::launch::{flag, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::{AdamStep, Buf, SgdStep};

pub(super) fn adam<E: Exec>(
    gpu: &Gpu<E>,
    value: &mut Buf<f32>,
    grad: &Buf<f32>,
    m: &mut Buf<f32>,
    v: &mut Buf<f32>,
    s: &AdamStep,
) {
    let n = value.len();
    let pg = gpu.inp(grad, n, "adam grad");
    let pv = gpu.inout(value, n, "adam value");
    let pm = gpu.inout(m, n, "adam m");
    let pvv = gpu.inout(v, n, "adam v");
    gpu.run(
        "adam_update",
        n,
        &[
            Arg::Ptr(pv),
            Arg::Ptr(pg),
            Arg::Ptr(pm),
            Arg::Ptr(pvv),
            int(n),
            Arg::F32(s.clip),
            Arg::F32(s.l2),
            Arg::F32(s.decoupled),
            Arg::F32(s.beta1),
            Arg::F32(s.beta2),
            Arg::F32(s.eps),
            Arg::F32(s.step),
            Arg::F32(s.inv_bc2),
        ],
    );
}

pub(super) fn sgd<E: Exec>(
    gpu: &Gpu<E>,
    value: &mut Buf<f32>,
    grad: &Buf<f32>,
    m: &mut Buf<f32>,
    s: &SgdStep,
) {
    let n = value.len();
    let pg = gpu.inp(grad, n, "sgd grad");
    let pv = gpu.inout(value, n, "sgd value");
    let pm = gpu.inout(m, n, "sgd m");
    gpu.run(
        "sgd_update",
        n,
        &[
            Arg::Ptr(pv),
            Arg::Ptr(pg),
            Arg::Ptr(pm),
            int(n),
            Arg::F32(s.clip),
            Arg::F32(s.weight_decay),
            Arg::F32(s.momentum),
            flag(s.nesterov),
            Arg::F32(s.lr),
        ],
    );
}
