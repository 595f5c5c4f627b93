//! How a trained network's output currents read, three ways, without changing the network.

use serde::{Deserialize, Serialize};
use ttfs::aux_membrane::aux_decoder_config;
use ttfs::data::batch::assemble;
use ttfs::decoder::{Decoder, DecoderConfig};
use ttfs::loss::correct_credit;
use ttfs::tensor::Tensor;
use ttfs::train::Trainer;

/// The trained network's output currents `I[t, b, c]` on the test split, read three ways
/// (the network is not changed): where a spiking readout loses accuracy, and whether the
/// currents hold more than it reads out.
#[derive(Serialize, Deserialize, Clone, Copy, Default)]
pub struct Readouts {
    /// Fraction of samples whose largest logit of the model's own decoder is shared by two or
    /// more classes (fire-once outputs that fire at the same step, or all silent).
    pub tied: f64,
    /// Fraction of samples on which no output crosses threshold at all.
    pub no_output: f64,
    /// Accuracy lost to ties: the mean of `1 - 1/k` over the samples whose true class shares
    /// the top logit with `k - 1` others (accuracy gives such a sample `1/k`).
    pub tie_loss: f64,
    /// Accuracy of the membrane readout of the currents (weights `1.25^-t` summing to 10).
    pub membrane: f64,
    /// Accuracy of the fire-once temporal readout of the currents (`1.25^-t` summing to 40).
    pub temporal: f64,
    /// Accuracy when the outputs are ranked by sub-step crossing times instead: the step `t`
    /// of the first crossing less the fraction of the step the potential, interpolated
    /// linearly from `v[t-1]` to `v[t]`, spent above threshold (earliest wins, silent last):
    /// what an output neuron in continuous time would report; ties only among silent units.
    #[serde(default)]
    pub substep: f64,
}

/// Sub-step time at which the potential `v[t] = sum_{k<=t} cur[k]` of one output unit first
/// reaches 1 (linear interpolation within the step; `v[-1] = 0`), or infinity.
fn substep_time(cur: impl Iterator<Item = f32>) -> f32 {
    let mut v = 0.0f32;
    for (t, i) in cur.enumerate() {
        let next = v + i;
        if next >= 1.0 {
            return t as f32 - (next - 1.0) / i.max(f32::MIN_POSITIVE);
        }
        v = next;
    }
    f32::INFINITY
}

/// One pass over the test split (see [`Readouts`]).
pub fn readouts(tr: &mut Trainer) -> Readouts {
    let params = tr.cfg.model.output_if_params();
    let t = tr.cfg.model.time_steps;
    let mut membrane = Decoder::new(aux_decoder_config(), params, t);
    let mut temporal = Decoder::new(DecoderConfig::default(), params, t);
    let (mut labels, mut scratch) = (Vec::new(), Vec::new());
    let (mut r, mut logits) = (Readouts::default(), Tensor::default());
    let c = tr.model.classes();
    let idx: Vec<usize> = (0..tr.test.len()).collect();
    for chunk in idx.chunks(tr.cfg.train.eval_batch_size) {
        assemble(
            &tr.test,
            chunk,
            &tr.input,
            tr.model.input_mut(),
            &mut labels,
            &mut scratch,
        );
        tr.model.forward();
        let own = tr.model.logits.data.read();
        let out = tr.model.decoder.out.data.read();
        for (b, &y) in labels.iter().enumerate() {
            let z = &own[b * c..(b + 1) * c];
            let top = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let k = z.iter().filter(|&&v| v == top).count();
            r.tied += (k > 1) as u8 as f64;
            r.tie_loss += if z[y] == top {
                1.0 - 1.0 / k as f64
            } else {
                0.0
            };
            let first = tr.model.decoder.first_output_time(&out, b, c);
            r.no_output += (first == tr.cfg.model.time_steps) as u8 as f64;
        }
        let cur = tr.model.acts.last().expect("a forward pass");
        let host = cur.data.read();
        let (steps, n) = (cur.shape[0], cur.len() / cur.shape[0]);
        for (b, &y) in labels.iter().enumerate() {
            // Earlier is better: the negated time is the logit (silent: -inf, all tie).
            let z: Vec<f32> = (0..c)
                .map(|k| -substep_time((0..steps).map(|t| host[t * n + b * c + k])))
                .collect();
            r.substep += correct_credit(&z, y) as f64;
        }
        for (dec, acc) in [
            (&mut membrane, &mut r.membrane),
            (&mut temporal, &mut r.temporal),
        ] {
            dec.forward(cur, &mut logits);
            let z = logits.data.read();
            *acc += labels
                .iter()
                .enumerate()
                .map(|(b, &y)| correct_credit(&z[b * c..(b + 1) * c], y) as f64)
                .sum::<f64>();
        }
    }
    let n = tr.test.len().max(1) as f64;
    for v in [
        &mut r.tied,
        &mut r.no_output,
        &mut r.tie_loss,
        &mut r.membrane,
        &mut r.temporal,
        &mut r.substep,
    ] {
        *v /= n;
    }
    r
}
