/* metrics.c — confusion-matrix metrics, threshold choice on validation (max F1, or
 * Youden 1950, "Index for rating diagnostic tests", Cancer 3:32–35), Brier (1950) score,
 * log loss, MAE, RMSE and the reliability curve (DeGroot & Fienberg 1983) with the
 * expected calibration error (Naeini, Cooper & Hauskrecht 2015). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"

static double safe_div(double a, double b) { return b > 0 ? a / b : 0.0; }

void scarp_confusion_rates(scarp_confusion *c)
{
    double tp = (double)c->tp, fp = (double)c->fp, tn = (double)c->tn, fn = (double)c->fn;
    c->accuracy = safe_div(tp + tn, tp + fp + tn + fn);
    c->precision = safe_div(tp, tp + fp);
    c->recall = safe_div(tp, tp + fn);
    c->specificity = safe_div(tn, tn + fp);
    c->f1 = safe_div(2 * tp, 2 * tp + fp + fn);
}

void scarp_confusion_compute(const float *prob, const uint8_t *y, size_t n, double threshold, scarp_confusion *c)
{
    memset(c, 0, sizeof *c);
    c->threshold = threshold;
    const float t = (float)threshold; /* compare in float: 0.7f must pass a threshold of 0.7 */
    for (size_t i = 0; i < n; i++) {
        int pred = prob[i] >= t;
        if (y[i]) {
            if (pred) c->tp++;
            else c->fn++;
        } else {
            if (pred) c->fp++;
            else c->tn++;
        }
    }
    scarp_confusion_rates(c);
}

typedef struct {
    float s;
    uint32_t i;
} sv_pair;

static int desc_cmp(const void *a, const void *b)
{
    const sv_pair *p = a, *q = b;
    if (p->s > q->s) return -1;
    if (p->s < q->s) return 1;
    return (p->i > q->i) - (p->i < q->i);
}

double scarp_threshold_choose(const float *prob, const uint8_t *y, size_t n, scarp_threshold_rule rule)
{
    size_t n1 = 0;
    for (size_t i = 0; i < n; i++) n1 += y[i] != 0;
    if (n == 0 || n1 == 0 || n1 == n || n > UINT32_MAX) return 0.5;
    size_t n0 = n - n1;
    sv_pair *s = scarp_malloc(n * sizeof *s);
    if (!s) return 0.5;
    for (size_t i = 0; i < n; i++) s[i] = (sv_pair){prob[i], (uint32_t)i};
    qsort(s, n, sizeof *s, desc_cmp);
    double best = -INFINITY, best_t = 0.5;
    size_t tp = 0, fp = 0, a = 0;
    while (a < n) {
        size_t b = a;
        while (b < n && s[b].s == s[a].s) {
            if (y[s[b].i]) tp++;
            else fp++;
            b++;
        }
        /* predicting positive for prob >= s[a].s */
        double v;
        if (rule == SCARP_THRESHOLD_YOUDEN) v = (double)tp / (double)n1 - (double)fp / (double)n0;
        else v = 2.0 * (double)tp / (double)(2 * tp + fp + (n1 - tp));
        double t = s[a].s;
        if (v > best + 1e-12 || (fabs(v - best) <= 1e-12 && fabs(t - 0.5) < fabs(best_t - 0.5))) {
            best = v;
            best_t = t;
        }
        a = b;
    }
    scarp_free(s);
    return best_t;
}

double scarp_brier(const float *prob, const uint8_t *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)prob[i] - (y[i] ? 1.0 : 0.0);
        s += d * d;
    }
    return n ? s / (double)n : NAN;
}

double scarp_rmse(const float *prob, const uint8_t *y, size_t n) { return sqrt(scarp_brier(prob, y, n)); }

double scarp_mae(const float *prob, const uint8_t *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)prob[i] - (y[i] ? 1.0 : 0.0));
    return n ? s / (double)n : NAN;
}

double scarp_log_loss(const float *prob, const uint8_t *y, size_t n)
{
    const double eps = 1e-15;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double p = fmin(fmax((double)prob[i], eps), 1.0 - eps);
        s -= y[i] ? log(p) : log1p(-p);
    }
    return n ? s / (double)n : NAN;
}

scarp_status scarp_reliability(const float *prob, const uint8_t *y, size_t n, int bins, double *mean_pred,
                               double *observed, int64_t *count, double *ece)
{
    if (bins < 1) return scarp_fail(SCARP_ERR_USAGE, "reliability: bins must be >= 1 (got %d)", bins);
    for (int b = 0; b < bins; b++) {
        mean_pred[b] = observed[b] = 0;
        count[b] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        double p = prob[i];
        int b = (int)floor(p * bins);
        if (b < 0) b = 0;
        if (b >= bins) b = bins - 1; /* p = 1 falls in the last bin */
        mean_pred[b] += p;
        observed[b] += y[i] ? 1.0 : 0.0;
        count[b]++;
    }
    double e = 0;
    for (int b = 0; b < bins; b++) {
        if (count[b]) {
            mean_pred[b] /= (double)count[b];
            observed[b] /= (double)count[b];
            e += (double)count[b] * fabs(mean_pred[b] - observed[b]);
        } else {
            mean_pred[b] = observed[b] = NAN;
        }
    }
    if (ece) *ece = n ? e / (double)n : NAN;
    return SCARP_OK;
}

scarp_status scarp_metrics_compute(const float *prob, const uint8_t *y, size_t n, double val_threshold,
                                   scarp_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (size_t i = 0; i < n; i++) m->n_pos += y[i] != 0;
    m->n_neg = n - m->n_pos;
    scarp_confusion_compute(prob, y, n, 0.5, &m->at_half);
    scarp_confusion_compute(prob, y, n, val_threshold, &m->at_val);
    scarp_status st;
    if (m->n_pos == 0 || m->n_neg == 0) {
        /* one class only (a small spatial fold can do that): the ranking metrics are undefined */
        m->auc = m->auc_var = m->auc_lo = m->auc_hi = m->pr_auc = NAN;
    } else {
        if ((st = scarp_auc_delong(prob, y, n, &m->auc, &m->auc_var, &m->auc_lo, &m->auc_hi))) return st;
        if ((st = scarp_average_precision(prob, y, n, &m->pr_auc))) return st;
    }
    m->brier = scarp_brier(prob, y, n);
    m->log_loss = scarp_log_loss(prob, y, n);
    m->mae = scarp_mae(prob, y, n);
    m->rmse = scarp_rmse(prob, y, n);
    return scarp_reliability(prob, y, n, SCARP_RELIABILITY_BINS, m->rel_mean, m->rel_obs, m->rel_count, &m->ece);
}
