/* cmd_prepare.c — `scarp prepare CONFIG`: from inventory to training data (DESIGN.md
 * §2–3): builds or reuses the layer stack, samples negatives, splits, fits the
 * normalisation on the training split and writes OUT/dataset.bin, OUT/norm.bin and
 * OUT/prepare_summary.txt. The work is one library call, scarp_prepare(). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/log.h"
#include "scarp/threads.h"

static const char *CMD = "prepare";

static const char HEAD[] =
    "usage: scarp prepare CONFIG [--out DIR] [--threads N] [--quiet]\n"
    "\n"
    "Turns the layer stack, the landslide inventory and the station series of a study\n"
    "config into training, validation and test data:\n"
    "  - the stack (every layer aligned on the grid) is built into DIR/stack/, or reused\n"
    "    when its inputs have not changed;\n"
    "  - inventory points off the grid, on nodata, duplicated or undated are dropped and\n"
    "    listed; negatives are drawn at least [negatives] min_distance apart;\n"
    "  - split (random stratified 70/15/15 or spatial blocks; folds and repeats);\n"
    "  - normalisation fitted on the training split only;\n"
    "  - patches C x H x W, antecedent sequences N x T, tabular features.\n"
    "\n"
    "outputs in DIR (default: the config's [project] out):\n"
    "  dataset.bin           the prepared samples (binary, documented in docs/05-data.md)\n"
    "  norm.bin              the normalisation (also stored in every model file)\n"
    "  prepare_summary.txt   counts per split and class, dropped points, channels\n"
    "  prepare_dropped.csv   every dropped inventory row and why\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp synth --preset mini --out mini && scarp prepare mini/study.ini\n"
    "  scarp prepare study.ini --out run1 --threads 2\n";

int cmd_prepare(int argc, char **argv)
{
    cli_common common = {0};
    const cli_option options[] = {
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_PROGRESS(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {CMD, HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    static scarp_config cfg; /* large: keep it off the stack */
    const char *out;
    if ((rc = cli_load_study(CMD, argc, argv, &common, &cfg, &out))) return rc;
    scarp_status st;

    scarp_progress progress;
    cli_progress_init(&progress, &common);
    scarp_prepare_report rep;
    st = scarp_prepare(&cfg, out, &progress, NULL, &rep);
    if (st != SCARP_OK) return cli_fail(CMD, st);
    if (!common.quiet)
        printf("scarp prepare: %lld landslides + %lld non-landslides -> %s/dataset.bin (%.1f s; summary in "
               "%s/prepare_summary.txt)\n",
               (long long)rep.positives, (long long)rep.negatives, out, rep.seconds_total, out);
    return 0;
}
