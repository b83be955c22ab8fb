/* svm.c — support vector machine with an RBF kernel through libsvm (Chang & Lin 2011,
 * "LIBSVM: a library for support vector machines", ACM TIST 2:27), probabilities by Platt
 * (1999) scaling as improved by Lin, Lin & Weng (2007), C and γ chosen on the validation
 * AUC. Features are standardised on the training rows. After training the support vectors,
 * coefficients, ρ and Platt's (A, B) are copied out of libsvm so that prediction is a
 * dense, threaded loop and the model file is ours. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/eval.h"

static void svm_quiet(const char *s) { (void)s; }

typedef struct {
    struct svm_problem prob;
    struct svm_node *nodes; /* (n, F + 1) */
} svm_data;

static scarp_status svm_data_make(svm_data *d, const scarp_classic *m, const float *X, const uint8_t *y, size_t n)
{
    const int F = m->n_features;
    memset(d, 0, sizeof *d);
    d->nodes = scarp_malloc(n * (size_t)(F + 1) * sizeof *d->nodes);
    d->prob.x = scarp_malloc(n * sizeof *d->prob.x);
    d->prob.y = scarp_malloc(n * sizeof *d->prob.y);
    if (!d->nodes || !d->prob.x || !d->prob.y) return SCARP_ERR_NOMEM;
    d->prob.l = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct svm_node *row = d->nodes + i * (size_t)(F + 1);
        for (int j = 0; j < F; j++) row[j] = (struct svm_node){j + 1, (X[i * F + j] - m->mean[j]) / m->scale[j]};
        row[F].index = -1;
        d->prob.x[i] = row;
        d->prob.y[i] = y[i] ? 1.0 : -1.0;
    }
    return SCARP_OK;
}

static void svm_data_free(svm_data *d)
{
    scarp_free(d->nodes);
    scarp_free(d->prob.x);
    scarp_free(d->prob.y);
}

/* Copies the binary RBF model out of libsvm, oriented so that f > 0 means class 1. */
static scarp_status svm_extract(scarp_classic *m, const struct svm_model *sm, int with_prob)
{
    const int F = m->n_features, nsv = sm->l;
    double sign = sm->label[0] == 1 ? 1.0 : -1.0;
    scarp_free(m->sv);
    scarp_free(m->sv_coef);
    m->sv = scarp_malloc((size_t)(nsv ? nsv : 1) * F * sizeof *m->sv);
    m->sv_coef = scarp_malloc((size_t)(nsv ? nsv : 1) * sizeof *m->sv_coef);
    if (!m->sv || !m->sv_coef) return SCARP_ERR_NOMEM;
    for (int i = 0; i < nsv; i++) {
        float *row = m->sv + (size_t)i * F;
        memset(row, 0, (size_t)F * sizeof *row);
        for (const struct svm_node *p = sm->SV[i]; p->index != -1; p++)
            if (p->index >= 1 && p->index <= F) row[p->index - 1] = (float)p->value;
        m->sv_coef[i] = sign * sm->sv_coef[0][i];
    }
    m->n_sv = nsv;
    m->rho = sign * sm->rho[0];
    /* libsvm: P(label[0]) = 1 / (1 + exp(A f0 + B)) with f0 = sign · f */
    m->prob_a = with_prob ? sm->probA[0] : -1.0;
    m->prob_b = with_prob ? sign * sm->probB[0] : 0.0;
    return SCARP_OK;
}

static scarp_status svm_fit(scarp_classic *m, svm_data *d, double C, double gamma, int probability, uint64_t seed)
{
    struct svm_parameter par = {0};
    par.svm_type = C_SVC;
    par.kernel_type = RBF;
    par.gamma = gamma;
    par.C = C;
    par.cache_size = 100;
    par.eps = 1e-3;
    par.shrinking = 1;
    par.probability = probability;
    const char *err = svm_check_parameter(&d->prob, &par);
    if (err) return scarp_fail(SCARP_ERR_INPUT, "svm: %s", err);
    svm_set_print_string_function(svm_quiet);
    srand((unsigned)(seed ^ (seed >> 32))); /* libsvm's Platt cross-validation draws from rand() */
    struct svm_model *sm = svm_train(&d->prob, &par);
    if (!sm) return scarp_fail(SCARP_ERR_INTERNAL, "svm: libsvm returned no model");
    m->gamma = gamma;
    m->c = C;
    scarp_status st = svm_extract(m, sm, probability);
    svm_free_and_destroy_model(&sm);
    return st;
}

/* Platt probability of class 1, or the decision value f itself while tuning (prob_a = -1). */
scarp_status scarp__svm_predict(const scarp_classic *m, const float *X, size_t n, float *prob)
{
    const int F = m->n_features, nsv = m->n_sv;
    const float *sv = m->sv;
    const double g = m->gamma;
    const int platt = m->prob_a != -1.0;
    if (F > 512) return scarp_fail(SCARP_ERR_INPUT, "svm: %d features; at most 512 are supported", F);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < (int64_t)n; i++) {
        float z[512];
        float *zz = z;
        const float *x = X + (size_t)i * F;
        for (int j = 0; j < F; j++) zz[j] = (x[j] - m->mean[j]) / m->scale[j];
        double f = -m->rho;
        for (int k = 0; k < nsv; k++) {
            const float *s = sv + (size_t)k * F;
            float d2 = 0;
            for (int j = 0; j < F; j++) {
                float e = zz[j] - s[j];
                d2 += e * e;
            }
            f += m->sv_coef[k] * exp(-g * (double)d2);
        }
        if (platt) {
            double a = m->prob_a * f + m->prob_b;
            /* stable 1 / (1 + exp(a)), clipped like libsvm */
            double p = a >= 0 ? exp(-a) / (1.0 + exp(-a)) : 1.0 / (1.0 + exp(a));
            prob[i] = (float)fmin(fmax(p, 1e-7), 1.0 - 1e-7);
        } else {
            prob[i] = (float)f;
        }
    }
    return SCARP_OK;
}

scarp_status scarp__svm_train(scarp_classic *m, const scarp_classic_params *p, const float *X, const uint8_t *y,
                              size_t n, const float *Xv, const uint8_t *yv, size_t nv)
{
    if (n > (size_t)INT32_MAX) return scarp_fail(SCARP_ERR_INPUT, "svm: too many training rows (%zu)", n);
    if (m->n_features > 512) return scarp_fail(SCARP_ERR_INPUT, "svm: %d features; at most 512 are supported", m->n_features);
    scarp_status st = scarp__standardize_fit(m, X, n);
    if (st) return st;
    const int F = m->n_features;
    svm_data d;
    memset(&d, 0, sizeof d);
    float *dv = scarp_malloc((nv ? nv : 1) * sizeof *dv);
    if (!dv) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = svm_data_make(&d, m, X, y, n))) goto end;
    static const double Cs[] = {0.1, 1, 10, 100}, gs[] = {0.25, 1, 4};
    double bestC = p->svm_c > 0 ? p->svm_c : 1.0, bestG = p->svm_gamma > 0 ? p->svm_gamma : 1.0 / F;
    m->val_auc = NAN;
    int tuneC = p->svm_c <= 0 && nv > 0, tuneG = p->svm_gamma <= 0 && nv > 0;
    if (tuneC || tuneG) {
        double best = -INFINITY;
        for (int ci = 0; ci < (tuneC ? 4 : 1); ci++)
            for (int gi = 0; gi < (tuneG ? 3 : 1); gi++) {
                double C = tuneC ? Cs[ci] : p->svm_c, G = tuneG ? gs[gi] / F : p->svm_gamma;
                if ((st = svm_fit(m, &d, C, G, 0, p->seed))) goto end;
                m->prob_a = -1.0; /* decision values */
                if ((st = scarp__svm_predict(m, Xv, nv, dv))) goto end;
                double auc;
                if (scarp_auc(dv, yv, nv, &auc) != SCARP_OK) auc = 0.5;
                if (auc > best + 1e-12) {
                    best = auc;
                    bestC = C;
                    bestG = G;
                }
            }
        m->val_auc = best;
    }
    st = svm_fit(m, &d, bestC, bestG, 1, p->seed);
end:
    svm_data_free(&d);
    scarp_free(dv);
    return st;
}
