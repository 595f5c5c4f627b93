//! The library's errors as Python exceptions: `TtfsError`, with the message the command line
//! prints.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    ttfs,
    TtfsError,
    PyValueError,
    "An error of ttfs, with the message the command line prints (a ValueError: the input, a \
     setting or a file's content is what is wrong)."
);

/// The library's error as a Python exception, with the whole chain of contexts (as the CLI
/// prints it).
pub(crate) fn err(e: anyhow::Error) -> PyErr {
    TtfsError::new_err(format!("{e:#}"))
}

pub(crate) trait OrPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> OrPy<T> for anyhow::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(err)
    }
}
