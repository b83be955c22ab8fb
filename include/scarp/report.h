/* report.h — the outputs a person reads to trust a run (DESIGN.md §5, §7): metrics.json
 * (every model, every metric), metrics.csv (the study's layout: one row per model, one
 * column per metric), PNG plots drawn with cairo (ROC of all models in one figure,
 * per-epoch train/val loss, accuracy, MAE and RMSE, permutation-importance bars, the
 * reliability curve, the spread of k-fold / repeated runs) and a self-contained
 * report.html (images embedded as base64 data: URIs, the config and the data summary).
 *
 * Hook for the map engine: when OUT/map/figures.json exists — a JSON array of
 * {"file": "map/classes.png", "caption": "..."} with paths relative to OUT — every PNG it
 * lists is embedded in a "Map" section; when OUT/map/summary.json exists, its top-level
 * members are shown in a table there (numbers, strings, and arrays of objects as
 * sub-tables, e.g. per-class area/landslide shares). `scarp evaluate` run after
 * `scarp map` (as `scarp run` does) therefore includes the map figures.
 * Implemented in src/report/{plot,figures,json,html,train_run,evaluate_run,stage_common}.c. */
#ifndef SCARP_REPORT_H
#define SCARP_REPORT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/eval.h"
#include "scarp/progress.h"
#include "scarp/status.h"

#define SCARP_REPORT_MAX_MODELS 16

/* Per-epoch curves of a network model (index with SCARP_HIST_*). */
enum {
    SCARP_HIST_TRAIN_LOSS = 0, SCARP_HIST_VAL_LOSS, SCARP_HIST_TRAIN_ACC, SCARP_HIST_VAL_ACC,
    SCARP_HIST_TRAIN_MAE, SCARP_HIST_VAL_MAE, SCARP_HIST_TRAIN_RMSE, SCARP_HIST_VAL_RMSE, SCARP_HIST_N
};

/* The metrics summarised over runs (folds × repeats). */
enum {
    SCARP_RUNM_ACCURACY = 0, SCARP_RUNM_PRECISION, SCARP_RUNM_RECALL, SCARP_RUNM_F1, SCARP_RUNM_AUC,
    SCARP_RUNM_PR_AUC, SCARP_RUNM_BRIER, SCARP_RUNM_LOG_LOSS, SCARP_RUNM_MAE, SCARP_RUNM_RMSE, SCARP_RUNM_N
};
/* "accuracy", "precision", ... */
const char *scarp_report_run_metric_name(int k);
/* The value of run metric k in m (confusion metrics at 0.5). */
double scarp_report_run_metric(const scarp_metrics *m, int k);

typedef struct {
    char name[32];                 /* "cnn_lstm", "forest", ... */
    char family[16];               /* "network" | "baseline" */
    scarp_metrics test;            /* the main run's test split */
    double val_threshold;          /* chosen on validation */
    double *roc_fpr, *roc_tpr;     /* (roc_n) owned */
    size_t roc_n;
    /* training history (networks); n_epochs = 0 when none */
    int n_epochs, best_epoch;      /* best_epoch 0-based */
    double *hist[SCARP_HIST_N];    /* (n_epochs) each, owned; may be NULL */
    double train_seconds, predict_seconds;
    /* networks (history.json): did not learn under any setting, with the reason; tuning */
    int did_not_learn;
    char did_not_learn_reason[96];
    char tune[8];                  /* "auto" | "none" | "" */
    int ensemble;                  /* seed members, 0 = unknown */
    /* permutation importance; n_factors = 0 when not computed */
    int n_factors, importance_repeats;
    char (*factor_names)[64];      /* (n_factors) owned */
    double *imp_share, *imp_drop, *imp_sd; /* (n_factors) owned */
    /* k-fold / repeated runs: run_values[k][r] for metric k of run r; n_runs = 0 if none */
    int n_runs;
    double *run_values[SCARP_RUNM_N];
    scarp_summary run_summary[SCARP_RUNM_N];
    /* [split] compare = random: the same metrics of the random-CV runs (random stratified
     * folds, same k and repeats); n_runs_random = 0 if none. The gap of the report is
     * random_summary[AUC].mean − run_summary[AUC].mean. */
    int n_runs_random;
    double *random_values[SCARP_RUNM_N];
    scarp_summary random_summary[SCARP_RUNM_N];
} scarp_report_model;

/* ---- task views, the truth ceiling and paired DeLong tests (issue 15; views.c) -------
 * The test rows seen three ways for [project] task = hazard (one for susceptibility):
 *   all       every test pair;
 *   temporal  the landslides (landslide cells on their event day) against the same-cell
 *             negatives (landslide cells on other days): only "when" separates them;
 *   spatial   the landslides against the negatives dated on an event day (a day with an
 *             event anywhere in the inventory): "where", on the days that mattered.
 * The truth of a synthetic study ([project] truth = truth.json of `scarp synth`) is scored
 * on exactly the same rows: truth.tif (static) for both tasks, and for hazard the daily
 * failure probability of each pair's cell on its day. Pairs of cnn_lstm, cnn and lstm are
 * compared by the paired DeLong test in each view. */
enum { SCARP_VIEW_ALL = 0, SCARP_VIEW_TEMPORAL, SCARP_VIEW_SPATIAL, SCARP_VIEW_N };
#define SCARP_VIEW_MAX_PAIRS 8
typedef struct {
    double auc, lo, hi;            /* NaN when a class is absent from the view */
    size_t n_pos, n_neg;
} scarp_view_auc;

typedef struct {
    char task[16];                 /* "susceptibility" | "hazard" */
    int n_views;                   /* 1 | 3 */
    size_t n_test;
    uint8_t *y;                    /* (n_test) labels of the test rows */
    uint8_t *in_view[SCARP_VIEW_N];/* (n_test) 1 = the row is in the view */
    int n_models;
    char names[SCARP_REPORT_MAX_MODELS][32];
    float *prob[SCARP_REPORT_MAX_MODELS];       /* (n_test) owned */
    scarp_view_auc view[SCARP_REPORT_MAX_MODELS][SCARP_VIEW_N];
    int has_static, has_daily;     /* the truth was scored (synthetic study) */
    float *truth_static, *truth_daily;          /* (n_test): truth.tif; ln daily probability */
    scarp_view_auc truth_static_view[SCARP_VIEW_N], truth_daily_view[SCARP_VIEW_N];
    int n_pairs;
    char pair_a[SCARP_VIEW_MAX_PAIRS][32], pair_b[SCARP_VIEW_MAX_PAIRS][32];
    int pair_ok[SCARP_VIEW_MAX_PAIRS][SCARP_VIEW_N];
    scarp_delong_paired pair[SCARP_VIEW_MAX_PAIRS][SCARP_VIEW_N];
} scarp_report_views;

/* Views of the test rows te (nte) of ds; reads the truth when cfg->truth is set (for
 * hazard also the daily truth). */
scarp_status scarp_views_init(scarp_report_views *v, const scarp_config *cfg, const scarp_dataset *ds,
                              const size_t *te, size_t nte);
/* One model's test probabilities (rows in te order): its AUC in every view. */
scarp_status scarp_views_add_model(scarp_report_views *v, const char *name, const float *prob);
/* Paired DeLong tests of cnn_lstm, cnn and lstm (those present), every view. */
scarp_status scarp_views_finish(scarp_report_views *v);
void scarp_views_free(scarp_report_views *v); /* accepts NULL */
/* The CLI table (every model's AUC per view beside the truth's, then the pairs). */
void scarp_views_print(const scarp_report_views *v, FILE *f);
/* The same as HTML (scarp_malloc'd string) and as a cJSON object (cJSON *). */
char *scarp_views_html(const scarp_report_views *v);
void *scarp_views_json(const scarp_report_views *v);

typedef struct {
    const char *title;             /* "scarp landslide susceptibility report" when NULL */
    const char *config_path;
    const char *config_text;       /* the INI as read (may be NULL) */
    const char *data_summary;      /* prepare_summary.txt (may be NULL) */
    const char *split_method;      /* "random" | "spatial" */
    const char *compare;           /* "random": [split] compare = random ran; NULL: not */
    const char *threshold_rule;    /* "max F1 on validation" */
    const char *map_choice;        /* which model the map uses and why (models/best.json); NULL: not said */
    const char *reference;         /* "kerman": the published study's figures beside ours; NULL/"none": not shown */
    uint64_t seed;
    int folds, repeats;
    int64_t n_train, n_val, n_test, n_test_pos;
    int n_models;
    scarp_report_model *models;
    const scarp_report_views *views; /* task views, truth, paired tests (NULL: none) */
} scarp_report;

void scarp_report_model_free(scarp_report_model *m); /* frees the owned arrays; accepts NULL */

/* Fills run_summary from run_values. */
void scarp_report_model_summarise(scarp_report_model *m);

/* Writes OUT/metrics.json, OUT/metrics.csv, OUT/plots/NAME.png and OUT/report.html, each
 * crash-safely (partial + rename). */
scarp_status scarp_report_write(const scarp_report *r, const char *out_dir);

/* Individual writers (used by scarp_report_write). */
scarp_status scarp_report_write_json(const scarp_report *r, const char *path);
scarp_status scarp_report_write_csv(const scarp_report *r, const char *path);
/* Draws every figure into plots_dir; names[i] (up to max) receive the file names written
 * (relative to plots_dir) and captions[i] their captions. */
scarp_status scarp_report_write_plots(const scarp_report *r, const char *plots_dir, char (*names)[128],
                                      char (*captions)[256], int max, int *n_written);
scarp_status scarp_report_write_html(const scarp_report *r, const char *out_dir, char (*plots)[128],
                                     char (*captions)[256], int n_plots, const char *path);

/* The study-layout table (model × accuracy precision recall F1 AUC, at threshold 0.5) with
 * the reference study's figures beside it. */
void scarp_report_print_table(const scarp_report *r, FILE *f);

/* ---- the plotting toolkit (plot.c), public so the map engine can draw with it -------- */
typedef struct {
    const double *x, *y;           /* (n) NaN breaks the line */
    size_t n;
    const char *label;             /* legend; NULL = none */
    int color;                     /* palette index (tab10) */
    int dashed, markers;
} scarp_plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax; /* equal min and max: automatic */
    int diagonal;                  /* draw y = x (ROC, reliability) */
    int legend_right;              /* legend at the lower right instead of upper right */
} scarp_plot_axes;

/* Line chart of n series into a PNG of w × h pixels (crash-safe). */
scarp_status scarp_plot_lines(const char *png_path, int w, int h, const scarp_plot_axes *ax,
                              const scarp_plot_series *s, int n);
/* Several line charts side by side in a grid (rows × cols panels) in one PNG. */
scarp_status scarp_plot_panels(const char *png_path, int w, int h, int rows, int cols, const scarp_plot_axes *ax,
                               const scarp_plot_series *const *series, const int *n_series);
/* Horizontal bars (values with optional ± errors, may be NULL) with names; sorted as given. */
scarp_status scarp_plot_bars(const char *png_path, int w, int h, const char *title, const char *xlabel,
                             const char *const *names, const double *values, const double *errors, int n);

/* ---- the stages `scarp train` and `scarp evaluate` (train_run.c, evaluate_run.c) ------
 * Both read OUT/dataset.bin (train runs scarp_prepare first when it is missing).
 * Model files: OUT/models/NAME.model trained on the main split, and with [split] folds or
 * repeats > 1 also OUT/models/NAME.rR.fF.model for every run (repeat R, fold F), for the
 * spread of the metrics and for ensembles. With k folds, run (R, F) tests on fold F and
 * trains on the k − 1 other folds; its validation rows are an inner split drawn from those
 * training folds only (stratified by class, by spatial blocks when [split] method =
 * spatial, in the proportions train : val), used for tuning, epoch selection and the
 * threshold; the model is then refitted on all of the fold's training rows with what the
 * inner split chose, under a normalisation refitted on them (docs/06-evaluation.md).
 * With folds = 1 and repeats > 1, repeat R is a fresh train/val/test split.
 * Training histories: OUT/models/NAME.history.json (and NAME.rR.fF.history.json).
 * With [split] buffer = D > 0 (metres, default 0), training and validation rows closer
 * than D to a test row are left out of training (the buffer of Roberts et al. 2017); the
 * count is buffer_excluded below. */
typedef struct {
    int n_models;
    char name[SCARP_REPORT_MAX_MODELS][32];
    char path[SCARP_REPORT_MAX_MODELS][1024];
    double seconds[SCARP_REPORT_MAX_MODELS];   /* main model */
    double val_auc[SCARP_REPORT_MAX_MODELS];   /* main model on its validation rows */
    int runs[SCARP_REPORT_MAX_MODELS];         /* extra fold/repeat models trained */
    int runs_random[SCARP_REPORT_MAX_MODELS];  /* [split] compare = random: random-CV fold models
                                                  (OUT/models/random/NAME.rR.fF.model) */
    int64_t buffer_excluded;                   /* training rows dropped by the spatial buffer */
} scarp_train_result;

/* Trains every configured model (model = NULL or "all") or just `model`. result may be NULL. */
scarp_status scarp_train_run_ex(const scarp_config *cfg, const char *out_dir, const char *model,
                                scarp_progress *progress, scarp_train_result *result);
/* The model OUT/models/best.json names (written by scarp train: the highest mean
 * inner-validation AUC): what `[map] model = best` maps. */
scarp_status scarp_best_model(const char *out_dir, char *name, size_t size);
/* The lead's entry point. */
scarp_status scarp_train_run(const scarp_config *cfg, const char *out_dir, const char *model,
                             scarp_progress *progress);

typedef struct {
    int importance_repeats;  /* 0: 5 */
    int no_importance;       /* 1: skip permutation importance */
    FILE *table;             /* the study-layout table is printed here (NULL: nowhere) */
} scarp_evaluate_options;

/* Evaluates every configured model that has OUT/models/NAME.model on the test split and
 * writes metrics.json, metrics.csv, plots/ and report.html into out_dir. */
scarp_status scarp_evaluate_run_ex(const scarp_config *cfg, const char *out_dir, const scarp_evaluate_options *opts,
                                   scarp_progress *progress);
/* The lead's entry point (default options, no table). */
scarp_status scarp_evaluate_run(const scarp_config *cfg, const char *out_dir, scarp_progress *progress);

#endif
