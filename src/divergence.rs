//! A run that diverged: the loss became NaN or exploded, or the parameters hold NaN or
//! infinite values (`param_check.rs`). The run stops with a diagnosis (which layer blew up or
//! went silent), saves the state it reached to `diverged.safetensors` for inspection, and
//! leaves `last.safetensors` as it was: the last good state, to resume from.

use crate::checkpoint::Checkpoint;
use crate::metrics::SpikeMonitor;
use crate::model::Model;
use crate::param_check::NonFinite;
use crate::run_dir::{RunDir, DIVERGED, LAST};
use crate::train::{EpochProgress, Trainer};
use std::fmt::Write as _;

/// A finite mean batch loss above this is taken as exploded.
pub const EXPLODED_LOSS: f32 = 1e4;

/// What showed that training diverged.
pub enum Cause {
    /// The mean batch loss of a step: NaN, infinite or above [`EXPLODED_LOSS`].
    Loss(f32),
    /// Parameters or optimizer moments that are NaN or infinite, found before a checkpoint.
    Values(NonFinite),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Loss(l) => write!(f, "batch loss {l}"),
            Cause::Values(v) => write!(f, "parameter {v}; nothing was saved over {LAST}"),
        }
    }
}

/// Save the state to `diverged.safetensors`, then explain which layer blew up or went silent.
/// `at`: the epoch in progress, `None` at an epoch's end (`tr.epoch` epochs done).
pub fn diverged(
    tr: &Trainer,
    rd: &RunDir,
    at: Option<&EpochProgress>,
    best: f64,
    cause: &Cause,
    lead: bool,
) -> anyhow::Error {
    let path = rd.file(DIVERGED);
    let progress = at.cloned().unwrap_or_default();
    let saved = if !lead {
        "rank 0 saves the state".to_string()
    } else {
        // Written as it is, NaN included: it is there to be looked at, never resumed from.
        match Checkpoint::capture(tr, progress, best).save_for_diagnosis(&path) {
            Ok(()) => format!("state saved to {}", path.display()),
            Err(e) => format!("could not save the state: {e:#}"),
        }
    };
    let last = rd.file(LAST);
    let good = if last.exists() {
        format!(
            "the last good checkpoint is {} (`ttfs train --resume {}` continues from it, with \
             the same config)",
            last.display(),
            rd.path.display()
        )
    } else {
        "there is no earlier checkpoint".to_string()
    };
    let when = match at {
        Some(p) => format!(
            "at epoch {} step {} (step {} of the epoch)",
            tr.epoch + 1,
            tr.step,
            p.steps
        ),
        None => format!("in epoch {} (found at its end, step {})", tr.epoch, tr.step),
    };
    anyhow::anyhow!(
        "training diverged {when}: {cause}\n\
         per layer, on the failing batch:\n{}{saved}; {good}.\n\
         What to do: start a new run with a lower optimizer.lr (now {}), clipped gradients \
         (--set optimizer.clip_grad_norm=1), or another model.init_gain (now {}): raise it if \
         a layer is silent, lower it if gradients exploded.",
        diagnose(&tr.model),
        tr.cfg.optimizer.lr,
        tr.cfg.model.init_gain,
    )
}

/// Per-layer report of the model's last forward/backward: non-finite activations, spike
/// counts of the spiking layers and gradient norms of the parameters.
pub fn diagnose(model: &Model) -> String {
    let mut s = String::new();
    if let Some(i) = model
        .acts
        .iter()
        .position(|a| a.data.read().iter().any(|v| !v.is_finite()))
    {
        let what = if i == 0 {
            "the input".to_string()
        } else {
            format!("layer {} ({})", i - 1, model.layers[i - 1].describe())
        };
        let _ = writeln!(s, "  first non-finite activation: output of {what}");
    }
    if model.acts[0].shape.len() >= 2 {
        let mut mon = SpikeMonitor::default();
        mon.record(model);
        for l in &mon.layers {
            let silent = l.silent_fraction();
            let flag = if silent >= 0.999 {
                "  <- SILENT: no neuron fired"
            } else if l.spikes_per_neuron() > 1.0 {
                "  <- fires more than once per neuron"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  layer {} {} ({}): {:.3} spikes/neuron, {:.1}% silent{flag}",
                l.layer,
                l.name,
                l.what,
                l.spikes_per_neuron(),
                100.0 * silent
            );
        }
    }
    let norms: Vec<(String, f64, usize)> = model
        .params()
        .iter()
        .map(|p| {
            let n = p
                .grad
                .read()
                .iter()
                .map(|g| (*g as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            let bad = p.value.read().iter().filter(|v| !v.is_finite()).count();
            (p.name.clone(), n, bad)
        })
        .collect();
    let worst = norms
        .iter()
        .filter(|n| n.1.is_finite())
        .map(|n| n.1)
        .fold(0.0, f64::max);
    for (name, n, bad) in &norms {
        let flag = if !n.is_finite() {
            "  <- NON-FINITE gradient"
        } else if *n == worst && worst > 1e3 {
            "  <- largest, exploding"
        } else {
            ""
        };
        let vals = match bad {
            0 => String::new(),
            n => format!(" ({n} values non-finite)"),
        };
        let _ = writeln!(s, "  grad norm {name}: {n:.3e}{vals}{flag}");
    }
    s
}
