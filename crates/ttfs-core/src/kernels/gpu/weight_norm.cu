// Weight normalization with a learnable gain (~ kernels/cpu/weight_norm.rs; weight_norm.rs):
//
//   u[o, i]  = (V[o, i] - mean_o) / (sigma_o + eps)      sigma_o: population std of V[o, :]
//   W[o, i]  = gamma[o] * target_std * u[o, i]
//
// One thread per output row walks its n weights, as the CPU's per-row closure, with its sums
// in the CPU's lane order (ttfs_fold_lanes).

#define WEIGHT_NORM_EPS 1e-5f

// raw, u, w are [rows, n]; gamma, inv_sigma are [rows]. One thread per row.
KERNEL weight_norm_forward(const float* raw, const float* gamma, float target_std, float* u,
                           float* inv_sigma, float* w, int rows, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float* v = raw + i * n;
    float* uo = u + i * n;
    float* wo = w + i * n;
    float acc[TTFS_LANES] = {0.0f};
    for (int j = 0; j < n; j++) acc[j % TTFS_LANES] += v[j];
    const float mean = ttfs_fold_lanes(acc) / (float)n;
    for (int l = 0; l < TTFS_LANES; l++) acc[l] = 0.0f;
    for (int j = 0; j < n; j++) acc[j % TTFS_LANES] += (v[j] - mean) * (v[j] - mean);
    const float var = ttfs_fold_lanes(acc) / (float)n;
    const float inv = 1.0f / (sqrtf(var) + WEIGHT_NORM_EPS);
    inv_sigma[i] = inv;
    const float scale = gamma[i] * target_std;
    for (int j = 0; j < n; j++) {
        uo[j] = (v[j] - mean) * inv;
        wo[j] = scale * uo[j];
    }
}

// dw, u, raw_grad are [rows, n]; inv_sigma, gamma, gamma_grad are [rows]. One thread per row.
// Accumulates (+=) into raw_grad, and into gamma_grad when `affine`.
//
// u = d / (sigma + eps), d = V - mean, sigma = sqrt(mean(d^2)):
//   dd_j = du_j / (sigma+eps) - d_j / (n sigma (sigma+eps)^2) * sum_i du_i d_i
//   dV   = dd - mean(dd)
KERNEL weight_norm_backward(const float* dw, const float* u, const float* inv_sigma,
                            const float* gamma, float target_std, float* raw_grad,
                            float* gamma_grad, int rows, int n, int affine)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) return;
    const float* dwo = dw + i * n;
    const float* uo = u + i * n;
    float* g = raw_grad + i * n;
    // W = gamma * target_std * u, so du = scale * dW
    float acc[TTFS_LANES] = {0.0f};
    for (int j = 0; j < n; j++) acc[j % TTFS_LANES] += dwo[j] * uo[j];
    const float dw_dot_u = ttfs_fold_lanes(acc);
    if (affine) gamma_grad[i] += target_std * dw_dot_u;
    const float scale = gamma[i] * target_std;
    const float inv = inv_sigma[i];
    const float sigma = 1.0f / inv - WEIGHT_NORM_EPS;
    // d_j = u_j / inv, so d_j * sum_i du_i d_i = u_j * (du . u) / inv^2
    const float coef = sigma > 0.0f ? scale * dw_dot_u / ((float)n * sigma * inv) : 0.0f;
    for (int l = 0; l < TTFS_LANES; l++) acc[l] = 0.0f;
    for (int j = 0; j < n; j++) acc[j % TTFS_LANES] += scale * dwo[j] * inv - uo[j] * coef * inv;
    const float mean_dd = ttfs_fold_lanes(acc) / (float)n;
    for (int j = 0; j < n; j++) g[j] += scale * dwo[j] * inv - uo[j] * coef * inv - mean_dd;
}
