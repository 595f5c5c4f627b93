//! Surrogate derivatives for the Heaviside spike function `H(x)`, `x = v - threshold`.
//!
//! The forward pass of a spiking neuron uses `H` itself; the backward pass replaces its
//! derivative (a Dirac delta) by a smooth bump of unit area whose sharpness is `alpha`.
//! Every surrogate also has its primitive, a smooth step, so that tests can run the forward
//! pass with the smooth step instead of `H` and compare hand-written backward passes with
//! finite differences of an honestly differentiable function.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SurrogateKind {
    /// `alpha * sig(alpha x) * (1 - sig(alpha x))`, SpikingJelly's default (alpha = 4).
    Sigmoid,
    /// `(alpha / 2) / (1 + (pi/2 * alpha * x)^2)`, SpikingJelly's `ATan` (alpha = 2).
    Atan,
    /// Triangle of half-width `2/alpha` and height `alpha/2`.
    Triangle,
    /// Rectangle of half-width `1/alpha` and height `alpha/2` (straight-through estimator).
    Rectangle,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surrogate {
    pub kind: SurrogateKind,
    pub alpha: f32,
}

impl Surrogate {
    pub fn new(kind: SurrogateKind, alpha: f32) -> Self {
        Surrogate { kind, alpha }
    }

    /// The surrogate derivative `dH/dx` used in backward.
    #[inline]
    pub fn grad(&self, x: f32) -> f32 {
        let a = self.alpha;
        match self.kind {
            SurrogateKind::Sigmoid => {
                let s = 1.0 / (1.0 + (-a * x).exp());
                a * s * (1.0 - s)
            }
            SurrogateKind::Atan => {
                let u = std::f32::consts::FRAC_PI_2 * a * x;
                0.5 * a / (1.0 + u * u)
            }
            SurrogateKind::Triangle => {
                let h = 0.5 * a;
                (h * (1.0 - h * x.abs())).max(0.0)
            }
            SurrogateKind::Rectangle => {
                if x.abs() < 1.0 / a {
                    0.5 * a
                } else {
                    0.0
                }
            }
        }
    }

    /// The smooth step whose derivative is [`Surrogate::grad`] (0 at -inf, 1 at +inf).
    /// Used only when a neuron runs in smooth mode, for gradient checks.
    #[inline]
    pub fn primitive(&self, x: f32) -> f32 {
        let a = self.alpha;
        match self.kind {
            SurrogateKind::Sigmoid => 1.0 / (1.0 + (-a * x).exp()),
            SurrogateKind::Atan => {
                0.5 + (std::f32::consts::FRAC_PI_2 * a * x).atan() / std::f32::consts::PI
            }
            SurrogateKind::Triangle => {
                let h = 0.5 * a;
                let u = (h * x).clamp(-1.0, 1.0);
                if u < 0.0 {
                    0.5 * (1.0 + u) * (1.0 + u)
                } else {
                    1.0 - 0.5 * (1.0 - u) * (1.0 - u)
                }
            }
            SurrogateKind::Rectangle => (0.5 + 0.5 * a * x).clamp(0.0, 1.0),
        }
    }

    /// The spike function of the forward pass: `H(x)` (spike when `v >= threshold`), or the
    /// smooth step when `smooth` is set.
    #[inline]
    pub fn spike(&self, x: f32, smooth: bool) -> f32 {
        if smooth {
            self.primitive(x)
        } else if x >= 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grad_is_derivative_of_primitive_and_has_unit_area() {
        for kind in [
            SurrogateKind::Sigmoid,
            SurrogateKind::Atan,
            SurrogateKind::Triangle,
            SurrogateKind::Rectangle,
        ] {
            let s = Surrogate::new(kind, 4.0);
            let mut area = 0.0f64;
            let dx = 1e-3f32;
            let mut x = -200.0f32;
            while x < 200.0 {
                area += s.grad(x) as f64 * dx as f64;
                x += dx;
            }
            let tol = if kind == SurrogateKind::Atan {
                2e-3
            } else {
                1e-3
            };
            assert!((area - 1.0).abs() < tol, "{kind:?} area {area}");
            for &x in &[-0.7f32, -0.2, 0.05, 0.3, 0.45] {
                let h = 1e-3;
                let fd = (s.primitive(x + h) - s.primitive(x - h)) / (2.0 * h);
                assert!(
                    (fd - s.grad(x)).abs() < 2e-2,
                    "{kind:?} at {x}: fd {fd} vs {}",
                    s.grad(x)
                );
            }
        }
    }
}
