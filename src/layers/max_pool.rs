//! Max pooling. On spike maps it breaks the fire-once property: a pooled unit spikes at every
//! step at which any input of its window spikes, up to `k*k` times. The monitors measure it.

use super::{with_frame, Layer, LayerKind};
use crate::kernels::{kernels, PoolGeom};
use crate::tensor::Tensor;

pub struct MaxPool2d {
    pub k: usize,
    pub stride: usize,
    /// Index of each window's winner, kept for backward.
    arg: Vec<u32>,
}

impl MaxPool2d {
    pub fn new(k: usize, stride: usize) -> Self {
        MaxPool2d {
            k,
            stride,
            arg: Vec::new(),
        }
    }
    fn geom(&self, f: &[usize]) -> PoolGeom {
        PoolGeom {
            c: f[0],
            in_h: f[1],
            in_w: f[2],
            k: self.k,
            stride: self.stride,
        }
    }
}

impl Layer for MaxPool2d {
    fn kind(&self) -> LayerKind {
        LayerKind::Pool
    }
    fn describe(&self) -> String {
        format!("maxpool k{} s{}", self.k, self.stride)
    }
    fn out_frame(&self, f: &[usize]) -> Vec<usize> {
        let g = self.geom(f);
        vec![g.c, g.out_h(), g.out_w()]
    }
    // x is [T, B, C, H, W], y is [T, B, C, OH, OW]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let g = self.geom(&x.shape[2..]);
        y.reshape_for_overwrite(&with_frame(x, &self.out_frame(&x.shape[2..])));
        self.arg.resize(y.len(), 0);
        kernels().max_pool_forward(
            &g,
            x.shape[0] * x.shape[1],
            &x.data,
            &mut y.data,
            &mut self.arg,
        );
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            let g = self.geom(&x.shape[2..]);
            dx.reshape_for_overwrite(&x.shape);
            kernels().max_pool_backward(
                &g,
                x.shape[0] * x.shape[1],
                &dy.data,
                &self.arg,
                &mut dx.data,
            );
        }
    }
}
