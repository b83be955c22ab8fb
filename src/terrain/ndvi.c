/* ndvi.c — normalised difference vegetation index from red and near-infrared reflectance.
 * Rouse, J.W., Haas, R.H., Schell, J.A., Deering, D.W. (1974) Monitoring vegetation systems in
 * the Great Plains with ERTS. NASA SP-351:309-317. Sentinel-2: red = B4, NIR = B8. */
#include <math.h>

#include "scarp/terrain.h"

scarp_status scarp_ndvi(const float *red, const float *nir, int64_t n, float *ndvi)
{
    if (!red || !nir || !ndvi || n < 0) return scarp_fail(SCARP_ERR_USAGE, "scarp_ndvi: missing array");
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double rd = red[i], ni = nir[i], s = rd + ni;
        ndvi[i] = (isnan(s) || s == 0.0) ? NAN : (float)((ni - rd) / s);
    }
    return SCARP_OK;
}
