//! Checkpoints: a `safetensors` file holding the parameters by name, the optimizer's moment
//! buffers (`opt.m.<name>`, `opt.v.<name>`), with `train.ema_decay` the trained weights
//! (`online.<name>`: the parameters are then their moving average, `ema.rs`) and, as
//! metadata, everything needed to continue the run exactly: the resolved config, epoch and
//! step counters, the generator's state and where the current epoch stands.
//!
//! Files are written atomically (temporary file in the same directory, fsync, rename, fsync of
//! the directory): a crash or a full disk leaves the previous checkpoint intact. A checksum of
//! every metadata value and every tensor (`digest.rs`) catches files damaged after
//! writing: a changed epoch, step or generator state would otherwise silently change a resumed
//! run. The bytes depend on the content alone (`safetensors_write.rs`): identical runs write
//! identical files. Parameters that are NaN or infinite are never written over a good
//! checkpoint, and a file that holds them is refused when loaded (`param_check.rs`).

pub mod digest;
pub mod safetensors_write;

use self::digest::RawTensor;
use crate::config::Config;
use crate::model::Model;
use crate::train::{EpochProgress, Trainer};
use anyhow::{bail, Context, Result};
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use crate::atomic_file::{remove_stale_temporaries, write_atomic};

/// Value of the `format` metadata key: format 3, checksum XXH3-128 over metadata and tensors.
pub const FORMAT: &str = "ttfs-checkpoint-3";

/// Files of earlier versions, still read (see `digest.rs`): format 2's FNV
/// checksum covers metadata and tensors, format 1's the tensors only.
pub const FORMAT_FNV: &str = "ttfs-checkpoint-2";
pub const FORMAT_TENSORS_ONLY: &str = "ttfs-checkpoint-1";

/// A tensor by name: shape and values.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Everything a checkpoint holds.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The run's full resolved configuration.
    pub config: Config,
    /// ttfs version that wrote the file.
    pub version: String,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken (the trainer's count).
    pub step: usize,
    /// The optimizer's own step count (bias correction).
    pub opt_step: u64,
    /// The training generator's state.
    pub rng: [u64; 4],
    /// The epoch in progress (`steps == 0`: saved at an epoch's end).
    pub epoch_progress: EpochProgress,
    /// Worker threads of the process that wrote it (bitwise reproducibility needs the same).
    pub threads: usize,
    /// Processes of the data-parallel run that wrote it (1: one process).
    pub ranks: usize,
    /// Best evaluation accuracy so far (the one `best.safetensors` holds).
    pub best_accuracy: f64,
    /// Evaluation accuracy of these parameters when saved at an epoch end, else NaN.
    pub accuracy: f64,
    pub params: Vec<NamedTensor>,
    /// Optimizer moments, in parameter order (empty before the first step).
    pub opt_m: Vec<Vec<f32>>,
    pub opt_v: Vec<Vec<f32>>,
    /// With a moving average of the parameters (`train.ema_decay`), `params` holds the average
    /// and this the weights being trained, in parameter order; empty otherwise.
    pub online: Vec<Vec<f32>>,
    /// Shape of one input frame (`[C, H, W]`); absent in checkpoints of older versions.
    pub input_frame: Option<Vec<usize>>,
    /// The intensity of one step of the stored image values the model was trained on
    /// (`1/255` for 8-bit images, `1/16` for the digits): a model read back takes integer
    /// images at the scale it learned on without being told again. Absent for event data, a
    /// model trained on float intensities, and checkpoints of older versions.
    pub input_scale: Option<f32>,
}

impl Checkpoint {
    /// Capture a trainer's state. `epoch_progress` is the epoch in progress (default at an
    /// epoch's end).
    pub fn capture(tr: &Trainer, epoch_progress: EpochProgress, best_accuracy: f64) -> Self {
        let (params, online) = match &tr.ema {
            Some(ema) => {
                let average = tr.model.params().into_iter().zip(&ema.average);
                let params = average
                    .map(|(p, avg)| NamedTensor {
                        name: p.name.clone(),
                        shape: p.shape.clone(),
                        data: avg.to_vec(),
                    })
                    .collect();
                let online = tr.model.params().iter().map(|p| p.value.to_vec()).collect();
                (params, online)
            }
            None => (params_of(&tr.model), Vec::new()),
        };
        Checkpoint {
            config: tr.cfg.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            epoch: tr.epoch,
            step: tr.step,
            opt_step: tr.opt.step,
            rng: tr.rng.state,
            epoch_progress,
            threads: rayon::current_num_threads(),
            ranks: tr.dist.size(),
            best_accuracy,
            accuracy: f64::NAN,
            params,
            opt_m: tr.opt.m.iter().map(|b| b.to_vec()).collect(),
            opt_v: tr.opt.v.iter().map(|b| b.to_vec()).collect(),
            online,
            input_frame: Some(tr.model.frames[0].clone()),
            input_scale: (tr.train.kind == crate::data::Kind::Image).then_some(tr.train.scale),
        }
    }

    /// A checkpoint of `model`'s parameters alone (no optimizer state), as the Python
    /// package saves a model.
    pub fn of_model(config: &Config, model: &Model, epoch: usize, accuracy: f64) -> Self {
        Checkpoint {
            config: config.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            epoch,
            step: 0,
            opt_step: 0,
            rng: [0; 4],
            epoch_progress: EpochProgress::default(),
            threads: rayon::current_num_threads(),
            ranks: 1,
            best_accuracy: accuracy,
            accuracy,
            params: params_of(model),
            opt_m: Vec::new(),
            opt_v: Vec::new(),
            online: Vec::new(),
            input_frame: Some(model.frames[0].clone()),
            input_scale: None,
        }
    }

    /// Put this checkpoint's state into a trainer built from the same config.
    pub fn restore(&self, tr: &mut Trainer) -> Result<()> {
        self.load_params(&mut tr.model)?;
        let n = tr.model.params().len();
        if let Some(ema) = &mut tr.ema {
            // The parameters are the average (a checkpoint without one starts it here).
            let values = self.params.iter().map(|p| p.data.clone());
            ema.set(&tr.model, values.collect());
        }
        if !self.online.is_empty() {
            self.load_online(&mut tr.model)?;
        }
        if !self.opt_m.is_empty() && (self.opt_m.len() != n || self.opt_v.len() != n) {
            bail!(
                "checkpoint has optimizer state for {} of {n} parameters",
                self.opt_m.len()
            );
        }
        // On the host; the optimizer moves them beside the parameters at its next step.
        tr.opt.m = self.opt_m.iter().map(|v| v.clone().into()).collect();
        tr.opt.v = self.opt_v.iter().map(|v| v.clone().into()).collect();
        tr.opt.step = self.opt_step;
        tr.rng.state = self.rng;
        tr.step = self.step;
        tr.epoch = self.epoch;
        Ok(())
    }

    /// Copy the parameters into `model`, checking names and shapes.
    pub fn load_params(&self, model: &mut Model) -> Result<()> {
        let by_name: HashMap<&str, &NamedTensor> =
            self.params.iter().map(|t| (t.name.as_str(), t)).collect();
        for p in model.params_mut() {
            let t = by_name.get(p.name.as_str()).with_context(|| {
                format!(
                    "checkpoint has no parameter `{}` (it holds: {})",
                    p.name,
                    self.params
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if t.shape != p.shape {
                bail!(
                    "parameter `{}` has shape {:?} in the checkpoint but {:?} in the model",
                    p.name,
                    t.shape,
                    p.shape
                );
            }
            p.value.write(&t.data);
        }
        if self.params.len() != model.params().len() {
            bail!(
                "checkpoint has {} parameters, the model {}",
                self.params.len(),
                model.params().len()
            );
        }
        Ok(())
    }

    /// Copy the trained weights (`online`, kept with `train.ema_decay`) into `model` in place
    /// of the parameters (their average).
    pub fn load_online(&self, model: &mut Model) -> Result<()> {
        let n = model.params().len();
        if self.online.len() != n {
            bail!(
                "checkpoint has trained weights for {} of {n} parameters",
                self.online.len()
            );
        }
        for (p, w) in model.params_mut().into_iter().zip(&self.online) {
            p.value.write(w);
        }
        Ok(())
    }

    /// Encode as `safetensors` bytes (the same content gives the same bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (tensors, mut meta) = self.contents()?;
        let sum = digest::xxh3(&meta, &tensors);
        meta.insert("checksum".into(), sum);
        safetensors_write::to_bytes(&tensors, &meta)
    }

    /// The tensors (in name order) and the metadata (without the checksum) of the file.
    pub(crate) fn contents(&self) -> Result<(Vec<RawTensor>, BTreeMap<String, String>)> {
        let mut tensors: Vec<RawTensor> = Vec::new();
        for (k, p) in self.params.iter().enumerate() {
            tensors.push((p.name.clone(), p.shape.clone(), f32_bytes(&p.data)));
            if let (Some(m), Some(v)) = (self.opt_m.get(k), self.opt_v.get(k)) {
                tensors.push((format!("opt.m.{}", p.name), p.shape.clone(), f32_bytes(m)));
                tensors.push((format!("opt.v.{}", p.name), p.shape.clone(), f32_bytes(v)));
            }
            if let Some(w) = self.online.get(k) {
                tensors.push((format!("online.{}", p.name), p.shape.clone(), f32_bytes(w)));
            }
        }
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let mut meta = BTreeMap::new();
        let mut put = |k: &str, v: String| meta.insert(k.to_string(), v);
        put("format", FORMAT.into());
        put("version", self.version.clone());
        put("config", self.config.to_toml());
        put("model_spec", self.config.model.spec.clone());
        put("dataset", self.config.data.name.clone());
        put("epoch", self.epoch.to_string());
        put("step", self.step.to_string());
        put("optimizer_step", self.opt_step.to_string());
        put("rng", serde_json::to_string(&self.rng)?);
        put(
            "epoch_progress",
            serde_json::to_string(&self.epoch_progress)?,
        );
        put("threads", self.threads.to_string());
        put("ranks", self.ranks.to_string());
        // `-inf` (no best yet) and NaN are written as such and read back as such.
        put("best_accuracy", format!("{:?}", self.best_accuracy));
        put("accuracy", format!("{:?}", self.accuracy));
        put("param_names", serde_json::to_string(&self.param_names())?);
        if let Some(f) = &self.input_frame {
            put("input_frame", serde_json::to_string(f)?);
        }
        if let Some(s) = self.input_scale {
            // `{:?}` writes the shortest text that reads back as the same f32.
            put("input_scale", format!("{s:?}"));
        }
        Ok((tensors, meta))
    }

    fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    /// Decode `safetensors` bytes; `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Checkpoint> {
        let damaged = |why: String| {
            anyhow::anyhow!(
                "{origin}: not a usable ttfs checkpoint: {why}. The file is truncated or damaged \
                 (was the run killed while copying it, or the disk full?). Use the run's other \
                 checkpoint (last.safetensors / best.safetensors) or train again."
            )
        };
        let st = SafeTensors::deserialize(bytes).map_err(|e| damaged(format!("{e}")))?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| damaged(format!("{e}")))?;
        let meta: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .ok_or_else(|| damaged("no metadata".into()))?
            .into_iter()
            .collect();
        let get = |k: &str| -> Result<&str> {
            meta.get(k)
                .map(|s| s.as_str())
                .ok_or_else(|| damaged(format!("metadata key `{k}` is missing")))
        };
        let mut tensors: Vec<RawTensor> = Vec::new();
        let mut all: Vec<String> = st.names().iter().map(|s| s.to_string()).collect();
        all.sort();
        for n in &all {
            let v = st.tensor(n).map_err(|e| damaged(format!("{e}")))?;
            if v.dtype() != Dtype::F32 {
                return Err(damaged(format!("tensor `{n}` is {:?}, not F32", v.dtype())));
            }
            tensors.push((n.clone(), v.shape().to_vec(), v.data().to_vec()));
        }
        // The checksum first: nothing is interpreted before it has been verified.
        let mut covered = meta.clone();
        covered.remove("checksum");
        let sum = match get("format")? {
            FORMAT => digest::xxh3(&covered, &tensors),
            FORMAT_FNV => digest::legacy_fnv(Some(&covered), &tensors),
            FORMAT_TENSORS_ONLY => digest::legacy_fnv(None, &tensors),
            f => {
                return Err(damaged(format!(
                    "format `{f}` is none of `{FORMAT}`, `{FORMAT_FNV}`, `{FORMAT_TENSORS_ONLY}` \
                     (a file of a newer ttfs version?)"
                )))
            }
        };
        if sum != get("checksum")? {
            return Err(damaged(format!(
                "checksum {sum} does not match the stored {}",
                get("checksum")?
            )));
        }
        let parse = |k: &str| -> Result<u64> {
            get(k)?
                .parse()
                .map_err(|e| damaged(format!("metadata `{k}`: {e}")))
        };
        let parse_f64 = |k: &str| -> Result<f64> {
            get(k)?
                .parse()
                .map_err(|e| damaged(format!("metadata `{k}`: {e}")))
        };
        let config =
            Config::from_stored_toml(get("config")?, &format!("{origin} (stored config)"))?;
        let names: Vec<String> = serde_json::from_str(get("param_names")?)
            .map_err(|e| damaged(format!("metadata `param_names`: {e}")))?;
        let find = |n: &str| tensors.iter().find(|t| t.0 == n);
        let mut params = Vec::new();
        let (mut opt_m, mut opt_v, mut online) = (Vec::new(), Vec::new(), Vec::new());
        for n in &names {
            let t = find(n).ok_or_else(|| damaged(format!("tensor `{n}` is missing")))?;
            params.push(NamedTensor {
                name: n.clone(),
                shape: t.1.clone(),
                data: bytes_f32(&t.2),
            });
            if let (Some(m), Some(v)) = (find(&format!("opt.m.{n}")), find(&format!("opt.v.{n}"))) {
                opt_m.push(bytes_f32(&m.2));
                opt_v.push(bytes_f32(&v.2));
            }
            if let Some(w) = find(&format!("online.{n}")) {
                online.push(bytes_f32(&w.2));
            }
        }
        if !online.is_empty() && online.len() != names.len() {
            return Err(damaged(
                "the trained weights beside the average are incomplete".into(),
            ));
        }
        if !opt_m.is_empty() && opt_m.len() != names.len() {
            return Err(damaged("optimizer state is incomplete".into()));
        }
        let rng: [u64; 4] = serde_json::from_str(get("rng")?)
            .map_err(|e| damaged(format!("metadata `rng`: {e}")))?;
        let epoch_progress: EpochProgress = serde_json::from_str(get("epoch_progress")?)
            .map_err(|e| damaged(format!("metadata `epoch_progress`: {e}")))?;
        let ck = Checkpoint {
            config,
            version: get("version")?.to_string(),
            epoch: parse("epoch")? as usize,
            step: parse("step")? as usize,
            opt_step: parse("optimizer_step")?,
            rng,
            epoch_progress,
            threads: parse("threads")? as usize,
            // Written since data-parallel training; earlier checkpoints came from one process.
            ranks: meta.get("ranks").and_then(|t| t.parse().ok()).unwrap_or(1),
            best_accuracy: parse_f64("best_accuracy")?,
            accuracy: parse_f64("accuracy")?,
            params,
            opt_m,
            opt_v,
            online,
            input_frame: meta
                .get("input_frame")
                .and_then(|f| serde_json::from_str(f).ok()),
            input_scale: meta
                .get("input_scale")
                .and_then(|s| s.parse().ok())
                .filter(|s: &f32| *s > 0.0 && s.is_finite()),
        };
        // Intact, but written after training diverged (by a version that did not check, or
        // as diverged.safetensors): nothing can be resumed or evaluated from it.
        if let Some(bad) = crate::param_check::in_checkpoint(&ck) {
            bail!(
                "{origin}: parameter {bad}: the checkpoint was saved after training diverged. \
                 Use an earlier checkpoint of the run (best.safetensors), or train again with a \
                 lower optimizer.lr or --set optimizer.clip_grad_norm=1"
            );
        }
        Ok(ck)
    }

    /// Write atomically to `path`; refused when a parameter or moment is NaN or infinite, so
    /// that a good checkpoint is never replaced by one that cannot be used.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(bad) = crate::param_check::in_checkpoint(self) {
            bail!(
                "not writing {}: parameter {bad} (training diverged; the file keeps its \
                 previous content)",
                path.display()
            );
        }
        self.save_for_diagnosis(path)
    }

    /// Write atomically to `path`, non-finite values included: the state of a diverged run,
    /// kept to be looked at (loading it is refused).
    pub fn save_for_diagnosis(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        write_atomic(path, |w| w.write_all(&bytes))
    }

    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }
}

/// A model's parameters as named tensors, in model order.
pub fn params_of(model: &Model) -> Vec<NamedTensor> {
    model
        .params()
        .iter()
        .map(|p| NamedTensor {
            name: p.name.clone(),
            shape: p.shape.clone(),
            data: p.value.to_vec(),
        })
        .collect()
}

/// `path` itself, or `path/best.safetensors` (else `last.safetensors`) for a run directory.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    if path.is_dir() {
        for n in ["best.safetensors", "last.safetensors"] {
            let p = path.join(n);
            if p.is_file() {
                return Ok(p);
            }
        }
        bail!(
            "{} is a directory without best.safetensors or last.safetensors: is it a run \
             directory of `ttfs train`?",
            path.display()
        );
    }
    if !path.exists() {
        bail!(
            "{} does not exist (give a checkpoint file or a run directory)",
            path.display()
        );
    }
    Ok(path.to_path_buf())
}

fn f32_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bytes_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[cfg(test)]
mod tests;
