//! The products compared: `gemm` at every transposition, with and without accumulation,
//! including an empty inner dimension.

use super::{Cmp, RED};

impl Cmp {
    pub(super) fn products(&mut self) {
        // The last shape is large enough for the CPU's parallel split.
        for (m, k, n) in [
            (1, 1, 1),
            (7, 13, 5),
            (33, 70, 257),
            (130, 64, 300),
            (4, 0, 3),
        ] {
            for a_t in [false, true] {
                for b_t in [false, true] {
                    for beta in [0.0, 1.0] {
                        let (a, b) = (self.rand(m * k), self.rand(k * n));
                        let mut c = self.rand(m * n);
                        self.a.gemm(m, k, n, &a.a, a_t, &b.a, b_t, beta, &mut c.a);
                        self.b.gemm(m, k, n, &a.b, a_t, &b.b, b_t, beta, &mut c.b);
                        self.check(
                            "gemm",
                            format!("{m}x{k}x{n} a_t={a_t} b_t={b_t} beta={beta}"),
                            &c,
                            RED,
                        );
                    }
                }
            }
        }
    }
}
