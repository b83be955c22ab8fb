/* classes.c — susceptibility class breaks (natural/Jenks, quantile, equal, target, fixed)
 * and per-class statistics (area, landslides, frequency ratio, share in high + very high).
 * Jenks (1967) via Fisher's (1958) exact dynamic programme; target shares as LSAT
 * (Polat 2021). */
#include "scarp/classes.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names3[] = {"low", "moderate", "high"};
static const char *const names4[] = {"low", "moderate", "high", "very high"};
static const char *const names5[] = {"very low", "low", "moderate", "high", "very high"};
static const uint8_t colors3[][4] = {{26, 150, 65, 255}, {255, 255, 191, 255}, {215, 25, 28, 255}};
static const uint8_t colors4[][4] = {{26, 150, 65, 255}, {255, 255, 191, 255}, {253, 174, 97, 255}, {215, 25, 28, 255}};
static const uint8_t colors5[][4] = {
    {26, 150, 65, 255}, {166, 217, 106, 255}, {255, 255, 191, 255}, {253, 174, 97, 255}, {215, 25, 28, 255}};
static const double target3[] = {0.10, 0.30, 0.60};
static const double target4[] = {0.05, 0.15, 0.30, 0.50};
static const double target5[] = {0.05, 0.10, 0.15, 0.25, 0.45};

const char *const *scarp_class_names(int k) { return k == 3 ? names3 : k == 5 ? names5 : names4; }
const uint8_t (*scarp_class_colors(int k))[4] { return k == 3 ? colors3 : k == 5 ? colors5 : colors4; }
const double *scarp_target_default(int k) { return k == 3 ? target3 : k == 5 ? target5 : target4; }

static const char *const method_names[] = {"natural", "quantile", "equal", "target", "fixed"};

scarp_status scarp_breaks_parse(const char *name, scarp_breaks_method *method)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, method_names[i])) {
            *method = (scarp_breaks_method)i;
            return SCARP_OK;
        }
    return scarp_fail(SCARP_ERR_INPUT, "breaks = %s: expected natural, quantile, equal, target or fixed", name);
}

const char *scarp_breaks_name(scarp_breaks_method m) { return (unsigned)m < 5 ? method_names[m] : "?"; }

/* Fisher's DP: cost(i, j) = SSD of sorted[i..j] from prefix sums (in double, centred on
 * the mean to limit cancellation). D[c][j] = min over i of D[c-1][i-1] + cost(i, j). */
scarp_status scarp_jenks_sorted(const double *sorted, size_t n, int k, double *breaks, double *ssd)
{
    if (k < 1 || n < (size_t)k) return scarp_fail(SCARP_ERR_INPUT, "natural breaks: %zu values for %d classes", n, k);
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += sorted[i];
    mean /= (double)n;
    double *s1 = scarp_malloc((n + 1) * sizeof *s1), *s2 = scarp_malloc((n + 1) * sizeof *s2);
    double *D = scarp_malloc((size_t)k * n * sizeof *D);
    size_t *arg = scarp_malloc((size_t)k * n * sizeof *arg);
    if (!s1 || !s2 || !D || !arg) {
        scarp_free(s1), scarp_free(s2), scarp_free(D), scarp_free(arg);
        return SCARP_ERR_NOMEM;
    }
    s1[0] = s2[0] = 0;
    for (size_t i = 0; i < n; i++) {
        double v = sorted[i] - mean;
        s1[i + 1] = s1[i] + v;
        s2[i + 1] = s2[i] + v * v;
    }
#define COST(a, b) /* SSD of sorted[a..b] inclusive */                                                       \
    (s2[(b) + 1] - s2[(a)] - (s1[(b) + 1] - s1[(a)]) * (s1[(b) + 1] - s1[(a)]) / (double)((b) - (a) + 1))
    for (size_t j = 0; j < n; j++) {
        D[j] = COST(0, j);
        arg[j] = 0;
    }
    for (int c = 1; c < k; c++) {
        double *Dc = D + (size_t)c * n, *Dp = D + (size_t)(c - 1) * n;
        size_t *Ac = arg + (size_t)c * n;
        for (size_t j = 0; j < n; j++) {
            Dc[j] = INFINITY;
            Ac[j] = 0;
            if (j < (size_t)c) continue;
            for (size_t i = (size_t)c; i <= j; i++) { /* class c spans i..j */
                double v = Dp[i - 1] + COST(i, j);
                if (v < Dc[j]) {
                    Dc[j] = v;
                    Ac[j] = i;
                }
            }
        }
    }
#undef COST
    if (ssd) *ssd = D[(size_t)(k - 1) * n + n - 1];
    size_t j = n - 1;
    for (int c = k - 1; c >= 1; c--) {
        size_t i = arg[(size_t)c * n + j];
        breaks[c - 1] = sorted[i - 1];
        j = i - 1;
    }
    scarp_free(s1), scarp_free(s2), scarp_free(D), scarp_free(arg);
    return SCARP_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type-7 quantile of sorted values. */
static double quantile_sorted(const double *s, size_t n, double p)
{
    if (n == 1) return s[0];
    double h = p * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return s[n - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

/* Finite values of a float array, sorted, as doubles. */
static scarp_status sorted_finite(const float *v, size_t n, double **out, size_t *m)
{
    double *d = scarp_malloc((n ? n : 1) * sizeof *d);
    if (!d) return SCARP_ERR_NOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) d[j++] = v[i];
    qsort(d, j, sizeof *d, cmp_double);
    *out = d;
    *m = j;
    return SCARP_OK;
}

#define JENKS_MAX_SAMPLE 4000

scarp_status scarp_class_breaks(scarp_breaks_method method, int k, const float *sample, size_t n_sample,
                                double vmin, double vmax, const float *landslide_values, size_t n_ls,
                                const double *params, int n_params, uint64_t seed, double *breaks)
{
    if (k < SCARP_CLASSES_MIN || k > SCARP_CLASSES_MAX)
        return scarp_fail(SCARP_ERR_INPUT, "classes = %d: expected 3 to 5", k);
    scarp_status st = SCARP_OK;
    double *s = NULL;
    size_t m = 0;
    switch (method) {
    case SCARP_BREAKS_EQUAL:
        if (!(vmax > vmin)) return scarp_fail(SCARP_ERR_INPUT, "equal-interval breaks: the map is constant (%g)", vmin);
        for (int i = 1; i < k; i++) breaks[i - 1] = vmin + (vmax - vmin) * i / k;
        return SCARP_OK;
    case SCARP_BREAKS_FIXED:
        if (n_params != k - 1)
            return scarp_fail(SCARP_ERR_INPUT, "fixed breaks: %d thresholds given, %d needed for %d classes", n_params,
                              k - 1, k);
        for (int i = 0; i < k - 1; i++) {
            if (!isfinite(params[i]) || (i && params[i] <= params[i - 1]))
                return scarp_fail(SCARP_ERR_INPUT, "fixed breaks: thresholds must be finite and ascending");
            breaks[i] = params[i];
        }
        return SCARP_OK;
    case SCARP_BREAKS_QUANTILE:
        if ((st = sorted_finite(sample, n_sample, &s, &m))) return st;
        if (m < (size_t)k) {
            st = scarp_fail(SCARP_ERR_INPUT, "quantile breaks: only %zu valid cells", m);
            break;
        }
        for (int i = 1; i < k; i++) breaks[i - 1] = quantile_sorted(s, m, (double)i / k);
        break;
    case SCARP_BREAKS_TARGET: {
        const double *share = n_params ? params : scarp_target_default(k);
        if (n_params && n_params != k)
            return scarp_fail(SCARP_ERR_INPUT, "target breaks: %d shares given, %d needed", n_params, k);
        double sum = 0;
        for (int i = 0; i < k; i++) {
            if (!(share[i] > 0)) return scarp_fail(SCARP_ERR_INPUT, "target breaks: shares must be positive");
            sum += share[i];
        }
        if (fabs(sum - 1) > 1e-6) return scarp_fail(SCARP_ERR_INPUT, "target breaks: shares sum to %g, not 1", sum);
        if ((st = sorted_finite(landslide_values, n_ls, &s, &m))) return st;
        if (m < 2) {
            st = scarp_fail(SCARP_ERR_INPUT, "target breaks: only %zu landslides on valid cells", m);
            break;
        }
        double cum = 0;
        for (int i = 0; i < k - 1; i++) {
            cum += share[i];
            breaks[i] = quantile_sorted(s, m, cum);
        }
        break;
    }
    case SCARP_BREAKS_NATURAL: {
        if ((st = sorted_finite(sample, n_sample, &s, &m))) return st;
        if (m > JENKS_MAX_SAMPLE) { /* seeded sub-sample (partial Fisher–Yates), then sort */
            scarp_rng rng;
            scarp_rng_stream(&rng, seed, 0x6a656e6bULL);
            for (size_t i = 0; i < JENKS_MAX_SAMPLE; i++) {
                size_t j = i + (size_t)scarp_rng_below(&rng, m - i);
                double t = s[i];
                s[i] = s[j];
                s[j] = t;
            }
            m = JENKS_MAX_SAMPLE;
            qsort(s, m, sizeof *s, cmp_double);
        }
        if (m < (size_t)k) {
            st = scarp_fail(SCARP_ERR_INPUT, "natural breaks: only %zu valid cells", m);
            break;
        }
        st = scarp_jenks_sorted(s, m, k, breaks, NULL);
        break;
    }
    default: return scarp_fail(SCARP_ERR_USAGE, "unknown breaks method %d", (int)method);
    }
    scarp_free(s);
    if (st) return st;
    /* Ties (a very flat map) could give equal breaks: nudge them apart so classes stay ordered. */
    for (int i = 1; i < k - 1; i++)
        if (!(breaks[i] > breaks[i - 1])) breaks[i] = nextafter(breaks[i - 1], INFINITY);
    return SCARP_OK;
}

void scarp_class_stats_init(scarp_class_stats *s, int k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
}

void scarp_class_stats_add_cells(scarp_class_stats *s, const int64_t *cells)
{
    for (int c = 0; c < s->k; c++) s->cells[c] += cells[c];
}

void scarp_class_stats_add_landslide(scarp_class_stats *s, int cls, int is_test)
{
    if (cls < 0 || cls >= s->k) return;
    s->landslides[cls]++;
    if (is_test) s->test[cls]++;
}

void scarp_class_stats_finish(scarp_class_stats *s)
{
    int64_t area = 0, ls = 0, te = 0;
    for (int c = 0; c < s->k; c++) area += s->cells[c], ls += s->landslides[c], te += s->test[c];
    int first_high = s->k == 3 ? 2 : s->k - 2;
    s->ls_high = s->test_high = s->area_high = 0;
    for (int c = 0; c < s->k; c++) {
        s->area_share[c] = area ? (double)s->cells[c] / (double)area : 0;
        s->ls_share[c] = ls ? (double)s->landslides[c] / (double)ls : 0;
        s->test_share[c] = te ? (double)s->test[c] / (double)te : 0;
        s->frequency_ratio[c] = s->area_share[c] > 0 ? s->ls_share[c] / s->area_share[c] : 0;
        if (c >= first_high) {
            s->ls_high += s->ls_share[c];
            s->test_high += s->test_share[c];
            s->area_high += s->area_share[c];
        }
    }
}
