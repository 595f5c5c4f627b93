//! Preparing training batches in parallel with the training step.
//!
//! A background thread assembles batch `k + 1` (augmentation included) into a spare buffer
//! while the caller's step runs on batch `k`; two buffers circulate between them, so nothing is
//! allocated once both exist. Every random number a batch needs is drawn before the epoch, in
//! batch order, into its [`Job`]: the background thread does only deterministic work, and the
//! result is bitwise identical to preparing each batch just before its step (`parallel =
//! false`).

use super::augment::Augment;
use super::batch::{assemble_with, InputSpec};
use super::Dataset;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::sync::mpsc;

/// One batch to prepare: sample indices and, when augmenting, its own random stream.
pub struct Job {
    pub idx: Vec<usize>,
    pub rng: Option<Rng>,
    /// Samples of the batch before `idx` (prepared by other processes of a data-parallel
    /// run): their augmentation is drawn and dropped first, so each sample gets the draws it
    /// gets in one process.
    pub skip: usize,
}

impl Job {
    /// The job's samples and its random stream with the draws of its `skip` earlier samples
    /// consumed.
    pub fn parts<'a>(
        &'a mut self,
        aug: &'a Augment,
        frame: [usize; 3],
    ) -> (&'a [usize], Option<(&'a Augment, &'a mut Rng)>) {
        let skip = self.skip;
        let stream = self.rng.as_mut().map(|r| {
            for _ in 0..skip {
                aug.draw(frame, r);
            }
            (aug, r)
        });
        (&self.idx, stream)
    }
}

/// A prepared batch: input `[T, B, F]` and labels `[B]`.
#[derive(Default)]
pub struct Prepared {
    pub input: Tensor,
    pub labels: Vec<usize>,
    scratch: Vec<f32>,
}

fn prepare(ds: &Dataset, spec: &InputSpec, aug: &Augment, job: &mut Job, b: &mut Prepared) {
    let (idx, a) = job.parts(aug, ds.frame);
    assemble_with(
        ds,
        idx,
        spec,
        a,
        &mut b.input,
        &mut b.labels,
        &mut b.scratch,
    );
}

/// Call `step` on the prepared batch of every job, in order. With `parallel`, the next batch
/// is prepared on a background thread while `step` runs. `step` may swap `input` with another
/// buffer of its own (the model's input): whatever it leaves there is reused.
pub fn run(
    ds: &Dataset,
    spec: &InputSpec,
    aug: &Augment,
    jobs: Vec<Job>,
    parallel: bool,
    mut step: impl FnMut(&mut Prepared),
) {
    if !parallel || jobs.len() < 2 {
        let mut b = Prepared::default();
        for mut job in jobs {
            prepare(ds, spec, aug, &mut job, &mut b);
            step(&mut b);
        }
        return;
    }
    let n = jobs.len();
    let (free_tx, free_rx) = mpsc::channel::<Prepared>();
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Prepared>(1);
    for _ in 0..2 {
        free_tx.send(Prepared::default()).unwrap();
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            for mut job in jobs {
                // The receiver hangs up only when the caller's step panicked: stop quietly.
                let Ok(mut b) = free_rx.recv() else { return };
                prepare(ds, spec, aug, &mut job, &mut b);
                if ready_tx.send(b).is_err() {
                    return;
                }
            }
        });
        for _ in 0..n {
            let mut b = ready_rx.recv().expect("batch preparation thread died");
            step(&mut b);
            // Fails only after the worker finished its last job: nothing left to prepare.
            let _ = free_tx.send(b);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Kind;
    use crate::encoding::{Encoding, ZeroInput};

    #[test]
    fn parallel_preparation_matches_serial_bitwise() {
        let mut rng = Rng::new(3);
        let ds = Dataset {
            name: "t".into(),
            kind: Kind::Image,
            classes: 3,
            frame: [3, 8, 8],
            steps: 1,
            scale: 1.0 / 255.0,
            data: (0..50 * 192).map(|_| rng.below(256) as u8).collect(),
            labels: (0..50).map(|i| (i % 3) as u16).collect(),
        };
        let spec = InputSpec {
            encoding: Encoding::Latency,
            zero: ZeroInput::Last,
            time_steps: 4,
            normalize: None,
        };
        let aug = Augment {
            flip: true,
            translate: 2,
            cutout: 3,
            mirror: false,
        };
        let jobs = |seed: u64| -> Vec<Job> {
            let mut r = Rng::new(seed);
            let mut order: Vec<usize> = (0..50).collect();
            r.shuffle(&mut order);
            order
                .chunks(7)
                .map(|c| Job {
                    skip: 0,
                    idx: c.to_vec(),
                    rng: Some(r.fork()),
                })
                .collect()
        };
        let mut got = [Vec::new(), Vec::new()];
        for (k, parallel) in [false, true].into_iter().enumerate() {
            let mut model_input = Tensor::default();
            run(&ds, &spec, &aug, jobs(9), parallel, |b| {
                std::mem::swap(&mut b.input, &mut model_input);
                got[k].push((
                    model_input
                        .data
                        .iter()
                        .map(|v| v.to_bits())
                        .collect::<Vec<_>>(),
                    b.labels.clone(),
                ));
            });
        }
        assert_eq!(got[0].len(), 8);
        assert!(got[0] == got[1]);
    }
}
