/* test_terrain_distance.c — the Felzenszwalb–Huttenlocher distance transform equals brute
 * force (min over all feature cells) on random masks: square, anisotropic (dx != dy) and
 * geographic-like cells (dx and dy varying per row); 1 thread == N threads; empty mask. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/terrain.h"

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

/* Brute force with the documented metric: d² = (y_r − y_r')² + (dx_r · (c − c'))², y the
 * northing of row centres (cumulative dy), dx_r the target row's dx. */
static double brute(const uint8_t *m, int64_t w, int64_t h, const scarp_cellsize *cs, const double *ypos, int64_t r,
                    int64_t c)
{
    double best = INFINITY;
    for (int64_t rr = 0; rr < h; rr++)
        for (int64_t cc = 0; cc < w; cc++)
            if (m[rr * w + cc]) {
                double dy = ypos[r] - ypos[rr], dx = cs->dx_row[r] * (double)(c - cc);
                double d2 = dx * dx + dy * dy;
                if (d2 < best) best = d2;
            }
    return sqrt(best);
}

static void check_case(int64_t w, int64_t h, scarp_cellsize *cs, int density_permille, uint64_t seed)
{
    uint8_t *m = scarp_calloc((size_t)(w * h), 1);
    float *d = scarp_malloc((size_t)(w * h) * sizeof(float));
    double *ypos = scarp_malloc((size_t)h * sizeof(double));
    uint64_t x = seed;
    int64_t nf = 0;
    for (int64_t i = 0; i < w * h; i++) {
        m[i] = (lcg(&x) % 1000) < (uint64_t)density_permille;
        nf += m[i];
    }
    if (!nf) m[(w * h) / 3] = 1;
    ypos[0] = 0;
    for (int64_t r = 1; r < h; r++) ypos[r] = ypos[r - 1] + 0.5 * (cs->dy_row[r - 1] + cs->dy_row[r]);
    CHECK_OK(scarp_distance_transform(m, w, h, cs, d, NULL));
    double worst = 0;
    int zero_ok = 1;
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) {
            double b = brute(m, w, h, cs, ypos, r, c);
            worst = fmax(worst, fabs(d[r * w + c] - b) / (1.0 + b));
            if (m[r * w + c] && d[r * w + c] != 0.0f) zero_ok = 0;
        }
    CHECK_MSG(worst < 1e-6, "%lldx%lld density %d/1000: max relative error %g", (long long)w, (long long)h,
              density_permille, worst);
    CHECK(zero_ok);
    scarp_free(m);
    scarp_free(d);
    scarp_free(ypos);
}

static void test_square_cells(void)
{
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, 37, 30.0, 30.0));
    check_case(53, 37, &cs, 5, 1);
    check_case(53, 37, &cs, 100, 2);
    check_case(53, 37, &cs, 0, 3); /* a single feature cell */
    scarp_cellsize_free(&cs);
}

static void test_anisotropic_cells(void)
{
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, 41, 30.0, 12.5));
    check_case(29, 41, &cs, 10, 4);
    check_case(29, 41, &cs, 300, 5);
    scarp_cellsize_free(&cs);
}

static void test_geographic_cells(void)
{
    /* rows of a 3-arc-second grid from 60°N to the south: dx shrinks northward */
    const int64_t h = 33;
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 1.0, 1.0));
    for (int64_t r = 0; r < h; r++) {
        double lat = (60.0 - r * 0.5) * M_PI / 180.0;
        cs.dx_row[r] = 92.6 * cos(lat);
        cs.dy_row[r] = 92.6 + 0.01 * r;
    }
    check_case(47, h, &cs, 8, 6);
    scarp_cellsize_free(&cs);
}

static void test_threads_and_empty(void)
{
    const int64_t w = 700, h = 300;
    uint8_t *m = scarp_calloc((size_t)(w * h), 1);
    float *d1 = scarp_malloc(w * h * 4), *d2 = scarp_malloc(w * h * 4);
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 30.0, 25.0));
    CHECK_FAILS(scarp_distance_transform(m, w, h, &cs, d1, NULL), SCARP_ERR_INPUT);
    CHECK(isnan(d1[0]) && isnan(d1[w * h - 1]));
    uint64_t x = 9;
    for (int64_t i = 0; i < w * h; i++) m[i] = lcg(&x) % 5000 == 0;
    omp_set_num_threads(1);
    CHECK_OK(scarp_distance_transform(m, w, h, &cs, d1, NULL));
    omp_set_num_threads(3);
    CHECK_OK(scarp_distance_transform(m, w, h, &cs, d2, NULL));
    CHECK(memcmp(d1, d2, w * h * 4) == 0);
    scarp_cellsize_free(&cs);
    scarp_free(m);
    scarp_free(d1);
    scarp_free(d2);
}

int main(void)
{
    RUN(test_square_cells);
    RUN(test_anisotropic_cells);
    RUN(test_geographic_cells);
    RUN(test_threads_and_empty);
    return check_summary();
}
