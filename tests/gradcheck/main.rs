//! Every layer's hand-written backward (and the whole model's) against central finite
//! differences. The spike function is replaced by the surrogate's smooth primitive
//! (`IfParams::smooth`), so that the forward pass is differentiable and its derivative is
//! exactly what backward computes.
//!
//! `layers.rs` checks each layer and decoder, `model.rs` whole models (plain, banded, with the
//! auxiliary loss); this file holds the finite-difference checks they share.

mod layers;
mod model;

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

pub(crate) const EPS: f32 = 1e-2;

pub(crate) fn smooth(kind: SurrogateKind, mask_grad: bool) -> IfParams {
    IfParams {
        surrogate: Surrogate::new(kind, 2.0),
        fire_once: true,
        mask_grad,
        smooth: true,
    }
}

pub(crate) fn random(rng: &mut Rng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| rng.range(lo, hi)).collect())
}

/// Assert `analytic` matches central differences of `loss` at `x`, checking up to `max`
/// coordinates spread over the vector: each coordinate within 5% of the largest gradient
/// (plus 2% of its own size), and the checked vector as a whole within 2% relative error.
/// (f32 rounding of the loss limits how well tiny components can be resolved.)
pub(crate) fn assert_close(
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
pub(crate) fn assert_close_with(
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
pub(crate) fn check_layer(what: &str, layer: &mut dyn Layer, x: Tensor, rng: &mut Rng) {
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

/// The whole-model checks' settings: T = 4, direct input, a wide surrogate (alpha 2), the
/// gradient through the mask (which smooth mode's forward has).
pub(crate) fn gradcheck_model(
    spec: &str,
    decoder: DecoderKind,
    learn_weights: bool,
) -> ModelConfig {
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
pub(crate) fn check_model(
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
