/* test_terrain_hydro.c — depression filling and flow accumulation against closed forms and
 * brute force: a tilted plane and a V-shaped valley (D8 and MFD), pits and flats that fill
 * and drain (every cell reaches the edge), priority-flood equal to the spill-elevation fixed
 * point computed by brute-force relaxation, TWI/SPI/rivers/NDVI pointwise, 1 == N threads. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/terrain.h"

static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};

static float *alloc_f(int64_t n) { return scarp_malloc((size_t)n * sizeof(float)); }

static void test_d8_tilted_plane(void)
{
    const int64_t w = 13, h = 11;
    const double dx = 30.0, dy = 20.0;
    float *z = alloc_f(w * h), *acc = alloc_f(w * h);
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) z[r * w + c] = (float)(h - r) * 2.0f + 0.01f * c; /* south, slightly west */
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dy));
    CHECK_OK(scarp_flow_accumulation_d8(z, w, h, &cs, acc, NULL));
    /* every cell flows S (drop/distance 0.1 beats 0.056 to SW); the last row, with no S
     * neighbour, flows W along the 0.01 tilt and collects whole columns */
    int bad = 0;
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) {
            double expect = r < h - 1 ? (double)(r + 1) : (double)(h * (w - c));
            if (fabs(acc[r * w + c] / (dx * dy) - expect) > 1e-4) bad++;
        }
    CHECK_EQ_INT(bad, 0);
    CHECK_NEAR(acc[(h - 1) * w], h * w * dx * dy, 1e-2);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(acc);
}

static void test_mfd_tilted_plane(void)
{
    const int64_t w = 41, h = 15;
    const double dx = 10.0, dy = 10.0, cell = dx * dy;
    float *z = alloc_f(w * h), *acc = alloc_f(w * h);
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) z[r * w + c] = (float)(h - r);
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dy));
    CHECK_OK(scarp_flow_accumulation_mfd(z, w, h, &cs, 1.1, acc, NULL));
    double worst_row = 0, worst_cell = 0;
    for (int64_t r = 0; r < h; r++) {
        double sum = 0;
        for (int64_t c = 0; c < w; c++) {
            sum += acc[r * w + c];
            /* cells the side edges cannot have influenced yet carry exactly r + 1 cells */
            if (r < c && r < w - 1 - c) worst_cell = fmax(worst_cell, fabs(acc[r * w + c] / cell - (r + 1)));
        }
        /* no flow leaves through the sides: each row carries (r + 1) rows of area */
        worst_row = fmax(worst_row, fabs(sum / (cell * w * (r + 1)) - 1.0));
    }
    CHECK_MSG(worst_cell < 1e-4, "MFD plane interior: max |acc - (r+1)| = %g cells", worst_cell);
    CHECK_MSG(worst_row < 1e-5, "MFD plane: max relative error of row sums %g", worst_row);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(acc);
}

/* z = sx·|c − c0| + sy·(h − r): side slopes sx toward the axis column c0, gentle fall sy down it */
static float *v_valley(int64_t w, int64_t h, int64_t c0, double sx, double sy)
{
    float *z = alloc_f(w * h);
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) z[r * w + c] = (float)(sx * llabs(c - c0) + sy * (h - r));
    return z;
}

static void test_v_valley(void)
{
    const int64_t w = 21, h = 30, c0 = 10;
    const double d = 25.0, cell = d * d;
    float *z = v_valley(w, h, c0, 1.0, 0.1), *acc = alloc_f(w * h);
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, d, d));
    /* D8: side cells flow straight to the axis (W/E beats the diagonal when sy < 0.414 sx),
     * the axis carries whole rows: acc = (w − c) or (c + 1) on the sides, (r + 1)·w on the axis */
    CHECK_OK(scarp_flow_accumulation_d8(z, w, h, &cs, acc, NULL));
    int bad = 0;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            double expect = c > c0 ? (double)(w - c) : c < c0 ? (double)(c + 1) : (double)((r + 1) * w);
            if (fabs(acc[r * w + c] / cell - expect) > 1e-4) {
                if (bad++ < 5) fprintf(stderr, "  D8 valley (%lld,%lld): %g cells, expected %g\n", (long long)r,
                                       (long long)c, acc[r * w + c] / cell, expect);
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* MFD: all flow converges on the one outlet (the axis cell of the last row), the field is
     * mirror-symmetric about the axis and grows monotonically down the axis */
    CHECK_OK(scarp_flow_accumulation_mfd(z, w, h, &cs, 1.1, acc, NULL));
    CHECK_REL(acc[(h - 1) * w + c0], (double)w * h * cell, 1e-5, 0);
    double asym = 0;
    int monotone = 1;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t k = 1; k <= c0; k++) asym = fmax(asym, fabs(acc[r * w + c0 - k] - acc[r * w + c0 + k]));
        if (r > 0 && !(acc[r * w + c0] > acc[(r - 1) * w + c0])) monotone = 0;
    }
    CHECK_MSG(asym <= 1e-3 * cell, "MFD valley asymmetry %g m²", asym);
    CHECK(monotone);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(acc);
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* A rough DEM full of pits, with flat plateaus, flat-floored basins and NaN holes. */
static float *rough_dem(int64_t w, int64_t h, uint64_t seed)
{
    float *z = alloc_f(w * h);
    uint64_t x = seed;
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++)
            z[r * w + c] = (float)(lcg(&x) % 1000) * 0.01f + 0.05f * (float)(r + c);
    for (int64_t r = 10; r < 20; r++) /* a flat-floored basin */
        for (int64_t c = 12; c < 30; c++) z[r * w + c] = 0.5f;
    for (int64_t r = 30; r < 36; r++) /* a flat plateau */
        for (int64_t c = 5; c < 25; c++) z[r * w + c] = 40.0f;
    for (int64_t r = 22; r < 25; r++) /* a nodata hole: an internal outlet */
        for (int64_t c = 40; c < 44; c++) z[r * w + c] = NAN;
    return z;
}

/* Spill elevation by brute force: W = dem on seeds, +inf elsewhere, relax
 * W(c) = max(dem(c), min over neighbours W(n)) to the fixed point. */
static void fill_bruteforce(const float *dem, int64_t w, int64_t h, float *W)
{
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            if (isnan(dem[i])) {
                W[i] = NAN;
                continue;
            }
            int seed = r == 0 || c == 0 || r == h - 1 || c == w - 1;
            for (int k = 0; k < 8 && !seed; k++) seed = isnan(dem[(r + DR[k]) * w + c + DC[k]]);
            W[i] = seed ? dem[i] : INFINITY;
        }
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int64_t r = 1; r < h - 1; r++) {
            for (int64_t c = 1; c < w - 1; c++) {
                int64_t i = r * w + c;
                if (isnan(W[i])) continue;
                float m = INFINITY;
                for (int k = 0; k < 8; k++) {
                    float v = W[(r + DR[k]) * w + c + DC[k]];
                    if (!isnan(v) && v < m) m = v;
                }
                float nv = fmaxf(dem[i], m);
                if (nv < W[i]) {
                    W[i] = nv;
                    changed = 1;
                }
            }
        }
    }
}

static void test_fill_equals_bruteforce(void)
{
    const int64_t w = 60, h = 45;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        float *z = rough_dem(w, h, seed), *f = alloc_f(w * h), *bf = alloc_f(w * h);
        CHECK_OK(scarp_fill_depressions(z, w, h, 0, f, NULL));
        fill_bruteforce(z, w, h, bf);
        int bad = 0, raised = 0;
        for (int64_t i = 0; i < w * h; i++) {
            if (isnan(z[i])) {
                if (!isnan(f[i])) bad++;
                continue;
            }
            if (f[i] != bf[i]) bad++;
            raised += f[i] > z[i];
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(raised > 50); /* the DEM really had depressions */
        /* in place gives the same */
        CHECK_OK(scarp_fill_depressions(z, w, h, 0, z, NULL));
        CHECK(memcmp(z, f, w * h * sizeof(float)) == 0);
        scarp_free(z);
        scarp_free(f);
        scarp_free(bf);
    }
}

static int is_seed(const float *z, int64_t w, int64_t h, int64_t r, int64_t c)
{
    if (r == 0 || c == 0 || r == h - 1 || c == w - 1) return 1;
    for (int k = 0; k < 8; k++)
        if (isnan(z[(r + DR[k]) * w + c + DC[k]])) return 1;
    return 0;
}

static void test_fill_epsilon_drains(void)
{
    const int64_t w = 60, h = 45;
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 30.0, 30.0));
    float *z = rough_dem(w, h, 7), *f0 = alloc_f(w * h), *fe = alloc_f(w * h), *acc = alloc_f(w * h);
    CHECK_OK(scarp_fill_depressions(z, w, h, 0, f0, NULL));
    CHECK_OK(scarp_fill_depressions(z, w, h, 1, fe, NULL));
    int no_exit = 0, lowered = 0;
    double max_raise = 0, valid = 0;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            if (isnan(z[i])) continue;
            valid++;
            if (fe[i] < f0[i]) lowered++;
            max_raise = fmax(max_raise, fe[i] - f0[i]);
            if (is_seed(z, w, h, r, c)) continue;
            int lower = 0;
            for (int k = 0; k < 8; k++) lower |= fe[(r + DR[k]) * w + c + DC[k]] < fe[i];
            if (!lower) no_exit++;
        }
    }
    CHECK_EQ_INT(no_exit, 0); /* every non-seed cell has a strictly lower neighbour */
    CHECK_EQ_INT(lowered, 0);
    CHECK_MSG(max_raise < 1e-3, "epsilon raised a cell by %g above its spill level", max_raise);
    /* all water reaches an outlet on the edge or next to the hole: outlets carry the whole area */
    for (int mfd = 0; mfd < 2; mfd++) {
        if (mfd) CHECK_OK(scarp_flow_accumulation_mfd(fe, w, h, &cs, 0, acc, NULL));
        else CHECK_OK(scarp_flow_accumulation_d8(fe, w, h, &cs, acc, NULL));
        double outflow = 0;
        int inland_outlets = 0;
        for (int64_t r = 0; r < h; r++) {
            for (int64_t c = 0; c < w; c++) {
                int64_t i = r * w + c;
                if (isnan(fe[i])) continue;
                int lower = 0;
                for (int k = 0; k < 8; k++) {
                    int64_t rr = r + DR[k], cc = c + DC[k];
                    if (rr >= 0 && rr < h && cc >= 0 && cc < w) lower |= fe[rr * w + cc] < fe[i];
                }
                if (!lower) {
                    outflow += acc[i];
                    if (!is_seed(z, w, h, r, c)) inland_outlets++;
                }
            }
        }
        CHECK_EQ_INT(inland_outlets, 0);
        CHECK_REL(outflow, valid * 900.0, 1e-5, 0);
    }
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(f0);
    scarp_free(fe);
    scarp_free(acc);
}

static void test_flow_threads_equal(void)
{
    const int64_t w = 200, h = 150;
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 30.0, 30.0));
    float *z = rough_dem(w, h, 11), *a1 = alloc_f(w * h), *a2 = alloc_f(w * h);
    CHECK_OK(scarp_fill_depressions(z, w, h, 1, z, NULL));
    omp_set_num_threads(1);
    CHECK_OK(scarp_flow_accumulation_mfd(z, w, h, &cs, 1.1, a1, NULL));
    omp_set_num_threads(3);
    CHECK_OK(scarp_flow_accumulation_mfd(z, w, h, &cs, 1.1, a2, NULL));
    CHECK(memcmp(a1, a2, w * h * sizeof(float)) == 0);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(a1);
    scarp_free(a2);
}

static void test_indices_pointwise(void)
{
    const int64_t n = 6;
    float sca[6] = {100.0f, 100.0f, 5000.0f, NAN, 0.0f, 30.0f};
    float slope[6] = {10.0f, 0.0f, 45.0f, 5.0f, 20.0f, NAN};
    float twi[6], spi[6], riv[6];
    CHECK_OK(scarp_twi(sca, slope, n, 0, twi));
    CHECK_OK(scarp_spi_ln(sca, slope, n, 0, spi));
    CHECK_NEAR(twi[0], log(100.0 / tan(10.0 * M_PI / 180.0)), 1e-5);
    CHECK_NEAR(spi[0], log(100.0 * tan(10.0 * M_PI / 180.0)), 1e-5);
    CHECK_NEAR(twi[1], log(100.0 / 0.001), 1e-5); /* β = 0: SAGA's guard tan β >= 0.001 */
    CHECK_NEAR(spi[1], log(100.0 * 0.001), 1e-5);
    CHECK_NEAR(twi[2], log(5000.0), 1e-5);
    CHECK(isnan(twi[3]) && isnan(spi[3]) && isnan(twi[4]) && isnan(twi[5]));
    float acc[4] = {1e6f, 999999.0f, NAN, 5e6f};
    CHECK_OK(scarp_rivers_from_accumulation(acc, 4, 1e6, riv));
    CHECK(riv[0] == 1.0f && riv[1] == 0.0f && isnan(riv[2]) && riv[3] == 1.0f);
    CHECK_FAILS(scarp_rivers_from_accumulation(acc, 4, 0.0, riv), SCARP_ERR_USAGE);
    float red[4] = {0.1f, 0.3f, 0.0f, NAN}, nir[4] = {0.5f, 0.1f, 0.0f, 0.2f}, nd[4];
    CHECK_OK(scarp_ndvi(red, nir, 4, nd));
    CHECK_NEAR(nd[0], 0.4 / 0.6, 1e-6);
    CHECK_NEAR(nd[1], -0.2 / 0.4, 1e-6);
    CHECK(isnan(nd[2]) && isnan(nd[3]));
    /* SCA divides by the cell width sqrt(dx·dy) */
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, 1, 20.0, 45.0));
    float a2[2] = {900.0f, NAN}, s2[2];
    CHECK_OK(scarp_specific_catchment_area(a2, 2, 1, &cs, s2));
    CHECK_NEAR(s2[0], 900.0 / 30.0, 1e-4);
    CHECK(isnan(s2[1]));
    scarp_cellsize_free(&cs);
}

int main(void)
{
    RUN(test_d8_tilted_plane);
    RUN(test_mfd_tilted_plane);
    RUN(test_v_valley);
    RUN(test_fill_equals_bruteforce);
    RUN(test_fill_epsilon_drains);
    RUN(test_flow_threads_equal);
    RUN(test_indices_pointwise);
    return check_summary();
}
