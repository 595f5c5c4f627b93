//! Temporal decoding at the exact threshold-crossing time of fire-once output neurons
//! (`crossing_time.cu`), one thread per neuron.

use super::launch::{int, Arg};
use super::{Exec, Gpu};
use crate::kernels::Buf;

#[allow(clippy::too_many_arguments)]
pub(super) fn forward<E: Exec>(
    gpu: &Gpu<E>,
    t: usize,
    n: usize,
    s: &Buf<f32>,
    v: &Buf<f32>,
    w: &Buf<f32>,
    delta: &Buf<f32>,
    weff: &mut Buf<f32>,
    logits: &mut Buf<f32>,
) {
    let ps = gpu.inp(s, t * n, "crossing_time_forward s");
    let pv = gpu.inp(v, t * n, "crossing_time_forward v");
    let pw = gpu.inp(w, t, "crossing_time_forward w");
    let pd = gpu.inp(delta, t, "crossing_time_forward delta");
    let pe = gpu.out(weff, t * n);
    let pl = gpu.out(logits, n);
    gpu.run(
        "crossing_time_forward",
        n,
        &[
            Arg::Ptr(ps),
            Arg::Ptr(pv),
            Arg::Ptr(pw),
            Arg::Ptr(pd),
            Arg::Ptr(pe),
            Arg::Ptr(pl),
            int(t),
            int(n),
        ],
    );
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward<E: Exec>(
    gpu: &Gpu<E>,
    t: usize,
    n: usize,
    s: &Buf<f32>,
    v: &Buf<f32>,
    delta: &Buf<f32>,
    weff: &Buf<f32>,
    dlogits: &Buf<f32>,
    dout: &mut Buf<f32>,
    dextra: &mut Buf<f32>,
) {
    let ps = gpu.inp(s, t * n, "crossing_time_backward s");
    let pv = gpu.inp(v, t * n, "crossing_time_backward v");
    let pd = gpu.inp(delta, t, "crossing_time_backward delta");
    let pe = gpu.inp(weff, t * n, "crossing_time_backward weff");
    let pg = gpu.inp(dlogits, n, "crossing_time_backward dlogits");
    let po = gpu.out(dout, t * n);
    let px = gpu.out(dextra, t * n);
    gpu.run(
        "crossing_time_backward",
        n,
        &[
            Arg::Ptr(ps),
            Arg::Ptr(pv),
            Arg::Ptr(pd),
            Arg::Ptr(pe),
            Arg::Ptr(pg),
            Arg::Ptr(po),
            Arg::Ptr(px),
            int(t),
            int(n),
        ],
    );
}
