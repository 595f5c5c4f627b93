//! Training steps of the CIFAR-10 VGG (`configs/cifar10.toml`'s model: 6 convolutions, T = 4,
//! direct input, membrane readout) on one batch of random normalized 3x32x32 images, its
//! gains calibrated as a fresh run does (`model.init_firing`). Prints the median ms a step and
//! samples/s, and with `model.band` set the fraction of nonzero step changes of each
//! synapse's output gradient (the entries the sparse backward visits).
//!
//!     cargo run --release --example vgg_step -- [STEPS [BATCH [KEY=VALUE...]]]
//!     e.g. cargo run --release --example vgg_step -- 10 64 model.band=0.5

#[path = "common/timing.rs"]
mod timing;
use ttfs::config::Config;
use ttfs::optim::{OptimConfig, Optimizer};
use ttfs::rng::Rng;
use ttfs::tensor::Tensor;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps: usize = args.first().map_or(Ok(10), |s| s.parse())?;
    let batch: usize = args.get(1).map_or(Ok(64), |s| s.parse())?;
    let sets: Vec<String> = args.iter().skip(2).cloned().collect();
    // The repository's config, wherever the example is run from.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/cifar10.toml");
    let cfg = Config::load(Some(&path), &sets)?;
    let mut m = cfg.model.clone();
    let frame = [3, 32, 32];
    let mut rng = Rng::new(1);
    let x: Vec<f32> = (0..batch * 3 * 32 * 32)
        .map(|_| rng.range(-2.0, 2.0))
        .collect();
    let input = Tensor::from_vec(&[1, batch, 3 * 32 * 32], x);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(10)).collect();
    let mut model = ttfs::model::Model::new(&m, &frame, &mut Rng::new(1))?;
    if let Some(f) = m.init_firing {
        m.synapse_gains = ttfs::firing_calibration::calibrate(&mut model, &input, f)?.0;
        model = ttfs::model::Model::new(&m, &frame, &mut Rng::new(1))?;
    }
    let mut opt = Optimizer::new(OptimConfig {
        lr: 1e-3,
        ..Default::default()
    });
    let mut step = || {
        *model.input_mut() = input.clone();
        model.forward();
        model.zero_grad();
        model.backward(&labels);
        let mut params = model.params_mut();
        opt.update(&mut params, 1e-3);
    };
    for _ in 0..2 {
        step();
    }
    let ms = timing::time_ms(steps, step);
    println!(
        "vgg T = {} batch {batch} band {:?} layer_bands {:?}: {ms:.1} ms/step, {:.1} samples/s",
        m.time_steps,
        m.band,
        m.layer_bands,
        batch as f64 / (ms / 1e3)
    );
    Ok(())
}
