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

/* Trains one model of `name` on split (0 train, 1 val; other values unused) and saves it. */
static scarp_status train_one(const scarp_config *cfg, const scarp_dataset *ds, const char *name, const uint8_t *split,
                              int run, const void *blob, size_t blob_bytes, const char *out, scarp_progress *progress,
                              double *seconds, double *val_auc, char *model_path, size_t path_size)
{
    scarp_model_kind kind;
    int family = scarp__stage_family(name, &kind);
    if (family < 0) return SCARP_ERR_INPUT;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    float *Xtr = NULL, *Xva = NULL, *labels = NULL, *pv = NULL;
    uint8_t *ytr = NULL, *yva = NULL;
    scarp_classic cls;
    memset(&cls, 0, sizeof cls);
    scarp_model nn;
    memset(&nn, 0, sizeof nn);
    scarp_train_history hist;
    memset(&hist, 0, sizeof hist);
    char hpath[4096];
    scarp_status st;
    uint64_t seed = cfg->seed + (run < 0 ? 0 : 7919ull * (uint64_t)(run + 1));
    if ((st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_TRAIN, &tr, &ntr))) goto end;
    if ((st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_VAL, &va, &nva))) goto end;
    if ((st = scarp__stage_model_path(model_path, path_size, out, name, run, ds, "model"))) goto end;
    if ((st = scarp__stage_model_path(hpath, sizeof hpath, out, name, run, ds, "history.json"))) goto end;
    double t0 = scarp_now();
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "model", name);
    num(h, "run", run);
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
        if ((st = scarp_classic_train(&cls, ck, &p, Xtr, ytr, ntr, ds->F, Xva, yva, nva, progress))) goto end_json;
        *seconds = scarp_now() - t0;
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
        }
        if ((st = scarp_classic_save(&cls, model_path, blob, blob_bytes))) goto end_json;
        cJSON_AddStringToObject(h, "family", "baseline");
        num(h, "seconds", *seconds);
        num(h, "val_auc", *val_auc);
        num(h, "tuned_val_auc", cls.val_auc);
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
        scarp_model_spec spec;
        scarp_model_spec_default(&spec, kind);
        spec.C = ds->C;
        spec.H = ds->H;
        spec.W = ds->W;
        spec.N = ds->N;
        spec.T = ds->T;
        spec.F = ds->F;
        spec.dropout = (float)cfg->dropout;
        spec.recurrent_dropout = (float)cfg->recurrent_dropout;
        spec.l2 = (float)cfg->l2;
        if ((kind == SCARP_MODEL_CNN_LSTM || kind == SCARP_MODEL_LSTM) && (ds->T < 1 || !ds->seq)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: needs temporal input, but the dataset has no [temporal] series "
                                             "(remove it from [model] models or add rainfall)", name);
            goto end_json;
        }
        if ((st = scarp_model_spec_check(&spec)) || (st = scarp_model_init(&nn, &spec, seed))) goto end_json;
        labels = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *labels);
        if (!labels) {
            st = SCARP_ERR_NOMEM;
            goto end_json;
        }
        for (int64_t i = 0; i < ds->n; i++) labels[i] = ds->label[i] ? 1.0f : 0.0f;
        scarp_nn_data data = {ds->patches, ds->seq, ds->tab, labels, (size_t)ds->n};
        scarp_train_options o;
        scarp_train_options_default(&o);
        o.epochs = cfg->epochs;
        o.batch = cfg->batch;
        o.lr = (float)cfg->lr;
        o.select = !strcmp(cfg->select, "val_loss") ? SCARP_SELECT_VAL_LOSS : SCARP_SELECT_VAL_BCE;
        o.seed = seed;
        o.progress = progress;
        if ((st = scarp_model_train(&nn, &data, tr, ntr, va, nva, &o, &hist))) goto end_json;
        *seconds = scarp_now() - t0;
        if (nva) {
            pv = scarp_malloc(nva * sizeof *pv);
            yva = scarp_malloc(nva);
            scarp__any_model am = {0};
            am.nn = nn;
            am.kind = kind;
            if (!pv || !yva) {
                st = SCARP_ERR_NOMEM;
                goto end_json;
            }
            st = scarp__any_predict_rows(&am, ds, va, nva, pv);
            nn = am.nn; /* the workspace the prediction may have allocated belongs to nn */
            if (st) goto end_json;
            for (size_t k = 0; k < nva; k++) yva[k] = ds->label[va[k]];
            if (scarp_auc(pv, yva, nva, val_auc)) {
                *val_auc = NAN;
                scarp_clear_error();
            }
        }
        if ((st = scarp_model_save(model_path, &nn, blob, blob_bytes))) goto end_json;
        cJSON_AddStringToObject(h, "family", "network");
        num(h, "seconds", *seconds);
        num(h, "val_auc", *val_auc);
        num(h, "epochs", hist.epochs);
        num(h, "best_epoch", hist.best_epoch + 1);
        cJSON_AddStringToObject(h, "select", cfg->select);
        add_array(h, "train_loss", hist.train_loss, hist.epochs);
        add_array(h, "val_loss", hist.val_loss, hist.epochs);
        add_array(h, "train_bce", hist.train_bce, hist.epochs);
        add_array(h, "val_bce", hist.val_bce, hist.epochs);
        add_array(h, "train_accuracy", hist.train_acc, hist.epochs);
        add_array(h, "val_accuracy", hist.val_acc, hist.epochs);
        add_array(h, "train_mae", hist.train_mae, hist.epochs);
        add_array(h, "val_mae", hist.val_mae, hist.epochs);
        add_array(h, "train_rmse", hist.train_rmse, hist.epochs);
        add_array(h, "val_rmse", hist.val_rmse, hist.epochs);
    }
    st = write_json(h, hpath);
    h = NULL;
end_json:
    if (h) cJSON_Delete(h);
end:
    scarp_free(tr);
    scarp_free(va);
    scarp_free(Xtr);
    scarp_free(Xva);
    scarp_free(ytr);
    scarp_free(yva);
    scarp_free(labels);
    scarp_free(pv);
    scarp_classic_free(&cls);
    if (nn.params) scarp_model_free(&nn);
    scarp_train_history_free(&hist);
    return st;
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
    void *blob = NULL;
    size_t blob_bytes = 0;
    uint8_t *split = scarp_malloc((size_t)(ds.n ? ds.n : 1));
    char dir[4096];
    if (!split) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = scarp_norm_serialize(&ds.norm, &blob, &blob_bytes))) goto end;
    if ((st = scarp_path_join(dir, sizeof dir, out, "models")) || (st = scarp_mkdir_p(dir))) goto end;
    int runs = scarp_dataset_n_runs(&ds);
    if (runs < 2) runs = 0;
    size_t excluded = 0;
    if ((st = scarp__stage_split(cfg, &ds, -1, split, &excluded))) goto end;
    res->buffer_excluded = (int64_t)excluded;
    if (excluded)
        scarp_info("train: spatial buffer of %g m: %zu training/validation rows near test rows left out", cfg->block_size,
                   excluded);
    for (int i = 0; i < n; i++) {
        snprintf(res->name[i], sizeof res->name[i], "%s", names[i]);
        if ((st = scarp__stage_split(cfg, &ds, -1, split, NULL))) goto end;
        scarp_info("train: %s ...", names[i]);
        if ((st = train_one(cfg, &ds, names[i], split, -1, blob, blob_bytes, out, progress, &res->seconds[i],
                            &res->val_auc[i], res->path[i], sizeof res->path[i])))
            goto end;
        res->n_models = i + 1;
        for (int r = 0; r < runs; r++) {
            double s, a;
            char p[4096];
            if ((st = scarp__stage_split(cfg, &ds, r, split, NULL))) goto end;
            if ((st = train_one(cfg, &ds, names[i], split, r, blob, blob_bytes, out, progress, &s, &a, p, sizeof p)))
                goto end;
            res->runs[i]++;
        }
    }
end:
    scarp_free(blob);
    scarp_free(split);
    scarp_dataset_free(&ds);
    return st;
}

scarp_status scarp_train_run(const scarp_config *cfg, const char *out, const char *model, scarp_progress *progress)
{
    return scarp_train_run_ex(cfg, out, model, progress, NULL);
}
