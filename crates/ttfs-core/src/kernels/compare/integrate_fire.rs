//! The neuron compared: every surrogate (banded or not) and neuron flag at T = 1 and 8, on a
//! current given per step and on one given once for all steps; then the crossing-time
//! decoder (`crossing_time.rs`).

use super::{Cmp, ELEM, EXACT, RED};
use crate::kernels::IfParams;
use crate::surrogate::{Surrogate, SurrogateKind};

impl Cmp {
    pub(super) fn neuron(&mut self) {
        // The last two cut to a band around the threshold (`model.band`).
        let kinds = [
            (SurrogateKind::Sigmoid, 4.0, None),
            (SurrogateKind::Atan, 2.0, None),
            (SurrogateKind::Triangle, 2.0, None),
            (SurrogateKind::Rectangle, 2.0, None),
            (SurrogateKind::Sigmoid, 4.0, Some(0.3)),
            (SurrogateKind::Triangle, 2.0, Some(0.4)),
        ];
        // (fire_once, mask_grad)
        let modes = [(true, false), (true, true), (false, false)];
        for (kind, alpha, band) in kinds {
            for (fire_once, mask_grad) in modes {
                for smooth in [false, true] {
                    // n = 2100 spans two of the CPU's unit chunks and leaves a partial block.
                    for (t, n) in [(1, 1), (8, 300), (8, 2100), (1, 257)] {
                        let p = IfParams {
                            surrogate: Surrogate::new(kind, alpha).banded(band),
                            fire_once,
                            mask_grad,
                            smooth,
                        };
                        let case = format!(
                            "{kind:?} band={band:?} fire_once={fire_once} mask_grad={mask_grad} smooth={smooth} t={t} n={n}"
                        );
                        // Currents that make units fire at every step, or never.
                        let cur = self.uniform(t * n, -0.3, 0.7);
                        let cur = self.pair(cur);
                        let (mut s, mut v) = (self.out(t * n), self.out(t * n));
                        self.a.if_forward(&p, t, n, &cur.a, &mut s.a, &mut v.a);
                        self.b.if_forward(&p, t, n, &cur.b, &mut s.b, &mut v.b);
                        self.check(
                            "if_forward",
                            format!("{case}: s"),
                            &s,
                            if smooth { ELEM } else { EXACT },
                        );
                        self.check("if_forward", format!("{case}: v"), &v, ELEM);
                        // Backward from the reference's forward, on both.
                        let (s, v) = (self.pair(s.a.to_vec()), self.pair(v.a.to_vec()));
                        let ds = self.rand(t * n);
                        let mut dcur = self.out(t * n);
                        self.a.if_backward(&p, t, n, &s.a, &v.a, &ds.a, &mut dcur.a);
                        self.b.if_backward(&p, t, n, &s.b, &v.b, &ds.b, &mut dcur.b);
                        self.check("if_backward", case.clone(), &dcur, RED);
                        // The neuron layer's path: spikes only, potentials recomputed.
                        let mut s = self.out(t * n);
                        self.a.if_forward_spikes(&p, t, n, &cur.a, &mut s.a);
                        self.b.if_forward_spikes(&p, t, n, &cur.b, &mut s.b);
                        let tol = if smooth { ELEM } else { EXACT };
                        self.check("if_forward_spikes", case.clone(), &s, tol);
                        let mut dcur = self.out(t * n);
                        self.a
                            .if_backward_recomputed(&p, t, n, &cur.a, &ds.a, &mut dcur.a);
                        self.b
                            .if_backward_recomputed(&p, t, n, &cur.b, &ds.b, &mut dcur.b);
                        self.check("if_backward_recomputed", case.clone(), &dcur, RED);
                        let near_a = self.a.if_count_near_threshold(&p, t, n, &cur.a, 0.3);
                        let near_b = self.b.if_count_near_threshold(&p, t, n, &cur.b, 0.3);
                        let (na, nb) = ([near_a as f32], [near_b as f32]);
                        self.push_f32("if_count_near_threshold", case, &na, &nb, EXACT);
                    }
                }
            }
        }
        self.constant_current();
        self.crossing_time();
    }

    /// The neuron on a current given once for all steps (direct encoding's first neuron).
    fn constant_current(&mut self) {
        for (kind, alpha, band) in [
            (SurrogateKind::Sigmoid, 4.0, None),
            (SurrogateKind::Triangle, 2.0, None),
            (SurrogateKind::Sigmoid, 4.0, Some(0.3)),
        ] {
            for smooth in [false, true] {
                for (t, n) in [(1, 7), (8, 2100), (40, 257)] {
                    let p = IfParams {
                        surrogate: Surrogate::new(kind, alpha).banded(band),
                        fire_once: true,
                        mask_grad: false,
                        smooth,
                    };
                    let case = format!("{kind:?} band={band:?} smooth={smooth} t={t} n={n}");
                    let c = self.uniform(n, -0.1, 0.7);
                    let c = self.pair(c);
                    let mut s = self.out(t * n);
                    self.a.if_forward_constant(&p, t, n, &c.a, &mut s.a);
                    self.b.if_forward_constant(&p, t, n, &c.b, &mut s.b);
                    let tol = if smooth { ELEM } else { EXACT };
                    self.check("if_forward_constant", case.clone(), &s, tol);
                    let ds = self.rand(t * n);
                    let mut dc = self.out(n);
                    self.a
                        .if_backward_constant(&p, t, n, &c.a, &ds.a, &mut dc.a);
                    self.b
                        .if_backward_constant(&p, t, n, &c.b, &ds.b, &mut dc.b);
                    self.check("if_backward_constant", case, &dc, RED);
                }
            }
        }
    }
}
