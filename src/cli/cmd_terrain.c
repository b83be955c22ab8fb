/* cmd_terrain.c — `scarp terrain DEM.tif --out DIR`: every terrain derivative of a DEM as
 * GeoTIFFs (slope, aspect, curvature, filled DEM, flow accumulation, SCA, TWI, ln SPI, rivers).
 * Memory: three float rasters at the peak (DEM, slope, one work buffer); each output is
 * written crash-safely and freed before the next is computed. */
#include <getopt.h>
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

static void help(FILE *f)
{
    fprintf(f,
            "usage: scarp terrain DEM.tif --out DIR [options]\n"
            "\n"
            "Derives terrain layers from a DEM (any GDAL raster with a CRS; geographic DEMs use the\n"
            "true metric cell size of each row) and writes them as GeoTIFFs into DIR:\n"
            "  slope.tif aspect.tif plan_curvature.tif profile_curvature.tif filled.tif\n"
            "  flow_accumulation.tif (m²) sca.tif (m) twi.tif spi_ln.tif rivers.tif (Byte 0/1)\n"
            "\n"
            "options:\n"
            "  --out DIR            output folder (created if missing; required)\n"
            "  --flow mfd|d8        flow routing: multiple (Freeman 1991, default) or single direction\n"
            "  --mfd-exponent P     MFD exponent (default 1.1, as SAGA)\n"
            "  --river-area M2      contributing area (m²) above which a cell is a river (default 1e6)\n"
            "  --band N             DEM band (default 1)\n"
            "  --threads N          threads (0 = all cores, default)\n"
            "  --quiet              no progress output\n"
            "  --help               this text\n"
            "\n"
            "examples:\n"
            "  scarp terrain dem.tif --out terrain\n"
            "  scarp terrain nasadem_N44W072_3arcsec.tif --out nh --flow d8 --threads 2\n");
}

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

typedef struct {
    const char *dir;
    char paths[N_OUT][4096];
    int written[N_OUT];
    const scarp_grid *grid;
    scarp_progress *progress;
} out_set;

static scarp_status write_output(out_set *o, int which, const float *data, scarp_out_type type)
{
    scarp_raster_meta meta = {0};
    meta.description = OUTPUTS[which].description;
    scarp_progress_begin(o->progress, OUTPUTS[which].name, 1);
    scarp_status st = scarp_raster_write(o->paths[which], o->grid, data, type, &meta);
    if (st == SCARP_OK) {
        o->written[which] = 1;
        scarp_progress_step(o->progress, 1);
        scarp_progress_end(o->progress);
    }
    return st;
}

/* A failed run leaves none of its outputs behind (a folder is never half old, half new). */
static void remove_outputs(out_set *o)
{
    for (int k = 0; k < N_OUT; k++)
        if (o->written[k]) unlink(o->paths[k]);
}

/* Runs a compute step with a one-unit progress task around it. */
#define STEP(progress, label, expr)                                                                                  \
    do {                                                                                                             \
        scarp_progress_begin(progress, label, 1);                                                                    \
        st = (expr);                                                                                                 \
        if (st != SCARP_OK) goto end;                                                                                \
        scarp_progress_step(progress, 1);                                                                            \
        scarp_progress_end(progress);                                                                                \
    } while (0)

int cmd_terrain(int argc, char **argv)
{
    cli_common common = {0};
    const char *flow = "mfd";
    double exponent = SCARP_MFD_EXPONENT, river_area = 1e6;
    long band = 1;
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS,
                                             {"flow", required_argument, 0, 'f'},
                                             {"mfd-exponent", required_argument, 0, 'e'},
                                             {"river-area", required_argument, 0, 'r'},
                                             {"band", required_argument, 0, 'b'},
                                             {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int handled = cli_common_option(&common, opt, optarg, CMD);
        if (handled < 0) return 2;
        if (handled) continue;
        char *end;
        switch (opt) {
        case 'h': help(stdout); return 0;
        case 'f':
            if (strcmp(optarg, "mfd") && strcmp(optarg, "d8"))
                return cli_usage_error(CMD, "--flow must be 'mfd' or 'd8' (got '%s')", optarg);
            flow = optarg;
            break;
        case 'e':
            exponent = strtod(optarg, &end);
            if (end == optarg || *end || !(exponent > 0.0) || exponent > 100.0)
                return cli_usage_error(CMD, "--mfd-exponent must be a number in (0, 100] (got '%s')", optarg);
            break;
        case 'r':
            river_area = strtod(optarg, &end);
            if (end == optarg || *end || !(river_area > 0.0) || isinf(river_area))
                return cli_usage_error(CMD, "--river-area must be a positive area in m² (got '%s')", optarg);
            break;
        case 'b':
            if (cli_parse_int(CMD, "--band", optarg, 1, 65535, &band)) return 2;
            break;
        case '?':
            if (optopt) return cli_usage_error(CMD, "option -%c is unknown or lacks its value", optopt);
            return cli_usage_error(CMD, "unknown option or missing value: '%s'", argv[optind - 1]);
        default: return cli_usage_error(CMD, "unexpected option");
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "missing the DEM file");
    if (optind + 1 < argc) return cli_usage_error(CMD, "one DEM only (extra argument '%s')", argv[optind + 1]);
    if (!common.out) return cli_usage_error(CMD, "--out DIR is required");
    const char *dem_path = argv[optind];
    cli_common_apply(&common);

    scarp_progress progress_state;
    scarp_progress_init(&progress_state, common.quiet);
    scarp_progress *progress = &progress_state;
    scarp_grid grid;
    scarp_grid_init(&grid);
    scarp_cellsize cs = {0};
    float *dem = NULL, *slope = NULL, *work = NULL;
    out_set outs = {0};
    scarp_status st = SCARP_OK;

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
    outs.dir = common.out;
    outs.grid = &grid;
    outs.progress = progress;
    for (int k = 0; k < N_OUT; k++)
        if ((st = scarp_path_join(outs.paths[k], sizeof outs.paths[k], common.out, OUTPUTS[k].name)) != SCARP_OK)
            goto end;
    scarp_info("scarp terrain: %s, %lld x %lld cells (%s, cell %.4g x %.4g m at the centre row), %s flow",
               dem_path, (long long)w, (long long)h, scarp_grid_crs_name(&grid), cs.dx_row[h / 2], cs.dy_row[h / 2],
               flow);

    slope = scarp_malloc((size_t)n * sizeof(float));
    work = scarp_malloc((size_t)n * sizeof(float));
    if (!slope || !work) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    /* slope is kept for TWI/SPI; aspect and curvature pass through the work buffer */
    STEP(progress, "slope and aspect", scarp_slope_aspect(dem, w, h, &cs, slope, work));
    if ((st = write_output(&outs, OUT_SLOPE, slope, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    if ((st = write_output(&outs, OUT_ASPECT, work, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    STEP(progress, "plan curvature", scarp_curvature(dem, w, h, &cs, work, NULL));
    if ((st = write_output(&outs, OUT_PLAN, work, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    STEP(progress, "profile curvature", scarp_curvature(dem, w, h, &cs, NULL, work));
    if ((st = write_output(&outs, OUT_PROFILE, work, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;

    /* the DEM is filled in place: the raw DEM is not needed any more */
    if ((st = scarp_fill_depressions(dem, w, h, 1, dem, progress)) != SCARP_OK) goto end;
    if ((st = write_output(&outs, OUT_FILLED, dem, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    if (!strcmp(flow, "d8")) st = scarp_flow_accumulation_d8(dem, w, h, &cs, work, progress);
    else st = scarp_flow_accumulation_mfd(dem, w, h, &cs, exponent, work, progress);
    if (st != SCARP_OK) goto end;
    if ((st = write_output(&outs, OUT_ACC, work, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;

    /* the filled DEM's buffer now takes rivers, then TWI and SPI */
    float *out = dem;
    STEP(progress, "rivers", scarp_rivers_from_accumulation(work, n, river_area, out));
    if ((st = write_output(&outs, OUT_RIVERS, out, SCARP_OUT_BYTE)) != SCARP_OK) goto end;
    STEP(progress, "specific catchment area", scarp_specific_catchment_area(work, w, h, &cs, work));
    if ((st = write_output(&outs, OUT_SCA, work, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    STEP(progress, "TWI", scarp_twi(work, slope, n, SCARP_MIN_TAN_SLOPE, out));
    if ((st = write_output(&outs, OUT_TWI, out, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    STEP(progress, "ln SPI", scarp_spi_ln(work, slope, n, SCARP_MIN_TAN_SLOPE, out));
    if ((st = write_output(&outs, OUT_SPI, out, SCARP_OUT_FLOAT32)) != SCARP_OK) goto end;
    scarp_info("scarp terrain: wrote %d rasters into %s", N_OUT, common.out);

end:
    if (st != SCARP_OK) remove_outputs(&outs);
    scarp_free(dem);
    scarp_free(slope);
    scarp_free(work);
    scarp_cellsize_free(&cs);
    scarp_grid_free(&grid);
    return st == SCARP_OK ? 0 : cli_fail(CMD, st);
}
