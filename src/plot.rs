//! Plots of a run, each written as PNG and SVG: loss and accuracy curves, first-spike-time
//! histograms per layer, a spike raster of one sample, and accuracy against decision time.
//!
//! Text is drawn with the DejaVu Sans font shipped in `assets/` (no system fonts needed).

use crate::model::Model;
use crate::run_dir::{EvalRecord, MetricsRecord};
use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the shipped font is valid"));
    });
}

fn pe<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e:?}")
}

/// Draw with `$f(&root, args...)` into `$base.png` and `$base.svg`; evaluates to the paths.
macro_rules! render {
    ($base:expr, $size:expr, $f:ident $(, $arg:expr)*) => {{
        register_font();
        let png = $base.with_extension("png");
        let svg = $base.with_extension("svg");
        {
            let root = BitMapBackend::new(&png, $size).into_drawing_area();
            root.fill(&WHITE).map_err(pe)?;
            $f(&root $(, $arg)*)?;
            root.present().map_err(pe)?;
        }
        {
            let root = SVGBackend::new(&svg, $size).into_drawing_area();
            root.fill(&WHITE).map_err(pe)?;
            $f(&root $(, $arg)*)?;
            root.present().map_err(pe)?;
        }
        Ok::<Vec<PathBuf>, anyhow::Error>(vec![png, svg])
    }};
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

fn range_of(v: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 0.5, hi + 0.5);
    }
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

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

/// The epoch with the best evaluation accuracy (the first, on ties) and that accuracy: the
/// epoch `best.safetensors` holds.
pub fn best_epoch(recs: &[MetricsRecord]) -> Option<(usize, f64)> {
    recs.iter()
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

    #[test]
    fn the_best_epoch_is_the_first_with_the_highest_accuracy() {
        let rec = |epoch, acc| {
            let mut r = MetricsRecord::default();
            r.metrics.epoch = epoch;
            r.metrics.eval.accuracy = acc;
            r
        };
        let recs = [rec(1, 0.5), rec(2, 0.9), rec(3, 0.9), rec(4, 0.7)];
        assert_eq!(best_epoch(&recs), Some((2, 0.9)));
        assert_eq!(best_epoch(&[]), None);
    }
}
