/* lstm.c — one LSTM layer (Hochreiter & Schmidhuber 1997, with the forget gate of Gers,
 * Schmidhuber & Cummins 2000) in Keras semantics: kernel (In,4U), recurrent kernel (U,4U),
 * one bias, gate order i, f, c, o, recurrent dropout as one mask on h(t−1) shared by all
 * gates and steps (Keras implementation = 2). Backpropagation through time; the input
 * projection and every weight gradient are single GEMMs over all N·B rows; only the
 * recurrent products h(t−1)·Wh and dz(t)·Whᵀ are per step. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "scarp/nn_layers.h"
#include "scarp/threads.h"

/* Branch-free expf (Cephes polynomial after range reduction by ln 2, ~2 ulp) so that the
 * gate loops vectorise (glibc's expf/tanhf calls do not without -ffast-math). */
static inline float exp_fast(float x)
{
    x = x < 88.0f ? x : 88.0f;
    x = x > -87.0f ? x : -87.0f;
    /* round to nearest by the 1.5·2^23 trick: vectorises, unlike a roundf call */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } sc = {.i = ((int32_t)n + 127) << 23};
    return p * sc.f;
}

static inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

/* tanh x = sign(x)·(1 − e^{−2|x|}) / (1 + e^{−2|x|}); near 0 the odd Taylor series keeps the
 * relative accuracy the subtraction would lose. */
static inline float tanh_fast(float x)
{
    const float ax = __builtin_fabsf(x);
    const float e = exp_fast(-2.0f * ax);
    float t = (1.0f - e) / (1.0f + e);
    const float x2 = x * x;
    const float small = ax * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f - x2 * 0.0539682540f)));
    t = ax < 0.0625f ? small : t;
    return x < 0.0f ? -t : t;
}

/* Rows are independent sequences: blocks of rows run their whole time loop on one thread
 * with single-threaded GEMMs, no synchronisation between steps. The block size depends on
 * the batch size only (never on the thread count), so results do not depend on the
 * thread count; larger blocks amortise OpenBLAS' packing of the recurrent kernel. */
static int64_t lstm_rows(int64_t B) { return B >= 256 ? 64 : B >= 64 ? 32 : 16; }

/* Gate nonlinearities and the cell update of one step for rows [0, nb) (row stride B). */
static void lstm_cell(float *restrict z, float *restrict hn, float *restrict cn,
                      const float *restrict cp, int64_t nb, int U)
{
    for (int64_t b = 0; b < nb; b++) {
        float *restrict zb = z + b * 4 * U;
        const float *restrict cpb = cp + b * U;
        float *restrict cnb = cn + b * U, *restrict hnb = hn + b * U;
#pragma omp simd
        for (int u = 0; u < U; u++) {
            const float i = sigmoid_fast(zb[u]), f = sigmoid_fast(zb[U + u]);
            const float g = tanh_fast(zb[2 * U + u]), o = sigmoid_fast(zb[3 * U + u]);
            zb[u] = i; zb[U + u] = f; zb[2 * U + u] = g; zb[3 * U + u] = o;
            const float c = f * cpb[u] + i * g;
            cnb[u] = c;
            hnb[u] = o * tanh_fast(c);
        }
    }
}

void scarp_lstm_forward(float *h, float *c, float *gates, float *hm, const float *x,
                        const float *wx, const float *wh, const float *b, const float *mask,
                        int N, int64_t B, int In, int U)
{
    const int64_t BU = B * U, G = 4 * (int64_t)U;
    memset(h, 0, sizeof(float) * BU);
    memset(c, 0, sizeof(float) * BU);
    for (int64_t r = 0; r < (int64_t)N * B; r++) memcpy(gates + r * G, b, sizeof(float) * G);
    // gates (N·B, 4U) += x (N·B, In) · wx (In, 4U): all steps at once
    scarp_sgemm(0, 0, (int)(N * B), (int)G, In, 1.0f, x, In, wx, (int)G, 1.0f, gates, (int)G);
    const int64_t LSTM_ROWS = lstm_rows(B), blocks = (B + LSTM_ROWS - 1) / LSTM_ROWS;
    int nthreads = omp_in_parallel() ? 1 : scarp_threads_get();
    if (nthreads > blocks) nthreads = (int)blocks;
#pragma omp parallel num_threads(nthreads)
    {
        omp_set_num_threads(1); /* OpenBLAS single-threaded inside (see gemm.c) */
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t b0 = blk * LSTM_ROWS, nb = B - b0 < LSTM_ROWS ? B - b0 : LSTM_ROWS;
            for (int t = 0; t < N; t++) {
                const float *hp = h + t * BU + b0 * U;
                float *hmt = hm + t * BU + b0 * U, *zt = gates + (t * B + b0) * G;
                if (mask)
                    for (int64_t j = 0; j < nb * U; j++) hmt[j] = hp[j] * mask[b0 * U + j];
                else
                    memcpy(hmt, hp, sizeof(float) * nb * U);
                if (t > 0) // z_t (nb, 4U) += hm_t (nb, U) · wh (U, 4U)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)G, U, 1.0f, hmt, U, wh,
                                (int)G, 1.0f, zt, (int)G);
                lstm_cell(zt, h + (t + 1) * BU + b0 * U, c + (t + 1) * BU + b0 * U, c + t * BU + b0 * U, nb, U);
            }
        }
    }
}

void scarp_lstm_backward(float *dx, float *dwx, float *dwh, float *db, float *dz, float *scratch,
                         float *dh, const float *h, const float *c, const float *gates,
                         const float *hm, const float *x, const float *wx, const float *wh,
                         const float *mask, int N, int64_t B, int In, int U)
{
    const int64_t BU = B * U, G = 4 * (int64_t)U;
    const int64_t LSTM_ROWS = lstm_rows(B), blocks = (B + LSTM_ROWS - 1) / LSTM_ROWS;
    int nthreads = omp_in_parallel() ? 1 : scarp_threads_get();
    if (nthreads > blocks) nthreads = (int)blocks;
#pragma omp parallel num_threads(nthreads)
    {
        omp_set_num_threads(1);
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; blk++) {
            const int64_t b0 = blk * LSTM_ROWS, nb = B - b0 < LSTM_ROWS ? B - b0 : LSTM_ROWS;
            float *dc = scratch + b0 * U, *tmp = scratch + BU + b0 * U;
            memset(dc, 0, sizeof(float) * nb * U);
            for (int t = N - 1; t >= 0; t--) {
                const float *gt = gates + (t * B + b0) * G, *ct = c + (t + 1) * BU + b0 * U, *cp = c + t * BU + b0 * U;
                const float *dht = dh + t * BU + b0 * U;
                float *dzt = dz + (t * B + b0) * G;
                for (int64_t bb = 0; bb < nb; bb++) {
                    const float *g4 = gt + bb * G;
                    float *d4 = dzt + bb * G;
#pragma omp simd
                    for (int u = 0; u < U; u++) {
                        const float i = g4[u], f = g4[U + u], g = g4[2 * U + u], o = g4[3 * U + u];
                        const int64_t k = bb * U + u;
                        const float tc = tanh_fast(ct[k]);
                        const float dhk = dht[k];
                        const float dck = dc[k] + dhk * o * (1.0f - tc * tc);
                        d4[u] = dck * g * i * (1.0f - i);
                        d4[U + u] = dck * cp[k] * f * (1.0f - f);
                        d4[2 * U + u] = dck * i * (1.0f - g * g);
                        d4[3 * U + u] = dhk * tc * o * (1.0f - o);
                        dc[k] = dck * f;
                    }
                }
                if (t > 0) {
                    // dh_{t-1} += mask ∘ (dz_t (nb, 4U) · whᵀ (4U, U))
                    float *dhp = dh + (t - 1) * BU + b0 * U;
                    if (mask) {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, U, (int)G, 1.0f, dzt, (int)G, wh,
                                    (int)G, 0.0f, tmp, U);
                        for (int64_t j = 0; j < nb * U; j++) dhp[j] += tmp[j] * mask[b0 * U + j];
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, U, (int)G, 1.0f, dzt, (int)G, wh,
                                    (int)G, 1.0f, dhp, U);
                    }
                }
            }
        }
    }
    const int NB = (int)(N * B);
    // dwh (U, 4U) += hmᵀ (U, N·B) · dz (N·B, 4U)   (hm_0 = 0 contributes nothing)
    scarp_sgemm(1, 0, U, (int)G, NB, 1.0f, hm, U, dz, (int)G, 1.0f, dwh, (int)G);
    // dwx (In, 4U) += xᵀ (In, N·B) · dz
    scarp_sgemm(1, 0, In, (int)G, NB, 1.0f, x, In, dz, (int)G, 1.0f, dwx, (int)G);
    /* bias gradient: column sums in row order (fixed), 64 columns per task, rows streamed */
#pragma omp parallel for schedule(static) if ((int64_t)NB * G > (1 << 15))
    for (int64_t j0 = 0; j0 < G; j0 += 64) {
        const int64_t nj = G - j0 < 64 ? G - j0 : 64;
        double acc[64] = {0};
        for (int r = 0; r < NB; r++) {
            const float *row = dz + (int64_t)r * G + j0;
            for (int64_t j = 0; j < nj; j++) acc[j] += row[j];
        }
        for (int64_t j = 0; j < nj; j++) db[j0 + j] += (float)acc[j];
    }
    // dx (N·B, In) += dz (N·B, 4U) · wxᵀ (4U, In)
    if (dx) scarp_sgemm(0, 1, NB, In, (int)G, 1.0f, dz, (int)G, wx, (int)G, 1.0f, dx, In);
}

void scarp_lstm_forward_naive(float *h, float *c, float *gates, float *hm, const float *x,
                              const float *wx, const float *wh, const float *b, const float *mask,
                              int N, int64_t B, int In, int U)
{
    const int64_t BU = B * U, G = 4 * (int64_t)U;
    for (int64_t j = 0; j < BU; j++) h[j] = c[j] = 0.0f;
    for (int t = 0; t < N; t++)
        for (int64_t bb = 0; bb < B; bb++) {
            const float *xt = x + ((int64_t)t * B + bb) * In;
            const float *hp = h + t * BU + bb * U;
            float *hmt = hm + t * BU + bb * U;
            for (int u = 0; u < U; u++) hmt[u] = hp[u] * (mask ? mask[bb * U + u] : 1.0f);
            float *zt = gates + ((int64_t)t * B + bb) * G;
            for (int64_t j = 0; j < G; j++) {
                double s = b[j];
                for (int k = 0; k < In; k++) s += (double)xt[k] * wx[k * G + j];
                for (int k = 0; k < U; k++) s += (double)hmt[k] * wh[k * G + j];
                zt[j] = (float)s;
            }
            for (int u = 0; u < U; u++) {
                const double i = 1 / (1 + exp(-zt[u])), f = 1 / (1 + exp(-zt[U + u]));
                const double g = tanh(zt[2 * U + u]), o = 1 / (1 + exp(-zt[3 * U + u]));
                zt[u] = (float)i; zt[U + u] = (float)f; zt[2 * U + u] = (float)g; zt[3 * U + u] = (float)o;
                const double cc = f * c[t * BU + bb * U + u] + i * g;
                c[(t + 1) * BU + bb * U + u] = (float)cc;
                h[(t + 1) * BU + bb * U + u] = (float)(o * tanh(cc));
            }
        }
}
