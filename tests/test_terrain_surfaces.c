/* test_terrain_surfaces.c — slope, aspect and curvature against analytic surfaces:
 * planes (exact everywhere, edges included), cones (slope atan k, aspect away from the apex,
 * plan curvature −k/ρ, profile 0) and quadratic surfaces (Zevenbergen–Thorne curvature is
 * exact there), plus NaN handling and 1 thread == 2 threads. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/terrain.h"

static const double DEG = 57.29577951308232;

static double angle_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 360.0);
    return d > 180.0 ? 360.0 - d : d;
}

/* z(x, y) with x east and y north, sampled at cell centres x = c·dx, y = −r·dy. */
typedef double (*surface_fn)(double x, double y, const double *prm);

static float *sample(int64_t w, int64_t h, double dx, double dy, surface_fn f, const double *prm)
{
    float *z = scarp_malloc((size_t)(w * h) * sizeof(float));
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) z[r * w + c] = (float)f(c * dx, -r * dy, prm);
    return z;
}

static double plane(double x, double y, const double *p) { return p[0] * x + p[1] * y + p[2]; }

static void test_planes_exact(void)
{
    const int64_t w = 23, h = 17;
    /* (a, b) = dz/dx, dz/dy; includes pure north/east/south/west facing and flat */
    const double ab[][2] = {{0.1, 0.2}, {-0.3, 0.05}, {0.0, -0.5}, {0.5, 0.0}, {0.0, 0.5},
                            {-0.5, 0.0}, {1.2, -0.7}, {0.0, 0.0}};
    const double cells[][2] = {{30.0, 30.0}, {10.0, 25.0}};
    for (size_t ci = 0; ci < 2; ci++) {
        double dx = cells[ci][0], dy = cells[ci][1];
        scarp_cellsize cs;
        CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dy));
        for (size_t k = 0; k < sizeof ab / sizeof ab[0]; k++) {
            double prm[3] = {ab[k][0], ab[k][1], 100.0};
            float *z = sample(w, h, dx, dy, plane, prm);
            float *s = scarp_malloc(w * h * sizeof(float)), *a = scarp_malloc(w * h * sizeof(float));
            CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s, a));
            double g = hypot(prm[0], prm[1]);
            double slope = atan(g) * DEG;
            double aspect = g == 0.0 ? 0.0 : fmod(atan2(-prm[0], -prm[1]) * DEG + 360.0, 360.0);
            double max_ds = 0, max_da = 0;
            for (int64_t i = 0; i < w * h; i++) {
                max_ds = fmax(max_ds, fabs(s[i] - slope));
                max_da = fmax(max_da, angle_diff(a[i], aspect));
                if (!(a[i] >= 0.0f && a[i] < 360.0f)) max_da = 999;
            }
            CHECK_MSG(max_ds < 1e-3, "plane a=%g b=%g dx=%g dy=%g: max slope error %g deg", prm[0], prm[1], dx, dy,
                      max_ds);
            CHECK_MSG(max_da < 1e-3, "plane a=%g b=%g dx=%g dy=%g: max aspect error %g deg", prm[0], prm[1], dx, dy,
                      max_da);
            scarp_free(z);
            scarp_free(s);
            scarp_free(a);
        }
        scarp_cellsize_free(&cs);
    }
}

static double cone(double x, double y, const double *p) { return -p[0] * hypot(x - p[1], y - p[2]) + 500.0; }

static void test_cone(void)
{
    const int64_t w = 81, h = 81;
    const double dx = 10.0, k = 0.4;
    double prm[3] = {k, 40 * dx, -40 * dx};
    float *z = sample(w, h, dx, dx, cone, prm);
    float *s = scarp_malloc(w * h * sizeof(float)), *a = scarp_malloc(w * h * sizeof(float));
    float *pl = scarp_malloc(w * h * sizeof(float)), *pr = scarp_malloc(w * h * sizeof(float));
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dx));
    CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s, a));
    CHECK_OK(scarp_curvature(z, w, h, &cs, pl, pr));
    double max_ds = 0, max_da = 0, max_dpl = 0, max_dpr = 0;
    for (int64_t r = 1; r < h - 1; r++) {
        for (int64_t c = 1; c < w - 1; c++) {
            double x = c * dx - prm[1], y = -r * dx - prm[2], rho = hypot(x, y);
            if (rho < 8 * dx) continue; /* the apex is not differentiable */
            int64_t i = r * w + c;
            max_ds = fmax(max_ds, fabs(s[i] - atan(k) * DEG));
            max_da = fmax(max_da, angle_diff(a[i], fmod(atan2(x, y) * DEG + 360.0, 360.0)));
            /* relative to the analytic plan curvature −k/ρ */
            max_dpl = fmax(max_dpl, fabs(pl[i] + k / rho) / (k / rho));
            max_dpr = fmax(max_dpr, fabs(pr[i]) / (k / rho));
        }
    }
    fprintf(stderr, "  cone: max |slope err| %.3g deg, aspect %.3g deg, plan rel %.3g, profile rel %.3g\n", max_ds,
            max_da, max_dpl, max_dpr);
    CHECK_MSG(max_ds < 0.1, "cone slope max error %g deg", max_ds);
    CHECK_MSG(max_da < 0.1, "cone aspect max error %g deg", max_da);
    CHECK_MSG(max_dpl < 0.01, "cone plan curvature max relative error %g", max_dpl);
    CHECK_MSG(max_dpr < 0.01, "cone profile curvature max |error| / (k/rho) %g", max_dpr);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(s);
    scarp_free(a);
    scarp_free(pl);
    scarp_free(pr);
}

/* z = A x² + B y² + C x y + D x + E y (+ offset) */
static double quadric(double x, double y, const double *p)
{
    return p[0] * x * x + p[1] * y * y + p[2] * x * y + p[3] * x + p[4] * y + 50.0;
}

static void test_quadric_curvature(void)
{
    const int64_t w = 41, h = 37;
    const double prms[][5] = {{0.001, 0.001, 0.0, 0.05, 0.02},    /* bowl */
                              {-0.002, -0.001, 0.0, 0.03, -0.04}, /* dome */
                              {0.0015, -0.001, 0.0007, -0.1, 0.08}, /* saddle with twist */
                              {0.0, 0.003, 0.0, -0.2, 0.0}};      /* valley along x */
    const double dx = 12.0, dy = 9.0;
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, dx, dy));
    float *pl = scarp_malloc(w * h * sizeof(float)), *pr = scarp_malloc(w * h * sizeof(float));
    for (size_t k = 0; k < sizeof prms / sizeof prms[0]; k++) {
        const double *p = prms[k];
        /* centre the surface so that coordinates stay small (float DEM) */
        float *z = scarp_malloc(w * h * sizeof(float));
        for (int64_t r = 0; r < h; r++)
            for (int64_t c = 0; c < w; c++) z[r * w + c] = (float)quadric((c - 20) * dx, -(r - 18) * dy, p);
        CHECK_OK(scarp_curvature(z, w, h, &cs, pl, pr));
        double worst = 0;
        for (int64_t r = 1; r < h - 1; r++) {
            for (int64_t c = 1; c < w - 1; c++) {
                double x = (c - 20) * dx, y = -(r - 18) * dy;
                double zx = 2 * p[0] * x + p[2] * y + p[3], zy = 2 * p[1] * y + p[2] * x + p[4];
                double rxx = 2 * p[0], tyy = 2 * p[1], sxy = p[2], g2 = zx * zx + zy * zy;
                if (g2 < 1e-4) continue;
                double plan = (rxx * zy * zy - 2 * sxy * zx * zy + tyy * zx * zx) / g2;
                double prof = -(rxx * zx * zx + 2 * sxy * zx * zy + tyy * zy * zy) / g2;
                int64_t i = r * w + c;
                double e1 = fabs(pl[i] - plan), e2 = fabs(pr[i] - prof);
                if (e1 > worst) worst = e1;
                if (e2 > worst) worst = e2;
            }
        }
        fprintf(stderr, "  quadric %zu: max curvature error %.3g 1/m\n", k, worst);
        CHECK_MSG(worst < 2e-6, "quadric %zu: max curvature error %g 1/m", k, worst);
        scarp_free(z);
    }
    /* the valley along x: plan curvature = 2B > 0 (convergent), profile 0 */
    scarp_cellsize_free(&cs);
    scarp_free(pl);
    scarp_free(pr);
}

static void test_nodata_and_edges(void)
{
    const int64_t w = 9, h = 7;
    double prm[3] = {0.2, -0.1, 10.0};
    float *z = sample(w, h, 5.0, 5.0, plane, prm);
    z[3 * w + 4] = NAN; /* a hole in the middle */
    z[0] = NAN;         /* and on a corner */
    float s[63], a[63], pl[63], pr[63];
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 5.0, 5.0));
    CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s, a));
    CHECK_OK(scarp_curvature(z, w, h, &cs, pl, pr));
    CHECK(isnan(s[3 * w + 4]) && isnan(a[3 * w + 4]) && isnan(pl[3 * w + 4]) && isnan(pr[0]));
    int finite = 0;
    for (int64_t i = 0; i < w * h; i++) finite += !isnan(s[i]) && !isnan(a[i]) && !isnan(pl[i]) && !isnan(pr[i]);
    CHECK_EQ_INT(finite, w * h - 2);
    /* far from the holes the plane is exact */
    CHECK_NEAR(s[6 * w + 8], atan(hypot(0.2, 0.1)) * DEG, 1e-3);
    /* a 1-row DEM still works (centre substitution) and a NULL output is allowed */
    float row[5] = {1, 2, 3, 4, 5}, srow[5];
    scarp_cellsize cs1;
    CHECK_OK(scarp_cellsize_uniform(&cs1, 1, 1.0, 1.0));
    CHECK_OK(scarp_slope_aspect(row, 5, 1, &cs1, srow, NULL));
    CHECK(srow[2] > 0.0f && !isnan(srow[0]));
    scarp_cellsize_free(&cs1);
    scarp_cellsize_free(&cs);
    scarp_free(z);
}

static void test_threads_equal(void)
{
    const int64_t w = 301, h = 203;
    float *z = scarp_malloc(w * h * sizeof(float));
    uint64_t x = 12345;
    for (int64_t i = 0; i < w * h; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        z[i] = (float)((x >> 40) % 1000) * 0.01f + (float)(i / w) * 0.3f;
    }
    z[77] = NAN;
    scarp_cellsize cs;
    CHECK_OK(scarp_cellsize_uniform(&cs, h, 30.0, 30.0));
    float *s1 = scarp_malloc(w * h * 4), *s2 = scarp_malloc(w * h * 4), *c1 = scarp_malloc(w * h * 4),
          *c2 = scarp_malloc(w * h * 4);
    omp_set_num_threads(1);
    CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s1, NULL));
    CHECK_OK(scarp_curvature(z, w, h, &cs, c1, NULL));
    omp_set_num_threads(3);
    CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s2, NULL));
    CHECK_OK(scarp_curvature(z, w, h, &cs, c2, NULL));
    CHECK(memcmp(s1, s2, w * h * 4) == 0);
    CHECK(memcmp(c1, c2, w * h * 4) == 0);
    scarp_cellsize_free(&cs);
    scarp_free(z);
    scarp_free(s1);
    scarp_free(s2);
    scarp_free(c1);
    scarp_free(c2);
}

int main(void)
{
    RUN(test_planes_exact);
    RUN(test_cone);
    RUN(test_quadric_curvature);
    RUN(test_nodata_and_edges);
    RUN(test_threads_equal);
    return check_summary();
}
