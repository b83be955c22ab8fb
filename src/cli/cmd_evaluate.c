/* cmd_evaluate.c — `scarp evaluate CONFIG`: every trained model on the test split —
 * metrics, ROC, calibration, importance, the spread over runs — into OUT/metrics.json,
 * OUT/metrics.csv, OUT/plots/ and OUT/report.html, and the study-layout table on stdout.
 * One library call, scarp_evaluate_run_ex(). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/config.h"
#include "scarp/report.h"
#include "scarp/threads.h"

static const char *CMD = "evaluate";

static const char HEAD[] =
    "usage: scarp evaluate CONFIG [--out DIR] [--repeats R] [--no-importance] [--threads N] [--quiet]\n"
    "\n"
    "Evaluates every model of [model] models trained by `scarp train`, on the TEST split only:\n"
    "accuracy, precision, recall, F1 (at 0.5 and at the threshold of maximum F1 on the\n"
    "validation split), AUC (exact, ties counted half) with its DeLong 95 % interval, ROC,\n"
    "PR-AUC, Brier score, reliability curve, log loss, MAE, RMSE; permutation importance per\n"
    "factor (one-hot groups and temporal variables permuted as wholes, R repeats); with\n"
    "[split] folds/repeats > 1, mean, sd and 95 % interval of every metric over the runs.\n"
    "Figures of `scarp map` (DIR/map/figures.json, summary.json) are included when present.\n"
    "\n"
    "outputs in DIR (default: the config's [project] out):\n"
    "  metrics.json   every model, every metric, ROC points, importance, runs\n"
    "  metrics.csv    one row per model (the study's layout), one column per metric\n"
    "  plots/         roc.png calibration.png training_NAME.png importance_NAME.png runs_auc.png\n"
    "  report.html    self-contained report (images embedded), with the config and data summary\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp evaluate mini/study.ini\n"
    "  scarp evaluate study.ini --out run1 --repeats 10\n";

int cmd_evaluate(int argc, char **argv)
{
    cli_common common = {0};
    scarp_evaluate_options opts = {0};
    const cli_option options[] = {
        {"repeats", 0, CLI_INT, "R", "permutations per factor for importance (default 5)", &opts.importance_repeats, 1,
         1000, 0},
        {"no-importance", 0, CLI_FLAG, NULL, "skip permutation importance", &opts.no_importance, 0, 0, 0},
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_THREADS(&common),
        {"quiet", 0, CLI_FLAG, NULL, "no progress output and no table", &common.quiet, 0, 0, 0},
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
    opts.table = common.quiet ? NULL : stdout;
    st = scarp_evaluate_run_ex(&cfg, out, &opts, &progress);
    if (st != SCARP_OK) return cli_fail(CMD, st);
    if (!common.quiet) printf("report: %s/report.html  metrics: %s/metrics.json, %s/metrics.csv\n", out, out, out);
    return 0;
}
