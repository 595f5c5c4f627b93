//! `ttfs export`: a trained network written in another tool's format (NIR).

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

pub const EXPORT_HELP: &str = "\
Examples:
  ttfs export nir runs/mnist mnist.nir       # NIR graph (HDF5), read by Python's nir.read()

The weight normalization and its affine transform are folded into plain weights and biases;
the graph's metadata states T, the input encoding, the fire-once rule and the decoder
(docs/nir.md).";

#[derive(Subcommand)]
pub enum ExportCmd {
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

pub fn run(cmd: ExportCmd) -> Result<()> {
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
