//! `ttfs eval`: a checkpoint evaluated on a data split, with the dense path's report (spikes,
//! energy, early exit) or the event-driven engine timed against it.

use super::threads::{init_threads, threads_arg};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use ttfs::checkpoint;
use ttfs::kernels::Device;
use ttfs::run_dir::{BEST, LAST};

pub const EVAL_HELP: &str = "\
Examples:
  ttfs eval runs/mnist                       # best.safetensors of the run (else last), test split
  ttfs eval runs/mnist/last.safetensors --split train
  ttfs eval runs/mnist --data-dir ~/data/mnist --json /tmp/eval.json
  ttfs eval runs/fmnist --data mnist         # another data set with the same shapes

Prints accuracy and loss, spikes per neuron and silent fraction per layer, the mean time of
the first output spike and accuracy against decision time (deciding from the outputs seen up
to step t).";

#[derive(Args)]
pub struct EvalArgs {
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
    /// Also report the test-time flip: each sample decided by the mean of its logits and its
    /// left-right mirror image's (two passes per sample: twice the energy). Not for data whose
    /// classes are mirror images of one another (DVS128 Gesture's left and right hands).
    #[arg(long)]
    flip: bool,
    /// For a run trained with `train.ema_decay`, whose checkpoints' parameters are the moving
    /// average: evaluate the weights being trained instead (those of the same run without the
    /// average, step for step).
    #[arg(long)]
    online: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    init_threads(a.threads.unwrap_or(0));
    let file = checkpoint::resolve(&a.checkpoint)?;
    if a.checkpoint.is_dir() && file.file_name().is_some_and(|n| n == LAST) {
        println!(
            "note: {} has no {BEST} (no epoch has finished yet, or the run held out no \
             validation split to choose one by): evaluating {LAST}",
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
    match (ck.online.is_empty(), a.online) {
        (true, true) => bail!(
            "--online: {} holds no weights beside its parameters (only a run with \
             train.ema_decay keeps them): drop --online",
            file.display()
        ),
        (false, false) => println!(
            "parameters: the moving average of the trained weights (train.ema_decay = {}; \
             --online evaluates the trained weights)",
            ck.config.train.ema_decay
        ),
        (false, true) => {
            println!("parameters: the trained weights (--online), not their moving average");
            r.checkpoint.load_online(&mut r.model)?;
        }
        (true, false) => {}
    }
    let batch = a.batch.unwrap_or(r.config.train.eval_batch_size).max(1);
    let what = match a.batch {
        Some(_) => "--batch",
        None => "train.eval_batch_size",
    };
    r.model
        .check_batch(batch.min(r.data.len().max(1)), false, what)?;
    if a.engine == "events" {
        if a.flip {
            bail!("--flip runs with the dense engine (drop --engine events)");
        }
        return eval_events(&mut r, batch, a.json.as_deref());
    }
    let extras = ttfs::train::Extras {
        energy: true,
        flip: a.flip,
    };
    let ev = r.evaluate_reporting(batch, extras);
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
