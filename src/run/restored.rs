//! A checkpoint back as a model: with the data split it is evaluated on ([`Restored`], for
//! `ttfs eval` and `ttfs plot`), or alone ([`load_model`], for export).

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::data::batch::{assemble, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::{self, Dataset};
use crate::kernels::Device;
use crate::model::Model;
use crate::rng::Rng;
use crate::train::{evaluate_with, Evaluation, Extras};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// A model restored from a checkpoint, with the data split it is evaluated on.
pub struct Restored {
    pub checkpoint: Checkpoint,
    pub config: Config,
    pub model: Model,
    pub data: Dataset,
    pub input: InputSpec,
}

/// Load a checkpoint (file or run directory) and the `split` of its data set (`test`, the
/// held-out `validation` samples, or the `train` samples the run trained on), or of `data_name` / `data_dir` when given; the model goes to `device`.
pub fn restore(
    path: &Path,
    data_name: Option<&str>,
    data_dir: Option<&Path>,
    split: &str,
    device: Device,
) -> Result<Restored> {
    let file = checkpoint::resolve(path)?;
    let ck = Checkpoint::load(&file)?;
    let mut cfg = ck.config.clone();
    if let Some(n) = data_name {
        if n != cfg.data.name {
            cfg.data.dir = None;
        }
        cfg.data.name = n.to_string();
    }
    if let Some(d) = data_dir {
        cfg.data.dir = Some(d.display().to_string());
    }
    let splits = data::load_with(
        &cfg.data.name,
        cfg.data.dir.as_deref().map(Path::new),
        &cfg.data.load_options(cfg.model.time_steps),
    )?;
    let ds = match split {
        "test" => splits.test,
        "train" => crate::train::hold_out(&cfg, splits.train)?.0,
        "validation" => crate::train::hold_out(&cfg, splits.train)?
            .1
            .with_context(|| {
                format!(
                    "{}: the run holds out no validation samples (data.validation = 0): use \
                     --split test or --split train",
                    file.display()
                )
            })?,
        s => bail!("unknown split `{s}` (test, validation or train)"),
    };
    let mut model = Model::new(&cfg.model, &ds.frame, &mut Rng::new(0))?;
    ck.load_params(&mut model)?;
    crate::kernels::set_tf32(cfg.train.tf32);
    model.to_device(device)?;
    if model.classes() != ds.classes {
        bail!(
            "the checkpoint's model has {} outputs but {} has {} classes",
            model.classes(),
            ds.name,
            ds.classes
        );
    }
    let input = InputSpec {
        encoding: cfg.model.encoding,
        zero: cfg.model.zero_input,
        time_steps: cfg.model.time_steps,
        normalize: cfg.data.normalize(),
    };
    input.check(&ds)?;
    Ok(Restored {
        checkpoint: ck,
        config: cfg,
        model,
        data: ds,
        input,
    })
}

impl Restored {
    pub fn evaluate(&mut self, batch: usize) -> Evaluation {
        self.evaluate_reporting(batch, Extras::default())
    }

    /// [`Restored::evaluate`] with the reports `extras` asks for (energy, test-time flip).
    pub fn evaluate_reporting(&mut self, batch: usize, extras: Extras) -> Evaluation {
        // On a GPU the data set is kept there and batches are gathered on the device.
        let on = self.config.data.on_device;
        let mut dev = on
            .then(|| DeviceImages::upload(&self.data, &self.input, self.model.device))
            .flatten();
        let (model, data, input) = (&mut self.model, &self.data, &self.input);
        evaluate_with(model, data, dev.as_mut(), input, batch, extras)
    }

    /// Run the model on sample `i` alone (batch of one); its activations stay in the model.
    pub fn forward_one(&mut self, i: usize) -> Result<usize> {
        if i >= self.data.len() {
            bail!(
                "sample {i} out of range ({} has {} samples)",
                self.data.name,
                self.data.len()
            );
        }
        let (mut labels, mut scratch) = (Vec::new(), Vec::new());
        assemble(
            &self.data,
            &[i],
            &self.input,
            self.model.input_mut(),
            &mut labels,
            &mut scratch,
        );
        self.model.forward();
        Ok(labels[0])
    }
}

/// The input frame of data set `name` when it is a fixed image format (no files needed).
pub fn known_frame(name: &str) -> Option<Vec<usize>> {
    match name {
        "digits" => Some(vec![1, 8, 8]),
        "mnist" | "fashion-mnist" => Some(vec![1, 28, 28]),
        "cifar10" | "cifar100" => Some(vec![3, 32, 32]),
        _ => None,
    }
}

/// A model restored from a checkpoint (file or run directory) without its data set: the input
/// frame comes from the checkpoint, or the data set's known format, or else the data set is
/// read (from `data_dir` when given). Returns the checkpoint's path too.
pub fn load_model(
    path: &Path,
    data_dir: Option<&Path>,
) -> Result<(std::path::PathBuf, Checkpoint, Model)> {
    let file = checkpoint::resolve(path)?;
    let ck = Checkpoint::load(&file)?;
    let cfg = &ck.config;
    let frame = match ck
        .input_frame
        .clone()
        .or_else(|| known_frame(&cfg.data.name))
    {
        Some(f) => f,
        None => {
            let dir = data_dir
                .map(Path::to_path_buf)
                .or(cfg.data.dir.as_ref().map(Into::into));
            let splits = data::load_with(
                &cfg.data.name,
                dir.as_deref(),
                &cfg.data.load_options(cfg.model.time_steps),
            )?;
            splits.train.frame.to_vec()
        }
    };
    let mut model = Model::new(&cfg.model, &frame, &mut Rng::new(0))?;
    ck.load_params(&mut model)?;
    Ok((file, ck, model))
}
