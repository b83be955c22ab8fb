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

static void nn_fill_uniform(float *x, size_t n, float lo, float hi, scarp_rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)scarp_rng_uniform(r);
}

static double nn_central(float *x, size_t i, float eps, nn_loss_fn f, void *ctx)
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
static void nn_gradcheck(const char *name, float *x, const float *g, size_t n, size_t nsample, nn_loss_fn f,
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

static double nn_max_rel_diff(const float *a, const float *b, size_t n, double floor_)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]) / (fabs((double)b[i]) + floor_);
        if (d > worst) worst = d;
    }
    return worst;
}
#endif
