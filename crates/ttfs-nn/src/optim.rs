//! Optimizers (Adam, AdamW, SGD with momentum) and learning-rate schedules.

use crate::kernels::{AdamStep, Buf, SgdStep};
use crate::layers::Param;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimKind {
    /// Adam; weight decay is added to the gradient (L2), as in `torch.optim.Adam`.
    Adam,
    /// Adam with decoupled weight decay, as in `torch.optim.AdamW`.
    AdamW,
    /// SGD with (optionally Nesterov) momentum; weight decay added to the gradient.
    Sgd,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    pub kind: OptimKind,
    pub lr: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    pub nesterov: bool,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Clip the global gradient norm to this value (0: no clipping).
    pub clip_grad_norm: f32,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            kind: OptimKind::Adam,
            lr: 3e-3,
            weight_decay: 0.0,
            momentum: 0.9,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip_grad_norm: 0.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    Constant,
    /// Cosine decay from `lr` to `min_lr` over all training steps.
    Cosine,
    /// Multiply by `gamma` every `step_epochs` epochs.
    Step,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    pub kind: ScheduleKind,
    pub min_lr: f32,
    pub step_epochs: usize,
    pub gamma: f32,
    /// Linear warm-up over this many epochs (fractions allowed).
    pub warmup_epochs: f32,
    /// Incremental time steps: `[epochs, T]` pairs, from the first (`[0, T0]`) to the last
    /// (`[E, model.time_steps]`): after `epochs` completed epochs the run trains at `T`, with
    /// the same weights (empty: `model.time_steps` throughout). A small T first is cheaper
    /// per step; the model grows to its own T for the last epochs.
    pub time_steps: Vec<[usize; 2]>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            kind: ScheduleKind::Cosine,
            min_lr: 0.0,
            step_epochs: 30,
            gamma: 0.1,
            warmup_epochs: 0.0,
            time_steps: Vec::new(),
        }
    }
}

impl ScheduleConfig {
    /// The T that epoch `epoch` (0-based) trains at under `time_steps`, else `model_t`.
    pub fn time_steps_at(&self, epoch: usize, model_t: usize) -> usize {
        self.time_steps
            .iter()
            .rev()
            .find(|s| s[0] <= epoch)
            .map_or(model_t, |s| s[1])
    }

    /// Learning rate at optimizer step `step` of `total`, with `per_epoch` steps an epoch.
    pub fn lr(&self, base: f32, step: usize, total: usize, per_epoch: usize) -> f32 {
        let warm = (self.warmup_epochs * per_epoch as f32) as usize;
        if step < warm {
            return base * (step + 1) as f32 / warm as f32;
        }
        match self.kind {
            ScheduleKind::Constant => base,
            ScheduleKind::Cosine => {
                let p = (step - warm) as f32 / (total - warm).max(1) as f32;
                self.min_lr
                    + 0.5 * (base - self.min_lr) * (1.0 + (std::f32::consts::PI * p.min(1.0)).cos())
            }
            ScheduleKind::Step => {
                base * self
                    .gamma
                    .powi((step / per_epoch.max(1) / self.step_epochs.max(1)) as i32)
            }
        }
    }
}

/// Optimizer state: one or two moment buffers per parameter, in model order, on the
/// parameters' device.
#[derive(Clone, Debug, Default)]
pub struct Optimizer {
    pub cfg: OptimConfig,
    pub step: u64,
    pub m: Vec<Buf<f32>>,
    pub v: Vec<Buf<f32>>,
}

impl Optimizer {
    pub fn new(cfg: OptimConfig) -> Self {
        Optimizer {
            cfg,
            ..Default::default()
        }
    }

    /// Global L2 norm of all gradients (one number crosses to the host per parameter).
    pub fn grad_norm(params: &[&mut Param]) -> f32 {
        params
            .iter()
            .map(|p| p.grad.kernels().sum_squares(&p.grad))
            .sum::<f64>()
            .sqrt() as f32
    }

    /// One update of every parameter with learning rate `lr`.
    pub fn update(&mut self, params: &mut [&mut Param], lr: f32) {
        crate::kernels::on_worker(|| self.update_here(params, lr))
    }

    fn update_here(&mut self, params: &mut [&mut Param], lr: f32) {
        let fresh = self.m.len() != params.len()
            || self
                .m
                .iter()
                .zip(params.iter())
                .any(|(m, p)| m.device() != p.value.device() || m.len() != p.value.len());
        if fresh {
            // First step, or state restored on the host for a model on a device: put the
            // moments beside the parameters (zeros when there are none yet).
            let place = |old: Option<&Buf<f32>>, p: &Param| match old {
                Some(b) if b.len() == p.value.len() => b.to_device(p.value.device()),
                _ => Buf::zeros(p.value.device(), p.value.len()),
            };
            self.m = params
                .iter()
                .enumerate()
                .map(|(k, p)| place(self.m.get(k), p))
                .collect();
            self.v = params
                .iter()
                .enumerate()
                .map(|(k, p)| place(self.v.get(k), p))
                .collect();
        }
        let cfg = self.cfg.clone();
        let clip = if cfg.clip_grad_norm > 0.0 {
            let n = Self::grad_norm(params);
            if n > cfg.clip_grad_norm {
                cfg.clip_grad_norm / n
            } else {
                1.0
            }
        } else {
            1.0
        };
        self.step += 1;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - cfg.beta1.powi(t), 1.0 - cfg.beta2.powi(t));
        for (k, p) in params.iter_mut().enumerate() {
            let wd = if p.decay { cfg.weight_decay } else { 0.0 };
            let kernels = p.value.kernels();
            match cfg.kind {
                OptimKind::Adam | OptimKind::AdamW => {
                    let (l2, decoupled) = match cfg.kind {
                        OptimKind::Adam => (wd, 0.0),
                        _ => (0.0, lr * wd),
                    };
                    let step = AdamStep {
                        clip,
                        l2,
                        decoupled,
                        beta1: cfg.beta1,
                        beta2: cfg.beta2,
                        eps: cfg.eps,
                        step: lr / bc1,
                        inv_bc2: 1.0 / bc2,
                    };
                    let (m, v) = (&mut self.m[k], &mut self.v[k]);
                    kernels.adam_update(&mut p.value, &p.grad, m, v, &step);
                }
                OptimKind::Sgd => {
                    let step = SgdStep {
                        clip,
                        weight_decay: wd,
                        momentum: cfg.momentum,
                        nesterov: cfg.nesterov,
                        lr,
                    };
                    kernels.sgd_update(&mut p.value, &p.grad, &mut self.m[k], &step);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_by_lr() {
        let mut p = Param::new("w", &[2], vec![1.0, -1.0], true);
        p.grad = vec![0.5, -2.0].into();
        let mut o = Optimizer::new(OptimConfig::default());
        o.update(&mut [&mut p], 0.1);
        assert!((p.value[0] - 0.9).abs() < 1e-5 && (p.value[1] + 0.9).abs() < 1e-5);
    }

    #[test]
    fn sgd_minimizes_a_quadratic() {
        let mut p = Param::new("w", &[1], vec![5.0], false);
        let mut o = Optimizer::new(OptimConfig {
            kind: OptimKind::Sgd,
            ..Default::default()
        });
        for _ in 0..200 {
            p.grad = vec![2.0 * p.value[0]].into();
            o.update(&mut [&mut p], 0.05);
        }
        assert!(p.value[0].abs() < 1e-3);
    }

    #[test]
    fn schedules() {
        let s = ScheduleConfig::default();
        assert!((s.lr(1.0, 0, 100, 10) - 1.0).abs() < 1e-6);
        assert!((s.lr(1.0, 50, 100, 10) - 0.5).abs() < 1e-6);
        assert!(s.lr(1.0, 100, 100, 10).abs() < 1e-6);
        let st = ScheduleConfig {
            kind: ScheduleKind::Step,
            step_epochs: 2,
            gamma: 0.5,
            ..Default::default()
        };
        assert_eq!(st.lr(1.0, 39, 100, 10), 0.5);
        assert_eq!(st.lr(1.0, 40, 100, 10), 0.25);
        let w = ScheduleConfig {
            kind: ScheduleKind::Constant,
            warmup_epochs: 1.0,
            ..Default::default()
        };
        assert!((w.lr(1.0, 4, 100, 10) - 0.5).abs() < 1e-6);
    }
}
