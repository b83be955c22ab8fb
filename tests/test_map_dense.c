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

/* ---- the sign-settled dated head (src/map/dense.c head_settled) ----------------------
 * A constructed strip: r × tw cells over 3 temporal cells, D dates of gains G with a real
 * spread, and for every cell and first-layer unit a chosen part a = W1c·f that makes the
 * unit ON (a + min g > 0), OFF (a + max g <= 0, including a = −max g exactly, the edge
 * of the rule) or OPEN (a inside the range), with the share of ON units varying from
 * cell to cell, and in the lower rows most units following one pattern per temporal
 * cell, so that all three groupings (sum over ON, P minus OFF, the majority set) run.
 * Reference: the head in double precision from the same float a, G and weights. Bound per
 * cell and date, from float32 summation (Higham 2002, §3.1: a sum whose leaves pass
 * through at most n roundings is within γ_n · Σ|leaves|, γ_n = n·u / (1 − n·u)):
 *   second layer, every leaf of either evaluation is at most |W2_kj| (2|a_j| + 4|g_j|)
 *     (W2·a, W2·g in P and again subtracted, W2·relu(a + g) − W2·g) or |b2_k|, so with
 *     M_k = |b2_k| + Σ_j |W2_kj| (2|a_j| + 4|g_j|):
 *       per-date head  |Δz2_k| <= γ_{H1+2} M_k       (a + g, product, H1 + 1 additions)
 *       settled head   |Δz2_k| <= γ_{3·H1+2·H2+5} M_k (product, ≤ 2 roundings of the
 *                      coefficient, the ON GEMM, P, and the listed units: ≤ 3·H1 + 2 adds;
 *                      the second-layer units ON on every date reach the logit through one
 *                      dot product per listed unit and the date sums: ≤ 2·H2 more)
 *   output: relu is 1-Lipschitz, so |Δlogit| <= Σ_k |w3_k| |Δz2_k| (1 + γ) + γ_{H2+2} ·
 *     (|b3| + Σ_k |w3_k| (|z2_k| + |Δz2_k|));  |Δp| <= |Δlogit| / 4 + 4u (σ' <= 1/4;
 *     sigmoidf: expf within 1 ulp, then 2 roundings).
 * Both heads are checked against the reference with their own bound, and against each
 * other with the sum of the two. */
static void test_settled_head(void)
{
    const double u = 0x1p-24;
    scarp_model_spec spec;
    scarp_model_spec_default(&spec, SCARP_MODEL_CNN_LSTM);
    spec.C = 5, spec.N = 8, spec.T = 2;
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &spec, 21));
    randomise(&m, 22);
    scarp_dense_net net;
    CHECK_OK(scarp_dense_net_init(&net, &m));
    const int H1 = net.H1, H2 = net.H2, tw = 40, r = 6, S = tw + SCARP_MAP_HALO, N = r * S, NT = 3, D = 7;
    scarp_dense_work *w;
    CHECK_OK(scarp_dense_work_new(&net, tw, r, &w));
    CHECK_OK(scarp_dense_work_reserve_dates(w, &net, NT, D));
    scarp_rng rng;
    scarp_rng_seed(&rng, 23);
    float *G = scarp_malloc(sizeof(float) * D * NT * H1), *gmin = scarp_malloc(sizeof(float) * NT * H1),
          *gmax = scarp_malloc(sizeof(float) * NT * H1);
    for (int t = 0; t < NT; t++)
        for (int j = 0; j < H1; j++) {
            float centre = (float)(0.5 * scarp_rng_normal(&rng)), spread = (float)(0.05 + 0.6 * scarp_rng_uniform(&rng));
            float lo = INFINITY, hi = -INFINITY;
            for (int d = 0; d < D; d++) {
                float g = centre + spread * (float)(scarp_rng_uniform(&rng) - 0.5);
                G[((size_t)d * NT + t) * H1 + j] = g;
                lo = fminf(lo, g), hi = fmaxf(hi, g);
            }
            gmin[t * H1 + j] = lo, gmax[t * H1 + j] = hi;
        }
    float *za = scarp_malloc(sizeof(float) * H1 * N);
    int32_t *tidx = scarp_malloc(sizeof(int32_t) * r * tw);
    uint8_t *at_edge = scarp_calloc((size_t)H1 * N, 1);
    int64_t want_on = 0, want_off = 0, want_open = 0, edge = 0;
    for (int i = 0; i < H1 * N; i++) za[i] = NAN; /* columns >= tw must never be read */
    for (int y = 0; y < r; y++)
        for (int x = 0; x < tw; x++) {
            const int t = (x / 7 + y) % NT;
            tidx[y * tw + x] = t;
            const double p_on = 0.05 + 0.9 * (double)(y * tw + x) / (r * tw), p_open = 0.15;
            for (int j = 0; j < H1; j++) {
                const float lo = gmin[t * H1 + j], hi = gmax[t * H1 + j];
                double v = scarp_rng_uniform(&rng);
                if (y >= r / 2 && v >= p_open && scarp_rng_uniform(&rng) < 0.9) /* the shared pattern */
                    v = (j * 7 + t) % 3 ? p_open : 1.0;
                float a;
                if (v < p_open) {
                    a = -(lo + (float)scarp_rng_uniform(&rng) * (hi - lo)), want_open++;
                } else if (v < p_open + p_on) {
                    a = -lo + 0.01f + (float)scarp_rng_uniform(&rng), want_on++;
                } else if (scarp_rng_uniform(&rng) < 0.1) {
                    a = -hi, want_off++, edge++; /* a + max g = 0 exactly: OFF on every date */
                    at_edge[(size_t)j * N + (size_t)y * S + x] = 1;
                } else {
                    a = -hi - (float)scarp_rng_uniform(&rng), want_off++;
                }
                za[(size_t)j * N + (size_t)y * S + x] = a;
            }
        }
    const size_t P = (size_t)r * tw;
    float *fast = scarp_malloc(sizeof(float) * D * P), *naive = scarp_malloc(sizeof(float) * D * P);
    scarp_dense_head_dates(&net, w, za, S, r, tw, G, (size_t)NT * H1, NT, D, tidx, naive, P, 0);
    scarp_dense_head_dates(&net, w, za, S, r, tw, G, (size_t)NT * H1, NT, D, tidx, fast, P, 1);
    scarp_dense_head_stats hs = scarp_dense_work_stats(w);
    CHECK_EQ_INT(hs.cells, (int64_t)P);
    /* the rule settles exactly the ON and OFF units built, OPEN ones go per date */
    CHECK_EQ_INT(hs.settled, want_on + want_off);
    CHECK(hs.listed >= want_open && hs.listed < hs.units);
    for (int k = 0; k < 3; k++) CHECK_MSG(hs.by_reference[k] > 0, "reference %d never chosen", k);
    /* second layer: some units settled for every date (one dot product per listed unit),
     * some evaluated date by date — both paths are exercised */
    CHECK_EQ_INT(hs.units2, (int64_t)P * H2);
    CHECK_MSG(hs.settled2 > hs.units2 / 10 && hs.settled2 < hs.units2, "second-layer units settled: %lld of %lld",
              (long long)hs.settled2, (long long)hs.units2);
    /* the settled head's leaves: ≤ 3·H1 + 3·H2 + 7 roundings in all (tests/test_tolerance.h),
     * of which the output layer's H2 + 2 are counted by g_o */
    const double g_n = (3.0 * H1 + 2.0 * H2 + 5) * u / (1 - (3.0 * H1 + 2.0 * H2 + 5) * u), g_r = (H1 + 2.0) * u / (1 - (H1 + 2.0) * u),
                 g_o = (H2 + 2.0) * u / (1 - (H2 + 2.0) * u);
    double worst_f = 0, worst_r = 0, max_diff = 0, max_bound = 0, date_move = 0;
    int64_t caught = 0, cases = 0;
    for (int y = 0; y < r; y++)
        for (int x = 0; x < tw; x++) {
            const int t = tidx[y * tw + x];
            for (int d = 0; d < D; d++) {
                const float *g = G + ((size_t)d * NT + t) * H1;
                double logit = net.b3, wrong = net.b3, bf = 0, br = 0, sf = fabs(net.b3), sr = fabs(net.b3);
                for (int k = 0; k < H2; k++) {
                    double z = net.b2[k], zw = net.b2[k], M = fabs(net.b2[k]);
                    for (int j = 0; j < H1; j++) {
                        const size_t q = (size_t)j * N + (size_t)y * S + x;
                        double a = za[q], wk = net.w2[(size_t)k * H1 + j];
                        z += wk * fmax(a + g[j], 0.0);
                        zw += wk * (at_edge[q] ? a + g[j] : fmax(a + g[j], 0.0)); /* edge taken as ON */
                        M += fabs(wk) * (2 * fabs(a) + 4 * fabs(g[j]));
                    }
                    const double w3 = fabs(net.w3[k]), zr = fmax(z, 0.0);
                    logit += net.w3[k] * zr;
                    wrong += net.w3[k] * fmax(zw, 0.0);
                    bf += w3 * g_n * M * (1 + g_o), br += w3 * g_r * M * (1 + g_o);
                    sf += w3 * (zr + g_n * M), sr += w3 * (zr + g_r * M);
                }
                const double p = 1 / (1 + exp(-logit));
                const double tol_f = (bf + g_o * sf) / 4 + 4 * u, tol_r = (br + g_o * sr) / 4 + 4 * u;
                const size_t o = (size_t)d * P + (size_t)y * tw + x;
                if (wrong != logit) cases++, caught += fabs(1 / (1 + exp(-wrong)) - p) > tol_f + tol_r;
                CHECK_NEAR(fast[o], p, tol_f);
                CHECK_NEAR(naive[o], p, tol_r);
                CHECK_NEAR(fast[o], naive[o], tol_f + tol_r);
                worst_f = fmax(worst_f, fabs(fast[o] - p) / tol_f);
                worst_r = fmax(worst_r, fabs(naive[o] - p) / tol_r);
                max_diff = fmax(max_diff, fabs(fast[o] - naive[o]));
                max_bound = fmax(max_bound, tol_f + tol_r);
                date_move = fmax(date_move, fabs(naive[o] - naive[(size_t)y * tw + x]));
            }
        }
    /* teeth: the dates matter, and a rule that took the edge a = −max g as ON (`>=` for
     * `>`) would move most of the affected outputs by more than the bound */
    CHECK_MSG(date_move > 1e-2, "the dates barely matter (max move %.3g)", date_move);
    CHECK_MSG(cases > 0 && caught * 2 > cases, "a wrong rule is seen at only %lld of %lld cell-dates", (long long)caught,
              (long long)cases);
    fprintf(stderr, "  settled head %d cells × %d dates: %lld of %lld units settled (%lld at the edge a = −max g), "
                    "%.1f of %d listed per cell (references none/all/majority: %lld/%lld/%lld cells), second layer %.1f %% settled; max |fast − per-date| %.3g (bound ≤ %.3g); worst error / bound: "
                    "fast %.2g, per-date %.2g; an edge-as-ON rule exceeds the bound at %lld of %lld cell-dates\n",
            (int)P, D, (long long)hs.settled, (long long)hs.units, (long long)edge, (double)hs.listed / (double)hs.cells,
            H1, (long long)hs.by_reference[0], (long long)hs.by_reference[1], (long long)hs.by_reference[2], 100.0 * (double)hs.settled2 / (double)hs.units2, max_diff, max_bound, worst_f, worst_r, (long long)caught, (long long)cases);
    scarp_free(G), scarp_free(gmin), scarp_free(gmax), scarp_free(za), scarp_free(tidx), scarp_free(fast), scarp_free(naive);
    scarp_free(at_edge);
    scarp_dense_work_free(w);
    scarp_dense_net_free(&net);
    scarp_model_free(&m);
}

int main(void)
{
    RUN(test_tiling);
    RUN(test_dense_equals_patches_cnn_lstm);
    RUN(test_dense_equals_patches_cnn);
    RUN(test_dense_one_tile);
    RUN(test_dense_strips);
    RUN(test_settled_head);
    return check_summary();
}
