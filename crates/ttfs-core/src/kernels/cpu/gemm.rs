//! Matrix product on `matrixmultiply` (measured faster than the `gemm` crate and MKL for
//! these shapes, see the architecture notes), split over rows or columns of `c` with rayon.

use rayon::prelude::*;

/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MIN_WORK: usize = 1 << 20;
/// `c` is split into at most this many row (or column) blocks, each a rayon task that packs
/// its own copy of the other operand: few blocks keep that packing cheap. The split depends
/// only on the shape, never on the thread count, so results are the same for any thread count.
const MAX_TASKS: usize = 4;
/// Smallest block, in rows (columns).
const MIN_ROWS: usize = 64;
const MIN_COLS: usize = 256;

/// Serial product on raw strides, `c` row-major with `ldc` elements per row.
///
/// # Safety
/// `a`, `b` must hold every element addressed by their strides and `c` must point to `m`
/// rows of `ldc` elements (the last row needs only `n`) that nobody else touches meanwhile.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_serial(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (rsa, csa): (isize, isize),
    b: &[f32],
    (rsb, csb): (isize, isize),
    beta: f32,
    c: *mut f32,
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    matrixmultiply::sgemm(
        m,
        k,
        n,
        1.0,
        a.as_ptr(),
        rsa,
        csa,
        b.as_ptr(),
        rsb,
        csb,
        beta,
        c,
        ldc as isize,
        1,
    );
}

#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
    beta: f32,
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm: buffers too small"
    );
    let sa = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let sb = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY (all three calls below): the extents were asserted above, and parallel tasks
    // write disjoint row or column blocks of `c`.
    if m * n * k < PARALLEL_MIN_WORK {
        return unsafe { gemm_serial(m, k, n, a, sa, b, sb, beta, c.as_mut_ptr(), n) };
    }
    let row_chunk = MIN_ROWS.max(m.div_ceil(MAX_TASKS).next_multiple_of(8));
    let col_chunk = MIN_COLS.max(n.div_ceil(MAX_TASKS).next_multiple_of(8));
    if m >= 2 * MIN_ROWS || m >= n / 4 {
        c[..m * n]
            .par_chunks_mut(row_chunk * n)
            .enumerate()
            .for_each(|(i, cc)| {
                let r0 = i * row_chunk;
                let rows = cc.len() / n;
                unsafe {
                    gemm_serial(
                        rows,
                        k,
                        n,
                        &a[r0 * sa.0 as usize..],
                        sa,
                        b,
                        sb,
                        beta,
                        cc.as_mut_ptr(),
                        n,
                    )
                };
            });
    } else {
        // Few rows, many columns (e.g. a weight gradient with a small output layer): split the
        // columns. Each task writes a disjoint column block of `c`.
        let cols: Vec<usize> = (0..n).step_by(col_chunk).collect();
        let cp = SyncPtr(c.as_mut_ptr());
        cols.par_iter().for_each(|&c0| {
            let w = col_chunk.min(n - c0);
            unsafe {
                gemm_serial(
                    m,
                    k,
                    w,
                    a,
                    sa,
                    &b[c0 * sb.1 as usize..],
                    sb,
                    beta,
                    cp.get().add(c0),
                    n,
                )
            };
        });
    }
}

/// A raw pointer that may be shared between rayon tasks that write disjoint elements.
pub(crate) struct SyncPtr<T = f32>(pub *mut T);
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}
impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SyncPtr<T> {}
impl<T> SyncPtr<T> {
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], a_t: bool, b: &[f32], b_t: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if a_t { a[p * m + i] } else { a[i * k + p] };
                    let bv = if b_t { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn matches_naive_for_all_transposes_and_splits() {
        let mut rng = crate::rng::Rng::new(1);
        for &(m, k, n) in &[(3, 5, 7), (200, 64, 130), (10, 300, 1000), (130, 70, 129)] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.range(-1.0, 1.0)).collect();
            for a_t in [false, true] {
                for b_t in [false, true] {
                    let want = naive(m, k, n, &a, a_t, &b, b_t);
                    let mut c = vec![1.0; m * n];
                    gemm(m, k, n, &a, a_t, &b, b_t, 0.0, &mut c);
                    for (x, y) in c.iter().zip(&want) {
                        assert!((x - y).abs() < 1e-3, "{m}x{k}x{n} {a_t} {b_t}: {x} vs {y}");
                    }
                    let mut c2 = vec![1.0; m * n];
                    gemm(m, k, n, &a, a_t, &b, b_t, 1.0, &mut c2);
                    for (x, y) in c2.iter().zip(&want) {
                        assert!((x - y - 1.0).abs() < 1e-3);
                    }
                }
            }
        }
    }
}
