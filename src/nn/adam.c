/* adam.c — Adam (Kingma & Ba 2015, arXiv:1412.6980) in the form Keras/TensorFlow apply it:
 * the bias corrections fold into the step size, lr_t = lr·√(1−β2^t)/(1−β1^t), and ε is
 * added to √v (not to the bias-corrected √v̂ as in PyTorch). One flat loop over the slab. */
#include <math.h>

#include "scarp/nn_layers.h"

void scarp_adam_update(float *w, const float *g, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, int64_t t)
{
    const double lr_t = lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t));
    const float lrf = (float)lr_t, b1 = beta1, b2 = beta2;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= lrf * mi / (sqrtf(vi) + eps);
    }
}
