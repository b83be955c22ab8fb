/* map.c — `scarp map`: a trained model (or an ensemble of fold/repeat models) applied to
 * every valid cell of the grid, tile by tile (DESIGN.md §6). CNN kinds use the exact
 * dense à-trous pass (dense.c); the LSTM branch runs once per temporal-grid cell; MLP and
 * the baselines use tabular rows (centre-cell channels + temporal summaries), exactly as
 * training built them. Tiles are stored crash-safely (tiles.c) and shared among MPI ranks
 * (mpi.c); rank 0 assembles the rasters, the classes (Jenks 1967 / quantile / equal /
 * LSAT-style target / fixed), the per-class statistics and the success/prediction-rate
 * curves (Chung & Fabbri 2003), the quicklook, the QGIS style and summary.json. */
#define _POSIX_C_SOURCE 200809L
#include "scarp/map.h"
#include "scarp/report.h"
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/threads.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_internal.h"

#define MAX_ENSEMBLE 256
#define TAB_CHUNK 4096

typedef struct {
    int classic;             /* 1: a baseline on tabular rows */
    char path[SCARP_PATH_MAX];
    scarp_model nn;
    scarp_classic cls;
    scarp_dense_net net;
    uint32_t crc;            /* of the file, for the tile plan */
    scarp_norm norm;         /* this member's own normalisation (each fold fits its own) */
    void *norm_blob;         /* its serialised form: members with equal blobs share inputs */
    size_t norm_bytes;
    int norm_id;             /* index of the first member with the same normalisation */
} map_model;

typedef struct {
    const scarp_config *cfg;
    scarp_stack stack;
    scarp_temporal *temporal;
    int n_dates;             /* >= 1 */
    int32_t *dates;          /* (n_dates) map dates (the window ends the day before); SCARP_NO_DATE without series */
    int dated;               /* 1: dated maps in OUT/map/dates */
    int n_models;
    map_model *models;
    scarp_model_kind kind;   /* of the nn models; -1 for classic */
    int needs_cnn, needs_lstm, needs_tab, needs_seq;
    int C, N, T, S, F;       /* input widths, the same for every member (checked) */
    scarp_tiling tiling;
    scarp_tile_store *store;
    int bpd;                 /* bands per date: 1, or 2 (mean, sd) for ensembles */
    int bands;               /* n_dates · bpd */
    scarp_dense_net work_net;/* the largest member shapes: one dense work per thread serves all */
} map_job;

/* ---- model discovery ---- */

/* Parses the tail of a member's file name after "NAME.": "rR.fF.model", "rR.fF.sK.model"
 * (fold members, seed K) or "sK.model" (seed members of the main split). Returns 1 for a
 * fold member, 2 for a seed member, 0 otherwise; r, f, s receive the numbers (s = 0 for
 * seed member 0). */
static int member_kind(const char *t, long *r, long *f, long *s)
{
    char *e;
    *r = *f = *s = 0;
    if (t[0] == 'r' && t[1] >= '0' && t[1] <= '9') {
        *r = strtol(t + 1, &e, 10);
        if (strncmp(e, ".f", 2) || e[2] < '0' || e[2] > '9') return 0;
        *f = strtol(e + 2, &e, 10);
        if (!strncmp(e, ".s", 2) && e[2] >= '0' && e[2] <= '9') *s = strtol(e + 2, &e, 10);
        return strcmp(e, ".model") ? 0 : 1;
    }
    if (t[0] == 's' && t[1] >= '0' && t[1] <= '9') {
        *s = strtol(t + 1, &e, 10);
        return strcmp(e, ".model") || *s < 1 ? 0 : 2;
    }
    return 0;
}

typedef struct {
    long key[3];
    char *name;
} member_name;

static int cmp_member(const void *a, const void *b)
{
    const member_name *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x->key[i] != y->key[i]) return x->key[i] < y->key[i] ? -1 : 1;
    return 0;
}

/* `[map] model = best`: the model named by OUT/models/best.json (written by scarp train). */
static scarp_status resolve_best(const char *dir, char *name, size_t size)
{
    char path[SCARP_PATH_MAX];
    scarp_status st = scarp_path_join(path, sizeof path, dir, "best.json");
    if (st) return st;
    if (!scarp_file_exists(path))
        return scarp_fail(SCARP_ERR_INPUT, "%s: not found ([map] model = best needs scarp train to choose one)", path);
    char *text = NULL;
    if ((st = scarp_read_file(path, &text, NULL))) return st;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    const cJSON *m = root ? cJSON_GetObjectItemCaseSensitive(root, "model") : NULL;
    if (!cJSON_IsString(m) || !m->valuestring[0] || strlen(m->valuestring) >= size || strchr(m->valuestring, '/'))
        st = scarp_fail(SCARP_ERR_INPUT, "%s: expected {\"model\": \"NAME\", ...}", path);
    else
        snprintf(name, size, "%s", m->valuestring);
    cJSON_Delete(root);
    return st;
}

/* Model files: an explicit path (or comma-separated paths); else, in OUT/models, by
 * `ensemble` (auto | on | off):
 *   fold members NAME.rR.fF.model and NAME.rR.fF.sK.model (cross-validation: issue 18)
 *     when they exist and ensemble != off, sorted by (R, F, K);
 *   else NAME.model with its seed members NAME.sK.model (K = 1..) when ensemble != off;
 *   else NAME.model alone. ensemble = on without fold or seed members is an error. */
static scarp_status find_models(const char *out_dir, const char *name_in, const char *ensemble,
                                char (*paths)[SCARP_PATH_MAX], int *n, char *resolved, size_t rsize)
{
    *n = 0;
    snprintf(resolved, rsize, "%s", name_in);
    if (strchr(name_in, '/') || strstr(name_in, ".model") || strchr(name_in, ',')) {
        char *buf = scarp_strdup(name_in);
        if (!buf) return SCARP_ERR_NOMEM;
        scarp_status st = SCARP_OK;
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
            if (*n >= MAX_ENSEMBLE)
                st = scarp_fail(SCARP_ERR_INPUT, "--model: at most %d model files", MAX_ENSEMBLE);
            else if (strlen(tok) >= SCARP_PATH_MAX)
                st = scarp_fail(SCARP_ERR_INPUT, "--model: a path of %zu characters is longer than %d", strlen(tok),
                                SCARP_PATH_MAX - 1);
            else if (!scarp_file_exists(tok))
                st = scarp_fail(SCARP_ERR_INPUT, "%s: model file not found", tok);
            else
                memcpy(paths[(*n)++], tok, strlen(tok) + 1);
        }
        scarp_free(buf);
        return st;
    }
    char dir[SCARP_PATH_MAX], file[128], one[SCARP_PATH_MAX], name[64];
    scarp_status st = scarp_path_join(dir, sizeof dir, out_dir, "models");
    if (st) return st;
    snprintf(name, sizeof name, "%s", name_in);
    if (!strcmp(name, "best") && (st = resolve_best(dir, name, sizeof name))) return st;
    snprintf(resolved, rsize, "%s", name);
    if (strlen(name_in) >= sizeof name) return scarp_fail(SCARP_ERR_INPUT, "model name '%.40s...' too long", name_in);
    snprintf(file, sizeof file, "%s.model", name);
    if ((st = scarp_path_join(one, sizeof one, dir, file))) return st;
    const int have_main = scarp_file_exists(one);
    member_name *fold = scarp_calloc(MAX_ENSEMBLE, sizeof *fold), *seed = scarp_calloc(MAX_ENSEMBLE, sizeof *seed);
    if (!fold || !seed) {
        scarp_free(fold), scarp_free(seed);
        return SCARP_ERR_NOMEM;
    }
    int nf = 0, nsd = 0;
    const size_t nl = strlen(name);
    if (strcmp(ensemble, "off")) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)) && !st) {
            long r, f, k;
            if (strncmp(e->d_name, name, nl) || e->d_name[nl] != '.') continue;
            int kind = member_kind(e->d_name + nl + 1, &r, &f, &k);
            member_name *list = kind == 1 ? fold : kind == 2 ? seed : NULL;
            int *cnt = kind == 1 ? &nf : &nsd;
            if (!list) continue;
            if (*cnt >= MAX_ENSEMBLE) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: more than %d members of '%s'", dir, MAX_ENSEMBLE, name);
                break;
            }
            list[*cnt].key[0] = r, list[*cnt].key[1] = f, list[*cnt].key[2] = k;
            list[(*cnt)++].name = scarp_strdup(e->d_name);
        }
        if (d) closedir(d);
    }
    if (!st) {
        member_name *use = NULL;
        int nu = 0;
        if (nf > 0) {
            use = fold, nu = nf;
        } else if (have_main) {
            memcpy(paths[0], one, strlen(one) + 1);
            *n = 1;
            if (nsd + 1 > MAX_ENSEMBLE) st = scarp_fail(SCARP_ERR_INPUT, "%s: too many seed members of '%s'", dir, name);
            use = seed, nu = nsd;
        }
        if (!st && !strcmp(ensemble, "on") && nf == 0 && nsd == 0)
            st = scarp_fail(SCARP_ERR_INPUT, "%s: [map] ensemble = on but no fold (%s.rR.fF.model) or seed (%s.sK.model) "
                                             "models of '%s' (train with [split] folds > 1 or [model] ensemble > 1)",
                            dir, name, name, name);
        else if (!st && nf == 0 && !have_main)
            st = scarp_fail(SCARP_ERR_INPUT, "%s: no model '%s' (train it first: scarp train)", one, name);
        if (!st && use) {
            qsort(use, (size_t)nu, sizeof *use, cmp_member);
            for (int i = 0; i < nu && !st; i++)
                if (!(st = scarp_path_join(paths[*n], SCARP_PATH_MAX, dir, use[i].name))) (*n)++;
        }
    }
    for (int i = 0; i < nf; i++) scarp_free(fold[i].name);
    for (int i = 0; i < nsd; i++) scarp_free(seed[i].name);
    scarp_free(fold), scarp_free(seed);
    return st;
}

static scarp_status load_models(map_job *job, const char *out_dir, const char *name, const char *ensemble,
                                char *resolved, size_t rsize)
{
    char(*paths)[SCARP_PATH_MAX] = scarp_malloc((size_t)MAX_ENSEMBLE * SCARP_PATH_MAX);
    if (!paths) return SCARP_ERR_NOMEM;
    int n;
    scarp_status st = find_models(out_dir, name, ensemble, paths, &n, resolved, rsize);
    if (!st && !(job->models = scarp_calloc((size_t)n, sizeof *job->models))) st = SCARP_ERR_NOMEM;
    job->kind = (scarp_model_kind)-1;
    for (int i = 0; i < n && !st; i++) {
        map_model *m = &job->models[i];
        memcpy(m->path, paths[i], sizeof m->path);
        scarp_norm_init(&m->norm);
        job->n_models = i + 1;
        char *bytes = NULL;
        size_t nb = 0;
        if ((st = scarp_read_file(m->path, &bytes, &nb))) break;
        m->crc = scarp_crc32(0, bytes, nb);
        scarp_free(bytes);
        m->classic = scarp_classic_file_is(m->path);
        if (m->classic)
            st = scarp_classic_load(&m->cls, m->path, &m->norm_blob, &m->norm_bytes);
        else
            st = scarp_model_load(m->path, &m->nn, &m->norm_blob, &m->norm_bytes);
        if (st) break;
        if (!m->norm_blob) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: the model file holds no normalisation", m->path);
            break;
        }
        if ((st = scarp_norm_deserialize(&m->norm, m->norm_blob, m->norm_bytes))) break;
        m->norm_id = i;
        for (int j = 0; j < i; j++)
            if (job->models[j].norm_bytes == m->norm_bytes && !memcmp(job->models[j].norm_blob, m->norm_blob, m->norm_bytes)) {
                m->norm_id = j;
                break;
            }
        if (i == 0)
            job->kind = m->classic ? (scarp_model_kind)-1 : m->nn.spec.kind;
        else if ((int)job->kind != (m->classic ? -1 : (int)m->nn.spec.kind))
            st = scarp_fail(SCARP_ERR_INPUT, "%s: an ensemble must hold models of one kind", m->path);
        if (!st && !m->classic) st = scarp_dense_net_init(&m->net, &m->nn);
    }
    scarp_free(paths);
    return st;
}

scarp_status scarp_map_model_files(const char *run_dir, const char *name, const char *ensemble,
                                   char (**paths)[SCARP_PATH_MAX], int *n, char *resolved, size_t rsize)
{
    *paths = NULL;
    *n = 0;
    char best[64];
    scarp_status st;
    if (!strcmp(name, "best")) {
        if ((st = scarp_best_model(run_dir, best, sizeof best))) return st;
        name = best;
    }
    if (!(*paths = scarp_malloc((size_t)MAX_ENSEMBLE * SCARP_PATH_MAX))) return SCARP_ERR_NOMEM;
    if ((st = find_models(run_dir, name, ensemble, *paths, n, resolved, rsize))) {
        scarp_free(*paths);
        *paths = NULL;
        *n = 0;
    }
    return st;
}

/* ---- per-thread state ---- */

typedef struct {
    scarp_stack_reader *reader;
    float *raw;          /* (L, Hin, S) */
    uint8_t *valid;      /* (Hin, S) */
    float *xin;          /* (C, Hin, S) normalised with the norm of member cur_norm */
    int cur_norm;        /* whose normalisation xin / seq / summ hold (-1: none yet) */
    scarp_dense_work *dw;         /* one for every member (sized for the largest) */
    scarp_nn_workspace **ws;      /* (n_models) LSTM workspaces */
    float *prob;         /* (n_dates, th·tw): one member's probabilities */
    double *acc;         /* (n_dates, 2, th·tw) ensemble mean and M2 (Welford), or NULL */
    float *out;          /* (bands, th·tw) */
    int32_t *tidx;       /* (th·tw) */
    int64_t *tcol, *trow;/* per column / row of the tile */
    size_t tcap;         /* capacity in temporal cells of the buffers below */
    float *seq_raw, *seq;/* (n_dates, n_t, N·T) */
    float *summ;         /* (n_dates, n_t, S) */
    float *G;            /* (n_dates, n_t, H1) */
    float *h, *gprob, *gz2; /* per temporal cell, one date */
    float *tab, *z1, *z2;/* (TAB_CHUNK, F / H1 / H2) */
    double flops;        /* of the dense passes run by this thread */
    int64_t cnn_passes, lstm_sequences;
} thread_ctx;

static void ctx_free(thread_ctx *c, int n_models)
{
    scarp_stack_reader_close(c->reader);
    scarp_dense_work_free(c->dw);
    if (c->ws)
        for (int i = 0; i < n_models; i++) scarp_nn_workspace_free(c->ws[i]);
    scarp_free(c->ws);
    scarp_free(c->raw), scarp_free(c->valid), scarp_free(c->xin), scarp_free(c->prob), scarp_free(c->acc);
    scarp_free(c->out), scarp_free(c->tidx), scarp_free(c->tcol), scarp_free(c->trow);
    scarp_free(c->seq_raw), scarp_free(c->seq), scarp_free(c->h), scarp_free(c->G), scarp_free(c->summ);
    scarp_free(c->gprob), scarp_free(c->gz2), scarp_free(c->tab), scarp_free(c->z1), scarp_free(c->z2);
    memset(c, 0, sizeof *c);
}

/* Widest LSTM feature vector of the models (the per-temporal-cell h buffer). */
static int lstm_width(const map_job *job)
{
    int h = 1;
    for (int i = 0; i < job->n_models; i++)
        if (!job->models[i].classic && job->models[i].nn.lstm_features > h) h = job->models[i].nn.lstm_features;
    return h;
}

static scarp_status ctx_temporal_reserve(thread_ctx *c, const map_job *job, size_t n);

static scarp_status ctx_init(thread_ctx *c, const map_job *job)
{
    memset(c, 0, sizeof *c);
    c->cur_norm = -1;
    const int tw = job->tiling.tile_w, th = job->tiling.tile_h;
    const size_t S = (size_t)tw + SCARP_MAP_HALO, Hin = (size_t)th + SCARP_MAP_HALO, cells = (size_t)tw * th;
    scarp_status st = scarp_stack_reader_open(&c->reader, &job->stack);
    if (st) return st;
    c->raw = scarp_malloc((size_t)job->stack.n_layers * Hin * S * sizeof(float));
    c->valid = scarp_malloc(Hin * S);
    c->xin = scarp_malloc((size_t)(job->C > 0 ? job->C : 1) * Hin * S * sizeof(float));
    c->prob = scarp_malloc((size_t)job->n_dates * cells * sizeof(float));
    c->out = scarp_malloc((size_t)job->bands * cells * sizeof(float));
    c->tidx = scarp_malloc(cells * sizeof(int32_t));
    c->tcol = scarp_malloc((size_t)tw * sizeof(int64_t));
    c->trow = scarp_malloc((size_t)th * sizeof(int64_t));
    c->ws = scarp_calloc((size_t)job->n_models, sizeof *c->ws);
    if (!c->raw || !c->valid || !c->xin || !c->prob || !c->out || !c->tidx || !c->tcol || !c->trow || !c->ws)
        return SCARP_ERR_NOMEM;
    if (job->n_models > 1 && !(c->acc = scarp_malloc((size_t)job->n_dates * 2 * cells * sizeof(double))))
        return SCARP_ERR_NOMEM;
    if (job->needs_tab) {
        c->tab = scarp_malloc((size_t)TAB_CHUNK * job->F * sizeof(float));
        c->z1 = scarp_malloc((size_t)TAB_CHUNK * job->work_net.H1 * sizeof(float));
        c->z2 = scarp_malloc((size_t)TAB_CHUNK * job->work_net.H2 * sizeof(float));
        if (!c->tab || !c->z1 || !c->z2) return SCARP_ERR_NOMEM;
    }
    if (job->needs_cnn && (st = scarp_dense_work_new(&job->work_net, tw, th, &c->dw))) return st;
    for (int i = 0; i < job->n_models; i++) {
        const map_model *m = &job->models[i];
        if (m->classic) continue;
        if (job->needs_lstm && (st = scarp_nn_workspace_new(&m->nn, 256, &c->ws[i]))) return st;
    }
    return ctx_temporal_reserve(c, job, 1);
}

/* Grows the temporal-cell buffers to n cells (only ever grows: after the first tiles the
 * tile loop allocates nothing). */
static scarp_status ctx_temporal_reserve(thread_ctx *c, const map_job *job, size_t n)
{
    if (n <= c->tcap) return SCARP_OK;
    const size_t NT = job->N * job->T > 0 ? (size_t)job->N * job->T : 1, D = (size_t)job->n_dates;
    const size_t H1 = (size_t)job->work_net.H1, H2 = (size_t)job->work_net.H2, S = job->S > 0 ? (size_t)job->S : 1;
    float **bufs[] = {&c->seq_raw, &c->seq, &c->summ, &c->G, &c->h, &c->gprob, &c->gz2};
    const size_t per[] = {D * NT, D * NT, D * S, D * H1, (size_t)lstm_width(job), 1, H2};
    for (int i = 0; i < 7; i++) {
        float *p = scarp_realloc(*bufs[i], n * per[i] * sizeof(float));
        if (!p) return SCARP_ERR_NOMEM;
        *bufs[i] = p;
    }
    c->tcap = n;
    return SCARP_OK;
}

/* Temporal cells of a tile: ids tidx (th·tw) into a rectangle of ntc × ntr cells; the raw
 * sequence of each at its centre (the function training uses), for every date. */
static scarp_status tile_temporal(thread_ctx *c, const map_job *job, int64_t col0, int64_t row0, int tw, int th,
                                  int64_t *n_t)
{
    const scarp_grid *g = &job->stack.grid;
    int64_t tc0 = INT64_MAX, tc1 = INT64_MIN, tr0 = INT64_MAX, tr1 = INT64_MIN, tc, tr;
    double ymid = scarp_grid_y(g, (double)row0), xmid = scarp_grid_x(g, (double)col0);
    for (int x = 0; x < tw; x++) {
        scarp_temporal_cell_of(job->temporal, scarp_grid_x(g, (double)(col0 + x)), ymid, &tc, &tr);
        c->tcol[x] = tc;
        if (tc < tc0) tc0 = tc;
        if (tc > tc1) tc1 = tc;
    }
    for (int y = 0; y < th; y++) {
        scarp_temporal_cell_of(job->temporal, xmid, scarp_grid_y(g, (double)(row0 + y)), &tc, &tr);
        c->trow[y] = tr;
        if (tr < tr0) tr0 = tr;
        if (tr > tr1) tr1 = tr;
    }
    const int64_t ntc = tc1 - tc0 + 1, ntr = tr1 - tr0 + 1, n = ntc * ntr;
    scarp_status st = ctx_temporal_reserve(c, job, (size_t)n);
    if (st) return st;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            c->tidx[(size_t)y * tw + x] = (int32_t)((c->trow[y] - tr0) * ntc + (c->tcol[x] - tc0));
    const size_t NT = (size_t)job->N * job->T;
    for (int d = 0; d < job->n_dates; d++)
        for (int64_t i = 0; i < n; i++) {
            double cx, cy;
            scarp_temporal_cell_centre(job->temporal, tc0 + i % ntc, tr0 + i / ntc, &cx, &cy);
            if ((st = scarp_temporal_sequence(job->temporal, cx, cy, job->dates[d],
                                              c->seq_raw + ((size_t)d * n + i) * NT)))
                return st;
        }
    *n_t = n;
    return SCARP_OK;
}

/* Normalises the shared raw inputs of the tile with member m's own normalisation: the
 * window (C, Hin, S), and per date and temporal cell the sequence and its summaries. */
static void tile_normalise(thread_ctx *c, const map_job *job, const map_model *m, int Hin, int S, int64_t n_t)
{
    if (c->cur_norm == m->norm_id) return;
    if (job->needs_cnn || job->needs_tab) scarp_norm_apply_window(&m->norm, c->raw, Hin, S, c->xin);
    const size_t NT = (size_t)job->N * job->T, D = (size_t)job->n_dates;
    if (job->needs_seq)
        for (size_t i = 0; i < D * (size_t)n_t; i++) {
            if (job->needs_lstm) scarp_norm_apply_sequence(&m->norm, c->seq_raw + i * NT, c->seq + i * NT);
            if (job->needs_tab && job->S > 0)
                scarp_norm_temporal_summaries(&m->norm, c->seq_raw + i * NT, c->summ + i * job->S);
        }
    c->cur_norm = m->norm_id;
}

/* One member on the tile: prob (n_dates, th·tw). */
static scarp_status member_tile(thread_ctx *c, const map_job *job, const map_model *m, int mi, int tw, int th,
                                int64_t n_t)
{
    const int S = tw + SCARP_MAP_HALO, Hin = th + SCARP_MAP_HALO, C = job->C, D = job->n_dates;
    const size_t cells = (size_t)tw * th, NT = (size_t)job->N * job->T;
    scarp_status st;
    const int kind = m->classic ? -1 : (int)m->nn.spec.kind;
    const size_t H1 = (size_t)m->net.H1;
    if (kind == SCARP_MODEL_CNN_LSTM || kind == SCARP_MODEL_LSTM) {
        /* the temporal branch: once per temporal cell and date */
        for (int d = 0; d < D; d++) {
            if ((st = scarp_model_lstm_features(&m->nn, c->ws[mi], c->seq + (size_t)d * n_t * NT, n_t, c->h))) return st;
            scarp_dense_gain(&m->net, c->h, n_t, c->G + (size_t)d * n_t * H1);
            c->lstm_sequences += n_t;
        }
    }
    if (kind == SCARP_MODEL_CNN_LSTM || kind == SCARP_MODEL_CNN) {
        /* the CNN branch: once per tile for every date */
        if (kind == SCARP_MODEL_CNN) scarp_dense_gain(&m->net, NULL, 1, c->G);
        memcpy(scarp_dense_work_input(c->dw), c->xin, (size_t)C * Hin * S * sizeof(float));
        if (kind == SCARP_MODEL_CNN_LSTM && D > 1 &&
            (st = scarp_dense_work_reserve_dates(c->dw, &m->net, (int)n_t, D)))
            return st;
        scarp_dense_tile_dates(&m->net, c->dw, tw, th, c->G, (size_t)n_t * H1, kind == SCARP_MODEL_CNN ? 1 : D,
                               kind == SCARP_MODEL_CNN ? NULL : c->tidx, c->prob);
        c->cnn_passes++;
        c->flops += scarp_dense_flops_per_cell(&m->net, tw, th) * (double)cells;
        return SCARP_OK;
    }
    for (int d = 0; d < D; d++) {
        float *prob = c->prob + (size_t)d * cells;
        if (kind == SCARP_MODEL_LSTM) {
            /* the whole model per temporal cell, broadcast */
            scarp_dense_head_rows(&m->net, c->G + (size_t)d * n_t * H1, n_t, c->gprob, c->gz2);
            for (size_t k = 0; k < cells; k++) prob[k] = c->gprob[c->tidx[k]];
            continue;
        }
        /* tabular rows: centre-cell channels, then the temporal summaries of the date */
        const int F = job->F, Sm = job->S;
        const float *summ = c->summ + (size_t)d * n_t * (Sm > 0 ? Sm : 1);
        for (size_t k0 = 0; k0 < cells; k0 += TAB_CHUNK) {
            size_t nk = cells - k0 < TAB_CHUNK ? cells - k0 : TAB_CHUNK;
            for (size_t k = 0; k < nk; k++) {
                size_t cell = k0 + k, y = cell / tw, x = cell % tw;
                float *row = c->tab + k * F;
                for (int ch = 0; ch < C; ch++)
                    row[ch] = c->xin[((size_t)ch * Hin + y + SCARP_MAP_HALO_BEFORE) * S + x + SCARP_MAP_HALO_BEFORE];
                if (Sm > 0) memcpy(row + C, summ + (size_t)c->tidx[cell] * Sm, (size_t)Sm * sizeof(float));
            }
            if (m->classic) {
                if ((st = scarp_classic_predict(&m->cls, c->tab, nk, prob + k0))) return st;
            } else {
                scarp_dense_gain(&m->net, c->tab, (int64_t)nk, c->z1);
                scarp_dense_head_rows(&m->net, c->z1, (int64_t)nk, prob + k0, c->z2);
            }
        }
    }
    return SCARP_OK;
}

/* One tile: per date, the mean probability (then the ensemble sd), NaN off the mask.
 * The raw window and the raw sequences are read once for every member and date. */
static scarp_status compute_tile(thread_ctx *c, const map_job *job, int64_t i)
{
    int64_t col0, row0;
    int tw, th;
    scarp_tiling_tile(&job->tiling, i, &col0, &row0, &tw, &th);
    const int S = tw + SCARP_MAP_HALO, Hin = th + SCARP_MAP_HALO;
    const size_t cells = (size_t)tw * th;
    scarp_status st = scarp_stack_read(c->reader, col0 - SCARP_MAP_HALO_BEFORE, row0 - SCARP_MAP_HALO_BEFORE, S, Hin,
                                       c->raw, c->valid);
    if (st) return st;
    int64_t nvalid = 0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            nvalid += c->valid[(size_t)(y + SCARP_MAP_HALO_BEFORE) * S + x + SCARP_MAP_HALO_BEFORE];
    for (size_t k = 0; k < (size_t)job->bands * cells; k++) c->out[k] = NAN;
    if (nvalid == 0) return SCARP_OK;
    c->cur_norm = -1;
    int64_t n_t = 1;
    if (job->needs_seq && (st = tile_temporal(c, job, col0, row0, tw, th, &n_t))) return st;
    const int D = job->n_dates, nm = job->n_models;
    for (int mi = 0; mi < nm; mi++) {
        const map_model *m = &job->models[mi];
        tile_normalise(c, job, m, Hin, S, n_t);
        if ((st = member_tile(c, job, m, mi, tw, th, n_t))) return st;
        if (nm == 1) break;
        /* ensemble mean and M2 in member order (Welford 1962, Technometrics 4:419) */
        for (int d = 0; d < D; d++) {
            const float *p = c->prob + (size_t)d * cells;
            double *mean = c->acc + (size_t)d * 2 * cells, *m2 = mean + cells;
            if (mi == 0)
                for (size_t k = 0; k < cells; k++) mean[k] = p[k], m2[k] = 0;
            else
                for (size_t k = 0; k < cells; k++) {
                    double delta = p[k] - mean[k];
                    mean[k] += delta / (mi + 1);
                    m2[k] += delta * (p[k] - mean[k]);
                }
        }
    }
    for (int d = 0; d < D; d++)
        for (size_t k = 0; k < cells; k++) {
            size_t y = k / tw, x = k % tw;
            if (!c->valid[(y + SCARP_MAP_HALO_BEFORE) * S + x + SCARP_MAP_HALO_BEFORE]) continue;
            float *o = c->out + (size_t)d * job->bpd * cells;
            if (nm == 1) {
                o[k] = c->prob[(size_t)d * cells + k];
            } else {
                const double *mean = c->acc + (size_t)d * 2 * cells;
                o[k] = (float)mean[k];
                o[cells + k] = (float)sqrt(mean[cells + k] / (nm - 1)); /* sample sd (n − 1) */
            }
        }
    return SCARP_OK;
}

/* ---- setup and teardown ---- */

static void job_free(map_job *job)
{
    scarp_tile_store_close(job->store);
    for (int i = 0; i < job->n_models; i++) {
        map_model *m = &job->models[i];
        if (m->classic)
            scarp_classic_free(&m->cls);
        else {
            scarp_model_free(&m->nn);
            scarp_dense_net_free(&m->net);
        }
        scarp_norm_free(&m->norm);
        scarp_free(m->norm_blob);
    }
    scarp_free(job->models);
    scarp_free(job->dates);
    scarp_temporal_free(job->temporal);
    scarp_stack_free(&job->stack);
}

scarp_status scarp_map_dates_parse(const char *text, int32_t *dates, int max, int *n)
{
    *n = 0;
    char buf[64], *dots = NULL, *slash = NULL;
    if (strlen(text) >= sizeof buf) return scarp_fail(SCARP_ERR_INPUT, "dates '%s': expected D1..D2[/step]", text);
    snprintf(buf, sizeof buf, "%s", text);
    int32_t d1, d2;
    long step = 1;
    if ((dots = strstr(buf, ".."))) {
        *dots = '\0';
        if ((slash = strchr(dots + 2, '/'))) {
            char *e;
            *slash = '\0';
            step = strtol(slash + 1, &e, 10);
            if (e == slash + 1 || *e || step < 1 || step > 36600)
                return scarp_fail(SCARP_ERR_INPUT, "dates '%s': the step after '/' must be a whole number of days >= 1",
                                  text);
        }
        if (scarp_date_parse(buf, &d1) || scarp_date_parse(dots + 2, &d2) || strlen(buf) != 10 || strlen(dots + 2) != 10)
            return scarp_fail(SCARP_ERR_INPUT, "dates '%s': expected yyyy-mm-dd..yyyy-mm-dd[/step]", text);
        if (d2 < d1) return scarp_fail(SCARP_ERR_INPUT, "dates '%s': the last date is before the first", text);
    } else {
        if (strlen(buf) != 10 || scarp_date_parse(buf, &d1))
            return scarp_fail(SCARP_ERR_INPUT, "date '%s': expected yyyy-mm-dd or yyyy-mm-dd..yyyy-mm-dd[/step]", text);
        d2 = d1;
    }
    const long count = (d2 - d1) / step + 1;
    if (count > max)
        return scarp_fail(SCARP_ERR_INPUT, "dates '%s': %ld dates, at most %d in one run", text, count, max);
    for (long k = 0; k < count; k++) dates[k] = (int32_t)(d1 + k * step);
    *n = (int)count;
    return SCARP_OK;
}

/* The map dates: opts->dates / [map] dates (a range: dated maps) or [map] date (auto =
 * end of the wettest window, or one day); each date's window must lie in the record. */
static scarp_status setup_dates(map_job *job, const scarp_config *cfg, const scarp_map_options *o, char *date_str,
                                char *date_rule, size_t rule_size)
{
    const char *range = o && o->dates ? o->dates : cfg->map_dates[0] ? cfg->map_dates : NULL;
    const char *src = o && o->dates ? "--date" : "[map] dates";
    job->dated = range && (strstr(range, "..") || !(o && o->dates));
    job->dates = scarp_malloc(SCARP_MAP_MAX_DATES * sizeof *job->dates);
    if (!job->dates) return SCARP_ERR_NOMEM;
    job->n_dates = 1;
    job->dates[0] = SCARP_NO_DATE;
    date_str[0] = date_rule[0] = '\0';
    scarp_status st;
    if (!job->needs_seq) {
        if (job->dated || (o && o->dates))
            return scarp_fail(SCARP_ERR_INPUT, "%s: %s = %s: the model uses no rainfall/reservoir series, so every date "
                                               "gives the same map",
                              cfg->config_path, src, range);
        return SCARP_OK;
    }
    if ((st = scarp_temporal_load(&job->temporal, cfg, &job->stack.grid))) return st;
    if (!job->temporal)
        return scarp_fail(SCARP_ERR_INPUT, "%s: the model needs rainfall/reservoir series but [temporal] gives none",
                          cfg->config_path);
    if (range) {
        if ((st = scarp_map_dates_parse(range, job->dates, SCARP_MAP_MAX_DATES, &job->n_dates))) {
            char why[256];
            snprintf(why, sizeof why, "%s", scarp_last_error());
            return scarp_fail(SCARP_ERR_INPUT, "%s: %s: %s", cfg->config_path, src, why);
        }
        snprintf(date_rule, rule_size, "%s", src);
    } else if (!strcmp(cfg->map_date, "auto") || !cfg->map_date[0]) {
        job->dates[0] = scarp_temporal_wettest_window_end(job->temporal);
        if (job->dates[0] == SCARP_NO_DATE)
            return scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = auto needs rainfall series", cfg->config_path);
        snprintf(date_rule, rule_size, "auto: end of the wettest %d-day window of the record",
                 scarp_temporal_window(job->temporal));
    } else if (scarp_date_parse(cfg->map_date, &job->dates[0])) {
        return scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = %s: expected auto or yyyy-mm-dd", cfg->config_path,
                          cfg->map_date);
    } else {
        snprintf(date_rule, rule_size, "[map] date");
    }
    scarp_date_format(job->dates[0], date_str);
    int32_t first, last;
    scarp_temporal_range(job->temporal, &first, &last);
    const int N = scarp_temporal_window(job->temporal);
    for (int d = 0; d < job->n_dates; d++)
        if (job->dates[d] - N < first || job->dates[d] - 1 > last) {
            char f[16], l[16], ds[16];
            scarp_date_format(first, f);
            scarp_date_format(last, l);
            scarp_date_format(job->dates[d], ds);
            return scarp_fail(SCARP_ERR_INPUT, "%s: %s = %s: its %d-day window leaves the series record %s .. %s",
                              cfg->config_path, range ? src : "[map] date", ds, N, f, l);
        }
    return SCARP_OK;
}

static scarp_status job_setup(map_job *job, const scarp_config *cfg, const char *out_dir, const scarp_map_options *o,
                              int rank, char *date_str, char *date_rule, size_t rule_size, char *resolved, size_t rsize)
{
    memset(job, 0, sizeof *job);
    job->cfg = cfg;
    scarp_stack_init(&job->stack);
    scarp_status st = scarp_stack_open(&job->stack, out_dir);
    if (st) return st;
    if (o && o->valid_path) {
        snprintf(job->stack.valid_path, sizeof job->stack.valid_path, "%s", o->valid_path);
        job->stack.valid_cells = o->valid_cells;
    }
    const char *models_dir = o && o->models_dir ? o->models_dir : out_dir;
    const char *name = o && o->model_name ? o->model_name : cfg->map_model;
    const char *ens = o && o->ensemble ? o->ensemble : cfg->map_ensemble[0] ? cfg->map_ensemble : "auto";
    if (strcmp(ens, "auto") && strcmp(ens, "on") && strcmp(ens, "off"))
        return scarp_fail(SCARP_ERR_INPUT, "ensemble '%s': expected auto, on or off", ens);
    char best[64];
    if (!strcmp(name, "best")) { /* the model with the highest mean inner-validation AUC */
        if ((st = scarp_best_model(models_dir, best, sizeof best))) return st;
        name = best;
    }
    if ((st = load_models(job, models_dir, name, ens, resolved, rsize))) return st;
    const scarp_norm *n0 = &job->models[0].norm;
    job->C = n0->C, job->N = n0->N, job->T = n0->T, job->S = n0->S, job->F = n0->C + n0->S;
    job->work_net.H1 = job->work_net.H2 = 1;
    for (int i = 0; i < job->n_models; i++) {
        const map_model *m = &job->models[i];
        const scarp_norm *nm = &m->norm;
        if (o && o->match_by_name) {
            if ((st = scarp_norm_remap(&job->models[i].norm, &job->stack))) return scarp_fail(st, "%s: %s", m->path, scarp_last_error());
        } else if ((st = scarp_norm_check_stack(nm, &job->stack))) {
            return st;
        }
        if (nm->C != job->C || nm->N != job->N || nm->T != job->T || nm->S != job->S)
            return scarp_fail(SCARP_ERR_INPUT, "%s: inputs %d channels, %d×%d sequences, %d summaries; %s has %d, %d×%d, %d",
                              m->path, nm->C, nm->N, nm->T, nm->S, job->models[0].path, job->C, job->N, job->T, job->S);
        if (m->classic) {
            job->needs_tab = 1;
            if (m->cls.n_features != job->F)
                return scarp_fail(SCARP_ERR_INPUT, "%s: %d features, the normalisation gives %d", m->path,
                                  m->cls.n_features, job->F);
            continue;
        }
        const scarp_model_spec *sp = &m->nn.spec;
        scarp_dense_net *wn = &job->work_net;
        if (m->net.H1 > wn->H1) wn->H1 = m->net.H1;
        if (m->net.H2 > wn->H2) wn->H2 = m->net.H2;
        if (sp->kind == SCARP_MODEL_CNN_LSTM || sp->kind == SCARP_MODEL_CNN) {
            job->needs_cnn = 1;
            if (sp->C != nm->C)
                return scarp_fail(SCARP_ERR_INPUT, "%s: %d channels, the normalisation gives %d", m->path, sp->C, nm->C);
            if (m->net.C > wn->C) wn->C = m->net.C;
            for (int l = 0; l < 3; l++)
                if (m->net.F[l] > wn->F[l]) wn->F[l] = m->net.F[l];
        }
        if (sp->kind == SCARP_MODEL_CNN_LSTM || sp->kind == SCARP_MODEL_LSTM) {
            job->needs_lstm = 1;
            if (sp->N != nm->N || sp->T != nm->T || nm->T == 0)
                return scarp_fail(SCARP_ERR_INPUT, "%s: sequences %d×%d, the normalisation gives %d×%d", m->path, sp->N,
                                  sp->T, nm->N, nm->T);
        }
        if (sp->kind == SCARP_MODEL_MLP) {
            job->needs_tab = 1;
            if (sp->F != job->F)
                return scarp_fail(SCARP_ERR_INPUT, "%s: %d features, the normalisation gives %d", m->path, sp->F, job->F);
        }
    }
    job->needs_seq = job->needs_lstm || (job->needs_tab && job->S > 0);
    if ((st = setup_dates(job, cfg, o, date_str, date_rule, rule_size))) return st;
    int tile = o && o->tile > 0 ? o->tile : cfg->map_tile > 0 ? cfg->map_tile : 512;
    int tile_h = o && o->tile_h > 0 ? o->tile_h : tile;
    scarp_tiling_init(&job->tiling, job->stack.grid.width, job->stack.grid.height, tile, tile_h);
    job->bpd = job->n_models > 1 ? 2 : 1;
    job->bands = job->n_dates * job->bpd;
    /* the plan: dates, members (file checksums), dated or not */
    uint32_t dcrc = scarp_crc32(0, job->dates, (size_t)job->n_dates * sizeof *job->dates), mcrc = 0;
    for (int i = 0; i < job->n_models; i++) mcrc = scarp_crc32(mcrc, &job->models[i].crc, sizeof job->models[i].crc);
    char key[256], mapdir[SCARP_PATH_MAX], tiledir[SCARP_PATH_MAX];
    snprintf(key, sizeof key, "date=%s dates=%d:%08x:%d models=%d:%08x", date_str, job->n_dates, (unsigned)dcrc,
             job->dated, job->n_models, (unsigned)mcrc);
    if (o && o->valid_path) /* another mask maps other cells: tiles of the plain stack do not serve */
        snprintf(key + strlen(key), sizeof key - strlen(key), " valid=%lld", (long long)o->valid_cells);
    if ((st = scarp_path_join(mapdir, sizeof mapdir, out_dir, "map")) ||
        (st = scarp_path_join(tiledir, sizeof tiledir, mapdir, "tiles")))
        return st;
    if (rank == 0 && (st = scarp_mkdir_p(mapdir))) return st;
    /* rank 0 opens first (clearing a stale store), then the others */
    if (rank == 0) st = scarp_tile_store_open(&job->store, tiledir, &job->tiling, job->bands, key, rank);
    scarp_mpi_barrier();
    if (rank != 0) st = scarp_tile_store_open(&job->store, tiledir, &job->tiling, job->bands, key, rank);
    return st;
}

/* ---- compute phase: this rank's tiles, threads over tiles ---- */

static scarp_status compute_tiles(map_job *job, int rank, int size, scarp_progress *p, scarp_map_report *rep)
{
    int64_t *mine = scarp_malloc((size_t)(job->tiling.n / size + 1) * sizeof *mine), n = 0, skipped = 0;
    if (!mine) return SCARP_ERR_NOMEM;
    for (int64_t i = rank; i < job->tiling.n; i += size) {
        if (scarp_tile_store_done(job->store, i))
            skipped++;
        else
            mine[n++] = i;
    }
    if (skipped) scarp_info("map: %lld of %lld tiles already done (resuming)", (long long)skipped, (long long)(n + skipped));
    int threads = scarp_threads_get();
    if (threads > n) threads = n > 0 ? (int)n : 1;
    scarp_status first = SCARP_OK;
    int stop = 0;
    double t0 = scarp_now();
    int64_t cells = 0, cnn_passes = 0, lstm_sequences = 0, units = 0, settled = 0, listed = 0, units2 = 0, settled2 = 0;
    double flops = 0;
    scarp_progress_begin(p, "map tiles", n);
    /* dynamic: tiles differ in cost (edge tiles, all-nodata tiles); each tile's result is
     * independent of which thread computes it, so the output is the same for any count. */
#pragma omp parallel num_threads(threads) reduction(+ : cells, flops, cnn_passes, lstm_sequences, units, settled, listed, units2, settled2)
    {
        thread_ctx ctx;
        scarp_status st = ctx_init(&ctx, job);
        if (st) {
#pragma omp critical(scarp_map_err)
            if (!first) first = st, stop = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < n; k++) {
            int halt;
#pragma omp atomic read
            halt = stop;
            if (halt) continue;
            int64_t c0, r0;
            int w, h;
            scarp_tiling_tile(&job->tiling, mine[k], &c0, &r0, &w, &h);
            st = compute_tile(&ctx, job, mine[k]);
            if (!st) st = scarp_tile_store_put(job->store, mine[k], ctx.out);
            if (!st) {
                cells += (int64_t)w * h;
                st = scarp_progress_step(p, 1);
            }
            if (st) {
#pragma omp critical(scarp_map_err)
                {
                    if (!first) first = st;
                    stop = 1;
                }
            }
        }
        flops += ctx.flops;
        if (ctx.dw) {
            scarp_dense_head_stats hs = scarp_dense_work_stats(ctx.dw);
            units += hs.units, settled += hs.settled, listed += hs.listed;
            units2 += hs.units2, settled2 += hs.settled2;
        }
        cnn_passes += ctx.cnn_passes;
        lstm_sequences += ctx.lstm_sequences;
        ctx_free(&ctx, job->n_models);
    }
    scarp_progress_end(p);
    double sec = scarp_now() - t0;
    if (rep) {
        rep->tiles = n;
        rep->tiles_skipped = skipped;
        rep->seconds_compute = sec;
        rep->cells_per_second = sec > 0 ? (double)cells / sec : 0;
        rep->dense_gflops = sec > 0 ? flops / sec * 1e-9 : 0;
        rep->cnn_passes = cnn_passes;
        rep->lstm_sequences = lstm_sequences;
        rep->head_settled_share = units ? (double)settled / (double)units : 0;
        rep->head_listed_share = units ? (double)listed / (double)units : 0;
        rep->head2_settled_share = units2 ? (double)settled2 / (double)units2 : 0;
    }
    scarp_free(mine);
    return first;
}

/* ---- public entry points ---- */

scarp_status scarp_map_run_ex(const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                              scarp_progress *progress, scarp_map_report *rep)
{
    int rank, size;
    scarp_mpi_start(&rank, &size);
    scarp_map_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    map_job job;
    char date_str[16], date_rule[96], resolved[64];
    scarp_status st =
        job_setup(&job, cfg, out_dir, opts, rank, date_str, date_rule, sizeof date_rule, resolved, sizeof resolved);
    int ok = scarp_mpi_all_ok(st == SCARP_OK);
    if (ok) {
        snprintf(rep->date, sizeof rep->date, "%s", date_str);
        snprintf(rep->date_rule, sizeof rep->date_rule, "%s", date_rule);
        rep->ensemble = job.n_models;
        rep->n_dates = job.dated ? job.n_dates : 0;
        st = compute_tiles(&job, rank, size, rank == 0 ? progress : NULL, rep);
        ok = scarp_mpi_all_ok(st == SCARP_OK);
    }
    if (!ok && !st) st = scarp_fail(SCARP_ERR_INTERNAL, "map: another MPI rank failed (see its message)");
    if (!st && rank == 0) {
        double t0 = scarp_now();
        if (!(st = scarp_tile_store_refresh(job.store)) && scarp_tile_store_count_done(job.store) != job.tiling.n)
            st = scarp_fail(SCARP_ERR_INTERNAL, "map: %lld of %lld tiles missing after the compute phase",
                            (long long)(job.tiling.n - scarp_tile_store_count_done(job.store)),
                            (long long)job.tiling.n);
        if (!st && job.dated)
            st = scarp__map_assemble_dates(&job.stack, job.store, &job.tiling, job.bpd, job.dates, job.n_dates, cfg,
                                           out_dir, opts, resolved, job.n_models, rep);
        else if (!st)
            st = scarp__map_assemble(&job.stack, job.store, &job.tiling, job.bands, cfg, out_dir, opts,
                                     job.n_models > 1 ? resolved : job.models[0].path, job.n_models, rep);
        rep->seconds_assemble = scarp_now() - t0;
        if (!st && !(opts && opts->keep_tiles)) scarp_tile_store_remove(job.store);
    }
    job_free(&job);
    scarp_mpi_finish();
    return st;
}

scarp_status scarp_map_run(const scarp_config *cfg, const char *out_dir, const char *model_name, scarp_progress *progress)
{
    scarp_map_options o = {0};
    o.model_name = model_name;
    return scarp_map_run_ex(cfg, out_dir, &o, progress, NULL);
}
