// Average and max pooling over [C, H, W] frames, and the first-spike latch of first-spike
// pooling (~ kernels/cpu/pool.rs).
//
// x is [frames, c, in_h, in_w], y is [frames, c, oh, ow], oh = (in_h - k)/stride + 1 (no
// padding; rows and columns that do not fill a window are dropped). Forward kernels run one
// thread per output unit walking its window; backward kernels one thread per input element
// gathering from the windows that cover it (in window order, as the CPU scatters them), so
// no two threads write the same place.

// The windows along one axis that cover input position `pos`: lo..=hi (empty when lo > hi).
DEVICE void pool_windows_covering(int pos, int k, int stride, int out, int* lo, int* hi)
{
    // w covers pos when w*stride <= pos < w*stride + k
    *lo = pos >= k ? (pos - k) / stride + 1 : 0;
    *hi = pos / stride < out - 1 ? pos / stride : out - 1;
}

// x is [frames, c, in_h, in_w], y is [frames, c, oh, ow].
// One thread per output unit: its window's rows summed in row order, then scaled by 1/(k*k).
KERNEL avg_pool_forward(const float* x, float* y, int frames, int c, int in_h, int in_w, int k,
                        int stride)
{
    const int oh = (in_h - k) / stride + 1, ow = (in_w - k) / stride + 1;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * c * oh * ow) return;
    const int ox = i % ow, oy = i / ow % oh, fc = i / (ow * oh); // fc = frame * c + channel
    const float inv = 1.0f / (float)(k * k);
    // As the CPU: the output row starts at 0 and each input row of the window adds the sum of
    // its k-wide segment (a Rust f32 sum, which starts from -0.0).
    float acc = 0.0f;
    for (int di = 0; di < k; di++) {
        const float* row = x + (fc * in_h + oy * stride + di) * in_w + ox * stride;
        float seg = -0.0f;
        for (int dj = 0; dj < k; dj++) seg += row[dj];
        acc += seg;
    }
    y[i] = acc * inv;
}

// dy is [frames, c, oh, ow], dx (overwritten) is [frames, c, in_h, in_w].
// One thread per input element: dy * 1/(k*k) of every window covering it, 0 if none.
KERNEL avg_pool_backward(const float* dy, float* dx, int frames, int c, int in_h, int in_w, int k,
                         int stride)
{
    const int oh = (in_h - k) / stride + 1, ow = (in_w - k) / stride + 1;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * c * in_h * in_w) return;
    const int xx = i % in_w, yy = i / in_w % in_h, fc = i / (in_w * in_h);
    const float inv = 1.0f / (float)(k * k);
    const float* d = dy + fc * oh * ow;
    if (k == stride) {
        // Tiling windows: the CPU writes each covered input once (no accumulation), and 0 to
        // the rows and columns the tiling leaves over.
        dx[i] = yy < oh * k && xx < ow * k ? d[yy / k * ow + xx / k] * inv : 0.0f;
        return;
    }
    // Overlapping or gapped windows: the CPU accumulates into zeros in window order.
    int oy0, oy1, ox0, ox1;
    pool_windows_covering(yy, k, stride, oh, &oy0, &oy1);
    pool_windows_covering(xx, k, stride, ow, &ox0, &ox1);
    float acc = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) acc += d[oy * ow + ox] * inv;
    dx[i] = acc;
}

// x is [frames, c, in_h, in_w], y and arg are [frames, c, oh, ow]; arg is the index within
// the frame of the window's winner, the first in row-major window order among equal values.
// One thread per output unit, walks its window.
KERNEL max_pool_forward(const float* x, float* y, unsigned int* arg, int frames, int c, int in_h,
                        int in_w, int k, int stride)
{
    const int oh = (in_h - k) / stride + 1, ow = (in_w - k) / stride + 1;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * c * oh * ow) return;
    const int ox = i % ow, oy = i / ow % oh, fc = i / (ow * oh);
    const int channel = fc % c, frame = fc / c;
    const float* xf = x + frame * c * in_h * in_w;
    if (k == stride) {
        // As max_forward_tiling: the first tap initialises; later ones win only when strictly
        // greater (so a window of -inf or NaN still gets its first tap as winner).
        float best = 0.0f;
        unsigned int win = 0;
        for (int di = 0; di < k; di++) {
            const int start = (channel * in_h + oy * k + di) * in_w + ox * k;
            for (int dj = 0; dj < k; dj++) {
                const float v = xf[start + dj];
                if ((di == 0 && dj == 0) || v > best) {
                    best = v;
                    win = (unsigned int)(start + dj);
                }
            }
        }
        y[i] = best;
        arg[i] = win;
        return;
    }
    // As max_forward_windows: from -inf, a tap wins when strictly greater. A window where none
    // does (all -inf or NaN) keeps y = -inf and leaves arg as it was, like the CPU.
    float best = ttfs_neg_inf();
    unsigned int win = 0;
    int found = 0;
    for (int di = 0; di < k; di++) {
        const int row = (channel * in_h + oy * stride + di) * in_w + ox * stride;
        for (int dj = 0; dj < k; dj++) {
            const float v = xf[row + dj];
            if (v > best) {
                best = v;
                win = (unsigned int)(row + dj);
                found = 1;
            }
        }
    }
    y[i] = best;
    if (found) arg[i] = win;
}

// dy and arg are [frames, c, oh, ow], dx (overwritten) is [frames, c, in_h, in_w].
// One thread per input element: the sum, in window order from 0, of dy of every window
// covering it whose winner it is (the CPU's scatter dx[arg] += dy, gathered; no atomics).
KERNEL max_pool_backward(const float* dy, const unsigned int* arg, float* dx, int frames, int c,
                         int in_h, int in_w, int k, int stride)
{
    const int oh = (in_h - k) / stride + 1, ow = (in_w - k) / stride + 1;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= frames * c * in_h * in_w) return;
    const int in_len = c * in_h * in_w;
    const unsigned int me = (unsigned int)(i % in_len); // index within the frame, as arg
    const int xx = i % in_w, yy = i / in_w % in_h, fc = i / (in_w * in_h);
    const float* d = dy + fc * oh * ow;
    const unsigned int* a = arg + fc * oh * ow;
    int oy0, oy1, ox0, ox1;
    pool_windows_covering(yy, k, stride, oh, &oy0, &oy1);
    pool_windows_covering(xx, k, stride, ow, &ox0, &ox1);
    float acc = 0.0f;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++)
            if (a[oy * ow + ox] == me) acc += d[oy * ow + ox];
    dx[i] = acc;
}

// y is [t, n] (in place), first is [n]. One thread per unit, walks t: every step after the
// unit's first nonzero one is zeroed; first gets that step (t for a unit that stays 0).
// As the CPU's branch-free latch_first (NaN counts as nonzero there too).
KERNEL latch_first(float* y, unsigned int* first, int t, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned int f = (unsigned int)t;
    for (int s = 0; s < t; s++) {
        const unsigned int step = (unsigned int)s;
        const int at = s * n + i;
        const int latched = f < step;
        const float kept = latched ? 0.0f : y[at];
        y[at] = kept;
        f = !latched && kept != 0.0f ? step : f;
    }
    first[i] = f;
}

// dy and out are [t, n], first is [n]. One thread per element:
// out[s, j] = dy[s, j] where s <= first[j], else 0 (backward of the latch).
KERNEL mask_after_first(const float* dy, const unsigned int* first, float* out, int t, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= t * n) return;
    const unsigned int step = (unsigned int)(i / n);
    out[i] = first[i % n] < step ? 0.0f : dy[i];
}
