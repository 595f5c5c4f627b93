//! Ablations on a pooling conv net, each row trained with several seeds. Two row sets:
//!
//! - `components` (default): the paper's four components: initialization (Kaiming vs
//!   ETTFS), normalization (none / weight norm / weight norm + affine), decoder (temporal
//!   exponential and linear, first-spike time, spike count, membrane) and pooling (average of
//!   currents vs max of spike maps vs first-spike max pooling).
//! - `decoder`: why the paper's temporal decoder (fire-once output neurons, logits = spikes
//!   weighted by `1.25^-t` summing to 40) trails the membrane readout: surrogate width
//!   everywhere and at the output only, an auxiliary membrane loss annealed to zero, the
//!   decoder's scale and base, the output synapse's gain, weights read at exact crossing
//!   times (alone and with the others, first-spike max pooling among them), the first-spike
//!   time decoder (cross entropy over the outputs' negative exact first-spike times),
//!   learned time weights (`model.decoder.learn_weights`); the membrane readout as reference.
//!
//! ```text
//! cargo run --release --example ablation -- DATA DIR [SAMPLES] [EPOCHS] [SEEDS] [OUT] [ROWS]
//! e.g. cargo run --release --example ablation -- fashion-mnist data/fashion-mnist 10000 1 3 ablation.jsonl
//!      cargo run --release --example ablation -- fashion-mnist data/fashion-mnist 20000 2 3 study.jsonl decoder
//! ```
//!
//! SEEDS is a count (`3`: seeds 0, 1, 2), a range (`1..3`: seeds 1, 2) or a list (`0,2`).
//! Two processes that share OUT and split the seeds (`RAYON_NUM_THREADS=1 ... 0..1 OUT` and
//! `RAYON_NUM_THREADS=1 ... 1..3 OUT`) run a grid on two cores side by side; a last run with
//! every seed (`3`) then only prints the table.
//!
//! In `components`, every row changes one thing from the full method (first row), except the
//! paper's baseline (Kaiming init and max pooling) and Kaiming with first-spike max pooling
//! (`fp2`: max pooling that passes only each window's earliest spike, so pooled units fire at
//! most once). In `decoder`, every row changes one thing from its first row (the full method),
//! except the rows named as combinations. Training uses a fixed random subset of
//! SAMPLES training images (0: all) for EPOCHS epochs; the test split is evaluated once, at
//! the end. Each finished run is appended to OUT (JSON lines) and skipped when the command is
//! run again, so an interrupted grid resumes. Prints a Markdown table: test accuracy (mean and
//! sample standard deviation over seeds), mean first output spike (decision time, in steps),
//! spikes per neuron of each spiking layer, and for pooled spike maps the largest number of
//! spikes any pooled unit emitted (fire-once neurons and pooled currents keep it at 1); for
//! `decoder`, the fraction of silent output neurons, the accuracy when the decision must be
//! taken at step 1, 2 or 4 (from the outputs of steps 0 ..= t, as `ttfs eval`), and how the
//! trained output currents read (ties, other readouts: [`Readouts`]).

mod readouts;
mod rows;

use readouts::{readouts, Readouts};
use rows::{rows, AVG};
use serde::{Deserialize, Serialize};
use std::io::Write;
use ttfs::config::Config;
use ttfs::train::Trainer;

#[derive(Serialize, Deserialize)]
struct RunResult {
    row: String,
    seed: u64,
    accuracy: f64,
    first_output: f64,
    spikes_per_neuron: Vec<f64>,
    max_pooled_spikes: u32,
    seconds: f64,
    /// Fraction of output neurons that never fire on a test image (none for the membrane
    /// readout; absent in older files).
    #[serde(default)]
    silent_output: Option<f64>,
    /// Test accuracy when deciding from the outputs up to step `t` (absent in older files).
    #[serde(default)]
    accuracy_at: Vec<f64>,
    /// How the trained output currents read (`decoder` rows; see [`Readouts`]).
    #[serde(default)]
    readouts: Option<Readouts>,
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

/// `3` is seeds 0, 1, 2; `1..3` is seeds 1 and 2; `0,2` is those two.
fn parse_seeds(s: &str) -> anyhow::Result<Vec<u64>> {
    let bad = || anyhow::anyhow!("SEEDS is a count (3), a range (1..3) or a list (0,2), not {s:?}");
    let num = |v: &str| v.trim().parse::<u64>().map_err(|_| bad());
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..") {
        (num(a)?..num(b)?).collect()
    } else if s.contains(',') {
        s.split(',').map(num).collect::<anyhow::Result<_>>()?
    } else {
        (0..num(s)?).collect()
    };
    if seeds.is_empty() {
        return Err(bad());
    }
    Ok(seeds)
}

/// The finished runs in OUT (none when it does not exist yet); a line that is not a result
/// is an error naming the file and line, not a run to silently redo.
fn read_results(out: &str) -> anyhow::Result<Vec<RunResult>> {
    let text = match std::fs::read_to_string(out) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("{out}: {e}")),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{out}: line {}: not an ablation result: {e}", i + 1))
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (data, dir) = match (args.get(1), args.get(2)) {
        (Some(d), Some(p)) => (d.clone(), p.clone()),
        _ => anyhow::bail!("usage: ablation DATA DIR [SAMPLES] [EPOCHS] [SEEDS] [OUT] [ROWS]"),
    };
    let samples: usize = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
    let epochs: usize = args.get(4).map_or(Ok(1), |s| s.parse())?;
    let seeds = parse_seeds(args.get(5).map_or("3", |s| s.as_str()))?;
    let out = args
        .get(6)
        .cloned()
        .unwrap_or_else(|| "ablation.jsonl".into());
    let row_set = args.get(7).map_or("components", |s| s.as_str());
    let rows = rows(row_set)?;
    println!(
        "{data}: {samples} training samples, {epochs} epoch(s), direct input, T = 8, \
         batch 64, Adam 3e-3 cosine; seeds {seeds:?}; results in {out}"
    );
    // Seed by seed, so that an interrupted grid still has every row.
    for &seed in &seeds {
        for (name, overrides) in &rows {
            // Reread OUT: a second process may have finished this run meanwhile.
            if read_results(&out)?
                .iter()
                .any(|r| r.row == *name && r.seed == seed)
            {
                continue;
            }
            let mut set: Vec<String> = vec![
                format!("data.name=\"{data}\""),
                format!("data.dir=\"{dir}\""),
                format!("data.train_samples={samples}"),
                format!("model.spec=\"{AVG}\""),
                "model.encoding=\"direct\"".into(),
                "model.init_gain=0.35".into(),
                "model.alpha=8".into(),
                "optimizer.lr=3e-3".into(),
                "schedule.kind=\"cosine\"".into(),
                format!("train.epochs={epochs}"),
                "train.batch_size=64".into(),
                format!("train.seed={seed}"),
            ];
            set.extend(overrides.iter().map(|o| o.to_string()));
            let cfg = Config::from_toml("", name, &set)?;
            let start = std::time::Instant::now();
            let mut trainer = Trainer::new(&cfg)?;
            let mut last = None;
            for _ in 0..epochs {
                last = Some(trainer.train_epoch(|_, _, _, _| {}));
            }
            let eval = last.expect("at least one epoch").eval; // on the test split
            let mon = &eval.monitor;
            let result = RunResult {
                row: name.to_string(),
                seed,
                accuracy: eval.accuracy,
                first_output: mon.mean_first_output(),
                spikes_per_neuron: mon
                    .layers
                    .iter()
                    .filter(|l| l.what == "spikes")
                    .map(|l| l.spikes_per_neuron())
                    .collect(),
                max_pooled_spikes: mon
                    .layers
                    .iter()
                    .filter(|l| l.what == "pooled spikes")
                    .map(|l| l.max_events)
                    .max()
                    .unwrap_or(1),
                seconds: start.elapsed().as_secs_f64(),
                // The decoder's output neurons are monitored as layer `layers.len()`.
                silent_output: mon
                    .layers
                    .iter()
                    .find(|l| l.layer == trainer.model.layers.len())
                    .map(|l| l.silent_fraction()),
                accuracy_at: eval.accuracy_at.clone(),
                readouts: (row_set == "decoder").then(|| readouts(&mut trainer)),
            };
            println!(
                "{name} seed {seed}: test {:.2}% first output {:.2} spikes/neuron {:.3?} max pooled {} ({:.0} s)",
                100.0 * result.accuracy,
                result.first_output,
                result.spikes_per_neuron,
                result.max_pooled_spikes,
                result.seconds
            );
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&out)?;
            // One write of the whole line: with O_APPEND, a second process sharing OUT cannot
            // interleave its line with this one (writeln! may split it into two writes).
            f.write_all(format!("{}\n", serde_json::to_string(&result)?).as_bytes())?;
        }
    }
    let done = read_results(&out)?;
    let decoder = row_set == "decoder";
    if decoder {
        println!("\n| setting | test accuracy (%) | deciding at t = 1 / 2 / 4 (%) | first output spike | silent output neurons | top logit tied (%) / accuracy lost to ties (points) | its output currents read by membrane / temporal / sub-step temporal (%) | spikes per neuron | s per run |");
        println!("|---|---|---|---|---|---|---|---|---|");
    } else {
        println!("\n| setting | test accuracy (%) | first output spike | spikes per neuron | max spikes per pooled unit | s per run |");
        println!("|---|---|---|---|---|---|");
    }
    for (name, _) in &rows {
        let runs: Vec<&RunResult> = done.iter().filter(|r| r.row == *name).collect();
        if runs.is_empty() {
            continue;
        }
        let mean = |f: &dyn Fn(&RunResult) -> f64| {
            runs.iter().map(|r| f(r)).sum::<f64>() / runs.len() as f64
        };
        let acc: Vec<f64> = runs.iter().map(|r| 100.0 * r.accuracy).collect();
        let (m, s) = mean_std(&acc);
        let first = mean(&|r| r.first_output);
        let layers = runs[0].spikes_per_neuron.len();
        let spn: Vec<String> = (0..layers)
            .map(|l| format!("{:.3}", mean(&|r| r.spikes_per_neuron[l])))
            .collect();
        let max_pooled = runs.iter().map(|r| r.max_pooled_spikes).max().unwrap_or(1);
        let secs = mean(&|r| r.seconds);
        let n = runs.len();
        if decoder {
            // Deciding at step t: from the outputs of steps 0 ..= t (as `ttfs eval`); a run
            // with fewer steps has seen all of its outputs by then.
            let at = |t: usize| {
                let seen = |r: &RunResult| r.accuracy_at.get(t).or(r.accuracy_at.last()).copied();
                format!("{:.2}", mean(&|r| 100.0 * seen(r).unwrap_or(f64::NAN)))
            };
            let silent = match runs[0].silent_output {
                Some(_) => format!("{:.3}", mean(&|r| r.silent_output.unwrap_or(f64::NAN))),
                None => "-".into(),
            };
            let read =
                |f: &dyn Fn(&Readouts) -> f64| match runs.iter().all(|r| r.readouts.is_some()) {
                    true => format!("{:.2}", mean(&|r| 100.0 * f(r.readouts.as_ref().unwrap()))),
                    false => "-".into(),
                };
            println!(
                "| {name} | {m:.2} ± {s:.2} (n={n}) | {} / {} / {} | {first:.2} | {silent} | {} / {} | {} / {} / {} | {} | {secs:.0} |",
                at(1),
                at(2),
                at(4),
                read(&|r| r.tied),
                read(&|r| r.tie_loss),
                read(&|r| r.membrane),
                read(&|r| r.temporal),
                read(&|r| r.substep),
                spn.join(" / ")
            );
        } else {
            println!(
                "| {name} | {m:.2} ± {s:.2} (n={n}) | {first:.2} | {} | {max_pooled} | {secs:.0} |",
                spn.join(" / ")
            );
        }
    }
    Ok(())
}
