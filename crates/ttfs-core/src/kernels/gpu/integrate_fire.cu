// The fused integrate-and-fire kernel (~ kernels/cpu/integrate_fire.rs), with the surrogates
// of surrogate.rs. Non-leaky IF, threshold 1, time outermost (`[T, n]`):
//
//   v[t] = v[t-1] + I[t]                      (fire-once: no reset is needed)
//   h[t] = H(v[t] - 1)
//   m[t] = 1 - sum_{k<t} s[k]                 (fire-once mask; 1 until the neuron fired)
//   s[t] = h[t] * m[t]
//
// One thread per neuron walks T, doing what the CPU's inner loop does for one unit, in the
// same order, so spikes agree exactly and potentials and gradients to the bit (on the GPU, but
// for smooth mode's expf / atanf, see surrogate_primitive).

#define IF_THRESHOLD 1.0f

// integrate_fire.rs SPENT (FLT_MAX): the potential stored after the spike of a hard fire-once
// neuron with the mask detached, where every surrogate's derivative is exactly 0, so that
// backward reads the mask from the potentials (and neither the spikes nor their total).
#define IF_SPENT 3.40282347e+38f

// Surrogate kinds as the launcher passes them (surrogate.rs SurrogateKind).
#define SURROGATE_SIGMOID 0
#define SURROGATE_ATAN 1
#define SURROGATE_TRIANGLE 2
#define SURROGATE_RECTANGLE 3

// surrogate.rs exp: e^x without libm (Cephes' expf scheme), copied operation by operation so
// that the sigmoid surrogate gradient has the CPU's bits. x = n ln2 + r, a degree-6
// polynomial for e^r, 2^n built in the exponent bits; inputs clamped to [-87, 88].
DEVICE float surrogate_exp(float x)
{
    const float round = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
    x = fminf(fmaxf(x, -87.0f), 88.0f);
    const float shifted = x * 1.44269504088896340736f + round; // log2(e)
    const float n = shifted - round; // round(x log2 e), exactly
    const float r = x - n * 0.6933594f + n * 2.1219444e-4f;
    float p = 1.9875691e-4f;
    p = p * r + 1.3981999e-3f;
    p = p * r + 8.333452e-3f;
    p = p * r + 4.1665796e-2f;
    p = p * r + 0.16666665f;
    p = p * r + 0.5f;
    const float e = p * r * r + r + 1.0f;
    // The low bits of `shifted` hold n (two's complement, offset by 2^22): 2^n is n + 127
    // placed in the exponent field.
    const unsigned int n_bits = ttfs_float_bits(shifted) - ttfs_float_bits(round);
    return e * ttfs_bits_float((n_bits + 127u) << 23);
}

// Surrogate::grad: the surrogate derivative dH/dx, x = v - threshold, cut to |x| < band
// (infinite band: uncut).
DEVICE float surrogate_kind_grad(int kind, float a, float x);
DEVICE float surrogate_grad(int kind, float a, float band, float x)
{
    const float g = surrogate_kind_grad(kind, a, x);
    return fabsf(x) < band ? g : 0.0f;
}

DEVICE float surrogate_kind_grad(int kind, float a, float x)
{
    if (kind == SURROGATE_SIGMOID) {
        // alpha sig(alpha x) (1 - sig(alpha x))
        const float s = 1.0f / (1.0f + surrogate_exp(-a * x));
        return a * s * (1.0f - s);
    }
    if (kind == SURROGATE_ATAN) {
        const float u = 1.57079632679489661923f * a * x; // pi/2
        return 0.5f * a / (1.0f + u * u);
    }
    if (kind == SURROGATE_TRIANGLE) {
        const float h = 0.5f * a;
        return fmaxf(h * (1.0f - h * fabsf(x)), 0.0f);
    }
    // rectangle
    return fabsf(x) < 1.0f / a ? 0.5f * a : 0.0f;
}

// Surrogate::primitive: the smooth step whose derivative is surrogate_grad (smooth mode, for
// gradient checks only). expf and atanf are libm's on the CPU and CUDA's on the GPU, which
// round differently in the last bit or two: only the emulation is exact here. With a finite
// band, the kind's step clamped to the band: P(clamp(x, -band, band)) - P(-band).
DEVICE float surrogate_kind_primitive(int kind, float a, float x);
DEVICE float surrogate_primitive(int kind, float a, float band, float x)
{
    if (band < ttfs_pos_inf())
        return surrogate_kind_primitive(kind, a, ttfs_clamp(x, -band, band))
            - surrogate_kind_primitive(kind, a, -band);
    return surrogate_kind_primitive(kind, a, x);
}

DEVICE float surrogate_kind_primitive(int kind, float a, float x)
{
    if (kind == SURROGATE_SIGMOID) return 1.0f / (1.0f + expf(-a * x));
    if (kind == SURROGATE_ATAN)
        return 0.5f + atanf(1.57079632679489661923f * a * x) / 3.14159265358979323846f;
    if (kind == SURROGATE_TRIANGLE) {
        const float h = 0.5f * a;
        const float u = ttfs_clamp(h * x, -1.0f, 1.0f);
        if (u < 0.0f) return 0.5f * (1.0f + u) * (1.0f + u);
        return 1.0f - 0.5f * (1.0f - u) * (1.0f - u);
    }
    // rectangle
    return ttfs_clamp(0.5f + 0.5f * a * x, 0.0f, 1.0f);
}

// Surrogate::spike: H(x) (spike when v >= threshold), or the smooth step when `smooth`.
DEVICE float surrogate_spike(int kind, float a, float band, float x, int smooth)
{
    if (smooth) return surrogate_primitive(kind, a, band, x);
    return x >= 0.0f ? 1.0f : 0.0f;
}

// cur, s, v are [t, n]; v[t] is the potential before the spike decision (kept for backward;
// IF_SPENT after the spike where integrate_fire.rs stores_spent). One thread per neuron, walks t.
KERNEL if_forward(const float* cur, float* s, float* v, int t, int n, int kind, float alpha, float band,
                  int fire_once, int mask_grad, int smooth)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int stores_spent = fire_once && !mask_grad && !smooth;
    float pot = 0.0f;   // membrane potential
    float spent = 0.0f; // sum of spikes so far (the mask is 1 - spent)
    for (int step = 0; step < t; step++) {
        const int at = step * n + i;
        const float vj = pot + cur[at];
        v[at] = (stores_spent && spent != 0.0f) ? IF_SPENT : vj;
        if (fire_once) {
            pot = vj;
            const float sj =
                surrogate_spike(kind, alpha, band, vj - IF_THRESHOLD, smooth) * (1.0f - spent);
            spent += sj;
            s[at] = sj;
        } else {
            // Reset by subtraction, detached (v[t+1] = v[t] - s[t] + I[t+1]).
            const float sj = surrogate_spike(kind, alpha, band, vj - IF_THRESHOLD, smooth);
            pot = vj - sj;
            s[at] = sj;
        }
    }
}

// s, v, ds, dcur are [t, n]; dcur is overwritten. One thread per neuron, walks t backwards.
//
// With G[t] the total gradient reaching s[t] (directly and, when the mask is differentiated,
// through every later mask):
//   G[t]      = ds[t] - sum_{k>t} G[k] h[k]          (mask_grad; else G[t] = ds[t])
//   dL/dv[t]  = G[t] m[t] H'(v[t] - 1) + dL/dv[t+1]  (v[t+1] = v[t] + I[t+1])
//   dL/dI[t]  = dL/dv[t]
KERNEL if_backward(const float* s, const float* v, const float* ds, float* dcur, int t, int n,
                   int kind, float alpha, float band, int fire_once, int mask_grad, int smooth)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float total = 0.0f;        // sum over all t of s
    float suffix = 0.0f;       // sum over k >= t of s
    float dv = 0.0f;           // dL/dv[t]
    float through_mask = 0.0f; // sum_{k>t} G[k] h[k]
    const int stores_spent = fire_once && !mask_grad && !smooth;
    if (fire_once && !stores_spent) {
        for (int step = 0; step < t; step++) total += s[step * n + i];
    }
    for (int step = t - 1; step >= 0; step--) {
        const int at = step * n + i;
        const float sg = surrogate_grad(kind, alpha, band, v[at] - IF_THRESHOLD); // H'(v[t] - 1)
        if (stores_spent) {
            // The common case: the mask is in the potentials (sg = 0 after the spike).
            dv += ds[at] * sg;
            dcur[at] = dv;
            continue;
        }
        if (fire_once && !mask_grad) {
            // Smooth mode, as the CPU's branch-free loop: after the spike the mask is 0
            // and the term vanishes (the surrogate is finite), so it is added regardless.
            suffix += s[at];
            const float mask = 1.0f - (total - suffix);
            dv += ds[at] * mask * sg;
            dcur[at] = dv;
            continue;
        }
        const float x = v[at] - IF_THRESHOLD;
        float mask = 1.0f;
        if (fire_once) {
            suffix += s[at];
            mask = 1.0f - (total - suffix);
        }
        float g = ds[at];
        if (fire_once && mask_grad) {
            g -= through_mask;
            through_mask += g * surrogate_spike(kind, alpha, band, x, smooth);
        }
        if (mask != 0.0f) dv += g * mask * sg;
        dcur[at] = dv;
    }
}

// ---- a current that is the same at every step (~ integrate_fire.rs forward_constant,
// backward_constant): c is [n], one thread per neuron; fire-once with the mask detached only.
// Backward keeps the thread's potentials, spikes and per-step gradients in local arrays of
// IF_CONSTANT_MAX_STEPS (the model takes this path only for t <= IF_CONSTANT_MAX_STEPS,
// kernels/mod.rs CONSTANT_INPUT_MAX_STEPS).

#define IF_CONSTANT_MAX_STEPS 64

// c is [n]; s is [t, n].
KERNEL if_forward_constant(const float* c, float* s, int t, int n, int kind, float alpha, float band,
                           int smooth)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float pot = 0.0f;
    float spent = 0.0f;
    for (int step = 0; step < t; step++) {
        const float vj = pot + c[i];
        pot = vj;
        const float sj = surrogate_spike(kind, alpha, band, vj - IF_THRESHOLD, smooth) * (1.0f - spent);
        spent += sj;
        s[step * n + i] = sj;
    }
}

// c, dc are [n]; ds is [t, n]; dc is overwritten: sum over steps (in order, from 0) of
// if_backward's dL/dI[t] on the repeated current.
KERNEL if_backward_constant(const float* c, const float* ds, float* dc, int t, int n, int kind,
                            float alpha, float band, int smooth)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n || t > IF_CONSTANT_MAX_STEPS) return;
    float v[IF_CONSTANT_MAX_STEPS];
    float s[IF_CONSTANT_MAX_STEPS];
    float pot = 0.0f;
    float total = 0.0f;
    for (int step = 0; step < t; step++) {
        const float vj = pot + c[i];
        pot = vj;
        v[step] = vj;
        const float sj = surrogate_spike(kind, alpha, band, vj - IF_THRESHOLD, smooth) * (1.0f - total);
        total += sj;
        s[step] = sj;
    }
    float suffix = 0.0f;
    float dv = 0.0f;
    for (int step = t - 1; step >= 0; step--) {
        const float sg = surrogate_grad(kind, alpha, band, v[step] - IF_THRESHOLD);
        suffix += s[step];
        const float mask = 1.0f - (total - suffix);
        dv += ds[step * n + i] * mask * sg;
        v[step] = dv; // dL/dI[step]; the potential is no longer needed
    }
    float acc = 0.0f;
    for (int step = 0; step < t; step++) acc += v[step];
    dc[i] = acc;
}
