/* train_run.c — the `scarp train` stage: every configured model (the study's CNN–LSTM and
 * its variants through the network engine, the baselines through classic.h) trained on the
 * training rows, selected or tuned on the validation rows, saved with the dataset's
 * normalisation to OUT/models/NAME.model with its per-epoch history; with k folds or
 * repeats, one more model per run for the uncertainty of every metric. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/json_io.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/mpi.h"
#include "scarp/report.h"
#include "nn_fit.h"
#include "stage_internal.h"

static void num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull()); }

static void add_array(cJSON *o, const char *k, const double *v, int n)
{
    if (!v) return;
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
}

static scarp_status write_json(cJSON *root, const char *path)
{
    scarp_status st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
    return st;
}

/* Rows of split that are train or val, in order (the outer fold's whole training set). */
static scarp_status train_and_val_rows(const uint8_t *split, int64_t n, size_t **idx, size_t *count)
{
    size_t c = 0;
    for (int64_t i = 0; i < n; i++) c += split[i] == SCARP_SPLIT_TRAIN || split[i] == SCARP_SPLIT_VAL;
    *idx = scarp_malloc((c ? c : 1) * sizeof **idx);
    if (!*idx) return SCARP_ERR_NOMEM;
    c = 0;
    for (int64_t i = 0; i < n; i++)
        if (split[i] == SCARP_SPLIT_TRAIN || split[i] == SCARP_SPLIT_VAL) (*idx)[c++] = (size_t)i;
    *count = c;
    return SCARP_OK;
}

/* Trains one model of `name` on split (0 train, 1 val; other values unused) and saves it.
 * refit (the outer folds of cross-validation): whatever the validation rows chose
 * (hyperparameters, the epoch count, the threshold) is kept and the model is then trained
 * again on train + val, i.e. on all k − 1 training folds (the AutoTuner of mlr3; Bischl et
 * al. 2012, "Resampling methods for meta-model validation"). The validation AUC and the
 * threshold recorded are those of the model before the refit, on rows it did not see. */
static scarp_status train_one(const scarp_config *cfg, const scarp_dataset *ds, const char *name, const uint8_t *split,
                              int run, int random_cv, int refit, const void *blob, size_t blob_bytes, const char *out,
                              scarp_progress *progress, double *seconds, double *val_auc, char *model_path,
                              size_t path_size)
{
    size_t *all = NULL, nall = 0;
    float *Xall = NULL;
    uint8_t *yall = NULL;
    double val_threshold = NAN;
    scarp_model_kind kind;
    int family = scarp__stage_family(name, &kind);
    if (family < 0) return SCARP_ERR_INPUT;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    float *Xtr = NULL, *Xva = NULL, *pv = NULL;
    uint8_t *ytr = NULL, *yva = NULL;
    scarp_classic cls;
    memset(&cls, 0, sizeof cls);
    scarp__nn_fit_result *fit = NULL;
    char hpath[4096];
    scarp_status st;
    uint64_t seed = cfg->seed + (run < 0 ? 0 : 7919ull * (uint64_t)(run + 1));
    if ((st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_TRAIN, &tr, &ntr))) goto end;
    if ((st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_VAL, &va, &nva))) goto end;
    if (random_cv) { /* [split] compare = random: models/random/, never mapped nor chosen as best */
        if ((st = scarp__stage_model_path_random(model_path, path_size, out, name, run, ds, "model")) ||
            (st = scarp__stage_model_path_random(hpath, sizeof hpath, out, name, run, ds, "history.json")))
            goto end;
    } else if ((st = scarp__stage_model_path(model_path, path_size, out, name, run, ds, "model")) ||
               (st = scarp__stage_model_path(hpath, sizeof hpath, out, name, run, ds, "history.json"))) {
        goto end;
    }
    double t0 = scarp_now();
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "model", name);
    num(h, "run", run);
    cJSON_AddStringToObject(h, "partition", random_cv ? "random" : cfg->split_method);
    num(h, "train_rows", (double)ntr);
    num(h, "val_rows", (double)nva);
    *val_auc = NAN;
    if (family == 0) {
        scarp_classic_kind ck;
        if ((st = scarp_classic_kind_parse(name, &ck))) goto end_json;
        const size_t F = (size_t)ds->F;
        Xtr = scarp_malloc((ntr ? ntr : 1) * F * sizeof(float));
        Xva = scarp_malloc((nva ? nva : 1) * F * sizeof(float));
        ytr = scarp_malloc(ntr ? ntr : 1);
        yva = scarp_malloc(nva ? nva : 1);
        if (!Xtr || !Xva || !ytr || !yva) {
            st = SCARP_ERR_NOMEM;
            goto end_json;
        }
        scarp__stage_gather(ds, tr, ntr, NULL, NULL, Xtr);
        scarp__stage_gather(ds, va, nva, NULL, NULL, Xva);
        for (size_t k = 0; k < ntr; k++) ytr[k] = ds->label[tr[k]];
        for (size_t k = 0; k < nva; k++) yva[k] = ds->label[va[k]];
        scarp_classic_params p = {.seed = seed, .n_trees = ck == SCARP_CLASSIC_FOREST ? cfg->trees : 0};
        if (cfg->logreg_c > 0) p.logreg_c = cfg->logreg_c;
        if ((st = scarp_classic_train(&cls, ck, &p, Xtr, ytr, ntr, ds->F, Xva, yva, nva, progress))) goto end_json;
        if (nva) {
            pv = scarp_malloc(nva * sizeof *pv);
            if (!pv) {
                st = SCARP_ERR_NOMEM;
                goto end_json;
            }
            scarp_classic_predict(&cls, Xva, nva, pv);
            if (scarp_auc(pv, yva, nva, val_auc)) {
                *val_auc = NAN;
                scarp_clear_error();
            }
            val_threshold = scarp_threshold_choose(pv, yva, nva, SCARP_THRESHOLD_F1);
        }
        if (refit && nva) { /* the tuned hyperparameters, trained on all training folds */
            if ((st = train_and_val_rows(split, ds->n, &all, &nall))) goto end_json;
            Xall = scarp_malloc((nall ? nall : 1) * F * sizeof(float));
            yall = scarp_malloc(nall ? nall : 1);
            if (!Xall || !yall) {
                st = SCARP_ERR_NOMEM;
                goto end_json;
            }
            scarp__stage_gather(ds, all, nall, NULL, NULL, Xall);
            for (size_t k = 0; k < nall; k++) yall[k] = ds->label[all[k]];
            scarp_classic_params q = p;
            q.svm_c = cls.c, q.svm_gamma = cls.gamma;
            q.max_depth = cls.max_depth > 0 ? cls.max_depth : q.max_depth;
            q.min_leaf = cls.min_leaf > 0 ? cls.min_leaf : q.min_leaf;
            q.mtry = cls.mtry > 0 ? cls.mtry : q.mtry;
            q.logreg_c = cls.logreg_c;
            if (ck == SCARP_CLASSIC_TREE && cls.max_depth <= 0) q.max_depth = 1 << 20; /* tuned: unlimited */
            scarp_classic tuned = cls;
            memset(&cls, 0, sizeof cls);
            st = scarp_classic_train(&cls, ck, &q, Xall, yall, nall, ds->F, NULL, NULL, 0, progress);
            cls.val_auc = tuned.val_auc;
            scarp_classic_free(&tuned);
            if (st) goto end_json;
        }
        *seconds = scarp_now() - t0;
        if ((st = scarp_classic_save(&cls, model_path, blob, blob_bytes))) goto end_json;
        cJSON_AddStringToObject(h, "family", "baseline");
        num(h, "seconds", *seconds);
        num(h, "val_auc", *val_auc);
        num(h, "tuned_val_auc", cls.val_auc);
        num(h, "val_threshold", val_threshold);
        num(h, "refit_rows", refit ? (double)nall : NAN);
        switch (ck) {
        case SCARP_CLASSIC_SVM:
            num(h, "C", cls.c);
            num(h, "gamma", cls.gamma);
            num(h, "support_vectors", cls.n_sv);
            break;
        case SCARP_CLASSIC_LOGREG: num(h, "C", cls.logreg_c); break;
        default:
            num(h, "trees", cls.n_trees);
            num(h, "max_depth", cls.max_depth);
            num(h, "min_leaf", cls.min_leaf);
            num(h, "nodes", (double)cls.n_nodes);
            if (ck == SCARP_CLASSIC_FOREST) num(h, "mtry", cls.mtry);
        }
    } else {
        if ((kind == SCARP_MODEL_CNN_LSTM || kind == SCARP_MODEL_LSTM) && (ds->T < 1 || !ds->seq)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: needs temporal input, but the dataset has no [temporal] series "
                                             "(remove it from [model] models or add rainfall)", name);
            goto end_json;
        }
        /* tuning, early stopping, did-not-learn, seed members: nn_fit.c */
        if (!(fit = scarp_calloc(1, sizeof *fit))) {
            st = SCARP_ERR_NOMEM;
            goto end_json;
        }
        if (refit && nva && (st = train_and_val_rows(split, ds->n, &all, &nall))) goto end_json;
        if ((st = scarp__nn_fit(cfg, ds, kind, tr, ntr, va, nva, refit && nva ? all : NULL, nall, seed, progress, fit)))
            goto end_json;
        *seconds = scarp_now() - t0;
        if (nva) {
            pv = scarp_malloc(nva * sizeof *pv);
            yva = scarp_malloc(nva);
            if (!pv || !yva) {
                st = SCARP_ERR_NOMEM;
                goto end_json;
            }
            memcpy(pv, fit->val_prob, nva * sizeof *pv); /* the ensemble mean, before any refit */
            for (size_t k = 0; k < nva; k++) yva[k] = ds->label[va[k]];
            if (scarp_auc(pv, yva, nva, val_auc)) {
                *val_auc = NAN;
                scarp_clear_error();
            }
            val_threshold = scarp_threshold_choose(pv, yva, nva, SCARP_THRESHOLD_F1);
        }
        char mpath[4096];
        for (int k = 0; k < fit->n_members; k++)
            if ((st = scarp__stage_member_path(mpath, sizeof mpath, model_path, k)) ||
                (st = scarp_model_save(mpath, &fit->member[k], blob, blob_bytes)))
                goto end_json;
        /* members of an earlier, larger ensemble would be averaged in: remove them */
        for (int k = fit->n_members; k < SCARP_NN_FIT_MAX_MEMBERS; k++) {
            if ((st = scarp__stage_member_path(mpath, sizeof mpath, model_path, k))) goto end_json;
            if (!scarp_file_exists(mpath)) break;
            if (remove(mpath)) {
                st = scarp_fail(SCARP_ERR_IO, "%s: cannot remove a stale seed member", mpath);
                goto end_json;
            }
        }
        const scarp_train_history *hs = &fit->hist;
        cJSON_AddStringToObject(h, "family", "network");
        num(h, "seconds", *seconds);
        num(h, "val_auc", *val_auc);
        num(h, "epochs", hs->epochs);
        num(h, "best_epoch", hs->best_epoch + 1);
        num(h, "val_threshold", val_threshold);
        num(h, "refit_rows", refit ? (double)nall : NAN);
        cJSON_AddStringToObject(h, "select", cfg->select);
        scarp__nn_fit_json(fit, cfg->tune, h);
        add_array(h, "train_loss", hs->train_loss, hs->epochs);
        add_array(h, "val_loss", hs->val_loss, hs->epochs);
        add_array(h, "train_bce", hs->train_bce, hs->epochs);
        add_array(h, "val_bce", hs->val_bce, hs->epochs);
        add_array(h, "train_accuracy", hs->train_acc, hs->epochs);
        add_array(h, "val_accuracy", hs->val_acc, hs->epochs);
        add_array(h, "train_mae", hs->train_mae, hs->epochs);
        add_array(h, "val_mae", hs->val_mae, hs->epochs);
        add_array(h, "train_rmse", hs->train_rmse, hs->epochs);
        add_array(h, "val_rmse", hs->val_rmse, hs->epochs);
    }
    st = write_json(h, hpath);
    h = NULL;
end_json:
    if (h) cJSON_Delete(h);
end:
    scarp_free(all);
    scarp_free(Xall);
    scarp_free(yall);
    scarp_free(tr);
    scarp_free(va);
    scarp_free(Xtr);
    scarp_free(Xva);
    scarp_free(ytr);
    scarp_free(yva);
    scarp_free(pv);
    scarp_classic_free(&cls);
    scarp__nn_fit_free(fit);
    scarp_free(fit);
    return st;
}

/* Rows per split and class of one run's split. */
static void split_counts(const scarp_dataset *ds, const uint8_t *split, int64_t c[4][2])
{
    memset(c, 0, sizeof(int64_t) * 8);
    for (int64_t i = 0; i < ds->n; i++) c[split[i] & 3][ds->label[i] ? 1 : 0]++;
}

/* Every model needs, in every run, both classes among its training rows (at least
 * MIN_CLASS of each) and in its validation and test rows. */
#define MIN_CLASS 5
static int split_ok(const int64_t c[4][2])
{
    return c[0][0] >= MIN_CLASS && c[0][1] >= MIN_CLASS && c[1][0] > 0 && c[1][1] > 0 && c[2][0] > 0 && c[2][1] > 0;
}

/* 1 when every run (main split and every outer fold) is trainable with `buffer`; else 0
 * with *bad_run and the counts of the first run that is not. */
static scarp_status splits_feasible(const scarp_config *cfg, const scarp_dataset *ds, int runs, double buffer,
                                    uint8_t *split, int *ok, int *bad_run, int64_t c[4][2])
{
    scarp_config k = *cfg;
    k.split_buffer = buffer;
    *ok = 1;
    for (int r = -1; r < runs; r++) {
        scarp_status st = scarp__stage_split(&k, ds, r, split, NULL);
        if (st) return st;
        split_counts(ds, split, c);
        if (!split_ok(c)) {
            *ok = 0;
            *bad_run = r;
            return SCARP_OK;
        }
    }
    return SCARP_OK;
}

/* Stops before any training when a split or buffer leaves a run without enough rows: one
 * line naming the keys, the distances, the area's extent and a buffer that would work. */
static scarp_status check_splits(const scarp_config *cfg, const scarp_dataset *ds, int runs, uint8_t *split)
{
    int ok, bad = -1;
    int64_t c[4][2];
    scarp_status st = splits_feasible(cfg, ds, runs, cfg->split_buffer, split, &ok, &bad, c);
    if (st || ok) return st;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int64_t i = 0; i < ds->n; i++) {
        xmin = fmin(xmin, ds->x[i]), xmax = fmax(xmax, ds->x[i]);
        ymin = fmin(ymin, ds->y[i]), ymax = fmax(ymax, ds->y[i]);
    }
    char which[64];
    if (bad < 0) snprintf(which, sizeof which, "the main split");
    else snprintf(which, sizeof which, "fold %d of repeat %d", bad % (ds->folds > 1 ? ds->folds : 1) + 1,
                  bad / (ds->folds > 1 ? ds->folds : 1) + 1);
    char advice[160] = "";
    if (cfg->split_buffer > 0) {
        int ok0 = 0, b0;
        int64_t c0[4][2];
        if ((st = splits_feasible(cfg, ds, runs, 0, split, &ok0, &b0, c0))) return st;
        if (ok0) { /* feasibility falls as the buffer grows: bisect for the largest that works */
            double lo = 0, hi = cfg->split_buffer;
            for (int it = 0; it < 30 && hi - lo > 1e-3 * cfg->split_buffer; it++) {
                double mid = 0.5 * (lo + hi);
                int okm, bm;
                int64_t cm[4][2];
                if ((st = splits_feasible(cfg, ds, runs, mid, split, &okm, &bm, cm))) return st;
                if (okm) lo = mid;
                else hi = mid;
            }
            snprintf(advice, sizeof advice, "; [split] buffer = %.0f m would work", floor(lo));
        } else {
            snprintf(advice, sizeof advice, "; even [split] buffer = 0 does not: use fewer [split] folds or more samples");
        }
    } else {
        snprintf(advice, sizeof advice, "; use fewer [split] folds, larger blocks ([split] clusters) or more samples");
    }
    return scarp_fail(SCARP_ERR_INPUT,
                      "%s: [split] buffer = %g m (block_size %g m) leaves %s with %lld + %lld training, %lld + %lld "
                      "validation and %lld + %lld test rows (landslide + other; at least %d + %d training and one of "
                      "each class elsewhere needed) in a sample extent of %.0f x %.0f m%s",
                      cfg->config_path, cfg->split_buffer, cfg->block_size, which, (long long)c[0][1],
                      (long long)c[0][0], (long long)c[1][1], (long long)c[1][0], (long long)c[2][1],
                      (long long)c[2][0], MIN_CLASS, MIN_CLASS, xmax - xmin, ymax - ymin, advice);
}

/* [split] compare = random: every random-CV run needs what split_ok asks too (stratified
 * random folds almost always have it; a tiny inventory with many folds may not). */
static scarp_status check_random_splits(const scarp_config *cfg, const scarp_dataset *ds, int runs, uint8_t *split)
{
    const int folds = ds->folds > 1 ? ds->folds : 1;
    for (int r = 0; r < runs; r++) {
        int64_t c[4][2];
        scarp_status st = scarp__stage_random_split(cfg, ds, r, split);
        if (st) return st;
        split_counts(ds, split, c);
        if (!split_ok(c))
            return scarp_fail(SCARP_ERR_INPUT,
                              "%s: [split] compare = random: random fold %d of repeat %d has %lld + %lld training, "
                              "%lld + %lld validation and %lld + %lld test rows (landslide + other; at least %d + %d "
                              "training and one of each class elsewhere needed); use fewer [split] folds or more samples",
                              cfg->config_path, r % folds + 1, r / folds + 1, (long long)c[0][1], (long long)c[0][0],
                              (long long)c[1][1], (long long)c[1][0], (long long)c[2][1], (long long)c[2][0], MIN_CLASS,
                              MIN_CLASS);
    }
    return SCARP_OK;
}

/* The normalisation of one run: the dataset's own for the main split; refitted on the
 * outer fold's training rows (train + val, never test or buffer rows) for a CV run. */
static scarp_status run_norm(const scarp_dataset *ds, const uint8_t *split, int run, scarp_norm *norm)
{
    if (run < 0 || !ds->raw) return scarp_norm_copy(norm, &ds->norm);
    uint8_t *mask = scarp_malloc((size_t)(ds->n ? ds->n : 1));
    if (!mask) return SCARP_ERR_NOMEM;
    for (int64_t i = 0; i < ds->n; i++)
        mask[i] = split[i] == SCARP_SPLIT_TRAIN || split[i] == SCARP_SPLIT_VAL ? SCARP_SPLIT_TRAIN : SCARP_SPLIT_TEST;
    scarp_status st = scarp_norm_refit(norm, &ds->norm, ds->n, ds->raw, ds->raw_seq, mask);
    scarp_free(mask);
    return st;
}

/* OUT/models/best.json: among every trained model of [model] models, the one with the
 * highest mean inner-validation AUC over the outer folds (without folds: the validation
 * AUC of the main split), read back from the history files so that training one model
 * at a time (scarp run retrains only what changed) still compares them all. */
static scarp_status write_best(const scarp_config *cfg, const char *out, const scarp_dataset *ds, int runs)
{
    int best = -1;
    double bv = -INFINITY;
    cJSON *o = cJSON_CreateObject(), *all = cJSON_CreateObject();
    char path[4096];
    scarp_status st = SCARP_OK;
    for (int i = 0; i < cfg->n_models; i++) {
        double sum = 0, v = NAN;
        int k = 0;
        for (int r = 0; r < runs && !st; r++) {
            st = scarp__stage_model_path(path, sizeof path, out, cfg->models[i], r, ds, "history.json");
            double a = st ? NAN : scarp__history_number(path, "val_auc");
            if (isfinite(a)) sum += a, k++;
        }
        if (st) break;
        if (runs) v = k ? sum / k : NAN;
        else if (!(st = scarp__stage_model_path(path, sizeof path, out, cfg->models[i], -1, ds, "history.json")))
            v = scarp__history_number(path, "val_auc");
        num(all, cfg->models[i], v);
        if (isfinite(v) && v > bv) bv = v, best = i;
    }
    if (st || best < 0) {
        cJSON_Delete(o);
        cJSON_Delete(all);
        return st;
    }
    cJSON_AddStringToObject(o, "model", cfg->models[best]);
    cJSON_AddStringToObject(o, "metric", runs ? "mean inner-validation AUC over the outer folds"
                                              : "validation AUC of the main split");
    num(o, "value", bv);
    cJSON_AddItemToObject(o, "candidates", all);
    char reason[256];
    snprintf(reason, sizeof reason, "%s has the highest %s (%.3f); test rows never take part in the choice",
             cfg->models[best], runs ? "mean inner-validation AUC" : "validation AUC", bv);
    cJSON_AddStringToObject(o, "reason", reason);
    if ((st = scarp_path_join(path, sizeof path, out, "models/best.json"))) {
        cJSON_Delete(o);
        return st;
    }
    scarp_info("train: best model by validation so far: %s", reason);
    return write_json(o, path);
}

/* ---- the units of work, shared among MPI ranks ------------------------------------------
 * A unit is one model of one run: run -1 (the main split) or an outer fold × repeat of the
 * spatial (or, random = 1, the random) cross-validation. Each unit is deterministic (its
 * seed depends only on [project] seed and the run; the normalisation is applied afresh from
 * the raw inputs) and writes only its own files, so units may run in any order, on any
 * rank, and a unit that finished before a crash need not run again. */
typedef struct {
    int model, run, random;
} train_unit;

typedef struct {
    scarp_dataset ds;
    int runs, compare;
    void **blobs, **rblobs; /* serialised normalisation: blobs[run + 1] (spatial), rblobs[run] (random) */
    size_t *blob_bytes, *rblob_bytes;
    uint8_t *split;         /* (ds.n) the current unit's split */
} train_ctx;

static void ctx_free(train_ctx *c)
{
    for (int r = 0; c->blobs && r <= c->runs; r++) scarp_free(c->blobs[r]);
    for (int r = 0; c->rblobs && r < c->runs; r++) scarp_free(c->rblobs[r]);
    scarp_free(c->blobs);
    scarp_free(c->blob_bytes);
    scarp_free(c->rblobs);
    scarp_free(c->rblob_bytes);
    scarp_free(c->split);
    scarp_dataset_free(&c->ds);
}

/* After the dataset is loaded: checks every split (before anything is written) and
 * serialises one normalisation per run, fitted on that run's training rows only. */
static scarp_status ctx_setup(const scarp_config *cfg, const char *out, train_ctx *c, size_t *excluded)
{
    scarp_dataset *ds = &c->ds;
    c->runs = scarp_dataset_n_runs(ds);
    if (c->runs < 2) c->runs = 0;
    const int runs = c->runs;
    c->blobs = scarp_calloc((size_t)runs + 1, sizeof *c->blobs);
    c->blob_bytes = scarp_calloc((size_t)runs + 1, sizeof *c->blob_bytes);
    c->split = scarp_malloc((size_t)(ds->n ? ds->n : 1));
    if (!c->split || !c->blobs || !c->blob_bytes) return SCARP_ERR_NOMEM;
    c->compare = scarp__stage_compare(cfg, ds);
    scarp_status st = check_splits(cfg, ds, runs, c->split);
    if (st || (c->compare && (st = check_random_splits(cfg, ds, runs, c->split)))) return st;
    if (runs && !ds->raw)
        scarp_warn("train: %s/dataset.bin keeps no raw inputs (an older scarp made it): the folds share the main "
                   "split's normalisation; run `scarp prepare` again for per-fold normalisation", out);
    for (int r = -1; r < runs; r++) {
        scarp_norm nr;
        scarp_norm_init(&nr);
        if (!(st = scarp__stage_split(cfg, ds, r, c->split, NULL)) && !(st = run_norm(ds, c->split, r, &nr)))
            st = scarp_norm_serialize(&nr, &c->blobs[r + 1], &c->blob_bytes[r + 1]);
        scarp_norm_free(&nr);
        if (st) return st;
    }
    if (c->compare) { /* the random-CV runs: their own per-fold normalisation, after the spatial ones */
        if (!(c->rblobs = scarp_calloc((size_t)runs, sizeof *c->rblobs)) ||
            !(c->rblob_bytes = scarp_calloc((size_t)runs, sizeof *c->rblob_bytes)))
            return SCARP_ERR_NOMEM;
        for (int r = 0; r < runs; r++) {
            scarp_norm nr;
            scarp_norm_init(&nr);
            if (!(st = scarp__stage_random_split(cfg, ds, r, c->split)) && !(st = run_norm(ds, c->split, r, &nr)))
                st = scarp_norm_serialize(&nr, &c->rblobs[r], &c->rblob_bytes[r]);
            scarp_norm_free(&nr);
            if (st) return st;
        }
    }
    return scarp__stage_split(cfg, ds, -1, c->split, excluded);
}

/* The journal's name of a unit: NAME, NAME.rR.fF or random/NAME.rR.fF. */
static void unit_name(char *s, size_t size, const scarp_dataset *ds, const char *name, const train_unit *u)
{
    const int folds = ds->folds > 1 ? ds->folds : 1;
    if (u->run < 0) snprintf(s, size, "%s", name);
    else snprintf(s, size, "%s%s.r%d.f%d", u->random ? "random/" : "", name, u->run / folds, u->run % folds);
}

/* OUT/models/... path of a unit's file with extension ext ("model" | "history.json"). */
static scarp_status unit_path(char *path, size_t size, const char *out, const scarp_dataset *ds, const char *name,
                              const train_unit *u, const char *ext)
{
    return u->random ? scarp__stage_model_path_random(path, size, out, name, u->run, ds, ext)
                     : scarp__stage_model_path(path, size, out, name, u->run, ds, ext);
}

/* A rough relative cost, for dealing units to ranks: networks first, the recurrent and
 * convolutional ones before the MLP. */
static int unit_cost(const char *name)
{
    static const char *const order[] = {"cnn_lstm", "cnn", "lstm", "mlp", "svm", "forest", "boost"};
    for (int k = 0; k < (int)(sizeof order / sizeof order[0]); k++)
        if (!strcmp(name, order[k])) return (int)(sizeof order / sizeof order[0]) - k;
    return 0;
}

static scarp_status run_unit(const scarp_config *cfg, const char *out, train_ctx *c, const char *name,
                             const train_unit *u, scarp_progress *progress, double *seconds, double *val_auc)
{
    void *blob = u->random ? c->rblobs[u->run] : c->blobs[u->run + 1];
    size_t bytes = u->random ? c->rblob_bytes[u->run] : c->blob_bytes[u->run + 1];
    char p[4096];
    scarp_norm nr;
    scarp_norm_init(&nr);
    scarp_status st = scarp_norm_deserialize(&nr, blob, bytes);
    if (!st && c->ds.raw) st = scarp_dataset_apply_norm(&c->ds, &nr);
    scarp_norm_free(&nr);
    if (!st)
        st = u->random ? scarp__stage_random_split(cfg, &c->ds, u->run, c->split)
                       : scarp__stage_split(cfg, &c->ds, u->run, c->split, NULL);
    if (st) return st;
    if (u->run < 0) scarp_info("train: %s ...", name);
    /* [split] compare = random: the same k × repeats on random stratified folds, the same
     * protocol (inner random split, refit, per-fold normalisation) and per-run seeds */
    if (u->random && u->run == 0)
        scarp_info("train: %s: random cross-validation for [split] compare = random ...", name);
    return train_one(cfg, &c->ds, name, c->split, u->run, u->random, u->run >= 0, blob, bytes, out, progress, seconds,
                     val_auc, p, sizeof p);
}

/* Under mpirun the ranks share the units: every rank loads the dataset (rank 0 prepares it
 * first when missing) and takes every size-th unit of a list ordered by cost; the results
 * are summed over ranks and rank 0 alone writes best.json. Collective steps are marked
 * [all]: every rank reaches each one, and scarp_mpi_agree gives every rank the first
 * failure, so a unit that fails on one rank fails the run everywhere with its message. */
scarp_status scarp_train_run_ex(const scarp_config *cfg, const char *out, const char *model, scarp_progress *progress,
                                scarp_train_result *res)
{
    scarp_train_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    const char *names[SCARP_MAX_MODELS];
    int n = 0;
    if (!model || !strcmp(model, "all")) {
        for (int i = 0; i < cfg->n_models && n < SCARP_REPORT_MAX_MODELS; i++) names[n++] = cfg->models[i];
    } else {
        names[n++] = model;
    }
    scarp_model_kind kind;
    for (int i = 0; i < n; i++)
        if (scarp__stage_family(names[i], &kind) < 0) return SCARP_ERR_INPUT;
    if (n == 0) return scarp_fail(SCARP_ERR_INPUT, "%s: [model] models lists no model", cfg->config_path);
    int rank, size;
    scarp_mpi_start(&rank, &size);
    if (rank > 0) progress = NULL; /* rank 0 reports */
    train_ctx c;
    memset(&c, 0, sizeof c);
    scarp_dataset_init(&c.ds);
    scarp__journal journal;
    memset(&journal, 0, sizeof journal);
    train_unit *units = NULL;
    int *done = NULL, *mine_ok = NULL, n_units = 0, n_done = 0;
    double *num_res = NULL;
    size_t excluded = 0;
    char dir[4096], path[4096], hpath[4096], uname[128];

    /* [all] rank 0 prepares the dataset when it is missing, then the others load it */
    scarp_status st = rank == 0 ? scarp__stage_dataset(cfg, out, 1, progress, &c.ds) : SCARP_OK;
    if ((st = scarp_mpi_agree(st))) goto end;
    if (rank > 0) st = scarp__stage_dataset(cfg, out, 0, NULL, &c.ds);
    if (!st) st = ctx_setup(cfg, out, &c, &excluded);
    if ((st = scarp_mpi_agree(st))) goto end;
    res->buffer_excluded = (int64_t)excluded;
    if (excluded)
        scarp_info("train: [split] buffer of %g m: %zu training/validation rows near test rows left out",
                   cfg->split_buffer, excluded);

    /* the units, in the order one process trains them */
    const int runs = c.runs, per_model = 1 + runs + (c.compare ? runs : 0);
    units = scarp_malloc((size_t)n * (size_t)per_model * sizeof *units);
    done = scarp_calloc((size_t)n * (size_t)per_model, sizeof *done);
    mine_ok = scarp_calloc((size_t)n * 3, sizeof *mine_ok); /* per model: main done, runs, random runs */
    num_res = scarp_calloc((size_t)n * 2, sizeof *num_res);   /* per model: seconds, val_auc of the main model */
    if (!units || !done || !mine_ok || !num_res) st = SCARP_ERR_NOMEM;
    for (int i = 0; !st && i < n; i++) {
        for (int r = -1; r < runs; r++) units[n_units++] = (train_unit){i, r, 0};
        for (int r = 0; c.compare && r < runs; r++) units[n_units++] = (train_unit){i, r, 1};
    }
    /* [all] units that finished before a crash: rank 0 reads the journal, every rank learns it */
    if (!st && rank == 0 &&
        (!(st = scarp_path_join(dir, sizeof dir, out, c.compare ? "models/random" : "models"))) &&
        !(st = scarp_mkdir_p(dir)))
        st = scarp__journal_open(&journal, cfg, out);
    for (int k = 0; !st && rank == 0 && k < n_units; k++) {
        const train_unit *u = &units[k];
        unit_name(uname, sizeof uname, &c.ds, names[u->model], u);
        if (!scarp__journal_has(&journal, uname)) continue;
        if ((st = unit_path(path, sizeof path, out, &c.ds, names[u->model], u, "model")) ||
            (st = unit_path(hpath, sizeof hpath, out, &c.ds, names[u->model], u, "history.json")))
            break;
        done[k] = scarp_file_exists(path) && scarp_file_exists(hpath);
    }
    if (!(st = scarp_mpi_agree(st)) && rank > 0) st = scarp__journal_open(&journal, cfg, out); /* the key */
    if ((st = scarp_mpi_agree(st))) goto end;
    scarp_mpi_sum_ints(done, n_units);
    for (int k = 0; k < n_units; k++) n_done += done[k];
    if (size > 1)
        scarp_info("train: %d units (model x run) over %d MPI ranks, %d finished before (%s)", n_units, size, n_done,
                   journal.path);
    else if (n_done)
        scarp_info("train: resuming: %d of %d units (model x run) finished before (%s)", n_done, n_units, journal.path);
    if (size > 1) { /* deal by cost: each rank gets about the same share of networks */
        for (int k = 1; k < n_units; k++) { /* stable insertion sort, costliest first */
            train_unit u = units[k];
            int d = done[k], j = k;
            for (; j > 0 && unit_cost(names[units[j - 1].model]) < unit_cost(names[u.model]); j--)
                units[j] = units[j - 1], done[j] = done[j - 1];
            units[j] = u, done[j] = d;
        }
    }
    /* this rank's units; finished ones are counted once, by rank 0 */
    for (int k = 0, pending = 0; k < n_units && !st; k++) {
        const train_unit *u = &units[k];
        const char *name = names[u->model];
        double s = NAN, a = NAN;
        if (done[k]) {
            if (rank != 0) continue;
            if (u->run < 0) {
                if ((st = unit_path(hpath, sizeof hpath, out, &c.ds, name, u, "history.json"))) break;
                s = scarp__history_number(hpath, "seconds"), a = scarp__history_number(hpath, "val_auc");
            }
        } else {
            if (pending++ % size != rank) continue; /* every size-th unfinished unit */
            if ((st = run_unit(cfg, out, &c, name, u, progress, &s, &a))) break;
            unit_name(uname, sizeof uname, &c.ds, name, u);
            if ((st = scarp__journal_add(&journal, uname))) break;
        }
        if (u->run < 0) {
            mine_ok[3 * u->model] = 1;
            num_res[2 * u->model] = s, num_res[2 * u->model + 1] = a;
        } else {
            mine_ok[3 * u->model + (u->random ? 2 : 1)]++;
        }
    }
    st = scarp_mpi_agree(st); /* [all] */
    /* [all] the result as one process has it (also after a failure: what did finish) */
    scarp_mpi_sum_ints(mine_ok, 3 * n);
    scarp_mpi_sum_doubles(num_res, 2 * n);
    for (int i = 0; i < n; i++) {
        snprintf(res->name[i], sizeof res->name[i], "%s", names[i]);
        scarp_status pst = scarp__stage_model_path(res->path[i], sizeof res->path[i], out, names[i], -1, &c.ds, "model");
        if (pst && !st) st = pst;
        res->seconds[i] = num_res[2 * i], res->val_auc[i] = num_res[2 * i + 1];
        res->runs[i] = mine_ok[3 * i + 1], res->runs_random[i] = mine_ok[3 * i + 2];
        if (res->n_models == i && mine_ok[3 * i]) res->n_models = i + 1;
    }
    if (st) goto end;
    /* [all] rank 0 writes what is global; the journal goes once every unit is in place */
    if (rank == 0 && !(st = write_best(cfg, out, &c.ds, runs))) st = scarp__journal_remove(&journal);
    st = scarp_mpi_agree(st);
end:
    scarp_free(units);
    scarp_free(done);
    scarp_free(mine_ok);
    scarp_free(num_res);
    scarp__journal_free(&journal);
    ctx_free(&c);
    scarp_mpi_finish();
    return st;
}

scarp_status scarp_best_model(const char *out, char *name, size_t size)
{
    char path[4096], *text = NULL;
    scarp_status st = scarp_path_join(path, sizeof path, out, "models/best.json");
    if (st) return st;
    if (!scarp_file_exists(path))
        return scarp_fail(SCARP_ERR_INPUT, "%s: missing: [map] model = best needs `scarp train` first", path);
    if ((st = scarp_read_file(path, &text, NULL))) return st;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    cJSON *m = root ? cJSON_GetObjectItem(root, "model") : NULL;
    if (!cJSON_IsString(m) || strlen(m->valuestring) >= size || strchr(m->valuestring, '/')) {
        cJSON_Delete(root);
        return scarp_fail(SCARP_ERR_INPUT, "%s: damaged (no model name)", path);
    }
    snprintf(name, size, "%s", m->valuestring);
    cJSON_Delete(root);
    return SCARP_OK;
}

scarp_status scarp_train_run(const scarp_config *cfg, const char *out, const char *model, scarp_progress *progress)
{
    return scarp_train_run_ex(cfg, out, model, progress, NULL);
}
