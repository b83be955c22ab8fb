/* dense.c — fully connected layer out = inp · W + b (Keras kernel layout (In, Out)) by
 * sgemm, its naive twin, and ReLU. Bias gradients are summed over the batch in a fixed
 * order, so the result does not depend on the thread count. */

#include "scarp/nn_layers.h"

void scarp_relu_forward(float *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void scarp_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

void scarp_dense_forward(float *out, const float *inp, const float *w, const float *b, int64_t B,
                         int In, int Out)
{
    for (int64_t i = 0; i < B; i++)
        for (int o = 0; o < Out; o++) out[i * Out + o] = b[o];
    // out (B, Out) += inp (B, In) · w (In, Out)
    scarp_sgemm(0, 0, (int)B, Out, In, 1.0f, inp, In, w, Out,
                1.0f, out, Out);
}

void scarp_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int64_t B, int In, int Out)
{
    // dw (In, Out) += inpᵀ (In, B) · dout (B, Out)
    scarp_sgemm(1, 0, In, Out, (int)B, 1.0f, inp, In, dout, Out,
                1.0f, dw, Out);
    for (int o = 0; o < Out; o++) {
        double s = 0.0;
        for (int64_t i = 0; i < B; i++) s += dout[i * Out + o];
        db[o] += (float)s;
    }
    // dinp (B, In) += dout (B, Out) · wᵀ (Out, In)
    if (dinp)
        scarp_sgemm(0, 1, (int)B, In, Out, 1.0f, dout, Out, w,
                    Out, 1.0f, dinp, In);
}

void scarp_dense_forward_naive(float *out, const float *inp, const float *w, const float *b,
                               int64_t B, int In, int Out)
{
    for (int64_t i = 0; i < B; i++)
        for (int o = 0; o < Out; o++) {
            double s = b[o];
            for (int k = 0; k < In; k++) s += (double)inp[i * In + k] * w[(int64_t)k * Out + o];
            out[i * Out + o] = (float)s;
        }
}

void scarp_dense_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                                const float *inp, const float *w, int64_t B, int In, int Out)
{
    for (int64_t i = 0; i < B; i++)
        for (int o = 0; o < Out; o++) {
            const float d = dout[i * Out + o];
            db[o] += d;
            for (int k = 0; k < In; k++) {
                dw[(int64_t)k * Out + o] += inp[i * In + k] * d;
                if (dinp) dinp[i * In + k] += w[(int64_t)k * Out + o] * d;
            }
        }
}
