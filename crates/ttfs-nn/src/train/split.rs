//! Which samples of a data set's training split a run trains on, which it holds out for
//! validation, and whether the batch size fits them.

use crate::config::Config;
use crate::data::Dataset;
use crate::rng::Rng;
use anyhow::{bail, Result};

/// Seed of the fixed shuffle that picks the held-out validation samples.
const VALIDATION_SPLIT_SEED: u64 = 0x0A11_DA7E;

/// Split a data set's training split into the samples trained on and the held-out validation
/// samples (`data.validation`, `data.train_samples`). A fixed shuffle with its own seed makes
/// both the same for every run of a config, and for `ttfs eval --split validation`.
pub fn hold_out(cfg: &Config, train: Dataset) -> Result<(Dataset, Option<Dataset>)> {
    if cfg.data.validation == 0 && cfg.data.train_samples == 0 {
        return Ok((train, None));
    }
    let (held, used, n) = (cfg.data.validation, cfg.data.train_samples, train.len());
    if held >= n {
        bail!(
            "data.validation = {held} leaves no samples to train on: the training split of {} \
             has {n} (lower data.validation)",
            train.name
        );
    }
    if held + used > n {
        bail!(
            "data.validation = {held} and data.train_samples = {used} add up to more than the \
             {n} samples of {}'s training split (lower either)",
            train.name
        );
    }
    let mut idx: Vec<usize> = (0..train.len()).collect();
    Rng::new(VALIDATION_SPLIT_SEED).shuffle(&mut idx);
    let (v, t) = idx.split_at(held);
    let t = if used > 0 { &t[..used] } else { t };
    Ok((train.subset(t), (held > 0).then(|| train.subset(v))))
}

/// A batch larger than the training samples (after `data.validation` and `data.train_samples`)
/// never fills: every step would take the whole set, not `train.batch_size` samples.
pub(crate) fn check_batch_size(cfg: &Config, train: &Dataset) -> Result<()> {
    let (b, n) = (cfg.train.batch_size, train.len());
    if b <= n {
        return Ok(());
    }
    let after = match (cfg.data.train_samples, cfg.data.validation) {
        (0, 0) => format!("the training split of {}", train.name),
        (0, v) => format!("{} once data.validation = {v} are held out", train.name),
        (t, _) => format!("data.train_samples = {t}"),
    };
    bail!("train.batch_size = {b} is larger than the {n} training samples ({after}): lower train.batch_size")
}
