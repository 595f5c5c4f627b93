//! A plain `f32` buffer with a shape. Activations are laid out time-outermost:
//! `[T, B, F]` where `F` is the flattened feature size of one frame (`C*H*W` for maps,
//! row-major NCHW inside a frame). A synapse therefore sees `T*B` frames in one product.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    pub data: Vec<f32>,
    pub shape: Vec<usize>,
}

impl Tensor {
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            data: vec![0.0; shape.iter().product()],
            shape: shape.to_vec(),
        }
    }

    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} does not match data"
        );
        Tensor {
            data,
            shape: shape.to_vec(),
        }
    }

    /// Reshape in place to `shape` and zero every element, reusing the allocation when the
    /// size does not grow (buffers are sized once per batch shape, not per step).
    pub fn reset(&mut self, shape: &[usize]) {
        let n = shape.iter().product();
        self.data.clear();
        self.data.resize(n, 0.0);
        self.shape.clear();
        self.shape.extend_from_slice(shape);
    }

    /// Reshape to `shape` for a writer that overwrites every element: old values are left in
    /// place instead of being zeroed (the allocation is reused as in [`Tensor::reset`]).
    pub fn reshape_for_overwrite(&mut self, shape: &[usize]) {
        self.data.resize(shape.iter().product(), 0.0);
        self.shape.clear();
        self.shape.extend_from_slice(shape);
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
