//! Every layer's hand-written backward (and the whole model's) against central finite
//! differences. The spike function is replaced by the surrogate's smooth primitive
//! (`IfParams::smooth`), so that the forward pass is differentiable and its derivative is
//! exactly what backward computes.

use ttfs::aux_membrane::aux_decoder_config;
use ttfs::decoder::{time_weights, Decoder, DecoderConfig, DecoderKind, Weighting};
use ttfs::encoding::Encoding;
use ttfs::ettfs_init::Init;
use ttfs::kernels::IfParams;
use ttfs::layers::{
    avg_pool::AvgPool2d, conv2d::Conv2d, flatten::Flatten, linear::Linear, max_pool::MaxPool2d,
    neuron::Neuron, Layer,
};
use ttfs::model::{Model, ModelConfig};
use ttfs::rng::Rng;
use ttfs::surrogate::{Surrogate, SurrogateKind};
use ttfs::tensor::Tensor;
use ttfs::weight_norm::Norm;

const EPS: f32 = 1e-2;

fn smooth(kind: SurrogateKind, mask_grad: bool) -> IfParams {
    IfParams {
        surrogate: Surrogate::new(kind, 2.0),
        fire_once: true,
        mask_grad,
        smooth: true,
    }
}

fn random(rng: &mut Rng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| rng.range(lo, hi)).collect())
}

/// Assert `analytic` matches central differences of `loss` at `x`, checking up to `max`
/// coordinates spread over the vector: each coordinate within 5% of the largest gradient
/// (plus 2% of its own size), and the checked vector as a whole within 2% relative error.
/// (f32 rounding of the loss limits how well tiny components can be resolved.)
fn assert_close(
    what: &str,
    x: &mut [f32],
    analytic: &[f32],
    max: usize,
    loss: impl FnMut(&[f32]) -> f32,
) {
    assert_close_with(EPS, what, x, analytic, max, loss)
}

/// [`assert_close`] with the finite differences' step `eps`: a banded surrogate's primitive
/// has a kink at each edge of the band, which a central difference straddles with a
/// probability that grows with its step.
fn assert_close_with(
    eps: f32,
    what: &str,
    x: &mut [f32],
    analytic: &[f32],
    max: usize,
    mut loss: impl FnMut(&[f32]) -> f32,
) {
    assert_eq!(x.len(), analytic.len(), "{what}: gradient length");
    let step = (x.len() / max).max(1);
    let scale = analytic.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let (mut diff2, mut norm2) = (0.0f64, 0.0f64);
    for i in (0..x.len()).step_by(step) {
        let orig = x[i];
        x[i] = orig + eps;
        let lp = loss(x);
        x[i] = orig - eps;
        let lm = loss(x);
        x[i] = orig;
        let fd = (lp - lm) / (2.0 * eps);
        let err = (fd - analytic[i]).abs();
        assert!(
            err <= 5e-2 * scale + 2e-2 * analytic[i].abs() + 1e-6,
            "{what}[{i}]: finite difference {fd} vs backward {} (largest gradient {scale})",
            analytic[i]
        );
        diff2 += (err as f64).powi(2);
        norm2 += (fd as f64).powi(2) + (analytic[i] as f64).powi(2);
    }
    let rel = diff2.sqrt() / norm2.sqrt().max(1e-12);
    assert!(
        rel < 2e-2,
        "{what}: relative error {rel} of the checked gradient vector"
    );
}

/// Check a layer: loss = sum(g * y) for fixed random g; input gradient and every parameter.
fn check_layer(what: &str, layer: &mut dyn Layer, x: Tensor, rng: &mut Rng) {
    let mut y = Tensor::default();
    layer.forward(&x, &mut y);
    let g = random(rng, &y.shape, -1.0, 1.0);
    let mut dx = Tensor::default();
    for p in layer.params_mut() {
        p.grad.fill(0.0);
    }
    layer.backward(&x, &y, &g, Some(&mut dx));
    assert_eq!(dx.shape, x.shape, "{what}: dx shape");
    let dot = |y: &Tensor| y.data.iter().zip(&g.data).map(|(a, b)| a * b).sum::<f32>();
    let mut xs = x.data.clone();
    let shape = x.shape.clone();
    {
        let mut out = Tensor::default();
        assert_close(&format!("{what} dx"), &mut xs, &dx.data, 60, |v| {
            layer.forward(&Tensor::from_vec(&shape, v.to_vec()), &mut out);
            dot(&out)
        });
    }
    let grads: Vec<(String, Vec<f32>)> = layer
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.grad.to_vec()))
        .collect();
    for (k, (name, grad)) in grads.iter().enumerate() {
        let mut values = layer.params()[k].value.clone();
        let mut out = Tensor::default();
        assert_close(&format!("{what} {name}"), &mut values, grad, 40, |v| {
            layer.params_mut()[k].value.copy_from_slice(v);
            layer.forward(&x, &mut out);
            dot(&out)
        });
        layer.params_mut()[k].value.copy_from_slice(&values);
    }
}

#[test]
fn linear_backward_all_norms() {
    let mut rng = Rng::new(1);
    for norm in [Norm::None, Norm::Weight, Norm::WeightAffine] {
        let mut l = Linear::new("fc", 7, 5, norm, Init::Ettfs, 1.0, 3, &mut rng);
        // Move gamma and beta away from 1 and 0 so their gradients are exercised.
        for p in l.params_mut() {
            for v in p.value.iter_mut() {
                *v += rng.range(-0.3, 0.3);
            }
        }
        let x = random(&mut rng, &[3, 2, 7], 0.0, 1.0);
        check_layer(&format!("linear {norm:?}"), &mut l, x, &mut rng);
    }
}

#[test]
fn conv2d_backward_stride_and_padding() {
    let mut rng = Rng::new(2);
    for (norm, k, s, p) in [
        (Norm::WeightAffine, 3, 1, 1),
        (Norm::None, 3, 2, 0),
        (Norm::Weight, 2, 2, 1),
    ] {
        let mut c = Conv2d::new("conv", 2, 3, k, s, p, norm, Init::Kaiming, 1.0, 2, &mut rng);
        for p in c.params_mut() {
            for v in p.value.iter_mut() {
                *v += rng.range(-0.3, 0.3);
            }
        }
        let x = random(&mut rng, &[2, 2, 2, 6, 5], -1.0, 1.0);
        check_layer(
            &format!("conv {norm:?} k{k} s{s} p{p}"),
            &mut c,
            x,
            &mut rng,
        );
    }
}

#[test]
fn pooling_and_flatten_backward() {
    let mut rng = Rng::new(3);
    let x = random(&mut rng, &[2, 2, 3, 4, 6], -1.0, 1.0);
    check_layer(
        "avgpool",
        &mut AvgPool2d { k: 2, stride: 2 },
        x.clone(),
        &mut rng,
    );
    check_layer(
        "avgpool overlapping",
        &mut AvgPool2d { k: 3, stride: 1 },
        x.clone(),
        &mut rng,
    );
    // Values at least 0.1 apart (more than 2 * EPS): no window's maximum changes hands within
    // the finite-difference step, so max is differentiable there.
    let mut spaced: Vec<f32> = (0..x.len()).map(|i| i as f32 * 0.1).collect();
    rng.shuffle(&mut spaced);
    check_layer(
        "maxpool",
        &mut MaxPool2d::new(2, 2),
        Tensor::from_vec(&x.shape, spaced.clone()),
        &mut rng,
    );
    // First-spike pooling of the same values: every window is nonzero at step 0, so each
    // unit latches there and later steps pass neither value nor gradient. (Latching at a
    // later step needs windows exactly zero before it, which finite differences cannot keep;
    // the layer's unit test checks that case.)
    let fp_input = Tensor::from_vec(&x.shape, spaced);
    check_layer(
        "first-spike pool",
        &mut MaxPool2d::first_spike(2, 2),
        fp_input,
        &mut rng,
    );
    check_layer("flatten", &mut Flatten, x, &mut rng);
}

#[test]
fn neuron_backward_with_gradient_through_the_mask() {
    let mut rng = Rng::new(4);
    for kind in [SurrogateKind::Sigmoid, SurrogateKind::Atan] {
        let x = random(&mut rng, &[6, 3, 4], -0.5, 1.0);
        check_layer(
            &format!("neuron {kind:?}"),
            &mut Neuron::new(smooth(kind, true)),
            x,
            &mut rng,
        );
    }
}

/// With the mask detached, backward is the derivative of the forward pass in which the mask
/// `m[t] = 1 - sum_{k<t} s[k]` is a constant: check it against that function.
#[test]
fn neuron_backward_with_detached_mask() {
    let mut rng = Rng::new(5);
    let (t, n) = (6, 10);
    let p = smooth(SurrogateKind::Sigmoid, false);
    let x = random(&mut rng, &[t, 1, n], -0.5, 1.0);
    let mut layer = Neuron::new(p);
    let mut y = Tensor::default();
    layer.forward(&x, &mut y);
    let mut mask = vec![1.0f32; t * n];
    for j in 0..n {
        let mut spent = 0.0;
        for k in 0..t {
            mask[k * n + j] = 1.0 - spent;
            spent += y.data[k * n + j];
        }
    }
    let g = random(&mut rng, &[t, 1, n], -1.0, 1.0);
    let mut dx = Tensor::default();
    layer.backward(&x, &y, &g, Some(&mut dx));
    let frozen = |cur: &[f32]| {
        let mut loss = 0.0;
        for j in 0..n {
            let mut v = 0.0;
            for k in 0..t {
                v += cur[k * n + j];
                loss += g.data[k * n + j] * p.surrogate.primitive(v - 1.0) * mask[k * n + j];
            }
        }
        loss
    };
    let mut xs = x.data.clone();
    assert_close("neuron detached mask", &mut xs, &dx.data, 60, frozen);
}

#[test]
fn decoders_backward() {
    let mut rng = Rng::new(6);
    let cases = [
        (DecoderKind::Temporal, Weighting::Exp, false, false),
        (DecoderKind::Temporal, Weighting::Linear, false, false),
        (DecoderKind::FirstSpike, Weighting::Exp, false, false),
        (DecoderKind::Membrane, Weighting::Exp, false, false),
        (DecoderKind::Membrane, Weighting::Last, false, false),
        (DecoderKind::Temporal, Weighting::Exp, true, false),
        (DecoderKind::Temporal, Weighting::Linear, true, false),
        (DecoderKind::FirstSpike, Weighting::Exp, true, false),
        (DecoderKind::Temporal, Weighting::Exp, false, true),
        (DecoderKind::Temporal, Weighting::Exp, true, true),
        (DecoderKind::Membrane, Weighting::Exp, false, true),
    ];
    for (kind, weighting, exact_time, learn_weights) in cases {
        let what = format!(
            "decoder {kind:?} {weighting:?} exact_time {exact_time} learn_weights {learn_weights}"
        );
        let cfg = DecoderConfig {
            kind,
            weighting,
            base: 1.25,
            scale: 4.0,
            exact_time,
            learn_weights,
        };
        let t = 5;
        let mut dec = Decoder::new(cfg, smooth(SurrogateKind::Sigmoid, true), t);
        let cur = random(&mut rng, &[t, 2, 3], -0.3, 0.8);
        let mut logits = Tensor::default();
        dec.forward(&cur, &mut logits);
        let g = random(&mut rng, &logits.shape, -1.0, 1.0);
        let mut dcur = Tensor::default();
        dec.backward(&cur, &g, &mut dcur);
        let mut xs = cur.data.clone();
        let dot =
            |logits: &Tensor| -> f32 { logits.data.iter().zip(&g.data).map(|(a, b)| a * b).sum() };
        assert_close(&what, &mut xs, &dcur.data, 30, |v| {
            dec.forward(&Tensor::from_vec(&cur.shape, v.to_vec()), &mut logits);
            dot(&logits)
        });
        if !learn_weights {
            assert!(dec.time_weights.is_none(), "{what}: no learned weights");
            continue;
        }
        // The time weights' own gradient, against moving each of them.
        let p = dec.time_weights.as_ref().unwrap();
        let (mut u, du) = (p.value.to_vec(), p.grad.to_vec());
        assert_eq!(u.len(), t + 1, "{what}: w[-1] and one weight per step");
        assert_close(&format!("{what}: time weights"), &mut u, &du, 30, |u| {
            dec.time_weights.as_mut().unwrap().value.write(u);
            dec.forward(&cur, &mut logits);
            dot(&logits)
        });
    }
}

/// Learned time weights start at the weighting's values (`w[-1]` its value one step before
/// 0), so a model that learns them computes the same logits as one that does not until its
/// first update.
#[test]
fn learned_time_weights_start_at_the_weighting() {
    for exact_time in [false, true] {
        let base = DecoderConfig {
            exact_time,
            ..Default::default()
        };
        let learned = DecoderConfig {
            learn_weights: true,
            ..base.clone()
        };
        let mut rng = Rng::new(9);
        let cur = random(&mut rng, &[8, 4, 10], -0.2, 0.6);
        let (mut a, mut b) = (Tensor::default(), Tensor::default());
        let neuron = smooth(SurrogateKind::Sigmoid, true);
        Decoder::new(base, neuron, 8).forward(&cur, &mut a);
        Decoder::new(learned, neuron, 8).forward(&cur, &mut b);
        assert_eq!(a.data.to_vec(), b.data.to_vec(), "exact_time {exact_time}");
    }
}

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

/// The whole-model checks' settings: T = 4, direct input, a wide surrogate (alpha 2), the
/// gradient through the mask (which smooth mode's forward has).
fn gradcheck_model(spec: &str, decoder: DecoderKind, learn_weights: bool) -> ModelConfig {
    ModelConfig {
        spec: spec.into(),
        time_steps: 4,
        encoding: Encoding::Direct,
        init: Init::Ettfs,
        init_gain: 0.5,
        alpha: 2.0,
        mask_grad: true,
        decoder: DecoderConfig {
            kind: decoder,
            scale: 3.0,
            learn_weights,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Every parameter gradient of `cfg`'s model (smooth mode) against finite differences of the
/// cross entropy (step `eps`), on random `[steps_in, 3, 36]` input; returns the gradients.
fn check_model(
    cfg: &ModelConfig,
    steps_in: usize,
    learn_weights: bool,
    eps: f32,
) -> Vec<(String, Vec<f32>)> {
    let spec = &cfg.spec;
    let mut rng = Rng::new(7);
    let mut model = Model::new(cfg, &[1, 6, 6], &mut rng).unwrap();
    model.set_smooth(true);
    for p in model.params_mut() {
        for v in p.value.iter_mut() {
            *v += rng.range(-0.1, 0.1);
        }
    }
    let b = 3;
    let input = random(&mut rng, &[steps_in, b, 36], 0.0, 1.0);
    let labels = [0usize, 3, 1];
    *model.input_mut() = input.clone();
    model.forward();
    model.zero_grad();
    model.backward(&labels);
    let grads: Vec<(String, Vec<f32>)> = model
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.grad.to_vec()))
        .collect();
    assert!(grads.len() >= 6);
    let learned = grads.iter().any(|(name, _)| name == "decoder.time_weights");
    assert_eq!(
        learned, learn_weights,
        "{spec}: decoder.time_weights is a parameter"
    );
    for (k, (name, grad)) in grads.iter().enumerate() {
        assert!(
            grad.iter().any(|g| g.abs() > 1e-6),
            "{spec}: {name} receives no gradient"
        );
        let mut values = model.params()[k].value.clone();
        assert_close_with(
            eps,
            &format!("model `{spec}` {name}"),
            &mut values,
            grad,
            12,
            |v| {
                model.params_mut()[k].value.copy_from_slice(v);
                *model.input_mut() = input.clone();
                model.forward();
                let mut scratch = vec![0.0; model.logits.len()];
                ttfs::loss::cross_entropy(&model.logits.data, &labels, 4, 0.0, &mut scratch)
            },
        );
        model.params_mut()[k].value.copy_from_slice(&values);
    }
    grads
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
