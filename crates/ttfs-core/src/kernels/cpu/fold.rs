//! The box fold of a convolution followed by average pooling (see `layers/conv2d.rs`).

/// Side of the folded kernel: `k x k` taps at stride `s`, then a `pool x pool` average.
pub fn folded_k(k: usize, s: usize, pool: usize) -> usize {
    s * (pool - 1) + k
}

/// `folded[r][u][v] = (1 / pool^2) * sum over a, b < pool of w[r][u - s*a][v - s*b]` for each
/// of the `rows` (output, input channel) kernels: output `(oy, ox)` of the pooled map averages
/// conv outputs `(pool*oy + a, pool*ox + b)`, whose taps start `s*a`, `s*b` further in.
pub fn fold_box(w: &[f32], rows: usize, k: usize, s: usize, pool: usize, folded: &mut Vec<f32>) {
    let kf = folded_k(k, s, pool);
    folded.clear();
    folded.resize(rows * kf * kf, 0.0);
    let scale = 1.0 / (pool * pool) as f32;
    for (wr, fr) in w.chunks_exact(k * k).zip(folded.chunks_exact_mut(kf * kf)) {
        for a in 0..pool {
            for b in 0..pool {
                for i in 0..k {
                    for j in 0..k {
                        fr[(s * a + i) * kf + s * b + j] += scale * wr[i * k + j];
                    }
                }
            }
        }
    }
}

/// The adjoint of [`fold_box`]: the gradient of the `k x k` weights from that of the folded.
pub fn unfold_box_grad(
    dfolded: &[f32],
    rows: usize,
    k: usize,
    s: usize,
    pool: usize,
    dw: &mut Vec<f32>,
) {
    let kf = folded_k(k, s, pool);
    dw.clear();
    dw.resize(rows * k * k, 0.0);
    let scale = 1.0 / (pool * pool) as f32;
    for (dr, fr) in dw
        .chunks_exact_mut(k * k)
        .zip(dfolded.chunks_exact(kf * kf))
    {
        for a in 0..pool {
            for b in 0..pool {
                for i in 0..k {
                    for j in 0..k {
                        dr[i * k + j] += scale * fr[(s * a + i) * kf + s * b + j];
                    }
                }
            }
        }
    }
}
