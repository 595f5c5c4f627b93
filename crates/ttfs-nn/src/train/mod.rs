//! The training loop: shuffled mini-batches, forward, cross entropy, hand-written backward,
//! optimizer step; evaluation with spike monitors after every epoch.
//!
//! `epoch.rs` runs an epoch, `evaluate.rs` a pass over a data set, `distribute.rs` the
//! data-parallel checks, `split.rs` the held-out validation samples, `stages.rs` the
//! incremental time steps; this file holds the trainer, how it is built from a config and
//! data, and one optimizer step.

mod distribute;
mod epoch;
mod evaluate;
mod split;
mod stages;

pub use epoch::{EpochMetrics, EpochProgress, StepReport};
pub use evaluate::{evaluate, evaluate_part, evaluate_with, Evaluation, Extras, FlipVote};
use split::check_batch_size;
pub use split::hold_out;

use crate::aux_membrane::aux_weight;
use crate::collective::{Collective, Reduce, Solo};
use crate::config::Config;
use crate::data::augment::Augment;
use crate::data::batch::{assemble, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::{self, Dataset};
use crate::ema::Ema;
use crate::model::Model;
use crate::optim::Optimizer;
use crate::rng::Rng;
use anyhow::{bail, Context, Result};
use std::path::Path;

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
    /// Where the data set was read from (`None`: embedded, or given in memory).
    pub data_dir: Option<std::path::PathBuf>,
    labels: Vec<usize>,
    scratch: Vec<f32>,
    /// Size of the training split while it is lent out during an epoch (0 otherwise).
    train_len: usize,
    /// Steps per epoch of batches handed in from outside ([`Trainer::step_on`]), for the
    /// learning-rate schedule.
    given_steps: Option<usize>,
    /// On a GPU, image data sets live there (training, validation, test splits): batches are
    /// gathered and encoded on the device instead of assembled on the host.
    on_device: Option<[Option<DeviceImages>; 3]>,
    /// The processes training this model together (data parallel); one process: [`Solo`].
    pub dist: std::sync::Arc<dyn Collective>,
    /// What the `model.init_firing` calibration did, per spiking layer (empty: not run).
    pub calibration: Vec<crate::firing_calibration::LayerCalibration>,
    /// The moving average of the parameters (`train.ema_decay`), the model that evaluations
    /// see; `None` when off.
    pub ema: Option<Ema>,
}

impl Trainer {
    pub fn new(cfg: &Config) -> Result<Trainer> {
        // A device that cannot be used fails before the data set is read.
        cfg.train.device.kernels()?;
        let dir = data::locate::locate(&cfg.data.name, cfg.data.dir.as_deref().map(Path::new))?;
        let splits = data::load_with(
            &cfg.data.name,
            dir.as_deref(),
            &cfg.data.load_options(cfg.model.time_steps),
        )?;
        let mut tr = Self::with_data(cfg, splits.train, splits.test)?;
        tr.data_dir = dir;
        Ok(tr)
    }

    pub fn with_data(cfg: &Config, train: Dataset, test: Dataset) -> Result<Trainer> {
        cfg.validate().context("invalid configuration")?;
        let mut init_rng = Rng::new(cfg.train.seed);
        let rng = Rng::new(cfg.train.seed ^ 0x5EED_DA7A);
        let (train, validation) = hold_out(cfg, train)?;
        check_batch_size(cfg, &train)?;
        // With incremental time steps (`schedule.time_steps`) the run starts at its first
        // stage's T; `cfg.model` stays the model at its own T.
        let t0 = cfg.schedule.time_steps_at(0, cfg.model.time_steps);
        if !cfg.schedule.time_steps.is_empty() && train.kind != data::Kind::Image {
            bail!(
                "schedule.time_steps changes T during the run, but {} holds event recordings, \
                 binned into model.time_steps frames when loaded (incremental time steps need \
                 images)",
                train.name
            );
        }
        let mut model = Model::new(&cfg.model.at_time_steps(t0)?, &train.frame, &mut init_rng)?;
        // Before the first batch is assembled (`sizes.rs`).
        model.check_batch(
            cfg.train.batch_size.min(train.len()),
            true,
            "train.batch_size",
        )?;
        let eval_n = validation.as_ref().map_or(0, |v| v.len()).max(test.len());
        let eval_batch = cfg.train.eval_batch_size.min(eval_n.max(1));
        model.check_batch(eval_batch, false, "train.eval_batch_size")?;
        // Every later stage's sizes, before the first step rather than at its epoch.
        for &[_, t] in cfg.schedule.time_steps.iter().skip(1) {
            let m = Model::new(&cfg.model.at_time_steps(t)?, &train.frame, &mut Rng::new(0))?;
            m.check_batch(
                cfg.train.batch_size.min(train.len()),
                true,
                "train.batch_size",
            )?;
            m.check_batch(eval_batch, false, "train.eval_batch_size")?;
        }
        crate::kernels::set_tf32(cfg.train.tf32);
        model.to_device(cfg.train.device)?;
        let input = InputSpec {
            encoding: cfg.model.encoding,
            zero: cfg.model.zero_input,
            time_steps: t0,
            normalize: cfg.data.normalize(),
        };
        input.check(&train)?;
        // A fresh run with `model.init_firing`: calibrate the synapse gains on the first
        // training batch, store them in the run's config, and build the model from that
        // config (so that a resumed run or a loaded checkpoint builds the same model).
        let mut cfg = cfg.clone();
        let mut calibration = Vec::new();
        if let (Some(fraction), true) = (cfg.model.init_firing, cfg.model.synapse_gains.is_empty())
        {
            let batch = crate::firing_calibration::first_batch(
                &mut model,
                &train,
                &input,
                cfg.train.batch_size,
            );
            let (gains, report) =
                crate::firing_calibration::calibrate(&mut model, &batch, fraction)?;
            // Measured at the first stage's T, stored as the gains at the model's own T.
            let measured = crate::model::ModelConfig {
                time_steps: t0,
                synapse_gains: gains,
                ..cfg.model.clone()
            };
            cfg.model.synapse_gains = measured.at_time_steps(cfg.model.time_steps)?.synapse_gains;
            calibration = report;
            let first = cfg.model.at_time_steps(t0)?;
            model = Model::new(&first, &train.frame, &mut Rng::new(cfg.train.seed))?;
            model.to_device(cfg.train.device)?;
        }
        let cfg = &cfg;
        let augment = cfg.data.augment(train.kind)?;
        if train.kind == data::Kind::Image && cfg.data.resolution > 0 {
            bail!(
                "data.resolution = {} applies to event data (the frame side of its recordings), \
                 but data.name = {:?} gives images",
                cfg.data.resolution,
                cfg.data.name
            );
        }
        if model.classes() != train.classes {
            bail!(
                "the model has {} outputs but {} has {} classes",
                model.classes(),
                train.name,
                train.classes
            );
        }
        let device = cfg.train.device;
        let upload = |ds: &Dataset| {
            if cfg.data.on_device {
                DeviceImages::upload(ds, &input, device)
            } else {
                None
            }
        };
        let on_device =
            upload(&train).map(|t| [Some(t), validation.as_ref().and_then(upload), upload(&test)]);
        let ema = (cfg.train.ema_decay > 0.0).then(|| Ema::new(cfg.train.ema_decay, &model));
        Ok(Trainer {
            calibration,
            ema,
            dist: std::sync::Arc::new(Solo),
            on_device,
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
            data_dir: None,
            labels: Vec::new(),
            scratch: Vec::new(),
            train_len: 0,
            given_steps: None,
        })
    }

    /// Fraction of each spiking layer's neurons that fire on the first training batch (not
    /// augmented), by layer name: the check before the first epoch.
    pub fn firing_at_start(&mut self) -> Vec<(String, f64)> {
        let n = self.cfg.train.batch_size;
        crate::firing_calibration::first_batch(&mut self.model, &self.train, &self.input, n);
        self.model.forward();
        crate::firing_calibration::firing_fractions(&self.model)
    }

    pub fn steps_per_epoch(&self) -> usize {
        if let Some(s) = self.given_steps {
            return s;
        }
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
        let r = self.optimize(&labels, labels.len());
        self.labels = labels;
        r
    }

    /// One optimizer step on all of `batch`, a batch handed in from outside (the Python
    /// package's `fit` on a data loader, whose transforms take the place of `data.augment`),
    /// counted into the epoch's progress `p`; `steps_per_epoch` (the loader's length) sets the
    /// learning-rate schedule. Returns the batch's mean loss (non-finite: the update was
    /// skipped). [`Trainer::end_epoch`] closes the epoch.
    pub fn step_on(
        &mut self,
        batch: &Dataset,
        steps_per_epoch: usize,
        p: &mut EpochProgress,
    ) -> f32 {
        self.given_steps = Some(steps_per_epoch.max(1));
        if p.steps == 0 {
            self.enter_stage();
            p.lr = self.current_lr();
        }
        let idx: Vec<usize> = (0..batch.len()).collect();
        assemble(
            batch,
            &idx,
            &self.input,
            self.model.input_mut(),
            &mut self.labels,
            &mut self.scratch,
        );
        let labels = std::mem::take(&mut self.labels);
        let (loss, correct) = self.optimize(&labels, labels.len());
        self.labels = labels;
        p.steps += 1;
        p.loss_sum += loss as f64 * batch.len() as f64;
        p.correct += correct as f64;
        p.seen += batch.len();
        loss
    }

    /// Forward, backward and update on the batch already in the model's input: this process's
    /// `labels.len()` samples of a batch of `global` samples split over the processes. Returns
    /// the batch's mean loss and correct credit (over the whole batch).
    fn optimize(&mut self, labels: &[usize], global: usize) -> (f32, f32) {
        let lr = self.current_lr();
        self.model.zero_grad();
        let smoothing = self.cfg.train.label_smoothing;
        let (mut loss, mut correct) = (0.0, 0.0);
        if !labels.is_empty() {
            self.model.forward();
            loss = self.model.loss(labels, smoothing);
            correct = self.model.correct(labels);
            let share = labels.len() as f32 / global as f32;
            if global != labels.len() {
                // The batch's loss is the mean over all its samples: this share weighs
                // local / global.
                self.model.scale_dlogits(share);
            }
            let total = self.cfg.train.epochs * self.steps_per_epoch();
            let lambda = aux_weight(self.cfg.train.aux_membrane_loss, self.step, total);
            if lambda > 0.0 {
                loss += self.model.aux_membrane_loss(lambda, share);
            }
            self.model.backward_from_logits();
        }
        if self.dist.size() > 1 {
            let mut sums = [loss as f64 * labels.len() as f64, correct as f64];
            self.dist.all_reduce_f64(&mut sums, Reduce::Sum);
            (loss, correct) = ((sums[0] / global as f64) as f32, sums[1] as f32);
            let mut params = self.model.params_mut();
            let mut grads: Vec<_> = params.iter_mut().map(|p| &mut p.grad).collect();
            self.dist.all_reduce_sum(&mut grads);
        }
        if !loss.is_finite() {
            // Leave parameters and optimizer untouched (the caller decides to stop) and the
            // batch's activations and gradients in place for diagnosis.
            return (loss, correct);
        }
        let mut params = self.model.params_mut();
        self.opt.update(&mut params, lr);
        if let Some(ema) = &mut self.ema {
            ema.update(&params, self.opt.step);
        }
        self.step += 1;
        (loss, correct)
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
        self.evaluate_split(2)
    }

    /// Evaluate on the validation (1) or test (2) split, from its copy on the device when
    /// there is one; with `train.ema_decay`, the averaged parameters are evaluated.
    fn evaluate_split(&mut self, split: usize) -> Evaluation {
        self.swap_average();
        let r = self.evaluate_split_now(split);
        self.swap_average();
        r
    }

    /// Exchange the model's parameters and their moving average (nothing without one): the
    /// model then holds what a checkpoint calls its parameters.
    pub fn swap_average(&mut self) {
        if let Some(ema) = &mut self.ema {
            ema.swap(&mut self.model);
        }
    }

    fn evaluate_split_now(&mut self, split: usize) -> Evaluation {
        let ds = match split {
            1 => self.validation.as_ref().expect("a validation split"),
            _ => &self.test,
        };
        let dev = self.on_device.as_mut().and_then(|d| d[split].as_mut());
        let batch = self.cfg.train.eval_batch_size;
        let (r, size) = (self.dist.rank(), self.dist.size());
        let at = |k: usize| k * (ds.len() / size) + k.min(ds.len() % size);
        let dist = &*self.dist;
        let part = at(r)..at(r + 1);
        evaluate_part(
            &mut self.model,
            ds,
            dev,
            &self.input,
            batch,
            Extras::default(),
            part,
            dist,
        )
    }
}
