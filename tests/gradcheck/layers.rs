//! Each layer's backward (linear, convolution, pooling, flatten, neurons, decoders) against
//! finite differences.

use super::*;

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
