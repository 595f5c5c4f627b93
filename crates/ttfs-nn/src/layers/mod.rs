//! Layers: each owns its parameters and writes its forward and hand-written backward side by
//! side. Activations are `[T, B, frame...]` tensors owned by the model, so a layer reads its
//! input and output again in backward instead of keeping copies.

pub mod avg_pool;
pub mod conv2d;
pub mod flatten;
pub mod linear;
pub mod max_pool;
pub mod neuron;

use crate::kernels::{Buf, Device};
use crate::tensor::Tensor;

/// A learnable tensor and its gradient, found by name (as in a `safetensors` file), on the
/// model's device.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub shape: Vec<usize>,
    pub value: Buf<f32>,
    pub grad: Buf<f32>,
    /// Whether weight decay applies (not to gains and biases).
    pub decay: bool,
}

impl Param {
    /// A parameter on the CPU (models are built on the host, then moved).
    pub fn new(name: &str, shape: &[usize], value: Vec<f32>, decay: bool) -> Self {
        assert_eq!(shape.iter().product::<usize>(), value.len());
        Param {
            name: name.to_string(),
            shape: shape.to_vec(),
            grad: vec![0.0; value.len()].into(),
            value: value.into(),
            decay,
        }
    }

    /// Move value and gradient to `device`.
    pub fn to_device(&mut self, device: Device) {
        self.value = self.value.to_device(device);
        self.grad = self.grad.to_device(device);
    }
}

/// What a layer does to the signal, for monitors and model summaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// Linear or convolution: spikes in, currents out.
    Synapse,
    /// Average or max pooling: keeps whatever it receives (currents or spikes).
    Pool,
    /// Spiking neuron: currents in, spikes out.
    Neuron,
    /// Shape change only.
    Reshape,
}

/// A layer as plain inference parameters, the weight normalization and its affine transform
/// folded into the weights and biases: what the event-driven engine (`event_driven.rs`) and
/// the NIR export (`nir.rs`) read.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    /// `y = w x + b`, `w` is `[out, in]`.
    Linear {
        w: Vec<f32>,
        b: Vec<f32>,
        n_in: usize,
        n_out: usize,
    },
    /// `w` is `[out_c, in_c, k, k]`; `pool > 1`: average pooling of window and stride `pool`
    /// follows (folded into the convolution when ttfs runs it).
    Conv {
        w: Vec<f32>,
        b: Vec<f32>,
        in_c: usize,
        out_c: usize,
        k: usize,
        stride: usize,
        pad: usize,
        pool: usize,
    },
    AvgPool {
        k: usize,
        stride: usize,
    },
    /// Max pooling; `first_only`: first-spike pooling.
    MaxPool {
        k: usize,
        stride: usize,
        first_only: bool,
    },
    /// Integrate-and-fire, threshold 1 (`v >= 1` fires), no leak; `fire_once`: at most one
    /// spike, else reset by subtraction.
    Neuron {
        fire_once: bool,
    },
    Flatten,
}

pub trait Layer: Send {
    /// The layer as plain inference parameters (see [`Plain`]).
    fn plain(&mut self) -> Plain;

    fn kind(&self) -> LayerKind;

    /// Short description for `ttfs info`, e.g. `conv 1->32 k3 s1 p1`.
    fn describe(&self) -> String;

    /// Shape of one output frame given one input frame's shape.
    fn out_frame(&self, in_frame: &[usize]) -> Vec<usize>;

    /// `x` is `[T, B, in_frame...]`; `y` is reset to `[T, B, out_frame...]` and written.
    fn forward(&mut self, x: &Tensor, y: &mut Tensor);

    /// Given `dy` (same shape as `y`), accumulate parameter gradients and, when `dx` is given,
    /// overwrite it with the gradient of the input (reset to `x`'s shape).
    fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>);

    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }

    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }

    /// Multiply-adds per frame of a dense forward pass (for `ttfs info`).
    fn macs_per_frame(&self, _in_frame: &[usize]) -> usize {
        0
    }

    /// Synapses only: the number of outgoing synapses of each input unit (`[in_len]`): how
    /// many accumulates one input spike costs an event-driven run (see `energy.rs`).
    fn fanout(&self, _in_frame: &[usize]) -> Option<Vec<u32>> {
        None
    }

    fn is_neuron(&self) -> bool {
        self.kind() == LayerKind::Neuron
    }

    /// Whether the layer passes each unit's first nonzero step only (first-spike pooling):
    /// on spike maps its output fires at most once, like a neuron's.
    fn latches_first_spike(&self) -> bool {
        false
    }

    /// Synapses only: their weights (for the initialization's firing calibration).
    fn synapse_mut(&mut self) -> Option<&mut crate::weight_norm::SynapseWeights> {
        None
    }

    /// Spiking neurons only: their settings.
    fn neuron_params_mut(&mut self) -> Option<&mut crate::kernels::IfParams> {
        None
    }

    /// Spiking neurons with a banded surrogate only: `(active, total)` (step, neuron) entries
    /// counted since the last call (in band and before the spike: those that carry gradient),
    /// then reset.
    fn take_active(&mut self) -> Option<(u64, u64)> {
        None
    }

    /// Called once before training / inference; the default does nothing.
    fn set_training(&mut self, _training: bool) {}
}

/// `[T, B]` followed by `frame`.
pub(crate) fn with_frame(x: &Tensor, frame: &[usize]) -> Vec<usize> {
    let mut s = x.shape[..2].to_vec();
    s.extend_from_slice(frame);
    s
}
