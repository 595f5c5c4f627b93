//! The neuron (`integrate_fire.cu`): integrate-and-fire over the steps, one thread per
//! neuron, on a current given per step or once for all steps, and the gradients.

use super::launch::{flag, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::{Buf, IfParams};
use crate::surrogate::SurrogateKind;

fn surrogate_kind(k: SurrogateKind) -> Arg {
    // The integer codes of the .cu sources (integrate_fire.cu).
    Arg::Int(match k {
        SurrogateKind::Sigmoid => 0,
        SurrogateKind::Atan => 1,
        SurrogateKind::Triangle => 2,
        SurrogateKind::Rectangle => 3,
    })
}

pub(super) fn forward<E: Exec>(
    gpu: &Gpu<E>,
    p: &IfParams,
    t: usize,
    n: usize,
    cur: &Buf<f32>,
    s: &mut Buf<f32>,
    v: &mut Buf<f32>,
) {
    let pc = gpu.inp(cur, t * n, "if_forward cur");
    let ps = gpu.out(s, t * n);
    let pv = gpu.out(v, t * n);
    gpu.run(
        "if_forward",
        n,
        &[
            Arg::Ptr(pc),
            Arg::Ptr(ps),
            Arg::Ptr(pv),
            int(t),
            int(n),
            surrogate_kind(p.surrogate.kind),
            Arg::F32(p.surrogate.alpha),
            Arg::F32(p.surrogate.band),
            flag(p.fire_once),
            flag(p.mask_grad),
            flag(p.smooth),
        ],
    );
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<E: Exec>(
    gpu: &Gpu<E>,
    p: &IfParams,
    t: usize,
    n: usize,
    s: &Buf<f32>,
    v: &Buf<f32>,
    ds: &Buf<f32>,
    dcur: &mut Buf<f32>,
) {
    let ps = gpu.inp(s, t * n, "if_backward s");
    let pv = gpu.inp(v, t * n, "if_backward v");
    let pds = gpu.inp(ds, t * n, "if_backward ds");
    let pd = gpu.out(dcur, t * n);
    gpu.run(
        "if_backward",
        n,
        &[
            Arg::Ptr(ps),
            Arg::Ptr(pv),
            Arg::Ptr(pds),
            Arg::Ptr(pd),
            int(t),
            int(n),
            surrogate_kind(p.surrogate.kind),
            Arg::F32(p.surrogate.alpha),
            Arg::F32(p.surrogate.band),
            flag(p.fire_once),
            flag(p.mask_grad),
            flag(p.smooth),
        ],
    );
}

pub(super) fn forward_constant<E: Exec>(
    gpu: &Gpu<E>,
    p: &IfParams,
    t: usize,
    n: usize,
    c: &Buf<f32>,
    s: &mut Buf<f32>,
) {
    assert!(
        crate::kernels::constant_input_supported(p, t),
        "if_forward_constant: {p:?} t={t}"
    );
    let pc = gpu.inp(c, n, "if_forward_constant c");
    let ps = gpu.out(s, t * n);
    gpu.run(
        "if_forward_constant",
        n,
        &[
            Arg::Ptr(pc),
            Arg::Ptr(ps),
            int(t),
            int(n),
            surrogate_kind(p.surrogate.kind),
            Arg::F32(p.surrogate.alpha),
            Arg::F32(p.surrogate.band),
            flag(p.smooth),
        ],
    );
}

pub(super) fn backward_constant<E: Exec>(
    gpu: &Gpu<E>,
    p: &IfParams,
    t: usize,
    n: usize,
    c: &Buf<f32>,
    ds: &Buf<f32>,
    dc: &mut Buf<f32>,
) {
    assert!(
        crate::kernels::constant_input_supported(p, t),
        "if_backward_constant: {p:?} t={t}"
    );
    let pc = gpu.inp(c, n, "if_backward_constant c");
    let pds = gpu.inp(ds, t * n, "if_backward_constant ds");
    let pd = gpu.out(dc, n);
    gpu.run(
        "if_backward_constant",
        n,
        &[
            Arg::Ptr(pc),
            Arg::Ptr(pds),
            Arg::Ptr(pd),
            int(t),
            int(n),
            surrogate_kind(p.surrogate.kind),
            Arg::F32(p.surrogate.alpha),
            Arg::F32(p.surrogate.band),
            flag(p.smooth),
        ],
    );
}
