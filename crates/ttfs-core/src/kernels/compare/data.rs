//! The device-side input gather compared: odd image sizes, every encoding flag, shifts past
//! the border, flips and cutouts.

use super::{Cmp, EXACT};
use crate::kernels::{ImageGather, PLACEMENT_LEN};
use crate::rng::Rng;

impl Cmp {
    pub(super) fn data(&mut self) {
        // Odd image sizes, a batch whose values leave a partial block, every encoding flag,
        // shifts past the border, flips and cutouts (and none).
        for (b, frame, latency, normalize, zero_silent) in [
            (3, [1, 5, 7], false, false, false),
            (5, [3, 6, 5], false, true, false),
            (4, [1, 9, 8], true, false, false),
            (7, [2, 4, 3], true, false, true),
        ] {
            let n = 11; // images stored
            let f: usize = frame.iter().product();
            let bytes: Vec<u8> = (0..n * f)
                .map(|_| {
                    // Some exact zeros and full intensities, for the latency code's ends.
                    match self.rng.below(6) {
                        0 => 0,
                        1 => 255,
                        _ => self.rng.below(256) as u8,
                    }
                })
                .collect();
            let words: Vec<u32> = bytes
                .chunks(4)
                .map(|c| c.iter().rev().fold(0u32, |w, &x| (w << 8) | x as u32))
                .collect();
            let idx: Vec<u32> = (0..b).map(|_| self.rng.below(n) as u32).collect();
            let [_, h, w] = frame;
            let mut place = Vec::new();
            for j in 0..b {
                let shift = |r: &mut Rng, m: usize| r.below(2 * m + 1) as i32 - m as i32;
                let (dy, dx) = (shift(&mut self.rng, h), shift(&mut self.rng, w));
                let (y0, x0) = (self.rng.below(h), self.rng.below(w));
                let cut = j % 2 == 1;
                place.extend([
                    self.rng.below(2) as u32,
                    dy as u32,
                    dx as u32,
                    y0 as u32,
                    if cut {
                        (y0 + 2).min(h) as u32
                    } else {
                        y0 as u32
                    },
                    x0 as u32,
                    if cut {
                        (x0 + 3).min(w) as u32
                    } else {
                        x0 as u32
                    },
                ]);
            }
            debug_assert_eq!(place.len(), b * PLACEMENT_LEN);
            let mut norm = self.uniform(frame[0], 0.3, 0.6);
            norm.extend(self.uniform(frame[0], 0.2, 0.3));
            let g = ImageGather {
                batch: b,
                frame,
                scale: 1.0 / 255.0,
                normalize,
                latency,
                time_steps: 8,
                zero_silent,
            };
            let (data, idx, place, norm) = (
                self.pair(words),
                self.pair(idx),
                self.pair(place),
                self.pair(norm),
            );
            let t = if latency { 8 } else { 1 };
            let mut out = self.out(t * b * f);
            self.a
                .gather_images(&g, &data.a, &idx.a, &place.a, &norm.a, &mut out.a);
            self.b
                .gather_images(&g, &data.b, &idx.b, &place.b, &norm.b, &mut out.b);
            self.check(
                "gather_images",
                format!(
                    "b={b} {frame:?} latency={latency} normalize={normalize} zero_silent={zero_silent}"
                ),
                &out,
                EXACT,
            );
        }
    }
}
