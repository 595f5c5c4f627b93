//! The loss (`loss.cu`): softmax cross entropy with label smoothing, one thread per sample.

use super::launch::{int, Arg};
use super::{Exec, Gpu};
use crate::kernels::Buf;

pub(super) fn cross_entropy<E: Exec>(
    gpu: &Gpu<E>,
    logits: &Buf<f32>,
    labels: &Buf<u32>,
    classes: usize,
    smoothing: f32,
    dlogits: &mut Buf<f32>,
    losses: &mut Buf<f32>,
) {
    let b = labels.len();
    let pz = gpu.inp(logits, b * classes, "cross_entropy logits");
    let pl = gpu.inp(labels, b, "cross_entropy labels");
    let pd = gpu.out(dlogits, b * classes);
    let ploss = gpu.out(losses, b);
    gpu.run(
        "cross_entropy",
        b,
        &[
            Arg::Ptr(pz),
            Arg::Ptr(pl),
            Arg::Ptr(pd),
            Arg::Ptr(ploss),
            int(b),
            int(classes),
            Arg::F32(smoothing),
        ],
    );
}
