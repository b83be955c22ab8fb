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

/* The validation AUC a model's history.json records (NAN when missing). */
static double history_val_auc(const char *path)
{
    char *text = NULL;
    if (!scarp_file_exists(path) || scarp_read_file(path, &text, NULL)) {
        scarp_clear_error();
        return NAN;
    }
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    const cJSON *v = root ? cJSON_GetObjectItem(root, "val_auc") : NULL;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(root);
    return x;
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
            double a = st ? NAN : history_val_auc(path);
            if (isfinite(a)) sum += a, k++;
        }
        if (st) break;
        if (runs) v = k ? sum / k : NAN;
        else if (!(st = scarp__stage_model_path(path, sizeof path, out, cfg->models[i], -1, ds, "history.json")))
            v = history_val_auc(path);
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
    scarp_dataset ds;
    scarp_status st = scarp__stage_dataset(cfg, out, 1, progress, &ds);
    if (st) return st;
    int runs = scarp_dataset_n_runs(&ds);
    if (runs < 2) runs = 0;
    void **blobs = scarp_calloc((size_t)runs + 1, sizeof *blobs), **rblobs = NULL;
    size_t *rblob_bytes = NULL;
    size_t *blob_bytes = scarp_calloc((size_t)runs + 1, sizeof *blob_bytes);
    uint8_t *split = scarp_malloc((size_t)(ds.n ? ds.n : 1));
    char dir[4096];
    if (!split || !blobs || !blob_bytes) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    const int compare = scarp__stage_compare(cfg, &ds);
    if ((st = check_splits(cfg, &ds, runs, split))) goto end; /* before anything is written */
    if (compare && (st = check_random_splits(cfg, &ds, runs, split))) goto end;
    if ((st = scarp_path_join(dir, sizeof dir, out, compare ? "models/random" : "models")) || (st = scarp_mkdir_p(dir)))
        goto end;
    if (runs && !ds.raw)
        scarp_warn("train: %s/dataset.bin keeps no raw inputs (an older scarp made it): the folds share the main "
                   "split's normalisation; run `scarp prepare` again for per-fold normalisation", out);
    /* one normalisation per run, fitted on that run's training rows only */
    for (int r = -1; r < runs; r++) {
        scarp_norm nr;
        scarp_norm_init(&nr);
        if ((st = scarp__stage_split(cfg, &ds, r, split, NULL)) || (st = run_norm(&ds, split, r, &nr)) ||
            (st = scarp_norm_serialize(&nr, &blobs[r + 1], &blob_bytes[r + 1]))) {
            scarp_norm_free(&nr);
            goto end;
        }
        scarp_norm_free(&nr);
    }
    if (compare) { /* the random-CV runs: their own per-fold normalisation, after the spatial ones */
        if (!(rblobs = scarp_calloc((size_t)runs, sizeof *rblobs)) ||
            !(rblob_bytes = scarp_calloc((size_t)runs, sizeof *rblob_bytes))) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int r = 0; r < runs; r++) {
            scarp_norm nr;
            scarp_norm_init(&nr);
            if ((st = scarp__stage_random_split(cfg, &ds, r, split)) || (st = run_norm(&ds, split, r, &nr)) ||
                (st = scarp_norm_serialize(&nr, &rblobs[r], &rblob_bytes[r]))) {
                scarp_norm_free(&nr);
                goto end;
            }
            scarp_norm_free(&nr);
        }
    }
    size_t excluded = 0;
    if ((st = scarp__stage_split(cfg, &ds, -1, split, &excluded))) goto end;
    res->buffer_excluded = (int64_t)excluded;
    if (excluded)
        scarp_info("train: [split] buffer of %g m: %zu training/validation rows near test rows left out",
                   cfg->split_buffer, excluded);
    for (int i = 0; i < n; i++) {
        snprintf(res->name[i], sizeof res->name[i], "%s", names[i]);
        for (int r = -1; r < runs; r++) {
            double s, a;
            char p[4096];
            scarp_norm nr;
            scarp_norm_init(&nr);
            if (!(st = scarp_norm_deserialize(&nr, blobs[r + 1], blob_bytes[r + 1])))
                st = ds.raw ? scarp_dataset_apply_norm(&ds, &nr) : SCARP_OK;
            scarp_norm_free(&nr);
            if (st || (st = scarp__stage_split(cfg, &ds, r, split, NULL))) goto end;
            if (r < 0) scarp_info("train: %s ...", names[i]);
            if ((st = train_one(cfg, &ds, names[i], split, r, 0, r >= 0, blobs[r + 1], blob_bytes[r + 1], out, progress,
                                r < 0 ? &res->seconds[i] : &s, r < 0 ? &res->val_auc[i] : &a,
                                r < 0 ? res->path[i] : p, r < 0 ? sizeof res->path[i] : sizeof p)))
                goto end;
            if (r < 0) {
                res->n_models = i + 1;
            } else {
                res->runs[i]++;
            }
        }
        /* [split] compare = random: the same k × repeats on random stratified folds, the same
         * protocol (inner random split, refit, per-fold normalisation) and per-run seeds */
        for (int r = 0; compare && r < runs; r++) {
            double s, a;
            char p[4096];
            scarp_norm nr;
            scarp_norm_init(&nr);
            if (!(st = scarp_norm_deserialize(&nr, rblobs[r], rblob_bytes[r])))
                st = ds.raw ? scarp_dataset_apply_norm(&ds, &nr) : SCARP_OK;
            scarp_norm_free(&nr);
            if (st || (st = scarp__stage_random_split(cfg, &ds, r, split))) goto end;
            if (r == 0) scarp_info("train: %s: random cross-validation for [split] compare = random ...", names[i]);
            if ((st = train_one(cfg, &ds, names[i], split, r, 1, 1, rblobs[r], rblob_bytes[r], out, progress, &s, &a, p,
                                sizeof p)))
                goto end;
            res->runs_random[i]++;
        }
    }
    st = write_best(cfg, out, &ds, runs);
end:
    for (int r = 0; blobs && r <= runs; r++) scarp_free(blobs[r]);
    scarp_free(blobs);
    scarp_free(blob_bytes);
    for (int r = 0; rblobs && r < runs; r++) scarp_free(rblobs[r]);
    scarp_free(rblobs);
    scarp_free(rblob_bytes);
    scarp_free(split);
    scarp_dataset_free(&ds);
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
