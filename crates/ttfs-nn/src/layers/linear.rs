//! Linear synapse: `y = W x + b`, applied to all `T*B` frames in one product.

use super::{with_frame, Layer, LayerKind, Param};
use crate::ettfs_init::Init;
use crate::kernels::{Buf, Events, LINEAR_EVENT_MAX_DENSITY, LINEAR_EVENT_MIN_OUTPUTS};
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::weight_norm::{Norm, SynapseWeights};

pub struct Linear {
    pub weights: SynapseWeights,
    dw: Buf<f32>,
    db: Buf<f32>,
    /// Whether the last input took the event-driven path, its events and their transpose.
    events: bool,
    input_events: Events,
    input_events_t: Events,
    /// Step changes of the output gradient (the event path of the input gradient).
    dy_changes: Events,
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
            dw: Buf::default(),
            db: Buf::default(),
            events: false,
            input_events: Events::default(),
            input_events_t: Events::default(),
            dy_changes: Events::default(),
        }
    }
}

impl Layer for Linear {
    fn plain(&mut self) -> super::Plain {
        let (w, b) = self.weights.fold();
        super::Plain::Linear {
            w,
            b,
            n_in: self.weights.fan_in,
            n_out: self.weights.out,
        }
    }
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
    fn fanout(&self, _f: &[usize]) -> Option<Vec<u32>> {
        Some(vec![self.weights.out as u32; self.weights.fan_in])
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
        y.reshape_for_overwrite(x.device(), &with_frame(x, &[n_out]));
        let k = x.data.kernels();
        let (ev, max) = (&mut self.input_events, LINEAR_EVENT_MAX_DENSITY);
        self.events =
            n_out >= LINEAR_EVENT_MIN_OUTPUTS && k.collect_events(&x.data, frames, n_in, max, ev);
        if self.events {
            // Spikes: y[f, :] = sum over the spikes x[f, i] of W[:, i] (event-driven).
            let (ev, w) = (&self.input_events, &self.weights.w);
            k.gemm_events(ev, n_out, w, true, &mut y.data, false);
        } else {
            // y[TB, Out] = x[TB, In] . W[Out, In]^T
            k.gemm(
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
        }
        k.add_bias(&mut y.data, &self.weights.bias, frames, n_out);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let (n_in, n_out) = (self.weights.fan_in, self.weights.out);
        let frames = x.shape[0] * x.shape[1];
        let k = x.data.kernels();
        self.dw.resize_for_overwrite(x.device(), n_out * n_in);
        if self.events {
            // dW^T[In, Out] = x^T[In, TB] . dy[TB, Out] over the input spikes, stored
            // transposed: dW[Out, In].
            k.transpose_events(&self.input_events, &mut self.input_events_t);
            let ev = &self.input_events_t;
            k.gemm_events(ev, n_out, &dy.data, false, &mut self.dw, true);
        } else {
            // dW[Out, In] = dy[TB, Out]^T . x[TB, In]
            k.gemm(
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
        }
        // db = sum over frames of dy
        k.column_sums(&dy.data, frames, n_out, &mut self.db);
        self.weights.backward(&self.dw, &self.db);
        if let Some(dx) = dx {
            dx.reshape_for_overwrite(x.device(), &x.shape);
            let (t, b) = (x.shape[0], x.shape[1]);
            let changes = &mut self.dy_changes;
            if k.step_change_events(&dy.data, t, b, n_out, LINEAR_EVENT_MAX_DENSITY, changes) {
                // dy[k] is the sum over j >= k of its step changes d[j] (a neuron's input
                // gradient accumulates backward in time and changes only where the surrogate
                // and the fire-once mask are nonzero), so dx[k] = sum_{j >= k} d[j] . W:
                // one product over the changes' events, then a running sum over steps.
                k.gemm_events(changes, n_in, &self.weights.w, false, &mut dx.data, false);
                k.reverse_cumsum_steps(&mut dx.data, t, b * n_in);
                return;
            }
            // dx[TB, In] = dy[TB, Out] . W[Out, In]
            k.gemm(
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

    /// An output gradient that changes at few steps (a compact-support surrogate's) takes the
    /// step-change path of the input gradient; the same gradient with every step perturbed
    /// takes the dense product. Both equal `dy . W`.
    #[test]
    fn input_gradient_over_step_changes_matches_the_product() {
        let (t, b, n_in, n_out) = (5, 7, 30, 19);
        let mut rng = Rng::new(3);
        // dy[k] = sum_{j >= k} q[j] with q 3% nonzero.
        let mut dy = vec![0.0f32; t * b * n_out];
        for k in (0..t).rev() {
            for i in 0..b * n_out {
                let q = if rng.uniform() < 0.03 {
                    rng.uniform() - 0.5
                } else {
                    0.0
                };
                let later = if k + 1 < t {
                    dy[(k + 1) * b * n_out + i]
                } else {
                    0.0
                };
                dy[k * b * n_out + i] = q + later;
            }
        }
        let x = Tensor::from_vec(&[t, b, n_in], vec![0.0; t * b * n_in]);
        let mut results = Vec::new();
        for dense in [false, true] {
            let mut l = Linear::new(
                "fc",
                n_in,
                n_out,
                Norm::None,
                Init::Ettfs,
                1.0,
                t,
                &mut Rng::new(1),
            );
            let mut y = Tensor::default();
            l.forward(&x, &mut y);
            let g: Vec<f32> = dy
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if dense {
                        v + 1e-3 * (1 + i / (b * n_out)) as f32
                    } else {
                        v
                    }
                })
                .collect();
            let dyt = Tensor::from_vec(&y.shape, g.clone());
            let mut dx = Tensor::default();
            l.backward(&x, &y, &dyt, Some(&mut dx));
            let w = l.weights.w.to_vec();
            // The product, written out.
            let mut want = vec![0.0f32; t * b * n_in];
            for f in 0..t * b {
                for o in 0..n_out {
                    for i in 0..n_in {
                        want[f * n_in + i] += g[f * n_out + o] * w[o * n_in + i];
                    }
                }
            }
            let took_changes = !l.dy_changes.entries.is_empty();
            results.push(took_changes);
            for (u, v) in dx.data.to_vec().iter().zip(&want) {
                assert!(
                    (u - v).abs() < 1e-5 * (1.0 + v.abs()),
                    "dense {dense}: {u} vs {v}"
                );
            }
        }
        assert_eq!(
            results,
            [true, false],
            "sparse changes take the step-change path, dense ones the product"
        );
    }

    /// Spike input takes the event-driven path; the same input with tiny values in place of
    /// its zeros takes the dense one. Outputs and gradients agree.
    #[test]
    fn event_path_matches_dense_path() {
        let mut rng = Rng::new(8);
        let spikes: Vec<f32> = (0..4 * 37 * 70)
            .map(|_| if rng.uniform() < 0.03 { 1.0 } else { 0.0 })
            .collect();
        let dense: Vec<f32> = spikes
            .iter()
            .map(|&v| if v == 0.0 { 1e-30 } else { v })
            .collect();
        let mut results = Vec::new();
        for x in [spikes, dense] {
            let mut l = Linear::new(
                "fc",
                70,
                33,
                Norm::WeightAffine,
                Init::Ettfs,
                1.0,
                4,
                &mut Rng::new(1),
            );
            let x = Tensor::from_vec(&[4, 37, 70], x);
            let mut y = Tensor::default();
            l.forward(&x, &mut y);
            let dy = Tensor::from_vec(
                &y.shape,
                (0..y.len())
                    .map(|i| ((i * 7919) % 13) as f32 - 6.0)
                    .collect(),
            );
            let mut dx = Tensor::default();
            l.backward(&x, &y, &dy, Some(&mut dx));
            results.push((
                l.events,
                y.data.to_vec(),
                l.weights.raw.grad.to_vec(),
                dx.data.to_vec(),
            ));
        }
        assert!(
            results[0].0 && !results[1].0,
            "the two inputs must take different paths"
        );
        for k in 0..3 {
            let (a, b) = match k {
                0 => (&results[0].1, &results[1].1),
                1 => (&results[0].2, &results[1].2),
                _ => (&results[0].3, &results[1].3),
            };
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-3 * (1.0 + v.abs()), "{k}: {u} vs {v}");
            }
        }
    }
}
