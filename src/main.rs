//! The `ttfs` command line. Each subcommand is an `Args` struct and a `run` function; add one by
//! adding a variant to [`Cmd`] and a line to [`dispatch`].

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ttfs::checkpoint::{self, Checkpoint};
use ttfs::collective::Collective;
use ttfs::config::Config;
use ttfs::kernels::Device;
use ttfs::progress::Progress;
use ttfs::run_dir::{Created, RunDir, BEST, LAST};
use ttfs::train::Trainer;

const ABOUT: &str = "Train time-to-first-spike spiking neural networks from scratch, fast";

const MAIN_HELP: &str = "\
Workflow:
  ttfs train --config configs/mnist.toml --name mnist   # writes runs/mnist/
  ttfs eval runs/mnist                                   # accuracy, spikes, decision time
  ttfs plot runs/mnist                                   # runs/mnist/plots/*.png, *.svg
  ttfs info --config configs/mnist.toml                  # layers, parameters, operations
  ttfs export nir runs/mnist mnist.nir                   # NIR graph for neuromorphic tools
  ttfs import nir mnist.nir --out runs/imported --data mnist   # an NIR graph as a run
  ttfs data info mnist                                   # where to get a data set
  ttfs bench                                             # speed against the PyTorch peer

`ttfs train` with no arguments trains on the embedded 8x8 digits in a few seconds.
Run `ttfs <command> --help` for each command's options and examples.";

#[derive(Parser)]
#[command(name = "ttfs", version, about = ABOUT, after_help = MAIN_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train a network; every run gets a directory with config, metrics and checkpoints.
    #[command(after_help = TRAIN_HELP)]
    Train(TrainArgs),
    /// Evaluate a checkpoint (or a run directory's best one) on a data set.
    #[command(after_help = EVAL_HELP)]
    Eval(EvalArgs),
    /// Draw a run's plots into RUN_DIR/plots/ (PNG and SVG).
    #[command(after_help = PLOT_HELP)]
    Plot(PlotArgs),
    /// Describe a model: layers, shapes, parameters, operations per sample.
    #[command(after_help = INFO_HELP)]
    Info(InfoArgs),
    /// Time training steps of the PyTorch peer's two models and, when the peer script and
    /// PyTorch are available, run the peer in the same process tree and print the ratio.
    #[command(after_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// Data sets: verify a directory, or say where the files come from.
    #[command(after_help = DATA_HELP)]
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
    /// Check a device's backend: every kernel against the CPU backend, then training steps of
    /// small networks on both; a pass/fail table, non-zero exit on any failure.
    #[command(after_help = SELFTEST_HELP)]
    Selftest(SelftestArgs),
    /// Export a trained network for other tools.
    #[command(after_help = EXPORT_HELP)]
    Export {
        #[command(subcommand)]
        cmd: ExportCmd,
    },
    /// Import a network from another tool's format as a run directory.
    #[command(after_help = IMPORT_HELP)]
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
}

fn dispatch(cmd: Cmd, dist: &Arc<dyn Collective>) -> Result<()> {
    match cmd {
        Cmd::Train(a) => train(a, dist),
        Cmd::Eval(a) => eval(a),
        Cmd::Plot(a) => plot(a),
        Cmd::Info(a) => info(a),
        Cmd::Bench(a) => bench(a),
        Cmd::Data { cmd } => data(cmd),
        Cmd::Selftest(a) => selftest(a),
        Cmd::Export { cmd } => export(cmd),
        Cmd::Import { cmd } => import(cmd),
    }
}

const EXPORT_HELP: &str = "\
Examples:
  ttfs export nir runs/mnist mnist.nir       # NIR graph (HDF5), read by Python's nir.read()

The weight normalization and its affine transform are folded into plain weights and biases;
the graph's metadata states T, the input encoding, the fire-once rule and the decoder
(docs/nir.md).";

#[derive(Subcommand)]
enum ExportCmd {
    /// Write the network as an NIR graph (the `nir` Python package's HDF5 format).
    Nir {
        /// A checkpoint (.safetensors) or a run directory (its best, else last, checkpoint).
        checkpoint: PathBuf,
        /// The NIR file to write.
        out: PathBuf,
        /// Directory of the data set's files, if the checkpoint does not state its input shape.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn export(cmd: ExportCmd) -> Result<()> {
    match cmd {
        ExportCmd::Nir {
            checkpoint,
            out,
            data_dir,
        } => {
            let (file, _, mut model) = ttfs::run::load_model(&checkpoint, data_dir.as_deref())?;
            let g = ttfs::nir::export(&mut model, &out)?;
            println!(
                "wrote {} ({} nodes: {}) from {}",
                out.display(),
                g.nodes.len(),
                g.nodes
                    .iter()
                    .map(|n| n.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(" -> "),
                file.display()
            );
        }
    }
    Ok(())
}

const IMPORT_HELP: &str = "\
Examples:
  ttfs import nir mnist.nir --out runs/imported --data mnist
  ttfs eval runs/imported                                  # evaluate it
  ttfs train --init-from runs/imported --epochs 3 --out runs/tuned   # fine-tune it

Reads a graph of the kinds `ttfs export nir` writes (Affine, Linear, Conv2d, AvgPool2d,
SumPool2d + IF, Flatten, fire-once IF with r = 1 and threshold 1, a last IF or I before the
Output); anything else is an error naming the node. The weights are taken bit for bit as plain
weights and biases (model.norm = \"none\"); the rest of the model config comes from the graph's
metadata (docs/nir.md).";

#[derive(Subcommand)]
enum ImportCmd {
    /// Read an NIR graph (HDF5, as nir.write and `ttfs export nir` write it) into a run
    /// directory (config.toml, best.safetensors) that `ttfs eval` and `ttfs train --init-from`
    /// read.
    Nir {
        /// The NIR file.
        file: PathBuf,
        /// The run directory to write.
        #[arg(long, value_name = "RUN_DIR")]
        out: PathBuf,
        /// The data set the network takes (default: digits for [1, 8, 8] inputs; needed for
        /// any other input shape).
        #[arg(long)]
        data: Option<String>,
        /// Directory of the data set's files.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Time steps T, for a graph that does not state them (metadata time_steps).
        #[arg(long)]
        time_steps: Option<usize>,
        /// Take IF nodes that do not state fire_once = 1 as fire-once neurons (ttfs's only
        /// kind); this changes what a network of repeatedly firing neurons computes.
        #[arg(long)]
        fire_once: bool,
        /// Replace a run directory that already holds checkpoints.
        #[arg(long)]
        overwrite: bool,
    },
}

fn import(cmd: ImportCmd) -> Result<()> {
    let ImportCmd::Nir {
        file,
        out,
        data,
        data_dir,
        time_steps,
        fire_once,
        overwrite,
    } = cmd;
    let graph = ttfs::nir::read(&file)?;
    let opts = ttfs::nir::ImportOptions {
        time_steps,
        assume_fire_once: fire_once,
    };
    let imp = ttfs::nir::import(&graph, &opts).with_context(|| file.display().to_string())?;
    let frame = imp.model.frames[0].clone();
    let name = match data {
        Some(d) => d,
        None if frame == [1, 8, 8] => "digits".into(),
        None => bail!(
            "{}: the network takes {frame:?} inputs: say which data set with --data NAME (e.g. \
             mnist, fashion-mnist, cifar10)",
            file.display()
        ),
    };
    let mut cfg = ttfs::config::Config {
        model: imp.config.clone(),
        ..Default::default()
    };
    cfg.data.name = name;
    cfg.data.dir = data_dir.map(|d| d.display().to_string());
    cfg.validate()
        .with_context(|| format!("{}: the imported config", file.display()))?;
    let (rd, _) = RunDir::create(Some(&out), None, overwrite)?;
    rd.write_config(&cfg)?;
    let argv: Vec<String> = std::env::args().collect();
    rd.write_command(&argv, rayon::current_num_threads(), 1, None)?;
    Checkpoint::of_model(&cfg, &imp.model, 0, f64::NAN).save(&rd.file(BEST))?;
    for n in &imp.notes {
        eprintln!("note: {n}");
    }
    println!(
        "imported {} ({} nodes) as model `{}` T={} ({} parameters, plain weights): {}\n\
         next: ttfs eval {}; fine-tune: ttfs train --init-from {} --epochs N --out DIR",
        file.display(),
        graph.nodes.len(),
        cfg.model.spec,
        cfg.model.time_steps,
        imp.model.num_params(),
        rd.file(BEST).display(),
        rd.path.display(),
        rd.path.display()
    );
    Ok(())
}

const SELFTEST_HELP: &str = "\
Examples:
  ttfs selftest --device cuda      # the GPU against the CPU backend (binary built with --features cuda)
  ttfs selftest --device emu       # the GPU backend's CUDA C compiled for this CPU, no GPU needed";

#[derive(Args)]
struct SelftestArgs {
    /// The device to check: cuda, cuda:N, or emu (the GPU code path run on the CPU).
    #[arg(long, default_value = "cuda")]
    device: Device,
    /// Worker threads of the CPU backend (default: one per core).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
}

fn selftest(a: SelftestArgs) -> Result<()> {
    init_threads(a.threads.unwrap_or(0));
    let start = std::time::Instant::now();
    let checks = ttfs::selftest::run(a.device)?;
    print!("{}", ttfs::selftest::table(&checks));
    println!(
        "selftest of {} took {:.1} s",
        a.device,
        start.elapsed().as_secs_f64()
    );
    let failed = checks.iter().filter(|c| !c.pass).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed on {}", checks.len(), a.device);
    }
    Ok(())
}

/// Options shared by the commands that build a model from a config.
#[derive(Args, Clone, Default)]
struct ConfigArgs {
    /// Experiment config (TOML, see configs/); without it the embedded-digits default is used.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Override a config key, e.g. --set optimizer.lr=0.001 (repeatable). Strings may be given
    /// bare: --set model.spec="fc400 if fc10".
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Data set name (digits, mnist, fashion-mnist, cifar10, cifar100, n-mnist, dvs-gesture,
    /// image-folder): shorthand for --set data.name=...
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
    /// Worker threads (default: one per core). Results are bitwise reproducible for a fixed
    /// thread count.
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Where to train: cpu, cuda or cuda:N (shorthand for --set train.device=...; needs a
    /// binary built with --features cuda).
    #[arg(long)]
    device: Option<Device>,
}

impl ConfigArgs {
    fn overrides(&self) -> Vec<String> {
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
        if let Some(d) = self.device {
            set.push(format!("train.device=\"{d}\""));
        }
        set
    }

    fn resolve(&self) -> Result<Config> {
        Config::load(self.config.as_deref(), &self.overrides())
    }

    /// Whether anything but `--threads` and `--device` was given.
    fn changes_config(&self) -> bool {
        self.config.is_some()
            || !self.set.is_empty()
            || self.data.is_some()
            || self.data_dir.is_some()
            || self.epochs.is_some()
            || self.seed.is_some()
    }
}

/// `--threads N`: a whole number, at least 1 (0 means "one per core" in a config, a surprise
/// on the command line).
fn threads_arg(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (leave --threads out for one thread per core)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of threads".into()),
    }
}

/// How many cores other processes kept busy over `window` (Linux `/proc/stat`), for
/// `ttfs bench`'s warning about a busy machine. (The load average lags by a minute and counts
/// the previous benchmark.)
fn busy_cores(window: std::time::Duration) -> Option<f64> {
    let sample = || -> Option<(f64, f64)> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let line = text.lines().next()?;
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let idle = v.get(3)? + v.get(4).unwrap_or(&0.0);
        Some((v.iter().take(8).sum(), idle))
    };
    let (t0, i0) = sample()?;
    std::thread::sleep(window);
    let (t1, i1) = sample()?;
    let cores = std::thread::available_parallelism().ok()?.get() as f64;
    let total = t1 - t0;
    (total > 0.0).then(|| cores * (1.0 - (i1 - i0) / total))
}

fn init_threads(n: usize) -> usize {
    if n > 0 {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    rayon::current_num_threads()
}

const TRAIN_HELP: &str = "\
Examples:
  ttfs train                                        # embedded 8x8 digits, seconds
  ttfs train --config configs/mnist.toml --name mnist
  ttfs train -c configs/fmnist-fc400-fc400-temporal.toml --set optimizer.lr=0.001 --epochs 5
  ttfs train -c configs/mnist.toml --data-dir ~/data/mnist --out /tmp/run1
  ttfs train --data image-folder --data-dir ~/photos --set model.spec=\"fc256 if fc5\"
  ttfs train --resume runs/mnist                    # continue an interrupted run
  ttfs train --init-from runs/imported --epochs 3   # fine-tune a checkpoint (e.g. from ttfs import nir)

The run directory (default runs/<UTC timestamp>, or runs/<--name>, or --out) receives:
  config.toml       the resolved config (all keys)
  command.txt       command line, ttfs version, git commit, threads, host
  metrics.jsonl     one JSON object per epoch; metrics.csv the same as a table
  eval.json         the last evaluation with per-layer spike statistics
  last.safetensors  the latest checkpoint (epoch ends; every N steps with
                    --set train.checkpoint_every_steps=N)
  best.safetensors  the epoch with the best validation (else test) accuracy

A resumed run ends with bitwise the same parameters as an uninterrupted one when it uses the
same thread count. Training stops with a diagnosis (which layer went silent or blew up) when
the loss becomes NaN or explodes, saving the state to diverged.safetensors.";

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// Run directory (default: runs/<--name>, else runs/<UTC timestamp>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Name of the run: its directory is runs/<NAME>.
    #[arg(long, conflicts_with = "resume")]
    name: Option<String>,
    /// Continue the run in RUN_DIR from its last.safetensors, with its stored config.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// Start again in a run directory that holds a run with checkpoints, deleting its
    /// checkpoints, metrics and plots.
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// No progress bar and no per-epoch lines: only the final result.
    #[arg(long, short)]
    quiet: bool,
    /// Start from the parameters of this checkpoint or run directory (fine-tuning, e.g. of
    /// one `ttfs import nir` wrote), with its stored config: --set and the shorthands change
    /// it, --config is not taken.
    #[arg(long, value_name = "CHECKPOINT", conflicts_with_all = ["resume", "config"])]
    init_from: Option<PathBuf>,
}

fn train(a: TrainArgs, dist: &Arc<dyn Collective>) -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    // A data-parallel run (mpirun -np N): rank 0 owns the run directory and prints.
    let (lead, ranks) = (dist.rank() == 0, dist.size());
    let mut progress = Progress::new(a.quiet || !lead);
    let start = std::time::Instant::now();
    let (rd, mut tr, ck) = match &a.resume {
        Some(dir) => {
            if a.cfg.changes_config() {
                bail!(
                    "--resume continues a run with the config stored in its checkpoint; only \
                     --threads and --device may be given (to change the config, start a new run with \
                     --config {}/config.toml --set ...)",
                    dir.display()
                );
            }
            // Rank 0 reads the checkpoint and sends it to the others (no shared file system
            // needed).
            let rd = if lead {
                RunDir::open(dir)?
            } else {
                RunDir { path: dir.clone() }
            };
            let mut bytes = Vec::new();
            if lead {
                checkpoint::remove_stale_temporaries(&rd.path);
                let last = rd.file(LAST);
                if !last.exists() {
                    bail!(
                        "{} has no {LAST}: the run stopped before its first checkpoint. Start it \
                         again with `ttfs train --config {}/config.toml --out {}`.",
                        rd.path.display(),
                        rd.path.display(),
                        rd.path.display()
                    );
                }
                bytes = std::fs::read(&last)
                    .with_context(|| format!("cannot read checkpoint {}", last.display()))?;
            }
            dist.broadcast(&mut bytes);
            let ck = Checkpoint::from_bytes(&bytes, &rd.file(LAST).display().to_string())?;
            if ck.epoch >= ck.config.train.epochs {
                bail!(
                    "{} finished its {} epochs: nothing to resume (`ttfs eval {}` evaluates it; \
                     to train longer, start a new run)",
                    rd.path.display(),
                    ck.epoch,
                    rd.path.display()
                );
            }
            if ck.ranks != ranks && lead {
                eprintln!(
                    "warning: the run trained with {} process(es) so far and continues with \
                     {ranks}: the same model (global batch, data order and augmentation do not \
                     depend on the number of processes), up to float summation order, so not \
                     bitwise the same as an uninterrupted run",
                    ck.ranks
                );
            }
            let mut cfg = ck.config.clone();
            if let Some(t) = a.cfg.threads {
                cfg.train.threads = t;
            }
            if let Some(d) = a.cfg.device {
                if d != cfg.train.device {
                    eprintln!(
                        "warning: the run trained on {} so far and continues on {d}: correct, \
                         but not bitwise the same as an uninterrupted run",
                        cfg.train.device
                    );
                }
                cfg.train.device = d;
            }
            let threads = init_threads(cfg.train.threads);
            if ck.threads != 0 && ck.threads != threads {
                eprintln!(
                    "warning: the checkpoint was written with {} threads, this process has \
                     {threads}: the run continues correctly, but its results may differ in the last bits from an \
                     uninterrupted run (use --threads {} to match it)",
                    ck.threads, ck.threads
                );
            }
            let mut tr = Trainer::new(&cfg)?;
            ck.restore(&mut tr)?;
            if ranks > 1 {
                tr.distribute(dist.clone())?;
            }
            if lead {
                rd.truncate_metrics(ck.epoch)?;
                rd.write_command(&argv, threads, ranks, tr.data_dir.as_deref())?;
            }
            progress.println(&format!(
                "resuming {} at epoch {} step {} ({} steps into the epoch), {threads} threads",
                rd.path.display(),
                ck.epoch + 1,
                ck.step,
                ck.epoch_progress.steps
            ));
            (rd, tr, Some(ck))
        }
        None => {
            let (cfg, init) = match &a.init_from {
                Some(path) => {
                    let (file, ck) = read_broadcast(path, lead, dist)?;
                    let origin = format!("the config of {}", file.display());
                    let cfg = Config::from_toml(&ck.config.to_toml(), &origin, &a.cfg.overrides())?;
                    (cfg, Some((file, ck)))
                }
                None => (a.cfg.resolve()?, None),
            };
            if cfg.train.epochs == 0 {
                bail!(
                    "train.epochs is 0: there is nothing to train (to look at an untrained \
                     model, use `ttfs info`)"
                );
            }
            let threads = init_threads(cfg.train.threads);
            // Load the data before creating the run directory: a missing data set leaves
            // nothing behind.
            let mut tr = Trainer::new(&cfg)?;
            if let Some((file, ck)) = &init {
                ttfs::init_from::init_from(&mut tr.model, ck, &file.display().to_string())?;
                progress.println(&format!(
                    "starting from the parameters of {} (model `{}`)",
                    file.display(),
                    cfg.model.spec
                ));
            }
            if ranks > 1 {
                // Before anything is written: processes started differently refuse here.
                tr.distribute(dist.clone())?;
            }
            // Rank 0 creates the directory and tells the others its name.
            let mut path = Vec::new();
            if lead {
                let (rd, how) = RunDir::create(a.out.as_deref(), a.name.as_deref(), a.overwrite)?;
                match how {
                    Created::Restarted => eprintln!(
                        "note: {} held a run that stopped before its first checkpoint: starting \
                         again in it",
                        rd.path.display()
                    ),
                    Created::Overwritten => eprintln!(
                        "note: --overwrite: removed the earlier run's checkpoints and metrics in {}",
                        rd.path.display()
                    ),
                    Created::Fresh => {}
                }
                rd.write_config(&tr.cfg)?;
                rd.write_command(&argv, threads, ranks, tr.data_dir.as_deref())?;
                path = rd.path.display().to_string().into_bytes();
            }
            dist.broadcast(&mut path);
            let rd = RunDir {
                path: String::from_utf8_lossy(&path).to_string().into(),
            };
            (rd, tr, None)
        }
    };
    let cfg = tr.cfg.clone();
    let procs = if ranks > 1 {
        format!(
            " per process, {ranks} processes (MPI), {:.2} MB of gradients summed per step",
            tr.model.num_params() as f64 * 4.0 / 1e6
        )
    } else {
        String::new()
    };
    progress.println(&format!(
        "run {}: data {} ({} train / {} test{}), model `{}` T={} ({} parameters), {} threads{procs}, device {}",
        rd.path.display(),
        cfg.data.name,
        tr.train.len(),
        tr.test.len(),
        tr.data_dir
            .as_ref()
            .map(|d| format!(", from {}", d.display()))
            .unwrap_or_default(),
        cfg.model.spec,
        cfg.model.time_steps,
        tr.model.num_params(),
        rayon::current_num_threads(),
        cfg.train.device
    ));
    // From here on a signal stops the run cleanly instead of losing the epoch.
    ttfs::interrupt::install(dist.size(), dist.rank())?;
    // For tests only (tests/mpi.rs), undocumented to users: the rank named by
    // TTFS_TEST_PANIC_ON_RANK panics here, while the others enter their first step's
    // collective, to show that a panic on one rank ends the whole job.
    if std::env::var("TTFS_TEST_PANIC_ON_RANK").is_ok_and(|r| r == dist.rank().to_string()) {
        panic!(
            "forced panic on rank {} (TTFS_TEST_PANIC_ON_RANK)",
            dist.rank()
        );
    }
    let ms = ttfs::run::train(&mut tr, &rd, ck.as_ref(), &mut progress)?;
    let test = if tr.validation.is_some() {
        tr.evaluate_test()
    } else {
        ms.last().expect("at least one epoch ran").eval.clone()
    };
    if !lead {
        return Ok(());
    }
    println!(
        "final test accuracy {:.2}% ({} samples), mean first output spike {:.2}, wall time {:.1}s",
        100.0 * test.accuracy,
        test.samples,
        test.monitor.mean_first_output(),
        start.elapsed().as_secs_f64()
    );
    let (program, dir) = (ttfs::run::program(), rd.path.display());
    println!("run directory {dir} (next: {program} eval {dir}; {program} plot {dir})");
    if ttfs::run::at_chance(&test, tr.model.classes()) {
        bail!(
            "the final test accuracy {:.2}% is at chance level for {} classes: the run did not \
             learn (see the warnings above)",
            100.0 * test.accuracy,
            tr.model.classes()
        );
    }
    Ok(())
}

/// Read a checkpoint (a file, or a run directory's best) on rank 0 and send it to the other
/// ranks (no shared file system needed).
fn read_broadcast(
    path: &Path,
    lead: bool,
    dist: &Arc<dyn Collective>,
) -> Result<(PathBuf, Checkpoint)> {
    let file = checkpoint::resolve(path)?;
    let mut bytes = Vec::new();
    if lead {
        bytes = std::fs::read(&file)
            .with_context(|| format!("cannot read checkpoint {}", file.display()))?;
    }
    dist.broadcast(&mut bytes);
    let ck = Checkpoint::from_bytes(&bytes, &file.display().to_string())?;
    Ok((file, ck))
}

const EVAL_HELP: &str = "\
Examples:
  ttfs eval runs/mnist                       # best.safetensors of the run, test split
  ttfs eval runs/mnist/last.safetensors --split train
  ttfs eval runs/mnist --data-dir ~/data/mnist --json /tmp/eval.json
  ttfs eval runs/fmnist --data mnist         # another data set with the same shapes

Prints accuracy and loss, spikes per neuron and silent fraction per layer, the mean time of
the first output spike and accuracy against decision time (deciding from the outputs seen up
to step t).";

#[derive(Args)]
struct EvalArgs {
    /// A checkpoint (.safetensors) or a run directory (its best, else last, checkpoint).
    checkpoint: PathBuf,
    /// Data set to evaluate on (default: the one the checkpoint was trained on).
    #[arg(long)]
    data: Option<String>,
    /// Directory of the data set's files.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Split: test, validation (the samples the run held out) or train (those it trained on).
    #[arg(long, default_value = "test", value_parser = ["test", "validation", "train"])]
    split: String,
    /// Evaluation batch size (default: the run's train.eval_batch_size).
    #[arg(long)]
    batch: Option<usize>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Also write the evaluation (with the spike monitors) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Where to evaluate: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// `dense`: batched forward passes, with the synaptic-operation, energy and early-exit
    /// report. `events`: event-driven inference, one sample at a time propagating only spikes,
    /// timed against the dense path.
    #[arg(long, default_value = "dense", value_parser = ["dense", "events"])]
    engine: String,
}

fn eval(a: EvalArgs) -> Result<()> {
    init_threads(a.threads.unwrap_or(0));
    let file = checkpoint::resolve(&a.checkpoint)?;
    if a.checkpoint.is_dir() && file.file_name().is_some_and(|n| n == LAST) {
        println!(
            "note: {} has no {BEST} (no epoch has finished yet): evaluating {LAST}",
            a.checkpoint.display()
        );
    }
    let mut r = ttfs::run::restore(
        &file,
        a.data.as_deref(),
        a.data_dir.as_deref(),
        &a.split,
        a.device,
    )?;
    let ck = &r.checkpoint;
    let which = match file.file_name().and_then(|n| n.to_str()) {
        Some(BEST) => "the best epoch's, ",
        Some(LAST) => "the latest, ",
        _ => "",
    };
    println!(
        "checkpoint {} ({which}after {} epochs{}, step {}, ttfs {}): model `{}` T={} on {} {} split",
        file.display(),
        ck.epoch,
        if ck.epoch_progress.steps > 0 {
            format!(" and {} steps", ck.epoch_progress.steps)
        } else {
            String::new()
        },
        ck.step,
        ck.version,
        r.config.model.spec,
        r.config.model.time_steps,
        r.data.name,
        a.split
    );
    let batch = a.batch.unwrap_or(r.config.train.eval_batch_size).max(1);
    let what = match a.batch {
        Some(_) => "--batch",
        None => "train.eval_batch_size",
    };
    r.model
        .check_batch(batch.min(r.data.len().max(1)), false, what)?;
    if a.engine == "events" {
        return eval_events(&mut r, batch, a.json.as_deref());
    }
    let ev = r.evaluate_energy(batch);
    print!("{}", ttfs::run::eval_report(&ev, r.config.model.time_steps));
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(&ev)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// `ttfs eval --engine events`: the event-driven engine (full run and early exit) against the
/// dense evaluation path, with samples/s of each.
fn eval_events(r: &mut ttfs::run::Restored, batch: usize, json: Option<&Path>) -> Result<()> {
    use ttfs::event_driven::{classify, EventNet};
    if r.model.device != Device::Cpu {
        bail!("--engine events runs on the CPU (drop --device)");
    }
    let threads = rayon::current_num_threads();
    let start = std::time::Instant::now();
    let dense = r.evaluate(batch);
    let dense_s = start.elapsed().as_secs_f64();
    let net = EventNet::new(&mut r.model)?;
    let full = classify(&net, &r.data, &r.input, false);
    let early = classify(&net, &r.data, &r.input, true);
    let n = r.data.len() as f64;
    println!("{threads} thread(s), {} samples:", r.data.len());
    println!(
        "  dense forward (batches of {batch}):    accuracy {:.2}%  {:>8.0} samples/s",
        100.0 * dense.accuracy,
        n / dense_s
    );
    for (what, e) in [
        ("event-driven, all T steps:", &full),
        ("event-driven, early exit:", &early),
    ] {
        println!(
            "  {what:<35} accuracy {:.2}%  {:>8.0} samples/s  ({:.2}x dense)  {:.0} accumulates \
             + {:.0} analog MACs per sample, decision at step {:.2}",
            100.0 * e.accuracy,
            e.samples_per_s(),
            e.samples_per_s() * dense_s / n,
            e.synops,
            e.analog_ops,
            e.decision_step
        );
    }
    if let Some(p) = json {
        let v = serde_json::json!({"threads": threads, "dense_accuracy": dense.accuracy,
            "dense_samples_per_s": n / dense_s, "events": full, "events_early_exit": early});
        std::fs::write(p, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
        println!("wrote {}", p.display());
    }
    Ok(())
}

const PLOT_HELP: &str = "\
Examples:
  ttfs plot runs/mnist
  ttfs plot runs/mnist --sample 7 --data-dir ~/data/mnist

Writes into RUN_DIR/plots/, each as .png and .svg:
  curves               loss and accuracy per epoch (train and validation/test)
  curves_hours         the same against hours of training (wall time)
  first_spike_hist     histogram of first spike times per layer (last evaluation)
  accuracy_vs_time     accuracy when deciding at step t (last evaluation)
  raster               spikes of one test sample through all layers (best checkpoint)";

#[derive(Args)]
struct PlotArgs {
    /// Run directory written by `ttfs train`.
    run_dir: PathBuf,
    /// Test sample shown in the spike raster.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Directory of the data set's files (for the raster), if not where the run found it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn plot(a: PlotArgs) -> Result<()> {
    let rd = RunDir::open(&a.run_dir)?;
    let dir = rd.path.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let recs = rd.read_metrics()?;
    if recs.is_empty() {
        eprintln!("no epochs in metrics.jsonl yet: skipping the curves");
    } else {
        written.extend(ttfs::plot::curves(&recs, &dir.join("curves"))?);
        written.extend(ttfs::plot::curves_hours(&recs, &dir.join("curves_hours"))?);
    }
    let ev = rd.read_eval()?;
    written.extend(ttfs::plot::first_spike_histograms(
        &ev,
        &dir.join("first_spike_hist"),
    )?);
    written.extend(ttfs::plot::accuracy_vs_time(
        &ev,
        &dir.join("accuracy_vs_time"),
    )?);
    let mut r = ttfs::run::restore(&rd.path, None, a.data_dir.as_deref(), "test", Device::Cpu)?;
    let label = r.forward_one(a.sample)?;
    written.extend(ttfs::plot::raster(
        &r.model,
        a.sample,
        label,
        &dir.join("raster"),
    )?);
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

const INFO_HELP: &str = "\
Examples:
  ttfs info --config configs/mnist.toml
  ttfs info --set model.spec=\"conv16k3p1 ap2 if fc10\" --data mnist
  ttfs info --run runs/mnist          # the run's model, with measured spike rates

Columns: parameters; MACs per time step (a dense forward of one frame); dense MACs per sample
(T steps, what a clock-driven simulation or an ANN of the same shape costs); synaptic
operations (SynOps) per sample of an event-driven run: MACs per step times the events per
input unit - at most one for fire-once TTFS layers, measured from the run's last evaluation
with --run (otherwise one event per input unit is assumed). With model.encoding = \"direct\"
the layers before the first spiking layer receive analog input and count T dense products.";

#[derive(Args)]
struct InfoArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// Describe this run's model and use its measured spike rates (eval.json).
    #[arg(long, value_name = "RUN_DIR")]
    run: Option<PathBuf>,
}

fn info(a: InfoArgs) -> Result<()> {
    let (cfg, ev) = match &a.run {
        Some(dir) => {
            if a.cfg.changes_config() {
                bail!("--run describes the run's own model; give either --run or config options");
            }
            let rd = RunDir::open(dir)?;
            let ck = Checkpoint::load(&checkpoint::resolve(&rd.path)?)?;
            (ck.config, rd.read_eval().ok().map(|r| r.eval))
        }
        None => (a.cfg.resolve()?, None),
    };
    // The data set's known geometry: no need for its files (but an image folder's images).
    let frame = ttfs::data::frame_in(
        &cfg.data.name,
        cfg.data.dir.as_deref().map(std::path::Path::new),
        &cfg.data.load_options(cfg.model.time_steps),
    )?;
    let model = ttfs::model::Model::new(&cfg.model, &frame, &mut ttfs::rng::Rng::new(0))?;
    print!("{}", ttfs::run::model_summary(&model, ev.as_ref()));
    Ok(())
}

const BENCH_HELP: &str = "\
Examples:
  ttfs bench
  ttfs bench --models mlp --steps 20 --threads 2
  ttfs bench --peer bench/ttfs_torch.py --python python3
  ttfs bench --data mnist --data-dir ~/data/mnist --rounds 3   # real images: fewer events";

#[derive(Args)]
struct BenchArgs {
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
    #[arg(long, default_value = "bench/ttfs_torch.py")]
    peer: PathBuf,
    /// Python interpreter for the peer.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Worker threads for ttfs and the peer (default: one per core).
    #[arg(long, value_parser = threads_arg)]
    threads: Option<usize>,
    /// Where ttfs trains: cpu, cuda or cuda:N. On a GPU the peer runs there too (DEVICE=cuda,
    /// unless DEVICE is already set).
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// Surrogate derivative of both sides: sigmoid (the peer's default) or triangle, whose
    /// compact support lets ttfs skip the input gradient where it does not change.
    #[arg(long, default_value = "sigmoid", value_parser = ["sigmoid", "triangle"])]
    surrogate: String,
    /// The surrogate's sharpness (default 4, the peer's; the triangle's half-width is 2/alpha).
    #[arg(long, default_value_t = 4.0)]
    alpha: f32,
    /// ttfs only: cut the hidden neurons' surrogate to `|v - 1| < BAND` (`model.band`, the
    /// sparse backward); the peer keeps its uncut surrogate, as its users run it.
    #[arg(long)]
    band: Option<f32>,
    /// Measure each model this many times, ttfs and the peer taking turns, and summarize
    /// with the median of the per-round ratios and their range (on a shared, noisy machine
    /// one round can be off by 1.5x).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Train both sides on this data set's training images (mnist or fashion-mnist), batch
    /// after batch, instead of one batch of random images (every pixel nonzero: every input
    /// unit fires, the most input events a batch can have).
    #[arg(long, value_parser = ["mnist", "fashion-mnist"])]
    data: Option<String>,
    /// Where --data's files are (default: where `ttfs train` looks).
    #[arg(long, requires = "data")]
    data_dir: Option<PathBuf>,
}

/// Runs the peer script once (`COMPILE=compile`); its median ms per step, or why it failed.
fn peer_step_ms(
    args: &BenchArgs,
    model: &str,
    threads: usize,
    compile: &str,
    data_dir: Option<&std::path::Path>,
) -> std::result::Result<f64, String> {
    let mut cmd = std::process::Command::new(&args.python);
    cmd.arg(&args.peer)
        .args([
            "bench",
            model,
            &args.time_steps.to_string(),
            &args.batch.to_string(),
        ])
        .env("THREADS", threads.to_string())
        .env("COMPILE", compile)
        .env("SURROGATE", &args.surrogate)
        .env("ALPHA", args.alpha.to_string());
    if let Some(d) = data_dir {
        cmd.env("DATA_DIR", d);
    }
    if matches!(args.device, Device::Cuda(_)) && std::env::var_os("DEVICE").is_none() {
        cmd.env("DEVICE", "cuda");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .split("median_ms=")
        .nth(1)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string()
        })
}

/// Median (the mean of the middle two for an even count), smallest and largest of `v`.
fn median_and_range(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    ((v[(n - 1) / 2] + v[n / 2]) / 2.0, v[0], v[n - 1])
}

fn bench(a: BenchArgs) -> Result<()> {
    anyhow::ensure!(a.alpha > 0.0, "--alpha must be positive");
    if let Some(b) = a.band {
        anyhow::ensure!(b > 0.0, "--band must be positive, got {b}");
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    init_threads(threads);
    a.device.kernels()?;
    let (t, device, rounds) = (a.time_steps, a.device, a.rounds as usize);
    println!(
        "training step (forward + backward + Adam), T = {t}, batch {}, {threads} threads, device {device}, {} surrogate alpha {}{}",
        a.batch,
        a.surrogate,
        a.alpha,
        a.band
            .map_or(String::new(), |b| format!(", ttfs's hidden layers cut to band {b}"))
    );
    if let Some(busy) = busy_cores(std::time::Duration::from_millis(500)) {
        // Both sides slow down on a busy machine, but not alike: PyTorch's OpenMP threads
        // wait for each other at every operator, so a peer with a busy core can take 10x its
        // time (measured: 2,800 against 184 ms a step) and inflate the ratio.
        if busy > 0.25 {
            println!(
                "note: other work kept {busy:.1} cores busy just before the run, so times \
                 and ratios are not those of a quiet machine"
            );
        }
    }
    // A data set's images: located and read once, for ttfs; the peer reads the same folder.
    let data = match &a.data {
        Some(name) => {
            let dir = ttfs::data::locate::locate(name, a.data_dir.as_deref())?
                .expect("image data sets have a directory");
            let train = ttfs::data::load(name, Some(&dir))?.train;
            ttfs::bench::check_bench_images(&train, a.batch)?;
            println!(
                "input: {name} training images from {} ({} images, batch after batch)",
                dir.display(),
                train.len()
            );
            Some((dir, train))
        }
        None => {
            println!("input: one batch of random images (every pixel nonzero)");
            None
        }
    };
    let input = match &data {
        Some((_, d)) => ttfs::bench::BenchInput::Images(d),
        None => ttfs::bench::BenchInput::Random,
    };
    let data_dir = data.as_ref().map(|(dir, _)| dir.as_path());
    // The peer eager and under torch.compile (the strongest plain-PyTorch peer), unless
    // COMPILE is set in the environment, which picks one.
    let modes: Vec<(&str, &str)> = match std::env::var("COMPILE").ok().as_deref() {
        Some("1") => vec![("compiled", "1")],
        Some(_) => vec![("eager", "0")],
        None => vec![("eager", "0"), ("compiled", "1")],
    };
    for m in &a.models {
        let mut cfg = ttfs::bench::peer_model(m, t)?;
        cfg.alpha = a.alpha;
        cfg.band = a.band;
        if a.surrogate == "triangle" {
            cfg.surrogate = ttfs::surrogate::SurrogateKind::Triangle;
        }
        // Per round: ttfs's median, then each peer mode's median and its ratio.
        let mut ours = Vec::new();
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
        for round in 0..rounds {
            let r = ttfs::bench::time_training_step(&cfg, device, a.batch, 3, a.steps, input)?;
            let tag = if rounds > 1 {
                format!(" round {}", round + 1)
            } else {
                String::new()
            };
            println!(
                "ttfs  {m:<4} median {:>8.2} ms/step (min {:.2})  {:>8.0} samples/s{tag}",
                r.median_ms, r.min_ms, r.samples_per_s
            );
            ours.push(r.median_ms);
            if !a.peer.is_file() {
                println!("peer  {m:<4} script {} not found", a.peer.display());
                continue;
            }
            for (k, (mode, compile)) in modes.iter().enumerate() {
                match peer_step_ms(&a, m, threads, compile, data_dir) {
                    Ok(p) => {
                        println!(
                            "peer  {m} {mode:<8} {p:>8.2} ms/step  -> ttfs is {:.2}x faster{tag}",
                            p / r.median_ms
                        );
                        ratios[k].push(p / r.median_ms);
                    }
                    Err(e) => println!("peer  {m} {mode:<8} failed: {e}"),
                }
            }
        }
        if rounds > 1 {
            let (mid, lo, hi) = median_and_range(&ours);
            println!(
                "summary {m}: ttfs median of {rounds} rounds {mid:.2} ms/step (range {lo:.2} - {hi:.2})"
            );
            for ((mode, _), r) in modes.iter().zip(&ratios) {
                if !r.is_empty() {
                    let (mid, lo, hi) = median_and_range(r);
                    println!(
                        "summary {m}: ttfs is {mid:.2}x faster than {mode} (median of {} rounds' ratios, range {lo:.2} - {hi:.2})",
                        r.len()
                    );
                }
            }
        }
    }
    Ok(())
}

const DATA_HELP: &str = "\
Examples:
  ttfs data info                       # the data sets ttfs reads
  ttfs data info mnist                 # where the files come from, expected layout
  ttfs data check mnist                # verify the folder `ttfs train` would read
  ttfs data check mnist ~/data/mnist   # verify files, sizes, checksums, labels
  ttfs data check image-folder ~/pics  # train/<class>/*.jpg, test/<class>/*.jpg

Without a directory, a data set is looked for in: --data-dir / data.dir, $TTFS_DATA/NAME,
data/NAME, /usr/share/datasets/NAME (the first that exists).";

#[derive(Subcommand)]
enum DataCmd {
    /// Verify a data set directory (files, sizes, checksums, labels) and count its samples.
    Check {
        /// digits, mnist, fashion-mnist, cifar10, cifar100, n-mnist, dvs-gesture, image-folder
        name: String,
        /// The folder to check (default: where `ttfs train` looks).
        dir: Option<PathBuf>,
    },
    /// Where the official files come from and the directory layout ttfs expects; without a
    /// name, the list of data sets.
    Info { name: Option<String> },
}

fn data(cmd: DataCmd) -> Result<()> {
    match cmd {
        DataCmd::Check { name, dir } => {
            let dir = ttfs::data::locate::locate(&name, dir.as_deref())?;
            if let Some(d) = &dir {
                println!("checking {}", d.display());
            }
            let dir = dir.unwrap_or_default();
            print!("{}", ttfs::data::check::check(&name, &dir)?)
        }
        DataCmd::Info { name: Some(name) } => println!("{}", ttfs::data::check::info(&name)?),
        DataCmd::Info { name: None } => println!("{}", ttfs::data::check::list()),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cmd = Cli::parse().cmd;
    // Rust ignores SIGPIPE, so a report piped into `head` would end in a panic at the first
    // line written after `head` exits. The report commands take the Unix default (end quietly);
    // training keeps ignoring it, so a closed pipe cannot kill a run before it saves.
    #[cfg(unix)]
    if !matches!(cmd, Cmd::Train(_)) {
        // SAFETY: sets a signal disposition before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // One process, or one of the processes of `mpirun -np N` (feature `mpi`).
    let dist = match ttfs::collective::from_environment() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    ttfs::collective::abort_on_panic(dist.clone());
    match dispatch(cmd, &dist) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<ttfs::collective::OnEveryRank>() => {
            // Every process stops alike: rank 0 says why, once.
            if dist.rank() == 0 {
                eprintln!("error: {e}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) if e.is::<ttfs::interrupt::Interrupted>() => {
            let i = e.downcast_ref::<ttfs::interrupt::Interrupted>().unwrap();
            // Every process stopped after the same step; rank 0 saved and says how to go on.
            if dist.rank() == 0 {
                eprintln!("{i}");
            }
            std::process::ExitCode::from((128 + i.signal).clamp(1, 255) as u8)
        }
        Err(e) => {
            // The chain of contexts, without a backtrace: errors are for users.
            if dist.size() > 1 {
                // The other processes may be waiting for this one: end the whole job.
                eprintln!("error (rank {} of {}): {e:#}", dist.rank(), dist.size());
                dist.abort(1);
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
