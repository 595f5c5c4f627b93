//! The walk along the graph's nodes: each node checked and turned into a ttfs layer, the
//! synapses' weights collected in order, the readout node found.

use super::fields::{at, bias, field, floats, int, max, min, square, usizes};
use super::{ImportOptions, Layers};
use crate::nir::{Graph, Node, Value};
use crate::spec::LayerSpec;
use anyhow::{bail, Context, Result};

/// The input frame, the ttfs layers, the synapses' weights in order and the readout node.
pub(super) fn layers<'g>(
    graph: &'g Graph,
    opts: &ImportOptions,
    input_spikes: bool,
) -> Result<Layers<'g>> {
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
