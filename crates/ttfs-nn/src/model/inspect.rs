//! Reading a model from outside the training step: the names of its layers, which of them
//! spike, first-spike times, a layer's output or a neuron's input current after a forward
//! pass, and the active fractions of a banded surrogate (monitors, reports, NIR export).

use super::Model;
use crate::layers::LayerKind;

impl Model {
    /// A reader's name for every layer, after the names its synapses have in checkpoints:
    /// a synapse is `conv1` or `fc2`, the neurons it feeds carry its name too (a monitor shows
    /// their spikes as that layer's), a pooling after them is `conv1 + first-spike pool k2 s2`.
    pub fn layer_names(&self) -> Vec<String> {
        let mut synapse = String::from("input");
        self.layers
            .iter()
            .map(|l| match l.kind() {
                LayerKind::Synapse => {
                    let params = l.params();
                    let name = params
                        .first()
                        .map_or("synapse", |p| p.name.split('.').next().unwrap_or(&p.name));
                    synapse = name.to_string();
                    synapse.clone()
                }
                LayerKind::Neuron => synapse.clone(),
                LayerKind::Pool => format!("{synapse} + {}", l.describe()),
                LayerKind::Reshape => l.describe(),
            })
            .collect()
    }

    /// The fraction of active (step, neuron) entries of every hidden spiking layer with a
    /// banded surrogate since the last call, in order (see [`Layer::take_active`]).
    pub fn take_active_fractions(&mut self) -> Vec<f64> {
        self.layers
            .iter_mut()
            .filter_map(|l| l.take_active())
            // NaN: not counted (a first neuron on a constant current runs its backward in
            // the model, not the layer).
            .map(|(a, n)| {
                if n == 0 {
                    f64::NAN
                } else {
                    a as f64 / n as f64
                }
            })
            .collect()
    }

    /// The layers of spiking neurons (`if1`, `if2`, ... by model layer index), then `out` for
    /// the decoder's output neurons when they spike (see `layer_names.rs`).
    pub fn spiking_layers(&self) -> Vec<(String, Option<usize>)> {
        let names = self.node_names();
        let mut v: Vec<(String, Option<usize>)> = self
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_neuron())
            .map(|(i, _)| (names[i].clone(), Some(i)))
            .collect();
        if self.decoder.spiking() {
            v.push((crate::layer_names::SPIKING_READOUT.into(), None));
        }
        v
    }

    /// After a forward pass: for every layer of [`Model::spike_layers`] (spiking neurons,
    /// pooled spikes, the output neurons) its name, frame and the step of each unit's first
    /// nonzero output, `[B, units]` (`T` for a unit that never fired).
    pub fn first_spike_times(&self) -> Vec<(String, Vec<usize>, Vec<u32>)> {
        let t = self.cfg.time_steps;
        let b = self.acts[0].shape[1];
        self.spike_layers()
            .into_iter()
            .map(|l| {
                let (x, frame) = self.layer_output(l.layer);
                let n = x.len() / (t * b);
                let mut first = vec![t as u32; b * n];
                for step in (0..t).rev() {
                    let row = &x[step * b * n..(step + 1) * b * n];
                    for (f, &v) in first.iter_mut().zip(row) {
                        if v != 0.0 {
                            *f = step as u32;
                        }
                    }
                }
                (l.name, frame, first)
            })
            .collect()
    }

    /// After a forward pass: the output of layer `i` (`layers.len()`: the decoder's, spikes
    /// or membrane potentials), `[T, B, frame...]` on the host (no copy on the CPU), and its
    /// frame.
    pub fn layer_output(&self, i: usize) -> (std::borrow::Cow<'_, [f32]>, Vec<usize>) {
        if i == self.layers.len() {
            (self.decoder.out.data.read(), vec![self.classes()])
        } else {
            (self.acts[i + 1].data.read(), self.frames[i + 1].clone())
        }
    }

    /// After a forward pass: the input current of spiking layer `i` (`layers.len()`: the
    /// decoder's output neurons) and its number of steps, `T`, or 1 for the constant current
    /// the first neuron of a direct-encoded input takes once (`[1, B, units...]`).
    pub fn neuron_input(&self, i: usize) -> (Vec<f32>, usize) {
        if self.constant_neuron && i == self.static_prefix() {
            (self.static_out.data.to_vec(), 1)
        } else {
            (self.acts[i].data.to_vec(), self.acts[i].shape[0])
        }
    }
}
