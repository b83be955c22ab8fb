/* importance.c — permutation importance per factor group (Breiman 2001, "Random forests",
 * Machine Learning 45:5–32; grouped as in Gregorutti, Michel & Saint-Pierre 2015, so the
 * one-hot columns of a category or the whole series of a temporal variable move together),
 * measured as the drop of test AUC and reported as a share of the total drop as in the
 * reference study's importance table. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/rng.h"

void scarp_importance_free(scarp_importance *imp)
{
    if (!imp) return;
    scarp_free(imp->drop_mean);
    scarp_free(imp->drop_sd);
    scarp_free(imp->share);
    memset(imp, 0, sizeof *imp);
}

scarp_status scarp_importance_permutation(scarp_permuted_predict_fn fn, void *user, int n_groups,
                                          const uint8_t *y, size_t n, double base_auc, int repeats,
                                          uint64_t seed, scarp_importance *imp)
{
    memset(imp, 0, sizeof *imp);
    if (n_groups < 1 || repeats < 1 || n < 2)
        return scarp_fail(SCARP_ERR_USAGE, "importance: needs groups >= 1, repeats >= 1, rows >= 2 "
                                           "(got %d, %d, %zu)", n_groups, repeats, n);
    imp->n_groups = n_groups;
    imp->repeats = repeats;
    imp->base_auc = base_auc;
    imp->drop_mean = scarp_calloc((size_t)n_groups, sizeof(double));
    imp->drop_sd = scarp_calloc((size_t)n_groups, sizeof(double));
    imp->share = scarp_calloc((size_t)n_groups, sizeof(double));
    size_t *perm = scarp_malloc(n * sizeof *perm);
    float *prob = scarp_malloc(n * sizeof *prob);
    double *drops = scarp_malloc((size_t)repeats * sizeof *drops);
    scarp_status st = SCARP_OK;
    if (!imp->drop_mean || !imp->drop_sd || !imp->share || !perm || !prob || !drops) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int g = 0; g < n_groups; g++) {
        for (int r = 0; r < repeats; r++) {
            scarp_rng rng;
            scarp_rng_stream(&rng, seed, (uint64_t)g * 65536u + (uint64_t)r);
            for (size_t i = 0; i < n; i++) perm[i] = i;
            scarp_rng_shuffle(&rng, perm, n);
            if ((st = fn(user, g, perm, n, prob))) goto end;
            double auc;
            if ((st = scarp_auc(prob, y, n, &auc))) goto end;
            drops[r] = base_auc - auc;
        }
        double mean = 0, ss = 0;
        for (int r = 0; r < repeats; r++) mean += drops[r];
        mean /= repeats;
        for (int r = 0; r < repeats; r++) ss += (drops[r] - mean) * (drops[r] - mean);
        imp->drop_mean[g] = mean;
        imp->drop_sd[g] = repeats > 1 ? sqrt(ss / (repeats - 1)) : 0.0;
    }
    double total = 0;
    for (int g = 0; g < n_groups; g++) total += fmax(imp->drop_mean[g], 0.0);
    for (int g = 0; g < n_groups; g++) imp->share[g] = total > 0 ? fmax(imp->drop_mean[g], 0.0) / total : 0.0;
end:
    scarp_free(perm);
    scarp_free(prob);
    scarp_free(drops);
    if (st) scarp_importance_free(imp);
    return st;
}
