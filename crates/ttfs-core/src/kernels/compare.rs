//! Every kernel on two devices from identical inputs: the check that a backend computes what
//! the reference computes (`tests/gpu_emulation.rs`: the CPU against the emulated GPU; on a
//! machine with a GPU, `compare(Device::Cpu, Device::Cuda(0))`).
//!
//! Each [`Kernels`] method but the event ones (which only the CPU backend runs) is run on
//! random inputs at several shapes: odd sizes, sizes that leave a partial 256-thread block,
//! T = 1 and 8, every surrogate and neuron flag, pooling windows that tile, overlap or leave
//! gaps (with ties), strided and padded convolutions, both box folds, every optimizer, label
//! smoothing on and off. Outputs are pre-filled with a sentinel on both devices, so a kernel
//! that leaves a value unwritten shows.
//!
//! Errors: spikes, max-pool winners and latch steps must agree exactly (so must values that are
//! copied, not computed). Elsewhere the relative error of an output value is `|b - a| /
//! max(|a|, rms(a))`, `a` from the reference device: the floor at the output's RMS keeps a value
//! that cancelled to near zero from reading as a large relative error. Tolerances: 1e-5 for
//! elementwise kernels (same operations in the same order, libm against CUDA's `expf` at most
//! a few ulps apart), 1e-4 for reductions and products (cuBLAS sums in its own order).

use super::{
    AdamStep, Buf, ConvGeom, Device, Elem, Events, IfParams, ImageGather, Kernels, PoolGeom,
    SgdStep, CONV_EVENT_MAX_DENSITY, PLACEMENT_LEN,
};
use crate::rng::Rng;
use crate::surrogate::{Surrogate, SurrogateKind};

/// One compared output.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    pub kernel: &'static str,
    /// The shape and flags, and which output.
    pub case: String,
    pub max_abs: f64,
    pub max_rel: f64,
    /// Largest relative error allowed; 0 means exact.
    pub tol: f64,
    pub pass: bool,
}

impl std::fmt::Display for CompareRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<22} {:<58} abs {:>9.2e} rel {:>9.2e} tol {:>7} {}",
            self.kernel,
            self.case,
            self.max_abs,
            self.max_rel,
            if self.tol == 0.0 {
                "exact".to_string()
            } else {
                format!("{:.0e}", self.tol)
            },
            if self.pass { "ok" } else { "FAIL" }
        )
    }
}

/// Elementwise kernels.
const ELEM: f64 = 1e-5;
/// Reductions and products.
const RED: f64 = 1e-4;
/// Copied values, spikes, winners, steps.
const EXACT: f64 = 0.0;
/// What outputs hold before a kernel runs.
const SENTINEL: f32 = 12345.0;

/// Runs every kernel on `a` (the reference) and `b` from identical inputs; one row per output.
pub fn compare(a: Device, b: Device) -> Vec<CompareRow> {
    let ka = a.kernels().unwrap_or_else(|e| panic!("compare: {e}"));
    let kb = b.kernels().unwrap_or_else(|e| panic!("compare: {e}"));
    let mut c = Cmp {
        a: ka,
        b: kb,
        rng: Rng::new(20261129),
        rows: Vec::new(),
    };
    c.products();
    c.convolutions();
    c.folds();
    c.pooling();
    c.latch();
    c.neuron();
    c.elementwise();
    c.weight_norm();
    c.loss();
    c.optimizers();
    c.data();
    c.rows
}

/// The same values on both devices.
struct Pair<T: Elem> {
    a: Buf<T>,
    b: Buf<T>,
}

struct Cmp {
    a: &'static dyn Kernels,
    b: &'static dyn Kernels,
    rng: Rng,
    rows: Vec<CompareRow>,
}

impl Cmp {
    fn pair<T: Elem>(&self, v: Vec<T>) -> Pair<T> {
        Pair {
            a: Buf::from_vec(self.a.device(), v.clone()),
            b: Buf::from_vec(self.b.device(), v),
        }
    }

    /// `n` sentinels (an output).
    fn out(&self, n: usize) -> Pair<f32> {
        self.pair(vec![SENTINEL; n])
    }

    fn out_u32(&self, n: usize) -> Pair<u32> {
        self.pair(vec![u32::MAX; n])
    }

    fn uniform(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.range(lo, hi)).collect()
    }

    fn rand(&mut self, n: usize) -> Pair<f32> {
        let v = self.uniform(n, -1.0, 1.0);
        self.pair(v)
    }

    /// Mostly zeros, some ones (a spike map).
    fn spikes(&mut self, n: usize, density: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                if self.rng.uniform() < density {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn check(&mut self, kernel: &'static str, case: String, p: &Pair<f32>, tol: f64) {
        let (va, vb) = (p.a.to_vec(), p.b.to_vec());
        self.push_f32(kernel, case, &va, &vb, tol);
    }

    fn check_u32(&mut self, kernel: &'static str, case: String, p: &Pair<u32>) {
        let (va, vb) = (p.a.to_vec(), p.b.to_vec());
        let pass = va == vb;
        let max_abs = if va.len() != vb.len() {
            f64::INFINITY
        } else {
            va.iter()
                .zip(&vb)
                .map(|(&x, &y)| (x as f64 - y as f64).abs())
                .fold(0.0, f64::max)
        };
        self.rows.push(CompareRow {
            kernel,
            case,
            max_abs,
            max_rel: if pass { 0.0 } else { f64::INFINITY },
            tol: EXACT,
            pass,
        });
    }

    fn push_f32(&mut self, kernel: &'static str, case: String, va: &[f32], vb: &[f32], tol: f64) {
        let (max_abs, max_rel, pass) = errors(va, vb, tol);
        self.rows.push(CompareRow {
            kernel,
            case,
            max_abs,
            max_rel,
            tol,
            pass,
        });
    }

    // ---- products -------------------------------------------------------------------

    fn products(&mut self) {
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

    // ---- convolution ----------------------------------------------------------------

    fn convolutions(&mut self) {
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

    fn folds(&mut self) {
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

    // ---- pooling --------------------------------------------------------------------

    fn pooling(&mut self) {
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

    fn latch(&mut self) {
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

    // ---- the neuron -----------------------------------------------------------------

    fn neuron(&mut self) {
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
                        self.check("if_backward", case, &dcur, RED);
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

    /// The decoder at exact crossing times, on spikes and potentials of fire-once output
    /// neurons (some fire in a step whose current is below the kernels' minimum rise).
    fn crossing_time(&mut self) {
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

    // ---- elementwise, broadcasts and reductions --------------------------------------

    fn elementwise(&mut self) {
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

    // ---- weight normalization ----------------------------------------------------------

    fn weight_norm(&mut self) {
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

    // ---- loss and optimizers -----------------------------------------------------------

    fn loss(&mut self) {
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

    fn optimizers(&mut self) {
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

    // ---- data -------------------------------------------------------------------------

    fn data(&mut self) {
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

/// (max abs error, max relative error, pass) of `b` against the reference `a`; `tol == 0`:
/// bit-for-bit (NaN matching NaN, 0 matching -0).
fn errors(a: &[f32], b: &[f32], tol: f64) -> (f64, f64, bool) {
    if a.len() != b.len() {
        return (f64::INFINITY, f64::INFINITY, false);
    }
    let rms =
        (a.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / a.len().max(1) as f64).sqrt();
    let (mut max_abs, mut max_rel, mut pass) = (0.0f64, 0.0f64, true);
    for (&x, &y) in a.iter().zip(b) {
        if x == y || (x.is_nan() && y.is_nan()) {
            continue;
        }
        let abs = if x.is_finite() && y.is_finite() {
            (x as f64 - y as f64).abs()
        } else {
            f64::INFINITY
        };
        let rel = abs / (x.abs() as f64).max(rms).max(f64::MIN_POSITIVE);
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
        if tol == 0.0 || rel > tol {
            pass = false;
        }
    }
    (max_abs, max_rel, pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_use_the_rms_floor_and_exactness() {
        assert_eq!(errors(&[1.0, 2.0], &[1.0, 2.0], 0.0), (0.0, 0.0, true));
        assert!(!errors(&[1.0, 2.0], &[1.0, 2.0000002], 0.0).2);
        assert!(errors(&[1.0, 2.0], &[1.0, 2.0000002], 1e-6).2);
        // 1e-9 off a value that cancelled to 1e-9, in an output of RMS ~1: fine.
        assert!(errors(&[1e-9, 1.0, -1.0], &[2e-9, 1.0, -1.0], 1e-6).2);
        assert!(!errors(&[1.0], &[f32::NAN], 1.0).2);
        assert!(!errors(&[1.0], &[1.0, 2.0], 1.0).2);
    }
}
