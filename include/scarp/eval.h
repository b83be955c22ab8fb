/* eval.h — honest evaluation of a binary classifier's probabilities: confusion-matrix
 * metrics, exact AUC with ties (Mann & Whitney 1947 with mid-ranks) and its DeLong,
 * DeLong & Clarke-Pearson (1988) variance and 95 % interval (fast algorithm of Sun & Xu
 * 2014), ROC points, average precision (PR-AUC), Brier score and reliability curve,
 * log loss, MAE, RMSE, thresholds chosen on validation (max F1 or Youden 1950), permutation
 * importance per factor group (Breiman 2001; Fisher, Rudin & Dominici 2019) and summaries
 * of k-fold / repeated runs (mean, sd, Student-t 95 % interval).
 *
 * Pure computation on plain arrays: prob (n) in [0, 1], y (n) in {0, 1}. Implemented in
 * src/eval/{metrics,roc,importance,cv}.c. */
#ifndef SCARP_EVAL_H
#define SCARP_EVAL_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/status.h"

/* ---- confusion matrix and the metrics that follow from it (metrics.c) ---- */
typedef struct {
    double threshold;             /* predicted positive when prob >= (float)threshold */
    int64_t tp, fp, tn, fn;
    double accuracy, precision, recall, f1, specificity;
} scarp_confusion;

/* Counts the matrix at `threshold` and fills the rates. Empty denominators give 0
 * (precision with no predicted positive, recall with no positive: sklearn's zero_division=0). */
void scarp_confusion_compute(const float *prob, const uint8_t *y, size_t n, double threshold, scarp_confusion *c);
/* Fills the rates from tp/fp/tn/fn already set. */
void scarp_confusion_rates(scarp_confusion *c);

typedef enum { SCARP_THRESHOLD_F1 = 0, SCARP_THRESHOLD_YOUDEN } scarp_threshold_rule;
/* The threshold that maximises F1 (or Youden's J = TPR − FPR) over the distinct scores of
 * (prob, y) — meant for the validation split. Ties keep the threshold closest to 0.5.
 * Returns 0.5 when n = 0 or one class is absent. */
double scarp_threshold_choose(const float *prob, const uint8_t *y, size_t n, scarp_threshold_rule rule);

/* Brier score, log loss (probabilities clipped to [1e-15, 1 − 1e-15]), MAE, RMSE. */
double scarp_brier(const float *prob, const uint8_t *y, size_t n);
double scarp_log_loss(const float *prob, const uint8_t *y, size_t n);
double scarp_mae(const float *prob, const uint8_t *y, size_t n);
double scarp_rmse(const float *prob, const uint8_t *y, size_t n);

/* Reliability (calibration) curve: `bins` equal-width bins on [0, 1]; for each bin the
 * mean prediction, the observed share of positives and the count (bins with count 0 have
 * NaN means). Also the expected calibration error (count-weighted |mean − observed|). */
scarp_status scarp_reliability(const float *prob, const uint8_t *y, size_t n, int bins, double *mean_pred,
                               double *observed, int64_t *count, double *ece);

/* ---- ROC, AUC, DeLong, PR (roc.c) ---- */
/* AUC = P(score_pos > score_neg) + ½ P(equal) — the Mann–Whitney U with mid-ranks.
 * SCARP_ERR_INPUT when a class is absent. O(n log n). */
scarp_status scarp_auc(const float *score, const uint8_t *y, size_t n, double *auc);
/* AUC with DeLong's variance and a 95 % interval (logit-free normal interval clipped to
 * [0, 1]). var is the variance of the AUC estimate. */
scarp_status scarp_auc_delong(const float *score, const uint8_t *y, size_t n, double *auc, double *var,
                              double *lo, double *hi);
/* ROC points at every distinct score (from (0,0) to (1,1)); arrays allocated with
 * scarp_malloc (caller frees). thr[i] = the threshold (prob >= thr) giving point i;
 * the first point has thr = +inf. */
scarp_status scarp_roc_points(const float *score, const uint8_t *y, size_t n, double **fpr, double **tpr,
                              double **thr, size_t *n_points);
/* Average precision Σ (R_k − R_{k−1}) P_k over distinct thresholds (sklearn's definition). */
scarp_status scarp_average_precision(const float *score, const uint8_t *y, size_t n, double *ap);

/* Paired DeLong test (DeLong, DeLong & Clarke-Pearson 1988; Sun & Xu 2014) of two scores
 * of the same n samples (delong.c): diff = AUC(a) − AUC(b), var its variance, [lo, hi]
 * diff ± 1.96 √var, z = diff/√var and the two-sided p-value (p = 1 when var = 0). */
typedef struct {
    double auc_a, auc_b, diff, var, lo, hi, z, p;
    size_t n_pos, n_neg;
} scarp_delong_paired;
scarp_status scarp_auc_delong_paired(const float *score_a, const float *score_b, const uint8_t *y, size_t n,
                                     scarp_delong_paired *r);

/* ---- everything at once for one model on one split (metrics.c) ---- */
#define SCARP_RELIABILITY_BINS 10
typedef struct {
    size_t n, n_pos, n_neg;
    scarp_confusion at_half;      /* threshold 0.5 */
    scarp_confusion at_val;       /* the validation-chosen threshold */
    double auc, auc_var, auc_lo, auc_hi;
    double pr_auc, brier, log_loss, mae, rmse, ece;
    double rel_mean[SCARP_RELIABILITY_BINS], rel_obs[SCARP_RELIABILITY_BINS];
    int64_t rel_count[SCARP_RELIABILITY_BINS];
} scarp_metrics;

/* Fills every metric of `m` for the (test) scores; val_threshold is the threshold chosen
 * on validation (pass 0.5 when there is none). When one class is absent the ranking
 * metrics (AUC, its interval, PR-AUC) are NaN and the rest is still computed. */
scarp_status scarp_metrics_compute(const float *prob, const uint8_t *y, size_t n, double val_threshold,
                                   scarp_metrics *m);

/* ---- permutation importance (importance.c) ---- */
/* The caller predicts the evaluation rows with factor group `group` permuted as a whole:
 * row i takes the group's values of row perm[i] (all one-hot columns of a category, all
 * channels of a patch plane, the whole series of a temporal variable). prob (n). */
typedef scarp_status (*scarp_permuted_predict_fn)(void *user, int group, const size_t *perm, size_t n, float *prob);

typedef struct {
    int n_groups, repeats;
    double base_auc;
    double *drop_mean, *drop_sd;  /* (n_groups) AUC drop: base − permuted */
    double *share;                /* (n_groups) max(drop, 0) / Σ max(drop, 0); all 0 if Σ = 0 */
} scarp_importance;

/* Permutes each group `repeats` times (permutation r of group g from
 * scarp_rng_stream(seed, g · 65536 + r)), predicts through fn, records the AUC drop. */
scarp_status scarp_importance_permutation(scarp_permuted_predict_fn fn, void *user, int n_groups,
                                          const uint8_t *y, size_t n, double base_auc, int repeats,
                                          uint64_t seed, scarp_importance *imp);
void scarp_importance_free(scarp_importance *imp);

/* ---- k-fold / repeated runs and spatial checks (cv.c) ---- */
typedef struct {
    int k;                        /* number of values (folds × repeats) */
    double mean, sd;              /* sd with k − 1 */
    double lo, hi;                /* 95 % interval of the mean: mean ± t(0.975, k−1) sd / √k; = mean if k < 2 */
    double min, max;
} scarp_summary;

/* Summary of k values (NaNs skipped). */
void scarp_summary_compute(const double *v, int k, scarp_summary *s);
/* Student-t quantile t(p, df) for p in (0.5, 1) (Hill 1970 algorithm 396). */
double scarp_student_t_quantile(double p, double df);

/* Stratified k-fold assignment: fold[i] in [0, k), each fold holding ⌊·⌋ or ⌈·⌉ of each class;
 * seeded. */
scarp_status scarp_cv_kfold(const uint8_t *y, size_t n, int k, uint64_t seed, int *fold);
/* Spatial k-fold: square blocks of side `block` (metres) hashed to folds in a seeded
 * random order so folds hold about equal sample counts. */
scarp_status scarp_cv_spatial_kfold(const double *x, const double *y, size_t n, double block, int k,
                                    uint64_t seed, int *fold);
/* Spatial buffer (Roberts et al. 2017, "Cross-validation strategies for data with temporal,
 * spatial, hierarchical, or phylogenetic structure", Ecography 40:913–929): every sample with
 * role[i] == train_role lying closer than `distance` to a sample with role == test_role gets
 * role `excluded_role`. Uses a grid hash: O(n) for well-spread points. Returns the number
 * excluded in *n_excluded (may be NULL). */
scarp_status scarp_cv_spatial_buffer(const double *x, const double *y, size_t n, int *role, int train_role,
                                     int test_role, int excluded_role, double distance, size_t *n_excluded);
/* The smallest distance between a sample of role a and a sample of role b (brute force
 * O(n_a n_b); +inf when one set is empty). For tests and the report. */
double scarp_cv_min_distance(const double *x, const double *y, size_t n, const int *role, int role_a, int role_b);

#endif
