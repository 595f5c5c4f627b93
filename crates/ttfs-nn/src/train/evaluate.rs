//! Evaluation: forward passes over a data set in batches, with the loss, the accuracy (also
//! against the decision step), the spike statistics and, for `ttfs eval`, the energy report;
//! split over the processes of a data-parallel run.

use crate::collective::{Collective, Reduce, Solo};
use crate::data::batch::{assemble, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::Dataset;
use crate::energy::EnergyReport;
use crate::loss;
use crate::metrics::SpikeMonitor;
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// Accuracy, loss and spike statistics of a pass over a data set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub samples: usize,
    pub monitor: SpikeMonitor,
    /// `accuracy_at[t]`: accuracy when deciding from the outputs seen up to step `t`.
    pub accuracy_at: Vec<f64>,
    /// Synaptic operations, energy and early exit (`ttfs eval`; not during training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<EnergyReport>,
}

/// Forward passes over all of `ds` in batches of `batch`: loss, accuracy (ties share
/// credit), accuracy against decision time, and spike statistics.
pub fn evaluate(model: &mut Model, ds: &Dataset, input: &InputSpec, batch: usize) -> Evaluation {
    evaluate_with(model, ds, None, input, batch, false)
}

/// [`evaluate`], gathering the batches from `dev` (the same data set kept on the model's
/// device) when given, with the synaptic-operation and energy report when `energy` is set.
pub fn evaluate_with(
    model: &mut Model,
    ds: &Dataset,
    dev: Option<&mut DeviceImages>,
    input: &InputSpec,
    batch: usize,
    energy: bool,
) -> Evaluation {
    evaluate_part(model, ds, dev, input, batch, energy, 0..ds.len(), &Solo)
}

/// [`evaluate_with`] split over the processes of `dist`: this one evaluates the samples
/// `part`, and the sums of all the parts are reduced (every process gets the whole result;
/// the energy report, asked for by single-process evaluations only, stays this process's).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_part(
    model: &mut Model,
    ds: &Dataset,
    mut dev: Option<&mut DeviceImages>,
    input: &InputSpec,
    batch: usize,
    energy: bool,
    part: std::ops::Range<usize>,
    dist: &dyn Collective,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let mut report = energy.then(EnergyReport::default);
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let c = model.classes();
    let t = input.time_steps;
    let mut at = vec![0.0f64; t];
    let mut partial = vec![0.0f32; c];
    let idx: Vec<usize> = part.collect();
    for chunk in idx.chunks(batch) {
        match dev.as_mut() {
            Some(d) => d.gather(chunk, None, input, model.device_input_mut(), &mut labels),
            None => assemble(
                ds,
                chunk,
                input,
                model.input_mut(),
                &mut labels,
                &mut scratch,
            ),
        }
        model.forward();
        ev.loss += model.loss(&labels, 0.0) as f64 * chunk.len() as f64;
        ev.accuracy += model.correct(&labels) as f64;
        ev.monitor.record(model);
        if let Some(r) = &mut report {
            r.record(model, &labels);
        }
        let readout = model.decoder.readout();
        for (step, a) in at.iter_mut().enumerate() {
            for (b, &y) in labels.iter().enumerate() {
                model.decoder.logits_until(&readout, step, b, &mut partial);
                *a += loss::correct_credit(&partial, y) as f64;
            }
        }
    }
    if dist.size() > 1 {
        let mut sums = vec![ev.loss, ev.accuracy];
        sums.extend(&at);
        dist.all_reduce_f64(&mut sums, Reduce::Sum);
        (ev.loss, ev.accuracy) = (sums[0], sums[1]);
        at.copy_from_slice(&sums[2..]);
        ev.monitor.reduce(dist);
    }
    let n = ds.len().max(1) as f64;
    ev.samples = ds.len();
    ev.loss /= n;
    ev.accuracy /= n;
    ev.accuracy_at = at.iter().map(|a| a / n).collect();
    ev.energy = report;
    ev
}
