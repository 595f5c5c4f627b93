//! Python values as the library's: config dicts as TOML, image and label arrays as a data set,
//! device names as a device (with what a Python user can do about a missing GPU).

use crate::errors::{OrPy, TtfsError};
use numpy::{PyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use ttfs::data::Dataset;
use ttfs::kernels::Device;

/// A float array handed to Python.
pub(crate) type F32Array<'py> = Bound<'py, PyArray<f32, numpy::IxDyn>>;
/// Arrays by name.
pub(crate) type Named<'py> = Vec<(String, F32Array<'py>)>;
/// Images as the Python side hands them over.
pub(crate) type Images<'py> = PyReadonlyArrayDyn<'py, u8>;
pub(crate) type Labels<'py> = PyReadonlyArrayDyn<'py, i64>;

/// A Python value (dict, list, str, int, float, bool) as TOML.
pub(crate) fn to_toml(v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, x) in d.iter() {
            t.insert(k.extract::<String>()?, to_toml(&x)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return Ok(toml::Value::Array(
            l.iter().map(|x| to_toml(&x)).collect::<PyResult<_>>()?,
        ));
    }
    if let Ok(b) = v.extract::<bool>() {
        return Ok(toml::Value::Boolean(b));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Ok(toml::Value::Integer(i));
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(toml::Value::Float(f));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(toml::Value::String(s));
    }
    Err(TtfsError::new_err(format!(
        "config value {} is not a dict, list, str, int, float or bool (whole numbers must fit \
         in 64 bits)",
        v.repr()?
    )))
}

/// `[N, C, H, W]` uint8 images and labels as a data set.
pub(crate) fn dataset(
    x: &Images<'_>,
    scale: f32,
    y: Option<&Labels<'_>>,
    classes: usize,
    what: &str,
) -> PyResult<Dataset> {
    let s = x.shape();
    if s.len() != 4 {
        return Err(TtfsError::new_err(format!(
            "{what}: images must be [N, C, H, W], got shape {s:?}"
        )));
    }
    let n = s[0];
    let labels: Vec<u16> = match y {
        Some(y) => {
            let y = y.as_array();
            if y.ndim() != 1 || y.len() != n {
                return Err(TtfsError::new_err(format!(
                    "{what}: {n} images but labels of shape {:?} (one label per image)",
                    y.shape()
                )));
            }
            let mut v = Vec::with_capacity(n);
            for &l in y.iter() {
                if l < 0 || l as usize >= classes {
                    return Err(TtfsError::new_err(format!(
                        "{what}: label {l} is out of range: the model has {classes} classes, 0 \
                         to {}",
                        classes - 1
                    )));
                }
                v.push(l as u16);
            }
            v
        }
        None => vec![0; n],
    };
    let data = x.as_array().iter().copied().collect();
    Dataset::from_images(what, data, [s[1], s[2], s[3]], labels, classes, scale).py_err()
}

/// A device by name. Without the `cuda` feature, a GPU is refused with what a Python user
/// can do about it (the library's message says how to rebuild the command line).
pub(crate) fn device(name: &str) -> PyResult<Device> {
    let d = name.parse::<Device>().py_err()?;
    if matches!(d, Device::Cuda(_)) && !cfg!(feature = "cuda") {
        return Err(TtfsError::new_err(format!(
            "device=\"{name}\": this ttfs package was built without CUDA support. Install a CUDA \
             build of the wheel (docs/python.md, section CUDA: pip install ./python \
             --config-settings=maturin.build-args=\"--features cuda\"), or use device=\"cpu\""
        )));
    }
    // The backend starts here (a GPU: driver, NVRTC, cuBLAS); its messages name the command
    // line's option, which a Python user writes as the `device` argument.
    if let Err(e) = d.kernels() {
        let cli = format!("--device {d}");
        return Err(TtfsError::new_err(format!("{e:#}").replacen(
            &cli,
            &format!("device=\"{d}\""),
            1,
        )));
    }
    Ok(d)
}
