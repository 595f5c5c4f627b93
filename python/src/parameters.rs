//! A network's parameters from Python: read and written by their checkpoint names, or read as
//! plain weights and biases (what the NIR export writes).

use crate::convert::Named;
use crate::core_class::Core;
use crate::errors::TtfsError;
use numpy::{PyArray, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

#[pymethods]
impl Core {
    /// The parameters by their checkpoint names: `(name, array)`.
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Named<'py>> {
        self.model
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

    /// Overwrite parameters by their checkpoint names (any subset), checking names, shapes
    /// and that every value is finite; nothing is written unless all are right.
    fn set_parameters(
        &mut self,
        params: Vec<(String, PyReadonlyArrayDyn<'_, f32>)>,
    ) -> PyResult<()> {
        let model = self.model.params();
        // The model's index of each given parameter, found once while checking.
        let mut at = Vec::with_capacity(params.len());
        for (name, a) in &params {
            let Some(i) = model.iter().position(|p| &p.name == name) else {
                let names: Vec<&str> = model.iter().map(|p| p.name.as_str()).collect();
                return Err(TtfsError::new_err(format!(
                    "the model has no parameter `{name}` (it has: {})",
                    names.join(", ")
                )));
            };
            let p = &model[i];
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
            at.push(i);
        }
        drop(model);
        // Inside a `fit` with `train.ema_decay`, the model holds the moving average and the
        // session the weights being trained: both are set, so that training goes on from the
        // values given (a callback's restart or restore), not only what is evaluated.
        let mut trained = self
            .fit
            .as_mut()
            .and_then(|f| f.tr.ema.as_mut())
            .map(|ema| &mut ema.average);
        let mut model = self.model.params_mut();
        for ((_, a), &i) in params.iter().zip(&at) {
            let values: Vec<f32> = a.as_array().iter().copied().collect();
            model[i].value.write(&values);
            if let Some(trained) = trained.as_deref_mut() {
                trained[i].write(&values);
            }
        }
        Ok(())
    }

    /// Plain weights and biases, the weight normalization and affine folded in (what the NIR
    /// export writes): `(name, array)` as `<synapse>.weight` / `<synapse>.bias`.
    fn plain_parameters<'py>(&mut self, py: Python<'py>) -> PyResult<Named<'py>> {
        let mut out = Vec::new();
        let names = self.model.node_names();
        for (layer, name) in self.model.layers.iter_mut().zip(names) {
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
}
