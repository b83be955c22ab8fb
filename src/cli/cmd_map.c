/* cmd_map.c — `scarp map CONFIG`: susceptibility and class maps for the whole grid
 * (DESIGN.md §6), resumable, and shared among MPI ranks under mpirun. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/config.h"
#include "scarp/map.h"

static const char HEAD[] =
    "usage: scarp map CONFIG [--model NAME|PATH[,PATH...]] [--out DIR] [--tile N] [--threads N]\n"
    "                        [--keep-tiles] [--quiet]\n\n"
    "Applies a trained model to every valid cell of the grid and writes OUT/map/:\n"
    "susceptibility.tif (Float32 COG), classes.tif (Byte COG with colours and class names),\n"
    "classes.qml (QGIS style), uncertainty_sd.tif (when several fold/repeat models are found),\n"
    "quicklook.png, rates.png, summary.json (per-class statistics, success/prediction-rate\n"
    "curves) and figures.json. A killed run resumes where it stopped: finished tiles are kept\n"
    "in OUT/map/tiles/ and the result is the same file.\n\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp map area/study.ini                           # [map] model, 512-cell tiles, all cores\n"
    "  scarp map area/study.ini --model forest --tile 256 # a baseline, on tabular rows\n"
    "  scarp map area/study.ini --model cnn_lstm --threads 2 --out run2\n"
    "  scarp map area/study.ini --model cnn_lstm          # with folds: cnn_lstm.r0.f0..f4 ([map] ensemble\n"
    "                                                     # = auto): ensemble mean + uncertainty_sd.tif\n"
    "  scarp map area/study.ini --model run/models/a.model,run/models/b.model\n"
    "  scarp map area/study.ini --date 2019-03-01..2019-03-30/1  # 30 daily maps, OUT/map/dates/\n"
    "  scarp map area/study.ini    # again after a crash or kill: finished tiles are reused\n"
    "  mpirun -np 4 scarp map area/study.ini              # 4 ranks share the tiles, same file\n"
    "  mpirun -np 2 --oversubscribe scarp map area/study.ini --threads 1\n"
    "  mpirun -np 8 --hostfile hosts scarp map /shared/area/study.ini --threads 2\n"
    "                                                     # several machines: OUT on a shared file system\n";

int cmd_map(int argc, char **argv)
{
    cli_common common = {0};
    scarp_map_options opts = {0};
    const cli_option options[] = {
        {"model", 0, CLI_STRING, "NAME", "model to map (default: [map] model); NAME.model in OUT/models, or the\n"
         "ensemble OUT/models/NAME.*.model, or explicit model file paths", &opts.model_name, 0, 0, 0},
        {"tile", 0, CLI_INT, "N", "tile size in cells (default: [map] tile = 512)", &opts.tile, 16, 65536, 0},
        {"date", 0, CLI_STRING, "D|D1..D2[/STEP]", "map at date D (overrides [map] date), or one map per date of the\n"
         "range into OUT/map/dates/ (overrides [map] dates)", &opts.dates, 0, 0, 0},
        {"keep-tiles", 0, CLI_FLAG, NULL, "keep OUT/map/tiles after the map is assembled", &opts.keep_tiles, 0, 0, 0},
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_PROGRESS(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {"map", HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    static scarp_config cfg; /* large: keep it off the stack */
    const char *out;
    if ((rc = cli_load_study("map", argc, argv, &common, &cfg, &out))) return rc;
    scarp_status st;
    scarp_progress prog;
    cli_progress_init(&prog, &common);
    scarp_map_report rep;
    st = scarp_map_run_ex(&cfg, out, &opts, &prog, &rep);
    if (st) return cli_fail("map", st);
    if (!common.quiet && rep.valid_cells > 0) {
        printf("map: %lld valid cells of %lld, %lld tiles computed (%lld resumed), %.0f cells/s\n",
               (long long)rep.valid_cells, (long long)rep.cells, (long long)rep.tiles, (long long)rep.tiles_skipped,
               rep.cells_per_second);
        if (rep.dense_gflops > 0) printf("dense pass: %.1f GFLOP/s\n", rep.dense_gflops);
        if (rep.date[0])
            printf("map date: %s (%s; the antecedent window ends the day before)\n", rep.date, rep.date_rule);
        if (rep.n_dates) printf("%d dated maps (CNN branch run %lld times, once per tile and member)\n", rep.n_dates,
                                (long long)rep.cnn_passes);
        printf("classes%s:", rep.n_dates ? " (last date)" : "");
        for (int c = 0; c < rep.stats.k; c++)
            if (rep.n_dates)
                printf(" %s %.1f%% area;", scarp_class_names(rep.stats.k)[c], 100 * rep.stats.area_share[c]);
            else
                printf(" %s %.1f%% area / %.1f%% landslides (FR %.2f);", scarp_class_names(rep.stats.k)[c],
                       100 * rep.stats.area_share[c], 100 * rep.stats.ls_share[c], rep.stats.frequency_ratio[c]);
        printf("\n");
        if (!rep.n_dates)
            printf("landslides in the high classes: %.1f%% (test split %.1f%%)\n", 100 * rep.stats.ls_high,
                   100 * rep.stats.test_high);
        if (rep.ensemble > 1)
            printf("ensemble of %d members: %.1f%% of the area has sd > %.2f\n", rep.ensemble, 100 * rep.sd_share_above,
                   SCARP_MAP_SD_THRESHOLD);
        printf("outputs: %s/map/%s\n", out, rep.n_dates ? "dates/" : "");
    }
    return 0;
}
