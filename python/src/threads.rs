//! `set_threads`: the number of worker threads, set once before the first computation.

use crate::errors::TtfsError;
use pyo3::prelude::*;

/// Use `n` worker threads (once, before the first computation; default: one per core).
#[pyfunction]
pub(crate) fn set_threads(n: usize) -> PyResult<usize> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| {
            TtfsError::new_err(format!(
                "threads can be set once, before the first computation: {e}"
            ))
        })?;
    Ok(rayon::current_num_threads())
}
