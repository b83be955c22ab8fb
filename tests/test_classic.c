/* test_classic.c — baselines: save → load gives identical predictions for every kind;
 * damaged, truncated and foreign files are clear SCARP_ERR_INPUT errors; the forest is
 * identical for 1 and 2 threads; permutation importance puts the only informative factor
 * group first on constructed data (grouped columns permuted together); bad input. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/eval.h"
#include "scarp/fsutil.h"
#include "scarp/rng.h"
#include "scarp/threads.h"

enum { N = 600, F = 6 };
static float X[N * F];
static uint8_t Y[N];

/* Label depends only on features 0 and 1 (a one-hot-like pair: group 0); 2..5 are noise. */
static void make_data(uint64_t seed)
{
    scarp_rng rng;
    scarp_rng_seed(&rng, seed);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < F; j++) X[i * F + j] = (float)scarp_rng_normal(&rng);
        double logit = 2.5 * X[i * F + 0] - 2.0 * X[i * F + 1] * X[i * F + 1] + 2.0;
        Y[i] = scarp_rng_uniform(&rng) < 1.0 / (1.0 + exp(-logit));
    }
}

static void test_save_load_all(void)
{
    char path[512];
    snprintf(path, sizeof path, "/tmp/scarp_test_classic_%d.model", (int)getpid());
    const char blob[] = "normalisation blob";
    for (int k = 0; k < SCARP_CLASSIC_N; k++) {
        scarp_classic m, r;
        scarp_classic_params p = {.seed = 9, .n_trees = k == SCARP_CLASSIC_FOREST ? 50 : 0};
        CHECK_OK(scarp_classic_train(&m, (scarp_classic_kind)k, &p, X, Y, 400, F, X + 400 * F, Y + 400, 100, NULL));
        CHECK_OK(scarp_classic_save(&m, path, blob, sizeof blob));
        CHECK(scarp_classic_file_is(path));
        void *nb = NULL;
        size_t nbytes = 0;
        CHECK_OK(scarp_classic_load(&r, path, &nb, &nbytes));
        CHECK_EQ_INT(nbytes, sizeof blob);
        CHECK(nb && !memcmp(nb, blob, sizeof blob));
        scarp_free(nb);
        float a[100], b[100];
        CHECK_OK(scarp_classic_predict(&m, X + 500 * F, 100, a));
        CHECK_OK(scarp_classic_predict(&r, X + 500 * F, 100, b));
        CHECK_MSG(!memcmp(a, b, sizeof a), "%s: predictions differ after load", scarp_classic_name(k));
        double auc;
        CHECK_OK(scarp_auc(a, Y + 500, 100, &auc));
        fprintf(stderr, "  %-7s test AUC %.3f\n", scarp_classic_name(k), auc);
        CHECK_MSG(auc > 0.75, "%s AUC %.3f", scarp_classic_name(k), auc);
        /* damage: flip one byte in the middle, then truncate */
        char *data;
        size_t size;
        CHECK_OK(scarp_read_file(path, &data, &size));
        data[size / 2] ^= 0x5a;
        CHECK_OK(scarp_write_file_atomic(path, data, size));
        scarp_classic bad;
        CHECK_FAILS(scarp_classic_load(&bad, path, NULL, NULL), SCARP_ERR_INPUT);
        CHECK(strstr(scarp_last_error(), path) != NULL);
        data[size / 2] ^= 0x5a;
        CHECK_OK(scarp_write_file_atomic(path, data, size - 7));
        CHECK_FAILS(scarp_classic_load(&bad, path, NULL, NULL), SCARP_ERR_INPUT);
        scarp_free(data);
        scarp_classic_free(&m);
        scarp_classic_free(&r);
    }
    CHECK_OK(scarp_write_file_atomic(path, "hello world, not a model", 24));
    scarp_classic bad;
    CHECK_FAILS(scarp_classic_load(&bad, path, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(!scarp_classic_file_is(path));
    remove(path);
    CHECK_FAILS(scarp_classic_load(&bad, path, NULL, NULL), SCARP_ERR_IO);
}

static void test_forest_threads(void)
{
    scarp_classic a, b;
    scarp_classic_params p = {.seed = 77, .n_trees = 64};
    omp_set_num_threads(1);
    CHECK_OK(scarp_classic_train(&a, SCARP_CLASSIC_FOREST, &p, X, Y, N, F, NULL, NULL, 0, NULL));
    omp_set_num_threads(2);
    CHECK_OK(scarp_classic_train(&b, SCARP_CLASSIC_FOREST, &p, X, Y, N, F, NULL, NULL, 0, NULL));
    CHECK_EQ_INT(a.n_nodes, b.n_nodes);
    CHECK(a.n_nodes == b.n_nodes && !memcmp(a.nodes, b.nodes, (size_t)a.n_nodes * sizeof *a.nodes));
    float pa[N], pb[N];
    omp_set_num_threads(1);
    CHECK_OK(scarp_classic_predict(&a, X, N, pa));
    omp_set_num_threads(2);
    CHECK_OK(scarp_classic_predict(&b, X, N, pb));
    CHECK(!memcmp(pa, pb, sizeof pa));
    scarp_classic_free(&a);
    scarp_classic_free(&b);
}

typedef struct {
    const scarp_classic *m;
    const float *X;
    float *buf;
    int groups[3][4]; /* column lists per factor group, -1 terminated */
} perm_ctx;

static scarp_status permuted_predict(void *user, int group, const size_t *perm, size_t n, float *prob)
{
    perm_ctx *c = user;
    memcpy(c->buf, c->X, n * F * sizeof(float));
    for (size_t i = 0; i < n; i++)
        for (int k = 0; c->groups[group][k] >= 0; k++) {
            int j = c->groups[group][k];
            c->buf[i * F + j] = c->X[perm[i] * F + j];
        }
    return scarp_classic_predict(c->m, c->buf, n, prob);
}

static void test_importance_informative_first(void)
{
    scarp_classic m;
    scarp_classic_params p = {.seed = 3, .n_trees = 100};
    CHECK_OK(scarp_classic_train(&m, SCARP_CLASSIC_FOREST, &p, X, Y, 400, F, NULL, NULL, 0, NULL));
    const float *Xt = X + 400 * F;
    const uint8_t *yt = Y + 400;
    float prob[200];
    CHECK_OK(scarp_classic_predict(&m, Xt, 200, prob));
    double base;
    CHECK_OK(scarp_auc(prob, yt, 200, &base));
    /* group 0 = the pair of informative columns {0, 1}; groups 1, 2 = noise pairs */
    perm_ctx c = {&m, Xt, scarp_malloc(200 * F * sizeof(float)), {{0, 1, -1}, {2, 3, -1}, {4, 5, -1}}};
    scarp_importance imp;
    CHECK_OK(scarp_importance_permutation(permuted_predict, &c, 3, yt, 200, base, 5, 42, &imp));
    fprintf(stderr, "  base AUC %.3f drops %.3f %.3f %.3f shares %.2f %.2f %.2f\n", base, imp.drop_mean[0],
            imp.drop_mean[1], imp.drop_mean[2], imp.share[0], imp.share[1], imp.share[2]);
    CHECK(imp.drop_mean[0] > imp.drop_mean[1] && imp.drop_mean[0] > imp.drop_mean[2]);
    CHECK(imp.share[0] > 0.8);
    CHECK_NEAR(imp.share[0] + imp.share[1] + imp.share[2], 1.0, 1e-12);
    /* same seed → same result */
    scarp_importance again;
    CHECK_OK(scarp_importance_permutation(permuted_predict, &c, 3, yt, 200, base, 5, 42, &again));
    CHECK(!memcmp(imp.drop_mean, again.drop_mean, 3 * sizeof(double)));
    scarp_importance_free(&imp);
    scarp_importance_free(&again);
    scarp_free(c.buf);
    scarp_classic_free(&m);
}

static void test_bad_input(void)
{
    scarp_classic m;
    uint8_t ones[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_FAILS(scarp_classic_train(&m, SCARP_CLASSIC_TREE, NULL, X, ones, 10, F, NULL, NULL, 0, NULL),
                SCARP_ERR_INPUT);
    float nanrow[2 * F] = {0};
    nanrow[3] = NAN;
    uint8_t y2[2] = {0, 1};
    CHECK_FAILS(scarp_classic_train(&m, SCARP_CLASSIC_LOGREG, NULL, nanrow, y2, 2, F, NULL, NULL, 0, NULL),
                SCARP_ERR_INPUT);
    scarp_classic_kind k;
    CHECK_FAILS(scarp_classic_kind_parse("xgboost", &k), SCARP_ERR_INPUT);
    CHECK_OK(scarp_classic_kind_parse("rf", &k));
    CHECK(k == SCARP_CLASSIC_FOREST);
    scarp_classic_free(NULL);
}

int main(void)
{
    make_data(2024);
    RUN(test_save_load_all);
    RUN(test_forest_threads);
    RUN(test_importance_informative_first);
    RUN(test_bad_input);
    return check_summary();
}
