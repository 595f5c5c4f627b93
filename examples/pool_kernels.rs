//! First-spike max pooling on the Fashion-MNIST recipe's first pooling (`conv48k3p1 if fp2`:
//! 48 x 28 x 28 spike maps, batch 64, T = 8, 2x2 windows): the max pooling, the latch that
//! keeps each pooled unit's first spike, and backward (the latch's mask, the scatter to the
//! winners). Prints milliseconds per call.
//!
//!     cargo run --release --example pool_kernels [-- DENSITY]

#[path = "common/timing.rs"]
mod timing;
use ttfs::kernels::{Buf, Device, PoolGeom};
use ttfs::rng::Rng;

fn main() {
    let density: f32 = std::env::args()
        .nth(1)
        .map_or(0.05, |d| d.parse().expect("DENSITY is a number"));
    let k = Device::Cpu.kernels().expect("the CPU backend");
    let (t, b) = (8, 64);
    let g = PoolGeom {
        c: 48,
        in_h: 28,
        in_w: 28,
        k: 2,
        stride: 2,
    };
    let frames = t * b;
    let mut rng = Rng::new(0);
    let x: Buf<f32> = (0..frames * g.in_len())
        .map(|_| if rng.uniform() < density { 1.0 } else { 0.0 })
        .collect();
    let dy: Buf<f32> = (0..frames * g.out_len())
        .map(|_| rng.uniform() - 0.5)
        .collect();
    let n = b * g.out_len();
    let (mut y, mut arg, mut first) = (Buf::default(), Buf::default(), Buf::default());
    let (mut latched, mut dx) = (Buf::default(), Buf::default());
    y.resize_for_overwrite(Device::Cpu, frames * g.out_len());
    arg.resize_for_overwrite(Device::Cpu, frames * g.out_len());
    dx.resize_for_overwrite(Device::Cpu, frames * g.in_len());
    println!(
        "{}x{}x{} spike maps at density {density}, 2x2 windows, T = {t}, batch {b}, {} threads",
        g.c,
        g.in_h,
        g.in_w,
        rayon::current_num_threads()
    );
    let time = |f: &mut dyn FnMut()| timing::time_ms(9, f);
    let pool = time(&mut || k.max_pool_forward(&g, frames, &x, &mut y, &mut arg));
    // The latch does the same work on its own output (branch-free).
    let latch = time(&mut || k.latch_first(&mut y, t, n, &mut first));
    let mask = time(&mut || k.mask_after_first(&dy, &first, t, n, &mut latched));
    let back = time(&mut || k.max_pool_backward(&g, frames, &latched, &arg, &mut dx));
    println!("max pool {pool:.3} ms, latch {latch:.3}, mask {mask:.3}, backward scatter {back:.3}");
}
