//! Monitors: spike statistics read from the model's activations after a forward pass,
//! without touching layer code.

use crate::model::Model;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Statistics of one monitored layer, accumulated over samples.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LayerStats {
    /// Index of the layer in the model (`layers.len()` for the decoder's output neurons).
    pub layer: usize,
    pub name: String,
    /// `spikes` for neuron outputs, `pooled spikes` for pooling applied to spike maps.
    pub what: String,
    /// Units per sample.
    pub units: usize,
    /// Sum over samples and units of the number of steps with a (nonzero) event.
    pub events: f64,
    /// Sum over samples of the number of units that never fired.
    pub silent: f64,
    /// Largest number of events any single unit emitted in one sample.
    pub max_events: u32,
    /// Histogram of first event times, `T + 1` bins (the last: never fired).
    pub first_time_hist: Vec<u64>,
    pub samples: usize,
}

impl LayerStats {
    pub fn spikes_per_neuron(&self) -> f64 {
        self.events / (self.units * self.samples).max(1) as f64
    }
    pub fn silent_fraction(&self) -> f64 {
        self.silent / (self.units * self.samples).max(1) as f64
    }
}

/// Event statistics for every spiking layer and every pooling of spike maps.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SpikeMonitor {
    pub layers: Vec<LayerStats>,
    /// Sum over samples of the step of the first output spike (T if none).
    pub first_output_sum: f64,
    pub samples: usize,
}

impl SpikeMonitor {
    pub fn mean_first_output(&self) -> f64 {
        self.first_output_sum / self.samples.max(1) as f64
    }

    /// Sum (and for `max_events`, take the largest of) the statistics of every process of
    /// `dist`, each of which recorded its share of a data set through the same model.
    pub fn reduce(&mut self, dist: &dyn crate::collective::Collective) {
        use crate::collective::Reduce;
        let mut sums = vec![self.first_output_sum, self.samples as f64];
        let mut maxes = Vec::new();
        for l in &self.layers {
            sums.extend([l.events, l.silent, l.samples as f64]);
            sums.extend(l.first_time_hist.iter().map(|&c| c as f64));
            maxes.push(l.max_events as f64);
        }
        dist.all_reduce_f64(&mut sums, Reduce::Sum);
        dist.all_reduce_f64(&mut maxes, Reduce::Max);
        let mut it = sums.into_iter();
        let mut next = || it.next().expect("the same layers on every process");
        self.first_output_sum = next();
        self.samples = next() as usize;
        for (l, m) in self.layers.iter_mut().zip(maxes) {
            (l.events, l.silent, l.samples) = (next(), next(), next() as usize);
            for c in l.first_time_hist.iter_mut() {
                *c = next() as u64;
            }
            l.max_events = m as u32;
        }
    }

    /// Add the statistics of the model's last forward pass: every layer of
    /// [`Model::spike_layers`], under its name there.
    pub fn record(&mut self, model: &Model) {
        let t = model.cfg.time_steps;
        let b = model.acts[0].shape[1];
        for (k, l) in model.spike_layers().into_iter().enumerate() {
            let (x, _) = model.layer_output(l.layer);
            self.add(k, l.layer, &l.name, l.what, &x, t, b);
        }
        let c = model.classes();
        let out = model.decoder.out.data.read();
        for s in 0..b {
            self.first_output_sum += model.decoder.first_output_time(&out, s, c) as f64;
        }
        self.samples += b;
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        k: usize,
        layer: usize,
        name: &str,
        what: &str,
        x: &[f32],
        t: usize,
        b: usize,
    ) {
        let n = x.len() / t; // B * units
        if self.layers.len() <= k {
            self.layers.push(LayerStats {
                layer,
                name: name.to_string(),
                what: what.to_string(),
                units: n / b,
                first_time_hist: vec![0; t + 1],
                ..Default::default()
            });
        }
        let st = &mut self.layers[k];
        // Walk the [T, B*units] buffer in blocks of units, each block through all T rows, so
        // that the per-unit counts stay in L1 (a whole evaluation batch of conv1 spikes is
        // 3 M units). Each step's first spikes are counted as they happen, so the first-time
        // histogram needs no per-unit first step; every loop is a branch-free reduction. The
        // blocks run in parallel (13% of an evaluation's time when serial): their counts are
        // integers, so the totals do not depend on the order they are added in.
        const BLOCK: usize = 1024;
        let block_counts = |mut acc: BlockCounts, j0: usize| {
            let w = BLOCK.min(n - j0);
            let mut count = [0u32; BLOCK];
            let count = &mut count[..w];
            for step in 0..t {
                let row = &x[step * n + j0..step * n + j0 + w];
                let mut newly = 0u32;
                for (c, &v) in count.iter_mut().zip(row) {
                    let fired = (v != 0.0) as u32;
                    newly += fired & (*c == 0) as u32;
                    *c += fired;
                }
                acc.first_time_hist[step] += newly as u64;
            }
            let zero = count.iter().map(|&c| (c == 0) as u32).sum::<u32>();
            acc.silent += zero as u64;
            acc.first_time_hist[t] += zero as u64;
            acc.events += count.iter().map(|&c| c as u64).sum::<u64>();
            acc.max_events = acc.max_events.max(count.iter().copied().max().unwrap_or(0));
            acc
        };
        let total = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|i| i * BLOCK)
            .fold(|| BlockCounts::new(t), block_counts)
            .reduce(|| BlockCounts::new(t), BlockCounts::merge);
        for (h, c) in st.first_time_hist.iter_mut().zip(&total.first_time_hist) {
            *h += c;
        }
        st.max_events = st.max_events.max(total.max_events);
        st.silent += total.silent as f64;
        st.events += total.events as f64;
        st.samples += b;
    }
}

/// Integer counts of a range of units in [`SpikeMonitor::add`].
struct BlockCounts {
    first_time_hist: Vec<u64>,
    events: u64,
    silent: u64,
    max_events: u32,
}

impl BlockCounts {
    fn new(t: usize) -> Self {
        BlockCounts {
            first_time_hist: vec![0; t + 1],
            events: 0,
            silent: 0,
            max_events: 0,
        }
    }

    fn merge(mut self, o: BlockCounts) -> Self {
        for (a, b) in self.first_time_hist.iter_mut().zip(&o.first_time_hist) {
            *a += b;
        }
        self.events += o.events;
        self.silent += o.silent;
        self.max_events = self.max_events.max(o.max_events);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_counts_events_first_times_and_silent_units_per_unit() {
        // T = 3 steps of B * units = 2 * 2 = 4 values each: unit 0 fires at step 1, unit 1
        // never, unit 2 at steps 0 and 2 (two events), unit 3 at step 2.
        let x = [
            0.0, 0.0, 1.0, 0.0, //
            1.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 0.5, 1.0,
        ];
        let mut m = SpikeMonitor::default();
        m.add(0, 3, "if", "spikes", &x, 3, 2);
        m.add(0, 3, "if", "spikes", &x, 3, 2);
        let st = &m.layers[0];
        assert_eq!(st.units, 2);
        assert_eq!(st.samples, 4);
        assert_eq!(st.events, 8.0);
        assert_eq!(st.silent, 2.0);
        assert_eq!(st.max_events, 2);
        assert_eq!(st.first_time_hist, vec![2, 2, 2, 2]);
        assert_eq!(st.spikes_per_neuron(), 1.0);
        assert_eq!(st.silent_fraction(), 0.25);
    }

    /// Across several blocks of units (and a partial last one): the same statistics as a
    /// direct count unit by unit.
    #[test]
    fn add_matches_a_direct_count_across_blocks() {
        let (t, b, units) = (5, 3, 1500);
        let n = b * units;
        let mut rng = crate::rng::Rng::new(11);
        let x: Vec<f32> = (0..t * n)
            .map(|_| if rng.uniform() < 0.1 { 1.0 } else { 0.0 })
            .collect();
        let mut m = SpikeMonitor::default();
        m.add(0, 1, "if", "spikes", &x, t, b);
        let (mut events, mut silent, mut max, mut hist) = (0.0, 0.0, 0, vec![0u64; t + 1]);
        for u in 0..n {
            let fired: Vec<usize> = (0..t).filter(|&s| x[s * n + u] != 0.0).collect();
            events += fired.len() as f64;
            silent += fired.is_empty() as u32 as f64;
            max = max.max(fired.len() as u32);
            hist[fired.first().copied().unwrap_or(t)] += 1;
        }
        let st = &m.layers[0];
        assert_eq!(
            (st.events, st.silent, st.max_events, &st.first_time_hist),
            (events, silent, max, &hist)
        );
        assert!(max > 1 && silent > 0.0);
    }
}
