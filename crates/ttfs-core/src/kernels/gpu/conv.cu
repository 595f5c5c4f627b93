// Convolution as im2col + one cuBLAS GEMM per chunk of frames (~ kernels/cpu/conv.rs), and
// the box fold of a following average pooling (~ kernels/cpu/fold.rs, see layers/conv2d.rs).
//
// The GPU's im2col matrix holds a whole chunk of frames side by side, so that one GEMM
// covers them all: col[r, f*P + p], r = (c*k + i)*k + j < in_c*k*k = PL (one row per weight
// of an output channel), p = oy*ow + ox < P = oh*ow, f < frames. The GEMM then gives
// yt[oc, f*P + p], channels outermost, which channels_to_frames turns into the frames'
// [oc, oh, ow] layout (and frames_to_channels back, for the gradient).

// x is [frames, in_c, in_h, in_w], col is [PL, frames*P].
// One thread per col entry: col[r, f*P + p] = x[f][c][oy*stride + i - pad][ox*stride + j - pad],
// 0 outside the map (the zero padding).
KERNEL im2col(const float* x, float* col, int frames, int in_c, int in_h, int in_w, int k,
              int stride, int pad, int oh, int ow)
{
    const int p_len = oh * ow, cols = frames * p_len;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= in_c * k * k * cols) return;
    const int r = i / cols, f = i % cols / p_len, p = i % p_len;
    const int c = r / (k * k), di = r / k % k, dj = r % k;
    const int iy = p / ow * stride + di - pad, ix = p % ow * stride + dj - pad;
    const int inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
    col[i] = inside ? x[((f * in_c + c) * in_h + iy) * in_w + ix] : 0.0f;
}

// col is [PL, frames*P], dx (overwritten) is [frames, in_c, in_h, in_w]: the adjoint of im2col.
// One thread per input element: the sum from 0 of every col entry that reads it, in (i, j)
// order (the order in which the CPU's col2im adds them; each tap reads it at most once).
KERNEL col2im(const float* col, float* dx, int frames, int in_c, int in_h, int in_w, int k,
              int stride, int pad, int oh, int ow)
{
    const int p_len = oh * ow, cols = frames * p_len;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * in_c * in_h * in_w) return;
    const int xx = i % in_w, yy = i / in_w % in_h, c = i / (in_w * in_h) % in_c;
    const int f = i / (in_w * in_h * in_c);
    float acc = 0.0f;
    for (int di = 0; di < k; di++) {
        // Output row oy reads input row yy through tap di when oy*stride + di - pad == yy.
        const int ty = yy + pad - di;
        if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue;
        const int oy = ty / stride;
        for (int dj = 0; dj < k; dj++) {
            const int tx = xx + pad - dj;
            if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue;
            const int r = (c * k + di) * k + dj;
            acc += col[r * cols + f * p_len + oy * ow + tx / stride];
        }
    }
    dx[i] = acc;
}

// yt is [oc, frames*p] (the GEMM's output), bias is [oc], y is [frames, oc, p].
// One thread per output value: y[f, o, q] = yt[o, f*p + q] + bias[o]. As the CPU's add_bias,
// a zero bias is not added (so -0.0 stays -0.0).
KERNEL channels_to_frames(const float* yt, const float* bias, float* y, int frames, int oc, int p)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * oc * p) return;
    const int q = i % p, o = i / p % oc, f = i / (p * oc);
    const float v = yt[o * frames * p + f * p + q], b = bias[o];
    y[i] = b != 0.0f ? v + b : v;
}

// y is [frames, oc, p], yt is [oc, frames*p]. One thread per value: yt[o, f*p + q] = y[f, o, q].
KERNEL frames_to_channels(const float* y, float* yt, int frames, int oc, int p)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * oc * p) return;
    const int q = i % p, o = i / p % oc, f = i / (p * oc);
    yt[o * frames * p + f * p + q] = y[i];
}

// w is [rows, k, k], folded is [rows, kf, kf], kf = s*(pool - 1) + k.
// One thread per folded tap (u, v): the gather form of the CPU's fold_box,
//   folded[r][u][v] = sum over a, b < pool of (1/pool^2) * w[r][u - s*a][v - s*b]
// from 0, (a, b) in order, each term scaled as the CPU scales it.
KERNEL fold_box(const float* w, float* folded, int rows, int k, int s, int pool)
{
    const int kf = s * (pool - 1) + k;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * kf * kf) return;
    const int v = i % kf, u = i / kf % kf, r = i / (kf * kf);
    const float scale = 1.0f / (float)(pool * pool);
    const float* wr = w + r * k * k;
    float acc = 0.0f;
    for (int a = 0; a < pool; a++) {
        const int di = u - s * a;
        if (di < 0 || di >= k) continue;
        for (int b = 0; b < pool; b++) {
            const int dj = v - s * b;
            if (dj < 0 || dj >= k) continue;
            acc += scale * wr[di * k + dj];
        }
    }
    folded[i] = acc;
}

// dfolded is [rows, kf, kf], dw (overwritten) is [rows, k, k]: the adjoint of fold_box.
// One thread per weight (i, j): dw[r][i][j] = sum over a, b < pool of
// (1/pool^2) * dfolded[r][s*a + i][s*b + j], from 0, (a, b) in order, as the CPU.
KERNEL unfold_box_grad(const float* dfolded, float* dw, int rows, int k, int s, int pool)
{
    const int kf = s * (pool - 1) + k;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * k * k) return;
    const int dj = i % k, di = i / k % k, r = i / (k * k);
    const float scale = 1.0f / (float)(pool * pool);
    const float* fr = dfolded + r * kf * kf;
    float acc = 0.0f;
    for (int a = 0; a < pool; a++)
        for (int b = 0; b < pool; b++) acc += scale * fr[(s * a + di) * kf + s * b + dj];
    dw[i] = acc;
}
