//! Signal diminishing at initialization: for a deep MLP of fire-once neurons, the fraction of
//! neurons that fire in each layer and the weight-gradient norm of each layer, Kaiming
//! against ETTFS initialization (no training).
//!
//! cargo run --release --example signal_diminishing -- [DATA] [DIR] [LAYERS] [SAMPLES] [PLOT_DIR]
//! e.g.  cargo run --release --example signal_diminishing -- mnist data/mnist 10 512
//! (DATA `digits` needs no directory.) Prints a Markdown table and writes a CSV to stdout's
//! last block; with PLOT_DIR, also `signal_firing.{png,svg}` and `signal_gradients.{png,svg}`.
//!
//! cargo run --release --example signal_diminishing -- DATA DIR CONFIG.toml [SAMPLES]
//! e.g.  cargo run --release --example signal_diminishing -- cifar10 DIR configs/cifar10.toml 512
//! The network, encoding and normalization of a shipped recipe instead: the fraction of each
//! spiking layer's neurons that fire on SAMPLES test images at initialization, with the
//! recipe's `init_gain` alone, with gain 1, and with the firing calibration
//! (`model.init_firing`, the recipe's or 0.5).

use ttfs::config::Config;
use ttfs::data::batch::{assemble, InputSpec};
use ttfs::ettfs_init::Init;
use ttfs::metrics::SpikeMonitor;
use ttfs::model::Model;
use ttfs::rng::Rng;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let data = args.get(1).map(String::as_str).unwrap_or("digits");
    let dir = args
        .get(2)
        .filter(|d| *d != "-")
        .map(std::path::PathBuf::from);
    if let Some(cfg) = args.get(3).filter(|a| a.ends_with(".toml")) {
        let samples: usize = args.get(4).map_or(Ok(512), |s| s.parse())?;
        return recipe(data, dir.as_deref(), cfg, samples);
    }
    let depth: usize = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let samples: usize = args.get(4).map_or(Ok(256), |s| s.parse())?;
    let plot_dir = args.get(5).map(std::path::PathBuf::from);
    let splits = ttfs::data::load(data, dir.as_deref())?;
    let spec = std::iter::repeat_n("fc400 if", depth)
        .collect::<Vec<_>>()
        .join(" ")
        + " fc10";
    println!("{data}: MLP with {depth} spiking layers of 400 ({spec}), T = 8, latency input, {samples} test samples\n");
    let mut rows = Vec::new();
    for init in [Init::Kaiming, Init::Ettfs] {
        for norm in ["none", "weight_affine"] {
            let cfg = Config::from_toml(
                "",
                "signal_diminishing",
                &[
                    format!("model.spec=\"{spec}\""),
                    format!("model.init=\"{}\"", format!("{init:?}").to_lowercase()),
                    "model.init_gain=1.0".into(),
                    format!("model.norm=\"{norm}\""),
                    "model.encoding=\"latency\"".into(),
                    "model.alpha=4".into(),
                ],
            )?;
            let mut model = Model::new(&cfg.model, &splits.test.frame, &mut Rng::new(0))?;
            let input = InputSpec {
                encoding: cfg.model.encoding,
                zero: cfg.model.zero_input,
                time_steps: 8,
                normalize: None,
            };
            let idx: Vec<usize> = (0..samples.min(splits.test.len())).collect();
            let (mut labels, mut scratch) = (Vec::new(), Vec::new());
            assemble(
                &splits.test,
                &idx,
                &input,
                model.input_mut(),
                &mut labels,
                &mut scratch,
            );
            model.forward();
            model.zero_grad();
            model.backward(&labels);
            let mut mon = SpikeMonitor::default();
            mon.record(&model);
            let firing: Vec<f64> = mon
                .layers
                .iter()
                .map(|l| 1.0 - l.silent_fraction())
                .collect();
            let grads: Vec<f64> = model
                .params()
                .iter()
                .filter(|p| p.name.ends_with(".weight"))
                .map(|p| {
                    p.grad
                        .iter()
                        .map(|g| (*g as f64).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            rows.push((format!("{init:?}"), norm.to_string(), firing, grads));
        }
    }
    let n = depth + 1;
    print!("| init | norm | measure |");
    for l in 1..=n {
        print!(" L{l} |");
    }
    println!();
    println!("|{}", "---|".repeat(n + 3));
    for (init, norm, firing, grads) in &rows {
        print!("| {init} | {norm} | firing fraction |");
        for f in firing {
            print!(" {f:.3} |");
        }
        println!();
        print!("| {init} | {norm} | weight grad norm |");
        for g in grads {
            print!(" {g:.2e} |");
        }
        println!();
    }
    println!("\ncsv:\ninit,norm,layer,firing_fraction,grad_norm");
    for (init, norm, firing, grads) in &rows {
        for (l, g) in grads.iter().enumerate() {
            let f = firing.get(l).copied().unwrap_or(f64::NAN);
            println!("{init},{norm},{},{f},{g}", l + 1);
        }
    }
    if let Some(dir) = plot_dir {
        std::fs::create_dir_all(&dir)?;
        let name = |i: &str, n: &str| {
            format!(
                "{i}, {}",
                if n == "none" {
                    "no norm"
                } else {
                    "weight norm + affine"
                }
            )
        };
        let firing: Vec<(String, Vec<f64>)> = rows
            .iter()
            .map(|r| (name(&r.0, &r.1), r.2.clone()))
            .collect();
        let grads: Vec<(String, Vec<f64>)> = rows
            .iter()
            .map(|r| (name(&r.0, &r.1), r.3.clone()))
            .collect();
        let title = format!("{data}, {depth} spiking layers of 400, T = 8, at initialization");
        ttfs::plot::per_layer(
            &format!("Firing fraction per layer: {title}"),
            "fraction of neurons that fire",
            &firing,
            false,
            &dir.join("signal_firing"),
        )?;
        ttfs::plot::per_layer(
            &format!("Weight-gradient norm per layer: {title}"),
            "||dL/dW|| (log; exactly 0 drawn at 1e-12)",
            &grads,
            true,
            &dir.join("signal_gradients"),
        )?;
        println!("\nplots in {}", dir.display());
    }
    Ok(())
}

/// Firing per spiking layer at initialization for the model of the recipe `path`.
fn recipe(
    data: &str,
    dir: Option<&std::path::Path>,
    path: &str,
    samples: usize,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let base = Config::from_toml(&text, path, &[format!("data.name=\"{data}\"")])?;
    let firing = base.model.init_firing.unwrap_or(0.5);
    let gain = base.model.init_gain;
    let splits = ttfs::data::load(data, dir)?;
    let test: Vec<usize> = (0..samples.min(splits.test.len())).collect();
    let test = splits.test.subset(&test);
    println!(
        "{data}, `{}`, T = {}, {:?} encoding, {} test samples, at initialization: fraction of \
         each spiking layer's neurons that fire (calibration on the first training batch)\n",
        base.model.spec,
        base.model.time_steps,
        base.model.encoding,
        test.len()
    );
    let variants = [
        (
            format!("ETTFS, init_gain {gain}"),
            vec![
                "model.init_firing=0.5".to_string(),
                format!("model.init_gain={gain}"),
            ],
            false,
        ),
        (
            "ETTFS, init_gain 1".into(),
            vec!["model.init_gain=1.0".into()],
            false,
        ),
        (
            format!("ETTFS + firing calibration {firing}"),
            vec![format!("model.init_firing={firing}")],
            true,
        ),
    ];
    let mut header = false;
    for (name, set, calibrate) in variants {
        let mut set = set;
        set.push(format!("data.name=\"{data}\""));
        let mut cfg = Config::from_toml(&text, path, &set)?;
        if !calibrate {
            cfg.model.init_firing = None;
        }
        let tr = ttfs::train::Trainer::with_data(&cfg, splits.train.clone(), test.clone())?;
        let mut model = tr.model;
        let ev = ttfs::train::evaluate(&mut model, &test, &tr.input, 128);
        if !header {
            print!("| initialization |");
            for l in &ev.monitor.layers {
                print!(" {} |", l.name);
            }
            println!();
            println!("|---|{}", "---|".repeat(ev.monitor.layers.len()));
            header = true;
        }
        print!("| {name} |");
        for l in &ev.monitor.layers {
            print!(" {:.3} |", 1.0 - l.silent_fraction());
        }
        println!();
        if calibrate {
            println!("\ngains found: {:?}", tr.cfg.model.synapse_gains);
        }
    }
    Ok(())
}
