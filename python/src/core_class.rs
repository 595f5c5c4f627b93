//! `Core`, the Python class of a network (`ttfs._ttfs.Core`, wrapped by `ttfs.Model` on the
//! Python side): its configuration, model and training state, and every method Python sees,
//! with its signature and docstring. Training ([`crate::fit`]), inference
//! ([`crate::inference`]) and parameter access ([`crate::parameters`]) are done in modules of
//! their own.

use crate::convert::{dataset, to_toml, Images};
use crate::errors::{OrPy, TtfsError};
use crate::fit::Fit;
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

    /// The end of training: the epochs trained count, the session ends.
    fn fit_finish(&mut self) {
        if let Some(fit) = self.fit.take() {
            self.epochs += fit.tr.epoch;
        }
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
