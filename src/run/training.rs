//! The epoch loop of a run: checkpoints within and after each epoch, metrics and evaluations
//! in the run directory, progress, and a stop on divergence or on a signal.

use super::checkpoint_clock::CheckpointClock;
use super::epoch_report::{epoch_line, sanity_warnings};
use super::interruption::{interrupted, stop_requested};
use crate::checkpoint::Checkpoint;
use crate::divergence::{diverged, Cause, EXPLODED_LOSS};
use crate::param_check;
use crate::progress::Progress;
use crate::run_dir::{EvalRecord, MetricsRecord, RunDir, BEST, LAST};
use crate::train::{EpochMetrics, EpochProgress, Trainer};
use anyhow::Result;

/// Train `tr` to `tr.cfg.train.epochs` epochs, writing metrics, `eval.json` and checkpoints into
/// `rd`. `resume` is the checkpoint `tr` was restored from (it may stop mid-epoch). Returns the
/// metrics of the epochs run. A signal (see [`crate::interrupt`]) ends it after the current
/// step with `last.safetensors` saved and an [`Interrupted`](crate::interrupt::Interrupted) error.
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
        if let (Some((from, to)), true) = (tr.enter_stage(), lead) {
            progress.println(&format!(
                "epoch {}: {from} -> {to} time steps (schedule.time_steps), the same weights",
                tr.epoch + 1
            ));
        }
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
/// when the validation accuracy beats `best` (updated), `best`. Metrics first, checkpoint
/// second: a resume drops metrics past its checkpoint.
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
    // Only a held-out validation split chooses a checkpoint. Without one each epoch is
    // evaluated on the test split, and a checkpoint chosen by it would make the test figure
    // of `ttfs eval RUN_DIR` a selected, optimistic one: such a run keeps `last` only.
    if m.eval_split == "validation" && m.eval.accuracy > *best {
        *best = m.eval.accuracy;
        ck.best_accuracy = *best;
        ck.save(&rd.file(BEST))?;
    }
    ck.save(&rd.file(LAST))
}
