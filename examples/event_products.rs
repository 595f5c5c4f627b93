//! Dense against event-driven (TTFS-sparse) products on the MLP's shapes: prints the time of
//! each and the multiply-adds per second, over a range of input densities, so the density
//! below which a layer takes the event path (`kernels::LINEAR_EVENT_MAX_DENSITY`) is a
//! measured number.
//!
//!     cargo run --release --example event_products [-- FRAMES IN OUT]
//!     cargo run --release --example event_products -- conv
//!
//! `conv` times a convolution step (forward, and backward with the input gradient) on the
//! conv nets' second layer (32x14x14 -> 64, k3 p1, 512 frames; and 64x14x14 -> 128 folded
//! with its 2x2 pooling, k4 s2 p1) at densities on both sides of
//! `kernels::CONV_EVENT_MAX_DENSITY`, where the kernel switches between its two paths.
//!
//!     cargo run --release --example event_products -- dx [T]
//!
//! `dx` times a convolution's input gradient on the bench net's conv2 and the CIFAR VGG's
//! layers, dense against over the step changes of its output gradient (a banded surrogate's:
//! collection, transposed convolution of the events, running sum over steps) at change
//! densities on both sides of `kernels::CONV_CHANGE_MAX_DENSITY`.

#[path = "common/timing.rs"]
mod timing;
use ttfs::kernels::{
    Buf, ConvGeom, Device, Events, Kernels, CONV_CHANGE_MAX_DENSITY, CONV_EVENT_MAX_DENSITY,
};
use ttfs::rng::Rng;

/// Median of 15 runs.
fn time_ms(f: impl FnMut()) -> f64 {
    timing::time_ms(15, f)
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("conv") {
        return conv_threshold();
    }
    if std::env::args().nth(1).as_deref() == Some("vgg") {
        return vgg_layers();
    }
    if std::env::args().nth(1).as_deref() == Some("dx") {
        let t = std::env::args()
            .nth(2)
            .map_or(8, |a| a.parse().expect("T is a number"));
        return input_gradients(t);
    }
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("FRAMES IN OUT are numbers"))
        .collect();
    let (frames, n_in, n_out) = match args[..] {
        [f, i, o] => (f, i, o),
        _ => (8 * 64, 784, 400),
    };
    let k: &dyn Kernels = Device::Cpu.kernels().unwrap();
    let mut rng = Rng::new(0);
    let w: Buf<f32> = (0..n_out * n_in).map(|_| rng.uniform() - 0.5).collect();
    let dy: Buf<f32> = (0..frames * n_out).map(|_| rng.uniform() - 0.5).collect();
    let (mut y, mut dw): (Buf<f32>, Buf<f32>) = (
        vec![0.0; frames * n_out].into(),
        vec![0.0; n_out * n_in].into(),
    );
    println!(
        "x [{frames}, {n_in}] spikes, W [{n_out}, {n_in}], {} threads; dense MACs per product {:.1}M",
        rayon::current_num_threads(),
        (frames * n_in * n_out) as f64 / 1e6
    );
    println!("density  fwd dense  fwd events   dW dense   dW events   (ms; events GMAC/s fwd, dW)");
    // DENSITY=0.125 times one density only (for profiling).
    let densities = match std::env::var("DENSITY") {
        Ok(d) => vec![d.parse::<f32>().expect("DENSITY is a number")],
        Err(_) => vec![0.01f32, 0.02, 0.05, 0.0625, 0.125, 0.25, 0.5],
    };
    for density in densities {
        let x: Buf<f32> = (0..frames * n_in)
            .map(|_| if rng.uniform() < density { 1.0 } else { 0.0 })
            .collect();
        let fd = time_ms(|| k.gemm(frames, n_in, n_out, &x, false, &w, true, 0.0, &mut y));
        let mut e = Events::default();
        let mut et = Events::default();
        let fe = time_ms(|| {
            k.collect_events(&x, frames, n_in, 1.0, &mut e);
            k.gemm_events(&e, n_out, &w, true, &mut y, false)
        });
        let bd = time_ms(|| k.gemm(n_out, frames, n_in, &dy, true, &x, false, 0.0, &mut dw));
        let be = time_ms(|| {
            k.transpose_events(&e, &mut et);
            k.gemm_events(&et, n_out, &dy, false, &mut dw, true)
        });
        if std::env::var("SPLIT").is_ok() {
            let c = time_ms(|| {
                k.collect_events(&x, frames, n_in, 1.0, &mut e);
            });
            let g = time_ms(|| k.gemm_events(&e, n_out, &w, true, &mut y, false));
            let t = time_ms(|| k.transpose_events(&e, &mut et));
            let g2 = time_ms(|| k.gemm_events(&et, n_out, &dy, false, &mut dw, true));
            println!("split: collect {c:.3} gemm {g:.3} transpose {t:.3} gemm_t {g2:.3}");
        }
        let macs = density as f64 * (frames * n_in * n_out) as f64;
        println!(
            "{density:7.4}  {fd:9.3}  {fe:10.3}  {bd:9.3}  {be:10.3}   ({:.1}, {:.1})",
            macs / fe / 1e6,
            macs / be / 1e6
        );
    }
}

fn conv_threshold() {
    // A 3x3 conv (32 -> 64 channels at 14x14), the bench net's conv2 with its 2x2 average
    // pooling folded in (4x4 kernel, stride 2; see crates/ttfs-nn/src/layers/conv2d.rs), the Fashion-MNIST
    // recipe's conv2, and a wider conv2 with its pooling folded in.
    let geoms = [
        // the bench net's conv1 on latency-coded 28x28 images, its 2x2 pooling folded in
        ConvGeom {
            in_c: 1,
            in_h: 28,
            in_w: 28,
            out_c: 32,
            k: 4,
            stride: 2,
            pad: 1,
        },
        ConvGeom {
            in_c: 32,
            in_h: 14,
            in_w: 14,
            out_c: 64,
            k: 3,
            stride: 1,
            pad: 1,
        },
        ConvGeom {
            in_c: 32,
            in_h: 14,
            in_w: 14,
            out_c: 64,
            k: 4,
            stride: 2,
            pad: 1,
        },
        // the Fashion-MNIST recipe's conv2 (48 -> 96 channels after first-spike pooling)
        ConvGeom {
            in_c: 48,
            in_h: 14,
            in_w: 14,
            out_c: 96,
            k: 3,
            stride: 1,
            pad: 1,
        },
        ConvGeom {
            in_c: 64,
            in_h: 14,
            in_w: 14,
            out_c: 128,
            k: 4,
            stride: 2,
            pad: 1,
        },
    ];
    for g in geoms {
        conv_densities(g);
    }
}

/// The CIFAR-10 VGG's convolutions after its first (`configs/cifar10.toml`: 64-64-128-128-
/// 256-256 channels, 3x3, 2x2 average pooling after every second one, folded in as a 4x4
/// stride-2 kernel), where the firing calibration leaves about 6% of (step, unit) entries
/// spiking (half the units, once in 8 steps).
fn vgg_layers() {
    let g = vgg_geom;
    for geom in [
        g(64, 32, 64, true),
        g(64, 16, 128, false),
        g(128, 16, 128, true),
        g(128, 8, 256, false),
        g(256, 8, 256, true),
    ] {
        conv_densities(geom);
    }
}

fn conv_densities(g: ConvGeom) {
    let (frames, k): (usize, &dyn Kernels) = (8 * 64, Device::Cpu.kernels().unwrap());
    let mut rng = Rng::new(0);
    let (il, ol, kk) = (g.in_len(), g.out_len(), g.patch_len());
    let w: Buf<f32> = (0..g.out_c * kk).map(|_| rng.uniform() - 0.5).collect();
    let bias: Buf<f32> = vec![0.0f32; g.out_c].into();
    let dy: Buf<f32> = (0..frames * ol).map(|_| rng.uniform() - 0.5).collect();
    let (mut y, mut dw, mut db): (Buf<f32>, Buf<f32>, Buf<f32>) = (
        vec![0.0; frames * ol].into(),
        vec![0.0; g.out_c * kk].into(),
        vec![0.0; g.out_c].into(),
    );
    let mut dx: Buf<f32> = vec![0.0f32; frames * il].into();
    println!(
        "conv {}x{}x{} -> {} k{} s{} p{}, {frames} frames, {} threads; event path up to density {}",
        g.in_c,
        g.in_h,
        g.in_w,
        g.out_c,
        g.k,
        g.stride,
        g.pad,
        rayon::current_num_threads(),
        CONV_EVENT_MAX_DENSITY
    );
    println!("density  fwd dense  fwd events  bwd dense  bwd events  (dW only)   (ms; events: collected in forward)");
    let mut ev = Events::default();
    for density in [0.01f32, 0.05, 0.09, 0.125, 0.149, 0.151, 0.2, 0.25] {
        let x: Buf<f32> = (0..frames * il)
            .map(|_| if rng.uniform() < density { 1.0 } else { 0.0 })
            .collect();
        let fd = time_ms(|| k.conv2d_forward(&g, frames, &x, &w, &bias, &mut y));
        let fe = time_ms(|| {
            assert!(k.collect_events(&x, frames, il, 1.0, &mut ev));
            k.conv2d_forward_events(&g, &ev, &w, &bias, &mut y)
        });
        let mut backward = |ev: Option<&Events>, with_dx: bool| {
            time_ms(|| {
                let dx = with_dx.then_some(&mut dx);
                k.conv2d_backward(&g, frames, &x, ev, &w, &dy, &mut dw, &mut db, dx)
            })
        };
        let bd = backward(None, true);
        let (be, bw) = (backward(Some(&ev), true), backward(Some(&ev), false));
        println!("{density:7.3}  {fd:9.2}  {fe:10.2}  {bd:9.2}  {be:10.2}  {bw:9.2}");
    }
}

/// The input gradient, dense against over step changes, at `t` steps of batch 64.
fn input_gradients(t: usize) {
    let g = vgg_geom;
    let (b, k): (usize, &dyn Kernels) = (64, Device::Cpu.kernels().unwrap());
    for geom in [
        g(32, 14, 64, true),
        g(64, 32, 64, true),
        g(64, 16, 128, false),
        g(256, 8, 256, true),
    ] {
        let (frames, il, ol, kk) = (t * b, geom.in_len(), geom.out_len(), geom.patch_len());
        println!(
            "conv {}x{}x{} -> {} k{} s{}, T = {t}, batch {b}, {} threads; changes path up to density {}",
            geom.in_c, geom.in_h, geom.in_w, geom.out_c, geom.k, geom.stride,
            rayon::current_num_threads(), CONV_CHANGE_MAX_DENSITY
        );
        println!("density  dense dx  changes dx  (ms: backward with dx minus without; changes: collection included)");
        let mut rng = Rng::new(0);
        let w: Buf<f32> = (0..geom.out_c * kk).map(|_| rng.uniform() - 0.5).collect();
        let x: Buf<f32> = (0..frames * il)
            .map(|_| if rng.uniform() < 0.05 { 1.0 } else { 0.0 })
            .collect();
        let mut xev = Events::default();
        assert!(k.collect_events(&x, frames, il, 1.0, &mut xev));
        let (mut dw, mut db): (Buf<f32>, Buf<f32>) = (
            vec![0.0; geom.out_c * kk].into(),
            vec![0.0; geom.out_c].into(),
        );
        let mut dx: Buf<f32> = vec![0.0f32; frames * il].into();
        let mut changes = Events::default();
        for density in [0.01f32, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2] {
            // dy[k] = sum_{j >= k} q[j], q nonzero at `density` of the entries
            let n = b * ol;
            let mut dy = vec![0.0f32; frames * ol];
            for s in (0..t).rev() {
                for i in 0..n {
                    let q = if rng.uniform() < density {
                        rng.uniform() - 0.5
                    } else {
                        0.0
                    };
                    dy[s * n + i] = q + if s + 1 < t { dy[(s + 1) * n + i] } else { 0.0 };
                }
            }
            let dy: Buf<f32> = dy.into();
            let mut backward = |with_dx: bool| {
                time_ms(|| {
                    let dx = with_dx.then_some(&mut dx);
                    k.conv2d_backward(&geom, frames, &x, Some(&xev), &w, &dy, &mut dw, &mut db, dx)
                })
            };
            let (with, without) = (backward(true), backward(false));
            let over = time_ms(|| {
                assert!(k.step_change_events(&dy, t, b, ol, 1.0, &mut changes));
                k.conv2d_input_grad_changes(&geom, t, &changes, &w, &mut dx);
            });
            println!("{density:7.3}  {:8.2}  {over:10.2}", with - without);
        }
    }
}

/// A VGG convolution: `in_c x hw x hw -> out_c`, 3x3 padded, or with a 2x2 average pooling
/// folded in (4x4, stride 2).
fn vgg_geom(in_c: usize, hw: usize, out_c: usize, pooled: bool) -> ConvGeom {
    ConvGeom {
        in_c,
        in_h: hw,
        in_w: hw,
        out_c,
        k: if pooled { 4 } else { 3 },
        stride: if pooled { 2 } else { 1 },
        pad: 1,
    }
}
