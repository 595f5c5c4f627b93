//! Weight normalization with its affine gain (`weight_norm.rs` states the equations). Rows
//! are independent: in parallel, same bits as one pass. Row sums run in the lane order of
//! [`super::lanes`].

use super::lanes;
use rayon::prelude::*;

pub const EPS: f32 = 1e-5;

// raw, u, w are [rows, n]; gamma, inv_sigma are [rows]
pub fn forward(
    raw: &[f32],
    gamma: &[f32],
    target_std: f32,
    n: usize,
    u: &mut [f32],
    inv_sigma: &mut [f32],
    w: &mut [f32],
) {
    raw.par_chunks(n)
        .zip(u.par_chunks_mut(n))
        .zip(w.par_chunks_mut(n))
        .zip(inv_sigma.par_iter_mut().zip(gamma))
        .with_min_len(8)
        .for_each(|(((v, uo), wo), (inv_sigma, gamma))| {
            let mean = lanes::sum(v) / n as f32;
            let var = lanes::sum_map(v, |x| (x - mean) * (x - mean)) / n as f32;
            let inv = 1.0 / (var.sqrt() + EPS);
            *inv_sigma = inv;
            let scale = gamma * target_std;
            for ((u, w), &vi) in uo.iter_mut().zip(wo.iter_mut()).zip(v) {
                *u = (vi - mean) * inv;
                *w = scale * *u;
            }
        });
}

// dw, u, raw_grad are [rows, n]; inv_sigma, gamma, gamma_grad are [rows]; grads accumulate
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dw: &[f32],
    u: &[f32],
    inv_sigma: &[f32],
    gamma: &[f32],
    target_std: f32,
    n: usize,
    affine: bool,
    raw_grad: &mut [f32],
    gamma_grad: &mut [f32],
) {
    raw_grad
        .par_chunks_mut(n)
        .zip(gamma_grad.par_iter_mut())
        .enumerate()
        .with_min_len(8)
        .for_each(|(o, (g, gamma_grad))| {
            let dwo = &dw[o * n..(o + 1) * n];
            let uo = &u[o * n..(o + 1) * n];
            // W = gamma * target_std * u, so du = scale * dW
            let dw_dot_u = lanes::dot(dwo, uo);
            if affine {
                *gamma_grad += target_std * dw_dot_u;
            }
            let scale = gamma[o] * target_std;
            // u = d / (sigma + eps), d = V - mean, sigma = sqrt(mean(d^2)):
            // dd_j = du_j / (sigma+eps) - d_j / (n sigma (sigma+eps)^2) * sum_i du_i d_i
            // dV   = dd - mean(dd)
            let inv = inv_sigma[o];
            let sigma = 1.0 / inv - EPS;
            // d_j = u_j / inv, so d_j * sum_i du_i d_i = u_j * (du . u) / inv^2
            let coef = if sigma > 0.0 {
                scale * dw_dot_u / (n as f32 * sigma * inv)
            } else {
                0.0
            };
            let dd = |dw: f32, u: f32| scale * dw * inv - u * coef * inv;
            let mean_dd = lanes::sum_zip(dwo, uo, dd) / n as f32;
            for ((gj, &dw), &u) in g.iter_mut().zip(dwo).zip(uo) {
                *gj += dd(dw, u) - mean_dd;
            }
        });
}
