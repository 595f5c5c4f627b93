//! 2-D convolution synapse (stride, zero padding), applied to all `T*B` frames.

use super::{with_frame, Layer, LayerKind, Param};
use crate::ettfs_init::Init;
use crate::kernels::{kernels, ConvGeom};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::weight_norm::{Norm, SynapseWeights};

pub struct Conv2d {
    pub weights: SynapseWeights,
    pub in_c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    dw: Vec<f32>,
    db: Vec<f32>,
}

impl Conv2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        in_c: usize,
        out_c: usize,
        k: usize,
        stride: usize,
        pad: usize,
        norm: Norm,
        init: Init,
        gain: f32,
        t: usize,
        rng: &mut Rng,
    ) -> Self {
        Conv2d {
            weights: SynapseWeights::new(name, &[out_c, in_c, k, k], norm, init, gain, t, rng),
            in_c,
            k,
            stride,
            pad,
            dw: Vec::new(),
            db: Vec::new(),
        }
    }

    fn geom(&self, f: &[usize]) -> ConvGeom {
        assert!(
            f.len() == 3 && f[0] == self.in_c,
            "conv expects [{}, H, W] frames, got {f:?}",
            self.in_c
        );
        ConvGeom {
            in_c: f[0],
            in_h: f[1],
            in_w: f[2],
            out_c: self.weights.out,
            k: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> LayerKind {
        LayerKind::Synapse
    }
    fn describe(&self) -> String {
        format!(
            "conv {}->{} k{} s{} p{} ({:?})",
            self.in_c, self.weights.out, self.k, self.stride, self.pad, self.weights.norm
        )
    }
    fn out_frame(&self, f: &[usize]) -> Vec<usize> {
        let g = self.geom(f);
        vec![g.out_c, g.out_h(), g.out_w()]
    }
    fn macs_per_frame(&self, f: &[usize]) -> usize {
        let g = self.geom(f);
        g.out_len() * g.patch_len()
    }
    // x is [T, B, C, H, W], y is [T, B, OC, OH, OW]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let g = self.geom(&x.shape[2..]);
        self.weights.refresh();
        y.reshape_for_overwrite(&with_frame(x, &self.out_frame(&x.shape[2..])));
        let frames = x.shape[0] * x.shape[1];
        kernels().conv2d_forward(
            &g,
            frames,
            &x.data,
            &self.weights.w,
            &self.weights.bias,
            &mut y.data,
        );
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let g = self.geom(&x.shape[2..]);
        let frames = x.shape[0] * x.shape[1];
        self.dw.resize(g.out_c * g.patch_len(), 0.0);
        self.db.resize(g.out_c, 0.0);
        let dx = dx.map(|d| {
            d.reshape_for_overwrite(&x.shape);
            &mut d.data[..]
        });
        kernels().conv2d_backward(
            &g,
            frames,
            &x.data,
            &self.weights.w,
            &dy.data,
            &mut self.dw,
            &mut self.db,
            dx,
        );
        self.weights.backward(&self.dw, &self.db);
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }
    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }
}
