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

// ---- register-blocked variants -----------------------------------------------------------
//
// The scatter above loads and stores a row of outputs for every event and tap: three memory
// accesses per multiply-add, the outputs from L2 for the VGG's wider layers. The forward pass
// below is output-stationary instead: each output position gathers the events under its
// kernel window into a block of output channels held in registers, then stores it once; one
// load (of the tap's weights) per multiply-add. The VGG step (`vgg_step`) spent 21% of its
// time in the scatter and 15% in this. The same idea for the weight gradient (each
// weight row gathering its input channel's events) measured slower than the scatter there
// (15% against 13%): its loads of the output gradient miss L1 either way, while the scatter's
// weight-gradient rows stay in L1.

/// Output channels held in registers by [`conv_frame_events_blocked`] (8 AVX-512 vectors).
/// Layers whose output channels are not a multiple of it take the scatter. On the VGG's layers
/// (`event_products -- vgg`, density 0.09) the gather took 25-36% off the forward of conv4-conv6
/// (128 and 256 channels) but 8% off conv2's (64); with blocks of 64 and 32 as well, the bench
/// conv net (`ttfs bench --models cnn`: 32 and 64 channels, 49-196 output positions) ran about
/// 4% slower, its per-position bookkeeping outweighing the saved accesses where a layer's output
/// rows fit L1 anyway.
pub const OC_BLOCK: usize = 128;

/// Whether the forward of `g` takes the register-blocked gather (else the scatter).
fn gathers(g: &ConvGeom) -> bool {
    g.out_c.is_multiple_of(OC_BLOCK)
}

/// A frame's events regrouped by input position (`H*W`): the events at position `p` are
/// `entries[start[p]..start[p + 1]]`, as (channel, value), channels ascending.
#[derive(Default)]
pub struct ByPosition {
    start: Vec<u32>,
    entries: Vec<(u32, f32)>,
}

impl ByPosition {
    /// Regroups `events` (`(pixel, value)`, `pixel = (c*H + iy)*W + ix` ascending) by a
    /// counting sort over the `plane = H*W` positions.
    pub fn fill(&mut self, events: &[(u32, f32)], plane: usize) {
        self.start.clear();
        self.start.resize(plane + 1, 0);
        for &(pixel, _) in events {
            self.start[pixel as usize % plane + 1] += 1;
        }
        for p in 0..plane {
            self.start[p + 1] += self.start[p];
        }
        self.entries.clear();
        self.entries.resize(events.len(), (0, 0.0));
        // `start[p]` serves as the fill cursor of position p, then is restored.
        for &(pixel, v) in events {
            let (c, p) = (pixel as usize / plane, pixel as usize % plane);
            let at = &mut self.start[p];
            self.entries[*at as usize] = (c as u32, v);
            *at += 1;
        }
        for p in (1..=plane).rev() {
            self.start[p] = self.start[p - 1];
        }
        self.start[0] = 0;
    }

    #[inline]
    fn at(&self, p: usize) -> &[(u32, f32)] {
        &self.entries[self.start[p] as usize..self.start[p + 1] as usize]
    }
}

/// [`conv_frame_events`] with the output channels in register blocks of `N` (see
/// [`OC_BLOCK`]): for every output position and block, the sum over the kernel window's
/// events of value times the tap's weights. `by_pos` holds the frame's events by position;
/// `wt` is `[K*K, C, OC]` (tap-major: a position's events, channels ascending, read one
/// tap's weight rows in ascending order; channel-major rows lay K*K*OC floats apart).
pub fn conv_frame_events_blocked<const N: usize>(
    g: &ConvGeom,
    by_pos: &ByPosition,
    wt: &[f32],
    out_t: &mut [f32],
) {
    let (oh, ow, oc, k) = (g.out_h(), g.out_w(), g.out_c, g.k);
    assert!(oc.is_multiple_of(N) && wt.len() >= g.patch_len() * oc && out_t.len() >= oh * ow * oc);
    for oy in 0..oh {
        // kernel rows inside the input: iy = oy*S + ky - P in [0, H)
        let ky_lo = g.pad.saturating_sub(oy * g.stride);
        let ky_hi = (g.in_h + g.pad).saturating_sub(oy * g.stride).min(k);
        for ox in 0..ow {
            let kx_lo = g.pad.saturating_sub(ox * g.stride);
            let kx_hi = (g.in_w + g.pad).saturating_sub(ox * g.stride).min(k);
            let out = &mut out_t[(oy * ow + ox) * oc..][..oc];
            for (b, out_b) in out.chunks_exact_mut(N).enumerate() {
                let mut acc = [0.0f32; N];
                for ky in ky_lo..ky_hi {
                    let iy = oy * g.stride + ky - g.pad;
                    for kx in kx_lo..kx_hi {
                        let ix = ox * g.stride + kx - g.pad;
                        for &(c, v) in by_pos.at(iy * g.in_w + ix) {
                            let row = ((ky * k + kx) * g.in_c + c as usize) * oc + b * N;
                            let w: &[f32; N] = wt[row..row + N].try_into().unwrap();
                            for q in 0..N {
                                acc[q] = v.mul_add(w[q], acc[q]);
                            }
                        }
                    }
                }
                out_b.copy_from_slice(&acc);
            }
        }
    }
}

/// The weights `w` (`[OC, C*K*K]`) laid out as [`conv_frame_forward`] reads them: `[C*K*K,
/// OC]` for the scatter, tap-major `[K*K, C, OC]` for the register-blocked gather.
pub fn forward_weights(g: &ConvGeom, w: &[f32]) -> Vec<f32> {
    let (oc, kk) = (g.out_c, g.patch_len());
    let mut wt = vec![0.0f32; kk * oc];
    super::transpose::transpose(w, oc, kk, &mut wt);
    if !gathers(g) {
        return wt;
    }
    let taps = g.k * g.k;
    let mut tap_major = vec![0.0f32; kk * oc];
    for c in 0..g.in_c {
        for tap in 0..taps {
            let src = &wt[(c * taps + tap) * oc..][..oc];
            tap_major[(tap * g.in_c + c) * oc..][..oc].copy_from_slice(src);
        }
    }
    tap_major
}

/// The event-driven convolution of one frame ([`conv_frame_events`]), register-blocked when
/// the output channels are a multiple of [`OC_BLOCK`]; `wt` from [`forward_weights`],
/// `by_pos` the task's scratch.
pub fn conv_frame_forward(
    g: &ConvGeom,
    events: &[(u32, f32)],
    wt: &[f32],
    out_t: &mut [f32],
    by_pos: &mut ByPosition,
) {
    if !gathers(g) {
        return conv_frame_events(g, events, wt, out_t);
    }
    by_pos.fill(events, g.in_h * g.in_w);
    conv_frame_events_blocked::<OC_BLOCK>(g, by_pos, wt, out_t)
}
