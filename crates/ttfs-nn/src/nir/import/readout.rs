//! The decoder of an imported graph: its kind (from the readout node and the metadata) and
//! its time weights, matched against the weightings ttfs knows or else imported as learned.

use super::fields::{at, floats};
use crate::decoder::{self, DecoderKind};
use crate::nir::{Graph, Node, Value};
use anyhow::{bail, Context, Result};

/// The decoder kind: the readout node's, checked against the config ttfs stored, else the
/// graph's `decoder` metadata.
pub(super) fn decoder_kind(
    graph: &Graph,
    cfg: &mut crate::model::ModelConfig,
    readout: &Node,
    notes: &mut Vec<String>,
) -> Result<()> {
    let stated = match graph.get_meta("decoder") {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    let from_ttfs = graph.get_meta("ttfs_model_config").is_some();
    if !from_ttfs {
        if graph.get_meta("decoder_exact_time").is_some() {
            cfg.decoder.exact_time = true;
        }
        cfg.decoder.kind = match (readout.kind.as_str(), stated) {
            ("I", _) => DecoderKind::Membrane,
            (_, Some("first_spike")) => DecoderKind::FirstSpike,
            (_, Some("temporal")) => DecoderKind::Temporal,
            (_, s) => {
                notes.push(format!(
                    "the graph does not state how classes are read from output neurons \
                     (metadata decoder{}): taken as ttfs's temporal decoder",
                    s.map(|s| format!(" is `{s}`")).unwrap_or_default()
                ));
                DecoderKind::Temporal
            }
        };
    }
    let membrane = cfg.decoder.kind == DecoderKind::Membrane;
    if membrane != (readout.kind == "I") {
        bail!(
            "{}: a {} readout, but the graph's decoder is `{}`",
            at(readout),
            readout.kind,
            stated.unwrap_or("?")
        );
    }
    if cfg.decoder.kind == DecoderKind::Count {
        bail!("the graph's decoder is `count`, which NIR's IF cannot state");
    }
    Ok(())
}

/// Compare the graph's `decoder_weights` (and `decoder_weight_drops`) with the config's
/// weighting; weights no weighting gives become learned weights, returned as the parameter
/// `decoder.time_weights` (`[w[-1], w[0], ..., w[T-1]]`).
pub(super) fn decoder_weights(
    graph: &Graph,
    cfg: &mut crate::model::ModelConfig,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<f32>>> {
    let t = cfg.time_steps;
    let Some(v) = graph.get_meta("decoder_weights") else {
        notes.push(format!(
            "the graph does not state the decoder's time weights (metadata decoder_weights): \
             ttfs's for {}",
            cfg.decoder
        ));
        return Ok(None);
    };
    let (_, w) = floats(v).context("metadata decoder_weights")?;
    if w.len() != t {
        bail!(
            "metadata decoder_weights has {} values for time_steps = {t}",
            w.len()
        );
    }
    let drops = match graph.get_meta("decoder_weight_drops") {
        Some(v) => Some(floats(v).context("metadata decoder_weight_drops")?.1),
        None => None,
    };
    if drops.as_ref().is_some_and(|d| d.len() != t) {
        bail!("metadata decoder_weight_drops has a length other than time_steps = {t}");
    }
    let mut fixed = cfg.decoder.clone();
    fixed.learn_weights = false;
    let same = decoder::time_weights(&fixed, t) == w
        && drops
            .as_ref()
            .is_none_or(|d| *d == decoder::time_weight_drops(&fixed, t));
    if same && !cfg.decoder.learn_weights {
        return Ok(None);
    }
    if !matches!(
        cfg.decoder.kind,
        DecoderKind::Temporal | DecoderKind::Membrane
    ) {
        bail!(
            "metadata decoder_weights: the {:?} decoder's weights are fixed by its definition, \
             and these differ from them",
            cfg.decoder.kind
        );
    }
    if !cfg.decoder.learn_weights {
        notes.push(
            "the decoder's time weights match no weighting of ttfs: imported as learned \
             weights (model.decoder.learn_weights)"
                .into(),
        );
    }
    cfg.decoder.learn_weights = true;
    // w[-1] is the first drop above w[0]; without drops, the weighting's step before 0.
    let first_drop = match &drops {
        Some(d) => d[0],
        None => decoder::time_weight_drops(&fixed, t)[0],
    };
    let mut before = w[0] + first_drop;
    // Back to the exact drop where float rounding allows (`host_weights` subtracts them).
    for _ in 0..4 {
        let got = before - w[0];
        if got == first_drop {
            break;
        }
        before = if got < first_drop {
            next_up(before)
        } else {
            next_down(before)
        };
    }
    Ok(Some(std::iter::once(before).chain(w).collect()))
}

fn next_up(x: f32) -> f32 {
    if x == 0.0 {
        f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

fn next_down(x: f32) -> f32 {
    -next_up(-x)
}
