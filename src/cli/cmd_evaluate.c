/* cmd_evaluate.c — `scarp evaluate CONFIG`: every trained model on the test split —
 * metrics, ROC, calibration, importance, the spread over runs — into OUT/metrics.json,
 * OUT/metrics.csv, OUT/plots/ and OUT/report.html, and the study-layout table on stdout.
 * One library call, scarp_evaluate_run_ex(). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/config.h"
#include "scarp/report.h"
#include "scarp/threads.h"

static const char *CMD = "evaluate";

static void help(FILE *f)
{
    fprintf(f,
            "usage: scarp evaluate CONFIG [--out DIR] [--repeats R] [--no-importance] [--threads N] [--quiet]\n"
            "\n"
            "Evaluates every model of [model] models trained by `scarp train`, on the TEST split only:\n"
            "accuracy, precision, recall, F1 (at 0.5 and at the threshold of maximum F1 on the\n"
            "validation split), AUC (exact, ties counted half) with its DeLong 95 %% interval, ROC,\n"
            "PR-AUC, Brier score, reliability curve, log loss, MAE, RMSE; permutation importance per\n"
            "factor (one-hot groups and temporal variables permuted as wholes, R repeats); with\n"
            "[split] folds/repeats > 1, mean, sd and 95 %% interval of every metric over the runs.\n"
            "Figures of `scarp map` (DIR/map/figures.json, summary.json) are included when present.\n"
            "\n"
            "outputs in DIR (default: the config's [project] out):\n"
            "  metrics.json   every model, every metric, ROC points, importance, runs\n"
            "  metrics.csv    one row per model (the study's layout), one column per metric\n"
            "  plots/         roc.png calibration.png training_NAME.png importance_NAME.png runs_auc.png\n"
            "  report.html    self-contained report (images embedded), with the config and data summary\n"
            "\n"
            "options:\n"
            "  --out DIR        run folder\n"
            "  --repeats R      permutations per factor for importance (default 5)\n"
            "  --no-importance  skip permutation importance\n"
            "  --threads N      threads (0 = all cores, default)\n"
            "  --quiet          no progress output and no table\n"
            "  --help           this text\n"
            "\n"
            "examples:\n"
            "  scarp evaluate mini/study.ini\n"
            "  scarp evaluate study.ini --out run1 --repeats 10\n");
}

int cmd_evaluate(int argc, char **argv)
{
    cli_common common = {0};
    scarp_evaluate_options opts = {0};
    enum { OPT_REPEATS = 2001, OPT_NOIMP };
    static const struct option longopts[] = {CLI_COMMON_LONG_OPTIONS, {"repeats", required_argument, 0, OPT_REPEATS},
                                             {"no-importance", no_argument, 0, OPT_NOIMP}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int opt;
    long v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int handled = cli_common_option(&common, opt, optarg, CMD);
        if (handled < 0) return 2;
        if (handled) continue;
        switch (opt) {
        case OPT_REPEATS:
            if (cli_parse_int(CMD, "--repeats", optarg, 1, 1000, &v)) return 2;
            opts.importance_repeats = (int)v;
            break;
        case OPT_NOIMP: opts.no_importance = 1; break;
        case 'h': help(stdout); return 0;
        case '?': return cli_bad_option(CMD, argv);
        default: return cli_usage_error(CMD, "unexpected option");
        }
    }
    static scarp_config cfg; /* large: keep it off the stack */
    const char *out;
    int rc = cli_load_study(CMD, argc, argv, &common, &cfg, &out);
    if (rc) return rc;
    scarp_status st;

    scarp_progress progress;
    scarp_progress_init(&progress, common.quiet);
    opts.table = common.quiet ? NULL : stdout;
    st = scarp_evaluate_run_ex(&cfg, out, &opts, &progress);
    if (st != SCARP_OK) return cli_fail(CMD, st);
    if (!common.quiet) printf("report: %s/report.html  metrics: %s/metrics.json, %s/metrics.csv\n", out, out, out);
    return 0;
}
