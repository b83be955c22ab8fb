/* test_classes.c — class breaks and statistics against independent truth:
 * Jenks (exact DP) vs brute force over every partition of a small set; quantile, equal,
 * target and fixed breaks on constructed values with known answers; per-class statistics
 * of a constructed map (area, landslide shares, frequency ratio, high + very high);
 * success-rate AUC vs the rank formula AUC = mean over landslides of (1 − share of area
 * ranked above it − half the share tied with it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scarp/classes.h"
#include "scarp/rng.h"

static double ssd(const double *v, int a, int b)
{
    double m = 0, s = 0;
    for (int i = a; i < b; i++) m += v[i];
    m /= (b - a);
    for (int i = a; i < b; i++) s += (v[i] - m) * (v[i] - m);
    return s;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_jenks_brute_force(void)
{
    scarp_rng r;
    scarp_rng_seed(&r, 1);
    for (int trial = 0; trial < 20; trial++) {
        const int n = 9 + trial % 6, k = 3 + trial % 3;
        double v[16];
        for (int i = 0; i < n; i++) v[i] = floor(100 * scarp_rng_uniform(&r)) + 0.1 * i;
        qsort(v, (size_t)n, sizeof *v, cmpd);
        /* brute force: all choices of k-1 cut positions */
        double best = INFINITY;
        int cut[4];
        for (int a = 1; a < n; a++)
            for (int b = a + 1; b < n; b++)
                for (int c = (k >= 4 ? b + 1 : n); c <= (k >= 4 ? n - 1 : n); c++)
                    for (int d = (k >= 5 ? c + 1 : n); d <= (k >= 5 ? n - 1 : n); d++) {
                        int cuts[6] = {0, a, b, k >= 4 ? c : n, k >= 5 ? d : n, n};
                        double s = 0;
                        for (int j = 0; j < k; j++) s += ssd(v, cuts[j], cuts[j + 1]);
                        if (s < best - 1e-12) best = s, cut[0] = a, cut[1] = b, cut[2] = c, cut[3] = d;
                    }
        double br[4], got;
        CHECK_OK(scarp_jenks_sorted(v, (size_t)n, k, br, &got));
        CHECK_NEAR(got, best, 1e-9);
        for (int j = 0; j < k - 1; j++) CHECK_NEAR(br[j], v[cut[j] - 1], 0);
    }
}

static void test_jenks_obvious_groups(void)
{
    float s[12] = {1, 1.1f, 0.9f, 5, 5.2f, 4.9f, 10, 10.1f, 9.8f, 20, 20.5f, 19.9f};
    double b[3];
    CHECK_OK(scarp_class_breaks(SCARP_BREAKS_NATURAL, 4, s, 12, 0, 0, NULL, 0, NULL, 0, 1, b));
    CHECK_NEAR(b[0], 1.1, 1e-6);
    CHECK_NEAR(b[1], 5.2, 1e-6);
    CHECK_NEAR(b[2], 10.1, 1e-6);
}

static void test_other_breaks(void)
{
    float s[101];
    for (int i = 0; i <= 100; i++) s[i] = (float)i / 100;
    double b[4];
    CHECK_OK(scarp_class_breaks(SCARP_BREAKS_QUANTILE, 4, s, 101, 0, 1, NULL, 0, NULL, 0, 1, b));
    CHECK_NEAR(b[0], 0.25, 1e-6);
    CHECK_NEAR(b[1], 0.50, 1e-6);
    CHECK_NEAR(b[2], 0.75, 1e-6);
    CHECK_OK(scarp_class_breaks(SCARP_BREAKS_EQUAL, 5, NULL, 0, 0.2, 0.7, NULL, 0, NULL, 0, 1, b));
    CHECK_NEAR(b[0], 0.3, 1e-12);
    CHECK_NEAR(b[3], 0.6, 1e-12);
    /* target: landslide values 0.00..1.00; shares 10/20/30/40 % → cumulative 0.1 0.3 0.6 */
    const double share[4] = {0.1, 0.2, 0.3, 0.4};
    CHECK_OK(scarp_class_breaks(SCARP_BREAKS_TARGET, 4, NULL, 0, 0, 1, s, 101, share, 4, 1, b));
    CHECK_NEAR(b[0], 0.1, 1e-6);
    CHECK_NEAR(b[1], 0.3, 1e-6);
    CHECK_NEAR(b[2], 0.6, 1e-6);
    const double fixed[2] = {0.3, 0.6};
    CHECK_OK(scarp_class_breaks(SCARP_BREAKS_FIXED, 3, NULL, 0, 0, 1, NULL, 0, fixed, 2, 1, b));
    CHECK_NEAR(b[1], 0.6, 0);
    const double wrong[2] = {0.6, 0.3};
    CHECK_FAILS(scarp_class_breaks(SCARP_BREAKS_FIXED, 3, NULL, 0, 0, 1, NULL, 0, wrong, 2, 1, b), SCARP_ERR_INPUT);
    CHECK_FAILS(scarp_class_breaks(SCARP_BREAKS_QUANTILE, 6, s, 101, 0, 1, NULL, 0, NULL, 0, 1, b), SCARP_ERR_INPUT);
    scarp_breaks_method m;
    CHECK_FAILS(scarp_breaks_parse("jenks", &m), SCARP_ERR_INPUT);
    CHECK_OK(scarp_breaks_parse("target", &m));
    CHECK_EQ_INT(m, SCARP_BREAKS_TARGET);
}

/* A 10 × 10 map whose value is row / 10 + 0.05; breaks 0.2 0.5 0.8 give classes of 2, 3,
 * 3, 2 rows = 20 %, 30 %, 30 %, 20 % of the area. 10 landslides: 1 low, 1 moderate, 3 high,
 * 5 very high (3 of them test). */
static void test_class_stats_known(void)
{
    const double b[3] = {0.2, 0.5, 0.8};
    scarp_class_stats s;
    scarp_class_stats_init(&s, 4);
    for (int row = 0; row < 10; row++) {
        int64_t counts[4] = {0};
        for (int col = 0; col < 10; col++) counts[scarp_class_of(row / 10.0 + 0.05, b, 4)]++;
        scarp_class_stats_add_cells(&s, counts);
    }
    const double ls[10] = {0.05, 0.35, 0.65, 0.75, 0.55, 0.85, 0.95, 0.95, 0.85, 0.95};
    const int test[10] = {0, 0, 1, 0, 0, 1, 1, 0, 1, 0};
    for (int i = 0; i < 10; i++) scarp_class_stats_add_landslide(&s, scarp_class_of(ls[i], b, 4), test[i]);
    scarp_class_stats_add_landslide(&s, scarp_class_of(NAN, b, 4), 1); /* on nodata: ignored */
    scarp_class_stats_finish(&s);
    CHECK_NEAR(s.area_share[0], 0.2, 1e-12);
    CHECK_NEAR(s.area_share[1], 0.3, 1e-12);
    CHECK_NEAR(s.area_share[2], 0.3, 1e-12);
    CHECK_NEAR(s.area_share[3], 0.2, 1e-12);
    CHECK_NEAR(s.ls_share[0], 0.1, 1e-12);
    CHECK_NEAR(s.ls_share[2], 0.3, 1e-12);
    CHECK_NEAR(s.ls_share[3], 0.5, 1e-12);
    CHECK_NEAR(s.frequency_ratio[3], 2.5, 1e-12);
    CHECK_NEAR(s.frequency_ratio[0], 0.5, 1e-12);
    CHECK_NEAR(s.ls_high, 0.8, 1e-12);
    CHECK_NEAR(s.area_high, 0.5, 1e-12);
    CHECK_NEAR(s.test_share[3], 0.75, 1e-12);
    CHECK_NEAR(s.test_high, 1.0, 1e-12);
}

static void test_rate_curve_vs_rank_formula(void)
{
    enum { NC = 5000, NLS = 300, BINS = 1000 };
    static float cell[NC];
    static int64_t hist[BINS];
    float ls[NLS];
    scarp_rng r;
    scarp_rng_seed(&r, 4);
    memset(hist, 0, sizeof hist);
    /* values on bin centres so that a bin never mixes two values */
    for (int i = 0; i < NC; i++) {
        int b = (int)scarp_rng_below(&r, BINS);
        cell[i] = (b + 0.5f) / BINS;
        hist[b]++;
    }
    for (int i = 0; i < NLS; i++) ls[i] = cell[scarp_rng_below(&r, NC / 4) * 4 % NC] > 0.3f ? cell[i * 7 % NC] : cell[i];
    double want = 0;
    for (int j = 0; j < NLS; j++) {
        int64_t above = 0, tied = 0;
        for (int i = 0; i < NC; i++) above += cell[i] > ls[j], tied += cell[i] == ls[j];
        want += 1.0 - ((double)above + 0.5 * tied) / NC;
    }
    want /= NLS;
    double x[11], y[11], auc;
    CHECK_OK(scarp_rate_curve(hist, BINS, 0, 1, ls, NLS, 11, x, y, &auc));
    CHECK_NEAR(auc, want, 1e-9);
    CHECK_NEAR(x[0], 0, 0);
    CHECK_NEAR(y[10], 1, 0);
    for (int i = 1; i < 11; i++) CHECK(y[i] >= y[i - 1]);
    /* a perfect map (landslides on the highest cells) gives AUC near 1 */
    float top[5] = {0.9995f, 0.9995f, 0.9995f, 0.9995f, 0.9995f};
    int64_t h2[BINS] = {0};
    h2[BINS - 1] = 1;
    h2[0] = 999;
    CHECK_OK(scarp_rate_curve(h2, BINS, 0, 1, top, 5, 11, x, y, &auc));
    CHECK_NEAR(auc, 1 - 0.5 / 1000, 1e-12);
}

int main(void)
{
    RUN(test_jenks_brute_force);
    RUN(test_jenks_obvious_groups);
    RUN(test_other_breaks);
    RUN(test_class_stats_known);
    RUN(test_rate_curve_vs_rank_formula);
    return check_summary();
}
