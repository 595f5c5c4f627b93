//! Temporal decoding at the exact threshold-crossing time (`model.decoder.exact_time`).
//!
//! A synapse's current is held over a step, so a non-leaky potential rises linearly within
//! it: an output neuron that fires at step k crossed threshold 1 at the fraction
//!
//! ```text
//! f[k] = clamp((1 - v[k-1]) / max(v[k] - v[k-1], min_rise), 0, 1)     (v[-1] = 0)
//! ```
//!
//! of the step (1: at its end, where the step decoder reads the weight). The time weight is
//! read there, linearly between the step's weight and the one before:
//!
//! ```text
//! weff[k] = w[k] + (1 - f[k]) delta[k],   delta[k] = w[k-1] - w[k]    (decoder.rs)
//! Y       = sum_k s[k] weff[k]
//! ```
//!
//! Where the potential stays below threshold `f = 1` and `weff = w`, so the spike path (the
//! surrogate gradient through `s`) is the step decoder's with `w` replaced by `weff`; the time
//! path adds, with `c = v[k] - v[k-1] = I[k]` and `a[k] = dY s[k] delta[k] / max(c, min_rise)`
//! where `0 < f < 1` (else 0):
//!
//! ```text
//! dI[j] += sum_{k > j} a[k]  +  a[j] f[j]   (the last term only where c >= min_rise)
//! ```
//!
//! `min_rise` bounds the time path's gradient (`~ 1 / c`) when the crossing step's current is
//! small. Both passes walk steps in order per unit, as `gpu/crossing_time.cu` does.

pub const MIN_RISE: f32 = 0.1;

/// Crossing fraction `f`, whether it lies strictly inside (0, 1) (the time path's gradient is
/// nonzero only there), and the rise the division used.
#[inline]
pub fn fraction(prev: f32, now: f32) -> (f32, bool, f32) {
    let rise = (now - prev).max(MIN_RISE);
    let raw = (1.0 - prev) / rise;
    (raw.clamp(0.0, 1.0), raw > 0.0 && raw < 1.0, rise)
}

// s, v, weff are [t, n]; w, delta are [t]; logits is [n]
#[allow(clippy::too_many_arguments)]
pub fn forward(
    t: usize,
    n: usize,
    s: &[f32],
    v: &[f32],
    w: &[f32],
    delta: &[f32],
    weff: &mut [f32],
    logits: &mut [f32],
) {
    assert!(s.len() >= t * n && v.len() >= t * n && weff.len() >= t * n && logits.len() >= n);
    logits[..n].fill(0.0);
    for k in 0..t {
        for j in 0..n {
            let prev = if k == 0 { 0.0 } else { v[(k - 1) * n + j] };
            let (f, _, _) = fraction(prev, v[k * n + j]);
            let we = w[k] + (1.0 - f) * delta[k];
            weff[k * n + j] = we;
            logits[j] += s[k * n + j] * we;
        }
    }
}

// s, v, weff, dout, dextra are [t, n]; delta is [t]; dlogits is [n]. dout (the gradient for
// the spikes, the neuron's backward takes it) and dextra (the time path's gradient for the
// currents, added to the neuron's) are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    t: usize,
    n: usize,
    s: &[f32],
    v: &[f32],
    delta: &[f32],
    weff: &[f32],
    dlogits: &[f32],
    dout: &mut [f32],
    dextra: &mut [f32],
) {
    assert!(dout.len() >= t * n && dextra.len() >= t * n && dlogits.len() >= n);
    for j in 0..n {
        let dy = dlogits[j];
        let mut later = 0.0f32; // sum_{k > step} a[k]
        for k in (0..t).rev() {
            let at = k * n + j;
            dout[at] = dy * weff[at];
            let prev = if k == 0 { 0.0 } else { v[(k - 1) * n + j] };
            let (f, inside, rise) = fraction(prev, v[at]);
            let a = if inside {
                dy * s[at] * delta[k] / rise
            } else {
                0.0
            };
            let own = if v[at] - prev >= MIN_RISE { a * f } else { 0.0 };
            dextra[at] = later + own;
            later += a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// With the spikes held (hard spikes do not move under a small change of the currents),
    /// the time path is the exact derivative of the logits: central differences agree.
    #[test]
    fn time_path_is_the_derivative_of_the_logits_at_fixed_spikes() {
        let (t, n) = (6, 40);
        let mut rng = Rng::new(11);
        let cur: Vec<f32> = (0..t * n).map(|_| rng.range(-0.1, 0.6)).collect();
        let w: Vec<f32> = (0..t).map(|k| 3.0 * 0.8f32.powi(k as i32)).collect();
        let delta: Vec<f32> = (0..t).map(|k| w[k] * 0.25).collect();
        let dlogits: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
        // v = cumulative currents; s = the first step at or above threshold
        let potentials = |cur: &[f32]| -> Vec<f32> {
            let mut v = cur.to_vec();
            for i in n..t * n {
                v[i] += v[i - n];
            }
            v
        };
        let v = potentials(&cur);
        let mut s = vec![0.0f32; t * n];
        for j in 0..n {
            if let Some(k) = (0..t).find(|&k| v[k * n + j] >= 1.0) {
                s[k * n + j] = 1.0;
            }
        }
        let loss = |cur: &[f32]| -> f64 {
            let v = potentials(cur);
            let (mut weff, mut logits) = (vec![0.0; t * n], vec![0.0; n]);
            forward(t, n, &s, &v, &w, &delta, &mut weff, &mut logits);
            logits
                .iter()
                .zip(&dlogits)
                .map(|(a, b)| (a * b) as f64)
                .sum()
        };
        let (mut weff, mut logits) = (vec![0.0; t * n], vec![0.0; n]);
        forward(t, n, &s, &v, &w, &delta, &mut weff, &mut logits);
        let (mut dout, mut dextra) = (vec![0.0; t * n], vec![0.0; t * n]);
        backward(
            t,
            n,
            &s,
            &v,
            &delta,
            &weff,
            &dlogits,
            &mut dout,
            &mut dextra,
        );
        let (h, mut checked, mut nonzero) = (1e-3f32, 0, 0);
        for i in 0..t * n {
            let j = i % n;
            // Skip units whose crossing is within reach of the step (the spike would move).
            let near = (0..t).any(|k| (v[k * n + j] - 1.0).abs() < 0.01);
            if near {
                continue;
            }
            let (mut up, mut down) = (cur.clone(), cur.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (loss(&up) - loss(&down)) / (2.0 * h as f64);
            assert!(
                (fd - dextra[i] as f64).abs() < 2e-2 * (1.0 + fd.abs()),
                "current {i}: finite difference {fd} vs time path {}",
                dextra[i]
            );
            checked += 1;
            nonzero += (dextra[i] != 0.0) as usize;
        }
        assert!(
            checked > t * n / 2 && nonzero > 20,
            "{checked} checked, {nonzero} nonzero"
        );
        // The spike path's gradient is the time weight read at the crossing time.
        for i in 0..t * n {
            assert_eq!(dout[i], dlogits[i % n] * weff[i]);
        }
    }
}
