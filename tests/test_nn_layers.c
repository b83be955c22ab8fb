/* test_nn_layers.c — every layer of the network engine against finite differences and
 * against its *_naive twin: conv 3×3, ReLU, max-pool, batch norm (train and eval), dense,
 * dropout, LSTM (with and without recurrent-dropout mask), BCE from logits, L2, Adam. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/nn_layers.h"
#include "scarp/threads.h"
#include "test_nn_util.h"

static scarp_rng rng;

/* ---- conv ---- */
enum { CB = 2, CCI = 3, CH = 7, CW = 6, CCO = 4, CHO = CH - 2, CWO = CW - 2 };
static float c_in[CCI * CB * CH * CW], c_w[CCO * CCI * 9], c_b[CCO], c_out[CCO * CB * CHO * CWO],
    c_col[CCI * 9 * CB * CHO * CWO], c_r[CCO * CB * CHO * CWO];

static double conv_loss(void *ctx)
{
    (void)ctx;
    scarp_conv3x3_forward(c_out, c_col, c_in, c_w, c_b, CB, CCI, CH, CW, CCO);
    double s = 0;
    for (size_t i = 0; i < sizeof c_out / sizeof *c_out; i++) s += (double)c_out[i] * c_r[i];
    return s;
}

static void test_conv3x3(void)
{
    nn_fill_uniform(c_in, sizeof c_in / 4, -1, 1, &rng);
    nn_fill_uniform(c_w, sizeof c_w / 4, -0.5f, 0.5f, &rng);
    nn_fill_uniform(c_b, CCO, -0.5f, 0.5f, &rng);
    nn_fill_uniform(c_r, sizeof c_r / 4, -1, 1, &rng);
    /* fast (im2col + sgemm, float32, kernel-dependent order) against the naive twin
     * (double accumulation): the bound is γ_n over the n = Ci·9 products and the bias, times
     * the same convolution of absolute values */
    static float ref[sizeof c_out / 4], aref[sizeof c_out / 4], a_in[sizeof c_in / 4], a_w[sizeof c_w / 4],
        a_b[CCO], a_r[sizeof c_r / 4];
    static double bound[sizeof c_col / 4];
    scarp_conv3x3_forward(c_out, c_col, c_in, c_w, c_b, CB, CCI, CH, CW, CCO);
    scarp_conv3x3_forward_naive(ref, c_in, c_w, c_b, CB, CCI, CH, CW, CCO);
    nn_abs(a_in, c_in, sizeof c_in / 4);
    nn_abs(a_w, c_w, sizeof c_w / 4);
    nn_abs(a_b, c_b, CCO);
    nn_abs(a_r, c_r, sizeof c_r / 4);
    scarp_conv3x3_forward_naive(aref, a_in, a_w, a_b, CB, CCI, CH, CW, CCO);
    nn_dot_bound(bound, aref, ref, sizeof ref / 4, CCI * 9 + 1, 1);
    nn_check_bound("conv.fwd", c_out, ref, bound, sizeof ref / 4);
    /* backward: fast vs naive (both float32 sums, so twice γ_n), then vs finite differences;
     * the gradients accumulate onto non-zero buffers, which count as one more term */
    static float din[sizeof c_in / 4], dw[sizeof c_w / 4], db[CCO], dcol[sizeof c_col / 4];
    static float din2[sizeof c_in / 4], dw2[sizeof c_w / 4], db2[CCO];
    static float adin[sizeof c_in / 4], adw[sizeof c_w / 4], adb[CCO];
    for (size_t i = 0; i < sizeof din / 4; i++) din[i] = din2[i] = 0.25f; /* accumulate check */
    for (size_t i = 0; i < sizeof dw / 4; i++) dw[i] = dw2[i] = 0.5f;
    for (int i = 0; i < CCO; i++) db[i] = db2[i] = -1.0f;
    for (size_t i = 0; i < sizeof din / 4; i++) adin[i] = 0.25f;
    for (size_t i = 0; i < sizeof dw / 4; i++) adw[i] = 0.5f;
    for (int i = 0; i < CCO; i++) adb[i] = 1.0f;
    scarp_conv3x3_backward(din, dw, db, dcol, c_r, c_col, c_w, CB, CCI, CH, CW, CCO);
    scarp_conv3x3_backward_naive(din2, dw2, db2, c_r, c_in, c_w, CB, CCI, CH, CW, CCO);
    scarp_conv3x3_backward_naive(adin, adw, adb, a_r, a_in, a_w, CB, CCI, CH, CW, CCO);
    nn_dot_bound(bound, adin, din2, sizeof din / 4, CCO * 9 + 1, 2);
    nn_check_bound("conv.dinp", din, din2, bound, sizeof din / 4);
    nn_dot_bound(bound, adw, dw2, sizeof dw / 4, CB * CHO * CWO + 1, 2);
    nn_check_bound("conv.dw", dw, dw2, bound, sizeof dw / 4);
    nn_dot_bound(bound, adb, db2, CCO, CB * CHO * CWO + 1, 2);
    nn_check_bound("conv.db", db, db2, bound, CCO);
    for (size_t i = 0; i < sizeof din / 4; i++) din[i] -= 0.25f;
    for (size_t i = 0; i < sizeof dw / 4; i++) dw[i] -= 0.5f;
    for (int i = 0; i < CCO; i++) db[i] += 1.0f;
    nn_gradcheck("conv.inp", c_in, din, sizeof c_in / 4, 200, conv_loss, NULL, 1e-2f, 1e-3, 2e-3);
    nn_gradcheck("conv.w", c_w, dw, sizeof c_w / 4, 200, conv_loss, NULL, 1e-2f, 1e-3, 2e-3);
    nn_gradcheck("conv.b", c_b, db, CCO, CCO, conv_loss, NULL, 1e-2f, 1e-3, 2e-3);
}

/* ---- ReLU + max-pool ---- */
enum { PP = 6, PH = 7, PW = 9 };
static float p_in[PP * PH * PW], p_out[PP * (PH / 2) * (PW / 2)], p_r[PP * (PH / 2) * (PW / 2)], p_tmp[PP * PH * PW];
static int32_t p_arg[PP * (PH / 2) * (PW / 2)];

static double relu_pool_loss(void *ctx)
{
    (void)ctx;
    memcpy(p_tmp, p_in, sizeof p_in);
    scarp_relu_forward(p_tmp, sizeof p_tmp / 4);
    scarp_maxpool2_forward(p_out, p_arg, p_tmp, PP, PH, PW);
    double s = 0;
    for (size_t i = 0; i < sizeof p_out / 4; i++) s += (double)p_out[i] * p_r[i];
    return s;
}

static void test_relu_maxpool(void)
{
    /* distinct values away from 0 so that eps steps cross no kink */
    for (size_t i = 0; i < sizeof p_in / 4; i++) {
        const float v = 0.05f + 0.9f * (float)((i * 37) % (sizeof p_in / 4)) / (float)(sizeof p_in / 4);
        p_in[i] = (scarp_rng_uniform(&rng) < 0.3) ? -v : v;
    }
    nn_fill_uniform(p_r, sizeof p_r / 4, -1, 1, &rng);
    relu_pool_loss(NULL);
    /* brute-force max of each window, odd last row/column dropped */
    for (int p = 0; p < PP; p++)
        for (int y = 0; y < PH / 2; y++)
            for (int x = 0; x < PW / 2; x++) {
                float m = -1e30f;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        const float v = p_tmp[(p * PH + 2 * y + dy) * PW + 2 * x + dx];
                        if (v > m) m = v;
                    }
                CHECK_NEAR(p_out[(p * (PH / 2) + y) * (PW / 2) + x], m, 0);
            }
    static float dpool[sizeof p_tmp / 4], din[sizeof p_in / 4];
    memset(dpool, 0, sizeof dpool);
    memset(din, 0, sizeof din);
    scarp_maxpool2_backward(dpool, p_r, p_arg, PP, PH, PW);
    scarp_relu_backward(din, dpool, p_tmp, sizeof din / 4);
    nn_gradcheck("relu+maxpool", p_in, din, sizeof p_in / 4, sizeof p_in / 4, relu_pool_loss, NULL, 1e-3f, 1e-3, 1e-4);
    /* ties: the first maximum in scan order wins (PyTorch's rule) */
    const float tie[4] = {0, 0, 0, 0};
    float o;
    int32_t a;
    scarp_maxpool2_forward(&o, &a, tie, 1, 2, 2);
    CHECK_EQ_INT(a, 0);
}

/* ---- batch norm ---- */
enum { BC = 3, BM = 40 };
static float b_in[BC * BM], b_out[BC * BM], b_g[BC], b_b[BC], b_r[BC * BM], b_mu[BC], b_rs[BC];

static double bn_loss(void *ctx)
{
    (void)ctx;
    scarp_batchnorm_forward_train(b_out, b_mu, b_rs, b_in, b_g, b_b, NULL, NULL, BC, BM, 0.99f, 1e-3f);
    double s = 0;
    for (size_t i = 0; i < BC * BM; i++) s += (double)b_out[i] * b_r[i];
    return s;
}

static void test_batchnorm(void)
{
    nn_fill_uniform(b_in, BC * BM, -2, 3, &rng);
    nn_fill_uniform(b_g, BC, 0.5f, 1.5f, &rng);
    nn_fill_uniform(b_b, BC, -0.5f, 0.5f, &rng);
    nn_fill_uniform(b_r, BC * BM, -1, 1, &rng);
    float rm[BC] = {0, 0, 0}, rv[BC] = {1, 1, 1};
    scarp_batchnorm_forward_train(b_out, b_mu, b_rs, b_in, b_g, b_b, rm, rv, BC, BM, 0.99f, 1e-3f);
    for (int c = 0; c < BC; c++) {
        double mu = 0, var = 0;
        for (int j = 0; j < BM; j++) mu += b_in[c * BM + j];
        mu /= BM;
        for (int j = 0; j < BM; j++) var += (b_in[c * BM + j] - mu) * (b_in[c * BM + j] - mu);
        CHECK_NEAR(rm[c], 0.01 * mu, 1e-6);
        CHECK_NEAR(rv[c], 0.99 + 0.01 * var / (BM - 1), 1e-6); /* unbiased variance */
        const double y0 = b_g[c] * (b_in[c * BM] - mu) / sqrt(var / BM + 1e-3) + b_b[c];
        CHECK_NEAR(b_out[c * BM], y0, 1e-5);
        /* eval mode uses the moving averages */
        float ye[BM];
        scarp_batchnorm_forward_eval(ye, b_in + c * BM, b_g + c, b_b + c, rm + c, rv + c, 1, BM, 1e-3f);
        CHECK_NEAR(ye[3], b_g[c] * (b_in[c * BM + 3] - rm[c]) / sqrt(rv[c] + 1e-3) + b_b[c], 1e-5);
    }
    static float din[BC * BM];
    float dg[BC] = {0}, dbt[BC] = {0};
    memset(din, 0, sizeof din);
    bn_loss(NULL);
    scarp_batchnorm_backward(din, dg, dbt, b_r, b_in, b_mu, b_rs, b_g, BC, BM);
    nn_gradcheck("bn.inp", b_in, din, BC * BM, BC * BM, bn_loss, NULL, 1e-2f, 2e-3, 2e-3);
    nn_gradcheck("bn.gamma", b_g, dg, BC, BC, bn_loss, NULL, 1e-2f, 1e-3, 1e-3);
    nn_gradcheck("bn.beta", b_b, dbt, BC, BC, bn_loss, NULL, 1e-2f, 1e-3, 1e-3);
}

/* ---- dense ---- */
enum { DB = 5, DI = 7, DO = 4 };
static float d_in[DB * DI], d_w[DI * DO], d_b[DO], d_out[DB * DO], d_r[DB * DO];

static double dense_loss(void *ctx)
{
    (void)ctx;
    scarp_dense_forward(d_out, d_in, d_w, d_b, DB, DI, DO);
    double s = 0;
    for (int i = 0; i < DB * DO; i++) s += (double)d_out[i] * d_r[i];
    return s;
}

static void test_dense(void)
{
    nn_fill_uniform(d_in, DB * DI, -1, 1, &rng);
    nn_fill_uniform(d_w, DI * DO, -1, 1, &rng);
    nn_fill_uniform(d_b, DO, -1, 1, &rng);
    nn_fill_uniform(d_r, DB * DO, -1, 1, &rng);
    /* fast (sgemm) vs naive: γ_n bounds over the n products of each output (see conv) */
    float ref[DB * DO], aref[DB * DO], a_in[DB * DI], a_w[DI * DO], a_b[DO], a_r[DB * DO];
    double bound[DB * DI + DI * DO]; /* large enough for every output above */
    dense_loss(NULL);
    scarp_dense_forward_naive(ref, d_in, d_w, d_b, DB, DI, DO);
    nn_abs(a_in, d_in, DB * DI);
    nn_abs(a_w, d_w, DI * DO);
    nn_abs(a_b, d_b, DO);
    nn_abs(a_r, d_r, DB * DO);
    scarp_dense_forward_naive(aref, a_in, a_w, a_b, DB, DI, DO);
    nn_dot_bound(bound, aref, ref, DB * DO, DI + 1, 1);
    nn_check_bound("dense.fwd", d_out, ref, bound, DB * DO);
    float din[DB * DI] = {0}, dw[DI * DO] = {0}, dbb[DO] = {0}, din2[DB * DI] = {0}, dw2[DI * DO] = {0}, db2[DO] = {0};
    float adin[DB * DI] = {0}, adw[DI * DO] = {0}, adb[DO] = {0};
    scarp_dense_backward(din, dw, dbb, d_r, d_in, d_w, DB, DI, DO);
    scarp_dense_backward_naive(din2, dw2, db2, d_r, d_in, d_w, DB, DI, DO);
    scarp_dense_backward_naive(adin, adw, adb, a_r, a_in, a_w, DB, DI, DO);
    nn_dot_bound(bound, adin, din2, DB * DI, DO, 2);
    nn_check_bound("dense.dinp", din, din2, bound, DB * DI);
    nn_dot_bound(bound, adw, dw2, DI * DO, DB, 2);
    nn_check_bound("dense.dw", dw, dw2, bound, DI * DO);
    nn_dot_bound(bound, adb, db2, DO, DB, 2);
    nn_check_bound("dense.db", dbb, db2, bound, DO);
    nn_gradcheck("dense.inp", d_in, din, DB * DI, DB * DI, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
    nn_gradcheck("dense.w", d_w, dw, DI * DO, DI * DO, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
    nn_gradcheck("dense.b", d_b, dbb, DO, DO, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
}

/* ---- dropout ---- */
static void test_dropout(void)
{
    enum { n = 20000 };
    static float mask[n], x[n], y[n], dx[n];
    scarp_rng r1, r2;
    scarp_rng_seed(&r1, 5);
    scarp_rng_seed(&r2, 5);
    scarp_dropout_mask(mask, n, 0.2f, &r1);
    int zeros = 0;
    for (int i = 0; i < n; i++) {
        CHECK(mask[i] == 0.0f || fabsf(mask[i] - 1.25f) < 1e-7f);
        zeros += mask[i] == 0.0f;
    }
    CHECK_NEAR(zeros / (double)n, 0.2, 0.015); /* 5 sd of a binomial proportion */
    static float mask2[n];
    scarp_dropout_mask(mask2, n, 0.2f, &r2);
    CHECK(memcmp(mask, mask2, sizeof mask) == 0); /* same seed, same mask */
    nn_fill_uniform(x, n, -1, 1, &rng);
    scarp_dropout_forward(y, x, mask, n);
    memset(dx, 0, sizeof dx);
    scarp_dropout_backward(dx, x, mask, n);
    CHECK_NEAR(y[7], x[7] * mask[7], 0);
    CHECK_NEAR(dx[9], x[9] * mask[9], 0);
}

/* ---- LSTM ---- */
enum { LN = 5, LB = 3, LI = 4, LU = 6 };
static float l_x[LN * LB * LI], l_wx[LI * 4 * LU], l_wh[LU * 4 * LU], l_b[4 * LU], l_r[LN * LB * LU], l_mask[LB * LU];
static float l_h[(LN + 1) * LB * LU], l_c[(LN + 1) * LB * LU], l_g[LN * LB * 4 * LU], l_hm[LN * LB * LU];
static const float *l_maskp;

static double lstm_loss(void *ctx)
{
    (void)ctx;
    scarp_lstm_forward(l_h, l_c, l_g, l_hm, l_x, l_wx, l_wh, l_b, l_maskp, LN, LB, LI, LU);
    double s = 0;
    for (int i = 0; i < LN * LB * LU; i++) s += (double)l_h[LB * LU + i] * l_r[i];
    return s;
}

/* A first-order bound on |fast − naive| for h and c at every step, per step over all
 * rows and units (Higham 2002 for the sums; the activations are 1/4- (sigmoid) and
 * 1-Lipschitz (tanh)). Per step t with pre-activation magnitude A_t = max Σ|x·wx| + Σ|hm·wh|
 * + |b|:  δz = γ_{In+U+1}·A_t + ‖Wh‖·m·δh_{t−1}  (m = max mask value, ‖Wh‖ the largest
 * column sum of |wh|);  each activation adds at most ACT absolute (the fast exp is ~2 ulp,
 * see src/nn/lstm.c: 8 u is a generous ceiling);  δc_t = δc_{t−1} + |c_{t−1}|(δz/4 + ACT)
 * + (δz/4 + ACT) + (δz + ACT) + 2u|c_t|;  δh_t = (δz/4 + ACT) + δc_t + ACT + u.
 * The naive twin is bounded the same way, hence the factor 2. */
static void lstm_bound(double *hb, double *cb, const float *h, const float *c, const float *mask)
{
    const double ACT = 8 * NN_U;
    double whn = 0, m = 1;
    for (int j = 0; j < 4 * LU; j++) {
        double s = 0;
        for (int k = 0; k < LU; k++) s += fabs(l_wh[k * 4 * LU + j]);
        whn = fmax(whn, s);
    }
    if (mask)
        for (int j = 0; j < LB * LU; j++) m = fmax(m, fabs(mask[j]));
    double dh = 0, dc = 0;
    for (int j = 0; j < LB * LU; j++) hb[j] = cb[j] = 0;
    for (int t = 0; t < LN; t++) {
        double A = 0, cprev = 0, cnow = 0;
        for (int bb = 0; bb < LB; bb++)
            for (int j = 0; j < 4 * LU; j++) {
                double s = fabs(l_b[j]);
                for (int k = 0; k < LI; k++) s += fabs(l_x[(t * LB + bb) * LI + k] * l_wx[k * 4 * LU + j]);
                for (int k = 0; k < LU; k++) s += m * fabs(h[t * LB * LU + bb * LU + k] * l_wh[k * 4 * LU + j]);
                A = fmax(A, s);
            }
        for (int j = 0; j < LB * LU; j++) {
            cprev = fmax(cprev, fabs(c[t * LB * LU + j]));
            cnow = fmax(cnow, fabs(c[(t + 1) * LB * LU + j]));
        }
        const double dz = nn_gamma(LI + LU + 1) * A + whn * m * dh;
        dc = dc + cprev * (dz / 4 + ACT) + (dz / 4 + ACT) + (dz + ACT) + 2 * NN_U * cnow;
        dh = (dz / 4 + ACT) + dc + ACT + NN_U;
        for (int j = 0; j < LB * LU; j++) {
            hb[(t + 1) * LB * LU + j] = 2 * dh;
            cb[(t + 1) * LB * LU + j] = 2 * dc;
        }
    }
}

static void lstm_case(const float *mask, const char *tag)
{
    l_maskp = mask;
    lstm_loss(NULL);
    /* naive twin (double arithmetic, direct loops) */
    static float h2[sizeof l_h / 4], c2[sizeof l_c / 4], g2[sizeof l_g / 4], hm2[sizeof l_hm / 4];
    scarp_lstm_forward_naive(h2, c2, g2, hm2, l_x, l_wx, l_wh, l_b, mask, LN, LB, LI, LU);
    static double hb[sizeof l_h / 4], cb[sizeof l_c / 4];
    lstm_bound(hb, cb, h2, c2, mask);
    nn_check_bound("lstm.h", l_h, h2, hb, sizeof h2 / 4);
    nn_check_bound("lstm.c", l_c, c2, cb, sizeof c2 / 4);
    static float dx[sizeof l_x / 4], dwx[sizeof l_wx / 4], dwh[sizeof l_wh / 4], db[4 * LU], dz[LN * LB * 4 * LU],
        scratch[2 * LB * LU], dh[LN * LB * LU];
    memset(dx, 0, sizeof dx); memset(dwx, 0, sizeof dwx); memset(dwh, 0, sizeof dwh); memset(db, 0, sizeof db);
    memcpy(dh, l_r, sizeof dh);
    scarp_lstm_backward(dx, dwx, dwh, db, dz, scratch, dh, l_h, l_c, l_g, l_hm, l_x, l_wx, l_wh, mask, LN, LB, LI, LU);
    char name[64];
    snprintf(name, sizeof name, "lstm%s.x", tag);
    nn_gradcheck(name, l_x, dx, sizeof l_x / 4, 60, lstm_loss, NULL, 1e-2f, 2e-3, 2e-3);
    snprintf(name, sizeof name, "lstm%s.wx", tag);
    nn_gradcheck(name, l_wx, dwx, sizeof l_wx / 4, 60, lstm_loss, NULL, 1e-2f, 2e-3, 2e-3);
    snprintf(name, sizeof name, "lstm%s.wh", tag);
    nn_gradcheck(name, l_wh, dwh, sizeof l_wh / 4, 80, lstm_loss, NULL, 1e-2f, 2e-3, 2e-3);
    snprintf(name, sizeof name, "lstm%s.b", tag);
    nn_gradcheck(name, l_b, db, 4 * LU, 4 * LU, lstm_loss, NULL, 1e-2f, 2e-3, 2e-3);
}

static void test_lstm(void)
{
    nn_fill_uniform(l_x, sizeof l_x / 4, -1, 1, &rng);
    nn_fill_uniform(l_wx, sizeof l_wx / 4, -0.6f, 0.6f, &rng);
    nn_fill_uniform(l_wh, sizeof l_wh / 4, -0.6f, 0.6f, &rng);
    nn_fill_uniform(l_b, sizeof l_b / 4, -0.3f, 0.3f, &rng);
    nn_fill_uniform(l_r, sizeof l_r / 4, -1, 1, &rng);
    lstm_case(NULL, "");
    scarp_dropout_mask(l_mask, LB * LU, 0.3f, &rng);
    lstm_case(l_mask, "+mask");
    /* the mask is on h(t-1) only: the first step does not see it, and zeros in the mask
     * cut the recurrent path of that unit for the whole sequence */
    CHECK_NEAR(l_hm[0], 0, 0);
}

/* ---- loss, L2, Adam ---- */
enum { LB2 = 6 };
static float z_logit[LB2], z_label[LB2] = {0, 1, 1, 0, 1, 0};
static double bce_loss(void *ctx) { (void)ctx; return scarp_bce_logits_forward(z_logit, z_label, LB2); }

static void test_loss_l2_adam(void)
{
    const float zs[LB2] = {-3.0f, 0.5f, 2.0f, 40.0f, -40.0f, 0.0f};
    memcpy(z_logit, zs, sizeof zs);
    /* against the textbook −y log p − (1−y) log(1−p) where it is representable */
    double ref = 0;
    for (int i = 0; i < LB2; i++) {
        if (fabs(zs[i]) > 30) { ref += fabs(zs[i]); continue; } /* wrong side by 40: loss = 40 */
        const double p = 1 / (1 + exp(-zs[i]));
        ref += -(z_label[i] * log(p) + (1 - z_label[i]) * log(1 - p));
    }
    CHECK_NEAR(scarp_bce_logits_forward(z_logit, z_label, LB2), ref / LB2, 1e-9 * 40);
    float dl[LB2] = {0};
    scarp_bce_logits_backward(dl, z_logit, z_label, LB2, 1.0f / LB2);
    nn_gradcheck("bce", z_logit, dl, LB2, LB2, bce_loss, NULL, 1e-3f, 1e-3, 1e-6);
    float w[3] = {1, -2, 0.5f}, dw[3] = {0};
    CHECK_NEAR(scarp_l2_penalty(w, 3, 0.01f), 0.01 * 5.25, 1e-8);
    scarp_l2_backward(dw, w, 3, 0.01f);
    CHECK_NEAR(dw[1], -0.04, 1e-8);
    /* Adam, Keras form, two steps against the formula in double */
    float p[2] = {0.3f, -1.0f}, g[2] = {0.1f, -2e-3f}, m[2] = {0}, v[2] = {0};
    double pd[2] = {0.3, -1.0}, md[2] = {0}, vd[2] = {0};
    for (int t = 1; t <= 2; t++) {
        scarp_adam_update(p, g, m, v, 2, 1e-3f, 0.9f, 0.999f, 1e-7f, t);
        const double lr_t = 1e-3 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t));
        for (int i = 0; i < 2; i++) {
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
            pd[i] -= lr_t * md[i] / (sqrt(vd[i]) + 1e-7);
        }
    }
    CHECK_NEAR(p[0], pd[0], 1e-7);
    CHECK_NEAR(p[1], pd[1], 1e-7);
}

int main(void)
{
    scarp_threads_set(2);
    scarp_rng_seed(&rng, 2024);
    RUN(test_conv3x3);
    RUN(test_relu_maxpool);
    RUN(test_batchnorm);
    RUN(test_dense);
    RUN(test_dropout);
    RUN(test_lstm);
    RUN(test_loss_l2_adam);
    return check_summary();
}
