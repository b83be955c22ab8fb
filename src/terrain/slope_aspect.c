/* slope_aspect.c — slope and aspect with Horn's (1981) 3×3 weighted differences.
 * Horn, B.K.P. (1981) Hill shading and the reflectance map. Proc. IEEE 69(1):14-47,
 * doi:10.1109/PROC.1981.11918. Same stencil and conventions as gdaldem (GRASS r.slope.aspect
 * heritage); each stencil row uses its own metric dx, so geographic grids are exact per row. */
#include <math.h>

#include "scarp/terrain.h"
#include "stencil.h"

static const double RAD2DEG = 57.29577951308232;

/* Horn's gradient of a window: p = dz/dx (east), q = dz/dy (north). */
static inline void horn_gradient(const float z[9], double dxt, double dxm, double dxb, double dy_ns, double *p,
                                 double *q)
{
    if (dxt == dxm && dxb == dxm) /* one division, sums grouped as gdaldem: flats stay exactly flat */
        *p = (((double)z[2] + 2.0 * z[5] + z[8]) - ((double)z[0] + 2.0 * z[3] + z[6])) / (8.0 * dxm);
    else
        *p = (((double)z[2] - z[0]) / dxt + 2.0 * ((double)z[5] - z[3]) / dxm + ((double)z[8] - z[6]) / dxb) / 8.0;
    *q = (((double)z[0] + 2.0 * z[1] + z[2]) - ((double)z[6] + 2.0 * z[7] + z[8])) / (4.0 * dy_ns);
}

static inline void store(double p, double q, float *slope, float *aspect, int64_t i)
{
    if (slope) slope[i] = (float)(atan(sqrt(p * p + q * q)) * RAD2DEG);
    if (aspect) {
        if (p == 0.0 && q == 0.0) {
            aspect[i] = 0.0f; /* flat: 0, as gdaldem -zero_for_flat */
        } else {
            /* downslope direction (-p, -q) as an azimuth clockwise from north */
            double a = atan2(-p, -q) * RAD2DEG;
            if (a < 0.0) a += 360.0;
            float af = (float)a;
            aspect[i] = af >= 360.0f ? 0.0f : af;
        }
    }
}

scarp_status scarp_slope_aspect(const float *dem, int64_t width, int64_t height, const scarp_cellsize *cs,
                                float *slope_deg, float *aspect_deg)
{
    if (!dem || !cs || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_slope_aspect: empty DEM or missing cell size");
    if (!slope_deg && !aspect_deg) return SCARP_OK;
    const int64_t w = width, h = height;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        double dxt = cs->dx_row[r > 0 ? r - 1 : r], dxm = cs->dx_row[r], dxb = cs->dx_row[r < h - 1 ? r + 1 : r];
        double north, south;
        scarp__row_spacing(cs->dy_row, h, r, &north, &south);
        double dy_ns = north + south;
        const int uniform_dx = dxt == dxm && dxb == dxm;
        float z[9];
        int64_t c0 = 0, c1 = w;
        if (r > 0 && r < h - 1 && w > 2) {
            /* interior fast path: direct 3×3 reads, NaN neighbours fall back to the slow path */
            const float *up = dem + (r - 1) * w, *mid = dem + r * w, *dn = dem + (r + 1) * w;
            for (int64_t c = 1; c < w - 1; c++) {
                int64_t i = r * w + c;
                double p = uniform_dx
                               ? (((double)up[c + 1] + 2.0 * mid[c + 1] + dn[c + 1]) -
                                  ((double)up[c - 1] + 2.0 * mid[c - 1] + dn[c - 1])) / (8.0 * dxm)
                               : (((double)up[c + 1] - up[c - 1]) / dxt + 2.0 * ((double)mid[c + 1] - mid[c - 1]) / dxm +
                                  ((double)dn[c + 1] - dn[c - 1]) / dxb) / 8.0;
                double q = (((double)up[c - 1] + 2.0 * up[c] + up[c + 1]) - ((double)dn[c - 1] + 2.0 * dn[c] + dn[c + 1])) /
                           (4.0 * dy_ns);
                if (isnan(p) || isnan(q) || isnan(mid[c])) { /* Horn ignores the centre: check it */
                    if (!scarp__stencil_fill(dem, w, h, r, c, z)) {
                        if (slope_deg) slope_deg[i] = NAN;
                        if (aspect_deg) aspect_deg[i] = NAN;
                        continue;
                    }
                    horn_gradient(z, dxt, dxm, dxb, dy_ns, &p, &q);
                }
                store(p, q, slope_deg, aspect_deg, i);
            }
            /* only the two edge columns are left */
            c0 = 0;
            c1 = 1;
            for (int pass = 0; pass < 2; pass++) {
                for (int64_t c = c0; c < c1; c++) {
                    int64_t i = r * w + c;
                    double p, q;
                    if (!scarp__stencil_fill(dem, w, h, r, c, z)) {
                        if (slope_deg) slope_deg[i] = NAN;
                        if (aspect_deg) aspect_deg[i] = NAN;
                        continue;
                    }
                    horn_gradient(z, dxt, dxm, dxb, dy_ns, &p, &q);
                    store(p, q, slope_deg, aspect_deg, i);
                }
                c0 = w - 1;
                c1 = w;
            }
            continue;
        }
        for (int64_t c = c0; c < c1; c++) {
            int64_t i = r * w + c;
            double p, q;
            if (!scarp__stencil_fill(dem, w, h, r, c, z)) {
                if (slope_deg) slope_deg[i] = NAN;
                if (aspect_deg) aspect_deg[i] = NAN;
                continue;
            }
            horn_gradient(z, dxt, dxm, dxb, dy_ns, &p, &q);
            store(p, q, slope_deg, aspect_deg, i);
        }
    }
    return SCARP_OK;
}
