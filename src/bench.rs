//! Training-step benchmark of the two models of the PyTorch speed peer
//! (`bench/ttfs_torch.py`): same layers, same T and batch, same optimizer, time folded
//! into the batch, random latency-coded inputs.

use crate::decoder::{DecoderConfig, DecoderKind, Weighting};
use crate::encoding::{encode, Encoding, ZeroInput};
use crate::ettfs_init::Init;
use crate::kernels::Device;
use crate::model::{Model, ModelConfig};
use crate::optim::{OptimConfig, Optimizer};
use crate::rng::Rng;
use crate::surrogate::SurrogateKind;
use crate::weight_norm::Norm;
use anyhow::Result;
use std::time::Instant;

/// The peer's models: `mlp` (784-400-400-10) and `cnn` (conv32 ap2 if conv64 ap2 if fc10).
pub fn peer_model(kind: &str, t: usize) -> Result<ModelConfig> {
    let spec = match kind {
        "mlp" => "fc400 if fc400 if fc10",
        "cnn" => "conv32k3p1 ap2 if conv64k3p1 ap2 if fc10",
        _ => anyhow::bail!("unknown benchmark model `{kind}` (mlp or cnn)"),
    };
    Ok(ModelConfig {
        spec: spec.into(),
        time_steps: t,
        encoding: Encoding::Latency,
        zero_input: ZeroInput::Last,
        init: Init::Ettfs,
        init_gain: 1.0,
        norm: Norm::WeightAffine,
        surrogate: SurrogateKind::Sigmoid,
        alpha: 4.0,
        mask_grad: false,
        output_alpha: None,
        output_init_gain: None,
        decoder: DecoderConfig {
            kind: DecoderKind::Temporal,
            weighting: Weighting::Exp,
            base: 1.25,
            scale: 10.0,
            exact_time: false,
            learn_weights: false,
        },
    })
}

pub struct StepTiming {
    pub median_ms: f64,
    pub min_ms: f64,
    pub samples_per_s: f64,
}

/// Median time of one training step (encode, forward, loss, backward, Adam) on `device` over
/// `steps` steps after `warmup` steps. A GPU's work is waited for at the end of each step.
pub fn time_training_step(
    cfg: &ModelConfig,
    device: Device,
    batch: usize,
    warmup: usize,
    steps: usize,
) -> Result<StepTiming> {
    let mut rng = Rng::new(0);
    let mut model = Model::new(cfg, &[1, 28, 28], &mut rng)?;
    model.to_device(device)?;
    let kernels = device.kernels()?;
    let mut opt = Optimizer::new(OptimConfig {
        lr: 1e-3,
        ..Default::default()
    });
    let x: Vec<f32> = (0..batch * 784).map(|_| rng.uniform()).collect();
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(10)).collect();
    let mut times = Vec::new();
    for i in 0..warmup + steps {
        let start = Instant::now();
        encode(
            cfg.encoding,
            cfg.zero_input,
            cfg.time_steps,
            batch,
            &x,
            model.input_mut(),
        );
        model.forward();
        model.zero_grad();
        model.backward(&labels);
        let mut params = model.params_mut();
        opt.update(&mut params, 1e-3);
        kernels.synchronize();
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    Ok(StepTiming {
        median_ms: median,
        min_ms: times[0],
        samples_per_s: batch as f64 / (median / 1e3),
    })
}
