/* rates.c — success-rate and prediction-rate curves and their areas (Chung & Fabbri 2003,
 * "Validation of spatial prediction models for landslide hazard mapping", Nat. Hazards 30):
 * cells ranked by decreasing susceptibility, cumulative share of area against cumulative
 * share of landslides, from a histogram of the map so that a province never sits in memory. */
#include "scarp/classes.h"
#include "scarp/alloc.h"

#include <math.h>
#include <string.h>

scarp_status scarp_rate_curve(const int64_t *hist, int nbins, double lo, double hi, const float *ls, size_t n_ls,
                              int npts, double *x, double *y, double *auc)
{
    if (nbins < 1 || !(hi > lo) || npts < 2)
        return scarp_fail(SCARP_ERR_USAGE, "rate curve: bad histogram (%d bins over [%g, %g]) or %d points", nbins, lo,
                          hi, npts);
    int64_t *lsb = scarp_calloc((size_t)nbins, sizeof *lsb);
    if (!lsb) return SCARP_ERR_NOMEM;
    int64_t area = 0, nl = 0;
    for (int b = 0; b < nbins; b++) area += hist[b];
    for (size_t i = 0; i < n_ls; i++)
        if (isfinite(ls[i])) {
            lsb[scarp_hist_bin(ls[i], nbins, lo, hi)]++;
            nl++;
        }
    if (area == 0 || nl == 0) {
        scarp_free(lsb);
        return scarp_fail(SCARP_ERR_INPUT, "rate curve: %lld valid cells and %lld landslides on them", (long long)area,
                          (long long)nl);
    }
    /* Walk bins from the highest value down; the curve is linear inside each bin. */
    double cx = 0, cy = 0, a = 0;
    int p = 1;
    x[0] = 0, y[0] = 0;
    for (int b = nbins - 1; b >= 0; b--) {
        double dx = (double)hist[b] / (double)area, dy = (double)lsb[b] / (double)nl;
        if (dx == 0 && dy == 0) continue;
        a += dx * (cy + 0.5 * dy);
        double nx = cx + dx, ny = cy + dy;
        while (p < npts - 1 && (double)p / (npts - 1) <= nx) {
            double t = (double)p / (npts - 1);
            x[p] = t;
            y[p] = dx > 0 ? cy + dy * (t - cx) / dx : ny;
            p++;
        }
        cx = nx, cy = ny;
    }
    for (; p < npts; p++) x[p] = (double)p / (npts - 1), y[p] = 1.0;
    x[npts - 1] = 1, y[npts - 1] = 1;
    *auc = a;
    scarp_free(lsb);
    return SCARP_OK;
}
