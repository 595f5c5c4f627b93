//! Classifying a data set with the event-driven engine, one sample at a time, and the
//! totals of that pass (accuracy, operations per sample, decision step, speed).

use super::{EventNet, Scratch};

/// Totals of an event-driven pass over a data set.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventEval {
    pub samples: usize,
    /// Accuracy (ties share credit, as in `train::evaluate`).
    pub accuracy: f64,
    /// Accumulates per sample (spike-driven layers).
    pub synops: f64,
    /// Multiply-accumulates per sample on the analog input.
    pub analog_ops: f64,
    /// Mean decision step.
    pub decision_step: f64,
    pub seconds: f64,
}

impl EventEval {
    pub fn samples_per_s(&self) -> f64 {
        self.samples as f64 / self.seconds.max(1e-12)
    }
}

/// Classify every sample of `ds` with `net`, one sample at a time (samples are spread over
/// the worker threads in fixed chunks; `--threads 1` runs them on one core).
pub fn classify(
    net: &EventNet,
    ds: &crate::data::Dataset,
    input: &crate::data::batch::InputSpec,
    early_exit: bool,
) -> EventEval {
    use rayon::prelude::*;
    let start = std::time::Instant::now();
    const CHUNK: usize = 64;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let c = net.classes();
    let parts: Vec<[f64; 4]> = idx
        .par_chunks(CHUNK)
        .map(|chunk| {
            let (mut x, mut labels, mut scratch) =
                (crate::tensor::Tensor::default(), Vec::new(), Vec::new());
            crate::data::batch::assemble(ds, chunk, input, &mut x, &mut labels, &mut scratch);
            let (steps, bs) = (x.shape[0], x.shape[1]);
            let per = x.len() / (steps * bs);
            let mut sample = vec![0.0f32; steps * per];
            let mut s = Scratch::default();
            let mut acc = [0.0f64; 4];
            for (b, &y) in labels.iter().enumerate() {
                for k in 0..steps {
                    let src = &x.data[(k * bs + b) * per..(k * bs + b + 1) * per];
                    sample[k * per..(k + 1) * per].copy_from_slice(src);
                }
                let out = net.run(&sample, early_exit, false, &mut s);
                debug_assert_eq!(out.logits.len(), c);
                acc[0] += crate::loss::correct_credit(&out.logits, y) as f64;
                acc[1] += out.synops as f64;
                acc[2] += out.analog_ops as f64;
                acc[3] += out.decision_step as f64;
            }
            acc
        })
        .collect();
    let n = ds.len().max(1) as f64;
    let sum = |k: usize| parts.iter().map(|p| p[k]).sum::<f64>() / n;
    EventEval {
        samples: ds.len(),
        accuracy: sum(0),
        synops: sum(1),
        analog_ops: sum(2),
        decision_step: sum(3),
        seconds: start.elapsed().as_secs_f64(),
    }
}
