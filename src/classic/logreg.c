/* logreg.c — L2-penalised logistic regression fitted by Newton's method (iteratively
 * reweighted least squares; McCullagh & Nelder 1989, §4.4) with step halving, on
 * standardised features. Objective = scikit-learn's: C · Σ log-loss + ½ |w|², intercept
 * not penalised; C tuned on the validation AUC. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/eval.h"

/* In-place Cholesky solve of the SPD system A x = b, A (n, n). Returns -1 if not SPD. */
static int cholesky_solve(double *A, double *b, int n)
{
    for (int j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (int k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        A[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (int k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    for (int i = 0; i < n; i++) { /* L y = b */
        double s = b[i];
        for (int k = 0; k < i; k++) s -= A[i * n + k] * b[k];
        b[i] = s / A[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) { /* Lᵀ x = y */
        double s = b[i];
        for (int k = i + 1; k < n; k++) s -= A[k * n + i] * b[k];
        b[i] = s / A[i * n + i];
    }
    return 0;
}

/* Penalised objective at w (F + 1; w[F] = intercept). Z (n, F) standardised. */
static double objective(const double *Z, const uint8_t *y, size_t n, int F, const double *w, double C)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double eta = w[F];
        for (int j = 0; j < F; j++) eta += w[j] * Z[i * F + j];
        /* log(1 + exp(eta)) − y·eta, stably */
        double l = eta > 0 ? eta + log1p(exp(-eta)) : log1p(exp(eta));
        s += l - (y[i] ? eta : 0.0);
    }
    double r = 0;
    for (int j = 0; j < F; j++) r += w[j] * w[j];
    return C * s + 0.5 * r;
}

static scarp_status fit_c(scarp_classic *m, const double *Z, const uint8_t *y, size_t n, double C)
{
    const int F = m->n_features, P = F + 1;
    double *w = scarp_calloc((size_t)P, sizeof *w), *g = scarp_malloc((size_t)P * sizeof *g),
           *H = scarp_malloc((size_t)P * P * sizeof *H), *wn = scarp_malloc((size_t)P * sizeof *wn);
    scarp_status st = SCARP_OK;
    if (!w || !g || !H || !wn) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    double obj = objective(Z, y, n, F, w, C);
    for (int iter = 0; iter < 100; iter++) {
        memset(g, 0, (size_t)P * sizeof *g);
        memset(H, 0, (size_t)P * P * sizeof *H);
        for (size_t i = 0; i < n; i++) {
            const double *z = Z + i * F;
            double eta = w[F];
            for (int j = 0; j < F; j++) eta += w[j] * z[j];
            double p = 1.0 / (1.0 + exp(-eta)), r = p - (y[i] ? 1.0 : 0.0), v = p * (1.0 - p);
            for (int a = 0; a < P; a++) {
                double za = a < F ? z[a] : 1.0;
                g[a] += C * r * za;
                for (int b = 0; b <= a; b++) H[a * P + b] += C * v * za * (b < F ? z[b] : 1.0);
            }
        }
        for (int a = 0; a < P; a++)
            for (int b = 0; b < a; b++) H[b * P + a] = H[a * P + b];
        for (int j = 0; j < F; j++) {
            g[j] += w[j];
            H[j * P + j] += 1.0;
        }
        H[F * P + F] += 1e-10; /* keeps the intercept's pivot positive on separable data */
        if (cholesky_solve(H, g, P)) {
            st = scarp_fail(SCARP_ERR_INTERNAL, "logreg: Newton system not positive definite");
            goto end;
        }
        /* step halving until the objective does not increase */
        double step = 1.0, newobj = obj, maxd = 0;
        for (int k = 0; k < 30; k++) {
            for (int a = 0; a < P; a++) wn[a] = w[a] - step * g[a];
            newobj = objective(Z, y, n, F, wn, C);
            if (newobj <= obj + 1e-12 * fabs(obj)) break;
            step *= 0.5;
        }
        for (int a = 0; a < P; a++) {
            maxd = fmax(maxd, fabs(wn[a] - w[a]));
            w[a] = wn[a];
        }
        double rel = fabs(obj - newobj) / fmax(1.0, fabs(obj));
        obj = newobj;
        if (maxd < 1e-9 || rel < 1e-14) break;
    }
    for (int j = 0; j < F; j++) m->coef[j] = w[j];
    m->intercept = w[F];
    m->logreg_c = C;
end:
    scarp_free(w);
    scarp_free(g);
    scarp_free(H);
    scarp_free(wn);
    return st;
}

scarp_status scarp__logreg_predict(const scarp_classic *m, const float *X, size_t n, float *prob)
{
    const int F = m->n_features;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < (int64_t)n; i++) {
        double eta = m->intercept;
        for (int j = 0; j < F; j++) eta += m->coef[j] * ((X[(size_t)i * F + j] - m->mean[j]) / m->scale[j]);
        prob[i] = (float)(1.0 / (1.0 + exp(-eta)));
    }
    return SCARP_OK;
}

scarp_status scarp__logreg_train(scarp_classic *m, const scarp_classic_params *p, const float *X, const uint8_t *y,
                                 size_t n, const float *Xv, const uint8_t *yv, size_t nv)
{
    scarp_status st = scarp__standardize_fit(m, X, n);
    if (st) return st;
    const int F = m->n_features;
    double *Z = scarp_malloc(n * (size_t)F * sizeof *Z);
    float *pv = scarp_malloc((nv ? nv : 1) * sizeof *pv);
    m->coef = scarp_calloc((size_t)F, sizeof *m->coef);
    if (!Z || !pv || !m->coef) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < F; j++) Z[i * F + j] = (X[i * F + j] - m->mean[j]) / m->scale[j];
    double C = p->logreg_c > 0 ? p->logreg_c : 1.0;
    m->val_auc = NAN;
    if (p->logreg_c <= 0 && nv > 0) {
        static const double Cs[] = {0.01, 0.1, 1, 10, 100};
        double best = -INFINITY;
        for (int k = 0; k < 5; k++) {
            if ((st = fit_c(m, Z, y, n, Cs[k]))) goto end;
            scarp__logreg_predict(m, Xv, nv, pv);
            double auc;
            if (scarp_auc(pv, yv, nv, &auc) != SCARP_OK) auc = 0.5;
            if (auc > best + 1e-12) { /* ties: the stronger penalty (listed first) wins */
                best = auc;
                C = Cs[k];
            }
        }
        m->val_auc = best;
    }
    st = fit_c(m, Z, y, n, C);
end:
    scarp_free(Z);
    scarp_free(pv);
    return st;
}
