/* forest.c — random forest (Breiman 2001, "Random forests", Machine Learning 45:5–32):
 * bootstrap samples (as row weights), floor(√F) features tried per split, fully grown
 * Gini trees, probability = mean of the leaves' class-1 shares (scikit-learn's
 * predict_proba). Trees are built in parallel; tree t draws its bootstrap and feature
 * orders from scarp_rng_stream(seed, t) and scarp_rng_stream(seed, 2³² + t), and trees
 * are concatenated in index order, so the forest is identical for any thread count. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/rng.h"

scarp_status scarp__forest_train(scarp_classic *m, const scarp_classic_params *p, const float *X, const uint8_t *y,
                                 size_t n, scarp_progress *progress)
{
    const int F = m->n_features;
    const int T = p->n_trees > 0 ? p->n_trees : 500;
    int mtry = p->mtry > 0 ? p->mtry : (int)floor(sqrt((double)F));
    if (mtry < 1) mtry = 1;
    if (mtry > F) mtry = F;
    const int depth = p->max_depth > 0 ? p->max_depth : 0, leaf = p->min_leaf > 0 ? p->min_leaf : 1;
    scarp_tree_node **trees = scarp_calloc((size_t)T, sizeof *trees);
    int64_t *counts = scarp_calloc((size_t)T, sizeof *counts);
    scarp_status *status = scarp_calloc((size_t)T, sizeof *status);
    double *target = scarp_malloc(n * sizeof *target);
    scarp_status st = SCARP_OK;
    if (!trees || !counts || !status || !target) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t i = 0; i < n; i++) target[i] = y[i] ? 1.0 : 0.0;
    scarp_progress_begin(progress, "forest", T);
    int cancelled = 0;
#pragma omp parallel
    {
        scarp__tree_builder *b = scarp__tree_builder_new(n, F);
        double *w = scarp_malloc(n * sizeof *w);
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < T; t++) {
            if (!b || !w) {
                status[t] = SCARP_ERR_NOMEM;
                continue;
            }
            int stop;
#pragma omp atomic read
            stop = cancelled;
            if (stop) {
                status[t] = SCARP_ERR_CANCELLED;
                continue;
            }
            scarp_rng rng;
            scarp_rng_stream(&rng, p->seed, (uint64_t)t);
            memset(w, 0, n * sizeof *w);
            for (size_t k = 0; k < n; k++) w[scarp_rng_below(&rng, n)] += 1.0;
            status[t] = scarp__tree_build(b, X, target, NULL, w, n, F, depth, leaf, mtry, 0, p->seed,
                                          (1ull << 32) + (uint64_t)t, &trees[t], &counts[t]);
            if (scarp_progress_step(progress, 1) == SCARP_ERR_CANCELLED) {
#pragma omp atomic write
                cancelled = 1;
            }
        }
        scarp__tree_builder_free(b);
        scarp_free(w);
    }
    scarp_progress_end(progress);
    for (int t = 0; t < T; t++)
        if (status[t]) {
            st = status[t] == SCARP_ERR_CANCELLED ? scarp_fail(SCARP_ERR_CANCELLED, "forest: cancelled") : status[t];
            goto end;
        }
    if ((st = scarp__trees_pack(m, trees, counts, T))) goto end;
    m->mtry = mtry;
    m->max_depth = depth;
    m->min_leaf = leaf;
    m->val_auc = NAN;
end:
    if (trees)
        for (int t = 0; t < T; t++) scarp_free(trees[t]);
    scarp_free(trees);
    scarp_free(counts);
    scarp_free(status);
    scarp_free(target);
    return st;
}
