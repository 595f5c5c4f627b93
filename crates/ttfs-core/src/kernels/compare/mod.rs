//! Every kernel on two devices from identical inputs: the check that a backend computes what
//! the reference computes (`tests/gpu_emulation.rs`: the CPU against the emulated GPU; on a
//! machine with a GPU, `compare(Device::Cpu, Device::Cuda(0))`).
//!
//! Each [`Kernels`] method but the event ones (which only the CPU backend runs) is run on
//! random inputs at several shapes: odd sizes, sizes that leave a partial 256-thread block,
//! T = 1 and 8, every surrogate and neuron flag, pooling windows that tile, overlap or leave
//! gaps (with ties), strided and padded convolutions, both box folds, every optimizer, label
//! smoothing on and off. Outputs are pre-filled with a sentinel on both devices, so a kernel
//! that leaves a value unwritten shows.
//!
//! Errors: spikes, max-pool winners and latch steps must agree exactly (so must values that are
//! copied, not computed). Elsewhere the relative error of an output value is `|b - a| /
//! max(|a|, rms(a))`, `a` from the reference device: the floor at the output's RMS keeps a value
//! that cancelled to near zero from reading as a large relative error. Tolerances: 1e-5 for
//! elementwise kernels (same operations in the same order, libm against CUDA's `expf` at most
//! a few ulps apart), 1e-4 for reductions and products (cuBLAS sums in its own order).
//!
//! The harness (pairs of buffers, the checks, the error measure) is here; the cases, one file
//! per kernel family in the order [`compare`] runs them, are beside it.

mod conv;
mod crossing_time;
mod data;
mod elementwise;
mod integrate_fire;
mod loss;
mod optim;
mod pool;
mod products;
mod weight_norm;

use super::{Buf, Device, Elem, Kernels};
use crate::rng::Rng;

/// One compared output.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    pub kernel: &'static str,
    /// The shape and flags, and which output.
    pub case: String,
    pub max_abs: f64,
    pub max_rel: f64,
    /// Largest relative error allowed; 0 means exact.
    pub tol: f64,
    pub pass: bool,
}

impl std::fmt::Display for CompareRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<22} {:<58} abs {:>9.2e} rel {:>9.2e} tol {:>7} {}",
            self.kernel,
            self.case,
            self.max_abs,
            self.max_rel,
            if self.tol == 0.0 {
                "exact".to_string()
            } else {
                format!("{:.0e}", self.tol)
            },
            if self.pass { "ok" } else { "FAIL" }
        )
    }
}

/// Elementwise kernels.
const ELEM: f64 = 1e-5;
/// Reductions and products.
const RED: f64 = 1e-4;
/// Copied values, spikes, winners, steps.
const EXACT: f64 = 0.0;
/// What outputs hold before a kernel runs.
const SENTINEL: f32 = 12345.0;

/// Runs every kernel on `a` (the reference) and `b` from identical inputs; one row per output.
pub fn compare(a: Device, b: Device) -> Vec<CompareRow> {
    let ka = a.kernels().unwrap_or_else(|e| panic!("compare: {e}"));
    let kb = b.kernels().unwrap_or_else(|e| panic!("compare: {e}"));
    let mut c = Cmp {
        a: ka,
        b: kb,
        rng: Rng::new(20261129),
        rows: Vec::new(),
    };
    c.products();
    c.convolutions();
    c.folds();
    c.pooling();
    c.latch();
    c.neuron();
    c.elementwise();
    c.weight_norm();
    c.loss();
    c.optimizers();
    c.data();
    c.rows
}

/// The same values on both devices.
struct Pair<T: Elem> {
    a: Buf<T>,
    b: Buf<T>,
}

struct Cmp {
    a: &'static dyn Kernels,
    b: &'static dyn Kernels,
    rng: Rng,
    rows: Vec<CompareRow>,
}

impl Cmp {
    fn pair<T: Elem>(&self, v: Vec<T>) -> Pair<T> {
        Pair {
            a: Buf::from_vec(self.a.device(), v.clone()),
            b: Buf::from_vec(self.b.device(), v),
        }
    }

    /// `n` sentinels (an output).
    fn out(&self, n: usize) -> Pair<f32> {
        self.pair(vec![SENTINEL; n])
    }

    fn out_u32(&self, n: usize) -> Pair<u32> {
        self.pair(vec![u32::MAX; n])
    }

    fn uniform(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.range(lo, hi)).collect()
    }

    fn rand(&mut self, n: usize) -> Pair<f32> {
        let v = self.uniform(n, -1.0, 1.0);
        self.pair(v)
    }

    /// Mostly zeros, some ones (a spike map).
    fn spikes(&mut self, n: usize, density: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                if self.rng.uniform() < density {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn check(&mut self, kernel: &'static str, case: String, p: &Pair<f32>, tol: f64) {
        let (va, vb) = (p.a.to_vec(), p.b.to_vec());
        self.push_f32(kernel, case, &va, &vb, tol);
    }

    fn check_u32(&mut self, kernel: &'static str, case: String, p: &Pair<u32>) {
        let (va, vb) = (p.a.to_vec(), p.b.to_vec());
        let pass = va == vb;
        let max_abs = if va.len() != vb.len() {
            f64::INFINITY
        } else {
            va.iter()
                .zip(&vb)
                .map(|(&x, &y)| (x as f64 - y as f64).abs())
                .fold(0.0, f64::max)
        };
        self.rows.push(CompareRow {
            kernel,
            case,
            max_abs,
            max_rel: if pass { 0.0 } else { f64::INFINITY },
            tol: EXACT,
            pass,
        });
    }

    fn push_f32(&mut self, kernel: &'static str, case: String, va: &[f32], vb: &[f32], tol: f64) {
        let (max_abs, max_rel, pass) = errors(va, vb, tol);
        self.rows.push(CompareRow {
            kernel,
            case,
            max_abs,
            max_rel,
            tol,
            pass,
        });
    }
}

/// (max abs error, max relative error, pass) of `b` against the reference `a`; `tol == 0`:
/// bit-for-bit (NaN matching NaN, 0 matching -0).
fn errors(a: &[f32], b: &[f32], tol: f64) -> (f64, f64, bool) {
    if a.len() != b.len() {
        return (f64::INFINITY, f64::INFINITY, false);
    }
    let rms =
        (a.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / a.len().max(1) as f64).sqrt();
    let (mut max_abs, mut max_rel, mut pass) = (0.0f64, 0.0f64, true);
    for (&x, &y) in a.iter().zip(b) {
        if x == y || (x.is_nan() && y.is_nan()) {
            continue;
        }
        let abs = if x.is_finite() && y.is_finite() {
            (x as f64 - y as f64).abs()
        } else {
            f64::INFINITY
        };
        let rel = abs / (x.abs() as f64).max(rms).max(f64::MIN_POSITIVE);
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
        if tol == 0.0 || rel > tol {
            pass = false;
        }
    }
    (max_abs, max_rel, pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_use_the_rms_floor_and_exactness() {
        assert_eq!(errors(&[1.0, 2.0], &[1.0, 2.0], 0.0), (0.0, 0.0, true));
        assert!(!errors(&[1.0, 2.0], &[1.0, 2.0000002], 0.0).2);
        assert!(errors(&[1.0, 2.0], &[1.0, 2.0000002], 1e-6).2);
        // 1e-9 off a value that cancelled to 1e-9, in an output of RMS ~1: fine.
        assert!(errors(&[1e-9, 1.0, -1.0], &[2e-9, 1.0, -1.0], 1e-6).2);
        assert!(!errors(&[1.0], &[f32::NAN], 1.0).2);
        assert!(!errors(&[1.0], &[1.0, 2.0], 1.0).2);
    }
}
