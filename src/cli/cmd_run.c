/* cmd_run.c — `scarp run CONFIG`: the whole study in one command (prepare → train every
 * configured model → map → evaluate + report), reusing every finished stage whose inputs
 * did not change. Ends with the path of report.html and a one-screen table of the models. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/fsutil.h"
#include "scarp/run.h"
#include "scarp/threads.h"

static const char *CMD = "run";

static const char HEAD[] =
    "usage: scarp run CONFIG [--out DIR] [--force] [--threads N] [--quiet]\n"
    "\n"
    "Runs the whole study described by CONFIG:\n"
    "  prepare   layer stack, inventory, negatives, splits, patches, sequences\n"
    "  train     every model in [model] models (cnn_lstm cnn lstm mlp svm tree forest logreg)\n"
    "  map       [map] model over every valid cell: susceptibility.tif, classes.tif, quicklook\n"
    "  evaluate  test-split metrics, ROC, importance, report.html\n"
    "A stage is skipped when nothing it depends on changed since the last run (keys and\n"
    "input checksums in DIR/manifest.json); changing a model key retrains that model only.\n"
    "Under mpirun the ranks share the train stage (model x run units) and the map tiles;\n"
    "rank 0 prepares, evaluates and prints. With N ranks on one machine give each one\n"
    "thread (--threads 1 or OMP_NUM_THREADS=1).\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp synth --preset mini --out mini && scarp run mini/study.ini\n"
    "  mpirun -np 4 scarp map study.ini     # the map stage alone, across machines\n"
    "  mpirun -np 2 scarp run study.ini --threads 1   # train and map shared by 2 ranks\n";

static double metric(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The one-screen table: model × accuracy, precision, recall, F1, AUC on the test split. */
static void print_summary(const char *out_dir)
{
    char path[SCARP_PATH_MAX + 32], *text = NULL;
    if (scarp_path_join(path, sizeof path, out_dir, "metrics.json") || scarp_read_file(path, &text, NULL)) return;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!models) {
        cJSON_Delete(root);
        return;
    }
    const cJSON *m;
    int cv = 0;
    cJSON_ArrayForEach(m, models) cv |= cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "runs"));
    if (cv) { /* cross-validation first: the figure a reviewer trusts */
        printf("\n%-10s %7s %7s %17s %9s %7s %7s   (cross-validation: mean over the outer folds)\n", "model", "AUC",
               "sd", "95% interval", "accuracy", "F1", "Brier");
        cJSON_ArrayForEach(m, models)
        {
            const cJSON *runs = cJSON_GetObjectItemCaseSensitive(m, "runs");
            const cJSON *auc = cJSON_GetObjectItemCaseSensitive(runs, "auc");
            printf("%-10s %7.3f %7.3f   [%6.3f, %6.3f] %9.3f %7.3f %7.3f   (%d runs)\n", m->string, metric(auc, "mean"),
                   metric(auc, "sd"), metric(auc, "ci95_lo"), metric(auc, "ci95_hi"),
                   metric(cJSON_GetObjectItemCaseSensitive(runs, "accuracy"), "mean"),
                   metric(cJSON_GetObjectItemCaseSensitive(runs, "f1"), "mean"),
                   metric(cJSON_GetObjectItemCaseSensitive(runs, "brier"), "mean"), (int)metric(runs, "n"));
        }
        int cmp = 0; /* [split] compare = random: random CV, spatial CV and the gap */
        cJSON_ArrayForEach(m, models) cmp |= cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "compare"));
        if (cmp) {
            printf("\n%-10s  %-29s  %-29s %7s   (AUC: mean +- sd [95%% interval])\n", "model", "random CV",
                   "spatial CV", "gap");
            cJSON_ArrayForEach(m, models)
            {
                const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "compare");
                if (!cJSON_IsObject(c)) continue;
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "random"), *b = cJSON_GetObjectItemCaseSensitive(c, "spatial");
                printf("%-10s  %.3f +- %.3f [%.3f, %.3f]  %.3f +- %.3f [%.3f, %.3f] %+7.3f\n", m->string, metric(a, "mean"),
                       metric(a, "sd"), metric(a, "ci95_lo"), metric(a, "ci95_hi"), metric(b, "mean"), metric(b, "sd"),
                       metric(b, "ci95_lo"), metric(b, "ci95_hi"), metric(c, "gap"));
            }
            printf("(gap = random - spatial: the optimism of validating on random folds, whose test samples have "
                   "neighbours in training; Brenning 2012)\n");
        }
    }
    printf("\n%-10s %8s %9s %7s %7s %7s   (%stest split, threshold 0.5)\n", "model", "accuracy", "precision", "recall",
           "F1", "AUC", cv ? "one " : "");
    cJSON_ArrayForEach(m, models)
    {
        const cJSON *test = cJSON_GetObjectItemCaseSensitive(m, "test");
        printf("%-10s %8.3f %9.3f %7.3f %7.3f %7.3f\n", m->string, metric(test, "accuracy"), metric(test, "precision"),
               metric(test, "recall"), metric(test, "f1"), metric(test, "auc"));
    }
    cJSON_Delete(root);
}

int cmd_run(int argc, char **argv)
{
    cli_common common = {0};
    int force = 0;
    const cli_option options[] = {
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_FORCE(&force),
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
    scarp_run_options opts = {.force = force, .progress = &progress};
    scarp_run_result res;
    double t0 = scarp_now();
    st = scarp_run(&cfg, out, &opts, &res);
    /* under mpirun rank 0 prints for the job (it has the first failure's message too) */
    if (cli_mpi_rank() > 0) return st ? scarp_status_exit_code(st) : 0;
    if (st) return cli_fail(CMD, st);
    if (!common.quiet) {
        print_summary(out);
        printf("\nstages: prepare %s (%.1f s), train %.1f s, map %s (%.1f s), evaluate %s (%.1f s); total %.1f s\n",
               res.prepared ? "ran" : "reused", res.seconds[0], res.seconds[1], res.mapped ? "ran" : "reused",
               res.seconds[2], res.evaluated ? "ran" : "reused", res.seconds[3], scarp_now() - t0);
        printf("report: %s\n", res.report_path);
    }
    return 0;
}
