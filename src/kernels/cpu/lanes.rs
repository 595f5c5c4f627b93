//! Sums in a fixed 16-lane order, so that the compiler can keep them in vector registers.
//!
//! A plain `iter().sum()` over f32 is one long chain of dependent adds (the compiler may not
//! reorder float additions): 4 cycles an element. Here lane `l` sums the elements `j` with `j
//! mod 16 == l`, in order, and the 16 lane sums are added pairwise (lane `l` and `l + 8`, then
//! `l + 4`, ...). The order depends only on the length, never on threads or the instruction
//! set; `kernels/gpu/prelude.cuh` (`lane_sum16`) adds in the same order.

const LANES: usize = 16;

/// `sum_j f(j)` for `j` in `0..n`, in the lane order.
#[inline(always)]
pub fn sum_by(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let full = n - n % LANES;
    for j0 in (0..full).step_by(LANES) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(j0 + l);
        }
    }
    for (l, a) in acc.iter_mut().enumerate().take(n - full) {
        *a += f(full + l);
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

pub fn sum(x: &[f32]) -> f32 {
    sum_by(x.len(), |j| x[j])
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    sum_by(a.len(), |j| a[j] * b[j])
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
