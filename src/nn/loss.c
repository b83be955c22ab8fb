/* loss.c — binary cross-entropy from logits in the numerically stable form
 * max(z,0) − z·y + log1p(e^{−|z|}) (the same as Keras' sigmoid + BCE and PyTorch's
 * BCEWithLogitsLoss), and the L2 kernel penalty λ·Σw² (Keras kernel_regularizer l2). */
#include <math.h>

#include "scarp/nn_layers.h"

double scarp_bce_logits_forward(const float *logit, const float *label, int64_t B)
{
    double s = 0.0;
    for (int64_t i = 0; i < B; i++) {
        const double z = logit[i], y = label[i];
        s += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
    }
    return B > 0 ? s / (double)B : 0.0;
}

void scarp_bce_logits_backward(float *dlogit, const float *logit, const float *label, int64_t B,
                               float scale)
{
    for (int64_t i = 0; i < B; i++) {
        const double p = 1.0 / (1.0 + exp(-(double)logit[i]));
        dlogit[i] += (float)((p - label[i]) * scale);
    }
}

double scarp_l2_penalty(const float *w, size_t n, float lambda)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)w[i] * w[i];
    return lambda * s;
}

void scarp_l2_backward(float *dw, const float *w, size_t n, float lambda)
{
    const float k = 2.0f * lambda;
    for (size_t i = 0; i < n; i++) dw[i] += k * w[i];
}
