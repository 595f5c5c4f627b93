// Softmax cross entropy with label smoothing (~ kernels/cpu/loss.rs; loss.rs): the target puts
// 1 - smoothing + smoothing/C on the label and smoothing/C on every other class.

// logits, dlogits are [b, classes]; labels, losses are [b]. One thread per sample, walks its
// classes: losses[i] = log_sum - target_z (the host averages them),
// dlogits = (softmax(z) - q) / b. expf and logf are libm's on the CPU and CUDA's on the GPU,
// which round differently in the last bit or two: only the emulation is exact here.
KERNEL cross_entropy(const float* logits, const unsigned int* labels, float* dlogits,
                     float* losses, int b, int classes, float smoothing)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= b) return;
    const float* z = logits + i * classes;
    float* d = dlogits + i * classes;
    const int y = (int)labels[i];
    const float off = smoothing / (float)classes;
    const float on = 1.0f - smoothing + smoothing / (float)classes;
    float zmax = ttfs_neg_inf();
    for (int j = 0; j < classes; j++) zmax = fmaxf(zmax, z[j]);
    float sum = -0.0f; // a Rust f32 sum
    for (int j = 0; j < classes; j++) sum += expf(z[j] - zmax);
    const float log_sum = logf(sum) + zmax;
    // -sum_j q_j log p_j = log_sum - sum_j q_j z_j (the one-hot case kept exact).
    float target_z;
    if (smoothing == 0.0f) {
        target_z = z[y];
    } else {
        float mixed = -0.0f;
        for (int j = 0; j < classes; j++) mixed += off * z[j];
        target_z = mixed + (on - off) * z[y];
    }
    losses[i] = log_sum - target_z;
    for (int j = 0; j < classes; j++)
        d[j] = (expf(z[j] - log_sum) - (j == y ? on : off)) / (float)b;
}
