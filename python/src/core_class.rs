//! `Core`, the Python class of a network (`ttfs._ttfs.Core`, wrapped by `ttfs.Model` on the
//! Python side): its configuration, model and training state, and every method Python sees,
//! with its signature and docstring. Training ([`crate::fit`]), inference
//! ([`crate::inference`]) and parameter access ([`crate::parameters`]) are done in modules of
//! their own.

use crate::convert::{dataset, to_toml, F32Array, Images, Labels, Named};
use crate::errors::{OrPy, TtfsError};
use crate::fit::{self, Fit};
use crate::{inference, parameters};
use numpy::{PyArray, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::{Path, PathBuf};
use ttfs::checkpoint::Checkpoint;
use ttfs::config::Config;
use ttfs::data::batch::InputSpec;
use ttfs::data::Dataset;
use ttfs::model::Model;
use ttfs::rng::Rng;

/// A TTFS network, its configuration and its training state.
#[pyclass(unsendable, module = "ttfs._ttfs")]
pub(crate) struct Core {
    pub(crate) cfg: Config,
    pub(crate) model: Model,
    /// Epochs trained so far.
    pub(crate) epochs: usize,
    /// The intensity of one step of the integer images the model learned on (saved in
    /// checkpoints), so that it is not asked for again.
    pub(crate) scale: Option<f32>,
    pub(crate) fit: Option<Fit>,
}

impl Core {
    pub(crate) fn input_spec(&self) -> InputSpec {
        InputSpec {
            encoding: self.cfg.model.encoding,
            zero: self.cfg.model.zero_input,
            time_steps: self.cfg.model.time_steps,
            normalize: self.cfg.data.normalize(),
        }
    }

    pub(crate) fn check_frame(&self, ds: &Dataset) -> PyResult<()> {
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

    pub(crate) fn batch(&self) -> usize {
        self.cfg.train.eval_batch_size.max(1)
    }

    /// Images to run through the model (no labels).
    pub(crate) fn images(&self, x: &Images<'_>, scale: f32) -> PyResult<Dataset> {
        let ds = dataset(x, scale, None, self.model.classes(), "images")?;
        self.check_frame(&ds)?;
        Ok(ds)
    }

    /// The splits of a named data set (`data_dir`: where its files are).
    pub(crate) fn named(&self, name: &str, data_dir: Option<&str>) -> PyResult<ttfs::data::Splits> {
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
        let device = crate::convert::device(device)?;
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
        let device = crate::convert::device(device)?;
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
        fit::begin(
            self,
            x,
            scale,
            y,
            vx,
            vscale,
            vy,
            data,
            data_dir,
            epochs,
            out,
            steps_per_epoch,
        )
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
        fit::epoch(self, py, progress, on_step)
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
        fit::step(self, py, x, scale, y)
    }

    /// The end of an epoch of `fit_step`s: evaluation, metrics (JSON) and the epoch's line.
    fn fit_end_epoch(&mut self, py: Python<'_>) -> PyResult<(String, String)> {
        fit::end_epoch(self, py)
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
        inference::evaluate(self, py, x, scale, y, data, data_dir, split, energy)
    }

    /// The network's input for the images `x`: `[T, N, C, H, W]` (latency code), or
    /// `[1, N, C, H, W]` for the direct encoding (the same frame at every step).
    fn encode<'py>(&self, py: Python<'py>, x: Images<'py>, scale: f32) -> PyResult<F32Array<'py>> {
        inference::encode(self, py, x, scale)
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
        inference::forward(self, py, x, scale)
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
        inference::traces(self, py, x, scale, membrane)
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
        inference::classify_events(self, py, x, scale, early_exit)
    }

    /// The parameters by their checkpoint names: `(name, array)`.
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Named<'py>> {
        parameters::by_name(self, py)
    }

    /// Overwrite parameters by their checkpoint names (any subset), checking names, shapes
    /// and that every value is finite; nothing is written unless all are right.
    fn set_parameters(
        &mut self,
        params: Vec<(String, PyReadonlyArrayDyn<'_, f32>)>,
    ) -> PyResult<()> {
        parameters::set_by_name(self, params)
    }

    /// Plain weights and biases, the weight normalization and affine folded in (what the NIR
    /// export writes): `(name, array)` as `<synapse>.weight` / `<synapse>.bias`.
    fn plain_parameters<'py>(&mut self, py: Python<'py>) -> PyResult<Named<'py>> {
        parameters::plain(self, py)
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
