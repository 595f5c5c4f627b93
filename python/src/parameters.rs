//! A network's parameters from Python: read and written by their checkpoint names, or read as
//! plain weights and biases (what the NIR export writes).

use crate::convert::Named;
use crate::core_class::Core;
use crate::errors::TtfsError;
use numpy::{PyArray, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// The work of [`Core::parameters`], whose docstring Python shows.
pub(crate) fn by_name<'py>(core: &Core, py: Python<'py>) -> PyResult<Named<'py>> {
    core.model
        .params()
        .iter()
        .map(|p| {
            Ok((
                p.name.clone(),
                PyArray::from_vec(py, p.value.to_vec()).reshape(p.shape.clone())?,
            ))
        })
        .collect()
}

/// The work of [`Core::set_parameters`], whose docstring Python shows.
pub(crate) fn set_by_name(
    core: &mut Core,
    params: Vec<(String, PyReadonlyArrayDyn<'_, f32>)>,
) -> PyResult<()> {
    let names: Vec<String> = core.model.params().iter().map(|p| p.name.clone()).collect();
    for (name, a) in &params {
        let Some(p) = core.model.params().into_iter().find(|p| &p.name == name) else {
            return Err(TtfsError::new_err(format!(
                "the model has no parameter `{name}` (it has: {})",
                names.join(", ")
            )));
        };
        if a.shape() != p.shape.as_slice() {
            return Err(TtfsError::new_err(format!(
                "parameter `{name}` has shape {:?} in the model, the value given {:?}",
                p.shape,
                a.shape()
            )));
        }
        if a.as_array().iter().any(|v| !v.is_finite()) {
            return Err(TtfsError::new_err(format!(
                "parameter `{name}`: the value given holds NaN or infinite numbers"
            )));
        }
    }
    for (name, a) in &params {
        let values: Vec<f32> = a.as_array().iter().copied().collect();
        if let Some(p) = core
            .model
            .params_mut()
            .into_iter()
            .find(|p| &p.name == name)
        {
            p.value.write(&values);
        }
    }
    Ok(())
}

/// The work of [`Core::plain_parameters`], whose docstring Python shows.
pub(crate) fn plain<'py>(core: &mut Core, py: Python<'py>) -> PyResult<Named<'py>> {
    let mut out = Vec::new();
    let names = core.model.node_names();
    for (layer, name) in core.model.layers.iter_mut().zip(names) {
        let (w, b, shape) = match layer.plain() {
            ttfs::layers::Plain::Linear { w, b, n_in, n_out } => (w, b, vec![n_out, n_in]),
            ttfs::layers::Plain::Conv {
                w,
                b,
                in_c,
                out_c,
                k,
                ..
            } => (w, b, vec![out_c, in_c, k, k]),
            _ => continue,
        };
        let nb = b.len();
        out.push((
            format!("{name}.weight"),
            PyArray::from_vec(py, w).reshape(shape)?,
        ));
        out.push((
            format!("{name}.bias"),
            PyArray::from_vec(py, b).reshape(vec![nb])?,
        ));
    }
    Ok(out)
}
