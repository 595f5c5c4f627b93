//! Weight initialization (the paper's first contribution: ETTFS initialization).
//!
//! A TTFS input fires in only one of T steps, so the current a neuron receives at any one
//! step is about T times weaker than in an ANN with the same weights. ETTFS compensates by
//! drawing `W ~ U(-sqrt(3T/N_in), +sqrt(3T/N_in))`, i.e. `Var(W) = T / N_in`, against
//! Kaiming's `2 / N_in`. Without the factor T deep layers go silent ("signal diminishing").

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// `U(-sqrt(3T/N), sqrt(3T/N))`: standard deviation `sqrt(T/N)`.
    Ettfs,
    /// Kaiming normal: `N(0, 2/N)`.
    Kaiming,
    /// PyTorch's default for Linear/Conv: `U(-1/sqrt(N), 1/sqrt(N))`.
    Uniform,
}

impl Init {
    /// Standard deviation of the initial weights for `fan_in` inputs and `t` time steps.
    pub fn std(self, fan_in: usize, t: usize) -> f32 {
        let n = fan_in as f32;
        match self {
            Init::Ettfs => (t as f32 / n).sqrt(),
            Init::Kaiming => (2.0 / n).sqrt(),
            Init::Uniform => 1.0 / (3.0 * n).sqrt(),
        }
    }

    /// Draw `len` weights for `fan_in` inputs; `gain` multiplies the standard deviation.
    pub fn sample(self, len: usize, fan_in: usize, t: usize, gain: f32, rng: &mut Rng) -> Vec<f32> {
        let std = self.std(fan_in, t) * gain;
        match self {
            Init::Kaiming => (0..len).map(|_| std * rng.normal()).collect(),
            Init::Ettfs | Init::Uniform => {
                let bound = std * 3f32.sqrt();
                (0..len).map(|_| rng.range(-bound, bound)).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_variance_matches_the_rule() {
        let mut rng = Rng::new(7);
        for init in [Init::Ettfs, Init::Kaiming, Init::Uniform] {
            let w = init.sample(200_000, 100, 8, 1.0, &mut rng);
            let mean = w.iter().sum::<f32>() / w.len() as f32;
            let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / w.len() as f32;
            let want = init.std(100, 8).powi(2);
            assert!(
                (var / want - 1.0).abs() < 0.02,
                "{init:?}: var {var} want {want}"
            );
            assert!(mean.abs() < 0.01 * want.sqrt() * 10.0);
        }
        assert!((Init::Ettfs.std(100, 8) - (8.0f32 / 100.0).sqrt()).abs() < 1e-7);
    }
}
