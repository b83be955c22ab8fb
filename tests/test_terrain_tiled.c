/* test_terrain_tiled.c — the tiled chain (terrain_tiled.h) equals the in-memory one
 * (terrain.h), as GRASS's test_equal_ram_seg_output: depression filling byte for byte
 * (epsilon 0 and 1, on flats and integer heights too; F0 <= filled with a strictly descending
 * path from every cell), D8 and MFD flow accumulation within
 * the derived float tolerance, TWI and ln SPI likewise; on synthetic DEMs whose depressions
 * and nodata holes cross tiles of odd sizes (17, 23) and on the real DEMs of ../shared/data;
 * the distance transform by strips byte for byte. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/grid.h"
#include "scarp/raster.h"
#include "scarp/terrain.h"
#include "scarp/terrain_tiled.h"

static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};

static float *alloc_f(int64_t n) { return scarp_malloc((size_t)n * sizeof(float)); }

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}
static double unif(uint64_t *s) { return (double)lcg(s) / 2147483648.0; }

/* A rough valley with many closed bowls (depressions across tile borders) and optional NaN
 * holes: rectangles, single cells and a strip along a tile border. */
static float *synthetic_dem(int64_t w, int64_t h, uint64_t seed, int holes)
{
    float *z = alloc_f(w * h);
    uint64_t s = seed;
    double bx[40], by[40], br[40], bd[40];
    for (int b = 0; b < 40; b++) {
        bx[b] = unif(&s) * w, by[b] = unif(&s) * h, br[b] = 2 + unif(&s) * 9, bd[b] = 1 + unif(&s) * 6;
    }
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) {
            double v = 200.0 + 0.08 * r + 0.03 * fabs((double)c - w / 2.0) + 2.5 * sin(c / 6.3) * cos(r / 4.1) +
                       0.7 * unif(&s);
            for (int b = 0; b < 40; b++) {
                double d2 = ((c - bx[b]) * (c - bx[b]) + (r - by[b]) * (r - by[b])) / (br[b] * br[b]);
                if (d2 < 1) v -= bd[b] * (1 - d2);
            }
            z[r * w + c] = (float)v;
        }
    if (holes) {
        for (int k = 0; k < 6; k++) {
            int64_t r0 = (int64_t)(unif(&s) * (h - 6)), c0 = (int64_t)(unif(&s) * (w - 8));
            for (int64_t r = r0; r < r0 + 1 + k; r++)
                for (int64_t c = c0; c < c0 + 2 + k; c++) z[r * w + c] = NAN;
        }
        for (int k = 0; k < 60; k++) z[(int64_t)(unif(&s) * h) * w + (int64_t)(unif(&s) * w)] = NAN;
        for (int64_t r = 5; r < h - 5; r++) z[r * w + 17] = NAN; /* along the border of 17-cell tiles */
        for (int64_t c = 30; c < w - 3; c++) z[23 * w + c] = NAN;
    }
    return z;
}

/* Flat plateaus and integer heights: ties everywhere (where a fill whose pops were not in
 * strict height order would depend on the queue's insertion order). */
static float *terraced_dem(int64_t w, int64_t h, uint64_t seed)
{
    float *z = synthetic_dem(w, h, seed, 0);
    for (int64_t i = 0; i < w * h; i++) z[i] = floorf(z[i]);
    return z;
}

static int64_t count_diff(const float *a, const float *b, int64_t n)
{
    int64_t d = 0;
    for (int64_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

static float *fill_tiled(const float *dem, int64_t w, int64_t h, int64_t tile, int eps, scarp_tiled_stats *stats)
{
    float *in = alloc_f(w * h), *out = alloc_f(w * h);
    memcpy(in, dem, (size_t)(w * h) * sizeof(float));
    scarp_memory_band mi = {in, w, h}, mo = {out, w, h};
    scarp_tile_band bi = scarp_tile_band_memory(&mi), bo = scarp_tile_band_memory(&mo);
    CHECK_OK(scarp_fill_depressions_tiled(&bi, &bo, w, h, tile, eps, stats, NULL));
    scarp_free(in);
    return out;
}

/* Every valid cell of g has a strictly descending path to a seed: following the lowest
 * neighbour from any non-seed cell always goes strictly down. */
static int64_t cells_without_descent(const float *g, int64_t w, int64_t h)
{
    int64_t bad = 0;
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) {
            float v = g[r * w + c];
            if (isnan(v)) continue;
            int seed = r == 0 || c == 0 || r == h - 1 || c == w - 1, lower = 0;
            for (int k = 0; k < 8; k++) {
                int64_t rr = r + DR[k], cc = c + DC[k];
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                float n = g[rr * w + cc];
                if (isnan(n)) seed = 1;
                else if (n < v) lower = 1;
            }
            bad += !seed && !lower;
        }
    return bad;
}

/* The tiled fill against scarp_fill_depressions, epsilon 0 and 1. */
static void compare_fill(const float *dem, int64_t w, int64_t h, int64_t tile, const char *what)
{
    const int64_t n = w * h;
    float *f0 = alloc_f(n), *f1 = alloc_f(n);
    CHECK_OK(scarp_fill_depressions(dem, w, h, 0, f0, NULL));
    CHECK_OK(scarp_fill_depressions(dem, w, h, 1, f1, NULL));
    scarp_tiled_stats st0, st1;
    float *g0 = fill_tiled(dem, w, h, tile, 0, &st0), *g1 = fill_tiled(dem, w, h, tile, 1, &st1);
    int64_t d0 = count_diff(f0, g0, n), d1 = count_diff(f1, g1, n), order = 0, lower = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(dem[i])) {
            order += !isnan(g1[i]);
            continue;
        }
        order += !(f0[i] <= g1[i]);
        lower += g1[i] < f1[i];
    }
    fprintf(stderr, "  %-28s %3lldx%-3lld tile %2lld: %lld tiles, eps0 %lld solves/%d sweeps, eps1 %lld/%d; "
            "eps0 diff %lld, eps1 diff %lld (tiled lower %lld)\n", what, (long long)w, (long long)h, (long long)tile,
            (long long)st1.tiles, (long long)st0.solves, st0.sweeps, (long long)st1.solves, st1.sweeps,
            (long long)d0, (long long)d1, (long long)lower);
    CHECK_EQ_INT(d0, 0);
    CHECK_EQ_INT(order, 0);
    CHECK_EQ_INT(cells_without_descent(g1, w, h), 0);
    CHECK_EQ_INT(cells_without_descent(f1, w, h), 0);
    CHECK_EQ_INT(d1, 0);
    scarp_free(f0), scarp_free(f1), scarp_free(g0), scarp_free(g1);
}

static void test_fill_synthetic(void)
{
    for (int holes = 0; holes <= 1; holes++) {
        float *z = synthetic_dem(97, 83, 7 + holes, holes);
        compare_fill(z, 97, 83, 17, holes ? "synthetic, nodata holes" : "synthetic");
        compare_fill(z, 97, 83, 23, holes ? "synthetic, nodata holes" : "synthetic");
        compare_fill(z, 97, 83, 200, "synthetic, one tile");
        compare_fill(z, 97, 83, 1, "synthetic, 1-cell tiles");
        scarp_free(z);
    }
}

static void test_fill_ties(void)
{
    float *z = terraced_dem(97, 83, 11);
    compare_fill(z, 97, 83, 17, "terraced (integer heights)");
    compare_fill(z, 97, 83, 23, "terraced (integer heights)");
    scarp_free(z);
}

/* L(c): the cells on the longest flow path ending in c (donors are strictly higher on an
 * epsilon-filled DEM, so descending height is a topological order). */
static int cmp_desc(const void *a, const void *b, void *z)
{
    float za = ((const float *)z)[*(const int64_t *)a], zb = ((const float *)z)[*(const int64_t *)b];
    return za > zb ? -1 : za < zb ? 1 : 0;
}
static const float *sort_z;
static int cmp_desc_global(const void *a, const void *b) { return cmp_desc(a, b, (void *)sort_z); }

static int *longest_paths(const float *z, int64_t w, int64_t h)
{
    int64_t n = w * h, *idx = scarp_malloc((size_t)n * sizeof(int64_t));
    int *L = scarp_calloc((size_t)n, sizeof(int));
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    sort_z = z;
    qsort(idx, (size_t)n, sizeof *idx, cmp_desc_global);
    for (int64_t q = 0; q < n; q++) {
        int64_t i = idx[q], r = i / w, c = i % w;
        if (isnan(z[i])) continue;
        for (int k = 0; k < 8; k++) {
            int64_t rr = r + DR[k], cc = c + DC[k];
            if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
            int64_t j = rr * w + cc;
            if (z[j] < z[i] && L[j] < L[i] + 1) L[j] = L[i] + 1; /* any lower neighbour may receive */
        }
    }
    scarp_free(idx);
    return L;
}

/* Worst |tiled - in memory| / (20 u (L+1) |in memory|) over the valid cells (<= 1 passes). */
static double acc_error_ratio(const float *m, const float *t, const int *L, int64_t n, int64_t *nan_mismatch,
                              int64_t *differ)
{
    double worst = 0;
    *nan_mismatch = *differ = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(m[i]) || isnan(t[i])) {
            *nan_mismatch += isnan(m[i]) != isnan(t[i]);
            continue;
        }
        *differ += m[i] != t[i];
        double tol = 20.0 * ldexp(1.0, -24) * (L[i] + 1) * fabs((double)m[i]);
        double e = fabs((double)t[i] - m[i]) / tol;
        if (e > worst) worst = e;
    }
    return worst;
}

/* Flow accumulation (both methods), SCA, TWI and ln SPI, tiled vs in memory, from the
 * in-memory epsilon fill of dem. */
static void compare_flow(const float *dem, int64_t w, int64_t h, int64_t tile, double dx, const char *what)
{
    const int64_t n = w * h;
    float *f = alloc_f(n), *am = alloc_f(n), *at = alloc_f(n), *slope = alloc_f(n);
    float *tm = alloc_f(n), *tt = alloc_f(n);
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dx * 0.8));
    CHECK_OK(scarp_fill_depressions(dem, w, h, 1, f, NULL));
    CHECK_OK(scarp_slope_aspect(f, w, h, &cs, slope, NULL));
    int *L = longest_paths(f, w, h);
    int maxL = 0;
    for (int64_t i = 0; i < n; i++) maxL = L[i] > maxL ? L[i] : maxL;
    for (int mfd = 0; mfd <= 1; mfd++) {
        if (mfd) CHECK_OK(scarp_flow_accumulation_mfd(f, w, h, &cs, SCARP_MFD_EXPONENT, am, NULL));
        else CHECK_OK(scarp_flow_accumulation_d8(f, w, h, &cs, am, NULL));
        scarp_memory_band mf = {f, w, h}, ma = {at, w, h};
        scarp_tile_band bf = scarp_tile_band_memory(&mf), ba = scarp_tile_band_memory(&ma);
        scarp_tiled_stats st;
        CHECK_OK(scarp_flow_accumulation_tiled(&bf, &ba, w, h, &cs, mfd, SCARP_MFD_EXPONENT, tile, &st, NULL));
        int64_t nan_mismatch, differ;
        double ratio = acc_error_ratio(am, at, L, n, &nan_mismatch, &differ);
        /* TWI and ln SPI: ln of a relative error e is an absolute error e (+ rounding) */
        CHECK_OK(scarp_specific_catchment_area(am, w, h, &cs, am));
        CHECK_OK(scarp_specific_catchment_area(at, w, h, &cs, at));
        double twi_err = 0, spi_err = 0, bound = 20.0 * ldexp(1.0, -24) * (maxL + 1) + 1e-6;
        CHECK_OK(scarp_twi(am, slope, n, 0, tm));
        CHECK_OK(scarp_twi(at, slope, n, 0, tt));
        for (int64_t i = 0; i < n; i++) {
            CHECK(isnan(tm[i]) == isnan(tt[i]));
            if (!isnan(tm[i])) twi_err = fmax(twi_err, fabs((double)tm[i] - tt[i]) / fmax(1.0, fabs(tm[i])));
        }
        CHECK_OK(scarp_spi_ln(am, slope, n, 0, tm));
        CHECK_OK(scarp_spi_ln(at, slope, n, 0, tt));
        for (int64_t i = 0; i < n; i++)
            if (!isnan(tm[i])) spi_err = fmax(spi_err, fabs((double)tm[i] - tt[i]) / fmax(1.0, fabs(tm[i])));
        fprintf(stderr, "  %-28s %s tile %3lld: %lld tiles %lld solves %d sweeps; %lld cells differ, "
                "worst error / bound %.3g (L max %d); TWI %.2g, ln SPI %.2g (bound %.2g)\n", what, mfd ? "MFD" : "D8 ",
                (long long)tile, (long long)st.tiles, (long long)st.solves, st.sweeps, (long long)differ, ratio, maxL,
                twi_err, spi_err, bound);
        CHECK_EQ_INT(nan_mismatch, 0);
        CHECK(ratio <= 1.0);
        CHECK(twi_err <= bound);
        CHECK(spi_err <= bound);
    }
    scarp_free(L);
    scarp_cellsize_free(&cs);
    scarp_free(f), scarp_free(am), scarp_free(at), scarp_free(slope), scarp_free(tm), scarp_free(tt);
}

static void test_flow_synthetic(void)
{
    for (int holes = 0; holes <= 1; holes++) {
        float *z = synthetic_dem(97, 83, 21 + holes, holes);
        compare_flow(z, 97, 83, 17, 30.0, holes ? "synthetic, nodata holes" : "synthetic");
        compare_flow(z, 97, 83, 23, 30.0, holes ? "synthetic, nodata holes" : "synthetic");
        scarp_free(z);
    }
    float *z = terraced_dem(97, 83, 5);
    compare_flow(z, 97, 83, 17, 25.0, "terraced (integer heights)");
    scarp_free(z);
}

/* The real DEMs of ../shared/data (integer heights, nodata, geographic grids: the flow uses
 * their true cell sizes). */
static void test_real_dems(void)
{
    static const char *files[] = {"dem/srtm_zion_3arcsec.tif", "dem/olinda_dem_utm25s.tif", "dem/terra_elev.tif",
                                  "dem/nz_elev_1km.tif"};
    char path[1024];
    snprintf(path, sizeof path, "%s/dem", SCARP_SHARED_DATA);
    FILE *probe = fopen(path, "r");
    if (!probe) SKIP("%s absent: the real-DEM comparison is not run", path);
    fclose(probe);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", SCARP_SHARED_DATA, files[k]);
        scarp_grid g;
        scarp_grid_init(&g);
        float *z = NULL;
        if (scarp_raster_read(path, 1, &g, &z) != SCARP_OK) {
            fprintf(stderr, "  %s: cannot read (%s), skipped\n", files[k], scarp_last_error());
            scarp_grid_free(&g);
            continue;
        }
        int64_t w = g.width, h = g.height;
        if (w * h > 400000) { /* keep the test fast: the top-left 600 × 600 */
            int64_t W = w < 600 ? w : 600, H = h < 600 ? h : 600;
            for (int64_t r = 0; r < H; r++) memmove(z + r * W, z + r * w, (size_t)W * sizeof(float));
            w = W, h = H;
        }
        compare_fill(z, w, h, 61, files[k]);
        compare_fill(z, w, h, 17, files[k]);
        compare_flow(z, w, h, 61, 30.0, files[k]);
        scarp_free(z);
        scarp_grid_free(&g);
    }
}

/* The distance transform by strips (any strip height) equals the whole-grid one byte for
 * byte, also with rows of different dx and dy (a geographic grid). */
static void test_distance_rows(void)
{
    const int64_t w = 131, h = 97, n = w * h;
    uint8_t *mask = scarp_calloc((size_t)n, 1);
    float *whole = alloc_f(n), *rowof = alloc_f(n), *strips = alloc_f(n);
    uint64_t s = 99;
    for (int k = 0; k < 40; k++) mask[(int64_t)(unif(&s) * n)] = 1;
    for (int64_t c = 10; c < 90; c++) mask[(40 + c / 3) * w + c] = 1; /* a "river" */
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 30.0, 30.0));
    for (int64_t r = 0; r < h; r++) cs.dx_row[r] = 25.0 + 0.1 * r, cs.dy_row[r] = 30.0 + 0.01 * r;
    CHECK_OK(scarp_distance_transform(mask, w, h, &cs, whole, NULL));
    static const int64_t heights[] = {1, 7, 17, 97, 200};
    for (size_t k = 0; k < sizeof heights / sizeof heights[0]; k++) {
        const int64_t S = heights[k];
        scarp_distance_rows d;
        CHECK_OK(scarp_distance_rows_init(&d, w, h, &cs));
        for (int64_t r0 = 0; r0 < h; r0 += S)
            scarp_distance_rows_down(&d, r0, r0 + S < h ? r0 + S : h, mask + r0 * w, rowof + r0 * w);
        for (int64_t q = (h + S - 1) / S - 1; q >= 0; q--) {
            int64_t r0 = q * S;
            scarp_distance_rows_up(&d, r0, r0 + S < h ? r0 + S : h, mask + r0 * w, rowof + r0 * w);
        }
        for (int64_t r0 = 0; r0 < h; r0 += S)
            scarp_distance_rows_finish(&d, r0, r0 + S < h ? r0 + S : h, rowof + r0 * w, strips + r0 * w);
        scarp_distance_rows_free(&d);
        int64_t diff = count_diff(whole, strips, n);
        fprintf(stderr, "  distance by strips of %3lld rows: %lld cells differ\n", (long long)S, (long long)diff);
        CHECK_EQ_INT(diff, 0);
    }
    scarp_cellsize_free(&cs);
    scarp_free(mask), scarp_free(whole), scarp_free(rowof), scarp_free(strips);
}

int main(void)
{
    RUN(test_fill_synthetic);
    RUN(test_fill_ties);
    RUN(test_flow_synthetic);
    RUN(test_real_dems);
    RUN(test_distance_rows);
    return check_summary();
}
