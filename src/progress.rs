//! Progress reporting for long runs: a live bar (loss, accuracy, samples/s) on a terminal,
//! plain log lines every few seconds when the output goes to a file or a pipe, nothing with
//! `--quiet` but the essentials.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An indicatif bar on stderr.
    Bar,
    /// A log line on stdout at most every [`LINE_INTERVAL`].
    Lines,
    /// Only epoch summaries are suppressed too; callers print final results themselves.
    Quiet,
}

/// Interval between plain progress lines.
pub const LINE_INTERVAL: Duration = Duration::from_secs(10);

pub struct Progress {
    pub mode: Mode,
    bar: Option<ProgressBar>,
    label: String,
    total: usize,
    start_seen: usize,
    start: Instant,
    last_line: Instant,
}

impl Progress {
    /// A bar when stderr is a terminal, else plain lines; `quiet` silences both.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Self::with_mode(mode)
    }

    pub fn with_mode(mode: Mode) -> Self {
        Progress {
            mode,
            bar: None,
            label: String::new(),
            total: 0,
            start_seen: 0,
            start: Instant::now(),
            last_line: Instant::now(),
        }
    }

    /// Start an epoch of `total` samples of which `seen` are already done (a resumed epoch).
    pub fn start_epoch(&mut self, epoch: usize, epochs: usize, total: usize, seen: usize) {
        self.label = format!("epoch {epoch}/{epochs}");
        self.total = total;
        self.start_seen = seen;
        self.start = Instant::now();
        self.last_line = Instant::now();
        if self.mode == Mode::Bar {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(8),
            );
            bar.set_style(
                // Times come from `msg`: indicatif's estimate counts the samples a resumed
                // epoch had already done as if they had just taken no time.
                ProgressStyle::with_template("{prefix:>12} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(self.label.clone());
            bar.set_position(seen as u64);
            self.bar = Some(bar);
        }
    }

    fn rate(&self, seen: usize) -> f64 {
        (seen - self.start_seen.min(seen)) as f64 / self.start.elapsed().as_secs_f64().max(1e-9)
    }

    /// "12s, 1m05s left": time in this epoch and an estimate of what remains.
    fn times(&self, seen: usize) -> String {
        let el = self.start.elapsed();
        match remaining(self.start_seen, seen, self.total, el) {
            Some(left) => format!("{}, {} left", clock(el), clock(left)),
            None => clock(el),
        }
    }

    /// After a step: `seen` samples of the epoch done, running mean loss and accuracy.
    pub fn update(&mut self, seen: usize, loss: f32, acc: f32) {
        match self.mode {
            Mode::Bar => {
                if let Some(b) = &self.bar {
                    b.set_position(seen as u64);
                    b.set_message(format!(
                        "loss {loss:.4} acc {:.2}% {:.0} samples/s ({})",
                        100.0 * acc,
                        self.rate(seen),
                        self.times(seen)
                    ));
                }
            }
            Mode::Lines => {
                if self.last_line.elapsed() >= LINE_INTERVAL {
                    self.last_line = Instant::now();
                    out(&format!(
                        "{} {seen}/{} loss {loss:.4} acc {:.2}% {:.0} samples/s ({})",
                        self.label,
                        self.total,
                        100.0 * acc,
                        self.rate(seen),
                        self.times(seen)
                    ));
                }
            }
            Mode::Quiet => {}
        }
    }

    /// Remove the bar (before printing the epoch's summary line).
    pub fn finish_epoch(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    /// A warning: on stderr, also when quiet, above the bar if one is shown.
    pub fn warn(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Print a line unless quiet, above the bar if one is shown.
    pub fn println(&self, line: &str) {
        match (&self.bar, self.mode) {
            (_, Mode::Quiet) => {}
            (Some(b), _) => b.println(line),
            (None, _) => out(line),
        }
    }
}

/// Time left in an epoch of `total` samples with `seen` done, at the rate of this process: the
/// samples done since it began the epoch at `start_seen` (a resumed epoch starts past 0) over
/// `elapsed`. `None` before the first step.
pub fn remaining(
    start_seen: usize,
    seen: usize,
    total: usize,
    elapsed: Duration,
) -> Option<Duration> {
    let done = seen.checked_sub(start_seen).filter(|&d| d > 0)?;
    let per_sample = elapsed.as_secs_f64() / done as f64;
    Some(Duration::from_secs_f64(
        per_sample * total.saturating_sub(seen) as f64,
    ))
}

/// `42s`, `3m07s`, `2h05m`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Set once standard output has failed (a closed pipe: `ttfs train | head`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Write a line of a training run to standard output. `println!` would panic on a closed pipe
/// and lose the run (training ignores SIGPIPE so that the signal cannot kill it either); here
/// the first failure is reported once on stderr and training goes on, its lines kept in the
/// run directory's `metrics.jsonl`.
pub fn out(line: &str) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        eprintln!(
            "warning: standard output failed ({e}): training goes on without printing its \
             lines; they are kept in the run directory (metrics.jsonl)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_epoch_estimates_from_its_own_samples() {
        let s = Duration::from_secs;
        // Resumed at 600 of 1000 samples, 100 more in 10 s: 300 left at 10 per second.
        assert_eq!(remaining(600, 700, 1000, s(10)), Some(s(30)));
        // A fresh epoch: 100 in 10 s, 900 left.
        assert_eq!(remaining(0, 100, 1000, s(10)), Some(s(90)));
        assert_eq!(remaining(600, 600, 1000, s(1)), None);
        assert_eq!(clock(s(65)), "1m05s");
        assert_eq!(clock(s(7505)), "2h05m");
    }
}
