/* views.c — the test rows of `scarp evaluate` seen per task (issue 15): for
 * [project] task = hazard the views all / temporal / spatial (report.h), the truth of a
 * synthetic study scored on exactly the rows the models are scored on (truth.tif; the
 * daily failure probability for hazard: src/synth/truth.c), and the paired DeLong tests of
 * cnn_lstm, cnn and lstm (DeLong, DeLong & Clarke-Pearson 1988; src/eval/delong.c). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/log.h"
#include "scarp/report.h"
#include "scarp/synth.h"

static const char *const view_names[SCARP_VIEW_N] = {"all", "temporal", "spatial"};

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* AUC with its DeLong interval of `score` over the rows of view k. */
static scarp_status view_auc(const scarp_report_views *v, int k, const float *score, scarp_view_auc *out)
{
    out->auc = out->lo = out->hi = NAN;
    out->n_pos = out->n_neg = 0;
    size_t m = 0;
    for (size_t i = 0; i < v->n_test; i++)
        if (v->in_view[k][i]) {
            m++;
            if (v->y[i]) out->n_pos++;
            else out->n_neg++;
        }
    if (!out->n_pos || !out->n_neg) return SCARP_OK;
    float *s = scarp_malloc(m * sizeof *s);
    uint8_t *y = scarp_malloc(m);
    if (!s || !y) {
        scarp_free(s);
        scarp_free(y);
        return SCARP_ERR_NOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < v->n_test; i++)
        if (v->in_view[k][i]) {
            s[j] = score[i];
            y[j++] = v->y[i];
        }
    double var;
    scarp_status st = scarp_auc_delong(s, y, m, &out->auc, &var, &out->lo, &out->hi);
    scarp_free(s);
    scarp_free(y);
    return st;
}

scarp_status scarp_views_init(scarp_report_views *v, const scarp_config *cfg, const scarp_dataset *ds,
                              const size_t *te, size_t nte)
{
    memset(v, 0, sizeof *v);
    snprintf(v->task, sizeof v->task, "%s", cfg->task[0] ? cfg->task : "susceptibility");
    const int hazard = strcmp(v->task, "hazard") == 0;
    v->n_views = hazard ? SCARP_VIEW_N : 1;
    v->n_test = nte;
    const size_t n1 = nte ? nte : 1;
    v->y = scarp_malloc(n1);
    for (int k = 0; k < SCARP_VIEW_N; k++) v->in_view[k] = scarp_calloc(n1, 1);
    int32_t *ev = scarp_malloc(sizeof(int32_t) * (size_t)(ds->n + 1));
    if (!v->y || !v->in_view[0] || !v->in_view[1] || !v->in_view[2] || !ev) {
        scarp_free(ev);
        return SCARP_ERR_NOMEM;
    }
    /* event days: the dates of every landslide of the dataset (any split) */
    int64_t ne = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (ds->label[i] && ds->date && ds->date[i] != SCARP_NO_DATE) ev[ne++] = ds->date[i];
    qsort(ev, (size_t)ne, sizeof *ev, cmp_i32);
    for (size_t i = 0; i < nte; i++) {
        size_t r = te[i];
        int pos = ds->label[r] != 0;
        v->y[i] = (uint8_t)pos;
        v->in_view[SCARP_VIEW_ALL][i] = 1;
        if (!hazard) continue;
        v->in_view[SCARP_VIEW_TEMPORAL][i] = pos || (ds->same_cell && ds->same_cell[r]);
        int on_event_day = ds->date && ds->date[r] != SCARP_NO_DATE && ne > 0 &&
                           bsearch(&ds->date[r], ev, (size_t)ne, sizeof *ev, cmp_i32) != NULL;
        v->in_view[SCARP_VIEW_SPATIAL][i] = pos || on_event_day;
    }
    scarp_free(ev);
    if (hazard && !ds->same_cell)
        scarp_warn("evaluate: task = hazard but the dataset has no same-cell negatives (prepared as susceptibility? "
                   "run `scarp prepare` again): the temporal view is empty");
    if (!cfg->truth[0]) return SCARP_OK;
    /* the truth, read at the very cells (and days) of the test rows */
    scarp_synth_truth *t = NULL;
    scarp_status st = scarp_synth_truth_open(&t, cfg->truth);
    if (st) return scarp_fail(st, "[project] truth: %s", scarp_last_error());
    double *x = scarp_malloc(sizeof(double) * n1), *y = scarp_malloc(sizeof(double) * n1);
    double *val = scarp_malloc(sizeof(double) * n1);
    int32_t *date = scarp_malloc(sizeof(int32_t) * n1);
    v->truth_static = scarp_malloc(sizeof(float) * n1);
    if (hazard) v->truth_daily = scarp_malloc(sizeof(float) * n1);
    if (!x || !y || !val || !date || !v->truth_static || (hazard && !v->truth_daily)) st = SCARP_ERR_NOMEM;
    for (size_t i = 0; i < nte && !st; i++) {
        x[i] = ds->x[te[i]];
        y[i] = ds->y[te[i]];
        date[i] = ds->date ? ds->date[te[i]] : SCARP_NO_DATE;
    }
    size_t missing = 0;
    if (!st) st = scarp_synth_truth_static(t, x, y, nte, val);
    for (size_t i = 0; i < nte && !st; i++) {
        if (isnan(val[i])) missing++;
        v->truth_static[i] = isnan(val[i]) ? 0.f : (float)val[i];
    }
    if (!st) v->has_static = 1;
    if (!st && hazard) {
        st = scarp_synth_truth_daily(t, x, y, date, nte, NULL, val);
        for (size_t i = 0; i < nte && !st; i++) {
            if (isnan(val[i])) missing++;
            /* ln p; a pair the truth cannot score ranks lowest */
            v->truth_daily[i] = isnan(val[i]) ? -INFINITY : (float)val[i];
        }
        if (!st) v->has_daily = 1;
    }
    if (!st && missing)
        scarp_warn("evaluate: the truth has no value at %zu test samples (off its grid or record): scored lowest",
                   missing);
    for (int k = 0; k < v->n_views && !st; k++) {
        if (v->has_static) st = view_auc(v, k, v->truth_static, &v->truth_static_view[k]);
        if (!st && v->has_daily) st = view_auc(v, k, v->truth_daily, &v->truth_daily_view[k]);
    }
    scarp_free(x);
    scarp_free(y);
    scarp_free(val);
    scarp_free(date);
    scarp_synth_truth_free(t);
    return st;
}

scarp_status scarp_views_add_model(scarp_report_views *v, const char *name, const float *prob)
{
    if (v->n_models >= SCARP_REPORT_MAX_MODELS) return SCARP_OK;
    int m = v->n_models;
    v->prob[m] = scarp_malloc(sizeof(float) * (v->n_test ? v->n_test : 1));
    if (!v->prob[m]) return SCARP_ERR_NOMEM;
    memcpy(v->prob[m], prob, sizeof(float) * v->n_test);
    snprintf(v->names[m], sizeof v->names[m], "%s", name);
    v->n_models++;
    for (int k = 0; k < v->n_views; k++) {
        scarp_status st = view_auc(v, k, prob, &v->view[m][k]);
        if (st) return st;
    }
    return SCARP_OK;
}

static int model_index(const scarp_report_views *v, const char *name)
{
    for (int m = 0; m < v->n_models; m++)
        if (!strcmp(v->names[m], name)) return m;
    return -1;
}

scarp_status scarp_views_finish(scarp_report_views *v)
{
    static const char *const pairs[3][2] = {{"cnn_lstm", "cnn"}, {"cnn_lstm", "lstm"}, {"cnn", "lstm"}};
    float *a = scarp_malloc(sizeof(float) * (v->n_test ? v->n_test : 1));
    float *b = scarp_malloc(sizeof(float) * (v->n_test ? v->n_test : 1));
    uint8_t *y = scarp_malloc(v->n_test ? v->n_test : 1);
    scarp_status st = (!a || !b || !y) ? SCARP_ERR_NOMEM : SCARP_OK;
    for (int p = 0; p < 3 && !st; p++) {
        int ia = model_index(v, pairs[p][0]), ib = model_index(v, pairs[p][1]);
        if (ia < 0 || ib < 0 || v->n_pairs >= SCARP_VIEW_MAX_PAIRS) continue;
        int q = v->n_pairs++;
        snprintf(v->pair_a[q], 32, "%s", pairs[p][0]);
        snprintf(v->pair_b[q], 32, "%s", pairs[p][1]);
        for (int k = 0; k < v->n_views && !st; k++) {
            size_t m = 0;
            for (size_t i = 0; i < v->n_test; i++)
                if (v->in_view[k][i]) {
                    a[m] = v->prob[ia][i];
                    b[m] = v->prob[ib][i];
                    y[m++] = v->y[i];
                }
            v->pair_ok[q][k] = v->view[ia][k].n_pos > 0 && v->view[ia][k].n_neg > 0;
            if (v->pair_ok[q][k]) st = scarp_auc_delong_paired(a, b, y, m, &v->pair[q][k]);
        }
    }
    scarp_free(a);
    scarp_free(b);
    scarp_free(y);
    return st;
}

void scarp_views_free(scarp_report_views *v)
{
    if (!v) return;
    scarp_free(v->y);
    for (int k = 0; k < SCARP_VIEW_N; k++) scarp_free(v->in_view[k]);
    for (int m = 0; m < SCARP_REPORT_MAX_MODELS; m++) scarp_free(v->prob[m]);
    scarp_free(v->truth_static);
    scarp_free(v->truth_daily);
    memset(v, 0, sizeof *v);
}

/* The truth used as the ceiling of view k: the daily truth for hazard, else the static. */
static const scarp_view_auc *ceiling(const scarp_report_views *v, int k)
{
    if (v->has_daily) return &v->truth_daily_view[k];
    if (v->has_static) return &v->truth_static_view[k];
    return NULL;
}

void scarp_views_print(const scarp_report_views *v, FILE *f)
{
    const int hazard = v->n_views > 1;
    if (!hazard && !v->has_static) return; /* susceptibility on a real study: the main table says it all */
    fprintf(f, "\ntask %s: test AUC%s", v->task, hazard ? " per view (all | temporal | spatial)" : "");
    fprintf(f, "%s\n", ceiling(v, 0) ? ", beside the truth's (the ceiling on these very samples)" : "");
    fprintf(f, "%-16s", "model");
    for (int k = 0; k < v->n_views; k++) fprintf(f, " %8s %15s", view_names[k], "95% (DeLong)");
    if (ceiling(v, 0)) fprintf(f, "  %s", "/ truth");
    fprintf(f, "\n");
    for (int m = 0; m < v->n_models; m++) {
        fprintf(f, "%-16s", v->names[m]);
        for (int k = 0; k < v->n_views; k++)
            fprintf(f, " %8.3f  [%.3f, %.3f]", v->view[m][k].auc, v->view[m][k].lo, v->view[m][k].hi);
        const scarp_view_auc *c = ceiling(v, 0);
        if (c) fprintf(f, "  %.3f", v->view[m][0].auc / c->auc);
        fprintf(f, "\n");
    }
    for (int w = 0; w < 2; w++) {
        int have = w == 0 ? v->has_daily : v->has_static;
        if (!have) continue;
        const scarp_view_auc *tv = w == 0 ? v->truth_daily_view : v->truth_static_view;
        fprintf(f, "%-16s", w == 0 ? "truth (daily)" : "truth (static)");
        for (int k = 0; k < v->n_views; k++) fprintf(f, " %8.3f  [%.3f, %.3f]", tv[k].auc, tv[k].lo, tv[k].hi);
        fprintf(f, "\n");
    }
    if (hazard) {
        fprintf(f, "%-16s", "(landsl./other)");
        const scarp_view_auc *r = v->n_models ? v->view[0] : v->truth_daily_view;
        for (int k = 0; k < v->n_views; k++) fprintf(f, "  %4zu/%-4zu %14s", r[k].n_pos, r[k].n_neg, "");
        fprintf(f, "\n");
    }
    if (v->n_pairs) {
        fprintf(f, "paired DeLong (AUC difference, 95%% interval, two-sided p)\n");
        for (int q = 0; q < v->n_pairs; q++) {
            char nm[80];
            snprintf(nm, sizeof nm, "%s - %s", v->pair_a[q], v->pair_b[q]);
            fprintf(f, "  %-18s", nm);
            for (int k = 0; k < v->n_views; k++) {
                const scarp_delong_paired *p = &v->pair[q][k];
                if (!v->pair_ok[q][k]) fprintf(f, "  %s: -", view_names[k]);
                else
                    fprintf(f, "  %s %+.3f [%+.3f, %+.3f] p=%.3g", view_names[k], p->diff, p->lo, p->hi, p->p);
            }
            fprintf(f, "\n");
        }
    }
}

static cJSON *auc_json(const scarp_view_auc *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "auc", isfinite(a->auc) ? cJSON_CreateNumber(a->auc) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "auc_lo", isfinite(a->lo) ? cJSON_CreateNumber(a->lo) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "auc_hi", isfinite(a->hi) ? cJSON_CreateNumber(a->hi) : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "n_pos", (double)a->n_pos);
    cJSON_AddNumberToObject(o, "n_neg", (double)a->n_neg);
    return o;
}

void *scarp_views_json(const scarp_report_views *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", v->task);
    cJSON *vs = cJSON_AddArrayToObject(o, "views");
    for (int k = 0; k < v->n_views; k++) cJSON_AddItemToArray(vs, cJSON_CreateString(view_names[k]));
    cJSON *ms = cJSON_AddObjectToObject(o, "models");
    for (int m = 0; m < v->n_models; m++) {
        cJSON *e = cJSON_AddObjectToObject(ms, v->names[m]);
        for (int k = 0; k < v->n_views; k++) cJSON_AddItemToObject(e, view_names[k], auc_json(&v->view[m][k]));
        const scarp_view_auc *c = ceiling(v, 0);
        if (c && isfinite(c->auc) && c->auc > 0) cJSON_AddNumberToObject(e, "auc_over_truth", v->view[m][0].auc / c->auc);
    }
    if (v->has_static || v->has_daily) {
        cJSON *t = cJSON_AddObjectToObject(o, "truth");
        cJSON_AddStringToObject(t, "ceiling", v->has_daily ? "daily" : "static");
        for (int w = 0; w < 2; w++) {
            if (!(w == 0 ? v->has_static : v->has_daily)) continue;
            cJSON *e = cJSON_AddObjectToObject(t, w == 0 ? "static" : "daily");
            const scarp_view_auc *tv = w == 0 ? v->truth_static_view : v->truth_daily_view;
            for (int k = 0; k < v->n_views; k++) cJSON_AddItemToObject(e, view_names[k], auc_json(&tv[k]));
        }
    }
    cJSON *pr = cJSON_AddArrayToObject(o, "paired_delong");
    for (int q = 0; q < v->n_pairs; q++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "a", v->pair_a[q]);
        cJSON_AddStringToObject(e, "b", v->pair_b[q]);
        for (int k = 0; k < v->n_views; k++) {
            if (!v->pair_ok[q][k]) {
                cJSON_AddNullToObject(e, view_names[k]);
                continue;
            }
            const scarp_delong_paired *p = &v->pair[q][k];
            cJSON *d = cJSON_AddObjectToObject(e, view_names[k]);
            cJSON_AddNumberToObject(d, "auc_a", p->auc_a);
            cJSON_AddNumberToObject(d, "auc_b", p->auc_b);
            cJSON_AddNumberToObject(d, "diff", p->diff);
            cJSON_AddNumberToObject(d, "lo", p->lo);
            cJSON_AddNumberToObject(d, "hi", p->hi);
            cJSON_AddNumberToObject(d, "z", p->z);
            cJSON_AddNumberToObject(d, "p", p->p);
        }
        cJSON_AddItemToArray(pr, e);
    }
    return o;
}

typedef struct {
    char *s;
    size_t n, cap;
    int failed;
} vbuf;

static void vb_printf(vbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vb_printf(vbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    size_t len = (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + len;
        char *s = scarp_realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, tmp, len);
    b->n += len;
    b->s[b->n] = 0;
}

static void vb_auc(vbuf *b, const scarp_view_auc *a)
{
    if (isfinite(a->auc)) vb_printf(b, "<td>%.3f <small>[%.3f, %.3f]</small></td>", a->auc, a->lo, a->hi);
    else vb_printf(b, "<td>—</td>");
}

char *scarp_views_html(const scarp_report_views *v)
{
    vbuf b = {0};
    const int hazard = v->n_views > 1;
    if (!hazard && !v->has_static) return NULL;
    vb_printf(&b, "<h2>Task: %s%s</h2>\n", v->task, ceiling(v, 0) ? " — every model beside the truth" : "");
    if (hazard)
        vb_printf(&b, "<p>Test pairs seen three ways: <b>all</b>; <b>temporal</b> — the landslide cells on their "
                      "event day against the same cells on other days (only the rainfall and reservoir inputs can "
                      "tell them apart); <b>spatial</b> — the landslides against the negatives dated on an event "
                      "day.</p>\n");
    if (ceiling(v, 0))
        vb_printf(&b, "<p>The truth is the generator's own probability (%s), read at exactly the test samples the "
                      "models are scored on: the ceiling that the inventory's mapping errors leave.</p>\n",
                  v->has_daily ? "the daily failure probability of each pair's cell on its day" : "truth.tif");
    vb_printf(&b, "<table><tr><th>model</th>");
    for (int k = 0; k < v->n_views; k++) vb_printf(&b, "<th>AUC %s</th>", view_names[k]);
    if (ceiling(v, 0)) vb_printf(&b, "<th>AUC / truth's</th>");
    vb_printf(&b, "</tr>\n");
    for (int m = 0; m < v->n_models; m++) {
        vb_printf(&b, "<tr><td>%s</td>", v->names[m]);
        for (int k = 0; k < v->n_views; k++) vb_auc(&b, &v->view[m][k]);
        if (ceiling(v, 0)) vb_printf(&b, "<td>%.3f</td>", v->view[m][0].auc / ceiling(v, 0)->auc);
        vb_printf(&b, "</tr>\n");
    }
    for (int w = 0; w < 2; w++) {
        if (!(w == 0 ? v->has_daily : v->has_static)) continue;
        vb_printf(&b, "<tr><td><b>truth (%s)</b></td>", w == 0 ? "daily" : "static");
        const scarp_view_auc *tv = w == 0 ? v->truth_daily_view : v->truth_static_view;
        for (int k = 0; k < v->n_views; k++) vb_auc(&b, &tv[k]);
        if (ceiling(v, 0)) vb_printf(&b, "<td></td>");
        vb_printf(&b, "</tr>\n");
    }
    if (v->n_models) {
        vb_printf(&b, "<tr><td><small>landslides / others</small></td>");
        for (int k = 0; k < v->n_views; k++)
            vb_printf(&b, "<td><small>%zu / %zu</small></td>", v->view[0][k].n_pos, v->view[0][k].n_neg);
        vb_printf(&b, "%s</tr>\n", ceiling(v, 0) ? "<td></td>" : "");
    }
    vb_printf(&b, "</table>\n");
    if (v->n_pairs) {
        vb_printf(&b, "<h3>Ablation: paired DeLong tests on the same test pairs</h3>\n<table><tr><th>models</th>");
        for (int k = 0; k < v->n_views; k++) vb_printf(&b, "<th>%s: ΔAUC [95 %%], p</th>", view_names[k]);
        vb_printf(&b, "</tr>\n");
        for (int q = 0; q < v->n_pairs; q++) {
            vb_printf(&b, "<tr><td>%s − %s</td>", v->pair_a[q], v->pair_b[q]);
            for (int k = 0; k < v->n_views; k++) {
                const scarp_delong_paired *p = &v->pair[q][k];
                if (!v->pair_ok[q][k]) vb_printf(&b, "<td>—</td>");
                else vb_printf(&b, "<td>%+.3f [%+.3f, %+.3f], p = %.3g</td>", p->diff, p->lo, p->hi, p->p);
            }
            vb_printf(&b, "</tr>\n");
        }
        vb_printf(&b, "</table>\n<p><small>DeLong, DeLong &amp; Clarke-Pearson (1988), Biometrics 44:837–845; "
                      "fast algorithm of Sun &amp; Xu (2014).</small></p>\n");
    }
    if (b.failed) {
        scarp_free(b.s);
        return NULL;
    }
    return b.s;
}
