//! The run directory: one folder per training run holding what is needed to trust, repeat
//! and continue it.
//!
//! | file               | content                                                         |
//! |--------------------|-----------------------------------------------------------------|
//! | `config.toml`      | the resolved configuration (all keys, after `--set`)            |
//! | `command.txt`      | argv, ttfs version, git commit, threads, host, start time       |
//! | `metrics.jsonl`    | one JSON object per epoch ([`MetricsRecord`])                   |
//! | `metrics.csv`      | the same, scalar columns only                                   |
//! | `eval.json`        | the last evaluation, with per-layer spike monitors              |
//! | `last.safetensors` | checkpoint of the latest state (epoch end or every N steps)     |
//! | `best.safetensors` | checkpoint of the epoch with the best evaluation accuracy       |
//! | `plots/`           | written by `ttfs plot`                                          |
//! | `diverged.safetensors` | the state when training diverged                            |

use crate::checkpoint::write_atomic;
use crate::config::Config;
use crate::train::{EpochMetrics, Evaluation};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const CONFIG: &str = "config.toml";
pub const COMMAND: &str = "command.txt";
pub const METRICS_JSONL: &str = "metrics.jsonl";
pub const METRICS_CSV: &str = "metrics.csv";
pub const EVAL: &str = "eval.json";
pub const LAST: &str = "last.safetensors";
pub const BEST: &str = "best.safetensors";
/// The state saved when training diverges.
pub const DIVERGED: &str = "diverged.safetensors";
pub const PLOTS: &str = "plots";

/// Everything `ttfs train` and `ttfs plot` write into a run directory.
const RUN_FILES: &[&str] = &[
    CONFIG,
    COMMAND,
    METRICS_JSONL,
    METRICS_CSV,
    EVAL,
    LAST,
    BEST,
    DIVERGED,
];

/// How [`RunDir::create`] found the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// New or empty.
    Fresh,
    /// It held a run that stopped before its first checkpoint: started again in it.
    Restarted,
    /// It held a run with checkpoints, removed as `--overwrite` asked.
    Overwritten,
}

/// One line of `metrics.jsonl`: the epoch's metrics and the optimizer step reached.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MetricsRecord {
    pub step: usize,
    #[serde(flatten)]
    pub metrics: EpochMetrics,
}

/// Columns of `metrics.csv`.
pub const CSV_HEADER: &str = "epoch,step,lr,train_loss,train_accuracy,eval_split,eval_loss,\
eval_accuracy,mean_first_output,spikes_per_neuron,silent_fraction,seconds,train_samples_per_s,time_steps";

impl MetricsRecord {
    pub fn csv_row(&self) -> String {
        let m = &self.metrics;
        let mon = &m.eval.monitor;
        let (mut ev, mut units, mut silent) = (0.0, 0.0, 0.0);
        for l in mon.layers.iter().filter(|l| l.what == "spikes") {
            ev += l.events;
            silent += l.silent;
            units += (l.units * l.samples) as f64;
        }
        format!(
            "{},{},{:e},{},{},{},{},{},{},{},{},{:.3},{:.1},{}",
            m.epoch,
            self.step,
            m.lr,
            m.train_loss,
            m.train_accuracy,
            m.eval_split,
            m.eval.loss,
            m.eval.accuracy,
            mon.mean_first_output(),
            ev / units.max(1.0),
            silent / units.max(1.0),
            m.seconds,
            m.train_samples_per_s,
            m.time_steps
        )
    }
}

/// `eval.json`: the last evaluation of a run and what it was run on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Epochs completed when it was taken.
    pub epoch: usize,
    /// `validation` or `test`.
    pub split: String,
    pub eval: Evaluation,
}

#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Create `out` (or `runs/<name>`, or `runs/<UTC timestamp>`) for a new run. A directory
    /// holding a run with checkpoints is refused unless `overwrite`, which removes that run's
    /// files first; one whose run stopped before its first checkpoint (nothing to resume) is
    /// started again.
    pub fn create(
        out: Option<&Path>,
        name: Option<&str>,
        overwrite: bool,
    ) -> Result<(RunDir, Created)> {
        let path = match (out, name) {
            (Some(o), _) => o.to_path_buf(),
            (None, Some(n)) => Path::new("runs").join(n),
            (None, None) => {
                // Two runs started in the same second get -2, -3, ...
                let base = timestamp_name();
                let mut p = Path::new("runs").join(&base);
                let mut k = 2;
                while p.exists() {
                    p = Path::new("runs").join(format!("{base}-{k}"));
                    k += 1;
                }
                p
            }
        };
        let rd = RunDir { path };
        let checkpoints = [LAST, BEST, DIVERGED].iter().any(|f| rd.file(f).exists());
        let how = if checkpoints && !overwrite {
            bail!(
                "{} already holds a run with checkpoints: continue it with `ttfs train --resume \
                 {}`, start it again with --overwrite (deletes its checkpoints and metrics), or \
                 choose another --name / --out",
                rd.path.display(),
                rd.path.display()
            );
        } else if checkpoints {
            Created::Overwritten
        } else if rd.file(CONFIG).exists() {
            Created::Restarted
        } else {
            Created::Fresh
        };
        if how != Created::Fresh {
            rd.remove_run_files()?;
        }
        std::fs::create_dir_all(&rd.path)
            .with_context(|| format!("cannot create run directory {}", rd.path.display()))?;
        Ok((rd, how))
    }

    /// Remove what a run wrote (and nothing else the directory may hold).
    fn remove_run_files(&self) -> Result<()> {
        for f in RUN_FILES {
            let p = self.file(f);
            if p.exists() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
        let plots = self.file(PLOTS);
        if plots.is_dir() {
            std::fs::remove_dir_all(&plots)
                .with_context(|| format!("cannot remove {}", plots.display()))?;
        }
        Ok(())
    }

    /// An existing run directory (for `--resume`, `eval`, `plot`).
    pub fn open(path: &Path) -> Result<RunDir> {
        if !path.is_dir() {
            bail!(
                "{} is not a directory: give the run directory `ttfs train` printed (e.g. runs/<name>)",
                path.display()
            );
        }
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn write_config(&self, cfg: &Config) -> Result<()> {
        let text = format!(
            "# Resolved configuration of this run (every key, after --set overrides).\n\
             # Repeat it with: ttfs train --config {}\n{}",
            self.file(CONFIG).display(),
            cfg.to_toml()
        );
        write_atomic(&self.file(CONFIG), |w| w.write_all(text.as_bytes()))
    }

    /// Record the command line, the environment it ran in and the data folder it read
    /// (appended on every resume); `threads` per process, `ranks` processes (data parallel).
    pub fn write_command(
        &self,
        argv: &[String],
        threads: usize,
        ranks: usize,
        data: Option<&Path>,
    ) -> Result<()> {
        let text = command_record(argv, threads, ranks, data);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file(COMMAND))
            .with_context(|| format!("cannot write {}", self.file(COMMAND).display()))?;
        f.write_all(text.as_bytes())?;
        Ok(())
    }

    /// Append one epoch to `metrics.jsonl` and `metrics.csv`.
    pub fn append_metrics(&self, rec: &MetricsRecord) -> Result<()> {
        let mut j = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file(METRICS_JSONL))?;
        writeln!(j, "{}", serde_json::to_string(rec)?)?;
        let csv = self.file(METRICS_CSV);
        let new = !csv.exists();
        let mut c = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&csv)?;
        if new {
            writeln!(c, "{CSV_HEADER}")?;
        }
        writeln!(c, "{}", rec.csv_row())?;
        Ok(())
    }

    /// Drop metrics of epochs after `epoch` (written after the checkpoint a resume starts from).
    pub fn truncate_metrics(&self, epoch: usize) -> Result<()> {
        let keep: Vec<MetricsRecord> = self
            .read_metrics()?
            .into_iter()
            .filter(|r| r.metrics.epoch <= epoch)
            .collect();
        let mut jsonl = String::new();
        let mut csv = format!("{CSV_HEADER}\n");
        for r in &keep {
            jsonl += &serde_json::to_string(r)?;
            jsonl.push('\n');
            csv += &r.csv_row();
            csv.push('\n');
        }
        write_atomic(&self.file(METRICS_JSONL), |w| w.write_all(jsonl.as_bytes()))?;
        write_atomic(&self.file(METRICS_CSV), |w| w.write_all(csv.as_bytes()))
    }

    /// All records of `metrics.jsonl` (empty when there is none yet).
    pub fn read_metrics(&self) -> Result<Vec<MetricsRecord>> {
        let p = self.file(METRICS_JSONL);
        if !p.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&p)?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .with_context(|| format!("{}:{}: not a metrics record", p.display(), i + 1))
            })
            .collect()
    }

    pub fn write_eval(&self, ev: &EvalRecord) -> Result<()> {
        let text = serde_json::to_string_pretty(ev)?;
        write_atomic(&self.file(EVAL), |w| w.write_all(text.as_bytes()))
    }

    pub fn read_eval(&self) -> Result<EvalRecord> {
        let p = self.file(EVAL);
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "cannot read {} (written after each epoch; run `ttfs eval {}` to make one)",
                p.display(),
                self.path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{}: invalid", p.display()))
    }
}

/// The text `command.txt` receives for one invocation.
/// `threads` per process, `ranks` processes (data parallel; 1 for one process).
pub fn command_record(
    argv: &[String],
    threads: usize,
    ranks: usize,
    data: Option<&Path>,
) -> String {
    let quoted: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
    // The folder as found, made absolute so that it still says where from another directory.
    let data = match data {
        Some(d) => std::fs::canonicalize(d)
            .unwrap_or_else(|_| d.to_path_buf())
            .display()
            .to_string(),
        None => "embedded".into(),
    };
    format!(
        "command: {}\nttfs: {}\ngit: {}\nthreads: {threads}\nranks: {ranks}\ndata: {data}\nhost: {}\nstarted: {}\ncwd: {}\n\n",
        quoted.join(" "),
        env!("CARGO_PKG_VERSION"),
        git_commit(),
        hostname(),
        utc_now(),
        std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default()
    )
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// The git commit ttfs was built from: `TTFS_GIT_COMMIT` at build time, else asked of git in
/// the source tree (with `-dirty` when it has uncommitted changes), else `unknown`.
pub fn git_commit() -> String {
    if let Some(c) = option_env!("TTFS_GIT_COMMIT") {
        return c.to_string();
    }
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .map(|s| !s.is_empty())
                .unwrap_or(false);
            if dirty {
                format!("{c}-dirty")
            } else {
                c
            }
        }
        _ => "unknown".into(),
    }
}

pub fn hostname() -> String {
    for p in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(s) = std::fs::read_to_string(p) {
            if !s.trim().is_empty() {
                return s.trim().to_string();
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

/// (year, month, day, hour, minute, second) in UTC.
fn utc_parts() -> (i64, u32, u32, u32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

pub fn utc_now() -> String {
    let (y, mo, d, h, mi, s) = utc_parts();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn timestamp_name() -> String {
    let (y, mo, d, h, mi, s) = utc_parts();
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_files_round_trip_and_truncate() {
        let dir = std::env::temp_dir().join(format!("ttfs-rundir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (rd, how) = RunDir::create(Some(&dir), None, false).unwrap();
        assert_eq!(how, Created::Fresh);
        for e in 1..=3 {
            let mut r = MetricsRecord {
                step: e * 10,
                ..Default::default()
            };
            r.metrics.epoch = e;
            r.metrics.eval.accuracy_at = vec![0.5; 4];
            rd.append_metrics(&r).unwrap();
        }
        assert_eq!(rd.read_metrics().unwrap().len(), 3);
        rd.truncate_metrics(2).unwrap();
        let back = rd.read_metrics().unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].step, 20);
        let csv = std::fs::read_to_string(rd.file(METRICS_CSV)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let cols = CSV_HEADER.split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        // A run that stopped before its first checkpoint starts again in its directory.
        std::fs::write(rd.file(CONFIG), "").unwrap();
        let (_, how) = RunDir::create(Some(&dir), None, false).unwrap();
        assert_eq!(how, Created::Restarted);
        assert!(!rd.file(METRICS_JSONL).exists());
        // One with a checkpoint is kept unless --overwrite.
        std::fs::write(rd.file(LAST), "").unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let e = format!("{:#}", RunDir::create(Some(&dir), None, false).unwrap_err());
        assert!(e.contains("--resume") && e.contains("--overwrite"), "{e}");
        assert!(rd.file(LAST).exists());
        let (_, how) = RunDir::create(Some(&dir), None, true).unwrap();
        assert_eq!(how, Created::Overwritten);
        assert!(!rd.file(LAST).exists());
        assert!(
            dir.join("notes.txt").exists(),
            "a file the run did not write was removed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamps_look_right() {
        let t = utc_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20"), "{t}");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("optimizer.lr=0.1"), "optimizer.lr=0.1");
    }
}
