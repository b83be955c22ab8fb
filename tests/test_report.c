/* test_report.c — the report renders. A report of three models (constructed scores with
 * known AUCs, training curves, importance, runs) plus a map-engine hook figure is written
 * to a temporary folder; metrics.json parses and holds the AUC computed independently by
 * brute force; metrics.csv has the study's layout; every <img> of report.html is a data:
 * URI that decodes to a valid PNG; headless Chromium opens the page and its screenshot is
 * not blank (skipped loudly when chromium is absent). */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"
#include "scarp/rng.h"

static char DIR_[512];

/* Under LeakSanitizer: fontconfig (used by cairo's text) keeps its caches for the life of
 * the process, as tests/lsan.supp notes; not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static double brute_auc(const float *s, const uint8_t *y, size_t n)
{
    double num = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] && !y[j]) {
                pairs++;
                num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
    return num / pairs;
}

enum { NT = 216, NM = 3 };
static float probs[NM][NT];
static uint8_t ylab[NT];

static void build_report(scarp_report *r, scarp_report_model *models)
{
    scarp_rng rng;
    scarp_rng_seed(&rng, 99);
    for (int i = 0; i < NT; i++) ylab[i] = i % 2;
    static const char *names[NM] = {"cnn_lstm", "forest", "svm"};
    static const double sep[NM] = {2.5, 1.6, 1.0};
    for (int k = 0; k < NM; k++) {
        scarp_report_model *m = &models[k];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", names[k]);
        snprintf(m->family, sizeof m->family, "%s", k ? "baseline" : "network");
        for (int i = 0; i < NT; i++) {
            double z = scarp_rng_normal(&rng) + (ylab[i] ? sep[k] : 0) - sep[k] / 2;
            probs[k][i] = (float)(1 / (1 + exp(-z)));
        }
        double vt = 0.5;
        CHECK_OK(scarp_metrics_compute(probs[k], ylab, NT, vt, &m->test));
        m->val_threshold = vt;
        double *thr;
        CHECK_OK(scarp_roc_points(probs[k], ylab, NT, &m->roc_fpr, &m->roc_tpr, &thr, &m->roc_n));
        scarp_free(thr);
        m->train_seconds = 1.5 * (k + 1);
        if (k == 0) {
            m->n_epochs = 20;
            m->best_epoch = 11;
            for (int h = 0; h < SCARP_HIST_N; h++) {
                m->hist[h] = scarp_malloc(20 * sizeof(double));
                for (int e = 0; e < 20; e++)
                    m->hist[h][e] = (h == SCARP_HIST_TRAIN_ACC || h == SCARP_HIST_VAL_ACC) ? 1 - 0.4 * exp(-e / 5.0)
                                                                                           : 0.7 * exp(-e / (h % 2 ? 8.0 : 5.0));
            }
        }
        m->n_factors = 4;
        m->importance_repeats = 5;
        m->factor_names = scarp_calloc(4, sizeof *m->factor_names);
        m->imp_share = scarp_malloc(4 * sizeof(double));
        m->imp_drop = scarp_malloc(4 * sizeof(double));
        m->imp_sd = scarp_malloc(4 * sizeof(double));
        static const char *fn[4] = {"slope", "erg (one-hot)", "rainfall", "dist_faults"};
        static const double dr[4] = {0.12, 0.05, 0.02, -0.001};
        for (int f = 0; f < 4; f++) {
            snprintf(m->factor_names[f], 64, "%s", fn[f]);
            m->imp_drop[f] = dr[f];
            m->imp_sd[f] = 0.01;
            m->imp_share[f] = fmax(dr[f], 0) / 0.19;
        }
        m->n_runs = 5;
        for (int q = 0; q < SCARP_RUNM_N; q++) {
            m->run_values[q] = scarp_malloc(5 * sizeof(double));
            for (int j = 0; j < 5; j++) m->run_values[q][j] = scarp_report_run_metric(&m->test, q) + 0.01 * (j - 2);
        }
        scarp_report_model_summarise(m);
    }
    memset(r, 0, sizeof *r);
    r->config_path = "study.ini";
    r->config_text = "[project]\nout = run <&> \"quoted\"\n";
    r->data_summary = "positives 719, negatives 719\n";
    r->split_method = "random";
    r->threshold_rule = "max F1 on validation";
    r->seed = 42;
    r->folds = 5;
    r->repeats = 1;
    r->n_train = 1006;
    r->n_val = 216;
    r->n_test = NT;
    r->n_test_pos = NT / 2;
    r->n_models = NM;
    r->models = models;
}

/* Decodes base64 into out (cap); returns the length or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    static int8_t map[256];
    static int init = 0;
    if (!init) {
        memset(map, -1, sizeof map);
        const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) map[(unsigned char)t[i]] = (int8_t)i;
        init = 1;
    }
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') break;
        int d = map[(unsigned char)s[i]];
        if (d < 0) return -1;
        v = v << 6 | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return -1;
            out[o++] = (unsigned char)(v >> bits & 0xff);
        }
    }
    return (long)o;
}

typedef struct {
    const unsigned char *p;
    size_t n, off;
} memsrc;

static cairo_status_t mem_read(void *c, unsigned char *data, unsigned int len)
{
    memsrc *m = c;
    if (m->off + len > m->n) return CAIRO_STATUS_READ_ERROR;
    memcpy(data, m->p + m->off, len);
    m->off += len;
    return CAIRO_STATUS_SUCCESS;
}

/* Every <img> in html has a data: URI decoding to a PNG that cairo loads. Returns the count. */
static int check_images(const char *html)
{
    int count = 0;
    const char *p = html;
    while ((p = strstr(p, "<img"))) {
        const char *src = strstr(p, "src=\"");
        const char *end = src ? strchr(src + 5, '"') : NULL;
        CHECK(src && end);
        if (!src || !end) break;
        src += 5;
        const char *prefix = "data:image/png;base64,";
        CHECK_MSG(!strncmp(src, prefix, strlen(prefix)), "img %d src is not a PNG data URI: %.40s", count, src);
        if (strncmp(src, prefix, strlen(prefix))) break;
        const char *b = src + strlen(prefix);
        size_t cap = (size_t)(end - b);
        unsigned char *png = scarp_malloc(cap);
        long n = b64_decode(b, cap, png, cap);
        CHECK(n > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8));
        memsrc ms = {png, (size_t)(n > 0 ? n : 0), 0};
        cairo_surface_t *s = cairo_image_surface_create_from_png_stream(mem_read, &ms);
        CHECK_MSG(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "img %d does not decode as PNG", count);
        CHECK(cairo_image_surface_get_width(s) > 100 && cairo_image_surface_get_height(s) > 100);
        cairo_surface_destroy(s);
        scarp_free(png);
        count++;
        p = end;
    }
    return count;
}

static void test_outputs(void)
{
    scarp_report r;
    scarp_report_model models[NM];
    build_report(&r, models);
    /* the map engine's hook: a figure and a summary under OUT/map */
    char mapdir[600], p[700];
    snprintf(mapdir, sizeof mapdir, "%s/map", DIR_);
    CHECK_OK(scarp_mkdir_p(mapdir));
    double x[3] = {0, 0.5, 1}, y[3] = {0, 0.8, 1};
    scarp_plot_series s = {x, y, 3, "success rate", 2, 0, 1};
    scarp_plot_axes ax = {"Success rate", "share of area", "share of landslides", 0, 1, 0, 1, 1, 1};
    snprintf(p, sizeof p, "%s/success.png", mapdir);
    CHECK_OK(scarp_plot_lines(p, 500, 400, &ax, &s, 1));
    snprintf(p, sizeof p, "%s/figures.json", mapdir);
    const char *fj = "[{\"file\": \"map/success.png\", \"caption\": \"Success-rate curve (AUC 0.83)\"}]";
    CHECK_OK(scarp_write_file_atomic(p, fj, strlen(fj)));
    snprintf(p, sizeof p, "%s/summary.json", mapdir);
    const char *sj = "{\"high_very_high_share_of_landslides\": 0.864, \"breaks\": \"natural\", \"classes\": "
                     "[{\"class\": \"low\", \"area\": 0.34}, {\"class\": \"high\", \"area\": 0.247}]}";
    CHECK_OK(scarp_write_file_atomic(p, sj, strlen(sj)));

    CHECK_OK(scarp_report_write(&r, DIR_));

    /* metrics.json */
    char *text;
    size_t n;
    snprintf(p, sizeof p, "%s/metrics.json", DIR_);
    CHECK_OK(scarp_read_file(p, &text, &n));
    cJSON *root = cJSON_Parse(text);
    CHECK(root != NULL);
    for (int k = 0; k < NM && root; k++) {
        cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "models"), models[k].name);
        cJSON *auc = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "test"), "auc");
        CHECK(cJSON_IsNumber(auc));
        if (cJSON_IsNumber(auc)) CHECK_NEAR(auc->valuedouble, brute_auc(probs[k], ylab, NT), 1e-9);
        CHECK(cJSON_GetObjectItem(m, "importance") != NULL);
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "runs"), "auc") != NULL);
    }
    cJSON_Delete(root);
    scarp_free(text);

    /* metrics.csv: header + one row per model, study columns first */
    snprintf(p, sizeof p, "%s/metrics.csv", DIR_);
    CHECK_OK(scarp_read_file(p, &text, &n));
    CHECK(!strncmp(text, "model,accuracy,precision,recall,f1,auc,", 39));
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += text[i] == '\n';
    CHECK_EQ_INT(lines, 1 + NM);
    CHECK(strstr(text, "\nforest,") != NULL);
    scarp_free(text);

    /* report.html: images embedded and valid; the config is escaped */
    snprintf(p, sizeof p, "%s/report.html", DIR_);
    CHECK_OK(scarp_read_file(p, &text, &n));
    int imgs = check_images(text);
    /* roc + calibration + training(1) + importance(3) + runs + map hook figure */
    CHECK_EQ_INT(imgs, 8);
    CHECK(strstr(text, "out = run &lt;&amp;&gt; &quot;quoted&quot;") != NULL);
    CHECK(strstr(text, "Success-rate curve") != NULL && strstr(text, "0.864") != NULL);
    { /* the report opens with the cross-validated table, the single split after it */
        const char *cv = strstr(text, "<h2>Cross-validation"), *one = strstr(text, "<h2>One split");
        CHECK_MSG(cv && one && cv < one, "cross-validation table first");
    }
    /* issue 18: no Kerman table unless the study asks for it ([report] reference = kerman) */
    CHECK_MSG(strstr(text, "Beside the reference study") == NULL, "a report without [report] reference shows the Kerman table");
    scarp_free(text);
    r.reference = "kerman";
    CHECK_OK(scarp_report_write(&r, DIR_));
    CHECK_OK(scarp_read_file(p, &text, &n));
    CHECK_MSG(strstr(text, "Beside the reference study") != NULL && strstr(text, "0.980") != NULL,
              "[report] reference = kerman: no reference section");
    scarp_free(text);
    r.reference = NULL;
    snprintf(p, sizeof p, "%s/report.html.partial", DIR_);
    CHECK(!scarp_file_exists(p));

    /* the printed table */
    FILE *f = tmpfile();
    scarp_report_print_table(&r, f);
    rewind(f);
    char line[512];
    int rows = 0, first_cv = -1, first_split = -1, ln = 0;
    while (fgets(line, sizeof line, f)) {
        rows += !strncmp(line, "cnn_lstm", 8) || !strncmp(line, "forest", 6);
        if (first_cv < 0 && strstr(line, "(cross-validation")) first_cv = ln;
        if (first_split < 0 && strstr(line, "AUC 95% (DeLong)")) first_split = ln;
        ln++;
    }
    fclose(f);
    CHECK_EQ_INT(rows, 4); /* each model in the cross-validation table, then in the single split's */
    CHECK_MSG(first_cv >= 0 && first_split > first_cv, "the table opens with cross-validation (lines %d, %d)", first_cv,
              first_split);
    for (int k = 0; k < NM; k++) scarp_report_model_free(&models[k]);

    /* a bad hook file is a clear error naming it */
    snprintf(p, sizeof p, "%s/figures.json", mapdir);
    CHECK_OK(scarp_write_file_atomic(p, "{not json", 9));
    build_report(&r, models);
    CHECK_FAILS(scarp_report_write(&r, DIR_), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "figures.json") != NULL);
    for (int k = 0; k < NM; k++) scarp_report_model_free(&models[k]);
    remove(p);
}

static void test_chromium_renders(void)
{
    const char *chromium = NULL;
    static const char *cands[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
    for (size_t i = 0; i < 3; i++)
        if (access(cands[i], X_OK) == 0) chromium = cands[i];
    if (!chromium) SKIP("no headless Chromium (apt-get install chromium): report rendering not checked");
    char cmd[4096], shot[600], dom[600], prof[600];
    snprintf(shot, sizeof shot, "%s/shot.png", DIR_);
    snprintf(dom, sizeof dom, "%s/dom.html", DIR_);
    snprintf(prof, sizeof prof, "%s/chromium-profile", DIR_);
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-background-networking "
                        "--disable-component-update --no-first-run --disable-dev-shm-usage --hide-scrollbars";
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s --user-data-dir=%s --screenshot=%s --window-size=1200,2000 "
                              "file://%s/report.html >/dev/null 2>&1", chromium, flags, prof, shot, DIR_);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "chromium screenshot failed (%d): %s", rc, cmd);
    cairo_surface_t *s = cairo_image_surface_create_from_png(shot);
    CHECK_MSG(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "no screenshot at %s", shot);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s),
            stride = cairo_image_surface_get_stride(s);
        const unsigned char *px = cairo_image_surface_get_data(s);
        long nonwhite = 0, coloured = 0;
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++) {
                const unsigned char *q = px + (size_t)yy * stride + 4 * xx; /* BGRA */
                int b = q[0], g = q[1], r = q[2];
                nonwhite += (r < 240 || g < 240 || b < 240);
                coloured += abs(r - g) > 40 || abs(g - b) > 40; /* plot lines and bars */
            }
        fprintf(stderr, "  screenshot %dx%d: %.1f%% non-white, %ld coloured pixels\n", w, h,
                100.0 * nonwhite / ((double)w * h), coloured);
        CHECK(w == 1200 && h == 2000);
        CHECK(nonwhite > (long)w * h / 100);
        CHECK(coloured > 2000); /* the figures were drawn, not broken-image icons */
    }
    cairo_surface_destroy(s);
    /* the DOM as Chromium parsed it: every image still a valid PNG data URI */
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s --user-data-dir=%s --dump-dom file://%s/report.html > %s 2>/dev/null",
             chromium, flags, prof, DIR_, dom);
    rc = system(cmd);
    CHECK_MSG(rc == 0, "chromium --dump-dom failed (%d)", rc);
    char *text;
    size_t n;
    if (scarp_read_file(dom, &text, &n) == SCARP_OK) {
        CHECK_EQ_INT(check_images(text), 8);
        scarp_free(text);
    }
}

int main(void)
{
    snprintf(DIR_, sizeof DIR_, "/tmp/scarp_test_report_%d", (int)getpid());
    if (scarp_mkdir_p(DIR_)) return 1;
    RUN(test_outputs);
    RUN(test_chromium_renders);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    if (check_failures || getenv("SCARP_TEST_KEEP")) fprintf(stderr, "outputs kept in %s\n", DIR_);
    else if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", DIR_);
    return check_summary();
}
