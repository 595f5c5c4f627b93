//! Spike trains and membrane potentials of every layer, step by step, for a data set run
//! through a model: what a researcher plots or compares with another simulator (the Python
//! package's `spike_trains` and `membrane_traces`). Layers carry the names of
//! `layer_names.rs`.
//!
//! The potentials are recomputed from each neuron layer's input current and its spikes: the
//! fused neuron kernel keeps potentials only in the form backward needs (masked after a
//! spike) and none at all for the constant current of a direct-encoded input. The rule is the
//! kernel's (`kernels/cpu/integrate_fire.rs`): `v[t] = v[t-1] + I[t]`, a spike when
//! `v[t] >= 1`; a multi-spike neuron then subtracts 1, a fire-once neuron is spent. A trace
//! holds `v[t]` before any reset (the value compared with the threshold), NaN after a
//! fire-once neuron's spike; summed here in step order, it may differ from the kernel's
//! running sum by float rounding.

use crate::data::batch::{assemble, InputSpec};
use crate::data::Dataset;
use crate::model::Model;
use crate::sizes;
use anyhow::{bail, Result};

/// The neurons' threshold (the kernel's).
const THRESHOLD: f32 = 1.0;

/// What to record of every layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trace {
    /// The output of every layer of [`Model::spike_layers`]: 1 at a step with a spike, 0
    /// elsewhere (pooled averages of spikes for average pooling).
    Spikes,
    /// The membrane potential of every neuron layer and of the decoder's output (`readout`:
    /// the membrane readout's potential, which is its output).
    Membrane,
}

/// One layer's record: `values` is `[T, N, frame...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    pub name: String,
    pub frame: Vec<usize>,
    pub values: Vec<f32>,
}

/// Run all of `ds` through `model` in batches of `batch` samples, calling `each(model, start,
/// size)` after each batch's forward pass.
pub fn for_each_batch(
    model: &mut Model,
    ds: &Dataset,
    input: &InputSpec,
    batch: usize,
    mut each: impl FnMut(&mut Model, usize, usize),
) {
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let idx: Vec<usize> = (0..ds.len()).collect();
    for (k, chunk) in idx.chunks(batch.max(1)).enumerate() {
        assemble(
            ds,
            chunk,
            input,
            model.input_mut(),
            &mut labels,
            &mut scratch,
        );
        model.forward();
        each(model, k * batch.max(1), chunk.len());
    }
}

/// The layers `what` records: (index of the layer, `layers.len()` for the decoder; name;
/// frame).
fn layers(model: &Model, what: Trace) -> Vec<(usize, String, Vec<usize>)> {
    let frame = |i: usize| match i == model.layers.len() {
        true => vec![model.classes()],
        false => model.frames[i + 1].clone(),
    };
    match what {
        Trace::Spikes => model
            .spike_layers()
            .into_iter()
            .map(|l| (l.layer, l.name, frame(l.layer)))
            .collect(),
        Trace::Membrane => {
            let names = model.node_names();
            let mut v: Vec<_> = (0..model.layers.len())
                .filter(|&i| model.layers[i].is_neuron())
                .map(|i| (i, names[i].clone(), frame(i)))
                .collect();
            let out = model.layers.len();
            v.push((out, model.readout_name().to_string(), frame(out)));
            v
        }
    }
}

/// `what` for every sample of `ds` (in batches of `batch`), per layer. Fails before
/// allocating when the result would not fit in memory.
pub fn record(
    model: &mut Model,
    ds: &Dataset,
    input: &InputSpec,
    batch: usize,
    what: Trace,
) -> Result<Vec<LayerTrace>> {
    let (t, n) = (model.cfg.time_steps, ds.len());
    let layers = layers(model, what);
    let values: u128 = layers
        .iter()
        .map(|(_, _, f)| sizes::product(f) * (t * n) as u128)
        .sum();
    let need = values * sizes::VALUE;
    if need > sizes::memory_limit() {
        bail!(
            "the {} of {n} samples over {t} steps need {}; {}: ask for fewer samples at a time",
            match what {
                Trace::Spikes => "spike trains",
                Trace::Membrane => "membrane traces",
            },
            sizes::human(need),
            sizes::machine()
        );
    }
    let mut out: Vec<LayerTrace> = layers
        .iter()
        .map(|(_, name, frame)| LayerTrace {
            name: name.clone(),
            frame: frame.clone(),
            values: vec![0.0; t * n * frame.iter().product::<usize>()],
        })
        .collect();
    for_each_batch(model, ds, input, batch, |model, start, b| {
        for ((i, _, frame), dst) in layers.iter().zip(out.iter_mut()) {
            let units: usize = frame.iter().product();
            let batch_values = match what {
                Trace::Spikes => model.layer_output(*i).0.into_owned(),
                Trace::Membrane => potentials(model, *i),
            };
            // [T, b, units] into [T, N, units] at sample `start`.
            for step in 0..t {
                let src = &batch_values[step * b * units..(step + 1) * b * units];
                let at = (step * n + start) * units;
                dst.values[at..at + b * units].copy_from_slice(src);
            }
        }
    });
    Ok(out)
}

/// After a forward pass: the membrane potentials `[T, B, units]` of neuron layer `i`
/// (`layers.len()`: the decoder's output; see the module docs for the rule).
fn potentials(model: &mut Model, i: usize) -> Vec<f32> {
    let t = model.cfg.time_steps;
    let fire_once = match model.layers.get_mut(i) {
        Some(l) => l.neuron_params_mut().is_some_and(|p| p.fire_once),
        None => match &model.decoder.neuron {
            Some(p) => p.fire_once,
            // The membrane readout: its output is the potential.
            None => return model.layer_output(i).0.into_owned(),
        },
    };
    let (current, steps) = model.neuron_input(i);
    let (spikes, _) = model.layer_output(i);
    let n = spikes.len() / t;
    let mut v = vec![0.0f32; n];
    let mut spent = vec![false; n];
    let mut out = vec![0.0f32; t * n];
    for step in 0..t {
        // A constant input current is given once (`steps == 1`).
        let c = &current[(step % steps) * n..(step % steps + 1) * n];
        let s = &spikes[step * n..(step + 1) * n];
        let o = &mut out[step * n..(step + 1) * n];
        for j in 0..n {
            v[j] += c[j];
            o[j] = if spent[j] { f32::NAN } else { v[j] };
            if s[j] != 0.0 {
                if fire_once {
                    spent[j] = true;
                } else {
                    v[j] -= THRESHOLD;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use crate::rng::Rng;

    /// The potentials cross the threshold exactly where the model's neurons spiked.
    #[test]
    fn potentials_cross_the_threshold_at_the_spikes() {
        for (spec, encoding) in [("fc24 if fc5", "direct"), ("fc24 if fc5", "latency")] {
            let mut cfg = ModelConfig {
                spec: spec.into(),
                time_steps: 6,
                ..ModelConfig::default()
            };
            cfg.encoding = serde_json::from_str(&format!("\"{encoding}\"")).unwrap();
            let mut m = Model::new(&cfg, &[12], &mut Rng::new(3)).unwrap();
            let mut rng = Rng::new(9);
            let images: Vec<u8> = (0..12 * 7).map(|_| rng.below(256) as u8).collect();
            let ds =
                Dataset::from_images("x", images, [1, 1, 12], vec![0; 7], 5, 1.0 / 255.0).unwrap();
            let input = InputSpec {
                encoding: cfg.encoding,
                zero: cfg.zero_input,
                time_steps: 6,
                normalize: None,
            };
            let spikes = record(&mut m, &ds, &input, 3, Trace::Spikes).unwrap();
            let pots = record(&mut m, &ds, &input, 3, Trace::Membrane).unwrap();
            let names: Vec<&str> = pots.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, ["if1", "out"]);
            assert_eq!(spikes.len(), 2);
            let mut fired = 0;
            for (s, v) in spikes.iter().zip(&pots) {
                assert_eq!(s.values.len(), 6 * 7 * s.frame[0]);
                for (k, (&s, &v)) in s.values.iter().zip(&v.values).enumerate() {
                    if v.is_nan() {
                        continue;
                    }
                    // Away from float rounding of the threshold, a spike is a crossing.
                    if (v - THRESHOLD).abs() > 1e-4 {
                        assert_eq!(s != 0.0, v >= THRESHOLD, "{} value {k}: v {v}", s);
                    }
                    fired += (s != 0.0) as usize;
                }
            }
            assert!(fired > 0, "{spec} {encoding}: no spikes to check");
        }
    }
}
