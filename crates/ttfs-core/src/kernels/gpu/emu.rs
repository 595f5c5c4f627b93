//! The GPU backend run on the CPU: the `.cu` kernels compiled by the C++ compiler (build.rs
//! links them in with a launcher that runs every (block, thread) in order) and a reference
//! column-major SGEMM. Buffers are [`Buf::Emu`]: host memory that only these kernels touch,
//! so a test on the `emu` device proves the model never reads a device buffer on the host.

use super::{Exec, BLOCK, KERNEL_NAMES};
use crate::kernels::{Buf, Device, Elem};
use std::ffi::{c_char, c_void, CString};

extern "C" {
    /// Runs kernel `name` on `grid` blocks of `block` threads, unpacking `params` as
    /// `cuLaunchKernel` does. Returns -1 when no kernel has that name.
    fn ttfs_emu_launch(name: *const c_char, grid: u32, block: u32, params: *mut *mut c_void)
        -> i32;
}

/// Executor of the `emu` device.
pub struct EmuExec;

impl Exec for EmuExec {
    fn name(&self) -> &'static str {
        "emu"
    }

    fn device(&self) -> Device {
        Device::Emu
    }

    fn addr<T: Elem>(&self, b: &Buf<T>) -> u64 {
        b.emu().as_ptr() as u64
    }

    fn addr_mut<T: Elem>(&self, b: &mut Buf<T>) -> u64 {
        b.emu_mut().as_mut_ptr() as u64
    }

    fn launch(&self, kernel: &str, threads: usize, params: &mut [*mut c_void]) {
        debug_assert!(
            KERNEL_NAMES.contains(&kernel),
            "no GPU kernel named {kernel}"
        );
        let grid = u32::try_from(threads.div_ceil(BLOCK)).expect("grid fits 32 bits");
        let name = CString::new(kernel).expect("kernel names have no NUL");
        // SAFETY: `params` holds one pointer per argument of `kernel` (the caller builds them
        // from the kernel's signature), each pointing to a live value of the argument's type;
        // pointer arguments address buffers of the sizes the kernel reads and writes.
        let rc = unsafe { ttfs_emu_launch(name.as_ptr(), grid, BLOCK as u32, params.as_mut_ptr()) };
        assert_eq!(rc, 0, "emulated GPU: no kernel named {kernel}");
    }

    fn sgemm(
        &self,
        transa: bool,
        transb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: u64,
        lda: usize,
        b: u64,
        ldb: usize,
        beta: f32,
        c: u64,
        ldc: usize,
    ) {
        if m == 0 || n == 0 {
            return;
        }
        // SAFETY: as cuBLAS requires, `a`, `b`, `c` address column-major matrices of the stated
        // shapes and leading dimensions (the last column needs only its rows); `c` does not
        // overlap `a` or `b`.
        let (a, b, c) = unsafe {
            let a_len = if k == 0 {
                0
            } else if transa {
                (m - 1) * lda + k
            } else {
                (k - 1) * lda + m
            };
            let b_len = if k == 0 {
                0
            } else if transb {
                (k - 1) * ldb + n
            } else {
                (n - 1) * ldb + k
            };
            (
                std::slice::from_raw_parts(a as *const f32, a_len),
                std::slice::from_raw_parts(b as *const f32, b_len),
                std::slice::from_raw_parts_mut(c as *mut f32, (n - 1) * ldc + m),
            )
        };
        sgemm_reference(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    fn memcpy(&self, dst: u64, src: u64, bytes: usize) {
        // SAFETY: the caller passes addresses of two distinct buffers holding `bytes` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, bytes) }
    }
}

/// Column-major `C = alpha op(A) op(B) + beta C` (cuBLAS's SGEMM), each element summed in `p`
/// order in f32. With `beta == 0`, `C` is not read.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_reference(
    transa: bool,
    transb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    // op(A)[i, p] and op(B)[p, j]
    let at = |i: usize, p: usize| {
        if transa {
            a[i * lda + p]
        } else {
            a[p * lda + i]
        }
    };
    let bt = |p: usize, j: usize| {
        if transb {
            b[p * ldb + j]
        } else {
            b[j * ldb + p]
        }
    };
    let mut acc = vec![0.0f32; m];
    for j in 0..n {
        acc.fill(0.0);
        for p in 0..k {
            let bpj = bt(p, j);
            for (i, s) in acc.iter_mut().enumerate() {
                *s += at(i, p) * bpj;
            }
        }
        let col = &mut c[j * ldc..j * ldc + m];
        for (cv, s) in col.iter_mut().zip(&acc) {
            *cv = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *cv
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference SGEMM against a direct sum for every transpose, with leading dimensions
    /// larger than the rows.
    #[test]
    fn sgemm_reference_matches_definition() {
        let mut rng = crate::rng::Rng::new(9);
        let (m, n, k) = (5, 4, 3);
        for (transa, transb) in [(false, false), (true, false), (false, true), (true, true)] {
            let lda = if transa { k + 2 } else { m + 1 };
            let ldb = if transb { n + 3 } else { k + 1 };
            let ldc = m + 2;
            let a: Vec<f32> = (0..lda * if transa { m } else { k })
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let b: Vec<f32> = (0..ldb * if transb { k } else { n })
                .map(|_| rng.range(-1.0, 1.0))
                .collect();
            let c0: Vec<f32> = (0..ldc * n).map(|_| rng.range(-1.0, 1.0)).collect();
            let mut c = c0.clone();
            sgemm_reference(
                transa, transb, m, n, k, 0.5, &a, lda, &b, ldb, 2.0, &mut c, ldc,
            );
            for j in 0..n {
                for i in 0..m {
                    let mut s = 0.0f64;
                    for p in 0..k {
                        let av = if transa {
                            a[i * lda + p]
                        } else {
                            a[p * lda + i]
                        };
                        let bv = if transb {
                            b[p * ldb + j]
                        } else {
                            b[j * ldb + p]
                        };
                        s += av as f64 * bv as f64;
                    }
                    let want = 0.5 * s + 2.0 * c0[j * ldc + i] as f64;
                    assert!((c[j * ldc + i] as f64 - want).abs() < 1e-5);
                }
                // rows past m in a column are left alone
                for i in m..ldc {
                    assert_eq!(c[j * ldc + i], c0[j * ldc + i]);
                }
            }
        }
    }
}
