//! Worker threads: the `--threads` option's parser and the global pool of the CPU backend.

/// `--threads N`: a whole number, at least 1 (0 means "one per core" in a config, a surprise
/// on the command line).
pub fn threads_arg(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (leave --threads out for one thread per core)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("expected a whole number of threads".into()),
    }
}

/// Give the global worker pool `n` threads (0: one per core) and return how many it has.
pub fn init_threads(n: usize) -> usize {
    if n > 0 {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    rayon::current_num_threads()
}
