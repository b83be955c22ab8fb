/* curvature.c — plan and profile curvature from the 3×3 partial quartic of Zevenbergen &
 * Thorne (1987) Quantitative analysis of land surface topography. Earth Surface Processes
 * and Landforms 12:47-56, doi:10.1002/esp.3290120107. Central differences (second order,
 * exact on quadratic surfaces); uneven row spacing of geographic grids handled per side. */
#include <math.h>

#include "scarp/terrain.h"
#include "stencil.h"

scarp_status scarp_curvature(const float *dem, int64_t width, int64_t height, const scarp_cellsize *cs,
                             float *plan, float *profile)
{
    if (!dem || !cs || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_curvature: empty DEM or missing cell size");
    if (!plan && !profile) return SCARP_OK;
    const int64_t w = width, h = height;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        double dxt = cs->dx_row[r > 0 ? r - 1 : r], dxm = cs->dx_row[r], dxb = cs->dx_row[r < h - 1 ? r + 1 : r];
        double hn, hs; /* distance to the row centres north and south */
        scarp__row_spacing(cs->dy_row, h, r, &hn, &hs);
        float z[9];
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            if (!scarp__stencil_fill(dem, w, h, r, c, z)) {
                if (plan) plan[i] = NAN;
                if (profile) profile[i] = NAN;
                continue;
            }
            double z5 = z[4];
            /* Zevenbergen & Thorne: D = r/2, E = t/2, F = s, G = p, H = q */
            double rxx = ((double)z[3] + z[5] - 2.0 * z5) / (dxm * dxm);
            double tyy = 2.0 * (((double)z[1] - z5) / hn + ((double)z[7] - z5) / hs) / (hn + hs);
            double sxy = (((double)z[2] - z[0]) / (2.0 * dxt) - ((double)z[8] - z[6]) / (2.0 * dxb)) / (hn + hs);
            double p = ((double)z[5] - z[3]) / (2.0 * dxm);
            double q = ((double)z[1] - z[7]) / (hn + hs);
            double g2 = p * p + q * q;
            double kp = 0.0, kr = 0.0;
            if (g2 > 1e-20) {
                kp = (rxx * q * q - 2.0 * sxy * p * q + tyy * p * p) / g2;
                kr = -(rxx * p * p + 2.0 * sxy * p * q + tyy * q * q) / g2;
            }
            if (plan) plan[i] = (float)kp;
            if (profile) profile[i] = (float)kr;
        }
    }
    return SCARP_OK;
}
