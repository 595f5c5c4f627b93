//! When a layer takes the event-driven path instead of the dense one: the densities (and
//! the narrowest output) below which events pay, each with the measurement behind it.

#[cfg(doc)] // only the doc links name the trait
use super::Kernels;

/// Convolution inputs with at most this fraction of nonzeros take the event-driven path
/// (per-frame scatter of kernel taps; the layer collects the events once, in forward).
/// Measured with `cargo run --release --example event_products -- conv` (512 frames, 2
/// cores), forward + backward, events against dense: 32x14x14 -> 64 k3 p1 at density 0.125
/// (the most a fire-once layer emits per step at T = 8) 35.4 against 47.6 ms, about even at
/// 0.2-0.25 (45.0 / 47.4 and 50.1 / 47.7); with a 2x2 pooling folded in (64x14x14 -> 128 k4
/// s2 p1) 54.8 against 100.7 ms at 0.125, 79.5 against 100.5 at 0.25. So every fire-once
/// spike map of T >= 7 takes the events.
pub const CONV_EVENT_MAX_DENSITY: f32 = 0.15;

/// Convolution output gradients whose step changes are at most this fraction nonzero take
/// the event-driven input gradient ([`Kernels::conv2d_input_grad_events`]): the step
/// changes of a surrogate cut to a band (`model.band`). Measured in
/// docs/results/sparse-backward.md; the sigmoid's changes (~0.9 nonzero) are refused after a 32-row sample.
pub const CONV_CHANGE_MAX_DENSITY: f32 = 0.1;

/// Linear-layer inputs with at most this fraction of nonzeros take the event-driven product
/// ([`Kernels::gemm_events`]). Measured with `cargo run --release --example event_products`
/// (784 -> 400, 512 frames, 2 cores; table in docs/results/cpu-speed.md): at density 1/8 (a latency
/// code with T = 8) events take 2.1 ms forward and 1.4 ms for the weight gradient against
/// 2.7 ms dense each; at 1/4 the forward is slower on events (3.5 ms). Fire-once spike maps
/// hold at most 1/T.
pub const LINEAR_EVENT_MAX_DENSITY: f32 = 0.2;

/// Linear layers with fewer outputs than this stay dense whatever their input: collecting the
/// events reads every input value, which a product this narrow does not repay (an output
/// layer of 10 classes). `cargo run --release --example event_products -- 512 400 N` at
/// density 1/16, 2 cores, forward + weight gradient, dense against events (collection
/// included): N = 10 0.086 against 0.207 ms, N = 32 0.133 against 0.115, N = 64 0.214
/// against 0.124.
pub const LINEAR_EVENT_MIN_OUTPUTS: usize = 32;
