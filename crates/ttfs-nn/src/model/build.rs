//! Building a model from its spec: one layer per token, every size checked before it is
//! allocated, a flatten before the first `fc` on maps, an average pooling folded into the
//! convolution before it, and each synapse's gain (calibrated, output or default).

use super::{Model, ModelConfig};
use crate::aux_membrane::AuxMembrane;
use crate::decoder::Decoder;
use crate::kernels::{Buf, Device};
use crate::layers::{
    avg_pool::AvgPool2d, conv2d::Conv2d, flatten::Flatten, linear::Linear, max_pool::MaxPool2d,
    neuron::Neuron, Layer,
};
use crate::rng::Rng;
use crate::sizes;
use crate::spec::{self, LayerSpec};
use crate::tensor::Tensor;
use anyhow::{bail, Result};

impl Model {
    /// Build a model for input frames of shape `input` (`[C, H, W]` or `[F]`).
    pub fn new(cfg: &ModelConfig, input: &[usize], rng: &mut Rng) -> Result<Model> {
        if cfg.time_steps == 0 {
            bail!("model.time_steps must be at least 1");
        }
        let specs = spec::parse(&cfg.spec)?;
        let t = cfg.time_steps;
        // Every size is checked before it is allocated (`sizes.rs`): weights before a synapse
        // is built, each layer's output per sample as soon as its shape is known.
        sizes::check_input(input, t)?;
        let mut weight_bytes = 0;
        let neuron = cfg.if_params();
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        let mut frames = vec![input.to_vec()];
        let synapses = specs.iter().filter(|s| s.is_synapse()).count();
        let spiking = specs
            .iter()
            .filter(|s| matches!(s, LayerSpec::Neuron))
            .count();
        if !cfg.layer_bands.is_empty() && cfg.layer_bands.len() != spiking {
            bail!(
                "model.layer_bands has {} bands but model.spec has {spiking} spiking layers (`if`); give one band per `if`, in order",
                cfg.layer_bands.len()
            );
        }
        let mut hidden_neurons = 0;
        if !cfg.synapse_gains.is_empty() && cfg.synapse_gains.len() != synapses {
            bail!(
                "model.synapse_gains has {} gains but the spec has {synapses} synapses",
                cfg.synapse_gains.len()
            );
        }
        let mut synapse = 0;
        let mut specs = specs.iter().peekable();
        while let Some(s) = specs.next() {
            // Read by the synapses only; the last one is the output's (checked by spec::parse).
            let gain = cfg.synapse_gain(synapse, synapses);
            let f = frames.last().unwrap().clone();
            if matches!(s, LayerSpec::Linear { .. }) && f.len() > 1 {
                layers.push(Box::new(Flatten));
                frames.push(vec![f.iter().product()]);
            }
            let f = frames.last().unwrap().clone();
            let spatial = || -> Result<()> {
                if f.len() != 3 {
                    bail!("model.spec: `{s}` (layer {}) needs [C, H, W] maps but receives {f:?} (is there an fc before it?)", layers.len() + 1);
                }
                Ok(())
            };
            let layer: Box<dyn Layer> = match *s {
                LayerSpec::Linear { out } => {
                    synapse += 1;
                    let name = format!("fc{synapse}");
                    weight_bytes =
                        sizes::check_weights(&name, &s.to_string(), &[out, f[0]], weight_bytes)?;
                    Box::new(Linear::new(
                        &format!("fc{synapse}"),
                        f[0],
                        out,
                        cfg.norm,
                        cfg.init,
                        gain,
                        t,
                        rng,
                    ))
                }
                LayerSpec::Conv {
                    out,
                    k,
                    stride,
                    pad,
                } => {
                    spatial()?;
                    if f[1] + 2 * pad < k || f[2] + 2 * pad < k {
                        bail!("model.spec: conv{} (`{s}`): kernel {k} does not fit the {f:?} maps it receives, with padding {pad} (input {input:?})", synapse + 1);
                    }
                    synapse += 1;
                    let name = format!("conv{synapse}");
                    weight_bytes = sizes::check_weights(
                        &name,
                        &s.to_string(),
                        &[out, f[0], k, k],
                        weight_bytes,
                    )?;
                    let conv = Conv2d::new(
                        &format!("conv{synapse}"),
                        f[0],
                        out,
                        k,
                        stride,
                        pad,
                        cfg.norm,
                        cfg.init,
                        gain,
                        t,
                        rng,
                    );
                    // Average pooling right after, stride = window, that fits the conv's
                    // output: fold it into the convolution (one linear map; see conv2d.rs).
                    let out_f = conv.out_frame(&f);
                    match specs.peek() {
                        Some(&&LayerSpec::AvgPool { k: pk, stride: ps })
                            if pk == ps && out_f[1] >= pk && out_f[2] >= pk =>
                        {
                            specs.next();
                            Box::new(conv.with_avg_pool(pk))
                        }
                        _ => Box::new(conv),
                    }
                }
                LayerSpec::AvgPool { k, stride }
                | LayerSpec::MaxPool { k, stride }
                | LayerSpec::FirstSpikePool { k, stride } => {
                    spatial()?;
                    if f[1] < k || f[2] < k {
                        bail!("model.spec: pooling `{s}` (layer {}): window {k} does not fit the {f:?} maps it receives (input {input:?}): remove a pooling layer or use a smaller window", layers.len() + 1);
                    }
                    match s {
                        LayerSpec::AvgPool { .. } => Box::new(AvgPool2d { k, stride }),
                        LayerSpec::MaxPool { .. } => Box::new(MaxPool2d::new(k, stride)),
                        _ => Box::new(MaxPool2d::first_spike(k, stride)),
                    }
                }
                LayerSpec::Neuron => {
                    hidden_neurons += 1;
                    Box::new(Neuron::new(cfg.hidden_if_params(hidden_neurons - 1)))
                }
                LayerSpec::Flatten => Box::new(Flatten),
            };
            let out = layer.out_frame(&f);
            sizes::check_frame(&format!("layer {} (`{s}`)", layers.len() + 1), &out, t)?;
            frames.push(out);
            layers.push(layer);
        }
        let n = layers.len();
        Ok(Model {
            cfg: cfg.clone(),
            layers,
            frames,
            decoder: Decoder::new(cfg.decoder.clone(), cfg.output_if_params(), cfg.time_steps),
            device: Device::Cpu,
            input: Tensor::default(),
            input_on_device: false,
            input_moved: false,
            acts: vec![Tensor::default(); n + 1],
            grads: vec![Tensor::default(); n + 1],
            logits: Tensor::default(),
            dlogits: Tensor::default(),
            static_out: Tensor::default(),
            static_grad: Tensor::default(),
            constant_neuron: false,
            labels: Buf::default(),
            losses: Buf::default(),
            aux: AuxMembrane::new(neuron),
        })
    }
}
