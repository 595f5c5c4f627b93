//! The decoder at exact threshold-crossing times compared, forward and backward.

use super::{Cmp, ELEM, RED};
use crate::kernels::IfParams;
use crate::surrogate::{Surrogate, SurrogateKind};

impl Cmp {
    /// The decoder at exact crossing times, on spikes and potentials of fire-once output
    /// neurons (some fire in a step whose current is below the kernels' minimum rise).
    pub(super) fn crossing_time(&mut self) {
        let p = IfParams {
            surrogate: Surrogate::new(SurrogateKind::Sigmoid, 4.0),
            fire_once: true,
            mask_grad: false,
            smooth: false,
        };
        for (t, n) in [(1, 7), (8, 300), (8, 257)] {
            let case = format!("t={t} n={n}");
            let cur = self.uniform(t * n, -0.05, 0.5);
            let cur = self.pair(cur);
            let (mut s, mut v) = (self.out(t * n), self.out(t * n));
            self.a.if_forward(&p, t, n, &cur.a, &mut s.a, &mut v.a);
            let (s, v) = (self.pair(s.a.to_vec()), self.pair(v.a.to_vec()));
            let w = self.uniform(t, 0.5, 3.0);
            let (w, drop) = (self.pair(w), self.rand(t));
            let (mut weff, mut logits) = (self.out(t * n), self.out(n));
            self.a.crossing_time_forward(
                t,
                n,
                &s.a,
                &v.a,
                &w.a,
                &drop.a,
                &mut weff.a,
                &mut logits.a,
            );
            self.b.crossing_time_forward(
                t,
                n,
                &s.b,
                &v.b,
                &w.b,
                &drop.b,
                &mut weff.b,
                &mut logits.b,
            );
            self.check(
                "crossing_time_forward",
                format!("{case}: weff"),
                &weff,
                ELEM,
            );
            self.check(
                "crossing_time_forward",
                format!("{case}: logits"),
                &logits,
                RED,
            );
            let weff = self.pair(weff.a.to_vec());
            let dlogits = self.rand(n);
            let (mut dout, mut dextra) = (self.out(t * n), self.out(t * n));
            self.a.crossing_time_backward(
                t,
                n,
                &s.a,
                &v.a,
                &drop.a,
                &weff.a,
                &dlogits.a,
                &mut dout.a,
                &mut dextra.a,
            );
            self.b.crossing_time_backward(
                t,
                n,
                &s.b,
                &v.b,
                &drop.b,
                &weff.b,
                &dlogits.b,
                &mut dout.b,
                &mut dextra.b,
            );
            self.check(
                "crossing_time_backward",
                format!("{case}: dout"),
                &dout,
                ELEM,
            );
            self.check(
                "crossing_time_backward",
                format!("{case}: dextra"),
                &dextra,
                RED,
            );
        }
    }
}
