/* nn.h — the network engine and the study's hybrid CNN–LSTM (DESIGN.md §4) with its
 * single-branch variants (CNN, LSTM) and the tabular MLP: model spec, Keras initialisers,
 * inference, training (Adam, best-epoch selection), the model file, and read access to
 * the trained parameters for the map engine.
 * Implements: LeCun et al. 1998 (CNN), Hochreiter & Schmidhuber 1997 (LSTM, standard form
 * with forget gate, Gers et al. 2000), Ioffe & Szegedy 2015 (batch normalisation),
 * Kingma & Ba 2015 (Adam), Glorot & Bengio 2010 / Saxe et al. 2014 (initialisers),
 * with the semantics of Keras 2 (TF 2.x) defaults, which the reference study used.
 *
 * ---------------------------------------------------------------------------------------
 * Tensor layouts (all float32, row-major, C order; the last index varies fastest)
 * ---------------------------------------------------------------------------------------
 *   patches   (B, C, H, W)   spatial inputs, one C×H×W patch per sample, centre at H/2, W/2
 *   seq       (B, N, T)      temporal inputs: N steps (oldest first), T variables per step
 *   tab       (B, F)         tabular features (MLP only)
 *   prob      (B)            P(label = 1)
 *
 * CNN branch, block k = 0, 1, 2 (Ci = C, f0, f1; Co = filters[k]):
 *   y = BN(maxpool2x2_floor(relu(conv3x3_valid(x))))
 *   conv_w[k]   (Co, Ci, 3, 3)  OIHW, cross-correlation (no kernel flip), like PyTorch;
 *                               (a Keras HWIO kernel k[ky][kx][ci][co] = conv_w[co][ci][ky][kx])
 *   conv_b[k]   (Co)
 *   bn_gamma[k], bn_beta[k]   (Co)   trainable
 *   bn_mean[k],  bn_var[k]    (Co)   moving averages (not trainable), used in eval mode:
 *                               bn(x) = gamma * (x - mean) / sqrt(var + SCARP_BN_EPS) + beta
 *   The features are the flattened last block output (B, Co*h*w) in (c, y, x) order;
 *   with 22×22 patches h = w = 1 and the feature is (B, 128).
 *
 * LSTM branch, layer l = 0, 1 (In = T, units[0]; U = lstm_units[l]); layer 0 returns the
 * whole sequence, layer 1 its last hidden state (B, U1):
 *   z_t = x_t · lstm_wx[l] + (h_{t-1} ∘ mask) · lstm_wh[l] + lstm_b[l]       (B, 4U)
 *   i = σ(z[:, 0:U]), f = σ(z[:, U:2U]), g = tanh(z[:, 2U:3U]), o = σ(z[:, 3U:4U])
 *   c_t = f ∘ c_{t-1} + i ∘ g,  h_t = o ∘ tanh(c_t),  h_{-1} = c_{-1} = 0
 *   lstm_wx[l]  (In, 4U)   Keras "kernel" layout, gate blocks i, f, c(g), o of width U
 *   lstm_wh[l]  (U, 4U)    Keras "recurrent_kernel"
 *   lstm_b[l]   (4U)       Keras single bias (PyTorch: bias_ih = this, bias_hh = 0)
 *   mask: recurrent dropout, training only — one Bernoulli(1-p)/(1-p) mask per sequence
 *   and layer, shared by the 4 gates and all steps (Keras implementation = 2).
 *
 * Head (dense d = 0, 1, 2; ReLU, dropout after 0 and 1; 2 is the single logit):
 *   dense_w[d]  (In, Out)  Keras layout: y = x · W + b   (PyTorch Linear.weight = Wᵀ)
 *   dense_b[d]  (Out)
 *   Head input: cnn_lstm = concat(cnn (128), lstm (64)) in that order, so rows 0..127 of
 *   dense_w[0] multiply the CNN features and rows 128..191 the LSTM state; cnn = 128;
 *   lstm = 64; mlp = F (the MLP is just the head on the tabular features).
 *
 * Loss: mean binary cross-entropy from the logit (stable form) + l2 · Σ w² over conv_w
 * and dense_w only (not LSTM weights, biases or batch-norm parameters).
 * Batch norm in training uses batch statistics (biased variance) and updates
 *   mean ← 0.99·mean + 0.01·batch_mean, var ← 0.99·var + 0.01·batch_var_unbiased
 * (Keras momentum 0.99; the unbiased running variance is what TF's fused kernel and
 * PyTorch both keep).
 *
 * Threads (scarp_threads_get()): every GEMM goes through scarp_sgemm (nn_layers.h), which
 * cuts the output into shape-determined tiles shared by OpenMP threads, each a
 * single-threaded OpenBLAS call; LSTM batch rows run in fixed blocks, one thread each;
 * pointwise loops are OpenMP loops with fixed-order sums. So OpenBLAS and OpenMP never
 * oversubscribe the cores, and results are bit-identical for any thread count. Called from
 * inside a parallel region (e.g. a map engine's tile loop) everything runs on the caller's
 * thread.
 */
#ifndef SCARP_NN_H
#define SCARP_NN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "scarp/progress.h"
#include "scarp/status.h"

#define SCARP_BN_EPS 1e-3f
#define SCARP_BN_MOMENTUM 0.99f
#define SCARP_MODEL_FORMAT_VERSION 1

typedef enum {
    SCARP_MODEL_CNN_LSTM = 0, /* the study's hybrid */
    SCARP_MODEL_CNN = 1,      /* CNN branch + the same head */
    SCARP_MODEL_LSTM = 2,     /* LSTM branch + the same head */
    SCARP_MODEL_MLP = 3       /* dense 128 ReLU → dropout → 64 ReLU → dropout → 1 on tab */
} scarp_model_kind;

/* "cnn_lstm", "cnn", "lstm", "mlp". */
const char *scarp_model_kind_name(scarp_model_kind kind);
/* Parses one of those names; SCARP_ERR_INPUT naming it otherwise. */
scarp_status scarp_model_kind_parse(const char *name, scarp_model_kind *kind);

typedef struct {
    scarp_model_kind kind;
    int C, H, W;          /* patch channels and size (default 22 × 22)      (CNN kinds) */
    int N, T;             /* sequence steps (30) and variables per step (2)  (LSTM kinds) */
    int F;                /* tabular features                                (MLP) */
    int filters[3];       /* 32, 64, 128 */
    int lstm_units[2];    /* 128, 64 */
    int dense[2];         /* 128, 64 */
    float dropout;        /* 0.2, after dense 0 and 1 */
    float recurrent_dropout; /* 0.2, on h(t-1) of both LSTM layers */
    float l2;             /* 0.01 */
} scarp_model_spec;

/* The study's defaults for `kind` (C = 22, 22×22, N = 30, T = 2, F = 0: set what you need). */
void scarp_model_spec_default(scarp_model_spec *spec, scarp_model_kind kind);
/* Checks sizes: the patch must survive three conv+pool blocks, so H, W >= 22 (22 → 1×1
 * features; larger patches give Co·h·w features). SCARP_ERR_USAGE naming the field. */
scarp_status scarp_model_spec_check(const scarp_model_spec *spec);

/* Pointers to every tensor of one kind of slab (parameters or their gradients / Adam
 * moments). Tensors a model does not have are NULL. Shapes: see the top of this file. */
typedef struct {
    float *conv_w[3], *conv_b[3], *bn_gamma[3], *bn_beta[3];
    float *lstm_wx[2], *lstm_wh[2], *lstm_b[2];
    float *dense_w[3], *dense_b[3];
} scarp_model_tensors;

typedef struct scarp_nn_workspace scarp_nn_workspace;

typedef struct {
    scarp_model_spec spec;
    size_t n_params;          /* trainable floats */
    float *params;            /* (n_params) one slab */
    float *grads;             /* (n_params) */
    float *adam_m, *adam_v;   /* (n_params) Adam moments */
    int64_t adam_t;           /* Adam step count */
    size_t n_stats;           /* non-trainable floats: BN moving mean/var */
    float *stats;             /* (n_stats) */
    scarp_model_tensors p;    /* views into params */
    scarp_model_tensors g;    /* the same views into grads */
    float *bn_mean[3], *bn_var[3]; /* views into stats, (filters[k]) each */
    int cnn_features;         /* width of the CNN feature vector (128 by default), 0 if none */
    int lstm_features;        /* lstm_units[1] (64), 0 if none */
    int head_in;              /* input width of dense 0 */
    scarp_nn_workspace *ws;   /* private: buffers of predict/train, sized lazily */
} scarp_model;

/* Allocates and initialises with Keras initialisers from `seed`: Glorot-uniform kernels
 * (conv fan = Ci·9 and Co·9), orthogonal recurrent kernels, zero biases, forget-gate bias
 * 1, BN γ = 1, β = 0, moving mean 0, var 1. Same seed ⇒ same weights. */
scarp_status scarp_model_init(scarp_model *model, const scarp_model_spec *spec, uint64_t seed);
void scarp_model_free(scarp_model *model); /* accepts NULL and a zeroed struct */
/* Deep copy (weights, stats, Adam state) into an uninitialised `dst`. */
scarp_status scarp_model_copy(scarp_model *dst, const scarp_model *src);

/* ---- inference (eval mode: BN moving averages, no dropout) ---------------------------
 * Inputs the kind does not use may be NULL. Thread-parallel inside; processes B in chunks
 * with buffers kept in the model (one call at a time per model: for concurrent callers
 * use the _ws variants with a workspace each). */
scarp_status scarp_model_predict(scarp_model *model, const float *patches /* (B,C,H,W) */,
                                 const float *seq /* (B,N,T) */, const float *tab /* (B,F) */,
                                 int64_t B, float *prob_out /* (B) */);

/* Workspace for up to `max_batch` samples per call (any B is processed in chunks). */
scarp_status scarp_nn_workspace_new(const scarp_model *model, int64_t max_batch,
                                    scarp_nn_workspace **ws);
void scarp_nn_workspace_free(scarp_nn_workspace *ws);

scarp_status scarp_model_predict_ws(const scarp_model *model, scarp_nn_workspace *ws,
                                    const float *patches, const float *seq, const float *tab,
                                    int64_t B, float *prob_out /* (B) */);
/* The branches, for the map engine (eval mode). */
scarp_status scarp_model_cnn_features(const scarp_model *model, scarp_nn_workspace *ws,
                                      const float *patches /* (B,C,H,W) */, int64_t B,
                                      float *feat /* (B, cnn_features) */);
scarp_status scarp_model_lstm_features(const scarp_model *model, scarp_nn_workspace *ws,
                                       const float *seq /* (B,N,T) */, int64_t B,
                                       float *feat /* (B, lstm_features) */);
/* Head from its input (B, head_in) (for cnn_lstm: CNN features then LSTM features per row).
 * logit_out and prob_out may each be NULL. */
scarp_status scarp_model_head(const scarp_model *model, scarp_nn_workspace *ws,
                              const float *feat /* (B, head_in) */, int64_t B,
                              float *logit_out /* (B) */, float *prob_out /* (B) */);

/* ---- training ------------------------------------------------------------------------ */
typedef enum {
    SCARP_SELECT_VAL_BCE = 0, /* lowest validation cross-entropy (default) */
    SCARP_SELECT_VAL_LOSS = 1 /* Keras val_loss: cross-entropy + L2 penalty */
} scarp_select;

typedef struct {
    int epochs;          /* 50 */
    int batch;           /* 32 */
    float lr;            /* 0.001 */
    float beta1, beta2;  /* 0.9, 0.999 */
    float eps;           /* 1e-7 (Keras form: w -= lr_t·m / (√v + eps)) */
    scarp_select select; /* SCARP_SELECT_VAL_BCE */
    uint64_t seed;       /* shuffling and dropout masks */
    scarp_progress *progress; /* one step per epoch; NULL = silent; can cancel */
    int patience;        /* 0 = run every epoch; else stop when the selection score has not
                            improved for this many epochs (early stopping) */
    int bn_population;   /* 0 = keep the BN moving averages; else before every validation
                            replace them by the population statistics of the current weights
                            over up to this many training rows (evenly spaced in train_idx) */
    int augment;         /* 0 none; 1 dihedral: each training patch takes one of the 8
                            rotations/reflections at random (scarp_patch_dihedral) */
    int n_circular;      /* augment: directional channel pairs (sin, cos of an azimuth) */
    const int *circular; /* (n_circular, 2) channel indices: sin, cos */
} scarp_train_options;

void scarp_train_options_default(scarp_train_options *opts);

/* Per-epoch metrics (arrays of length `epochs`, 0-based epoch index). Train figures are
 * running means over the epoch's batches in training mode (as Keras prints them);
 * validation figures use eval mode. loss = bce + L2 penalty; accuracy at 0.5; MAE and
 * RMSE of the probability against the 0/1 label. */
typedef struct {
    int epochs;
    int best_epoch; /* 0-based; its weights are the ones left in the model */
    double *train_loss, *train_bce, *train_acc, *train_mae, *train_rmse;
    double *val_loss, *val_bce, *val_acc, *val_mae, *val_rmse;
    double seconds; /* wall time of the whole training */
} scarp_train_history;

void scarp_train_history_free(scarp_train_history *hist); /* accepts NULL */

/* The samples: row i of each array is sample i; arrays the kind does not use may be NULL. */
typedef struct {
    const float *patches; /* (n, C, H, W) */
    const float *seq;     /* (n, N, T) */
    const float *tab;     /* (n, F) */
    const float *labels;  /* (n) 0 or 1 */
    size_t n;
} scarp_nn_data;

/* Trains in place with Adam from the model's current weights; reshuffles train_idx every
 * epoch with the seeded RNG (the last batch may be partial); evaluates on val_idx each
 * epoch; leaves the weights (and BN statistics) of the best epoch in the model. n_val = 0
 * keeps the last epoch. `hist` may be NULL. Same seed ⇒ same weights for any thread count. */
scarp_status scarp_model_train(scarp_model *model, const scarp_nn_data *data,
                               const size_t *train_idx, size_t n_train,
                               const size_t *val_idx, size_t n_val,
                               const scarp_train_options *opts, scarp_train_history *hist);

/* Replaces the batch-norm moving averages by the population statistics of the current
 * weights over rows idx[0..n) (block by block, each block seeing the blocks before it in
 * eval mode; unbiased variance). No-op for models without a CNN branch. */
scarp_status scarp_model_bn_population(scarp_model *model, const scarp_nn_data *data, const size_t *idx, size_t n);

/* ---- patch augmentation (augment.c) ----------------------------------------------------
 * The dihedral group D4 on a square (C, S, S) patch, row 0 = north, column 0 = west:
 * t = 0..7, t & 3 = number of 90° counter-clockwise rotations (as seen on a north-up map),
 * t & 4 = a west–east mirror applied before them. Rotation is about the patch's geometric
 * centre ((S−1)/2, exact for odd S; for even S the sample cell at S/2 moves by one cell).
 * Directional channels move with the terrain: for an azimuth A clockwise from north (the
 * aspect of slope_aspect.c, the downslope direction), (sin A, cos A) is the (east, north)
 * unit vector, so each (sin, cos) pair is multiplied by the same 2×2 matrix as the cell
 * coordinates: a CCW quarter turn maps (s, c) → (−c, s); the mirror maps (s, c) → (−s, c).
 *   src, dst: (C, S, S), distinct;  circular: (n_circular, 2) channel pairs sin, cos. */
void scarp_patch_dihedral(const float *src, float *dst, int C, int S, int t, const int *circular, int n_circular);

/* ---- model file ------------------------------------------------------------------------
 * Little-endian binary:
 *   "SCARPNN\0" (8 bytes) | u32 format version | u32 kind | i32 C H W N T F
 *   | i32 filters[3] lstm_units[2] dense[2] | f32 dropout recurrent_dropout l2
 *   | u64 n_params | u64 n_stats | u64 norm_bytes | norm blob | f32 params[n_params]
 *   | f32 stats[n_stats] | u32 CRC-32 of every byte before it.
 * Written to "<path>.partial" then renamed. Damaged, truncated, wrong-magic, newer-version
 * or size-mismatched files → SCARP_ERR_INPUT with a message naming the file and the fault. */
scarp_status scarp_model_save(const char *path, const scarp_model *model,
                              const void *norm_blob, size_t norm_bytes);
/* Initialises `model` (uninitialised on entry) from the file. norm_blob (may be NULL if the
 * caller does not want it) receives a scarp_malloc'd copy of the blob (NULL if empty). */
scarp_status scarp_model_load(const char *path, scarp_model *model, void **norm_blob,
                              size_t *norm_bytes);
/* Human-readable summary (kind, sizes, parameter counts, blob size, CRC) for `scarp info`. */
scarp_status scarp_model_describe(const char *path, FILE *out);

/* Forward FLOPs per sample of the model (2 × multiply-adds of conv, LSTM and dense). */
double scarp_model_flops(const scarp_model_spec *spec);

#endif
