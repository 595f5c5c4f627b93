//! The CPU backend: `matrixmultiply` for products, rayon over frames or units for threads.
//!
//! Work is always split into chunks whose size depends only on the problem shape, never on
//! the number of threads, and partial sums are reduced in a fixed order: a run gives the same
//! bits whatever the thread count.

mod conv;
pub mod crossing_time;
mod elementwise;
mod events;
mod fold;
mod gather;
mod gemm;
pub mod integrate_fire;
mod lanes;
pub mod loss;
mod optim;
mod pool;
mod sparse;
mod stream;
mod transpose;
mod transposed_conv;
pub mod weight_norm;

pub use elementwise::count_within;
pub use fold::folded_k;

use super::{
    AdamStep, Buf, ConvGeom, Device, Events, IfParams, ImageGather, Kernels, PoolGeom, SgdStep,
};

pub struct Cpu;

/// Host memory of `b` resized to `n` for a writer that overwrites every value.
fn out(b: &mut Buf<f32>, n: usize) -> &mut Vec<f32> {
    b.resize_for_overwrite(Device::Cpu, n);
    b.host_mut()
}

impl Kernels for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn gemm(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: &Buf<f32>,
        a_t: bool,
        b: &Buf<f32>,
        b_t: bool,
        beta: f32,
        c: &mut Buf<f32>,
    ) {
        gemm::gemm(m, k, n, a, a_t, b, b_t, beta, c)
    }
    fn collect_events(
        &self,
        x: &Buf<f32>,
        rows: usize,
        cols: usize,
        max_density: f32,
        out: &mut Events,
    ) -> bool {
        events::collect(x, rows, cols, max_density, out)
    }
    fn step_change_events(
        &self,
        x: &Buf<f32>,
        t: usize,
        rows: usize,
        cols: usize,
        max_density: f32,
        out: &mut Events,
    ) -> bool {
        events::collect_step_changes(x, t, rows, cols, max_density, out)
    }
    fn reverse_cumsum_steps(&self, x: &mut Buf<f32>, t: usize, n: usize) {
        elementwise::reverse_cumsum_steps(x, t, n)
    }
    fn transpose_events(&self, a: &Events, out: &mut Events) {
        events::transpose(a, out)
    }
    fn gemm_events(
        &self,
        a: &Events,
        n: usize,
        b: &Buf<f32>,
        b_t: bool,
        c: &mut Buf<f32>,
        c_t: bool,
    ) {
        events::gemm_events(a, n, b, b_t, c, c_t)
    }
    fn conv2d_forward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &Buf<f32>,
        w: &Buf<f32>,
        bias: &Buf<f32>,
        y: &mut Buf<f32>,
    ) {
        conv::forward(g, frames, x, w, bias, y)
    }
    fn conv2d_forward_events(
        &self,
        g: &ConvGeom,
        x: &Events,
        w: &Buf<f32>,
        bias: &Buf<f32>,
        y: &mut Buf<f32>,
    ) {
        conv::forward_events(g, x, w, bias, y)
    }
    fn conv2d_backward(
        &self,
        g: &ConvGeom,
        frames: usize,
        x: &Buf<f32>,
        x_events: Option<&Events>,
        w: &Buf<f32>,
        dy: &Buf<f32>,
        dw: &mut Buf<f32>,
        dbias: &mut Buf<f32>,
        dx: Option<&mut Buf<f32>>,
    ) {
        let dx = dx.map(|d| &mut d[..]);
        conv::backward(g, frames, x, x_events, w, dy, dw, dbias, dx)
    }
    fn conv2d_input_grad_changes(
        &self,
        g: &ConvGeom,
        t: usize,
        d: &Events,
        w: &Buf<f32>,
        dx: &mut Buf<f32>,
    ) {
        let dx = out(dx, d.rows * g.in_len());
        transposed_conv::input_grad_changes(g, t, d, w, dx)
    }
    fn fold_box(
        &self,
        w: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        folded: &mut Buf<f32>,
    ) {
        fold::fold_box(w, rows, k, s, pool, out(folded, 0))
    }
    fn unfold_box_grad(
        &self,
        dfolded: &Buf<f32>,
        rows: usize,
        k: usize,
        s: usize,
        pool: usize,
        dw: &mut Buf<f32>,
    ) {
        fold::unfold_box_grad(dfolded, rows, k, s, pool, out(dw, 0))
    }
    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &Buf<f32>, y: &mut Buf<f32>) {
        pool::avg_forward(g, frames, x, y)
    }
    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &Buf<f32>, dx: &mut Buf<f32>) {
        pool::avg_backward(g, frames, dy, dx)
    }
    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &Buf<f32>,
        y: &mut Buf<f32>,
        arg: &mut Buf<u32>,
    ) {
        pool::max_forward(g, frames, x, y, arg)
    }
    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &Buf<f32>,
        arg: &Buf<u32>,
        dx: &mut Buf<f32>,
    ) {
        pool::max_backward(g, frames, dy, arg, dx)
    }
    fn latch_first(&self, y: &mut Buf<f32>, t: usize, n: usize, first: &mut Buf<u32>) {
        first.resize_for_overwrite(Device::Cpu, n);
        pool::latch_first(y, t, n, first.host_mut())
    }
    fn mask_after_first(
        &self,
        dy: &Buf<f32>,
        first: &Buf<u32>,
        t: usize,
        n: usize,
        dst: &mut Buf<f32>,
    ) {
        pool::mask_after_first(dy, first, t, n, out(dst, 0))
    }
    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
        v: &mut Buf<f32>,
    ) {
        integrate_fire::forward(p, t, n, cur, s, v)
    }
    fn if_backward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        ds: &Buf<f32>,
        dcur: &mut Buf<f32>,
    ) {
        integrate_fire::backward(p, t, n, s, v, ds, dcur)
    }
    fn if_forward_spikes(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
    ) {
        integrate_fire::forward_spikes(p, t, n, cur, out(s, t * n))
    }
    fn if_backward_recomputed(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        ds: &Buf<f32>,
        dcur: &mut Buf<f32>,
    ) {
        integrate_fire::backward_recomputed(p, t, n, cur, ds, out(dcur, t * n))
    }
    fn if_count_near_threshold(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        half_width: f32,
    ) -> u64 {
        integrate_fire::count_near_threshold(p, t, n, cur, half_width)
    }
    fn if_forward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        s: &mut Buf<f32>,
    ) {
        integrate_fire::forward_constant(p, t, n, c, out(s, t * n))
    }
    fn if_backward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        ds: &Buf<f32>,
        dc: &mut Buf<f32>,
    ) {
        integrate_fire::backward_constant(p, t, n, c, ds, out(dc, n))
    }
    fn crossing_time_forward(
        &self,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        w: &Buf<f32>,
        delta: &Buf<f32>,
        weff: &mut Buf<f32>,
        logits: &mut Buf<f32>,
    ) {
        let weff = out(weff, t * n);
        crossing_time::forward(t, n, s, v, w, delta, weff, out(logits, n))
    }
    fn crossing_time_backward(
        &self,
        t: usize,
        n: usize,
        s: &Buf<f32>,
        v: &Buf<f32>,
        delta: &Buf<f32>,
        weff: &Buf<f32>,
        dlogits: &Buf<f32>,
        dout: &mut Buf<f32>,
        dextra: &mut Buf<f32>,
    ) {
        let dout = out(dout, t * n);
        crossing_time::backward(t, n, s, v, delta, weff, dlogits, dout, out(dextra, t * n))
    }
    fn fill(&self, dst: &mut Buf<f32>, value: f32) {
        dst.fill(value)
    }
    fn copy(&self, src: &Buf<f32>, dst: &mut Buf<f32>) {
        elementwise::copy(src, out(dst, src.len()))
    }
    fn add_assign(&self, dst: &mut Buf<f32>, src: &Buf<f32>) {
        elementwise::add_assign(dst, src)
    }
    fn scale(&self, x: &mut Buf<f32>, factor: f32) {
        x.iter_mut().for_each(|v| *v *= factor)
    }
    fn lerp(&self, dst: &mut Buf<f32>, src: &Buf<f32>, weight: f32) {
        elementwise::lerp(dst, src, weight)
    }
    fn repeat(&self, src: &Buf<f32>, times: usize, dst: &mut Buf<f32>) {
        elementwise::repeat(src, times, out(dst, 0))
    }
    fn add_bias(&self, y: &mut Buf<f32>, bias: &Buf<f32>, rows: usize, cols: usize) {
        elementwise::add_bias(y, bias, rows, cols)
    }
    fn column_sums(&self, x: &Buf<f32>, rows: usize, cols: usize, dst: &mut Buf<f32>) {
        elementwise::column_sums(x, rows, cols, out(dst, 0))
    }
    fn weighted_step_sum(
        &self,
        x: &Buf<f32>,
        w: Option<&Buf<f32>>,
        t: usize,
        n: usize,
        dst: &mut Buf<f32>,
    ) {
        elementwise::weighted_step_sum(x, w.map(|w| &w[..]), t, n, out(dst, 0))
    }
    fn cumsum_steps(&self, x: &Buf<f32>, t: usize, n: usize, dst: &mut Buf<f32>) {
        elementwise::cumsum_steps(x, t, n, out(dst, 0))
    }
    fn scale_steps(&self, w: &Buf<f32>, g: &Buf<f32>, t: usize, n: usize, dst: &mut Buf<f32>) {
        elementwise::scale_steps(w, g, t, n, out(dst, t * n))
    }
    fn count_within(&self, x: &Buf<f32>, center: f32, half_width: f32) -> u64 {
        elementwise::count_within(x, center, half_width)
    }
    fn sum_squares(&self, x: &Buf<f32>) -> f64 {
        elementwise::sum_squares(x)
    }
    fn weight_norm_forward(
        &self,
        raw: &Buf<f32>,
        gamma: &Buf<f32>,
        target_std: f32,
        rows: usize,
        n: usize,
        u: &mut Buf<f32>,
        inv_sigma: &mut Buf<f32>,
        w: &mut Buf<f32>,
    ) {
        out(inv_sigma, rows);
        out(u, rows * n);
        out(w, rows * n);
        weight_norm::forward(raw, gamma, target_std, n, u, inv_sigma, w)
    }
    fn weight_norm_backward(
        &self,
        dw: &Buf<f32>,
        u: &Buf<f32>,
        inv_sigma: &Buf<f32>,
        gamma: &Buf<f32>,
        target_std: f32,
        _rows: usize,
        n: usize,
        affine: bool,
        raw_grad: &mut Buf<f32>,
        gamma_grad: &mut Buf<f32>,
    ) {
        weight_norm::backward(
            dw, u, inv_sigma, gamma, target_std, n, affine, raw_grad, gamma_grad,
        )
    }
    fn cross_entropy(
        &self,
        logits: &Buf<f32>,
        labels: &Buf<u32>,
        classes: usize,
        smoothing: f32,
        dlogits: &mut Buf<f32>,
        losses: &mut Buf<f32>,
    ) {
        let b = labels.len();
        out(dlogits, b * classes);
        out(losses, b);
        loss::cross_entropy(logits, labels, classes, smoothing, dlogits, losses)
    }
    fn adam_update(
        &self,
        value: &mut Buf<f32>,
        grad: &Buf<f32>,
        m: &mut Buf<f32>,
        v: &mut Buf<f32>,
        s: &AdamStep,
    ) {
        optim::adam(value, grad, m, v, s)
    }
    fn sgd_update(&self, value: &mut Buf<f32>, grad: &Buf<f32>, m: &mut Buf<f32>, s: &SgdStep) {
        optim::sgd(value, grad, m, s)
    }
    fn gather_images(
        &self,
        g: &ImageGather,
        data: &Buf<u32>,
        idx: &Buf<u32>,
        place: &Buf<u32>,
        norm: &Buf<f32>,
        dst: &mut Buf<f32>,
    ) {
        gather::images(g, data, idx, place, norm, out(dst, 0))
    }
}
