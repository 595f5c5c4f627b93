//! The training loop: shuffled mini-batches, forward, cross entropy, hand-written backward,
//! optimizer step; evaluation with spike monitors after every epoch.

use crate::aux_membrane::aux_weight;
use crate::collective::{self, Collective, Reduce, Solo};
use crate::config::Config;
use crate::data::augment::Augment;
use crate::data::batch::{assemble, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::prefetch::{self, Job};
use crate::data::{self, Dataset};
use crate::energy::EnergyReport;
use crate::loss;
use crate::metrics::SpikeMonitor;
use crate::model::Model;
use crate::optim::Optimizer;
use crate::rng::Rng;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

use crate::train_split::check_batch_size;
pub use crate::train_split::hold_out;

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
        let mut model = Model::new(&cfg.model, &train.frame, &mut init_rng)?;
        // Before the first batch is assembled (`sizes.rs`).
        model.check_batch(
            cfg.train.batch_size.min(train.len()),
            true,
            "train.batch_size",
        )?;
        let eval_n = validation.as_ref().map_or(0, |v| v.len()).max(test.len());
        let eval_batch = cfg.train.eval_batch_size.min(eval_n.max(1));
        model.check_batch(eval_batch, false, "train.eval_batch_size")?;
        crate::kernels::set_tf32(cfg.train.tf32);
        model.to_device(cfg.train.device)?;
        let input = InputSpec {
            encoding: cfg.model.encoding,
            zero: cfg.model.zero_input,
            time_steps: cfg.model.time_steps,
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
            cfg.model.synapse_gains = gains;
            calibration = report;
            model = Model::new(&cfg.model, &train.frame, &mut Rng::new(cfg.train.seed))?;
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
        Ok(Trainer {
            calibration,
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
        self.step += 1;
        (loss, correct)
    }

    /// This process's share `[start, end)` of `n` items split over the processes (the first
    /// `n % size` processes take one more; with `n < size` the last ones take none, and
    /// contribute a zero gradient to that step).
    fn share(&self, n: usize) -> std::ops::Range<usize> {
        let (r, size) = (self.dist.rank(), self.dist.size());
        let at = |k: usize| k * (n / size) + k.min(n % size);
        at(r)..at(r + 1)
    }

    /// Train together with the other processes of `dist`: each takes its share of every batch
    /// and of every evaluation, and the gradients are summed. Fails, naming the ranks, when
    /// the processes were started with different configs or data.
    pub fn distribute(&mut self, dist: std::sync::Arc<dyn Collective>) -> Result<()> {
        let mut h = collective::fnv1a(collective::FNV_START, self.shared_config().as_bytes());
        for ds in [
            Some(&self.train),
            self.validation.as_ref(),
            Some(&self.test),
        ]
        .into_iter()
        .flatten()
        {
            h = collective::fnv1a(h, &(ds.len() as u64).to_le_bytes());
            let labels: Vec<u8> = ds.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
            h = collective::fnv1a(h, &labels);
            h = collective::fnv1a(h, &ds.data);
        }
        let hashes = dist.all_gather_u64(h);
        if let Err(e) = collective::check_agree(
            &hashes,
            "the configs or data sets (start every process with the same config, --set overrides and data files)",
        ) {
            // Name the keys: rank 0's config to every process; the first rank that differs
            // reports (and its error ends the job); the others wait for that.
            let ours = self.shared_config();
            let mut theirs = ours.clone().into_bytes();
            dist.broadcast(&mut theirs);
            let first = hashes.iter().position(|&v| v != hashes[0]).unwrap_or(0);
            if dist.rank() != first {
                dist.barrier();
                return Err(e);
            }
            let diff = collective::config_differences(&String::from_utf8_lossy(&theirs), &ours);
            if diff.is_empty() {
                bail!("{e} (the configs agree: the data sets differ)");
            }
            let keys: Vec<String> = diff
                .iter()
                .map(|(k, a, b)| format!("{k} is {a} on rank 0, {b} on rank {first}"))
                .collect();
            bail!(
                "the configs differ between ranks: {} (start every process with the same \
                 config and --set overrides)",
                keys.join("; ")
            );
        }
        collective::check_batch_for_ranks(self.cfg.train.batch_size, dist.size())?;
        let smallest = self
            .validation
            .as_ref()
            .map_or(self.test.len(), |v| v.len().min(self.test.len()));
        if smallest < dist.size() {
            bail!(
                "{} processes but an evaluation split of only {smallest} samples: use fewer processes",
                dist.size()
            );
        }
        self.dist = dist;
        self.check_ranks_agree()
    }

    /// The config without what may differ between processes (threads, device).
    fn shared_config(&self) -> String {
        let mut c = self.cfg.clone();
        c.train.threads = 0;
        c.train.device = Default::default();
        c.to_toml()
    }

    /// Fails, naming the ranks, when the processes' parameters are not bitwise the same.
    pub fn check_ranks_agree(&self) -> Result<()> {
        if self.dist.size() == 1 {
            return Ok(());
        }
        let mut h = collective::FNV_START;
        for p in self.model.params() {
            let bytes: Vec<u8> = p
                .value
                .read()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            h = collective::fnv1a(h, &bytes);
        }
        collective::check_agree(&self.dist.all_gather_u64(h), "the parameters (hash)")
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
            active,
        }
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
    /// there is one.
    fn evaluate_split(&mut self, split: usize) -> Evaluation {
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
            false,
            part,
            dist,
        )
    }
}

/// Forward passes over all of `ds` in batches of `batch`: loss, accuracy (ties share
/// credit), accuracy against decision time, and spike statistics.
pub fn evaluate(model: &mut Model, ds: &Dataset, input: &InputSpec, batch: usize) -> Evaluation {
    evaluate_with(model, ds, None, input, batch, false)
}

/// [`evaluate`], gathering the batches from `dev` (the same data set kept on the model's
/// device) when given, with the synaptic-operation and energy report when `energy` is set.
pub fn evaluate_with(
    model: &mut Model,
    ds: &Dataset,
    dev: Option<&mut DeviceImages>,
    input: &InputSpec,
    batch: usize,
    energy: bool,
) -> Evaluation {
    evaluate_part(model, ds, dev, input, batch, energy, 0..ds.len(), &Solo)
}

/// [`evaluate_with`] split over the processes of `dist`: this one evaluates the samples
/// `part`, and the sums of all the parts are reduced (every process gets the whole result;
/// the energy report, asked for by single-process evaluations only, stays this process's).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_part(
    model: &mut Model,
    ds: &Dataset,
    mut dev: Option<&mut DeviceImages>,
    input: &InputSpec,
    batch: usize,
    energy: bool,
    part: std::ops::Range<usize>,
    dist: &dyn Collective,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let mut report = energy.then(EnergyReport::default);
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let c = model.classes();
    let t = input.time_steps;
    let mut at = vec![0.0f64; t];
    let mut partial = vec![0.0f32; c];
    let idx: Vec<usize> = part.collect();
    for chunk in idx.chunks(batch) {
        match dev.as_mut() {
            Some(d) => d.gather(chunk, None, input, model.device_input_mut(), &mut labels),
            None => assemble(
                ds,
                chunk,
                input,
                model.input_mut(),
                &mut labels,
                &mut scratch,
            ),
        }
        model.forward();
        ev.loss += model.loss(&labels, 0.0) as f64 * chunk.len() as f64;
        ev.accuracy += model.correct(&labels) as f64;
        ev.monitor.record(model);
        if let Some(r) = &mut report {
            r.record(model, &labels);
        }
        let readout = model.decoder.readout();
        for (step, a) in at.iter_mut().enumerate() {
            for (b, &y) in labels.iter().enumerate() {
                model.decoder.logits_until(&readout, step, b, &mut partial);
                *a += loss::correct_credit(&partial, y) as f64;
            }
        }
    }
    if dist.size() > 1 {
        let mut sums = vec![ev.loss, ev.accuracy];
        sums.extend(&at);
        dist.all_reduce_f64(&mut sums, Reduce::Sum);
        (ev.loss, ev.accuracy) = (sums[0], sums[1]);
        at.copy_from_slice(&sums[2..]);
        ev.monitor.reduce(dist);
    }
    let n = ds.len().max(1) as f64;
    ev.samples = ds.len();
    ev.loss /= n;
    ev.accuracy /= n;
    ev.accuracy_at = at.iter().map(|a| a / n).collect();
    ev.energy = report;
    ev
}
