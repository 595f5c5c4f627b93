//! Files written atomically: a crash, a kill or a full disk while writing leaves the previous
//! version whole (checkpoints, configs, metrics files).

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write a file atomically: `write` fills a temporary file in the same directory, which is
/// flushed to disk and renamed over `path`, and the directory is synced. On any error the
/// temporary file is removed and `path` keeps its previous content.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        {
            let mut w = std::io::BufWriter::new(&mut f);
            write(&mut w)?;
            w.flush()?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            // Some file systems refuse to sync a directory; the rename is done either way.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        let hint = if e.kind() == std::io::ErrorKind::StorageFull {
            " The disk is full: free some space and continue with `ttfs train --resume RUN_DIR`."
        } else {
            ""
        };
        bail!(
            "could not write {}: {e}. Its previous version (if any) is intact.{hint}",
            path.display()
        );
    }
    Ok(())
}

/// Remove temporary files a killed writer left in `dir`.
pub fn remove_stale_temporaries(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().to_string();
            if n.starts_with('.') && n.contains(".tmp.") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
