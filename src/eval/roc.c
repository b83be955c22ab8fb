/* roc.c — exact AUC with ties (Mann & Whitney 1947, mid-ranks), its variance by DeLong,
 * DeLong & Clarke-Pearson (1988), "Comparing the areas under two or more correlated ROC
 * curves", Biometrics 44:837–845, computed with the mid-rank algorithm of Sun & Xu (2014),
 * IEEE Signal Processing Letters 21:1389–1393; ROC points and average precision. */
#include <math.h>
#include <stdlib.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"

typedef struct {
    float s;
    uint32_t pad_;
    size_t i;
} scored;

static int scored_cmp(const void *a, const void *b)
{
    const scored *p = a, *q = b;
    if (p->s < q->s) return -1;
    if (p->s > q->s) return 1;
    return (p->i > q->i) - (p->i < q->i); /* total order: deterministic */
}

/* Mid-ranks (1-based, ties get the mean of their ranks) of the m values idx-selected from
 * score, written to rank[k] for the k-th selected value. buf: (m) scratch. */
static void midranks(const float *score, const size_t *sel, size_t m, double *rank, scored *buf)
{
    for (size_t k = 0; k < m; k++) buf[k] = (scored){score[sel[k]], 0, k};
    qsort(buf, m, sizeof *buf, scored_cmp);
    size_t a = 0;
    while (a < m) {
        size_t b = a + 1;
        while (b < m && buf[b].s == buf[a].s) b++;
        double r = 0.5 * (double)(a + 1 + b); /* mean of ranks a+1 .. b */
        for (size_t k = a; k < b; k++) rank[buf[k].i] = r;
        a = b;
    }
}

static scarp_status check_input(const float *score, const uint8_t *y, size_t n, size_t *npos)
{
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i])) return scarp_fail(SCARP_ERR_INPUT, "AUC: score %zu is NaN", i);
        p += y[i] != 0;
    }
    if (p == 0 || p == n)
        return scarp_fail(SCARP_ERR_INPUT, "AUC: needs both classes (%zu positives among %zu samples)", p, n);
    *npos = p;
    return SCARP_OK;
}

scarp_status scarp_auc_delong(const float *score, const uint8_t *y, size_t n, double *auc, double *var,
                              double *lo, double *hi)
{
    size_t n1 = 0;
    scarp_status st = check_input(score, y, n, &n1);
    if (st) return st;
    size_t n0 = n - n1;
    size_t *all = scarp_malloc(n * sizeof *all), *pos = scarp_malloc(n1 * sizeof *pos),
           *neg = scarp_malloc(n0 * sizeof *neg);
    double *tz = scarp_malloc(n * sizeof *tz), *tx = scarp_malloc(n1 * sizeof *tx),
           *ty = scarp_malloc(n0 * sizeof *ty);
    scored *buf = scarp_malloc(n * sizeof *buf);
    if (!all || !pos || !neg || !tz || !tx || !ty || !buf) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        all[i] = i;
        if (y[i]) pos[a++] = i;
        else neg[b++] = i;
    }
    midranks(score, all, n, tz, buf);
    midranks(score, pos, n1, tx, buf);
    midranks(score, neg, n0, ty, buf);
    /* AUC from the positives' ranks in the pooled sample */
    double sum = 0;
    for (size_t k = 0; k < n1; k++) sum += tz[pos[k]];
    double A = (sum - 0.5 * (double)n1 * (double)(n1 + 1)) / ((double)n1 * (double)n0);
    /* structural components: V10_k = (Tz − Tx) / n0 (positives), V01_k = 1 − (Tz − Ty) / n1 */
    double s10 = 0, s01 = 0;
    for (size_t k = 0; k < n1; k++) {
        double v = (tz[pos[k]] - tx[k]) / (double)n0 - A;
        s10 += v * v;
    }
    for (size_t k = 0; k < n0; k++) {
        double v = 1.0 - (tz[neg[k]] - ty[k]) / (double)n1 - A;
        s01 += v * v;
    }
    s10 = n1 > 1 ? s10 / (double)(n1 - 1) : 0;
    s01 = n0 > 1 ? s01 / (double)(n0 - 1) : 0;
    double V = s10 / (double)n1 + s01 / (double)n0;
    if (auc) *auc = A;
    if (var) *var = V;
    double half = 1.959963984540054 * sqrt(V);
    if (lo) *lo = fmax(0.0, A - half);
    if (hi) *hi = fmin(1.0, A + half);
end:
    scarp_free(all);
    scarp_free(pos);
    scarp_free(neg);
    scarp_free(tz);
    scarp_free(tx);
    scarp_free(ty);
    scarp_free(buf);
    return st;
}

scarp_status scarp_auc(const float *score, const uint8_t *y, size_t n, double *auc)
{
    size_t n1 = 0;
    scarp_status st = check_input(score, y, n, &n1);
    if (st) return st;
    size_t *all = scarp_malloc(n * sizeof *all);
    double *tz = scarp_malloc(n * sizeof *tz);
    scored *buf = scarp_malloc(n * sizeof *buf);
    if (!all || !tz || !buf) {
        st = SCARP_ERR_NOMEM;
    } else {
        for (size_t i = 0; i < n; i++) all[i] = i;
        midranks(score, all, n, tz, buf);
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i]) sum += tz[i];
        size_t n0 = n - n1;
        *auc = (sum - 0.5 * (double)n1 * (double)(n1 + 1)) / ((double)n1 * (double)n0);
    }
    scarp_free(all);
    scarp_free(tz);
    scarp_free(buf);
    return st;
}

/* Indices sorted by descending score (ties by index). */
static scarp_status sort_desc(const float *score, size_t n, scored **out)
{
    scored *buf = scarp_malloc((n ? n : 1) * sizeof *buf);
    if (!buf) return SCARP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) buf[i] = (scored){-score[i], 0, i};
    qsort(buf, n, sizeof *buf, scored_cmp);
    *out = buf;
    return SCARP_OK;
}

scarp_status scarp_roc_points(const float *score, const uint8_t *y, size_t n, double **fpr, double **tpr,
                              double **thr, size_t *n_points)
{
    size_t n1 = 0;
    *fpr = *tpr = *thr = NULL;
    *n_points = 0;
    scarp_status st = check_input(score, y, n, &n1);
    if (st) return st;
    size_t n0 = n - n1;
    scored *s = NULL;
    if ((st = sort_desc(score, n, &s))) return st;
    double *f = scarp_malloc((n + 1) * sizeof *f), *t = scarp_malloc((n + 1) * sizeof *t),
           *h = scarp_malloc((n + 1) * sizeof *h);
    if (!f || !t || !h) {
        scarp_free(s);
        scarp_free(f);
        scarp_free(t);
        scarp_free(h);
        return SCARP_ERR_NOMEM;
    }
    size_t m = 0, tp = 0, fp = 0;
    f[m] = 0;
    t[m] = 0;
    h[m++] = INFINITY;
    size_t a = 0;
    while (a < n) {
        size_t b = a;
        while (b < n && s[b].s == s[a].s) {
            if (y[s[b].i]) tp++;
            else fp++;
            b++;
        }
        f[m] = (double)fp / (double)n0;
        t[m] = (double)tp / (double)n1;
        h[m++] = -(double)s[a].s;
        a = b;
    }
    scarp_free(s);
    *fpr = f;
    *tpr = t;
    *thr = h;
    *n_points = m;
    return SCARP_OK;
}

scarp_status scarp_average_precision(const float *score, const uint8_t *y, size_t n, double *ap)
{
    size_t n1 = 0;
    scarp_status st = check_input(score, y, n, &n1);
    if (st) return st;
    scored *s = NULL;
    if ((st = sort_desc(score, n, &s))) return st;
    double sum = 0, r_prev = 0;
    size_t tp = 0, fp = 0, a = 0;
    while (a < n) {
        size_t b = a;
        while (b < n && s[b].s == s[a].s) {
            if (y[s[b].i]) tp++;
            else fp++;
            b++;
        }
        double r = (double)tp / (double)n1, p = (double)tp / (double)(tp + fp);
        sum += (r - r_prev) * p;
        r_prev = r;
        a = b;
    }
    scarp_free(s);
    *ap = sum;
    return SCARP_OK;
}
