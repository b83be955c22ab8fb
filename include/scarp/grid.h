/* grid.h — a reference grid: CRS (WKT), axis-aligned geotransform, width, height.
 * Cell (col, row) covers x in [gt0 + col*gt1, gt0 + (col+1)*gt1), y likewise with gt5 < 0.
 * Indices are int64_t: 50 000² cells overflow int. */
#ifndef SCARP_GRID_H
#define SCARP_GRID_H
#include <stdint.h>
#include "scarp/status.h"

typedef struct {
    char *wkt;     /* owned; CRS as WKT ("" when unknown) */
    double gt[6];  /* GDAL geotransform; gt[2] == gt[4] == 0 (north-up) */
    int64_t width, height;
} scarp_grid;

void scarp_grid_init(scarp_grid *g);
void scarp_grid_free(scarp_grid *g);
scarp_status scarp_grid_copy(scarp_grid *dst, const scarp_grid *src);
/* A projected grid: EPSG code or WKT/PROJ string in `crs`, cell size, extent (snapped
 * outward to whole cells). */
scarp_status scarp_grid_from_extent(scarp_grid *g, const char *crs, double resolution,
                                    double xmin, double ymin, double xmax, double ymax);
/* Takes the grid of band 1 of a raster file; error names the file. */
scarp_status scarp_grid_from_raster(scarp_grid *g, const char *path);

static inline int64_t scarp_grid_cells(const scarp_grid *g) { return g->width * g->height; }
/* Centre of a cell in grid CRS units. */
static inline double scarp_grid_x(const scarp_grid *g, double col) { return g->gt[0] + (col + 0.5) * g->gt[1]; }
static inline double scarp_grid_y(const scarp_grid *g, double row) { return g->gt[3] + (row + 0.5) * g->gt[5]; }
/* The cell holding (x, y); returns 0 if outside the grid. */
int scarp_grid_cell_of(const scarp_grid *g, double x, double y, int64_t *col, int64_t *row);
/* 1 if the CRS is geographic (degrees), 0 if projected or unknown. */
int scarp_grid_is_geographic(const scarp_grid *g);
/* 1 if both grids have the same CRS, geotransform (to 1e-9 of a cell) and size. */
int scarp_grid_same(const scarp_grid *a, const scarp_grid *b);
/* Short human name of the CRS ("EPSG:32640", or the WKT's name). Static per-thread buffer. */
const char *scarp_grid_crs_name(const scarp_grid *g);

/* Metric cell sizes: for a projected grid dx = |gt1|, dy = |gt5| for every row; for a
 * geographic grid, the true size of each row's cells on the WGS84 ellipsoid (metres),
 * so slopes are never computed with degrees taken as metres. */
typedef struct {
    double *dx_row; /* dx of each row (height entries), metres */
    double *dy_row; /* dy of each row, metres */
} scarp_cellsize;
scarp_status scarp_cellsize_init(scarp_cellsize *cs, const scarp_grid *g);
void scarp_cellsize_free(scarp_cellsize *cs);

/* Transforms n points in place from the CRS `from` (any GDAL-understood string or WKT)
 * to the CRS of the grid. Error names `what` (e.g. a file) when the CRS is unknown. */
scarp_status scarp_transform_points(const char *from_crs, const char *to_wkt, double *x, double *y,
                                    int64_t n, const char *what);

#endif
