//! Values per spiking layer, one line per series, on a linear or logarithmic axis (the
//! signal-diminishing experiment in `examples/`).

use super::drawing::{font, pe, range_of, register_font, render};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One line per series over layers 1..=n: `values[l]` for layer `l + 1`. With `log` the y axis
/// is logarithmic and values below `1e-12` (e.g. a gradient that is exactly zero) are drawn
/// at `1e-12`. Used by the signal-diminishing experiment.
pub fn per_layer(
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>)],
    log: bool,
    base: &Path,
) -> Result<Vec<PathBuf>> {
    render!(base, (900, 520), draw_per_layer, title, y_desc, series, log)
}

fn draw_per_layer<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>)],
    log: bool,
) -> Result<()> {
    const FLOOR: f64 = 1e-12;
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(1);
    let colors = [RED, BLUE, MAGENTA, GREEN, BLACK, CYAN];
    let clamp = |v: f64| if log { v.max(FLOOR) } else { v };
    let (lo, hi) = range_of(
        series.iter().flat_map(|s| s.1.iter().map(|&v| clamp(v))),
        0.05,
    );
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc("spiking layer")
                .y_desc(y_desc)
                .x_labels(n.min(32))
                .x_label_formatter(&|v| format!("{}", v.round() as i64))
                .y_label_formatter(&|v| {
                    if log {
                        format!("{v:.0e}")
                    } else {
                        format!("{v:.2}")
                    }
                })
                .label_style(font(15))
                .axis_desc_style(font(17))
                .draw()
                .map_err(pe)?;
            for (k, (name, vals)) in series.iter().enumerate() {
                let c = colors[k % colors.len()];
                let pts: Vec<(f64, f64)> = vals
                    .iter()
                    .enumerate()
                    .map(|(l, &v)| ((l + 1) as f64, clamp(v)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(pe)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
                    .map_err(pe)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(font(15))
                .draw()
                .map_err(pe)?;
        }};
    }
    let xr = 0.5f64..n as f64 + 0.5;
    if log {
        draw!(ChartBuilder::on(root)
            .caption(title, font(20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(xr, (lo.max(FLOOR)..hi).log_scale())
            .map_err(pe)?);
    } else {
        draw!(ChartBuilder::on(root)
            .caption(title, font(20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(xr, lo.min(0.0)..hi)
            .map_err(pe)?);
    }
    Ok(())
}
