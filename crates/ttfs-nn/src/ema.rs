//! An exponential moving average of the parameters (`train.ema_decay`): after every optimizer
//! step each averaged value moves toward the trained one, `avg += (1 - d) * (w - avg)`. The
//! average is the model that is evaluated, chosen as best and written as the checkpoint's
//! parameters; the trained ("online") weights go on training and are kept in checkpoints
//! beside the optimizer's moments, so that a resumed run continues exactly.
//!
//! The rate warms up as `d_n = min(d, (1 + n) / (10 + n))` after `n` steps (as in timm's
//! `ModelEmaV2` and TensorFlow's `ExponentialMovingAverage` with `num_updates`): early steps,
//! when the weights move fast, do not drag the random initialization along for thousands of
//! steps. `n` is the optimizer's own step count, so a resumed run needs no counter of its own.

use crate::kernels::Buf;
use crate::layers::Param;
use crate::model::Model;

pub struct Ema {
    pub decay: f32,
    /// The averaged values, in the model's parameter order and on its device.
    pub average: Vec<Buf<f32>>,
}

impl Ema {
    /// Start the average at the model's current parameters.
    pub fn new(decay: f32, model: &Model) -> Ema {
        Ema {
            decay,
            // A copy beside each parameter, on its device.
            average: model.params().iter().map(|p| p.value.clone()).collect(),
        }
    }

    /// The decay of the update after `steps` optimizer steps (the warm-up above).
    pub fn decay_at(&self, steps: u64) -> f32 {
        let n = steps as f32;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Move the average toward `params` after the optimizer's `steps`-th step.
    pub fn update(&mut self, params: &[&mut Param], steps: u64) {
        let rate = 1.0 - self.decay_at(steps);
        for (avg, p) in self.average.iter_mut().zip(params) {
            p.value.kernels().lerp(avg, &p.value, rate);
        }
    }

    /// Exchange the model's parameters and the average (buffers only, nothing is copied):
    /// called twice around an evaluation.
    pub fn swap(&mut self, model: &mut Model) {
        for (avg, p) in self.average.iter_mut().zip(model.params_mut()) {
            std::mem::swap(avg, &mut p.value);
        }
    }

    /// Set the average to `values` (from a checkpoint, on the host), beside the model's
    /// parameters on their device.
    pub fn set(&mut self, model: &Model, values: Vec<Vec<f32>>) {
        self.average = values
            .into_iter()
            .zip(model.params())
            .map(|(v, p)| Buf::from_vec(p.value.device(), v))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rng::Rng;

    fn model() -> Model {
        let mut cfg = Config::default().model;
        cfg.spec = "fc6 if fc3".into();
        Model::new(&cfg, &[4], &mut Rng::new(1)).unwrap()
    }

    #[test]
    fn the_rate_warms_up_to_the_decay() {
        let e = Ema::new(0.999, &model());
        assert_eq!(e.decay_at(0), 0.1);
        assert!((e.decay_at(90) - 0.91).abs() < 1e-6);
        assert_eq!(e.decay_at(1_000_000), 0.999);
    }

    /// Against the recurrence written out, with its warm-up; behind weights that rise at a
    /// constant speed the average lags by the closed form's `speed * d / (1 - d)`.
    #[test]
    fn the_average_follows_the_recurrence() {
        let mut m = model();
        let mut e = Ema::new(0.9, &m);
        let start: Vec<Vec<f32>> = m.params().iter().map(|p| p.value.to_vec()).collect();
        let mut expect = start.clone();
        for step in 1..=200u64 {
            for (p, x) in m.params_mut().into_iter().zip(&mut expect) {
                let w: Vec<f32> = p.value.iter().map(|v| v + 0.01).collect();
                p.value.write(&w);
                let d = 0.9f32.min((1.0 + step as f32) / (10.0 + step as f32));
                for (a, wi) in x.iter_mut().zip(&w) {
                    *a = d * *a + (1.0 - d) * wi;
                }
            }
            e.update(&m.params_mut(), step);
        }
        for (avg, x) in e.average.iter().zip(&expect) {
            for (a, b) in avg.to_vec().iter().zip(x) {
                assert!((a - b).abs() < 1e-5, "{a} against {b}");
            }
        }
        // Each weight rose by 2.0; the average lags it by about 0.01 * d / (1 - d) = 0.09.
        for ((avg, p), s) in e.average.iter().zip(m.params()).zip(&start) {
            let (a, w) = (avg.to_vec(), p.value.to_vec());
            for k in 0..a.len() {
                assert!((w[k] - s[k] - 2.0).abs() < 1e-4);
                assert!((w[k] - a[k] - 0.09).abs() < 2e-3, "lag {}", w[k] - a[k]);
            }
        }
    }

    #[test]
    fn swapping_twice_restores_the_model() {
        let mut m = model();
        let mut e = Ema::new(0.9, &m);
        let before: Vec<Vec<f32>> = m.params().iter().map(|p| p.value.to_vec()).collect();
        for p in m.params_mut() {
            let w: Vec<f32> = p.value.iter().map(|v| v * 2.0).collect();
            p.value.write(&w);
        }
        e.swap(&mut m);
        let swapped: Vec<Vec<f32>> = m.params().iter().map(|p| p.value.to_vec()).collect();
        assert_eq!(swapped, before);
        e.swap(&mut m);
        for (p, b) in m.params().iter().zip(&before) {
            let twice: Vec<f32> = b.iter().map(|v| v * 2.0).collect();
            assert_eq!(p.value.to_vec(), twice);
        }
    }
}
