/* dropout.c — inverted dropout (Srivastava et al. 2014, JMLR 15:1929): kept units are
 * scaled by 1/(1-p) in training so inference needs no scaling. Masks are drawn serially
 * from the training RNG: the same seed gives the same masks for any thread count. */
#include "scarp/nn_layers.h"

void scarp_dropout_mask(float *mask, size_t n, float p, scarp_rng *rng)
{
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) mask[i] = scarp_rng_uniform(rng) < (double)p ? 0.0f : keep;
}

void scarp_dropout_forward(float *out, const float *inp, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

void scarp_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}
