//! `ttfs train --init-from`: a new run that starts from a checkpoint's parameters (one of
//! ttfs's, or one `ttfs import nir` wrote), to fine-tune it.

use crate::checkpoint::Checkpoint;
use crate::model::Model;
use crate::rng::Rng;
use anyhow::{bail, Context, Result};

/// Put `ck`'s parameters into `model` (built from the new run's config). The same parameters
/// are the same network only under the same layers, normalization and gains, so the effective
/// (folded) weights are compared with those of the checkpoint's own model: a `--set model.*`
/// that changes what the parameters mean is refused instead of starting from another network.
pub fn init_from(model: &mut Model, ck: &Checkpoint, origin: &str) -> Result<()> {
    ck.load_params(model)
        .with_context(|| format!("--init-from {origin}"))?;
    let mut own = Model::new(&ck.config.model, &model.frames[0], &mut Rng::new(0))
        .with_context(|| format!("--init-from {origin}: the checkpoint's own model"))?;
    ck.load_params(&mut own)
        .with_context(|| format!("--init-from {origin}"))?;
    let same_layers = model.layers.len() == own.layers.len();
    for (i, (a, b)) in model
        .layers
        .iter_mut()
        .zip(own.layers.iter_mut())
        .enumerate()
    {
        if !same_layers || a.plain() != b.plain() {
            bail!(
                "--init-from {origin}: layer {} (`{}`) computes differently with this config than \
                 in the checkpoint (model `{}`, norm {:?}): a --set model.* key changes what its \
                 parameters mean",
                i + 1,
                a.describe(),
                ck.config.model.spec,
                ck.config.model.norm
            );
        }
    }
    Ok(())
}
