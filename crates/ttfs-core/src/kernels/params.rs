//! The parameter blocks of kernel calls: the neuron's flags (and when its constant-current
//! form applies), the optimizers' step constants, and how a batch of images kept on the
//! device is gathered into the network input.

#[cfg(doc)] // only the doc links name the trait
use super::Kernels;
use crate::surrogate::Surrogate;

/// The longest time window the constant-current neuron kernels take (the GPU kernel keeps a
/// neuron's steps in local arrays of this size).
pub const CONSTANT_INPUT_MAX_STEPS: usize = 64;

/// Whether [`Kernels::if_forward_constant`] and its backward cover neurons `p` over `t` steps.
pub fn constant_input_supported(p: &IfParams, t: usize) -> bool {
    p.fire_once && !p.mask_grad && t <= CONSTANT_INPUT_MAX_STEPS
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

/// Adam / AdamW step constants for [`Kernels::adam_update`] (see `optim.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// Gradient scale from clipping (1: none).
    pub clip: f32,
    /// L2 weight decay added to the gradient (Adam).
    pub l2: f32,
    /// Decoupled decay `lr * wd` (AdamW).
    pub decoupled: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// `lr / (1 - beta1^t)`.
    pub step: f32,
    /// `1 / (1 - beta2^t)`.
    pub inv_bc2: f32,
}

/// SGD step constants for [`Kernels::sgd_update`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    pub clip: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub lr: f32,
}

/// A batch of 8-bit images kept on the device, for [`Kernels::gather_images`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageGather {
    /// Samples in the batch.
    pub batch: usize,
    /// `[C, H, W]` of one image.
    pub frame: [usize; 3],
    /// Stored value to intensity (1/255).
    pub scale: f32,
    /// Per-channel `(x - mean[c]) / std[c]` after scaling (`norm` holds means then stds).
    pub normalize: bool,
    /// Latency code over `time_steps` (else the direct code: intensities, one frame).
    pub latency: bool,
    pub time_steps: usize,
    /// Latency code: zero intensities stay silent (else they fire at the last step).
    pub zero_silent: bool,
}

/// Per-sample placement of [`Kernels::gather_images`]: `flip, dy, dx, y0, y1, x0, x1` (`dy`,
/// `dx` as two's complement), see `data/augment.rs`.
pub const PLACEMENT_LEN: usize = 7;
