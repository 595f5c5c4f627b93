//! The spike raster of one sample: the encoded input, every spiking layer (the units that
//! fired, by first spike) and the output spikes, or the output potentials of a membrane
//! decoder.

use super::drawing::{font, pe, range_of, register_font, render};
use crate::model::Model;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// What a raster panel shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Panel {
    /// Analog input (direct encoding), the same frame every step: shade = intensity.
    Analog,
    /// Spikes of the input or a hidden layer: the units that fired, ordered by first spike.
    Spikes,
    /// Output spikes, one row per class.
    OutputSpikes,
    /// Output membrane potentials (membrane decoder), one line per class.
    Potentials,
}

/// One panel of the raster: a `[T, units]` slice of one sample.
struct RasterPanel {
    title: String,
    /// `values[t][unit]`.
    values: Vec<Vec<f32>>,
    kind: Panel,
}

/// At most this many units are drawn per layer.
pub const RASTER_UNITS: usize = 256;

/// The units of a `values[t][unit]` panel that fired, as `(unit, first step)`, earliest
/// first (ties by unit).
pub fn fired_by_time(values: &[Vec<f32>]) -> Vec<(usize, usize)> {
    let units = values.first().map_or(0, |v| v.len());
    let mut fired: Vec<(usize, usize)> = (0..units)
        .filter_map(|u| values.iter().position(|row| row[u] != 0.0).map(|t| (u, t)))
        .collect();
    fired.sort_by_key(|&(u, t)| (t, u));
    fired
}

/// Spike raster of test sample `sample` (label `label`), the last one run through `model`
/// (batch of one): the encoded input, every spiking layer and the output neurons (or output
/// potentials for a membrane decoder).
pub fn raster(model: &Model, sample: usize, label: usize, base: &Path) -> Result<Vec<PathBuf>> {
    let mut panels = Vec::new();
    let t = model.cfg.time_steps;
    // A direct-encoded input holds one frame (the same at every step): draw it at each step.
    let slice = |a: &crate::tensor::Tensor| -> Vec<Vec<f32>> {
        let (data, frames) = (a.data.read(), a.shape.first().copied().unwrap_or(1).max(1));
        let n = data.len() / frames;
        (0..t)
            .map(|k| data[(k % frames) * n..(k % frames + 1) * n].to_vec())
            .collect()
    };
    let direct = model.cfg.encoding == crate::encoding::Encoding::Direct;
    panels.push(RasterPanel {
        title: if direct {
            "input currents (direct encoding, shade = intensity)".into()
        } else {
            "input spikes (latency encoding)".into()
        },
        values: slice(model.input_values()),
        kind: if direct { Panel::Analog } else { Panel::Spikes },
    });
    // The reports' name (`if1`, `pool1`), then the synapse whose spikes these are.
    let (names, nodes) = (model.layer_names(), model.node_names());
    for (i, l) in model.layers.iter().enumerate() {
        if l.is_neuron() || l.latches_first_spike() {
            panels.push(RasterPanel {
                title: format!("{} ({})", nodes[i], names[i]),
                values: slice(&model.acts[i + 1]),
                kind: Panel::Spikes,
            });
        }
    }
    let logits = model.logits.data.read();
    let predicted = (0..model.classes())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap_or(0);
    let out = &model.decoder.out;
    panels.push(RasterPanel {
        title: if model.decoder.spiking() {
            format!("output spikes (class {label}, the true one, in red)")
        } else {
            "output membrane potentials".into()
        },
        values: slice(out),
        kind: if model.decoder.spiking() {
            Panel::OutputSpikes
        } else {
            Panel::Potentials
        },
    });
    let title = format!("Spikes of test sample {sample}: label {label}, predicted {predicted}");
    let h = 240 * panels.len() as u32 + 40;
    render!(
        base,
        (900, h),
        draw_raster,
        &panels,
        &title,
        label,
        predicted
    )
}

fn draw_raster<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[RasterPanel],
    title: &str,
    label: usize,
    predicted: usize,
) -> Result<()> {
    let root = root.titled(title, font(22)).map_err(pe)?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, p) in areas.iter().zip(panels) {
        let t = p.values.len();
        let units = p.values.first().map_or(0, |v| v.len());
        if p.kind == Panel::Potentials {
            draw_potentials(area, p, label, predicted)?;
            continue;
        }
        // Rows: (unit, value at each step) in drawing order, and the panel's caption.
        let (rows, caption): (Vec<usize>, String) = match p.kind {
            Panel::Spikes => {
                let fired = fired_by_time(&p.values);
                let shown = fired.len().min(RASTER_UNITS);
                let more = if fired.len() > shown {
                    format!(
                        ", the {shown} earliest shown ({} more not shown)",
                        fired.len() - shown
                    )
                } else {
                    String::new()
                };
                (
                    fired[..shown].iter().map(|&(u, _)| u).collect(),
                    format!(
                        "{}: {} of {units} units fired, by first spike{more}; {} silent",
                        p.title,
                        fired.len(),
                        units - fired.len()
                    ),
                )
            }
            Panel::Analog => {
                let stride = units.div_ceil(RASTER_UNITS).max(1);
                let note = if stride > 1 {
                    format!(" (1 in {stride} of {units} shown)")
                } else {
                    format!(" ({units} units)")
                };
                (
                    (0..units).step_by(stride).collect(),
                    format!("{}{note}", p.title),
                )
            }
            _ => ((0..units).collect(), p.title.clone()),
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(15))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..t as f64 - 0.5, 0f64..rows.len().max(1) as f64)
            .map_err(pe)?;
        let y_desc = match p.kind {
            Panel::Spikes => "units, earliest first",
            Panel::OutputSpikes => "class",
            _ => "unit",
        };
        // Spike panels count the fired units in order; the others name the unit.
        let spikes = p.kind == Panel::Spikes;
        let unit_of = |v: &f64| {
            let row = v.max(0.0) as usize;
            match rows.get(row) {
                Some(_) if spikes => row.to_string(),
                Some(u) => u.to_string(),
                None => String::new(),
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(t.min(32))
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_label_formatter(&unit_of)
            .x_desc("time step")
            .y_desc(y_desc)
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(pe)?;
        let mut dots = Vec::new();
        for (row, &u) in rows.iter().enumerate() {
            for (k, vals) in p.values.iter().enumerate() {
                let v = vals[u];
                if v != 0.0 {
                    let shade = (v.abs().min(1.0) * 255.0) as u8;
                    let c = RGBColor(255 - shade, 255 - shade, 255 - shade / 3);
                    let c = if p.kind == Panel::OutputSpikes && u == label {
                        RED
                    } else if v.abs() >= 1.0 {
                        BLACK
                    } else {
                        c
                    };
                    dots.push(Rectangle::new(
                        [
                            (k as f64 - 0.35, row as f64 + 0.05),
                            (k as f64 + 0.35, row as f64 + 0.95),
                        ],
                        c.filled(),
                    ));
                }
            }
        }
        chart.draw_series(dots).map_err(pe)?;
    }
    Ok(())
}

/// Output potentials over time, one line per class: the true class in red, a wrong
/// prediction in blue, the others grey, with a legend.
fn draw_potentials<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &RasterPanel,
    label: usize,
    predicted: usize,
) -> Result<()> {
    let t = p.values.len();
    let units = p.values.first().map_or(0, |v| v.len());
    let (y0, y1) = range_of(p.values.iter().flatten().map(|&v| v as f64), 0.08);
    let mut chart = ChartBuilder::on(area)
        .caption(p.title.clone(), font(15))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..t as f64 - 0.5, y0..y1)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_desc("time step")
        .y_desc("potential")
        .x_labels(t.min(32))
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()
        .map_err(pe)?;
    let line = |u: usize| -> Vec<(f64, f64)> {
        (0..t).map(|k| (k as f64, p.values[k][u] as f64)).collect()
    };
    let grey = RGBColor(170, 170, 170);
    let mut others_labelled = false;
    for u in (0..units).filter(|&u| u != label && u != predicted) {
        let s = chart
            .draw_series(LineSeries::new(line(u), grey.stroke_width(1)))
            .map_err(pe)?;
        if !others_labelled {
            s.label("other classes").legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1))
            });
            others_labelled = true;
        }
    }
    if predicted != label && predicted < units {
        chart
            .draw_series(LineSeries::new(line(predicted), BLUE.stroke_width(3)))
            .map_err(pe)?
            .label(format!("class {predicted} (predicted)"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
    }
    if label < units {
        let what = if predicted == label {
            "true and predicted"
        } else {
            "true"
        };
        chart
            .draw_series(LineSeries::new(line(label), RED.stroke_width(3)))
            .map_err(pe)?
            .label(format!("class {label} ({what})"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(font(13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(pe)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fired_units_are_ordered_by_their_first_spike() {
        // 3 steps, 4 units: unit 2 fires at 0, unit 0 at 2, unit 3 at 0, unit 1 never.
        let v = vec![
            vec![0.0, 0.0, 1.0, 1.0],
            vec![0.0, 0.0, 0.0, 0.0],
            vec![1.0, 0.0, 0.0, 0.0],
        ];
        assert_eq!(fired_by_time(&v), vec![(2, 0), (3, 0), (0, 2)]);
    }
}
