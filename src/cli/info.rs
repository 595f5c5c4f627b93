//! `ttfs info`: a model's layers, shapes, parameters and operations per sample, from a config
//! or from a run (with its measured spike rates).

use super::config_args::ConfigArgs;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use ttfs::checkpoint::{self, Checkpoint};
use ttfs::run_dir::RunDir;

pub const INFO_HELP: &str = "\
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
pub struct InfoArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// Describe this run's model and use its measured spike rates (eval.json).
    #[arg(long, value_name = "RUN_DIR")]
    run: Option<PathBuf>,
}

pub fn run(a: InfoArgs) -> Result<()> {
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
