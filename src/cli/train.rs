//! `ttfs train`: a new run, a resumed one (`--resume`) or a fine-tuning (`--init-from`), alone
//! or as one process of a data-parallel job (`mpirun -np N`): the run directory and the
//! trainer are set up here, the epochs run in [`ttfs::run::train`].

use super::config_args::ConfigArgs;
use super::threads::init_threads;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ttfs::checkpoint::{self, Checkpoint};
use ttfs::collective::Collective;
use ttfs::config::Config;
use ttfs::progress::Progress;
use ttfs::run_dir::{Created, RunDir, LAST};
use ttfs::train::Trainer;

pub const TRAIN_HELP: &str = "\
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
  best.safetensors  the epoch with the best validation accuracy (only with a validation
                    split, data.validation > 0: the test split never chooses a checkpoint)

A resumed run ends with bitwise the same parameters as an uninterrupted one when it uses the
same thread count. Training stops with a diagnosis (which layer went silent or blew up) when
the loss becomes NaN or explodes, saving the state to diverged.safetensors.";

#[derive(Args)]
pub struct TrainArgs {
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

pub fn run(a: TrainArgs, dist: &Arc<dyn Collective>) -> Result<()> {
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
        "run {}: data {} ({} train / {} test{}), model `{}` T={}{} ({} parameters), {} threads{procs}, device {}",
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
        if cfg.schedule.time_steps.is_empty() {
            String::new()
        } else {
            format!(
                " (schedule.time_steps [epochs, T]: {:?})",
                cfg.schedule.time_steps
            )
        },
        tr.model.num_params(),
        rayon::current_num_threads(),
        cfg.train.device
    ));
    if cfg.train.ema_decay > 0.0 {
        progress.println(&format!(
            "train.ema_decay = {}: every evaluation, best.safetensors and the checkpoints' \
             parameters are the moving average of the trained weights",
            cfg.train.ema_decay
        ));
    }
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
    ttfs::progress::out(&format!(
        "final test accuracy {:.2}% ({} samples), mean first output spike {:.2}, wall time {:.1}s",
        100.0 * test.accuracy,
        test.samples,
        test.monitor.mean_first_output(),
        start.elapsed().as_secs_f64()
    ));
    let (program, dir) = (ttfs::run::program(), rd.path.display());
    ttfs::progress::out(&format!(
        "run directory {dir} (next: {program} eval {dir}; {program} plot {dir})"
    ));
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
