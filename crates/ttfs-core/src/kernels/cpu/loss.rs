//! Softmax cross entropy with label smoothing, one sample at a time (`loss.rs` states it).

// logits and dlogits are [b, classes]; losses and labels are [b]
pub fn cross_entropy(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
    smoothing: f32,
    dlogits: &mut [f32],
    losses: &mut [f32],
) {
    let b = labels.len();
    let (off, on) = (
        smoothing / classes as f32,
        1.0 - smoothing + smoothing / classes as f32,
    );
    for (i, &y) in labels.iter().enumerate() {
        let y = y as usize;
        let z = &logits[i * classes..(i + 1) * classes];
        let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|v| (v - max).exp()).sum();
        let log_sum = sum.ln() + max;
        // -sum_j q_j log p_j = log_sum - sum_j q_j z_j (the one-hot case kept exact).
        let target_z = if smoothing == 0.0 {
            z[y]
        } else {
            z.iter().map(|v| off * v).sum::<f32>() + (on - off) * z[y]
        };
        losses[i] = log_sum - target_z;
        // dL/dz = (softmax(z) - q) / B
        let d = &mut dlogits[i * classes..(i + 1) * classes];
        for (j, dj) in d.iter_mut().enumerate() {
            *dj = ((z[j] - log_sum).exp() - if j == y { on } else { off }) / b as f32;
        }
    }
}
