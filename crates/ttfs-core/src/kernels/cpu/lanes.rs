//! Sums in a fixed 16-lane order, so that the compiler can keep them in vector registers.
//!
//! A plain `iter().sum()` over f32 is one long chain of dependent adds (the compiler may not
//! reorder float additions): 4 cycles an element. Here lane `l` sums the elements `j` with `j
//! mod 16 == l`, in order, and the 16 lane sums are added pairwise (lane `l` and `l + 8`, then
//! `l + 4`, ...). The order depends only on the length, never on threads or the instruction
//! set; `kernels/gpu/prelude.cuh` (`lane_sum16`) adds in the same order.

const LANES: usize = 16;

/// `sum_j f(a[j], b[j])` in the lane order (`a` and `b` of one length).
#[inline(always)]
pub fn sum_zip(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += f(xa[l], xb[l]);
        }
    }
    for (l, (&xa, &xb)) in ra.iter().zip(rb).enumerate() {
        acc[l] += f(xa, xb);
    }
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

/// `sum_j f(x[j])` in the lane order.
#[inline(always)]
pub fn sum_map(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum_zip(x, x, |v, _| f(v))
}

pub fn sum(x: &[f32]) -> f32 {
    sum_map(x, |v| v)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    sum_zip(a, b, |x, y| x * y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane order written out: element j goes to lane j % 16, lanes fold in halves.
    #[test]
    fn sums_in_the_documented_order() {
        for n in [0, 1, 5, 16, 17, 33, 784] {
            let x: Vec<f32> = (0..n).map(|j| 1.0 / (j as f32 + 0.37)).collect();
            let mut lanes = [0.0f32; 16];
            for (j, v) in x.iter().enumerate() {
                lanes[j % 16] += v;
            }
            for w in [8, 4, 2, 1] {
                for l in 0..w {
                    lanes[l] += lanes[l + w];
                }
            }
            assert_eq!(sum(&x).to_bits(), lanes[0].to_bits(), "n = {n}");
            let exact: f64 = x.iter().map(|&v| v as f64).sum();
            assert!((sum(&x) as f64 - exact).abs() <= 1e-6 * exact.abs().max(1.0));
        }
    }
}
