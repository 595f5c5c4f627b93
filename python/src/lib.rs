//! Python bindings of ttfs: a thin layer over the `ttfs` crate. Every computation is the
//! library's (training, evaluation, energy report, event-driven inference, traces, NIR
//! export); this file only converts arguments and results. Arrays arrive already normalized
//! by the Python side (`python/python/ttfs/__init__.py`): images as `uint8` `[N, C, H, W]` with a
//! value scale, labels as `int64`, every count checked. Results that are records (metrics,
//! evaluations) cross as JSON text.
//!
//! Training is a session (`fit_begin`, then `fit_epoch` or `fit_step` / `fit_end_epoch`, then
//! `fit_finish`) driven by the Python loop, so that between calls the model is back in its
//! `Core` and callbacks can read, evaluate or save it.

use numpy::{PyArray, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::data::batch::{assemble, InputSpec};
use ttfs::data::Dataset;
use ttfs::kernels::Device;
use ttfs::model::Model;
use ttfs::rng::Rng;
use ttfs::run_dir::RunDir;
use ttfs::traces::Trace;
use ttfs::train::{EpochMetrics, EpochProgress, Trainer};

create_exception!(
    ttfs,
    TtfsError,
    PyValueError,
    "An error of ttfs, with the message the command line prints (a ValueError: the input, a \
     setting or a file's content is what is wrong)."
);

/// Within an epoch, a progress line this often (Ctrl-C is checked every second).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A float array handed to Python.
type F32Array<'py> = Bound<'py, PyArray<f32, numpy::IxDyn>>;
/// Arrays by name.
type Named<'py> = Vec<(String, F32Array<'py>)>;
/// Images as the Python side hands them over.
type Images<'py> = PyReadonlyArrayDyn<'py, u8>;
type Labels<'py> = PyReadonlyArrayDyn<'py, i64>;

/// The library's error as a Python exception, with the whole chain of contexts (as the CLI
/// prints it).
fn err(e: anyhow::Error) -> PyErr {
    TtfsError::new_err(format!("{e:#}"))
}

trait OrPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> OrPy<T> for anyhow::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(err)
    }
}

/// A Python value (dict, list, str, int, float, bool) as TOML.
fn to_toml(v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            t.insert(k.extract::<String>()?, to_toml(&x)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return Ok(toml::Value::Array(
            l.iter().map(|x| to_toml(&x)).collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(b) = v.extract::<bool>() {
        return Ok(toml::Value::Boolean(b));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Ok(toml::Value::Integer(i));
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(toml::Value::String(s));
    }
    Err(TtfsError::new_err(format!(
        "config value {} is not a dict, list, str, int, float or bool (whole numbers must fit \
         in 64 bits)",
        v.repr()?
    )))
}

/// `[N, C, H, W]` uint8 images and labels as a data set.
fn dataset(
    x: &Images<'_>,
    scale: f32,
    y: Option<&Labels<'_>>,
    classes: usize,
    what: &str,
) -> PyResult<Dataset> {
    let s = x.shape();
    if s.len() != 4 {
        return Err(TtfsError::new_err(format!(
            "{what}: images must be [N, C, H, W], got shape {s:?}"
        )));
    }
    let n = s[0];
    let labels: Vec<u16> = match y {
        Some(y) => {
            let y = y.as_array();
            if y.ndim() != 1 || y.len() != n {
                return Err(TtfsError::new_err(format!(
                    "{what}: {n} images but labels of shape {:?} (one label per image)",
                    y.shape()
                )));
            }
            let mut v = Vec::with_capacity(n);
            for &l in y.iter() {
                if l < 0 || l as usize >= classes {
                    return Err(TtfsError::new_err(format!(
                        "{what}: label {l} is out of range: the model has {classes} classes, 0 \
                         to {}",
                        classes - 1
                    )));
                }
                v.push(l as u16);
            }
            v
        }
        None => vec![0; n],
    };
    let data = x.as_array().iter().copied().collect();
    Dataset::from_images(what, data, [s[1], s[2], s[3]], labels, classes, scale).py_err()
}

/// A device by name. Without the `cuda` feature, a GPU is refused with what a Python user
/// can do about it (the library's message says how to rebuild the command line).
fn device(name: &str) -> PyResult<Device> {
    let d = name.parse::<Device>().py_err()?;
    if matches!(d, Device::Cuda(_)) && !cfg!(feature = "cuda") {
        return Err(TtfsError::new_err(format!(
            "device=\"{name}\": this ttfs package was built without CUDA support. Install a CUDA \
             build of the wheel (docs/python.md, section CUDA: pip install ./python \
             --config-settings=maturin.build-args=\"--features cuda\"), or use device=\"cpu\""
        )));
    }
    // The backend starts here (a GPU: driver, NVRTC, cuBLAS); its messages name the command
    // line's option, which a Python user writes as the `device` argument.
    if let Err(e) = d.kernels() {
        let cli = format!("--device {d}");
        return Err(TtfsError::new_err(format!("{e:#}").replacen(
            &cli,
            &format!("device=\"{d}\""),
            1,
        )));
    }
    Ok(d)
}

/// A training session: the trainer (holding a stand-in model between calls: the model itself
/// stays in its `Core`), the run directory and, for batches handed in one by one, the epoch in
/// progress.
struct Fit {
    tr: Trainer,
    rd: Option<RunDir>,
    best: f64,
    progress: EpochProgress,
    started: Instant,
    steps_per_epoch: usize,
}

/// A TTFS network, its configuration and its training state.
#[pyclass(unsendable, module = "ttfs._ttfs")]
struct Core {
    cfg: Config,
    model: Model,
    /// Epochs trained so far.
    epochs: usize,
    /// The intensity of one step of the integer images the model learned on (saved in
    /// checkpoints), so that it is not asked for again.
    scale: Option<f32>,
    fit: Option<Fit>,
}

impl Core {
    fn input_spec(&self) -> InputSpec {
        InputSpec {
            encoding: self.cfg.model.encoding,
            zero: self.cfg.model.zero_input,
            time_steps: self.cfg.model.time_steps,
            normalize: self.cfg.data.normalize(),
        }
    }

    fn check_frame(&self, ds: &Dataset) -> PyResult<()> {
        if ds.frame.to_vec() != self.model.frames[0] {
            return Err(TtfsError::new_err(format!(
                "{}: samples are {:?} ([C, H, W]) but the model was built for {:?}",
                ds.name, ds.frame, self.model.frames[0]
            )));
        }
        // The batches these samples are run in must fit in memory (`sizes.rs`).
        let batch = self.batch().min(ds.len().max(1));
        self.model
            .check_batch(batch, false, "train.eval_batch_size")
            .py_err()?;
        self.input_spec().check(ds).py_err()
    }

    fn batch(&self) -> usize {
        self.cfg.train.eval_batch_size.max(1)
    }

    /// Images to run through the model (no labels).
    fn images(&self, x: &Images<'_>, scale: f32) -> PyResult<Dataset> {
        let ds = dataset(x, scale, None, self.model.classes(), "images")?;
        self.check_frame(&ds)?;
        Ok(ds)
    }

    /// The splits of a named data set (`data_dir`: where its files are).
    fn named(&self, name: &str, data_dir: Option<&str>) -> PyResult<ttfs::data::Splits> {
        let dir = data_dir
            .map(PathBuf::from)
            .or_else(|| self.cfg.data.dir.as_ref().map(PathBuf::from));
        ttfs::data::load_with(
            name,
            dir.as_deref(),
            &self.cfg.data.load_options(self.cfg.model.time_steps),
        )
        .py_err()
    }

    /// Run `f` on the session's trainer with the model in it; the model returns to `self`
    /// whatever `f` does.
    fn with_trainer<T>(&mut self, f: impl FnOnce(&mut Fit) -> PyResult<T>) -> PyResult<T> {
        let Some(fit) = self.fit.as_mut() else {
            return Err(TtfsError::new_err(
                "no training in progress (fit_begin first)",
            ));
        };
        std::mem::swap(&mut fit.tr.model, &mut self.model);
        let r = f(fit);
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
    /// Build a model. `config`: a TOML file's path, a dict of sections, or None (the
    /// embedded-digits default); `overrides`: `section.key=value` strings, as `--set`;
    /// `input_shape`: `[C, H, W]` (default: the configured data set's, read if needed).
    #[new]
    #[pyo3(signature = (config=None, overrides=vec![], input_shape=None, data_dir=None, device="cpu"))]
    fn new(
        config: Option<&Bound<'_, PyAny>>,
        overrides: Vec<String>,
        input_shape: Option<Vec<usize>>,
        data_dir: Option<String>,
        device: &str,
    ) -> PyResult<Core> {
        // The overrides come from `settings` (and `spec`, `data`), which the library's
        // messages call `--set`, as on the command line.
        let settings = |e: anyhow::Error| {
            TtfsError::new_err(format!("{e:#}").replace("(from --set ", "(from settings: "))
        };
        let cfg = match config {
            None => Config::load(None, &overrides).map_err(settings)?,
            Some(c) if c.is_instance_of::<PyDict>() => {
                let text = toml::to_string(&to_toml(c)?)
                    .map_err(|e| TtfsError::new_err(format!("config dict: {e}")))?;
                Config::from_toml(&text, "config dict", &overrides).map_err(settings)?
            }
            Some(c) => {
                let p: PathBuf = c.extract()?;
                Config::load(Some(&p), &overrides).map_err(settings)?
            }
        };
        let frame = match input_shape {
            Some(f) => f,
            None => match ttfs::run::known_frame(&cfg.data.name) {
                Some(f) => f,
                None => {
                    let dir = data_dir
                        .map(PathBuf::from)
                        .or_else(|| cfg.data.dir.as_ref().map(PathBuf::from));
                    ttfs::data::load_with(
                        &cfg.data.name,
                        dir.as_deref(),
                        &cfg.data.load_options(cfg.model.time_steps),
                    )
                    .py_err()?
                    .train
                    .frame
                    .to_vec()
                }
            },
        };
        let device = crate::device(device)?;
        // The initialization a `ttfs train` run of this config starts from.
        let mut model = Model::new(&cfg.model, &frame, &mut Rng::new(cfg.train.seed)).py_err()?;
        model.to_device(device).py_err()?;
        Ok(Core {
            cfg,
            model,
            epochs: 0,
            scale: None,
            fit: None,
        })
    }

    /// A model from a checkpoint file or a run directory (its best, else last, checkpoint).
    #[staticmethod]
    #[pyo3(signature = (path, data_dir=None, device="cpu"))]
    fn load(path: PathBuf, data_dir: Option<PathBuf>, device: &str) -> PyResult<Core> {
        let device = crate::device(device)?;
        let (_, ck, mut model) = ttfs::run::load_model(&path, data_dir.as_deref()).py_err()?;
        model.to_device(device).py_err()?;
        Ok(Core {
            scale: ck.input_scale,
            cfg: ck.config,
            model,
            epochs: ck.epoch,
            fit: None,
        })
    }

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
        let tr = Trainer::with_data(&cfg, train, test).py_err()?;
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

    /// The end of training: the epochs trained count, the session ends.
    fn fit_finish(&mut self) {
        if let Some(fit) = self.fit.take() {
            self.epochs += fit.tr.epoch;
        }
    }

    /// Evaluate on arrays or a named data set's split: accuracy, loss, spike statistics,
    /// accuracy against decision time and (with `energy`) the synaptic-operation, energy and
    /// early-exit report. JSON.
    #[pyo3(signature = (x=None, scale=1.0, y=None, data=None, data_dir=None, split="test", energy=true))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &mut self,
        py: Python<'_>,
        x: Option<Images<'_>>,
        scale: f32,
        y: Option<Labels<'_>>,
        data: Option<String>,
        data_dir: Option<String>,
        split: &str,
        energy: bool,
    ) -> PyResult<String> {
        let ds = match (&x, &data) {
            (Some(x), None) => {
                if y.is_none() {
                    return Err(TtfsError::new_err("evaluate: labels y are needed"));
                }
                dataset(x, scale, y.as_ref(), self.model.classes(), "arrays")?
            }
            (None, Some(name)) => {
                let s = self.named(name, data_dir.as_deref())?;
                match split {
                    "test" => s.test,
                    "train" => s.train,
                    other => {
                        return Err(TtfsError::new_err(format!(
                            "unknown split `{other}` (test or train)"
                        )))
                    }
                }
            }
            _ => {
                return Err(TtfsError::new_err(
                    "evaluate: give either arrays (x, y) or a data set name (data=...)",
                ))
            }
        };
        self.check_frame(&ds)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let model = &mut self.model;
        let ev = py.detach(|| ttfs::train::evaluate_with(model, &ds, None, &input, batch, energy));
        serde_json::to_string(&ev).map_err(|e| err(e.into()))
    }

    /// The network's input for the images `x`: `[T, N, C, H, W]` (latency code), or
    /// `[1, N, C, H, W]` for the direct encoding (the same frame at every step).
    fn encode<'py>(&self, py: Python<'py>, x: Images<'py>, scale: f32) -> PyResult<F32Array<'py>> {
        let ds = self.images(&x, scale)?;
        let idx: Vec<usize> = (0..ds.len()).collect();
        let (mut out, mut labels, mut scratch) = (ttfs::tensor::Tensor::default(), vec![], vec![]);
        assemble(
            &ds,
            &idx,
            &self.input_spec(),
            &mut out,
            &mut labels,
            &mut scratch,
        );
        let mut shape = vec![out.shape[0], ds.len()];
        shape.extend_from_slice(&ds.frame);
        PyArray::from_vec(py, out.data.to_vec()).reshape(shape)
    }

    /// Forward passes on the images `x` (in batches): the logits `[N, classes]` and, per
    /// layer of spikes (the names of `spiking_layers`), `(name, first-spike steps [N,
    /// frame...])` (`T` for a silent unit).
    #[allow(clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
    ) -> PyResult<(
        F32Array<'py>,
        Vec<(String, Bound<'py, PyArray<i32, numpy::IxDyn>>)>,
    )> {
        let ds = self.images(&x, scale)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let c = self.model.classes();
        let model = &mut self.model;
        let n = ds.len();
        let (logits, layers) = py.detach(|| {
            let mut logits = Vec::with_capacity(n * c);
            let mut layers: Vec<(String, Vec<usize>, Vec<i32>)> = Vec::new();
            ttfs::traces::for_each_batch(model, &ds, &input, batch, |model, _, _| {
                logits.extend(model.logits.data.read().iter());
                for (k, (name, frame, times)) in model.first_spike_times().into_iter().enumerate() {
                    if layers.len() <= k {
                        layers.push((name, frame, Vec::new()));
                    }
                    layers[k].2.extend(times.iter().map(|&t| t as i32));
                }
            });
            (logits, layers)
        });
        let logits = PyArray::from_vec(py, logits).reshape(vec![n, c])?;
        let mut out = Vec::new();
        for (name, frame, times) in layers {
            let mut shape = vec![n];
            shape.extend(frame);
            out.push((name, PyArray::from_vec(py, times).reshape(shape)?));
        }
        Ok((logits, out))
    }

    /// Per layer, `[T, N, frame...]` over the images `x`: the spike trains of every layer of
    /// `spiking_layers`, or (`membrane`) the membrane potentials of every neuron layer and of
    /// the output (see the crate's `traces.rs`).
    fn traces<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
        membrane: bool,
    ) -> PyResult<Named<'py>> {
        let ds = self.images(&x, scale)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let what = if membrane {
            Trace::Membrane
        } else {
            Trace::Spikes
        };
        let model = &mut self.model;
        let layers = py
            .detach(|| ttfs::traces::record(model, &ds, &input, batch, what))
            .py_err()?;
        let t = self.cfg.model.time_steps;
        layers
            .into_iter()
            .map(|l| {
                let mut shape = vec![t, ds.len()];
                shape.extend(&l.frame);
                Ok((l.name, PyArray::from_vec(py, l.values).reshape(shape)?))
            })
            .collect()
    }

    /// Event-driven inference on the images `x`, one sample at a time (see the crate's
    /// `event_driven.rs`): per sample the logits, the decision step and the accumulates
    /// executed; `early_exit` stops at the first output event.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (x, scale, early_exit=false))]
    fn classify_events<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
        early_exit: bool,
    ) -> PyResult<(F32Array<'py>, Vec<usize>, Vec<u64>)> {
        let ds = self.images(&x, scale)?;
        if self.model.device != Device::Cpu {
            return Err(TtfsError::new_err(
                "event-driven inference runs on the CPU: load the model with device=\"cpu\"",
            ));
        }
        let net = ttfs::event_driven::EventNet::new(&mut self.model).py_err()?;
        let input = self.input_spec();
        let c = net.classes();
        let (logits, steps, ops) = py.detach(|| {
            let idx: Vec<usize> = (0..ds.len()).collect();
            let (mut xs, mut labels, mut scratch) =
                (ttfs::tensor::Tensor::default(), vec![], vec![]);
            assemble(&ds, &idx, &input, &mut xs, &mut labels, &mut scratch);
            let (t, b) = (xs.shape[0], xs.shape[1]);
            let per = xs.len() / (t * b).max(1);
            let mut s = ttfs::event_driven::Scratch::default();
            let (mut logits, mut steps, mut ops) = (Vec::new(), Vec::new(), Vec::new());
            let mut sample = vec![0.0f32; t * per];
            for j in 0..b {
                for k in 0..t {
                    sample[k * per..(k + 1) * per]
                        .copy_from_slice(&xs.data[(k * b + j) * per..(k * b + j + 1) * per]);
                }
                let o = net.run(&sample, early_exit, false, &mut s);
                logits.extend(o.logits);
                steps.push(o.decision_step);
                ops.push(o.synops);
            }
            (logits, steps, ops)
        });
        Ok((
            PyArray::from_vec(py, logits).reshape(vec![ds.len(), c])?,
            steps,
            ops,
        ))
    }

    /// The parameters by their checkpoint names: `(name, array)`.
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Named<'py>> {
        self.model
            .params()
            .iter()
            .map(|p| {
                Ok((
                    p.name.clone(),
                    PyArray::from_vec(py, p.value.to_vec()).reshape(p.shape.clone())?,
                ))
            })
            .collect()
    }

    /// Overwrite parameters by their checkpoint names (any subset), checking names, shapes
    /// and that every value is finite; nothing is written unless all are right.
    fn set_parameters(
        &mut self,
        params: Vec<(String, PyReadonlyArrayDyn<'_, f32>)>,
    ) -> PyResult<()> {
        let names: Vec<String> = self.model.params().iter().map(|p| p.name.clone()).collect();
        for (name, a) in &params {
            let Some(p) = self.model.params().into_iter().find(|p| &p.name == name) else {
                return Err(TtfsError::new_err(format!(
                    "the model has no parameter `{name}` (it has: {})",
                    names.join(", ")
                )));
            };
            if a.shape() != p.shape.as_slice() {
                return Err(TtfsError::new_err(format!(
                    "parameter `{name}` has shape {:?} in the model, the value given {:?}",
                    p.shape,
                    a.shape()
                )));
            }
            if a.as_array().iter().any(|v| !v.is_finite()) {
                return Err(TtfsError::new_err(format!(
                    "parameter `{name}`: the value given holds NaN or infinite numbers"
                )));
            }
        }
        for (name, a) in &params {
            let values: Vec<f32> = a.as_array().iter().copied().collect();
            if let Some(p) = self
                .model
                .params_mut()
                .into_iter()
                .find(|p| &p.name == name)
            {
                p.value.write(&values);
            }
        }
        Ok(())
    }

    /// Plain weights and biases, the weight normalization and affine folded in (what the NIR
    /// export writes): `(name, array)` as `<synapse>.weight` / `<synapse>.bias`.
    fn plain_parameters<'py>(&mut self, py: Python<'py>) -> PyResult<Named<'py>> {
        let mut out = Vec::new();
        let names = self.model.node_names();
        for (layer, name) in self.model.layers.iter_mut().zip(names) {
            let (w, b, shape) = match layer.plain() {
                ttfs::layers::Plain::Linear { w, b, n_in, n_out } => (w, b, vec![n_out, n_in]),
                ttfs::layers::Plain::Conv {
                    w,
                    b,
                    in_c,
                    out_c,
                    k,
                    ..
                } => (w, b, vec![out_c, in_c, k, k]),
                _ => continue,
            };
            let nb = b.len();
            out.push((
                format!("{name}.weight"),
                PyArray::from_vec(py, w).reshape(shape)?,
            ));
            out.push((
                format!("{name}.bias"),
                PyArray::from_vec(py, b).reshape(vec![nb])?,
            ));
        }
        Ok(out)
    }

    /// Write a checkpoint (`ttfs eval`, `ttfs export` and `ttfs.load` read it), with the
    /// input scale.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        // From an epoch callback too: the epochs of the training in progress count.
        let mut ck = Checkpoint::of_model(&self.cfg, &self.model, self.epochs(), f64::NAN);
        ck.input_scale = self.scale;
        ck.save(&path).py_err()
    }

    /// Write the network as an NIR graph; returns the node types in order.
    fn export_nir(&mut self, path: PathBuf) -> PyResult<Vec<String>> {
        let g = ttfs::nir::export(&mut self.model, Path::new(&path)).py_err()?;
        Ok(g.nodes
            .iter()
            .map(|n| format!("{}:{}", n.name, n.kind))
            .collect())
    }

    /// Layers, shapes, parameters and operations (as `ttfs info`).
    fn summary(&self) -> String {
        ttfs::run::model_summary(&self.model, None)
    }

    #[getter]
    fn config_toml(&self) -> String {
        self.cfg.to_toml()
    }
    #[getter]
    fn time_steps(&self) -> usize {
        self.cfg.model.time_steps
    }
    #[getter]
    fn classes(&self) -> usize {
        self.model.classes()
    }
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.model.frames[0].clone()
    }
    /// Epochs trained so far, those of a training in progress included.
    #[getter]
    fn epochs(&self) -> usize {
        self.epochs + self.fit.as_ref().map_or(0, |f| f.tr.epoch)
    }
    #[getter]
    fn device(&self) -> String {
        self.model.device.to_string()
    }
    #[getter]
    fn input_scale(&self) -> Option<f32> {
        self.scale
    }
    #[setter]
    fn set_input_scale(&mut self, scale: Option<f32>) {
        self.scale = scale;
    }
    /// The layers whose outputs are spikes (or pooled spikes), then `out`.
    #[getter]
    fn spiking_layers(&self) -> Vec<String> {
        self.model
            .spike_layers()
            .into_iter()
            .map(|l| l.name)
            .collect()
    }
    /// Every layer's name, then the output's (`out` or `readout`).
    #[getter]
    fn layer_names(&self) -> Vec<String> {
        let mut v = self.model.node_names();
        v.push(self.model.readout_name().into());
        v
    }
}

/// A data set's splits as arrays: `(x_train, y_train, x_test, y_test, scale)`, images
/// `uint8 [N, C, H, W]` whose values times `scale` are intensities in [0, 1].
#[pyfunction]
#[pyo3(signature = (name, data_dir=None))]
#[allow(clippy::type_complexity)]
fn load_data<'py>(
    py: Python<'py>,
    name: &str,
    data_dir: Option<PathBuf>,
) -> PyResult<(
    Bound<'py, PyArray<u8, numpy::IxDyn>>,
    Bound<'py, PyArray<i64, numpy::IxDyn>>,
    Bound<'py, PyArray<u8, numpy::IxDyn>>,
    Bound<'py, PyArray<i64, numpy::IxDyn>>,
    f32,
)> {
    let s = ttfs::data::load(name, data_dir.as_deref()).py_err()?;
    if s.train.kind != ttfs::data::Kind::Image {
        return Err(TtfsError::new_err(format!(
            "{name} is an event data set: train on it by name (fit(data=\"{name}\"))"
        )));
    }
    let arrays = |d: Dataset| -> PyResult<_> {
        let mut shape = vec![d.len()];
        shape.extend_from_slice(&d.frame);
        let labels: Vec<i64> = d.labels.iter().map(|&l| l as i64).collect();
        let n = labels.len();
        Ok((
            PyArray::from_vec(py, d.data).reshape(shape)?,
            PyArray::from_vec(py, labels).reshape(vec![n])?,
        ))
    };
    let scale = s.train.scale;
    let (xtr, ytr) = arrays(s.train)?;
    let (xte, yte) = arrays(s.test)?;
    Ok((xtr, ytr, xte, yte, scale))
}

/// Use `n` worker threads (once, before the first computation; default: one per core).
#[pyfunction]
fn set_threads(n: usize) -> PyResult<usize> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| {
            TtfsError::new_err(format!(
                "threads can be set once, before the first computation: {e}"
            ))
        })?;
    Ok(rayon::current_num_threads())
}

#[pymodule]
fn _ttfs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Core>()?;
    m.add_function(wrap_pyfunction!(load_data, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add("TtfsError", m.py().get_type::<TtfsError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PJ_PER_AC", ttfs::energy::PJ_PER_AC)?;
    m.add("PJ_PER_MAC", ttfs::energy::PJ_PER_MAC)?;
    m.add("CUDA", cfg!(feature = "cuda"))?;
    Ok(())
}
