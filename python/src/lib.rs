//! Python bindings of ttfs: a thin layer over the `ttfs` crate. Every computation is the
//! library's (training, evaluation, energy report, event-driven inference, traces, NIR
//! export); this crate only converts arguments and results. Arrays arrive already normalized
//! by the Python side (`python/python/ttfs/__init__.py`): images as `uint8` `[N, C, H, W]` with a
//! value scale, labels as `int64`, every count checked. Results that are records (metrics,
//! evaluations) cross as JSON text.
//!
//! Training is a session (`fit_begin`, then `fit_epoch` or `fit_step` / `fit_end_epoch`, then
//! `fit_finish`) driven by the Python loop, so that between calls the model is back in its
//! `Core` and callbacks can read, evaluate or save it.
//!
//! `core_class` holds the class Python sees, `Core`, with every method's signature and
//! docstring; the work of its methods is in `fit` (training), `inference` and `parameters`.
//! `convert` turns Python values into the library's, `errors` the library's errors into
//! `TtfsError`; `data` and `threads` hold the module's functions.

mod convert;
mod core_class;
mod data;
mod errors;
mod fit;
mod inference;
mod parameters;
mod threads;

use crate::core_class::Core;
use errors::TtfsError;
use pyo3::prelude::*;

#[pymodule]
fn _ttfs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The library's warnings (a data cache it could not use) on stderr, as before the library
    // stopped printing: `warnings.warn` would need the GIL from the loader's worker threads.
    ttfs::warnings::set_handler(|w| eprintln!("warning: {w}"));
    m.add_class::<Core>()?;
    m.add_function(wrap_pyfunction!(data::load_data, m)?)?;
    m.add_function(wrap_pyfunction!(threads::set_threads, m)?)?;
    m.add("TtfsError", m.py().get_type::<TtfsError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PJ_PER_AC", ttfs::energy::PJ_PER_AC)?;
    m.add("PJ_PER_MAC", ttfs::energy::PJ_PER_MAC)?;
    m.add("CUDA", cfg!(feature = "cuda"))?;
    Ok(())
}
