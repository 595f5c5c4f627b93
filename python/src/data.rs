//! `load_data`: a data set's splits as NumPy arrays.

use crate::errors::{OrPy, TtfsError};
use numpy::{PyArray, PyArrayMethods};
use pyo3::prelude::*;
use std::path::PathBuf;
use ttfs::data::Dataset;

/// A data set's splits as arrays: `(x_train, y_train, x_test, y_test, scale)`, images
/// `uint8 [N, C, H, W]` whose values times `scale` are intensities in [0, 1].
#[pyfunction]
#[pyo3(signature = (name, data_dir=None))]
#[allow(clippy::type_complexity)]
pub(crate) fn load_data<'py>(
    py: Python<'py>,
    name: &str,
    data_dir: Option<PathBuf>,
) -> PyResult<(
    Bound<'py, PyArray<u8, numpy::IxDyn>>,
    Bound<'py, PyArray<i64, numpy::IxDyn>>,
    Bound<'py, PyArray<u8, numpy::IxDyn>>,
    Bound<'py, PyArray<i64, numpy::IxDyn>>,
    f32,
)> {
    let s = ttfs::data::load(name, data_dir.as_deref()).py_err()?;
    if s.train.kind != ttfs::data::Kind::Image {
        return Err(TtfsError::new_err(format!(
            "{name} is an event data set: train on it by name (fit(data=\"{name}\"))"
        )));
    }
    let arrays = |d: Dataset| -> PyResult<_> {
        let mut shape = vec![d.len()];
        shape.extend_from_slice(&d.frame);
        let labels: Vec<i64> = d.labels.iter().map(|&l| l as i64).collect();
        let n = labels.len();
        Ok((
            PyArray::from_vec(py, d.data).reshape(shape)?,
            PyArray::from_vec(py, labels).reshape(vec![n])?,
        ))
    };
    let scale = s.train.scale;
    let (xtr, ytr) = arrays(s.train)?;
    let (xte, yte) = arrays(s.test)?;
    Ok((xtr, ytr, xte, yte, scale))
}
