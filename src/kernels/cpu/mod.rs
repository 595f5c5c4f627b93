//! The CPU backend: `matrixmultiply` for products, rayon over frames or units for threads.
//!
//! Work is always split into chunks whose size depends only on the problem shape, never on
//! the number of threads, and partial sums are reduced in a fixed order: a run gives the same
//! bits whatever the thread count.

mod conv;
mod events;
mod gemm;
mod integrate_fire;
mod pool;
mod sparse;
mod transpose;

use super::{ConvGeom, Events, IfParams, Kernels, PoolGeom};

pub struct Cpu;

impl Kernels for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn gemm(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        a_t: bool,
        b: &[f32],
        b_t: bool,
        beta: f32,
        c: &mut [f32],
    ) {
        gemm::gemm(m, k, n, a, a_t, b, b_t, beta, c)
    }
    fn collect_events(&self, x: &[f32], rows: usize, cols: usize, out: &mut Events) {
        events::collect(x, rows, cols, out)
    }
    fn transpose_events(&self, a: &Events, out: &mut Events) {
        events::transpose(a, out)
    }
    fn gemm_events(&self, a: &Events, n: usize, b: &[f32], b_t: bool, c: &mut [f32], c_t: bool) {
        events::gemm_events(a, n, b, b_t, c, c_t)
    }
    fn density(&self, x: &[f32]) -> f32 {
        sparse::density(x)
    }
    fn conv2d_forward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        y: &mut [f32],
    ) {
        conv::forward(g, frames, x, w, bias, y)
    }
    fn conv2d_backward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        dw: &mut [f32],
        dbias: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        conv::backward(g, frames, x, w, dy, dw, dbias, dx)
    }
    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &[f32], y: &mut [f32]) {
        pool::avg_forward(g, frames, x, y)
    }
    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &[f32], dx: &mut [f32]) {
        pool::avg_backward(g, frames, dy, dx)
    }
    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &[f32],
        y: &mut [f32],
        arg: &mut [u32],
    ) {
        pool::max_forward(g, frames, x, y, arg)
    }
    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &[f32],
        arg: &[u32],
        dx: &mut [f32],
    ) {
        pool::max_backward(g, frames, dy, arg, dx)
    }
    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &[f32],
        s: &mut [f32],
        v: &mut [f32],
    ) {
        integrate_fire::forward(p, t, n, cur, s, v)
    }
    fn if_backward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        s: &[f32],
        v: &[f32],
        ds: &[f32],
        dcur: &mut [f32],
    ) {
        integrate_fire::backward(p, t, n, s, v, ds, dcur)
    }
}
