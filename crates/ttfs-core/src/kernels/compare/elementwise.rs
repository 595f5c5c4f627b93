//! Elementwise kernels, broadcasts and reductions compared, at sizes that leave a partial
//! block and (for `sum_squares`) around its chunk of partial sums.

use super::{Cmp, ELEM, EXACT, RED};

impl Cmp {
    pub(super) fn elementwise(&mut self) {
        for n in [1, 300, 513] {
            let mut d = self.rand(n);
            self.a.fill(&mut d.a, 0.37);
            self.b.fill(&mut d.b, 0.37);
            self.check("fill", format!("n={n}"), &d, EXACT);

            let src = self.rand(n);
            let mut d = self.out(n + 3);
            self.a.copy(&src.a, &mut d.a);
            self.b.copy(&src.b, &mut d.b);
            self.check("copy", format!("n={n} into {}", n + 3), &d, EXACT);

            let mut d = self.rand(n);
            self.a.add_assign(&mut d.a, &src.a);
            self.b.add_assign(&mut d.b, &src.b);
            self.check("add_assign", format!("n={n}"), &d, ELEM);

            let mut d = self.rand(n);
            self.a.lerp(&mut d.a, &src.a, 0.01);
            self.b.lerp(&mut d.b, &src.b, 0.01);
            self.check("lerp", format!("n={n}"), &d, ELEM);

            let mut d = self.rand(n);
            self.a.scale(&mut d.a, 0.37);
            self.b.scale(&mut d.b, 0.37);
            self.check("scale", format!("n={n}"), &d, ELEM);
        }
        for (n, times) in [(7, 8), (300, 1), (1, 5)] {
            let src = self.rand(n);
            let mut d = self.out(n * times);
            self.a.repeat(&src.a, times, &mut d.a);
            self.b.repeat(&src.b, times, &mut d.b);
            self.check("repeat", format!("n={n} times={times}"), &d, EXACT);
        }
        for (rows, cols) in [(13, 257), (1, 1), (8, 300)] {
            let case = format!("{rows}x{cols}");
            let bias = self.rand(cols);
            let mut y = self.rand(rows * cols);
            self.a.add_bias(&mut y.a, &bias.a, rows, cols);
            self.b.add_bias(&mut y.b, &bias.b, rows, cols);
            self.check("add_bias", case.clone(), &y, ELEM);
            let x = self.rand(rows * cols);
            let mut o = self.out(cols);
            self.a.column_sums(&x.a, rows, cols, &mut o.a);
            self.b.column_sums(&x.b, rows, cols, &mut o.b);
            self.check("column_sums", case, &o, RED);
        }
        for (t, n) in [(1, 300), (8, 300), (8, 257), (3, 1)] {
            let case = format!("t={t} n={n}");
            let x = self.rand(t * n);
            let w = self.rand(t);
            for with_w in [true, false] {
                let mut o = self.out(n);
                self.a
                    .weighted_step_sum(&x.a, with_w.then_some(&w.a), t, n, &mut o.a);
                self.b
                    .weighted_step_sum(&x.b, with_w.then_some(&w.b), t, n, &mut o.b);
                self.check(
                    "weighted_step_sum",
                    format!("{case} weights={with_w}"),
                    &o,
                    RED,
                );
            }
            let mut o = self.out(t * n);
            self.a.cumsum_steps(&x.a, t, n, &mut o.a);
            self.b.cumsum_steps(&x.b, t, n, &mut o.b);
            self.check("cumsum_steps", case.clone(), &o, RED);
            let g = self.rand(n);
            let mut o = self.out(t * n);
            self.a.scale_steps(&w.a, &g.a, t, n, &mut o.a);
            self.b.scale_steps(&w.b, &g.b, t, n, &mut o.b);
            self.check("scale_steps", case, &o, ELEM);
        }
        for n in [0, 1, 4095, 4097, 20000] {
            let x = self.rand(n);
            let (sa, sb) = (self.a.sum_squares(&x.a), self.b.sum_squares(&x.b));
            self.push_f32(
                "sum_squares",
                format!("n={n}"),
                &[sa as f32],
                &[sb as f32],
                RED,
            );
        }
    }
}
