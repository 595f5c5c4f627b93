//! What is said after each epoch: its summary line, and loud warnings when the run learns
//! nothing (an accuracy at chance level, a silent layer).

use crate::config::Config;
use crate::train::{EpochMetrics, Evaluation};

/// Whether an accuracy measured on `ev.samples` samples is indistinguishable from guessing
/// among `classes`: at most three standard errors of a coin of chance `1 / classes` above it.
pub fn at_chance(ev: &Evaluation, classes: usize) -> bool {
    let p = 1.0 / classes.max(1) as f64;
    let se = (p * (1.0 - p) / ev.samples.max(1) as f64).sqrt();
    ev.accuracy <= p + 3.0 * se
}

/// Loud warnings after an epoch: an accuracy at chance level (the run learns nothing), and
/// spiking layers that never fired during the evaluation (no gradient flows through a silent
/// layer, so training cannot recover by itself).
pub fn sanity_warnings(m: &EpochMetrics, classes: usize, cfg: &Config) -> Vec<String> {
    let mut w = Vec::new();
    if at_chance(&m.eval, classes) {
        w.push(format!(
            "WARNING: epoch {}: {} accuracy {:.2}% is at chance level ({:.2}% for {classes} \
             classes): the network is not learning. Try a lower optimizer.lr (now {}) or \
             another model.init_gain (now {}), and check the data with `ttfs data check {}`.",
            m.epoch,
            m.eval_split,
            100.0 * m.eval.accuracy,
            100.0 / classes as f64,
            cfg.optimizer.lr,
            cfg.model.init_gain,
            cfg.data.name
        ));
    }
    for l in m.eval.monitor.layers.iter() {
        if l.what == "spikes" && l.samples > 0 && l.events == 0.0 {
            w.push(format!(
                "WARNING: epoch {}: every neuron of layer {} ({}) stayed silent on the {} \
                 split: no gradient flows through a silent layer. Start again with a larger \
                 model.init_gain (now {}) or a lower optimizer.lr (now {}).",
                m.epoch, l.layer, l.name, m.eval_split, cfg.model.init_gain, cfg.optimizer.lr
            ));
        }
    }
    w
}

/// Fraction of never-firing output neurons from which the epoch line warns.
const OUTPUT_SILENT: f64 = 0.95;

/// One summary line per epoch.
pub fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    let ev = &m.eval;
    if ev.samples == 0 {
        // Trained without evaluation data (the Python package's `fit` without
        // `validation`): an accuracy of 0 on no samples is not a result, so none is shown.
        return format!(
            "epoch {:>3}/{epochs} loss {:.4} train {:.2}% (no validation data) lr {:.2e} {:.1}s {:.0} samples/s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_accuracy,
            m.lr,
            m.seconds,
            m.train_samples_per_s
        );
    }
    let layers: Vec<String> = ev
        .monitor
        .layers
        .iter()
        .map(|l| {
            let mut s = format!(
                "{:.2}/{:.0}%",
                l.spikes_per_neuron(),
                100.0 * l.silent_fraction()
            );
            if l.what == "pooled spikes" {
                s += &format!("(max {})", l.max_events);
            }
            s
        })
        .collect();
    // A spiking readout whose neurons (nearly) never fire gives the decoder no signal and the
    // loss almost no gradient: say so where the accuracy is read.
    let silent_output = ev
        .monitor
        .layers
        .iter()
        .find(|l| l.name == crate::layer_names::SPIKING_READOUT && l.samples > 0)
        .map(|l| l.silent_fraction())
        .filter(|&f| f >= OUTPUT_SILENT)
        .map(|f| {
            format!(
                " OUTPUT {:.0}% SILENT: the decoder gets almost no signal (try a wider surrogate, model.alpha = 2)",
                100.0 * f
            )
        })
        .unwrap_or_default();
    // The sparse backward's share of entries that carry gradient, per banded layer.
    let active = if m.active.is_empty() {
        String::new()
    } else {
        let a: Vec<String> = m
            .active
            .iter()
            .map(|a| match a.is_nan() {
                true => "-".to_string(),
                false => format!("{:.1}%", 100.0 * a),
            })
            .collect();
        format!(" active [{}]", a.join(" "))
    };
    format!(
        "epoch {:>3}/{epochs} loss {:.4} train {:.2}% {} {:.2}% (loss {:.4}) first-out {:.2} spikes/neuron,silent [{}] lr {:.2e} {:.1}s {:.0} samples/s{active}{silent_output}",
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        m.eval_split,
        100.0 * ev.accuracy,
        ev.loss,
        ev.monitor.mean_first_output(),
        layers.join(" "),
        m.lr,
        m.seconds,
        m.train_samples_per_s
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LayerStats;

    fn epoch(accuracy: f64, events: f64) -> EpochMetrics {
        let mut m = EpochMetrics {
            epoch: 3,
            eval_split: "validation".into(),
            ..Default::default()
        };
        m.eval.accuracy = accuracy;
        m.eval.samples = 1000;
        m.eval.monitor.layers.push(LayerStats {
            layer: 1,
            name: "fc1".into(),
            what: "spikes".into(),
            units: 100,
            events,
            samples: 1000,
            ..Default::default()
        });
        m
    }

    #[test]
    fn chance_level_and_silent_layers_are_warned_about() {
        let cfg = Config::default();
        assert!(sanity_warnings(&epoch(0.9, 5000.0), 10, &cfg).is_empty());
        let w = sanity_warnings(&epoch(0.11, 5000.0), 10, &cfg);
        assert!(w.len() == 1 && w[0].contains("at chance level"), "{w:?}");
        let w = sanity_warnings(&epoch(0.9, 0.0), 10, &cfg);
        assert!(
            w.len() == 1 && w[0].contains("layer 1 (fc1) stayed silent"),
            "{w:?}"
        );
        // Chance for 100 classes is 1%: 5% is learning something.
        assert!(!at_chance(&epoch(0.05, 1.0).eval, 100));
        assert!(at_chance(&epoch(0.012, 1.0).eval, 100));
    }
}

#[cfg(test)]
mod epoch_line_tests {
    use super::*;
    use crate::metrics::LayerStats;

    #[test]
    fn a_silent_spiking_output_is_named_in_the_epoch_line() {
        let layer = |name: &str, silent: f64| LayerStats {
            layer: 0,
            name: name.into(),
            what: "spikes".into(),
            units: 10,
            events: 10.0 - silent * 10.0,
            silent: silent * 10.0,
            max_events: 1,
            first_time_hist: vec![0; 9],
            samples: 1,
        };
        let mut m = EpochMetrics::default();
        m.eval.samples = 1;
        m.eval.monitor.layers = vec![layer("if1", 0.5), layer("out", 0.97)];
        assert!(epoch_line(&m, 1).contains("OUTPUT 97% SILENT"));
        m.eval.monitor.layers[1] = layer("out", 0.5);
        assert!(!epoch_line(&m, 1).contains("SILENT"));
    }

    /// Without evaluation data no accuracy is shown: 0% of no samples is not a result.
    #[test]
    fn an_epoch_without_evaluation_data_shows_no_evaluation() {
        let mut m = EpochMetrics {
            eval_split: "test".into(),
            ..Default::default()
        };
        m.train_accuracy = 0.5;
        let line = epoch_line(&m, 3);
        assert!(line.contains("train 50.00% (no validation data)"), "{line}");
        assert!(!line.contains("test"), "{line}");
    }
}
