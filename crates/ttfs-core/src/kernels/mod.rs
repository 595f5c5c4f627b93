//! The numeric kernels every layer is built on, behind one narrow interface.
//!
//! Layers never touch a loop over numbers or a matrix library directly: they call the
//! [`Kernels`] of the device their buffers live on ([`Buf::kernels`]). Two backends implement
//! the trait: [`cpu::Cpu`] and the GPU backend in `gpu/` (cuBLAS for products, CUDA C compiled
//! by NVRTC for the rest, through `cudarc`; the same CUDA C compiled for the CPU runs as the
//! `emu` device in tests). Layers never know which one runs them.
//!
//! Shapes: `frames` is the number of independent frames (`T*B`, time folded into the batch);
//! maps inside a frame are row-major `[C, H, W]`.
//!
//! The trait is here; beside it, what its methods take and what layers decide with:
//! `geometry.rs` (convolution and pooling shapes), `params.rs` (the neuron's flags, the
//! optimizers' steps, the image gather), `event_thresholds.rs` (when a layer takes the
//! event-driven path) and `worker.rs` ([`on_worker`]).

mod buffer;
pub mod compare;
pub mod cpu;
mod device;
mod event_thresholds;
mod events;
mod geometry;
pub mod gpu;
mod params;
mod worker;

pub use buffer::{Buf, Elem};
pub use device::Device;
pub use event_thresholds::{
    CONV_CHANGE_MAX_DENSITY, CONV_EVENT_MAX_DENSITY, LINEAR_EVENT_MAX_DENSITY,
    LINEAR_EVENT_MIN_OUTPUTS,
};
pub use events::Events;
pub use geometry::{ConvGeom, PoolGeom};
pub use params::{
    constant_input_supported, AdamStep, IfParams, ImageGather, SgdStep, CONSTANT_INPUT_MAX_STEPS,
    PLACEMENT_LEN,
};
pub use worker::on_worker;

/// Every operation a layer, the weight normalization, the decoder, the loss or the optimizer
/// applies to numbers. Buffers live on the backend's device; outputs are resized by the
/// kernel to the length stated (on the device of the inputs) unless said otherwise.
pub trait Kernels: Sync + Send {
    fn name(&self) -> &'static str;
    fn device(&self) -> Device;

    /// Wait until every kernel queued so far has finished (timing; a CPU kernel returns when
    /// done, so there is nothing to wait for).
    fn synchronize(&self) {}

    // ---- products -------------------------------------------------------------------

    /// `c[m, n] = a[m, k] . b[k, n] + beta * c`. `a` is stored row-major `[m, k]`, or `[k, m]`
    /// when `a_t` (its transpose is used); likewise `b` is `[k, n]`, or `[n, k]` when `b_t`.
    /// `c` must hold `m * n` values.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// The nonzeros of `x` (`[rows, cols]`) into `out` (its buffers are reused) when `x` is
    /// sparse enough, at most `max_density` of its values nonzero, that this backend runs its
    /// products event by event ([`Kernels::gemm_events`]); otherwise false, with `out` left
    /// unspecified. A GPU answers false: its dense products are faster than gathering events.
    fn collect_events(
        &self,
        x: &Buf<f32>,
        rows: usize,
        cols: usize,
        max_density: f32,
        out: &mut Events,
    ) -> bool;

    /// The events of the step-to-step changes of `x` (`[t, rows, cols]`): `d[k] = x[k] -
    /// x[k+1]`, `d[t-1] = x[t-1]`, as `[t * rows, cols]` events in `out`, when at most
    /// `max_density` of them are nonzero; otherwise false. A gradient that is zero wherever
    /// the surrogate and the fire-once mask are (compact-support surrogates) changes at few
    /// steps. A GPU answers false.
    fn step_change_events(
        &self,
        x: &Buf<f32>,
        t: usize,
        rows: usize,
        cols: usize,
        max_density: f32,
        out: &mut Events,
    ) -> bool;

    /// `x[k] += x[k+1]` from the last step down (`[t, n]`): the inverse of the step changes.
    /// Only called after [`Kernels::step_change_events`] said yes.
    fn reverse_cumsum_steps(&self, x: &mut Buf<f32>, t: usize, n: usize);

    /// The events of `a^T` into `out`.
    fn transpose_events(&self, a: &Events, out: &mut Events);

    /// `c = a . op(b)` visiting only the events of `a` (`[m, k]`): `b` is stored `[k, n]`,
    /// or `[n, k]` when `b_t`; `c` is `[m, n]`, or `[n, m]` when `c_t` (so a weight
    /// gradient comes out in the weights' layout); `c` is overwritten.
    fn gemm_events(
        &self,
        a: &Events,
        n: usize,
        b: &Buf<f32>,
        b_t: bool,
        c: &mut Buf<f32>,
        c_t: bool,
    );

    /// `y[f] = conv(x[f], w) + bias` for every frame `f`. `x` is `[frames, in_len]`, `w` is
    /// `[out_c, patch_len]`, `y` is `[frames, out_len]`.
    fn conv2d_forward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &Buf<f32>,
        w: &Buf<f32>,
        bias: &Buf<f32>,
        y: &mut Buf<f32>,
    );

    /// [`Kernels::conv2d_forward`] visiting only the events of `x` (spike maps: one row of
    /// `in_len` columns per frame, from [`Kernels::collect_events`]): each event scatters
    /// through the kernel. A GPU never collects events, so never runs it.
    fn conv2d_forward_events(
        &self,
        g: &ConvGeom,
        x: &Events,
        w: &Buf<f32>,
        bias: &Buf<f32>,
        y: &mut Buf<f32>,
    );

    /// Gradients of [`Kernels::conv2d_forward`]: `dw` (`[out_c, patch_len]`, overwritten),
    /// `dbias` (`[out_c]`, overwritten) and, when given, `dx` (`[frames, in_len]`, overwritten).
    /// `x_events`, the events of `x` when forward ran on them: the weight gradient then
    /// visits only those.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// The input gradient of [`Kernels::conv2d_forward`] over the step changes `d` of its
    /// output gradient (`[t * b, out_len]` events, [`Kernels::step_change_events`]: a banded
    /// surrogate's, mostly zeros), `dy[k] = sum_{j >= k} d[j]`: `dx` (`[t, b, in_len]`,
    /// overwritten) is `dx[k] = sum_{j >= k} conv^T(d[j])`, visiting only the events. A GPU
    /// never collects step changes, so never runs it.
    fn conv2d_input_grad_changes(
        &self,
        g: &ConvGeom,
        t: usize,
        d: &Events,
        w: &Buf<f32>,
        dx: &mut Buf<f32>,
    );

    /// `folded[r]` (`[rows, kf, kf]`, `kf = s*(pool-1) + k`) is the `k x k` kernel `w[r]`
    /// smeared over a `pool x pool` box at stride `s`, divided by `pool^2`: a convolution
    /// followed by average pooling as one convolution (see `layers/conv2d.rs`).
    fn fold_box(
        &self,
        w: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        folded: &mut Buf<f32>,
    );

    /// The adjoint of [`Kernels::fold_box`]: `dw` (`[rows, k, k]`) from `dfolded`.
    fn unfold_box_grad(
        &self,
        dfolded: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        dw: &mut Buf<f32>,
    );

    // ---- pooling --------------------------------------------------------------------

    /// Mean over each window. `x` is `[frames, in_len]`, `y` is `[frames, out_len]`.
    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &Buf<f32>, y: &mut Buf<f32>);
    /// `dx` (overwritten) from `dy`.
    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &Buf<f32>, dx: &mut Buf<f32>);

    /// Max over each window; `arg` receives the index (within the frame) of the winner (the
    /// first in row-major window order among equal values).
    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &Buf<f32>,
        y: &mut Buf<f32>,
        arg: &mut Buf<u32>,
    );
    /// Routes `dy` to the winners; `dx` is overwritten.
    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &Buf<f32>,
        arg: &Buf<u32>,
        dx: &mut Buf<f32>,
    );

    /// First-spike latch on `y` (`[t, n]`, in place): every step after each unit's first
    /// nonzero one is zeroed; `first` (`[n]`) gets that step (`t` for a unit that stays 0).
    fn latch_first(&self, y: &mut Buf<f32>, t: usize, n: usize, first: &mut Buf<u32>);
    /// `out[s, j] = dy[s, j]` where `s <= first[j]`, else 0 (`[t, n]`).
    fn mask_after_first(
        &self,
        dy: &Buf<f32>,
        first: &Buf<u32>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    );

    // ---- the neuron -----------------------------------------------------------------

    /// Integrate-and-fire over `t` steps for `n` independent neurons, time outermost:
    /// `cur`, `s` and `v` are `[t, n]`. `v[t]` is the membrane potential before the spike
    /// decision (kept for backward), and `cpu::integrate_fire::SPENT` for the steps after the
    /// spike of a hard fire-once neuron with the mask detached (`stores_spent`).
    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
        v: &mut Buf<f32>,
    );

    /// Gradient of [`Kernels::if_forward`] with respect to `cur` (overwritten), given the
    /// saved `s`, `v` and the gradient `ds` with respect to the spikes.
    #[allow(clippy::too_many_arguments)]
    fn if_backward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        ds: &Buf<f32>,
        dcur: &mut Buf<f32>,
    );

    /// [`Kernels::if_forward`] without keeping the potentials: writes the spikes `s` only,
    /// for a backward that recomputes them ([`Kernels::if_backward_recomputed`]).
    fn if_forward_spikes(&self, p: &IfParams, t: usize, n: usize, cur: &Buf<f32>, s: &mut Buf<f32>);

    /// [`Kernels::if_backward`] from the currents `cur` of [`Kernels::if_forward_spikes`]
    /// (`[t, n]`): the spikes and potentials recomputed, the same gradient bit for bit. A
    /// neuron layer then holds no `[t, n]` potentials from its forward to its backward pass.
    fn if_backward_recomputed(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        ds: &Buf<f32>,
        dcur: &mut Buf<f32>,
    );

    /// How many of the potentials [`Kernels::if_forward`] would store for `cur` lie within
    /// `half_width` of the threshold 1 (`|v - 1| < half_width`; none after the spike of a
    /// neuron that stores `SPENT`), recomputed from the currents.
    fn if_count_near_threshold(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        half_width: f32,
    ) -> u64;

    /// [`Kernels::if_forward`] on a current that is the same at every step, given once
    /// (`c`, `[n]`): writes the spikes `s` (`[t, n]`) only. Fire-once neurons with the mask
    /// detached, `t <= CONSTANT_INPUT_MAX_STEPS` ([`constant_input_supported`]).
    fn if_forward_constant(&self, p: &IfParams, t: usize, n: usize, c: &Buf<f32>, s: &mut Buf<f32>);

    /// `dc[j] = sum_t dL/dI[t, j]` (`[n]`, overwritten) for [`Kernels::if_forward_constant`]
    /// given the gradient `ds` (`[t, n]`) for its spikes: what [`Kernels::if_backward`] on
    /// the repeated current followed by the sum over steps gives, bit for bit.
    fn if_backward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        ds: &Buf<f32>,
        dc: &mut Buf<f32>,
    );

    /// Temporal decoding at the exact threshold-crossing time of fire-once output neurons
    /// (`kernels/cpu/crossing_time.rs`): from their spikes `s` and potentials `v` (`[t, n]`)
    /// and the time weights `w` and `delta[k] = w[k-1] - w[k]` (`[t]`), the weight each step
    /// gives its spike `weff` (`[t, n]`) and `logits[j] = sum_k s[k, j] weff[k, j]` (`[n]`).
    #[allow(clippy::too_many_arguments)]
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
    );

    /// Gradient of [`Kernels::crossing_time_forward`] given `dlogits` (`[n]`): `dout` for the
    /// spikes (`dlogits * weff`, for [`Kernels::if_backward`]) and `dextra`, the crossing
    /// time's own gradient for the currents, to add to the neuron's (both `[t, n]`,
    /// overwritten).
    #[allow(clippy::too_many_arguments)]
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
    );

    // ---- elementwise, broadcasts and reductions --------------------------------------

    /// `dst = value` everywhere.
    fn fill(&self, dst: &mut Buf<f32>, value: f32);
    /// `dst = src` (resized).
    fn copy(&self, src: &Buf<f32>, dst: &mut Buf<f32>);
    /// `dst += src` (same lengths).
    fn add_assign(&self, dst: &mut Buf<f32>, src: &Buf<f32>);
    /// `x *= factor`.
    fn scale(&self, x: &mut Buf<f32>, factor: f32);
    /// `dst += weight * (src - dst)`, elementwise (`torch.lerp_`): one step of an exponential
    /// moving average of `src` with rate `weight`.
    fn lerp(&self, dst: &mut Buf<f32>, src: &Buf<f32>, weight: f32);
    /// `dst` (`[times, len(src)]`) holds `src` `times` times.
    fn repeat(&self, src: &Buf<f32>, times: usize, dst: &mut Buf<f32>);
    /// `y[r, c] += bias[c]` for `y` of `[rows, cols]`.
    fn add_bias(&self, y: &mut Buf<f32>, bias: &Buf<f32>, rows: usize, cols: usize);
    /// `out[c] = sum_r x[r, c]` (`[cols]`, rows summed in order).
    fn column_sums(&self, x: &Buf<f32>, rows: usize, cols: usize, out: &mut Buf<f32>);
    /// `out[j] = sum_t w[t] x[t, j]` for `x` of `[t, n]` (`[n]`, steps summed in order);
    /// `w` is `[t]`, or absent for all ones.
    fn weighted_step_sum(
        &self,
        x: &Buf<f32>,
        w: Option<&Buf<f32>>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    );
    /// `out[t, j] = sum_{k <= t} x[k, j]` (`[t, n]`).
    fn cumsum_steps(&self, x: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>);
    /// `out[t, j] = w[t] g[j]` (`[t, n]`): a per-sample gradient spread over the steps.
    fn scale_steps(&self, w: &Buf<f32>, g: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>);
    /// How many `x[i]` lie within `|x[i] - center| < half_width`, read back to the host
    /// (the active fraction of a banded surrogate, a statistic: a GPU may copy `x` back).
    fn count_within(&self, x: &Buf<f32>, center: f32, half_width: f32) -> u64;
    /// `sum_i x[i]^2`, in f64, read back to the host (gradient clipping only).
    fn sum_squares(&self, x: &Buf<f32>) -> f64;

    // ---- weight normalization (weight_norm.rs states the equations) -------------------

    /// `u[o, :] = (raw[o, :] - mean) / (sigma + eps)`, `inv_sigma[o] = 1 / (sigma + eps)`,
    /// `w[o, :] = gamma[o] * target_std * u[o, :]` for `rows` rows of `n` weights.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// Accumulates into `raw_grad` (and `gamma_grad` when `affine`) the gradients given `dw`.
    #[allow(clippy::too_many_arguments)]
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
    );

    // ---- loss and optimizers -----------------------------------------------------------

    /// Softmax cross entropy of `logits` (`[b, classes]`) against `labels` (`[b]`) with label
    /// smoothing (see `loss.rs`): `losses[i]` (`[b]`) per sample, `dlogits` (`[b, classes]`)
    /// the gradient of their mean.
    #[allow(clippy::too_many_arguments)]
    fn cross_entropy(
        &self,
        logits: &Buf<f32>,
        labels: &Buf<u32>,
        classes: usize,
        smoothing: f32,
        dlogits: &mut Buf<f32>,
        losses: &mut Buf<f32>,
    );

    /// One Adam / AdamW update of `value` with `grad`, moments `m` and `v` (same lengths).
    fn adam_update(
        &self,
        value: &mut Buf<f32>,
        grad: &Buf<f32>,
        m: &mut Buf<f32>,
        v: &mut Buf<f32>,
        s: &AdamStep,
    );

    /// One SGD-with-momentum update.
    fn sgd_update(&self, value: &mut Buf<f32>, grad: &Buf<f32>, m: &mut Buf<f32>, s: &SgdStep);

    // ---- data ------------------------------------------------------------------------

    /// The network input of a batch of images kept on the device: sample `idx[j]` of `data`
    /// (every image's bytes in a row, four to a `u32`, little end first), placed by
    /// `place[j]` ([`PLACEMENT_LEN`] values: flip, shift, cutout), scaled, normalized
    /// (`norm`: means then stds) and encoded into `out`, `[1, batch, F]` (direct) or
    /// `[T, batch, F]` (latency): the values `data/batch.rs` assembles on the host.
    fn gather_images(
        &self,
        g: &ImageGather,
        data: &Buf<u32>,
        idx: &Buf<u32>,
        place: &Buf<u32>,
        norm: &Buf<f32>,
        out: &mut Buf<f32>,
    );
}

/// GPU only: matrix products in TF32 tensor-core math instead of fp32 (`train.tf32`). Takes
/// effect when the GPU backend starts (once per process); nothing to do on the CPU.
pub fn set_tf32(on: bool) {
    #[cfg(feature = "cuda")]
    gpu::cuda::set_tf32(on);
    let _ = on;
}
