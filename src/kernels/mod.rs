//! The numeric kernels every layer is built on, behind one narrow interface.
//!
//! Layers never touch a loop over pixels or a matrix library directly: they call the
//! [`Kernels`] trait, whose CPU implementation is [`cpu::Cpu`]. A CUDA backend (cuBLAS for
//! `gemm`, NVRTC kernels for the rest, through `cudarc`) implements the same trait without
//! touching layer code. Buffers are plain host slices today; a device backend will carry its
//! own storage type behind the same operations.
//!
//! Shapes: `frames` is the number of independent frames (`T*B`, time folded into the batch);
//! maps inside a frame are row-major `[C, H, W]`.

pub mod cpu;
mod events;

pub use events::Events;

use crate::surrogate::Surrogate;

/// Geometry of a 2-D convolution over `[C, H, W]` frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub in_c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    pub fn out_h(&self) -> usize {
        (self.in_h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.in_w + 2 * self.pad - self.k) / self.stride + 1
    }
    /// Rows of the im2col matrix: one per weight of an output channel.
    pub fn patch_len(&self) -> usize {
        self.in_c * self.k * self.k
    }
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }
}

/// Geometry of a 2-D pooling window (no padding; trailing rows/columns that do not fill a
/// window are dropped, as in PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    pub c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub k: usize,
    pub stride: usize,
}

impl PoolGeom {
    pub fn out_h(&self) -> usize {
        (self.in_h - self.k) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.in_w - self.k) / self.stride + 1
    }
    pub fn in_len(&self) -> usize {
        self.c * self.in_h * self.in_w
    }
    pub fn out_len(&self) -> usize {
        self.c * self.out_h() * self.out_w()
    }
}

/// Parameters of the integrate-and-fire kernel (threshold 1, no leak).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IfParams {
    pub surrogate: Surrogate,
    /// Each neuron fires at most once (TTFS). When false the neuron may fire repeatedly and
    /// is reset by subtraction (used only by the spike-count decoder's output layer).
    pub fire_once: bool,
    /// Let the gradient flow through the fire-once mask `1 - sum_{k<t} s[k]`.
    pub mask_grad: bool,
    /// Replace the Heaviside step by the surrogate's smooth primitive in forward (gradient
    /// checks only: spikes are then real numbers, not events).
    pub smooth: bool,
}

pub trait Kernels: Sync + Send {
    fn name(&self) -> &'static str;

    /// `c[m, n] = a[m, k] . b[k, n] + beta * c`. `a` is stored row-major `[m, k]`, or `[k, m]`
    /// when `a_t` (its transpose is used); likewise `b` is `[k, n]`, or `[n, k]` when `b_t`.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        a_t: bool,
        b: &[f32],
        b_t: bool,
        beta: f32,
        c: &mut [f32],
    );

    /// The nonzeros of `x` (`[rows, cols]`) into `out`, whose buffers are reused.
    fn collect_events(&self, x: &[f32], rows: usize, cols: usize, out: &mut Events);

    /// The events of `a^T` into `out`.
    fn transpose_events(&self, a: &Events, out: &mut Events);

    /// `c = a . op(b)` visiting only the events of `a` (`[m, k]`): `b` is stored `[k, n]`,
    /// or `[n, k]` when `b_t`; `c` is `[m, n]`, or `[n, m]` when `c_t` (so a weight
    /// gradient comes out in the weights' layout); `c` is overwritten.
    fn gemm_events(&self, a: &Events, n: usize, b: &[f32], b_t: bool, c: &mut [f32], c_t: bool);

    /// Fraction of nonzero values (decides between dense and event-driven products).
    fn density(&self, x: &[f32]) -> f32;

    /// `y[f] = conv(x[f], w) + bias` for every frame `f`. `x` is `[frames, in_len]`, `w` is
    /// `[out_c, patch_len]`, `y` is `[frames, out_len]`.
    fn conv2d_forward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        y: &mut [f32],
    );

    /// Gradients of [`Kernels::conv2d_forward`]: `dw` (`[out_c, patch_len]`, overwritten),
    /// `dbias` (`[out_c]`, overwritten) and, when given, `dx` (`[frames, in_len]`, overwritten).
    #[allow(clippy::too_many_arguments)]
    fn conv2d_backward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        dw: &mut [f32],
        dbias: &mut [f32],
        dx: Option<&mut [f32]>,
    );

    /// Mean over each window. `x` is `[frames, in_len]`, `y` is `[frames, out_len]`.
    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &[f32], y: &mut [f32]);
    /// `dx` (overwritten) from `dy`.
    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &[f32], dx: &mut [f32]);

    /// Max over each window; `arg` receives the index (within the frame) of the winner.
    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &[f32],
        y: &mut [f32],
        arg: &mut [u32],
    );
    /// Routes `dy` to the winners; `dx` is overwritten.
    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &[f32],
        arg: &[u32],
        dx: &mut [f32],
    );

    /// Integrate-and-fire over `t` steps for `n` independent neurons, time outermost:
    /// `cur`, `s` and `v` are `[t, n]`. `v[t]` is the membrane potential before the spike
    /// decision (kept for backward).
    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &[f32],
        s: &mut [f32],
        v: &mut [f32],
    );

    /// Gradient of [`Kernels::if_forward`] with respect to `cur` (overwritten), given the
    /// saved `s`, `v` and the gradient `ds` with respect to the spikes.
    #[allow(clippy::too_many_arguments)]
    fn if_backward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        s: &[f32],
        v: &[f32],
        ds: &[f32],
        dcur: &mut [f32],
    );
}

/// Convolution inputs with at most this fraction of nonzeros take the event-driven path
/// (per-frame scatter of kernel taps). Measured with `cargo run --release --example
/// event_products -- conv` (32x14x14 -> 64, k3 p1, 512 frames, 2 cores), forward + backward:
/// at density 0.125 (the most a fire-once layer emits per step at T = 8) 107 ms on events
/// against 143 ms dense; near 0.15-0.2 the two are about even (131 against 131 at 0.15), so
/// every fire-once spike map takes the events (it was 0.05, below Fashion-MNIST's ~9% maps).
pub const CONV_EVENT_MAX_DENSITY: f32 = 0.15;

/// Linear-layer inputs with at most this fraction of nonzeros take the event-driven product
/// ([`Kernels::gemm_events`]). Measured with `cargo run --release --example event_products`
/// (784 -> 400, 512 frames, 2 cores; table in docs/RESULTS.md): at density 1/8 (a latency
/// code with T = 8) events take 2.1 ms forward and 1.4 ms for the weight gradient against
/// 2.7 ms dense each; at 1/4 the forward is slower on events (3.5 ms). Fire-once spike maps
/// hold at most 1/T.
pub const LINEAR_EVENT_MAX_DENSITY: f32 = 0.2;

/// The kernels in use. Only the CPU backend exists today.
pub fn kernels() -> &'static dyn Kernels {
    &cpu::Cpu
}
