//! Flatten: `[T, B, C, H, W]` -> `[T, B, C*H*W]`. Frames are already contiguous, so this
//! only changes the shape.

use super::{with_frame, Layer, LayerKind};
use crate::tensor::Tensor;

pub struct Flatten;

impl Layer for Flatten {
    fn plain(&mut self) -> super::Plain {
        super::Plain::Flatten
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Reshape
    }
    fn describe(&self) -> String {
        "flatten".into()
    }
    fn out_frame(&self, in_frame: &[usize]) -> Vec<usize> {
        vec![in_frame.iter().product()]
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        y.shape = with_frame(x, &[x.frame_len()]);
        x.data.kernels().copy(&x.data, &mut y.data);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            dx.shape = x.shape.clone();
            dy.data.kernels().copy(&dy.data, &mut dx.data);
        }
    }
}
