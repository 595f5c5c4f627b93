//! Loss and accuracy of the train and evaluation splits, per epoch or against hours of
//! training, with the best validation epoch (the one `best.safetensors` holds) marked.

use super::drawing::{font, pe, range_of, register_font, render};
use crate::run_dir::MetricsRecord;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Loss and accuracy per epoch (train and evaluation split) from `metrics.jsonl`.
pub fn curves(records: &[MetricsRecord], base: &Path) -> Result<Vec<PathBuf>> {
    render!(base, (1200, 450), draw_curves, records, XAxis::Epoch)
}

/// The same against the hours of training (each epoch's wall time, evaluation included,
/// summed): what a run costs to reach an accuracy.
pub fn curves_hours(records: &[MetricsRecord], base: &Path) -> Result<Vec<PathBuf>> {
    render!(base, (1200, 450), draw_curves, records, XAxis::Hours)
}

#[derive(Clone, Copy, PartialEq)]
enum XAxis {
    Epoch,
    Hours,
}

/// The epoch with the best validation accuracy (the first, on ties) and that accuracy: the
/// epoch `best.safetensors` holds. None for a run evaluated on the test split, where no epoch
/// is chosen (choosing by the test split would make its test figure a selected one).
pub fn best_epoch(recs: &[MetricsRecord]) -> Option<(usize, f64)> {
    recs.iter()
        .filter(|r| r.metrics.eval_split == "validation")
        .map(|r| (r.metrics.epoch, r.metrics.eval.accuracy))
        .fold(None, |b, (e, a)| match b {
            Some((_, ba)) if ba >= a => b,
            _ => Some((e, a)),
        })
}

fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    recs: &[MetricsRecord],
    axis: XAxis,
) -> Result<()> {
    let panels = root.split_evenly((1, 2));
    let x: Vec<f64> = match axis {
        XAxis::Epoch => recs.iter().map(|r| r.metrics.epoch as f64).collect(),
        XAxis::Hours => recs
            .iter()
            .scan(0.0, |h, r| {
                *h += r.metrics.seconds / 3600.0;
                Some(*h)
            })
            .collect(),
    };
    // Runs shorter than an hour are drawn in minutes.
    let minutes = axis == XAxis::Hours && x.last().is_some_and(|&h| h < 1.0);
    let x: Vec<f64> = x
        .iter()
        .map(|&v| if minutes { 60.0 * v } else { v })
        .collect();
    // The best epoch, placed on the x axis.
    let best = best_epoch(recs).and_then(|(e, a)| {
        let i = recs.iter().position(|r| r.metrics.epoch == e)?;
        Some((e, x[i], a))
    });
    let (x0, x1) = match axis {
        XAxis::Epoch => (0.5, x.iter().copied().fold(1.0, f64::max) + 0.5),
        XAxis::Hours => (0.0, x.iter().copied().fold(0.0, f64::max) * 1.05 + 1e-3),
    };
    let split = recs
        .first()
        .map(|r| r.metrics.eval_split.clone())
        .unwrap_or_else(|| "test".into());
    let split_name = split.clone();
    type Series = (String, Vec<f64>, RGBColor);
    let loss: Vec<Series> = vec![
        (
            "train".into(),
            recs.iter().map(|r| r.metrics.train_loss).collect(),
            BLUE,
        ),
        (
            split.clone(),
            recs.iter().map(|r| r.metrics.eval.loss).collect(),
            RED,
        ),
    ];
    let acc: Vec<Series> = vec![
        (
            "train".into(),
            recs.iter()
                .map(|r| 100.0 * r.metrics.train_accuracy)
                .collect(),
            BLUE,
        ),
        (
            split,
            recs.iter()
                .map(|r| 100.0 * r.metrics.eval.accuracy)
                .collect(),
            RED,
        ),
    ];
    for (area, (title, ylabel, series)) in panels.iter().zip([
        ("Loss (cross entropy)", "loss", loss),
        ("Accuracy", "accuracy (%)", acc),
    ]) {
        let (y0, y1) = range_of(series.iter().flat_map(|s| s.1.iter().copied()), 0.08);
        let mut chart = ChartBuilder::on(area)
            .caption(title, font(24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_desc(match (axis, minutes) {
                (XAxis::Epoch, _) => "epoch",
                (XAxis::Hours, false) => "hours of training (wall time)",
                (XAxis::Hours, true) => "minutes of training (wall time)",
            })
            .x_label_formatter(&|v| {
                if axis == XAxis::Hours {
                    format!("{v:.1}")
                } else if (v - v.round()).abs() < 1e-6 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            })
            .y_desc(ylabel)
            .label_style(font(15))
            .axis_desc_style(font(17))
            .draw()
            .map_err(pe)?;
        for (name, ys, color) in &series {
            let pts: Vec<(f64, f64)> = x.iter().copied().zip(ys.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(pe)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(pe)?;
        }
        // The best epoch (the one best.safetensors holds): a dashed line on both panels.
        if let Some((e, at, acc)) = best {
            let grey = RGBColor(90, 90, 90);
            let style = grey.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new([(at, y0), (at, y1)], 6, 4, style))
                .map_err(pe)?
                .label(format!(
                    "best {split_name}: epoch {e} ({:.2}%)",
                    100.0 * acc
                ))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .label_font(font(16))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(pe)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_epoch_is_the_first_with_the_highest_accuracy() {
        let rec = |epoch, acc, split: &str| {
            let mut r = MetricsRecord::default();
            r.metrics.epoch = epoch;
            r.metrics.eval.accuracy = acc;
            r.metrics.eval_split = split.into();
            r
        };
        let v = "validation";
        let recs = [
            rec(1, 0.5, v),
            rec(2, 0.9, v),
            rec(3, 0.9, v),
            rec(4, 0.7, v),
        ];
        assert_eq!(best_epoch(&recs), Some((2, 0.9)));
        assert_eq!(best_epoch(&[]), None);
        // Evaluated on the test split: no epoch is chosen.
        assert_eq!(
            best_epoch(&[rec(1, 0.5, "test"), rec(2, 0.9, "test")]),
            None
        );
    }
}
