//! 2-D convolution synapse (stride, zero padding), applied to all `T*B` frames.
//!
//! A convolution followed by average pooling whose stride is its window (`conv.. ap2`) is
//! one linear map, so the model folds the pooling into the convolution: a kernel of
//! `s*(K-1) + k` taps with stride `s*K` whose weights are the `k x k` weights smeared over a
//! `K x K` box (see [`fold_box`]). The pooled output comes out directly: for `conv k3 ap2` a
//! quarter of the outputs and 16 instead of 4 * 9 = 36 taps per pooled output, and the
//! full-resolution map is never stored. The learnable weights stay `k x k`.

use super::{with_frame, Layer, LayerKind, Param};
use crate::ettfs_init::Init;
use crate::kernels::{
    cpu::folded_k, Buf, ConvGeom, Events, CONV_CHANGE_MAX_DENSITY, CONV_EVENT_MAX_DENSITY,
};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::weight_norm::{Norm, SynapseWeights};

pub struct Conv2d {
    pub weights: SynapseWeights,
    pub in_c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    /// Window (and stride) of the average pooling folded into this convolution; 1 if none.
    pub pool: usize,
    /// The folded `[out_c, in_c, k', k']` weights when `pool > 1` (refreshed every forward).
    folded: Buf<f32>,
    dw: Buf<f32>,
    dw_folded: Buf<f32>,
    db: Buf<f32>,
    /// Whether the last input took the event-driven path, and its events (one row a frame).
    events: bool,
    input_events: Events,
    /// Step changes of the output gradient (the event path of the input gradient).
    dy_changes: Events,
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
            pool: 1,
            folded: Buf::default(),
            dw: Buf::default(),
            dw_folded: Buf::default(),
            db: Buf::default(),
            events: false,
            input_events: Events::default(),
            dy_changes: Events::default(),
        }
    }

    /// Fold a following average pooling of window and stride `pool` into this convolution.
    pub fn with_avg_pool(mut self, pool: usize) -> Self {
        assert!(pool >= 1);
        self.pool = pool;
        self
    }

    /// Geometry of the convolution actually run (the folded one when pooling is folded in).
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
            k: folded_k(self.k, self.stride, self.pool),
            stride: self.stride * self.pool,
            pad: self.pad,
        }
    }
}

impl Layer for Conv2d {
    fn plain(&mut self) -> super::Plain {
        let (w, b) = self.weights.fold();
        super::Plain::Conv {
            w,
            b,
            in_c: self.in_c,
            out_c: self.weights.out,
            k: self.k,
            stride: self.stride,
            pad: self.pad,
            pool: self.pool,
        }
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Synapse
    }
    fn describe(&self) -> String {
        let pool = if self.pool > 1 {
            format!(" + avgpool k{} s{} (folded)", self.pool, self.pool)
        } else {
            String::new()
        };
        format!(
            "conv {}->{} k{} s{} p{} ({:?}){pool}",
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
    fn fanout(&self, f: &[usize]) -> Option<Vec<u32>> {
        // Input row y reaches the output rows oy with oy*s - p <= y <= oy*s - p + k - 1 (of
        // the convolution actually run: the folded one when pooling is folded in).
        let g = self.geom(f);
        let reach = |y: usize, n_out: usize| -> u32 {
            (0..n_out)
                .filter(|&o| {
                    let lo = o * g.stride;
                    let (y, hi) = (y + g.pad, lo + g.k - 1);
                    lo <= y && y <= hi
                })
                .count() as u32
        };
        let rows: Vec<u32> = (0..g.in_h).map(|y| reach(y, g.out_h())).collect();
        let cols: Vec<u32> = (0..g.in_w).map(|x| reach(x, g.out_w())).collect();
        let mut out = Vec::with_capacity(g.in_len());
        for _ in 0..g.in_c {
            for &r in &rows {
                out.extend(cols.iter().map(|&c| r * c * g.out_c as u32));
            }
        }
        Some(out)
    }
    // x is [T, B, C, H, W], y is [T, B, OC, OH, OW]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let g = self.geom(&x.shape[2..]);
        self.weights.refresh();
        y.reshape_for_overwrite(x.device(), &with_frame(x, &self.out_frame(&x.shape[2..])));
        let frames = x.shape[0] * x.shape[1];
        let k = x.data.kernels();
        let w = if self.pool > 1 {
            let rows = self.weights.out * self.in_c;
            let (w, f) = (&self.weights.w, &mut self.folded);
            k.fold_box(w, rows, self.k, self.stride, self.pool, f);
            &self.folded
        } else {
            &self.weights.w
        };
        // Spike maps (at most one spike per unit over T): their events, kept for backward.
        let ev = &mut self.input_events;
        self.events = k.collect_events(&x.data, frames, g.in_len(), CONV_EVENT_MAX_DENSITY, ev);
        let (bias, y) = (&self.weights.bias, &mut y.data);
        if self.events {
            k.conv2d_forward_events(&g, &self.input_events, w, bias, y);
        } else {
            k.conv2d_forward(&g, frames, &x.data, w, bias, y);
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let g = self.geom(&x.shape[2..]);
        let frames = x.shape[0] * x.shape[1];
        let k = x.data.kernels();
        let dev = x.device();
        self.db.resize_for_overwrite(dev, g.out_c);
        let mut dx = dx.map(|d| {
            d.reshape_for_overwrite(dev, &x.shape);
            &mut d.data
        });
        // A banded surrogate's gradient changes at few steps: dy[k] is the sum over j >= k of
        // its step changes d[j], so dx[k] = sum_{j >= k} conv^T(d[j]), a transposed
        // convolution over the changes' events summed backward over steps.
        let (t, b) = (x.shape[0], x.shape[1]);
        let changes = &mut self.dy_changes;
        let over_changes = dx.is_some()
            && k.step_change_events(
                &dy.data,
                t,
                b,
                g.out_len(),
                CONV_CHANGE_MAX_DENSITY,
                changes,
            );
        let dense_dx = if over_changes {
            None
        } else {
            dx.as_deref_mut()
        };
        // Folded: the kernel's weight gradient is the folded one, mapped back by the adjoint.
        let (w, dw) = if self.pool > 1 {
            (&self.folded, &mut self.dw_folded)
        } else {
            (&self.weights.w, &mut self.dw)
        };
        dw.resize_for_overwrite(dev, g.out_c * g.patch_len());
        let ev = self.events.then_some(&self.input_events);
        k.conv2d_backward(
            &g,
            frames,
            &x.data,
            ev,
            w,
            &dy.data,
            dw,
            &mut self.db,
            dense_dx,
        );
        if let (true, Some(dx)) = (over_changes, dx) {
            k.conv2d_input_grad_changes(&g, t, &self.dy_changes, w, dx);
        }
        if self.pool > 1 {
            let rows = self.weights.out * self.in_c;
            let (df, dw) = (&self.dw_folded, &mut self.dw);
            k.unfold_box_grad(df, rows, self.k, self.stride, self.pool, dw);
        }
        self.weights.backward(&self.dw, &self.db);
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weights.params_mut()
    }
    fn synapse_mut(&mut self) -> Option<&mut SynapseWeights> {
        Some(&mut self.weights)
    }
    fn params(&self) -> Vec<&Param> {
        self.weights.params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::avg_pool::AvgPool2d;

    /// An output gradient that changes at few steps (a banded surrogate's) takes the input
    /// gradient over its step changes (the transposed convolution of their events and a
    /// running sum over steps); the same gradient with every step perturbed takes the dense
    /// kernel. Each equals the dense kernel applied to the gradient it was given, and the
    /// weight and bias gradients are the dense path's.
    #[test]
    fn input_gradient_over_step_changes_matches_the_dense_kernel() {
        // plain and with a 2x2 pooling folded in (a 4x4 kernel at stride 2)
        for pool in [1, 2] {
            let (t, b, in_c, out_c, h, w) = (4, 3, 5, 6, 8, 8);
            let mut rng = Rng::new(31);
            let x = Tensor::from_vec(
                &[t, b, in_c, h, w],
                (0..t * b * in_c * h * w)
                    .map(|_| if rng.uniform() < 0.1 { 1.0 } else { 0.0 })
                    .collect(),
            );
            let mut took = Vec::new();
            for dense in [false, true] {
                let mut l = Conv2d::new(
                    "c",
                    in_c,
                    out_c,
                    3,
                    1,
                    1,
                    Norm::None,
                    Init::Ettfs,
                    1.0,
                    t,
                    &mut Rng::new(1),
                )
                .with_avg_pool(pool);
                let mut y = Tensor::default();
                l.forward(&x, &mut y);
                // dy[k] = sum_{j >= k} q[j] with q 3% nonzero (plus, dense, a drift per step).
                let n = y.len() / t;
                let mut dy = vec![0.0f32; y.len()];
                for k in (0..t).rev() {
                    for i in 0..n {
                        let q = if rng.uniform() < 0.03 {
                            rng.range(-1.0, 1.0)
                        } else {
                            0.0
                        };
                        let later = if k + 1 < t { dy[(k + 1) * n + i] } else { 0.0 };
                        dy[k * n + i] = q + later;
                    }
                }
                if dense {
                    dy.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v += 1e-3 * (1 + i / n) as f32);
                }
                let dyt = Tensor::from_vec(&y.shape, dy);
                let mut dx = Tensor::default();
                l.backward(&x, &y, &dyt, Some(&mut dx));
                took.push(!l.dy_changes.entries.is_empty());
                // The dense kernel on the same gradient.
                let g = l.geom(&x.shape[2..]);
                let wts = if pool > 1 { &l.folded } else { &l.weights.w };
                let (mut dw, mut db, mut want) = (Buf::default(), Buf::default(), Buf::default());
                want.resize_for_overwrite(x.device(), x.len());
                dw.resize_for_overwrite(x.device(), out_c * g.patch_len());
                db.resize_for_overwrite(x.device(), out_c);
                let (k, frames) = (x.data.kernels(), t * b);
                let ev = l.events.then_some(&l.input_events);
                k.conv2d_backward(
                    &g,
                    frames,
                    &x.data,
                    ev,
                    wts,
                    &dyt.data,
                    &mut dw,
                    &mut db,
                    Some(&mut want),
                );
                for (u, v) in dx.data.to_vec().iter().zip(want.to_vec()) {
                    assert!(
                        (u - v).abs() < 1e-4 * (1.0 + v.abs()),
                        "pool {pool} dense {dense}: {u} vs {v}"
                    );
                }
                let ours = if pool > 1 { &l.dw_folded } else { &l.dw };
                assert_eq!(
                    ours.to_vec(),
                    dw.to_vec(),
                    "pool {pool}: the weight gradient is the dense path's"
                );
            }
            assert_eq!(
                took,
                [true, false],
                "pool {pool}: sparse changes take the events, dense ones the kernel"
            );
        }
    }

    /// The folded layer against a convolution followed by an average pooling layer: same
    /// output, input gradient and weight gradients, for unit and larger conv strides.
    #[test]
    fn folded_avg_pool_matches_conv_then_pool() {
        for (k, stride, pad, pool, h, w) in
            [(3, 1, 1, 2, 8, 7), (3, 2, 0, 2, 11, 12), (5, 1, 2, 3, 9, 9)]
        {
            let (in_c, out_c, t, b) = (3, 4, 2, 3);
            let make = |pool: usize| {
                let mut rng = Rng::new(9);
                let c = Conv2d::new(
                    "c",
                    in_c,
                    out_c,
                    k,
                    stride,
                    pad,
                    Norm::WeightAffine,
                    Init::Ettfs,
                    1.0,
                    t,
                    &mut rng,
                );
                c.with_avg_pool(pool)
            };
            let (mut plain, mut folded) = (make(1), make(pool));
            let mut pooling = AvgPool2d {
                k: pool,
                stride: pool,
            };
            let mut rng = Rng::new(4);
            let x = Tensor::from_vec(
                &[t, b, in_c, h, w],
                (0..t * b * in_c * h * w)
                    .map(|_| rng.range(-1.0, 1.0))
                    .collect(),
            );
            let (mut mid, mut want, mut got) =
                (Tensor::default(), Tensor::default(), Tensor::default());
            plain.forward(&x, &mut mid);
            pooling.forward(&mid, &mut want);
            folded.forward(&x, &mut got);
            assert_eq!(want.shape, got.shape);
            assert_eq!(folded.out_frame(&x.shape[2..]), want.shape[2..].to_vec());
            for (a, b) in want.data.iter().zip(got.data.iter()) {
                assert!((a - b).abs() < 1e-4, "forward {a} vs {b}");
            }
            let dy = Tensor::from_vec(
                &want.shape,
                (0..want.len()).map(|_| rng.range(-1.0, 1.0)).collect(),
            );
            let (mut dmid, mut dx_want, mut dx_got) =
                (Tensor::default(), Tensor::default(), Tensor::default());
            pooling.backward(&mid, &want, &dy, Some(&mut dmid));
            plain.backward(&x, &mid, &dmid, Some(&mut dx_want));
            folded.backward(&x, &got, &dy, Some(&mut dx_got));
            for (a, b) in dx_want.data.iter().zip(dx_got.data.iter()) {
                assert!((a - b).abs() < 1e-4, "dx {a} vs {b}");
            }
            for (p, q) in plain.params().iter().zip(folded.params()) {
                assert_eq!(p.name, q.name);
                for (a, b) in p.grad.iter().zip(q.grad.iter()) {
                    assert!(
                        (a - b).abs() < 1e-3 * (1.0 + a.abs()),
                        "{}: {a} vs {b}",
                        p.name
                    );
                }
            }
        }
    }
}
