//! `ttfs import`: a network from another tool's format (NIR) as a run directory that `ttfs eval`
//! and `ttfs train --init-from` read.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use ttfs::checkpoint::Checkpoint;
use ttfs::run_dir::{RunDir, BEST};

pub const IMPORT_HELP: &str = "\
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
pub enum ImportCmd {
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

pub fn run(cmd: ImportCmd) -> Result<()> {
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
