// Optimizer steps (~ kernels/cpu/optim.rs; optim.rs): the loop body of each kind, one thread
// per parameter. The host computes the step constants as the CPU does.

// value, grad, m, v are [n]. One thread per parameter: one Adam / AdamW step.
// clip: gradient scale from clipping (1: none); l2: weight decay added to the gradient (Adam);
// decoupled: lr * wd (AdamW); step: lr / (1 - beta1^t); inv_bc2: 1 / (1 - beta2^t).
KERNEL adam_update(float* value, const float* grad, float* m, float* v, int n, float clip,
                   float l2, float decoupled, float beta1, float beta2, float eps, float step,
                   float inv_bc2)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = grad[i] * clip + l2 * value[i];
    const float x = value[i] - decoupled * value[i];
    m[i] = beta1 * m[i] + (1.0f - beta1) * g;
    v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
    value[i] = x - step * m[i] / (sqrtf(v[i] * inv_bc2) + eps);
}

// value, grad, m are [n]. One thread per parameter: one SGD step with (Nesterov) momentum,
// weight decay added to the gradient.
KERNEL sgd_update(float* value, const float* grad, float* m, int n, float clip,
                  float weight_decay, float momentum, int nesterov, float lr)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = grad[i] * clip + weight_decay * value[i];
    m[i] = momentum * m[i] + g;
    const float d = nesterov ? g + momentum * m[i] : m[i];
    value[i] -= lr * d;
}
