/* test_nn_util.h — finite-difference gradient checks shared by the test_nn_* tests.
 * Central differences on float32 code: each checked coordinate uses step eps and eps/2;
 * where the two estimates disagree the step crossed a kink (ReLU, max-pool tie) and the
 * coordinate is skipped (counted; a test fails if more than 10 % are skipped). */
#ifndef SCARP_TEST_NN_UTIL_H
#define SCARP_TEST_NN_UTIL_H
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "scarp/rng.h"

typedef double (*nn_loss_fn)(void *ctx);

static inline void nn_fill_uniform(float *x, size_t n, float lo, float hi, scarp_rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)scarp_rng_uniform(r);
}

static inline double nn_central(float *x, size_t i, float eps, nn_loss_fn f, void *ctx)
{
    const float keep = x[i];
    x[i] = keep + eps;
    const double lp = f(ctx);
    x[i] = keep - eps;
    const double lm = f(ctx);
    x[i] = keep;
    return (lp - lm) / (2.0 * (double)eps);
}

/* Checks g (analytic dL/dx) at up to nsample coordinates of x (spread evenly). */
static inline void nn_gradcheck(const char *name, float *x, const float *g, size_t n, size_t nsample, nn_loss_fn f,
                         void *ctx, float eps, double rtol, double atol)
{
    size_t step = n > nsample ? n / nsample : 1, checked = 0, skipped = 0, bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i += step) {
        const double num = nn_central(x, i, eps, f, ctx);
        const double err = fabs(num - g[i]);
        checked++;
        if (err <= atol + rtol * fabs(num)) { if (err > worst) worst = err; continue; }
        const double num2 = nn_central(x, i, eps * 0.5f, f, ctx);
        if (fabs(num2 - num) > atol + rtol * fabs(num)) { skipped++; continue; } /* a kink */
        bad++;
        if (bad <= 5)
            fprintf(stderr, "  %s[%zu]: analytic %.8g, numeric %.8g (eps/2: %.8g)\n", name, i, (double)g[i], num, num2);
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu coordinates disagree with finite differences", name, bad, checked);
    CHECK_MSG(skipped * 10 <= checked, "%s: %zu of %zu coordinates skipped as kinks", name, skipped, checked);
    if (getenv("SCARP_TEST_VERBOSE"))
        fprintf(stderr, "  %s: %zu checked, %zu kinks, worst |err| %.3g\n", name, checked, skipped, worst);
}

/* Unit roundoff of float32 and Higham's γ_n = n·u / (1 − n·u): any float32 sum of n products,
 * in any order (so under any BLAS kernel), is within γ_n · Σ|a_k·b_k| of the exact sum
 * (Higham 2002, "Accuracy and Stability of Numerical Algorithms", §3.1). */
#define NN_U 5.9604644775390625e-8 /* 2^-24 */
static inline double nn_gamma(double n) { return n * NN_U / (1.0 - n * NN_U); }

/* |got[i] − ref[i]| ≤ bound[i] for every i; reports the worst |diff| / bound. */
static inline void nn_check_bound(const char *name, const float *got, const float *ref, const double *bound, size_t n)
{
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]), r = d / (bound[i] > 0 ? bound[i] : 1e-300);
        if (r > worst) worst = r;
        if (d > bound[i] && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: %.9g vs %.9g, |diff| %.3g > bound %.3g\n", name, i, (double)got[i],
                    (double)ref[i], d, bound[i]);
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu values outside their rounding bound (worst %.3g of the bound)", name, bad, n,
              worst);
    if (getenv("SCARP_TEST_VERBOSE")) fprintf(stderr, "  %-14s worst |diff| = %.3g of the bound\n", name, worst);
}

/* bound[i] = γ_n · absum[i] (+ u·|ref| for the rounding of a double result to float):
 * absum is the same linear map applied to the absolute values of its operands. */
static inline void nn_dot_bound(double *bound, const float *absum, const float *ref, size_t count, double terms, double k)
{
    for (size_t i = 0; i < count; i++) bound[i] = k * nn_gamma(terms) * absum[i] + NN_U * fabs((double)ref[i]);
}

static inline void nn_abs(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = fabsf(src[i]);
}

#endif
