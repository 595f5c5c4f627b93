//! Charts of a run's last evaluation (`eval.json`): when the units of each layer first fired,
//! and the accuracy when deciding at each step.

use super::drawing::{font, pe, register_font, render};
use crate::run_dir::EvalRecord;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Histogram of first spike times for every monitored layer (from `eval.json`).
pub fn first_spike_histograms(ev: &EvalRecord, base: &Path) -> Result<Vec<PathBuf>> {
    let n = ev.eval.monitor.layers.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    render!(
        base,
        ((400 * cols as u32).max(800), 330 * rows as u32 + 40),
        draw_hists,
        ev,
        rows,
        cols
    )
}

fn draw_hists<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rec: &EvalRecord,
    rows: usize,
    cols: usize,
) -> Result<()> {
    let ev = &rec.eval;
    let root = root
        .titled(
            &format!(
                "First spike step of the units that fired, epoch {} {} split ({} samples)",
                rec.epoch, rec.split, ev.monitor.samples
            ),
            font(22),
        )
        .map_err(pe)?;
    let panels = root.split_evenly((rows, cols));
    for (area, l) in panels.iter().zip(&ev.monitor.layers) {
        // In a sparse network most units never fire: that share is given as a number, and
        // the bars show when the others fired, on their own scale.
        let t = l.first_time_hist.len().saturating_sub(1);
        let fired = &l.first_time_hist[..t];
        let total: u64 = l.first_time_hist.iter().sum();
        let n_fired: u64 = fired.iter().sum();
        let never = 100.0 * (total - n_fired) as f64 / total.max(1) as f64;
        let frac: Vec<f64> = fired
            .iter()
            .map(|&c| c as f64 / n_fired.max(1) as f64)
            .collect();
        let ymax = frac.iter().copied().fold(0.0, f64::max).max(0.01) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{} ({}): {never:.1}% never fired", l.name, l.what),
                font(16),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.5f64..t as f64 - 0.5, 0f64..ymax)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("first spike step")
            .y_desc("share of the units that fired")
            .x_labels(t.min(32))
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .label_style(font(13))
            .axis_desc_style(font(14))
            .draw()
            .map_err(pe)?;
        chart
            .draw_series(frac.iter().enumerate().map(|(k, &f)| {
                Rectangle::new(
                    [(k as f64 - 0.4, 0.0), (k as f64 + 0.4, f)],
                    RGBColor(40, 90, 180).filled(),
                )
            }))
            .map_err(pe)?;
    }
    Ok(())
}

/// Accuracy when deciding from the outputs seen up to each step (from `eval.json`).
pub fn accuracy_vs_time(ev: &EvalRecord, base: &Path) -> Result<Vec<PathBuf>> {
    render!(base, (800, 500), draw_acc_time, ev)
}

fn draw_acc_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rec: &EvalRecord,
) -> Result<()> {
    let ev = &rec.eval;
    let t = ev.accuracy_at.len();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Accuracy against decision time, epoch {} {} (final {:.2}%)",
                rec.epoch,
                rec.split,
                100.0 * ev.accuracy
            ),
            font(22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..t as f64 - 0.5, 0f64..100.0)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_desc("decision at step t (outputs seen up to t)")
        .y_desc("accuracy (%)")
        .x_labels(t.min(32))
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .label_style(font(15))
        .axis_desc_style(font(17))
        .draw()
        .map_err(pe)?;
    let pts: Vec<(f64, f64)> = ev
        .accuracy_at
        .iter()
        .enumerate()
        .map(|(k, a)| (k as f64, 100.0 * a))
        .collect();
    chart
        .draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
        .map_err(pe)?;
    chart
        .draw_series(pts.iter().map(|&p| Circle::new(p, 5, BLUE.filled())))
        .map_err(pe)?;
    Ok(())
}
