/* raster.h — raster input/output through GDAL (the only module that includes gdal.h).
 * In memory, every layer is float32 with NaN for nodata (the explicit nodata policy:
 * a cell is valid iff !isnan). Files keep their own nodata value. */
#ifndef SCARP_RASTER_H
#define SCARP_RASTER_H
#include <stdint.h>
#include "scarp/grid.h"
#include "scarp/status.h"

typedef enum { SCARP_RESAMPLE_BILINEAR = 0, SCARP_RESAMPLE_NEAREST, SCARP_RESAMPLE_MODE } scarp_resample;

/* How an input was aligned onto the reference grid (for the pre-flight report). */
typedef struct {
    char crs[128];            /* input CRS name */
    double res_x, res_y;      /* input resolution (input CRS units) */
    double extent[4];         /* xmin ymin xmax ymax in input CRS */
    int has_nodata;
    double nodata;
    int reprojected;          /* CRS differs from the grid's */
    int resampled;            /* geotransform or size differs */
    scarp_resample method;
    int has_mask;             /* a mask band (internal, .msk or alpha) marks invalid cells:
                                 they are read as NaN whatever value they store */
} scarp_align_info;

/* Reads band `band` (1-based) of `path` in its own grid. *data is float32 (NaN = nodata),
 * owned by the caller (scarp_free). */
scarp_status scarp_raster_read(const char *path, int band, scarp_grid *grid, float **data);

/* A source of one band warped onto a reference grid (GDAL warped VRT, or the file itself
 * when it is already on the grid), read by windows. */
typedef struct scarp_warped scarp_warped;
scarp_status scarp_warped_open(scarp_warped **w, const char *path, int band, const scarp_grid *grid,
                               scarp_resample method, scarp_align_info *info);
/* Reads the window [col0, col0+w) × [row0, row0+h) of the warped band into out (w*h, row-major,
 * NaN = nodata). Parts of the window outside the grid are NaN. Thread-safe per handle: no;
 * open one handle per thread. */
scarp_status scarp_warped_read(scarp_warped *w, int64_t col0, int64_t row0, int64_t width, int64_t height,
                               float *out);
void scarp_warped_close(scarp_warped *w);

/* Convenience: the whole band warped onto the grid (w*h floats, caller frees). */
scarp_status scarp_raster_read_warped(const char *path, int band, const scarp_grid *grid,
                                      scarp_resample method, float **data, scarp_align_info *info);

/* Output types. */
typedef enum { SCARP_OUT_FLOAT32 = 0, SCARP_OUT_BYTE, SCARP_OUT_INT16, SCARP_OUT_UINT16 } scarp_out_type;

/* Optional extras for a written raster. */
typedef struct {
    const char *description;       /* band description */
    const char *const *class_names; /* Byte rasters: category names (n_classes) */
    const uint8_t (*colors)[4];     /* Byte rasters: RGBA colour table (n_classes) */
    int n_classes;
    int cog;                        /* 1: write a Cloud-Optimized GeoTIFF */
    int fast;                       /* 1: ZSTD level 1 without predictor instead of DEFLATE (+ floating-
                                       point predictor for Float32): ~4x faster to decode, ~2x faster to
                                       write, 1.1-2x larger; for intermediate products read many times
                                       (the layer stack). Ignored with cog. */
    int threads;                    /* > 1: GDAL compresses blocks in that many worker threads (GTiff
                                       NUM_THREADS); for a writer fed by one thread */
    int raw_intermediate;           /* with cog: the GTiff converted at commit is uncompressed (it is
                                       read once and deleted: no codec on either side); the caller
                                       checks the space first (scarp_raster_raw_intermediates_fit) */
} scarp_raster_meta;

/* 1 when `bytes` of uncompressed COG intermediates may be written in dir at once: at most
 * 8 GB, and the file system keeps twice that plus 1 GB free. Otherwise the intermediates are
 * ZSTD level 1 (~0.8 of the size for probabilities, 0.3 s of CPU per 16 M cells each way). */
int scarp_raster_raw_intermediates_fit(const char *dir, int64_t bytes);

/* Writes a whole float layer (NaN → nodata) as a tiled, compressed GeoTIFF, crash-safely
 * (written to "<path>.partial" then renamed). Float32: nodata -9999; Byte: 255;
 * Int16: -32768; UInt16: 65535. meta may be NULL. */
scarp_status scarp_raster_write(const char *path, const scarp_grid *grid, const float *data,
                                scarp_out_type type, const scarp_raster_meta *meta);

/* Block writer for rasters larger than memory: open, write windows, commit. */
typedef struct scarp_raster_writer scarp_raster_writer;
scarp_status scarp_raster_writer_open(scarp_raster_writer **wr, const char *path, const scarp_grid *grid,
                                      scarp_out_type type, const scarp_raster_meta *meta);
/* Reopens an existing "<path>.partial" to continue writing (resumable map tiles). */
scarp_status scarp_raster_writer_resume(scarp_raster_writer **wr, const char *path);
scarp_status scarp_raster_writer_write(scarp_raster_writer *wr, int64_t col0, int64_t row0, int64_t width,
                                       int64_t height, const float *data);
/* Flushes, converts to COG if asked, renames into place. Frees wr. */
scarp_status scarp_raster_writer_commit(scarp_raster_writer *wr);
/* Abandons the output: closes and deletes the partial file. Frees wr. Accepts NULL. */
void scarp_raster_writer_abort(scarp_raster_writer *wr);

/* A float32 scratch raster on disk for intermediate products larger than memory (the tiled
 * terrain chain): an uncompressed GeoTIFF in 256² blocks, read and written by windows in any
 * order. NaN is stored as is. Reads of cells outside the grid give NaN; writes must lie inside.
 * scarp_scratch_close deletes the file. Not thread-safe per handle. */
typedef struct scarp_scratch scarp_scratch;
scarp_status scarp_scratch_create(scarp_scratch **s, const char *path, const scarp_grid *grid);
scarp_status scarp_scratch_read(scarp_scratch *s, int64_t col0, int64_t row0, int64_t width, int64_t height,
                                float *out);
scarp_status scarp_scratch_write(scarp_scratch *s, int64_t col0, int64_t row0, int64_t width, int64_t height,
                                 const float *data);
void scarp_scratch_close(scarp_scratch *s);

/* GDAL's block cache limit in bytes (process-wide): sets it (bytes >= 0) and returns the
 * previous one; bytes < 0 only queries. */
int64_t scarp_gdal_cache_set(int64_t bytes);

/* The GDAL release in use ("3.6.2"). */
const char *scarp_gdal_version(void);

/* Initialises GDAL/OGR once (idempotent, thread-safe). */
void scarp_gdal_init(void);

#endif
