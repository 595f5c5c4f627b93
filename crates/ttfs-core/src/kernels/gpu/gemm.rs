//! Products: the row-major GEMM of [`Kernels::gemm`](crate::kernels::Kernels::gemm) on the
//! executor's column-major SGEMM (cuBLAS, or the emulation's reference SGEMM). Convolutions
//! reach the SGEMM through [`Gpu::gemm_at`] too.

use super::{Exec, Gpu};
use crate::kernels::Buf;

impl<E: Exec> Gpu<E> {
    /// The row-major product of [`Kernels::gemm`] on addresses, mapped onto the column-major
    /// SGEMM: a row-major `[r, c]` matrix is the column-major `c x r` matrix, its transpose,
    /// so `C = op(A) op(B)` is computed as `C^T = op(B)^T op(A)^T`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm_at(
        &self,
        m: usize,
        k: usize,
        n: usize,
        a: u64,
        a_t: bool,
        b: u64,
        b_t: bool,
        beta: f32,
        c: u64,
    ) {
        if m == 0 || n == 0 {
            return;
        }
        // op(B)^T is n x k: B stored [k, n] is column-major n x k (as is); stored [n, k] is
        // column-major k x n (transposed).
        let (ldb, lda) = (if b_t { k } else { n }, if a_t { m } else { k });
        self.exec.sgemm(
            b_t,
            a_t,
            n,
            m,
            k,
            1.0,
            b,
            ldb.max(1),
            a,
            lda.max(1),
            beta,
            c,
            n,
        );
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn gemm<E: Exec>(
    gpu: &Gpu<E>,
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
    let (pa, pb) = (gpu.inp(a, m * k, "gemm a"), gpu.inp(b, k * n, "gemm b"));
    let pc = gpu.inout(c, m * n, "gemm c");
    gpu.gemm_at(m, k, n, pa, a_t, pb, b_t, beta, pc);
}
