//! Properties of the spiking network that must hold for every network and input:
//! each TTFS neuron fires at most once, max pooling of spike maps is what breaks it, and a
//! seed fixes the result.

use ttfs::config::Config;
use ttfs::decoder::{DecoderConfig, DecoderKind};
use ttfs::encoding::Encoding;
use ttfs::ettfs_init::Init;
use ttfs::metrics::SpikeMonitor;
use ttfs::model::{Model, ModelConfig};
use ttfs::rng::Rng;
use ttfs::tensor::Tensor;
use ttfs::train::Trainer;
use ttfs::weight_norm::Norm;

/// A random network on `[c, 8, 8]` inputs: some conv blocks (pooling of currents or of
/// spikes, average, max or first-spike max), then some linear layers.
fn random_spec(rng: &mut Rng) -> String {
    let mut tokens = Vec::new();
    let mut size = 8;
    for _ in 0..rng.below(3) {
        tokens.push(format!("conv{}k3p1", 1 + rng.below(4)));
        let pool = ["ap2", "mp2", "fp2"][rng.below(3)];
        match rng.below(3) {
            0 if size >= 2 => {
                // Pooling currents: first-spike pooling only pools spikes (after `if`).
                tokens.push(if pool == "fp2" { "mp2" } else { pool }.to_string());
                tokens.push("if".into());
                size /= 2;
            }
            1 if size >= 2 => {
                tokens.push("if".into());
                tokens.push(pool.to_string());
                size /= 2;
            }
            _ => tokens.push("if".into()),
        }
    }
    for _ in 0..1 + rng.below(3) {
        tokens.push(format!("fc{}", 1 + rng.below(12)));
        tokens.push("if".into());
    }
    tokens.push(format!("fc{}", 2 + rng.below(5)));
    tokens.join(" ")
}

fn random_model(rng: &mut Rng) -> (Model, usize, usize) {
    let decoders = [
        DecoderKind::Temporal,
        DecoderKind::FirstSpike,
        DecoderKind::Membrane,
        DecoderKind::Count,
    ];
    let cfg = ModelConfig {
        spec: random_spec(rng),
        time_steps: 1 + rng.below(12),
        encoding: if rng.below(2) == 0 {
            Encoding::Latency
        } else {
            Encoding::Direct
        },
        init: [Init::Ettfs, Init::Kaiming, Init::Uniform][rng.below(3)],
        init_gain: rng.range(0.05, 3.0),
        norm: [Norm::None, Norm::Weight, Norm::WeightAffine][rng.below(3)],
        mask_grad: rng.below(2) == 0,
        decoder: DecoderConfig {
            kind: decoders[rng.below(4)],
            ..Default::default()
        },
        ..Default::default()
    };
    let c = 1 + rng.below(2);
    let model = Model::new(&cfg, &[c, 8, 8], rng).unwrap_or_else(|e| panic!("{}: {e:#}", cfg.spec));
    (model, cfg.time_steps, c * 64)
}

#[test]
fn every_neuron_fires_at_most_once() {
    let mut rng = Rng::new(11);
    let mut fired_somewhere = 0;
    for case in 0..150 {
        let (mut model, t, f) = random_model(&mut rng);
        let b = 1 + rng.below(5);
        // Inputs: intensities in [0, 1] through the encoder, or raw currents up to 3.
        let hi = if rng.below(2) == 0 { 1.0 } else { 3.0 };
        let x: Vec<f32> = (0..b * f).map(|_| rng.range(0.0, hi)).collect();
        ttfs::encoding::encode(
            model.cfg.encoding,
            model.cfg.zero_input,
            t,
            b,
            &x,
            model.input_mut(),
        );
        model.forward();
        for (i, layer) in model.layers.iter().enumerate() {
            // Neurons, and first-spike pooling (the spec puts it after `if`, on spike maps):
            // both emit at most one spike.
            if !layer.is_neuron() && !layer.latches_first_spike() {
                continue;
            }
            let s = &model.acts[i + 1];
            let n = s.len() / t;
            for j in 0..n {
                let mut count = 0.0;
                for k in 0..t {
                    let v = s.data[k * n + j];
                    assert!(
                        v == 0.0 || v == 1.0,
                        "case {case} `{}` layer {i}: spike value {v}",
                        model.cfg.spec
                    );
                    count += v;
                }
                assert!(
                    count <= 1.0,
                    "case {case} `{}` layer {i} unit {j}: {count} spikes",
                    model.cfg.spec
                );
                fired_somewhere += count as usize;
            }
        }
        if model.cfg.decoder.kind != DecoderKind::Count && model.decoder.spiking() {
            let o = &model.decoder.out;
            let n = o.len() / t;
            for j in 0..n {
                let count: f32 = (0..t).map(|k| o.data[k * n + j]).sum();
                assert!(
                    count <= 1.0,
                    "case {case}: output unit {j} fired {count} times"
                );
            }
        }
    }
    // The property is not vacuous: neurons did fire.
    assert!(
        fired_somewhere > 1000,
        "only {fired_somewhere} spikes in all cases"
    );
}

/// Build `spec` on one-channel 4x4 inputs whose four pixels of each 2x2 window fire at
/// four different steps, with weights set so every neuron of the first layer copies its
/// pixel, and return the monitor.
fn pooling_monitor(spec: &str) -> SpikeMonitor {
    let cfg = ModelConfig {
        spec: spec.into(),
        time_steps: 4,
        norm: Norm::None,
        decoder: DecoderConfig {
            kind: DecoderKind::Membrane,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut model = Model::new(&cfg, &[1, 4, 4], &mut Rng::new(1)).unwrap();
    // conv1: a single 1x1 weight of 1.0 and no bias: current = input spike.
    for p in model.params_mut() {
        if p.name == "conv1.weight" {
            p.value.fill(1.0);
        }
    }
    let t = 4;
    let mut x = Tensor::zeros(&[t, 1, 16]);
    for y in 0..4 {
        for xx in 0..4 {
            let step = (y % 2) * 2 + xx % 2; // a different step for each pixel of a window
            x.data[step * 16 + y * 4 + xx] = 1.0;
        }
    }
    *model.input_mut() = x;
    model.forward();
    let mut m = SpikeMonitor::default();
    m.record(&model);
    m
}

fn pooled_spikes(m: &SpikeMonitor) -> &ttfs::metrics::LayerStats {
    m.layers
        .iter()
        .find(|l| l.what == "pooled spikes")
        .expect("pooled spike maps are monitored")
}

#[test]
fn max_pooling_of_spikes_exceeds_one_spike_per_unit_average_pooling_of_currents_does_not() {
    let max = pooling_monitor("conv1k1 if mp2 fc2");
    let pooled = pooled_spikes(&max);
    assert_eq!(
        pooled.max_events, 4,
        "each max-pooled unit sees four spikes at four steps"
    );
    // First-spike pooling of the same spike maps keeps the earliest spike of each window.
    let first = pooling_monitor("conv1k1 if fp2 fc2");
    let pooled = pooled_spikes(&first);
    assert_eq!(pooled.max_events, 1);
    assert_eq!(pooled.silent, 0.0, "every window has a spike");
    assert_eq!(
        pooled.first_time_hist[0], 4,
        "each window's first spike is at step 0"
    );
    // The same input through average pooling of currents: the neuron after it fires once.
    let avg = pooling_monitor("conv1k1 ap2 if fc2");
    assert!(
        avg.layers.iter().all(|l| l.max_events <= 1),
        "{:?}",
        avg.layers
    );
    assert!(
        avg.layers.iter().any(|l| l.events > 0.0),
        "the averaged currents make the neuron fire"
    );
    // Average pooling of spikes: fractions of spikes at up to four steps, but never more than
    // one spike's worth in total per unit.
    let avg_spikes = pooling_monitor("conv1k1 if ap2 fc2");
    let p = avg_spikes
        .layers
        .iter()
        .find(|l| l.what == "pooled spikes")
        .unwrap();
    assert_eq!(
        p.events,
        4.0 * 4.0,
        "4 units, each with events at 4 steps of 1/4 spike"
    );
}

fn train_digits(seed: u64, threads: usize) -> Vec<Vec<f32>> {
    let cfg = Config::from_toml(
        "",
        "test",
        &[
            format!("train.seed={seed}"),
            "train.epochs=1".into(),
            "model.spec=\"fc32 if fc10\"".into(),
        ],
    )
    .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut t = Trainer::new(&cfg).unwrap();
        t.train_epoch(|_, _, _, _| {});
        t.model.params().iter().map(|p| p.value.to_vec()).collect()
    })
}

#[test]
fn same_seed_same_result_bitwise() {
    let a = train_digits(3, 2);
    let b = train_digits(3, 2);
    assert_eq!(a, b, "two runs with the same seed differ");
    assert_eq!(a, train_digits(3, 1), "results depend on the thread count");
    assert_ne!(a, train_digits(4, 2), "the seed has no effect");
}

/// The conv net of the speed benchmark on 28x28 inputs (event-driven and dense conv paths,
/// both poolings): two training steps give the same bits for 1 and 2 threads.
#[test]
fn conv_training_steps_are_deterministic() {
    let run = |threads: usize, encoding: &str| -> Vec<Vec<f32>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut cfg = ttfs::bench::peer_model("cnn", 4).unwrap();
            cfg.spec = "conv8k3p1 ap2 if conv16k3p1 if mp2 fc10".into();
            cfg.encoding = if encoding == "direct" {
                Encoding::Direct
            } else {
                Encoding::Latency
            };
            let mut rng = Rng::new(5);
            let mut model = Model::new(&cfg, &[1, 28, 28], &mut rng).unwrap();
            let mut opt = ttfs::optim::Optimizer::new(Default::default());
            for _ in 0..2 {
                let x: Vec<f32> = (0..24 * 784)
                    .map(|_| {
                        if rng.uniform() < 0.2 {
                            rng.uniform()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let labels: Vec<usize> = (0..24).map(|_| rng.below(10)).collect();
                ttfs::encoding::encode(cfg.encoding, cfg.zero_input, 4, 24, &x, model.input_mut());
                model.forward();
                model.zero_grad();
                model.backward(&labels);
                opt.update(&mut model.params_mut(), 1e-2);
            }
            model.params().iter().map(|p| p.value.to_vec()).collect()
        })
    };
    for enc in ["direct", "latency"] {
        let a = run(2, enc);
        assert_eq!(a, run(2, enc), "{enc}: two runs differ");
        assert_eq!(a, run(1, enc), "{enc}: one thread differs from two");
    }
}

/// `model.output_init_gain` scales the output currents and nothing else (weight norm
/// standardizes the raw weights, so the drawn directions are the same at any gain), and
/// `model.output_alpha` reaches the output neurons only.
#[test]
fn output_gain_scales_the_output_currents_and_output_alpha_the_output_surrogate() {
    let base = ModelConfig {
        spec: "fc6 if fc4".into(),
        time_steps: 4,
        init_gain: 0.5,
        alpha: 8.0,
        ..Default::default()
    };
    let run = |cfg: &ModelConfig| {
        let mut model = Model::new(cfg, &[5], &mut Rng::new(3)).unwrap();
        let mut x = Tensor::from_vec(
            &[1, 2, 5],
            vec![0.1, 0.9, 0.4, 0.7, 0.3, 1.0, 0.2, 0.5, 0.8, 0.6],
        );
        std::mem::swap(model.input_mut(), &mut x);
        model.forward();
        let n = model.acts.len();
        (
            model.acts[n - 2].data.clone(),
            model.acts[n - 1].data.clone(),
            model,
        )
    };
    let (hidden, out, model) = run(&base);
    assert_eq!(model.decoder.neuron.unwrap().surrogate.alpha, 8.0);
    let (hidden2, out2, model2) = run(&ModelConfig {
        output_init_gain: Some(1.5),
        output_alpha: Some(2.0),
        ..base.clone()
    });
    assert_eq!(hidden, hidden2, "the hidden layers do not change");
    assert!(out.iter().any(|v| v.abs() > 1e-3));
    for (a, b) in out.iter().zip(&out2) {
        assert!(
            (3.0 * a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{a} x 3 != {b}"
        );
    }
    assert_eq!(model2.decoder.neuron.unwrap().surrogate.alpha, 2.0);
    let hidden = model2.layers.iter().find(|l| l.is_neuron()).unwrap();
    assert!(
        hidden.describe().contains("alpha 8"),
        "{}",
        hidden.describe()
    );
}
