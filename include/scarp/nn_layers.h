/* nn_layers.h — the layers of the network engine, llm.c style: each layer is a forward /
 * backward pair of plain functions on flat float arrays, shapes in comments; gradients
 * ACCUMULATE (+=) into their buffers, zeroing is the caller's job. A *_naive twin (direct
 * loops, no BLAS) sits beside each fast kernel and is what the tests compare against.
 * Public so the tests and benchmarks can exercise each layer alone; model code uses nn.h.
 *
 * Convolution activations use the "channel-major batch" layout (C, B, h, w): a channel of
 * the whole batch is contiguous, so a conv layer over the batch is ONE sgemm on an im2col
 * matrix (K = Ci·9, B·ho·wo), batch norm statistics are contiguous runs, and pooling
 * treats C·B planes alike. LSTM activations are time-major (N, B, ·).
 */
#ifndef SCARP_NN_LAYERS_H
#define SCARP_NN_LAYERS_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/nn.h"
#include "scarp/rng.h"

/* ---- GEMM (gemm.c) -------------------------------------------------------------------------
 * Row-major C (M,N) = alpha · op(A) (M,K) · op(B) (K,N) + beta · C, like cblas_sgemm, split
 * into shape-determined column tiles over OpenMP threads with single-threaded OpenBLAS calls:
 * bit-identical results for any thread count. Every GEMM of the engine goes through it. */
void scarp_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);

/* ---- conv 3×3 'valid', stride 1, cross-correlation (conv2d.c) ---------------------------
 * inp (Ci,B,h,w) → out (Co,B,h-2,w-2); w (Co,Ci,3,3); bias (Co).
 * col (Ci·9, B·(h-2)·(w-2)) is the im2col matrix, kept for the backward pass. */
void scarp_conv3x3_forward(float *out, float *col, const float *inp, const float *w,
                           const float *bias, int B, int Ci, int h, int wd, int Co);
/* dinp (Ci,B,h,w) += (may be NULL: the first layer needs no input gradient);
 * dw (Co,Ci,3,3) +=; db (Co) +=; dcol scratch (Ci·9, B·ho·wo). */
void scarp_conv3x3_backward(float *dinp, float *dw, float *db, float *dcol, const float *dout,
                            const float *col, const float *w, int B, int Ci, int h, int wd, int Co);
void scarp_conv3x3_forward_naive(float *out, const float *inp, const float *w, const float *bias,
                                 int B, int Ci, int h, int wd, int Co);
void scarp_conv3x3_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                                  const float *inp, const float *w, int B, int Ci, int h, int wd, int Co);

/* ---- ReLU (in place forward; backward uses the output) (dense.c) ----------------------- */
void scarp_relu_forward(float *x, size_t n);
/* dinp (n) += dout · (out > 0) */
void scarp_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- max-pool 2×2 stride 2, floor (maxpool.c) -------------------------------------------
 * inp (P,h,w) planes (P = C·B) → out (P,h/2,w/2); argmax (P,h/2,w/2) = index in the plane
 * of the first maximum in scan order (PyTorch's tie rule). */
void scarp_maxpool2_forward(float *out, int32_t *argmax, const float *inp, int64_t P, int h, int wd);
/* dinp (P,h,w) += */
void scarp_maxpool2_backward(float *dinp, const float *dout, const int32_t *argmax, int64_t P,
                             int h, int wd);

/* ---- batch normalisation over (C, M) channel runs (batchnorm.c) ------------------------
 * Training: batch mean / biased variance; saves mean (C) and rstd (C) = 1/sqrt(var+eps);
 * updates run_mean/run_var (may be NULL) with momentum (0.99) and the unbiased variance. */
void scarp_batchnorm_forward_train(float *out, float *mean, float *rstd, const float *inp,
                                   const float *gamma, const float *beta, float *run_mean,
                                   float *run_var, int C, int64_t M, float momentum, float eps);
void scarp_batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                                  const float *run_mean, const float *run_var, int C, int64_t M,
                                  float eps);
/* dinp (C,M) +=; dgamma, dbeta (C) += */
void scarp_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *gamma, int C, int64_t M);

/* ---- dense (dense.c): out (B,Out) = inp (B,In) · w (In,Out) + b (Out) ------------------- */
void scarp_dense_forward(float *out, const float *inp, const float *w, const float *b, int64_t B,
                         int In, int Out);
/* dinp (B,In) += (may be NULL); dw (In,Out) +=; db (Out) += */
void scarp_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int64_t B, int In, int Out);
void scarp_dense_forward_naive(float *out, const float *inp, const float *w, const float *b,
                               int64_t B, int In, int Out);
void scarp_dense_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                                const float *inp, const float *w, int64_t B, int In, int Out);

/* ---- dropout, inverted (dropout.c) -------------------------------------------------------
 * mask (n) = 0 with probability p, else 1/(1-p); drawn serially from rng (deterministic). */
void scarp_dropout_mask(float *mask, size_t n, float p, scarp_rng *rng);
void scarp_dropout_forward(float *out, const float *inp, const float *mask, size_t n);
/* dinp (n) += dout · mask */
void scarp_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* ---- LSTM layer (lstm.c), Keras semantics, see nn.h ---------------------------------------
 * x (N,B,In); wx (In,4U); wh (U,4U); b (4U); mask (B,U) recurrent-dropout mask or NULL.
 * h (N+1,B,U), c (N+1,B,U): slot 0 = initial zeros (written here), slot t+1 = step t.
 * gates (N,B,4U): activated gates i, f, g, o.  hm (N,B,U): masked h_{t-1} of every step. */
void scarp_lstm_forward(float *h, float *c, float *gates, float *hm, const float *x,
                        const float *wx, const float *wh, const float *b, const float *mask,
                        int N, int64_t B, int In, int U);
/* dh (N,B,U): gradient on every output h_t (zeros where unused) — CONSUMED (overwritten).
 * dx (N,B,In) += (may be NULL); dwx, dwh, db +=; dz scratch (N,B,4U); scratch (2,B,U). */
void scarp_lstm_backward(float *dx, float *dwx, float *dwh, float *db, float *dz, float *scratch,
                         float *dh,
                         const float *h, const float *c, const float *gates, const float *hm,
                         const float *x, const float *wx, const float *wh, const float *mask,
                         int N, int64_t B, int In, int U);
void scarp_lstm_forward_naive(float *h, float *c, float *gates, float *hm, const float *x,
                              const float *wx, const float *wh, const float *b, const float *mask,
                              int N, int64_t B, int In, int U);

/* ---- loss (loss.c) ------------------------------------------------------------------------
 * Mean binary cross-entropy from logits, stable: max(z,0) − z·y + log(1 + e^{−|z|}).
 * Returns the mean (double); dlogit (B) += (σ(z) − y) · scale (scale = 1/B for the mean). */
double scarp_bce_logits_forward(const float *logit, const float *label, int64_t B);
void scarp_bce_logits_backward(float *dlogit, const float *logit, const float *label, int64_t B,
                               float scale);
/* lambda · Σ w² (double) and dw += 2 · lambda · w */
double scarp_l2_penalty(const float *w, size_t n, float lambda);
void scarp_l2_backward(float *dw, const float *w, size_t n, float lambda);

/* ---- Adam, Keras form (adam.c) -----------------------------------------------------------
 * t = step number after increment (1 for the first step):
 * m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; w −= lr·√(1−β2^t)/(1−β1^t) · m / (√v + eps). */
void scarp_adam_update(float *w, const float *g, float *m, float *v, size_t n, float lr,
                       float beta1, float beta2, float eps, int64_t t);

/* ---- the whole model (model.c) ------------------------------------------------------------
 * A workspace that also holds every gradient buffer (training; scarp_nn_workspace_free). */
scarp_status scarp_nn_workspace_new_train(const scarp_model *model, int64_t max_batch,
                                          scarp_nn_workspace **ws);
/* One training-mode forward + backward on the samples idx[0..B) of `data` (B ≤ the
 * workspace's max batch): model->grads += dloss/dparams (zero them first), L2 included.
 * rng draws the dropout masks (NULL = no dropout / recurrent dropout). update_stats = 1
 * updates the BN moving averages. bce (mean), penalty (L2 term) and prob_out (B) may be NULL. */
scarp_status scarp_model_forward_backward(scarp_model *model, scarp_nn_workspace *ws,
                                          const scarp_nn_data *data, const size_t *idx, int64_t B,
                                          scarp_rng *rng, int update_stats, double *bce,
                                          double *penalty, float *prob_out);
/* L2 penalty of the current weights: l2 · Σ w² over conv and dense kernels. */
double scarp_model_l2_penalty(const scarp_model *model);

#endif
