//! The loss compared: cross entropy with and without label smoothing.

use super::{Cmp, RED};

impl Cmp {
    pub(super) fn loss(&mut self) {
        for (b, classes) in [(1, 10), (5, 3), (300, 10), (7, 1)] {
            for smoothing in [0.0, 0.1] {
                let case = format!("b={b} classes={classes} smoothing={smoothing}");
                let logits = {
                    let v = self.uniform(b * classes, -4.0, 4.0);
                    self.pair(v)
                };
                let labels: Vec<u32> = (0..b).map(|_| self.rng.below(classes) as u32).collect();
                let labels = self.pair(labels);
                let (mut d, mut l) = (self.out(b * classes), self.out(b));
                self.a
                    .cross_entropy(&logits.a, &labels.a, classes, smoothing, &mut d.a, &mut l.a);
                self.b
                    .cross_entropy(&logits.b, &labels.b, classes, smoothing, &mut d.b, &mut l.b);
                self.check("cross_entropy", format!("{case}: dlogits"), &d, RED);
                self.check("cross_entropy", format!("{case}: losses"), &l, RED);
            }
        }
    }
}
