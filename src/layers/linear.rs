//! Linear synapse: `y = W x + b`, applied to all `T*B` frames in one product.

use super::{with_frame, Layer, LayerKind, Param};
use crate::ettfs_init::Init;
use crate::kernels::kernels;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::weight_norm::{Norm, SynapseWeights};

pub struct Linear {
    pub weights: SynapseWeights,
    dw: Vec<f32>,
    db: Vec<f32>,
}

impl Linear {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        n_in: usize,
        n_out: usize,
        norm: Norm,
        init: Init,
        gain: f32,
        t: usize,
        rng: &mut Rng,
    ) -> Self {
        Linear {
            weights: SynapseWeights::new(name, &[n_out, n_in], norm, init, gain, t, rng),
            dw: Vec::new(),
            db: Vec::new(),
        }
    }
}

impl Layer for Linear {
    fn kind(&self) -> LayerKind {
        LayerKind::Synapse
    }
    fn describe(&self) -> String {
        format!(
            "linear {}->{} ({:?})",
            self.weights.fan_in, self.weights.out, self.weights.norm
        )
    }
    fn out_frame(&self, _f: &[usize]) -> Vec<usize> {
        vec![self.weights.out]
    }
    fn macs_per_frame(&self, _f: &[usize]) -> usize {
        self.weights.out * self.weights.fan_in
    }
    // x is [T, B, In], y is [T, B, Out]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let (n_in, n_out) = (self.weights.fan_in, self.weights.out);
        assert_eq!(
            x.frame_len(),
            n_in,
            "linear {n_in}->{n_out}: input frame has {} values",
            x.frame_len()
        );
        self.weights.refresh();
        let frames = x.shape[0] * x.shape[1];
        y.reshape_for_overwrite(&with_frame(x, &[n_out]));
        // y[TB, Out] = x[TB, In] . W[Out, In]^T
        kernels().gemm(
            frames,
            n_in,
            n_out,
            &x.data,
            false,
            &self.weights.w,
            true,
            0.0,
            &mut y.data,
        );
        for row in y.data.chunks_mut(n_out) {
            row.iter_mut()
                .zip(&self.weights.bias)
                .for_each(|(v, b)| *v += b);
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let (n_in, n_out) = (self.weights.fan_in, self.weights.out);
        let frames = x.shape[0] * x.shape[1];
        self.dw.resize(n_out * n_in, 0.0);
        // dW[Out, In] = dy[TB, Out]^T . x[TB, In]
        kernels().gemm(
            n_out,
            frames,
            n_in,
            &dy.data,
            true,
            &x.data,
            false,
            0.0,
            &mut self.dw,
        );
        // db = sum over frames of dy
        self.db.clear();
        self.db.resize(n_out, 0.0);
        for row in dy.data.chunks(n_out) {
            self.db.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        self.weights.backward(&self.dw, &self.db);
        if let Some(dx) = dx {
            dx.reshape_for_overwrite(&x.shape);
            // dx[TB, In] = dy[TB, Out] . W[Out, In]
            kernels().gemm(
                frames,
                n_out,
                n_in,
                &dy.data,
                false,
                &self.weights.w,
                false,
                0.0,
                &mut dx.data,
            );
        }
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }
    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }
}
