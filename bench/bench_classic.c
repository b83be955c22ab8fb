/* bench_classic.c — the baselines on the peer benchmark's tabular data (written by
 * bench/bench_classic_sklearn.py --write): fit time and test AUC of every baseline, and the
 * random forest's predict throughput (rows/s) on the throughput matrix (1e6 rows), median
 * of --reps runs. Run through bench/bench_classic.sh, which interleaves scikit-learn. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/eval.h"
#include "scarp/progress.h"
#include "scarp/threads.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_classic DATA.bin [reps=3] [threads=2]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 3, threads = argc > 3 ? atoi(argv[3]) : 2;
    scarp_threads_set(threads);
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    int32_t h[4];
    if (fread(h, 4, 4, f) != 4) return 1;
    size_t ntr = (size_t)h[0], nte = (size_t)h[1], F = (size_t)h[2], rows = (size_t)h[3], n = ntr + nte;
    float *X = malloc(n * F * sizeof(float)), *big = malloc(rows * F * sizeof(float)), *prob = malloc(rows * sizeof(float));
    uint8_t *y = malloc(n);
    if (!X || !big || !prob || !y || fread(X, sizeof(float), n * F, f) != n * F || fread(y, 1, n, f) != n ||
        fread(big, sizeof(float), rows * F, f) != rows * F) {
        fprintf(stderr, "%s: short read\n", argv[1]);
        return 1;
    }
    fclose(f);
    const float *Xte = X + ntr * F;
    const uint8_t *yte = y + ntr;
    static const scarp_classic_kind kinds[] = {SCARP_CLASSIC_FOREST, SCARP_CLASSIC_SVM, SCARP_CLASSIC_TREE,
                                               SCARP_CLASSIC_LOGREG, SCARP_CLASSIC_GBOOST};
    scarp_classic forest;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        scarp_classic m;
        /* defaults without tuning (as sklearn's defaults): SVM C = 1, γ = 1/F ("scale" differs little
         * on standardised data); tree unlimited */
        scarp_classic_params p = {.seed = 1, .svm_c = 1.0, .svm_gamma = 1.0 / (double)F, .max_depth = 0,
                                  .min_leaf = 1, .logreg_c = 1.0};
        if (kinds[k] == SCARP_CLASSIC_TREE) p.max_depth = 1000;
        double t0 = scarp_now();
        if (scarp_classic_train(&m, kinds[k], &p, X, y, ntr, (int)F, NULL, NULL, 0, NULL)) {
            fprintf(stderr, "train %s: %s\n", scarp_classic_name(kinds[k]), scarp_last_error());
            return 1;
        }
        double tf = scarp_now() - t0;
        float pt[4096];
        scarp_classic_predict(&m, Xte, nte, pt);
        double auc = 0;
        scarp_auc(pt, yte, nte, &auc);
        printf("scarp   %-7s fit %8.3f s  test AUC %.4f\n", scarp_classic_name(kinds[k]), tf, auc);
        if (kinds[k] == SCARP_CLASSIC_FOREST) forest = m;
        else scarp_classic_free(&m);
    }
    printf("scarp   forest: %d trees, %lld nodes (%.1f MiB)\n", forest.n_trees, (long long)forest.n_nodes,
           forest.n_nodes * sizeof(scarp_tree_node) / 1048576.0);
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        double t0 = scarp_now();
        scarp_classic_predict(&forest, big, rows, prob);
        t[r] = scarp_now() - t0;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
        printf("scarp   forest predict %zu rows %8.3f s -> %.0f rows/s; CPU %.3f s -> %.0f rows per CPU-second "
               "(%d threads)\n", rows, t[r], rows / t[r], cpu, rows / cpu, threads);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("scarp   forest predict median %.0f rows/s\n", rows / t[reps / 2]);
    scarp_classic_free(&forest);
    free(X);
    free(big);
    free(prob);
    free(y);
    free(t);
    return 0;
}
