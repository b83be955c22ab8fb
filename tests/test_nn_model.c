/* test_nn_model.c — the whole model: parameter counts against the PyTorch/Keras peer,
 * Keras initialisers, finite-difference gradients of the whole cnn_lstm (and the cnn,
 * lstm and mlp variants) with BN in training mode and dropout masks on, branches + head
 * == predict, save → load → identical predictions, damaged / truncated / wrong files
 * rejected, and training determinism for 1 vs 2 threads. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/nn.h"
#include "scarp/nn_layers.h"
#include "scarp/threads.h"
#include "test_nn_util.h"
#include "test_tolerance.h"

static void small_spec(scarp_model_spec *s, scarp_model_kind kind)
{
    scarp_model_spec_default(s, kind);
    s->C = 2; s->H = 22; s->W = 23; s->N = 4; s->T = 2; s->F = 5;
    s->filters[0] = 4; s->filters[1] = 5; s->filters[2] = 6;
    s->lstm_units[0] = 5; s->lstm_units[1] = 3;
    s->dense[0] = 6; s->dense[1] = 4;
}

typedef struct {
    float *patches, *seq, *tab, *labels;
    size_t n;
} dataset;

static void make_data(dataset *d, const scarp_model_spec *s, size_t n, uint64_t seed)
{
    scarp_rng r;
    scarp_rng_seed(&r, seed);
    d->n = n;
    d->patches = scarp_malloc(sizeof(float) * n * s->C * s->H * s->W);
    d->seq = scarp_malloc(sizeof(float) * n * s->N * s->T);
    d->tab = scarp_malloc(sizeof(float) * n * (s->F ? s->F : 1));
    d->labels = scarp_malloc(sizeof(float) * n);
    nn_fill_uniform(d->patches, n * s->C * s->H * s->W, -1, 1, &r);
    nn_fill_uniform(d->seq, n * s->N * s->T, -1, 1, &r);
    nn_fill_uniform(d->tab, n * (s->F ? s->F : 1), -1, 1, &r);
    for (size_t i = 0; i < n; i++) d->labels[i] = (float)(i % 2);
}

static void free_data(dataset *d)
{
    scarp_free(d->patches); scarp_free(d->seq); scarp_free(d->tab); scarp_free(d->labels);
}

static void test_param_counts(void)
{
    /* the peer (RESULTS.md) counts 248,673 trainable + 448 BN statistics, as Keras does */
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_CNN_LSTM);
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 1));
    CHECK_EQ_INT(m.n_params, 248673);
    CHECK_EQ_INT(m.n_stats, 448);
    CHECK_EQ_INT(m.cnn_features, 128);
    CHECK_EQ_INT(m.lstm_features, 64);
    CHECK_EQ_INT(m.head_in, 192);
    /* FLOPs per sample as in RESULTS.md: conv 8.018 + LSTM 3.994 + 2.949 + dense 0.066 */
    CHECK_NEAR(scarp_model_flops(&s) / 1e6, 8.018 + 3.994 + 2.949 + 0.066, 0.002);
    /* Keras initialisers: orthogonal recurrent kernel (orthonormal rows), forget bias 1,
     * Glorot-uniform limits, BN γ = 1, moving var 1 */
    const int U = 64;
    const float *wh = m.p.lstm_wh[1];
    double worst = 0;
    for (int a = 0; a < U; a++)
        for (int b = 0; b < U; b++) {
            double d = 0;
            for (int j = 0; j < 4 * U; j++) d += (double)wh[a * 4 * U + j] * wh[b * 4 * U + j];
            worst = fmax(worst, fabs(d - (a == b)));
        }
    CHECK_NEAR(worst, 0, 1e-5);
    CHECK_NEAR(m.p.lstm_b[0][128], 1, 0);
    CHECK_NEAR(m.p.lstm_b[0][0], 0, 0);
    CHECK_NEAR(m.p.lstm_b[0][256], 0, 0);
    const double lim = sqrt(6.0 / (22 * 9 + 32 * 9));
    float mx = 0;
    for (int i = 0; i < 32 * 22 * 9; i++) mx = fmaxf(mx, fabsf(m.p.conv_w[0][i]));
    CHECK(mx <= lim && mx > 0.95 * lim);
    CHECK_NEAR(m.p.bn_gamma[2][5], 1, 0);
    CHECK_NEAR(m.bn_var[1][3], 1, 0);
    CHECK_NEAR(m.bn_mean[1][3], 0, 0);
    scarp_model m2;
    CHECK_OK(scarp_model_init(&m2, &s, 1));
    CHECK(memcmp(m.params, m2.params, sizeof(float) * m.n_params) == 0);
    scarp_model_free(&m2);
    scarp_model_free(&m);
    scarp_model_free(NULL);
    CHECK_FAILS(scarp_model_kind_parse("cnnlstm", &s.kind), SCARP_ERR_INPUT);
    s.H = 20;
    CHECK_FAILS(scarp_model_init(&m, &s, 1), SCARP_ERR_USAGE);
}

/* ---- whole-model gradient check ---- */
typedef struct {
    scarp_model *m;
    scarp_nn_workspace *ws;
    scarp_nn_data data;
    size_t idx[8];
    int64_t B;
    scarp_rng rng0;
    int dropout;
} fb_ctx;

static double fb_loss(void *vp)
{
    fb_ctx *c = vp;
    scarp_rng r = c->rng0; /* the same dropout masks every time */
    double bce, pen;
    scarp_model_forward_backward(c->m, c->ws, &c->data, c->idx, c->B, c->dropout ? &r : NULL, 0, &bce, &pen, NULL);
    return bce + pen;
}

static void gradcheck_kind(scarp_model_kind kind, int dropout)
{
    scarp_model_spec s;
    small_spec(&s, kind);
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 7));
    dataset d;
    make_data(&d, &s, 8, 99);
    fb_ctx c = {.m = &m, .B = 5, .dropout = dropout};
    c.data = (scarp_nn_data){d.patches, d.seq, d.tab, d.labels, d.n};
    for (int i = 0; i < 5; i++) c.idx[i] = (size_t)(7 - i);
    scarp_rng_seed(&c.rng0, 3);
    /* larger biases / gammas than the init so every path carries gradient */
    scarp_rng r;
    scarp_rng_seed(&r, 11);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.1f * (float)(scarp_rng_uniform(&r) - 0.5);
    CHECK_OK(scarp_nn_workspace_new_train(&m, 8, &c.ws));
    memset(m.grads, 0, sizeof(float) * m.n_params);
    fb_loss(&c);
    float *g = scarp_malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    char name[96];
    const scarp_model_tensors *P = &m.p, *G = NULL;
    (void)G;
#define GC(field, count)                                                                           \
    do {                                                                                           \
        if (P->field) {                                                                            \
            snprintf(name, sizeof name, "%s%s.%s", scarp_model_kind_name(kind), dropout ? "+drop" : "", #field); \
            nn_gradcheck(name, P->field, g + (P->field - m.params), (count), 20, fb_loss, &c, 2e-4f, 2e-2, 3e-3); \
        }                                                                                          \
    } while (0)
    int ci = s.C;
    for (int k = 0; k < 3 && P->conv_w[k]; k++) {
        GC(conv_w[k], (size_t)s.filters[k] * ci * 9);
        GC(conv_b[k], s.filters[k]);
        GC(bn_gamma[k], s.filters[k]);
        GC(bn_beta[k], s.filters[k]);
        ci = s.filters[k];
    }
    int in = s.T;
    for (int l = 0; l < 2 && P->lstm_wx[l]; l++) {
        GC(lstm_wx[l], (size_t)in * 4 * s.lstm_units[l]);
        GC(lstm_wh[l], (size_t)s.lstm_units[l] * 4 * s.lstm_units[l]);
        GC(lstm_b[l], 4 * s.lstm_units[l]);
        in = s.lstm_units[l];
    }
    in = m.head_in;
    const int outs[3] = {s.dense[0], s.dense[1], 1};
    for (int k = 0; k < 3; k++) {
        GC(dense_w[k], (size_t)in * outs[k]);
        GC(dense_b[k], outs[k]);
        in = outs[k];
    }
#undef GC
    scarp_free(g);
    scarp_nn_workspace_free(c.ws);
    free_data(&d);
    scarp_model_free(&m);
}

/* one thread: thousands of tiny passes (thread counts are the determinism test's job) */
static void test_gradcheck_cnn_lstm(void)
{
    scarp_threads_set(1);
    gradcheck_kind(SCARP_MODEL_CNN_LSTM, 0);
    gradcheck_kind(SCARP_MODEL_CNN_LSTM, 1);
    scarp_threads_set(2);
}
static void test_gradcheck_variants(void)
{
    scarp_threads_set(1);
    gradcheck_kind(SCARP_MODEL_CNN, 1);
    gradcheck_kind(SCARP_MODEL_LSTM, 1);
    gradcheck_kind(SCARP_MODEL_MLP, 1);
    scarp_threads_set(2);
}

/* ---- inference: predict == branches + head; chunking does not matter ---- */
static void test_predict_branches(void)
{
    scarp_model_spec s;
    small_spec(&s, SCARP_MODEL_CNN_LSTM);
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 5));
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < s.filters[k]; j++) { m.bn_mean[k][j] = 0.1f * j; m.bn_var[k][j] = 0.5f + 0.2f * j; }
    dataset d;
    make_data(&d, &s, 300, 4);
    float *p1 = scarp_malloc(sizeof(float) * 300), *p2 = scarp_malloc(sizeof(float) * 300);
    float *feat = scarp_malloc(sizeof(float) * 300 * m.head_in), *fc = scarp_malloc(sizeof(float) * 300 * m.cnn_features);
    float *fl = scarp_malloc(sizeof(float) * 300 * m.lstm_features);
    CHECK_OK(scarp_model_predict(&m, d.patches, d.seq, NULL, 300, p1));
    scarp_nn_workspace *ws;
    CHECK_OK(scarp_nn_workspace_new(&m, 17, &ws));
    CHECK_OK(scarp_model_cnn_features(&m, ws, d.patches, 300, fc));
    CHECK_OK(scarp_model_lstm_features(&m, ws, d.seq, 300, fl));
    for (int i = 0; i < 300; i++) {
        memcpy(feat + i * m.head_in, fc + i * m.cnn_features, sizeof(float) * m.cnn_features);
        memcpy(feat + i * m.head_in + m.cnn_features, fl + i * m.lstm_features, sizeof(float) * m.lstm_features);
    }
    CHECK_OK(scarp_model_head(&m, ws, feat, 300, NULL, p2));
    for (int i = 0; i < 300; i++) CHECK_NEAR(p2[i], p1[i], tol_probability(&s)); /* chunked vs whole */
    /* the eval CNN branch by hand for sample 0 with the naive layers (BN moving averages) */
    {
        const int64_t HW = s.H * s.W;
        float *x = scarp_malloc(sizeof(float) * s.C * HW * 2), *y = scarp_malloc(sizeof(float) * 4 * s.C * HW * 8);
        memcpy(x, d.patches, sizeof(float) * s.C * HW);
        int h = s.H, w = s.W, ci = s.C;
        for (int k = 0; k < 3; k++) {
            const int co = s.filters[k];
            scarp_conv3x3_forward_naive(y, x, m.p.conv_w[k], m.p.conv_b[k], 1, ci, h, w, co);
            scarp_relu_forward(y, (size_t)co * (h - 2) * (w - 2));
            int32_t *arg = scarp_malloc(sizeof(int32_t) * co * h * w);
            scarp_maxpool2_forward(x, arg, y, co, h - 2, w - 2);
            scarp_free(arg);
            h = (h - 2) / 2; w = (w - 2) / 2;
            scarp_batchnorm_forward_eval(x, x, m.p.bn_gamma[k], m.p.bn_beta[k], m.bn_mean[k], m.bn_var[k], co, h * w, SCARP_BN_EPS);
            ci = co;
        }
        { /* the branch features: the conv reductions only (see test_tolerance.h), relative to scale */
            double terms = 0, scale = 0;
            for (int k = 0, cin = s.C; k < 3; cin = s.filters[k], k++) terms += 9.0 * cin + 1;
            for (int j = 0; j < m.cnn_features; j++) scale = fmax(scale, fabs(x[j]));
            for (int j = 0; j < m.cnn_features; j++)
                CHECK_NEAR(fc[j], x[j], 5.9604644775390625e-8 * terms * (fabs(x[j]) + 1e-2 * scale));
        }
        scarp_free(x);
        scarp_free(y);
    }
    scarp_nn_workspace_free(ws);
    scarp_free(p1); scarp_free(p2); scarp_free(feat); scarp_free(fc); scarp_free(fl);
    free_data(&d);
    scarp_model_free(&m);
}

/* ---- model file ---- */
static void test_save_load(void)
{
    char dir[] = "/tmp/scarp_nn_XXXXXX", path[256], bad[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/model.scarpnn", dir);
    snprintf(bad, sizeof bad, "%s/bad.scarpnn", dir);
    scarp_model_spec s;
    small_spec(&s, SCARP_MODEL_CNN_LSTM);
    scarp_model m, l;
    CHECK_OK(scarp_model_init(&m, &s, 9));
    for (int j = 0; j < s.filters[0]; j++) m.bn_mean[0][j] = 0.3f * j;
    const char blob[] = "normalisation: min-max of 22 channels";
    CHECK_OK(scarp_model_save(path, &m, blob, sizeof blob));
    char partial[300];
    scarp_partial_name(partial, sizeof partial, path);
    CHECK(!scarp_file_exists(partial));
    void *nb = NULL;
    size_t nbytes = 0;
    CHECK_OK(scarp_model_load(path, &l, &nb, &nbytes));
    CHECK_EQ_INT(nbytes, sizeof blob);
    CHECK(nb && memcmp(nb, blob, sizeof blob) == 0);
    scarp_free(nb);
    CHECK_EQ_INT(l.spec.kind, SCARP_MODEL_CNN_LSTM);
    CHECK_EQ_INT(l.spec.W, 23);
    dataset d;
    make_data(&d, &s, 40, 8);
    float p1[40], p2[40];
    CHECK_OK(scarp_model_predict(&m, d.patches, d.seq, NULL, 40, p1));
    CHECK_OK(scarp_model_predict(&l, d.patches, d.seq, NULL, 40, p2));
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    FILE *devnull = fopen("/dev/null", "w");
    CHECK_OK(scarp_model_describe(path, devnull));
    fclose(devnull);
    scarp_model_free(&l);
    /* damaged, truncated, wrong magic, newer version, empty: clear SCARP_ERR_INPUT */
    char *buf;
    size_t bytes;
    CHECK_OK(scarp_read_file(path, &buf, &bytes));
    buf[bytes / 2] ^= 0x10;
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "damaged") && strstr(scarp_last_error(), bad));
    buf[bytes / 2] ^= 0x10;
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes - 100));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "truncated"));
    CHECK_OK(scarp_write_file_atomic(bad, buf, 30));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "truncated"));
    buf[0] = 'X';
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "magic"));
    buf[0] = 'S';
    buf[8] = 99; /* version 99 (CRC no longer matters: version is checked first) */
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "version"));
    CHECK_FAILS(scarp_model_describe(bad, stdout), SCARP_ERR_INPUT);
    CHECK_OK(scarp_write_file_atomic(bad, buf, 0));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    /* a consistent file whose architecture is impossible (CRC recomputed) */
    buf[8] = 1;
    int32_t h = 10;
    memcpy(buf + 16 + 4, &h, 4); /* H = 10 */
    uint32_t crc = scarp_crc32(0, buf, bytes - 4);
    memcpy(buf + bytes - 4, &crc, 4);
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "architecture"));
    h = 22; /* a valid architecture with another weight count: W 30 → 2 feature columns */
    memcpy(buf + 16 + 4, &h, 4);
    h = 30;
    memcpy(buf + 16 + 8, &h, 4);
    crc = scarp_crc32(0, buf, bytes - 4);
    memcpy(buf + bytes - 4, &crc, 4);
    CHECK_OK(scarp_write_file_atomic(bad, buf, bytes));
    CHECK_FAILS(scarp_model_load(bad, &l, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "mismatch"));
    snprintf(bad, sizeof bad, "%s/missing.scarpnn", dir);
    CHECK(scarp_model_load(bad, &l, NULL, NULL) != SCARP_OK);
    scarp_free(buf);
    free_data(&d);
    scarp_model_free(&m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* ---- determinism: same seed ⇒ same weights for 1 and 2 threads ---- */
static void train_once(int threads, scarp_model *m, scarp_train_history *h)
{
    scarp_threads_set(threads);
    scarp_model_spec s;
    small_spec(&s, SCARP_MODEL_CNN_LSTM);
    s.C = 3; s.filters[0] = 16; s.filters[1] = 24; s.filters[2] = 32; s.lstm_units[0] = 32; s.lstm_units[1] = 16; s.N = 10;
    CHECK_OK(scarp_model_init(m, &s, 21));
    dataset d;
    make_data(&d, &s, 90, 77);
    size_t tr[70], va[20];
    for (int i = 0; i < 70; i++) tr[i] = (size_t)i;
    for (int i = 0; i < 20; i++) va[i] = (size_t)(70 + i);
    scarp_train_options o;
    scarp_train_options_default(&o);
    o.epochs = 3;
    o.batch = 16;
    o.seed = 5;
    scarp_nn_data nd = {d.patches, d.seq, d.tab, d.labels, d.n};
    CHECK_OK(scarp_model_train(m, &nd, tr, 70, va, 20, &o, h));
    free_data(&d);
}

static void test_determinism_threads(void)
{
    scarp_model a, b;
    scarp_train_history ha, hb;
    train_once(1, &a, &ha);
    train_once(2, &b, &hb);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0);
    CHECK(memcmp(a.stats, b.stats, sizeof(float) * a.n_stats) == 0);
    CHECK_EQ_INT(ha.best_epoch, hb.best_epoch);
    CHECK_EQ_INT(ha.epochs, 3);
    CHECK(ha.val_bce[0] == hb.val_bce[0]);
    CHECK(ha.train_loss[2] > 0 && ha.val_loss[2] > ha.val_bce[2]); /* val_loss adds L2 */
    /* the best epoch is the lowest val_bce */
    for (int e = 0; e < 3; e++) CHECK(ha.val_bce[ha.best_epoch] <= ha.val_bce[e]);
    scarp_train_history_free(&ha);
    scarp_train_history_free(&hb);
    scarp_train_history_free(NULL);
    scarp_model_free(&a);
    scarp_model_free(&b);
    scarp_threads_set(2);
}

int main(void)
{
    scarp_threads_set(2);
    RUN(test_param_counts);
    RUN(test_gradcheck_cnn_lstm);
    RUN(test_gradcheck_variants);
    RUN(test_predict_branches);
    RUN(test_save_load);
    RUN(test_determinism_threads);
    return check_summary();
}
