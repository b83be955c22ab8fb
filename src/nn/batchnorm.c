/* batchnorm.c — batch normalisation (Ioffe & Szegedy 2015, arXiv:1502.03167) over channel
 * runs (C, M), M = B·h·w, with Keras semantics: ε = 1e-3, moving averages with momentum
 * 0.99, the moving variance tracking the unbiased batch variance. Sums in double, one
 * channel per thread: the result does not depend on the thread count. */
#include <math.h>

#include "scarp/nn_layers.h"

void scarp_batchnorm_forward_train(float *out, float *mean, float *rstd, const float *inp,
                                   const float *gamma, const float *beta, float *run_mean,
                                   float *run_var, int C, int64_t M, float momentum, float eps)
{
#pragma omp parallel for schedule(static) if ((int64_t)C * M > (1 << 15))
    for (int c = 0; c < C; c++) {
        const float *x = inp + (int64_t)c * M;
        float *y = out + (int64_t)c * M;
        double s = 0.0;
        for (int64_t j = 0; j < M; j++) s += x[j];
        const double mu = s / (double)M;
        double ss = 0.0;
        for (int64_t j = 0; j < M; j++) { const double d = x[j] - mu; ss += d * d; }
        const double var = ss / (double)M;
        const float rs = (float)(1.0 / sqrt(var + eps));
        mean[c] = (float)mu;
        rstd[c] = rs;
        const float g = gamma[c] * rs, bb = beta[c], m = (float)mu;
        for (int64_t j = 0; j < M; j++) y[j] = (x[j] - m) * g + bb;
        if (run_mean) {
            const double unbiased = M > 1 ? ss / (double)(M - 1) : var;
            run_mean[c] = momentum * run_mean[c] + (1.0f - momentum) * (float)mu;
            run_var[c] = momentum * run_var[c] + (1.0f - momentum) * (float)unbiased;
        }
    }
}

void scarp_batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                                  const float *run_mean, const float *run_var, int C, int64_t M,
                                  float eps)
{
#pragma omp parallel for schedule(static) if ((int64_t)C * M > (1 << 15))
    for (int c = 0; c < C; c++) {
        const float *x = inp + (int64_t)c * M;
        float *y = out + (int64_t)c * M;
        const float g = gamma[c] / sqrtf(run_var[c] + eps), m = run_mean[c], bb = beta[c];
        for (int64_t j = 0; j < M; j++) y[j] = (x[j] - m) * g + bb;
    }
}

void scarp_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *gamma, int C, int64_t M)
{
#pragma omp parallel for schedule(static) if ((int64_t)C * M > (1 << 15))
    for (int c = 0; c < C; c++) {
        const float *x = inp + (int64_t)c * M, *dy = dout + (int64_t)c * M;
        float *dx = dinp + (int64_t)c * M;
        const float mu = mean[c], rs = rstd[c];
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t j = 0; j < M; j++) {
            const float xh = (x[j] - mu) * rs;
            sdy += dy[j];
            sdyx += (double)dy[j] * xh;
        }
        dbeta[c] += (float)sdy;
        dgamma[c] += (float)sdyx;
        // dx = γ·rstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
        const float k = gamma[c] * rs, a = (float)(sdy / (double)M), bq = (float)(sdyx / (double)M);
        for (int64_t j = 0; j < M; j++) {
            const float xh = (x[j] - mu) * rs;
            dx[j] += k * (dy[j] - a - xh * bq);
        }
    }
}
