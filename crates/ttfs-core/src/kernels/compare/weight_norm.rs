//! Weight normalization compared, forward and backward, with and without the affine gain.

use super::{Cmp, RED};

impl Cmp {
    pub(super) fn weight_norm(&mut self) {
        for (rows, n) in [(5, 27), (1, 1), (300, 13), (3, 784)] {
            let case = format!("{rows}x{n}");
            let target_std = 0.05;
            let raw = self.rand(rows * n);
            let gamma = {
                let v = self.uniform(rows, 0.5, 1.5);
                self.pair(v)
            };
            let (mut u, mut inv, mut w) = (self.out(rows * n), self.out(rows), self.out(rows * n));
            self.a.weight_norm_forward(
                &raw.a, &gamma.a, target_std, rows, n, &mut u.a, &mut inv.a, &mut w.a,
            );
            self.b.weight_norm_forward(
                &raw.b, &gamma.b, target_std, rows, n, &mut u.b, &mut inv.b, &mut w.b,
            );
            self.check("weight_norm_forward", format!("{case}: u"), &u, RED);
            self.check(
                "weight_norm_forward",
                format!("{case}: inv_sigma"),
                &inv,
                RED,
            );
            self.check("weight_norm_forward", format!("{case}: w"), &w, RED);
            let (u, inv) = (self.pair(u.a.to_vec()), self.pair(inv.a.to_vec()));
            let dw = self.rand(rows * n);
            for affine in [true, false] {
                let (mut rg, mut gg) = (self.rand(rows * n), self.rand(rows));
                self.a.weight_norm_backward(
                    &dw.a, &u.a, &inv.a, &gamma.a, target_std, rows, n, affine, &mut rg.a,
                    &mut gg.a,
                );
                self.b.weight_norm_backward(
                    &dw.b, &u.b, &inv.b, &gamma.b, target_std, rows, n, affine, &mut rg.b,
                    &mut gg.b,
                );
                self.check(
                    "weight_norm_backward",
                    format!("{case} affine={affine}: raw_grad"),
                    &rg,
                    RED,
                );
                self.check(
                    "weight_norm_backward",
                    format!("{case} affine={affine}: gamma_grad"),
                    &gg,
                    RED,
                );
            }
        }
    }
}
