/* cmd_train.c — `scarp train CONFIG [--model NAME|all]`: trains the configured models
 * (the study's CNN–LSTM and variants, and the baselines) on OUT/dataset.bin (prepared first
 * when missing) and writes OUT/models/NAME.model with its history. One library call,
 * scarp_train_run_ex(). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scarp/config.h"
#include "scarp/report.h"
#include "scarp/threads.h"

static const char *CMD = "train";

static const char HEAD[] =
    "usage: scarp train CONFIG [--model NAME|all] [--out DIR] [--threads N] [--quiet]\n"
    "\n"
    "Trains the models of [model] models on the prepared data DIR/dataset.bin (running\n"
    "`scarp prepare` first if it is missing):\n"
    "  cnn_lstm cnn lstm mlp   networks: Adam, [model] epochs/batch/lr/l2/dropout, weights of\n"
    "                          the epoch with the lowest validation cross-entropy kept\n"
    "  svm                     RBF SVM (libsvm), Platt probabilities, C and gamma tuned on\n"
    "                          the validation AUC\n"
    "  tree                    CART (Gini), depth and leaf size tuned on validation\n"
    "  forest                  random forest, [model] trees (500), sqrt(F) features per split\n"
    "  logreg                  L2 logistic regression (Newton), C tuned on validation\n"
    "  boost                   gradient-boosted trees (depth 3, 200 rounds, shrinkage 0.1)\n"
    "With [split] folds or repeats > 1 one more model is trained per run, for the spread of\n"
    "every metric in `scarp evaluate`. With [split] method = spatial, training rows nearer\n"
    "than [split] block_size to a test row are left out (a spatial buffer).\n"
    "\n"
    "outputs in DIR (default: the config's [project] out):\n"
    "  models/NAME.model          model + normalisation (magic, version, CRC-32)\n"
    "  models/NAME.history.json   per-epoch loss, accuracy, MAE, RMSE (networks) or the\n"
    "                             tuned hyper-parameters (baselines)\n"
    "  models/NAME.rR.fF.model    the model of repeat R, fold F (folds/repeats > 1)\n"
    "  models/train.journal       the units (model x run) finished so far; a rerun after a\n"
    "                             crash or kill trains only the missing ones; removed at the end\n"
    "\n"
    "Under mpirun the ranks share the units (model x run; networks first): the same files as\n"
    "one process. With N ranks on one machine give each one thread (--threads 1 or\n"
    "OMP_NUM_THREADS=1).\n"
    "\n";

static const char TAIL[] =
    "examples:\n"
    "  scarp train mini/study.ini\n"
    "  scarp train study.ini --model forest --threads 2\n"
    "  mpirun -np 2 scarp train study.ini --threads 1     # 2 ranks share the folds\n";

int cmd_train(int argc, char **argv)
{
    cli_common common = {0};
    const char *model = NULL;
    const cli_option options[] = {
        {"model", 0, CLI_STRING, "NAME", "train only this model (any name above; default all of [model] models)",
         &model, 0, 0, 0},
        CLI_OPTION_RUN_OUT(&common),
        CLI_OPTION_THREADS(&common),
        CLI_OPTION_QUIET(&common),
        CLI_OPTION_PROGRESS(&common),
        CLI_OPTION_END,
    };
    const cli_spec spec = {CMD, HEAD, TAIL, options};
    int rc = cli_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    static const char *known[] = {"all", "cnn_lstm", "cnn", "lstm", "mlp", "svm", "tree", "forest", "logreg", "boost"};
    if (model) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= !strcmp(model, known[i]);
        if (!ok)
            return cli_usage_error(CMD, "--model '%s' is not one of all cnn_lstm cnn lstm mlp svm tree forest logreg "
                                        "boost", model);
    }
    static scarp_config cfg; /* large: keep it off the stack */
    const char *out;
    if ((rc = cli_load_study(CMD, argc, argv, &common, &cfg, &out))) return rc;
    scarp_status st;

    scarp_progress progress;
    cli_progress_init(&progress, &common);
    static scarp_train_result res;
    st = scarp_train_run_ex(&cfg, out, model, &progress, &res);
    /* under mpirun every rank has the whole result and the first failure's message: rank 0
     * prints them */
    if (cli_mpi_rank() > 0) return st != SCARP_OK ? scarp_status_exit_code(st) : 0;
    for (int i = 0; i < res.n_models; i++) {
        char auc[32] = "-";
        if (isfinite(res.val_auc[i])) snprintf(auc, sizeof auc, "%.3f", res.val_auc[i]);
        printf("%-9s trained in %7.2f s  validation AUC %s", res.name[i], res.seconds[i], auc);
        if (res.runs[i]) printf("  (+%d fold/repeat models)", res.runs[i]);
        if (res.runs_random[i]) printf("  (+%d random-CV models, [split] compare)", res.runs_random[i]);
        printf("  -> %s\n", res.path[i]);
    }
    if (st != SCARP_OK) return cli_fail(CMD, st);
    return 0;
}
