//! Experiment configuration: one TOML file per experiment, every key overridable from the
//! command line with `--set section.key=value`. Unknown keys are errors.

pub mod checks;

use crate::data::events::{BinBy, EventEncoding};
use crate::kernels::Device;
use crate::model::ModelConfig;
use crate::optim::{OptimConfig, ScheduleConfig};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `digits` (embedded), `mnist`, `fashion-mnist`, `cifar10`, `cifar100`, `n-mnist`,
    /// `dvs-gesture`, `image-folder` (`train/<class>/`, `test/<class>/` folders of images).
    pub name: String,
    /// Directory of the data set's files (default: the data set's usual location).
    pub dir: Option<String>,
    /// Samples held out of the training split for validation (0: none). The test split is
    /// then reported once, at the end.
    pub validation: usize,
    /// Train on this many samples of the training split (a fixed random subset, disjoint from
    /// the validation samples; 0: all). For quick experiments and ablation grids.
    pub train_samples: usize,
    /// CIFAR-100: train on the 20 coarse classes instead of the 100 fine ones.
    pub coarse_labels: bool,
    /// Event data: frames per sample (0: `model.time_steps`, which it must equal anyway).
    pub frames: usize,
    /// Event data: split a recording into frames of equal `time` or equal event `count`.
    pub bin_by: BinBy,
    /// Event data: `counts` (events per pixel and frame, saturating at 255) or `ttfs` (each
    /// input spikes once, in the frame of its first event).
    pub event_encoding: EventEncoding,
    /// Event data: side of the down-sampled square frame, e.g. 32 or 64 for DVS128 Gesture
    /// (0: the sensor's resolution).
    pub resolution: usize,
    /// Where preprocessed event data and decoded image folders are cached (default:
    /// `$XDG_CACHE_HOME/ttfs` or `~/.cache/ttfs`).
    pub cache_dir: Option<String>,
    /// Keep preprocessed event data and decoded image folders in `cache_dir`.
    pub cache: bool,
    /// Training augmentation: random horizontal flip (images and event data).
    pub augment_flip: bool,
    /// Training augmentation for images: pad by this many pixels, crop back at a random offset
    /// (CIFAR: 4). 0: off.
    pub augment_crop: usize,
    /// Training augmentation for event data: shift every frame by up to this many pixels in
    /// each direction. 0: off.
    pub augment_shift: usize,
    /// Training augmentation (images and event data): zero a square of this side, centred on a
    /// random pixel, in every channel and frame (cutout). 0: off.
    pub augment_cutout: usize,
    /// Per-channel mean subtracted from image intensities in [0, 1] (with `normalize_std`;
    /// `model.encoding = "direct"` only). Empty: no normalization.
    pub normalize_mean: Vec<f32>,
    pub normalize_std: Vec<f32>,
    /// Prepare the next training batch on a background thread during the current step.
    pub prefetch: bool,
    /// On a GPU: keep an image data set in GPU memory, uploaded once, and gather, augment and
    /// encode each batch there (false: assemble batches on the host and copy each in).
    pub on_device: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            name: "digits".into(),
            dir: None,
            validation: 0,
            train_samples: 0,
            coarse_labels: false,
            frames: 0,
            bin_by: BinBy::Time,
            event_encoding: EventEncoding::Counts,
            resolution: 0,
            cache_dir: None,
            cache: true,
            augment_flip: false,
            augment_crop: 0,
            augment_shift: 0,
            augment_cutout: 0,
            normalize_mean: Vec::new(),
            normalize_std: Vec::new(),
            prefetch: true,
            on_device: true,
        }
    }
}

impl DataConfig {
    /// Loader options; `time_steps` is the model's, used when `frames` is 0.
    pub fn load_options(&self, time_steps: usize) -> crate::data::LoadOptions {
        crate::data::LoadOptions {
            events: crate::data::events::EventParams {
                frames: if self.frames == 0 {
                    time_steps
                } else {
                    self.frames
                },
                bin_by: self.bin_by,
                encoding: self.event_encoding,
                resolution: self.resolution,
            },
            coarse_labels: self.coarse_labels,
            cache_dir: match (&self.cache_dir, self.cache) {
                (_, false) => None,
                (Some(d), true) => Some(d.into()),
                (None, true) => Some(crate::data::cache::default_dir()),
            },
        }
    }

    /// The training augmentation for data of `kind`; errors on options that do not apply.
    pub fn augment(&self, kind: crate::data::Kind) -> Result<crate::data::augment::Augment> {
        use crate::data::Kind;
        let translate = match kind {
            Kind::Image if self.augment_shift > 0 => {
                bail!("data.augment_shift applies to event data; use data.augment_crop for images")
            }
            Kind::Events if self.augment_crop > 0 => {
                bail!("data.augment_crop applies to images; use data.augment_shift for event data")
            }

            Kind::Image => self.augment_crop,
            Kind::Events => self.augment_shift,
        };
        Ok(crate::data::augment::Augment {
            flip: self.augment_flip,
            translate,
            cutout: self.augment_cutout,
            mirror: false,
        })
    }

    /// `(mean, std)` when normalization is configured.
    pub fn normalize(&self) -> Option<(Vec<f32>, Vec<f32>)> {
        if self.normalize_mean.is_empty() && self.normalize_std.is_empty() {
            None
        } else {
            Some((self.normalize_mean.clone(), self.normalize_std.clone()))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub seed: u64,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Also write `last.safetensors` every this many optimizer steps (0: at epoch ends only).
    pub checkpoint_every_steps: usize,
    /// Also write `last.safetensors` when this many minutes have passed since the previous
    /// checkpoint, so that a long epoch is never lost whole (0: off).
    pub checkpoint_every_minutes: f32,
    /// Label smoothing of the training loss, in [0, 1) (0: one-hot targets). Evaluation
    /// always reports the plain cross entropy.
    pub label_smoothing: f32,
    /// Weight lambda0 of an auxiliary membrane-readout loss for a spiking decoder: the
    /// training loss is CE(decoder logits) + lambda * CE(membrane readout of the same output
    /// currents, weights 1.25^-t summing to 10), lambda falling linearly from lambda0 to 0 over
    /// the first half of the optimizer steps (`aux_membrane.rs`; 0: off). The trained model,
    /// and evaluation, use the decoder alone.
    pub aux_membrane_loss: f32,
    /// Decay `d` of an exponential moving average of the parameters, updated after every
    /// optimizer step (`ema.rs`; the rate warms up as `min(d, (1 + n) / (10 + n))` after n
    /// steps); evaluations, `best.safetensors` and the checkpoints' parameters are the
    /// average. In [0, 1) (0: off); 0.999 averages over about the last thousand steps.
    pub ema_decay: f32,
    /// Where parameters, activations and gradients live: `cpu`, `cuda` or `cuda:N`.
    pub device: Device,
    /// GPU only: run matrix products with TF32 tensor-core math (about 10 mantissa bits in
    /// the products' inputs) instead of full fp32.
    pub tf32: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 32,
            eval_batch_size: 256,
            seed: 0,
            threads: 0,
            checkpoint_every_steps: 0,
            checkpoint_every_minutes: 10.0,
            label_smoothing: 0.0,
            aux_membrane_loss: 0.0,
            ema_decay: 0.0,
            device: Device::Cpu,
            tf32: false,
        }
    }
}

/// Data sets of event recordings (N-MNIST, DVS128 Gesture).
const EVENT_DATA_SETS: [&str; 2] = ["n-mnist", "dvs-gesture"];

/// The surrogate sharpness `model.alpha` on event data when a config does not set it. With the
/// default 8 (steep: only potentials within about 0.25 of the threshold get a gradient) the
/// sparse event inputs leave most output neurons far below threshold and silent, and the
/// temporal decoder learns nothing (N-MNIST subset, fc256, 15 epochs, 3 seeds: 31.9% test, 98%
/// of output neurons silent); alpha = 2 gives 84.0% (docs/results/event-data.md).
const EVENT_DATA_ALPHA: f32 = 2.0;

/// The whole configuration of a run. `Config::default()` is the embedded-digits recipe that
/// `ttfs train` runs with no arguments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub optimizer: OptimConfig,
    pub schedule: ScheduleConfig,
    pub train: TrainConfig,
}

impl Config {
    /// Parse TOML text (`origin` names it in errors), then apply `key=value` overrides; every
    /// key and every pair of keys is checked ([`Config::validate`]).
    pub fn from_toml(text: &str, origin: &str, overrides: &[String]) -> Result<Config> {
        let cfg = Self::parse(text, origin, overrides)?;
        cfg.validate()
            .with_context(|| format!("{origin}: invalid configuration"))?;
        Ok(cfg)
    }

    /// The config a checkpoint stores: single keys are checked, pairs are not, so that a run
    /// trained before a contradiction was refused can still be evaluated (resuming it checks
    /// everything, in [`crate::train::Trainer::with_data`]).
    pub fn from_stored_toml(text: &str, origin: &str) -> Result<Config> {
        let cfg = Self::parse(text, origin, &[])?;
        cfg.validate_keys()
            .with_context(|| format!("{origin}: invalid configuration"))?;
        Ok(cfg)
    }

    fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Config> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| {
            // One line: where, then what (the parser's own text draws the line in ASCII art).
            let at = e.span().map_or(String::new(), |sp| {
                let before = &text[..sp.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {col}")
            });
            let what = e.message().trim().replace('\n', "; ");
            anyhow::anyhow!("{origin}: invalid TOML{at}: {what}")
        })?;
        for o in overrides {
            apply_override(&mut value, o)?;
        }
        let mut cfg: Config = value
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| config_error(&value, &e, origin, overrides))?;
        let alpha_given = value.get("model").and_then(|m| m.get("alpha")).is_some();
        if !alpha_given && EVENT_DATA_SETS.contains(&cfg.data.name.as_str()) {
            cfg.model.alpha = EVENT_DATA_ALPHA;
        }
        Ok(cfg)
    }

    pub fn load(path: Option<&std::path::Path>, overrides: &[String]) -> Result<Config> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config {}", p.display()))?;
                Self::from_toml(&text, &p.display().to_string(), overrides)
            }
            None => Self::from_toml("", "default config", overrides),
        }
    }

    /// The config as TOML text, every key present. `f32` values are written in their shortest
    /// form (`0.003`, not `0.003000000026077032`); they read back to the same `f32`.
    pub fn to_toml(&self) -> String {
        let mut v = toml::Value::try_from(self).expect("config serializes");
        shorten_floats(&mut v);
        toml::to_string(&v).expect("config serializes")
    }

    /// The `[model]` section alone as TOML text (floats as [`Config::to_toml`] writes them):
    /// what an NIR export stores so that an import rebuilds the same model.
    pub fn model_toml(model: &ModelConfig) -> String {
        let mut v = toml::Value::try_from(Config {
            model: model.clone(),
            ..Config::default()
        })
        .expect("config serializes");
        if let toml::Value::Table(t) = &mut v {
            t.retain(|k, _| k == "model");
        }
        shorten_floats(&mut v);
        toml::to_string(&v).expect("config serializes")
    }

    /// Every key alone, then every pair of keys that can contradict each other
    /// (`checks.rs`): one line naming the key(s) at the first problem.
    pub fn validate(&self) -> Result<()> {
        self.validate_keys()?;
        checks::check_pairs(self)
    }

    /// Every key alone.
    pub fn validate_keys(&self) -> Result<()> {
        checks::check_ranges(self)?;
        if self.train.batch_size == 0 || self.train.eval_batch_size == 0 {
            bail!("train.batch_size and train.eval_batch_size must be at least 1");
        }
        if !(0.0..1.0).contains(&self.train.ema_decay) {
            bail!(
                "train.ema_decay must be in [0, 1) (0: no moving average), got {}",
                self.train.ema_decay
            );
        }
        if !(0.0..1.0).contains(&self.train.label_smoothing) {
            bail!(
                "train.label_smoothing must be in [0, 1), got {}",
                self.train.label_smoothing
            );
        }
        let minutes = self.train.checkpoint_every_minutes;
        if !minutes.is_finite() || minutes < 0.0 {
            bail!(
                "train.checkpoint_every_minutes must be 0 (off) or positive, got {}",
                self.train.checkpoint_every_minutes
            );
        }
        if self.model.time_steps == 0 {
            bail!("model.time_steps must be at least 1");
        }
        if self.optimizer.lr.is_nan() || self.optimizer.lr <= 0.0 {
            bail!("optimizer.lr must be positive");
        }
        if self.model.alpha.is_nan() || self.model.alpha <= 0.0 {
            bail!("model.alpha must be positive");
        }
        if let Some(b) = self.model.band {
            if b.is_nan() || b <= 0.0 {
                bail!("model.band must be positive, the half-width of the band around the threshold where the surrogate has gradient (leave it out for the uncut surrogate), got {b}");
            }
        }
        if let Some(b) = self
            .model
            .layer_bands
            .iter()
            .find(|b| b.is_nan() || **b <= 0.0)
        {
            bail!("model.layer_bands must all be positive (inf: that layer uncut), got {b}");
        }
        if let Some(a) = self.model.output_alpha {
            if !a.is_finite() || a <= 0.0 {
                bail!("model.output_alpha must be positive (leave it out to use model.alpha), got {a}");
            }
        }
        if let Some(f) = self.model.init_firing {
            if !(f > 0.0 && f < 1.0) {
                bail!("model.init_firing must be a fraction of neurons between 0 and 1 (leave it out for no calibration), got {f}");
            }
        }
        if let Some(g) = self
            .model
            .synapse_gains
            .iter()
            .find(|g| !(g.is_finite() && **g > 0.0))
        {
            bail!("model.synapse_gains must all be positive, got {g}");
        }
        if let Some(g) = self.model.output_init_gain {
            if !g.is_finite() || g <= 0.0 {
                bail!("model.output_init_gain must be positive (leave it out to use model.init_gain), got {g}");
            }
        }
        let aux = self.train.aux_membrane_loss;
        if !aux.is_finite() || aux < 0.0 {
            bail!("train.aux_membrane_loss must be 0 (off) or positive, got {aux}");
        }
        if aux > 0.0 && self.model.decoder.kind == crate::decoder::DecoderKind::Membrane {
            bail!(
                "train.aux_membrane_loss adds a membrane readout to a spiking decoder; \
                 model.decoder.kind is already \"membrane\""
            );
        }
        self.model.decoder.validate()?;
        crate::spec::parse(&self.model.spec)?;
        Ok(())
    }
}

/// Replace every float that is exactly an `f32` by the shortest decimal of that `f32`.
fn shorten_floats(v: &mut toml::Value) {
    match v {
        toml::Value::Float(x) => {
            let f = *x as f32;
            if f as f64 == *x && f.is_finite() {
                if let Ok(short) = f.to_string().parse::<f64>() {
                    *x = short;
                }
            }
        }
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| shorten_floats(v)),
        toml::Value::Array(a) => a.iter_mut().for_each(shorten_floats),
        _ => {}
    }
}

/// Explain why `value` is not a valid config: the message of serde (which lists the valid keys
/// of a section for an unknown key), the full dotted key, and whether it came from `--set`.
fn config_error(
    value: &toml::Value,
    e: &toml::de::Error,
    origin: &str,
    overrides: &[String],
) -> anyhow::Error {
    // Re-parse the merged tree as text: the span then tells which key is wrong.
    let text = toml::to_string(value).unwrap_or_default();
    let located = match toml::from_str::<Config>(&text) {
        Err(e2) => e2.span().map(|sp| {
            let before = &text[..sp.start.min(text.len())];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[line_start..]
                .find('\n')
                .map_or(text.len(), |i| line_start + i);
            let line = text[line_start..line_end].trim();
            let section = before[..line_start]
                .lines()
                .rev()
                .find(|l| l.trim_start().starts_with('['))
                .map(|l| l.trim().trim_matches(|c| c == '[' || c == ']').to_string());
            let key = line.split('=').next().unwrap_or(line).trim();
            match section {
                Some(s) if !key.is_empty() && !line.starts_with('[') => format!("{s}.{key}"),
                Some(s) => s,
                None => key.to_string(),
            }
        }),
        Ok(_) => None,
    };
    let msg = plain_words(e.message().trim());
    match located {
        Some(key) if !key.is_empty() => {
            let from = overrides
                .iter()
                .find(|o| o.split('=').next().map(str::trim) == Some(key.as_str()))
                .map(|o| format!(" (from --set {o})"))
                .unwrap_or_default();
            anyhow::anyhow!("{origin}: key `{key}`{from}: {msg}")
        }
        _ => anyhow::anyhow!("{origin}: {msg}"),
    }
}

/// serde's message with the Rust type names it uses replaced by what a user types:
/// "invalid type: string \"abc\", expected usize" becomes "got \"abc\", expected a whole
/// number".
fn plain_words(msg: &str) -> String {
    let mut m = msg.to_string();
    for (rust, plain) in [
        ("invalid type: string ", "got "),
        ("invalid type: integer ", "got "),
        ("invalid type: floating point ", "got "),
        ("invalid type: boolean ", "got "),
        ("invalid type: sequence", "got a list"),
        ("invalid value: integer ", "got "),
        ("invalid value: floating point ", "got "),
    ] {
        m = m.replace(rust, plain);
    }
    // "got `3`" -> "got 3"
    if let Some(i) = m.find("got `") {
        if let Some(j) = m[i + 5..].find('`') {
            m = format!("{}got {}{}", &m[..i], &m[i + 5..i + 5 + j], &m[i + 6 + j..]);
        }
    }
    for (rust, plain) in [
        ("usize", "a whole number (0 or more)"),
        ("u64", "a whole number (0 or more)"),
        ("u32", "a whole number (0 or more)"),
        ("u16", "a whole number (0 or more)"),
        ("u8", "a whole number (0 or more)"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
        ("a boolean", "true or false"),
        ("a sequence", "a list such as [0.5, 0.5]"),
        ("a string", "text in quotes"),
    ] {
        if let Some(head) = m.strip_suffix(&format!("expected {rust}")) {
            m = format!("{head}expected {plain}");
        }
    }
    m
}

/// Apply `a.b.c=value` to a TOML tree. The value is parsed as TOML (numbers, booleans,
/// quoted strings), falling back to a bare string.
pub fn apply_override(root: &mut toml::Value, assignment: &str) -> Result<()> {
    let (key, raw) = assignment
        .split_once('=')
        .with_context(|| format!("override `{assignment}` is not of the form section.key=value"))?;
    let path: Vec<&str> = key.trim().split('.').collect();
    if path.iter().any(|p| p.is_empty()) {
        bail!("override `{assignment}`: empty key");
    }
    let raw = raw.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").unwrap(),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let mut cur = root;
    for p in &path[..path.len() - 1] {
        let table = cur
            .as_table_mut()
            .with_context(|| format!("override `{assignment}`: `{p}` is not a section"))?;
        cur = table
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    let table = cur
        .as_table_mut()
        .with_context(|| format!("override `{assignment}`: parent is not a section"))?;
    table.insert(path[path.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
