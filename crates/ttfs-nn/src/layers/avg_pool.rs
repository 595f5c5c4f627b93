//! Average pooling (the paper's fourth contribution: pooling re-evaluated).
//!
//! Placed on currents (before a neuron) it averages input currents, and the neuron after it
//! still fires at most once. Placed on spike maps it outputs fractions of a spike, never more
//! than one event per unit over time, unlike max pooling of spikes (see `max_pool.rs`).

use super::{with_frame, Layer, LayerKind};
use crate::kernels::PoolGeom;
use crate::tensor::Tensor;

pub struct AvgPool2d {
    pub k: usize,
    pub stride: usize,
}

impl AvgPool2d {
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

impl Layer for AvgPool2d {
    fn plain(&mut self) -> super::Plain {
        super::Plain::AvgPool {
            k: self.k,
            stride: self.stride,
        }
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool
    }
    fn describe(&self) -> String {
        format!("avgpool k{} s{}", self.k, self.stride)
    }
    fn out_frame(&self, f: &[usize]) -> Vec<usize> {
        let g = self.geom(f);
        vec![g.c, g.out_h(), g.out_w()]
    }
    // x is [T, B, C, H, W], y is [T, B, C, OH, OW]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let g = self.geom(&x.shape[2..]);
        y.reshape_for_overwrite(x.device(), &with_frame(x, &self.out_frame(&x.shape[2..])));
        let frames = x.shape[0] * x.shape[1];
        x.data
            .kernels()
            .avg_pool_forward(&g, frames, &x.data, &mut y.data);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            let g = self.geom(&x.shape[2..]);
            dx.reshape_for_overwrite(x.device(), &x.shape);
            let frames = x.shape[0] * x.shape[1];
            x.data
                .kernels()
                .avg_pool_backward(&g, frames, &dy.data, &mut dx.data);
        }
    }
}
