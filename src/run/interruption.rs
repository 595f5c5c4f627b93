//! A run stopped by a signal: every process of a data-parallel run agrees on the step to stop
//! after, the state is saved and the message says how to continue.

use crate::checkpoint::Checkpoint;
use crate::interrupt::{self, Interrupted};
use crate::run_dir::{RunDir, LAST};
use crate::train::{EpochProgress, Trainer};

/// The program as it was started (`./target/release/ttfs`, the path given to mpirun, or `ttfs`
/// found on the PATH): the commands ttfs suggests then run as pasted.
pub fn program() -> String {
    std::env::args().next().unwrap_or_else(|| "ttfs".into())
}

/// The signal that asks the run to stop, if any. In a data-parallel run every process must
/// stop after the same step (a signal reaches them at different moments), so they agree on it
/// first: a process stops when any of them was signalled.
pub(super) fn stop_requested(tr: &Trainer) -> Option<i32> {
    let mine = interrupt::requested();
    if tr.dist.size() == 1 {
        return mine;
    }
    let mut sig = [mine.unwrap_or(0) as f64];
    tr.dist
        .all_reduce_f64(&mut sig, crate::collective::Reduce::Max);
    (sig[0] > 0.0).then_some(sig[0] as i32)
}

/// Save the state in `last.safetensors` (`at`: the epoch in progress, `None` between epochs,
/// when it is saved already) and say how to continue.
pub(super) fn interrupted(
    tr: &Trainer,
    rd: &RunDir,
    at: Option<&EpochProgress>,
    best: f64,
    sig: i32,
) -> anyhow::Error {
    let last = rd.file(LAST);
    // Rank 0 owns the run directory.
    let saved = match at {
        Some(p) if tr.dist.rank() == 0 => Checkpoint::capture(tr, p.clone(), best).save(&last),
        _ => Ok(()),
    };
    let when = match at {
        Some(p) => format!(
            "in epoch {}, after {} of its {} steps",
            tr.epoch + 1,
            p.steps,
            tr.steps_per_epoch()
        ),
        None => format!("after epoch {}", tr.epoch),
    };
    // The same number of processes continues it bitwise the same.
    let launcher = match tr.dist.size() {
        1 => String::new(),
        n => format!("mpirun -np {n} "),
    };
    let program = program();
    let message = match saved {
        Ok(()) => format!(
            "stopped by {} {when}; the state is saved in {}. Continue with: {launcher}{program} \
             train --resume {}",
            interrupt::name(sig),
            last.display(),
            rd.path.display()
        ),
        Err(e) => format!(
            "stopped by {} {when}, but the state could not be saved: {e:#}",
            interrupt::name(sig)
        ),
    };
    Interrupted {
        signal: sig,
        message,
    }
    .into()
}
