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

pub mod emu;

#[cfg(feature = "cuda")]
pub mod cuda;

use super::{
    AdamStep, Buf, ConvGeom, Device, Elem, Events, IfParams, ImageGather, Kernels, PoolGeom,
    SgdStep, PLACEMENT_LEN,
};
use crate::surrogate::SurrogateKind;
use std::ffi::c_void;
use std::sync::Mutex;

// `pub const KERNEL_NAMES: &[&str]`: every kernel of the `.cu` sources (written by build.rs).
include!(concat!(env!("OUT_DIR"), "/gpu_kernel_names.rs"));

/// Threads per block of every launch (1-D launches only).
pub const BLOCK: usize = 256;

/// `sum_squares`: elements per partial sum (a constant, so the bits do not depend on the
/// device).
const SUM_SQUARES_CHUNK: usize = 4096;

/// Convolution: the im2col columns and the channel-major output of one chunk of frames take
/// at most this many floats together (256 MiB).
const CONV_SCRATCH_FLOATS: usize = 64 << 20;

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

    /// Runs `kernel` on `threads` threads: a 1-D launch, block [`BLOCK`], grid
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

/// One kernel argument.
#[derive(Clone, Copy)]
enum Arg {
    /// A device pointer (`float*`, `const unsigned int*`, ...).
    Ptr(u64),
    /// `int` (sizes and 0/1 flags).
    Int(i32),
    /// `float`.
    F32(f32),
}

/// A size as a kernel's `int` argument.
fn int(x: usize) -> Arg {
    Arg::Int(i32::try_from(x).unwrap_or_else(|_| {
        panic!("GPU backend: size {x} does not fit the kernels' 32-bit int arguments")
    }))
}

fn flag(b: bool) -> Arg {
    Arg::Int(b as i32)
}

fn surrogate_kind(k: SurrogateKind) -> Arg {
    // The integer codes of the .cu sources (integrate_fire.cu).
    Arg::Int(match k {
        SurrogateKind::Sigmoid => 0,
        SurrogateKind::Atan => 1,
        SurrogateKind::Triangle => 2,
        SurrogateKind::Rectangle => 3,
    })
}

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
}

impl Scratch {
    const fn new() -> Self {
        Scratch {
            col: Buf::Host(Vec::new()),
            yt: Buf::Host(Vec::new()),
            ones: Buf::Host(Vec::new()),
            partial: Buf::Host(Vec::new()),
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

    /// Launches `kernel` on `threads` threads with `args` (in the kernel's order).
    fn run(&self, kernel: &str, threads: usize, args: &[Arg]) {
        if threads == 0 {
            return;
        }
        const MAX_ARGS: usize = 16;
        assert!(args.len() <= MAX_ARGS, "{kernel}: too many arguments");
        // Every argument's value in an 8-byte slot; params[i] points to slot i.
        let mut slots = [0u64; MAX_ARGS];
        let mut params = [std::ptr::null_mut::<c_void>(); MAX_ARGS];
        let base = slots.as_mut_ptr();
        for (i, a) in args.iter().enumerate() {
            // SAFETY: i < MAX_ARGS, and a u64 slot is large and aligned enough for each type.
            unsafe {
                let p = base.add(i);
                match *a {
                    Arg::Ptr(v) => p.write(v),
                    Arg::Int(v) => p.cast::<i32>().write(v),
                    Arg::F32(v) => p.cast::<f32>().write(v),
                }
                params[i] = p.cast();
            }
        }
        self.exec.launch(kernel, threads, &mut params[..args.len()]);
    }

    /// The row-major product of [`Kernels::gemm`] on addresses, mapped onto the column-major
    /// SGEMM: a row-major `[r, c]` matrix is the column-major `c x r` matrix, its transpose,
    /// so `C = op(A) op(B)` is computed as `C^T = op(B)^T op(A)^T`.
    #[allow(clippy::too_many_arguments)]
    fn gemm_at(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: u64,
        a_t: bool,
        b: u64,
        b_t: bool,
        beta: f32,
        c: u64,
    ) {
        if m == 0 || n == 0 {
            return;
        }
        // op(B)^T is n x k: B stored [k, n] is column-major n x k (as is); stored [n, k] is
        // column-major k x n (transposed).
        let (ldb, lda) = (if b_t { k } else { n }, if a_t { m } else { k });
        self.exec.sgemm(
            b_t,
            a_t,
            n,
            m,
            k,
            1.0,
            b,
            ldb.max(1),
            a,
            lda.max(1),
            beta,
            c,
            n,
        );
    }

    /// Frames per convolution chunk: the columns and the channel-major output of a chunk fit
    /// the scratch limit. A function of the geometry only.
    fn conv_chunk(&self, g: &ConvGeom) -> usize {
        let p = g.out_h() * g.out_w();
        let per_frame = (g.patch_len() + g.out_c) * p;
        (self.conv_scratch / per_frame.max(1)).max(1)
    }

    /// The arguments shared by `im2col` and `col2im` after the two pointers.
    fn im2col_geom(g: &ConvGeom, frames: usize) -> [Arg; 9] {
        [
            int(frames),
            int(g.in_c),
            int(g.in_h),
            int(g.in_w),
            int(g.k),
            int(g.stride),
            int(g.pad),
            int(g.out_h()),
            int(g.out_w()),
        ]
    }

    fn pool_geom(g: &PoolGeom, frames: usize) -> [Arg; 6] {
        [
            int(frames),
            int(g.c),
            int(g.in_h),
            int(g.in_w),
            int(g.k),
            int(g.stride),
        ]
    }
}

/// `args![a, b; rest]`: a `Vec<Arg>` of single arguments followed by the items of arrays.
macro_rules! args {
    ($($a:expr),* $(; $($rest:expr),+)?) => {{
        #[allow(unused_mut)]
        let mut v: Vec<Arg> = vec![$($a),*];
        $($(v.extend_from_slice(&$rest);)+)?
        v
    }};
}

impl<E: Exec> Kernels for Gpu<E> {
    fn name(&self) -> &'static str {
        self.exec.name()
    }

    fn device(&self) -> Device {
        self.exec.device()
    }
    fn synchronize(&self) {
        self.exec.synchronize()
    }

    // ---- products -------------------------------------------------------------------

    fn gemm(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: &Buf<f32>,
        a_t: bool,
        b: &Buf<f32>,
        b_t: bool,
        beta: f32,
        c: &mut Buf<f32>,
    ) {
        let (pa, pb) = (self.inp(a, m * k, "gemm a"), self.inp(b, k * n, "gemm b"));
        let pc = self.inout(c, m * n, "gemm c");
        self.gemm_at(m, k, n, pa, a_t, pb, b_t, beta, pc);
    }

    /// Dense products are faster on a GPU than gathering events: never.
    fn collect_events(
        &self,
        _x: &Buf<f32>,
        _rows: usize,
        _cols: usize,
        _max_density: f32,
        _out: &mut Events,
    ) -> bool {
        false
    }

    fn step_change_events(
        &self,
        _x: &Buf<f32>,
        _t: usize,
        _rows: usize,
        _cols: usize,
        _max_density: f32,
        _out: &mut Events,
    ) -> bool {
        false
    }

    fn reverse_cumsum_steps(&self, _x: &mut Buf<f32>, _t: usize, _n: usize) {
        unreachable!("the GPU backend never collects step changes (step_change_events is false)")
    }

    fn transpose_events(&self, _a: &Events, _out: &mut Events) {
        unreachable!("the GPU backend never collects events (collect_events is false), so layers never transpose them")
    }

    fn gemm_events(
        &self,
        _a: &Events,
        _n: usize,
        _b: &Buf<f32>,
        _b_t: bool,
        _c: &mut Buf<f32>,
        _c_t: bool,
    ) {
        unreachable!("the GPU backend never collects events (collect_events is false), so layers never multiply them")
    }

    // x is [frames, in_c*in_h*in_w], w is [out_c, patch_len], y is [frames, out_c*P]
    //
    // Per chunk of frames: col[PL, f*P + p] = im2col(x), yt[OC, f*P + p] = w . col, then
    // y[f, o, p] = yt[o, f*P + p] + bias[o].
    fn conv2d_forward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &Buf<f32>,
        w: &Buf<f32>,
        bias: &Buf<f32>,
        y: &mut Buf<f32>,
    ) {
        let (pl, p, il, ol, oc) = (
            g.patch_len(),
            g.out_h() * g.out_w(),
            g.in_len(),
            g.out_len(),
            oc_of(g),
        );
        let px = self.inp(x, frames * il, "conv x");
        let pw = self.inp(w, oc * pl, "conv w");
        let pbias = self.inp(bias, oc, "conv bias");
        let py = self.out(y, frames * ol);
        let chunk = self.conv_chunk(g);
        let dev = self.exec.device();
        let mut s = self.scratch();
        let Scratch { col, yt, .. } = &mut *s;
        col.resize_for_overwrite(dev, pl * chunk.min(frames) * p);
        yt.resize_for_overwrite(dev, oc * chunk.min(frames) * p);
        let (pcol, pyt) = (self.exec.addr_mut(col), self.exec.addr_mut(yt));
        for f0 in (0..frames).step_by(chunk) {
            let fc = chunk.min(frames - f0);
            let xf = px + (f0 * il * 4) as u64;
            self.run(
                "im2col",
                pl * fc * p,
                &args![Arg::Ptr(xf), Arg::Ptr(pcol); Self::im2col_geom(g, fc)],
            );
            // yt[OC, fc*P] = w[OC, PL] . col[PL, fc*P]
            self.gemm_at(oc, pl, fc * p, pw, false, pcol, false, 0.0, pyt);
            self.run(
                "channels_to_frames",
                fc * oc * p,
                &args![
                    Arg::Ptr(pyt),
                    Arg::Ptr(pbias),
                    Arg::Ptr(py + (f0 * ol * 4) as u64),
                    int(fc),
                    int(oc),
                    int(p)
                ],
            );
        }
    }

    fn conv2d_forward_events(
        &self,
        _g: &ConvGeom,
        _x: &Events,
        _w: &Buf<f32>,
        _bias: &Buf<f32>,
        _y: &mut Buf<f32>,
    ) {
        unreachable!("the GPU backend never collects events (collect_events is false), so convolutions never run on them")
    }

    fn conv2d_input_grad_changes(
        &self,
        _g: &ConvGeom,
        _t: usize,
        _d: &Events,
        _w: &Buf<f32>,
        _dx: &mut Buf<f32>,
    ) {
        unreachable!("the GPU backend never collects step changes (step_change_events is false), so convolutions never take their input gradient over them")
    }

    // dy is [frames, out_c*P]; dw [out_c, PL] and dbias [out_c] overwritten; dx [frames, in_len]
    //
    // Per chunk: yt[OC, fc*P] = dy as channels; dw (+)= yt . col^T (beta 1 after the first
    // chunk); dbias (+)= row sums of yt; dcol[PL, fc*P] = w^T . yt, dx = col2im(dcol).
    fn conv2d_backward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &Buf<f32>,
        x_events: Option<&Events>,
        w: &Buf<f32>,
        dy: &Buf<f32>,
        dw: &mut Buf<f32>,
        dbias: &mut Buf<f32>,
        dx: Option<&mut Buf<f32>>,
    ) {
        assert!(
            x_events.is_none(),
            "the GPU backend never collects events (collect_events is false)"
        );
        let (pl, p, il, ol, oc) = (
            g.patch_len(),
            g.out_h() * g.out_w(),
            g.in_len(),
            g.out_len(),
            oc_of(g),
        );
        let px = self.inp(x, frames * il, "conv x");
        let pw = self.inp(w, oc * pl, "conv w");
        let pdy = self.inp(dy, frames * ol, "conv dy");
        let pdw = self.out(dw, oc * pl);
        let pdb = self.out(dbias, oc);
        let pdx = dx.map(|d| self.out(d, frames * il));
        if frames == 0 {
            self.run(
                "fill",
                oc * pl,
                &[Arg::Ptr(pdw), Arg::F32(0.0), int(oc * pl)],
            );
            self.run("fill", oc, &[Arg::Ptr(pdb), Arg::F32(0.0), int(oc)]);
            return;
        }
        let chunk = self.conv_chunk(g);
        let dev = self.exec.device();
        let mut s = self.scratch();
        let Scratch { col, yt, ones, .. } = &mut *s;
        col.resize_for_overwrite(dev, pl * chunk.min(frames) * p);
        yt.resize_for_overwrite(dev, oc * chunk.min(frames) * p);
        let n_ones = chunk.min(frames) * p;
        ones.resize_for_overwrite(dev, n_ones);
        let (pcol, pyt, pones) = (
            self.exec.addr_mut(col),
            self.exec.addr_mut(yt),
            self.exec.addr_mut(ones),
        );
        self.run(
            "fill",
            n_ones,
            &[Arg::Ptr(pones), Arg::F32(1.0), int(n_ones)],
        );
        for (ci, f0) in (0..frames).step_by(chunk).enumerate() {
            let fc = chunk.min(frames - f0);
            self.run(
                "frames_to_channels",
                fc * oc * p,
                &args![
                    Arg::Ptr(pdy + (f0 * ol * 4) as u64),
                    Arg::Ptr(pyt),
                    int(fc),
                    int(oc),
                    int(p)
                ],
            );
            self.run(
                "im2col",
                pl * fc * p,
                &args![Arg::Ptr(px + (f0 * il * 4) as u64), Arg::Ptr(pcol); Self::im2col_geom(g, fc)],
            );
            // dw[OC, PL] (+)= yt[OC, fc*P] . col[PL, fc*P]^T
            let beta = if ci == 0 { 0.0 } else { 1.0 };
            self.gemm_at(oc, fc * p, pl, pyt, false, pcol, true, beta, pdw);
            // dbias[OC] (+)= yt[OC, fc*P] . ones[fc*P]
            self.gemm_at(oc, fc * p, 1, pyt, false, pones, false, beta, pdb);
            if let Some(pdx) = pdx {
                // dcol[PL, fc*P] = w[OC, PL]^T . yt[OC, fc*P] (into col, after the dw product
                // read it: launches run in order)
                self.gemm_at(pl, oc, fc * p, pw, true, pyt, false, 0.0, pcol);
                self.run(
                    "col2im",
                    fc * il,
                    &args![Arg::Ptr(pcol), Arg::Ptr(pdx + (f0 * il * 4) as u64); Self::im2col_geom(g, fc)],
                );
            }
        }
    }

    fn fold_box(
        &self,
        w: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        folded: &mut Buf<f32>,
    ) {
        let kf = s * (pool - 1) + k;
        let pw = self.inp(w, rows * k * k, "fold_box w");
        let pf = self.out(folded, rows * kf * kf);
        self.run(
            "fold_box",
            rows * kf * kf,
            &[
                Arg::Ptr(pw),
                Arg::Ptr(pf),
                int(rows),
                int(k),
                int(s),
                int(pool),
            ],
        );
    }

    fn unfold_box_grad(
        &self,
        dfolded: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        dw: &mut Buf<f32>,
    ) {
        let kf = s * (pool - 1) + k;
        let pf = self.inp(dfolded, rows * kf * kf, "unfold_box_grad dfolded");
        let pw = self.out(dw, rows * k * k);
        self.run(
            "unfold_box_grad",
            rows * k * k,
            &[
                Arg::Ptr(pf),
                Arg::Ptr(pw),
                int(rows),
                int(k),
                int(s),
                int(pool),
            ],
        );
    }

    // ---- pooling --------------------------------------------------------------------

    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &Buf<f32>, y: &mut Buf<f32>) {
        let px = self.inp(x, frames * g.in_len(), "avg_pool x");
        let py = self.out(y, frames * g.out_len());
        self.run(
            "avg_pool_forward",
            frames * g.out_len(),
            &args![Arg::Ptr(px), Arg::Ptr(py); Self::pool_geom(g, frames)],
        );
    }

    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &Buf<f32>, dx: &mut Buf<f32>) {
        let pdy = self.inp(dy, frames * g.out_len(), "avg_pool dy");
        let pdx = self.out(dx, frames * g.in_len());
        self.run(
            "avg_pool_backward",
            frames * g.in_len(),
            &args![Arg::Ptr(pdy), Arg::Ptr(pdx); Self::pool_geom(g, frames)],
        );
    }

    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &Buf<f32>,
        y: &mut Buf<f32>,
        arg: &mut Buf<u32>,
    ) {
        let px = self.inp(x, frames * g.in_len(), "max_pool x");
        let py = self.out(y, frames * g.out_len());
        let pa = self.out(arg, frames * g.out_len());
        self.run(
            "max_pool_forward",
            frames * g.out_len(),
            &args![Arg::Ptr(px), Arg::Ptr(py), Arg::Ptr(pa); Self::pool_geom(g, frames)],
        );
    }

    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &Buf<f32>,
        arg: &Buf<u32>,
        dx: &mut Buf<f32>,
    ) {
        let pdy = self.inp(dy, frames * g.out_len(), "max_pool dy");
        let pa = self.inp(arg, frames * g.out_len(), "max_pool arg");
        let pdx = self.out(dx, frames * g.in_len());
        self.run(
            "max_pool_backward",
            frames * g.in_len(),
            &args![Arg::Ptr(pdy), Arg::Ptr(pa), Arg::Ptr(pdx); Self::pool_geom(g, frames)],
        );
    }

    fn latch_first(&self, y: &mut Buf<f32>, t: usize, n: usize, first: &mut Buf<u32>) {
        let py = self.inout(y, t * n, "latch_first y");
        let pf = self.out(first, n);
        self.run(
            "latch_first",
            n,
            &[Arg::Ptr(py), Arg::Ptr(pf), int(t), int(n)],
        );
    }

    fn mask_after_first(
        &self,
        dy: &Buf<f32>,
        first: &Buf<u32>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    ) {
        let pdy = self.inp(dy, t * n, "mask_after_first dy");
        let pf = self.inp(first, n, "mask_after_first first");
        let po = self.out(out, t * n);
        self.run(
            "mask_after_first",
            t * n,
            &[Arg::Ptr(pdy), Arg::Ptr(pf), Arg::Ptr(po), int(t), int(n)],
        );
    }

    // ---- the neuron -----------------------------------------------------------------

    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
        v: &mut Buf<f32>,
    ) {
        let pc = self.inp(cur, t * n, "if_forward cur");
        let ps = self.out(s, t * n);
        let pv = self.out(v, t * n);
        self.run(
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

    fn if_backward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        ds: &Buf<f32>,
        dcur: &mut Buf<f32>,
    ) {
        let ps = self.inp(s, t * n, "if_backward s");
        let pv = self.inp(v, t * n, "if_backward v");
        let pds = self.inp(ds, t * n, "if_backward ds");
        let pd = self.out(dcur, t * n);
        self.run(
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

    fn if_forward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        s: &mut Buf<f32>,
    ) {
        assert!(
            super::constant_input_supported(p, t),
            "if_forward_constant: {p:?} t={t}"
        );
        let pc = self.inp(c, n, "if_forward_constant c");
        let ps = self.out(s, t * n);
        self.run(
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

    fn if_backward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        ds: &Buf<f32>,
        dc: &mut Buf<f32>,
    ) {
        assert!(
            super::constant_input_supported(p, t),
            "if_backward_constant: {p:?} t={t}"
        );
        let pc = self.inp(c, n, "if_backward_constant c");
        let pds = self.inp(ds, t * n, "if_backward_constant ds");
        let pd = self.out(dc, n);
        self.run(
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

    fn crossing_time_forward(
        &self,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        w: &Buf<f32>,
        delta: &Buf<f32>,
        weff: &mut Buf<f32>,
        logits: &mut Buf<f32>,
    ) {
        let ps = self.inp(s, t * n, "crossing_time_forward s");
        let pv = self.inp(v, t * n, "crossing_time_forward v");
        let pw = self.inp(w, t, "crossing_time_forward w");
        let pd = self.inp(delta, t, "crossing_time_forward delta");
        let pe = self.out(weff, t * n);
        let pl = self.out(logits, n);
        self.run(
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

    fn crossing_time_backward(
        &self,
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
        let ps = self.inp(s, t * n, "crossing_time_backward s");
        let pv = self.inp(v, t * n, "crossing_time_backward v");
        let pd = self.inp(delta, t, "crossing_time_backward delta");
        let pe = self.inp(weff, t * n, "crossing_time_backward weff");
        let pg = self.inp(dlogits, n, "crossing_time_backward dlogits");
        let po = self.out(dout, t * n);
        let px = self.out(dextra, t * n);
        self.run(
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

    // ---- elementwise, broadcasts and reductions --------------------------------------

    fn fill(&self, dst: &mut Buf<f32>, value: f32) {
        let n = dst.len();
        let pd = self.inout(dst, n, "fill dst");
        self.run("fill", n, &[Arg::Ptr(pd), Arg::F32(value), int(n)]);
    }

    fn copy(&self, src: &Buf<f32>, dst: &mut Buf<f32>) {
        let n = src.len();
        let ps = self.inp(src, n, "copy src");
        let pd = self.out(dst, n);
        if n > 0 {
            self.exec.memcpy(pd, ps, n * 4);
        }
    }

    fn add_assign(&self, dst: &mut Buf<f32>, src: &Buf<f32>) {
        let n = dst.len();
        assert_eq!(n, src.len(), "add_assign: lengths differ");
        let ps = self.inp(src, n, "add_assign src");
        let pd = self.inout(dst, n, "add_assign dst");
        self.run("add_assign", n, &[Arg::Ptr(pd), Arg::Ptr(ps), int(n)]);
    }

    fn scale(&self, x: &mut Buf<f32>, factor: f32) {
        let n = x.len();
        let px = self.inout(x, n, "scale x");
        self.run("scale", n, &[Arg::Ptr(px), Arg::F32(factor), int(n)]);
    }

    fn repeat(&self, src: &Buf<f32>, times: usize, dst: &mut Buf<f32>) {
        let n = src.len();
        let ps = self.inp(src, n, "repeat src");
        let pd = self.out(dst, n * times);
        self.run(
            "repeat",
            n * times,
            &[Arg::Ptr(ps), Arg::Ptr(pd), int(n), int(times)],
        );
    }

    fn add_bias(&self, y: &mut Buf<f32>, bias: &Buf<f32>, rows: usize, cols: usize) {
        let pb = self.inp(bias, cols, "add_bias bias");
        let py = self.inout(y, rows * cols, "add_bias y");
        self.run(
            "add_bias",
            rows * cols,
            &[Arg::Ptr(py), Arg::Ptr(pb), int(rows), int(cols)],
        );
    }

    fn column_sums(&self, x: &Buf<f32>, rows: usize, cols: usize, out: &mut Buf<f32>) {
        let px = self.inp(x, rows * cols, "column_sums x");
        let po = self.out(out, cols);
        self.run(
            "column_sums",
            cols,
            &[Arg::Ptr(px), Arg::Ptr(po), int(rows), int(cols)],
        );
    }

    fn weighted_step_sum(
        &self,
        x: &Buf<f32>,
        w: Option<&Buf<f32>>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    ) {
        let px = self.inp(x, t * n, "weighted_step_sum x");
        let pw = w.map_or(0, |w| self.inp(w, t, "weighted_step_sum w"));
        let po = self.out(out, n);
        self.run(
            "weighted_step_sum",
            n,
            &[
                Arg::Ptr(px),
                Arg::Ptr(pw),
                Arg::Ptr(po),
                int(t),
                int(n),
                flag(w.is_some()),
            ],
        );
    }

    fn cumsum_steps(&self, x: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>) {
        let px = self.inp(x, t * n, "cumsum_steps x");
        let po = self.out(out, t * n);
        self.run(
            "cumsum_steps",
            n,
            &[Arg::Ptr(px), Arg::Ptr(po), int(t), int(n)],
        );
    }

    fn scale_steps(&self, w: &Buf<f32>, g: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>) {
        let pw = self.inp(w, t, "scale_steps w");
        let pg = self.inp(g, n, "scale_steps g");
        let po = self.out(out, t * n);
        self.run(
            "scale_steps",
            t * n,
            &[Arg::Ptr(pw), Arg::Ptr(pg), Arg::Ptr(po), int(t), int(n)],
        );
    }

    // A statistic of banded runs (`model.band`), taken on a sample of steps: counted on the
    // host from a copy.
    fn count_within(&self, x: &Buf<f32>, center: f32, half_width: f32) -> u64 {
        super::cpu::count_within(&x.to_vec(), center, half_width)
    }

    // Partial sums of SUM_SQUARES_CHUNK squares on the device, added on the host in f64.
    fn sum_squares(&self, x: &Buf<f32>) -> f64 {
        let n = x.len();
        if n == 0 {
            return 0.0;
        }
        let parts = n.div_ceil(SUM_SQUARES_CHUNK);
        let px = self.inp(x, n, "sum_squares x");
        let mut s = self.scratch();
        let pp = self.out(&mut s.partial, parts);
        self.run(
            "sum_squares_partial",
            parts,
            &[Arg::Ptr(px), Arg::Ptr(pp), int(n), int(SUM_SQUARES_CHUNK)],
        );
        s.partial.read()[..parts].iter().map(|&v| v as f64).sum()
    }

    // ---- weight normalization ----------------------------------------------------------

    fn weight_norm_forward(
        &self,
        raw: &Buf<f32>,
        gamma: &Buf<f32>,
        target_std: f32,
        rows: usize,
        n: usize,
        u: &mut Buf<f32>,
        inv_sigma: &mut Buf<f32>,
        w: &mut Buf<f32>,
    ) {
        let pr = self.inp(raw, rows * n, "weight_norm raw");
        let pg = self.inp(gamma, rows, "weight_norm gamma");
        let pu = self.out(u, rows * n);
        let pi = self.out(inv_sigma, rows);
        let pw = self.out(w, rows * n);
        self.run(
            "weight_norm_forward",
            rows,
            &[
                Arg::Ptr(pr),
                Arg::Ptr(pg),
                Arg::F32(target_std),
                Arg::Ptr(pu),
                Arg::Ptr(pi),
                Arg::Ptr(pw),
                int(rows),
                int(n),
            ],
        );
    }

    fn weight_norm_backward(
        &self,
        dw: &Buf<f32>,
        u: &Buf<f32>,
        inv_sigma: &Buf<f32>,
        gamma: &Buf<f32>,
        target_std: f32,
        rows: usize,
        n: usize,
        affine: bool,
        raw_grad: &mut Buf<f32>,
        gamma_grad: &mut Buf<f32>,
    ) {
        let pdw = self.inp(dw, rows * n, "weight_norm dw");
        let pu = self.inp(u, rows * n, "weight_norm u");
        let pi = self.inp(inv_sigma, rows, "weight_norm inv_sigma");
        let pg = self.inp(gamma, rows, "weight_norm gamma");
        let prg = self.inout(raw_grad, rows * n, "weight_norm raw_grad");
        let pgg = self.inout(
            gamma_grad,
            if affine { rows } else { 0 },
            "weight_norm gamma_grad",
        );
        self.run(
            "weight_norm_backward",
            rows,
            &[
                Arg::Ptr(pdw),
                Arg::Ptr(pu),
                Arg::Ptr(pi),
                Arg::Ptr(pg),
                Arg::F32(target_std),
                Arg::Ptr(prg),
                Arg::Ptr(pgg),
                int(rows),
                int(n),
                flag(affine),
            ],
        );
    }

    // ---- loss and optimizers -----------------------------------------------------------

    fn cross_entropy(
        &self,
        logits: &Buf<f32>,
        labels: &Buf<u32>,
        classes: usize,
        smoothing: f32,
        dlogits: &mut Buf<f32>,
        losses: &mut Buf<f32>,
    ) {
        let b = labels.len();
        let pz = self.inp(logits, b * classes, "cross_entropy logits");
        let pl = self.inp(labels, b, "cross_entropy labels");
        let pd = self.out(dlogits, b * classes);
        let ploss = self.out(losses, b);
        self.run(
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

    fn adam_update(
        &self,
        value: &mut Buf<f32>,
        grad: &Buf<f32>,
        m: &mut Buf<f32>,
        v: &mut Buf<f32>,
        s: &AdamStep,
    ) {
        let n = value.len();
        let pg = self.inp(grad, n, "adam grad");
        let pv = self.inout(value, n, "adam value");
        let pm = self.inout(m, n, "adam m");
        let pvv = self.inout(v, n, "adam v");
        self.run(
            "adam_update",
            n,
            &[
                Arg::Ptr(pv),
                Arg::Ptr(pg),
                Arg::Ptr(pm),
                Arg::Ptr(pvv),
                int(n),
                Arg::F32(s.clip),
                Arg::F32(s.l2),
                Arg::F32(s.decoupled),
                Arg::F32(s.beta1),
                Arg::F32(s.beta2),
                Arg::F32(s.eps),
                Arg::F32(s.step),
                Arg::F32(s.inv_bc2),
            ],
        );
    }

    fn sgd_update(&self, value: &mut Buf<f32>, grad: &Buf<f32>, m: &mut Buf<f32>, s: &SgdStep) {
        let n = value.len();
        let pg = self.inp(grad, n, "sgd grad");
        let pv = self.inout(value, n, "sgd value");
        let pm = self.inout(m, n, "sgd m");
        self.run(
            "sgd_update",
            n,
            &[
                Arg::Ptr(pv),
                Arg::Ptr(pg),
                Arg::Ptr(pm),
                int(n),
                Arg::F32(s.clip),
                Arg::F32(s.weight_decay),
                Arg::F32(s.momentum),
                flag(s.nesterov),
                Arg::F32(s.lr),
            ],
        );
    }

    // ---- data ------------------------------------------------------------------------

    fn gather_images(
        &self,
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
        let pd = self.exec.addr(data);
        let pi = self.inp(idx, b, "gather_images idx");
        let pp = self.inp(place, b * PLACEMENT_LEN, "gather_images place");
        let pn = self.inp(
            norm,
            if g.normalize { 2 * c } else { 0 },
            "gather_images norm",
        );
        let po = self.out(out, t * b * f);
        self.run(
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
}

fn oc_of(g: &ConvGeom) -> usize {
    g.out_c
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
