/* conv2d.c — 3×3 'valid' convolution (cross-correlation, stride 1) by im2col + sgemm over
 * the whole batch in the channel-major (C, B, h, w) layout (Chellapilla, Puri & Simard 2006,
 * "High performance convolutional neural networks for document processing"), and the
 * direct-loop *_naive twin the tests compare against. */
#include <string.h>

#include "scarp/nn_layers.h"

/* Below this many elements a loop runs on one thread: a fork costs more than it saves. */
#define PARALLEL_MIN (1 << 15)

/* col (Ci·9, B·ho·wo): row k = (ci·3 + ky)·3 + kx, column (b·ho + oy)·wo + ox. */
static void im2col3x3(float *restrict col, const float *restrict inp, int B, int Ci, int h, int wd)
{
    const int ho = h - 2, wo = wd - 2;
    const int64_t BP = (int64_t)B * ho * wo;
#pragma omp parallel for schedule(static) if (BP * Ci * 9 > PARALLEL_MIN)
    for (int k = 0; k < Ci * 9; k++) {
        const int ci = k / 9, ky = (k / 3) % 3, kx = k % 3;
        float *restrict row = col + (int64_t)k * BP;
        for (int b = 0; b < B; b++) {
            const float *plane = inp + ((int64_t)ci * B + b) * h * wd;
            for (int oy = 0; oy < ho; oy++) {
                const float *src = plane + (int64_t)(oy + ky) * wd + kx;
                float *dst = row + ((int64_t)b * ho + oy) * wo;
                for (int ox = 0; ox < wo; ox++) dst[ox] = src[ox];
            }
        }
    }
}

/* dinp += col2im(dcol); parallel over input channels (each owns its 9 rows: no races,
 * fixed summation order ky, kx). */
static void col2im3x3_add(float *restrict dinp, const float *restrict dcol, int B, int Ci, int h, int wd)
{
    const int ho = h - 2, wo = wd - 2;
    const int64_t BP = (int64_t)B * ho * wo;
#pragma omp parallel for schedule(static) if (BP * Ci * 9 > PARALLEL_MIN)
    for (int ci = 0; ci < Ci; ci++) {
        for (int kk = 0; kk < 9; kk++) {
            const int ky = kk / 3, kx = kk % 3;
            const float *restrict row = dcol + ((int64_t)ci * 9 + kk) * BP;
            for (int b = 0; b < B; b++) {
                float *plane = dinp + ((int64_t)ci * B + b) * h * wd;
                for (int oy = 0; oy < ho; oy++) {
                    float *dst = plane + (int64_t)(oy + ky) * wd + kx;
                    const float *src = row + ((int64_t)b * ho + oy) * wo;
                    for (int ox = 0; ox < wo; ox++) dst[ox] += src[ox];
                }
            }
        }
    }
}

void scarp_conv3x3_forward(float *out, float *col, const float *inp, const float *w,
                           const float *bias, int B, int Ci, int h, int wd, int Co)
{
    const int ho = h - 2, wo = wd - 2, K = Ci * 9;
    const int64_t BP = (int64_t)B * ho * wo;
    im2col3x3(col, inp, B, Ci, h, wd);
    // out (Co, BP) = w (Co, K) · col (K, BP)
    scarp_sgemm(0, 0, Co, (int)BP, K, 1.0f, w, K, col,
                (int)BP, 0.0f, out, (int)BP);
#pragma omp parallel for schedule(static) if (BP * Co > PARALLEL_MIN)
    for (int co = 0; co < Co; co++) {
        float *row = out + (int64_t)co * BP;
        const float bco = bias[co];
        for (int64_t j = 0; j < BP; j++) row[j] += bco;
    }
}

void scarp_conv3x3_backward(float *dinp, float *dw, float *db, float *dcol, const float *dout,
                            const float *col, const float *w, int B, int Ci, int h, int wd, int Co)
{
    const int ho = h - 2, wo = wd - 2, K = Ci * 9;
    const int64_t BP = (int64_t)B * ho * wo;
    // dw (Co, K) += dout (Co, BP) · colᵀ (BP, K)
    scarp_sgemm(0, 1, Co, K, (int)BP, 1.0f, dout, (int)BP, col,
                (int)BP, 1.0f, dw, K);
#pragma omp parallel for schedule(static) if (BP * Co > PARALLEL_MIN)
    for (int co = 0; co < Co; co++) {
        const float *row = dout + (int64_t)co * BP;
        double s = 0.0;
        for (int64_t j = 0; j < BP; j++) s += row[j];
        db[co] += (float)s;
    }
    if (dinp) {
        // dcol (K, BP) = wᵀ (K, Co) · dout (Co, BP)
        scarp_sgemm(1, 0, K, (int)BP, Co, 1.0f, w, K, dout,
                    (int)BP, 0.0f, dcol, (int)BP);
        col2im3x3_add(dinp, dcol, B, Ci, h, wd);
    }
}

void scarp_conv3x3_forward_naive(float *out, const float *inp, const float *w, const float *bias,
                                 int B, int Ci, int h, int wd, int Co)
{
    const int ho = h - 2, wo = wd - 2;
    for (int co = 0; co < Co; co++)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double s = bias[co];
                    for (int ci = 0; ci < Ci; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                                s += (double)w[((co * Ci + ci) * 3 + ky) * 3 + kx] *
                                     inp[(((int64_t)ci * B + b) * h + oy + ky) * wd + ox + kx];
                    out[(((int64_t)co * B + b) * ho + oy) * wo + ox] = (float)s;
                }
}

void scarp_conv3x3_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                                  const float *inp, const float *w, int B, int Ci, int h, int wd, int Co)
{
    const int ho = h - 2, wo = wd - 2;
    for (int co = 0; co < Co; co++)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    const float d = dout[(((int64_t)co * B + b) * ho + oy) * wo + ox];
                    db[co] += d;
                    for (int ci = 0; ci < Ci; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const int64_t ii = (((int64_t)ci * B + b) * h + oy + ky) * wd + ox + kx;
                                const int wi = ((co * Ci + ci) * 3 + ky) * 3 + kx;
                                dw[wi] += d * inp[ii];
                                if (dinp) dinp[ii] += d * w[wi];
                            }
                }
}
