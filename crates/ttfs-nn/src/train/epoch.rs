//! One epoch of training: the steps over the shuffled training split (re-entered exactly
//! after a resume), then the evaluation and the epoch's metrics.

use super::{Evaluation, Trainer};
use crate::data::prefetch::{self, Job};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What one epoch measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    /// On the held-out validation samples when configured, else on the test split.
    pub eval_split: String,
    pub eval: Evaluation,
    pub seconds: f64,
    pub train_samples_per_s: f64,
    /// The T the epoch trained and was evaluated at (`schedule.time_steps` changes it).
    #[serde(default)]
    pub time_steps: usize,
    /// `model.band`: the fraction of each banded spiking layer's (step, neuron) entries in
    /// band during the epoch's training steps (sampled), in order; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<f64>,
}

/// Where an epoch in progress stands: enough to re-enter it exactly (stored in checkpoints).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochProgress {
    /// State of the trainer's generator before the epoch's shuffle.
    pub rng_at_start: [u64; 4],
    /// Optimizer steps done in this epoch.
    pub steps: usize,
    /// Learning rate at the epoch's start (reported in its metrics).
    pub lr: f32,
    pub loss_sum: f64,
    pub correct: f64,
    pub seen: usize,
}

impl EpochProgress {
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.seen.max(1) as f64
    }
    pub fn accuracy(&self) -> f64 {
        self.correct / self.seen.max(1) as f64
    }
}

/// What [`Trainer::run_epoch`] tells its hook after each step.
pub struct StepReport<'a> {
    pub progress: &'a EpochProgress,
    /// The step's mean batch loss (non-finite: the update was skipped).
    pub loss: f32,
    /// Training samples in the epoch.
    pub samples: usize,
}

impl Trainer {
    /// Train one epoch; `progress(done, total, loss, acc)` is called after every step.
    /// Batches are augmented (when configured) and, with `data.prefetch`, prepared on a
    /// background thread during the previous step; the results are bitwise identical either
    /// way.
    pub fn train_epoch(
        &mut self,
        mut progress: impl FnMut(usize, usize, f32, f32),
    ) -> EpochMetrics {
        self.run_epoch(None, |_, s| {
            let p = s.progress;
            progress(p.seen, s.samples, p.mean_loss() as f32, p.accuracy() as f32);
            true
        })
        .expect("the hook never stops the epoch")
    }

    /// Train one epoch, or with `resume` the rest of an epoch interrupted after
    /// `resume.steps` steps (from a checkpoint: the training order and augmentation streams
    /// are re-drawn from the generator's state at the epoch's start, so the remaining steps are
    /// exactly those of an uninterrupted run). `hook(trainer, step)` runs after every step;
    /// returning `false` ends the epoch early, without evaluation, and `None` is returned.
    pub fn run_epoch(
        &mut self,
        resume: Option<EpochProgress>,
        mut hook: impl FnMut(&Trainer, &StepReport) -> bool,
    ) -> Option<EpochMetrics> {
        self.enter_stage();
        let start = Instant::now();
        let mut p = match resume {
            Some(p) => {
                self.rng.state = p.rng_at_start;
                p
            }
            None => EpochProgress {
                rng_at_start: self.rng.state,
                lr: self.current_lr(),
                ..Default::default()
            },
        };
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        self.rng.shuffle(&mut order);
        let bs = self.cfg.train.batch_size;
        // Each batch's augmentation stream is forked now, in batch order, so that the draws
        // do not depend on when (or on which thread) the batch is prepared.
        let augmenting = self.augment.is_active();
        // Each process takes its share of every batch (all of it in one process).
        let jobs: Vec<(Job, usize)> = order
            .chunks(bs)
            .map(|c| {
                let mine = self.share(c.len());
                let job = Job {
                    idx: c[mine.clone()].to_vec(),
                    rng: augmenting.then(|| self.rng.fork()),
                    skip: mine.start,
                };
                (job, c.len())
            })
            .skip(p.steps)
            .collect();
        let globals: Vec<usize> = jobs.iter().map(|j| j.1).collect();
        let jobs: Vec<Job> = jobs.into_iter().map(|j| j.0).collect();
        let seen_at_start = p.seen;
        // The training split leaves `self` for the epoch so that the preparing thread can read
        // it while the step mutates the model.
        let empty = self.train.clone_empty();
        let train = std::mem::replace(&mut self.train, empty);
        let n = train.len();
        let (input, augment) = (self.input.clone(), self.augment.clone());
        let parallel = self.cfg.data.prefetch;
        self.train_len = n;
        let mut stopped = false;
        // One step on the batch in the model's input; false ends the epoch.
        let mut k = 0;
        let mut step = |tr: &mut Trainer, labels: &[usize]| {
            let bl = globals[k];
            k += 1;
            let (l, c) = tr.optimize(labels, bl);
            p.steps += 1;
            p.loss_sum += l as f64 * bl as f64;
            p.correct += c as f64;
            p.seen += bl;
            let report = StepReport {
                progress: &p,
                loss: l,
                samples: n,
            };
            hook(tr, &report)
        };
        match self.on_device.as_mut().and_then(|d| d[0].take()) {
            // Gathered on the GPU: the host only draws the augmentation.
            Some(mut dev) => {
                let mut labels = Vec::new();
                for mut job in jobs {
                    if job.idx.is_empty() {
                        // No sample of this batch here: a zero gradient (see `optimize`).
                        labels.clear();
                    } else {
                        let (idx, aug) = job.parts(&augment, train.frame);
                        let x = self.model.device_input_mut();
                        dev.gather(idx, aug, &input, x, &mut labels);
                    }
                    if !step(self, &labels) {
                        stopped = true;
                        break;
                    }
                }
                self.on_device.as_mut().expect("taken above")[0] = Some(dev);
            }
            None => prefetch::run(&train, &input, &augment, jobs, parallel, |b| {
                if stopped {
                    return;
                }
                std::mem::swap(self.model.input_mut(), &mut b.input);
                stopped = !step(self, &b.labels);
            }),
        }
        self.train = train;
        self.train_len = 0;
        if stopped {
            return None;
        }
        let train_time = start.elapsed().as_secs_f64();
        Some(self.end_epoch(&p, p.seen - seen_at_start, start, train_time))
    }

    /// The end of an epoch that trained `trained` samples from `start` for `train_time`
    /// seconds: the evaluation, and the epoch's metrics.
    pub fn end_epoch(
        &mut self,
        p: &EpochProgress,
        trained: usize,
        start: Instant,
        train_time: f64,
    ) -> EpochMetrics {
        let active = self.model.take_active_fractions();
        let (split, eval) = match self.validation.is_some() {
            true => ("validation", self.evaluate_split(1)),
            false => ("test", self.evaluate_split(2)),
        };
        self.epoch += 1;
        EpochMetrics {
            epoch: self.epoch,
            lr: p.lr,
            train_loss: p.mean_loss(),
            train_accuracy: p.accuracy(),
            eval_split: split.into(),
            eval,
            seconds: start.elapsed().as_secs_f64(),
            train_samples_per_s: trained as f64 / train_time,
            time_steps: self.model.cfg.time_steps,
            active,
        }
    }
}
