//! The GPU backend: CUDA C kernels (`*.cu` beside this file, one per concept, each mirroring
//! its CPU twin in `kernels/cpu`) for everything but products, and a column-major SGEMM
//! (cuBLAS) for products and convolutions (im2col + GEMM).
//!
//! [`Gpu`] is written once against an executor [`Exec`] that launches a kernel by name and
//! runs an SGEMM. Two executors exist:
//! - [`emu::EmuExec`]: the same CUDA C compiled for the CPU by `build.rs` and run thread by
//!   thread, with a reference SGEMM (the `emu` device: tests and `selftest` without a GPU);
//! - `cuda::CudaExec` (feature `cuda`): a GPU through `cudarc` (driver API, kernels compiled
//!   by NVRTC at start, cuBLAS).
//!
//! So everything here but the executor's few calls is tested on every machine by comparing
//! the `emu` device with the CPU backend ([`super::compare`]).
//!
//! Determinism: no kernel uses atomics or reduces across threads; sums that the CPU backend
//! splits run in a fixed order here too; convolutions are split into chunks of frames whose
//! size depends only on the shape; cuBLAS SGEMM with a fixed math mode on one stream gives
//! the same bits run after run on one GPU.
//!
//! Files: [`Exec`] (`exec.rs`); [`Gpu`] and its scratch (here); how a kernel is launched
//! (`launch.rs`); the [`Kernels`] methods routed to their families (`dispatch.rs`); one file
//! per family, named as its `.cu` source: `conv.rs`, `pool.rs`, `integrate_fire.rs`,
//! `crossing_time.rs`, `elementwise.rs`, `weight_norm.rs`, `loss.rs`, `optim.rs`, `data.rs`,
//! and `gemm.rs` for products.

pub mod emu;

#[cfg(feature = "cuda")]
pub mod cuda;

mod conv;
mod crossing_time;
mod data;
mod dispatch;
mod elementwise;
mod exec;
mod gemm;
mod integrate_fire;
mod launch;
mod loss;
mod optim;
mod pool;
mod weight_norm;

pub use exec::Exec;

use super::{Buf, Elem, Kernels};
use std::sync::Mutex;

// `pub const KERNEL_NAMES: &[&str]`: every kernel of the `.cu` sources (written by build.rs).
include!(concat!(env!("OUT_DIR"), "/gpu_kernel_names.rs"));

/// Threads per block of every launch (1-D launches only).
pub const BLOCK: usize = 256;

/// Convolution: the im2col columns and the channel-major output of one chunk of frames take
/// at most this many floats together (256 MiB).
const CONV_SCRATCH_FLOATS: usize = 64 << 20;

/// Device scratch reused across calls (grown, never shrunk).
struct Scratch {
    /// im2col columns of a chunk of frames, `[patch_len, frames * P]` (also `dcol`).
    col: Buf<f32>,
    /// A chunk's output channel-major, `[out_c, frames * P]`.
    yt: Buf<f32>,
    /// Ones, `[frames * P]` of a chunk: the bias gradient is `yt . ones` (a GEMM: one thread
    /// per channel summing a whole chunk's row would leave the GPU idle).
    ones: Buf<f32>,
    /// `sum_squares` partial sums.
    partial: Buf<f32>,
    /// A neuron layer's spikes and potentials, `[t, n]`, recomputed for its backward pass
    /// (`if_backward_recomputed`), or its potentials while `if_forward_spikes` runs: one
    /// layer's at a time.
    spikes: Buf<f32>,
    potentials: Buf<f32>,
}

impl Scratch {
    const fn new() -> Self {
        Scratch {
            col: Buf::Host(Vec::new()),
            yt: Buf::Host(Vec::new()),
            ones: Buf::Host(Vec::new()),
            partial: Buf::Host(Vec::new()),
            spikes: Buf::Host(Vec::new()),
            potentials: Buf::Host(Vec::new()),
        }
    }
}

/// The GPU backend over an executor.
pub struct Gpu<E: Exec> {
    exec: E,
    scratch: Mutex<Scratch>,
    /// Floats of convolution scratch per chunk of frames ([`CONV_SCRATCH_FLOATS`]).
    conv_scratch: usize,
}

static EMULATED: Gpu<emu::EmuExec> = Gpu::new(emu::EmuExec);

/// The GPU backend emulated on the CPU (the `emu` device).
pub fn emulated() -> &'static dyn Kernels {
    &EMULATED
}

impl<E: Exec> Gpu<E> {
    pub const fn new(exec: E) -> Self {
        Self::with_conv_scratch(exec, CONV_SCRATCH_FLOATS)
    }

    /// A backend whose convolutions split frames into chunks of at most `floats` floats of
    /// scratch (tests: several chunks on small shapes).
    pub const fn with_conv_scratch(exec: E, floats: usize) -> Self {
        Gpu {
            exec,
            scratch: Mutex::new(Scratch::new()),
            conv_scratch: floats,
        }
    }

    pub fn exec(&self) -> &E {
        &self.exec
    }

    fn scratch(&self) -> std::sync::MutexGuard<'_, Scratch> {
        // A panic while the lock was held leaves nothing half-written that matters: every
        // user resizes and overwrites what it reads.
        self.scratch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `b` resized to `n` values on this device, for a kernel that writes every one; its
    /// address.
    fn out<T: Elem>(&self, b: &mut Buf<T>, n: usize) -> u64 {
        b.resize_for_overwrite(self.exec.device(), n);
        self.exec.addr_mut(b)
    }

    /// Address of an input of at least `n` values on this device.
    fn inp<T: Elem>(&self, b: &Buf<T>, n: usize, what: &str) -> u64 {
        assert!(
            b.len() >= n,
            "{}: {what} holds {} values, needs {n}",
            self.exec.name(),
            b.len()
        );
        debug_assert_eq!(b.device(), self.exec.device(), "{what} on the wrong device");
        self.exec.addr(b)
    }

    /// Address of an in-place operand of at least `n` values.
    fn inout<T: Elem>(&self, b: &mut Buf<T>, n: usize, what: &str) -> u64 {
        assert!(
            b.len() >= n,
            "{}: {what} holds {} values, needs {n}",
            self.exec.name(),
            b.len()
        );
        debug_assert_eq!(b.device(), self.exec.device(), "{what} on the wrong device");
        self.exec.addr_mut(b)
    }
}

#[cfg(test)]
mod tests;
