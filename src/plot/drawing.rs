//! What every plot shares: the shipped font, plotting errors as `anyhow` errors, the axis range
//! of a series, and `render!`, which draws a chart into a PNG and an SVG file.

use anyhow::anyhow;
use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

pub(super) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the shipped font is valid"));
    });
}

pub(super) fn pe<E: std::fmt::Debug>(e: E) -> anyhow::Error {
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
pub(super) use render;

pub(super) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

pub(super) fn range_of(v: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
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
