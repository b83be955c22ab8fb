/* test_cv_protocol.c — the cross-validation protocol on the `mini` synthetic province
 * (docs/06-evaluation.md): fold arithmetic (each outer fold tests on exactly its own rows
 * and trains on all the others; the inner validation rows come from the training folds;
 * buffer 0 leaves nothing out; a buffer leaves out exactly the training rows within it);
 * per-fold normalisation sees no test row; a buffer larger than the area stops before
 * training with one line naming [split] buffer and nothing written; and scarp's logistic
 * regression matches scikit-learn's on every fold (tests/reference/cv_logreg_sklearn.py,
 * an independent implementation of the protocol) within 0.005 AUC. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/stage_internal.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"

enum { K = 5 };
static char work[] = "/tmp/scarp_cv_XXXXXX";
static scarp_config cfg;
static scarp_dataset ds;
static int ready;

static void setup(void)
{
    if (!mkdtemp(work)) return;
    char cmd[2048], ini[1100];
    snprintf(cmd, sizeof cmd, "%s synth --preset mini --out %s/area --quiet", SCARP_BINARY, work);
    if (system(cmd) != 0) return;
    snprintf(ini, sizeof ini, "%s/area/study.ini", work);
    if (scarp_config_load(&cfg, ini) != SCARP_OK) return;
    snprintf(cfg.split_method, sizeof cfg.split_method, "spatial");
    cfg.folds = K;
    cfg.repeats = 1;
    cfg.split_buffer = 0;
    cfg.n_models = 1;
    snprintf(cfg.models[0], sizeof cfg.models[0], "logreg");
    cfg.logreg_c = 100;
    snprintf(cfg.out, sizeof cfg.out, "%s/run", work);
    scarp_mkdir_p(cfg.out);
    ready = scarp_prepare(&cfg, cfg.out, NULL, &ds, NULL) == SCARP_OK;
    if (!ready) fprintf(stderr, "prepare: %s\n", scarp_last_error());
}

static void test_fold_arithmetic(void)
{
    if (!ready) SKIP("no study");
    CHECK(ds.raw != NULL);
    uint8_t *split = scarp_malloc((size_t)ds.n), *outer = scarp_malloc((size_t)ds.n);
    int64_t tested = 0;
    for (int run = 0; run < K; run++) {
        size_t excluded = 99;
        CHECK_OK(scarp__stage_split(&cfg, &ds, run, split, &excluded));
        CHECK_OK(scarp__stage_outer_split(&cfg, &ds, run, outer, NULL));
        CHECK_EQ_INT(excluded, 0); /* buffer 0 leaves nothing out */
        int64_t nva[2] = {0, 0}, ntr = 0, nte = 0;
        for (int64_t i = 0; i < ds.n; i++) {
            const int in_fold = ds.fold[i] == run;
            CHECK_MSG(in_fold == (split[i] == SCARP_SPLIT_TEST), "run %d row %lld: fold %d, split %d", run,
                      (long long)i, ds.fold[i], split[i]);
            CHECK(split[i] <= SCARP_SPLIT_TEST);
            /* outer: every row of the other k − 1 folds trains */
            CHECK(outer[i] == (in_fold ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN));
            if (split[i] == SCARP_SPLIT_VAL) nva[ds.label[i]]++;
            ntr += split[i] == SCARP_SPLIT_TRAIN;
            nte += split[i] == SCARP_SPLIT_TEST;
        }
        tested += nte;
        CHECK(nva[0] > 0 && nva[1] > 0);
        /* the inner validation share is [split] val / (train + val) of the training folds */
        const double share = (double)(nva[0] + nva[1]) / (double)(ntr + nva[0] + nva[1]);
        CHECK_MSG(share > 0.05 && share < 0.35, "run %d: inner validation share %.3f", run, share);
        /* the per-fold normalisation ignores the test rows: make them absurd and refit */
        float *raw = scarp_malloc(sizeof(float) * (size_t)ds.n * ds.norm.L * ds.H * ds.W);
        memcpy(raw, ds.raw, sizeof(float) * (size_t)ds.n * ds.norm.L * ds.H * ds.W);
        uint8_t *mask = scarp_malloc((size_t)ds.n);
        for (int64_t i = 0; i < ds.n; i++) {
            mask[i] = split[i] == SCARP_SPLIT_TEST ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN;
            if (mask[i] == SCARP_SPLIT_TEST)
                for (int64_t k = 0; k < (int64_t)ds.norm.L * ds.H * ds.W; k++) raw[i * ds.norm.L * ds.H * ds.W + k] = 1e9f;
        }
        scarp_norm a, b;
        CHECK_OK(scarp_norm_refit(&a, &ds.norm, ds.n, ds.raw, ds.raw_seq, mask));
        CHECK_OK(scarp_norm_refit(&b, &ds.norm, ds.n, raw, ds.raw_seq, mask));
        for (int c = 0; c < a.C; c++) {
            CHECK_NEAR(a.channels[c].min, b.channels[c].min, 0);
            CHECK_NEAR(a.channels[c].max, b.channels[c].max, 0);
            CHECK_NEAR(a.channels[c].mean, b.channels[c].mean, 0);
            CHECK(a.channels[c].max < 1e8f);
        }
        scarp_norm_free(&a);
        scarp_norm_free(&b);
        scarp_free(raw);
        scarp_free(mask);
    }
    CHECK_EQ_INT(tested, ds.n); /* every sample is tested exactly once */
    /* a buffer leaves out exactly the training/validation rows within it of a test row */
    scarp_config c2 = cfg;
    c2.split_buffer = 600;
    size_t excluded = 0;
    CHECK_OK(scarp__stage_split(&c2, &ds, 0, split, &excluded));
    size_t brute = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        if (ds.fold[i] == 0) continue;
        double best = INFINITY;
        for (int64_t j = 0; j < ds.n; j++)
            if (ds.fold[j] == 0) best = fmin(best, hypot(ds.x[i] - ds.x[j], ds.y[i] - ds.y[j]));
        const int near = best < 600;
        brute += near;
        CHECK_MSG(near == (split[i] == 3), "row %lld at %.0f m from the test fold: split %d", (long long)i, best,
                  split[i]);
    }
    CHECK_EQ_INT(excluded, brute);
    CHECK(brute > 0);
    scarp_free(split);
    scarp_free(outer);
}

static void test_too_small_area(void)
{
    if (!ready) SKIP("no study");
    scarp_config c2 = cfg;
    c2.split_buffer = 1e6; /* far larger than the 15 km province */
    char out[1200], models[1300];
    snprintf(out, sizeof out, "%s/small", work);
    scarp_mkdir_p(out);
    char src[1200], dst[1300];
    snprintf(src, sizeof src, "%s/dataset.bin", cfg.out);
    snprintf(dst, sizeof dst, "%s/dataset.bin", out);
    char *blob = NULL;
    size_t bytes = 0;
    CHECK_OK(scarp_read_file(src, &blob, &bytes));
    CHECK_OK(scarp_write_file_atomic(dst, blob, bytes));
    scarp_free(blob);
    scarp_status st = scarp_train_run_ex(&c2, out, NULL, NULL, NULL);
    CHECK(st == SCARP_ERR_INPUT);
    const char *msg = scarp_last_error();
    CHECK_MSG(strstr(msg, "[split] buffer") && strstr(msg, "would work") && !strchr(msg, '\n'), "message: %s", msg);
    fprintf(stderr, "  too small: %s\n", msg);
    snprintf(models, sizeof models, "%s/models", out);
    CHECK_MSG(!scarp_file_exists(models), "%s written before the split was checked", models);
    scarp_clear_error();
}

static void test_sklearn_reference(void)
{
    if (!ready) SKIP("no study");
    if (system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) SKIP("python3-sklearn missing");
    CHECK_OK(scarp_train_run_ex(&cfg, cfg.out, NULL, NULL, NULL));
    scarp_evaluate_options eo = {.no_importance = 1};
    CHECK_OK(scarp_evaluate_run_ex(&cfg, cfg.out, &eo, NULL));
    /* export label, fold and the (main-split normalised) tabular features */
    char csv[1300], ref[1300], cmd[4096];
    snprintf(csv, sizeof csv, "%s/folds.csv", work);
    snprintf(ref, sizeof ref, "%s/sklearn_auc.csv", work);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "label,fold_r1");
    for (int j = 0; j < ds.F; j++) fprintf(f, ",f%d", j);
    fprintf(f, "\n");
    for (int64_t i = 0; i < ds.n; i++) {
        fprintf(f, "%d,%d", ds.label[i], ds.fold[i]);
        for (int j = 0; j < ds.F; j++) fprintf(f, ",%.9g", ds.tab[i * ds.F + j]);
        fprintf(f, "\n");
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/reference/cv_logreg_sklearn.py %s %g %s", SCARP_TEST_DIR, csv,
             cfg.logreg_c, ref);
    CHECK_EQ_INT(system(cmd), 0);
    /* scarp's per-fold AUCs from metrics.json */
    char mpath[1300], *text = NULL;
    snprintf(mpath, sizeof mpath, "%s/metrics.json", cfg.out);
    CHECK_OK(scarp_read_file(mpath, &text, NULL));
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    const cJSON *vals = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "models"), "logreg"),
                                                "runs"),
                            "auc"),
        "values");
    CHECK(cJSON_GetArraySize(vals) == K);
    FILE *g = fopen(ref, "r");
    CHECK(g != NULL);
    int r, fo, nline = 0;
    double auc;
    while (g && fscanf(g, "%d,%d,%lf", &r, &fo, &auc) == 3) {
        const cJSON *v = cJSON_GetArrayItem(vals, fo);
        CHECK_MSG(cJSON_IsNumber(v) && fabs(v->valuedouble - auc) <= 0.005, "fold %d: scarp %.4f, scikit-learn %.4f",
                  fo + 1, cJSON_IsNumber(v) ? v->valuedouble : NAN, auc);
        fprintf(stderr, "  fold %d: scarp logreg AUC %.4f, scikit-learn %.4f\n", fo + 1,
                cJSON_IsNumber(v) ? v->valuedouble : NAN, auc);
        nline++;
    }
    if (g) fclose(g);
    CHECK_EQ_INT(nline, K);
    cJSON_Delete(root);
    /* the per-sample output holds every sample with its out-of-fold probability */
    char pp[1300];
    snprintf(pp, sizeof pp, "%s/predictions.csv", cfg.out);
    CHECK_OK(scarp_read_file(pp, &text, NULL));
    int lines = 0;
    for (char *c = text; c && *c; c++) lines += *c == '\n';
    CHECK_EQ_INT(lines, ds.n + 1);
    CHECK(text && strstr(text, "logreg_oof"));
    scarp_free(text);
}

/* Repeated spatial CV draws a new partition per repeat (sperrorest re-runs k-means per
 * repetition): k-means blocks from a new seed, square blocks with an offset lattice. Repeat 0
 * is the partition of a single run; every repeat covers every row with k non-empty folds;
 * and no two repeats put the same rows together (they were one partition re-dealt before). */
static void test_spatial_repeats(void)
{
    if (!ready) SKIP("no study");
    const char *kinds[] = {"kmeans", "squares"};
    for (int kind = 0; kind < 2; kind++) {
        scarp_config c = cfg;
        c.repeats = 3;
        snprintf(c.split_blocks, sizeof c.split_blocks, "%s", kinds[kind]);
        c.block_size = 2000;
        char out[sizeof c.out];
        snprintf(out, sizeof out, "%.900s/run_rep_%s", work, kinds[kind]);
        memcpy(c.out, out, sizeof out);
        scarp_mkdir_p(out);
        scarp_dataset d;
        CHECK_OK(scarp_prepare(&c, out, NULL, &d, NULL));
        if (!d.fold) continue;
        CHECK_EQ_INT(d.repeats, 3);
        if (kind == 0) /* repeat 0 = the folds of the single-repeat run */
            CHECK(memcmp(d.fold, ds.fold, sizeof(int16_t) * (size_t)d.n) == 0);
        for (int r = 0; r < 3; r++) {
            int64_t per[K] = {0};
            for (int64_t i = 0; i < d.n; i++) {
                const int f = d.fold[(size_t)r * d.n + i];
                CHECK(f >= 0 && f < K);
                if (f >= 0 && f < K) per[f]++;
            }
            for (int f = 0; f < K; f++) CHECK_MSG(per[f] > 0, "%s repeat %d: fold %d empty", kinds[kind], r, f);
        }
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++) {
                /* pairs of rows together in repeat a but apart in repeat b, or the reverse */
                int64_t differ = 0;
                const int16_t *fa = d.fold + (size_t)a * d.n, *fb = d.fold + (size_t)b * d.n;
                for (int64_t i = 0; i < d.n; i++)
                    for (int64_t j = i + 1; j < d.n; j++) differ += (fa[i] == fa[j]) != (fb[i] == fb[j]);
                fprintf(stderr, "  %s blocks: repeats %d and %d differ on %lld row pairs\n", kinds[kind], a, b,
                        (long long)differ);
                CHECK_MSG(differ > d.n, "%s: repeats %d and %d are the same partition", kinds[kind], a, b);
            }
        scarp_dataset_free(&d);
    }
}

int main(void)
{
    scarp_config_defaults(&cfg);
    setup();
    RUN(test_fold_arithmetic);
    RUN(test_spatial_repeats);
    RUN(test_too_small_area);
    RUN(test_sklearn_reference);
    scarp_dataset_free(&ds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", work);
    return check_summary();
}
