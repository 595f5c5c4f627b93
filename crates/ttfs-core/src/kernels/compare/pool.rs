//! Pooling compared: windows that tile, overlap or leave gaps, max pooling on values full of
//! ties; and the first-spike latch.

use super::{Cmp, ELEM, EXACT, RED};
use crate::kernels::PoolGeom;

impl Cmp {
    pub(super) fn pooling(&mut self) {
        let geom = |c, in_h, in_w, k, stride| PoolGeom {
            c,
            in_h,
            in_w,
            k,
            stride,
        };
        for (g, frames) in [
            (geom(3, 8, 8, 2, 2), 3),
            (geom(2, 7, 9, 2, 2), 4),
            (geom(2, 9, 7, 3, 3), 2),
            (geom(2, 9, 7, 3, 2), 3),
            (geom(2, 8, 8, 2, 3), 3),
            (geom(5, 16, 16, 2, 2), 9),
        ] {
            let case = format!(
                "{}x{}x{} k{} s{}, {frames} frames",
                g.c, g.in_h, g.in_w, g.k, g.stride
            );
            let x = self.rand(frames * g.in_len());
            let mut y = self.out(frames * g.out_len());
            self.a.avg_pool_forward(&g, frames, &x.a, &mut y.a);
            self.b.avg_pool_forward(&g, frames, &x.b, &mut y.b);
            self.check("avg_pool_forward", case.clone(), &y, RED);
            let dy = self.rand(frames * g.out_len());
            let mut dx = self.out(frames * g.in_len());
            self.a.avg_pool_backward(&g, frames, &dy.a, &mut dx.a);
            self.b.avg_pool_backward(&g, frames, &dy.b, &mut dx.b);
            self.check("avg_pool_backward", case.clone(), &dx, RED);

            // Random values, then values full of ties (spike maps).
            for ties in [false, true] {
                let case = format!("{case}{}", if ties { ", ties" } else { "" });
                let x = if ties {
                    let v: Vec<f32> = (0..frames * g.in_len())
                        .map(|_| [0.0, 0.0, 0.5, 1.0][self.rng.below(4)])
                        .collect();
                    self.pair(v)
                } else {
                    self.rand(frames * g.in_len())
                };
                let mut y = self.out(frames * g.out_len());
                let mut arg = self.out_u32(frames * g.out_len());
                self.a
                    .max_pool_forward(&g, frames, &x.a, &mut y.a, &mut arg.a);
                self.b
                    .max_pool_forward(&g, frames, &x.b, &mut y.b, &mut arg.b);
                self.check("max_pool_forward", format!("{case}: y"), &y, EXACT);
                self.check_u32("max_pool_forward", format!("{case}: arg"), &arg);
                // Backward from the reference's winners, on both.
                let arg = self.pair(arg.a.to_vec());
                let mut dx = self.out(frames * g.in_len());
                self.a
                    .max_pool_backward(&g, frames, &dy.a, &arg.a, &mut dx.a);
                self.b
                    .max_pool_backward(&g, frames, &dy.b, &arg.b, &mut dx.b);
                self.check("max_pool_backward", case, &dx, ELEM);
            }
        }
    }

    pub(super) fn latch(&mut self) {
        for (t, n) in [(1, 1), (8, 300), (8, 257), (5, 513)] {
            let case = format!("t={t} n={n}");
            // Several spikes per unit, some units silent.
            let y0 = self.spikes(t * n, 0.2);
            let mut y = self.pair(y0);
            let mut first = self.out_u32(n);
            self.a.latch_first(&mut y.a, t, n, &mut first.a);
            self.b.latch_first(&mut y.b, t, n, &mut first.b);
            self.check("latch_first", format!("{case}: y"), &y, EXACT);
            self.check_u32("latch_first", format!("{case}: first"), &first);
            let first = self.pair(first.a.to_vec());
            let dy = self.rand(t * n);
            let mut out = self.out(t * n);
            self.a.mask_after_first(&dy.a, &first.a, t, n, &mut out.a);
            self.b.mask_after_first(&dy.b, &first.b, t, n, &mut out.b);
            self.check("mask_after_first", case, &out, EXACT);
        }
    }
}
