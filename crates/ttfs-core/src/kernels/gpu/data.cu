// The network input of a batch of 8-bit images kept on the GPU (~ cpu/gather.rs, and the
// host assembly of data/batch.rs with data/augment.rs and encoding.rs).
//
// data: every image's bytes in a row, four to a word (little end first); idx [b];
// place [b, 7] = flip, dy, dx (two's complement), cutout rows y0..y1 and columns x0..x1;
// norm [2c] = means then stds; out [1, b, f] (direct) or [t, b, f] (latency), f = c*h*w.
// One thread per (sample, value); for the latency code it writes that value's T steps.
KERNEL gather_images(const unsigned int* data, const unsigned int* idx, const unsigned int* place,
                     const float* norm, float* out, int b, int c, int h, int w, float scale,
                     int normalize, int latency, int t, int zero_silent)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int f = c * h * w;
    if (i >= b * f) return;
    int j = i / f, k = i % f;
    int ch = k / (h * w), y = (k / w) % h, x = k % w;
    const unsigned int* p = place + 7 * j;
    int flip = (int)p[0], dy = (int)p[1], dx = (int)p[2];
    // out[y][x] = in[y + dy][x' + dx], x' = x or w - 1 - x; zero outside and in the cutout
    int sy = y + dy;
    int sx = (flip ? w - 1 - x : x) + dx;
    int cut = (unsigned int)y >= p[3] && (unsigned int)y < p[4] && (unsigned int)x >= p[5] &&
              (unsigned int)x < p[6];
    unsigned int v = 0;
    if (sy >= 0 && sy < h && sx >= 0 && sx < w && !cut) {
        unsigned long long byte =
            (unsigned long long)idx[j] * (unsigned long long)f + (unsigned long long)((ch * h + sy) * w + sx);
        v = (data[byte >> 2] >> ((unsigned int)(byte & 3ull) * 8u)) & 255u;
    }
    float xv = normalize ? ((float)v * scale - norm[ch]) / norm[c + ch] : (float)v * scale;
    if (!latency) {
        out[i] = xv;
        return;
    }
    // The latency code: one spike at round((1 - clamp(x, 0, 1)) * (T - 1)); a zero stays silent
    // when asked (encoding.rs).
    int step = -1;
    if (!(xv <= 0.0f && zero_silent)) {
        float cl = fminf(fmaxf(xv, 0.0f), 1.0f);
        step = (int)roundf((1.0f - cl) * (float)(t - 1));
    }
    for (int s = 0; s < t; s++) {
        out[(unsigned long long)s * (unsigned long long)(b * f) + (unsigned long long)i] =
            s == step ? 1.0f : 0.0f;
    }
}
