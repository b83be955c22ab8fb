/* terrain_tiled.h — the hydrological chain of terrain.h on rasters larger than memory: the DEM
 * is cut into tiles of at most tile × tile cells, read and written through a band interface
 * (a GDAL raster on disk in the layer stack, an array in tests: this module never opens a
 * file), so the memory is O(tile²) plus O(perimeter) edge values, whatever the grid size.
 *
 * Depression filling: block relaxation. A tile is solved in memory given the values of
 * the ring of cells around it (the edge rows and columns of its neighbour tiles, kept in
 * memory: 2·(tiles across)·height + 2·(tiles down)·width floats). When a solve changes the
 * tile's own edge cells its 8 neighbours are marked for another solve; sweeps alternate
 * raster and reverse raster order until no tile is marked. Solving a tile from scratch
 * given its ring makes the result independent of the sweep order: the fixed point is unique.
 *
 * Depression filling. The fixed point is the least surface G with
 *     G = dem at the seeds (valid cells on the grid edge or next to a NaN cell),
 *     G(c) = max(dem(c), raise(min over valid neighbours k of G(k))) elsewhere,
 * raise(z) = z (epsilon = 0) or nextafterf(z, +inf) (epsilon = 1); each tile solve is a
 * monotone priority-flood (Dijkstra) seeded with the tile's seeds and its ring.
 * This is exactly what scarp_fill_depressions computes (its pops are strictly in height
 * order, so the first neighbour to reach a cell is a lowest one), hence the tiled fill equals
 * it byte for byte, for epsilon 0 and 1, ties and flats included (tests/test_terrain_tiled.c,
 * on synthetic DEMs and the integer-valued real DEMs of ../shared/data). Barnes (2016)
 * merges per-tile graphs of watershed labels once; that gives the spill levels (epsilon 0)
 * but not the epsilon gradient, a count of ulp steps along flats that may cross tiles, hence
 * the iteration. Sweeps: about 4 on the tests' DEMs (one tile solve per tile and sweep when
 * every tile changes; a depression spanning k tiles in a row needs up to k + 1).
 *
 * Flow accumulation (D8, MFD) on the filled DEM: the same receivers and fractions as flow.c
 * (Freeman 1991, O'Callaghan & Mark 1984), the same relaxation with overlapping windows: a
 * tile is solved on its core plus a margin of a tenth of `tile` on every side (the DEM read
 * with a 2-cell halo: ring cells' fractions need their own neighbours), the ring being the
 * cells around that window as last written to the output (0 before: every valid cell has a
 * positive area); only the core is written. The window's own cells start from their areas,
 * the ring's inflow is added, then Kahn's order inside. The donor graph is acyclic, so the
 * values settle; the margin keeps MFD flow that meanders along a tile border inside one solve.
 * Only the order of the float additions at a cell differs from the in-memory pass, so:
 *   |tiled - in memory| <= 20 · u · (L(c) + 1) · acc(c), u = 2^-24,
 * L(c) the number of cells on the longest flow path ending in c: a float sum of <= 9 terms
 * in any order has relative error <= 8u (γ_8), the MFD share acc/sum·w adds 2u, and a
 * relative error of a donor propagates unchanged down the path, so each result is within
 * 10u·(L+1) of the exact value of the same fractions, and the two within twice that. D8 on a
 * grid whose sums stay exact (cell areas that are small integers, sums < 2^24 cells) is
 * byte-identical.
 *
 * Bands read NaN outside the grid; all values are float32, NaN = nodata. */
#ifndef SCARP_TERRAIN_TILED_H
#define SCARP_TERRAIN_TILED_H
#include <stdint.h>
#include "scarp/grid.h"
#include "scarp/progress.h"
#include "scarp/status.h"

/* One float band of a width × height grid, read and written by windows. read: the window
 * [col0, col0+w) × [row0, row0+h), row-major; cells outside the grid read as NaN. write: a
 * window inside the grid. */
typedef struct {
    void *ctx;
    scarp_status (*read)(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out);
    scarp_status (*write)(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, const float *data);
} scarp_tile_band;

/* A band over a caller-owned array (data: (height, width)), for tests and small grids. */
typedef struct {
    float *data;
    int64_t width, height;
} scarp_memory_band;
scarp_tile_band scarp_tile_band_memory(scarp_memory_band *m);

/* What the relaxation did (may be NULL). */
typedef struct {
    int64_t tiles;  /* tiles in the grid */
    int64_t solves; /* tile solves in all sweeps (>= tiles) */
    int sweeps;
} scarp_tiled_stats;

/* The side of a square tile whose solve fits in `bytes` (>= 64 cells). */
int64_t scarp_fill_tile_side(int64_t bytes);
int64_t scarp_flow_tile_side(int64_t bytes);

/* Depression filling by tiles of tile × tile cells (see above). dem and out must be different
 * bands; out is written tile by tile (and tiles rewritten until the sweeps settle). */
scarp_status scarp_fill_depressions_tiled(const scarp_tile_band *dem, const scarp_tile_band *out, int64_t width,
                                          int64_t height, int64_t tile, int epsilon, scarp_tiled_stats *stats,
                                          scarp_progress *progress);

/* Flow accumulation by windows of at most tile × tile cells (cores of 4/5 of it), as
 * scarp_flow_accumulation_d8 (mfd = 0) or _mfd (mfd = 1, exponent as there). filled: the
 * epsilon-filled DEM; acc_m2 is written (and read back: it must be a read-write band). */
scarp_status scarp_flow_accumulation_tiled(const scarp_tile_band *filled, const scarp_tile_band *acc_m2,
                                           int64_t width, int64_t height, const scarp_cellsize *cs, int mfd,
                                           double exponent, int64_t tile, scarp_tiled_stats *stats,
                                           scarp_progress *progress);

/* scarp_distance_transform by strips of rows, byte-identical to it (the same expressions):
 *   init; down over every strip top to bottom (row_of := nearest feature row above, as
 *   floats, -1 none); up over every strip bottom to top (row_of updated in place with the
 *   nearest row below when closer); finish over strips in any order (row_of → dist_m).
 * The caller keeps row_of between the passes (a scratch raster: 4 bytes per cell on disk)
 * and checks that the mask has a feature. Memory: O(width · threads + height).
 *   mask, row_of, dist_m: (r1 - r0, width) */
typedef struct {
    int64_t width, height;
    const scarp_cellsize *cs;
    int nthreads;
    double *ypos, *f, *d, *zb;
    int64_t *nearest, *v;
} scarp_distance_rows;
scarp_status scarp_distance_rows_init(scarp_distance_rows *d, int64_t width, int64_t height, const scarp_cellsize *cs);
void scarp_distance_rows_down(scarp_distance_rows *d, int64_t r0, int64_t r1, const uint8_t *mask, float *row_of);
void scarp_distance_rows_up(scarp_distance_rows *d, int64_t r0, int64_t r1, const uint8_t *mask, float *row_of);
void scarp_distance_rows_finish(scarp_distance_rows *d, int64_t r0, int64_t r1, const float *row_of, float *dist_m);
void scarp_distance_rows_free(scarp_distance_rows *d);

/* The rows [row0, row0 + n) of a cell size as a cell size of its own (no copy): strips of a
 * grid run the whole-grid 3×3 functions of terrain.h with a one-row halo. */
static inline scarp_cellsize scarp_cellsize_rows(const scarp_cellsize *cs, int64_t row0)
{
    scarp_cellsize v = {cs->dx_row + row0, cs->dy_row + row0};
    return v;
}

#endif
