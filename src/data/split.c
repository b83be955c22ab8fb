/* split.c — training / validation / test splits: stratified random (the reference study's
 * 70/15/15, 503+503 / 108+108 / 108+108 for 719+719), spatial blocks (square blocks or
 * k-means clusters, Lloyd 1982 with k-means++ seeding, Arthur & Vassilvitskii 2007) assigned
 * whole so test samples lie away from training samples (Roberts et al. 2017, "Cross-
 * validation strategies for data with temporal, spatial, hierarchical, or phylogenetic
 * structure", Ecography 40:913, doi:10.1111/ecog.02881), and k folds. All seeded. */
#include <math.h>
#include <string.h>

#include "samples.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

void scarp_split_counts(int64_t n, double fval, double ftest, int64_t *n_train, int64_t *n_val, int64_t *n_test)
{
    *n_val = llround((double)n * fval);
    *n_test = llround((double)n * ftest);
    if (*n_val + *n_test > n) *n_test = n - *n_val;
    *n_train = n - *n_val - *n_test;
}

scarp_status scarp_split_random(const uint8_t *label, int64_t n, double ftrain, double fval, double ftest, uint64_t seed,
                                uint64_t stream, uint8_t *split)
{
    (void)ftrain;
    size_t *idx = scarp_malloc(sizeof(size_t) * (size_t)(n > 0 ? n : 1));
    if (!idx) return SCARP_ERR_NOMEM;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x53504c00ull + stream); /* "SPL" */
    for (int cls = 0; cls <= 1; cls++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (label[i] == cls) idx[m++] = (size_t)i;
        scarp_rng_shuffle(&rng, idx, (size_t)m);
        int64_t a, b, c;
        scarp_split_counts(m, fval, ftest, &a, &b, &c);
        for (int64_t k = 0; k < m; k++)
            split[idx[k]] = k < a ? SCARP_SPLIT_TRAIN : k < a + b ? SCARP_SPLIT_VAL : SCARP_SPLIT_TEST;
    }
    scarp_free(idx);
    return SCARP_OK;
}

static void metric(const scarp_grid *g, const double *x, const double *y, int64_t i, double *mx, double *my)
{
    double sx, sy;
    scarp_grid_metric_scale(g, &sx, &sy);
    *mx = x[i] * sx;
    *my = y[i] * sy;
}

scarp_status scarp_blocks_squares(const scarp_grid *g, const double *x, const double *y, int64_t n, double size,
                                  int32_t *block)
{
    double sx, sy;
    scarp_grid_metric_scale(g, &sx, &sy);
    double x0 = fmin(g->gt[0], g->gt[0] + g->width * g->gt[1]) * sx;
    double y1 = fmax(g->gt[3], g->gt[3] + g->height * g->gt[5]) * sy;
    double w = fabs(g->width * g->gt[1]) * sx;
    int64_t nbx = (int64_t)ceil(w / size) + 1;
    for (int64_t i = 0; i < n; i++) {
        double mx, my;
        metric(g, x, y, i, &mx, &my);
        int64_t bx = (int64_t)floor((mx - x0) / size), by = (int64_t)floor((y1 - my) / size);
        if (bx < 0) bx = 0;
        if (by < 0) by = 0;
        int64_t id = by * nbx + bx;
        if (id > INT32_MAX) return scarp_fail(SCARP_ERR_INPUT, "[split] block_size %g m is too small for this grid", size);
        block[i] = (int32_t)id;
    }
    return SCARP_OK;
}

scarp_status scarp_blocks_kmeans(const scarp_grid *g, const double *x, const double *y, int64_t n, int k, uint64_t seed,
                                 int32_t *block)
{
    if (k < 1) k = 1;
    if (k > n) k = (int)n;
    double *px = scarp_malloc(sizeof(double) * (size_t)n), *py = scarp_malloc(sizeof(double) * (size_t)n);
    double *cx = scarp_malloc(sizeof(double) * (size_t)k), *cy = scarp_malloc(sizeof(double) * (size_t)k);
    double *d2 = scarp_malloc(sizeof(double) * (size_t)n), *sum = scarp_malloc(sizeof(double) * 3 * (size_t)k);
    scarp_status st = SCARP_OK;
    if (!px || !py || !cx || !cy || !d2 || !sum) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t i = 0; i < n; i++) metric(g, x, y, i, &px[i], &py[i]);
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x4b4d00ull); /* "KM" */
    /* k-means++ seeding */
    int64_t first = (int64_t)scarp_rng_below(&rng, (uint64_t)n);
    cx[0] = px[first];
    cy[0] = py[first];
    for (int64_t i = 0; i < n; i++) d2[i] = INFINITY;
    for (int c = 1; c < k; c++) {
        double tot = 0;
        for (int64_t i = 0; i < n; i++) {
            double dx = px[i] - cx[c - 1], dy = py[i] - cy[c - 1], e = dx * dx + dy * dy;
            if (e < d2[i]) d2[i] = e;
            tot += d2[i];
        }
        double r = scarp_rng_uniform(&rng) * tot, acc = 0;
        int64_t pick = n - 1;
        for (int64_t i = 0; i < n; i++) {
            acc += d2[i];
            if (acc > r) {
                pick = i;
                break;
            }
        }
        cx[c] = px[pick];
        cy[c] = py[pick];
    }
    /* Lloyd iterations until no sample moves (at most 100) */
    for (int it = 0; it < 100; it++) {
        int moved = 0;
        for (int64_t i = 0; i < n; i++) {
            int best = 0;
            double bd = INFINITY;
            for (int c = 0; c < k; c++) {
                double dx = px[i] - cx[c], dy = py[i] - cy[c], e = dx * dx + dy * dy;
                if (e < bd) bd = e, best = c;
            }
            if (it == 0 || block[i] != best) moved = 1;
            block[i] = best;
        }
        if (!moved) break;
        memset(sum, 0, sizeof(double) * 3 * (size_t)k);
        for (int64_t i = 0; i < n; i++) {
            sum[3 * block[i]] += px[i];
            sum[3 * block[i] + 1] += py[i];
            sum[3 * block[i] + 2] += 1;
        }
        for (int c = 0; c < k; c++)
            if (sum[3 * c + 2] > 0) cx[c] = sum[3 * c] / sum[3 * c + 2], cy[c] = sum[3 * c + 1] / sum[3 * c + 2];
    }
end:
    scarp_free(px);
    scarp_free(py);
    scarp_free(cx);
    scarp_free(cy);
    scarp_free(d2);
    scarp_free(sum);
    return st;
}

/* Distinct block ids (sorted) with their per-class sample counts: returns the count. */
static int64_t distinct_blocks(const int32_t *block, const uint8_t *label, int64_t n, int32_t *ids, int64_t (*counts)[2])
{
    int64_t m = 0;
    /* insertion into a sorted array keeps the result independent of the sample order */
    for (int64_t i = 0; i < n; i++) {
        int cls = label && label[i] ? 1 : 0;
        int64_t lo = 0, hi = m;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (ids[mid] < block[i]) lo = mid + 1;
            else hi = mid;
        }
        if (lo < m && ids[lo] == block[i]) {
            counts[lo][cls]++;
            continue;
        }
        memmove(ids + lo + 1, ids + lo, sizeof(int32_t) * (size_t)(m - lo));
        memmove(counts + lo + 1, counts + lo, sizeof *counts * (size_t)(m - lo));
        ids[lo] = block[i];
        counts[lo][0] = counts[lo][1] = 0;
        counts[lo][cls] = 1;
        m++;
    }
    return m;
}

static int64_t find_block(const int32_t *ids, int64_t m, int32_t b)
{
    int64_t lo = 0, hi = m;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (ids[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Misfit of one part: Σ over classes of (have − target)² / target (a χ² distance), so that
 * both the part's size and its class shares are pulled to the targets. */
static double part_cost(const double have[2], const double target[2])
{
    double c = 0;
    for (int k = 0; k < 2; k++) {
        double d = have[k] - target[k];
        c += d * d / (target[k] > 0.5 ? target[k] : 0.5);
    }
    return c;
}

/* Deals whole blocks to `parts` groups so that each group's size and class counts come as
 * close as possible to share[p] × the class totals: blocks in a seeded random order (stably
 * sorted largest first, as in LPT scheduling), each to the group whose misfit it reduces
 * most, then a local search that moves single blocks or swaps two blocks between groups
 * while the total misfit falls. group_of (m) receives the group of each distinct block. */
static scarp_status deal_blocks(const int32_t *block, const uint8_t *label, int64_t n, int parts, const double *share,
                                uint64_t seed, uint64_t stream, int32_t *ids, int64_t (*counts)[2], int64_t *m_out,
                                int *group_of)
{
    int64_t m = distinct_blocks(block, label, n, ids, counts);
    size_t *order = scarp_malloc(sizeof(size_t) * (size_t)(m > 0 ? m : 1));
    if (!order) return SCARP_ERR_NOMEM;
    for (int64_t i = 0; i < m; i++) order[i] = (size_t)i;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x424c4b00ull + stream); /* "BLK" */
    scarp_rng_shuffle(&rng, order, (size_t)m);
    /* stable insertion sort by size, largest first (ties keep the shuffled order) */
    for (int64_t i = 1; i < m; i++) {
        size_t v = order[i];
        int64_t sv = counts[v][0] + counts[v][1], j = i - 1;
        while (j >= 0 && counts[order[j]][0] + counts[order[j]][1] < sv) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
    double total[2] = {0, 0}, target[128][2], have[128][2];
    for (int64_t b = 0; b < m; b++) total[0] += (double)counts[b][0], total[1] += (double)counts[b][1];
    for (int p = 0; p < parts; p++) {
        target[p][0] = share[p] * total[0];
        target[p][1] = share[p] * total[1];
        have[p][0] = have[p][1] = 0;
    }
    for (int64_t k = 0; k < m; k++) {
        int64_t b = (int64_t)order[k];
        int best = -1;
        double bestgain = -INFINITY;
        for (int p = 0; p < parts; p++) {
            if (share[p] <= 0) continue;
            double after[2] = {have[p][0] + (double)counts[b][0], have[p][1] + (double)counts[b][1]};
            double gain = part_cost(have[p], target[p]) - part_cost(after, target[p]);
            if (gain > bestgain + 1e-12) bestgain = gain, best = p;
        }
        if (best < 0) best = 0;
        group_of[b] = best;
        have[best][0] += (double)counts[b][0];
        have[best][1] += (double)counts[b][1];
    }
    /* local search: first-improvement moves and swaps, in the dealt order, until none helps */
    for (int pass = 0; pass < 100; pass++) {
        int improved = 0;
        for (int64_t k = 0; k < m; k++) {
            int64_t b = (int64_t)order[k];
            int from = group_of[b];
            double cb[2] = {(double)counts[b][0], (double)counts[b][1]};
            for (int p = 0; p < parts; p++) {
                if (p == from || share[p] <= 0) continue;
                double fa[2] = {have[from][0] - cb[0], have[from][1] - cb[1]};
                double pa[2] = {have[p][0] + cb[0], have[p][1] + cb[1]};
                double delta = part_cost(fa, target[from]) + part_cost(pa, target[p]) -
                               part_cost(have[from], target[from]) - part_cost(have[p], target[p]);
                if (delta < -1e-9) {
                    have[from][0] = fa[0], have[from][1] = fa[1];
                    have[p][0] = pa[0], have[p][1] = pa[1];
                    group_of[b] = from = p;
                    improved = 1;
                }
            }
            for (int64_t k2 = k + 1; k2 < m && m <= 4096; k2++) { /* swaps: O(m²) per pass, small m only */
                int64_t b2 = (int64_t)order[k2];
                int to = group_of[b2];
                if (to == from) continue;
                double d0 = (double)counts[b2][0] - cb[0], d1 = (double)counts[b2][1] - cb[1];
                if (d0 == 0 && d1 == 0) continue;
                double fa[2] = {have[from][0] + d0, have[from][1] + d1};
                double ta[2] = {have[to][0] - d0, have[to][1] - d1};
                double delta = part_cost(fa, target[from]) + part_cost(ta, target[to]) -
                               part_cost(have[from], target[from]) - part_cost(have[to], target[to]);
                if (delta < -1e-9) {
                    have[from][0] = fa[0], have[from][1] = fa[1];
                    have[to][0] = ta[0], have[to][1] = ta[1];
                    group_of[b] = to;
                    group_of[b2] = from;
                    from = to;
                    cb[0] = (double)counts[b][0], cb[1] = (double)counts[b][1];
                    improved = 1;
                }
            }
        }
        if (!improved) break;
    }
    scarp_free(order);
    *m_out = m;
    return SCARP_OK;
}

scarp_status scarp_split_blocks_stratified(const uint8_t *label, const int32_t *block, int64_t n, double ftrain,
                                           double fval, double ftest, uint64_t seed, uint64_t stream, uint8_t *split)
{
    int32_t *ids = scarp_malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    int64_t(*counts)[2] = scarp_malloc(sizeof *counts * (size_t)(n > 0 ? n : 1));
    int *group = scarp_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    scarp_status st = SCARP_OK;
    if (!ids || !counts || !group) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    double share[3] = {ftest, fval, ftrain};
    int64_t m;
    if ((st = deal_blocks(block, label, n, 3, share, seed, stream, ids, counts, &m, group)) != SCARP_OK) goto end;
    for (int64_t i = 0; i < n; i++) {
        int g = group[find_block(ids, m, block[i])];
        split[i] = g == 0 ? SCARP_SPLIT_TEST : g == 1 ? SCARP_SPLIT_VAL : SCARP_SPLIT_TRAIN;
    }
end:
    scarp_free(ids);
    scarp_free(counts);
    scarp_free(group);
    return st;
}

scarp_status scarp_split_blocks(const int32_t *block, int64_t n, double ftrain, double fval, double ftest, uint64_t seed,
                                uint64_t stream, uint8_t *split)
{
    return scarp_split_blocks_stratified(NULL, block, n, ftrain, fval, ftest, seed, stream, split);
}

scarp_status scarp_split_folds(const uint8_t *label, const int32_t *block, int64_t n, int folds, uint64_t seed,
                               uint64_t stream, int16_t *fold)
{
    if (folds < 2 || folds > 100) return scarp_fail(SCARP_ERR_USAGE, "folds must be 2 to 100 (got %d)", folds);
    if (block) {
        int32_t *ids = scarp_malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
        int64_t(*counts)[2] = scarp_malloc(sizeof *counts * (size_t)(n > 0 ? n : 1));
        int *group = scarp_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
        scarp_status st = SCARP_OK;
        double share[100];
        for (int f = 0; f < folds; f++) share[f] = 1.0 / folds;
        int64_t m;
        if (!ids || !counts || !group) st = SCARP_ERR_NOMEM;
        else if ((st = deal_blocks(block, label, n, folds, share, seed, 0x464f00ull + stream, ids, counts, &m, group)) ==
                 SCARP_OK)
            for (int64_t i = 0; i < n; i++) fold[i] = (int16_t)group[find_block(ids, m, block[i])];
        scarp_free(ids);
        scarp_free(counts);
        scarp_free(group);
        return st;
    }
    size_t *idx = scarp_malloc(sizeof(size_t) * (size_t)(n > 0 ? n : 1));
    if (!idx) return SCARP_ERR_NOMEM;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x464f4c00ull + stream); /* "FOL" */
    int64_t dealt = 0; /* continues across classes so fold sizes differ by at most 1 */
    for (int cls = 0; cls <= 1; cls++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (label[i] == cls) idx[m++] = (size_t)i;
        scarp_rng_shuffle(&rng, idx, (size_t)m);
        for (int64_t k = 0; k < m; k++) fold[idx[k]] = (int16_t)((dealt + k) % folds);
        dealt += m;
    }
    scarp_free(idx);
    return SCARP_OK;
}
