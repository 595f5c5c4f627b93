//! The TTFS neuron layer: non-leaky integrate-and-fire, threshold 1, fires at most once.
//! A thin wrapper over the fused kernel in `kernels/cpu/integrate_fire.rs` (which states the
//! equations). It keeps no state between its passes: backward recomputes the membrane
//! potentials from the input currents, which the model keeps anyway, so a `[T, B, F]` array
//! per neuron layer is not held from the forward to the backward pass.

use super::{Layer, LayerKind};
use crate::kernels::IfParams;
use crate::tensor::Tensor;

pub struct Neuron {
    pub params: IfParams,
    /// Banded surrogate: backward passes so far, and the `(active, total)` entries counted
    /// on every `ACTIVE_SAMPLE_EVERY`-th (a statistic for the epoch line; the count is a pass
    /// over the potentials, not paid every step).
    backward_calls: u64,
    active: (u64, u64),
}

/// Backward passes between two counts of a banded layer's active entries.
const ACTIVE_SAMPLE_EVERY: u64 = 8;

impl Neuron {
    pub fn new(params: IfParams) -> Self {
        Neuron {
            params,
            backward_calls: 0,
            active: (0, 0),
        }
    }
}

impl Layer for Neuron {
    fn plain(&mut self) -> super::Plain {
        super::Plain::Neuron {
            fire_once: self.params.fire_once,
        }
    }
    fn kind(&self) -> LayerKind {
        LayerKind::Neuron
    }
    fn describe(&self) -> String {
        let p = &self.params;
        format!(
            "if{} ({:?} alpha {}{}{})",
            if p.fire_once {
                " fire-once"
            } else {
                " multi-spike"
            },
            p.surrogate.kind,
            p.surrogate.alpha,
            if p.surrogate.is_banded() {
                format!(", band {}", p.surrogate.band)
            } else {
                String::new()
            },
            if p.mask_grad {
                ", grad through mask"
            } else {
                ""
            }
        )
    }
    fn out_frame(&self, f: &[usize]) -> Vec<usize> {
        f.to_vec()
    }
    fn take_active(&mut self) -> Option<(u64, u64)> {
        if !self.params.surrogate.is_banded() {
            return None;
        }
        Some(std::mem::take(&mut self.active))
    }
    fn neuron_params_mut(&mut self) -> Option<&mut IfParams> {
        Some(&mut self.params)
    }
    // x (currents) and y (spikes) are [T, B, ...]
    fn forward(&mut self, x: &Tensor, y: &mut Tensor) {
        let t = x.shape[0];
        let n = x.len() / t;
        y.reshape_for_overwrite(x.device(), &x.shape);
        x.data
            .kernels()
            .if_forward_spikes(&self.params, t, n, &x.data, &mut y.data);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let (t, k) = (x.shape[0], x.data.kernels());
        let n = x.len() / t;
        let band = self.params.surrogate.band;
        if self.params.surrogate.is_banded()
            && self.backward_calls.is_multiple_of(ACTIVE_SAMPLE_EVERY)
        {
            // In band around the threshold 1 and before the spike.
            self.active.0 += k.if_count_near_threshold(&self.params, t, n, &x.data, band);
            self.active.1 += x.len() as u64;
        }
        self.backward_calls += 1;
        if let Some(dx) = dx {
            dx.reshape_for_overwrite(x.device(), &x.shape);
            k.if_backward_recomputed(&self.params, t, n, &x.data, &dy.data, &mut dx.data);
        }
    }
}
