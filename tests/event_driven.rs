//! Event-driven inference against the dense forward pass, on every layer kind, decoder and
//! input encoding: the same first-spike time for every unit of every spiking layer, the same
//! logits, and the accumulates it executes equal to the synaptic operations that the energy
//! report counts from the dense pass (also with early exit).

use ttfs::data::batch::{assemble, InputSpec};
use ttfs::data::{Dataset, Kind};
use ttfs::encoding::{Encoding, ZeroInput};
use ttfs::energy::EnergyReport;
use ttfs::event_driven::{EventNet, Scratch};
use ttfs::model::{Model, ModelConfig};
use ttfs::rng::Rng;

/// Random images `[2, 9, 10]` (two channels, so channel order matters), 10 classes.
fn images(n: usize) -> Dataset {
    let mut rng = Rng::new(5);
    let frame = [2, 9, 10];
    let len: usize = frame.iter().product();
    Dataset {
        name: "random".into(),
        kind: Kind::Image,
        classes: 10,
        frame,
        steps: 1,
        scale: 1.0 / 255.0,
        data: (0..n * len)
            .map(|_| {
                if rng.uniform() < 0.4 {
                    0
                } else {
                    (rng.uniform() * 255.0) as u8
                }
            })
            .collect(),
        labels: (0..n).map(|i| (i % 10) as u16).collect(),
    }
}

/// First-spike step of each unit of a `[T, B, F...]` spike tensor, sample `b` (`T`: never).
fn first_times(x: &[f32], t: usize, b: usize, bs: usize) -> Vec<u32> {
    let n = x.len() / (t * bs);
    (0..n)
        .map(|u| {
            (0..t)
                .find(|&s| x[(s * bs + b) * n + u] != 0.0)
                .unwrap_or(t) as u32
        })
        .collect()
}

fn check(spec: &str, decoder: &str, encoding: Encoding, gain: f32) {
    let what = format!("`{spec}`, decoder {decoder}, {encoding:?}");
    let mut cfg = ModelConfig {
        spec: spec.into(),
        encoding,
        init_gain: gain,
        ..ModelConfig::default()
    };
    // "temporal exact": weights read at exact crossing times; "... learned": learned weights
    let plain = decoder.trim_end_matches(" learned");
    let kind = plain.trim_end_matches(" exact");
    cfg.decoder.kind = serde_json::from_str(&format!("\"{kind}\"")).unwrap();
    cfg.decoder.exact_time = kind != plain;
    cfg.decoder.learn_weights = plain != decoder;
    let t = cfg.time_steps;
    let ds = images(24);
    let mut model = Model::new(&cfg, &ds.frame, &mut Rng::new(3)).unwrap();
    // Biases away from zero, so that they matter.
    let mut rng = Rng::new(8);
    for p in model.params_mut() {
        if p.name.ends_with(".bias") {
            p.value.iter_mut().for_each(|v| *v = rng.range(-0.05, 0.15));
        }
        // Learned time weights unlike any weighting's (not decreasing), so that reading the
        // formula's instead would show.
        if p.name == "decoder.time_weights" {
            p.value.iter_mut().for_each(|v| *v = rng.range(1.0, 10.0));
        }
    }
    let input = InputSpec {
        encoding,
        zero: ZeroInput::Last,
        time_steps: t,
        normalize: None,
    };
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    assemble(
        &ds,
        &idx,
        &input,
        model.input_mut(),
        &mut labels,
        &mut scratch,
    );
    let x = model.input_mut().clone();
    model.forward();
    let mut report = EnergyReport::default();
    report.record(&model, &labels);
    let bs = ds.len();
    let c = model.classes();
    let logits = model.logits.data.to_vec();
    // The dense pass's spike maps: every neuron layer, then the spiking output.
    let mut maps: Vec<Vec<f32>> = (0..model.layers.len())
        .filter(|&i| model.layers[i].is_neuron())
        .map(|i| model.acts[i + 1].data.to_vec())
        .collect();
    if model.decoder.spiking() {
        maps.push(model.decoder.out.data.to_vec());
    }
    let net = EventNet::new(&mut model).unwrap();
    let mut s = Scratch::default();
    let per = x.len() / bs / x.shape[0];
    let (mut synops, mut exit_synops, mut spikes) = (0u64, 0u64, vec![0usize; maps.len()]);
    for b in 0..bs {
        // Sample b of the [T or 1, B, F] input.
        let sample: Vec<f32> = (0..x.shape[0])
            .flat_map(|k| x.data[(k * bs + b) * per..(k * bs + b + 1) * per].to_vec())
            .collect();
        let out = net.run(&sample, false, true, &mut s);
        synops += out.synops;
        assert_eq!(out.first_spikes.len(), maps.len(), "{what}");
        for (l, map) in maps.iter().enumerate() {
            let want = first_times(map, t, b, bs);
            assert_eq!(
                out.first_spikes[l], want,
                "{what}: spiking layer {l}, sample {b}"
            );
            spikes[l] += want.iter().filter(|&&w| w < t as u32).count();
        }
        for k in 0..c {
            let (a, d) = (out.logits[k], logits[b * c + k]);
            assert!(
                (a - d).abs() <= 1e-4 * (1.0 + d.abs()),
                "{what}: sample {b} logit {k}: events {a} dense {d}"
            );
        }
        exit_synops += net.run(&sample, true, false, &mut s).synops;
    }
    assert!(
        spikes.iter().all(|&n| n > 0),
        "{what}: a spiking layer is silent on every sample ({spikes:?}): the test proves nothing"
    );
    assert_eq!(synops as f64, report.synops() * bs as f64, "{what}");
    assert_eq!(
        exit_synops as f64,
        report.exit_synops() * bs as f64,
        "{what}: early exit"
    );
}

#[test]
fn event_driven_matches_the_dense_forward_on_every_layer_kind() {
    let specs = [
        // linear, flatten, neuron
        ("fc40 if fc10", 1.0),
        // convolution with folded average pooling; strided convolution
        ("conv6k3p1 ap2 if conv8k3s2p1 if fc10", 1.0),
        // first-spike pooling, max pooling of spikes, average pooling of spikes
        ("conv6k3p1 if fp2 fc10", 1.0),
        ("conv6k3p1 if mp2 fc10", 1.0),
        ("conv6k3p1 if ap2 fc10", 1.5),
        // max pooling and unfolded (stride != window) average pooling of currents
        ("conv6k3p1 mp2 if fc10", 1.0),
        ("conv6k3p1 ap3s2 if fc10", 1.5),
    ];
    for (spec, gain) in specs {
        for enc in [Encoding::Latency, Encoding::Direct] {
            check(spec, "temporal", enc, gain);
        }
    }
    for dec in [
        "first_spike",
        "count",
        "membrane",
        "temporal exact",
        "first_spike exact",
        "temporal learned",
        "temporal exact learned",
        "membrane learned",
    ] {
        check("conv6k3p1 ap2 if fc16 if fc10", dec, Encoding::Latency, 1.0);
        check("conv6k3p1 if fp2 fc10", dec, Encoding::Direct, 1.0);
    }
}
