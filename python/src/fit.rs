//! Training from Python as a session: `fit_begin`, then `fit_epoch` (the trainer's own batches)
//! or `fit_step` / `fit_end_epoch` (a data loader's), then `fit_finish`. Between calls the
//! model is back in its `Core`, so that callbacks can read, evaluate or save it.

use crate::convert::{dataset, Images, Labels};
use crate::core_class::Core;
use crate::errors::{err, OrPy, TtfsError};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ttfs::run_dir::RunDir;
use ttfs::train::{EpochMetrics, EpochProgress, Trainer};

/// Within an epoch, a progress line this often (Ctrl-C is checked every second).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A training session: the trainer (holding a stand-in model between calls: the model itself
/// stays in its `Core`), the run directory and, for batches handed in one by one, the epoch in
/// progress.
pub(crate) struct Fit {
    pub(crate) tr: Trainer,
    rd: Option<RunDir>,
    best: f64,
    progress: EpochProgress,
    started: Instant,
    steps_per_epoch: usize,
}

impl Core {
    /// Run `f` on the session's trainer with the model in it; the model returns to `self`
    /// whatever `f` does.
    pub(crate) fn with_trainer<T>(
        &mut self,
        f: impl FnOnce(&mut Fit) -> PyResult<T>,
    ) -> PyResult<T> {
        let Some(fit) = self.fit.as_mut() else {
            return Err(TtfsError::new_err(
                "no training in progress (fit_begin first)",
            ));
        };
        // With `train.ema_decay`, outside the trainer the model holds the moving average (what
        // the epochs evaluated and a run directory's checkpoints hold: callbacks, EarlyStopping
        // and the model after `fit` see it) and the trainer the weights being trained.
        std::mem::swap(&mut fit.tr.model, &mut self.model);
        fit.tr.swap_average();
        let r = f(fit);
        fit.tr.swap_average();
        std::mem::swap(&mut fit.tr.model, &mut self.model);
        r
    }
}

/// After an epoch: stop on divergence, record the epoch in the run directory; the metrics as
/// JSON and the epoch's line.
fn after_epoch(fit: &mut Fit, m: &EpochMetrics) -> PyResult<(String, String)> {
    let hint = "(lower optimizer.lr or set optimizer.clip_grad_norm)";
    if !m.train_loss.is_finite() {
        return Err(TtfsError::new_err(format!(
            "training diverged at epoch {}: loss {} {hint}",
            m.epoch, m.train_loss
        )));
    }
    // A finite loss does not prove finite parameters (NaN neurons fall silent).
    if let Some(bad) = ttfs::param_check::in_model(&fit.tr.model) {
        return Err(TtfsError::new_err(format!(
            "training diverged in epoch {}: parameter {bad} {hint}",
            m.epoch
        )));
    }
    if let Some(rd) = &fit.rd {
        ttfs::run::record_epoch(&fit.tr, rd, m, &mut fit.best).py_err()?;
    }
    let json = serde_json::to_string(m).map_err(|e| err(e.into()))?;
    Ok((json, ttfs::run::epoch_line(m, fit.tr.cfg.train.epochs)))
}

#[pymethods]
impl Core {
    /// Start training, continuing from the current parameters with a fresh optimizer and
    /// learning-rate schedule over `epochs` (default: the config's `train.epochs`). The data:
    /// arrays `x`, `y` (and `vx`, `vy` evaluated after every epoch), or the named data set
    /// `data`. With `steps_per_epoch`, `x`, `y` is only the first of the batches that
    /// `fit_step` hands in, one by one (a data loader): its size is the batch size. Returns
    /// the number of epochs.
    #[pyo3(signature = (x=None, scale=1.0, y=None, vx=None, vscale=1.0, vy=None, data=None, data_dir=None, epochs=None, out=None, steps_per_epoch=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit_begin(
        &mut self,
        x: Option<Images<'_>>,
        scale: f32,
        y: Option<Labels<'_>>,
        vx: Option<Images<'_>>,
        vscale: f32,
        vy: Option<Labels<'_>>,
        data: Option<String>,
        data_dir: Option<String>,
        epochs: Option<usize>,
        out: Option<PathBuf>,
        steps_per_epoch: Option<usize>,
    ) -> PyResult<usize> {
        if self.fit.is_some() {
            return Err(TtfsError::new_err(
                "this model is already training (fit was called from a callback of its own fit)",
            ));
        }
        let mut cfg = self.cfg.clone();
        if let Some(e) = epochs {
            cfg.train.epochs = e;
        }
        // As `ttfs train` refuses it.
        if cfg.train.epochs == 0 {
            return Err(TtfsError::new_err(
                "epochs is 0: there is nothing to train (an untrained model can be evaluated \
                 as it is)",
            ));
        }
        let classes = self.model.classes();
        let (train, test) = match (&x, &data) {
            (Some(x), None) => {
                let train = dataset(x, scale, y.as_ref(), classes, "training data")?;
                let test = match &vx {
                    Some(vx) => dataset(vx, vscale, vy.as_ref(), classes, "validation data")?,
                    None => train.subset(&[]),
                };
                (train, test)
            }
            (None, Some(name)) => {
                let s = self.named(name, data_dir.as_deref())?;
                cfg.data.name = name.clone();
                if s.train.kind == ttfs::data::Kind::Image {
                    self.scale = Some(s.train.scale);
                }
                (s.train, s.test)
            }
            _ => {
                return Err(TtfsError::new_err(
                    "fit: give either arrays (x, y) or a data set name (data=...)",
                ))
            }
        };
        self.check_frame(&train)?;
        if let Some(steps) = steps_per_epoch {
            if steps == 0 {
                return Err(TtfsError::new_err("the data loader has no batches"));
            }
            // Batches come from the loader, one at a time: its batch size, no held-out split
            // and no device copy of a split it does not have.
            cfg.train.batch_size = train.len();
            cfg.data.validation = 0;
            cfg.data.train_samples = 0;
            cfg.data.on_device = false;
        }
        cfg.train.device = self.model.device;
        let mut tr = Trainer::with_data(&cfg, train, test).py_err()?;
        // The moving average (`train.ema_decay`) starts at this model's parameters, not at the
        // trainer's stand-in (the two are equal here: which one `with_trainer` puts where
        // makes no difference yet).
        if let Some(ema) = &mut tr.ema {
            *ema = ttfs::ema::Ema::new(ema.decay, &self.model);
        }
        // Arrays handed in as `validation` are the user's held-out data: evaluated as a
        // validation split, they choose the best epoch of a run directory, as
        // `data.validation` does for `ttfs train` (a test split never does).
        if vx.is_some() && tr.validation.is_none() {
            let empty = tr.test.subset(&[]);
            tr.validation = Some(std::mem::replace(&mut tr.test, empty));
        }
        let rd = match &out {
            Some(p) => {
                let (rd, _) = RunDir::create(Some(p), None, false).py_err()?;
                rd.write_config(&cfg).py_err()?;
                rd.write_command(
                    &["python: ttfs.Model.fit".to_string()],
                    rayon::current_num_threads(),
                    1,
                    tr.data_dir.as_deref(),
                )
                .py_err()?;
                Some(rd)
            }
            None => None,
        };
        // The trainer keeps its freshly built model as the stand-in (see `with_trainer`).
        self.fit = Some(Fit {
            tr,
            rd,
            best: f64::NEG_INFINITY,
            progress: EpochProgress::default(),
            started: Instant::now(),
            steps_per_epoch: steps_per_epoch.unwrap_or(0),
        });
        Ok(cfg.train.epochs)
    }

    /// One epoch over the arrays or data set of `fit_begin`, in the trainer's order and batches
    /// (as `ttfs train`). `on_step(step, seen, samples, loss, accuracy)` after every step:
    /// returning False stops training (`None` is returned). Returns the metrics (JSON) and the
    /// epoch's line.
    #[pyo3(signature = (progress=true, on_step=None))]
    fn fit_epoch(
        &mut self,
        py: Python<'_>,
        progress: bool,
        on_step: Option<Py<PyAny>>,
    ) -> PyResult<Option<(String, String)>> {
        self.with_trainer(|fit| {
            let mut failed: Option<PyErr> = None;
            let (mut last, mut printed) = (Instant::now(), Instant::now());
            let epoch = fit.tr.epoch + 1;
            let tr = &mut fit.tr;
            let m = py.detach(|| {
                tr.run_epoch(None, |_, s| {
                    let p = s.progress;
                    let due = last.elapsed() >= Duration::from_secs(1);
                    if on_step.is_none() && !due {
                        return true;
                    }
                    Python::attach(|py| {
                        if due {
                            last = Instant::now();
                            if let Err(e) = py.check_signals() {
                                failed = Some(e);
                                return false;
                            }
                        }
                        if progress && printed.elapsed() >= PROGRESS_EVERY {
                            printed = Instant::now();
                            let line = format!(
                                "epoch {epoch}: {}/{} samples, loss {:.4}, train {:.2}%",
                                p.seen,
                                s.samples,
                                p.mean_loss(),
                                100.0 * p.accuracy()
                            );
                            let print = py.import("builtins").and_then(|b| b.getattr("print"));
                            if let Err(e) = print.and_then(|f| f.call1((line,))) {
                                failed = Some(e);
                                return false;
                            }
                        }
                        let Some(cb) = &on_step else {
                            return true;
                        };
                        let args = (p.steps, p.seen, s.samples, s.loss, p.accuracy());
                        match cb.call1(py, args).and_then(|r| r.is_truthy(py)) {
                            Ok(go_on) => go_on,
                            Err(e) => {
                                failed = Some(e);
                                false
                            }
                        }
                    })
                })
            });
            if let Some(e) = failed {
                return Err(e);
            }
            match m {
                Some(m) => after_epoch(fit, &m).map(Some),
                None => Ok(None),
            }
        })
    }

    /// One optimizer step on a batch handed in (a data loader's; `fit_begin` with
    /// `steps_per_epoch`). Returns the batch's loss and the epoch's samples so far and
    /// training accuracy.
    fn fit_step(
        &mut self,
        py: Python<'_>,
        x: Images<'_>,
        scale: f32,
        y: Labels<'_>,
    ) -> PyResult<(f32, usize, f64)> {
        let classes = self.model.classes();
        let batch = dataset(&x, scale, Some(&y), classes, "batch")?;
        self.check_frame(&batch)?;
        if batch.is_empty() {
            return Err(TtfsError::new_err("the data loader gave an empty batch"));
        }
        // Each batch must fit in memory with its gradients, as `train.batch_size` must.
        self.model
            .check_batch(batch.len(), true, "the data loader's batch size")
            .py_err()?;
        self.with_trainer(|fit| {
            if fit.progress.steps == 0 {
                fit.started = Instant::now();
            }
            let (tr, p, steps) = (&mut fit.tr, &mut fit.progress, fit.steps_per_epoch);
            let loss = py.detach(|| tr.step_on(&batch, steps, p));
            Ok((loss, p.seen, p.accuracy()))
        })
    }

    /// The end of an epoch of `fit_step`s: evaluation, metrics (JSON) and the epoch's line.
    fn fit_end_epoch(&mut self, py: Python<'_>) -> PyResult<(String, String)> {
        self.with_trainer(|fit| {
            let p = std::mem::take(&mut fit.progress);
            if p.steps == 0 {
                return Err(TtfsError::new_err(
                    "the data loader gave no batches in this epoch (a one-pass iterator is \
                     spent after one epoch: give a list or a DataLoader, or epochs=1)",
                ));
            }
            let (tr, started) = (&mut fit.tr, fit.started);
            let train_time = started.elapsed().as_secs_f64();
            let m = py.detach(|| tr.end_epoch(&p, p.seen, started, train_time));
            after_epoch(fit, &m)
        })
    }
}
