/* tiles.c — block relaxation over tiles (terrain_tiled.h): each tile is solved in memory from
 * its ring, the edge rows and columns of all tiles stay in memory, and a tile is solved again
 * when a neighbour's edge changed; sweeps alternate raster and reverse order (the symmetric
 * Gauss-Seidel order, so paths running up or left settle as fast as those running down or
 * right). Also the array-backed band of tests. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "terrain/tiles.h"

static scarp_status memory_read(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out)
{
    const scarp_memory_band *m = ctx;
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++) {
            int64_t gr = row0 + r, gc = col0 + c;
            out[r * w + c] = (gr < 0 || gr >= m->height || gc < 0 || gc >= m->width) ? NAN : m->data[gr * m->width + gc];
        }
    return SCARP_OK;
}

static scarp_status memory_write(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, const float *data)
{
    scarp_memory_band *m = ctx;
    if (col0 < 0 || row0 < 0 || col0 + w > m->width || row0 + h > m->height)
        return scarp_fail(SCARP_ERR_USAGE, "memory band: window outside the grid");
    for (int64_t r = 0; r < h; r++) memcpy(m->data + (row0 + r) * m->width + col0, data + r * w, (size_t)w * sizeof(float));
    return SCARP_OK;
}

scarp_tile_band scarp_tile_band_memory(scarp_memory_band *m)
{
    scarp_tile_band b = {m, memory_read, memory_write};
    return b;
}

/* Edge store: erow (nty, 2, width) = the first and last row of every tile row, ecol (ntx, 2,
 * height) = the first and last column of every tile column. */
typedef struct {
    int64_t w, h, T, ntx, nty;
    float *erow, *ecol;
} edges;

/* The ring of tile (ty, tx) into win (th+2, tw+2). */
static void edges_ring(const edges *e, int64_t ty, int64_t tx, int64_t th, int64_t tw, float *win)
{
    const int64_t r0 = ty * e->T, c0 = tx * e->T, W = tw + 2;
    for (int64_t k = 0; k < W; k++) { /* top and bottom halo rows, corners included */
        int64_t c = c0 - 1 + k;
        int in = c >= 0 && c < e->w;
        win[k] = (ty > 0 && in) ? e->erow[((ty - 1) * 2 + 1) * e->w + c] : NAN;
        win[(th + 1) * W + k] = (ty < e->nty - 1 && in) ? e->erow[((ty + 1) * 2 + 0) * e->w + c] : NAN;
    }
    for (int64_t r = 0; r < th; r++) {
        win[(r + 1) * W] = tx > 0 ? e->ecol[((tx - 1) * 2 + 1) * e->h + r0 + r] : NAN;
        win[(r + 1) * W + tw + 1] = tx < e->ntx - 1 ? e->ecol[((tx + 1) * 2 + 0) * e->h + r0 + r] : NAN;
    }
}

static int store(float *dst, const float *src, int64_t n, int64_t stride)
{
    int changed = 0;
    for (int64_t k = 0; k < n; k++) {
        float v = src[k * stride];
        if (memcmp(&dst[k], &v, sizeof v)) {
            dst[k] = v;
            changed = 1;
        }
    }
    return changed;
}

/* Stores the edges of a solved tile; 1 if any value changed (bitwise). */
static int edges_store(edges *e, int64_t ty, int64_t tx, int64_t th, int64_t tw, const float *tile)
{
    const int64_t r0 = ty * e->T, c0 = tx * e->T;
    int changed = store(e->erow + (ty * 2 + 0) * e->w + c0, tile, tw, 1);
    changed |= store(e->erow + (ty * 2 + 1) * e->w + c0, tile + (th - 1) * tw, tw, 1);
    changed |= store(e->ecol + (tx * 2 + 0) * e->h + r0, tile, th, tw);
    changed |= store(e->ecol + (tx * 2 + 1) * e->h + r0, tile + tw - 1, th, tw);
    return changed;
}

scarp_status scarp__tiles_relax(int64_t width, int64_t height, int64_t tile, float unknown,
                                scarp__tile_solve solve, void *ctx, const scarp_tile_band *out,
                                scarp_tiled_stats *stats, scarp_progress *progress, const char *what)
{
    if (width <= 0 || height <= 0 || tile < 1 || !out)
        return scarp_fail(SCARP_ERR_USAGE, "%s: empty grid or tile", what);
    edges e = {width, height, tile, (width + tile - 1) / tile, (height + tile - 1) / tile, NULL, NULL};
    const int64_t nt = e.ntx * e.nty, Tw = tile < width ? tile : width, Th = tile < height ? tile : height;
    e.erow = scarp_malloc((size_t)(e.nty * 2 * width) * sizeof(float));
    e.ecol = scarp_malloc((size_t)(e.ntx * 2 * height) * sizeof(float));
    uint8_t *dirty = scarp_malloc((size_t)nt);
    float *win = scarp_malloc((size_t)((Th + 2) * (Tw + 2)) * sizeof(float));
    float *buf = scarp_malloc((size_t)(Th * Tw) * sizeof(float));
    scarp_status st = SCARP_OK;
    int64_t solves = 0;
    int sweeps = 0;
    if (!e.erow || !e.ecol || !dirty || !win || !buf) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t k = 0; k < e.nty * 2 * width; k++) e.erow[k] = unknown;
    for (int64_t k = 0; k < e.ntx * 2 * height; k++) e.ecol[k] = unknown;
    memset(dirty, 1, (size_t)nt);
    scarp_progress_begin(progress, what, nt);
    for (int64_t left = nt; left > 0; sweeps++) {
        for (int64_t q = 0; q < nt; q++) {
            int64_t t = (sweeps & 1) ? nt - 1 - q : q, ty = t / e.ntx, tx = t % e.ntx;
            if (!dirty[t]) continue;
            dirty[t] = 0;
            const int64_t r0 = ty * tile, c0 = tx * tile;
            const int64_t th = height - r0 < tile ? height - r0 : tile, tw = width - c0 < tile ? width - c0 : tile;
            edges_ring(&e, ty, tx, th, tw, win);
            if ((st = solve(ctx, r0, c0, th, tw, win, buf))) goto end;
            if ((st = out->write(out->ctx, c0, r0, tw, th, buf))) goto end;
            solves++;
            if (edges_store(&e, ty, tx, th, tw, buf))
                for (int64_t dy = -1; dy <= 1; dy++)
                    for (int64_t dx = -1; dx <= 1; dx++) {
                        int64_t y = ty + dy, x = tx + dx;
                        if ((dy || dx) && y >= 0 && y < e.nty && x >= 0 && x < e.ntx) dirty[y * e.ntx + x] = 1;
                    }
            if (sweeps == 0 && scarp_progress_step(progress, 1) != SCARP_OK) {
                st = scarp_fail(SCARP_ERR_CANCELLED, "%s: cancelled", what);
                goto end;
            }
        }
        left = 0;
        for (int64_t t = 0; t < nt; t++) left += dirty[t];
    }
    scarp_progress_end(progress);
    if (stats) *stats = (scarp_tiled_stats){nt, solves, sweeps};
end:
    scarp_free(e.erow);
    scarp_free(e.ecol);
    scarp_free(dirty);
    scarp_free(win);
    scarp_free(buf);
    return st;
}
