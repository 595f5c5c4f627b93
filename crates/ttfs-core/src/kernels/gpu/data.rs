//! The network input of a batch of images kept on the device (`data.cu`): gathered, placed,
//! scaled, normalized and encoded in one launch.

use super::launch::{flag, int, Arg};
use super::{Exec, Gpu};
use crate::kernels::{Buf, ImageGather, PLACEMENT_LEN};

pub(super) fn gather_images<E: Exec>(
    gpu: &Gpu<E>,
    g: &ImageGather,
    data: &Buf<u32>,
    idx: &Buf<u32>,
    place: &Buf<u32>,
    norm: &Buf<f32>,
    out: &mut Buf<f32>,
) {
    let [c, h, w] = g.frame;
    let (b, f) = (g.batch, c * h * w);
    let t = if g.latency { g.time_steps } else { 1 };
    let pd = gpu.exec.addr(data);
    let pi = gpu.inp(idx, b, "gather_images idx");
    let pp = gpu.inp(place, b * PLACEMENT_LEN, "gather_images place");
    let pn = gpu.inp(
        norm,
        if g.normalize { 2 * c } else { 0 },
        "gather_images norm",
    );
    let po = gpu.out(out, t * b * f);
    gpu.run(
        "gather_images",
        b * f,
        &[
            Arg::Ptr(pd),
            Arg::Ptr(pi),
            Arg::Ptr(pp),
            Arg::Ptr(pn),
            Arg::Ptr(po),
            int(b),
            int(c),
            int(h),
            int(w),
            Arg::F32(g.scale),
            flag(g.normalize),
            flag(g.latency),
            int(g.time_steps),
            flag(g.zero_silent),
        ],
    );
}
