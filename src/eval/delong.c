/* delong.c — the paired DeLong test: is the AUC of score a different from the AUC of
 * score b on the SAME samples? DeLong, DeLong & Clarke-Pearson (1988), "Comparing the
 * areas under two or more correlated receiver operating characteristic curves: a
 * nonparametric approach", Biometrics 44:837–845, with the structural components computed
 * from mid-ranks as in Sun & Xu (2014), "Fast implementation of DeLong's algorithm for
 * comparing the areas under correlated receiver operating characteristic curves", IEEE
 * Signal Processing Letters 21(11):1389–1393:
 *   V10_r(i) = (Tz_r(i) − Tx_r(i)) / n0   for each positive i (rank among all − among positives)
 *   V01_r(j) = 1 − (Tz_r(j) − Ty_r(j)) / n1   for each negative j
 *   S10, S01 = the 2 × 2 sample covariances (denominator m − 1) of those components;
 *   Var(A_a − A_b) = (S10_aa + S10_bb − 2 S10_ab)/n1 + (S01_aa + S01_bb − 2 S01_ab)/n0;
 *   z = (A_a − A_b)/√Var, two-sided p = erfc(|z|/√2), 95 % interval diff ± 1.96 √Var. */
#include <math.h>
#include <stdlib.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"

typedef struct {
    float s;
    size_t k;
} dl_item;

static int dl_cmp(const void *a, const void *b)
{
    const dl_item *p = a, *q = b;
    if (p->s != q->s) return p->s < q->s ? -1 : 1;
    return (p->k > q->k) - (p->k < q->k);
}

/* mid-ranks (1-based) of score[sel[k]], k < m → rank[k] */
static void dl_midranks(const float *score, const size_t *sel, size_t m, double *rank, dl_item *buf)
{
    for (size_t k = 0; k < m; k++) buf[k] = (dl_item){score[sel[k]], k};
    qsort(buf, m, sizeof *buf, dl_cmp);
    for (size_t a = 0; a < m;) {
        size_t b = a + 1;
        while (b < m && buf[b].s == buf[a].s) b++;
        double r = 0.5 * (double)(a + 1 + b);
        for (size_t k = a; k < b; k++) rank[buf[k].k] = r;
        a = b;
    }
}

/* Structural components of one score: v10 (n1), v01 (n0); returns the AUC. */
static double components(const float *s, const size_t *all, const size_t *pos, const size_t *neg, size_t n,
                         size_t n1, size_t n0, double *tz, double *tx, double *ty, dl_item *buf, double *v10,
                         double *v01)
{
    dl_midranks(s, all, n, tz, buf);
    dl_midranks(s, pos, n1, tx, buf);
    dl_midranks(s, neg, n0, ty, buf);
    double sum = 0;
    for (size_t k = 0; k < n1; k++) {
        v10[k] = (tz[pos[k]] - tx[k]) / (double)n0;
        sum += v10[k];
    }
    for (size_t k = 0; k < n0; k++) v01[k] = 1.0 - (tz[neg[k]] - ty[k]) / (double)n1;
    return sum / (double)n1;
}

static double cov(const double *a, const double *b, size_t m, double ma, double mb)
{
    if (m < 2) return 0;
    double s = 0;
    for (size_t k = 0; k < m; k++) s += (a[k] - ma) * (b[k] - mb);
    return s / (double)(m - 1);
}

scarp_status scarp_auc_delong_paired(const float *sa, const float *sb, const uint8_t *y, size_t n,
                                     scarp_delong_paired *r)
{
    size_t n1 = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(sa[i]) || isnan(sb[i])) return scarp_fail(SCARP_ERR_INPUT, "paired DeLong: score %zu is NaN", i);
        n1 += y[i] != 0;
    }
    if (n1 == 0 || n1 == n)
        return scarp_fail(SCARP_ERR_INPUT, "paired DeLong: needs both classes (%zu positives among %zu samples)", n1,
                          n);
    const size_t n0 = n - n1;
    scarp_status st = SCARP_OK;
    size_t *all = scarp_malloc(n * sizeof *all), *pos = scarp_malloc(n1 * sizeof *pos),
           *neg = scarp_malloc(n0 * sizeof *neg);
    double *tz = scarp_malloc(n * sizeof *tz), *tx = scarp_malloc(n1 * sizeof *tx), *ty = scarp_malloc(n0 * sizeof *ty);
    double *va10 = scarp_malloc(n1 * sizeof(double)), *vb10 = scarp_malloc(n1 * sizeof(double));
    double *va01 = scarp_malloc(n0 * sizeof(double)), *vb01 = scarp_malloc(n0 * sizeof(double));
    dl_item *buf = scarp_malloc(n * sizeof *buf);
    if (!all || !pos || !neg || !tz || !tx || !ty || !va10 || !vb10 || !va01 || !vb01 || !buf) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        all[i] = i;
        if (y[i]) pos[a++] = i;
        else neg[b++] = i;
    }
    double A = components(sa, all, pos, neg, n, n1, n0, tz, tx, ty, buf, va10, va01);
    double B = components(sb, all, pos, neg, n, n1, n0, tz, tx, ty, buf, vb10, vb01);
    double s10 = cov(va10, va10, n1, A, A) + cov(vb10, vb10, n1, B, B) - 2 * cov(va10, vb10, n1, A, B);
    double s01 = cov(va01, va01, n0, A, A) + cov(vb01, vb01, n0, B, B) - 2 * cov(va01, vb01, n0, A, B);
    double V = s10 / (double)n1 + s01 / (double)n0;
    if (V < 0) V = 0; /* rounding of an exactly singular pair */
    r->auc_a = A;
    r->auc_b = B;
    r->diff = A - B;
    r->var = V;
    r->n_pos = n1;
    r->n_neg = n0;
    double se = sqrt(V), half = 1.959963984540054 * se;
    r->lo = r->diff - half;
    r->hi = r->diff + half;
    if (se > 0) {
        r->z = r->diff / se;
        r->p = erfc(fabs(r->z) / sqrt(2.0));
    } else { /* identical rankings: no evidence of a difference */
        r->z = 0;
        r->p = 1;
    }
end:
    scarp_free(all);
    scarp_free(pos);
    scarp_free(neg);
    scarp_free(tz);
    scarp_free(tx);
    scarp_free(ty);
    scarp_free(va10);
    scarp_free(vb10);
    scarp_free(va01);
    scarp_free(vb01);
    scarp_free(buf);
    return st;
}
