/* stack.h — the layer stack: every input of a study aligned onto one reference grid and
 * materialised on disk (out_dir/stack/NAME.tif, Float32, NaN/nodata carried), so later
 * stages (sample patches, map tiles over 2×10⁸ cells) read windows of aligned layers
 * without holding the province in memory. Implemented in src/data/stack.c (build, open,
 * window reader) and src/data/preflight.c (the pre-flight report). */
#ifndef SCARP_STACK_H
#define SCARP_STACK_H
#include <stdint.h>
#include "scarp/config.h"
#include "scarp/grid.h"
#include "scarp/progress.h"
#include "scarp/status.h"

#define SCARP_STACK_MAX_LAYERS 64
#define SCARP_STACK_MAX_CATEGORIES 256

/* Where a stack layer comes from. */
typedef enum {
    SCARP_SOURCE_RASTER = 0, /* a [layer.*] input warped onto the grid */
    SCARP_SOURCE_DERIVED,    /* a DEM derivative (slope, aspect, twi, spi, plan_curvature, ...) */
    SCARP_SOURCE_DISTANCE,   /* distance (metres) to a [distance.*] vector or derived rivers */
    SCARP_SOURCE_NDVI        /* (nir - red) / (nir + red) from [ndvi] */
} scarp_layer_source;

typedef struct {
    char name[64];              /* "dem", "slope", "aspect", "twi", "spi", "plan_curvature",
                                   "profile_curvature", "dist_faults", "dist_rivers", "ndvi", ... */
    scarp_layer_kind kind;      /* continuous | categorical | circular (aspect, degrees) */
    scarp_layer_source source;
    char path[1024];            /* absolute or relative to the folder of stack.json as stored;
                                   scarp_stack_open resolves it to a usable path */
    int n_categories;           /* categorical only: distinct integer values found */
    int *categories;            /* n_categories, sorted ascending (owned) */
    /* statistics over the layer's valid cells (computed at build time) */
    int64_t valid_cells;
    double min, max, mean, sd;
} scarp_stack_layer;

typedef struct {
    char dir[1024];             /* the run folder (holds stack/ and preflight.txt) */
    scarp_grid grid;            /* the reference grid (owned) */
    int n_layers;
    scarp_stack_layer layers[SCARP_STACK_MAX_LAYERS];
    char valid_path[1024];      /* stack/valid.tif: Byte, 1 where EVERY layer is valid */
    int64_t valid_cells;        /* count of 1s in valid.tif */
} scarp_stack;

void scarp_stack_init(scarp_stack *s);
/* Releases everything owned by s; accepts NULL; s can be reused after scarp_stack_init. */
void scarp_stack_free(scarp_stack *s);

/* Builds the stack described by cfg into out_dir:
 *  - reference grid: cfg->grid_reference names a layer (default "dem") whose grid is
 *    taken, or cfg->grid_crs + grid_resolution + grid_extent define it;
 *  - each [layer.*] warped onto it (bilinear for continuous/circular; nearest for
 *    categorical, mode when the grid is coarser than the input), reprojected if its CRS differs; a layer that does not overlap the grid,
 *    a missing file, a raster without CRS or an all-nodata layer is SCARP_ERR_INPUT
 *    naming the file;
 *  - the derivatives asked by `derive` of the DEM layer (the layer named "dem", or the
 *    first layer with derive flags): slope, aspect, twi, spi (ln), plan_curvature and
 *    profile_curvature, and dist_rivers when SCARP_DERIVE_RIVERS is set and no
 *    [distance.rivers] is given;
 *  - one dist_NAME layer (metres) per [distance.NAME] vector;
 *  - ndvi when cfg->ndvi_red/nir are set;
 * and writes out_dir/stack/NAME.tif (Float32) for each, out_dir/stack/valid.tif,
 * out_dir/stack/stack.json and out_dir/preflight.txt + preflight.json. Raster layers are
 * processed in strips (bounded memory); terrain derivatives need the whole DEM.
 * An empty valid mask is SCARP_ERR_INPUT. On success *stack describes the result
 * (as scarp_stack_open would; *stack is initialised here, so free a previous content
 * first); on failure no file is left under a final name. */
scarp_status scarp_stack_build(const scarp_config *cfg, const char *out_dir, scarp_progress *p, scarp_stack *stack);

/* Reads out_dir/stack/stack.json; error names the file. */
scarp_status scarp_stack_open(scarp_stack *s, const char *out_dir);

/* Index of a layer by name, -1 if absent. */
int scarp_stack_layer_index(const scarp_stack *s, const char *name);

/* A window reader over all layers (one per thread; not thread-safe per handle). */
typedef struct scarp_stack_reader scarp_stack_reader;
scarp_status scarp_stack_reader_open(scarp_stack_reader **r, const scarp_stack *s);
/* Reads the window [col0, col0+w) × [row0, row0+h) of every layer:
 *   out   (L, h, w) layer-major, L = s->n_layers, NaN = nodata or outside the grid;
 *   valid (h, w) or NULL: 1 where valid.tif is 1, 0 elsewhere (and outside the grid).
 * col0/row0 may be negative and the window may extend beyond the grid (patch halos). */
scarp_status scarp_stack_read(scarp_stack_reader *r, int64_t col0, int64_t row0, int64_t w, int64_t h,
                              float *out, uint8_t *valid);
void scarp_stack_reader_close(scarp_stack_reader *r); /* accepts NULL */

#endif
