//! Shared by the micro-benchmarks in `examples/`.

use std::time::Instant;

/// Median wall time of `f` over `runs` runs, after one warm-up run, in milliseconds.
pub fn time_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}
