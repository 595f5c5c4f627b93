//! The training loop: shuffled mini-batches, forward, cross entropy, hand-written backward,
//! optimizer step; evaluation with spike monitors after every epoch.

use crate::config::Config;
use crate::data::augment::Augment;
use crate::data::batch::{assemble, InputSpec};
use crate::data::prefetch::{self, Job};
use crate::data::{self, Dataset};
use crate::energy::EnergyReport;
use crate::loss;
use crate::metrics::SpikeMonitor;
use crate::model::Model;
use crate::optim::Optimizer;
use crate::rng::Rng;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Seed of the fixed shuffle that picks the held-out validation samples.
const VALIDATION_SPLIT_SEED: u64 = 0x0A11_DA7E;

/// Accuracy, loss and spike statistics of a pass over a data set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub samples: usize,
    pub monitor: SpikeMonitor,
    /// `accuracy_at[t]`: accuracy when deciding from the outputs seen up to step `t`.
    pub accuracy_at: Vec<f64>,
    /// Synaptic operations, energy and early exit (`ttfs eval`; not during training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyReport>,
}

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

pub struct Trainer {
    pub cfg: Config,
    pub model: Model,
    pub opt: Optimizer,
    /// Draws the training order (and augmentation): stored in checkpoints.
    pub rng: Rng,
    pub train: Dataset,
    /// Held-out part of the training split, when `data.validation > 0`.
    pub validation: Option<Dataset>,
    pub test: Dataset,
    pub input: InputSpec,
    /// Applied to training batches only.
    pub augment: Augment,
    pub step: usize,
    pub epoch: usize,
    labels: Vec<usize>,
    scratch: Vec<f32>,
    /// Size of the training split while it is lent out during an epoch (0 otherwise).
    train_len: usize,
}

impl Trainer {
    pub fn new(cfg: &Config) -> Result<Trainer> {
        // A device that cannot be used fails before the data set is read.
        cfg.train.device.kernels()?;
        let splits = data::load_with(
            &cfg.data.name,
            cfg.data.dir.as_deref().map(Path::new),
            &cfg.data.load_options(cfg.model.time_steps),
        )?;
        Self::with_data(cfg, splits.train, splits.test)
    }

    pub fn with_data(cfg: &Config, train: Dataset, test: Dataset) -> Result<Trainer> {
        cfg.validate()?;
        let mut init_rng = Rng::new(cfg.train.seed);
        let rng = Rng::new(cfg.train.seed ^ 0x5EED_DA7A);
        let (train, validation) = if cfg.data.validation > 0 || cfg.data.train_samples > 0 {
            let (held, used) = (cfg.data.validation, cfg.data.train_samples);
            if held >= train.len() || held + used > train.len() {
                bail!(
                    "data.validation = {held} and data.train_samples = {used} but the training \
                     split has only {} samples",
                    train.len()
                );
            }
            // A fixed shuffle (its own seed) so the held-out set and the training subset are
            // the same for every run.
            let mut idx: Vec<usize> = (0..train.len()).collect();
            Rng::new(VALIDATION_SPLIT_SEED).shuffle(&mut idx);
            let (v, t) = idx.split_at(held);
            let t = if used > 0 { &t[..used] } else { t };
            (train.subset(t), (held > 0).then(|| train.subset(v)))
        } else {
            (train, None)
        };
        let mut model = Model::new(&cfg.model, &train.frame, &mut init_rng)?;
        crate::kernels::set_tf32(cfg.train.tf32);
        model.to_device(cfg.train.device)?;
        let input = InputSpec {
            encoding: cfg.model.encoding,
            zero: cfg.model.zero_input,
            time_steps: cfg.model.time_steps,
            normalize: cfg.data.normalize(),
        };
        input.check(&train)?;
        let augment = cfg.data.augment(train.kind)?;
        if model.classes() != train.classes {
            bail!(
                "the model has {} outputs but {} has {} classes",
                model.classes(),
                train.name,
                train.classes
            );
        }
        Ok(Trainer {
            opt: Optimizer::new(cfg.optimizer.clone()),
            cfg: cfg.clone(),
            model,
            rng,
            train,
            validation,
            test,
            input,
            augment,
            step: 0,
            epoch: 0,
            labels: Vec::new(),
            scratch: Vec::new(),
            train_len: 0,
        })
    }

    pub fn steps_per_epoch(&self) -> usize {
        // During an epoch the training split is lent to the batch preparation.
        let n = if self.train_len > 0 {
            self.train_len
        } else {
            self.train.len()
        };
        n.div_ceil(self.cfg.train.batch_size)
    }

    /// One optimizer step on the samples `idx` (not augmented); returns (loss, correct credit).
    pub fn train_step(&mut self, idx: &[usize]) -> (f32, f32) {
        assemble(
            &self.train,
            idx,
            &self.input,
            self.model.input_mut(),
            &mut self.labels,
            &mut self.scratch,
        );
        let labels = std::mem::take(&mut self.labels);
        let r = self.optimize(&labels);
        self.labels = labels;
        r
    }

    /// Forward, backward and update on the batch already in the model's input.
    fn optimize(&mut self, labels: &[usize]) -> (f32, f32) {
        let lr = self.current_lr();
        self.model.forward();
        self.model.zero_grad();
        let loss = self
            .model
            .backward_smoothed(labels, self.cfg.train.label_smoothing);
        let correct = self.model.correct(labels);
        if !loss.is_finite() {
            // Leave parameters and optimizer untouched (the caller decides to stop) and the
            // batch's activations and gradients in place for diagnosis.
            return (loss, correct);
        }
        let mut params = self.model.params_mut();
        self.opt.update(&mut params, lr);
        self.step += 1;
        (loss, correct)
    }

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
        let jobs: Vec<Job> = order
            .chunks(bs)
            .map(|c| Job {
                idx: c.to_vec(),
                rng: augmenting.then(|| self.rng.fork()),
            })
            .skip(p.steps)
            .collect();
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
        prefetch::run(&train, &input, &augment, jobs, parallel, |b| {
            if stopped {
                return;
            }
            std::mem::swap(self.model.input_mut(), &mut b.input);
            let (l, c) = self.optimize(&b.labels);
            let bl = b.labels.len();
            p.steps += 1;
            p.loss_sum += l as f64 * bl as f64;
            p.correct += c as f64;
            p.seen += bl;
            let report = StepReport {
                progress: &p,
                loss: l,
                samples: n,
            };
            stopped = !hook(self, &report);
        });
        self.train = train;
        self.train_len = 0;
        if stopped {
            return None;
        }
        let train_time = start.elapsed().as_secs_f64();
        let (split, eval) = match &self.validation {
            Some(v) => (
                "validation",
                evaluate(
                    &mut self.model,
                    v,
                    &self.input,
                    self.cfg.train.eval_batch_size,
                ),
            ),
            None => (
                "test",
                evaluate(
                    &mut self.model,
                    &self.test,
                    &self.input,
                    self.cfg.train.eval_batch_size,
                ),
            ),
        };
        self.epoch += 1;
        Some(EpochMetrics {
            epoch: self.epoch,
            lr: p.lr,
            train_loss: p.mean_loss(),
            train_accuracy: p.accuracy(),
            eval_split: split.into(),
            eval,
            seconds: start.elapsed().as_secs_f64(),
            train_samples_per_s: (p.seen - seen_at_start) as f64 / train_time,
        })
    }

    pub fn current_lr(&self) -> f32 {
        let total = self.cfg.train.epochs * self.steps_per_epoch();
        self.cfg.schedule.lr(
            self.cfg.optimizer.lr,
            self.step,
            total,
            self.steps_per_epoch(),
        )
    }

    pub fn evaluate_test(&mut self) -> Evaluation {
        evaluate(
            &mut self.model,
            &self.test,
            &self.input,
            self.cfg.train.eval_batch_size,
        )
    }
}

/// Forward passes over all of `ds` in batches of `batch`: loss, accuracy (ties share
/// credit), accuracy against decision time, and spike statistics.
pub fn evaluate(model: &mut Model, ds: &Dataset, input: &InputSpec, batch: usize) -> Evaluation {
    evaluate_with(model, ds, input, batch, false)
}

/// [`evaluate`], with the synaptic-operation and energy report when `energy` is set.
pub fn evaluate_with(
    model: &mut Model,
    ds: &Dataset,
    input: &InputSpec,
    batch: usize,
    energy: bool,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let mut report = energy.then(EnergyReport::default);
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let c = model.classes();
    let t = input.time_steps;
    let mut at = vec![0.0f64; t];
    let mut partial = vec![0.0f32; c];
    let idx: Vec<usize> = (0..ds.len()).collect();
    for chunk in idx.chunks(batch) {
        assemble(
            ds,
            chunk,
            input,
            model.input_mut(),
            &mut labels,
            &mut scratch,
        );
        model.forward();
        ev.loss += model.loss(&labels, 0.0) as f64 * chunk.len() as f64;
        ev.accuracy += model.correct(&labels) as f64;
        ev.monitor.record(model);
        if let Some(r) = &mut report {
            r.record(model, &labels);
        }
        let out = model.decoder.out.data.read();
        for (step, a) in at.iter_mut().enumerate() {
            for (b, &y) in labels.iter().enumerate() {
                model.decoder.logits_until(&out, step, b, &mut partial);
                *a += loss::correct_credit(&partial, y) as f64;
            }
        }
    }
    let n = ds.len().max(1) as f64;
    ev.samples = ds.len();
    ev.loss /= n;
    ev.accuracy /= n;
    ev.accuracy_at = at.iter().map(|a| a / n).collect();
    ev.energy = report;
    ev
}
