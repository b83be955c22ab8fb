/* test_data_samples.c — splits (the study's exact 503/108/108 counts for 719 + 719,
 * stratification, spatial blocks never shared and stratified by class, folds), negatives (the min-distance
 * invariant checked by brute force, reproducibility, a clear error when impossible), and the
 * normalisation (no leakage from test rows, nodata → training mean, blob round trip). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "data/samples.h"
#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/rng.h"

static void test_split_exact_counts(void)
{
    int64_t n = 1438;
    uint8_t *label = scarp_malloc((size_t)n), *split = scarp_malloc((size_t)n), *split2 = scarp_malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) label[i] = (uint8_t)(i % 2); /* interleaved classes */
    CHECK_OK(scarp_split_random(label, n, 0.70, 0.15, 0.15, 42, 0, split));
    int64_t cnt[3][2] = {{0}};
    for (int64_t i = 0; i < n; i++) cnt[split[i]][label[i]]++;
    CHECK_EQ_INT(cnt[0][1], 503);
    CHECK_EQ_INT(cnt[0][0], 503);
    CHECK_EQ_INT(cnt[1][1], 108);
    CHECK_EQ_INT(cnt[1][0], 108);
    CHECK_EQ_INT(cnt[2][1], 108);
    CHECK_EQ_INT(cnt[2][0], 108);
    /* seeded: same seed → same split; another seed → another split */
    CHECK_OK(scarp_split_random(label, n, 0.70, 0.15, 0.15, 42, 0, split2));
    CHECK(memcmp(split, split2, (size_t)n) == 0);
    CHECK_OK(scarp_split_random(label, n, 0.70, 0.15, 0.15, 43, 0, split2));
    CHECK(memcmp(split, split2, (size_t)n) != 0);
    scarp_free(label);
    scarp_free(split);
    scarp_free(split2);
}

static void test_stratification(void)
{
    /* unbalanced classes, other shares: each class split by itself */
    int64_t n_pos = 37, n_neg = 113, n = n_pos + n_neg;
    uint8_t label[150], split[150];
    for (int64_t i = 0; i < n; i++) label[i] = i < n_pos;
    CHECK_OK(scarp_split_random(label, n, 0.6, 0.25, 0.15, 7, 0, split));
    int64_t cnt[3][2] = {{0}};
    for (int64_t i = 0; i < n; i++) cnt[split[i]][label[i]]++;
    /* val = round(37·0.25) = 9, test = round(37·0.15) = 6; negatives: 28, 17 */
    CHECK_EQ_INT(cnt[1][1], 9);
    CHECK_EQ_INT(cnt[2][1], 6);
    CHECK_EQ_INT(cnt[0][1], 22);
    CHECK_EQ_INT(cnt[1][0], 28);
    CHECK_EQ_INT(cnt[2][0], 17);
    CHECK_EQ_INT(cnt[0][0], 68);
    int64_t a, b, c;
    scarp_split_counts(719, 0.15, 0.15, &a, &b, &c);
    CHECK(a == 503 && b == 108 && c == 108);
}

static void test_spatial_blocks(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32640", 30, 0, 0, 60000, 60000));
    int64_t n = 1000;
    double *x = scarp_malloc(sizeof(double) * n), *y = scarp_malloc(sizeof(double) * n);
    int32_t *block = scarp_malloc(sizeof(int32_t) * n), *block2 = scarp_malloc(sizeof(int32_t) * n);
    uint8_t *split = scarp_malloc(n), *label = scarp_malloc(n);
    int16_t *fold = scarp_malloc(sizeof(int16_t) * n);
    scarp_rng rng;
    scarp_rng_seed(&rng, 5);
    for (int64_t i = 0; i < n; i++) {
        x[i] = 60000 * scarp_rng_uniform(&rng);
        y[i] = 60000 * scarp_rng_uniform(&rng);
        label[i] = i % 2;
    }
    for (int method = 0; method < 2; method++) {
        if (method == 0) CHECK_OK(scarp_blocks_squares(&g, x, y, n, 10000, block));
        else CHECK_OK(scarp_blocks_kmeans(&g, x, y, n, 40, 42, block));
        if (method == 0) /* square blocks by hand: 7 columns (ceil(60000/10000) + 1) */
            for (int64_t i = 0; i < n; i++)
                CHECK_EQ_INT(block[i], (int64_t)floor((60000 - y[i]) / 10000) * 7 + (int64_t)floor(x[i] / 10000));
        if (method == 1) { /* k-means is seeded: the same twice */
            CHECK_OK(scarp_blocks_kmeans(&g, x, y, n, 40, 42, block2));
            CHECK(memcmp(block, block2, sizeof(int32_t) * n) == 0);
        }
        CHECK_OK(scarp_split_blocks(block, n, 0.7, 0.15, 0.15, 42, 0, split));
        int64_t cnt[3] = {0};
        for (int64_t i = 0; i < n; i++) cnt[split[i]]++;
        /* whole blocks: no block in two splits */
        int bad = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++)
                if (block[i] == block[j] && split[i] != split[j]) bad++;
        CHECK_EQ_INT(bad, 0);
        CHECK_MSG(cnt[0] > 500 && cnt[1] > 60 && cnt[2] > 60, "counts %lld %lld %lld", (long long)cnt[0],
                  (long long)cnt[1], (long long)cnt[2]);
        /* spatial folds: whole blocks, every fold used */
        CHECK_OK(scarp_split_folds(label, block, n, 5, 42, 0, fold));
        int64_t fc[5] = {0};
        bad = 0;
        for (int64_t i = 0; i < n; i++) {
            fc[fold[i]]++;
            for (int64_t j = i + 1; j < n; j++)
                if (block[i] == block[j] && fold[i] != fold[j]) bad++;
        }
        CHECK_EQ_INT(bad, 0);
        for (int f = 0; f < 5; f++) CHECK_MSG(fc[f] > 100, "fold %d has %lld", f, (long long)fc[f]);
    }
    /* random folds: stratified, sizes differ by at most one */
    CHECK_OK(scarp_split_folds(label, NULL, n, 5, 42, 0, fold));
    int64_t fc[5][2] = {{0}};
    for (int64_t i = 0; i < n; i++) fc[fold[i]][label[i]]++;
    for (int f = 0; f < 5; f++) CHECK(fc[f][0] == 100 && fc[f][1] == 100);
    scarp_free(x);
    scarp_free(y);
    scarp_free(block);
    scarp_free(block2);
    scarp_free(split);
    scarp_free(label);
    scarp_free(fold);
    scarp_grid_free(&g);
}

/* Spatial splits stratified by class: a layout where the classes cluster in space (landslides
 * in a dozen tight groups, the other class spread everywhere, as in a real inventory), blocked
 * by k-means and by squares. Each split and each fold must hold both classes near their target
 * shares (within 25 % of the target), no block may be shared, the result must be seeded, and
 * the class misfit must be well below that of the size-only assignment. */
static double class_misfit(const uint8_t *label, const uint8_t *split, int64_t n, int parts, const double *share,
                           const int64_t tot[2])
{
    int64_t cnt[100][2] = {{0}};
    for (int64_t i = 0; i < n; i++) cnt[split[i]][label[i]]++;
    double m = 0;
    for (int p = 0; p < parts; p++)
        for (int k = 0; k < 2; k++) {
            double t = share[p] * (double)tot[k], d = (double)cnt[p][k] - t;
            m += d * d / t;
        }
    return m;
}

static void test_spatial_stratified(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32640", 30, 0, 0, 60000, 60000));
    const int64_t n_pos = 400, n_neg = 600, n = n_pos + n_neg;
    double *x = scarp_malloc(sizeof(double) * n), *y = scarp_malloc(sizeof(double) * n);
    int32_t *block = scarp_malloc(sizeof(int32_t) * n);
    uint8_t *split = scarp_malloc(n), *split2 = scarp_malloc(n), *label = scarp_malloc(n);
    int16_t *fold = scarp_malloc(sizeof(int16_t) * n);
    uint8_t *fold8 = scarp_malloc(n);
    scarp_rng rng;
    scarp_rng_seed(&rng, 11);
    double cx[12], cy[12];
    for (int c = 0; c < 12; c++) { /* landslide groups in the eastern ranges */
        cx[c] = 32000 + 26000 * scarp_rng_uniform(&rng);
        cy[c] = 2000 + 56000 * scarp_rng_uniform(&rng);
    }
    for (int64_t i = 0; i < n; i++) {
        label[i] = i < n_pos;
        if (label[i]) {
            int c = (int)(i % 12);
            x[i] = fmin(59999, fmax(1, cx[c] + 1200 * scarp_rng_normal(&rng)));
            y[i] = fmin(59999, fmax(1, cy[c] + 1200 * scarp_rng_normal(&rng)));
        } else {
            x[i] = 60000 * scarp_rng_uniform(&rng);
            y[i] = 60000 * scarp_rng_uniform(&rng);
        }
    }
    const int64_t tot[2] = {n_neg, n_pos};
    const double share3[3] = {0.70, 0.15, 0.15};
    for (int method = 0; method < 2; method++) {
        if (method == 0) CHECK_OK(scarp_blocks_kmeans(&g, x, y, n, 40, 42, block));
        else CHECK_OK(scarp_blocks_squares(&g, x, y, n, 7500, block));
        const char *name = method == 0 ? "k-means" : "squares";
        for (uint64_t seed = 1; seed <= 4; seed++) {
            CHECK_OK(scarp_split_blocks_stratified(label, block, n, 0.70, 0.15, 0.15, seed, 0, split));
            int64_t cnt[3][2] = {{0}};
            int bad = 0;
            for (int64_t i = 0; i < n; i++) {
                cnt[split[i]][label[i]]++;
                for (int64_t j = i + 1; j < n; j++)
                    if (block[i] == block[j] && split[i] != split[j]) bad++;
            }
            CHECK_MSG(bad == 0, "%s seed %llu: %d pairs of one block in two splits", name, (unsigned long long)seed, bad);
            for (int s = 0; s < 3; s++)
                for (int k = 0; k < 2; k++) {
                    double t = share3[s] * (double)tot[k];
                    CHECK_MSG(fabs((double)cnt[s][k] - t) <= 0.25 * t, "%s seed %llu: split %d class %d has %lld, target %.0f",
                              name, (unsigned long long)seed, s, k, (long long)cnt[s][k], t);
                }
            /* the size-only assignment of the same blocks leaves the classes to chance */
            CHECK_OK(scarp_split_blocks(block, n, 0.70, 0.15, 0.15, seed, 0, split2));
            double ms = class_misfit(label, split, n, 3, share3, tot), mu = class_misfit(label, split2, n, 3, share3, tot);
            fprintf(stderr, "  %s seed %llu: class misfit (chi2) stratified %.2f, size-only %.2f; test %lld+%lld\n", name,
                    (unsigned long long)seed, ms, mu, (long long)cnt[2][1], (long long)cnt[2][0]);
            CHECK_MSG(ms <= mu, "%s seed %llu: stratified misfit %.2f above size-only %.2f", name, (unsigned long long)seed,
                      ms, mu);
            /* seeded */
            CHECK_OK(scarp_split_blocks_stratified(label, block, n, 0.70, 0.15, 0.15, seed, 0, split2));
            CHECK(memcmp(split, split2, (size_t)n) == 0);
        }
        /* folds: whole blocks, each fold near 1/5 of each class */
        CHECK_OK(scarp_split_folds(label, block, n, 5, 42, 0, fold));
        int64_t fc[5][2] = {{0}};
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
            fc[fold[i]][label[i]]++;
            fold8[i] = (uint8_t)fold[i];
            for (int64_t j = i + 1; j < n; j++)
                if (block[i] == block[j] && fold[i] != fold[j]) bad++;
        }
        CHECK_EQ_INT(bad, 0);
        for (int f = 0; f < 5; f++)
            for (int k = 0; k < 2; k++) {
                double t = 0.2 * (double)tot[k];
                CHECK_MSG(fabs((double)fc[f][k] - t) <= 0.25 * t, "%s fold %d class %d has %lld, target %.0f", name, f, k,
                          (long long)fc[f][k], t);
            }
    }
    scarp_free(x);
    scarp_free(y);
    scarp_free(block);
    scarp_free(split);
    scarp_free(split2);
    scarp_free(label);
    scarp_free(fold);
    scarp_free(fold8);
    scarp_grid_free(&g);
}

static void test_negatives(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32640", 30, 0, 0, 30000, 30000)); /* 1000 × 1000 */
    int64_t W = g.width, H = g.height;
    uint8_t *valid = scarp_malloc((size_t)(W * H));
    for (int64_t r = 0; r < H; r++)
        for (int64_t c = 0; c < W; c++) valid[r * W + c] = !(c > 600 && r < 500); /* a void quarter */
    scarp_bitmap vb; /* what prepare passes: the same mask, one bit per cell */
    CHECK_OK(scarp_bitmap_init(&vb, W * H, NULL));
    for (int64_t i = 0; i < W * H; i++)
        if (valid[i]) scarp_bitmap_set(&vb, i);
    int64_t n_pos = 300, n_neg = 600;
    double px[300], py[300];
    scarp_rng rng;
    scarp_rng_seed(&rng, 9);
    for (int i = 0; i < n_pos; i++) {
        px[i] = 30000 * scarp_rng_uniform(&rng);
        py[i] = 30000 * scarp_rng_uniform(&rng);
    }
    double *nx = scarp_malloc(sizeof(double) * n_neg), *ny = scarp_malloc(sizeof(double) * n_neg);
    double *nx2 = scarp_malloc(sizeof(double) * n_neg), *ny2 = scarp_malloc(sizeof(double) * n_neg);
    int64_t *nc = scarp_malloc(sizeof(int64_t) * n_neg), *nr = scarp_malloc(sizeof(int64_t) * n_neg);
    double dmin = 400;
    CHECK_OK(scarp_negatives_sample(&vb, &g, px, py, n_pos, n_neg, dmin, 42, nx, ny, nc, nr));
    /* brute force: every negative on a valid cell, ≥ dmin from every positive and other negative */
    int bad_valid = 0, bad_pos = 0, bad_neg = 0;
    for (int64_t i = 0; i < n_neg; i++) {
        bad_valid += !valid[nr[i] * W + nc[i]];
        for (int j = 0; j < n_pos; j++) bad_pos += hypot(nx[i] - px[j], ny[i] - py[j]) < dmin;
        for (int64_t j = i + 1; j < n_neg; j++) bad_neg += hypot(nx[i] - nx[j], ny[i] - ny[j]) < dmin;
    }
    CHECK_EQ_INT(bad_valid, 0);
    CHECK_EQ_INT(bad_pos, 0);
    CHECK_EQ_INT(bad_neg, 0);
    /* uniform: about as many in the left and right thirds of the valid area */
    int left = 0;
    for (int64_t i = 0; i < n_neg; i++) left += nc[i] < 300;
    CHECK_MSG(left > 120 && left < 260, "left third: %d of 600", left);
    /* seeded */
    CHECK_OK(scarp_negatives_sample(&vb, &g, px, py, n_pos, n_neg, dmin, 42, nx2, ny2, nc, nr));
    CHECK(memcmp(nx, nx2, sizeof(double) * n_neg) == 0 && memcmp(ny, ny2, sizeof(double) * n_neg) == 0);
    /* impossible: 600 points 3 km apart in 30 km × 30 km */
    CHECK_FAILS(scarp_negatives_sample(&vb, &g, px, py, n_pos, n_neg, 3000, 42, nx, ny, nc, nr), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "cannot hold 600 negatives at least 3000 m") != NULL);
    scarp_free(valid);
    scarp_bitmap_free(&vb);
    scarp_free(nx);
    scarp_free(ny);
    scarp_free(nx2);
    scarp_free(ny2);
    scarp_free(nc);
    scarp_free(nr);
    scarp_grid_free(&g);
}

/* A stack description with three layers: continuous, categorical, circular. */
static void fake_stack(scarp_stack *s)
{
    scarp_stack_init(s);
    s->n_layers = 3;
    strcpy(s->layers[0].name, "elev");
    s->layers[0].kind = SCARP_KIND_CONTINUOUS;
    strcpy(s->layers[1].name, "erg");
    s->layers[1].kind = SCARP_KIND_CATEGORICAL;
    strcpy(s->layers[2].name, "aspect");
    s->layers[2].kind = SCARP_KIND_CIRCULAR;
}

static void test_norm(void)
{
    scarp_stack s;
    fake_stack(&s);
    const int n = 40, P = 4, L = 3, N = 5, T = 1;
    const size_t per = (size_t)L * P * P;
    float *raw = scarp_malloc(sizeof(float) * n * per), *seq = scarp_malloc(sizeof(float) * n * N * T);
    uint8_t split[40];
    scarp_rng rng;
    scarp_rng_seed(&rng, 3);
    for (int i = 0; i < n; i++) {
        split[i] = i < 28 ? 0 : i < 34 ? 1 : 2;
        for (int k = 0; k < P * P; k++) {
            raw[i * per + k] = (float)(100 + 50 * scarp_rng_uniform(&rng));
            raw[i * per + P * P + k] = (float)(1 + scarp_rng_below(&rng, 3)); /* categories 1..3 */
            raw[i * per + 2 * P * P + k] = (float)(360 * scarp_rng_uniform(&rng));
        }
        for (int d = 0; d < N; d++) seq[(i * N + d) * T] = (float)(20 * scarp_rng_uniform(&rng));
    }
    raw[0] = NAN; /* a nodata cell in a training patch */
    const char *vars[1] = {"rainfall"};
    scarp_norm a, b;
    CHECK_OK(scarp_norm_fit(&a, &s, n, P, raw, N, T, vars, seq, split));
    CHECK_EQ_INT(a.C, 1 + 3 + 2);
    CHECK_EQ_INT(a.S, 4);
    /* min/max over training rows, by brute force */
    float mn = INFINITY, mx = -INFINITY;
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < 28; i++)
        for (int k = 0; k < P * P; k++) {
            float v = raw[i * per + k];
            if (isnan(v)) continue;
            mn = fminf(mn, v), mx = fmaxf(mx, v);
        }
    for (int i = 0; i < 28; i++)
        for (int k = 0; k < P * P; k++)
            if (!isnan(raw[i * per + k])) sum += (raw[i * per + k] - mn) / (mx - mn), cnt++;
    CHECK_NEAR(a.channels[0].min, mn, 0);
    CHECK_NEAR(a.channels[0].max, mx, 0);
    CHECK_NEAR(a.channels[0].mean, sum / cnt, 1e-5);
    CHECK(strcmp(a.channels[1].name, "erg=1") == 0 && strcmp(a.channels[3].name, "erg=3") == 0);
    CHECK(strcmp(a.channels[4].name, "aspect_sin") == 0);

    /* no leakage: change every value of the val and test rows → the same norm, byte for byte */
    for (int i = 28; i < n; i++) {
        for (size_t k = 0; k < per; k++) raw[i * per + k] = k < (size_t)P * P ? 1e6f : k < 2u * P * P ? 99.0f : 7.0f;
        for (int d = 0; d < N; d++) seq[(i * N + d) * T] = 1e4f;
    }
    CHECK_OK(scarp_norm_fit(&b, &s, n, P, raw, N, T, vars, seq, split));
    void *ba = NULL, *bb = NULL;
    size_t na = 0, nb = 0;
    CHECK_OK(scarp_norm_serialize(&a, &ba, &na));
    CHECK_OK(scarp_norm_serialize(&b, &bb, &nb));
    CHECK(na == nb && memcmp(ba, bb, na) == 0);
    /* ...while changing a training row does change it */
    raw[5 * per + 3] = 1e6f;
    scarp_norm c;
    CHECK_OK(scarp_norm_fit(&c, &s, n, P, raw, N, T, vars, seq, split));
    CHECK(c.channels[0].max == 1e6f);
    scarp_norm_free(&c);

    /* apply: nodata → channel mean; one-hot; sin/cos; unseen category → all zeros */
    float win[3 * 2] = {NAN, 125.0f, 2.0f, 99.0f, 90.0f, NAN}; /* (L=3, h=1, w=2) */
    float out[6 * 2];
    scarp_norm_apply_window(&a, win, 1, 2, out);
    CHECK_NEAR(out[0], a.channels[0].mean, 0);
    CHECK_NEAR(out[1], (125.0f - mn) / (mx - mn), 1e-6);
    CHECK(out[2] == 0 && out[4] == 1 && out[6] == 0); /* erg=1, erg=2, erg=3 at cell 0 (value 2) */
    CHECK(out[3] == 0 && out[5] == 0 && out[7] == 0); /* 99: unseen category */
    CHECK_NEAR(out[8], 1.0, 1e-6);                    /* sin 90° */
    CHECK_NEAR(out[10], 0.0, 1e-6);                   /* cos 90° */
    CHECK_NEAR(out[9], a.channels[4].mean, 0);        /* nodata */

    /* round trip and damage */
    scarp_norm r;
    CHECK_OK(scarp_norm_deserialize(&r, ba, na));
    void *br = NULL;
    size_t nr = 0;
    CHECK_OK(scarp_norm_serialize(&r, &br, &nr));
    CHECK(nr == na && memcmp(br, ba, na) == 0);
    ((unsigned char *)ba)[na / 2] ^= 1;
    CHECK_FAILS(scarp_norm_deserialize(&c, ba, na), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "CRC") != NULL);
    CHECK_FAILS(scarp_norm_deserialize(&c, ba, na - 7), SCARP_ERR_INPUT);
    CHECK_FAILS(scarp_norm_deserialize(&c, "garbage", 7), SCARP_ERR_INPUT);
    /* summaries of a hand-made window: sum, max, last 3, last 7 (N = 5: the whole window) */
    float rs[5] = {1, 5, 2, 0, 3}, sm[4];
    scarp_norm_temporal_summaries(&r, rs, sm);
    CHECK_NEAR(sm[0] * (r.sum_max[0] - r.sum_min[0]) + r.sum_min[0], 11, 1e-4);
    CHECK_NEAR(sm[1] * (r.sum_max[1] - r.sum_min[1]) + r.sum_min[1], 5, 1e-4);
    CHECK_NEAR(sm[2] * (r.sum_max[2] - r.sum_min[2]) + r.sum_min[2], 5, 1e-4);
    CHECK_NEAR(sm[3] * (r.sum_max[3] - r.sum_min[3]) + r.sum_min[3], 11, 1e-4);
    scarp_free(br);
    scarp_free(ba);
    scarp_free(bb);
    scarp_norm_free(&r);
    scarp_norm_free(&a);
    scarp_norm_free(&b);
    scarp_free(raw);
    scarp_free(seq);
}

int main(void)
{
    RUN(test_split_exact_counts);
    RUN(test_stratification);
    RUN(test_spatial_blocks);
    RUN(test_spatial_stratified);
    RUN(test_negatives);
    RUN(test_norm);
    return check_summary();
}
