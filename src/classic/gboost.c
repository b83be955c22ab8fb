/* gboost.c — gradient-boosted trees for the logistic loss (Friedman 2001, "Greedy
 * function approximation: a gradient boosting machine", Annals of Statistics 29:1189–1232)
 * with Newton leaf values Σg / Σh and the split gain Σg²/Σh (Chen & Guestrin 2016,
 * XGBoost, without regularisation terms). Depth 3 trees, shrinkage 0.1, 200 rounds by
 * default. Serial over rounds; deterministic. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"

scarp_status scarp__gboost_train(scarp_classic *m, const scarp_classic_params *p, const float *X, const uint8_t *y,
                                 size_t n, scarp_progress *progress)
{
    const int F = m->n_features;
    const int T = p->n_trees > 0 ? p->n_trees : 200;
    const int depth = p->max_depth > 0 ? p->max_depth : 3, leaf = p->min_leaf > 0 ? p->min_leaf : 5;
    const double lr = p->learning_rate > 0 ? p->learning_rate : 0.1;
    scarp__tree_builder *b = scarp__tree_builder_new(n, F);
    double *F_logit = scarp_malloc(n * sizeof(double)), *g = scarp_malloc(n * sizeof(double)),
           *h = scarp_malloc(n * sizeof(double));
    scarp_tree_node **trees = scarp_calloc((size_t)T, sizeof *trees);
    int64_t *counts = scarp_calloc((size_t)T, sizeof *counts);
    scarp_status st = SCARP_OK;
    if (!b || !F_logit || !g || !h || !trees || !counts) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    double pos = 0;
    for (size_t i = 0; i < n; i++) pos += y[i] != 0;
    double p0 = (pos + 0.5) / ((double)n + 1.0);
    m->base_score = log(p0 / (1 - p0));
    m->learning_rate = lr;
    for (size_t i = 0; i < n; i++) F_logit[i] = m->base_score;
    scarp_progress_begin(progress, "gboost", T);
    for (int t = 0; t < T; t++) {
        for (size_t i = 0; i < n; i++) {
            double pr = 1.0 / (1.0 + exp(-F_logit[i]));
            g[i] = (y[i] ? 1.0 : 0.0) - pr;       /* negative gradient of the log loss */
            h[i] = fmax(pr * (1.0 - pr), 1e-12);  /* hessian */
        }
        if ((st = scarp__tree_build(b, X, g, h, NULL, n, F, depth, leaf, F, 1, p->seed, (uint64_t)t, &trees[t],
                                    &counts[t])))
            goto end;
        for (size_t i = 0; i < n; i++) {
            const scarp_tree_node *tr = trees[t];
            const float *x = X + i * (size_t)F;
            int64_t k = 0;
            while (tr[k].feature >= 0) k = tr[k].left + (x[tr[k].feature] > tr[k].threshold);
            F_logit[i] += lr * tr[k].threshold;
        }
        if (scarp_progress_step(progress, 1) == SCARP_ERR_CANCELLED) {
            st = scarp_fail(SCARP_ERR_CANCELLED, "gboost: cancelled");
            goto end;
        }
    }
    if ((st = scarp__trees_pack(m, trees, counts, T))) goto end;
    m->max_depth = depth;
    m->min_leaf = leaf;
    m->val_auc = NAN;
end:
    scarp_progress_end(progress);
    scarp__tree_builder_free(b);
    scarp_free(F_logit);
    scarp_free(g);
    scarp_free(h);
    if (trees)
        for (int t = 0; t < T; t++) scarp_free(trees[t]);
    scarp_free(trees);
    scarp_free(counts);
    return st;
}
