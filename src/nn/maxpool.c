/* maxpool.c — 2×2 max-pooling, stride 2, floor (an odd last row/column is dropped, as
 * Keras 'valid' pooling and PyTorch's default do); ties go to the first maximum in scan
 * order, as in PyTorch's CPU kernel. */
#include "scarp/nn_layers.h"

void scarp_maxpool2_forward(float *out, int32_t *argmax, const float *inp, int64_t P, int h, int wd)
{
    const int hp = h / 2, wp = wd / 2;
#pragma omp parallel for schedule(static) if (P * h * wd > (1 << 15))
    for (int64_t p = 0; p < P; p++) {
        const float *plane = inp + p * h * wd;
        float *o = out + p * hp * wp;
        int32_t *a = argmax + p * hp * wp;
        for (int y = 0; y < hp; y++)
            for (int x = 0; x < wp; x++) {
                int32_t best = (2 * y) * wd + 2 * x;
                float m = plane[best];
                const int32_t cand[3] = {best + 1, best + wd, best + wd + 1};
                for (int k = 0; k < 3; k++)
                    if (plane[cand[k]] > m) { m = plane[cand[k]]; best = cand[k]; }
                o[y * wp + x] = m;
                a[y * wp + x] = best;
            }
    }
}

void scarp_maxpool2_backward(float *dinp, const float *dout, const int32_t *argmax, int64_t P,
                             int h, int wd)
{
    const int hp = h / 2, wp = wd / 2;
#pragma omp parallel for schedule(static) if (P * h * wd > (1 << 15))
    for (int64_t p = 0; p < P; p++) {
        float *d = dinp + p * h * wd;
        const float *g = dout + p * hp * wp;
        const int32_t *a = argmax + p * hp * wp;
        for (int i = 0; i < hp * wp; i++) d[a[i]] += g[i];
    }
}
