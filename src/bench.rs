//! Training-step benchmark of the two models of the PyTorch speed peer
//! (`bench/ttfs_torch.py`): same layers, same T and batch, same optimizer, time folded
//! into the batch, latency-coded inputs: one batch of random images (every pixel nonzero, so
//! every input unit fires: the most events a batch can have), or a data set's images.

use crate::data::{Dataset, Kind};
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
        // The peer's code: a zero pixel never fires (its `(x > 0)` spike); random images
        // have none, data sets' have many.
        zero_input: ZeroInput::Silent,
        init: Init::Ettfs,
        init_gain: 1.0,
        norm: Norm::WeightAffine,
        surrogate: SurrogateKind::Sigmoid,
        alpha: 4.0,
        mask_grad: false,
        band: None,
        layer_bands: Vec::new(),
        output_alpha: None,
        output_init_gain: None,
        init_firing: None,
        synapse_gains: Vec::new(),
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
    /// The process's peak resident memory from the model's build to the last step, in bytes
    /// (Linux only: the high-water mark is reset first).
    pub peak_rss: Option<u64>,
}

/// The images a benchmark trains on: one random batch, or a data set's batches in order.
#[derive(Clone, Copy)]
pub enum BenchInput<'a> {
    Random,
    Images(&'a Dataset),
}

impl BenchInput<'_> {
    /// Batch `i`'s images (`[batch, 784]`, values in [0, 1]) and labels into `x` and `labels`.
    fn batch(
        &self,
        i: usize,
        batch: usize,
        rng: &mut Rng,
        x: &mut Vec<f32>,
        labels: &mut Vec<usize>,
    ) {
        match self {
            BenchInput::Random => {
                if x.is_empty() {
                    *x = (0..batch * 784).map(|_| rng.uniform()).collect();
                    *labels = (0..batch).map(|_| rng.below(10)).collect();
                }
            }
            BenchInput::Images(d) => {
                // Consecutive batches, from the start again after the last whole one (the
                // peer's `DATA_DIR` takes the same).
                let first = i * batch % (d.len() / batch * batch);
                x.clear();
                labels.clear();
                for j in first..first + batch {
                    x.extend(d.sample(j).iter().map(|&v| v as f32 * d.scale));
                    labels.push(d.labels[j] as usize);
                }
            }
        }
    }
}

/// `d` as a benchmark's input: 28x28 grayscale images (the peer's models), at least one batch.
pub fn check_bench_images(d: &Dataset, batch: usize) -> Result<()> {
    anyhow::ensure!(
        d.kind == Kind::Image && d.frame == [1, 28, 28] && d.classes <= 10,
        "{}: the benchmark's models take 28x28 grayscale images of up to 10 classes (mnist, \
         fashion-mnist); this set has frames {:?}",
        d.name,
        d.frame
    );
    anyhow::ensure!(
        d.len() >= batch,
        "{}: {} training images, fewer than one batch of {batch}",
        d.name,
        d.len()
    );
    Ok(())
}

/// Median time of one training step (encode, forward, loss, backward, Adam) on `device` over
/// `steps` steps after `warmup` steps. A GPU's work is waited for at the end of each step.
/// Reading the batch's images is not timed.
pub fn time_training_step(
    cfg: &ModelConfig,
    device: Device,
    batch: usize,
    warmup: usize,
    steps: usize,
    input: BenchInput,
) -> Result<StepTiming> {
    let mut rng = Rng::new(0);
    reset_peak_rss();
    let mut model = Model::new(cfg, &[1, 28, 28], &mut rng)?;
    model.to_device(device)?;
    let kernels = device.kernels()?;
    let mut opt = Optimizer::new(OptimConfig {
        lr: 1e-3,
        ..Default::default()
    });
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut times = Vec::new();
    for i in 0..warmup + steps {
        input.batch(i, batch, &mut rng, &mut x, &mut labels);
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
        peak_rss: peak_rss(),
    })
}

/// Sets the process's peak resident memory (`VmHWM`) to what it holds now (Linux: writing 5
/// to `/proc/self/clear_refs`), so that a later [`peak_rss`] sees one measurement's peak.
/// Memory that an earlier measurement freed goes back to the system first (glibc keeps it
/// otherwise, and it would count).
fn reset_peak_rss() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory in bytes (`VmHWM` of `/proc/self/status`), where the
/// system tells it.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
