/* cmd_terrain.c — `scarp terrain DEM.tif --out DIR`: terrain derivatives of a DEM as GeoTIFFs
 * (slope, aspect, curvature, filled DEM, flow accumulation, SCA, TWI, ln SPI, rivers).
 * Each output is written crash-safely by a writer thread while the next one is computed
 * (GeoTIFF compression is single-threaded and slower than the kernels); at most two writes
 * are in flight, so memory peaks at about five float rasters. */
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/terrain.h"

static const char *CMD = "terrain";

static const char HEAD[] =
    "usage: scarp terrain DEM.tif --out DIR [options]\n"
    "\n"
    "Derives terrain layers from a DEM (any GDAL raster with a CRS; geographic DEMs use the\n"
    "true metric cell size of each row) and writes them as GeoTIFFs into DIR:\n"
    "  slope.tif aspect.tif plan_curvature.tif profile_curvature.tif filled.tif\n"
    "  flow_accumulation.tif (m²) sca.tif (m) twi.tif spi_ln.tif rivers.tif (Byte 0/1)\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp terrain dem.tif --out terrain\n"
    "  scarp terrain nasadem_N44W072_3arcsec.tif --out nh --flow d8 --threads 2\n"
    "  scarp terrain dem.tif --out hydro --only filled,flow_accumulation,twi,spi_ln\n";

typedef struct {
    const char *name;        /* file name in DIR */
    const char *description; /* band description */
} output_def;

enum { OUT_SLOPE, OUT_ASPECT, OUT_PLAN, OUT_PROFILE, OUT_FILLED, OUT_ACC, OUT_RIVERS, OUT_SCA, OUT_TWI, OUT_SPI, N_OUT };
static const output_def OUTPUTS[N_OUT] = {
    {"slope.tif", "slope (degrees, Horn 1981)"},
    {"aspect.tif", "aspect (degrees clockwise from north, downslope; 0 on flats)"},
    {"plan_curvature.tif", "plan curvature (1/m, Zevenbergen & Thorne 1987; > 0 convergent)"},
    {"profile_curvature.tif", "profile curvature (1/m, Zevenbergen & Thorne 1987; > 0 convex)"},
    {"filled.tif", "depression-filled DEM (priority-flood + epsilon, Barnes et al. 2014)"},
    {"flow_accumulation.tif", "contributing area (m²)"},
    {"rivers.tif", "river cells (1) by contributing-area threshold"},
    {"sca.tif", "specific catchment area (m)"},
    {"twi.tif", "topographic wetness index ln(a / tan b)"},
    {"spi_ln.tif", "ln of the stream power index ln(a tan b)"},
};

/* The writer: GeoTIFFs written on worker threads while the caller computes the next output.
 * Two writes may be in flight (compression is single-threaded per file, so two files use
 * both cores); a third submit waits for the older one. */
typedef struct {
    pthread_t thread;
    int busy, which, owned;
    float *data;
    scarp_out_type type;
    const char *path;
    const scarp_grid *grid;
    scarp_status status;
    double seconds;
    char message[1024];
} write_job;

typedef struct {
    char paths[N_OUT][4096];
    int written[N_OUT];
    const scarp_grid *grid;
    write_job job[2];
    int next; /* the slot the next submit uses (the older job) */
} out_writer;

static void *writer_main(void *arg)
{
    write_job *j = arg;
    scarp_raster_meta meta = {0};
    meta.description = OUTPUTS[j->which].description;
    double t0 = scarp_now();
    j->status = scarp_raster_write(j->path, j->grid, j->data, j->type, &meta);
    j->seconds = scarp_now() - t0;
    if (j->status != SCARP_OK) snprintf(j->message, sizeof j->message, "%s", scarp_last_error());
    return NULL;
}

/* After a write: frees an owned buffer, records the file, reports; a failure becomes this
 * thread's error. */
static scarp_status writer_finish(out_writer *o, write_job *j)
{
    if (j->owned) scarp_free(j->data);
    j->data = NULL;
    if (j->status != SCARP_OK) return scarp_fail(j->status, "%s", j->message);
    o->written[j->which] = 1;
    scarp_info("%s: written in %.1f s", j->path, j->seconds);
    return SCARP_OK;
}

static scarp_status job_wait(out_writer *o, write_job *j)
{
    if (!j->busy) return SCARP_OK;
    pthread_join(j->thread, NULL);
    j->busy = 0;
    return writer_finish(o, j);
}

/* Waits for every write in flight (older first); the first failure is returned. */
static scarp_status writer_wait(out_writer *o)
{
    scarp_status a = job_wait(o, &o->job[o->next]);
    scarp_status b = job_wait(o, &o->job[o->next ^ 1]);
    return a != SCARP_OK ? a : b;
}

/* Starts writing output `which` from data. An owned buffer is freed after its write; a
 * borrowed one must stay unchanged until writer_wait(). */
static scarp_status writer_submit(out_writer *o, int which, float *data, scarp_out_type type, int owned)
{
    write_job *j = &o->job[o->next];
    scarp_status st = job_wait(o, j);
    if (st != SCARP_OK) {
        if (owned) scarp_free(data);
        return st;
    }
    o->next ^= 1;
    j->which = which;
    j->data = data;
    j->type = type;
    j->owned = owned;
    j->path = o->paths[which];
    j->grid = o->grid;
    if (pthread_create(&j->thread, NULL, writer_main, j) != 0) {
        writer_main(j); /* no thread to spare: write here */
        return writer_finish(o, j);
    }
    j->busy = 1;
    return SCARP_OK;
}

/* A failed run leaves none of its outputs behind (a folder is never half old, half new). */
static void remove_outputs(out_writer *o)
{
    for (int k = 0; k < N_OUT; k++)
        if (o->written[k]) unlink(o->paths[k]);
}

/* Parses --only a,b,c (names with or without .tif) into want[]. */
static int parse_only(const char *list, int want[N_OUT])
{
    for (int k = 0; k < N_OUT; k++) want[k] = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int k = 0; k < N_OUT; k++) {
            size_t len = strlen(OUTPUTS[k].name) - 4; /* without ".tif" */
            if ((strlen(tok) == len && !strncmp(tok, OUTPUTS[k].name, len)) || !strcmp(tok, OUTPUTS[k].name)) {
                want[k] = found = 1;
            }
        }
        if (!found) {
            cli_usage_error(CMD, "--only: unknown output '%s' (known: slope aspect plan_curvature profile_curvature "
                            "filled flow_accumulation rivers sca twi spi_ln)", tok);
            return -1;
        }
    }
    return 0;
}

/* Runs a compute step as a one-unit progress task; on failure frees `tmp` and ends. */
#define STEP(progress, label, expr, tmp)                                                                             \
    do {                                                                                                             \
        scarp_progress_begin(progress, label, 1);                                                                    \
        st = (expr);                                                                                                 \
        if (st != SCARP_OK) {                                                                                        \
            scarp_free(tmp);                                                                                         \
            goto end;                                                                                                \
        }                                                                                                            \
        scarp_progress_step(progress, 1);                                                                            \
        scarp_progress_end(progress);                                                                                \
    } while (0)

static int parse_flow(const char *cmd, const char *arg, void *target)
{
    if (strcmp(arg, "mfd") && strcmp(arg, "d8")) {
        cli_usage_error(cmd, "--flow must be 'mfd' or 'd8' (got '%s')", arg);
        return -1;
    }
    *(const char **)target = arg;
    return 0;
}

static int parse_exponent(const char *cmd, const char *arg, void *target)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0.0) || v > 100.0) {
        cli_usage_error(cmd, "--mfd-exponent must be a number in (0, 100] (got '%s')", arg);
        return -1;
    }
    *(double *)target = v;
    return 0;
}

static int parse_river_area(const char *cmd, const char *arg, void *target)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0.0) || isinf(v)) {
        cli_usage_error(cmd, "--river-area must be a positive area in m² (got '%s')", arg);
        return -1;
    }
    *(double *)target = v;
    return 0;
}

static int parse_only_option(const char *cmd, const char *arg, void *target) { return parse_only(arg, target); }

int cmd_terrain(int argc, char **argv)
{
    cli_common common = {0};
    const char *flow = "mfd";
    double exponent = SCARP_MFD_EXPONENT, river_area = 0.0; /* 0: automatic */
    int band = 1;
    int want[N_OUT];
    for (int k = 0; k < N_OUT; k++) want[k] = 1;
    const cli_option options[] = {
        CLI_OPTION_NEW_OUT(&common),
        {"flow", 0, CLI_CUSTOM, "mfd|d8", "flow routing: multiple (Freeman 1991, default) or single direction", &flow,
         0, 0, parse_flow},
        {"mfd-exponent", 0, CLI_CUSTOM, "P", "MFD exponent (default 1.1, as SAGA)", &exponent, 0, 0, parse_exponent},
        {"river-area", 0, CLI_CUSTOM, "M2", "contributing area (m²) from which a cell is a river\n"
         "(default 1e6, or 100 cells when cells are larger than 100 x 100 m)", &river_area, 0, 0, parse_river_area},
        {"only", 0, CLI_CUSTOM, "LIST", "comma-separated subset of the outputs above (names without .tif)", want, 0, 0,
         parse_only_option},
        {"band", 0, CLI_INT, "N", "DEM band (default 1)", &band, 1, 65535, 0},
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_PROGRESS(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {CMD, HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (optind >= argc) return cli_usage_error(CMD, "missing the DEM file");
    if (optind + 1 < argc) return cli_usage_error(CMD, "one DEM only (extra argument '%s')", argv[optind + 1]);
    if (!common.out) return cli_usage_error(CMD, "--out DIR is required");
    const char *dem_path = argv[optind];
    cli_common_apply(&common);
    /* GDAL's block cache (default 5 % of RAM) would hold a whole output raster while it is
     * compressed; 32 MB keeps the peak at our own rasters. A user's setting wins. */
    setenv("GDAL_CACHEMAX", "32", 0);

    scarp_progress progress_state;
    cli_progress_init(&progress_state, &common);
    scarp_progress *progress = &progress_state;
    scarp_grid grid;
    scarp_grid_init(&grid);
    scarp_cellsize cs = {0};
    float *dem = NULL, *slope = NULL, *acc = NULL;
    out_writer wr = {0};
    scarp_status st = SCARP_OK;
    int lock_rc = 0; /* exit code of a refused run-folder lock (message printed) */

    /* ---- validate the input before anything is written ---- */
    if (access(dem_path, R_OK) != 0) {
        st = scarp_fail(SCARP_ERR_IO, "%s: no such file or not readable", dem_path);
        goto end;
    }
    if ((st = scarp_raster_read(dem_path, (int)band, &grid, &dem)) != SCARP_OK) goto end;
    if (!grid.wkt || !grid.wkt[0]) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the raster has no CRS, so its cell size in metres is unknown "
                        "(assign one with gdal_edit.py -a_srs EPSG:...)", dem_path);
        goto end;
    }
    const int64_t w = grid.width, h = grid.height, n = w * h;
    int64_t valid = 0;
    for (int64_t i = 0; i < n; i++) valid += !isnan(dem[i]);
    if (valid == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: every cell is nodata", dem_path);
        goto end;
    }
    if ((st = scarp_cellsize_init(&cs, &grid)) != SCARP_OK) goto end;
    if ((st = scarp_mkdir_p(common.out)) != SCARP_OK) goto end;
    if ((lock_rc = cli_lock_out(CMD, common.out))) goto end;
    wr.grid = &grid;
    for (int k = 0; k < N_OUT; k++)
        if ((st = scarp_path_join(wr.paths[k], sizeof wr.paths[k], common.out, OUTPUTS[k].name)) != SCARP_OK)
            goto end;
    /* default river threshold: 1 km², but never fewer than 100 cells (coarse DEMs) */
    if (river_area == 0.0) river_area = fmax(1e6, 100.0 * cs.dx_row[h / 2] * cs.dy_row[h / 2]);
    scarp_info("scarp terrain: %s, %lld x %lld cells (%s, cell %.4g x %.4g m at the centre row), %s flow, "
               "rivers from %.4g m²", dem_path, (long long)w, (long long)h, scarp_grid_crs_name(&grid),
               cs.dx_row[h / 2], cs.dy_row[h / 2], flow, river_area);

    /* what each output needs */
    const int need_slope = want[OUT_SLOPE] || want[OUT_TWI] || want[OUT_SPI];
    const int need_sca = want[OUT_SCA] || want[OUT_TWI] || want[OUT_SPI];
    const int need_acc = want[OUT_ACC] || want[OUT_RIVERS] || need_sca;
    const int need_fill = want[OUT_FILLED] || need_acc;
    const size_t bytes = (size_t)n * sizeof(float);
    float *buf;
#define NEW_BUFFER(ptr)                                                                                              \
    do {                                                                                                             \
        if (!((ptr) = scarp_malloc(bytes))) {                                                                        \
            st = SCARP_ERR_NOMEM;                                                                                    \
            goto end;                                                                                                \
        }                                                                                                            \
    } while (0)
#define SUBMIT(which, ptr, type, owned)                                                                              \
    do {                                                                                                             \
        if ((st = writer_submit(&wr, which, ptr, type, owned)) != SCARP_OK) goto end;                                \
    } while (0)

    if (need_slope || want[OUT_ASPECT]) {
        float *aspect = NULL;
        NEW_BUFFER(slope);
        if (want[OUT_ASPECT]) NEW_BUFFER(aspect);
        scarp_progress_begin(progress, "slope and aspect", 1);
        st = scarp_slope_aspect(dem, w, h, &cs, slope, aspect);
        if (st != SCARP_OK) {
            scarp_free(aspect);
            goto end;
        }
        scarp_progress_step(progress, 1);
        scarp_progress_end(progress);
        if (aspect) SUBMIT(OUT_ASPECT, aspect, SCARP_OUT_FLOAT32, 1);
    }
    if (want[OUT_PLAN]) {
        NEW_BUFFER(buf);
        STEP(progress, "plan curvature", scarp_curvature(dem, w, h, &cs, buf, NULL), buf);
        SUBMIT(OUT_PLAN, buf, SCARP_OUT_FLOAT32, 1);
    }
    if (want[OUT_PROFILE]) {
        NEW_BUFFER(buf);
        STEP(progress, "profile curvature", scarp_curvature(dem, w, h, &cs, NULL, buf), buf);
        SUBMIT(OUT_PROFILE, buf, SCARP_OUT_FLOAT32, 1);
    }
    /* the raw DEM is not needed any more: fill it in place (single-threaded; the writer
     * compresses the previous output on the other core meanwhile) */
    if (need_fill && (st = scarp_fill_depressions(dem, w, h, 1, dem, progress)) != SCARP_OK) goto end;
    if (want[OUT_SLOPE]) SUBMIT(OUT_SLOPE, slope, SCARP_OUT_FLOAT32, 0);
    if (need_acc) {
        NEW_BUFFER(acc);
        if (!strcmp(flow, "d8")) st = scarp_flow_accumulation_d8(dem, w, h, &cs, acc, progress);
        else st = scarp_flow_accumulation_mfd(dem, w, h, &cs, exponent, acc, progress);
        if (st != SCARP_OK) goto end;
    }
    if (want[OUT_FILLED]) SUBMIT(OUT_FILLED, dem, SCARP_OUT_FLOAT32, 0);
    if (want[OUT_RIVERS]) {
        NEW_BUFFER(buf);
        STEP(progress, "rivers", scarp_rivers_from_accumulation(acc, n, river_area, buf), buf);
        SUBMIT(OUT_RIVERS, buf, SCARP_OUT_BYTE, 1);
    }
    if (want[OUT_ACC]) SUBMIT(OUT_ACC, acc, SCARP_OUT_FLOAT32, 0);
    /* every write that reads the filled DEM or the accumulation is done after this wait */
    if ((st = writer_wait(&wr)) != SCARP_OK) goto end;
    scarp_free(dem);
    dem = NULL;
    if (need_sca) {
        STEP(progress, "specific catchment area", scarp_specific_catchment_area(acc, w, h, &cs, acc), NULL);
        if (want[OUT_SCA]) SUBMIT(OUT_SCA, acc, SCARP_OUT_FLOAT32, 0);
    }
    if (want[OUT_TWI] || want[OUT_SPI]) {
        /* TWI and SPI share one buffer: the SPI step waits for the TWI write (0.2 s of compute
         * behind it) rather than hold another raster */
        NEW_BUFFER(buf);
        if (want[OUT_TWI]) {
            STEP(progress, "TWI", scarp_twi(acc, slope, n, SCARP_MIN_TAN_SLOPE, buf), buf);
            if ((st = writer_submit(&wr, OUT_TWI, buf, SCARP_OUT_FLOAT32, !want[OUT_SPI])) != SCARP_OK) {
                if (want[OUT_SPI]) scarp_free(buf);
                goto end;
            }
        }
        if (want[OUT_SPI]) {
            if ((st = writer_wait(&wr)) != SCARP_OK) {
                scarp_free(buf);
                goto end;
            }
            STEP(progress, "ln SPI", scarp_spi_ln(acc, slope, n, SCARP_MIN_TAN_SLOPE, buf), buf);
            SUBMIT(OUT_SPI, buf, SCARP_OUT_FLOAT32, 1);
        }
    }
    if ((st = writer_wait(&wr)) != SCARP_OK) goto end;
    int count = 0;
    for (int k = 0; k < N_OUT; k++) count += wr.written[k];
    scarp_info("scarp terrain: wrote %d rasters into %s", count, common.out);

end:
    {
        scarp_status wst = writer_wait(&wr);
        if (st == SCARP_OK) st = wst;
    }
    if (st != SCARP_OK) remove_outputs(&wr);
    scarp_free(dem);
    scarp_free(slope);
    scarp_free(acc);
    scarp_cellsize_free(&cs);
    scarp_grid_free(&grid);
    if (lock_rc) return lock_rc;
    return st == SCARP_OK ? 0 : cli_fail(CMD, st);
}
