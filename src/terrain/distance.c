/* distance.c — exact Euclidean distance transform in metres (anisotropic cells).
 * Felzenszwalb, P.F., Huttenlocher, D.P. (2012) Distance transforms of sampled functions.
 * Theory of Computing 8:415-428, doi:10.4086/toc.2012.v008a019: the squared distance is
 * separable; pass 1 finds the nearest feature row in each column (two sweeps, exact for any
 * row positions), pass 2 takes the lower envelope of parabolas along each row with that
 * row's dx. Rows of parabolas are independent, so both passes run in parallel. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"
#include "scarp/terrain_tiled.h"

#define COLUMN_BLOCK 256

/* Lower envelope of parabolas f[q] + (x - q·dx)² evaluated at every x = q·dx (FH 2012,
 * Algorithm 1); INFINITY entries are not features. v, zb: scratch of n and n + 1. */
static void envelope_1d(const double *f, int64_t n, double dx, double *d, int64_t *v, double *zb)
{
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        if (f[q] == INFINITY) continue;
        if (k < 0) {
            k = 0;
            v[0] = q;
            zb[0] = -INFINITY;
            zb[1] = INFINITY;
            continue;
        }
        double s;
        for (;;) {
            int64_t p = v[k];
            /* intersection of the parabolas rooted at p and q; offsets as whole cells times dx
             * so that FMA contraction cannot leave a residue at a feature */
            s = ((f[q] - f[p]) / ((double)(q - p) * dx) + (double)(q + p) * dx) * 0.5;
            if (s <= zb[k]) k--;
            else break;
        }
        k++;
        v[k] = q;
        zb[k] = s;
        zb[k + 1] = INFINITY;
    }
    if (k < 0) {
        for (int64_t q = 0; q < n; q++) d[q] = INFINITY;
        return;
    }
    int64_t j = 0;
    for (int64_t q = 0; q < n; q++) {
        double xq = (double)q * dx;
        while (zb[j + 1] < xq) j++;
        double t = (double)(q - v[j]) * dx;
        d[q] = t * t + f[v[j]];
    }
}

scarp_status scarp_distance_transform(const uint8_t *mask, int64_t width, int64_t height,
                                      const scarp_cellsize *cs, float *dist_m, scarp_progress *progress)
{
    if (!mask || !cs || !dist_m || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_distance_transform: empty mask");
    const int64_t w = width, h = height, n = w * h;
    /* pass 1 stores the nearest feature row as a float: exact below 2^24 rows */
    if (h >= (1 << 24))
        return scarp_fail(SCARP_ERR_USAGE, "scarp_distance_transform: %lld rows exceed 2^24; tile the mask",
                          (long long)h);
    int any = 0;
    for (int64_t i = 0; i < n && !any; i++) any = mask[i] != 0;
    if (!any) {
        for (int64_t i = 0; i < n; i++) dist_m[i] = NAN;
        return scarp_fail(SCARP_ERR_INPUT, "distance transform: no feature cell on the grid");
    }
    int nthreads = omp_get_max_threads();
    double *ypos = scarp_malloc((size_t)h * sizeof(double));
    double *f = scarp_malloc((size_t)nthreads * w * sizeof(double));
    double *d = scarp_malloc((size_t)nthreads * w * sizeof(double));
    double *zb = scarp_malloc((size_t)nthreads * (w + 1) * sizeof(double));
    int64_t *v = scarp_malloc((size_t)nthreads * w * sizeof(int64_t));
    scarp_status st = SCARP_OK;
    if (!ypos || !f || !d || !zb || !v) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    /* northing of each row centre, metres from the first row */
    ypos[0] = 0.0;
    for (int64_t r = 1; r < h; r++) ypos[r] = ypos[r - 1] + 0.5 * (cs->dy_row[r - 1] + cs->dy_row[r]);

    scarp_progress_begin(progress, "distance transform", 2 * h);
    /* Pass 1: nearest feature row of each cell within its column (-1: none). */
    const int64_t nblocks = (w + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t c0 = b * COLUMN_BLOCK, c1 = c0 + COLUMN_BLOCK < w ? c0 + COLUMN_BLOCK : w;
        int64_t nearest[COLUMN_BLOCK];
        for (int64_t c = c0; c < c1; c++) nearest[c - c0] = -1;
        for (int64_t r = 0; r < h; r++) {
            for (int64_t c = c0; c < c1; c++) {
                if (mask[r * w + c]) nearest[c - c0] = r;
                dist_m[r * w + c] = (float)nearest[c - c0];
            }
        }
        for (int64_t c = c0; c < c1; c++) nearest[c - c0] = -1;
        for (int64_t r = h - 1; r >= 0; r--) {
            for (int64_t c = c0; c < c1; c++) {
                int64_t i = r * w + c;
                if (mask[i]) nearest[c - c0] = r;
                int64_t below = nearest[c - c0], above = (int64_t)dist_m[i];
                if (below >= 0 && (above < 0 || ypos[below] - ypos[r] < ypos[r] - ypos[above]))
                    dist_m[i] = (float)below;
            }
        }
    }
    scarp_progress_step(progress, h);
    /* Pass 2: lower envelope along each row. */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        int t = omp_get_thread_num();
        double *ft = f + (size_t)t * w, *dt = d + (size_t)t * w, *zt = zb + (size_t)t * (w + 1);
        int64_t *vt = v + (size_t)t * w;
        float *row = dist_m + r * w;
        for (int64_t c = 0; c < w; c++) {
            int64_t a = (int64_t)row[c];
            double dy = a < 0 ? 0.0 : ypos[r] - ypos[a];
            ft[c] = a < 0 ? INFINITY : dy * dy;
        }
        envelope_1d(ft, w, cs->dx_row[r], dt, vt, zt);
        for (int64_t c = 0; c < w; c++) row[c] = (float)sqrt(dt[c]);
    }
    scarp_progress_step(progress, h);
    scarp_progress_end(progress);
end:
    scarp_free(ypos);
    scarp_free(f);
    scarp_free(d);
    scarp_free(zb);
    scarp_free(v);
    return st;
}

/* ---- the same transform by strips of rows (terrain_tiled.h) ---- */

scarp_status scarp_distance_rows_init(scarp_distance_rows *d, int64_t width, int64_t height, const scarp_cellsize *cs)
{
    memset(d, 0, sizeof *d);
    if (width <= 0 || height <= 0 || !cs) return scarp_fail(SCARP_ERR_USAGE, "scarp_distance_rows_init: empty grid");
    if (height >= (1 << 24))
        return scarp_fail(SCARP_ERR_USAGE, "distance transform: %lld rows exceed 2^24", (long long)height);
    d->width = width;
    d->height = height;
    d->cs = cs;
    d->nthreads = omp_get_max_threads();
    const int64_t w = width, nt = d->nthreads;
    d->ypos = scarp_malloc((size_t)height * sizeof(double));
    d->nearest = scarp_malloc((size_t)w * sizeof(int64_t));
    d->f = scarp_malloc((size_t)(nt * w) * sizeof(double));
    d->d = scarp_malloc((size_t)(nt * w) * sizeof(double));
    d->zb = scarp_malloc((size_t)(nt * (w + 1)) * sizeof(double));
    d->v = scarp_malloc((size_t)(nt * w) * sizeof(int64_t));
    if (!d->ypos || !d->nearest || !d->f || !d->d || !d->zb || !d->v) {
        scarp_distance_rows_free(d);
        return SCARP_ERR_NOMEM;
    }
    d->ypos[0] = 0.0; /* as scarp_distance_transform, expression for expression */
    for (int64_t r = 1; r < height; r++) d->ypos[r] = d->ypos[r - 1] + 0.5 * (cs->dy_row[r - 1] + cs->dy_row[r]);
    for (int64_t c = 0; c < w; c++) d->nearest[c] = -1;
    return SCARP_OK;
}

void scarp_distance_rows_down(scarp_distance_rows *d, int64_t r0, int64_t r1, const uint8_t *mask, float *row_of)
{
    const int64_t w = d->width;
    if (r0 == 0)
        for (int64_t c = 0; c < w; c++) d->nearest[c] = -1;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = 0; c < w; c++) {
            int64_t i = (r - r0) * w + c;
            if (mask[i]) d->nearest[c] = r;
            row_of[i] = (float)d->nearest[c];
        }
    if (r1 == d->height)
        for (int64_t c = 0; c < w; c++) d->nearest[c] = -1; /* ready for the upward sweep */
}

void scarp_distance_rows_up(scarp_distance_rows *d, int64_t r0, int64_t r1, const uint8_t *mask, float *row_of)
{
    const int64_t w = d->width;
    const double *ypos = d->ypos;
    for (int64_t r = r1 - 1; r >= r0; r--)
        for (int64_t c = 0; c < w; c++) {
            int64_t i = (r - r0) * w + c;
            if (mask[i]) d->nearest[c] = r;
            int64_t below = d->nearest[c], above = (int64_t)row_of[i];
            if (below >= 0 && (above < 0 || ypos[below] - ypos[r] < ypos[r] - ypos[above])) row_of[i] = (float)below;
        }
}

void scarp_distance_rows_finish(scarp_distance_rows *d, int64_t r0, int64_t r1, const float *row_of, float *dist_m)
{
    const int64_t w = d->width;
    const double *ypos = d->ypos;
#pragma omp parallel for schedule(static)
    for (int64_t r = r0; r < r1; r++) {
        int t = omp_get_thread_num();
        double *ft = d->f + (size_t)t * w, *dt = d->d + (size_t)t * w, *zt = d->zb + (size_t)t * (w + 1);
        int64_t *vt = d->v + (size_t)t * w;
        const float *in = row_of + (r - r0) * w;
        float *row = dist_m + (r - r0) * w;
        for (int64_t c = 0; c < w; c++) {
            int64_t a = (int64_t)in[c];
            double dy = a < 0 ? 0.0 : ypos[r] - ypos[a];
            ft[c] = a < 0 ? INFINITY : dy * dy;
        }
        envelope_1d(ft, w, d->cs->dx_row[r], dt, vt, zt);
        for (int64_t c = 0; c < w; c++) row[c] = (float)sqrt(dt[c]);
    }
}

void scarp_distance_rows_free(scarp_distance_rows *d)
{
    scarp_free(d->ypos);
    scarp_free(d->nearest);
    scarp_free(d->f);
    scarp_free(d->d);
    scarp_free(d->zb);
    scarp_free(d->v);
    d->ypos = d->f = d->d = d->zb = NULL;
    d->nearest = d->v = NULL;
}
