/* vector.h — vector input/output through OGR (any OGR source: GeoPackage, Shapefile,
 * GeoJSON, ...). Reading reprojects to the grid's CRS; writing is crash-safe
 * ("<path>.partial" renamed on commit). Implemented in src/io/vector.c. */
#ifndef SCARP_VECTOR_H
#define SCARP_VECTOR_H
#include <stdint.h>
#include "scarp/grid.h"
#include "scarp/status.h"

typedef enum { SCARP_GEOM_POINT = 0, SCARP_GEOM_LINE, SCARP_GEOM_POLYGON } scarp_geom_kind;

/* Points (polygons → centroid, lines → midpoint of their length) with all attribute
 * fields as strings, coordinates transformed into `to_wkt` (NULL: kept as they are). */
typedef struct {
    int64_t n;
    double *x, *y;
    int n_fields;
    char **field_names; /* n_fields */
    char **values;      /* n * n_fields, row-major; NULL where unset */
    char crs[128];      /* the source CRS name, for reports */
} scarp_point_table;

scarp_status scarp_vector_read_points(const char *path, const char *to_wkt, scarp_point_table *out);
void scarp_point_table_free(scarp_point_table *t);
/* Index of a field by name (case-insensitive), -1 if absent. */
int scarp_point_table_field(const scarp_point_table *t, const char *name);

/* Burns every feature of every layer of `path` (lines, points, and polygons filled:
 * a cell inside a lake or a wide river is at distance 0; reprojected to the grid) into
 * mask (w*h, 1 = feature) with GDAL's rasterizer (ALL_TOUCHED). *n_features gets the count. A source with no feature on the grid is an
 * error naming the file. */
scarp_status scarp_vector_rasterize(const char *path, const scarp_grid *grid, uint8_t *mask, int64_t *n_features);

/* What scarp_vector_rasterize_window saw of the source beyond its window. */
typedef struct {
    int64_t features;  /* features with a geometry in the grid's CRS */
    int64_t in_window; /* of which meeting the window (burnt) */
    int beyond;        /* 1: some feature's envelope reaches outside the window */
    int64_t gap_cells; /* the smallest Chebyshev gap, in whole cells, between the window and
                        * the envelope of a feature that misses it; -1 when none misses */
} scarp_rasterize_info;

/* As scarp_vector_rasterize, on any window of the grid's lattice (e.g. the grid padded
 * by a margin: the distance layers of src/data/stack.c), and without failing when no
 * feature meets the window: *info tells what lies outside. */
scarp_status scarp_vector_rasterize_window(const char *path, const scarp_grid *window, uint8_t *mask,
                                           scarp_rasterize_info *info);

/* A source read once (reprojected to a window's CRS) whose features are burnt by bands of
 * SCARP_BURN_BAND_ROWS rows of the window, each band rasterized on its own (GDAL's
 * rasterizer, ALL_TOUCHED, one chunk per band). The bands are fixed by the window, not by
 * the caller: burning rows [row0, row0 + rows) — whole bands: row0 a multiple of the band,
 * rows too or reaching the last row — gives the same cells whether the window is burnt at
 * once or strip by strip. *info as scarp_vector_rasterize_window, except that in_window
 * counts the features whose envelope meets the window (whether they burn a cell is known
 * per call: *burnt, the cells set, may be NULL). The window's wkt must outlive the burner. */
#define SCARP_BURN_BAND_ROWS 64
typedef struct scarp_vector_burner scarp_vector_burner;
scarp_status scarp_vector_burner_open(scarp_vector_burner **b, const char *path, const scarp_grid *window,
                                      scarp_rasterize_info *info);
scarp_status scarp_vector_burner_rows(scarp_vector_burner *b, int64_t row0, int64_t rows, uint8_t *mask,
                                      int64_t *burnt);
void scarp_vector_burner_close(scarp_vector_burner *b);

/* Writer: one layer per file. field_types is a string with one letter per field:
 * 'i' integer, 'r' real, 's' string, 'd' date (ISO yyyy-mm-dd). */
typedef struct scarp_vector_writer scarp_vector_writer;
scarp_status scarp_vector_writer_open(scarp_vector_writer **w, const char *path, const char *layer_name,
                                      const char *crs_wkt, scarp_geom_kind kind, const char *const *field_names,
                                      const char *field_types, int n_fields);
/* values: n_fields strings (NULL = unset). */
scarp_status scarp_vector_write_point(scarp_vector_writer *w, double x, double y, const char *const *values);
/* xy: n_points interleaved x, y. */
scarp_status scarp_vector_write_line(scarp_vector_writer *w, const double *xy, int n_points, const char *const *values);
scarp_status scarp_vector_writer_commit(scarp_vector_writer *w); /* frees w */
void scarp_vector_writer_abort(scarp_vector_writer *w);           /* deletes the partial file; accepts NULL */

#endif
