//! Import: an NIR graph of the kinds ttfs exports (see `nir.rs`) as a ttfs model, so that a
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

use crate::config::Config;
use crate::decoder::{self, DecoderKind};
use crate::encoding::{Encoding, ZeroInput};
use crate::model::{Model, ModelConfig};
use crate::nir::{Graph, Node, Value};
use crate::rng::Rng;
use crate::spec::LayerSpec;
use crate::weight_norm::Norm;
use anyhow::{bail, Context, Result};

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

/// The input frame, the ttfs layers, the synapses' weights in order and the readout node.
fn layers<'g>(graph: &'g Graph, opts: &ImportOptions, input_spikes: bool) -> Result<Layers<'g>> {
    let nodes = &graph.nodes;
    let input = &nodes[0];
    let frame = usizes(field(input, "shape")?).with_context(|| at(input))?;
    if !(frame.len() == 1 || frame.len() == 3) || frame.contains(&0) {
        bail!(
            "{}: input shape {frame:?}: ttfs takes [C, H, W] maps or [F] features",
            at(input)
        );
    }
    let (mut shape, mut layers, mut synapses) = (frame.clone(), Vec::new(), Vec::new());
    // Whether the signal is spikes: pooling by SumPool2d + IF is a maximum only of spikes.
    let mut spikes = input_spikes;
    // Files ttfs wrote state its `>=` rule (older ones exported pooled IF nodes at threshold 1).
    let ge_rule = matches!(graph.get_meta("neuron_rule"), Some(Value::Str(s)) if s.contains(">= v_threshold"));
    let last = nodes.len() - 2;
    let mut i = 1;
    while i <= last {
        let n = &nodes[i];
        let next = &nodes[i + 1];
        let ctx = || at(n);
        match n.kind.as_str() {
            "Affine" | "Linear" => {
                let (ws, w) = floats(field(n, "weight")?).with_context(ctx)?;
                let inputs: usize = shape.iter().product();
                if ws.len() != 2 || ws[1] != inputs {
                    bail!("{}: weight {ws:?} where [out, {inputs}] was expected (the layer receives {shape:?})", at(n));
                }
                let b = bias(n, ws[0])?;
                layers.push(LayerSpec::Linear { out: ws[0] });
                synapses.push((n.name.clone(), ws.clone(), w, b));
                shape = vec![ws[0]];
                spikes = false;
            }
            "Conv2d" => {
                let (ws, w) = floats(field(n, "weight")?).with_context(ctx)?;
                if ws.len() != 4 || ws[2] != ws[3] {
                    bail!(
                        "{}: weight {ws:?}: ttfs convolutions have square kernels [out, in, K, K]",
                        at(n)
                    );
                }
                if shape.len() != 3 || shape[0] != ws[1] {
                    bail!(
                        "{}: weight {ws:?} for {shape:?} maps: the input channels differ",
                        at(n)
                    );
                }
                let stride = square(n, "stride")?;
                let pad = square(n, "padding")?;
                if n.get("dilation").is_some() && square(n, "dilation")? != 1 {
                    bail!("{}: dilated convolutions are not a ttfs layer", at(n));
                }
                if n.get("groups").is_some_and(|g| int(g).ok() != Some(1)) {
                    bail!("{}: grouped convolutions are not a ttfs layer", at(n));
                }
                if stride == 0 || shape[1] + 2 * pad < ws[2] || shape[2] + 2 * pad < ws[2] {
                    bail!("{}: kernel {} at stride {stride}, padding {pad} does not fit the {shape:?} maps", at(n), ws[2]);
                }
                let b = bias(n, ws[0])?;
                let out = |d: usize| (d + 2 * pad - ws[2]) / stride + 1;
                shape = vec![ws[0], out(shape[1]), out(shape[2])];
                layers.push(LayerSpec::Conv {
                    out: ws[0],
                    k: ws[2],
                    stride,
                    pad,
                });
                synapses.push((n.name.clone(), ws, w, b));
                spikes = false;
            }
            "AvgPool2d" | "SumPool2d" => {
                let k = square(n, "kernel_size")?;
                let stride = square(n, "stride")?;
                if square(n, "padding")? != 0 {
                    bail!("{}: padded pooling is not a ttfs layer", at(n));
                }
                if shape.len() != 3 || k == 0 || stride == 0 || shape[1] < k || shape[2] < k {
                    bail!("{}: window {k} at stride {stride} does not fit the {shape:?} maps it receives", at(n));
                }
                shape = vec![
                    shape[0],
                    (shape[1] - k) / stride + 1,
                    (shape[2] - k) / stride + 1,
                ];
                if n.kind == "AvgPool2d" {
                    layers.push(LayerSpec::AvgPool { k, stride });
                } else {
                    layers.push(spike_pool(n, next, &shape, spikes, ge_rule, opts)?);
                    i += 1;
                }
            }
            "IF" if i == last => {}
            "IF" => {
                neuron(n, &shape, opts)?;
                layers.push(LayerSpec::Neuron);
                spikes = true;
            }
            "I" if i == last => {}
            "Flatten" => {
                flatten(n, &shape)?;
                // ttfs flattens before an fc by itself; elsewhere the token says so.
                if shape.len() > 1 && next.kind != "Affine" && next.kind != "Linear" {
                    layers.push(LayerSpec::Flatten);
                }
                shape = vec![shape.iter().product()];
            }
            "I" | "LI" => bail!(
                "{}: a non-spiking integrator is a ttfs layer only as the membrane readout, \
                 right before the Output node",
                at(n)
            ),
            k => bail!(
                "{}: ttfs has no `{k}` layer; it imports Affine, Linear, Conv2d, AvgPool2d, \
                 SumPool2d + IF (spike pooling), Flatten, IF (integrate-and-fire, r = 1, \
                 threshold 1, firing once) and a last IF or I before the Output",
                at(n)
            ),
        }
        i += 1;
    }
    let readout = &nodes[last];
    match readout.kind.as_str() {
        "IF" => neuron(readout, &shape, opts)?,
        "I" => {
            let (_, r) = floats(field(readout, "r")?).with_context(|| at(readout))?;
            if r.len() != shape.iter().product::<usize>() || r.iter().any(|&x| x != 1.0) {
                bail!("{}: ttfs's membrane readout integrates with r = 1 for each of the {shape:?} outputs", at(readout));
            }
        }
        k => bail!(
            "{}: the node before the Output is {k}; ttfs reads classes from output neurons (IF) \
             or their potentials (I)",
            at(readout)
        ),
    }
    if !matches!(
        layers.last(),
        Some(LayerSpec::Linear { .. } | LayerSpec::Conv { .. })
    ) {
        bail!(
            "{}: the readout must follow a synapse (Affine, Linear or Conv2d) directly",
            at(readout)
        );
    }
    if shape.len() != 1 {
        bail!(
            "{}: the outputs are {shape:?} maps; ttfs classifies with one unit per class",
            at(readout)
        );
    }
    Ok((frame, layers, synapses, readout))
}

/// `SumPool2d` + `IF` on spikes: first-spike pooling (fire-once) or spike max pooling.
fn spike_pool(
    pool: &Node,
    n: &Node,
    shape: &[usize],
    spikes: bool,
    ge_rule: bool,
    opts: &ImportOptions,
) -> Result<LayerSpec> {
    let (k, stride) = (square(pool, "kernel_size")?, square(pool, "stride")?);
    if n.kind != "IF" {
        bail!(
            "{}: a SumPool2d is a ttfs layer only followed by an IF node (spike max pooling); \
             here {} follows",
            at(pool),
            at(n)
        );
    }
    if !spikes {
        bail!(
            "{}: SumPool2d + IF pools real-valued currents here; ttfs pools them only by \
             average (AvgPool2d)",
            at(pool)
        );
    }
    let (r, th, reset) = if_fields(n, shape)?;
    // Its input is a whole number of spikes: one spike must fire it and none must not, under
    // the rule the graph states (ttfs's `>=` in files it wrote, else NIR's `>`).
    for (&r, &th) in r.iter().zip(&th) {
        if !(th > 0.0 && (r > th || (r == th && ge_rule))) {
            bail!(
                "{}: v_threshold {th} with r {r}: for spike pooling one spike must reach the \
                 threshold and none must not (0 < v_threshold < r)",
                at(n)
            );
        }
    }
    if fire_once(n, opts)? {
        Ok(LayerSpec::FirstSpikePool { k, stride })
    } else {
        if reset.iter().any(|&v| v != 0.0) {
            bail!("{}: spike max pooling resets to 0 (v_reset = 0)", at(n));
        }
        Ok(LayerSpec::MaxPool { k, stride })
    }
}

/// A hidden or output IF node: ttfs's neuron (r = 1, threshold 1, fire-once).
fn neuron(n: &Node, shape: &[usize], opts: &ImportOptions) -> Result<()> {
    let (r, th, _) = if_fields(n, shape)?;
    if r.iter().any(|&x| x != 1.0) || th.iter().any(|&x| x != 1.0) {
        bail!(
            "{}: ttfs neurons integrate with r = 1 up to threshold 1; this node has r in [{}, \
             {}] and v_threshold in [{}, {}] (scale the weights and bias feeding it by \
             r / v_threshold to get the same spikes)",
            at(n),
            min(&r),
            max(&r),
            min(&th),
            max(&th)
        );
    }
    if !fire_once(n, opts)? {
        bail!(
            "{}: this IF node fires repeatedly (metadata fire_once = 0); ttfs neurons fire at \
             most once",
            at(n)
        );
    }
    Ok(())
}

/// `r`, `v_threshold` and `v_reset` (0 where absent, as `nir.read` does) of an IF node of
/// `shape`.
fn if_fields(n: &Node, shape: &[usize]) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let units: usize = shape.iter().product();
    let get = |k: &str, absent: Option<f32>| -> Result<Vec<f32>> {
        let v = match (n.get(k), absent) {
            (None, Some(d)) => vec![d; units],
            (None, None) => bail!("{}: no `{k}` field", at(n)),
            (Some(v), _) => floats(v).with_context(|| format!("{}: `{k}`", at(n)))?.1,
        };
        if v.len() != units {
            bail!(
                "{}: `{k}` has {} values for the {shape:?} units it receives",
                at(n),
                v.len()
            );
        }
        Ok(v)
    };
    Ok((
        get("r", None)?,
        get("v_threshold", None)?,
        get("v_reset", Some(0.0))?,
    ))
}

/// Whether an IF node fires at most once: `metadata.fire_once`, or `--fire-once`.
fn fire_once(n: &Node, opts: &ImportOptions) -> Result<bool> {
    match n.get_meta("fire_once") {
        Some(v) => Ok(int(v).with_context(|| format!("{}: metadata fire_once", at(n)))? == 1),
        None if opts.assume_fire_once => Ok(true),
        None => bail!(
            "{}: the node does not state metadata fire_once = 1, so its neurons fire \
             repeatedly; ttfs neurons fire at most once (--fire-once imports it as fire-once, \
             which changes what the network computes)",
            at(n)
        ),
    }
}

/// A `Flatten` must flatten a whole sample (NIR shapes have no batch dimension).
fn flatten(n: &Node, shape: &[usize]) -> Result<()> {
    let dims = shape.len() as i64;
    let dim = |k: &str, absent: i64| -> Result<i64> {
        let d = match n.get(k) {
            Some(v) => int(v).with_context(|| format!("{}: `{k}`", at(n)))?,
            None => absent,
        };
        Ok(if d < 0 { d + dims } else { d })
    };
    let (start, end) = (dim("start_dim", 0)?, dim("end_dim", -1)?);
    if start != 0 || end != dims - 1 {
        bail!(
            "{}: flattens dims {start}..={end} of the {shape:?} sample; ttfs flattens a whole \
             sample (start_dim 0, end_dim -1: NIR shapes have no batch dimension)",
            at(n)
        );
    }
    Ok(())
}

/// The decoder kind: the readout node's, checked against the config ttfs stored, else the
/// graph's `decoder` metadata.
fn decoder_kind(
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
fn decoder_weights(
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

fn at(n: &Node) -> String {
    format!("node `{}` ({})", n.name, n.kind)
}

fn field<'a>(n: &'a Node, k: &str) -> Result<&'a Value> {
    n.get(k)
        .with_context(|| format!("{}: no `{k}` field", at(n)))
}

fn floats(v: &Value) -> Result<(Vec<usize>, Vec<f32>)> {
    match v {
        Value::F32(s, d) => Ok((s.clone(), d.clone())),
        Value::I64(s, d) => Ok((s.clone(), d.iter().map(|&x| x as f32).collect())),
        Value::Str(_) => bail!("a string where numbers were expected"),
    }
}

fn usizes(v: &Value) -> Result<Vec<usize>> {
    match v {
        Value::I64(_, d) if d.iter().all(|&x| x >= 0) => {
            Ok(d.iter().map(|&x| x as usize).collect())
        }
        _ => bail!("expected whole numbers of 0 or more, got {v:?}"),
    }
}

/// A single whole number (a scalar, or an array of one).
fn int(v: &Value) -> Result<i64> {
    match v {
        Value::I64(_, d) if d.len() == 1 => Ok(d[0]),
        _ => bail!("expected one whole number, got {v:?}"),
    }
}

fn positive(v: i64, what: &str) -> Result<usize> {
    if v < 1 {
        bail!("{what} is {v}; it must be at least 1");
    }
    Ok(v as usize)
}

/// A field that ttfs takes as one value for both spatial dimensions.
fn square(n: &Node, k: &str) -> Result<usize> {
    let v = usizes(field(n, k)?).with_context(|| format!("{}: `{k}`", at(n)))?;
    match v[..] {
        [a] => Ok(a),
        [a, b] if a == b => Ok(a),
        _ => bail!(
            "{}: `{k}` is {v:?}; ttfs takes the same value for height and width",
            at(n)
        ),
    }
}

/// The bias of `n` (`[out]`), zeros for a `Linear` node.
fn bias(n: &Node, out: usize) -> Result<Vec<f32>> {
    match n.get("bias") {
        None if n.kind == "Linear" => Ok(vec![0.0; out]),
        _ => {
            let (s, b) = floats(field(n, "bias")?).with_context(|| at(n))?;
            if b.len() != out {
                bail!("{}: bias {s:?} for {out} outputs", at(n));
            }
            Ok(b)
        }
    }
}

fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, f32::min)
}

fn max(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}
