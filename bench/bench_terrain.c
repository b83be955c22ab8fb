/* bench_terrain.c — timings of the terrain kernels on a real-size DEM, end to end like the
 * peers (read GeoTIFF, compute, write GeoTIFF), with the time of each stage.
 *   bench_terrain slope DEM.tif OUTDIR   slope + aspect                 (vs gdaldem slope + aspect)
 *   bench_terrain hydro DEM.tif OUTDIR   fill + MFD + TWI + ln SPI      (vs SAGA ta_preprocessor,
 *                                         ta_hydrology 0 / 20 / 21)
 *   bench_terrain kernels DEM.tif        every kernel, no output (profiling)
 *   bench_terrain fill|mfd DEM.tif       fill (then MFD) alone, for perf stat / perf record
 * Threads: OMP_NUM_THREADS or --threads via scarp_threads_set (first extra argument). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/progress.h"
#include "scarp/raster.h"
#include "scarp/terrain.h"
#include "scarp/threads.h"

static double t0;
static void lap(const char *what)
{
    double t = scarp_now();
    fprintf(stderr, "  %-28s %7.3f s\n", what, t - t0);
    t0 = t;
}

static int die(const char *what)
{
    fprintf(stderr, "bench_terrain: %s: %s\n", what, scarp_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_terrain slope|hydro|kernels DEM.tif [OUTDIR] [THREADS]\n");
        return 2;
    }
    const char *mode = argv[1], *dem_path = argv[2], *dir = argc > 3 ? argv[3] : "/tmp";
    if (argc > 4) scarp_threads_set(atoi(argv[4]));
    double start = scarp_now();
    t0 = start;
    scarp_grid g;
    scarp_grid_init(&g);
    float *dem = NULL;
    if (scarp_raster_read(dem_path, 1, &g, &dem)) return die(dem_path);
    const int64_t w = g.width, h = g.height, n = w * h;
    scarp_cellsize cs;
    if (scarp_cellsize_init(&cs, &g)) return die("cell size");
    lap("read DEM");
    char path[4096];
    float *a = scarp_malloc((size_t)n * 4), *b = scarp_malloc((size_t)n * 4);
    if (!a || !b) return die("alloc");
    if (!strcmp(mode, "slope")) {
        if (scarp_slope_aspect(dem, w, h, &cs, a, b)) return die("slope");
        lap("slope + aspect");
        scarp_path_join(path, sizeof path, dir, "slope.tif");
        if (scarp_raster_write(path, &g, a, SCARP_OUT_FLOAT32, NULL)) return die(path);
        scarp_path_join(path, sizeof path, dir, "aspect.tif");
        if (scarp_raster_write(path, &g, b, SCARP_OUT_FLOAT32, NULL)) return die(path);
        lap("write 2 GeoTIFFs");
    } else if (!strcmp(mode, "hydro")) {
        /* SAGA gets its slope grid as an input; we compute ours and count it */
        if (scarp_slope_aspect(dem, w, h, &cs, b, NULL)) return die("slope");
        lap("slope (for TWI/SPI)");
        if (scarp_fill_depressions(dem, w, h, 1, dem, NULL)) return die("fill");
        lap("fill (priority-flood + eps)");
        scarp_path_join(path, sizeof path, dir, "filled.tif");
        if (scarp_raster_write(path, &g, dem, SCARP_OUT_FLOAT32, NULL)) return die(path);
        lap("write filled");
        if (scarp_flow_accumulation_mfd(dem, w, h, &cs, SCARP_MFD_EXPONENT, a, NULL)) return die("mfd");
        lap("MFD accumulation");
        scarp_path_join(path, sizeof path, dir, "flow_accumulation.tif");
        if (scarp_raster_write(path, &g, a, SCARP_OUT_FLOAT32, NULL)) return die(path);
        lap("write accumulation");
        scarp_specific_catchment_area(a, w, h, &cs, a);
        scarp_twi(a, b, n, 0, dem);
        lap("SCA + TWI");
        scarp_path_join(path, sizeof path, dir, "twi.tif");
        if (scarp_raster_write(path, &g, dem, SCARP_OUT_FLOAT32, NULL)) return die(path);
        lap("write TWI");
        scarp_spi_ln(a, b, n, 0, dem);
        lap("ln SPI");
        scarp_path_join(path, sizeof path, dir, "spi_ln.tif");
        if (scarp_raster_write(path, &g, dem, SCARP_OUT_FLOAT32, NULL)) return die(path);
        lap("write ln SPI");
    } else if (!strcmp(mode, "fill") || !strcmp(mode, "mfd")) {
        /* one kernel alone, for perf stat / perf record */
        t0 = scarp_now();
        if (scarp_fill_depressions(dem, w, h, 1, dem, NULL)) return die("fill");
        lap("fill (priority-flood + eps)");
        if (!strcmp(mode, "mfd")) {
            if (scarp_flow_accumulation_mfd(dem, w, h, &cs, SCARP_MFD_EXPONENT, a, NULL)) return die("mfd");
            lap("MFD accumulation");
        }
    } else if (!strcmp(mode, "kernels")) {
        float *c = scarp_malloc((size_t)n * 4);
        if (!c) return die("alloc");
        scarp_slope_aspect(dem, w, h, &cs, a, b);
        lap("slope + aspect");
        scarp_curvature(dem, w, h, &cs, a, b);
        lap("plan + profile curvature");
        scarp_fill_depressions(dem, w, h, 1, c, NULL);
        lap("fill (priority-flood + eps)");
        scarp_flow_accumulation_mfd(c, w, h, &cs, SCARP_MFD_EXPONENT, a, NULL);
        lap("MFD accumulation");
        scarp_flow_accumulation_d8(c, w, h, &cs, a, NULL);
        lap("D8 accumulation");
        uint8_t *m = scarp_malloc((size_t)n);
        for (int64_t i = 0; i < n; i++) m[i] = a[i] > 1e6f;
        t0 = scarp_now();
        scarp_distance_transform(m, w, h, &cs, b, NULL);
        lap("distance transform");
        scarp_free(m);
        scarp_free(c);
    } else {
        fprintf(stderr, "bench_terrain: unknown mode '%s'\n", mode);
        return 2;
    }
    fprintf(stderr, "  %-28s %7.3f s (threads %d)\n", "total", scarp_now() - start, scarp_threads_get());
    scarp_free(a);
    scarp_free(b);
    scarp_free(dem);
    scarp_cellsize_free(&cs);
    scarp_grid_free(&g);
    return 0;
}
