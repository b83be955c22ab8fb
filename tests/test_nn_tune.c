/* test_nn_tune.c — the pieces of network fitting for small inventories (issue 14):
 * the did-not-learn rule on a constant-output network, the MLP's z-score folded into its
 * first layer, and dihedral patch augmentation with aspect (sin, cos) channels checked
 * against the terrain code's aspect of an analytic DEM and of the same DEM rotated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "report/nn_fit.h"
#include "scarp/dataset.h"
#include "scarp/grid.h"
#include "scarp/nn.h"
#include "scarp/rng.h"
#include "scarp/terrain.h"

static scarp_model_spec mlp_spec(int F)
{
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_MLP);
    s.F = F;
    return s;
}

/* A network whose output kernel is zero outputs sigmoid(bias) for every row: the rule
 * must call it constant whatever the best epoch; a network that varies must pass unless
 * its best epoch is the first. */
static void test_did_not_learn_constant_fixture(void)
{
    const int F = 5, n = 64;
    scarp_model_spec s = mlp_spec(F);
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 7));
    float *x = malloc(sizeof(float) * n * F), p[64];
    scarp_rng r;
    scarp_rng_seed(&r, 3);
    for (int i = 0; i < n * F; i++) x[i] = (float)scarp_rng_uniform(&r);
    CHECK_OK(scarp_model_predict(&m, NULL, NULL, x, n, p));
    double sd;
    char why[96];
    const int K = scarp__nn_fan_in(&s);
    CHECK_EQ_INT(K, 128);
    CHECK_EQ_INT(scarp__nn_did_not_learn(p, n, 5, K, &sd, why, sizeof why), 0);
    CHECK_MSG(sd > 1e-3, "a random network varies: sd %g", sd);
    CHECK_EQ_INT(scarp__nn_did_not_learn(p, n, 0, K, &sd, why, sizeof why), 1); /* best epoch first */
    CHECK(strstr(why, "first") != NULL);
    memset(m.p.dense_w[2], 0, sizeof(float) * s.dense[1]);
    m.p.dense_b[2][0] = 0.3f;
    CHECK_OK(scarp_model_predict(&m, NULL, NULL, x, n, p));
    CHECK_EQ_INT(scarp__nn_did_not_learn(p, n, 5, K, &sd, why, sizeof why), 1);
    CHECK_NEAR(sd, 0.0, 0.0);
    CHECK(strstr(why, "constant") != NULL);
    /* variation of one float32 ulp around 0.5 (2^-24 .. 2^-23) is below the bound K·2^-24 */
    for (int i = 0; i < n; i++) p[i] = (float)(0.5 + (i % 2) * ldexp(1.0, -23));
    CHECK_EQ_INT(scarp__nn_did_not_learn(p, n, 5, K, &sd, why, sizeof why), 1);
    free(x);
    scarp_model_free(&m);
}

/* (x − mu)/sd through the trained layer == x through the folded layer. */
static void test_fold_standardization(void)
{
    const int F = 6, n = 50;
    scarp_model_spec s = mlp_spec(F);
    scarp_model a, b;
    CHECK_OK(scarp_model_init(&a, &s, 11));
    CHECK_OK(scarp_model_copy(&b, &a));
    double mu[6] = {0.5, 0.2, 0.66, 0.1, 0.9, 0.3}, sd[6] = {0.3, 0.05, 0.0025, 0.2, 0.01, 1.0};
    float *x = malloc(sizeof(float) * n * F), *z = malloc(sizeof(float) * n * F), pa[50], pb[50];
    scarp_rng r;
    scarp_rng_seed(&r, 5);
    for (int i = 0; i < n; i++)
        for (int f = 0; f < F; f++) {
            x[i * F + f] = (float)(mu[f] + sd[f] * (2 * scarp_rng_uniform(&r) - 1) * 2);
            z[i * F + f] = (float)((x[i * F + f] - mu[f]) / sd[f]);
        }
    scarp__nn_fold_standardization(&b, mu, sd);
    CHECK_OK(scarp_model_predict(&a, NULL, NULL, z, n, pa));
    CHECK_OK(scarp_model_predict(&b, NULL, NULL, x, n, pb));
    /* float32: W/sd and the shift Σ mu·W/sd are rounded (2^-24 relative each); with
     * |mu/sd| ≤ 264 here and |W| ≤ 0.21 over 6 inputs the first-layer pre-activations move
     * by ≤ 6·264·0.21·2^-23 ≈ 4e-5, and the head (gain ≤ 1 per unit on ≤ 128 units,
     * sigmoid slope ≤ 1/4) keeps the probability within 1e-3. */
    double worst = 0;
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs((double)pa[i] - pb[i]));
    CHECK_NEAR(worst, 0.0, 1e-3);
    fprintf(stderr, "  folded z-score: max |dp| = %.3g\n", worst);
    free(x);
    free(z);
    scarp_model_free(&a);
    scarp_model_free(&b);
}

/* np.rot90 (counter-clockwise as seen with row 0 north): out[i][j] = in[j][S-1-i]. */
static void rot90_ccw(const float *in, float *out, int S)
{
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) out[i * S + j] = in[j * S + (S - 1 - i)];
}

/* Sin/cos identities: a quarter turn CCW maps aspect A to A + 270° (mod 360, clockwise
 * azimuth), i.e. sin' = −cos, cos' = sin, at the rotated cell; the mirror maps A to 360 − A. */
static void test_dihedral_identities(void)
{
    const int S = 7, C = 3;
    float src[3 * 49], dst[3 * 49];
    const int circ[2] = {1, 2};
    for (int i = 0; i < 49; i++) {
        const double A = (i * 37 % 360) * M_PI / 180;
        src[i] = (float)i;
        src[49 + i] = (float)sin(A);
        src[98 + i] = (float)cos(A);
    }
    scarp_patch_dihedral(src, dst, C, S, 1, circ, 1);
    float want[49];
    rot90_ccw(src, want, S);
    int bad = 0;
    for (int i = 0; i < 49; i++) bad += dst[i] != want[i];
    CHECK_EQ_INT(bad, 0);
    float rs[49], rc[49];
    rot90_ccw(src + 49, rs, S);
    rot90_ccw(src + 98, rc, S);
    for (int i = 0; i < 49; i++) {
        CHECK_NEAR(dst[49 + i], -rc[i], 0.0);
        CHECK_NEAR(dst[98 + i], rs[i], 0.0);
    }
    /* t = 0 is the identity; the 8 elements are distinct; t = 4 mirrors west–east */
    scarp_patch_dihedral(src, dst, C, S, 0, circ, 1);
    CHECK(memcmp(src, dst, sizeof src) == 0);
    scarp_patch_dihedral(src, dst, C, S, 4, circ, 1);
    CHECK_NEAR(dst[0], src[S - 1], 0.0);
    CHECK_NEAR(dst[49 + 0], -src[49 + S - 1], 0.0);
    CHECK_NEAR(dst[98 + 0], src[98 + S - 1], 0.0);
    float seen[8];
    for (int t = 0; t < 8; t++) {
        scarp_patch_dihedral(src, dst, C, S, t, circ, 1);
        seen[t] = dst[1] * 1000 + dst[S];
        for (int u = 0; u < t; u++) CHECK_MSG(seen[u] != seen[t], "elements %d and %d coincide", u, t);
    }
}

/* The aspect the terrain code computes on a DEM rotated by 90° CCW equals the augmented
 * (rotated, sin/cos-transformed) channels of the original DEM's aspect. Analytic DEM: a
 * tilted plane plus smooth bumps, no flat cell, equal dx = dy. */
static void test_dihedral_matches_rotated_dem(void)
{
    const int S = 33;
    float *dem = malloc(sizeof(float) * S * S), *rdem = malloc(sizeof(float) * S * S);
    float *asp = malloc(sizeof(float) * S * S), *rasp = malloc(sizeof(float) * S * S);
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++)
            dem[r * S + c] = (float)(1000 + 3.0 * c - 1.7 * r + 25 * sin(c * 0.31) * cos(r * 0.23) + 0.05 * c * r);
    for (int t = 1; t < 8; t++) {
        /* the rotated DEM: the same transform applied to the elevation channel */
        scarp_patch_dihedral(dem, rdem, 1, S, t, NULL, 0);
        scarp_cellsize cs;
        CHECK_OK(scarp_cellsize_uniform(&cs, S, 30.0, 30.0));
        CHECK_OK(scarp_slope_aspect(dem, S, S, &cs, NULL, asp));
        CHECK_OK(scarp_slope_aspect(rdem, S, S, &cs, NULL, rasp));
        scarp_cellsize_free(&cs);
        float *ch = malloc(sizeof(float) * 2 * S * S), *aug = malloc(sizeof(float) * 2 * S * S);
        for (int i = 0; i < S * S; i++) {
            ch[i] = (float)sin(asp[i] * M_PI / 180);
            ch[S * S + i] = (float)cos(asp[i] * M_PI / 180);
        }
        const int circ[2] = {0, 1};
        scarp_patch_dihedral(ch, aug, 2, S, t, circ, 1);
        /* interior only (the edge stencil differs); aspect is float degrees: 360·2^-24 ≈
         * 2e-5° ≈ 4e-7 rad of rounding per value, plus float32 sin/cos: 2e-6 covers both */
        double worst = 0;
        for (int r = 1; r < S - 1; r++)
            for (int c = 1; c < S - 1; c++) {
                const int i = r * S + c;
                const double ws = sin(rasp[i] * M_PI / 180), wc = cos(rasp[i] * M_PI / 180);
                worst = fmax(worst, fmax(fabs(aug[i] - ws), fabs(aug[S * S + i] - wc)));
            }
        CHECK_MSG(worst <= 2e-6, "transform %d: max |aspect channel - aspect of the rotated DEM| = %g", t, worst);
        free(ch);
        free(aug);
    }
    free(dem);
    free(rdem);
    free(asp);
    free(rasp);
}

int main(void)
{
    RUN(test_did_not_learn_constant_fixture);
    RUN(test_fold_standardization);
    RUN(test_dihedral_identities);
    RUN(test_dihedral_matches_rotated_dem);
    return check_summary();
}
