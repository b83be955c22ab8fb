/* test_map_dense.c — the dense (à trous) tile pass equals per-patch evaluation by the
 * network engine (scarp_model_predict on extracted 22×22 patches) within 1e-5, at random
 * cells including tile borders and grid edges, for cnn_lstm and cnn models with random
 * weights and random batch-norm statistics; odd 37×29 tiles exercise partial tiles. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/map.h"
#include "scarp/nn.h"
#include "scarp/rng.h"
#include "test_tolerance.h"

/* Random biases and BN statistics so that every term of the network matters. */
static void randomise(scarp_model *m, uint64_t seed)
{
    scarp_rng r;
    scarp_rng_seed(&r, seed);
    const scarp_model_spec *s = &m->spec;
    if (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < s->filters[k]; j++) {
                m->p.conv_b[k][j] = (float)(0.2 * scarp_rng_normal(&r));
                m->p.bn_gamma[k][j] = (float)(0.5 + scarp_rng_uniform(&r));
                m->p.bn_beta[k][j] = (float)(0.3 * scarp_rng_normal(&r));
                m->bn_mean[k][j] = (float)(0.3 * scarp_rng_normal(&r));
                m->bn_var[k][j] = (float)(0.5 + 1.5 * scarp_rng_uniform(&r));
            }
    for (int d = 0; d < 3; d++) {
        int out = d == 0 ? s->dense[0] : d == 1 ? s->dense[1] : 1;
        for (int j = 0; j < out; j++) m->p.dense_b[d][j] = (float)(0.1 * scarp_rng_normal(&r));
    }
}

/* Grid GW × GH, padded image (C, GH + 21, GW + 21) with the grid at offset 11. */
static void run_case(scarp_model_kind kind, int GW, int GH, int tw, int th, uint64_t seed)
{
    scarp_model_spec spec;
    scarp_model_spec_default(&spec, kind);
    spec.C = 5;
    spec.N = 8;
    spec.T = 2;
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &spec, seed));
    randomise(&m, seed + 1);
    scarp_dense_net net;
    CHECK_OK(scarp_dense_net_init(&net, &m));
    const int C = spec.C, PW = GW + SCARP_MAP_HALO, PH = GH + SCARP_MAP_HALO;
    float *img = scarp_malloc(sizeof(float) * C * PW * PH);
    scarp_rng r;
    scarp_rng_seed(&r, seed + 2);
    for (int i = 0; i < C * PW * PH; i++) img[i] = (float)scarp_rng_uniform(&r);
    /* temporal cells: 3 sequences; a cell's temporal cell from its position */
    const int NT = 3, has_lstm = kind == SCARP_MODEL_CNN_LSTM;
    float *seq = scarp_malloc(sizeof(float) * NT * spec.N * spec.T);
    for (int i = 0; i < NT * spec.N * spec.T; i++) seq[i] = (float)scarp_rng_uniform(&r);
    float *G = scarp_malloc(sizeof(float) * NT * net.H1);
    if (has_lstm) {
        scarp_nn_workspace *ws;
        CHECK_OK(scarp_nn_workspace_new(&m, NT, &ws));
        float *h = scarp_malloc(sizeof(float) * NT * m.lstm_features);
        CHECK_OK(scarp_model_lstm_features(&m, ws, seq, NT, h));
        scarp_dense_gain(&net, h, NT, G);
        scarp_free(h);
        scarp_nn_workspace_free(ws);
    } else {
        scarp_dense_gain(&net, NULL, 1, G);
    }
#define TCELL(col, row) (((col) / 17 + (row) / 13) % NT)
    /* dense pass tile by tile */
    float *dense = scarp_malloc(sizeof(float) * GW * GH);
    scarp_dense_work *w;
    CHECK_OK(scarp_dense_work_new(&net, tw, th, &w));
    int32_t *tidx = scarp_malloc(sizeof(int32_t) * tw * th);
    float *tp = scarp_malloc(sizeof(float) * tw * th);
    scarp_tiling tl;
    scarp_tiling_init(&tl, GW, GH, tw, th);
    for (int64_t t = 0; t < tl.n; t++) {
        int64_t c0, r0;
        int cw, ch;
        scarp_tiling_tile(&tl, t, &c0, &r0, &cw, &ch);
        float *in = scarp_dense_work_input(w);
        const int S = cw + SCARP_MAP_HALO, H = ch + SCARP_MAP_HALO;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                memcpy(in + ((size_t)c * H + y) * S, img + ((size_t)c * PH + r0 + y) * PW + c0, sizeof(float) * S);
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) tidx[y * cw + x] = has_lstm ? TCELL(c0 + x, r0 + y) : 0;
        scarp_dense_tile(&net, w, cw, ch, G, tidx, tp);
        for (int y = 0; y < ch; y++) memcpy(dense + (r0 + y) * GW + c0, tp + y * cw, sizeof(float) * cw);
    }
    /* per-patch reference at chosen cells: corners, tile borders, random */
    enum { NCELL = 64 };
    int cols[NCELL], rows[NCELL], n = 0;
    const int fixed[][2] = {{0, 0}, {GW - 1, 0}, {0, GH - 1}, {GW - 1, GH - 1}, {tw - 1, th - 1}, {tw, th},
                            {tw - 1, th}, {2 * tw, 2 * th - 1}, {GW - 1, th}, {tw, GH - 1}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i][0] < GW && fixed[i][1] < GH) cols[n] = fixed[i][0], rows[n] = fixed[i][1], n++;
    while (n < NCELL) cols[n] = (int)scarp_rng_below(&r, GW), rows[n] = (int)scarp_rng_below(&r, GH), n++;
    const int P = spec.H;
    float *patches = scarp_malloc(sizeof(float) * NCELL * C * P * P);
    float *seqs = scarp_malloc(sizeof(float) * NCELL * spec.N * spec.T);
    float *prob = scarp_malloc(sizeof(float) * NCELL);
    for (int i = 0; i < NCELL; i++) {
        /* the patch of cell (row, col) spans rows row-11 .. row+10: padded rows row .. row+21 */
        for (int c = 0; c < C; c++)
            for (int y = 0; y < P; y++)
                memcpy(patches + (((size_t)i * C + c) * P + y) * P, img + ((size_t)c * PH + rows[i] + y) * PW + cols[i],
                       sizeof(float) * P);
        memcpy(seqs + (size_t)i * spec.N * spec.T, seq + (size_t)TCELL(cols[i], rows[i]) * spec.N * spec.T,
               sizeof(float) * spec.N * spec.T);
    }
    CHECK_OK(scarp_model_predict(&m, patches, has_lstm ? seqs : NULL, NULL, NCELL, prob));
    double maxerr = 0, spread = 0;
    for (int i = 0; i < NCELL; i++) {
        double d = fabs(dense[rows[i] * GW + cols[i]] - prob[i]);
        if (d > maxerr) maxerr = d;
        CHECK_NEAR(dense[rows[i] * GW + cols[i]], prob[i], tol_probability(&spec));
        spread += fabs(prob[i] - prob[0]);
    }
    CHECK(spread > 1e-3); /* the probabilities differ between cells: the test has teeth */
    fprintf(stderr, "  %s %d×%d tiles %d×%d: max |dense − patch| = %.3g over %d cells\n", scarp_model_kind_name(kind), GW,
            GH, tw, th, maxerr, NCELL);
    scarp_free(patches), scarp_free(seqs), scarp_free(prob), scarp_free(tidx), scarp_free(tp);
    scarp_free(dense), scarp_free(img), scarp_free(seq), scarp_free(G);
    scarp_dense_work_free(w);
    scarp_dense_net_free(&net);
    scarp_model_free(&m);
}

static void test_dense_equals_patches_cnn_lstm(void) { run_case(SCARP_MODEL_CNN_LSTM, 90, 75, 37, 29, 11); }
static void test_dense_equals_patches_cnn(void) { run_case(SCARP_MODEL_CNN, 61, 40, 64, 16, 12); }
static void test_dense_one_tile(void) { run_case(SCARP_MODEL_CNN_LSTM, 23, 30, 23, 30, 13); }
/* tiles taller than one rolling strip of block 3 (R = 4096 / S rows) */
static void test_dense_strips(void) { run_case(SCARP_MODEL_CNN_LSTM, 150, 110, 128, 100, 14); }

static void test_tiling(void)
{
    scarp_tiling t;
    scarp_tiling_init(&t, 100, 60, 37, 29);
    CHECK_EQ_INT(t.nx, 3);
    CHECK_EQ_INT(t.ny, 3);
    int64_t c0, r0, cells = 0;
    int w, h;
    for (int64_t i = 0; i < t.n; i++) {
        scarp_tiling_tile(&t, i, &c0, &r0, &w, &h);
        cells += (int64_t)w * h;
    }
    CHECK_EQ_INT(cells, 6000);
    scarp_tiling_tile(&t, 8, &c0, &r0, &w, &h);
    CHECK_EQ_INT(c0, 74);
    CHECK_EQ_INT(r0, 58);
    CHECK_EQ_INT(w, 26);
    CHECK_EQ_INT(h, 2);
}

int main(void)
{
    RUN(test_tiling);
    RUN(test_dense_equals_patches_cnn_lstm);
    RUN(test_dense_equals_patches_cnn);
    RUN(test_dense_one_tile);
    RUN(test_dense_strips);
    return check_summary();
}
