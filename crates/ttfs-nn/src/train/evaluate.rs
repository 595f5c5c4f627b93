//! Evaluation: forward passes over a data set in batches, with the loss, the accuracy (also
//! against the decision step), the spike statistics and, for `ttfs eval`, the energy report;
//! split over the processes of a data-parallel run.

use crate::collective::{Collective, Reduce, Solo};
use crate::data::augment::Augment;
use crate::data::batch::{assemble_with, InputSpec};
use crate::data::on_device::DeviceImages;
use crate::data::Dataset;
use crate::energy::EnergyReport;
use crate::loss;
use crate::metrics::SpikeMonitor;
use crate::model::Model;
use crate::rng::Rng;
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
    /// Test-time flip (`ttfs eval --flip`): each sample decided by the mean of its own logits
    /// and its mirror image's. Everything else in the evaluation is of the unmirrored pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flip: Option<FlipVote>,
}

/// Accuracy when each sample is decided by the mean of the logits of the sample and of its
/// left-right mirror image: two forward passes per sample, so twice the synaptic operations
/// and energy of the single pass. Only for data whose classes are mirror-symmetric (not, for
/// example, DVS128 Gesture's left- and right-hand classes).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FlipVote {
    pub accuracy: f64,
    /// `accuracy_at[t]`: deciding at step `t` from both views' outputs so far.
    pub accuracy_at: Vec<f64>,
}

/// What an evaluation reports beyond accuracy, loss and spike statistics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras {
    /// The synaptic-operation, energy and early-exit report.
    pub energy: bool,
    /// The test-time flip's accuracy ([`FlipVote`]).
    pub flip: bool,
}

/// Forward passes over all of `ds` in batches of `batch`: loss, accuracy (ties share
/// credit), accuracy against decision time, and spike statistics.
pub fn evaluate(model: &mut Model, ds: &Dataset, input: &InputSpec, batch: usize) -> Evaluation {
    evaluate_with(model, ds, None, input, batch, Extras::default())
}

/// [`evaluate`], gathering the batches from `dev` (the same data set kept on the model's
/// device) when given, with the reports `extras` asks for.
pub fn evaluate_with(
    model: &mut Model,
    ds: &Dataset,
    dev: Option<&mut DeviceImages>,
    input: &InputSpec,
    batch: usize,
    extras: Extras,
) -> Evaluation {
    evaluate_part(model, ds, dev, input, batch, extras, 0..ds.len(), &Solo)
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
    extras: Extras,
    part: std::ops::Range<usize>,
    dist: &dyn Collective,
) -> Evaluation {
    let mut ev = Evaluation::default();
    let mut report = extras.energy.then(EnergyReport::default);
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let c = model.classes();
    let t = input.time_steps;
    let mut at = vec![0.0f64; t];
    let mut partial = vec![0.0f32; c];
    // The test-time flip: correct (final, then by step) of the two views' mean logits.
    let mut flip = extras.flip.then(|| vec![0.0f64; t + 1]);
    let (mirror, mut unused) = (Augment::mirror(), Rng::new(0));
    let idx: Vec<usize> = part.collect();
    for chunk in idx.chunks(batch) {
        let mut load = |model: &mut Model, aug, labels: &mut Vec<usize>| match dev.as_mut() {
            Some(d) => d.gather(chunk, aug, input, model.device_input_mut(), labels),
            None => assemble_with(
                ds,
                chunk,
                input,
                aug,
                model.input_mut(),
                labels,
                &mut scratch,
            ),
        };
        load(model, None, &mut labels);
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
        if let Some(votes) = flip.as_mut() {
            let logits = model.logits.data.read().into_owned();
            load(model, Some((&mirror, &mut unused)), &mut labels);
            model.forward();
            let (mirrored, readout_m) = (model.logits.data.read(), model.decoder.readout());
            let mean = |p: &[f32], q: &[f32]| -> Vec<f32> {
                p.iter().zip(q).map(|(x, z)| 0.5 * (x + z)).collect()
            };
            let mut other = vec![0.0f32; c];
            for (b, &y) in labels.iter().enumerate() {
                let row = b * c..(b + 1) * c;
                votes[t] +=
                    loss::correct_credit(&mean(&logits[row.clone()], &mirrored[row]), y) as f64;
                for (step, v) in votes[..t].iter_mut().enumerate() {
                    model.decoder.logits_until(&readout, step, b, &mut partial);
                    model.decoder.logits_until(&readout_m, step, b, &mut other);
                    *v += loss::correct_credit(&mean(&partial, &other), y) as f64;
                }
            }
        }
    }
    if dist.size() > 1 {
        let mut sums = vec![ev.loss, ev.accuracy];
        sums.extend(&at);
        sums.extend(flip.iter().flatten());
        dist.all_reduce_f64(&mut sums, Reduce::Sum);
        (ev.loss, ev.accuracy) = (sums[0], sums[1]);
        at.copy_from_slice(&sums[2..2 + t]);
        if let Some(votes) = flip.as_mut() {
            votes.copy_from_slice(&sums[2 + t..]);
        }
        ev.monitor.reduce(dist);
    }
    let n = ds.len().max(1) as f64;
    ev.samples = ds.len();
    ev.loss /= n;
    ev.accuracy /= n;
    ev.accuracy_at = at.iter().map(|a| a / n).collect();
    ev.energy = report;
    ev.flip = flip.map(|v| FlipVote {
        accuracy: v[t] / n,
        accuracy_at: v[..t].iter().map(|a| a / n).collect(),
    });
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::data::batch::assemble;
    use crate::train::Trainer;

    /// A small conv net trained one epoch on the digits, and its test split.
    fn trained() -> (Trainer, Dataset) {
        let toml = "[model]\nspec = \"conv4k3p1 ap2 if fc10\"\n[train]\nepochs = 1\n";
        let mut tr = Trainer::new(&Config::from_toml(toml, "t", &[]).unwrap()).unwrap();
        tr.run_epoch(None, |_, _| true);
        let test = tr.test.clone();
        (tr, test)
    }

    /// `ds` with every image mirrored left-right.
    fn mirrored(ds: &Dataset) -> Dataset {
        let mut m = ds.clone();
        let n = ds.sample_len();
        for (i, out) in m.data.chunks_exact_mut(n).enumerate() {
            Augment::mirror().apply(ds.sample(i), ds.frame, &mut Rng::new(0), out);
        }
        m
    }

    /// The final logits of every sample of `ds`, in one batch.
    fn logits(tr: &mut Trainer, ds: &Dataset) -> Vec<f32> {
        let idx: Vec<usize> = (0..ds.len()).collect();
        let (mut labels, mut scratch) = (Vec::new(), Vec::new());
        let input = tr.input.clone();
        assemble(
            ds,
            &idx,
            &input,
            tr.model.input_mut(),
            &mut labels,
            &mut scratch,
        );
        tr.model.forward();
        tr.model.logits.data.read().into_owned()
    }

    #[test]
    fn the_test_time_flip_decides_by_the_mean_of_both_views() {
        let (mut tr, test) = trained();
        let flip = Extras {
            energy: false,
            flip: true,
        };
        let input = tr.input.clone();
        // Batches of 64 against the whole set at once, by hand.
        let ev = evaluate_with(&mut tr.model, &test, None, &input, 64, flip);
        let vote = ev.flip.clone().expect("a flip vote");
        let (a, b) = (logits(&mut tr, &test), logits(&mut tr, &mirrored(&test)));
        let c = tr.model.classes();
        let by_hand: f64 = (0..test.len())
            .map(|i| {
                let m: Vec<f32> = (i * c..(i + 1) * c).map(|k| 0.5 * (a[k] + b[k])).collect();
                loss::correct_credit(&m, test.labels[i] as usize) as f64
            })
            .sum::<f64>()
            / test.len() as f64;
        assert_eq!(vote.accuracy, by_hand);
        assert_eq!(vote.accuracy_at.len(), input.time_steps);
        // The rest of the evaluation is the single pass's.
        let plain = evaluate(&mut tr.model, &test, &input, 64);
        assert_eq!(ev.accuracy, plain.accuracy);
        assert_eq!(ev.accuracy_at, plain.accuracy_at);
        assert!(plain.flip.is_none());
        // Mirroring the data set swaps the two views: the same votes.
        let swapped = evaluate_with(&mut tr.model, &mirrored(&test), None, &input, 64, flip);
        let swapped = swapped.flip.unwrap();
        assert_eq!(swapped.accuracy, vote.accuracy);
        assert_eq!(swapped.accuracy_at, vote.accuracy_at);
        // On images that are their own mirror image both views agree with the single pass.
        let mut sym = test.clone();
        let [_, h, w] = test.frame;
        for img in sym.data.chunks_exact_mut(h * w) {
            for row in img.chunks_exact_mut(w) {
                for x in 0..w / 2 {
                    let v = row[x].max(row[w - 1 - x]);
                    (row[x], row[w - 1 - x]) = (v, v);
                }
            }
        }
        let ev = evaluate_with(&mut tr.model, &sym, None, &input, 64, flip);
        let vote = ev.flip.unwrap();
        // (`accuracy` sums each batch's shared credits of ties in f32 first.)
        assert!((vote.accuracy - ev.accuracy).abs() < 1e-6);
        assert_eq!(vote.accuracy_at, ev.accuracy_at);
    }
}
