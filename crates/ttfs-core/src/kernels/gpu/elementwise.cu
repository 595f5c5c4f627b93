// Fills, broadcasts and small reductions (~ kernels/cpu/elementwise.rs: the loops of the
// model, the linear layer and the decoder). Reductions run one thread per output, summing in
// the CPU's order from the CPU's start.

// x is [n]. One thread per value: x = value.
KERNEL fill(float* x, float value, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    x[i] = value;
}

// dst, src are [n]. One thread per value: dst += src.
KERNEL add_assign(float* dst, const float* src, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    dst[i] += src[i];
}

// dst, src are [n]. One thread per value: dst += weight * (src - dst), the CPU's expression.
KERNEL lerp(float* dst, const float* src, float weight, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    dst[i] += weight * (src[i] - dst[i]);
}

// x is [n]. One thread per value: x *= factor.
KERNEL scale(float* x, float factor, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    x[i] *= factor;
}

// src is [n], dst is [times, n]. One thread per dst value: dst[k, j] = src[j].
KERNEL repeat(const float* src, float* dst, int n, int times)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n * times) return;
    dst[i] = src[i % n];
}

// y is [rows, cols], bias is [cols]. One thread per value: y[r, c] += bias[c] (linear.rs).
KERNEL add_bias(float* y, const float* bias, int rows, int cols)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * cols) return;
    y[i] += bias[i % cols];
}

// x is [rows, cols], out is [cols]. One thread per column, walks the rows:
// out[c] = sum_r x[r, c] from 0, rows in order (linear.rs's bias gradient).
KERNEL column_sums(const float* x, float* out, int rows, int cols)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= cols) return;
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) acc += x[r * cols + i];
    out[i] = acc;
}

// x is [t, n], w is [t] (ignored unless has_w), out is [n]. One thread per unit, walks t:
// out[j] = sum_k w[k] x[k, j] from 0, steps in order (the decoder's logits += w[k] * out[k];
// without w, model.rs's sum over steps of a repeated input's gradient).
KERNEL weighted_step_sum(const float* x, const float* w, float* out, int t, int n, int has_w)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float acc = 0.0f;
    for (int k = 0; k < t; k++) {
        const float xk = x[k * n + i];
        acc += has_w ? w[k] * xk : xk;
    }
    out[i] = acc;
}

// x, out are [t, n]. One thread per unit, walks t: out[k, j] = sum_{s <= k} x[s, j], as the
// CPU's out[0] = x[0] (a copy, not 0 + x[0]) then out[k] = x[k] + out[k-1].
KERNEL cumsum_steps(const float* x, float* out, int t, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float acc = 0.0f;
    for (int k = 0; k < t; k++) {
        const float xk = x[k * n + i];
        acc = k == 0 ? xk : xk + acc;
        out[k * n + i] = acc;
    }
}

// w is [t], g is [n], out is [t, n]. One thread per value: out[k, j] = w[k] g[j] (the
// decoder's dO[k] = w[k] dY).
KERNEL scale_steps(const float* w, const float* g, float* out, int t, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= t * n) return;
    out[i] = w[i / n] * g[i % n];
}

// x is [n], partial is [ceil(n/chunk)]. One thread per chunk, walks it: the sum of x^2 over
// the chunk in order. Accumulated in double, as the CPU's gradient norm sums (g*g) as f64;
// the host adds the partials in f64 (gradient clipping only).
KERNEL sum_squares_partial(const float* x, float* partial, int n, int chunk)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (n + chunk - 1) / chunk) return;
    const int end = (i + 1) * chunk < n ? (i + 1) * chunk : n;
    double acc = 0.0;
    for (int e = i * chunk; e < end; e++) acc += (double)(x[e] * x[e]);
    partial[i] = (float)acc;
}
