/* stencil.h — the 3×3 window shared by slope/aspect and curvature (internal to src/terrain).
 *      z[0] z[1] z[2]      NW N NE        row r-1 (north)
 *      z[3] z[4] z[5]  =   W  C  E        row r
 *      z[6] z[7] z[8]      SW S SE        row r+1 (south)
 * Edge and nodata policy (as gdaldem -compute_edges): a neighbour outside the grid is the
 * linear extrapolation 2·a − b from the two cells next to it inside the grid (so planes stay
 * exact at the edges and corners); a NaN neighbour, or one whose extrapolation needs a NaN,
 * takes the centre's value. Interior windows without NaN take the fast path. */
#ifndef SCARP_TERRAIN_STENCIL_H
#define SCARP_TERRAIN_STENCIL_H
#include <math.h>
#include <stdint.h>

/* Value at (r, c) which may lie one cell outside the grid (w, h >= 2 on that axis for
 * extrapolation; otherwise NaN is returned and the caller substitutes the centre). */
static inline float scarp__stencil_value(const float *dem, int64_t w, int64_t h, int64_t r, int64_t c)
{
    if (r < 0) {
        if (h < 2) return NAN;
        return 2.0f * scarp__stencil_value(dem, w, h, 0, c) - scarp__stencil_value(dem, w, h, 1, c);
    }
    if (r >= h) {
        if (h < 2) return NAN;
        return 2.0f * scarp__stencil_value(dem, w, h, h - 1, c) - scarp__stencil_value(dem, w, h, h - 2, c);
    }
    if (c < 0) {
        if (w < 2) return NAN;
        return 2.0f * dem[r * w] - dem[r * w + 1];
    }
    if (c >= w) {
        if (w < 2) return NAN;
        return 2.0f * dem[r * w + w - 1] - dem[r * w + w - 2];
    }
    return dem[r * w + c];
}

/* Fills z[9] for cell (r, c) with the edge/nodata policy. Returns 0 if the centre is NaN. */
static inline int scarp__stencil_fill(const float *dem, int64_t w, int64_t h, int64_t r, int64_t c, float z[9])
{
    float zc = dem[r * w + c];
    if (isnan(zc)) return 0;
    int interior = r > 0 && c > 0 && r < h - 1 && c < w - 1;
    for (int k = 0; k < 9; k++) {
        int64_t rr = r + k / 3 - 1, cc = c + k % 3 - 1;
        float v = interior ? dem[rr * w + cc] : scarp__stencil_value(dem, w, h, rr, cc);
        z[k] = isnan(v) ? zc : v;
    }
    return 1;
}

/* Distance (m) between the centres of rows r-1 and r (north spacing) and r and r+1 (south),
 * from the per-row cell heights; rows outside the grid mirror the edge row. */
static inline void scarp__row_spacing(const double *dy, int64_t h, int64_t r, double *north, double *south)
{
    double d0 = dy[r > 0 ? r - 1 : r], d1 = dy[r], d2 = dy[r < h - 1 ? r + 1 : r];
    *north = 0.5 * (d0 + d1);
    *south = 0.5 * (d1 + d2);
}

#endif
