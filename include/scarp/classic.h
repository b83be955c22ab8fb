/* classic.h — the study's baseline classifiers on tabular features: SVM (RBF, Platt
 * probabilities; Chang & Lin 2011, libsvm; Platt 1999 as improved by Lin, Lin & Weng 2007),
 * CART decision tree (Breiman, Friedman, Olshen & Stone 1984; Gini impurity), random
 * forest (Breiman 2001, "Random forests", Machine Learning 45:5–32) and L2-penalised
 * logistic regression (Newton / IRLS), plus gradient-boosted trees (Friedman 2001).
 *
 * Everything works on plain row-major arrays X (n, F) of float32 and labels y (n) in {0, 1}:
 * this module never knows where samples come from. Hyper-parameters left at 0 are tuned
 * on the validation arrays (SVM C and γ, tree depth and leaf size, logreg C) by the
 * validation AUC over a small documented grid. Training and prediction are deterministic
 * for any thread count (the forest draws tree t from scarp_rng_stream(seed, t)).
 *
 * Model files: "SCARPCLS" magic, format version, kind, feature count, an opaque
 * normalisation blob (the dataset's, so mapping scales exactly as training did), the
 * model payload and a CRC-32 of everything before it; wrong, truncated or damaged files
 * are a clear SCARP_ERR_INPUT naming the file. Implemented in src/classic/{svm,tree,
 * forest,logreg,gboost,classic}.c. */
#ifndef SCARP_CLASSIC_H
#define SCARP_CLASSIC_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/progress.h"
#include "scarp/status.h"

typedef enum {
    SCARP_CLASSIC_SVM = 0,
    SCARP_CLASSIC_TREE,
    SCARP_CLASSIC_FOREST,
    SCARP_CLASSIC_LOGREG,
    SCARP_CLASSIC_GBOOST,
    SCARP_CLASSIC_N
} scarp_classic_kind;

/* Hyper-parameters; 0 means "the default" or, where said, "tune on validation". */
typedef struct {
    uint64_t seed;       /* every random draw (bootstrap, feature subsets, Platt CV) */
    /* SVM */
    double svm_c;        /* 0: tune over {0.1, 1, 10, 100} */
    double svm_gamma;    /* 0: tune over {1/4, 1, 4} / F (F = feature count) */
    /* tree (CART) and the trees of the forest / boosting */
    int max_depth;       /* tree: 0 = tune over {3, 5, 8, 12, unlimited}; forest: 0 = unlimited */
    int min_leaf;        /* tree: 0 = tune over {1, 5, 20}; forest: 0 = 1 */
    /* forest */
    int n_trees;         /* 0: 500 (forest), 200 (boosting) */
    int mtry;            /* features tried per split; 0: floor(sqrt(F)) */
    /* logistic regression */
    double logreg_c;     /* inverse L2 strength (sklearn's C); 0: tune over {0.01, 0.1, 1, 10, 100} */
    /* gradient boosting */
    double learning_rate;/* 0: 0.1 */
} scarp_classic_params;

/* One node of a flattened tree. Children are adjacent: right = left + 1.
 * A leaf has feature = -1 and keeps its value (probability of class 1) in `threshold`. */
typedef struct {
    float threshold;     /* go left when x[feature] <= threshold */
    int32_t feature;     /* -1 = leaf */
    int32_t left;        /* index of the left child, relative to the tree's root */
    int32_t pad_;
} scarp_tree_node;

typedef struct {
    scarp_classic_kind kind;
    int n_features;
    /* standardisation fitted on the training rows (SVM, logistic regression): z = (x - mean) / scale */
    float *mean, *scale;          /* (F) or NULL */
    /* SVM (RBF), extracted from libsvm so prediction is dense and threaded:
     * f(x) = Σ_i coef_i exp(-γ |z - sv_i|²) - rho; P(y = 1) = 1 / (1 + exp(A f + B)) */
    int n_sv;
    float *sv;                    /* (n_sv, F) standardised support vectors */
    double *sv_coef;              /* (n_sv) signed α_i y_i, oriented so f > 0 means class 1 */
    double rho, prob_a, prob_b, gamma, c;
    /* trees (tree: 1, forest: n_trees, boosting: n_trees) */
    int n_trees;
    int64_t *tree_root;           /* (n_trees) index of each root in nodes */
    scarp_tree_node *nodes;       /* (n_nodes) */
    int64_t n_nodes;
    /* the prediction layout (built by scarp__trees_prepare after training or loading):
     * leaves become self-loops (feature 0, threshold +inf, left = itself) with their value in
     * leaf_value, so every row of a block walks exactly tree_depth[t] steps, branch-free */
    scarp_tree_node *walk;        /* (n_nodes) */
    float *leaf_value;            /* (n_nodes) */
    int32_t *tree_depth;          /* (n_trees) */
    int max_depth, min_leaf, mtry;
    double base_score, learning_rate; /* boosting: logit = base + lr · Σ tree leaves */
    /* logistic regression: P = σ(intercept + Σ coef_j z_j) */
    double *coef;                 /* (F) */
    double intercept;
    double logreg_c;
    /* the validation AUC of the chosen hyper-parameters (NaN when not tuned) */
    double val_auc;
} scarp_classic;

/* "svm", "tree", "forest", "logreg", "gboost". */
const char *scarp_classic_name(scarp_classic_kind kind);
/* Parses a name (also "rf", "dt", "lr", "gb", "boost"); SCARP_ERR_INPUT for an unknown name. */
scarp_status scarp_classic_kind_parse(const char *name, scarp_classic_kind *kind);
/* 1 if `name` is a baseline handled by this module. */
int scarp_classic_is_name(const char *name);

/* Trains a model. X_train (n_train, F), y_train (n_train) in {0, 1}; X_val/y_val (n_val)
 * may be NULL/0, in which case nothing is tuned and the defaults are used
 * (SVM C = 1, γ = 1/F; tree unlimited depth, leaf 1; logreg C = 1).
 * Both classes must be present in the training rows. */
scarp_status scarp_classic_train(scarp_classic *m, scarp_classic_kind kind, const scarp_classic_params *p,
                                 const float *X_train, const uint8_t *y_train, size_t n_train, int n_features,
                                 const float *X_val, const uint8_t *y_val, size_t n_val,
                                 scarp_progress *progress);

/* P(y = 1) for n rows of X (n, F) into prob (n). Threaded, deterministic, no allocation
 * per row. */
scarp_status scarp_classic_predict(const scarp_classic *m, const float *X, size_t n, float *prob);

/* Writes the model crash-safely (partial + rename) with the normalisation blob
 * (norm may be NULL with norm_bytes 0). */
scarp_status scarp_classic_save(const scarp_classic *m, const char *path, const void *norm, size_t norm_bytes);
/* Reads a model file; the normalisation blob is returned in *norm (caller frees with
 * scarp_free; pass NULL to ignore it). */
scarp_status scarp_classic_load(scarp_classic *m, const char *path, void **norm, size_t *norm_bytes);
/* 1 if the file starts with the classic model magic (for `scarp map` / `scarp info`). */
int scarp_classic_file_is(const char *path);

void scarp_classic_free(scarp_classic *m);

/* Internal entry points, one per file (used by scarp_classic_train). */
scarp_status scarp__svm_train(scarp_classic *m, const scarp_classic_params *p, const float *Xtr,
                              const uint8_t *ytr, size_t ntr, const float *Xva, const uint8_t *yva, size_t nva);
scarp_status scarp__svm_predict(const scarp_classic *m, const float *X, size_t n, float *prob);
scarp_status scarp__tree_train(scarp_classic *m, const scarp_classic_params *p, const float *Xtr,
                               const uint8_t *ytr, size_t ntr, const float *Xva, const uint8_t *yva, size_t nva);
scarp_status scarp__forest_train(scarp_classic *m, const scarp_classic_params *p, const float *Xtr,
                                 const uint8_t *ytr, size_t ntr, scarp_progress *progress);
scarp_status scarp__trees_predict(const scarp_classic *m, const float *X, size_t n, float *prob);
/* Builds walk / leaf_value / tree_depth from nodes and tree_root. */
scarp_status scarp__trees_prepare(scarp_classic *m);
/* Concatenates T separately grown trees (trees[t], counts[t] nodes each) into m->nodes /
 * m->tree_root and prepares them for prediction (forest and boosting share this). */
scarp_status scarp__trees_pack(scarp_classic *m, scarp_tree_node *const *trees, const int64_t *counts, int T);
scarp_status scarp__logreg_train(scarp_classic *m, const scarp_classic_params *p, const float *Xtr,
                                 const uint8_t *ytr, size_t ntr, const float *Xva, const uint8_t *yva, size_t nva);
scarp_status scarp__logreg_predict(const scarp_classic *m, const float *X, size_t n, float *prob);
scarp_status scarp__gboost_train(scarp_classic *m, const scarp_classic_params *p, const float *Xtr,
                                 const uint8_t *ytr, size_t ntr, scarp_progress *progress);

/* Standardisation helper shared by SVM and logreg: mean and scale (sd, 1 when sd = 0). */
scarp_status scarp__standardize_fit(scarp_classic *m, const float *X, size_t n);

/* CART on weighted rows (weights = bootstrap counts, or NULL = 1), appending its nodes to
 * m->nodes; builds tree `t` (m->tree_root[t] must be allocated). Targets: for
 * classification (gini) y in {0,1}; for regression (boosting) target r with squared error.
 * Exposed for forest.c and gboost.c. */
typedef struct scarp__tree_builder scarp__tree_builder;
scarp__tree_builder *scarp__tree_builder_new(size_t n, int n_features);
void scarp__tree_builder_free(scarp__tree_builder *b);
/* Builds one tree into a private node list and returns its nodes (caller frees with
 * scarp_free) and count. target: class labels (0/1) as double for gini, residuals for mse;
 * hess (NULL for gini): Newton leaf values Σ target / Σ hess (boosting). */
scarp_status scarp__tree_build(scarp__tree_builder *b, const float *X, const double *target, const double *hess,
                               const double *weight, size_t n, int n_features, int max_depth, int min_leaf,
                               int mtry, int regression, uint64_t seed, uint64_t stream,
                               scarp_tree_node **nodes, int64_t *n_nodes);

#endif
