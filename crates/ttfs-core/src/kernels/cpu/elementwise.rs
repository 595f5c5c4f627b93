//! Elementwise operations, broadcasts over the time axis and reductions (the loops of the
//! model, the linear layer and the decoder). Sums run in a fixed order: same bits whatever
//! the thread count.

use rayon::prelude::*;

/// Elements per parallel task of the elementwise loops.
const CHUNK: usize = 1 << 14;

pub fn add_assign(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "add_assign: lengths differ");
    dst.iter_mut().zip(src).for_each(|(a, b)| *a += b);
}

/// `dst += weight * (src - dst)`: one step of a moving average of `src`.
pub fn lerp(dst: &mut [f32], src: &[f32], weight: f32) {
    assert_eq!(dst.len(), src.len(), "lerp: lengths differ");
    dst.iter_mut()
        .zip(src)
        .for_each(|(a, b)| *a += weight * (b - *a));
}

/// `dst = src`, in parallel chunks: a copy of a layer's `[T, B, n]` values (a flatten's) is
/// bound by memory bandwidth, which one core does not saturate.
pub fn copy(src: &[f32], dst: &mut [f32]) {
    assert_eq!(dst.len(), src.len(), "copy: lengths differ");
    dst.par_chunks_mut(4 * CHUNK)
        .zip(src.par_chunks(4 * CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
}

/// How many `x[i]` lie within `|x[i] - center| < half_width`, in parallel chunks (counts
/// are integers: the same in any order).
pub fn count_within(x: &[f32], center: f32, half_width: f32) -> u64 {
    x.par_chunks(4 * CHUNK)
        .map(|c| {
            let n: u32 = c
                .iter()
                .map(|&v| ((v - center).abs() < half_width) as u32)
                .sum();
            n as u64
        })
        .sum()
}

// dst is [times, src.len()]
pub fn repeat(src: &[f32], times: usize, dst: &mut Vec<f32>) {
    let n = src.len();
    dst.resize(n * times, 0.0);
    for step in 0..times {
        dst[step * n..(step + 1) * n].copy_from_slice(src);
    }
}

// y is [rows, cols], bias is [cols]
pub fn add_bias(y: &mut [f32], bias: &[f32], rows: usize, cols: usize) {
    y[..rows * cols]
        .par_chunks_mut(cols * (CHUNK / cols.max(1)).max(1))
        .for_each(|block| {
            for row in block.chunks_mut(cols) {
                row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
            }
        });
}

// x is [rows, cols]; out[c] = sum_r x[r, c], rows in order
pub fn column_sums(x: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(cols, 0.0);
    for row in x[..rows * cols].chunks(cols) {
        out.iter_mut().zip(row).for_each(|(a, b)| *a += b);
    }
}

// x is [t, n]; out[j] = sum_k w[k] x[k, j] (w absent: ones), steps in order
pub fn weighted_step_sum(x: &[f32], w: Option<&[f32]>, t: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(n, 0.0);
    for k in 0..t {
        let row = &x[k * n..(k + 1) * n];
        match w {
            Some(w) => {
                let wk = w[k];
                out.iter_mut().zip(row).for_each(|(y, o)| *y += wk * o);
            }
            None => out.iter_mut().zip(row).for_each(|(y, o)| *y += o),
        }
    }
}

// x and out are [t, n]; out[k] = out[k-1] + x[k]
pub fn cumsum_steps(x: &[f32], t: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(&x[..t * n]);
    for k in 1..t {
        let (prev, rest) = out.split_at_mut(k * n);
        rest[..n]
            .iter_mut()
            .zip(&prev[(k - 1) * n..])
            .for_each(|(a, p)| *a += p);
    }
}

// x is [t, n]; x[k] += x[k+1] from the last step down (x[k] becomes the sum over j >= k)
pub fn reverse_cumsum_steps(x: &mut [f32], t: usize, n: usize) {
    assert!(x.len() >= t * n);
    let xp = super::gemm::SyncPtr(x.as_mut_ptr());
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|ci| {
        let (j0, w) = (ci * CHUNK, CHUNK.min(n - ci * CHUNK));
        for k in (0..t.saturating_sub(1)).rev() {
            // SAFETY: tasks own disjoint column ranges [j0, j0 + w) of every step.
            let (cur, next) = unsafe {
                (
                    std::slice::from_raw_parts_mut(xp.get().add(k * n + j0), w),
                    std::slice::from_raw_parts(xp.get().add((k + 1) * n + j0), w),
                )
            };
            cur.iter_mut().zip(next).for_each(|(a, b)| *a += b);
        }
    });
}

// w is [t], g is [n], out is [t, n]
pub fn scale_steps(w: &[f32], g: &[f32], t: usize, n: usize, out: &mut Vec<f32>) {
    out.resize(t * n, 0.0);
    for k in 0..t {
        out[k * n..(k + 1) * n]
            .iter_mut()
            .zip(&g[..n])
            .for_each(|(d, g)| *d = w[k] * g);
    }
}

pub fn sum_squares(x: &[f32]) -> f64 {
    x.iter().map(|g| (g * g) as f64).sum::<f64>()
}
