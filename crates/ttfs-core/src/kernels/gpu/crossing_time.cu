// Temporal decoding at the exact threshold-crossing time (~ kernels/cpu/crossing_time.rs, whose
// comment derives it). One thread per output unit walks the steps in the CPU's order, so the
// bits agree.

#define CROSSING_MIN_RISE 0.1f // crossing_time.rs MIN_RISE

// Rust's f32::max for the finite operands here (the second when they are equal is the same value).
DEVICE float crossing_max(float a, float b) { return a > b ? a : b; }

// s, v, weff are [t, n]; w, delta are [t]; logits is [n].
KERNEL crossing_time_forward(const float* s, const float* v, const float* w, const float* delta,
                             float* weff, float* logits, int t, int n)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    float acc = 0.0f;
    for (int k = 0; k < t; k++) {
        const int at = k * n + j;
        const float prev = k == 0 ? 0.0f : v[at - n];
        const float rise = crossing_max(v[at] - prev, CROSSING_MIN_RISE);
        const float f = ttfs_clamp((1.0f - prev) / rise, 0.0f, 1.0f);
        const float we = w[k] + (1.0f - f) * delta[k];
        weff[at] = we;
        acc += s[at] * we;
    }
    logits[j] = acc;
}

// s, v, weff, dout, dextra are [t, n]; delta is [t]; dlogits is [n]; dout and dextra are
// overwritten.
KERNEL crossing_time_backward(const float* s, const float* v, const float* delta,
                              const float* weff, const float* dlogits, float* dout,
                              float* dextra, int t, int n)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    const float dy = dlogits[j];
    float later = 0.0f; // sum over later steps of a[k]
    for (int k = t - 1; k >= 0; k--) {
        const int at = k * n + j;
        dout[at] = dy * weff[at];
        const float prev = k == 0 ? 0.0f : v[at - n];
        const float rise = crossing_max(v[at] - prev, CROSSING_MIN_RISE);
        const float raw = (1.0f - prev) / rise;
        const float f = ttfs_clamp(raw, 0.0f, 1.0f);
        const float a = (raw > 0.0f && raw < 1.0f) ? dy * s[at] * delta[k] / rise : 0.0f;
        const float own = (v[at] - prev >= CROSSING_MIN_RISE) ? a * f : 0.0f;
        dextra[at] = later + own;
        later += a;
    }
}
