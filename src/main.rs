//! The `ttfs` binary: the command line is parsed ([`cli`]), the process joins its data-parallel
//! job if it is one, and the outcome becomes the exit code (an interrupted run exits with 128
//! plus the signal's number, as a shell reports it).

mod cli;

use clap::Parser;
use cli::{dispatch, Cli, Cmd};

fn main() -> std::process::ExitCode {
    let cmd = Cli::parse().cmd;
    // Rust ignores SIGPIPE, so a report piped into `head` would end in a panic at the first
    // line written after `head` exits. The report commands take the Unix default (end quietly);
    // training keeps ignoring it, so a closed pipe cannot kill a run before it saves.
    #[cfg(unix)]
    if !matches!(cmd, Cmd::Train(_)) {
        // SAFETY: sets a signal disposition before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // What the library reports without failing (a data cache it could not use) goes to
    // stderr, as every warning of the application does.
    ttfs::warnings::set_handler(|w| eprintln!("warning: {w}"));
    // One process, or one of the processes of `mpirun -np N` (feature `mpi`).
    let dist = match ttfs::collective::from_environment() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    ttfs::collective::abort_on_panic(dist.clone());
    match dispatch(cmd, &dist) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<ttfs::collective::OnEveryRank>() => {
            // Every process stops alike: rank 0 says why, once.
            if dist.rank() == 0 {
                eprintln!("error: {e}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) if e.is::<ttfs::interrupt::Interrupted>() => {
            let i = e.downcast_ref::<ttfs::interrupt::Interrupted>().unwrap();
            // Every process stopped after the same step; rank 0 saved and says how to go on.
            if dist.rank() == 0 {
                eprintln!("{i}");
            }
            std::process::ExitCode::from((128 + i.signal).clamp(1, 255) as u8)
        }
        Err(e) => {
            // The chain of contexts, without a backtrace: errors are for users.
            if dist.size() > 1 {
                // The other processes may be waiting for this one: end the whole job.
                eprintln!("error (rank {} of {}): {e:#}", dist.rank(), dist.size());
                dist.abort(1);
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
