//! The GPU backend's own paths that `compare` does not reach: convolutions split into
//! several chunks of frames, and the row-major product on the column-major SGEMM.

use super::*;
use crate::kernels::{ConvGeom, Device};

fn rand(rng: &mut crate::rng::Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.range(-1.0, 1.0)).collect()
}

fn close(what: &str, a: &Buf<f32>, b: &Buf<f32>) {
    let (a, b) = (a.to_vec(), b.to_vec());
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let rms = (a.iter().map(|x| x * x).sum::<f32>() / a.len() as f32).sqrt();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * x.abs().max(rms),
            "{what}[{i}]: cpu {x} vs emu {y}"
        );
    }
}

/// A convolution split into several chunks of frames (beta = 1 across chunks, the bias
/// gradient summed over chunks, offsets into x, y and dx) agrees with the CPU backend;
/// `compare` runs shapes that fit one chunk.
#[test]
fn conv_in_several_chunks_matches_cpu() {
    let g = ConvGeom {
        in_c: 3,
        in_h: 9,
        in_w: 8,
        out_c: 5,
        k: 3,
        stride: 2,
        pad: 1,
    };
    let per_frame = (g.patch_len() + g.out_c) * g.out_h() * g.out_w();
    // Two frames a chunk: 7 frames in 4 chunks, the last one short.
    let gpu = Gpu::with_conv_scratch(emu::EmuExec, 2 * per_frame + 1);
    let cpu = &super::super::cpu::Cpu;
    assert_eq!(gpu.conv_chunk(&g), 2);
    let frames = 7;
    let mut rng = crate::rng::Rng::new(4);
    let (x, w, bias, dy) = (
        rand(&mut rng, frames * g.in_len()),
        rand(&mut rng, g.out_c * g.patch_len()),
        rand(&mut rng, g.out_c),
        rand(&mut rng, frames * g.out_len()),
    );
    let on = |d: Device, v: &Vec<f32>| Buf::from_vec(d, v.clone());
    let (c, e) = (Device::Cpu, Device::Emu);
    let (mut yc, mut ye) = (Buf::zeros(c, frames * g.out_len()), Buf::zeros(e, 0));
    cpu.conv2d_forward(&g, frames, &on(c, &x), &on(c, &w), &on(c, &bias), &mut yc);
    gpu.conv2d_forward(&g, frames, &on(e, &x), &on(e, &w), &on(e, &bias), &mut ye);
    close("y", &yc, &ye);
    let (mut dwc, mut dbc, mut dxc) = (
        Buf::zeros(c, g.out_c * g.patch_len()),
        Buf::zeros(c, g.out_c),
        Buf::zeros(c, frames * g.in_len()),
    );
    let (mut dwe, mut dbe, mut dxe) = (Buf::zeros(e, 0), Buf::zeros(e, 0), Buf::zeros(e, 0));
    cpu.conv2d_backward(
        &g,
        frames,
        &on(c, &x),
        None,
        &on(c, &w),
        &on(c, &dy),
        &mut dwc,
        &mut dbc,
        Some(&mut dxc),
    );
    gpu.conv2d_backward(
        &g,
        frames,
        &on(e, &x),
        None,
        &on(e, &w),
        &on(e, &dy),
        &mut dwe,
        &mut dbe,
        Some(&mut dxe),
    );
    close("dw", &dwc, &dwe);
    close("dbias", &dbc, &dbe);
    close("dx", &dxc, &dxe);
}

/// The row-major product mapped onto the column-major SGEMM, against a direct sum.
#[test]
fn gemm_maps_row_major_onto_column_major() {
    let gpu = Gpu::new(emu::EmuExec);
    let mut rng = crate::rng::Rng::new(6);
    let (m, k, n) = (3, 4, 5);
    let (a, b) = (rand(&mut rng, m * k), rand(&mut rng, k * n));
    for a_t in [false, true] {
        for b_t in [false, true] {
            let mut c = Buf::from_vec(Device::Emu, vec![1.0; m * n]);
            let (ea, eb) = (
                Buf::from_vec(Device::Emu, a.clone()),
                Buf::from_vec(Device::Emu, b.clone()),
            );
            gpu.gemm(m, k, n, &ea, a_t, &eb, b_t, 1.0, &mut c);
            let c = c.to_vec();
            for i in 0..m {
                for j in 0..n {
                    let want: f32 = 1.0
                        + (0..k)
                            .map(|p| {
                                let av = if a_t { a[p * m + i] } else { a[i * k + p] };
                                let bv = if b_t { b[j * k + p] } else { b[p * n + j] };
                                av * bv
                            })
                            .sum::<f32>();
                    assert!(
                        (c[i * n + j] - want).abs() < 1e-5,
                        "a_t={a_t} b_t={b_t} [{i},{j}]"
                    );
                }
            }
        }
    }
}
