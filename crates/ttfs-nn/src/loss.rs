//! Softmax cross entropy, mean over the batch, with optional label smoothing.

/// Mean softmax cross entropy of `logits` (`[B, C]`) against `labels`, the target putting
/// `1 - smoothing + smoothing / C` on the label and `smoothing / C` on every other class
/// (label smoothing, Szegedy et al. 2016; 0: one-hot). Writes dL/dlogits into `dlogits`
/// (overwritten, `[B, C]`). Host slices, through the CPU kernel (`kernels/cpu/loss.rs`, which
/// every backend mirrors); a model computes it on its device ([`crate::model::Model::loss`]).
pub fn cross_entropy(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    smoothing: f32,
    dlogits: &mut [f32],
) -> f32 {
    let labels: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
    let mut losses = vec![0.0f32; labels.len()];
    crate::kernels::cpu::loss::cross_entropy(
        logits,
        &labels,
        classes,
        smoothing,
        dlogits,
        &mut losses,
    );
    let total: f64 = losses.iter().map(|&l| l as f64).sum();
    (total / labels.len() as f64) as f32
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
