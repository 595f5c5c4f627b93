//! `ttfs data`: a data set directory verified (`check`), or where its files come from (`info`).

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

pub const DATA_HELP: &str = "\
Examples:
  ttfs data info                       # the data sets ttfs reads
  ttfs data info mnist                 # where the files come from, expected layout
  ttfs data check mnist                # verify the folder `ttfs train` would read
  ttfs data check mnist ~/data/mnist   # verify files, sizes, checksums, labels
  ttfs data check image-folder ~/pics  # train/<class>/*.jpg, test/<class>/*.jpg

Without a directory, a data set is looked for in: --data-dir / data.dir, $TTFS_DATA/NAME,
data/NAME, /usr/share/datasets/NAME (the first that exists).";

#[derive(Subcommand)]
pub enum DataCmd {
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

pub fn run(cmd: DataCmd) -> Result<()> {
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
