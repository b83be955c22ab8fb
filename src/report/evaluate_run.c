/* evaluate_run.c — the `scarp evaluate` stage: each trained model predicts the validation
 * rows (to choose its threshold: max F1) and the test rows (every metric of eval.h), its
 * permutation importance per factor group (Breiman 2001; groups as in the dataset's
 * factor list), the spread over k-fold / repeated runs, and the report of report.h. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/report.h"
#include "stage_internal.h"

typedef struct {
    scarp__any_model *m;
    const scarp_dataset *ds;
    const float *P0, *S0, *T0; /* the test rows, gathered */
    float *P, *S, *T;          /* permuted copies */
} imp_ctx;

static void uses(const scarp__any_model *m, int *p, int *s, int *t)
{
    *p = !m->is_classic && (m->kind == SCARP_MODEL_CNN_LSTM || m->kind == SCARP_MODEL_CNN);
    *s = !m->is_classic && (m->kind == SCARP_MODEL_CNN_LSTM || m->kind == SCARP_MODEL_LSTM);
    *t = m->is_classic || m->kind == SCARP_MODEL_MLP;
}

static scarp_status imp_predict(void *user, int g, const size_t *perm, size_t n, float *prob)
{
    imp_ctx *c = user;
    const scarp_dataset *ds = c->ds;
    const scarp_factor *f = &ds->factors[g];
    const size_t HW = (size_t)ds->H * ds->W, P = (size_t)ds->C * HW, NT = (size_t)ds->N * ds->T, F = (size_t)ds->F;
    int up, us, ut;
    uses(c->m, &up, &us, &ut);
    us = us && NT > 0;
    if (up) {
        memcpy(c->P, c->P0, n * P * sizeof(float));
        for (int k = 0; k < f->n_channels; k++) {
            size_t ch = (size_t)f->channels[k];
            for (size_t i = 0; i < n; i++) memcpy(c->P + i * P + ch * HW, c->P0 + perm[i] * P + ch * HW, HW * sizeof(float));
        }
    }
    if (us) {
        memcpy(c->S, c->S0, n * NT * sizeof(float));
        if (f->temporal_var >= 0)
            for (size_t i = 0; i < n; i++)
                for (int d = 0; d < ds->N; d++)
                    c->S[i * NT + (size_t)d * ds->T + f->temporal_var] =
                        c->S0[perm[i] * NT + (size_t)d * ds->T + f->temporal_var];
    }
    if (ut) {
        memcpy(c->T, c->T0, n * F * sizeof(float));
        for (int k = 0; k < f->n_features; k++) {
            size_t j = (size_t)f->features[k];
            for (size_t i = 0; i < n; i++) c->T[i * F + j] = c->T0[perm[i] * F + j];
        }
    }
    return scarp__any_predict(c->m, up ? c->P : NULL, us ? c->S : NULL, ut ? c->T : NULL, n, prob);
}

/* Reads NAME.history.json into the report model (missing file: no history, no error). */
static scarp_status read_history(const char *path, scarp_report_model *rm)
{
    if (!scarp_file_exists(path)) return SCARP_OK;
    char *text = NULL;
    size_t n;
    scarp_status st = scarp_read_file(path, &text, &n);
    if (st) return st;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    if (!root) return scarp_fail(SCARP_ERR_INPUT, "%s: not valid JSON", path);
    cJSON *s = cJSON_GetObjectItem(root, "seconds");
    if (cJSON_IsNumber(s)) rm->train_seconds = s->valuedouble;
    rm->did_not_learn = cJSON_IsTrue(cJSON_GetObjectItem(root, "did_not_learn"));
    cJSON *why = cJSON_GetObjectItem(root, "did_not_learn_reason"), *tu = cJSON_GetObjectItem(root, "tune"),
          *en = cJSON_GetObjectItem(root, "ensemble");
    if (cJSON_IsString(why)) snprintf(rm->did_not_learn_reason, sizeof rm->did_not_learn_reason, "%s", why->valuestring);
    if (cJSON_IsString(tu)) snprintf(rm->tune, sizeof rm->tune, "%s", tu->valuestring);
    if (cJSON_IsNumber(en)) rm->ensemble = en->valueint;
    cJSON *e = cJSON_GetObjectItem(root, "epochs"), *b = cJSON_GetObjectItem(root, "best_epoch");
    if (cJSON_IsNumber(e) && e->valueint > 0) {
        static const char *const keys[SCARP_HIST_N] = {"train_loss", "val_loss", "train_accuracy", "val_accuracy",
                                                       "train_mae", "val_mae", "train_rmse", "val_rmse"};
        rm->n_epochs = e->valueint;
        rm->best_epoch = cJSON_IsNumber(b) ? b->valueint - 1 : 0;
        for (int k = 0; k < SCARP_HIST_N; k++) {
            cJSON *a = cJSON_GetObjectItem(root, keys[k]);
            if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != rm->n_epochs) continue;
            rm->hist[k] = scarp_malloc((size_t)rm->n_epochs * sizeof(double));
            if (!rm->hist[k]) {
                cJSON_Delete(root);
                return SCARP_ERR_NOMEM;
            }
            int i = 0;
            for (cJSON *v = a->child; v; v = v->next) rm->hist[k][i++] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
    }
    cJSON_Delete(root);
    return SCARP_OK;
}

/* Threshold on validation, metrics on test, for the rows of `split`. */
static scarp_status score_split(scarp__any_model *m, const scarp_dataset *ds, const uint8_t *split, scarp_metrics *met,
                                double *thr, double *pred_seconds, float **test_prob_out, double fixed_thr)
{
    size_t *va = NULL, *te = NULL, nva = 0, nte = 0;
    float *pv = NULL, *pt = NULL;
    uint8_t *yv = NULL, *yt = NULL;
    scarp_status st;
    if ((st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_VAL, &va, &nva)) ||
        (st = scarp__stage_rows(split, ds->n, SCARP_SPLIT_TEST, &te, &nte)))
        goto end;
    if (nte == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "evaluate: the split has no test rows");
        goto end;
    }
    pv = scarp_malloc((nva ? nva : 1) * sizeof *pv);
    pt = scarp_malloc(nte * sizeof *pt);
    yv = scarp_malloc(nva ? nva : 1);
    yt = scarp_malloc(nte);
    if (!pv || !pt || !yv || !yt) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t k = 0; k < nva; k++) yv[k] = ds->label[va[k]];
    for (size_t k = 0; k < nte; k++) yt[k] = ds->label[te[k]];
    *thr = 0.5;
    if (isfinite(fixed_thr)) *thr = fixed_thr; /* chosen at training time, before a refit */
    else if (nva) {
        if ((st = scarp__any_predict_rows(m, ds, va, nva, pv))) goto end;
        *thr = scarp_threshold_choose(pv, yv, nva, SCARP_THRESHOLD_F1);
    }
    double t0 = scarp_now();
    if ((st = scarp__any_predict_rows(m, ds, te, nte, pt))) goto end;
    if (pred_seconds) *pred_seconds = scarp_now() - t0;
    st = scarp_metrics_compute(pt, yt, nte, *thr, met);
    if (!st && test_prob_out) {
        *test_prob_out = pt;
        pt = NULL;
    }
end:
    scarp_free(va);
    scarp_free(te);
    scarp_free(pv);
    scarp_free(pt);
    scarp_free(yv);
    scarp_free(yt);
    return st;
}

/* Scores the `runs` fold / repeat models of `name` (random_cv: the random-CV models of
 * [split] compare = random) on their own test folds, each under the normalisation stored in
 * its file: values[k][r] (allocated here) = run metric k of run r, NaN when the model is
 * missing; oof / oof_n (n, may be NULL) accumulate every test row's probability. */
static scarp_status score_runs(const scarp_config *cfg, scarp_dataset *ds, const char *out, const char *name, int runs,
                               int random_cv, double *values[SCARP_RUNM_N], double *oof, int *oof_n, int *found)
{
    scarp__any_model am;
    memset(&am, 0, sizeof am);
    uint8_t *rs = scarp_malloc((size_t)(ds->n ? ds->n : 1));
    scarp_status st = rs ? SCARP_OK : SCARP_ERR_NOMEM;
    int have = 0;
    for (int k = 0; k < SCARP_RUNM_N && !st; k++)
        if (!(values[k] = scarp_malloc((size_t)runs * sizeof(double)))) st = SCARP_ERR_NOMEM;
    for (int r = 0; r < runs && !st; r++) {
        char path[4096], hp[4096];
        for (int k = 0; k < SCARP_RUNM_N; k++) values[k][r] = NAN;
        if (random_cv) {
            if ((st = scarp__stage_model_path_random(path, sizeof path, out, name, r, ds, "model")) ||
                (st = scarp__stage_model_path_random(hp, sizeof hp, out, name, r, ds, "history.json")))
                break;
        } else if ((st = scarp__stage_model_path(path, sizeof path, out, name, r, ds, "model")) ||
                   (st = scarp__stage_model_path(hp, sizeof hp, out, name, r, ds, "history.json"))) {
            break;
        }
        if (!scarp_file_exists(path)) continue;
        scarp_metrics mm;
        double th;
        float *fp = NULL;
        /* each fold model carries the normalisation fitted on its own training rows */
        if ((st = scarp__any_load_norm(&am, path, ds))) break;
        const double fixed = scarp__history_number(hp, "val_threshold");
        if (!(st = random_cv ? scarp__stage_random_split(cfg, ds, r, rs) : scarp__stage_split(cfg, ds, r, rs, NULL)))
            st = score_split(&am, ds, rs, &mm, &th, NULL, &fp, fixed);
        scarp__any_free(&am);
        if (!st && oof) { /* out-of-fold probabilities, averaged over repeats */
            size_t k = 0;
            for (int64_t j = 0; j < ds->n; j++)
                if (rs[j] == SCARP_SPLIT_TEST) oof[j] += fp[k++], oof_n[j]++;
        }
        scarp_free(fp);
        if (st) break;
        for (int k = 0; k < SCARP_RUNM_N; k++) values[k][r] = scarp_report_run_metric(&mm, k);
        have++;
    }
    scarp_free(rs);
    if (!st && ds->raw) st = scarp_dataset_apply_norm(ds, &ds->norm); /* back to the main split's */
    if (!st && have < runs)
        scarp_warn("evaluate: %s: %d of %d %sfold/repeat models found%s", name, have, runs, random_cv ? "random-CV " : "",
                   random_cv && !have ? " (train again with [split] compare = random)" : "");
    *found = have;
    return st;
}

scarp_status scarp_evaluate_run_ex(const scarp_config *cfg, const char *out, const scarp_evaluate_options *opts,
                                   scarp_progress *progress)
{
    scarp_evaluate_options defaults = {0};
    if (!opts) opts = &defaults;
    int repeats = opts->importance_repeats > 0 ? opts->importance_repeats : 5;
    scarp_dataset ds;
    scarp_status st = scarp__stage_dataset(cfg, out, 0, progress, &ds);
    if (st) return st;
    scarp_report_model *models = scarp_calloc(SCARP_REPORT_MAX_MODELS, sizeof *models);
    uint8_t *split = scarp_malloc((size_t)(ds.n ? ds.n : 1));
    size_t *te = NULL, nte = 0;
    float *main_prob = NULL;
    double *oof = NULL, *roof = NULL; /* out-of-fold probabilities: configured CV, random CV (compare) */
    int *oof_n = NULL, *roof_n = NULL;
    char pnames[SCARP_REPORT_MAX_MODELS][32];
    float *P0 = NULL, *S0 = NULL, *T0 = NULL, *P = NULL, *S = NULL, *T = NULL, *tprob = NULL;
    uint8_t *yt = NULL;
    char *config_text = NULL, *summary = NULL;
    int nm = 0;
    scarp__any_model am;
    memset(&am, 0, sizeof am);
    scarp_report_views views; /* task views, the truth, paired DeLong (views.c) */
    memset(&views, 0, sizeof views);
    if (!models || !split) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = scarp__stage_split(cfg, &ds, -1, split, NULL))) goto end;
    if ((st = scarp__stage_rows(split, ds.n, SCARP_SPLIT_TEST, &te, &nte))) goto end;
    const size_t PS = (size_t)ds.C * ds.H * ds.W, SS = (size_t)ds.N * ds.T, FS = (size_t)ds.F, nt1 = nte ? nte : 1;
    P0 = scarp_malloc(nt1 * PS * sizeof(float));
    P = scarp_malloc(nt1 * PS * sizeof(float));
    S0 = scarp_malloc(nt1 * (SS ? SS : 1) * sizeof(float));
    S = scarp_malloc(nt1 * (SS ? SS : 1) * sizeof(float));
    T0 = scarp_malloc(nt1 * FS * sizeof(float));
    T = scarp_malloc(nt1 * FS * sizeof(float));
    yt = scarp_malloc(nt1);
    if (!P0 || !P || !S0 || !S || !T0 || !T || !yt) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    scarp__stage_gather(&ds, te, nte, P0, SS ? S0 : NULL, T0);
    for (size_t k = 0; k < nte; k++) yt[k] = ds.label[te[k]];
    if ((st = scarp_views_init(&views, cfg, &ds, te, nte))) goto end;
    int runs = scarp_dataset_n_runs(&ds);
    if (runs < 2) runs = 0;
    const size_t NM = (size_t)SCARP_REPORT_MAX_MODELS * (size_t)ds.n + 1;
    main_prob = scarp_malloc(NM * sizeof *main_prob);
    if (runs && ds.folds > 1) {
        oof = scarp_calloc(NM, sizeof *oof);
        oof_n = scarp_calloc(NM, sizeof *oof_n);
    }
    const int compare = scarp__stage_compare(cfg, &ds);
    if (compare && ds.folds > 1) {
        roof = scarp_calloc(NM, sizeof *roof);
        roof_n = scarp_calloc(NM, sizeof *roof_n);
    }
    if (!main_prob || (runs && ds.folds > 1 && (!oof || !oof_n)) || (compare && ds.folds > 1 && (!roof || !roof_n))) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t k = 0; k < NM; k++) main_prob[k] = NAN;

    for (int i = 0; i < cfg->n_models && nm < SCARP_REPORT_MAX_MODELS; i++) {
        const char *name = cfg->models[i];
        char path[4096];
        scarp_model_kind kind;
        int fam = scarp__stage_family(name, &kind);
        if (fam < 0) {
            st = SCARP_ERR_INPUT;
            goto end;
        }
        if ((st = scarp__stage_model_path(path, sizeof path, out, name, -1, &ds, "model"))) goto end;
        if (!scarp_file_exists(path)) {
            scarp_warn("evaluate: %s not trained (%s missing): skipped", name, path);
            continue;
        }
        scarp_report_model *rm = &models[nm++];
        snprintf(rm->name, sizeof rm->name, "%s", name);
        snprintf(rm->family, sizeof rm->family, "%s", fam ? "network" : "baseline");
        scarp_info("evaluate: %s", name);
        if ((st = scarp__any_load(&am, path))) goto end;
        scarp_free(tprob);
        tprob = NULL;
        if ((st = score_split(&am, &ds, split, &rm->test, &rm->val_threshold, &rm->predict_seconds, &tprob, NAN))) goto end;
        if ((st = scarp_views_add_model(&views, name, tprob))) goto end;
        snprintf(pnames[nm - 1], sizeof pnames[0], "%s", name);
        for (size_t k = 0; k < nte; k++) main_prob[(size_t)(nm - 1) * ds.n + te[k]] = tprob[k];
        double *thr = NULL;
        int ranked = rm->test.n_pos > 0 && rm->test.n_neg > 0;
        if (!ranked)
            scarp_warn("evaluate: the test split of %s holds %zu landslides and %zu other samples: no AUC, ROC or "
                       "importance", name, rm->test.n_pos, rm->test.n_neg);
        if (ranked && (st = scarp_roc_points(tprob, yt, nte, &rm->roc_fpr, &rm->roc_tpr, &thr, &rm->roc_n))) goto end;
        scarp_free(thr);
        if ((st = scarp__stage_model_path(path, sizeof path, out, name, -1, &ds, "history.json")) ||
            (st = read_history(path, rm)))
            goto end;
        /* permutation importance per factor group */
        if (!opts->no_importance && ds.n_factors > 0 && ranked) {
            imp_ctx c = {&am, &ds, P0, SS ? S0 : NULL, T0, P, SS ? S : NULL, T};
            scarp_importance imp;
            scarp_progress_begin(progress, "importance", ds.n_factors);
            st = scarp_importance_permutation(imp_predict, &c, ds.n_factors, yt, nte, rm->test.auc, repeats, cfg->seed,
                                              &imp);
            scarp_progress_end(progress);
            if (st) goto end;
            rm->n_factors = ds.n_factors;
            rm->importance_repeats = repeats;
            rm->factor_names = scarp_calloc((size_t)ds.n_factors, sizeof *rm->factor_names);
            rm->imp_share = scarp_malloc((size_t)ds.n_factors * sizeof(double));
            rm->imp_drop = scarp_malloc((size_t)ds.n_factors * sizeof(double));
            rm->imp_sd = scarp_malloc((size_t)ds.n_factors * sizeof(double));
            if (!rm->factor_names || !rm->imp_share || !rm->imp_drop || !rm->imp_sd) {
                scarp_importance_free(&imp);
                st = SCARP_ERR_NOMEM;
                goto end;
            }
            for (int f = 0; f < ds.n_factors; f++) {
                snprintf(rm->factor_names[f], 64, "%s", ds.factors[f].name);
                rm->imp_share[f] = imp.share[f];
                rm->imp_drop[f] = imp.drop_mean[f];
                rm->imp_sd[f] = imp.drop_sd[f];
            }
            scarp_importance_free(&imp);
        }
        scarp__any_free(&am);
        /* the fold / repeat models */
        if (runs) {
            int found = 0;
            if ((st = score_runs(cfg, &ds, out, name, runs, 0, rm->run_values, oof ? oof + (size_t)(nm - 1) * ds.n : NULL,
                                 oof ? oof_n + (size_t)(nm - 1) * ds.n : NULL, &found)))
                goto end;
            rm->n_runs = runs;
            if (compare) { /* [split] compare = random: the random-CV models, beside the spatial ones */
                if ((st = score_runs(cfg, &ds, out, name, runs, 1, rm->random_values,
                                     roof ? roof + (size_t)(nm - 1) * ds.n : NULL,
                                     roof ? roof_n + (size_t)(nm - 1) * ds.n : NULL, &found)))
                    goto end;
                rm->n_runs_random = found ? runs : 0; /* none trained: no comparison shown */
            }
            scarp_report_model_summarise(rm);
        }
    }
    if (nm == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s/models: no trained model of [model] models (run `scarp train` first)", out);
        goto end;
    }
    if ((st = scarp_views_finish(&views))) goto end;
    if (oof)
        for (size_t k = 0; k < (size_t)nm * (size_t)ds.n; k++) oof[k] = oof_n[k] ? oof[k] / oof_n[k] : NAN;
    if (roof)
        for (size_t k = 0; k < (size_t)nm * (size_t)ds.n; k++) roof[k] = roof_n[k] ? roof[k] / roof_n[k] : NAN;
    if ((st = scarp__write_predictions(out, cfg, &ds, split, (const char(*)[32])pnames, nm, main_prob, oof, roof)))
        goto end;
    size_t n;
    if (cfg->config_path[0] && scarp_read_file(cfg->config_path, &config_text, &n)) {
        config_text = NULL;
        scarp_clear_error();
    }
    char sp[4096];
    if (!scarp_path_join(sp, sizeof sp, out, "prepare_summary.txt") && scarp_file_exists(sp) &&
        scarp_read_file(sp, &summary, &n)) {
        summary = NULL;
        scarp_clear_error();
    }
    scarp_report rep = {0};
    rep.config_path = cfg->config_path;
    rep.config_text = config_text;
    rep.data_summary = summary;
    rep.split_method = cfg->split_method;
    rep.compare = compare ? "random" : NULL;
    rep.reference = cfg->report_reference;
    rep.threshold_rule = "max F1 on the validation split";
    rep.seed = cfg->seed;
    rep.folds = ds.folds > 0 ? ds.folds : 1;
    rep.repeats = ds.repeats > 0 ? ds.repeats : 1;
    for (int64_t i = 0; i < ds.n; i++) {
        rep.n_train += split[i] == SCARP_SPLIT_TRAIN;
        rep.n_val += split[i] == SCARP_SPLIT_VAL;
        rep.n_test += split[i] == SCARP_SPLIT_TEST;
        rep.n_test_pos += split[i] == SCARP_SPLIT_TEST && ds.label[i];
    }
    char choice[512] = "";
    { /* [map] model = best: say which and why */
        char bp[4096], *bt = NULL;
        if (!strcmp(cfg->map_model, "best") && !scarp_path_join(bp, sizeof bp, out, "models/best.json") &&
            scarp_file_exists(bp) && !scarp_read_file(bp, &bt, NULL)) {
            cJSON *bj = cJSON_Parse(bt);
            const cJSON *why = bj ? cJSON_GetObjectItem(bj, "reason") : NULL;
            if (cJSON_IsString(why)) snprintf(choice, sizeof choice, "[map] model = best: %s.", why->valuestring);
            cJSON_Delete(bj);
        } else if (strcmp(cfg->map_model, "best")) {
            snprintf(choice, sizeof choice, "[map] model = %s (set in the configuration).", cfg->map_model);
        }
        scarp_free(bt);
        scarp_clear_error();
    }
    rep.map_choice = choice[0] ? choice : NULL;
    rep.n_models = nm;
    rep.models = models;
    rep.views = &views;
    if ((st = scarp_report_write(&rep, out))) goto end;
    if (opts->table) scarp_report_print_table(&rep, opts->table);
    if (opts->table) scarp_views_print(&views, opts->table);
end:
    scarp_views_free(&views);
    scarp__any_free(&am);
    if (models)
        for (int i = 0; i < SCARP_REPORT_MAX_MODELS; i++) scarp_report_model_free(&models[i]);
    scarp_free(models);
    scarp_free(split);
    scarp_free(te);
    scarp_free(P0);
    scarp_free(P);
    scarp_free(S0);
    scarp_free(S);
    scarp_free(T0);
    scarp_free(T);
    scarp_free(yt);
    scarp_free(tprob);
    scarp_free(main_prob);
    scarp_free(oof);
    scarp_free(oof_n);
    scarp_free(roof);
    scarp_free(roof_n);
    scarp_free(config_text);
    scarp_free(summary);
    scarp_dataset_free(&ds);
    return st;
}

scarp_status scarp_evaluate_run(const scarp_config *cfg, const char *out, scarp_progress *progress)
{
    return scarp_evaluate_run_ex(cfg, out, NULL, progress);
}
