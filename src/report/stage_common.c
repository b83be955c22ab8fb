/* stage_common.c — shared by the train and evaluate stages: the run folder's dataset,
 * model file names, the spatial buffer of Roberts et al. (2017, Ecography 40:913–929)
 * applied to spatial splits, and a single handle over network and baseline models. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scarp/alloc.h"
#include "scarp/eval.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "data/samples.h"
#include "stage_internal.h"

scarp_status scarp__stage_dataset(const scarp_config *cfg, const char *out, int prepare, scarp_progress *p,
                                  scarp_dataset *ds)
{
    char path[4096];
    scarp_status st = scarp_path_join(path, sizeof path, out, "dataset.bin");
    if (st) return st;
    scarp_dataset_init(ds);
    if (scarp_file_exists(path)) return scarp_dataset_load(ds, path);
    if (!prepare)
        return scarp_fail(SCARP_ERR_INPUT, "%s: no prepared dataset (run `scarp prepare` or `scarp train` first)", path);
    scarp_info("train: %s is missing: preparing the dataset first", path);
    return scarp_prepare(cfg, out, p, ds, NULL);
}

scarp_status scarp__stage_model_path(char *path, size_t size, const char *out, const char *name, int run,
                                     const scarp_dataset *ds, const char *ext)
{
    char file[256];
    if (run < 0) snprintf(file, sizeof file, "models/%s.%s", name, ext);
    else {
        int folds = ds->folds > 1 ? ds->folds : 1;
        snprintf(file, sizeof file, "models/%s.r%d.f%d.%s", name, run / folds, run % folds, ext);
    }
    return scarp_path_join(path, size, out, file);
}

/* The inner split of an outer fold's training rows (split[i] == TRAIN on entry): stratified
 * by class, by spatial blocks when `spatial` ([split] method = spatial), in the proportions
 * of [split] train : val; seeded per run so every model of one run sees the same inner split. */
static scarp_status inner_split(const scarp_config *cfg, const scarp_dataset *ds, int run, int spatial, uint8_t *split)
{
    int64_t m = 0;
    for (int64_t i = 0; i < ds->n; i++) m += split[i] == SCARP_SPLIT_TRAIN;
    uint8_t *lab = scarp_malloc((size_t)(m ? m : 1)), *sub = scarp_malloc((size_t)(m ? m : 1));
    int32_t *blk = scarp_malloc(sizeof(int32_t) * (size_t)(m ? m : 1));
    scarp_status st = SCARP_OK;
    if (!lab || !sub || !blk) st = SCARP_ERR_NOMEM;
    if (!st) {
        m = 0;
        for (int64_t i = 0; i < ds->n; i++)
            if (split[i] == SCARP_SPLIT_TRAIN) lab[m] = ds->label[i], blk[m] = ds->block[i], m++;
        const double tr = cfg->split_train, va = cfg->split_val > 0 ? cfg->split_val : 0.15;
        const uint64_t stream = 0x494e00ull + (uint64_t)run; /* "IN" */
        if (spatial)
            st = scarp_split_blocks_stratified(lab, blk, m, tr / (tr + va), va / (tr + va), 0, cfg->seed, stream, sub);
        else
            st = scarp_split_random(lab, m, tr / (tr + va), va / (tr + va), 0, cfg->seed, stream, sub);
    }
    if (!st) {
        m = 0;
        for (int64_t i = 0; i < ds->n; i++)
            if (split[i] == SCARP_SPLIT_TRAIN) split[i] = sub[m++] == SCARP_SPLIT_VAL ? SCARP_SPLIT_VAL : SCARP_SPLIT_TRAIN;
    }
    scarp_free(lab);
    scarp_free(sub);
    scarp_free(blk);
    return st;
}

scarp_status scarp__stage_outer_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split,
                                      size_t *excluded)
{
    if (excluded) *excluded = 0;
    scarp_status st;
    if (run < 0) memcpy(split, ds->split, (size_t)ds->n);
    else if ((st = scarp_dataset_run_split(ds, run, split))) return st;
    if (!(cfg->split_buffer > 0)) return SCARP_OK;
    int *role = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *role);
    if (!role) return SCARP_ERR_NOMEM;
    for (int64_t i = 0; i < ds->n; i++) role[i] = split[i];
    /* training and validation rows both keep their distance from the test rows */
    st = scarp_cv_spatial_buffer(ds->x, ds->y, (size_t)ds->n, role, SCARP_SPLIT_TRAIN, SCARP_SPLIT_TEST, 3,
                                 cfg->split_buffer, excluded);
    size_t ev = 0;
    if (!st) st = scarp_cv_spatial_buffer(ds->x, ds->y, (size_t)ds->n, role, SCARP_SPLIT_VAL, SCARP_SPLIT_TEST, 3,
                                          cfg->split_buffer, &ev);
    if (excluded) *excluded += ev;
    for (int64_t i = 0; i < ds->n; i++) split[i] = (uint8_t)role[i];
    scarp_free(role);
    return st;
}

scarp_status scarp__stage_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split,
                                size_t *excluded)
{
    scarp_status st = scarp__stage_outer_split(cfg, ds, run, split, excluded);
    if (st || run < 0 || ds->folds < 2) return st;
    return inner_split(cfg, ds, run, !strcmp(cfg->split_method, "spatial"), split);
}

int scarp__stage_compare(const scarp_config *cfg, const scarp_dataset *ds)
{
    return !strcmp(cfg->split_compare, "random") && !strcmp(cfg->split_method, "spatial") &&
           scarp_dataset_n_runs(ds) > 1;
}

scarp_status scarp__stage_random_folds(const scarp_config *cfg, const scarp_dataset *ds, int repeat, int16_t *fold)
{
    if (ds->folds > 1) /* what prepare deals for method = random: scarp_split_folds without blocks */
        return scarp_split_folds(ds->label, NULL, ds->n, ds->folds, cfg->seed, (uint64_t)repeat, fold);
    uint8_t *s = scarp_malloc((size_t)(ds->n ? ds->n : 1));
    if (!s) return SCARP_ERR_NOMEM;
    scarp_status st = scarp_split_random(ds->label, ds->n, cfg->split_train, cfg->split_val, cfg->split_test, cfg->seed,
                                         (uint64_t)repeat, s);
    for (int64_t i = 0; i < ds->n && !st; i++) fold[i] = s[i];
    scarp_free(s);
    return st;
}

scarp_status scarp__stage_random_split(const scarp_config *cfg, const scarp_dataset *ds, int run, uint8_t *split)
{
    const int folds = ds->folds > 1 ? ds->folds : 1;
    if (run < 0 || run >= scarp_dataset_n_runs(ds))
        return scarp_fail(SCARP_ERR_USAGE, "random-CV run %d out of range (0..%d)", run, scarp_dataset_n_runs(ds) - 1);
    int16_t *fold = scarp_malloc(sizeof(int16_t) * (size_t)(ds->n ? ds->n : 1));
    if (!fold) return SCARP_ERR_NOMEM;
    scarp_status st = scarp__stage_random_folds(cfg, ds, run / folds, fold);
    for (int64_t i = 0; i < ds->n && !st; i++)
        split[i] = folds > 1 ? (fold[i] == run % folds ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN) : (uint8_t)fold[i];
    scarp_free(fold);
    if (st || folds < 2) return st;
    return inner_split(cfg, ds, run, 0, split);
}

scarp_status scarp__stage_model_path_random(char *path, size_t size, const char *out, const char *name, int run,
                                            const scarp_dataset *ds, const char *ext)
{
    char file[256];
    int folds = ds->folds > 1 ? ds->folds : 1;
    snprintf(file, sizeof file, "models/random/%s.r%d.f%d.%s", name, run / folds, run % folds, ext);
    return scarp_path_join(path, size, out, file);
}

scarp_status scarp__stage_rows(const uint8_t *split, int64_t n, int s, size_t **idx, size_t *count)
{
    size_t c = 0;
    for (int64_t i = 0; i < n; i++) c += split[i] == s;
    *idx = scarp_malloc((c ? c : 1) * sizeof **idx);
    if (!*idx) return SCARP_ERR_NOMEM;
    c = 0;
    for (int64_t i = 0; i < n; i++)
        if (split[i] == s) (*idx)[c++] = (size_t)i;
    *count = c;
    return SCARP_OK;
}

int scarp__stage_family(const char *name, scarp_model_kind *kind)
{
    if (scarp_classic_is_name(name)) return 0;
    if (scarp_model_kind_parse(name, kind) == SCARP_OK) return 1;
    scarp_fail(SCARP_ERR_INPUT, "unknown model '%s' (known: cnn_lstm cnn lstm mlp svm tree forest logreg boost)", name);
    return -1;
}

scarp_status scarp__stage_member_path(char *path, size_t size, const char *model_path, int k)
{
    const size_t n = strlen(model_path), ext = strlen(".model");
    if (n < ext || strcmp(model_path + n - ext, ".model"))
        return scarp_fail(SCARP_ERR_USAGE, "%s: a model file name ends in .model", model_path);
    int w = k == 0 ? snprintf(path, size, "%s", model_path)
                   : snprintf(path, size, "%.*s.s%d.model", (int)(n - ext), model_path, k);
    if (w < 0 || (size_t)w >= size) return scarp_fail(SCARP_ERR_USAGE, "%s: path too long", model_path);
    return SCARP_OK;
}

scarp_status scarp__stage_members(const char *out, const char *name, int repeat, int fold, char (*paths)[4096],
                                  int max, int *count)
{
    *count = 0;
    char file[512], base[4096];
    if (repeat < 0) snprintf(file, sizeof file, "models/%s.model", name);
    else snprintf(file, sizeof file, "models/%s.r%d.f%d.model", name, repeat, fold);
    scarp_status st = scarp_path_join(base, sizeof base, out, file);
    if (st) return st;
    for (int k = 0; k < max; k++) {
        if ((st = scarp__stage_member_path(paths[k], sizeof paths[k], base, k))) return st;
        if (!scarp_file_exists(paths[k])) break;
        *count = k + 1;
    }
    return SCARP_OK;
}

/* Loads the seed members NAME.sK.model beside a network's model file (ensemble = N). */
static scarp_status load_members(scarp__any_model *m, const char *path)
{
    char p[4096];
    int n = 0;
    scarp_status st;
    while (!(st = scarp__stage_member_path(p, sizeof p, path, n + 1)) && scarp_file_exists(p)) n++;
    if (st || n == 0) return st;
    if (!(m->extra = scarp_calloc((size_t)n, sizeof *m->extra))) return SCARP_ERR_NOMEM;
    for (int k = 0; k < n; k++) {
        if ((st = scarp__stage_member_path(p, sizeof p, path, k + 1)) || (st = scarp_model_load(p, &m->extra[k], NULL, NULL)))
            return st;
        m->n_extra = k + 1;
        const scarp_model_spec *a = &m->nn.spec, *b = &m->extra[k].spec;
        if (a->kind != b->kind || a->C != b->C || a->H != b->H || a->W != b->W || a->N != b->N || a->T != b->T ||
            a->F != b->F)
            return scarp_fail(SCARP_ERR_INPUT, "%s: seed member of another architecture than %s (retrain)", p, path);
    }
    return SCARP_OK;
}

scarp_status scarp__any_load(scarp__any_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    if (scarp_classic_file_is(path)) {
        m->is_classic = 1;
        return scarp_classic_load(&m->cls, path, NULL, NULL);
    }
    scarp_status st = scarp_model_load(path, &m->nn, NULL, NULL);
    if (st) return st;
    m->kind = m->nn.spec.kind;
    if ((st = load_members(m, path))) scarp__any_free(m);
    return st;
}

scarp_status scarp__any_load_norm(scarp__any_model *m, const char *path, scarp_dataset *ds)
{
    memset(m, 0, sizeof *m);
    void *blob = NULL;
    size_t bytes = 0;
    scarp_status st;
    if (scarp_classic_file_is(path)) {
        m->is_classic = 1;
        st = scarp_classic_load(&m->cls, path, &blob, &bytes);
    } else {
        st = scarp_model_load(path, &m->nn, &blob, &bytes);
        if (!st) m->kind = m->nn.spec.kind;
        /* the fold's seed members too: a cross-validated ensemble is scored as the mean of
         * its members, as the main model is (was: member 0 alone) */
        if (!st) st = load_members(m, path);
    }
    if (!st && ds->raw && blob) {
        scarp_norm norm;
        scarp_norm_init(&norm);
        st = scarp_norm_deserialize(&norm, blob, bytes);
        if (st) st = scarp_fail(st, "%s: %s", path, scarp_last_error());
        else st = scarp_dataset_apply_norm(ds, &norm);
        scarp_norm_free(&norm);
    }
    scarp_free(blob);
    if (st) scarp__any_free(m);
    return st;
}

void scarp__any_free(scarp__any_model *m)
{
    if (!m) return;
    if (m->is_classic) scarp_classic_free(&m->cls);
    else scarp_model_free(&m->nn);
    for (int k = 0; k < m->n_extra; k++) scarp_model_free(&m->extra[k]);
    scarp_free(m->extra);
    memset(m, 0, sizeof *m);
}

void scarp__stage_gather(const scarp_dataset *ds, const size_t *idx, size_t count, float *patches, float *seq,
                         float *tab)
{
    const size_t P = (size_t)ds->C * ds->H * ds->W, S = (size_t)ds->N * ds->T, F = (size_t)ds->F;
    for (size_t k = 0; k < count; k++) {
        size_t i = idx[k];
        if (patches) memcpy(patches + k * P, ds->patches + i * P, P * sizeof(float));
        if (seq && ds->seq && S) memcpy(seq + k * S, ds->seq + i * S, S * sizeof(float));
        if (tab) memcpy(tab + k * F, ds->tab + i * F, F * sizeof(float));
    }
}

scarp_status scarp__any_predict(scarp__any_model *m, const float *patches, const float *seq, const float *tab,
                                size_t n, float *prob)
{
    if (m->is_classic) return scarp_classic_predict(&m->cls, tab, n, prob);
    scarp_status st = scarp_model_predict(&m->nn, patches, seq, tab, (int64_t)n, prob);
    if (st || m->n_extra == 0) return st;
    /* the ensemble mean, members summed in order */
    float *pk = scarp_malloc((n ? n : 1) * sizeof *pk);
    double *acc = scarp_malloc((n ? n : 1) * sizeof *acc);
    if (!pk || !acc) st = SCARP_ERR_NOMEM;
    for (size_t i = 0; i < n && !st; i++) acc[i] = prob[i];
    for (int k = 0; k < m->n_extra && !st; k++) {
        if ((st = scarp_model_predict(&m->extra[k], patches, seq, tab, (int64_t)n, pk))) break;
        for (size_t i = 0; i < n; i++) acc[i] += pk[i];
    }
    for (size_t i = 0; i < n && !st; i++) prob[i] = (float)(acc[i] / (m->n_extra + 1));
    scarp_free(pk);
    scarp_free(acc);
    return st;
}

scarp_status scarp__any_predict_rows(scarp__any_model *m, const scarp_dataset *ds, const size_t *idx, size_t count,
                                     float *prob)
{
    const size_t P = (size_t)ds->C * ds->H * ds->W, S = (size_t)ds->N * ds->T, F = (size_t)ds->F;
    int need_p = !m->is_classic && (m->kind == SCARP_MODEL_CNN_LSTM || m->kind == SCARP_MODEL_CNN);
    int need_s = !m->is_classic && (m->kind == SCARP_MODEL_CNN_LSTM || m->kind == SCARP_MODEL_LSTM) && S;
    int need_t = m->is_classic || m->kind == SCARP_MODEL_MLP;
    float *p = need_p ? scarp_malloc((count ? count : 1) * P * sizeof(float)) : NULL;
    float *s = need_s ? scarp_malloc((count ? count : 1) * S * sizeof(float)) : NULL;
    float *t = need_t ? scarp_malloc((count ? count : 1) * F * sizeof(float)) : NULL;
    scarp_status st = SCARP_OK;
    if ((need_p && !p) || (need_s && !s) || (need_t && !t)) st = SCARP_ERR_NOMEM;
    else {
        scarp__stage_gather(ds, idx, count, p, s, t);
        st = scarp__any_predict(m, p, s, t, count, prob);
    }
    scarp_free(p);
    scarp_free(s);
    scarp_free(t);
    return st;
}

double scarp__history_number(const char *path, const char *key)
{
    char *text = NULL;
    if (!scarp_file_exists(path) || scarp_read_file(path, &text, NULL)) {
        scarp_clear_error();
        return NAN;
    }
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    const cJSON *v = root ? cJSON_GetObjectItem(root, key) : NULL;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(root);
    return x;
}
