//! The optimizers compared: Adam (plain, L2 and clipped), AdamW, and SGD (plain, with
//! momentum, weight decay and clipping, Nesterov).

use super::{Cmp, ELEM};
use crate::kernels::{AdamStep, SgdStep};

impl Cmp {
    pub(super) fn optimizers(&mut self) {
        let adams = [
            (
                "adam",
                AdamStep {
                    clip: 1.0,
                    l2: 0.0,
                    decoupled: 0.0,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    step: 3e-3 / 0.1,
                    inv_bc2: 1.0 / 0.001,
                },
            ),
            (
                "adam l2 clipped",
                AdamStep {
                    clip: 0.5,
                    l2: 1e-2,
                    decoupled: 0.0,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    step: 3e-3 / 0.271,
                    inv_bc2: 1.0 / 0.002997,
                },
            ),
            (
                "adamw",
                AdamStep {
                    clip: 1.0,
                    l2: 0.0,
                    decoupled: 3e-3 * 0.05,
                    beta1: 0.8,
                    beta2: 0.99,
                    eps: 1e-6,
                    step: 1e-3 / 0.2,
                    inv_bc2: 1.0 / 0.0199,
                },
            ),
        ];
        for n in [1, 300, 5000] {
            for (name, s) in adams {
                let case = format!("{name} n={n}");
                let (mut value, grad, mut m) = (self.rand(n), self.rand(n), self.rand(n));
                let mut v = {
                    let x = self.uniform(n, 0.0, 0.01);
                    self.pair(x)
                };
                self.a
                    .adam_update(&mut value.a, &grad.a, &mut m.a, &mut v.a, &s);
                self.b
                    .adam_update(&mut value.b, &grad.b, &mut m.b, &mut v.b, &s);
                self.check("adam_update", format!("{case}: value"), &value, ELEM);
                self.check("adam_update", format!("{case}: m"), &m, ELEM);
                self.check("adam_update", format!("{case}: v"), &v, ELEM);
            }
            for (name, s) in [
                (
                    "sgd",
                    SgdStep {
                        clip: 1.0,
                        weight_decay: 0.0,
                        momentum: 0.0,
                        nesterov: false,
                        lr: 0.1,
                    },
                ),
                (
                    "sgd momentum wd clipped",
                    SgdStep {
                        clip: 0.7,
                        weight_decay: 1e-4,
                        momentum: 0.9,
                        nesterov: false,
                        lr: 0.05,
                    },
                ),
                (
                    "sgd nesterov",
                    SgdStep {
                        clip: 1.0,
                        weight_decay: 5e-4,
                        momentum: 0.9,
                        nesterov: true,
                        lr: 0.05,
                    },
                ),
            ] {
                let case = format!("{name} n={n}");
                let (mut value, grad, mut m) = (self.rand(n), self.rand(n), self.rand(n));
                self.a.sgd_update(&mut value.a, &grad.a, &mut m.a, &s);
                self.b.sgd_update(&mut value.b, &grad.b, &mut m.b, &s);
                self.check("sgd_update", format!("{case}: value"), &value, ELEM);
                self.check("sgd_update", format!("{case}: m"), &m, ELEM);
            }
        }
    }
}
