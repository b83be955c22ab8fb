/* train.c — the training loop of DESIGN.md §4: Adam on mini-batches of a reshuffled
 * training set (Kingma & Ba 2015), validation every epoch, and the weights of the best
 * epoch kept (lowest validation cross-entropy by default; Keras' val_loss, which adds the
 * L2 penalty, as an option). Every random draw (shuffle, dropout masks) comes from streams
 * of the one seed, drawn serially: same seed ⇒ same weights for any thread count. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

void scarp_train_options_default(scarp_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 50;
    o->batch = 32;
    o->lr = 0.001f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-7f;
    o->select = SCARP_SELECT_VAL_BCE;
    o->seed = 42;
}

void scarp_train_history_free(scarp_train_history *h)
{
    if (!h) return;
    double **arrs[] = {&h->train_loss, &h->train_bce, &h->train_acc, &h->train_mae, &h->train_rmse,
                       &h->val_loss, &h->val_bce, &h->val_acc, &h->val_mae, &h->val_rmse};
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) { scarp_free(*arrs[i]); *arrs[i] = NULL; }
    h->epochs = 0;
}

/* Running sums of one epoch's metrics. */
typedef struct { double bce, sq, abs; int64_t correct, n; } metric_acc;

static void metric_add(metric_acc *a, const float *prob, const float *label, int64_t B, double bce_mean)
{
    a->bce += bce_mean * (double)B;
    for (int64_t i = 0; i < B; i++) {
        const double e = (double)prob[i] - label[i];
        a->sq += e * e;
        a->abs += fabs(e);
        a->correct += ((prob[i] > 0.5f) == (label[i] > 0.5f));
    }
    a->n += B;
}

static scarp_status check_data(const scarp_model *m, const scarp_nn_data *d, const size_t *idx, size_t n,
                               const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= d->n)
            return scarp_fail(SCARP_ERR_USAGE, "train: %s index %zu = %zu is out of range (n = %zu)", what, i, idx[i], d->n);
        const float y = d->labels[idx[i]];
        if (y != 0.0f && y != 1.0f)
            return scarp_fail(SCARP_ERR_INPUT, "train: label of sample %zu is %g (expected 0 or 1)", idx[i], y);
    }
    (void)m;
    return SCARP_OK;
}

scarp_status scarp_model_train(scarp_model *m, const scarp_nn_data *data, const size_t *train_idx,
                               size_t n_train, const size_t *val_idx, size_t n_val,
                               const scarp_train_options *opts, scarp_train_history *hist)
{
    const scarp_model_spec *s = &m->spec;
    if (hist) memset(hist, 0, sizeof *hist); /* safe to free whatever happens */
    if (opts->epochs < 1 || opts->batch < 1)
        return scarp_fail(SCARP_ERR_USAGE, "train: epochs %d and batch %d must be >= 1", opts->epochs, opts->batch);
    if (!(opts->lr > 0) || !(opts->beta1 >= 0 && opts->beta1 < 1) || !(opts->beta2 >= 0 && opts->beta2 < 1) || !(opts->eps > 0))
        return scarp_fail(SCARP_ERR_USAGE, "train: bad Adam settings (lr %g, beta1 %g, beta2 %g, eps %g)",
                          opts->lr, opts->beta1, opts->beta2, opts->eps);
    if (n_train < 1) return scarp_fail(SCARP_ERR_INPUT, "train: no training samples");
    if (!data->labels) return scarp_fail(SCARP_ERR_USAGE, "train: labels are required");
    if ((s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN) && !data->patches)
        return scarp_fail(SCARP_ERR_USAGE, "train: %s model needs patches", scarp_model_kind_name(s->kind));
    if ((s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM) && !data->seq)
        return scarp_fail(SCARP_ERR_USAGE, "train: %s model needs sequences", scarp_model_kind_name(s->kind));
    if (s->kind == SCARP_MODEL_MLP && !data->tab) return scarp_fail(SCARP_ERR_USAGE, "train: mlp model needs tabular features");
    scarp_status st;
    if ((st = check_data(m, data, train_idx, n_train, "training"))) return st;
    if ((st = check_data(m, data, val_idx, n_val, "validation"))) return st;

    const int E = opts->epochs, bs = opts->batch;
    const int aug = opts->augment && data->patches && (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN);
    if (aug && s->H != s->W) return scarp_fail(SCARP_ERR_USAGE, "train: augmentation needs square patches (%d x %d)", s->H, s->W);
    const size_t PS = (size_t)s->C * s->H * s->W, SS = data->seq ? (size_t)s->N * s->T : 0,
                 FS = data->tab ? (size_t)s->F : 0;
    scarp_nn_workspace *ws = NULL;
    size_t *order = NULL, *ident = NULL, *pbn_idx = NULL, n_pbn = 0;
    float *best = NULL, *probs = NULL, *stage_p = NULL, *stage_s = NULL, *stage_t = NULL, *stage_y = NULL;
    scarp_train_history h;
    memset(&h, 0, sizeof h);
    const double t0 = scarp_now();
    if ((st = nn_workspace_create(m, bs, 1, &ws))) goto end;
    order = scarp_malloc(sizeof(size_t) * n_train);
    best = scarp_malloc(sizeof(float) * (m->n_params + m->n_stats + 1));
    probs = scarp_malloc(sizeof(float) * (size_t)bs);
    double **arrs[] = {&h.train_loss, &h.train_bce, &h.train_acc, &h.train_mae, &h.train_rmse,
                       &h.val_loss, &h.val_bce, &h.val_acc, &h.val_mae, &h.val_rmse};
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++)
        if (!(*arrs[i] = scarp_calloc((size_t)E, sizeof(double)))) { st = SCARP_ERR_NOMEM; goto end; }
    if (!order || !best || !probs) { st = SCARP_ERR_NOMEM; goto end; }
    memcpy(order, train_idx, sizeof(size_t) * n_train);
    if (aug) { /* each batch is staged (patches transformed) and trained as rows 0..nb-1 */
        ident = scarp_malloc(sizeof(size_t) * (size_t)bs);
        stage_p = scarp_malloc(sizeof(float) * PS * (size_t)bs);
        stage_s = SS ? scarp_malloc(sizeof(float) * SS * (size_t)bs) : NULL;
        stage_t = FS ? scarp_malloc(sizeof(float) * FS * (size_t)bs) : NULL;
        stage_y = scarp_malloc(sizeof(float) * (size_t)bs);
        if (!ident || !stage_p || (SS && !stage_s) || (FS && !stage_t) || !stage_y) { st = SCARP_ERR_NOMEM; goto end; }
        for (int i = 0; i < bs; i++) ident[i] = (size_t)i;
    }
    if (opts->bn_population > 0 && n_val > 0 && (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN)) {
        n_pbn = n_train < (size_t)opts->bn_population ? n_train : (size_t)opts->bn_population;
        if (!(pbn_idx = scarp_malloc(sizeof(size_t) * n_pbn))) { st = SCARP_ERR_NOMEM; goto end; }
        for (size_t k = 0; k < n_pbn; k++) pbn_idx[k] = train_idx[k * n_train / n_pbn];
    }

    scarp_rng shuffle_rng, mask_rng;
    scarp_rng_stream(&shuffle_rng, opts->seed, 0x5348554646ull /* "SHUFF" */);
    scarp_rng_stream(&mask_rng, opts->seed, 0x4d41534bull /* "MASK" */);
    scarp_rng aug_rng;
    scarp_rng_stream(&aug_rng, opts->seed, 0x4155474dull /* "AUGM" */);
    double best_score = INFINITY;
    h.best_epoch = -1;
    scarp_progress_begin(opts->progress, "training", E);
    for (int e = 0; e < E; e++) {
        scarp_rng_shuffle(&shuffle_rng, order, n_train);
        metric_acc tr = {0};
        double loss_sum = 0;
        for (size_t b0 = 0; b0 < n_train; b0 += (size_t)bs) {
            const int64_t nb = (int64_t)(n_train - b0 < (size_t)bs ? n_train - b0 : (size_t)bs);
            memset(m->grads, 0, sizeof(float) * m->n_params);
            double bce = 0, pen = 0;
            if (aug) {
                for (int64_t i = 0; i < nb; i++) {
                    const size_t r = order[b0 + (size_t)i];
                    const int t = (int)(scarp_rng_u64(&aug_rng) >> 61); /* 0..7 */
                    scarp_patch_dihedral(data->patches + r * PS, stage_p + (size_t)i * PS, s->C, s->H, t,
                                         opts->circular, opts->n_circular);
                    if (SS) memcpy(stage_s + (size_t)i * SS, data->seq + r * SS, sizeof(float) * SS);
                    if (FS) memcpy(stage_t + (size_t)i * FS, data->tab + r * FS, sizeof(float) * FS);
                    stage_y[i] = data->labels[r];
                }
                const scarp_nn_data staged = {stage_p, stage_s, stage_t, stage_y, (size_t)nb};
                st = scarp_model_forward_backward(m, ws, &staged, ident, nb, &mask_rng, 1, &bce, &pen, probs);
            } else {
                st = scarp_model_forward_backward(m, ws, data, order + b0, nb, &mask_rng, 1, &bce, &pen, probs);
            }
            if (st) goto end;
            m->adam_t++;
            scarp_adam_update(m->params, m->grads, m->adam_m, m->adam_v, m->n_params, opts->lr, opts->beta1,
                              opts->beta2, opts->eps, m->adam_t);
            metric_add(&tr, probs, ws->labels, nb, bce);
            loss_sum += (bce + pen) * (double)nb;
        }
        h.train_bce[e] = tr.bce / (double)tr.n;
        h.train_loss[e] = loss_sum / (double)tr.n;
        h.train_acc[e] = (double)tr.correct / (double)tr.n;
        h.train_mae[e] = tr.abs / (double)tr.n;
        h.train_rmse[e] = sqrt(tr.sq / (double)tr.n);
        const double pen = scarp_model_l2_penalty(m);
        if (n_pbn && (st = scarp_model_bn_population(m, data, pbn_idx, n_pbn))) goto end;
        if (n_val > 0) {
            metric_acc va = {0};
            for (size_t b0 = 0; b0 < n_val; b0 += (size_t)bs) {
                const int64_t nb = (int64_t)(n_val - b0 < (size_t)bs ? n_val - b0 : (size_t)bs);
                nn_gather(m, ws, data, val_idx + b0, 0, nb);
                nn_forward(m, ws, nb, 0, 0, NULL);
                for (int64_t i = 0; i < nb; i++) probs[i] = (float)(1.0 / (1.0 + exp(-(double)ws->logit[i])));
                metric_add(&va, probs, ws->labels, nb, scarp_bce_logits_forward(ws->logit, ws->labels, nb));
            }
            h.val_bce[e] = va.bce / (double)va.n;
            h.val_loss[e] = h.val_bce[e] + pen;
            h.val_acc[e] = (double)va.correct / (double)va.n;
            h.val_mae[e] = va.abs / (double)va.n;
            h.val_rmse[e] = sqrt(va.sq / (double)va.n);
        } else {
            h.val_bce[e] = h.val_loss[e] = h.val_acc[e] = h.val_mae[e] = h.val_rmse[e] = NAN;
        }
        h.epochs = e + 1;
        const double score = n_val == 0 ? -(double)e
                             : opts->select == SCARP_SELECT_VAL_LOSS ? h.val_loss[e] : h.val_bce[e];
        if (score < best_score) {
            best_score = score;
            h.best_epoch = e;
            memcpy(best, m->params, sizeof(float) * m->n_params);
            if (m->n_stats) memcpy(best + m->n_params, m->stats, sizeof(float) * m->n_stats);
        }
        if ((st = scarp_progress_step(opts->progress, 1))) goto end;
        if (opts->patience > 0 && n_val > 0 && e - h.best_epoch >= opts->patience) break; /* early stopping */
    }
end:
    if (h.best_epoch >= 0) { /* keep the best epoch's weights, also when cancelled */
        memcpy(m->params, best, sizeof(float) * m->n_params);
        if (m->n_stats) memcpy(m->stats, best + m->n_params, sizeof(float) * m->n_stats);
    }
    scarp_progress_end(opts->progress);
    h.seconds = scarp_now() - t0;
    if (hist && st == SCARP_OK) *hist = h;
    else scarp_train_history_free(&h);
    scarp_nn_workspace_free(ws);
    scarp_free(order);
    scarp_free(ident);
    scarp_free(pbn_idx);
    scarp_free(stage_p);
    scarp_free(stage_s);
    scarp_free(stage_t);
    scarp_free(stage_y);
    scarp_free(best);
    scarp_free(probs);
    return st;
}
