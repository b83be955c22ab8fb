/* cmd_synth.c — `scarp synth`: writes the synthetic province (DESIGN.md §8) into a folder,
 * ready for `scarp run DIR/study.ini`. The generator itself is src/synth/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scarp/log.h"
#include "scarp/synth.h"

static const char *CMD = "synth";

static const char HEAD[] =
    "usage: scarp synth --out DIR [--preset mini|kerman] [--size WxH] [--seed N] [options]\n"
    "\n"
    "Builds a whole synthetic study area in a projected CRS (EPSG:32640, 30 m cells):\n"
    "  dem.tif erg.tif landuse.tif aap.tif red.tif nir.tif truth.tif (GeoTIFF)\n"
    "  faults.gpkg rivers.gpkg roads.gpkg reservoirs.gpkg landslides.gpkg (GeoPackage)\n"
    "  stations.csv rainfall.csv reservoirs.csv reservoir_levels.csv landslides.csv\n"
    "  study.ini (paths relative to DIR: `scarp run DIR/study.ini` runs the whole study)\n"
    "Same options and seed give byte-identical files, for any thread count. Memory is\n"
    "bounded by tile buffers, whatever the size.\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp synth --preset mini --out area && scarp run area/study.ini\n"
    "  scarp synth --preset kerman --seed 7 --out kerman\n"
    "  scarp synth --preset kerman --size 10000x10000 --out big --threads 2\n";

static int parse_size(const char *arg, int64_t *w, int64_t *h)
{
    char *end;
    long long a = strtoll(arg, &end, 10);
    if (end == arg || (*end != 'x' && *end != 'X')) return -1;
    const char *p = end + 1;
    long long b = strtoll(p, &end, 10);
    if (end == p || *end) return -1;
    if (a < 64 || b < 64 || a > 100000 || b > 100000) return -1;
    *w = a;
    *h = b;
    return 0;
}

int cmd_synth(int argc, char **argv)
{
    cli_common common = {0};
    const char *preset = "mini", *size = NULL, *seed = NULL;
    int events = 0;
    const cli_option options[] = {
        CLI_OPTION_NEW_OUT(&common),
        {"preset", 0, CLI_STRING, "NAME", "mini (512x512, 100 events, seconds; default) or\n"
         "kerman (4000x4000, the study's 719 events)", &preset, 0, 0, 0},
        {"size", 0, CLI_STRING, "WxH", "cells, overriding the preset's (64..100000 a side)", &size, 0, 0, 0},
        {"seed", 0, CLI_STRING, "N", "random seed (default 42)", &seed, 0, 0, 0},
        {"events", 0, CLI_INT, "N", "number of landslides (default: the preset's)", &events, 1, 1000000, 0},
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_PROGRESS(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {CMD, HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!common.out) return cli_usage_error(CMD, "--out DIR is required");

    scarp_synth_params p;
    if (scarp_synth_preset(&p, preset) != SCARP_OK)
        return cli_usage_error(CMD, "--preset must be mini or kerman (got '%s')", preset);
    if (size) {
        if (parse_size(size, &p.width, &p.height))
            return cli_usage_error(CMD, "--size must be WxH with 64..100000 cells a side (got '%s')", size);
    }
    if (seed) {
        char *end;
        unsigned long long s = strtoull(seed, &end, 10);
        if (end == seed || *end || seed[0] == '-')
            return cli_usage_error(CMD, "--seed must be a whole non-negative number (got '%s')", seed);
        p.seed = s;
    }
    if (events > 0) p.n_events = (int)events;

    /* A bounded GDAL block cache: the province is streamed in tiles, and the default cache
     * (5 % of RAM) would otherwise hold hundreds of MB of dirty blocks. A user's setting wins. */
    setenv("GDAL_CACHEMAX", "64", 0);
    cli_common_apply(&common);
    scarp_progress progress;
    cli_progress_init(&progress, &common);
    if ((rc = cli_lock_out(CMD, common.out))) return rc;
    scarp_status st = scarp_synth_run(&p, common.out, &progress);
    if (st) return cli_fail(CMD, st);
    if (!common.quiet)
        fprintf(stderr, "scarp synth: wrote %s (%lldx%lld cells, %d events); next: scarp run %s/study.ini\n",
                common.out, (long long)p.width, (long long)p.height, p.n_events, common.out);
    return 0;
}
