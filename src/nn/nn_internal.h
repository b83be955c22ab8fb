/* nn_internal.h — private to src/nn: the workspace (every activation and gradient buffer
 * of one batch, carved from one slab, sized once for the largest batch) and the branch
 * passes shared by model.c and train.c. */
#ifndef SCARP_NN_INTERNAL_H
#define SCARP_NN_INTERNAL_H
#include "scarp/nn.h"
#include "scarp/nn_layers.h"

struct scarp_nn_workspace {
    int64_t max_batch;
    int with_grads;
    float *slab;
    int32_t *islab;
    /* CNN, block k: spatial sizes in[k] → conv o[k] → pool p[k] */
    int hin[3], win[3], ho[3], wo[3], hp[3], wp[3];
    float *x[4];       /* x[0] (C,B,H,W) input; x[k+1] (Co,B,hp,wp) block output */
    float *col[3];     /* (Ci·9, B·ho·wo) */
    float *y[3];       /* (Co,B,ho,wo) conv + ReLU */
    float *pool[3];    /* (Co,B,hp,wp) */
    int32_t *arg[3];   /* (Co,B,hp,wp) */
    float *bn_mu[3], *bn_rs[3]; /* (Co) */
    float *dx[4], *dy[3], *dpool[3], *dcol; /* gradients (dcol: the largest col) */
    /* LSTM, layer l */
    float *xs;         /* (N,B,T) */
    float *lh[2], *lc[2]; /* (N+1,B,U) */
    float *lg[2];      /* (N,B,4U) */
    float *lhm[2];     /* (N,B,U) */
    float *lmask[2];   /* (B,U) */
    float *ldh[2];     /* (N,B,U) */
    float *ldz;        /* (N,B,4·Umax) */
    float *lscratch;   /* (2,B,Umax) */
    /* head */
    float *hin_buf;    /* (B, head_in) */
    float *a[2], *m[2], *r[2]; /* (B, dense[d]): ReLU output, dropout mask, after dropout */
    float *logit;      /* (B) */
    float *labels;     /* (B) */
    float *dhin, *da[2], *dr[2], *dlogit;
};

scarp_status nn_workspace_create(const scarp_model *m, int64_t max_batch, int with_grads,
                                 scarp_nn_workspace **ws);

/* Gathers rows idx[0..B) (or rows base..base+B when idx is NULL) into the workspace inputs. */
void nn_gather(const scarp_model *m, scarp_nn_workspace *ws, const scarp_nn_data *d,
               const size_t *idx, size_t base, int64_t B);
/* Forward from the gathered inputs to ws->logit. train: BN batch statistics (moving
 * averages updated if update_stats), dropout masks from rng (NULL = none). */
void nn_forward(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int train, int update_stats,
                scarp_rng *rng);
/* Allocates the slabs of `spec` (zeroed) and points the tensor views; no initialisation. */
/* Sizes of the parameter and statistics slabs of a spec, without allocating (so a damaged
 * file cannot make the loader allocate before its sizes are checked). */
scarp_status nn_model_counts(const scarp_model_spec *spec, size_t *n_params, size_t *n_stats);
scarp_status nn_model_alloc(scarp_model *m, const scarp_model_spec *spec);
#endif
