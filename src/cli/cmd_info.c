/* cmd_info.c — `scarp info FILE`: describes a raster (grid, CRS, bands, nodata, stats),
 * a run folder (its layer stack) or a model file (scarp_model_describe). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "scarp/fsutil.h"
#include "scarp/grid.h"
#include "scarp/nn.h"
#include "scarp/raster_info.h"
#include "scarp/stack.h"

static const char HEAD[] =
    "usage: scarp info FILE\n"
    "\n"
    "Describes FILE:\n"
    "  a raster      grid, CRS, size, resolution, extent; per band its type, nodata\n"
    "                value and statistics (valid cells, min, max, mean)\n"
    "  a run folder  (one holding stack/stack.json) the grid and every layer of the\n"
    "                stack: kind, source, statistics, categories\n"
    "  a model file  architecture, sizes and parameter counts\n"
    "\n";

static const char TAIL[] =
    "Examples:\n"
    "  scarp info dem.tif\n"
    "  scarp info run/             # after scarp prepare\n"
    "  scarp info run/models/cnn_lstm.model\n"
    "\n"
    "Exit status: 0 described, 1 missing or unreadable FILE, 2 usage error.\n";

static const char *kind_name(scarp_layer_kind k)
{
    return k == SCARP_KIND_CATEGORICAL ? "categorical" : k == SCARP_KIND_CIRCULAR ? "circular" : "continuous";
}

static const char *source_name(scarp_layer_source s)
{
    return s == SCARP_SOURCE_DERIVED ? "derived" : s == SCARP_SOURCE_DISTANCE ? "distance"
                                               : s == SCARP_SOURCE_NDVI     ? "ndvi"
                                                                            : "raster";
}

static int describe_run(const char *dir)
{
    scarp_stack s;
    scarp_status st = scarp_stack_open(&s, dir);
    if (st) return cli_fail("info", st);
    const scarp_grid *g = &s.grid;
    int64_t cells = scarp_grid_cells(g);
    double x0 = g->gt[0], x1 = g->gt[0] + g->width * g->gt[1], y1 = g->gt[3], y0 = g->gt[3] + g->height * g->gt[5];
    printf("%s: run folder with a layer stack of %d layers\n", dir, s.n_layers);
    printf("  CRS         %s\n", scarp_grid_crs_name(g));
    printf("  size        %lld x %lld cells (%lld)\n", (long long)g->width, (long long)g->height, (long long)cells);
    printf("  resolution  %.10g x %.10g\n", fabs(g->gt[1]), fabs(g->gt[5]));
    printf("  extent      %.10g %.10g %.10g %.10g (xmin ymin xmax ymax)\n", fmin(x0, x1), fmin(y0, y1), fmax(x0, x1),
           fmax(y0, y1));
    printf("  valid cells %lld (%.2f %%)\n", (long long)s.valid_cells,
           cells ? 100.0 * (double)s.valid_cells / (double)cells : 0.0);
    printf("  %-20s %-12s %-9s %12s %12s %12s %12s %12s\n", "layer", "kind", "source", "valid", "min", "max", "mean",
           "sd");
    for (int l = 0; l < s.n_layers; l++) {
        const scarp_stack_layer *L = &s.layers[l];
        printf("  %-20s %-12s %-9s %12lld %12.6g %12.6g %12.6g %12.6g\n", L->name, kind_name(L->kind),
               source_name(L->source), (long long)L->valid_cells, L->min, L->max, L->mean, L->sd);
        if (L->n_categories > 0) {
            printf("    categories (%d):", L->n_categories);
            for (int c = 0; c < L->n_categories; c++) printf(" %d", L->categories[c]);
            printf("\n");
        }
    }
    char pf[2048];
    snprintf(pf, sizeof pf, "%s/preflight.txt", dir);
    if (scarp_file_exists(pf)) printf("  pre-flight report: %s\n", pf);
    scarp_stack_free(&s);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    cli_common common = {0};
    const cli_option options[] = {
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {"info", HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (argc - optind != 1) return cli_usage_error("info", "expects exactly one FILE");
    cli_common_apply(&common);
    const char *path = argv[optind];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "scarp info: %s: no such file or folder\n", path);
        return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
        char sj[2048];
        snprintf(sj, sizeof sj, "%s/stack/stack.json", path);
        if (!scarp_file_exists(sj)) {
            fprintf(stderr, "scarp info: %s: a folder but not a run folder (no stack/stack.json)\n", path);
            return 1;
        }
        return describe_run(path);
    }
    char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "scarp info: %s: cannot open\n", path);
        return 1;
    }
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got >= 7 && memcmp(magic, "SCARPNN", 7) == 0) {
        scarp_status st = scarp_model_describe(path, stdout);
        return st ? cli_fail("info", st) : 0;
    }
    if (!scarp_raster_probe(path)) {
        fprintf(stderr, "scarp info: %s: not a raster, a scarp model file or a run folder\n", path);
        return 1;
    }
    scarp_status st = scarp_raster_describe(path, stdout);
    return st ? cli_fail("info", st) : 0;
}
