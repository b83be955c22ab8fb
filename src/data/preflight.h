/* preflight.h — private to src/data: the pre-flight record that scarp_stack_build fills
 * (every input's CRS, resolution, extent, nodata, how it was aligned, the cells it voids)
 * and its text and JSON renderings (src/data/preflight.c). */
#ifndef SCARP_DATA_PREFLIGHT_H
#define SCARP_DATA_PREFLIGHT_H
#include <stdint.h>
#include "scarp/raster.h"
#include "scarp/stack.h"

typedef struct {
    char role[24];            /* "layer", "ndvi red", "ndvi nir", "distance" */
    char name[64];            /* config section name */
    char path[1024];
    int band;                 /* rasters */
    int is_vector;
    scarp_align_info align;   /* rasters */
    char vector_crs[128];     /* vectors */
    int64_t n_features;       /* vectors: features burnt on the grid or its margin */
    double margin_m;          /* distance layers: the margin around the grid whose features
                               * were rasterized too (0: every feature lay on the grid) */
    int64_t unsure_cells;     /* distance layers: cells farther than margin_m from every feature
                               * seen, where a feature beyond the margin could be nearer (0
                               * unless the margin hit its memory bound) */
    int64_t strips;           /* distance layers: strips of rows the last transform swept (1: at once) */
    int layer;                /* index of the stack layer it feeds (-1: none) */
} scarp_preflight_input;

typedef struct {
    char note[256];           /* e.g. "DEM derivatives from layer dem (flow mfd)" */
    int n_inputs;
    scarp_preflight_input inputs[2 * SCARP_STACK_MAX_LAYERS];
    /* per stack layer: cells that are nodata, cells where it is the only invalid layer */
    int64_t nodata_cells[SCARP_STACK_MAX_LAYERS];
    int64_t only_void_cells[SCARP_STACK_MAX_LAYERS];
    char grid_origin[1400];    /* how the reference grid was chosen */
} scarp_preflight;

/* Writes out_dir/preflight.txt and out_dir/preflight.json (crash-safe). */
scarp_status scarp__preflight_write(const scarp_preflight *pf, const scarp_stack *s, const char *out_dir);

const char *scarp__kind_name(scarp_layer_kind k);
const char *scarp__source_name(scarp_layer_source s);
const char *scarp__resample_name(scarp_resample m);

#endif
