//! The table of `ttfs info`: per layer its shapes, parameters, MACs and synaptic operations.

use crate::model::Model;
use crate::train::Evaluation;
use std::fmt::Write as _;

/// `ttfs info`: layers, shapes, parameters, MACs and synaptic operations per sample. `ev`
/// (a run's last evaluation) gives measured events per input unit of each synapse.
pub fn model_summary(model: &Model, ev: Option<&Evaluation>) -> String {
    use crate::layers::LayerKind;
    let t = model.cfg.time_steps;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model `{}`, T = {t}, input {:?}\ndecoder {}",
        model.cfg.spec, model.frames[0], model.cfg.decoder
    );
    // The layer column fits the longest description (a folded conv + pooling is long).
    let lw = model
        .layers
        .iter()
        .map(|l| l.describe().len())
        .max()
        .unwrap_or(0)
        .max(38);
    let _ = writeln!(
        s,
        "{:>3} {:<lw$} {:<16} {:<16} {:>10} {:>12} {:>14} {:>8} {:>14}",
        "#", "layer", "in", "out", "params", "MACs/step", "dense MACs", "ev/unit", "SynOps"
    );
    let (mut tp, mut tm, mut td, mut ts) = (0usize, 0usize, 0usize, 0.0f64);
    for (i, l) in model.layers.iter().enumerate() {
        let params: usize = l.params().iter().map(|p| p.value.len()).sum();
        let macs = l.macs_per_frame(&model.frames[i]);
        let dense = macs * t;
        // Events per input unit: measured on the nearest monitored layer below (skipping
        // reshapes), else at most one (fire-once input encoding and layers).
        let mut rate = 1.0;
        let mut measured = false;
        // Before the first spiking layer of a direct-encoded network the input is analog: a
        // dense product every step.
        let analog = model.cfg.encoding == crate::encoding::Encoding::Direct
            && !model.layers[..i].iter().any(|l| l.is_neuron());
        if analog {
            rate = t as f64;
        } else if l.kind() == LayerKind::Synapse {
            if let Some(ev) = ev {
                let mut j = i;
                while j > 0 && model.layers[j - 1].kind() == LayerKind::Reshape {
                    j -= 1;
                }
                if j > 0 {
                    if let Some(st) = ev.monitor.layers.iter().find(|st| st.layer == j - 1) {
                        rate = st.spikes_per_neuron();
                        measured = true;
                    }
                }
            }
        }
        let synops = macs as f64 * rate;
        tp += params;
        tm += macs;
        td += dense;
        if l.kind() == LayerKind::Synapse {
            ts += synops;
        }
        let (r, so) = if l.kind() == LayerKind::Synapse {
            (
                if analog {
                    "analog".into()
                } else if measured {
                    format!("{rate:.3}")
                } else {
                    "<=1".into()
                },
                format!("{synops:.0}"),
            )
        } else {
            (String::new(), String::new())
        };
        let _ = writeln!(
            s,
            "{:>3} {:<lw$} {:<16} {:<16} {:>10} {:>12} {:>14} {:>8} {:>14}",
            i,
            l.describe(),
            format!("{:?}", model.frames[i]),
            format!("{:?}", model.frames[i + 1]),
            params,
            macs,
            dense,
            r,
            so
        );
    }
    let _ = writeln!(
        s,
        "total: {tp} parameters, {tm} MACs per time step, {td} dense MACs per sample (T = {t}), \
         {ts:.0} synaptic operations per sample{} ({:.1}x fewer than dense; an analog first \
         layer counts as dense MACs)",
        if ev.is_some() {
            " (measured spike rates)"
        } else {
            " (upper bound: one event per input unit)"
        },
        td as f64 / ts.max(1.0)
    );
    s
}
