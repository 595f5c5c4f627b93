//! [`Kernels`] for [`Gpu`]: each operation handed to the file of its kernel family (as
//! `cpu/mod.rs` does for the CPU backend). The event-driven operations, which only the CPU
//! backend runs, are refused here: a GPU's dense products are faster than gathering events.

use super::{
    conv, crossing_time, data, elementwise, gemm, integrate_fire, loss, optim, pool, weight_norm,
    Exec, Gpu,
};
use crate::kernels::{
    AdamStep, Buf, ConvGeom, Device, Events, IfParams, ImageGather, Kernels, PoolGeom, SgdStep,
};

impl<E: Exec> Kernels for Gpu<E> {
    fn name(&self) -> &'static str {
        self.exec.name()
    }

    fn device(&self) -> Device {
        self.exec.device()
    }

    fn synchronize(&self) {
        self.exec.synchronize()
    }

    // ---- products -------------------------------------------------------------------

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
        gemm::gemm(self, m, k, n, a, a_t, b, b_t, beta, c)
    }

    /// Dense products are faster on a GPU than gathering events: never.
    fn collect_events(
        &self,
        _x: &Buf<f32>,
        _rows: usize,
        _cols: usize,
        _max_density: f32,
        _out: &mut Events,
    ) -> bool {
        false
    }

    fn step_change_events(
        &self,
        _x: &Buf<f32>,
        _t: usize,
        _rows: usize,
        _cols: usize,
        _max_density: f32,
        _out: &mut Events,
    ) -> bool {
        false
    }

    fn reverse_cumsum_steps(&self, _x: &mut Buf<f32>, _t: usize, _n: usize) {
        unreachable!("the GPU backend never collects step changes (step_change_events is false)")
    }

    fn transpose_events(&self, _a: &Events, _out: &mut Events) {
        unreachable!("the GPU backend never collects events (collect_events is false), so layers never transpose them")
    }

    fn gemm_events(
        &self,
        _a: &Events,
        _n: usize,
        _b: &Buf<f32>,
        _b_t: bool,
        _c: &mut Buf<f32>,
        _c_t: bool,
    ) {
        unreachable!("the GPU backend never collects events (collect_events is false), so layers never multiply them")
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
        conv::forward(self, g, frames, x, w, bias, y)
    }

    fn conv2d_forward_events(
        &self,
        _g: &ConvGeom,
        _x: &Events,
        _w: &Buf<f32>,
        _bias: &Buf<f32>,
        _y: &mut Buf<f32>,
    ) {
        unreachable!("the GPU backend never collects events (collect_events is false), so convolutions never run on them")
    }

    fn conv2d_input_grad_changes(
        &self,
        _g: &ConvGeom,
        _t: usize,
        _d: &Events,
        _w: &Buf<f32>,
        _dx: &mut Buf<f32>,
    ) {
        unreachable!("the GPU backend never collects step changes (step_change_events is false), so convolutions never take their input gradient over them")
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
        conv::backward(self, g, frames, x, x_events, w, dy, dw, dbias, dx)
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
        conv::fold_box(self, w, rows, k, s, pool, folded)
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
        conv::unfold_box_grad(self, dfolded, rows, k, s, pool, dw)
    }

    // ---- pooling --------------------------------------------------------------------

    fn avg_pool_forward(&self, g: &PoolGeom, frames: usize, x: &Buf<f32>, y: &mut Buf<f32>) {
        pool::avg_forward(self, g, frames, x, y)
    }

    fn avg_pool_backward(&self, g: &PoolGeom, frames: usize, dy: &Buf<f32>, dx: &mut Buf<f32>) {
        pool::avg_backward(self, g, frames, dy, dx)
    }

    fn max_pool_forward(
        &self,
        g: &PoolGeom,
        frames: usize,
        x: &Buf<f32>,
        y: &mut Buf<f32>,
        arg: &mut Buf<u32>,
    ) {
        pool::max_forward(self, g, frames, x, y, arg)
    }

    fn max_pool_backward(
        &self,
        g: &PoolGeom,
        frames: usize,
        dy: &Buf<f32>,
        arg: &Buf<u32>,
        dx: &mut Buf<f32>,
    ) {
        pool::max_backward(self, g, frames, dy, arg, dx)
    }

    fn latch_first(&self, y: &mut Buf<f32>, t: usize, n: usize, first: &mut Buf<u32>) {
        pool::latch_first(self, y, t, n, first)
    }

    fn mask_after_first(
        &self,
        dy: &Buf<f32>,
        first: &Buf<u32>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    ) {
        pool::mask_after_first(self, dy, first, t, n, out)
    }

    // ---- the neuron -----------------------------------------------------------------

    fn if_forward(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
        v: &mut Buf<f32>,
    ) {
        integrate_fire::forward(self, p, t, n, cur, s, v)
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
        integrate_fire::backward(self, p, t, n, s, v, ds, dcur)
    }

    fn if_forward_spikes(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        s: &mut Buf<f32>,
    ) {
        // The kernel writes the potentials too: to scratch, dropped.
        let mut scratch = self.scratch();
        integrate_fire::forward(self, p, t, n, cur, s, &mut scratch.potentials)
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
        // The forward pass again into scratch, then the stored-potentials backward.
        let mut scratch = self.scratch();
        let sc = &mut *scratch;
        integrate_fire::forward(self, p, t, n, cur, &mut sc.spikes, &mut sc.potentials);
        integrate_fire::backward(self, p, t, n, &sc.spikes, &sc.potentials, ds, dcur)
    }

    fn if_count_near_threshold(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        cur: &Buf<f32>,
        half_width: f32,
    ) -> u64 {
        let mut scratch = self.scratch();
        let sc = &mut *scratch;
        integrate_fire::forward(self, p, t, n, cur, &mut sc.spikes, &mut sc.potentials);
        self.count_within(&sc.potentials, 1.0, half_width)
    }

    fn if_forward_constant(
        &self,
        p: &IfParams,
        t: usize,
        n: usize,
        c: &Buf<f32>,
        s: &mut Buf<f32>,
    ) {
        integrate_fire::forward_constant(self, p, t, n, c, s)
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
        integrate_fire::backward_constant(self, p, t, n, c, ds, dc)
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
        crossing_time::forward(self, t, n, s, v, w, delta, weff, logits)
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
        crossing_time::backward(self, t, n, s, v, delta, weff, dlogits, dout, dextra)
    }

    // ---- elementwise, broadcasts and reductions --------------------------------------

    fn fill(&self, dst: &mut Buf<f32>, value: f32) {
        elementwise::fill(self, dst, value)
    }

    fn copy(&self, src: &Buf<f32>, dst: &mut Buf<f32>) {
        elementwise::copy(self, src, dst)
    }

    fn add_assign(&self, dst: &mut Buf<f32>, src: &Buf<f32>) {
        elementwise::add_assign(self, dst, src)
    }
    fn lerp(&self, dst: &mut Buf<f32>, src: &Buf<f32>, weight: f32) {
        elementwise::lerp(self, dst, src, weight)
    }

    fn scale(&self, x: &mut Buf<f32>, factor: f32) {
        elementwise::scale(self, x, factor)
    }

    fn repeat(&self, src: &Buf<f32>, times: usize, dst: &mut Buf<f32>) {
        elementwise::repeat(self, src, times, dst)
    }

    fn add_bias(&self, y: &mut Buf<f32>, bias: &Buf<f32>, rows: usize, cols: usize) {
        elementwise::add_bias(self, y, bias, rows, cols)
    }

    fn column_sums(&self, x: &Buf<f32>, rows: usize, cols: usize, out: &mut Buf<f32>) {
        elementwise::column_sums(self, x, rows, cols, out)
    }

    fn weighted_step_sum(
        &self,
        x: &Buf<f32>,
        w: Option<&Buf<f32>>,
        t: usize,
        n: usize,
        out: &mut Buf<f32>,
    ) {
        elementwise::weighted_step_sum(self, x, w, t, n, out)
    }

    fn cumsum_steps(&self, x: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>) {
        elementwise::cumsum_steps(self, x, t, n, out)
    }

    fn scale_steps(&self, w: &Buf<f32>, g: &Buf<f32>, t: usize, n: usize, out: &mut Buf<f32>) {
        elementwise::scale_steps(self, w, g, t, n, out)
    }

    // A statistic of banded runs (`model.band`), taken on a sample of steps: counted on the
    // host from a copy.
    fn count_within(&self, x: &Buf<f32>, center: f32, half_width: f32) -> u64 {
        super::super::cpu::count_within(&x.to_vec(), center, half_width)
    }

    fn sum_squares(&self, x: &Buf<f32>) -> f64 {
        elementwise::sum_squares(self, x)
    }

    // ---- weight normalization ----------------------------------------------------------

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
        weight_norm::forward(self, raw, gamma, target_std, rows, n, u, inv_sigma, w)
    }

    fn weight_norm_backward(
        &self,
        dw: &Buf<f32>,
        u: &Buf<f32>,
        inv_sigma: &Buf<f32>,
        gamma: &Buf<f32>,
        target_std: f32,
        rows: usize,
        n: usize,
        affine: bool,
        raw_grad: &mut Buf<f32>,
        gamma_grad: &mut Buf<f32>,
    ) {
        weight_norm::backward(
            self, dw, u, inv_sigma, gamma, target_std, rows, n, affine, raw_grad, gamma_grad,
        )
    }

    // ---- loss and optimizers -----------------------------------------------------------

    fn cross_entropy(
        &self,
        logits: &Buf<f32>,
        labels: &Buf<u32>,
        classes: usize,
        smoothing: f32,
        dlogits: &mut Buf<f32>,
        losses: &mut Buf<f32>,
    ) {
        loss::cross_entropy(self, logits, labels, classes, smoothing, dlogits, losses)
    }

    fn adam_update(
        &self,
        value: &mut Buf<f32>,
        grad: &Buf<f32>,
        m: &mut Buf<f32>,
        v: &mut Buf<f32>,
        s: &AdamStep,
    ) {
        optim::adam(self, value, grad, m, v, s)
    }

    fn sgd_update(&self, value: &mut Buf<f32>, grad: &Buf<f32>, m: &mut Buf<f32>, s: &SgdStep) {
        optim::sgd(self, value, grad, m, s)
    }

    // ---- data ------------------------------------------------------------------------

    fn gather_images(
        &self,
        g: &ImageGather,
        data: &Buf<u32>,
        idx: &Buf<u32>,
        place: &Buf<u32>,
        norm: &Buf<f32>,
        out: &mut Buf<f32>,
    ) {
        data::gather_images(self, g, data, idx, place, norm, out)
    }
}
