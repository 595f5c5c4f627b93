//! What the GPU backend needs from a device ([`Exec`]): kernel launches by name, a
//! column-major SGEMM and a copy. [`super::emu::EmuExec`] runs them on the CPU,
//! `cuda::CudaExec` on a GPU; [`super::Gpu`] is written once against this trait.

use crate::kernels::{Buf, Device, Elem};
use std::ffi::c_void;

/// What a backend needs from a device: kernel launches, a column-major SGEMM and a copy.
/// Memory is addressed by the numbers in [`Exec::addr`] (device addresses; host addresses for
/// the emulation), which is also how a pointer argument is passed to a kernel.
pub trait Exec: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn device(&self) -> Device;

    /// Address of the first element of `b` (a buffer on [`Exec::device`]), for reading.
    fn addr<T: Elem>(&self, b: &Buf<T>) -> u64;
    /// Address of the first element of `b`, for writing.
    fn addr_mut<T: Elem>(&self, b: &mut Buf<T>) -> u64;

    /// Runs `kernel` on `threads` threads: a 1-D launch, block [`BLOCK`](super::BLOCK), grid
    /// `ceil(threads / BLOCK)` (never called with 0 threads). `params` as `cuLaunchKernel`
    /// takes them: `params[i]` points to the value of the kernel's i-th argument.
    fn launch(&self, kernel: &str, threads: usize, params: &mut [*mut c_void]);

    /// `C = alpha op(A) op(B) + beta C` on column-major matrices exactly as cuBLAS's
    /// `cublasSgemm` defines it: `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`;
    /// `transa` means `A` is stored `k x m`. With `beta == 0`, `C` is not read.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// Copies `bytes` bytes from `src` to `dst` (non-overlapping), in order with launches.
    fn memcpy(&self, dst: u64, src: u64, bytes: usize);

    /// Wait for everything queued (the emulation runs each launch to its end: nothing to do).
    fn synchronize(&self) {}
}
