/* cv.c — k-fold and repeated validation: summaries (mean, sd, Student-t 95 % interval;
 * quantile by Hill 1970, "Algorithm 396: Student's t-quantiles", CACM 13:619–620, normal
 * quantile by Wichura 1988, AS 241), stratified and spatial-block fold assignment, and the
 * spatial buffer of Roberts et al. (2017, Ecography 40:913–929) that keeps training samples
 * at least a given distance away from test samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/rng.h"

/* Lower-tail standard normal quantile, Wichura (1988) AS 241 PPND16 (relative error ~1e-16). */
static double normal_quantile(double p)
{
    double q = p - 0.5, r, x;
    if (fabs(q) <= 0.425) {
        r = 0.180625 - q * q;
        return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
                        45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
                     133.14166789178437745) * r + 3.387132872796366608) /
               (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
                    21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r +
                 42.313330701600911252) * r + 1.0);
    }
    r = q < 0 ? p : 1.0 - p;
    r = sqrt(-log(r));
    if (r <= 5.0) {
        r -= 1.6;
        x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
                 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r +
              4.6303378461565452959) * r + 1.42343711074968357734) /
            (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
                 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r +
              2.05319162663775882187) * r + 1.0);
    } else {
        r -= 5.0;
        x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
                 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r +
              5.4637849111641143699) * r + 6.6579046435011037772) /
            (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
                 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r +
              0.59983220655588793769) * r + 1.0);
    }
    return q < 0 ? -x : x;
}

double scarp_student_t_quantile(double p, double df)
{
    if (!(p > 0.5 && p < 1.0) || !(df > 0)) return NAN;
    double P = 2.0 * (1.0 - p); /* two-tailed probability */
    double n = df;
    if (n == 1.0) return cos(P * M_PI / 2) / sin(P * M_PI / 2);
    if (n == 2.0) return sqrt(2.0 / (P * (2.0 - P)) - 2.0);
    double a = 1.0 / (n - 0.5), b = 48.0 / (a * a);
    double c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36;
    double d = ((94.5 / (b + c) - 3.0) / b + 1.0) * sqrt(a * M_PI / 2.0) * n;
    double x = d * P, y = pow(x, 2.0 / n);
    if (y > 0.05 + a) {
        x = normal_quantile(P * 0.5);
        y = x * x;
        if (n < 5) c += 0.3 * (n - 4.5) * (x + 0.6);
        c = (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b + c;
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x;
        y = a * y * y;
        y = y > 0.002 ? exp(y) - 1.0 : 0.5 * y * y + y;
    } else {
        y = ((1.0 / (((n + 6.0) / (n * y) - 0.089 * d - 0.822) * (n + 2.0) * 3.0) + 0.5 / (n + 4.0)) * y - 1.0) *
                (n + 1.0) / (n + 2.0) + 1.0 / y;
    }
    return sqrt(n * y);
}

void scarp_summary_compute(const double *v, int k, scarp_summary *s)
{
    memset(s, 0, sizeof *s);
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    int m = 0;
    for (int i = 0; i < k; i++) {
        if (isnan(v[i])) continue;
        sum += v[i];
        mn = fmin(mn, v[i]);
        mx = fmax(mx, v[i]);
        m++;
    }
    s->k = m;
    if (m == 0) {
        s->mean = s->sd = s->lo = s->hi = s->min = s->max = NAN;
        return;
    }
    s->mean = sum / m;
    double ss = 0;
    for (int i = 0; i < k; i++)
        if (!isnan(v[i])) ss += (v[i] - s->mean) * (v[i] - s->mean);
    s->sd = m > 1 ? sqrt(ss / (m - 1)) : 0.0;
    double half = m > 1 ? scarp_student_t_quantile(0.975, m - 1) * s->sd / sqrt((double)m) : 0.0;
    s->lo = s->mean - half;
    s->hi = s->mean + half;
    s->min = mn;
    s->max = mx;
}

scarp_status scarp_cv_kfold(const uint8_t *y, size_t n, int k, uint64_t seed, int *fold)
{
    if (k < 2 || (size_t)k > n) return scarp_fail(SCARP_ERR_INPUT, "k-fold: folds must be 2..%zu (got %d)", n, k);
    size_t *idx = scarp_malloc(n * sizeof *idx);
    if (!idx) return SCARP_ERR_NOMEM;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x6b666f6c64ull); /* "kfold" */
    size_t offset = 0;
    for (int cls = 1; cls >= 0; cls--) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if ((y[i] != 0) == cls) idx[m++] = i;
        scarp_rng_shuffle(&rng, idx, m);
        /* continue the round-robin where the other class stopped so fold sizes stay level */
        for (size_t j = 0; j < m; j++) fold[idx[j]] = (int)((offset + j) % (size_t)k);
        offset += m;
    }
    scarp_free(idx);
    return SCARP_OK;
}

typedef struct {
    int64_t bx, by;
    size_t i;
} cell_key;

static int cell_cmp(const void *a, const void *b)
{
    const cell_key *p = a, *q = b;
    if (p->bx != q->bx) return p->bx < q->bx ? -1 : 1;
    if (p->by != q->by) return p->by < q->by ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

scarp_status scarp_cv_spatial_kfold(const double *x, const double *y, size_t n, double block, int k,
                                    uint64_t seed, int *fold)
{
    if (!(block > 0)) return scarp_fail(SCARP_ERR_INPUT, "spatial k-fold: block size must be > 0 (got %g)", block);
    if (k < 2) return scarp_fail(SCARP_ERR_INPUT, "spatial k-fold: folds must be >= 2 (got %d)", k);
    cell_key *c = scarp_malloc((n ? n : 1) * sizeof *c);
    size_t *start = scarp_malloc((n + 1) * sizeof *start);
    size_t *order = scarp_malloc((n ? n : 1) * sizeof *order);
    int64_t *load = scarp_calloc((size_t)k, sizeof *load);
    scarp_status st = SCARP_OK;
    if (!c || !start || !order || !load) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t i = 0; i < n; i++) c[i] = (cell_key){(int64_t)floor(x[i] / block), (int64_t)floor(y[i] / block), i};
    qsort(c, n, sizeof *c, cell_cmp);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || c[i].bx != c[i - 1].bx || c[i].by != c[i - 1].by) start[nb++] = i;
    start[nb] = n;
    if (nb < (size_t)k) {
        st = scarp_fail(SCARP_ERR_INPUT, "spatial k-fold: only %zu blocks of %g m hold samples, fewer than %d folds",
                        nb, block, k);
        goto end;
    }
    for (size_t b = 0; b < nb; b++) order[b] = b;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x73626c6f636bull); /* "sblock" */
    scarp_rng_shuffle(&rng, order, nb);
    for (size_t j = 0; j < nb; j++) {
        size_t b = order[j];
        int best = 0;
        for (int f = 1; f < k; f++)
            if (load[f] < load[best]) best = f;
        for (size_t i = start[b]; i < start[b + 1]; i++) fold[c[i].i] = best;
        load[best] += (int64_t)(start[b + 1] - start[b]);
    }
end:
    scarp_free(c);
    scarp_free(start);
    scarp_free(order);
    scarp_free(load);
    return st;
}

/* First index in sorted keys with (bx, by) >= (qx, qy). */
static size_t lower_bound(const cell_key *c, size_t m, int64_t qx, int64_t qy)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].bx < qx || (c[mid].bx == qx && c[mid].by < qy)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

scarp_status scarp_cv_spatial_buffer(const double *x, const double *y, size_t n, int *role, int train_role,
                                     int test_role, int excluded_role, double distance, size_t *n_excluded)
{
    if (n_excluded) *n_excluded = 0;
    if (!(distance > 0)) return SCARP_OK;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += role[i] == test_role;
    cell_key *c = scarp_malloc((m ? m : 1) * sizeof *c);
    if (!c) return SCARP_ERR_NOMEM;
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (role[i] == test_role)
            c[m++] = (cell_key){(int64_t)floor(x[i] / distance), (int64_t)floor(y[i] / distance), i};
    qsort(c, m, sizeof *c, cell_cmp);
    size_t excluded = 0;
    double d2 = distance * distance;
    for (size_t i = 0; i < n; i++) {
        if (role[i] != train_role) continue;
        int64_t bx = (int64_t)floor(x[i] / distance), by = (int64_t)floor(y[i] / distance);
        int near = 0;
        for (int64_t dx = -1; dx <= 1 && !near; dx++)
            for (int64_t dy = -1; dy <= 1 && !near; dy++)
                for (size_t j = lower_bound(c, m, bx + dx, by + dy);
                     j < m && c[j].bx == bx + dx && c[j].by == by + dy; j++) {
                    double ex = x[i] - x[c[j].i], ey = y[i] - y[c[j].i];
                    if (ex * ex + ey * ey < d2) {
                        near = 1;
                        break;
                    }
                }
        if (near) {
            role[i] = excluded_role;
            excluded++;
        }
    }
    scarp_free(c);
    if (n_excluded) *n_excluded = excluded;
    return SCARP_OK;
}

double scarp_cv_min_distance(const double *x, const double *y, size_t n, const int *role, int role_a, int role_b)
{
    double best = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (role[i] != role_a) continue;
        for (size_t j = 0; j < n; j++) {
            if (role[j] != role_b || j == i) continue;
            double dx = x[i] - x[j], dy = y[i] - y[j];
            best = fmin(best, dx * dx + dy * dy);
        }
    }
    return sqrt(best);
}
