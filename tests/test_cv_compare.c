/* test_cv_compare.c — [split] compare = random (docs/06-evaluation.md) on a small synthetic
 * study (`scarp synth --preset mini --size 160x160 --events 175`, DEM layers only, spatial
 * k-means folds, 5 folds x 2 repeats, logreg and tree):
 *   - the random partition: in every repeat each row is tested exactly once, every fold holds
 *     ⌊n_c/k⌋ or ⌈n_c/k⌉ rows of each class c (stratified), it is not the spatial partition,
 *     the inner validation rows come from the other folds only, and it equals the folds that
 *     [split] method = random deals from the same seed (a second prepare);
 *   - train + evaluate: both CV sets exist (metrics.json runs and runs_random, 10 values each;
 *     models/NAME.rR.fF and models/random/NAME.rR.fF), the reported gap equals mean(random) −
 *     mean(spatial) recomputed from the per-fold AUCs in metrics.json, the CLI table shows it;
 *   - turning compare on leaves the spatial results unchanged: the same per-fold AUCs, the
 *     same models/best.json as with compare = none, and no random model in models/ where the
 *     map ensemble looks;
 *   - predictions.csv holds the random folds (random_fold_rR = the partition above + 1) and
 *     each model's random out-of-fold probability;
 *   - scikit-learn's LogisticRegression (tests/reference/cv_logreg_sklearn.py) on the random
 *     folds read back from predictions.csv matches scarp's random-CV logistic regression on
 *     every fold within 0.005 AUC (the tolerance of test_cv_protocol);
 *   - the CLI rejects compare = random with method = random: exit 1, one line naming the
 *     file, nothing written. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "report/stage_internal.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"

enum { K = 5, R = 2 };
static char work[] = "/tmp/scarp_cmp_XXXXXX";
static char ini[1100];
static scarp_config cfg;
static scarp_dataset ds;
static int ready;

static const char *STUDY = "[project]\nout = run\nseed = 42\n"
                           "[grid]\nreference = dem\n"
                           "[layer.dem]\npath = area/dem.tif\nkind = continuous\nderive = slope curvature twi\n"
                           "[inventory]\npath = area/landslides.csv\nx = x\ny = y\ncrs = EPSG:32640\ndate =\n"
                           "[negatives]\nratio = 1\nmin_distance = 60\n"
                           "[split]\nmethod = %s\nfolds = 5\nrepeats = 2\nblock_size = 1\ncompare = %s\n"
                           "[model]\nmodels = logreg tree\nlogreg_c = 100\n";

static int write_study(const char *file, const char *method, const char *compare, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", work, file);
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fprintf(f, STUDY, method, compare);
    return fclose(f) == 0;
}

static void setup(void)
{
    if (!mkdtemp(work)) return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s synth --preset mini --size 160x160 --events 175 --out %s/area --quiet", SCARP_BINARY,
             work);
    if (system(cmd) != 0) return;
    if (!write_study("compare.ini", "spatial", "random", ini, sizeof ini)) return;
    if (scarp_config_load(&cfg, ini) != SCARP_OK) {
        fprintf(stderr, "config: %s\n", scarp_last_error());
        return;
    }
    scarp_mkdir_p(cfg.out);
    ready = scarp_prepare(&cfg, cfg.out, NULL, &ds, NULL) == SCARP_OK;
    if (!ready) fprintf(stderr, "prepare: %s\n", scarp_last_error());
}

static cJSON *load_json(const char *path)
{
    char *text = NULL;
    if (scarp_read_file(path, &text, NULL) != SCARP_OK) return NULL;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    return root;
}

/* metrics.json → models → NAME → key → auc → values: the per-run AUCs (n doubles, NaN for null). */
static int run_aucs(const cJSON *root, const char *name, const char *key, double *v, int n)
{
    const cJSON *vals = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "models"), name), key),
                            "auc"),
        "values");
    if (cJSON_GetArraySize(vals) != n) return 0;
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(vals, i);
        v[i] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    }
    return 1;
}

static double mean_of(const double *v, int n)
{
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) s += v[i], m++;
    return m ? s / m : NAN;
}

static void test_random_partition(void)
{
    if (!ready) SKIP("no study");
    CHECK(scarp__stage_compare(&cfg, &ds));
    CHECK_EQ_INT(ds.folds, K);
    CHECK_EQ_INT(ds.repeats, R);
    int64_t ncls[2] = {0, 0};
    for (int64_t i = 0; i < ds.n; i++) ncls[ds.label[i] ? 1 : 0]++;
    CHECK(ncls[0] > 100 && ncls[1] > 100);
    int16_t *fold = scarp_malloc(sizeof(int16_t) * (size_t)ds.n * R);
    uint8_t *split = scarp_malloc((size_t)ds.n);
    for (int r = 0; r < R; r++) {
        int16_t *fo = fold + (size_t)r * ds.n;
        CHECK_OK(scarp__stage_random_folds(&cfg, &ds, r, fo));
        int64_t count[K][2];
        memset(count, 0, sizeof count);
        int64_t same = 0;
        for (int64_t i = 0; i < ds.n; i++) {
            CHECK_MSG(fo[i] >= 0 && fo[i] < K, "repeat %d row %lld: fold %d", r, (long long)i, fo[i]);
            if (fo[i] >= 0 && fo[i] < K) count[fo[i]][ds.label[i] ? 1 : 0]++;
            same += fo[i] == ds.fold[(size_t)r * ds.n + i];
        }
        /* stratified: every fold holds floor or ceil of n_c / k of each class */
        for (int f = 0; f < K; f++)
            for (int c = 0; c < 2; c++)
                CHECK_MSG(count[f][c] == ncls[c] / K || count[f][c] == (ncls[c] + K - 1) / K,
                          "repeat %d fold %d class %d: %lld rows of %lld", r, f, c, (long long)count[f][c],
                          (long long)ncls[c]);
        /* not the spatial partition: at most about 1/k of the rows share their fold by chance */
        CHECK_MSG(same < ds.n / 2, "repeat %d: %lld of %lld rows in the same fold as the spatial partition", r,
                  (long long)same, (long long)ds.n);
        /* the runs of this repeat: each row tested exactly once, inner validation from the other folds */
        int64_t *tested = scarp_calloc((size_t)ds.n, sizeof *tested);
        for (int f = 0; f < K; f++) {
            const int run = r * K + f;
            CHECK_OK(scarp__stage_random_split(&cfg, &ds, run, split));
            int64_t nva[2] = {0, 0}, ntr = 0;
            for (int64_t i = 0; i < ds.n; i++) {
                CHECK_MSG((fo[i] == f) == (split[i] == SCARP_SPLIT_TEST), "run %d row %lld: fold %d split %d", run,
                          (long long)i, fo[i], split[i]);
                CHECK(split[i] <= SCARP_SPLIT_TEST); /* no buffer in conventional CV */
                tested[i] += split[i] == SCARP_SPLIT_TEST;
                if (split[i] == SCARP_SPLIT_VAL) nva[ds.label[i] ? 1 : 0]++;
                ntr += split[i] == SCARP_SPLIT_TRAIN;
            }
            /* inner split stratified: val / (train + val) = 0.15 / 0.85 of each class, rounded */
            const double share = (double)(nva[0] + nva[1]) / (double)(ntr + nva[0] + nva[1]);
            CHECK_MSG(fabs(share - 0.15 / 0.85) < 0.01, "run %d: inner validation share %.4f", run, share);
            CHECK(nva[0] > 0 && nva[1] > 0);
        }
        for (int64_t i = 0; i < ds.n; i++)
            CHECK_MSG(tested[i] == 1, "repeat %d row %lld tested %lld times", r, (long long)i, (long long)tested[i]);
        scarp_free(tested);
    }
    /* the random folds are those [split] method = random deals with the same seed */
    static scarp_config rc;
    char rini[1200];
    scarp_dataset rds;
    scarp_dataset_init(&rds);
    scarp_config_defaults(&rc);
    if (write_study("random.ini", "random", "none", rini, sizeof rini) && scarp_config_load(&rc, rini) == SCARP_OK) {
        snprintf(rc.out, sizeof rc.out, "%s/run_random", work);
        scarp_mkdir_p(rc.out);
        CHECK_OK(scarp_prepare(&rc, rc.out, NULL, &rds, NULL));
        CHECK_EQ_INT(rds.n, ds.n);
        if (rds.fold && rds.n == ds.n) {
            int64_t diff = 0;
            for (size_t k = 0; k < (size_t)ds.n * R; k++) diff += rds.fold[k] != fold[k] || rds.label[k % ds.n] != ds.label[k % ds.n];
            CHECK_MSG(diff == 0, "%lld rows differ from method = random's folds", (long long)diff);
        }
    } else {
        CHECK_MSG(0, "random.ini: %s", scarp_last_error());
    }
    scarp_dataset_free(&rds);
    scarp_free(fold);
    scarp_free(split);
}

static void test_train_evaluate(void)
{
    if (!ready) SKIP("no study");
    /* compare = none first, on a copy of the dataset, for the spatial results to compare with */
    static scarp_config none;
    none = cfg;
    snprintf(none.split_compare, sizeof none.split_compare, "none");
    snprintf(none.out, sizeof none.out, "%s/run_none", work);
    scarp_mkdir_p(none.out);
    char src[1300], dst[1300], *blob = NULL;
    size_t bytes = 0;
    snprintf(src, sizeof src, "%s/dataset.bin", cfg.out);
    snprintf(dst, sizeof dst, "%s/dataset.bin", none.out);
    CHECK_OK(scarp_read_file(src, &blob, &bytes));
    CHECK_OK(scarp_write_file_atomic(dst, blob, bytes));
    scarp_free(blob);
    scarp_evaluate_options eo = {.no_importance = 1};
    CHECK_OK(scarp_train_run_ex(&none, none.out, NULL, NULL, NULL));
    CHECK_OK(scarp_evaluate_run_ex(&none, none.out, &eo, NULL));

    static scarp_train_result res;
    CHECK_OK(scarp_train_run_ex(&cfg, cfg.out, NULL, NULL, &res));
    CHECK_EQ_INT(res.n_models, 2);
    for (int i = 0; i < res.n_models; i++) {
        CHECK_EQ_INT(res.runs[i], K * R);
        CHECK_EQ_INT(res.runs_random[i], K * R);
    }
    char table[1300];
    snprintf(table, sizeof table, "%s/table.txt", work);
    FILE *tf = fopen(table, "w");
    eo.table = tf;
    CHECK_OK(scarp_evaluate_run_ex(&cfg, cfg.out, &eo, NULL));
    if (tf) fclose(tf);

    char p[1400];
    snprintf(p, sizeof p, "%s/metrics.json", cfg.out);
    cJSON *on = load_json(p);
    snprintf(p, sizeof p, "%s/metrics.json", none.out);
    cJSON *off = load_json(p);
    CHECK(on && off);
    const char *names[2] = {"logreg", "tree"};
    char *ttext = NULL;
    CHECK_OK(scarp_read_file(table, &ttext, NULL));
    CHECK(ttext && strstr(ttext, "random CV") && strstr(ttext, "spatial CV") && strstr(ttext, "Brenning 2012"));
    for (int m = 0; m < 2 && on && off; m++) {
        double sp[K * R], rd[K * R], sp0[K * R];
        CHECK_MSG(run_aucs(on, names[m], "runs", sp, K * R), "%s: no runs.auc.values", names[m]);
        CHECK_MSG(run_aucs(on, names[m], "runs_random", rd, K * R), "%s: no runs_random.auc.values", names[m]);
        CHECK_MSG(run_aucs(off, names[m], "runs", sp0, K * R), "%s: no runs.auc.values (compare = none)", names[m]);
        CHECK(!cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(off, "models"), names[m]), "runs_random"));
        /* the spatial results do not depend on compare: the same numbers, bit for bit (the
         * same rows, seeds and code; the random runs train after them and apart from them) */
        for (int r = 0; r < K * R; r++) {
            CHECK_MSG(sp[r] == sp0[r] || (isnan(sp[r]) && isnan(sp0[r])), "%s run %d: spatial AUC %.9f with compare, "
                      "%.9f without", names[m], r, sp[r], sp0[r]);
            CHECK_MSG(isfinite(rd[r]) && rd[r] > 0.5, "%s random run %d: AUC %.4f", names[m], r, rd[r]);
        }
        /* the gap: mean(random) − mean(spatial) of the per-fold values. cJSON writes doubles
         * with 17 significant digits, so the values read back are the ones averaged; the two
         * means of 10 values in [0, 1] differ from the reported ones by at most ~10 ulp */
        const cJSON *cmp = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(on, "models"), names[m]), "compare");
        const cJSON *gap = cJSON_GetObjectItem(cmp, "gap");
        const cJSON *rmean = cJSON_GetObjectItem(cJSON_GetObjectItem(cmp, "random"), "mean");
        const cJSON *smean = cJSON_GetObjectItem(cJSON_GetObjectItem(cmp, "spatial"), "mean");
        CHECK_MSG(cJSON_IsNumber(gap) && cJSON_IsNumber(rmean) && cJSON_IsNumber(smean), "%s: no compare", names[m]);
        const double want = mean_of(rd, K * R) - mean_of(sp, K * R);
        if (cJSON_IsNumber(gap)) CHECK_NEAR(gap->valuedouble, want, 1e-12);
        if (cJSON_IsNumber(rmean)) CHECK_NEAR(rmean->valuedouble, mean_of(rd, K * R), 1e-12);
        if (cJSON_IsNumber(smean)) CHECK_NEAR(smean->valuedouble, mean_of(sp, K * R), 1e-12);
        fprintf(stderr, "  %s: random %.4f spatial %.4f gap %+.4f\n", names[m], mean_of(rd, K * R),
                mean_of(sp, K * R), want);
        /* the CLI table prints the same gap */
        char row[128];
        snprintf(row, sizeof row, "%+7.3f\n", want);
        const char *line = ttext ? strstr(ttext, "random CV") : NULL;
        line = line ? strstr(line, names[m]) : NULL;
        const char *eol = line ? strchr(line, '\n') : NULL;
        CHECK_MSG(line && eol && eol - line >= 8 && !strncmp(eol - 7, row, 8), "%s: gap %s not in the table", names[m], row);
        /* the map ensemble scans models/ for NAME.*.model: only the spatial fold models there */
        snprintf(p, sizeof p, "%s/models", cfg.out);
        DIR *d = opendir(p);
        int in_models = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
            const size_t nl = strlen(names[m]), el = strlen(e->d_name);
            in_models += !strncmp(e->d_name, names[m], nl) && e->d_name[nl] == '.' && el > 6 &&
                         !strcmp(e->d_name + el - 6, ".model") && strcmp(e->d_name + nl, ".model");
        }
        if (d) closedir(d);
        CHECK_EQ_INT(in_models, K * R);
        /* both sets of fold models on disk, the random ones apart from the map's */
        for (int r = 0; r < K * R; r++) {
            snprintf(p, sizeof p, "%s/models/%s.r%d.f%d.model", cfg.out, names[m], r / K, r % K);
            CHECK_MSG(scarp_file_exists(p), "%s missing", p);
            snprintf(p, sizeof p, "%s/models/random/%s.r%d.f%d.model", cfg.out, names[m], r / K, r % K);
            CHECK_MSG(scarp_file_exists(p), "%s missing", p);
        }
    }
    scarp_free(ttext);
    /* metrics.csv: the gap column (printed with 6 decimals: within 5e-7 of the JSON value) */
    snprintf(p, sizeof p, "%s/metrics.csv", cfg.out);
    char *csv = NULL;
    CHECK_OK(scarp_read_file(p, &csv, NULL));
    int gap_col = -1, ncol = 0;
    char *nl = csv ? strchr(csv, '\n') : NULL;
    if (nl) {
        *nl = 0;
        for (char *save = NULL, *t = strtok_r(csv, ",", &save); t; t = strtok_r(NULL, ",", &save), ncol++)
            if (!strcmp(t, "auc_gap")) gap_col = ncol;
    }
    CHECK(gap_col >= 0);
    for (char *row = nl ? nl + 1 : NULL; row && *row && gap_col >= 0;) {
        char *end = strchr(row, '\n');
        if (end) *end = 0;
        const char *q = row;
        for (int c = 0; c < gap_col && q; c++) q = strchr(q, ','), q = q ? q + 1 : NULL;
        const char *comma = strchr(row, ',');
        char name[32] = "";
        if (comma && comma - row < (long)sizeof name) memcpy(name, row, (size_t)(comma - row)), name[comma - row] = 0;
        const cJSON *g = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(on, "models"), name), "compare"), "gap");
        CHECK_MSG(q && cJSON_IsNumber(g) && fabs(atof(q) - g->valuedouble) <= 5e-7, "metrics.csv %s: gap %s",
                  name, q ? q : "-");
        row = end ? end + 1 : NULL;
    }
    scarp_free(csv);
    /* the report: the comparison table after the CV table, with its sentence */
    snprintf(p, sizeof p, "%s/report.html", cfg.out);
    char *html = NULL;
    CHECK_OK(scarp_read_file(p, &html, NULL));
    const char *cv = html ? strstr(html, "<h2>Cross-validation") : NULL, *cmp = html ? strstr(html, "<h3>Random against spatial") : NULL;
    CHECK_MSG(cv && cmp && cmp > cv && strstr(cmp, "optimism of non-spatial validation") && strstr(cmp, "Brenning 2012"),
              "report.html: no comparison table after the CV table");
    scarp_free(html);
    /* [map] model = best reads the spatial models only: the same choice with or without compare */
    snprintf(p, sizeof p, "%s/models/best.json", cfg.out);
    cJSON *b1 = load_json(p);
    snprintf(p, sizeof p, "%s/models/best.json", none.out);
    cJSON *b0 = load_json(p);
    char *s1 = b1 ? cJSON_PrintUnformatted(b1) : NULL, *s0 = b0 ? cJSON_PrintUnformatted(b0) : NULL;
    CHECK_MSG(s1 && s0 && !strcmp(s1, s0), "best.json: %s with compare, %s without", s1 ? s1 : "-", s0 ? s0 : "-");
    free(s1);
    free(s0);
    cJSON_Delete(b1);
    cJSON_Delete(b0);
    cJSON_Delete(on);
    cJSON_Delete(off);
}

/* predictions.csv: random_fold_rR equals the partition; scikit-learn on those folds. */
static void test_predictions_sklearn(void)
{
    if (!ready) SKIP("no study");
    char path[1300], *text = NULL;
    snprintf(path, sizeof path, "%s/predictions.csv", cfg.out);
    CHECK_OK(scarp_read_file(path, &text, NULL));
    if (!text) return;
    /* header: the random fold columns and each model's random out-of-fold probability */
    char *eol = strchr(text, '\n');
    if (!eol) {
        CHECK(0);
        scarp_free(text);
        return;
    }
    *eol = 0;
    int col_rf[R], ncol = 0;
    for (int r = 0; r < R; r++) col_rf[r] = -1;
    char hdr[4096];
    snprintf(hdr, sizeof hdr, "%s", text);
    CHECK(strstr(hdr, "logreg_random_oof") && strstr(hdr, "tree_random_oof") && strstr(hdr, "fold_r1"));
    for (char *save = NULL, *t = strtok_r(hdr, ",", &save); t; t = strtok_r(NULL, ",", &save), ncol++)
        for (int r = 0; r < R; r++) {
            char want[32];
            snprintf(want, sizeof want, "random_fold_r%d", r + 1);
            if (!strcmp(t, want)) col_rf[r] = ncol;
        }
    CHECK(col_rf[0] >= 0 && col_rf[1] >= 0);
    int16_t *fold = scarp_malloc(sizeof(int16_t) * (size_t)ds.n * R);
    for (int r = 0; r < R; r++) CHECK_OK(scarp__stage_random_folds(&cfg, &ds, r, fold + (size_t)r * ds.n));
    /* the sklearn input: label, the random folds as read from predictions.csv, features */
    char csv[1300], ref[1300], cmd[4096];
    snprintf(csv, sizeof csv, "%s/random_folds.csv", work);
    snprintf(ref, sizeof ref, "%s/sklearn_random_auc.csv", work);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (f) {
        fprintf(f, "label");
        for (int r = 0; r < R; r++) fprintf(f, ",fold_r%d", r + 1);
        for (int j = 0; j < ds.F; j++) fprintf(f, ",f%d", j);
        fprintf(f, "\n");
    }
    char *line = eol + 1;
    int64_t rows = 0;
    for (int64_t i = 0; i < ds.n && line && *line; i++, rows++) {
        char *next = strchr(line, '\n');
        if (next) *next = 0;
        int got[R] = {-1, -1}, c = 0;
        for (char *q = line; q; q = strchr(q, ','), q = q ? q + 1 : NULL, c++)
            for (int r = 0; r < R; r++)
                if (c == col_rf[r]) got[r] = atoi(q);
        for (int r = 0; r < R; r++)
            CHECK_MSG(got[r] == fold[(size_t)r * ds.n + i] + 1, "row %lld: random_fold_r%d = %d, partition %d",
                      (long long)i, r + 1, got[r], fold[(size_t)r * ds.n + i] + 1);
        if (f) {
            fprintf(f, "%d", ds.label[i]);
            for (int r = 0; r < R; r++) fprintf(f, ",%d", got[r] - 1);
            for (int j = 0; j < ds.F; j++) fprintf(f, ",%.9g", ds.tab[i * ds.F + j]);
            fprintf(f, "\n");
        }
        line = next ? next + 1 : NULL;
    }
    CHECK_EQ_INT(rows, ds.n);
    if (f) fclose(f);
    scarp_free(text);
    scarp_free(fold);
    if (system("/usr/bin/python3 -c 'import sklearn' 2>/dev/null") != 0) SKIP("python3-sklearn missing");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/reference/cv_logreg_sklearn.py %s %g %s", SCARP_TEST_DIR, csv,
             cfg.logreg_c, ref);
    CHECK_EQ_INT(system(cmd), 0);
    char mp[1300];
    snprintf(mp, sizeof mp, "%s/metrics.json", cfg.out);
    cJSON *root = load_json(mp);
    double rd[K * R];
    CHECK(root && run_aucs(root, "logreg", "runs_random", rd, K * R));
    FILE *g = fopen(ref, "r");
    CHECK(g != NULL);
    int r, fo, nline = 0;
    double auc, worst = 0;
    while (g && fscanf(g, "%d,%d,%lf", &r, &fo, &auc) == 3) {
        const int run = r * K + fo;
        if (run >= 0 && run < K * R) worst = fmax(worst, fabs(rd[run] - auc));
        CHECK_MSG(run >= 0 && run < K * R && fabs(rd[run] - auc) <= 0.005,
                  "repeat %d fold %d: scarp random-CV logreg %.4f, scikit-learn %.4f", r + 1, fo + 1,
                  run >= 0 && run < K * R ? rd[run] : NAN, auc);
        nline++;
    }
    if (g) fclose(g);
    fprintf(stderr, "  random-CV logreg against scikit-learn: %d folds, largest AUC difference %.5f\n", nline, worst);
    CHECK_EQ_INT(nline, K * R);
    cJSON_Delete(root);
}

/* The CLI: compare = random with method = random stops with exit 1, one line, nothing written. */
static void test_cli_rejects(void)
{
    if (!ready) SKIP("no study");
    char bad[1200], out[1200], err[1300], cmd[4096];
    CHECK(write_study("bad.ini", "random", "random", bad, sizeof bad));
    snprintf(out, sizeof out, "%s/bad_out", work);
    snprintf(err, sizeof err, "%s/bad.err", work);
    snprintf(cmd, sizeof cmd, "%s train %s --out %s --quiet 2>%s", SCARP_BINARY, bad, out, err);
    int rc = system(cmd);
    CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "exit status %d", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    char *text = NULL;
    CHECK_OK(scarp_read_file(err, &text, NULL));
    int lines = 0;
    for (char *c = text; c && *c; c++) lines += *c == '\n';
    CHECK_MSG(text && strstr(text, "bad.ini") && strstr(text, "[split] compare = random needs method = spatial") &&
                  lines == 1,
              "stderr: %s", text ? text : "-");
    scarp_free(text);
    CHECK_MSG(!scarp_file_exists(out), "%s written by a rejected config", out);
}

int main(void)
{
    scarp_config_defaults(&cfg);
    setup();
    RUN(test_random_partition);
    RUN(test_train_evaluate);
    RUN(test_predictions_sklearn);
    RUN(test_cli_rejects);
    scarp_dataset_free(&ds);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", work);
    return check_summary();
}
