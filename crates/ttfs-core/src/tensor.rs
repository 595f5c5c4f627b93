//! Numbers with a shape, on the run's device. Activations are laid out time-outermost:
//! `[T, B, F]` where `F` is the flattened feature size of one frame (`C*H*W` for maps,
//! row-major NCHW inside a frame). A synapse therefore sees `T*B` frames in one product.

use crate::kernels::{Buf, Device};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    pub data: Buf<f32>,
    pub shape: Vec<usize>,
}

impl Tensor {
    /// Zeros on the CPU.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            data: vec![0.0; shape.iter().product()].into(),
            shape: shape.to_vec(),
        }
    }

    /// Host values on the CPU.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} does not match data"
        );
        Tensor {
            data: data.into(),
            shape: shape.to_vec(),
        }
    }

    pub fn device(&self) -> Device {
        self.data.device()
    }

    /// Reshape in place to `shape` on `device` and zero every element, reusing the allocation
    /// when it is on `device` and the size does not grow (buffers are sized once per batch
    /// shape, not per step).
    pub fn reset(&mut self, device: Device, shape: &[usize]) {
        self.data.reset(device, shape.iter().product());
        self.shape.clear();
        self.shape.extend_from_slice(shape);
    }

    /// Reshape to `shape` on `device` for a writer that overwrites every element: old values
    /// are left in place instead of being zeroed (the allocation is reused as in
    /// [`Tensor::reset`]).
    pub fn reshape_for_overwrite(&mut self, device: Device, shape: &[usize]) {
        self.data
            .resize_for_overwrite(device, shape.iter().product());
        self.shape.clear();
        self.shape.extend_from_slice(shape);
    }

    /// Take the values and shape of `host` (a host tensor) onto `device`. On the CPU the two
    /// trade buffers (no copy; `host` keeps this tensor's old buffer for its next writer).
    pub fn load_from_host(&mut self, device: Device, host: &mut Tensor) {
        if device == Device::Cpu {
            std::mem::swap(self, host);
        } else {
            self.reshape_for_overwrite(device, &host.shape);
            self.data.write(&host.data);
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Size of one frame: everything after the `[T, B]` axes.
    pub fn frame_len(&self) -> usize {
        self.shape[2..].iter().product()
    }
}
