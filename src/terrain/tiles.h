/* tiles.h — the block-relaxation driver shared by fill_tiled.c and flow_tiled.c (see
 * terrain_tiled.h): tiles, the edge rows and columns of every tile kept in memory, the ring
 * of a tile assembled from its neighbours' edges, sweeps until no edge changes. Internal. */
#ifndef SCARP_TERRAIN_TILES_H
#define SCARP_TERRAIN_TILES_H
#include <stdint.h>
#include "scarp/progress.h"
#include "scarp/status.h"
#include "scarp/terrain_tiled.h"

/* Solves the tile [r0, r0+th) × [c0, c0+tw): ring is the (th+2, tw+2) window around it whose
 * outer ring holds the neighbours' current edge values (`unknown` where no solve has set them
 * yet, NaN outside the grid); the interior is scratch. Writes the tile into out (th, tw). */
typedef scarp_status (*scarp__tile_solve)(void *ctx, int64_t r0, int64_t c0, int64_t th, int64_t tw,
                                          const float *ring, float *out);

scarp_status scarp__tiles_relax(int64_t width, int64_t height, int64_t tile, float unknown,
                                scarp__tile_solve solve, void *ctx, const scarp_tile_band *out,
                                scarp_tiled_stats *stats, scarp_progress *progress, const char *what);

#endif
