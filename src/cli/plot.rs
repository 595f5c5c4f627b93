//! `ttfs plot`: a run's plots (curves, first-spike histograms, accuracy against decision time,
//! a spike raster) drawn into `RUN_DIR/plots/` by [`ttfs::plot`].

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use ttfs::kernels::Device;
use ttfs::run_dir::RunDir;

pub const PLOT_HELP: &str = "\
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
pub struct PlotArgs {
    /// Run directory written by `ttfs train`.
    run_dir: PathBuf,
    /// Test sample shown in the spike raster.
    #[arg(long, default_value_t = 0)]
    sample: usize,
    /// Directory of the data set's files (for the raster), if not where the run found it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(a: PlotArgs) -> Result<()> {
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
