//! Whole models against finite differences: every parameter through every layer kind, the
//! banded surrogate, a constant input, the auxiliary membrane loss, a leading flatten.

use super::*;

/// The whole model: cross entropy through conv, both poolings, neurons, linear layers and
/// the decoder, against finite differences of every parameter.
#[test]
fn whole_model_backward() {
    // The last three cases feed a constant input ([1, B, F], direct encoding), for which the
    // layers before the first neuron run once and their output is repeated over time.
    // The first two learn their time weights (`decoder.time_weights`, checked as a parameter).
    for (spec, decoder, steps_in, learn_weights) in [
        (
            "conv3k3p1 ap2 if conv4k3s1p1 if ap2 fc6 if fc4",
            DecoderKind::Temporal,
            4,
            true,
        ),
        ("fc6 if fc5 if fc4", DecoderKind::Membrane, 1, true),
        ("conv2k3p1 if ap2 fc4", DecoderKind::FirstSpike, 1, false),
        (
            "conv3k3p1 ap2 flat fc5 if fc4",
            DecoderKind::Membrane,
            1,
            false,
        ),
    ] {
        let cfg = gradcheck_model(spec, decoder, learn_weights);
        check_model(&cfg, steps_in, learn_weights, EPS);
    }
}

/// The surrogate cut to a band (`model.band`, `model.layer_bands`: the sparse backward) on
/// the hidden layers, the output's uncut: a neuron layer and whole models against finite
/// differences of the band's own primitive.
#[test]
fn banded_surrogate_backward() {
    let mut rng = Rng::new(11);
    let mut p = smooth(SurrogateKind::Sigmoid, true);
    p.surrogate = p.surrogate.banded(Some(0.6));
    let x = random(&mut rng, &[6, 3, 4], -0.5, 1.0);
    check_layer("neuron banded", &mut Neuron::new(p), x, &mut rng);
    for (spec, band, layer_bands) in [
        (
            "conv3k3p1 ap2 if fc6 if fc4",
            None,
            vec![1.5, f32::INFINITY],
        ),
        ("fc6 if fc5 if fc4", Some(1.2), vec![]),
    ] {
        let cfg = ModelConfig {
            band,
            layer_bands,
            ..gradcheck_model(spec, DecoderKind::Temporal, false)
        };
        let banded = check_model(&cfg, 4, false, 3e-3);
        let uncut = ModelConfig {
            band: None,
            layer_bands: vec![],
            ..cfg.clone()
        };
        let dense = check_model(&uncut, 4, false, 3e-3);
        assert_ne!(banded, dense, "{spec}: the band must cut some entries");
    }
}

/// A constant input given as one frame (`[1, B, F]`) runs the layers before the first neuron
/// once; the result, logits and every gradient, must equal feeding the same frame T times.
#[test]
fn constant_input_matches_its_repetition() {
    for spec in [
        "conv3k3p1 ap2 if fc4",
        "conv3k3p1 mp2 flat fc6 if fc4",
        "fc5 if fc4",
    ] {
        let cfg = ModelConfig {
            spec: spec.into(),
            time_steps: 4,
            encoding: Encoding::Direct,
            init: Init::Ettfs,
            init_gain: 0.5,
            ..Default::default()
        };
        let mut rng = Rng::new(11);
        let frame = random(&mut rng, &[1, 3, 36], 0.0, 1.0);
        let labels = [2usize, 0, 3];
        let run = |steps: usize| {
            let mut model = Model::new(&cfg, &[1, 6, 6], &mut Rng::new(5)).unwrap();
            let mut x = Tensor::from_vec(&[steps, 3, 36], frame.data.repeat(steps));
            std::mem::swap(model.input_mut(), &mut x);
            model.forward();
            model.zero_grad();
            model.backward(&labels);
            let grads: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.to_vec()).collect();
            (model.logits.data.clone(), grads)
        };
        let (once, repeated) = (run(1), run(4));
        let close = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + x.abs().max(y.abs())))
        };
        assert!(close(&once.0, &repeated.0), "{spec}: logits differ");
        for (k, (a, b)) in once.1.iter().zip(&repeated.1).enumerate() {
            assert!(close(a, b), "{spec}: gradient of parameter {k} differs");
        }
    }
}

/// The auxiliary membrane loss (`train.aux_membrane_loss`): the gradient of
/// CE(temporal logits) + lambda * CE(membrane readout of the output currents) against finite
/// differences, the membrane readout computed here on the host from the currents; with a
/// surrogate of its own at the output (`model.output_alpha`).
#[test]
fn aux_membrane_loss_backward() {
    let cfg = ModelConfig {
        spec: "fc6 if fc5 if fc4".into(),
        time_steps: 4,
        encoding: Encoding::Direct,
        init_gain: 0.5,
        alpha: 2.0,
        output_alpha: Some(1.0),
        // The smooth forward is differentiable through the mask; detached, backward is not
        // its exact derivative (see `neuron_backward_with_detached_mask`).
        mask_grad: true,
        decoder: DecoderConfig {
            kind: DecoderKind::Temporal,
            scale: 3.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut rng = Rng::new(8);
    let mut model = Model::new(&cfg, &[36], &mut rng).unwrap();
    model.set_smooth(true);
    for p in model.params_mut() {
        for v in p.value.iter_mut() {
            *v += rng.range(-0.1, 0.1);
        }
    }
    let input = random(&mut rng, &[1, 3, 36], 0.0, 1.0);
    let labels = [0usize, 3, 1];
    let lambda = 0.7;
    let w = time_weights(&aux_decoder_config(), 4);
    // CE(temporal) + lambda CE(sum_t w[t] v[t]), v[t] = sum_{k <= t} I[k].
    let total_loss = |model: &mut Model| {
        *model.input_mut() = input.clone();
        model.forward();
        let mut scratch = vec![0.0; model.logits.len()];
        let ce = ttfs::loss::cross_entropy(&model.logits.data, &labels, 4, 0.0, &mut scratch);
        let cur = model.acts.last().unwrap().data.clone();
        let n = cur.len() / 4;
        let mut mem = vec![0.0f32; n];
        let mut v = vec![0.0f32; n];
        for (t, wt) in w.iter().enumerate() {
            for i in 0..n {
                v[i] += cur[t * n + i];
                mem[i] += wt * v[i];
            }
        }
        ce + lambda * ttfs::loss::cross_entropy(&mem, &labels, 4, 0.0, &mut scratch)
    };
    *model.input_mut() = input.clone();
    model.forward();
    model.zero_grad();
    let loss = model.loss(&labels, 0.0) + model.aux_membrane_loss(lambda, 1.0);
    model.backward_from_logits();
    assert!((loss - total_loss(&mut model)).abs() < 1e-4, "loss {loss}");
    let grads: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.to_vec()).collect();
    for (k, grad) in grads.iter().enumerate() {
        let name = model.params()[k].name.clone();
        let mut values = model.params()[k].value.clone();
        assert_close(&format!("aux loss {name}"), &mut values, grad, 12, |v| {
            model.params_mut()[k].value.copy_from_slice(v);
            total_loss(&mut model)
        });
        model.params_mut()[k].value.copy_from_slice(&values);
    }
    // The term is used once: the next backward without it is the plain cross entropy's.
    *model.input_mut() = input.clone();
    model.forward();
    model.zero_grad();
    model.loss(&labels, 0.0);
    model.backward_from_logits();
    let plain: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.to_vec()).collect();
    assert_ne!(plain, grads);
}

/// A leading flatten moves the input's values on instead of copying them: the model on
/// `[1, 6, 6]` images (flatten, then the MLP) gives the logits and gradients of the same MLP on
/// flat `[36]` frames, bit for bit, over steps with different inputs (the moved buffers come
/// back as the next input's), and `input_values` is the input of the last forward.
#[test]
fn leading_flatten_moves_the_input_on() {
    let cfg = ModelConfig {
        spec: "fc5 if fc4".into(),
        time_steps: 4,
        encoding: Encoding::Latency,
        init: Init::Ettfs,
        init_gain: 0.5,
        ..Default::default()
    };
    let (mut image, mut flat) = (
        Model::new(&cfg, &[1, 6, 6], &mut Rng::new(5)).unwrap(),
        Model::new(&cfg, &[36], &mut Rng::new(5)).unwrap(),
    );
    assert_eq!(image.layers.len(), flat.layers.len() + 1, "a flatten leads");
    let mut rng = Rng::new(2);
    for step in 0..3 {
        // latency-coded spikes, [T, B, 36]
        let spikes: Vec<f32> = (0..4 * 3 * 36)
            .map(|_| f32::from(rng.uniform() < 0.3))
            .collect();
        let labels = [step % 4, 0, 3];
        let run = |model: &mut Model| {
            *model.input_mut() = Tensor::from_vec(&[4, 3, 36], spikes.clone());
            model.forward();
            model.zero_grad();
            model.backward(&labels);
            let grads: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.to_vec()).collect();
            (model.logits.data.to_vec(), grads)
        };
        let (a, b) = (run(&mut image), run(&mut flat));
        assert_eq!(a, b, "step {step}");
        assert_eq!(image.input_values().data.to_vec(), spikes, "step {step}");
        assert_eq!(image.acts[1].shape, vec![4, 3, 36]);
        let mut opt = ttfs::optim::Optimizer::new(Default::default());
        opt.update(&mut image.params_mut(), 1e-2);
        let mut opt = ttfs::optim::Optimizer::new(Default::default());
        opt.update(&mut flat.params_mut(), 1e-2);
    }
}
