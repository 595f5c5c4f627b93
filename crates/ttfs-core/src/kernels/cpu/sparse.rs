//! Event-driven convolution (spike maps are mostly zeros).
//!
//! A TTFS layer's input over all T steps has at most one spike per unit, so a frame is at
//! least `1 - 1/T` zeros: every nonzero input pixel adds its value times the weights of each
//! kernel tap to the outputs it reaches, and zeros cost nothing.

use crate::kernels::ConvGeom;

/// Nonzeros of `x`, counted in 32-bit lanes (per chunk of 2^20, which cannot overflow them)
/// so that the loop vectorizes (`filter().count()` did not).
pub fn nonzeros(x: &[f32]) -> usize {
    x.chunks(1 << 20)
        .map(|c| c.iter().map(|&v| (v != 0.0) as u32).sum::<u32>() as usize)
        .sum()
}

/// Fraction of nonzeros of `x` (what `events::collect` compares with its bound).
#[cfg(test)]
pub fn density(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    nonzeros(x) as f32 / x.len() as f32
}

#[inline]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

/// Calls `f(weight_row, out_position)` for every (kernel tap, output position) an input
/// pixel `(c, iy, ix)` reaches: `weight_row = (c*K + ky)*K + kx`, `out = oy*OW + ox`.
///
/// The taps that reach an output are those with `ky = (iy + pad) mod S` and then every S-th,
/// the output row falling by one each time: two divisions per pixel instead of two per tap
/// (integer division by a stride known only at run time costs tens of cycles).
#[inline]
fn for_each_tap(
    g: &ConvGeom,
    (oh, ow): (usize, usize),
    c: usize,
    iy: usize,
    ix: usize,
    mut f: impl FnMut(usize, usize),
) {
    let (s, k) = (g.stride, g.k);
    let (py, px) = (iy + g.pad, ix + g.pad);
    let (ky0, oy0, kx0, ox0) = (py % s, py / s, px % s, px / s);
    let mut ky = ky0;
    let mut oy = oy0 as isize;
    while ky < k && oy >= 0 {
        if (oy as usize) < oh {
            let mut kx = kx0;
            let mut ox = ox0 as isize;
            while kx < k && ox >= 0 {
                if (ox as usize) < ow {
                    f((c * k + ky) * k + kx, oy as usize * ow + ox as usize);
                }
                kx += s;
                ox -= 1;
            }
        }
        ky += s;
        oy -= 1;
    }
}

/// Calls `f(weight_row, out_position, value)` for every event of a frame (`(pixel, value)`
/// with `pixel = (c*H + iy)*W + ix` ascending, as `Kernels::collect_events` gives a frame's
/// row) and every (kernel tap, output position) it reaches.
///
/// The pixel index is split into `(c, iy, ix)` by walking the frame's input rows along with
/// the events (they ascend), not by two divisions per event.
#[inline]
fn for_each_event_tap(g: &ConvGeom, events: &[(u32, f32)], mut f: impl FnMut(usize, usize, f32)) {
    let out = (g.out_h(), g.out_w());
    let (mut c, mut iy, mut row_start) = (0, 0, 0);
    for &(pixel, v) in events {
        let pixel = pixel as usize;
        while pixel >= row_start + g.in_w {
            row_start += g.in_w;
            iy += 1;
            if iy == g.in_h {
                iy = 0;
                c += 1;
            }
        }
        for_each_tap(g, out, c, iy, pixel - row_start, |w, o| f(w, o, v));
    }
}

/// Event-driven convolution of one frame: every input event (see [`for_each_event_tap`])
/// adds its value times the weights of each tap to the outputs it reaches. `wt` is
/// `[C*K*K, OC]` (weights transposed so a tap's output channels are contiguous), `out_t`
/// (overwritten) is `[OH*OW, OC]`.
pub fn conv_frame_events(g: &ConvGeom, events: &[(u32, f32)], wt: &[f32], out_t: &mut [f32]) {
    let oc = g.out_c;
    out_t.fill(0.0);
    for_each_event_tap(g, events, |w, o, v| {
        axpy(
            v,
            &wt[w * oc..(w + 1) * oc],
            &mut out_t[o * oc..(o + 1) * oc],
        )
    });
}

/// Event-driven weight gradient of one frame: `dwt[tap, :] += x * dy_t[out, :]` for every
/// input event and tap. `dy_t` is `[OH*OW, OC]`, `dwt` is `[C*K*K, OC]`.
pub fn conv_frame_events_dw(g: &ConvGeom, events: &[(u32, f32)], dy_t: &[f32], dwt: &mut [f32]) {
    let oc = g.out_c;
    for_each_event_tap(g, events, |w, o, v| {
        axpy(
            v,
            &dy_t[o * oc..(o + 1) * oc],
            &mut dwt[w * oc..(w + 1) * oc],
        )
    });
}
