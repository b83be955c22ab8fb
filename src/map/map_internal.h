/* map_internal.h — between the map engine's compute phase (map.c) and its assembly
 * (assemble.c: rasters, classes, statistics, figures, summary). */
#ifndef SCARP_MAP_INTERNAL_H
#define SCARP_MAP_INTERNAL_H
#include "scarp/config.h"
#include "scarp/map.h"
#include "scarp/stack.h"

/* Rank 0, after every tile is stored: writes the files of OUT/map (see scarp_map_run_ex). */
scarp_status scarp__map_assemble(const scarp_stack *stack, const scarp_tile_store *store, const scarp_tiling *tiling,
                                 int bands, const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                                 const char *model_path, int n_models, scarp_map_report *rep);

#endif
