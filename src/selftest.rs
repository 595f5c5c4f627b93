//! `ttfs selftest --device D`: is this device's backend right? Every kernel against the CPU
//! backend on random inputs ([`crate::kernels::compare`]), then a few training steps of small
//! networks on both (losses, spikes, logits), then the same steps twice on the device (same
//! bits). One table, pass or fail.

use crate::decoder::{DecoderConfig, DecoderKind, Weighting};
use crate::encoding::{encode, Encoding, ZeroInput};
use crate::kernels::{compare, Device};
use crate::model::{Model, ModelConfig};
use crate::optim::{OptimConfig, OptimKind, Optimizer};
use crate::rng::Rng;
use anyhow::Result;
use std::time::Instant;

/// One line of the table.
pub struct Check {
    pub what: String,
    pub detail: String,
    pub pass: bool,
}

/// Training steps per network.
const STEPS: usize = 6;
/// Relative difference allowed between the CPU's and the device's loss at every step: the
/// products sum in another order, which moves a potential sitting on the threshold across it
/// now and then; a wrong kernel shows as a difference of percents.
const LOSS_TOL: f64 = 2e-3;
/// Fraction of neurons whose spike (fired or not, and when) must agree at the last step.
const SPIKE_AGREEMENT: f64 = 0.995;

/// The small networks trained on both devices: every layer kind, both pooling folds, each
/// decoder family, both encodings (the direct one runs the static-input prefix).
fn networks() -> Vec<(ModelConfig, OptimConfig)> {
    let base = ModelConfig::default();
    let adam = OptimConfig {
        lr: 3e-3,
        ..Default::default()
    };
    vec![
        (
            ModelConfig {
                spec: "conv6k3p1 ap2 if conv8k3s2p1 if fp2 fc10".into(),
                encoding: Encoding::Latency,
                init_gain: 1.0,
                ..base.clone()
            },
            adam.clone(),
        ),
        (
            ModelConfig {
                spec: "conv4k3p1 if mp2 conv6k3p1 if ap2 fc24 if fc10".into(),
                encoding: Encoding::Direct,
                decoder: DecoderConfig {
                    kind: DecoderKind::Membrane,
                    weighting: Weighting::Last,
                    ..DecoderConfig::default()
                },
                ..base.clone()
            },
            OptimConfig {
                kind: OptimKind::AdamW,
                weight_decay: 1e-2,
                clip_grad_norm: 0.5,
                ..adam.clone()
            },
        ),
        (
            ModelConfig {
                spec: "fc40 if fc10".into(),
                encoding: Encoding::Latency,
                init_gain: 3.0,
                decoder: DecoderConfig {
                    kind: DecoderKind::Count,
                    ..DecoderConfig::default()
                },
                ..base
            },
            OptimConfig {
                kind: OptimKind::Sgd,
                lr: 0.05,
                nesterov: true,
                ..adam
            },
        ),
    ]
}

/// What a few training steps produced.
struct Trace {
    losses: Vec<f32>,
    /// Each spiking layer's output at the last step, on the host.
    spikes: Vec<Vec<f32>>,
    logits: Vec<f32>,
    params: Vec<Vec<f32>>,
}

/// `STEPS` training steps of `cfg` on `device` from a fixed initialization and fixed batches
/// of 12x12 images.
fn train_steps(cfg: &ModelConfig, opt: &OptimConfig, device: Device) -> Result<Trace> {
    let (b, side) = (16, 12);
    let mut rng = Rng::new(7);
    let mut model = Model::new(cfg, &[1, side, side], &mut rng)?;
    model.to_device(device)?;
    let mut optimizer = Optimizer::new(opt.clone());
    let mut losses = Vec::new();
    for _ in 0..STEPS {
        let x: Vec<f32> = (0..b * side * side).map(|_| rng.uniform()).collect();
        let labels: Vec<usize> = (0..b).map(|_| rng.below(10)).collect();
        encode(
            cfg.encoding,
            ZeroInput::Last,
            cfg.time_steps,
            b,
            &x,
            model.input_mut(),
        );
        model.forward();
        model.zero_grad();
        losses.push(model.backward(&labels));
        optimizer.update(&mut model.params_mut(), opt.lr);
    }
    let spikes = (0..model.layers.len())
        .filter(|&i| model.layers[i].is_neuron())
        .map(|i| model.acts[i + 1].data.to_vec())
        .collect();
    Ok(Trace {
        losses,
        spikes,
        logits: model.logits.data.to_vec(),
        params: model.params().iter().map(|p| p.value.to_vec()).collect(),
    })
}

/// Fraction of equal values.
fn agreement(a: &[f32], b: &[f32]) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(1) as f64
}

/// Runs every check of `device` against the CPU backend.
pub fn run(device: Device) -> Result<Vec<Check>> {
    let start = Instant::now();
    let kernels = device.kernels()?;
    let mut checks = vec![Check {
        what: "start".into(),
        detail: format!(
            "{} backend on {device}: kernels compiled and loaded in {:.2} s",
            kernels.name(),
            start.elapsed().as_secs_f64()
        ),
        pass: true,
    }];
    for r in compare::compare(Device::Cpu, device) {
        checks.push(Check {
            what: format!("kernel {}", r.kernel),
            detail: format!(
                "{}: max abs {:.2e}, rel {:.2e} (tol {})",
                r.case,
                r.max_abs,
                r.max_rel,
                if r.tol == 0.0 {
                    "exact".to_string()
                } else {
                    format!("{:.0e}", r.tol)
                }
            ),
            pass: r.pass,
        });
    }
    for (cfg, opt) in networks() {
        let name = format!("train `{}` {:?}", cfg.spec, cfg.decoder.kind);
        let cpu = train_steps(&cfg, &opt, Device::Cpu)?;
        let dev = train_steps(&cfg, &opt, device)?;
        let worst = cpu
            .losses
            .iter()
            .zip(&dev.losses)
            .map(|(a, b)| ((a - b).abs() / a.abs().max(1e-6)) as f64)
            .fold(0.0, f64::max);
        checks.push(Check {
            what: name.clone(),
            detail: format!(
                "loss over {STEPS} steps: cpu {:.5} -> {:.5}, {device} {:.5} -> {:.5}; worst relative difference {worst:.1e} (tol {LOSS_TOL:.0e})",
                cpu.losses[0],
                cpu.losses[STEPS - 1],
                dev.losses[0],
                dev.losses[STEPS - 1]
            ),
            pass: worst <= LOSS_TOL && dev.losses.iter().all(|l| l.is_finite()),
        });
        for (k, (a, b)) in cpu.spikes.iter().zip(&dev.spikes).enumerate() {
            let agree = agreement(a, b);
            checks.push(Check {
                what: name.clone(),
                detail: format!(
                    "spiking layer {k}, last step: {:.2}% of {} neuron-steps agree (at least {:.1}%)",
                    100.0 * agree,
                    a.len(),
                    100.0 * SPIKE_AGREEMENT
                ),
                pass: agree >= SPIKE_AGREEMENT,
            });
        }
        let scale = cpu.logits.iter().map(|v| v.abs()).fold(1e-6, f32::max);
        let logit_diff = cpu
            .logits
            .iter()
            .zip(&dev.logits)
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0, f32::max);
        checks.push(Check {
            what: name.clone(),
            detail: format!(
                "logits at the last step: largest difference {logit_diff:.1e} of the largest logit (tol 1e-2)"
            ),
            pass: logit_diff <= 1e-2,
        });
        let again = train_steps(&cfg, &opt, device)?;
        let same = again.losses == dev.losses && again.params == dev.params;
        checks.push(Check {
            what: name,
            detail: format!(
                "determinism: the same {STEPS} steps twice on {device} give {}",
                if same {
                    "the same bits"
                } else {
                    "DIFFERENT bits"
                }
            ),
            pass: same,
        });
    }
    Ok(checks)
}

/// The table `ttfs selftest` prints.
pub fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.what.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        s += &format!(
            "{:<4} {:<width$}  {}\n",
            if c.pass { "ok" } else { "FAIL" },
            c.what,
            c.detail
        );
    }
    let failed = checks.iter().filter(|c| !c.pass).count();
    s += &format!(
        "{} checks, {} passed, {failed} failed\n",
        checks.len(),
        checks.len() - failed
    );
    s
}
