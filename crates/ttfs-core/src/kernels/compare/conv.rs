//! Convolutions compared, strided and padded, on dense inputs and on spike maps (which the
//! CPU backend runs on their events), with and without the input gradient; and both box
//! folds.

use super::{Cmp, ELEM, RED};
use crate::kernels::{ConvGeom, Events, Kernels, CONV_EVENT_MAX_DENSITY};

impl Cmp {
    pub(super) fn convolutions(&mut self) {
        let geom = |in_c, in_h, in_w, out_c, k, stride, pad| ConvGeom {
            in_c,
            in_h,
            in_w,
            out_c,
            k,
            stride,
            pad,
        };
        // (geometry, frames, input density: 1 dense, < 0.15 spikes (the CPU's event path))
        let cases = [
            (geom(3, 9, 8, 5, 3, 1, 1), 3, 1.0),
            (geom(2, 9, 9, 4, 3, 2, 2), 5, 1.0),
            (geom(1, 5, 8, 2, 5, 1, 2), 2, 1.0),
            (geom(3, 7, 7, 3, 1, 1, 0), 4, 1.0),
            (geom(2, 11, 10, 7, 4, 2, 1), 3, 1.0),
            (geom(4, 10, 10, 6, 3, 1, 1), 8, 0.05),
            (geom(3, 9, 9, 5, 3, 2, 1), 6, 0.05),
        ];
        for (g, frames, density) in cases {
            let case = format!(
                "{}x{}x{} -> {} k{} s{} p{}, {frames} frames{}",
                g.in_c,
                g.in_h,
                g.in_w,
                g.out_c,
                g.k,
                g.stride,
                g.pad,
                if density < 1.0 { ", spikes" } else { "" }
            );
            let x = if density < 1.0 {
                let v = self.spikes(frames * g.in_len(), density);
                self.pair(v)
            } else {
                self.rand(frames * g.in_len())
            };
            let w = self.rand(g.out_c * g.patch_len());
            let bias = self.rand(g.out_c);
            let mut y = self.out(frames * g.out_len());
            // Each backend as the layer runs it: on the input's events when it collects them.
            let (mut ev_a, mut ev_b) = (Events::default(), Events::default());
            let il = g.in_len();
            let on_a = self
                .a
                .collect_events(&x.a, frames, il, CONV_EVENT_MAX_DENSITY, &mut ev_a);
            let on_b = self
                .b
                .collect_events(&x.b, frames, il, CONV_EVENT_MAX_DENSITY, &mut ev_b);
            let (ev_a, ev_b) = (on_a.then_some(&ev_a), on_b.then_some(&ev_b));
            let forward = |k: &dyn Kernels, x, ev: Option<&Events>, w, bias, y| match ev {
                Some(ev) => k.conv2d_forward_events(&g, ev, w, bias, y),
                None => k.conv2d_forward(&g, frames, x, w, bias, y),
            };
            forward(self.a, &x.a, ev_a, &w.a, &bias.a, &mut y.a);
            forward(self.b, &x.b, ev_b, &w.b, &bias.b, &mut y.b);
            self.check("conv2d_forward", case.clone(), &y, RED);

            let dy = self.rand(frames * g.out_len());
            for with_dx in [true, false] {
                let mut dw = self.out(g.out_c * g.patch_len());
                let mut db = self.out(g.out_c);
                let mut dx = self.out(frames * g.in_len());
                self.a.conv2d_backward(
                    &g,
                    frames,
                    &x.a,
                    ev_a,
                    &w.a,
                    &dy.a,
                    &mut dw.a,
                    &mut db.a,
                    with_dx.then_some(&mut dx.a),
                );
                self.b.conv2d_backward(
                    &g,
                    frames,
                    &x.b,
                    ev_b,
                    &w.b,
                    &dy.b,
                    &mut dw.b,
                    &mut db.b,
                    with_dx.then_some(&mut dx.b),
                );
                let sub = if with_dx { "" } else { " (no dx)" };
                self.check("conv2d_backward", format!("{case}{sub}: dw"), &dw, RED);
                self.check("conv2d_backward", format!("{case}{sub}: dbias"), &db, RED);
                if with_dx {
                    self.check("conv2d_backward", format!("{case}: dx"), &dx, RED);
                }
            }
        }
    }

    pub(super) fn folds(&mut self) {
        for (rows, k, s, pool) in [(5, 3, 1, 2), (7, 3, 2, 3), (3, 4, 2, 2), (300, 3, 1, 3)] {
            let kf = s * (pool - 1) + k;
            let case = format!("{rows} rows k{k} s{s} pool{pool}");
            let w = self.rand(rows * k * k);
            let mut f = self.out(rows * kf * kf);
            self.a.fold_box(&w.a, rows, k, s, pool, &mut f.a);
            self.b.fold_box(&w.b, rows, k, s, pool, &mut f.b);
            self.check("fold_box", case.clone(), &f, ELEM);
            let df = self.rand(rows * kf * kf);
            let mut dw = self.out(rows * k * k);
            self.a.unfold_box_grad(&df.a, rows, k, s, pool, &mut dw.a);
            self.b.unfold_box_grad(&df.b, rows, k, s, pool, &mut dw.b);
            self.check("unfold_box_grad", case, &dw, ELEM);
        }
    }
}
