//! Softmax cross entropy, mean over the batch.

// logits is [B, C]; dlogits (overwritten) is [B, C]; returns the mean loss
pub fn cross_entropy(logits: &[f32], labels: &[usize], classes: usize, dlogits: &mut [f32]) -> f32 {
    let b = labels.len();
    let mut total = 0.0f64;
    for (i, &y) in labels.iter().enumerate() {
        let z = &logits[i * classes..(i + 1) * classes];
        let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = z.iter().map(|v| (v - max).exp()).sum();
        let log_sum = sum.ln() + max;
        total += (log_sum - z[y]) as f64;
        // dL/dz = (softmax(z) - onehot(y)) / B
        let d = &mut dlogits[i * classes..(i + 1) * classes];
        for (j, dj) in d.iter_mut().enumerate() {
            *dj = ((z[j] - log_sum).exp() - if j == y { 1.0 } else { 0.0 }) / b as f32;
        }
    }
    (total / b as f64) as f32
}

/// Credit for one prediction: 1 if the label has the strictly largest logit, `1/k` if it ties
/// with `k - 1` others for the largest (the expectation under random tie-breaking; TTFS
/// outputs tie often, and taking the first index would inflate accuracy), else 0.
pub fn correct_credit(z: &[f32], y: usize) -> f32 {
    let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    if z[y] < max {
        return 0.0;
    }
    1.0 / z.iter().filter(|&&v| v == max).count() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let z = vec![0.3, -1.2, 2.0, 0.5, 0.1, 0.0];
        let labels = [2, 0];
        let mut d = vec![0.0; 6];
        cross_entropy(&z, &labels, 3, &mut d);
        let mut scratch = vec![0.0; 6];
        for i in 0..6 {
            let (mut zp, mut zm) = (z.clone(), z.clone());
            zp[i] += 1e-3;
            zm[i] -= 1e-3;
            let fd = (cross_entropy(&zp, &labels, 3, &mut scratch)
                - cross_entropy(&zm, &labels, 3, &mut scratch))
                / 2e-3;
            assert!((fd - d[i]).abs() < 1e-3);
        }
    }

    #[test]
    fn ties_give_fractional_credit() {
        assert_eq!(correct_credit(&[1.0, 3.0, 2.0], 1), 1.0);
        assert_eq!(correct_credit(&[3.0, 3.0, 2.0], 1), 0.5);
        assert_eq!(correct_credit(&[0.0, 0.0, 0.0, 0.0], 2), 0.25);
        assert_eq!(correct_credit(&[3.0, 1.0, 2.0], 1), 0.0);
    }
}
