//! One set of names for a model's layers, used by everything that reports a layer's output:
//! the spike monitors of an evaluation (`metrics.rs`), first-spike times, spike trains and
//! membrane traces (`traces.rs`, the Python package), the raster plot, and the NIR export's
//! node names (`nir.rs`).
//!
//! Why one place: a user reading `evaluate()`'s monitors, `first_spike_times()` and the NIR
//! graph must find the same layer under the same name; with each writer naming layers its own
//! way they disagreed (`fc1` / `output` in monitors, `if1` / `out` in spike times and NIR).
//!
//! The names are the NIR node names: a synapse after its parameters (`fc1`, `conv2`), neurons
//! `if1`, `if2`, ..., pooling `pool1`, `pool2`, ..., flattening `flatten1`, ..., and the
//! decoder's output `out` (spiking) or `readout` (membrane potentials).

use crate::layers::LayerKind;
use crate::model::Model;

/// The decoder's output node when its neurons spike.
pub const SPIKING_READOUT: &str = "out";
/// The decoder's output node when the readout is the membrane potential.
pub const MEMBRANE_READOUT: &str = "readout";

/// A layer whose output is spikes (neurons), or spike maps pooled.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeLayer {
    pub name: String,
    /// Index of the layer in the model (`layers.len()`: the decoder's output neurons).
    pub layer: usize,
    /// `spikes`, or `pooled spikes` for pooling applied to spike maps.
    pub what: &'static str,
}

impl Model {
    /// The name of every layer's output (see the module docs), in layer order.
    pub fn node_names(&self) -> Vec<String> {
        let (mut n_if, mut n_pool, mut n_flat) = (0, 0, 0);
        self.layers
            .iter()
            .map(|l| match l.kind() {
                // Named like their parameters (`conv1.weight` -> `conv1`).
                LayerKind::Synapse => l.params().first().map_or_else(
                    || "synapse".to_string(),
                    |p| p.name.split('.').next().unwrap_or(&p.name).to_string(),
                ),
                LayerKind::Neuron => {
                    n_if += 1;
                    format!("if{n_if}")
                }
                LayerKind::Pool => {
                    n_pool += 1;
                    format!("pool{n_pool}")
                }
                LayerKind::Reshape => {
                    n_flat += 1;
                    format!("flatten{n_flat}")
                }
            })
            .collect()
    }

    /// The name of the decoder's output: [`SPIKING_READOUT`] or [`MEMBRANE_READOUT`].
    pub fn readout_name(&self) -> &'static str {
        if self.decoder.spiking() {
            SPIKING_READOUT
        } else {
            MEMBRANE_READOUT
        }
    }

    /// The layers whose outputs are spikes or pooled spikes, then the decoder's output
    /// neurons when they spike: what the monitors of an evaluation count, and what
    /// first-spike times and spike trains are reported for.
    pub fn spike_layers(&self) -> Vec<SpikeLayer> {
        let names = self.node_names();
        let mut carries_spikes = self.cfg.encoding == crate::encoding::Encoding::Latency;
        let mut v = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let kind = layer.kind();
            let is_pool = kind == LayerKind::Pool;
            let what = if layer.is_neuron() {
                Some("spikes")
            } else if is_pool && carries_spikes {
                Some("pooled spikes")
            } else {
                None
            };
            if let Some(what) = what {
                v.push(SpikeLayer {
                    name: names[i].clone(),
                    layer: i,
                    what,
                });
            }
            // Spike maps stay spike maps through pooling and flattening only.
            carries_spikes =
                layer.is_neuron() || ((is_pool || kind == LayerKind::Reshape) && carries_spikes);
        }
        if self.decoder.spiking() {
            v.push(SpikeLayer {
                name: SPIKING_READOUT.into(),
                layer: self.layers.len(),
                what: "spikes",
            });
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Model, ModelConfig};
    use crate::rng::Rng;

    fn model(spec: &str, decoder: &str, latency: bool) -> Model {
        let mut cfg = ModelConfig {
            spec: spec.into(),
            ..ModelConfig::default()
        };
        cfg.decoder.kind = serde_json::from_str(&format!("\"{decoder}\"")).unwrap();
        if latency {
            cfg.encoding = crate::encoding::Encoding::Latency;
        }
        Model::new(&cfg, &[2, 8, 8], &mut Rng::new(1)).unwrap()
    }

    /// Every name is a node of the NIR graph, so the export and the reports agree.
    #[test]
    fn names_are_the_nir_node_names() {
        for (spec, decoder) in [
            ("conv4k3p1 ap2 if conv6k3p1 if fp2 fc10", "temporal"),
            ("conv4k3p1 if ap2 fc12 if fc10", "membrane"),
            ("fc16 if fc10", "first_spike"),
        ] {
            let mut m = model(spec, decoder, false);
            let nodes: Vec<String> = crate::nir::graph(&mut m)
                .unwrap()
                .nodes
                .into_iter()
                .map(|n| n.name)
                .collect();
            for name in m
                .node_names()
                .into_iter()
                .chain([m.readout_name().to_string()])
            {
                assert!(nodes.contains(&name), "{spec}: {name} not in {nodes:?}");
            }
        }
    }

    #[test]
    fn spike_layers_include_pooled_spikes_and_the_output() {
        let m = model("conv4k3p1 ap2 if conv6k3p1 if fp2 fc10", "temporal", false);
        assert_eq!(
            m.node_names(),
            ["conv1", "if1", "conv2", "if2", "pool1", "flatten1", "fc3"]
        );
        let s: Vec<(String, usize, &str)> = m
            .spike_layers()
            .into_iter()
            .map(|l| (l.name, l.layer, l.what))
            .collect();
        assert_eq!(
            s,
            [
                ("if1".into(), 1, "spikes"),
                ("if2".into(), 3, "spikes"),
                ("pool1".into(), 4, "pooled spikes"),
                ("out".into(), 7, "spikes"),
            ]
        );
        // A membrane readout has no output spikes; a latency-coded input pooled is spikes.
        let m = model("ap2 if fc10", "membrane", true);
        let names: Vec<String> = m.spike_layers().into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["pool1", "if1"]);
        assert_eq!(m.readout_name(), "readout");
    }
}
