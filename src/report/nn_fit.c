/* nn_fit.c — fitting one network on the rows `scarp train` gives it (docs/04-nn.md,
 * "Tuning"). The study's recipe (Adam 1e-3, L2 0.01, dropout 0.2, 50 epochs) collapses on
 * small inventories: 0.01·Σw² (≈ 0.9 at initialisation, more than the cross-entropy) shrinks
 * every kernel, and near zero weights the data gradient of a three-layer ReLU head vanishes
 * faster than the penalty's, so the constant network is an attractor; min–max inputs with a
 * tiny spread (curvature: sd 0.003) are invisible to it; under batch norm the moving averages
 * trail the shrinking kernels and the eval-mode CNN squashes its outputs. tune = auto
 * therefore z-scores the MLP's inputs, recomputes the batch-norm statistics before every
 * validation, stops early on validation cross-entropy (Prechelt 1998, "Early stopping — but
 * when?") and picks L2, dropout and learning rate on a small seeded grid by validation AUC
 * (as the baselines are tuned, Bergstra & Bengio 2012 for why a few well-spread values
 * suffice), rejecting settings that did not learn. */
#include "nn_fit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/log.h"

/* The grid (tune = auto), in the order tried. The MLP costs ~0.1 s a setting, so it gets
 * the full product; the patch and sequence networks (seconds to minutes each) get L2 only,
 * the knob that decides whether they learn at all. */
static const float MLP_LR[] = {1e-3f, 3e-3f}, MLP_L2[] = {1e-4f, 1e-3f, 1e-2f}, MLP_DROPOUT[] = {0.2f, 0.5f};
static const float NET_L2[] = {1e-4f, 1e-3f, 1e-2f};
/* Tried only when every setting of the grid did not learn. On a small inventory (≈ 230
 * training rows: 7 updates an epoch) a CNN can learn all it will in the first epoch and
 * overfit from the second (validation AUC 0.77 after epoch 1, cross-entropy rising after),
 * which the rule reads as "best epoch is the first" (2 of 51 spatial-CV folds of the
 * 175 + 175 study, docs/benchmarks/14-small.md). Steps a tenth of the grid's spread the
 * learning over epochs, so early stopping has epochs to choose from. */
static const float FALLBACK_LR = 1e-4f, FALLBACK_L2 = 0.0f, FALLBACK_DROPOUT = 0.2f;
/* batch-norm population statistics over at most this many training rows (docs/04-nn.md) */
#define BN_POPULATION_ROWS 512

int scarp__nn_fan_in(const scarp_model_spec *s)
{
    int k = 1;
#define FAN(v) do { if ((v) > k) k = (v); } while (0)
    const int cnn = s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN;
    const int lstm = s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM;
    int head = 0;
    if (cnn) {
        FAN(9 * s->C);
        FAN(9 * s->filters[0]);
        FAN(9 * s->filters[1]);
        head += s->filters[2];
    }
    if (lstm) {
        FAN(s->T + s->lstm_units[0]);
        FAN(s->lstm_units[0] + s->lstm_units[1]);
        head += s->lstm_units[1];
    }
    if (s->kind == SCARP_MODEL_MLP) head = s->F;
    FAN(head);
    FAN(s->dense[0]);
    FAN(s->dense[1]);
#undef FAN
    return k;
}

int scarp__nn_did_not_learn(const float *p, size_t n, int best_epoch, int fan_in, double *sd_out, char *why,
                            size_t why_size)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += p[i];
    const double mean = n ? s / (double)n : 0;
    for (size_t i = 0; i < n; i++) q += ((double)p[i] - mean) * ((double)p[i] - mean);
    const double sd = n > 1 ? sqrt(q / (double)(n - 1)) : 0;
    if (sd_out) *sd_out = sd;
    const double bound = (double)fan_in * ldexp(1.0, -24);
    if (n > 1 && sd <= bound) {
        snprintf(why, why_size, "constant validation output (sd %.2g <= %.2g)", sd, bound);
        return 1;
    }
    if (best_epoch == 0) {
        snprintf(why, why_size, "best epoch is the first");
        return 1;
    }
    if (why_size) why[0] = '\0';
    return 0;
}

void scarp__nn_fold_standardization(scarp_model *m, const double *mu, const double *sd)
{
    const int F = m->spec.F, O = m->spec.dense[0];
    float *W = m->p.dense_w[0], *b = m->p.dense_b[0];
    for (int j = 0; j < O; j++) {
        double shift = 0;
        for (int f = 0; f < F; f++) {
            const float w = (float)(W[(size_t)f * O + j] / sd[f]);
            W[(size_t)f * O + j] = w;
            shift += mu[f] * (double)w;
        }
        b[j] = (float)(b[j] - shift);
    }
}

/* Probabilities of rows idx of data (gathered in chunks). */
static scarp_status predict_rows(scarp_model *m, const scarp_nn_data *d, const scarp_model_spec *s, const size_t *idx,
                                 size_t n, float *prob)
{
    const size_t P = (size_t)s->C * s->H * s->W, S = (size_t)s->N * s->T, F = (size_t)s->F, CH = 256;
    const int up = s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN;
    const int us = (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM) && d->seq;
    const int ut = s->kind == SCARP_MODEL_MLP;
    float *pb = up ? scarp_malloc(CH * P * sizeof(float)) : NULL, *sb = us ? scarp_malloc(CH * S * sizeof(float)) : NULL,
          *tb = ut ? scarp_malloc(CH * F * sizeof(float)) : NULL;
    scarp_status st = SCARP_OK;
    if ((up && !pb) || (us && !sb) || (ut && !tb)) st = SCARP_ERR_NOMEM;
    for (size_t k0 = 0; k0 < n && !st; k0 += CH) {
        const size_t nk = n - k0 < CH ? n - k0 : CH;
        for (size_t k = 0; k < nk; k++) {
            const size_t i = idx[k0 + k];
            if (up) memcpy(pb + k * P, d->patches + i * P, P * sizeof(float));
            if (us) memcpy(sb + k * S, d->seq + i * S, S * sizeof(float));
            if (ut) memcpy(tb + k * F, d->tab + i * F, F * sizeof(float));
        }
        st = scarp_model_predict(m, pb, sb, tb, (int64_t)nk, prob + k0);
    }
    scarp_free(pb);
    scarp_free(sb);
    scarp_free(tb);
    return st;
}

typedef struct {
    const scarp_config *cfg;
    const scarp_dataset *ds;
    scarp_model_spec spec;
    scarp_nn_data data;
    const size_t *tr, *va;
    size_t ntr, nva;
    const uint8_t *yva;
    float *pv;
    int tuned;            /* tune = auto */
    int circular[2 * 64];
    int n_circular;
    scarp_progress *progress;
} fit_ctx;

/* Trains one model of setting (lr, l2, dropout) from `seed`; fills the trial's figures. */
static scarp_status train_setting(fit_ctx *c, float lr, float l2, float dropout, uint64_t seed, scarp_model *m,
                                  scarp_train_history *hist, scarp__nn_trial *t)
{
    scarp_model_spec spec = c->spec;
    spec.l2 = l2;
    spec.dropout = dropout;
    memset(t, 0, sizeof *t);
    t->lr = lr, t->l2 = l2, t->dropout = dropout;
    t->val_auc = t->val_bce = t->val_sd = NAN;
    scarp_status st = scarp_model_init(m, &spec, seed);
    if (st) return st;
    scarp_train_options o;
    scarp_train_options_default(&o);
    o.epochs = c->cfg->epochs;
    o.batch = c->cfg->batch;
    o.lr = lr;
    o.select = !strcmp(c->cfg->select, "val_loss") ? SCARP_SELECT_VAL_LOSS : SCARP_SELECT_VAL_BCE;
    o.seed = seed;
    o.progress = c->progress;
    if (c->tuned) {
        o.patience = c->cfg->patience;
        o.bn_population = BN_POPULATION_ROWS;
    }
    if (!strcmp(c->cfg->augment, "dihedral")) {
        o.augment = 1;
        o.circular = c->circular;
        o.n_circular = c->n_circular;
    }
    if ((st = scarp_model_train(m, &c->data, c->tr, c->ntr, c->va, c->nva, &o, hist))) return st;
    t->epochs = hist->epochs;
    t->best_epoch = hist->best_epoch;
    if (c->nva) {
        if ((st = predict_rows(m, &c->data, &spec, c->va, c->nva, c->pv))) return st;
        if (scarp_auc(c->pv, c->yva, c->nva, &t->val_auc)) {
            t->val_auc = NAN;
            scarp_clear_error();
        }
        t->val_bce = hist->val_bce[hist->best_epoch];
        /* with a single epoch "best epoch first" says nothing: only the constant-output test */
        t->did_not_learn = scarp__nn_did_not_learn(c->pv, c->nva, hist->epochs > 1 ? hist->best_epoch : 1,
                                                   scarp__nn_fan_in(&spec),
                                                   &t->val_sd, t->why, sizeof t->why);
    }
    return SCARP_OK;
}

static int better(const scarp__nn_trial *a, const scarp__nn_trial *b)
{
    if (!b) return 1;
    if (a->did_not_learn != b->did_not_learn) return !a->did_not_learn;
    double x = isfinite(a->val_auc) ? a->val_auc : -1, y = isfinite(b->val_auc) ? b->val_auc : -1;
    if (x != y) return x > y;
    return a->val_bce < b->val_bce;
}

scarp_status scarp__nn_fit(const scarp_config *cfg, const scarp_dataset *ds, scarp_model_kind kind, const size_t *tr,
                           size_t ntr, const size_t *va, size_t nva, const size_t *refit, size_t nrefit, uint64_t seed,
                           scarp_progress *progress, scarp__nn_fit_result *res)
{
    memset(res, 0, sizeof *res);
    res->chosen = -1;
    const double t0 = scarp_now();
    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg, c.ds = ds, c.tr = tr, c.va = va, c.ntr = ntr, c.nva = nva, c.progress = progress;
    c.tuned = !strcmp(cfg->tune, "auto");
    if (c.tuned && nva == 0) {
        scarp_warn("train: %s: no validation rows: tune = auto falls back to the study's recipe",
                   scarp_model_kind_name(kind));
        c.tuned = 0;
    }
    scarp_model_spec_default(&c.spec, kind);
    c.spec.C = ds->C, c.spec.H = ds->H, c.spec.W = ds->W, c.spec.N = ds->N, c.spec.T = ds->T, c.spec.F = ds->F;
    c.spec.recurrent_dropout = (float)cfg->recurrent_dropout;
    for (int ch = 0; ch + 1 < ds->norm.C && ch + 1 < ds->C && c.n_circular < 64; ch++)
        if (ds->norm.channels[ch].kind == SCARP_CHANNEL_SIN && ds->norm.channels[ch + 1].kind == SCARP_CHANNEL_COS &&
            ds->norm.channels[ch].layer == ds->norm.channels[ch + 1].layer) {
            c.circular[2 * c.n_circular] = ch;
            c.circular[2 * c.n_circular + 1] = ch + 1;
            c.n_circular++;
        }
    res->augment = !strcmp(cfg->augment, "dihedral") && (kind == SCARP_MODEL_CNN_LSTM || kind == SCARP_MODEL_CNN);
    float *labels = NULL, *tabz = NULL;
    uint8_t *yva = NULL;
    scarp_model cur;
    memset(&cur, 0, sizeof cur);
    scarp_train_history h;
    memset(&h, 0, sizeof h);
    scarp_status st = SCARP_OK;
    labels = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *labels);
    yva = scarp_malloc(nva ? nva : 1);
    c.pv = scarp_malloc((nva ? nva : 1) * sizeof(float));
    if (!labels || !yva || !c.pv) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t i = 0; i < ds->n; i++) labels[i] = ds->label[i] ? 1.0f : 0.0f;
    for (size_t k = 0; k < nva; k++) yva[k] = ds->label[va[k]];
    c.yva = yva;
    c.data = (scarp_nn_data){ds->patches, ds->seq, ds->tab, labels, (size_t)ds->n};
    if (kind == SCARP_MODEL_MLP && c.tuned) {
        /* z-score fitted on the training rows; a feature constant on them keeps sd 1 */
        const size_t F = (size_t)ds->F;
        res->F = ds->F;
        res->mu = scarp_calloc(F ? F : 1, sizeof(double));
        res->sd = scarp_calloc(F ? F : 1, sizeof(double));
        tabz = scarp_malloc((size_t)(ds->n ? ds->n : 1) * (F ? F : 1) * sizeof(float));
        if (!res->mu || !res->sd || !tabz) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (size_t f = 0; f < F; f++) {
            double s = 0, q = 0;
            for (size_t k = 0; k < ntr; k++) s += ds->tab[tr[k] * F + f];
            const double mu = ntr ? s / (double)ntr : 0;
            for (size_t k = 0; k < ntr; k++) {
                const double d = ds->tab[tr[k] * F + f] - mu;
                q += d * d;
            }
            const double sd = ntr > 1 ? sqrt(q / (double)(ntr - 1)) : 0;
            res->mu[f] = mu;
            res->sd[f] = sd > 0 && isfinite(sd) ? sd : 1.0;
        }
        for (int64_t i = 0; i < ds->n; i++)
            for (size_t f = 0; f < F; f++)
                tabz[(size_t)i * F + f] = (float)((ds->tab[(size_t)i * F + f] - res->mu[f]) / res->sd[f]);
        c.data.tab = tabz;
        res->standardized = 1;
    }
    /* the settings */
    float set[SCARP_NN_FIT_MAX_TRIALS][3];
    int ns = 0;
    if (!c.tuned) {
        set[ns][0] = (float)cfg->lr, set[ns][1] = (float)cfg->l2, set[ns][2] = (float)cfg->dropout, ns++;
    } else if (kind == SCARP_MODEL_MLP) {
        for (size_t a = 0; a < 2; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t d = 0; d < 2; d++)
                    set[ns][0] = MLP_LR[a], set[ns][1] = MLP_L2[b], set[ns][2] = MLP_DROPOUT[d], ns++;
    } else {
        for (size_t b = 0; b < 3; b++) set[ns][0] = (float)cfg->lr, set[ns][1] = NET_L2[b], set[ns][2] = (float)cfg->dropout, ns++;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < ns && res->n_trials < SCARP_NN_FIT_MAX_TRIALS; k++) {
            scarp__nn_trial *t = &res->trial[res->n_trials];
            if ((st = train_setting(&c, set[k][0], set[k][1], set[k][2], seed, &cur, &h, t))) goto end;
            res->n_trials++;
            if (t->did_not_learn)
                scarp_warn("train: %s (lr %g, l2 %g, dropout %g) did not learn: %s%s", scarp_model_kind_name(kind),
                           t->lr, t->l2, t->dropout, t->why, c.tuned ? "; trying the next setting" : "");
            const scarp__nn_trial *b = res->chosen >= 0 ? &res->trial[res->chosen] : NULL;
            if (better(t, b)) {
                if (res->member[0].params) scarp_model_free(&res->member[0]);
                scarp_train_history_free(&res->hist);
                res->member[0] = cur;
                res->hist = h;
                res->chosen = res->n_trials - 1;
            } else {
                scarp_model_free(&cur);
                scarp_train_history_free(&h);
            }
            memset(&cur, 0, sizeof cur);
            memset(&h, 0, sizeof h);
        }
        if (!c.tuned || !res->trial[res->chosen].did_not_learn || pass) break;
        /* every setting did not learn: one fallback, smaller steps and no penalty */
        ns = 0;
        set[ns][0] = FALLBACK_LR, set[ns][1] = FALLBACK_L2, set[ns][2] = FALLBACK_DROPOUT, ns++;
    }
    const scarp__nn_trial *ch = &res->trial[res->chosen];
    res->did_not_learn = ch->did_not_learn;
    res->member_did_not_learn[0] = ch->did_not_learn;
    res->member_best_epoch[0] = ch->best_epoch;
    if (ch->did_not_learn && c.tuned)
        scarp_warn("train: %s did not learn under any setting (kept lr %g, l2 %g, dropout %g)",
                   scarp_model_kind_name(kind), ch->lr, ch->l2, ch->dropout);
    /* more seeds of the chosen setting */
    res->n_members = 1;
    const int N = cfg->ensemble < SCARP_NN_FIT_MAX_MEMBERS ? cfg->ensemble : SCARP_NN_FIT_MAX_MEMBERS;
    for (int k = 1; k < N; k++) {
        scarp__nn_trial t;
        const uint64_t sk = seed + 0x9E3779B97F4A7C15ull * (uint64_t)k;
        scarp_train_history hk;
        memset(&hk, 0, sizeof hk);
        st = train_setting(&c, ch->lr, ch->l2, ch->dropout, sk, &res->member[k], &hk, &t);
        scarp_train_history_free(&hk);
        if (st) goto end;
        res->n_members = k + 1;
        res->member_did_not_learn[k] = t.did_not_learn;
        res->member_best_epoch[k] = t.best_epoch;
        if (t.did_not_learn)
            scarp_warn("train: %s seed member %d did not learn: %s", scarp_model_kind_name(kind), k, t.why);
    }
    if (nva) { /* validation figures of the ensemble as selected, before the refit sees those rows */
        res->val_prob = scarp_calloc(nva, sizeof(float));
        double *acc = scarp_calloc(nva, sizeof(double));
        if (!res->val_prob || !acc) st = SCARP_ERR_NOMEM;
        for (int k = 0; k < res->n_members && !st; k++) {
            st = predict_rows(&res->member[k], &c.data, &res->member[k].spec, va, nva, c.pv);
            for (size_t i = 0; i < nva && !st; i++) acc[i] += c.pv[i];
        }
        for (size_t i = 0; i < nva && !st; i++) res->val_prob[i] = (float)(acc[i] / res->n_members);
        scarp_free(acc);
        if (st) goto end;
    }
    if (refit && nrefit && nva) {
        /* the selected setting and epoch count, trained again on train + val (no validation left) */
        res->refit_rows = (int)nrefit;
        for (int k = 0; k < res->n_members; k++) {
            const uint64_t sk = seed + 0x9E3779B97F4A7C15ull * (uint64_t)k;
            scarp_model_spec spec = c.spec;
            spec.l2 = ch->l2;
            spec.dropout = ch->dropout;
            scarp_model_free(&res->member[k]);
            memset(&res->member[k], 0, sizeof res->member[k]);
            if ((st = scarp_model_init(&res->member[k], &spec, sk))) goto end;
            scarp_train_options o;
            scarp_train_options_default(&o);
            o.epochs = res->member_best_epoch[k] + 1;
            o.batch = cfg->batch;
            o.lr = ch->lr;
            o.seed = sk;
            o.progress = progress;
            if (res->augment) {
                o.augment = 1;
                o.circular = c.circular;
                o.n_circular = c.n_circular;
            }
            scarp_train_history hk;
            memset(&hk, 0, sizeof hk);
            st = scarp_model_train(&res->member[k], &c.data, refit, nrefit, NULL, 0, &o, &hk);
            scarp_train_history_free(&hk);
            if (!st && c.tuned) st = scarp_model_bn_population(&res->member[k], &c.data, refit, nrefit);
            if (st) goto end;
        }
    }
    if (res->standardized)
        for (int k = 0; k < res->n_members; k++) scarp__nn_fold_standardization(&res->member[k], res->mu, res->sd);
    res->seconds = scarp_now() - t0;
end:
    if (cur.params) scarp_model_free(&cur);
    scarp_train_history_free(&h);
    scarp_free(labels);
    scarp_free(tabz);
    scarp_free(yva);
    scarp_free(c.pv);
    if (st) scarp__nn_fit_free(res);
    return st;
}

void scarp__nn_fit_free(scarp__nn_fit_result *res)
{
    if (!res) return;
    for (int k = 0; k < SCARP_NN_FIT_MAX_MEMBERS; k++)
        if (res->member[k].params) scarp_model_free(&res->member[k]);
    scarp_train_history_free(&res->hist);
    scarp_free(res->mu);
    scarp_free(res->sd);
    scarp_free(res->val_prob);
    memset(res, 0, sizeof *res);
    res->chosen = -1;
}

static void num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull()); }

void scarp__nn_fit_json(const scarp__nn_fit_result *r, const char *tune, cJSON *h)
{
    cJSON_AddStringToObject(h, "tune", tune);
    cJSON_AddBoolToObject(h, "did_not_learn", r->did_not_learn);
    if (r->chosen >= 0) {
        const scarp__nn_trial *c = &r->trial[r->chosen];
        num(h, "lr", c->lr);
        num(h, "l2", c->l2);
        num(h, "dropout", c->dropout);
        num(h, "val_sd", c->val_sd);
        if (c->did_not_learn) cJSON_AddStringToObject(h, "did_not_learn_reason", c->why);
    }
    cJSON *a = cJSON_AddArrayToObject(h, "trials");
    for (int i = 0; i < r->n_trials; i++) {
        const scarp__nn_trial *t = &r->trial[i];
        cJSON *o = cJSON_CreateObject();
        num(o, "lr", t->lr);
        num(o, "l2", t->l2);
        num(o, "dropout", t->dropout);
        num(o, "epochs", t->epochs);
        num(o, "best_epoch", t->best_epoch + 1);
        num(o, "val_auc", t->val_auc);
        num(o, "val_bce", t->val_bce);
        num(o, "val_sd", t->val_sd);
        cJSON_AddBoolToObject(o, "did_not_learn", t->did_not_learn);
        if (t->did_not_learn) cJSON_AddStringToObject(o, "reason", t->why);
        cJSON_AddBoolToObject(o, "chosen", i == r->chosen);
        cJSON_AddItemToArray(a, o);
    }
    cJSON_AddBoolToObject(h, "standardized_inputs", r->standardized);
    if (r->standardized) {
        cJSON *mu = cJSON_AddArrayToObject(h, "input_mean"), *sd = cJSON_AddArrayToObject(h, "input_sd");
        for (int f = 0; f < r->F; f++) {
            cJSON_AddItemToArray(mu, cJSON_CreateNumber(r->mu[f]));
            cJSON_AddItemToArray(sd, cJSON_CreateNumber(r->sd[f]));
        }
    }
    cJSON_AddStringToObject(h, "augment", r->augment ? "dihedral" : "none");
    num(h, "ensemble", r->n_members);
    int dnl = 0;
    for (int k = 0; k < r->n_members; k++) dnl += r->member_did_not_learn[k];
    num(h, "members_did_not_learn", dnl);
}
