//! The `ttfs` command line. Each subcommand is an `Args` struct and a `run` function in a module
//! of its own; add one by adding a variant to [`Cmd`] and a line to [`dispatch`].
//!
//! The options several commands share are in [`config_args`] (building a model from a config)
//! and [`threads`] (`--threads` and the worker pool).

mod bench;
mod config_args;
mod data;
mod eval;
mod export;
mod import;
mod info;
mod plot;
mod selftest;
mod threads;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::sync::Arc;
use ttfs::collective::Collective;

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
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Train a network; every run gets a directory with config, metrics and checkpoints.
    #[command(after_help = train::TRAIN_HELP)]
    Train(train::TrainArgs),
    /// Evaluate a checkpoint (or a run directory's best one) on a data set.
    #[command(after_help = eval::EVAL_HELP)]
    Eval(eval::EvalArgs),
    /// Draw a run's plots into RUN_DIR/plots/ (PNG and SVG).
    #[command(after_help = plot::PLOT_HELP)]
    Plot(plot::PlotArgs),
    /// Describe a model: layers, shapes, parameters, operations per sample.
    #[command(after_help = info::INFO_HELP)]
    Info(info::InfoArgs),
    /// Time training steps of the PyTorch peer's two models and, when the peer script and
    /// PyTorch are available, run the peer in the same process tree and print the ratio.
    #[command(after_help = bench::BENCH_HELP)]
    Bench(bench::BenchArgs),
    /// Data sets: verify a directory, or say where the files come from.
    #[command(after_help = data::DATA_HELP)]
    Data {
        #[command(subcommand)]
        cmd: data::DataCmd,
    },
    /// Check a device's backend: every kernel against the CPU backend, then training steps of
    /// small networks on both; a pass/fail table, non-zero exit on any failure.
    #[command(after_help = selftest::SELFTEST_HELP)]
    Selftest(selftest::SelftestArgs),
    /// Export a trained network for other tools.
    #[command(after_help = export::EXPORT_HELP)]
    Export {
        #[command(subcommand)]
        cmd: export::ExportCmd,
    },
    /// Import a network from another tool's format as a run directory.
    #[command(after_help = import::IMPORT_HELP)]
    Import {
        #[command(subcommand)]
        cmd: import::ImportCmd,
    },
}

pub fn dispatch(cmd: Cmd, dist: &Arc<dyn Collective>) -> Result<()> {
    match cmd {
        Cmd::Train(a) => train::run(a, dist),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Plot(a) => plot::run(a),
        Cmd::Info(a) => info::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Data { cmd } => data::run(cmd),
        Cmd::Selftest(a) => selftest::run(a),
        Cmd::Export { cmd } => export::run(cmd),
        Cmd::Import { cmd } => import::run(cmd),
    }
}
