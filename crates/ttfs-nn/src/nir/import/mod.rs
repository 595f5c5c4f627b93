//! Import: an NIR graph of the kinds ttfs exports (see the `nir` module) as a ttfs model, so that a
//! graph from another tool can be evaluated and fine-tuned here, and a ttfs export comes back
//! bit for bit (`tests/nir_import.rs`).
//!
//! Exported weights are folded (weight normalization and its affine transform are gone), so
//! the imported model has plain weights and biases, `model.norm = "none"`: its effective
//! weights are the file's, bit for bit, and it trains as a plain network. Each node becomes:
//!
//! | NIR nodes | ttfs layer |
//! |---|---|
//! | `Affine` / `Linear` | `fc<N>` |
//! | `Conv2d` (square kernel, equal strides and paddings, no dilation, one group) | `conv<C>k<K>s<S>p<P>` |
//! | `AvgPool2d` (no padding) | `ap<K>s<S>` (folded into a convolution before it, as ttfs always does) |
//! | `SumPool2d` + `IF` (fire-once) on spikes | `fp<K>s<S>` |
//! | `SumPool2d` + `IF` (reset to 0) on spikes | `mp<K>s<S>` |
//! | `IF` (r = 1, threshold 1, fire-once) | `if` |
//! | `Flatten` of a whole sample | `flat` (implied before `fc`) |
//! | last `IF` / `I` before `Output` | the decoder's output neurons / membrane readout |
//!
//! What ttfs cannot represent is an error naming the node and what would be needed. The rest
//! of the model config comes from the graph's metadata: `ttfs_model_config` when ttfs wrote
//! it, else `time_steps`, `input_encoding`, `decoder`, `decoder_weights` and
//! `decoder_exact_time`, with ttfs's defaults (reported in [`Imported::notes`]) for what a
//! graph does not state. Decoder time weights that no weighting of ttfs gives are imported as
//! learned weights (`model.decoder.learn_weights`).
//!
//! `layers.rs` walks the nodes, `readout.rs` reads the decoder, `fields.rs` the nodes' typed
//! fields; this file assembles the config and the model.

mod fields;
mod layers;
mod readout;

use crate::config::Config;
use crate::encoding::{Encoding, ZeroInput};
use crate::model::{Model, ModelConfig};
use crate::nir::{Graph, Node, Value};
use crate::rng::Rng;
use crate::spec::LayerSpec;
use crate::weight_norm::Norm;
use anyhow::{bail, Context, Result};
use fields::{int, positive};
use layers::layers;
use readout::{decoder_kind, decoder_weights};

/// What the graph does not state and the import must be told.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// T, for a graph without `metadata.time_steps`.
    pub time_steps: Option<usize>,
    /// Take IF nodes without `metadata.fire_once = 1` as fire-once neurons (ttfs's only kind),
    /// which changes what a graph of neurons that fire repeatedly computes.
    pub assume_fire_once: bool,
}

/// An imported model and its config (`norm = "none"`: plain weights).
pub struct Imported {
    pub config: ModelConfig,
    pub model: Model,
    /// What was assumed because the graph does not state it (one line each).
    pub notes: Vec<String>,
}

/// One synapse's weights as the file holds them: `(node, shape, weight, bias)`.
type Synapse = (String, Vec<usize>, Vec<f32>, Vec<f32>);

/// What the walk along the nodes finds: the input frame, the ttfs layers, the synapses'
/// weights in order and the readout node.
type Layers<'g> = (Vec<usize>, Vec<LayerSpec>, Vec<Synapse>, &'g Node);

/// Build the model `graph` describes. Errors name the node; the caller adds the file.
pub fn import(graph: &Graph, opts: &ImportOptions) -> Result<Imported> {
    let mut notes = Vec::new();
    let mut cfg = base_config(graph, opts, &mut notes)?;
    let (frame, layers, synapses, readout) =
        layers(graph, opts, cfg.encoding == Encoding::Latency)?;
    cfg.spec = layers
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    decoder_kind(graph, &mut cfg, readout, &mut notes)?;
    // The file's weights are the effective ones: plain synapses take them bit for bit, and
    // nothing of the original's initialization applies.
    cfg.norm = Norm::None;
    cfg.init_firing = None;
    cfg.synapse_gains.clear();
    let learned = decoder_weights(graph, &mut cfg, &mut notes)?;
    cfg.decoder.validate().context("the graph's decoder")?;
    let mut model = Model::new(&cfg, &frame, &mut Rng::new(0))
        .with_context(|| format!("the graph's layers as the ttfs model `{}`", cfg.spec))?;
    let mut values = synapses
        .iter()
        .flat_map(|(node, shape, w, b)| {
            [
                (node.clone(), shape.clone(), w.clone()),
                (node.clone(), vec![shape[0]], b.clone()),
            ]
        })
        .chain(learned.map(|u| ("metadata decoder_weights".to_string(), vec![u.len()], u)));
    for p in model.params_mut() {
        let (node, shape, v) = values
            .next()
            .context("the graph has fewer synapses than its layers need")?;
        if shape != p.shape {
            bail!(
                "node `{node}`: shape {shape:?} where the ttfs layer `{}` needs {:?}",
                p.name,
                p.shape
            );
        }
        p.value.write(&v);
    }
    Ok(Imported {
        config: cfg,
        model,
        notes,
    })
}

/// The model config before the layers: the one ttfs stored, else ttfs's defaults with what
/// the graph's metadata states.
fn base_config(
    graph: &Graph,
    opts: &ImportOptions,
    notes: &mut Vec<String>,
) -> Result<ModelConfig> {
    let stated_t = match graph.get_meta("time_steps") {
        Some(v) => Some(positive(
            int(v).context("metadata time_steps")?,
            "metadata time_steps",
        )?),
        None => None,
    };
    let mut cfg = match graph.get_meta("ttfs_model_config") {
        Some(Value::Str(text)) => {
            Config::from_stored_toml(text, "the graph's metadata ttfs_model_config")?.model
        }
        _ => ModelConfig::default(),
    };
    let from_ttfs = graph.get_meta("ttfs_model_config").is_some();
    cfg.time_steps = match (stated_t, opts.time_steps) {
        (Some(t), Some(o)) if t != o => {
            bail!("--time-steps {o} contradicts the graph's metadata time_steps = {t}")
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => bail!(
            "the graph does not state its number of time steps (metadata time_steps): give \
             --time-steps T"
        ),
    };
    if !from_ttfs {
        match graph.get_meta("input_encoding") {
            Some(Value::Str(s)) if s.starts_with("direct") => cfg.encoding = Encoding::Direct,
            Some(Value::Str(s)) if s.starts_with("latency") => {
                cfg.encoding = Encoding::Latency;
                cfg.zero_input = if s.contains("never fires") {
                    ZeroInput::Silent
                } else {
                    ZeroInput::Last
                };
            }
            Some(v) => {
                bail!("metadata input_encoding {v:?}: ttfs knows `direct` and `latency` encodings")
            }
            None => notes.push(
                "the graph does not state its input encoding (metadata input_encoding): \
                 taken as `direct`, the input as a constant current at every step"
                    .into(),
            ),
        }
    }
    Ok(cfg)
}
