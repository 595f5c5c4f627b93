//! Where a data set's files are looked for, in one order for every data set and every command
//! (`train`, `eval`, `plot`, `data check`):
//!
//! 1. the directory given: `--data-dir DIR` or `data.dir` in the config;
//! 2. `$TTFS_DATA/<name>`, when the environment variable `TTFS_DATA` is set;
//! 3. `data/<name>` under the current directory;
//! 4. `/usr/share/datasets/<name>` (where Debian's `dataset-*` packages install, e.g.
//!    `apt-get install dataset-fashion-mnist`).
//!
//! `<name>` is the data set's name (`mnist`, `fashion-mnist`, `cifar10`, ...). The first that
//! exists is used; a run records it in `command.txt`.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The environment variable naming a folder that holds one folder per data set.
pub const ENV: &str = "TTFS_DATA";

/// The places searched for `name` when no directory is given, in order.
pub fn candidates(name: &str) -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(root) = std::env::var_os(ENV).filter(|r| !r.is_empty()) {
        c.push(Path::new(&root).join(name));
    }
    c.push(Path::new("data").join(name));
    c.push(Path::new("/usr/share/datasets").join(name));
    c
}

/// The directory of data set `name`: `dir` when given, else the first of [`candidates`] that
/// exists. `None` for the embedded `digits`.
pub fn locate(name: &str, dir: Option<&Path>) -> Result<Option<PathBuf>> {
    if name == "digits" {
        return Ok(None);
    }
    if !super::NAMES.contains(&name) {
        bail!(
            "unknown data set `{name}` (known: {})",
            super::NAMES.join(", ")
        );
    }
    if let Some(d) = dir {
        return Ok(Some(d.to_path_buf()));
    }
    let tried = candidates(name);
    if let Some(found) = tried.iter().find(|p| p.is_dir()) {
        return Ok(Some(found.clone()));
    }
    let env = if std::env::var_os(ENV).is_some_and(|r| !r.is_empty()) {
        ""
    } else {
        " (TTFS_DATA is not set)"
    };
    bail!(
        "{name}: no --data-dir or data.dir given, and none of {}{env} exists. {}",
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        hint(name)
    )
}

/// Where a data set's files come from.
pub fn hint(name: &str) -> String {
    match name {
        "mnist" | "fashion-mnist" => super::idx::download_hint(name),
        "cifar10" => super::cifar::download_hint(super::cifar::Variant::Cifar10),
        "cifar100" => {
            super::cifar::download_hint(super::cifar::Variant::Cifar100 { coarse: false })
        }
        "n-mnist" => super::nmnist::download_hint(),
        "dvs-gesture" => super::dvs_gesture::download_hint(),
        super::image_folder::NAME => super::image_folder::hint(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_given_directory_wins_and_digits_needs_none() {
        assert_eq!(locate("digits", None).unwrap(), None);
        let d = Path::new("/somewhere/mnist");
        assert_eq!(locate("mnist", Some(d)).unwrap().as_deref(), Some(d));
        let e = format!("{:#}", locate("mnist2", None).unwrap_err());
        assert!(
            e.contains("unknown data set") && e.contains("fashion-mnist"),
            "{e}"
        );
    }

    #[test]
    fn every_data_set_is_searched_in_the_same_places() {
        for name in ["mnist", "cifar10", "dvs-gesture"] {
            let c = candidates(name);
            assert!(c.contains(&Path::new("data").join(name)), "{c:?}");
            assert_eq!(
                c.last().unwrap(),
                &Path::new("/usr/share/datasets").join(name)
            );
        }
    }
}
