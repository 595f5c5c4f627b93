//! Running a pass on a worker of the rayon pool, so that its many parallel loops do not
//! each pay a hand-off from an outside thread.

/// Runs `f` on a worker of the rayon pool (in place when already on one). A pass over the
/// model starts dozens of parallel loops; started from a thread outside the pool, each is
/// handed to a worker and waited for (a wake-up and a sleep per loop, measured ~5% of the
/// MLP's training step on one thread); started on a worker, the worker runs them itself.
pub fn on_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::join(f, || ()).0
    }
}
