//! Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM. The first signal asks the
//! training loop to finish its step, save `last.safetensors` and return [`Interrupted`]; a
//! second one exits at once (checkpoints are written atomically, so the previous one stays
//! intact even then).

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Catch SIGINT and SIGTERM from now on (call once, when there is work to lose: the default
/// action, ending the process, is right while data loads). `processes` and `rank` describe a
/// data-parallel job: `mpirun` passes a signal on to every process, so only rank 0 says what
/// happens, once for the job.
pub fn install(processes: usize, rank: usize) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let announce = rank == 0;
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if RECEIVED.swap(sig, Ordering::SeqCst) != 0 {
                    if announce {
                        eprintln!(
                            "\n{}: a second signal, exiting at once (the last checkpoint is intact)",
                            name(sig)
                        );
                    }
                    std::process::exit(128 + sig);
                }
                if announce {
                    eprintln!("\n{}", first_notice(sig, processes));
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (processes, rank);
    Ok(())
}

/// What the first signal starts. A job of several processes can save only if all of them
/// finish the step: one that died (SIGKILL, a lost node) takes the job down unsaved.
fn first_notice(sig: i32, processes: usize) -> String {
    match processes {
        1 => format!(
            "{}: finishing the current step, then saving last.safetensors (send it again to \
             exit at once)",
            name(sig)
        ),
        n => format!(
            "{}: the {n} processes finish the current step together, then rank 0 saves \
             last.safetensors (send it again to exit at once; if a process has died, the job \
             ends without saving and the last checkpoint written stays intact)",
            name(sig)
        ),
    }
}

/// The signal that asked the run to stop, if any.
pub fn requested() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

pub fn name(sig: i32) -> String {
    match sig {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        s => format!("signal {s}"),
    }
}

/// A run stopped by a signal after saving its state; the process exits with `128 + signal`,
/// as a shell reports a process ended by that signal.
#[derive(Debug)]
pub struct Interrupted {
    pub signal: i32,
    /// What was saved and how to continue.
    pub message: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}
