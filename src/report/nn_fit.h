/* nn_fit.h — how `scarp train` fits one network on the rows it is given (train rows and
 * validation rows only): [model] tune = auto searches a small seeded grid with early
 * stopping and rejects settings that did not learn; tune = none is the study's recipe;
 * [model] ensemble = N trains N seeds of the chosen setting. Private to src/report. */
#ifndef SCARP_NN_FIT_H
#define SCARP_NN_FIT_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/nn.h"
#include "scarp/progress.h"
#include "scarp/status.h"

#define SCARP_NN_FIT_MAX_TRIALS 16
#define SCARP_NN_FIT_MAX_MEMBERS 64

typedef struct {
    float lr, l2, dropout;
    int epochs;           /* epochs run (early stopping may stop before the maximum) */
    int best_epoch;       /* 0-based */
    double val_auc, val_bce, val_sd; /* of the best epoch's weights on the validation rows */
    int did_not_learn;    /* see scarp__nn_did_not_learn */
    char why[96];         /* the reason, when it did not learn */
} scarp__nn_trial;

typedef struct {
    int n_trials, chosen; /* chosen: index of the setting kept (-1 none) */
    scarp__nn_trial trial[SCARP_NN_FIT_MAX_TRIALS];
    int n_members;        /* [model] ensemble */
    scarp_model member[SCARP_NN_FIT_MAX_MEMBERS]; /* raw-input models, ready to save */
    int member_did_not_learn[SCARP_NN_FIT_MAX_MEMBERS];
    int member_best_epoch[SCARP_NN_FIT_MAX_MEMBERS];
    int refit_rows;       /* 0 = no refit */
    float *val_prob;      /* (nva) ensemble-mean validation probabilities, before any refit */
    scarp_train_history hist; /* member 0 of the chosen setting */
    int did_not_learn;    /* the chosen setting (so: every setting) did not learn */
    int standardized;     /* mlp: tabular inputs z-scored on the training rows */
    int F;
    double *mu, *sd;      /* (F) when standardized */
    int augment;          /* dihedral augmentation used */
    double seconds;
} scarp__nn_fit_result;

/* Fits `kind` on rows tr (training) and va (validation) of ds with the [model] keys of cfg;
 * refit (nrefit rows, may be NULL): every member is then trained again from its seed on
 * these rows (train + val) for its selected number of epochs (the outer-fold refit).
 * On success res holds n_members trained models (free with scarp__nn_fit_free). */
scarp_status scarp__nn_fit(const scarp_config *cfg, const scarp_dataset *ds, scarp_model_kind kind, const size_t *tr,
                           size_t ntr, const size_t *va, size_t nva, const size_t *refit, size_t nrefit, uint64_t seed,
                           scarp_progress *progress, scarp__nn_fit_result *res);
void scarp__nn_fit_free(scarp__nn_fit_result *res);
/* Adds tune, trials, did_not_learn, standardisation and ensemble fields to history.json. */
void scarp__nn_fit_json(const scarp__nn_fit_result *res, const char *tune, cJSON *h);

/* The did-not-learn rule on validation probabilities p (n) of a model whose best epoch is
 * best_epoch (0-based): 1 with a reason when best_epoch == 0 (no epoch improved on the
 * first), or when sd(p) <= K·2^-24 (K = the longest dot product of the network, fan_in:
 * the float32 rounding bound γ_K of one forward pass, Higham 2002 §3.1, so that the outputs
 * cannot be told from a constant). 0 otherwise. */
int scarp__nn_did_not_learn(const float *p, size_t n, int best_epoch, int fan_in, double *sd, char *why,
                            size_t why_size);
/* Longest dot product (fan-in) of the network of spec. */
int scarp__nn_fan_in(const scarp_model_spec *spec);
/* mlp: folds a z-score (x − mu)/sd of the inputs into the first dense layer, so the model
 * takes the raw tabular rows: W'[f][j] = W[f][j]/sd[f], b'[j] = b[j] − Σ_f mu[f]·W'[f][j]. */
void scarp__nn_fold_standardization(scarp_model *m, const double *mu, const double *sd);

#endif
