/* lstm.c — one LSTM layer (Hochreiter & Schmidhuber 1997, with the forget gate of Gers,
 * Schmidhuber & Cummins 2000) in Keras semantics: kernel (In,4U), recurrent kernel (U,4U),
 * one bias, gate order i, f, c, o, recurrent dropout as one mask on h(t−1) shared by all
 * gates and steps (Keras implementation = 2). Backpropagation through time; the input
 * projection and every weight gradient are single GEMMs over all N·B rows; only the
 * recurrent products h(t−1)·Wh and dz(t)·Whᵀ are per step. */
#include <math.h>
#include <string.h>

#include "scarp/nn_layers.h"

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Gate nonlinearities and the cell update of one step for rows [0, B). */
static void lstm_cell(float *restrict z, float *restrict hn, float *restrict cn,
                      const float *restrict cp, int64_t B, int U)
{
    for (int64_t b = 0; b < B; b++) {
        float *zb = z + b * 4 * U;
        for (int u = 0; u < U; u++) {
            const float i = sigmoidf(zb[u]), f = sigmoidf(zb[U + u]);
            const float g = tanhf(zb[2 * U + u]), o = sigmoidf(zb[3 * U + u]);
            zb[u] = i; zb[U + u] = f; zb[2 * U + u] = g; zb[3 * U + u] = o;
            const float c = f * cp[b * U + u] + i * g;
            cn[b * U + u] = c;
            hn[b * U + u] = o * tanhf(c);
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
    scarp_sgemm(0, 0, (int)(N * B), (int)G, In, 1.0f, x, In,
                wx, (int)G, 1.0f, gates, (int)G);
    for (int t = 0; t < N; t++) {
        const float *hp = h + t * BU;
        float *hmt = hm + t * BU, *zt = gates + t * B * G;
        if (mask)
            for (int64_t j = 0; j < BU; j++) hmt[j] = hp[j] * mask[j];
        else
            memcpy(hmt, hp, sizeof(float) * BU);
        if (t > 0) // z_t (B, 4U) += hm_t (B, U) · wh (U, 4U)
            scarp_sgemm(0, 0, (int)B, (int)G, U, 1.0f, hmt, U,
                        wh, (int)G, 1.0f, zt, (int)G);
        lstm_cell(zt, h + (t + 1) * BU, c + (t + 1) * BU, c + t * BU, B, U);
    }
}

void scarp_lstm_backward(float *dx, float *dwx, float *dwh, float *db, float *dz, float *scratch,
                         float *dh, const float *h, const float *c, const float *gates,
                         const float *hm, const float *x, const float *wx, const float *wh,
                         const float *mask, int N, int64_t B, int In, int U)
{
    const int64_t BU = B * U, G = 4 * (int64_t)U;
    float *dc = scratch, *tmp = scratch + BU;
    memset(dc, 0, sizeof(float) * BU);
    for (int t = N - 1; t >= 0; t--) {
        const float *gt = gates + t * B * G, *ct = c + (t + 1) * BU, *cp = c + t * BU;
        const float *dht = dh + t * BU;
        float *dzt = dz + t * B * G;
        for (int64_t bb = 0; bb < B; bb++)
            for (int u = 0; u < U; u++) {
                const float *g4 = gt + bb * G;
                const float i = g4[u], f = g4[U + u], g = g4[2 * U + u], o = g4[3 * U + u];
                const int64_t k = bb * U + u;
                const float tc = tanhf(ct[k]);
                const float dhk = dht[k];
                const float dck = dc[k] + dhk * o * (1.0f - tc * tc);
                float *d4 = dzt + bb * G;
                d4[u] = dck * g * i * (1.0f - i);
                d4[U + u] = dck * cp[k] * f * (1.0f - f);
                d4[2 * U + u] = dck * i * (1.0f - g * g);
                d4[3 * U + u] = dhk * tc * o * (1.0f - o);
                dc[k] = dck * f;
            }
        if (t > 0) {
            // dh_{t-1} += mask ∘ (dz_t (B, 4U) · whᵀ (4U, U))
            float *dhp = dh + (t - 1) * BU;
            if (mask) {
                scarp_sgemm(0, 1, (int)B, U, (int)G, 1.0f, dzt,
                            (int)G, wh, (int)G, 0.0f, tmp, U);
                for (int64_t j = 0; j < BU; j++) dhp[j] += tmp[j] * mask[j];
            } else {
                scarp_sgemm(0, 1, (int)B, U, (int)G, 1.0f, dzt,
                            (int)G, wh, (int)G, 1.0f, dhp, U);
            }
        }
    }
    const int NB = (int)(N * B);
    // dwh (U, 4U) += hmᵀ (U, N·B) · dz (N·B, 4U)   (hm_0 = 0 contributes nothing)
    scarp_sgemm(1, 0, U, (int)G, NB, 1.0f, hm, U, dz, (int)G,
                1.0f, dwh, (int)G);
    // dwx (In, 4U) += xᵀ (In, N·B) · dz
    scarp_sgemm(1, 0, In, (int)G, NB, 1.0f, x, In, dz, (int)G,
                1.0f, dwx, (int)G);
    for (int64_t j = 0; j < G; j++) {
        double s = 0.0;
        for (int r = 0; r < NB; r++) s += dz[(int64_t)r * G + j];
        db[j] += (float)s;
    }
    // dx (N·B, In) += dz (N·B, 4U) · wxᵀ (4U, In)
    if (dx)
        scarp_sgemm(0, 1, NB, In, (int)G, 1.0f, dz, (int)G, wx,
                    (int)G, 1.0f, dx, In);
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
