//! Running a network from Python: evaluation, the encoded input, forward passes with first
//! spike times, recorded traces, and event-driven inference.

use crate::convert::{dataset, F32Array, Images, Labels, Named};
use crate::core_class::Core;
use crate::errors::{err, OrPy, TtfsError};
use numpy::{PyArray, PyArrayMethods};
use pyo3::prelude::*;
use ttfs::data::batch::assemble;
use ttfs::kernels::Device;
use ttfs::traces::Trace;

/// The work of [`Core::evaluate`], whose docstring Python shows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate(
    core: &mut Core,
    py: Python<'_>,
    x: Option<Images<'_>>,
    scale: f32,
    y: Option<Labels<'_>>,
    data: Option<String>,
    data_dir: Option<String>,
    split: &str,
    energy: bool,
) -> PyResult<String> {
    let ds = match (&x, &data) {
        (Some(x), None) => {
            if y.is_none() {
                return Err(TtfsError::new_err("evaluate: labels y are needed"));
            }
            dataset(x, scale, y.as_ref(), core.model.classes(), "arrays")?
        }
        (None, Some(name)) => {
            let s = core.named(name, data_dir.as_deref())?;
            match split {
                "test" => s.test,
                "train" => s.train,
                other => {
                    return Err(TtfsError::new_err(format!(
                        "unknown split `{other}` (test or train)"
                    )))
                }
            }
        }
        _ => {
            return Err(TtfsError::new_err(
                "evaluate: give either arrays (x, y) or a data set name (data=...)",
            ))
        }
    };
    core.check_frame(&ds)?;
    let (input, batch) = (core.input_spec(), core.batch());
    let model = &mut core.model;
    let ev = py.detach(|| ttfs::train::evaluate_with(model, &ds, None, &input, batch, energy));
    serde_json::to_string(&ev).map_err(|e| err(e.into()))
}

/// The work of [`Core::encode`], whose docstring Python shows.
pub(crate) fn encode<'py>(
    core: &Core,
    py: Python<'py>,
    x: Images<'py>,
    scale: f32,
) -> PyResult<F32Array<'py>> {
    let ds = core.images(&x, scale)?;
    let idx: Vec<usize> = (0..ds.len()).collect();
    let (mut out, mut labels, mut scratch) = (ttfs::tensor::Tensor::default(), vec![], vec![]);
    assemble(
        &ds,
        &idx,
        &core.input_spec(),
        &mut out,
        &mut labels,
        &mut scratch,
    );
    let mut shape = vec![out.shape[0], ds.len()];
    shape.extend_from_slice(&ds.frame);
    PyArray::from_vec(py, out.data.to_vec()).reshape(shape)
}

/// The work of [`Core::forward`], whose docstring Python shows.
#[allow(clippy::type_complexity)]
pub(crate) fn forward<'py>(
    core: &mut Core,
    py: Python<'py>,
    x: Images<'py>,
    scale: f32,
) -> PyResult<(
    F32Array<'py>,
    Vec<(String, Bound<'py, PyArray<i32, numpy::IxDyn>>)>,
)> {
    let ds = core.images(&x, scale)?;
    let (input, batch) = (core.input_spec(), core.batch());
    let c = core.model.classes();
    let model = &mut core.model;
    let n = ds.len();
    let (logits, layers) = py.detach(|| {
        let mut logits = Vec::with_capacity(n * c);
        let mut layers: Vec<(String, Vec<usize>, Vec<i32>)> = Vec::new();
        ttfs::traces::for_each_batch(model, &ds, &input, batch, |model, _, _| {
            logits.extend(model.logits.data.read().iter());
            for (k, (name, frame, times)) in model.first_spike_times().into_iter().enumerate() {
                if layers.len() <= k {
                    layers.push((name, frame, Vec::new()));
                }
                layers[k].2.extend(times.iter().map(|&t| t as i32));
            }
        });
        (logits, layers)
    });
    let logits = PyArray::from_vec(py, logits).reshape(vec![n, c])?;
    let mut out = Vec::new();
    for (name, frame, times) in layers {
        let mut shape = vec![n];
        shape.extend(frame);
        out.push((name, PyArray::from_vec(py, times).reshape(shape)?));
    }
    Ok((logits, out))
}

/// The work of [`Core::traces`], whose docstring Python shows.
pub(crate) fn traces<'py>(
    core: &mut Core,
    py: Python<'py>,
    x: Images<'py>,
    scale: f32,
    membrane: bool,
) -> PyResult<Named<'py>> {
    let ds = core.images(&x, scale)?;
    let (input, batch) = (core.input_spec(), core.batch());
    let what = if membrane {
        Trace::Membrane
    } else {
        Trace::Spikes
    };
    let model = &mut core.model;
    let layers = py
        .detach(|| ttfs::traces::record(model, &ds, &input, batch, what))
        .py_err()?;
    let t = core.cfg.model.time_steps;
    layers
        .into_iter()
        .map(|l| {
            let mut shape = vec![t, ds.len()];
            shape.extend(&l.frame);
            Ok((l.name, PyArray::from_vec(py, l.values).reshape(shape)?))
        })
        .collect()
}

/// The work of [`Core::classify_events`], whose docstring Python shows.
#[allow(clippy::type_complexity)]
pub(crate) fn classify_events<'py>(
    core: &mut Core,
    py: Python<'py>,
    x: Images<'py>,
    scale: f32,
    early_exit: bool,
) -> PyResult<(F32Array<'py>, Vec<usize>, Vec<u64>)> {
    let ds = core.images(&x, scale)?;
    if core.model.device != Device::Cpu {
        return Err(TtfsError::new_err(
            "event-driven inference runs on the CPU: load the model with device=\"cpu\"",
        ));
    }
    let net = ttfs::event_driven::EventNet::new(&mut core.model).py_err()?;
    let input = core.input_spec();
    let c = net.classes();
    let (logits, steps, ops) = py.detach(|| {
        let idx: Vec<usize> = (0..ds.len()).collect();
        let (mut xs, mut labels, mut scratch) = (ttfs::tensor::Tensor::default(), vec![], vec![]);
        assemble(&ds, &idx, &input, &mut xs, &mut labels, &mut scratch);
        let (t, b) = (xs.shape[0], xs.shape[1]);
        let per = xs.len() / (t * b).max(1);
        let mut s = ttfs::event_driven::Scratch::default();
        let (mut logits, mut steps, mut ops) = (Vec::new(), Vec::new(), Vec::new());
        let mut sample = vec![0.0f32; t * per];
        for j in 0..b {
            for k in 0..t {
                sample[k * per..(k + 1) * per]
                    .copy_from_slice(&xs.data[(k * b + j) * per..(k * b + j + 1) * per]);
            }
            let o = net.run(&sample, early_exit, false, &mut s);
            logits.extend(o.logits);
            steps.push(o.decision_step);
            ops.push(o.synops);
        }
        (logits, steps, ops)
    });
    Ok((
        PyArray::from_vec(py, logits).reshape(vec![ds.len(), c])?,
        steps,
        ops,
    ))
}
