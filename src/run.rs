//! Experiment runs on top of the [`Trainer`]: the epoch loop with checkpoints, metrics files
//! and progress, divergence detection, and loading a checkpoint back for evaluation.

use crate::checkpoint::{self, Checkpoint};
use crate::config::Config;
use crate::data::batch::{assemble, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::{self, Dataset};
use crate::interrupt::{self, Interrupted};
use crate::kernels::Device;
use crate::model::Model;
use crate::param_check;
use crate::progress::Progress;
use crate::rng::Rng;
use crate::run_dir::{EvalRecord, MetricsRecord, RunDir, BEST, LAST};
use crate::train::{evaluate_with, EpochMetrics, EpochProgress, Evaluation, Trainer};
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

pub use crate::divergence::{diagnose, EXPLODED_LOSS};
use crate::divergence::{diverged, Cause};

/// Train `tr` to `tr.cfg.train.epochs` epochs, writing metrics, `eval.json` and checkpoints into
/// `rd`. `resume` is the checkpoint `tr` was restored from (it may stop mid-epoch). Returns the
/// metrics of the epochs run. A signal (see [`crate::interrupt`]) ends it after the current
/// step with `last.safetensors` saved and an [`Interrupted`] error.
pub fn train(
    tr: &mut Trainer,
    rd: &RunDir,
    resume: Option<&Checkpoint>,
    progress: &mut Progress,
) -> Result<Vec<EpochMetrics>> {
    let epochs = tr.cfg.train.epochs;
    let every = tr.cfg.train.checkpoint_every_steps;
    // In a data-parallel run every process trains the same model; rank 0 alone writes the run
    // directory (metrics, evaluations, checkpoints) and prints.
    let lead = tr.dist.rank() == 0;
    let mut clock = CheckpointClock::new(tr.cfg.train.checkpoint_every_minutes);
    // Checkpoints of older versions stored "no best yet" (minus infinity) as NaN, and every
    // comparison with NaN is false: read both as "no best yet".
    let mut best = resume
        .map(|c| c.best_accuracy)
        .filter(|b| !b.is_nan())
        .unwrap_or(f64::NEG_INFINITY);
    let mut pending = resume
        .map(|c| c.epoch_progress.clone())
        .filter(|p| p.steps > 0);
    let mut out = Vec::new();
    if lead && tr.epoch == 0 && pending.is_none() {
        for w in start_warnings(tr) {
            progress.warn(&w);
        }
    }
    while tr.epoch < epochs {
        if let Some(sig) = stop_requested(tr) {
            // Between epochs: the epoch's checkpoint is already written.
            return Err(interrupted(tr, rd, None, best, sig));
        }
        let resume_at = pending.take();
        let seen = resume_at.as_ref().map_or(0, |p| p.seen);
        progress.start_epoch(tr.epoch + 1, epochs, tr.train.len(), seen);
        let mut failure: Option<anyhow::Error> = None;
        let m = tr.run_epoch(resume_at, |tr, s| {
            let p = s.progress;
            if !s.loss.is_finite() || s.loss > EXPLODED_LOSS {
                failure = Some(diverged(tr, rd, Some(p), best, &Cause::Loss(s.loss), lead));
                return false;
            }
            progress.update(p.seen, p.mean_loss() as f32, p.accuracy() as f32);
            if let Some(sig) = stop_requested(tr) {
                failure = Some(interrupted(tr, rd, Some(p), best, sig));
                return false;
            }
            if lead && ((every > 0 && tr.step.is_multiple_of(every)) || clock.due()) {
                let ck = Checkpoint::capture(tr, p.clone(), best);
                // Never a NaN checkpoint over the last good one.
                if let Some(bad) = param_check::in_checkpoint(&ck) {
                    failure = Some(diverged(tr, rd, Some(p), best, &Cause::Values(bad), lead));
                    return false;
                }
                if let Err(e) = ck.save(&rd.file(LAST)) {
                    failure = Some(e);
                    return false;
                }
                clock.reset();
            }
            true
        });
        progress.finish_epoch();
        let Some(m) = m else {
            return Err(failure.unwrap_or_else(|| anyhow::anyhow!("the epoch stopped early")));
        };
        // The processes of a data-parallel run must hold the same parameters, bit for bit.
        tr.check_ranks_agree()?;
        if !lead {
            out.push(m);
            continue;
        }
        progress.println(&epoch_line(&m, epochs));
        if let Some(bad) = param_check::in_model(&tr.model) {
            return Err(diverged(tr, rd, None, best, &Cause::Values(bad), lead));
        }
        for w in sanity_warnings(&m, tr.model.classes(), &tr.cfg) {
            progress.warn(&w);
        }
        record_epoch(tr, rd, &m, &mut best)?;
        clock.reset();
        out.push(m);
    }
    Ok(out)
}

/// Before the first epoch: the initialization's firing calibration, if any, and a forward pass
/// on one training batch; a spiking layer where no neuron fires gets a warning now, not after
/// an epoch of training that could not reach below it.
fn start_warnings(tr: &mut Trainer) -> Vec<String> {
    let firing = tr.firing_at_start();
    let mut lines = Vec::new();
    if !tr.calibration.is_empty() {
        let target = tr.cfg.model.init_firing.unwrap_or(0.0);
        let layers: Vec<String> = tr
            .calibration
            .iter()
            .map(|c| match c.layer.as_str() {
                "readout" => format!("readout logit std {:.2}->x{}", c.before, c.gain),
                _ => format!("{} {:.0}%->x{}", c.layer, 100.0 * c.before, c.gain),
            })
            .collect();
        lines.push(format!(
            "note: model.init_firing = {target}: synapse gains calibrated on the first batch (layer: firing before -> gain): {}",
            layers.join(", ")
        ));
    }
    let at_start: Vec<String> = firing
        .iter()
        .map(|(n, f)| format!("{n} {:.0}%", 100.0 * f))
        .collect();
    lines.push(format!(
        "firing on the first batch: {}",
        at_start.join(", ")
    ));
    let silent: Vec<&str> = firing
        .iter()
        .filter(|(_, f)| *f == 0.0)
        .map(|(n, _)| n.as_str())
        .collect();
    if !silent.is_empty() {
        lines.push(format!(
            "WARNING: no neuron of {} fires on the first training batch: no gradient will \
             flow below it. Set model.init_firing = 0.5 (calibrates every layer's gain on the \
             data), or a larger model.init_gain (now {}).",
            silent.join(", "),
            tr.cfg.model.init_gain
        ));
    }
    lines
}

/// What the run directory keeps of a finished epoch: its metrics, its evaluation, `last` and,
/// when the accuracy beats `best` (updated), `best`. Metrics first, checkpoint second: a resume
/// drops metrics past its checkpoint.
pub fn record_epoch(tr: &Trainer, rd: &RunDir, m: &EpochMetrics, best: &mut f64) -> Result<()> {
    rd.append_metrics(&MetricsRecord {
        step: tr.step,
        metrics: m.clone(),
    })?;
    rd.write_eval(&EvalRecord {
        epoch: m.epoch,
        split: m.eval_split.clone(),
        eval: m.eval.clone(),
    })?;
    let mut ck = Checkpoint::capture(tr, EpochProgress::default(), *best);
    ck.accuracy = m.eval.accuracy;
    if m.eval.accuracy > *best {
        *best = m.eval.accuracy;
        ck.best_accuracy = *best;
        ck.save(&rd.file(BEST))?;
    }
    ck.save(&rd.file(LAST))
}

/// When a time-based checkpoint is due: `minutes` after the previous checkpoint, so that a
/// long epoch is never lost whole (0: never).
pub struct CheckpointClock {
    interval: Option<Duration>,
    last: Instant,
}

impl CheckpointClock {
    pub fn new(minutes: f32) -> Self {
        CheckpointClock {
            interval: Duration::try_from_secs_f32(minutes * 60.0)
                .ok()
                .filter(|d| !d.is_zero()),
            last: Instant::now(),
        }
    }

    pub fn due(&self) -> bool {
        self.interval.is_some_and(|i| self.last.elapsed() >= i)
    }

    /// A checkpoint was just written.
    pub fn reset(&mut self) {
        self.last = Instant::now();
    }
}

/// The program as it was started (`./target/release/ttfs`, the path given to mpirun, or `ttfs`
/// found on the PATH): the commands ttfs suggests then run as pasted.
pub fn program() -> String {
    std::env::args().next().unwrap_or_else(|| "ttfs".into())
}

/// The signal that asks the run to stop, if any. In a data-parallel run every process must
/// stop after the same step (a signal reaches them at different moments), so they agree on it
/// first: a process stops when any of them was signalled.
fn stop_requested(tr: &Trainer) -> Option<i32> {
    let mine = interrupt::requested();
    if tr.dist.size() == 1 {
        return mine;
    }
    let mut sig = [mine.unwrap_or(0) as f64];
    tr.dist
        .all_reduce_f64(&mut sig, crate::collective::Reduce::Max);
    (sig[0] > 0.0).then_some(sig[0] as i32)
}

/// Save the state in `last.safetensors` (`at`: the epoch in progress, `None` between epochs,
/// when it is saved already) and say how to continue.
fn interrupted(
    tr: &Trainer,
    rd: &RunDir,
    at: Option<&EpochProgress>,
    best: f64,
    sig: i32,
) -> anyhow::Error {
    let last = rd.file(LAST);
    // Rank 0 owns the run directory.
    let saved = match at {
        Some(p) if tr.dist.rank() == 0 => Checkpoint::capture(tr, p.clone(), best).save(&last),
        _ => Ok(()),
    };
    let when = match at {
        Some(p) => format!(
            "in epoch {}, after {} of its {} steps",
            tr.epoch + 1,
            p.steps,
            tr.steps_per_epoch()
        ),
        None => format!("after epoch {}", tr.epoch),
    };
    // The same number of processes continues it bitwise the same.
    let launcher = match tr.dist.size() {
        1 => String::new(),
        n => format!("mpirun -np {n} "),
    };
    let program = program();
    let message = match saved {
        Ok(()) => format!(
            "stopped by {} {when}; the state is saved in {}. Continue with: {launcher}{program} \
             train --resume {}",
            interrupt::name(sig),
            last.display(),
            rd.path.display()
        ),
        Err(e) => format!(
            "stopped by {} {when}, but the state could not be saved: {e:#}",
            interrupt::name(sig)
        ),
    };
    Interrupted {
        signal: sig,
        message,
    }
    .into()
}

/// Whether an accuracy measured on `ev.samples` samples is indistinguishable from guessing
/// among `classes`: at most three standard errors of a coin of chance `1 / classes` above it.
pub fn at_chance(ev: &Evaluation, classes: usize) -> bool {
    let p = 1.0 / classes.max(1) as f64;
    let se = (p * (1.0 - p) / ev.samples.max(1) as f64).sqrt();
    ev.accuracy <= p + 3.0 * se
}

/// Loud warnings after an epoch: an accuracy at chance level (the run learns nothing), and
/// spiking layers that never fired during the evaluation (no gradient flows through a silent
/// layer, so training cannot recover by itself).
pub fn sanity_warnings(m: &EpochMetrics, classes: usize, cfg: &Config) -> Vec<String> {
    let mut w = Vec::new();
    if at_chance(&m.eval, classes) {
        w.push(format!(
            "WARNING: epoch {}: {} accuracy {:.2}% is at chance level ({:.2}% for {classes} \
             classes): the network is not learning. Try a lower optimizer.lr (now {}) or \
             another model.init_gain (now {}), and check the data with `ttfs data check {}`.",
            m.epoch,
            m.eval_split,
            100.0 * m.eval.accuracy,
            100.0 / classes as f64,
            cfg.optimizer.lr,
            cfg.model.init_gain,
            cfg.data.name
        ));
    }
    for l in m.eval.monitor.layers.iter() {
        if l.what == "spikes" && l.samples > 0 && l.events == 0.0 {
            w.push(format!(
                "WARNING: epoch {}: every neuron of layer {} ({}) stayed silent on the {} \
                 split: no gradient flows through a silent layer. Start again with a larger \
                 model.init_gain (now {}) or a lower optimizer.lr (now {}).",
                m.epoch, l.layer, l.name, m.eval_split, cfg.model.init_gain, cfg.optimizer.lr
            ));
        }
    }
    w
}

/// Fraction of never-firing output neurons from which the epoch line warns.
const OUTPUT_SILENT: f64 = 0.95;

/// One summary line per epoch.
pub fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let ev = &m.eval;
    if ev.samples == 0 {
        // Trained without evaluation data (the Python package's `fit` without
        // `validation`): an accuracy of 0 on no samples is not a result, so none is shown.
        return format!(
            "epoch {:>3}/{epochs} loss {:.4} train {:.2}% (no validation data) lr {:.2e} {:.1}s {:.0} samples/s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_accuracy,
            m.lr,
            m.seconds,
            m.train_samples_per_s
        );
    }
    let layers: Vec<String> = ev
        .monitor
        .layers
        .iter()
        .map(|l| {
            let mut s = format!(
                "{:.2}/{:.0}%",
                l.spikes_per_neuron(),
                100.0 * l.silent_fraction()
            );
            if l.what == "pooled spikes" {
                s += &format!("(max {})", l.max_events);
            }
            s
        })
        .collect();
    // A spiking readout whose neurons (nearly) never fire gives the decoder no signal and the
    // loss almost no gradient: say so where the accuracy is read.
    let silent_output = ev
        .monitor
        .layers
        .iter()
        .find(|l| l.name == crate::layer_names::SPIKING_READOUT && l.samples > 0)
        .map(|l| l.silent_fraction())
        .filter(|&f| f >= OUTPUT_SILENT)
        .map(|f| {
            format!(
                " OUTPUT {:.0}% SILENT: the decoder gets almost no signal (try a wider surrogate, model.alpha = 2)",
                100.0 * f
            )
        })
        .unwrap_or_default();
    // The sparse backward's share of entries that carry gradient, per banded layer.
    let active = if m.active.is_empty() {
        String::new()
    } else {
        let a: Vec<String> = m
            .active
            .iter()
            .map(|a| match a.is_nan() {
                true => "-".to_string(),
                false => format!("{:.1}%", 100.0 * a),
            })
            .collect();
        format!(" active [{}]", a.join(" "))
    };
    format!(
        "epoch {:>3}/{epochs} loss {:.4} train {:.2}% {} {:.2}% (loss {:.4}) first-out {:.2} spikes/neuron,silent [{}] lr {:.2e} {:.1}s {:.0} samples/s{active}{silent_output}",
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        m.eval_split,
        100.0 * ev.accuracy,
        ev.loss,
        ev.monitor.mean_first_output(),
        layers.join(" "),
        m.lr,
        m.seconds,
        m.train_samples_per_s
    )
}

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
        self.evaluate_reporting(batch, false)
    }

    /// [`Restored::evaluate`] with the synaptic-operation, energy and early-exit report.
    pub fn evaluate_energy(&mut self, batch: usize) -> Evaluation {
        self.evaluate_reporting(batch, true)
    }

    fn evaluate_reporting(&mut self, batch: usize, energy: bool) -> Evaluation {
        // On a GPU the data set is kept there and batches are gathered on the device.
        let on = self.config.data.on_device;
        let mut dev = on
            .then(|| DeviceImages::upload(&self.data, &self.input, self.model.device))
            .flatten();
        let (model, data, input) = (&mut self.model, &self.data, &self.input);
        evaluate_with(model, data, dev.as_mut(), input, batch, energy)
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

/// Human-readable report of an evaluation.
pub fn eval_report(ev: &Evaluation, time_steps: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "accuracy {:.2}% on {} samples, loss {:.4}",
        100.0 * ev.accuracy,
        ev.samples,
        ev.loss
    );
    let _ = writeln!(
        s,
        "mean first output spike: step {:.2} of T = {time_steps} (T: no output spike)",
        ev.monitor.mean_first_output()
    );
    let _ = writeln!(s, "spikes per neuron, by layer:");
    for l in &ev.monitor.layers {
        let _ = writeln!(
            s,
            "  layer {:>2} {:<44} {:>8} units  {:.3} spikes/neuron  {:>5.1}% silent",
            l.layer,
            format!("{} ({})", l.name, l.what),
            l.units,
            l.spikes_per_neuron(),
            100.0 * l.silent_fraction()
        );
    }
    match &ev.energy {
        Some(e) => s += &e.table(&ev.accuracy_at),
        None => {
            let _ = writeln!(
                s,
                "accuracy against decision time (outputs seen up to step t):"
            );
            for (t, a) in ev.accuracy_at.iter().enumerate() {
                let bar = "#".repeat((a * 40.0).round() as usize);
                let _ = writeln!(s, "  t = {t:>3}  {:>6.2}%  {bar}", 100.0 * a);
            }
        }
    }
    s
}

/// `ttfs info`: layers, shapes, parameters, MACs and synaptic operations per sample. `ev`
/// (a run's last evaluation) gives measured events per input unit of each synapse.
pub fn model_summary(model: &Model, ev: Option<&Evaluation>) -> String {
    use crate::layers::LayerKind;
    let t = model.cfg.time_steps;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model `{}`, T = {t}, input {:?}\ndecoder {}",
        model.cfg.spec, model.frames[0], model.cfg.decoder
    );
    // The layer column fits the longest description (a folded conv + pooling is long).
    let lw = model
        .layers
        .iter()
        .map(|l| l.describe().len())
        .max()
        .unwrap_or(0)
        .max(38);
    let _ = writeln!(
        s,
        "{:>3} {:<lw$} {:<16} {:<16} {:>10} {:>12} {:>14} {:>8} {:>14}",
        "#", "layer", "in", "out", "params", "MACs/step", "dense MACs", "ev/unit", "SynOps"
    );
    let (mut tp, mut tm, mut td, mut ts) = (0usize, 0usize, 0usize, 0.0f64);
    for (i, l) in model.layers.iter().enumerate() {
        let params: usize = l.params().iter().map(|p| p.value.len()).sum();
        let macs = l.macs_per_frame(&model.frames[i]);
        let dense = macs * t;
        // Events per input unit: measured on the nearest monitored layer below (skipping
        // reshapes), else at most one (fire-once input encoding and layers).
        let mut rate = 1.0;
        let mut measured = false;
        // Before the first spiking layer of a direct-encoded network the input is analog: a
        // dense product every step.
        let analog = model.cfg.encoding == crate::encoding::Encoding::Direct
            && !model.layers[..i].iter().any(|l| l.is_neuron());
        if analog {
            rate = t as f64;
        } else if l.kind() == LayerKind::Synapse {
            if let Some(ev) = ev {
                let mut j = i;
                while j > 0 && model.layers[j - 1].kind() == LayerKind::Reshape {
                    j -= 1;
                }
                if j > 0 {
                    if let Some(st) = ev.monitor.layers.iter().find(|st| st.layer == j - 1) {
                        rate = st.spikes_per_neuron();
                        measured = true;
                    }
                }
            }
        }
        let synops = macs as f64 * rate;
        tp += params;
        tm += macs;
        td += dense;
        if l.kind() == LayerKind::Synapse {
            ts += synops;
        }
        let (r, so) = if l.kind() == LayerKind::Synapse {
            (
                if analog {
                    "analog".into()
                } else if measured {
                    format!("{rate:.3}")
                } else {
                    "<=1".into()
                },
                format!("{synops:.0}"),
            )
        } else {
            (String::new(), String::new())
        };
        let _ = writeln!(
            s,
            "{:>3} {:<lw$} {:<16} {:<16} {:>10} {:>12} {:>14} {:>8} {:>14}",
            i,
            l.describe(),
            format!("{:?}", model.frames[i]),
            format!("{:?}", model.frames[i + 1]),
            params,
            macs,
            dense,
            r,
            so
        );
    }
    let _ = writeln!(
        s,
        "total: {tp} parameters, {tm} MACs per time step, {td} dense MACs per sample (T = {t}), \
         {ts:.0} synaptic operations per sample{} ({:.1}x fewer than dense; an analog first \
         layer counts as dense MACs)",
        if ev.is_some() {
            " (measured spike rates)"
        } else {
            " (upper bound: one event per input unit)"
        },
        td as f64 / ts.max(1.0)
    );
    s
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LayerStats;

    fn epoch(accuracy: f64, events: f64) -> EpochMetrics {
        let mut m = EpochMetrics {
            epoch: 3,
            eval_split: "validation".into(),
            ..Default::default()
        };
        m.eval.accuracy = accuracy;
        m.eval.samples = 1000;
        m.eval.monitor.layers.push(LayerStats {
            layer: 1,
            name: "fc1".into(),
            what: "spikes".into(),
            units: 100,
            events,
            samples: 1000,
            ..Default::default()
        });
        m
    }

    #[test]
    fn chance_level_and_silent_layers_are_warned_about() {
        let cfg = Config::default();
        assert!(sanity_warnings(&epoch(0.9, 5000.0), 10, &cfg).is_empty());
        let w = sanity_warnings(&epoch(0.11, 5000.0), 10, &cfg);
        assert!(w.len() == 1 && w[0].contains("at chance level"), "{w:?}");
        let w = sanity_warnings(&epoch(0.9, 0.0), 10, &cfg);
        assert!(
            w.len() == 1 && w[0].contains("layer 1 (fc1) stayed silent"),
            "{w:?}"
        );
        // Chance for 100 classes is 1%: 5% is learning something.
        assert!(!at_chance(&epoch(0.05, 1.0).eval, 100));
        assert!(at_chance(&epoch(0.012, 1.0).eval, 100));
    }
}

#[cfg(test)]
mod epoch_line_tests {
    use super::*;
    use crate::metrics::LayerStats;

    #[test]
    fn a_silent_spiking_output_is_named_in_the_epoch_line() {
        let layer = |name: &str, silent: f64| LayerStats {
            layer: 0,
            name: name.into(),
            what: "spikes".into(),
            units: 10,
            events: 10.0 - silent * 10.0,
            silent: silent * 10.0,
            max_events: 1,
            first_time_hist: vec![0; 9],
            samples: 1,
        };
        let mut m = EpochMetrics::default();
        m.eval.samples = 1;
        m.eval.monitor.layers = vec![layer("if1", 0.5), layer("out", 0.97)];
        assert!(epoch_line(&m, 1).contains("OUTPUT 97% SILENT"));
        m.eval.monitor.layers[1] = layer("out", 0.5);
        assert!(!epoch_line(&m, 1).contains("SILENT"));
    }

    /// Without evaluation data no accuracy is shown: 0% of no samples is not a result.
    #[test]
    fn an_epoch_without_evaluation_data_shows_no_evaluation() {
        let mut m = EpochMetrics {
            eval_split: "test".into(),
            ..Default::default()
        };
        m.train_accuracy = 0.5;
        let line = epoch_line(&m, 3);
        assert!(line.contains("train 50.00% (no validation data)"), "{line}");
        assert!(!line.contains("test"), "{line}");
    }
}
