//! Max pooling. On spike maps it breaks the fire-once property: a pooled unit spikes at every
//! step at which any input of its window spikes, up to `k*k` times. The monitors measure it.
//!
//! First-spike pooling (`fp<K>`, [`MaxPool2d::first_spike`]) is the TTFS form of max pooling:
//! the earliest spike of a window wins and later ones are dropped, so a pooled unit fires at
//! most once, at the time of its window's first spike. Backward treats the latch as a
//! constant (like the neuron's detached mask): the gradient reaches the window's winner at
//! every step up to and including the pooled unit's spike, and nothing after it.

use super::{with_frame, Layer, LayerKind};
use crate::kernels::{Buf, PoolGeom};
use crate::tensor::Tensor;

pub struct MaxPool2d {
    pub k: usize,
    pub stride: usize,
    /// Keep only each pooled unit's first nonzero step (first-spike pooling).
    pub first_only: bool,
    /// Index of each window's winner, kept for backward.
    arg: Buf<u32>,
    /// First-spike pooling: the step of each pooled unit's spike (T if none), per unit of one
    /// step's `[B, C, OH, OW]` map.
    first: Buf<u32>,
    /// First-spike pooling: `dy` with the latched steps zeroed.
    dy_latched: Buf<f32>,
}

impl MaxPool2d {
    pub fn new(k: usize, stride: usize) -> Self {
        MaxPool2d {
            k,
            stride,
            first_only: false,
            arg: Buf::default(),
            first: Buf::default(),
            dy_latched: Buf::default(),
        }
    }
    pub fn first_spike(k: usize, stride: usize) -> Self {
        MaxPool2d {
            first_only: true,
            ..MaxPool2d::new(k, stride)
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
    fn plain(&mut self) -> super::Plain {
        super::Plain::MaxPool {
            k: self.k,
            stride: self.stride,
            first_only: self.first_only,
        }
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Pool
    }
    fn describe(&self) -> String {
        let what = if self.first_only {
            "first-spike pool"
        } else {
            "maxpool"
        };
        format!("{what} k{} s{}", self.k, self.stride)
    }
    fn latches_first_spike(&self) -> bool {
        self.first_only
    }
    fn out_frame(&self, f: &[usize]) -> Vec<usize> {
        let g = self.geom(f);
        vec![g.c, g.out_h(), g.out_w()]
    }
    // x is [T, B, C, H, W], y is [T, B, C, OH, OW]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let g = self.geom(&x.shape[2..]);
        y.reshape_for_overwrite(x.device(), &with_frame(x, &self.out_frame(&x.shape[2..])));
        self.arg.resize_for_overwrite(x.device(), y.len());
        let k = x.data.kernels();
        let (t, frames) = (x.shape[0], x.shape[0] * x.shape[1]);
        k.max_pool_forward(&g, frames, &x.data, &mut y.data, &mut self.arg);
        if self.first_only {
            let n = y.len() / t;
            k.latch_first(&mut y.data, t, n, &mut self.first);
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            let g = self.geom(&x.shape[2..]);
            dx.reshape_for_overwrite(x.device(), &x.shape);
            let k = x.data.kernels();
            let (t, frames) = (x.shape[0], x.shape[0] * x.shape[1]);
            let dy = if self.first_only {
                let n = self.first.len();
                k.mask_after_first(&dy.data, &self.first, t, n, &mut self.dy_latched);
                &self.dy_latched
            } else {
                &dy.data
            };
            k.max_pool_backward(&g, frames, dy, &self.arg, &mut dx.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 2x2 window over T = 4 steps: spikes at steps 1 (twice) and 3. Max pooling fires at
    /// steps 1 and 3; first-spike pooling only at step 1, and passes the gradient of steps 0
    /// and 1 only.
    #[test]
    fn first_spike_pooling_keeps_the_earliest_spike_of_the_window() {
        let t = 4;
        let mut x = Tensor::zeros(&[t, 1, 1, 2, 2]);
        x.data[4] = 1.0; // step 1, pixel 0
        x.data[4 + 3] = 1.0; // step 1, pixel 3
        x.data[12 + 2] = 1.0; // step 3, pixel 2
        let mut y = Tensor::zeros(&[0]);
        let mut max = MaxPool2d::new(2, 2);
        max.forward(&x, &mut y);
        assert_eq!(y.data.to_vec(), vec![0.0, 1.0, 0.0, 1.0]);
        let mut fp = MaxPool2d::first_spike(2, 2);
        fp.forward(&x, &mut y);
        assert_eq!(y.data.to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(fp.first.to_vec(), vec![1]);

        let dy = Tensor::from_vec(&[t, 1, 1, 1, 1], vec![1.0, 2.0, 3.0, 4.0]);
        let mut dx = Tensor::zeros(&[0]);
        fp.backward(&x, &y, &dy, Some(&mut dx));
        let per_step: Vec<f32> = dx.data.chunks(4).map(|c| c.iter().sum()).collect();
        assert_eq!(per_step, vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(dx.data[4], 2.0, "step 1's gradient goes to its winner");
    }
}
