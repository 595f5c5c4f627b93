//! The `ttfs` command line.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use ttfs::config::Config;
use ttfs::train::{EpochMetrics, Trainer};

#[derive(Parser)]
#[command(
    name = "ttfs",
    version,
    about = "Train time-to-first-spike spiking neural networks from scratch, fast"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct ConfigArgs {
    /// Experiment config (TOML); without it the embedded-digits default is used.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Override a config key, e.g. --set optimizer.lr=0.001 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Data set name (digits, mnist, fashion-mnist): shorthand for --set data.name=...
    #[arg(long)]
    data: Option<String>,
    /// Directory of the data set's files: shorthand for --set data.dir=...
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Shorthand for --set train.epochs=N
    #[arg(long)]
    epochs: Option<usize>,
    /// Shorthand for --set train.seed=N
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

impl ConfigArgs {
    fn resolve(&self) -> Result<Config> {
        let mut set = self.set.clone();
        if let Some(d) = &self.data {
            set.push(format!("data.name=\"{d}\""));
        }
        if let Some(d) = &self.data_dir {
            set.push(format!("data.dir=\"{}\"", d.display()));
        }
        if let Some(e) = self.epochs {
            set.push(format!("train.epochs={e}"));
        }
        if let Some(s) = self.seed {
            set.push(format!("train.seed={s}"));
        }
        if let Some(t) = self.threads {
            set.push(format!("train.threads={t}"));
        }
        Config::load(self.config.as_deref(), &set)
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a network (no arguments: the embedded 8x8 digits).
    Train {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Print only the final result.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Time training steps of the PyTorch peer's two models and, when the peer script and
    /// PyTorch are available, run the peer in the same process tree and print the ratio.
    ///
    /// Example: ttfs bench --peer ../shared/bench/ttfs_torch.py
    Bench {
        /// Models to time (mlp, cnn).
        #[arg(long, value_delimiter = ',', default_value = "mlp,cnn")]
        models: Vec<String>,
        #[arg(long, default_value_t = 8)]
        time_steps: usize,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Timed steps (after 3 warm-up steps).
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// The PyTorch peer script; skipped when absent.
        #[arg(long, default_value = "../shared/bench/ttfs_torch.py")]
        peer: PathBuf,
        /// Python interpreter for the peer.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Worker threads for ttfs and the peer (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Describe a model: layers, shapes, parameters, operations per sample.
    Info {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Data sets: verify a directory, or say where the files come from.
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
}

#[derive(Subcommand)]
enum DataCmd {
    /// Verify a data set directory (files, sizes, checksums, labels) and count its samples.
    Check {
        /// digits, mnist, fashion-mnist, cifar10, cifar100, n-mnist, dvs-gesture
        name: String,
        dir: PathBuf,
    },
    /// Where the official files come from and the directory layout ttfs expects.
    Info { name: String },
}

fn init_threads(n: usize) {
    if n > 0 {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
}

fn print_epoch(m: &EpochMetrics, epochs: usize) {
    let ev = &m.eval;
    let layers: Vec<String> = ev
        .monitor
        .layers
        .iter()
        .map(|l| {
            let mut s = format!(
                "{:.2}/{:.0}%",
                l.spikes_per_neuron(),
                100.0 * l.silent_fraction()
            );
            if l.what == "pooled spikes" {
                s += &format!("(max {})", l.max_events);
            }
            s
        })
        .collect();
    println!(
        "epoch {:>3}/{epochs} loss {:.4} train {:.2}% {} {:.2}% (loss {:.4}) first-out {:.2} spikes/neuron,silent [{}] lr {:.2e} {:.1}s {:.0} samples/s",
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        m.eval_split,
        100.0 * ev.accuracy,
        ev.loss,
        ev.monitor.mean_first_output(),
        layers.join(" "),
        m.lr,
        m.seconds,
        m.train_samples_per_s
    );
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The chain of contexts, without a backtrace: errors are for users.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Data { cmd } => match cmd {
            DataCmd::Check { name, dir } => print!("{}", ttfs::data::check::check(&name, &dir)?),
            DataCmd::Info { name } => println!("{}", ttfs::data::check::info(&name)?),
        },
        Cmd::Train { cfg, quiet } => {
            let cfg = cfg.resolve()?;
            init_threads(cfg.train.threads);
            let start = std::time::Instant::now();
            let mut trainer = Trainer::new(&cfg)?;
            if !quiet {
                println!(
                    "data {}: {} train / {} test, model `{}` T={} ({} parameters), {} threads",
                    cfg.data.name,
                    trainer.train.len(),
                    trainer.test.len(),
                    cfg.model.spec,
                    cfg.model.time_steps,
                    trainer.model.num_params(),
                    rayon::current_num_threads()
                );
            }
            let mut last = None;
            for _ in 0..cfg.train.epochs {
                let m = trainer.train_epoch(|_, _, _, _| {});
                if !quiet {
                    print_epoch(&m, cfg.train.epochs);
                }
                last = Some(m);
            }
            let test = if trainer.validation.is_some() {
                trainer.evaluate_test()
            } else {
                last.unwrap().eval
            };
            println!(
                "final test accuracy {:.2}% ({} samples), mean first output spike {:.2}, wall time {:.1}s",
                100.0 * test.accuracy,
                test.samples,
                test.monitor.mean_first_output(),
                start.elapsed().as_secs_f64()
            );
        }
        Cmd::Bench {
            models,
            time_steps,
            batch,
            steps,
            peer,
            python,
            threads,
        } => {
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            init_threads(threads);
            println!("training step (forward + backward + Adam), T = {time_steps}, batch {batch}, {threads} threads");
            for m in &models {
                let cfg = ttfs::bench::peer_model(m, time_steps)?;
                let r = ttfs::bench::time_training_step(&cfg, batch, 3, steps)?;
                print!(
                    "ttfs  {m:<4} median {:>8.2} ms/step (min {:.2})  {:>8.0} samples/s",
                    r.median_ms, r.min_ms, r.samples_per_s
                );
                if peer.is_file() {
                    let out = std::process::Command::new(&python)
                        .arg(&peer)
                        .args(["bench", m, &time_steps.to_string(), &batch.to_string()])
                        .env("THREADS", threads.to_string())
                        .output();
                    let text = out
                        .as_ref()
                        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                        .unwrap_or_default();
                    match text
                        .split("median_ms=")
                        .nth(1)
                        .and_then(|v| v.trim().parse::<f64>().ok())
                    {
                        Some(p) => println!(
                            "  | peer {p:>8.2} ms/step  -> ttfs is {:.2}x faster",
                            p / r.median_ms
                        ),
                        None => println!(
                            "  | peer failed: {}",
                            out.map(|o| String::from_utf8_lossy(&o.stderr).to_string())
                                .unwrap_or_else(|e| e.to_string())
                                .lines()
                                .last()
                                .unwrap_or("")
                        ),
                    }
                } else {
                    println!("  | peer script {} not found", peer.display());
                }
            }
        }
        Cmd::Info { cfg } => {
            let cfg = cfg.resolve()?;
            let splits = ttfs::data::load_with(
                &cfg.data.name,
                cfg.data.dir.as_deref().map(std::path::Path::new),
                &cfg.data.load_options(cfg.model.time_steps),
            );
            let frame = match &splits {
                Ok(s) => s.train.frame.to_vec(),
                Err(_) => vec![1, 28, 28],
            };
            let model = ttfs::model::Model::new(&cfg.model, &frame, &mut ttfs::rng::Rng::new(0))?;
            println!(
                "model `{}`, T = {}, input {:?}",
                cfg.model.spec, cfg.model.time_steps, frame
            );
            for (i, l) in model.layers.iter().enumerate() {
                let params: usize = l.params().iter().map(|p| p.value.len()).sum();
                println!(
                    "{:>3} {:<40} {:?} -> {:?} params {} MACs/frame {}",
                    i,
                    l.describe(),
                    model.frames[i],
                    model.frames[i + 1],
                    params,
                    l.macs_per_frame(&model.frames[i])
                );
            }
            println!("decoder {:?}", cfg.model.decoder);
            println!("parameters {}", model.num_params());
        }
    }
    Ok(())
}
