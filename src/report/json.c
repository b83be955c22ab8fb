/* json.c — machine-readable outputs: metrics.json (cJSON; every model, every metric, ROC
 * points, reliability bins, importance, per-run values and their summaries), metrics.csv
 * in the reference study's layout (one row per model, one column per metric) and the
 * study-layout table printed by `scarp evaluate`. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/json_io.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"

static const char *const run_metric_names[SCARP_RUNM_N] = {"accuracy", "precision", "recall", "f1", "auc",
                                                           "pr_auc", "brier", "log_loss", "mae", "rmse"};

const char *scarp_report_run_metric_name(int k) { return k >= 0 && k < SCARP_RUNM_N ? run_metric_names[k] : "?"; }

double scarp_report_run_metric(const scarp_metrics *m, int k)
{
    switch (k) {
    case SCARP_RUNM_ACCURACY: return m->at_half.accuracy;
    case SCARP_RUNM_PRECISION: return m->at_half.precision;
    case SCARP_RUNM_RECALL: return m->at_half.recall;
    case SCARP_RUNM_F1: return m->at_half.f1;
    case SCARP_RUNM_AUC: return m->auc;
    case SCARP_RUNM_PR_AUC: return m->pr_auc;
    case SCARP_RUNM_BRIER: return m->brier;
    case SCARP_RUNM_LOG_LOSS: return m->log_loss;
    case SCARP_RUNM_MAE: return m->mae;
    case SCARP_RUNM_RMSE: return m->rmse;
    default: return NAN;
    }
}

void scarp_report_model_free(scarp_report_model *m)
{
    if (!m) return;
    scarp_free(m->roc_fpr);
    scarp_free(m->roc_tpr);
    for (int k = 0; k < SCARP_HIST_N; k++) scarp_free(m->hist[k]);
    scarp_free(m->factor_names);
    scarp_free(m->imp_share);
    scarp_free(m->imp_drop);
    scarp_free(m->imp_sd);
    for (int k = 0; k < SCARP_RUNM_N; k++) scarp_free(m->run_values[k]);
    for (int k = 0; k < SCARP_RUNM_N; k++) scarp_free(m->random_values[k]);
    memset(m, 0, sizeof *m);
}

void scarp_report_model_summarise(scarp_report_model *m)
{
    for (int k = 0; k < SCARP_RUNM_N; k++) {
        if (m->n_runs > 0 && m->run_values[k]) scarp_summary_compute(m->run_values[k], m->n_runs, &m->run_summary[k]);
        if (m->n_runs_random > 0 && m->random_values[k])
            scarp_summary_compute(m->random_values[k], m->n_runs_random, &m->random_summary[k]);
    }
}

/* 1 when model m has both cross-validations of [split] compare = random. */
static int has_compare(const scarp_report_model *m) { return m->n_runs > 1 && m->n_runs_random > 1; }

/* cJSON prints NaN as null; keep that explicit. */
static void num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull()); }

/* The AUC of one partition as {n, mean, sd, ci95_lo, ci95_hi}. */
static void compare_side(cJSON *o, const char *key, const scarp_summary *s)
{
    cJSON *e = cJSON_AddObjectToObject(o, key);
    num(e, "n", s->k);
    num(e, "mean", s->mean);
    num(e, "sd", s->sd);
    num(e, "ci95_lo", s->lo);
    num(e, "ci95_hi", s->hi);
}

static cJSON *confusion_json(const scarp_confusion *c)
{
    cJSON *o = cJSON_CreateObject();
    num(o, "threshold", c->threshold);
    num(o, "tp", (double)c->tp);
    num(o, "fp", (double)c->fp);
    num(o, "tn", (double)c->tn);
    num(o, "fn", (double)c->fn);
    num(o, "accuracy", c->accuracy);
    num(o, "precision", c->precision);
    num(o, "recall", c->recall);
    num(o, "f1", c->f1);
    num(o, "specificity", c->specificity);
    return o;
}

static cJSON *array_json(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

/* One set of cross-validated runs: n, then per metric mean, sd, 95 % interval, range, values. */
static void add_runs(cJSON *o, const char *key, int n, double *const values[SCARP_RUNM_N],
                     const scarp_summary summary[SCARP_RUNM_N])
{
    cJSON *runs = cJSON_AddObjectToObject(o, key);
    num(runs, "n", n);
    for (int k = 0; k < SCARP_RUNM_N; k++) {
        if (!values[k]) continue;
        cJSON *e = cJSON_AddObjectToObject(runs, run_metric_names[k]);
        const scarp_summary *s = &summary[k];
        num(e, "mean", s->mean);
        num(e, "sd", s->sd);
        num(e, "ci95_lo", s->lo);
        num(e, "ci95_hi", s->hi);
        num(e, "min", s->min);
        num(e, "max", s->max);
        cJSON_AddItemToObject(e, "values", array_json(values[k], (size_t)n));
    }
}

scarp_status scarp_report_write_json(const scarp_report *r, const char *path)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "scarp_version", SCARP_VERSION);
    if (r->config_path) cJSON_AddStringToObject(root, "config", r->config_path);
    cJSON_AddStringToObject(root, "split_method", r->split_method ? r->split_method : "random");
    cJSON_AddStringToObject(root, "threshold_rule", r->threshold_rule ? r->threshold_rule : "max F1 on validation");
    num(root, "seed", (double)r->seed);
    num(root, "folds", r->folds);
    num(root, "repeats", r->repeats);
    cJSON *counts = cJSON_AddObjectToObject(root, "samples");
    num(counts, "train", (double)r->n_train);
    num(counts, "val", (double)r->n_val);
    num(counts, "test", (double)r->n_test);
    num(counts, "test_positives", (double)r->n_test_pos);
    cJSON *models = cJSON_AddObjectToObject(root, "models");
    for (int i = 0; i < r->n_models; i++) {
        const scarp_report_model *m = &r->models[i];
        cJSON *o = cJSON_AddObjectToObject(models, m->name);
        cJSON_AddStringToObject(o, "family", m->family);
        cJSON *t = cJSON_AddObjectToObject(o, "test");
        num(t, "n", (double)m->test.n);
        num(t, "positives", (double)m->test.n_pos);
        num(t, "accuracy", m->test.at_half.accuracy);
        num(t, "precision", m->test.at_half.precision);
        num(t, "recall", m->test.at_half.recall);
        num(t, "f1", m->test.at_half.f1);
        num(t, "auc", m->test.auc);
        num(t, "auc_var_delong", m->test.auc_var);
        num(t, "auc_ci95_lo", m->test.auc_lo);
        num(t, "auc_ci95_hi", m->test.auc_hi);
        num(t, "pr_auc", m->test.pr_auc);
        num(t, "brier", m->test.brier);
        num(t, "log_loss", m->test.log_loss);
        num(t, "mae", m->test.mae);
        num(t, "rmse", m->test.rmse);
        num(t, "ece", m->test.ece);
        cJSON_AddItemToObject(t, "at_0.5", confusion_json(&m->test.at_half));
        cJSON_AddItemToObject(t, "at_val_threshold", confusion_json(&m->test.at_val));
        cJSON *rel = cJSON_AddObjectToObject(t, "reliability");
        cJSON_AddItemToObject(rel, "mean_predicted", array_json(m->test.rel_mean, SCARP_RELIABILITY_BINS));
        cJSON_AddItemToObject(rel, "observed", array_json(m->test.rel_obs, SCARP_RELIABILITY_BINS));
        double cnt[SCARP_RELIABILITY_BINS];
        for (int b = 0; b < SCARP_RELIABILITY_BINS; b++) cnt[b] = (double)m->test.rel_count[b];
        cJSON_AddItemToObject(rel, "count", array_json(cnt, SCARP_RELIABILITY_BINS));
        cJSON *roc = cJSON_AddObjectToObject(t, "roc");
        cJSON_AddItemToObject(roc, "fpr", array_json(m->roc_fpr, m->roc_n));
        cJSON_AddItemToObject(roc, "tpr", array_json(m->roc_tpr, m->roc_n));
        num(o, "val_threshold", m->val_threshold);
        num(o, "train_seconds", m->train_seconds);
        num(o, "predict_seconds", m->predict_seconds);
        if (m->n_epochs > 0) {
            static const char *const hn[SCARP_HIST_N] = {"train_loss", "val_loss", "train_accuracy", "val_accuracy",
                                                         "train_mae", "val_mae", "train_rmse", "val_rmse"};
            cJSON *h = cJSON_AddObjectToObject(o, "history");
            num(h, "epochs", m->n_epochs);
            num(h, "best_epoch", m->best_epoch + 1);
            for (int k = 0; k < SCARP_HIST_N; k++)
                if (m->hist[k]) cJSON_AddItemToObject(h, hn[k], array_json(m->hist[k], (size_t)m->n_epochs));
        }
        if (m->n_factors > 0) {
            cJSON *imp = cJSON_AddArrayToObject(o, "importance");
            for (int f = 0; f < m->n_factors; f++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "factor", m->factor_names[f]);
                num(e, "share", m->imp_share[f]);
                num(e, "auc_drop", m->imp_drop[f]);
                num(e, "auc_drop_sd", m->imp_sd[f]);
                cJSON_AddItemToArray(imp, e);
            }
            num(o, "importance_repeats", m->importance_repeats);
        }
        if (m->n_runs > 0) add_runs(o, "runs", m->n_runs, m->run_values, m->run_summary);
        /* [split] compare = random: the same layout as runs */
        if (m->n_runs_random > 0) add_runs(o, "runs_random", m->n_runs_random, m->random_values, m->random_summary);
        if (has_compare(m)) {
            cJSON *c = cJSON_AddObjectToObject(o, "compare");
            cJSON_AddStringToObject(c, "metric", "auc");
            compare_side(c, "random", &m->random_summary[SCARP_RUNM_AUC]);
            compare_side(c, r->split_method ? r->split_method : "spatial", &m->run_summary[SCARP_RUNM_AUC]);
            num(c, "gap", m->random_summary[SCARP_RUNM_AUC].mean - m->run_summary[SCARP_RUNM_AUC].mean);
        }
    }
    if (r->compare) {
        cJSON *c = cJSON_AddObjectToObject(root, "compare");
        cJSON_AddStringToObject(c, "partition", r->compare);
        cJSON_AddStringToObject(c, "against", r->split_method ? r->split_method : "spatial");
        cJSON_AddStringToObject(c, "gap", "mean AUC under random CV minus mean AUC under spatial CV, over the same "
                                          "folds x repeats: the optimism of non-spatial validation (Brenning 2012)");
    }
    if (r->views) cJSON_AddItemToObject(root, "task", (cJSON *)scarp_views_json(r->views)); /* views.c */
    scarp_status st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
    return st;
}

/* ---- CSV ---- */
typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)need + 1) cap *= 2;
        char *np = scarp_realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

scarp_status scarp_report_write_csv(const scarp_report *r, const char *path)
{
    sbuf b = {0};
    int runs = 0;
    for (int i = 0; i < r->n_models; i++) runs |= r->models[i].n_runs > 1;
    sb_printf(&b, "model,accuracy,precision,recall,f1,auc,auc_ci95_lo,auc_ci95_hi,pr_auc,brier,log_loss,mae,rmse,"
                  "val_threshold,accuracy_at_val,precision_at_val,recall_at_val,f1_at_val,tp,fp,tn,fn,n_test,"
                  "train_seconds");
    if (runs)
        for (int k = 0; k < SCARP_RUNM_N; k++)
            sb_printf(&b, ",%s_mean,%s_sd,%s_ci95_lo,%s_ci95_hi", run_metric_names[k], run_metric_names[k],
                      run_metric_names[k], run_metric_names[k]);
    sb_printf(&b, ",runs");
    int cmp = 0; /* [split] compare = random: the random-CV AUC and the gap, last */
    for (int i = 0; i < r->n_models; i++) cmp |= has_compare(&r->models[i]);
    if (cmp) sb_printf(&b, ",auc_random_mean,auc_random_sd,auc_random_ci95_lo,auc_random_ci95_hi,auc_gap");
    sb_printf(&b, "\n");
    for (int i = 0; i < r->n_models; i++) {
        const scarp_report_model *m = &r->models[i];
        const scarp_metrics *t = &m->test;
        sb_printf(&b, "%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,"
                      "%lld,%lld,%lld,%lld,%zu,%.3f",
                  m->name, t->at_half.accuracy, t->at_half.precision, t->at_half.recall, t->at_half.f1, t->auc,
                  t->auc_lo, t->auc_hi, t->pr_auc, t->brier, t->log_loss, t->mae, t->rmse, m->val_threshold,
                  t->at_val.accuracy, t->at_val.precision, t->at_val.recall, t->at_val.f1, (long long)t->at_half.tp,
                  (long long)t->at_half.fp, (long long)t->at_half.tn, (long long)t->at_half.fn, t->n, m->train_seconds);
        if (runs)
            for (int k = 0; k < SCARP_RUNM_N; k++) {
                const scarp_summary *s = &m->run_summary[k];
                if (m->n_runs > 1) sb_printf(&b, ",%.6f,%.6f,%.6f,%.6f", s->mean, s->sd, s->lo, s->hi);
                else sb_printf(&b, ",,,,");
            }
        sb_printf(&b, ",%d", m->n_runs);
        if (cmp && has_compare(m)) {
            const scarp_summary *a = &m->random_summary[SCARP_RUNM_AUC], *s = &m->run_summary[SCARP_RUNM_AUC];
            sb_printf(&b, ",%.6f,%.6f,%.6f,%.6f,%.6f", a->mean, a->sd, a->lo, a->hi, a->mean - s->mean);
        } else if (cmp) {
            sb_printf(&b, ",,,,,");
        }
        sb_printf(&b, "\n");
    }
    if (b.failed) {
        scarp_free(b.p);
        return scarp_fail(SCARP_ERR_NOMEM, "%s: out of memory", path);
    }
    scarp_status st = scarp_write_file_atomic(path, b.p ? b.p : "", b.n);
    scarp_free(b.p);
    return st;
}

/* The reference study's test-set figures (Kerman, random 70/15/15 split). */
static const struct { const char *model; double acc, prec, rec, f1, auc; } study[] = {
    {"cnn_lstm", 0.956, 0.928, 0.943, 0.935, 0.980}, {"forest", NAN, NAN, NAN, NAN, 0.92},
    {"mlp", NAN, NAN, NAN, NAN, 0.90},                {"svm", NAN, NAN, NAN, NAN, 0.88},
    {"tree", NAN, NAN, NAN, NAN, 0.86},
};

void scarp_report_print_table(const scarp_report *r, FILE *f)
{
    const int kerman = r->reference && !strcmp(r->reference, "kerman"); /* [report] reference */
    int cv = 0;
    for (int i = 0; i < r->n_models; i++) cv |= r->models[i].n_runs > 1;
    if (cv) { /* cross-validation first */
        fprintf(f, "%-10s %7s %7s %17s %9s %7s %7s   (cross-validation: mean over %d folds x %d repeats)\n", "model",
                "AUC", "sd", "95% interval", "accuracy", "F1", "Brier", r->folds, r->repeats);
        for (int i = 0; i < r->n_models; i++) {
            const scarp_report_model *m = &r->models[i];
            if (m->n_runs < 2) continue;
            const scarp_summary *s = m->run_summary;
            fprintf(f, "%-10s %7.3f %7.3f   [%6.3f, %6.3f] %9.3f %7.3f %7.3f\n", m->name, s[SCARP_RUNM_AUC].mean,
                    s[SCARP_RUNM_AUC].sd, s[SCARP_RUNM_AUC].lo, s[SCARP_RUNM_AUC].hi, s[SCARP_RUNM_ACCURACY].mean,
                    s[SCARP_RUNM_F1].mean, s[SCARP_RUNM_BRIER].mean);
        }
        fprintf(f, "\n");
        int cmp = 0;
        for (int i = 0; i < r->n_models; i++) cmp |= has_compare(&r->models[i]);
        if (cmp) { /* [split] compare = random */
            fprintf(f, "%-10s  %-29s  %-29s %7s   (AUC: mean +- sd [95%% interval])\n", "model", "random CV",
                    "spatial CV", "gap");
            for (int i = 0; i < r->n_models; i++) {
                const scarp_report_model *m = &r->models[i];
                if (!has_compare(m)) continue;
                const scarp_summary *a = &m->random_summary[SCARP_RUNM_AUC], *b = &m->run_summary[SCARP_RUNM_AUC];
                fprintf(f, "%-10s  %.3f +- %.3f [%.3f, %.3f]  %.3f +- %.3f [%.3f, %.3f] %+7.3f\n", m->name, a->mean,
                        a->sd, a->lo, a->hi, b->mean, b->sd, b->lo, b->hi, a->mean - b->mean);
            }
            fprintf(f, "(gap = random - spatial: how much validation on random folds, with neighbours of every test "
                       "sample in training, overstates the accuracy away from the training data; Brenning 2012)\n\n");
        }
    }
    fprintf(f, "%-10s %8s %9s %8s %8s %8s %17s   %s\n", "model", "accuracy", "precision", "recall", "F1", "AUC",
            "AUC 95% (DeLong)", kerman ? "study AUC" : "");
    for (int i = 0; i < r->n_models; i++) {
        const scarp_report_model *m = &r->models[i];
        const scarp_confusion *c = &m->test.at_half;
        char ref[16] = "";
        if (kerman) snprintf(ref, sizeof ref, "-");
        for (size_t k = 0; kerman && k < sizeof study / sizeof study[0]; k++)
            if (!strcmp(study[k].model, m->name)) snprintf(ref, sizeof ref, "%.3f", study[k].auc);
        fprintf(f, "%-10s %8.3f %9.3f %8.3f %8.3f %8.3f    [%.3f, %.3f]   %s\n", m->name, c->accuracy, c->precision,
                c->recall, c->f1, m->test.auc, m->test.auc_lo, m->test.auc_hi, ref);
        if (m->n_runs > 1) {
            const scarp_summary *s = m->run_summary;
            fprintf(f, "%-10s %8.3f %9.3f %8.3f %8.3f %8.3f    (mean of %d runs; AUC sd %.3f, 95%% [%.3f, %.3f])\n",
                    "  runs", s[SCARP_RUNM_ACCURACY].mean, s[SCARP_RUNM_PRECISION].mean, s[SCARP_RUNM_RECALL].mean,
                    s[SCARP_RUNM_F1].mean, s[SCARP_RUNM_AUC].mean, m->n_runs, s[SCARP_RUNM_AUC].sd,
                    s[SCARP_RUNM_AUC].lo, s[SCARP_RUNM_AUC].hi);
        }
    }
    fprintf(f, "(test split, threshold 0.5%s)\n",
            kerman ? "; study: CNN-LSTM accuracy 0.956 precision 0.928 recall 0.943 F1 0.935" : "");
}
