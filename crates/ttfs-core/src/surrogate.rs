//! Surrogate derivatives for the Heaviside spike function `H(x)`, `x = v - threshold`.
//!
//! The forward pass of a spiking neuron uses `H` itself; the backward pass replaces its
//! derivative (a Dirac delta) by a smooth bump of unit area whose sharpness is `alpha`.
//! Every surrogate also has its primitive, a smooth step, so that tests can run the forward
//! pass with the smooth step instead of `H` and compare hand-written backward passes with
//! finite differences of an honestly differentiable function.
//!
//! A surrogate may be cut to a band around the threshold (`band`, Perez-Nieves and Goodman's
//! sparse spiking gradient descent): its derivative is the kind's inside `|x| < band` and
//! exactly 0 outside, so only the (step, neuron) entries near the threshold carry gradient
//! and backward can skip the rest. Its primitive is the kind's step clamped to the band,
//! `P(clamp(x, -band, band)) - P(-band)`, whose area is what the band keeps (below 1).

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
    /// Half-width of the band around the threshold outside which the derivative is 0
    /// (`model.band`); infinite: the kind's own support (dense for sigmoid and atan).
    pub band: f32,
}

impl Surrogate {
    pub fn new(kind: SurrogateKind, alpha: f32) -> Self {
        Surrogate {
            kind,
            alpha,
            band: f32::INFINITY,
        }
    }

    /// The same surrogate cut to `|x| < band` (`None`: uncut).
    pub fn banded(self, band: Option<f32>) -> Self {
        Surrogate {
            band: band.unwrap_or(f32::INFINITY),
            ..self
        }
    }

    /// Whether the derivative is cut to a band (so zero at most entries).
    pub fn is_banded(&self) -> bool {
        self.band.is_finite()
    }

    /// The surrogate derivative `dH/dx` used in backward.
    #[inline]
    pub fn grad(&self, x: f32) -> f32 {
        let g = self.kind_grad(x);
        if x.abs() < self.band {
            g
        } else {
            0.0
        }
    }

    /// The kind's derivative, without the band.
    #[inline]
    fn kind_grad(&self, x: f32) -> f32 {
        let a = self.alpha;
        match self.kind {
            SurrogateKind::Sigmoid => sigmoid_grad(a, x),
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

    /// `out[j] = grad(v[j] - threshold)` for a row of neurons. A separate function with one
    /// loop per kind, so that each loop vectorizes (inlined into the neuron's backward pass,
    /// with the kind matched per element, the loop stayed scalar).
    #[inline(never)]
    pub fn grad_row(&self, v: &[f32], threshold: f32, out: &mut [f32]) {
        let a = self.alpha;
        let out = &mut out[..v.len()];
        match self.kind {
            SurrogateKind::Sigmoid if self.is_banded() => {
                // A select, not a branch, so that the loop still vectorizes.
                let band = self.band;
                for (o, &x) in out.iter_mut().zip(v) {
                    let g = sigmoid_grad(a, x - threshold);
                    *o = if (x - threshold).abs() < band { g } else { 0.0 };
                }
            }
            SurrogateKind::Sigmoid => {
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = sigmoid_grad(a, x - threshold);
                }
            }
            _ => {
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = self.grad(x - threshold);
                }
            }
        }
    }

    /// The smooth step whose derivative is [`Surrogate::grad`] (0 at -inf, 1 at +inf; with a
    /// band, the area the band keeps at +inf). Used only when a neuron runs in smooth mode,
    /// for gradient checks.
    #[inline]
    pub fn primitive(&self, x: f32) -> f32 {
        if self.is_banded() {
            let b = self.band;
            return self.kind_primitive(x.clamp(-b, b)) - self.kind_primitive(-b);
        }
        self.kind_primitive(x)
    }

    /// The kind's smooth step, without the band.
    #[inline]
    fn kind_primitive(&self, x: f32) -> f32 {
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

/// `alpha sig(alpha x) (1 - sig(alpha x))`.
#[inline(always)]
fn sigmoid_grad(a: f32, x: f32) -> f32 {
    let s = 1.0 / (1.0 + exp(-a * x));
    a * s * (1.0 - s)
}

/// `e^x` without a libm call, so that loops over neurons vectorize (the surrogate gradient
/// is evaluated for every neuron and step). Cephes' `expf` scheme: `x = n ln2 + r` with `r`
/// in `[-ln2/2, ln2/2]`, a degree-6 polynomial for `e^r`, and `2^n` built in the exponent
/// bits. Relative error below 2e-7 (tested against `f32::exp`); inputs are clamped to
/// `[-87, 88]` (`e^-87` is near the smallest normal, `e^88` near the largest float).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Only adds, multiplies, min/max and integer bit operations, all of which vectorize
    // (`floor`, `clamp` and float-to-int casts kept the loop scalar).
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    #[allow(clippy::manual_clamp)] // clamp does not vectorize
    let x = x.max(-87.0).min(88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND; // round(x log2 e), exactly
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // The low bits of `shifted` hold n (two's complement, offset by 2^22): 2^n is n + 127
    // placed in the exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    e * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [SurrogateKind; 4] = [
        SurrogateKind::Sigmoid,
        SurrogateKind::Atan,
        SurrogateKind::Triangle,
        SurrogateKind::Rectangle,
    ];

    /// `s.grad(x)` against the central difference of `s.primitive` at `x`.
    fn assert_grad_is_slope(s: &Surrogate, x: f32) {
        let h = 1e-3;
        let fd = (s.primitive(x + h) - s.primitive(x - h)) / (2.0 * h);
        let kind = s.kind;
        assert!(
            (fd - s.grad(x)).abs() < 2e-2,
            "{kind:?} at {x}: fd {fd} vs {}",
            s.grad(x)
        );
    }

    /// The integral of `s.grad` over `[-half, half]` by rectangles of width `dx`.
    fn area(s: &Surrogate, half: f32, dx: f32) -> f64 {
        let (mut area, mut x) = (0.0f64, -half);
        while x < half {
            area += s.grad(x) as f64 * dx as f64;
            x += dx;
        }
        area
    }

    #[test]
    fn fast_exp_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let (got, want) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(
            exp(-1000.0) > 0.0 && exp(1000.0).is_finite(),
            "clamped, never 0 or inf"
        );
    }

    #[test]
    fn grad_is_derivative_of_primitive_and_has_unit_area() {
        for kind in ALL_KINDS {
            let s = Surrogate::new(kind, 4.0);
            let area = area(&s, 200.0, 1e-3);
            let tol = if kind == SurrogateKind::Atan {
                2e-3
            } else {
                1e-3
            };
            assert!((area - 1.0).abs() < tol, "{kind:?} area {area}");
            for &x in &[-0.7f32, -0.2, 0.05, 0.3, 0.45] {
                assert_grad_is_slope(&s, x);
            }
        }
    }

    /// A surrogate cut to a band: its derivative is the kind's inside the band and exactly 0
    /// outside, the derivative of its own primitive, whose total rise is the band's area;
    /// the row kernel gives the same bits as `grad`; an infinite band changes nothing.
    #[test]
    fn banded_grad_is_derivative_of_its_primitive() {
        for kind in ALL_KINDS {
            let dense = Surrogate::new(kind, 4.0);
            let s = dense.banded(Some(0.2)); // inside every kind's support
            assert!(s.is_banded() && !dense.is_banded());
            let area = area(&s, 2.0, 1e-4);
            let rise = (s.primitive(10.0) - s.primitive(-10.0)) as f64;
            assert!(
                (area - rise).abs() < 1e-3,
                "{kind:?}: area {area} vs rise {rise}"
            );
            assert!(rise < 1.0 && rise > 0.2, "{kind:?}: rise {rise}");
            for &x in &[-0.7f32, -0.21, 0.21, 2.0, 1e30] {
                assert_eq!(s.grad(x), 0.0, "{kind:?} outside the band at {x}");
            }
            for &x in &[-0.15f32, -0.1, 0.05, 0.12, 0.18] {
                assert_eq!(s.grad(x), dense.grad(x), "{kind:?} inside the band at {x}");
                assert_grad_is_slope(&s, x);
            }
            let v: Vec<f32> = (0..100).map(|i| 0.5 + i as f32 * 0.01).collect();
            let mut row = vec![0.0; v.len()];
            s.grad_row(&v, 1.0, &mut row);
            for (x, g) in v.iter().zip(&row) {
                assert_eq!(
                    g.to_bits(),
                    s.grad(x - 1.0).to_bits(),
                    "{kind:?} row at {x}"
                );
            }
            let uncut = dense.banded(None);
            assert_eq!(uncut, dense);
            for &x in &[-3.0f32, -0.2, 0.0, 0.4, 5.0] {
                assert_eq!(uncut.grad(x).to_bits(), dense.grad(x).to_bits());
                assert_eq!(uncut.primitive(x).to_bits(), dense.primitive(x).to_bits());
            }
        }
    }
}
