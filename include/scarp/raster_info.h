/* raster_info.h — a description of any raster GDAL reads, for `scarp info`: grid, CRS,
 * size, resolution, extent, and per band its type, nodata and exact statistics over the
 * valid cells (read by strips: bounded memory). Implemented in src/io/raster_info.c. */
#ifndef SCARP_RASTER_INFO_H
#define SCARP_RASTER_INFO_H
#include <stdint.h>
#include <stdio.h>
#include "scarp/status.h"

/* 1 if GDAL opens `path` as a raster, 0 otherwise (no error message is set). */
int scarp_raster_probe(const char *path);

/* Prints the description to `out`. A band with no valid cell prints "no valid cell".
 * Errors (missing file, not a raster, read failure) name the file. */
scarp_status scarp_raster_describe(const char *path, FILE *out);

#endif
