/* html.c — the self-contained report.html: tables of every metric, the study's figures
 * beside ours, confusion matrices, importance, the spread over runs, every PNG embedded as
 * a base64 data: URI (RFC 4648), the data summary and the config; plus the map engine's
 * figures and summary when OUT/map/figures.json and OUT/map/summary.json exist (see
 * report.h). Also scarp_report_write, which writes every output of `scarp evaluate`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} hbuf;

static void hb_put(hbuf *b, const char *s, size_t len)
{
    if (b->failed) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + len + 1) cap *= 2;
        char *np = scarp_realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

static void hb_printf(hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_printf(hbuf *b, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if ((size_t)need < sizeof small) {
        hb_put(b, small, (size_t)need);
        return;
    }
    char *big = scarp_malloc((size_t)need + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)need + 1, fmt, ap);
    va_end(ap);
    hb_put(b, big, (size_t)need);
    scarp_free(big);
}

static void hb_escape(hbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': hb_put(b, "&lt;", 4); break;
        case '>': hb_put(b, "&gt;", 4); break;
        case '&': hb_put(b, "&amp;", 5); break;
        case '"': hb_put(b, "&quot;", 6); break;
        default: hb_put(b, s, 1);
        }
    }
}

/* Embeds a PNG file as <img src="data:image/png;base64,...">. */
static scarp_status hb_image(hbuf *b, const char *path, const char *alt)
{
    char *data = NULL;
    size_t n = 0;
    scarp_status st = scarp_read_file(path, &data, &n);
    if (st) return st;
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    hb_put(b, "<img alt=\"", 10);
    hb_escape(b, alt);
    hb_put(b, "\" src=\"data:image/png;base64,", 29);
    const unsigned char *u = (const unsigned char *)data;
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0) | (i + 2 < n ? u[i + 2] : 0);
        quad[0] = tab[v >> 18 & 63];
        quad[1] = tab[v >> 12 & 63];
        quad[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        quad[3] = i + 2 < n ? tab[v & 63] : '=';
        hb_put(b, quad, 4);
    }
    hb_put(b, "\">", 2);
    scarp_free(data);
    return SCARP_OK;
}

static void hb_num(hbuf *b, double v, int digits)
{
    if (isfinite(v)) hb_printf(b, "<td>%.*f</td>", digits, v);
    else hb_put(b, "<td>–</td>", strlen("<td>–</td>"));
}

static const char *css =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;"
    "padding:0 1em}h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;"
    "margin-top:1.8em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;"
    "padding:.25em .6em;text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
    "figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.9em;color:#555}"
    "pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em;border:1px solid #e3e3e3}"
    ".meta{color:#555;font-size:.92em}.note{font-size:.88em;color:#555}.cm td{text-align:center;min-width:4em}";

/* The map engine's hook: OUT/map/figures.json and OUT/map/summary.json. */
static scarp_status map_section(hbuf *b, const char *out_dir, const char *sub, const char *heading)
{
    char fj[4096], sj[4096], rel[256];
    scarp_status st;
    snprintf(rel, sizeof rel, "%s/figures.json", sub);
    if ((st = scarp_path_join(fj, sizeof fj, out_dir, rel))) return st;
    snprintf(rel, sizeof rel, "%s/summary.json", sub);
    if ((st = scarp_path_join(sj, sizeof sj, out_dir, rel))) return st;
    int hf = scarp_file_exists(fj), hs = scarp_file_exists(sj);
    if (!hf && !hs) return SCARP_OK;
    hb_printf(b, "<h2 id=\"%s\">%s</h2>\n", strcmp(sub, "map") ? "map-dates" : "map", heading);
    if (hs) {
        char *text = NULL;
        size_t n;
        if ((st = scarp_read_file(sj, &text, &n))) return st;
        cJSON *root = cJSON_Parse(text);
        scarp_free(text);
        if (!root || !cJSON_IsObject(root)) {
            cJSON_Delete(root);
            return scarp_fail(SCARP_ERR_INPUT, "%s: not a JSON object", sj);
        }
        hb_printf(b, "<table>\n");
        for (cJSON *it = root->child; it; it = it->next) {
            hb_put(b, "<tr><th>", 8);
            hb_escape(b, it->string);
            hb_put(b, "</th><td>", 9);
            if (cJSON_IsNumber(it)) hb_printf(b, "%.6g", it->valuedouble);
            else if (cJSON_IsString(it)) hb_escape(b, it->valuestring);
            else if (cJSON_IsArray(it) && it->child && cJSON_IsObject(it->child)) {
                /* an array of objects: a sub-table with the union of the first object's keys */
                hb_printf(b, "<table><tr>");
                for (cJSON *k = it->child->child; k; k = k->next) {
                    hb_put(b, "<th>", 4);
                    hb_escape(b, k->string);
                    hb_put(b, "</th>", 5);
                }
                hb_printf(b, "</tr>");
                for (cJSON *row = it->child; row; row = row->next) {
                    hb_printf(b, "<tr>");
                    for (cJSON *k = it->child->child; k; k = k->next) {
                        cJSON *v = cJSON_GetObjectItemCaseSensitive(row, k->string);
                        hb_put(b, "<td>", 4);
                        if (cJSON_IsNumber(v)) hb_printf(b, "%.6g", v->valuedouble);
                        else if (cJSON_IsString(v)) hb_escape(b, v->valuestring);
                        hb_put(b, "</td>", 5);
                    }
                    hb_printf(b, "</tr>");
                }
                hb_printf(b, "</table>");
            } else {
                char *s = cJSON_PrintUnformatted(it);
                hb_escape(b, s);
                cJSON_free(s);
            }
            hb_put(b, "</td></tr>\n", 11);
        }
        hb_printf(b, "</table>\n");
        cJSON_Delete(root);
    }
    if (hf) {
        char *text = NULL;
        size_t n;
        if ((st = scarp_read_file(fj, &text, &n))) return st;
        cJSON *root = cJSON_Parse(text);
        scarp_free(text);
        if (!root || !cJSON_IsArray(root)) {
            cJSON_Delete(root);
            return scarp_fail(SCARP_ERR_INPUT, "%s: expected a JSON array of {\"file\", \"caption\"}", fj);
        }
        for (cJSON *it = root->child; it; it = it->next) {
            cJSON *file = cJSON_GetObjectItemCaseSensitive(it, "file");
            cJSON *cap = cJSON_GetObjectItemCaseSensitive(it, "caption");
            if (!cJSON_IsString(file)) continue;
            char p[4096];
            if ((st = scarp_path_join(p, sizeof p, out_dir, file->valuestring))) break;
            if (!scarp_file_exists(p)) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: lists %s, which does not exist", fj, p);
                break;
            }
            hb_printf(b, "<figure>");
            if ((st = hb_image(b, p, cJSON_IsString(cap) ? cap->valuestring : file->valuestring))) break;
            hb_printf(b, "<figcaption>");
            hb_escape(b, cJSON_IsString(cap) ? cap->valuestring : "");
            hb_printf(b, "</figcaption></figure>\n");
        }
        cJSON_Delete(root);
    }
    return st;
}

static void confusion_table(hbuf *b, const scarp_confusion *c, const char *title)
{
    hb_printf(b, "<table class=\"cm\"><tr><th colspan=3>%s (threshold %.3f)</th></tr>"
                 "<tr><th></th><th>predicted landslide</th><th>predicted stable</th></tr>"
                 "<tr><th>landslide</th><td>%lld</td><td>%lld</td></tr>"
                 "<tr><th>stable</th><td>%lld</td><td>%lld</td></tr></table>\n",
              title, c->threshold, (long long)c->tp, (long long)c->fn, (long long)c->fp, (long long)c->tn);
}

/* The cross-validated table (folds or repeats > 1): what the report opens with. */
static void cv_table(hbuf *bp, const scarp_report *r)
{
    int runs = 0;
    for (int i = 0; i < r->n_models; i++) runs |= r->models[i].n_runs > 1;
    if (runs) {
        hb_printf(bp, "<h2>Cross-validation: %d folds × %d repeats</h2>\n<table><tr><th>model</th><th>runs</th>", r->folds,
                  r->repeats);
        for (int k = 0; k < SCARP_RUNM_N; k++) hb_printf(bp, "<th>%s</th>", scarp_report_run_metric_name(k));
        hb_printf(bp, "</tr>\n");
        for (int i = 0; i < r->n_models; i++) {
            const scarp_report_model *m = &r->models[i];
            if (m->n_runs < 2) continue;
            hb_printf(bp, "<tr><td>%s</td><td>%d</td>", m->name, m->n_runs);
            for (int k = 0; k < SCARP_RUNM_N; k++) {
                const scarp_summary *s = &m->run_summary[k];
                hb_printf(bp, "<td>%.3f ± %.3f<br><small>[%.3f, %.3f]</small></td>", s->mean, s->sd, s->lo, s->hi);
            }
            hb_printf(bp, "</tr>\n");
        }
        hb_printf(bp, "</table>\n<p class=\"note\">Every outer fold tested once by a model trained on all other "
                      "folds (docs/06-evaluation.md); mean ± sd, and the Student-t 95 %% interval of the mean.</p>\n");
        int cmp = 0;
        for (int i = 0; i < r->n_models; i++) cmp |= r->models[i].n_runs > 1 && r->models[i].n_runs_random > 1;
        if (cmp) { /* [split] compare = random */
            hb_printf(bp, "<h3>Random against spatial cross-validation (AUC)</h3>\n<table><tr><th>model</th>"
                          "<th>random CV</th><th>spatial CV</th><th>gap (random − spatial)</th></tr>\n");
            for (int i = 0; i < r->n_models; i++) {
                const scarp_report_model *m = &r->models[i];
                if (m->n_runs < 2 || m->n_runs_random < 2) continue;
                const scarp_summary *a = &m->random_summary[SCARP_RUNM_AUC], *b = &m->run_summary[SCARP_RUNM_AUC];
                hb_printf(bp, "<tr><td>%s</td><td>%.3f ± %.3f<br><small>[%.3f, %.3f]</small></td>"
                              "<td>%.3f ± %.3f<br><small>[%.3f, %.3f]</small></td><td>%+.3f</td></tr>\n",
                          m->name, a->mean, a->sd, a->lo, a->hi, b->mean, b->sd, b->lo, b->hi, a->mean - b->mean);
            }
            hb_printf(bp, "</table>\n<p class=\"note\">The same %d folds × %d repeats drawn at random (stratified by "
                          "class) instead of by spatial blocks, with the same tuning and inner validation. The gap is "
                          "the optimism of non-spatial validation: random test samples have neighbours in training, so "
                          "random CV overstates how well a model predicts away from its training data (Brenning "
                          "2012); the spatial figure is the one to trust for a map.</p>\n",
                      r->folds, r->repeats);
        }
    }
}

scarp_status scarp_report_write_html(const scarp_report *r, const char *out_dir, char (*plots)[128],
                                     char (*captions)[256], int n_plots, const char *path)
{
    hbuf b = {0};
    scarp_status st = SCARP_OK;
    const char *title = r->title ? r->title : "scarp landslide susceptibility report";
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    hb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    hb_escape(&b, title);
    hb_printf(&b, "</title><style>%s</style></head><body>\n<h1>", css);
    hb_escape(&b, title);
    hb_printf(&b, "</h1>\n<p class=\"meta\">scarp %s · generated %s · config <code>", SCARP_VERSION, when);
    hb_escape(&b, r->config_path ? r->config_path : "-");
    hb_printf(&b, "</code> · seed %llu · split <b>", (unsigned long long)r->seed);
    hb_escape(&b, r->split_method ? r->split_method : "random");
    hb_printf(&b, "</b> · folds %d × repeats %d · samples: train %lld, validation %lld, test %lld (%lld landslides)</p>\n",
              r->folds, r->repeats, (long long)r->n_train, (long long)r->n_val, (long long)r->n_test,
              (long long)r->n_test_pos);

    if (r->map_choice) {
        hb_printf(&b, "<p class=\"meta\">Map drawn with ");
        hb_escape(&b, r->map_choice);
        hb_printf(&b, "</p>\n");
    }
    cv_table(&b, r); /* cross-validation first: the figure a reviewer trusts */
    hb_printf(&b, "<h2>%s</h2>\n<table>", r->folds > 1 || r->repeats > 1 ? "One split: test metrics" : "Test metrics");
    hb_printf(&b, "<tr><th>model</th><th>accuracy</th><th>precision</th><th>recall</th>"
                  "<th>F1</th><th>AUC</th><th>AUC 95 %% (DeLong)</th><th>PR-AUC</th><th>Brier</th><th>log loss</th>"
                  "<th>MAE</th><th>RMSE</th><th>val. threshold</th><th>F1 at it</th><th>train s</th></tr>\n");
    for (int i = 0; i < r->n_models; i++) {
        const scarp_report_model *m = &r->models[i];
        const scarp_metrics *t = &m->test;
        hb_printf(&b, "<tr><td>");
        hb_escape(&b, m->name);
        if (m->ensemble > 1) hb_printf(&b, " (mean of %d seeds)", m->ensemble);
        if (m->did_not_learn) {
            hb_printf(&b, " <b>did not learn</b>: ");
            hb_escape(&b, m->did_not_learn_reason);
        }
        hb_printf(&b, "</td>");
        hb_num(&b, t->at_half.accuracy, 3);
        hb_num(&b, t->at_half.precision, 3);
        hb_num(&b, t->at_half.recall, 3);
        hb_num(&b, t->at_half.f1, 3);
        hb_num(&b, t->auc, 3);
        hb_printf(&b, "<td>[%.3f, %.3f]</td>", t->auc_lo, t->auc_hi);
        hb_num(&b, t->pr_auc, 3);
        hb_num(&b, t->brier, 3);
        hb_num(&b, t->log_loss, 3);
        hb_num(&b, t->mae, 3);
        hb_num(&b, t->rmse, 3);
        hb_num(&b, m->val_threshold, 3);
        hb_num(&b, t->at_val.f1, 3);
        hb_num(&b, m->train_seconds, 1);
        hb_printf(&b, "</tr>\n");
    }
    hb_printf(&b, "</table>\n<p class=\"note\">Test split only. Accuracy, precision, recall and F1 at threshold 0.5; "
                  "the validation threshold is chosen by ");
    hb_escape(&b, r->threshold_rule ? r->threshold_rule : "max F1 on validation");
    hb_printf(&b, ". AUC is exact with ties (Mann–Whitney); its interval from DeLong's variance. PR-AUC is the "
                  "average precision.</p>\n");

    /* the published Kerman study's table: only when the study asks ([report] reference = kerman) */
    if (r->reference && !strcmp(r->reference, "kerman")) {
        hb_printf(&b, "<h2>Beside the reference study</h2>\n<table><tr><th>model</th><th>AUC here</th><th>AUC study</th>"
                      "<th>accuracy here</th><th>accuracy study</th></tr>\n");
        static const struct { const char *m; double auc, acc; } ref[] = {
            {"cnn_lstm", 0.980, 0.956}, {"forest", 0.92, NAN}, {"mlp", 0.90, NAN}, {"svm", 0.88, NAN}, {"tree", 0.86, NAN}};
        for (size_t k = 0; k < sizeof ref / sizeof ref[0]; k++) {
            const scarp_report_model *m = NULL;
            for (int i = 0; i < r->n_models; i++)
                if (!strcmp(r->models[i].name, ref[k].m)) m = &r->models[i];
            hb_printf(&b, "<tr><td>%s</td>", ref[k].m);
            hb_num(&b, m ? m->test.auc : NAN, 3);
            hb_num(&b, ref[k].auc, 3);
            hb_num(&b, m ? m->test.at_half.accuracy : NAN, 3);
            hb_num(&b, ref[k].acc, 3);
            hb_printf(&b, "</tr>\n");
        }
        hb_printf(&b, "</table>\n<p class=\"note\">The study (Kerman Province, random 70/15/15 split of 719 + 719 samples) "
                      "reports no interval; random splits leak spatial autocorrelation, so compare with the spatial "
                      "split and the spread over runs below.</p>\n");
    }

    if (r->views) { /* task views, the truth, paired DeLong (views.c) */
        char *vh = scarp_views_html(r->views);
        if (vh) hb_put(&b, vh, strlen(vh));
        scarp_free(vh);
    }
    hb_printf(&b, "<h2>Figures</h2>\n");
    for (int i = 0; i < n_plots && !st; i++) {
        char p[4096];
        if ((st = scarp_path_join(p, sizeof p, out_dir, "plots"))) break;
        char q[4096];
        if ((st = scarp_path_join(q, sizeof q, p, plots[i]))) break;
        hb_printf(&b, "<figure>");
        if ((st = hb_image(&b, q, plots[i]))) break;
        hb_printf(&b, "<figcaption>");
        hb_escape(&b, captions[i]);
        hb_printf(&b, "</figcaption></figure>\n");
    }
    if (st) goto end;

    hb_printf(&b, "<h2>Confusion matrices</h2>\n");
    for (int i = 0; i < r->n_models; i++) {
        const scarp_report_model *m = &r->models[i];
        hb_printf(&b, "<h3>%s</h3><div style=\"display:flex;gap:2em\">", m->name);
        confusion_table(&b, &m->test.at_half, "at 0.5");
        confusion_table(&b, &m->test.at_val, "at the validation threshold");
        hb_printf(&b, "</div>\n");
    }

    int any_imp = 0;
    for (int i = 0; i < r->n_models; i++) any_imp |= r->models[i].n_factors > 0;
    if (any_imp) {
        hb_printf(&b, "<h2>Permutation importance</h2>\n");
        for (int i = 0; i < r->n_models; i++) {
            const scarp_report_model *m = &r->models[i];
            if (m->n_factors < 1) continue;
            hb_printf(&b, "<h3>%s</h3><table><tr><th>factor</th><th>share %%</th><th>AUC drop</th><th>sd</th></tr>\n",
                      m->name);
            for (int f = 0; f < m->n_factors; f++) {
                hb_printf(&b, "<tr><td>");
                hb_escape(&b, m->factor_names[f]);
                hb_printf(&b, "</td>");
                hb_num(&b, 100 * m->imp_share[f], 1);
                hb_num(&b, m->imp_drop[f], 4);
                hb_num(&b, m->imp_sd[f], 4);
                hb_printf(&b, "</tr>\n");
            }
            hb_printf(&b, "</table>\n");
        }
    }

    if ((st = map_section(&b, out_dir, "map", "Map"))) goto end;
    if ((st = map_section(&b, out_dir, "map/dates", "Maps by date"))) goto end;

    if (r->data_summary) {
        hb_printf(&b, "<h2>Data</h2>\n<pre>");
        hb_escape(&b, r->data_summary);
        hb_printf(&b, "</pre>\n");
    }
    if (r->config_text) {
        hb_printf(&b, "<h2>Configuration</h2>\n<pre>");
        hb_escape(&b, r->config_text);
        hb_printf(&b, "</pre>\n");
    }
    hb_printf(&b, "</body></html>\n");
    if (b.failed) {
        st = scarp_fail(SCARP_ERR_NOMEM, "%s: out of memory while building the report", path);
        goto end;
    }
    st = scarp_write_file_atomic(path, b.p, b.n);
end:
    scarp_free(b.p);
    return st;
}

scarp_status scarp_report_write(const scarp_report *r, const char *out_dir)
{
    char path[4096], plots_dir[4096];
    scarp_status st;
    if ((st = scarp_mkdir_p(out_dir))) return st;
    if ((st = scarp_path_join(path, sizeof path, out_dir, "metrics.json")) || (st = scarp_report_write_json(r, path)))
        return st;
    if ((st = scarp_path_join(path, sizeof path, out_dir, "metrics.csv")) || (st = scarp_report_write_csv(r, path)))
        return st;
    if ((st = scarp_path_join(plots_dir, sizeof plots_dir, out_dir, "plots"))) return st;
    enum { MAXP = 64 };
    char(*names)[128] = scarp_calloc(MAXP, sizeof *names);
    char(*caps)[256] = scarp_calloc(MAXP, sizeof *caps);
    int n = 0;
    if (!names || !caps) st = SCARP_ERR_NOMEM;
    if (!st) st = scarp_report_write_plots(r, plots_dir, names, caps, MAXP, &n);
    if (!st) st = scarp_path_join(path, sizeof path, out_dir, "report.html");
    if (!st) st = scarp_report_write_html(r, out_dir, names, caps, n, path);
    scarp_free(names);
    scarp_free(caps);
    return st;
}
