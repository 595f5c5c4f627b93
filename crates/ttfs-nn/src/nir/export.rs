//! Export: a model as an NIR graph (see `nir.rs` for the nodes each layer becomes) and the
//! graph as the `nir` package's HDF5 file.

use crate::decoder::DecoderKind;
use crate::encoding::{Encoding, ZeroInput};
use crate::layers::{LayerKind, Plain};
use crate::model::Model;
use crate::nir::{Graph, Node, Value, NIR_VERSION};
use anyhow::{bail, Context, Result};
use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};
use std::path::Path;

/// The threshold of an IF node fed by a `SumPool2d` of spikes (`fp`, `mp`). Its input is a
/// whole number of spikes, so with a threshold strictly between 0 and 1 one spike fires under
/// ttfs's `v >= threshold` and under NIR's `v > threshold` alike; at 1 (the threshold of the
/// other IF nodes) NIR's rule needed two spikes in the window.
pub const POOL_THRESHOLD: f32 = 0.5;

/// An IF node of `shape` (r = 1, reset 0).
fn if_node(name: &str, shape: &[usize], threshold: f32, fire_once: bool, what: &str) -> Node {
    let n: usize = shape.iter().product();
    Node::new(name, "IF")
        .field("r", Value::floats(shape, vec![1.0; n]))
        .field("v_threshold", Value::floats(shape, vec![threshold; n]))
        .field("v_reset", Value::floats(shape, vec![0.0; n]))
        .meta("fire_once", Value::int(fire_once as i64))
        .meta("ttfs_layer", Value::Str(what.into()))
}

fn pool_fields(node: Node, k: usize, stride: usize) -> Node {
    node.field("kernel_size", Value::ints(&[k, k]))
        .field("stride", Value::ints(&[stride, stride]))
        .field("padding", Value::ints(&[0, 0]))
}

/// The graph of `model` (its parameters folded; see the module docs).
pub fn graph(model: &mut Model) -> Result<Graph> {
    let cfg = model.cfg.clone();
    let t = cfg.time_steps;
    if cfg.decoder.kind == DecoderKind::Count {
        bail!(
            "NIR export: the `count` decoder's output neurons fire repeatedly and reset by \
             subtraction, which NIR's IF (reset to v_reset) cannot state; export a model with \
             the temporal, first_spike or membrane decoder"
        );
    }
    let frames = model.frames.clone();
    let mut nodes = vec![Node::new("input", "Input").field("shape", Value::ints(&frames[0]))];
    // Whether the signal entering each layer is spikes (for max pooling).
    let mut spikes = cfg.encoding == Encoding::Latency;
    let (mut n_if, mut n_pool, mut n_flat) = (0, 0, 0);
    for (i, layer) in model.layers.iter_mut().enumerate() {
        let (fin, fout) = (&frames[i], &frames[i + 1]);
        let what = layer.describe();
        // Synapses are named like their parameters (`conv1.weight` -> `conv1`).
        let pname = layer
            .params()
            .first()
            .map(|p| p.name.split('.').next().unwrap_or("").to_string());
        match layer.plain() {
            Plain::Linear { w, b, n_in, n_out } => {
                let name = pname.context("a linear layer has parameters")?;
                nodes.push(
                    Node::new(&name, "Affine")
                        .field("weight", Value::floats(&[n_out, n_in], w))
                        .field("bias", Value::floats(&[n_out], b))
                        .meta("ttfs_layer", Value::Str(what)),
                );
            }
            Plain::Conv {
                w,
                b,
                in_c,
                out_c,
                k,
                stride,
                pad,
                pool,
            } => {
                let name = pname.context("a convolution has parameters")?;
                nodes.push(
                    Node::new(&name, "Conv2d")
                        .field("input_shape", Value::ints(&fin[1..]))
                        .field("weight", Value::floats(&[out_c, in_c, k, k], w))
                        .field("stride", Value::ints(&[stride, stride]))
                        .field("padding", Value::ints(&[pad, pad]))
                        .field("dilation", Value::ints(&[1, 1]))
                        .field("groups", Value::int(1))
                        .field("bias", Value::floats(&[out_c], b))
                        .meta("ttfs_layer", Value::Str(what.clone())),
                );
                if pool > 1 {
                    nodes.push(
                        pool_fields(Node::new(&format!("{name}_pool"), "AvgPool2d"), pool, pool)
                            .meta(
                                "ttfs_layer",
                                Value::Str(format!(
                                    "avgpool k{pool} s{pool} (folded into {name} by ttfs)"
                                )),
                            ),
                    );
                }
            }
            Plain::AvgPool { k, stride } => {
                n_pool += 1;
                nodes.push(
                    pool_fields(Node::new(&format!("pool{n_pool}"), "AvgPool2d"), k, stride)
                        .meta("ttfs_layer", Value::Str(what)),
                );
            }
            Plain::MaxPool {
                k,
                stride,
                first_only,
            } => {
                if !spikes {
                    bail!(
                        "NIR export: layer {i} ({what}) takes the maximum of currents, which no \
                         NIR node computes; pool spikes (`conv.. if fp2`) or currents by \
                         average (`conv.. ap2 if`)"
                    );
                }
                n_pool += 1;
                let name = format!("pool{n_pool}");
                nodes.push(
                    pool_fields(Node::new(&format!("{name}_sum"), "SumPool2d"), k, stride)
                        .meta("ttfs_layer", Value::Str(what.clone())),
                );
                nodes.push(if_node(&name, fout, POOL_THRESHOLD, first_only, &what));
            }
            Plain::Neuron { fire_once } => {
                n_if += 1;
                nodes.push(if_node(&format!("if{n_if}"), fout, 1.0, fire_once, &what));
            }
            Plain::Flatten => {
                n_flat += 1;
                nodes.push(
                    Node::new(&format!("flatten{n_flat}"), "Flatten")
                        .field("input_type", Value::ints(fin))
                        .field("start_dim", Value::int(0))
                        .field("end_dim", Value::int(-1)),
                );
            }
        }
        let kind = layer.kind();
        spikes = kind == LayerKind::Neuron
            || (spikes && matches!(kind, LayerKind::Pool | LayerKind::Reshape));
    }
    let classes = model.classes();
    let (readout, readout_doc) = match cfg.decoder.kind {
        DecoderKind::Membrane => (
            Node::new("readout", "I")
                .field("r", Value::floats(&[classes], vec![1.0; classes]))
                .meta("ttfs_layer", Value::Str("membrane readout".into())),
            "out[t, c] = v[t, c], the potential of the I node `readout` (no spikes)",
        ),
        _ => (
            if_node("out", &[classes], 1.0, true, "output neurons"),
            "out[t, c] = 1 at the step IF node `out` fires (fire-once), else 0",
        ),
    };
    nodes.push(readout);
    nodes.push(Node::new("output", "Output").field("shape", Value::ints(&[classes])));
    let (w, drops) = model.decoder.host_weights(t);
    let exact = cfg.decoder.exact_time && cfg.decoder.kind != DecoderKind::Membrane;
    let encoding = match (cfg.encoding, cfg.zero_input) {
        (Encoding::Direct, _) => {
            "direct: the input (intensities in [0, 1], after any normalization) is a constant \
             current at every one of the T steps"
                .to_string()
        }
        (Encoding::Latency, z) => format!(
            "latency: intensity x in [0, 1] is one spike at step round((1 - x) (T - 1)); x = 0 {}",
            if z == ZeroInput::Last {
                "fires at T - 1"
            } else {
                "never fires"
            }
        ),
    };
    let mut metadata = vec![
        (
            "source".into(),
            Value::Str(format!("ttfs {}", env!("CARGO_PKG_VERSION"))),
        ),
        ("model_spec".into(), Value::Str(cfg.spec.clone())),
        // The whole model section, so that `ttfs import nir` rebuilds the same model (the
        // decoder, the encoding, the surrogate a fine-tuning run trains with).
        (
            "ttfs_model_config".into(),
            Value::Str(crate::config::Config::model_toml(&cfg)),
        ),
        ("time_steps".into(), Value::int(t as i64)),
        ("dt".into(), Value::F32(vec![], vec![1.0])),
        ("fire_once".into(), Value::int(1)),
        (
            "fire_once_rule".into(),
            Value::Str(
                "an IF node with metadata fire_once = 1 emits at most one spike per sample: \
                 after its first spike it stays silent until the state is reset for the next \
                 sample (its v_reset is never used)"
                    .into(),
            ),
        ),
        (
            "neuron_rule".into(),
            Value::Str(
                "discrete time, dt = 1: v[t] = v[t-1] + r * I[t], spike when v[t] >= \
                 v_threshold (then v = v_reset unless fire-once); every node runs at every \
                 step, in edge order. The IF nodes after a SumPool2d receive whole numbers of \
                 spikes and have v_threshold 0.5, so > and >= agree there for every input"
                    .into(),
            ),
        ),
        (
            "batch".into(),
            Value::Str(
                "node shapes are one sample's, without a batch dimension: Flatten start_dim = \
                 0 flattens a sample's whole [C, H, W] frame; a client that runs a batch of \
                 samples flattens from its dimension 1 (torch: Flatten(start_dim + 1, end_dim))"
                    .into(),
            ),
        ),
        ("input_encoding".into(), Value::Str(encoding)),
        (
            "decoder".into(),
            Value::Str(format!("{:?}", cfg.decoder.kind).to_lowercase()),
        ),
        ("decoder_weights".into(), Value::floats(&[t], w)),
        (
            "readout_rule".into(),
            Value::Str(format!(
                "class = argmax_c sum_t {weight} * out[t, c], with {readout_doc}; an \
                 early decision takes the sum up to the first step with an output event (a \
                 spike, or a potential >= 1)",
                weight = if exact {
                    "(decoder_weights[t] + (1 - f[t, c]) * decoder_weight_drops[t])"
                } else {
                    "decoder_weights[t]"
                }
            )),
        ),
    ];
    if exact {
        metadata.push(("decoder_weight_drops".into(), Value::floats(&[t], drops)));
        metadata.push((
            "decoder_exact_time".into(),
            Value::Str(
                "a spike's weight is read at the time its neuron crossed threshold within the \
                 step: f[t, c] = clamp((1 - v[t-1, c]) / max(v[t, c] - v[t-1, c], 0.1), 0, 1) \
                 of the step, from the potentials of IF node `out` (v[-1] = 0)"
                    .into(),
            ),
        ));
    }
    Ok(Graph { nodes, metadata })
}

/// Encode `graph` as an NIR HDF5 file.
pub fn to_bytes(graph: &Graph) -> Result<Vec<u8>> {
    fn put(b: Hdf5Builder, path: &str, v: &Value) -> Result<Hdf5Builder> {
        let shape = |s: &[usize]| s.iter().map(|&x| x as u64).collect::<Vec<u64>>();
        let ds = match v {
            Value::F32(s, d) => DatasetBuilder::typed_data(path, shape(s), d),
            Value::I64(s, d) => DatasetBuilder::typed_data(path, shape(s), d),
            Value::Str(s) => DatasetBuilder::vlen_string_data(path, Vec::<u64>::new(), &[s]),
        }
        .with_context(|| format!("NIR export: dataset {path}"))?;
        Ok(b.dataset(ds))
    }
    let mut b = Hdf5Builder::new();
    b = put(b, "version", &Value::Str(NIR_VERSION.into()))?;
    b = put(b, "node/type", &Value::Str("NIRGraph".into()))?;
    let edges: Vec<&str> = graph
        .nodes
        .windows(2)
        .flat_map(|p| [p[0].name.as_str(), p[1].name.as_str()])
        .collect();
    let n_edges = graph.nodes.len().saturating_sub(1) as u64;
    b = b.dataset(
        DatasetBuilder::vlen_string_data("node/edges", vec![n_edges, 2], &edges)
            .context("NIR export: edges")?,
    );
    for (k, v) in &graph.metadata {
        b = put(b, &format!("node/metadata/{k}"), v)?;
    }
    for n in &graph.nodes {
        let base = format!("node/nodes/{}", n.name);
        b = put(b, &format!("{base}/type"), &Value::Str(n.kind.clone()))?;
        for (k, v) in &n.fields {
            b = put(b, &format!("{base}/{k}"), v)?;
        }
        for (k, v) in &n.metadata {
            b = put(b, &format!("{base}/metadata/{k}"), v)?;
        }
    }
    let plan = b.into_plan().context("NIR export: HDF5 layout")?;
    plan.encode(WriteOptions::default())
        .context("NIR export: HDF5 encoding")
}

/// Write `model` as an NIR file at `path` (atomically).
pub fn export(model: &mut Model, path: &Path) -> Result<Graph> {
    let g = graph(model)?;
    let bytes = to_bytes(&g)?;
    crate::checkpoint::write_atomic(path, |w| w.write_all(&bytes))?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use crate::rng::Rng;

    fn model(spec: &str, decoder: &str) -> Model {
        let mut cfg = ModelConfig {
            spec: spec.into(),
            ..ModelConfig::default()
        };
        cfg.decoder.kind = serde_json::from_str(&format!("\"{decoder}\"")).unwrap();
        Model::new(&cfg, &[2, 8, 8], &mut Rng::new(1)).unwrap()
    }

    #[test]
    fn nodes_follow_the_layers_with_folded_weights() {
        let mut m = model("conv4k3p1 ap2 if conv6k3p1 if fp2 fc10", "temporal");
        let g = graph(&mut m).unwrap();
        let names: Vec<(&str, &str)> = g
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.kind.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("input", "Input"),
                ("conv1", "Conv2d"),
                ("conv1_pool", "AvgPool2d"),
                ("if1", "IF"),
                ("conv2", "Conv2d"),
                ("if2", "IF"),
                ("pool1_sum", "SumPool2d"),
                ("pool1", "IF"),
                ("flatten1", "Flatten"),
                ("fc3", "Affine"),
                ("out", "IF"),
                ("output", "Output"),
            ]
        );
        // The weights are the folded ones, not the raw parameters.
        let Plain::Conv { w, .. } = m.layers[0].plain() else {
            panic!()
        };
        assert_eq!(
            g.nodes[1].get("weight"),
            Some(&Value::F32(vec![4, 2, 3, 3], w.clone()))
        );
        assert_ne!(w, m.params()[0].value.to_vec());
        // One spike fires a pooled node under `>=` and `>` alike; the neurons keep 1.
        let threshold = |i: usize| match g.nodes[i].get("v_threshold") {
            Some(Value::F32(_, v)) => v[0],
            _ => panic!("node {i} has no threshold"),
        };
        assert_eq!((threshold(7), threshold(5), threshold(10)), (0.5, 1.0, 1.0));
        let bytes = to_bytes(&g).unwrap();
        assert_eq!(&bytes[..8], b"\x89HDF\r\n\x1a\n");
    }

    /// Learned time weights are exported as they were trained, not the weighting's formula.
    #[test]
    fn learned_time_weights_are_exported() {
        let mut cfg = ModelConfig {
            spec: "fc6 if fc3".into(),
            time_steps: 4,
            ..ModelConfig::default()
        };
        cfg.decoder.learn_weights = true;
        cfg.decoder.exact_time = true;
        let mut m = Model::new(&cfg, &[5], &mut Rng::new(1)).unwrap();
        let u = vec![9.0, 7.0, 4.0, 2.5, 0.5];
        m.decoder.time_weights.as_mut().unwrap().value.write(&u);
        let g = graph(&mut m).unwrap();
        let meta = |k: &str| {
            g.metadata
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let w = Value::F32(vec![4], vec![7.0, 4.0, 2.5, 0.5]);
        assert_eq!(meta("decoder_weights"), Some(w));
        let drops = Value::F32(vec![4], vec![2.0, 3.0, 1.5, 2.0]);
        assert_eq!(meta("decoder_weight_drops"), Some(drops));
    }

    #[test]
    fn unsupported_layers_are_clean_errors() {
        let e = graph(&mut model("conv4k3p1 mp2 if fc10", "temporal")).unwrap_err();
        assert!(e.to_string().contains("maximum of currents"), "{e}");
        let e = graph(&mut model("fc10", "count")).unwrap_err();
        assert!(e.to_string().contains("count"), "{e}");
        let g = graph(&mut model("fc10", "membrane")).unwrap();
        assert_eq!(g.nodes[g.nodes.len() - 2].kind, "I");
    }
}
