/* test_eval.c — evaluation metrics against independent truth: AUC = brute-force pairwise
 * count with ties, DeLong variance = the brute-force structural components, confusion
 * metrics on hand-made matrices, sklearn's documented examples (AUC 0.75, AP 0.8333),
 * Student-t quantiles from tables, k-fold stratification, the spatial buffer invariant. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/grid.h"
#include "scarp/rng.h"
#include "data/samples.h"

static double auc_brute(const float *s, const uint8_t *y, size_t n)
{
    double num = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] && !y[j]) {
                pairs++;
                num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return num / pairs;
}

static double delong_var_brute(const float *s, const uint8_t *y, size_t n)
{
    size_t n1 = 0;
    for (size_t i = 0; i < n; i++) n1 += y[i];
    size_t n0 = n - n1;
    double A = auc_brute(s, y, n), s10 = 0, s01 = 0;
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        if (y[i]) {
            for (size_t j = 0; j < n; j++)
                if (!y[j]) v += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            v /= (double)n0;
            s10 += (v - A) * (v - A);
        } else {
            for (size_t j = 0; j < n; j++)
                if (y[j]) v += s[j] > s[i] ? 1.0 : s[j] == s[i] ? 0.5 : 0.0;
            v /= (double)n1;
            s01 += (v - A) * (v - A);
        }
    }
    return s10 / (double)(n1 - 1) / (double)n1 + s01 / (double)(n0 - 1) / (double)n0;
}

static void test_auc_sklearn_example(void)
{
    /* sklearn.metrics.roc_auc_score / average_precision_score docstring examples */
    float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    uint8_t y[] = {0, 0, 1, 1};
    double auc, ap;
    CHECK_OK(scarp_auc(s, y, 4, &auc));
    CHECK_NEAR(auc, 0.75, 1e-12);
    CHECK_OK(scarp_average_precision(s, y, 4, &ap));
    CHECK_NEAR(ap, 0.83333333333, 1e-9);
    uint8_t one[] = {1, 1, 1, 1};
    CHECK_FAILS(scarp_auc(s, one, 4, &auc), SCARP_ERR_INPUT);
}

static void test_auc_ties_brute(void)
{
    scarp_rng rng;
    scarp_rng_seed(&rng, 7);
    for (int trial = 0; trial < 20; trial++) {
        size_t n = 20 + scarp_rng_below(&rng, 200);
        float *s = scarp_malloc(n * sizeof *s);
        uint8_t *y = scarp_malloc(n);
        int levels = 2 + (int)scarp_rng_below(&rng, 8); /* few levels: many ties */
        for (size_t i = 0; i < n; i++) {
            y[i] = scarp_rng_uniform(&rng) < 0.4;
            if (i < 2) y[i] = (uint8_t)i;
            s[i] = (float)((int)scarp_rng_below(&rng, levels) + (y[i] ? 1 : 0)) / (float)levels;
        }
        double auc, var, lo, hi;
        CHECK_OK(scarp_auc_delong(s, y, n, &auc, &var, &lo, &hi));
        CHECK_NEAR(auc, auc_brute(s, y, n), 1e-12);
        CHECK_REL(var, delong_var_brute(s, y, n), 1e-9, 1e-15);
        CHECK(lo <= auc && auc <= hi);
        double a2;
        CHECK_OK(scarp_auc(s, y, n, &a2));
        CHECK_NEAR(a2, auc, 1e-12);
        scarp_free(s);
        scarp_free(y);
    }
}

static void test_roc_points(void)
{
    float s[] = {0.9f, 0.8f, 0.8f, 0.3f, 0.1f};
    uint8_t y[] = {1, 1, 0, 1, 0};
    double *f, *t, *h;
    size_t m;
    CHECK_OK(scarp_roc_points(s, y, 5, &f, &t, &h, &m));
    CHECK_EQ_INT(m, 5); /* (0,0) + 4 distinct scores */
    double ef[] = {0, 0, 0.5, 0.5, 1}, et[] = {0, 1.0 / 3, 2.0 / 3, 1, 1};
    for (size_t k = 0; k < m && k < 5; k++) {
        CHECK_NEAR(f[k], ef[k], 1e-12);
        CHECK_NEAR(t[k], et[k], 1e-12);
    }
    /* trapezoid area under these points = AUC */
    double area = 0, auc;
    for (size_t k = 1; k < m; k++) area += (f[k] - f[k - 1]) * (t[k] + t[k - 1]) / 2;
    CHECK_OK(scarp_auc(s, y, 5, &auc));
    CHECK_NEAR(area, auc, 1e-12);
    scarp_free(f);
    scarp_free(t);
    scarp_free(h);
}

static void test_confusion_hand(void)
{
    /* tp 3, fn 1, fp 2, tn 4 at 0.5 */
    float p[] = {0.9f, 0.7f, 0.5f, 0.2f, 0.6f, 0.8f, 0.1f, 0.3f, 0.4f, 0.0f};
    uint8_t y[] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
    scarp_confusion c;
    scarp_confusion_compute(p, y, 10, 0.5, &c);
    CHECK_EQ_INT(c.tp, 3);
    CHECK_EQ_INT(c.fn, 1);
    CHECK_EQ_INT(c.fp, 2);
    CHECK_EQ_INT(c.tn, 4);
    CHECK_NEAR(c.accuracy, 0.7, 1e-12);
    CHECK_NEAR(c.precision, 0.6, 1e-12);
    CHECK_NEAR(c.recall, 0.75, 1e-12);
    CHECK_NEAR(c.f1, 2 * 0.6 * 0.75 / (0.6 + 0.75), 1e-12);
    CHECK_NEAR(c.specificity, 4.0 / 6.0, 1e-12);
    /* the study's own figures are consistent with a hand matrix: 108 + 108 test samples */
    scarp_confusion s = {.tp = 102, .fn = 6, .fp = 8, .tn = 100};
    scarp_confusion_rates(&s);
    CHECK_NEAR(s.accuracy, 202.0 / 216.0, 1e-12);
    CHECK_NEAR(s.precision, 102.0 / 110.0, 1e-12);
    /* no predicted positive: precision 0, not NaN */
    scarp_confusion z = {.tn = 5, .fn = 5};
    scarp_confusion_rates(&z);
    CHECK(z.precision == 0 && z.f1 == 0 && z.recall == 0);
}

static void test_threshold_and_scores(void)
{
    /* positives all above 0.7, negatives below 0.65: max F1 and Youden both pick 0.7 */
    float p[] = {0.7f, 0.8f, 0.95f, 0.1f, 0.65f, 0.3f};
    uint8_t y[] = {1, 1, 1, 0, 0, 0};
    CHECK_NEAR(scarp_threshold_choose(p, y, 6, SCARP_THRESHOLD_F1), 0.7, 1e-6);
    CHECK_NEAR(scarp_threshold_choose(p, y, 6, SCARP_THRESHOLD_YOUDEN), 0.7, 1e-6);
    float q[] = {1.0f, 0.0f, 0.25f, 0.75f};
    uint8_t z[] = {1, 0, 1, 0};
    CHECK_NEAR(scarp_brier(q, z, 4), (0 + 0 + 0.5625 + 0.5625) / 4, 1e-12);
    CHECK_NEAR(scarp_mae(q, z, 4), (0 + 0 + 0.75 + 0.75) / 4, 1e-12);
    CHECK_NEAR(scarp_rmse(q, z, 4), sqrt(0.28125), 1e-12);
    float r[] = {0.5f, 0.5f};
    uint8_t w[] = {1, 0};
    CHECK_NEAR(scarp_log_loss(r, w, 2), log(2.0), 1e-12);
    double mp[4], ob[4], ece;
    int64_t cnt[4];
    CHECK_OK(scarp_reliability(q, z, 4, 4, mp, ob, cnt, &ece));
    CHECK_EQ_INT(cnt[0], 1);
    CHECK_EQ_INT(cnt[3], 2); /* 0.75 and 1.0 */
    CHECK_NEAR(mp[3], 0.875, 1e-12);
    CHECK_NEAR(ob[3], 0.5, 1e-12);
    CHECK(isnan(mp[2]));
    scarp_metrics m;
    CHECK_OK(scarp_metrics_compute(p, y, 6, 0.7, &m));
    CHECK_NEAR(m.auc, 1.0, 1e-12);
    CHECK_NEAR(m.at_val.accuracy, 1.0, 1e-12);
    CHECK_NEAR(m.at_half.accuracy, 5.0 / 6.0, 1e-12);
}

static void test_student_t(void)
{
    /* two-sided 95 % critical values from statistical tables */
    CHECK_NEAR(scarp_student_t_quantile(0.975, 1), 12.7062, 1e-3);
    CHECK_NEAR(scarp_student_t_quantile(0.975, 2), 4.3027, 1e-3);
    CHECK_NEAR(scarp_student_t_quantile(0.975, 4), 2.7764, 1e-3);
    CHECK_NEAR(scarp_student_t_quantile(0.975, 9), 2.2622, 1e-3);
    CHECK_NEAR(scarp_student_t_quantile(0.975, 29), 2.0452, 1e-3);
    CHECK_NEAR(scarp_student_t_quantile(0.975, 1000), 1.9623, 1e-3);
    double v[] = {0.90, 0.92, 0.94, 0.88, 0.91};
    scarp_summary s;
    scarp_summary_compute(v, 5, &s);
    CHECK_NEAR(s.mean, 0.91, 1e-12);
    CHECK_NEAR(s.sd, sqrt(0.002 / 4), 1e-12); /* deviations ±0.01, ±0.03, 0 */
    CHECK_NEAR(s.hi - s.mean, 2.7764 * s.sd / sqrt(5.0), 1e-4);
}

static void test_kfold(void)
{
    size_t n = 103;
    uint8_t y[103];
    int fold[103];
    for (size_t i = 0; i < n; i++) y[i] = i % 3 == 0;
    CHECK_OK(scarp_cv_kfold(y, n, 5, 42, fold));
    int pos[5] = {0}, all[5] = {0};
    for (size_t i = 0; i < n; i++) {
        CHECK(fold[i] >= 0 && fold[i] < 5);
        all[fold[i]]++;
        pos[fold[i]] += y[i];
    }
    for (int f = 0; f < 5; f++) {
        CHECK(pos[f] == 7 || pos[f] == 6);  /* 35 positives over 5 folds */
        CHECK(all[f] == 20 || all[f] == 21);
    }
    int again[103];
    CHECK_OK(scarp_cv_kfold(y, n, 5, 42, again));
    CHECK(!memcmp(fold, again, sizeof fold));
}

static void test_spatial_buffer(void)
{
    /* 400 random points in 10 km²: spatial folds, then the buffer: no training point may be
     * within the block distance of a test point (brute-force check). */
    enum { N = 400 };
    double x[N], yy[N];
    int fold[N], role[N];
    scarp_rng rng;
    scarp_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        x[i] = 10000 * scarp_rng_uniform(&rng);
        yy[i] = 10000 * scarp_rng_uniform(&rng);
    }
    double block = 1500;
    CHECK_OK(scarp_cv_spatial_kfold(x, yy, N, block, 5, 11, fold));
    for (int f = 0; f < 5; f++) {
        for (int i = 0; i < N; i++) role[i] = fold[i] == f ? 2 : 0;
        size_t excl = 0;
        double before = scarp_cv_min_distance(x, yy, N, role, 2, 0);
        CHECK_OK(scarp_cv_spatial_buffer(x, yy, N, role, 0, 2, 3, block, &excl));
        double after = scarp_cv_min_distance(x, yy, N, role, 2, 0);
        CHECK_MSG(after >= block, "fold %d: min test-train distance %.1f < %.1f", f, after, block);
        CHECK(before < block && excl > 0);
        int ntrain = 0;
        for (int i = 0; i < N; i++) ntrain += role[i] == 0;
        CHECK(ntrain > 50);
    }
}


/* The data engineer's spatial split (square blocks dealt whole to train/val/test) keeps whole
 * blocks apart, but two blocks can touch; with the buffer applied as `scarp train` does, no
 * test sample is within the block distance of a training or validation sample. */
static void test_spatial_split_with_buffer(void)
{
    enum { N = 600 };
    double x[N], yy[N];
    int32_t block[N];
    uint8_t split[N];
    int role[N];
    scarp_rng rng;
    scarp_rng_seed(&rng, 5);
    for (int i = 0; i < N; i++) {
        x[i] = 500000 + 30000 * scarp_rng_uniform(&rng); /* UTM metres, 30 km square */
        yy[i] = 3300000 + 30000 * scarp_rng_uniform(&rng);
    }
    scarp_grid g;
    scarp_grid_init(&g);
    g.gt[0] = 500000;
    g.gt[1] = 30;
    g.gt[3] = 3330000;
    g.gt[5] = -30;
    g.width = g.height = 1000;
    double bs = 5000;
    CHECK_OK(scarp_blocks_squares(&g, x, yy, N, bs, block));
    CHECK_OK(scarp_split_blocks(block, N, 0.7, 0.15, 0.15, 42, 0, split));
    for (int i = 0; i < N; i++) role[i] = split[i];
    double raw = scarp_cv_min_distance(x, yy, N, role, 2, 0);
    fprintf(stderr, "  block split alone: min test-train distance %.0f m (block %.0f m)\n", raw, bs);
    size_t ex1 = 0, ex2 = 0;
    CHECK_OK(scarp_cv_spatial_buffer(x, yy, N, role, 0, 2, 3, bs, &ex1));
    CHECK_OK(scarp_cv_spatial_buffer(x, yy, N, role, 1, 2, 3, bs, &ex2));
    CHECK(scarp_cv_min_distance(x, yy, N, role, 2, 0) >= bs);
    CHECK(scarp_cv_min_distance(x, yy, N, role, 2, 1) >= bs);
    int nt = 0, ntr = 0;
    for (int i = 0; i < N; i++) {
        nt += role[i] == 2;
        ntr += role[i] == 0;
    }
    fprintf(stderr, "  buffer left out %zu + %zu rows; %d test, %d train remain\n", ex1, ex2, nt, ntr);
    CHECK(nt > 30 && ntr > 100);
    scarp_grid_free(&g);
}

int main(void)
{
    RUN(test_auc_sklearn_example);
    RUN(test_auc_ties_brute);
    RUN(test_roc_points);
    RUN(test_confusion_hand);
    RUN(test_threshold_and_scores);
    RUN(test_student_t);
    RUN(test_kfold);
    RUN(test_spatial_buffer);
    RUN(test_spatial_split_with_buffer);
    return check_summary();
}
