//! Settings that contradict each other, refused when a config is loaded: each error is one
//! line that names both keys and their values, and says which to change.
//!
//! Why: every key can be valid alone while the pair is not, and such a run trains without a
//! word and ends somewhere unexpected (`schedule.min_lr = 90` with `optimizer.lr = 0.003`
//! drives the cosine schedule's learning rate up to 22.5 and the run to chance). Only pairs
//! that contradict whatever the data are checked here; those that depend on the data set's
//! size (`train.batch_size` against the training samples, `data.validation` against the
//! training split) or on its kind (event-only and image-only keys: the data may come from
//! memory or from Python under any `data.name`) are checked when it is loaded (`train.rs`),
//! and the spec against the input shape when the model is built (`model.rs`).
//!
//! Keys with defaults cannot tell "given" from "left alone", so a key that only means nothing
//! in some setting is refused here only when its value differs from the default's meaning
//! (`schedule.min_lr` other than 0 with a schedule that has no minimum, say).

use crate::config::Config;
use crate::decoder::DecoderKind;
use crate::encoding::Encoding;
use crate::optim::{OptimKind, ScheduleKind};
use anyhow::{bail, Result};

/// Single keys of the optimizer and schedule that are out of range.
pub fn check_ranges(cfg: &Config) -> Result<()> {
    let (o, s) = (&cfg.optimizer, &cfg.schedule);
    let at_least_0 = [
        ("schedule.min_lr", s.min_lr),
        ("schedule.warmup_epochs", s.warmup_epochs),
        ("optimizer.weight_decay", o.weight_decay),
        ("optimizer.clip_grad_norm", o.clip_grad_norm),
    ];
    for (key, v) in at_least_0 {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{key} must be 0 or positive, got {v}");
        }
    }
    for (key, v) in [("optimizer.beta1", o.beta1), ("optimizer.beta2", o.beta2)] {
        if !(0.0..1.0).contains(&v) {
            bail!("{key} must be in [0, 1), got {v}");
        }
    }
    if !(o.eps.is_finite() && o.eps > 0.0) {
        bail!("optimizer.eps must be positive, got {}", o.eps);
    }
    if !(s.gamma.is_finite() && s.gamma > 0.0) {
        bail!("schedule.gamma must be positive, got {}", s.gamma);
    }
    Ok(())
}

/// Pairs of keys that contradict each other.
pub fn check_pairs(cfg: &Config) -> Result<()> {
    let (o, s, m, d, t) = (
        &cfg.optimizer,
        &cfg.schedule,
        &cfg.model,
        &cfg.data,
        &cfg.train,
    );
    // The learning-rate schedule against the optimizer and the run's length.
    match s.kind {
        ScheduleKind::Cosine if s.min_lr > o.lr => bail!(
            "schedule.min_lr = {} is above optimizer.lr = {}: the cosine schedule would raise \
             the learning rate instead of lowering it (set schedule.min_lr below optimizer.lr)",
            s.min_lr,
            o.lr
        ),
        ScheduleKind::Constant | ScheduleKind::Step if s.min_lr != 0.0 => bail!(
            "schedule.min_lr = {} applies to schedule.kind = \"cosine\" only, but \
             schedule.kind = {:?} (leave schedule.min_lr out)",
            s.min_lr,
            format!("{:?}", s.kind).to_lowercase()
        ),
        ScheduleKind::Step if t.epochs > 0 && s.step_epochs >= t.epochs => bail!(
            "schedule.step_epochs = {} is not below train.epochs = {}: the step schedule would \
             never lower the learning rate (lower schedule.step_epochs, or use schedule.kind = \
             \"constant\")",
            s.step_epochs,
            t.epochs
        ),
        _ => {}
    }
    if s.warmup_epochs > 0.0 && t.epochs > 0 && s.warmup_epochs >= t.epochs as f32 {
        bail!(
            "schedule.warmup_epochs = {} is not below train.epochs = {}: the learning rate \
             would still be warming up when training ends (lower schedule.warmup_epochs, e.g. \
             --set schedule.warmup_epochs=0)",
            s.warmup_epochs,
            t.epochs
        );
    }
    check_time_step_stages(cfg)?;
    if o.nesterov && o.kind != OptimKind::Sgd {
        bail!(
            "optimizer.nesterov = true applies to optimizer.kind = \"sgd\", not {:?}",
            format!("{:?}", o.kind).to_lowercase()
        );
    }
    // The output layer against the decoder that reads it.
    if m.decoder.kind == DecoderKind::Membrane && m.output_alpha.is_some() {
        bail!(
            "model.output_alpha sets the surrogate of spiking output neurons, but \
             model.decoder.kind = \"membrane\" reads non-spiking potentials (leave \
             model.output_alpha out, or use a spiking decoder)"
        );
    }
    // The data against the model's input.
    if d.frames != 0 && d.frames != m.time_steps {
        bail!(
            "data.frames = {} differs from model.time_steps = {}: event data must be binned \
             into as many frames as the model runs steps (leave data.frames at 0)",
            d.frames,
            m.time_steps
        );
    }
    if d.normalize_mean.len() != d.normalize_std.len() {
        bail!(
            "data.normalize_mean has {} values but data.normalize_std {}: give one of each per \
             channel",
            d.normalize_mean.len(),
            d.normalize_std.len()
        );
    }
    if !d.normalize_mean.is_empty() && m.encoding != Encoding::Direct {
        bail!(
            "data.normalize_mean/std need model.encoding = \"direct\" (the latency code needs \
             intensities in [0, 1])"
        );
    }
    if d.coarse_labels && d.name != "cifar100" {
        bail!(
            "data.coarse_labels applies to data.name = \"cifar100\", not {:?}",
            d.name
        );
    }
    Ok(())
}

/// `schedule.time_steps` (incremental time steps) against the model's T and the run's length.
fn check_time_step_stages(cfg: &Config) -> Result<()> {
    let (stages, m, t) = (&cfg.schedule.time_steps, &cfg.model, &cfg.train);
    let (Some(first), Some(last)) = (stages.first(), stages.last()) else {
        return Ok(());
    };
    let show = format!("schedule.time_steps = {stages:?}");
    if first[0] != 0 {
        bail!("{show} must start at epoch 0 (its first pair is [0, T])");
    }
    if let Some(w) = stages.windows(2).find(|w| w[1][0] <= w[0][0]) {
        bail!(
            "{show}: the epochs must increase from pair to pair, but {:?} follows {:?}",
            w[1],
            w[0]
        );
    }
    if let Some(s) = stages.iter().find(|s| s[1] == 0) {
        bail!("{show}: {s:?} has 0 time steps (T is at least 1)");
    }
    if last[1] != m.time_steps {
        bail!(
            "{show} ends at T = {} but model.time_steps = {}: the last stage is the model's own \
             T (make the last pair [epochs, {}], or set model.time_steps = {})",
            last[1],
            m.time_steps,
            m.time_steps,
            last[1]
        );
    }
    if t.epochs > 0 && last[0] >= t.epochs {
        bail!(
            "{show}: the last stage starts after {} epochs, but train.epochs = {}: the model \
             would never train at model.time_steps = {}",
            last[0],
            t.epochs,
            m.time_steps
        );
    }
    if cfg.data.frames != 0 {
        bail!(
            "{show} changes T during the run, but data.frames = {} bins event data into a fixed \
             number of frames (incremental time steps need images)",
            cfg.data.frames
        );
    }
    Ok(())
}
