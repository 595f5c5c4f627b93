//! The text of `ttfs eval`: accuracy, spikes per layer, and the energy report or accuracy
//! against decision time.

use crate::train::Evaluation;
use std::fmt::Write as _;

/// Human-readable report of an evaluation.
pub fn eval_report(ev: &Evaluation, time_steps: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "accuracy {:.2}% on {} samples, loss {:.4}",
        100.0 * ev.accuracy,
        ev.samples,
        ev.loss
    );
    if let Some(f) = &ev.flip {
        let by_step: Vec<String> = f
            .accuracy_at
            .iter()
            .map(|a| format!("{:.2}", 100.0 * a))
            .collect();
        let _ = writeln!(
            s,
            "test-time flip (the mean logits of each sample and its mirror image; two passes, \
             twice the synaptic operations and energy below): accuracy {:.2}%, by decision step \
             {}%",
            100.0 * f.accuracy,
            by_step.join(" / ")
        );
    }
    let _ = writeln!(
        s,
        "mean first output spike: step {:.2} of T = {time_steps} (T: no output spike)",
        ev.monitor.mean_first_output()
    );
    let _ = writeln!(s, "spikes per neuron, by layer:");
    for l in &ev.monitor.layers {
        let _ = writeln!(
            s,
            "  layer {:>2} {:<44} {:>8} units  {:.3} spikes/neuron  {:>5.1}% silent",
            l.layer,
            format!("{} ({})", l.name, l.what),
            l.units,
            l.spikes_per_neuron(),
            100.0 * l.silent_fraction()
        );
    }
    match &ev.energy {
        Some(e) => s += &e.table(&ev.accuracy_at),
        None => {
            let _ = writeln!(
                s,
                "accuracy against decision time (outputs seen up to step t):"
            );
            for (t, a) in ev.accuracy_at.iter().enumerate() {
                let bar = "#".repeat((a * 40.0).round() as usize);
                let _ = writeln!(s, "  t = {t:>3}  {:>6.2}%  {bar}", 100.0 * a);
            }
        }
    }
    s
}
