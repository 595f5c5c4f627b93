//! Plots of a run, each written as PNG and SVG: loss and accuracy curves, first-spike-time
//! histograms per layer, a spike raster of one sample, and accuracy against decision time.
//!
//! Text is drawn with the DejaVu Sans font shipped in `assets/` (no system fonts needed).
//!
//! - `drawing`: the font, the error adapter and `render!`, which draws a chart into both files;
//! - `training_curves`: loss and accuracy per epoch or per hour of training (`metrics.jsonl`);
//! - `evaluation_charts`: first-spike histograms and accuracy against decision time
//!   (`eval.json`);
//! - `spike_raster`: the spikes of one sample through every layer, or the output potentials;
//! - `layer_series`: values per layer, for the experiments in `examples/`.

mod drawing;
mod evaluation_charts;
mod layer_series;
mod spike_raster;
mod training_curves;

pub use evaluation_charts::{accuracy_vs_time, first_spike_histograms};
pub use layer_series::per_layer;
pub use spike_raster::{fired_by_time, raster, RASTER_UNITS};
pub use training_curves::{best_epoch, curves, curves_hours};
