//! Softmax cross entropy, mean over the batch, with optional label smoothing.

/// Mean softmax cross entropy of `logits` (`[B, C]`) against `labels`, the target putting
/// `1 - smoothing + smoothing / C` on the label and `smoothing / C` on every other class
/// (label smoothing, Szegedy et al. 2016; 0: one-hot). Writes dL/dlogits into `dlogits`
/// (overwritten, `[B, C]`).
pub fn cross_entropy(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    smoothing: f32,
    dlogits: &mut [f32],
) -> f32 {
    let b = labels.len();
    let (off, on) = (
        smoothing / classes as f32,
        1.0 - smoothing + smoothing / classes as f32,
    );
    let mut total = 0.0f64;
    for (i, &y) in labels.iter().enumerate() {
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
        total += (log_sum - target_z) as f64;
        // dL/dz = (softmax(z) - q) / B
        let d = &mut dlogits[i * classes..(i + 1) * classes];
        for (j, dj) in d.iter_mut().enumerate() {
            *dj = ((z[j] - log_sum).exp() - if j == y { on } else { off }) / b as f32;
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
        for smoothing in [0.0, 0.1, 0.5] {
            let mut d = vec![0.0; 6];
            cross_entropy(&z, &labels, 3, smoothing, &mut d);
            let mut scratch = vec![0.0; 6];
            for i in 0..6 {
                let (mut zp, mut zm) = (z.clone(), z.clone());
                zp[i] += 1e-3;
                zm[i] -= 1e-3;
                let fd = (cross_entropy(&zp, &labels, 3, smoothing, &mut scratch)
                    - cross_entropy(&zm, &labels, 3, smoothing, &mut scratch))
                    / 2e-3;
                assert!((fd - d[i]).abs() < 1e-3, "smoothing {smoothing}, logit {i}");
            }
        }
    }

    #[test]
    fn smoothing_is_the_mixture_of_one_hot_and_uniform_targets() {
        // L_eps = (1 - eps) CE(one-hot) + eps * mean_j CE(class j).
        let z = vec![0.3, -1.2, 2.0, 0.5];
        let mut d = vec![0.0; 4];
        let ce = |y: usize| cross_entropy(&z, &[y], 4, 0.0, &mut [0.0; 4]);
        let mixed = 0.8 * ce(1) + 0.2 * (0..4).map(ce).sum::<f32>() / 4.0;
        let got = cross_entropy(&z, &[1], 4, 0.2, &mut d);
        assert!((got - mixed).abs() < 1e-5, "{got} vs {mixed}");
        assert!(d.iter().sum::<f32>().abs() < 1e-6); // softmax and target both sum to 1
    }

    #[test]
    fn ties_give_fractional_credit() {
        assert_eq!(correct_credit(&[1.0, 3.0, 2.0], 1), 1.0);
        assert_eq!(correct_credit(&[3.0, 3.0, 2.0], 1), 0.5);
        assert_eq!(correct_credit(&[0.0, 0.0, 0.0, 0.0], 2), 0.25);
        assert_eq!(correct_credit(&[3.0, 1.0, 2.0], 1), 0.0);
    }
}
