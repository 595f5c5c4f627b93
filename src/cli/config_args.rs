//! The options of the commands that build a model from a config (`ttfs train`, `ttfs info`):
//! the config file, `--set` overrides and their shorthands.

use super::threads::threads_arg;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use ttfs::config::Config;
use ttfs::kernels::Device;

/// Options shared by the commands that build a model from a config.
#[derive(Args, Clone, Default)]
pub struct ConfigArgs {
    /// Experiment config (TOML, see configs/); without it the embedded-digits default is used.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Override a config key, e.g. --set optimizer.lr=0.001 (repeatable). Strings may be given
    /// bare: --set model.spec="fc400 if fc10".
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Data set name (digits, mnist, fashion-mnist, cifar10, cifar100, n-mnist, dvs-gesture,
    /// image-folder): shorthand for --set data.name=...
    #[arg(long)]
    pub data: Option<String>,
    /// Directory of the data set's files: shorthand for --set data.dir=...
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Shorthand for --set train.epochs=N
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Shorthand for --set train.seed=N
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: one per core). Results are bitwise reproducible for a fixed
    /// thread count.
    #[arg(long, value_parser = threads_arg)]
    pub threads: Option<usize>,
    /// Where to train: cpu, cuda or cuda:N (shorthand for --set train.device=...; needs a
    /// binary built with --features cuda).
    #[arg(long)]
    pub device: Option<Device>,
}

impl ConfigArgs {
    pub fn overrides(&self) -> Vec<String> {
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

    pub fn resolve(&self) -> Result<Config> {
        Config::load(self.config.as_deref(), &self.overrides())
    }

    /// Whether anything but `--threads` and `--device` was given.
    pub fn changes_config(&self) -> bool {
        self.config.is_some()
            || !self.set.is_empty()
            || self.data.is_some()
            || self.data_dir.is_some()
            || self.epochs.is_some()
            || self.seed.is_some()
    }
}
