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

#[pymethods]
impl Core {
    /// Evaluate on arrays or a named data set's split: accuracy, loss, spike statistics,
    /// accuracy against decision time and (with `energy`) the synaptic-operation, energy and
    /// early-exit report and (with `flip`) the test-time flip's accuracy. JSON.
    #[pyo3(signature = (x=None, scale=1.0, y=None, data=None, data_dir=None, split="test", energy=true, flip=false))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &mut self,
        py: Python<'_>,
        x: Option<Images<'_>>,
        scale: f32,
        y: Option<Labels<'_>>,
        data: Option<String>,
        data_dir: Option<String>,
        split: &str,
        energy: bool,
        flip: bool,
    ) -> PyResult<String> {
        let ds = match (&x, &data) {
            (Some(x), None) => {
                if y.is_none() {
                    return Err(TtfsError::new_err("evaluate: labels y are needed"));
                }
                dataset(x, scale, y.as_ref(), self.model.classes(), "arrays")?
            }
            (None, Some(name)) => {
                let s = self.named(name, data_dir.as_deref())?;
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
        self.check_frame(&ds)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let model = &mut self.model;
        let extras = ttfs::train::Extras { energy, flip };
        let ev = py.detach(|| ttfs::train::evaluate_with(model, &ds, None, &input, batch, extras));
        serde_json::to_string(&ev).map_err(|e| err(e.into()))
    }

    /// The network's input for the images `x`: `[T, N, C, H, W]` (latency code), or
    /// `[1, N, C, H, W]` for the direct encoding (the same frame at every step).
    fn encode<'py>(&self, py: Python<'py>, x: Images<'py>, scale: f32) -> PyResult<F32Array<'py>> {
        let ds = self.images(&x, scale)?;
        let idx: Vec<usize> = (0..ds.len()).collect();
        let (mut out, mut labels, mut scratch) = (ttfs::tensor::Tensor::default(), vec![], vec![]);
        assemble(
            &ds,
            &idx,
            &self.input_spec(),
            &mut out,
            &mut labels,
            &mut scratch,
        );
        let mut shape = vec![out.shape[0], ds.len()];
        shape.extend_from_slice(&ds.frame);
        PyArray::from_vec(py, out.data.to_vec()).reshape(shape)
    }

    /// Forward passes on the images `x` (in batches): the logits `[N, classes]` and, per
    /// layer of spikes (the names of `spiking_layers`), `(name, first-spike steps [N,
    /// frame...])` (`T` for a silent unit).
    #[allow(clippy::type_complexity)]
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
    ) -> PyResult<(
        F32Array<'py>,
        Vec<(String, Bound<'py, PyArray<i32, numpy::IxDyn>>)>,
    )> {
        let ds = self.images(&x, scale)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let c = self.model.classes();
        let model = &mut self.model;
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

    /// Per layer, `[T, N, frame...]` over the images `x`: the spike trains of every layer of
    /// `spiking_layers`, or (`membrane`) the membrane potentials of every neuron layer and of
    /// the output (see the crate's `traces.rs`).
    fn traces<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
        membrane: bool,
    ) -> PyResult<Named<'py>> {
        let ds = self.images(&x, scale)?;
        let (input, batch) = (self.input_spec(), self.batch());
        let what = if membrane {
            Trace::Membrane
        } else {
            Trace::Spikes
        };
        let model = &mut self.model;
        let layers = py
            .detach(|| ttfs::traces::record(model, &ds, &input, batch, what))
            .py_err()?;
        let t = self.cfg.model.time_steps;
        layers
            .into_iter()
            .map(|l| {
                let mut shape = vec![t, ds.len()];
                shape.extend(&l.frame);
                Ok((l.name, PyArray::from_vec(py, l.values).reshape(shape)?))
            })
            .collect()
    }

    /// Event-driven inference on the images `x`, one sample at a time (see the crate's
    /// `event_driven.rs`): per sample the logits, the decision step and the accumulates
    /// executed; `early_exit` stops at the first output event.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (x, scale, early_exit=false))]
    fn classify_events<'py>(
        &mut self,
        py: Python<'py>,
        x: Images<'py>,
        scale: f32,
        early_exit: bool,
    ) -> PyResult<(F32Array<'py>, Vec<usize>, Vec<u64>)> {
        let ds = self.images(&x, scale)?;
        if self.model.device != Device::Cpu {
            return Err(TtfsError::new_err(
                "event-driven inference runs on the CPU: load the model with device=\"cpu\"",
            ));
        }
        let net = ttfs::event_driven::EventNet::new(&mut self.model).py_err()?;
        let input = self.input_spec();
        let c = net.classes();
        let (logits, steps, ops) = py.detach(|| {
            let idx: Vec<usize> = (0..ds.len()).collect();
            let (mut xs, mut labels, mut scratch) =
                (ttfs::tensor::Tensor::default(), vec![], vec![]);
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
}
