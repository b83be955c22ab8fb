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
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/threads.h"

#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_internal.h"

#define MAX_ENSEMBLE 64
#define HIST_BINS (1 << 20)
#define SAMPLE_TARGET 200000
#define TAB_CHUNK 4096

typedef struct {
    int classic;             /* 1: a baseline on tabular rows */
    char path[SCARP_PATH_MAX];
    scarp_model nn;
    scarp_classic cls;
    scarp_dense_net net;
    uint32_t crc;            /* of the file, for the tile plan */
} map_model;

typedef struct {
    const scarp_config *cfg;
    scarp_stack stack;
    scarp_norm norm;
    scarp_temporal *temporal;
    int32_t date;            /* map date (event date: the window ends the day before) */
    int n_models;
    map_model *models;
    scarp_model_kind kind;   /* of the nn models; -1 for classic */
    int needs_cnn, needs_lstm, needs_tab;
    int F;                   /* tabular width C + S */
    scarp_tiling tiling;
    scarp_tile_store *store;
    int bands;
} map_job;

/* ---- model discovery ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Model files: an explicit path (or comma-separated paths), else OUT/models/NAME.model,
 * else the fold/repeat models OUT/models/NAME.*.model (sorted by name) as an ensemble. */
static scarp_status find_models(const char *out_dir, const char *name, char paths[][SCARP_PATH_MAX], int *n)
{
    *n = 0;
    if (strchr(name, '/') || strstr(name, ".model") || strchr(name, ',')) {
        char *buf = scarp_strdup(name);
        if (!buf) return SCARP_ERR_NOMEM;
        scarp_status st = SCARP_OK;
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok && *n < MAX_ENSEMBLE; tok = strtok_r(NULL, ",", &save)) {
            if (strlen(tok) >= SCARP_PATH_MAX) {
                st = scarp_fail(SCARP_ERR_INPUT, "--model: a path of %zu characters is longer than %d", strlen(tok),
                                SCARP_PATH_MAX - 1);
                break;
            }
            if (!scarp_file_exists(tok)) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: model file not found", tok);
                break;
            }
            memcpy(paths[(*n)++], tok, strlen(tok) + 1);
        }
        scarp_free(buf);
        return st;
    }
    char dir[SCARP_PATH_MAX], file[SCARP_PATH_MAX], one[SCARP_PATH_MAX];
    scarp_status st = scarp_path_join(dir, sizeof dir, out_dir, "models");
    if (st) return st;
    int len = snprintf(file, sizeof file, "%s.model", name);
    if (len < 0 || (size_t)len >= sizeof file) return scarp_fail(SCARP_ERR_INPUT, "model name '%.40s...' too long", name);
    if ((st = scarp_path_join(one, sizeof one, dir, file))) return st;
    if (scarp_file_exists(one)) {
        memcpy(paths[0], one, strlen(one) + 1);
        *n = 1;
        return SCARP_OK;
    }
    DIR *d = opendir(dir);
    char *names[MAX_ENSEMBLE];
    int k = 0;
    size_t nl = strlen(name);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) && k < MAX_ENSEMBLE) {
            size_t el = strlen(e->d_name);
            if (el > nl + 7 && !strncmp(e->d_name, name, nl) && e->d_name[nl] == '.' &&
                !strcmp(e->d_name + el - 6, ".model"))
                names[k++] = scarp_strdup(e->d_name);
        }
        closedir(d);
    }
    if (k == 0) return scarp_fail(SCARP_ERR_INPUT, "%s: no model '%s' (train it first: scarp train)", one, name);
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    for (int i = 0; i < k; i++) {
        scarp_status pst = scarp_path_join(paths[i], SCARP_PATH_MAX, dir, names[i]);
        if (pst && !st) st = pst;
        scarp_free(names[i]);
    }
    *n = k;
    return st;
}

static scarp_status load_models(map_job *job, const char *out_dir, const char *name)
{
    static char paths[MAX_ENSEMBLE][SCARP_PATH_MAX];
    int n;
    scarp_status st = find_models(out_dir, name, paths, &n);
    if (st) return st;
    job->models = scarp_calloc((size_t)n, sizeof *job->models);
    if (!job->models) return SCARP_ERR_NOMEM;
    job->kind = (scarp_model_kind)-1;
    for (int i = 0; i < n; i++) {
        map_model *m = &job->models[i];
        memcpy(m->path, paths[i], sizeof m->path);
        char *bytes = NULL;
        size_t nb = 0;
        if ((st = scarp_read_file(m->path, &bytes, &nb))) return st;
        m->crc = scarp_crc32(0, bytes, nb);
        scarp_free(bytes);
        void *blob = NULL;
        size_t blob_bytes = 0;
        m->classic = scarp_classic_file_is(m->path);
        if (m->classic)
            st = scarp_classic_load(&m->cls, m->path, &blob, &blob_bytes);
        else
            st = scarp_model_load(m->path, &m->nn, &blob, &blob_bytes);
        if (st) {
            scarp_free(blob);
            return st;
        }
        job->n_models = i + 1;
        if (i == 0) {
            if (!blob) return scarp_fail(SCARP_ERR_INPUT, "%s: the model file holds no normalisation", m->path);
            st = scarp_norm_deserialize(&job->norm, blob, blob_bytes);
            job->kind = m->classic ? (scarp_model_kind)-1 : m->nn.spec.kind;
        } else if ((int)job->kind != (m->classic ? -1 : (int)m->nn.spec.kind)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: an ensemble must hold models of one kind", m->path);
        }
        scarp_free(blob);
        if (st) return st;
        if (!m->classic && (st = scarp_dense_net_init(&m->net, &m->nn))) return st;
    }
    return SCARP_OK;
}

/* ---- per-thread state ---- */

typedef struct {
    scarp_stack_reader *reader;
    float *raw;          /* (L, Hin, S) */
    uint8_t *valid;      /* (Hin, S) */
    float *xin;          /* (C, Hin, S) normalised */
    scarp_dense_work *dw[MAX_ENSEMBLE];
    scarp_nn_workspace *ws[MAX_ENSEMBLE];
    float *prob;         /* (n_models, th·tw) */
    float *out;          /* (bands, th·tw) */
    int32_t *tidx;       /* (th·tw) */
    int64_t *tcol, *trow;/* per column / row of the tile */
    size_t tcap;         /* capacity in temporal cells of the buffers below */
    float *seq_raw, *seq, *h, *G, *summ, *gprob, *gz2; /* per temporal cell */
    float *tab, *z1, *z2;/* (TAB_CHUNK, F / H1 / H2) */
    double flops;        /* of the dense passes run by this thread */
} thread_ctx;

static void ctx_free(thread_ctx *c, int n_models)
{
    scarp_stack_reader_close(c->reader);
    for (int i = 0; i < n_models; i++) {
        scarp_dense_work_free(c->dw[i]);
        scarp_nn_workspace_free(c->ws[i]);
    }
    scarp_free(c->raw), scarp_free(c->valid), scarp_free(c->xin), scarp_free(c->prob), scarp_free(c->out);
    scarp_free(c->tidx), scarp_free(c->tcol), scarp_free(c->trow);
    scarp_free(c->seq_raw), scarp_free(c->seq), scarp_free(c->h), scarp_free(c->G), scarp_free(c->summ);
    scarp_free(c->gprob), scarp_free(c->gz2), scarp_free(c->tab), scarp_free(c->z1), scarp_free(c->z2);
    memset(c, 0, sizeof *c);
}

static int head_h1(const map_job *job)
{
    int h = 1;
    for (int i = 0; i < job->n_models; i++)
        if (!job->models[i].classic && job->models[i].net.H1 > h) h = job->models[i].net.H1;
    return h;
}
static int head_h2(const map_job *job)
{
    int h = 1;
    for (int i = 0; i < job->n_models; i++)
        if (!job->models[i].classic && job->models[i].net.H2 > h) h = job->models[i].net.H2;
    return h;
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
    const int tw = job->tiling.tile_w, th = job->tiling.tile_h;
    const size_t S = (size_t)tw + SCARP_MAP_HALO, Hin = (size_t)th + SCARP_MAP_HALO, cells = (size_t)tw * th;
    scarp_status st = scarp_stack_reader_open(&c->reader, &job->stack);
    if (st) return st;
    c->raw = scarp_malloc((size_t)job->stack.n_layers * Hin * S * sizeof(float));
    c->valid = scarp_malloc(Hin * S);
    c->xin = scarp_malloc((size_t)job->norm.C * Hin * S * sizeof(float));
    c->prob = scarp_malloc((size_t)job->n_models * cells * sizeof(float));
    c->out = scarp_malloc((size_t)job->bands * cells * sizeof(float));
    c->tidx = scarp_malloc(cells * sizeof(int32_t));
    c->tcol = scarp_malloc((size_t)tw * sizeof(int64_t));
    c->trow = scarp_malloc((size_t)th * sizeof(int64_t));
    if (!c->raw || !c->valid || !c->xin || !c->prob || !c->out || !c->tidx || !c->tcol || !c->trow)
        return SCARP_ERR_NOMEM;
    if (job->needs_tab) {
        c->tab = scarp_malloc((size_t)TAB_CHUNK * job->F * sizeof(float));
        c->z1 = scarp_malloc((size_t)TAB_CHUNK * head_h1(job) * sizeof(float));
        c->z2 = scarp_malloc((size_t)TAB_CHUNK * head_h2(job) * sizeof(float));
        if (!c->tab || !c->z1 || !c->z2) return SCARP_ERR_NOMEM;
    }
    for (int i = 0; i < job->n_models; i++) {
        const map_model *m = &job->models[i];
        if (m->classic) continue;
        if (job->needs_cnn && (st = scarp_dense_work_new(&m->net, tw, th, &c->dw[i]))) return st;
        if (job->needs_lstm && (st = scarp_nn_workspace_new(&m->nn, 256, &c->ws[i]))) return st;
    }
    return ctx_temporal_reserve(c, job, 1);
}

/* Grows the temporal-cell buffers to n cells (only ever grows: after the first tiles the
 * tile loop allocates nothing). */
static scarp_status ctx_temporal_reserve(thread_ctx *c, const map_job *job, size_t n)
{
    if (n <= c->tcap) return SCARP_OK;
    const size_t NT = job->norm.N * job->norm.T > 0 ? (size_t)job->norm.N * job->norm.T : 1;
    const int H1 = head_h1(job), H2 = head_h2(job), S = job->norm.S > 0 ? job->norm.S : 1;
    float **bufs[] = {&c->seq_raw, &c->seq, &c->h, &c->G, &c->summ, &c->gprob, &c->gz2};
    const size_t per[] = {NT, NT, (size_t)lstm_width(job), (size_t)H1, (size_t)S, 1, (size_t)H2};
    for (int i = 0; i < 7; i++) {
        float *p = scarp_realloc(*bufs[i], n * per[i] * sizeof(float));
        if (!p) return SCARP_ERR_NOMEM;
        *bufs[i] = p;
    }
    c->tcap = n;
    return SCARP_OK;
}

/* Temporal cells of a tile: ids tidx (th·tw) into a rectangle of ntc × ntr cells; the raw
 * sequence of each at its centre (the function training uses). */
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
    const size_t NT = (size_t)job->norm.N * job->norm.T;
    for (int64_t i = 0; i < n; i++) {
        double cx, cy;
        scarp_temporal_cell_centre(job->temporal, tc0 + i % ntc, tr0 + i / ntc, &cx, &cy);
        if ((st = scarp_temporal_sequence(job->temporal, cx, cy, job->date, c->seq_raw + (size_t)i * NT))) return st;
        scarp_norm_apply_sequence(&job->norm, c->seq_raw + (size_t)i * NT, c->seq + (size_t)i * NT);
        if (job->norm.S > 0)
            scarp_norm_temporal_summaries(&job->norm, c->seq_raw + (size_t)i * NT, c->summ + (size_t)i * job->norm.S);
    }
    *n_t = n;
    return SCARP_OK;
}

/* One tile: bands × th × tw (mean probability, then the ensemble sd), NaN off the mask. */
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
    scarp_norm_apply_window(&job->norm, c->raw, Hin, S, c->xin);
    int64_t n_t = 1;
    if (job->temporal && (job->needs_lstm || (job->needs_tab && job->norm.S > 0)))
        if ((st = tile_temporal(c, job, col0, row0, tw, th, &n_t))) return st;
    const int C = job->norm.C;
    for (int mi = 0; mi < job->n_models; mi++) {
        const map_model *m = &job->models[mi];
        float *prob = c->prob + (size_t)mi * cells;
        if (!m->classic && (m->nn.spec.kind == SCARP_MODEL_CNN_LSTM || m->nn.spec.kind == SCARP_MODEL_LSTM)) {
            if ((st = scarp_model_lstm_features(&m->nn, c->ws[mi], c->seq, n_t, c->h))) return st;
            scarp_dense_gain(&m->net, c->h, n_t, c->G);
        }
        if (!m->classic && m->nn.spec.kind == SCARP_MODEL_CNN_LSTM) {
            memcpy(scarp_dense_work_input(c->dw[mi]), c->xin, (size_t)C * Hin * S * sizeof(float));
            scarp_dense_tile(&m->net, c->dw[mi], tw, th, c->G, c->tidx, prob);
            c->flops += scarp_dense_flops_per_cell(&m->net, tw, th) * (double)cells;
        } else if (!m->classic && m->nn.spec.kind == SCARP_MODEL_CNN) {
            scarp_dense_gain(&m->net, NULL, 1, c->G);
            memcpy(scarp_dense_work_input(c->dw[mi]), c->xin, (size_t)C * Hin * S * sizeof(float));
            scarp_dense_tile(&m->net, c->dw[mi], tw, th, c->G, NULL, prob);
            c->flops += scarp_dense_flops_per_cell(&m->net, tw, th) * (double)cells;
        } else if (!m->classic && m->nn.spec.kind == SCARP_MODEL_LSTM) {
            /* the whole model per temporal cell, broadcast */
            scarp_dense_head_rows(&m->net, c->G, n_t, c->gprob, c->gz2);
            for (size_t k = 0; k < cells; k++) prob[k] = c->gprob[c->tidx[k]];
        } else {
            /* tabular rows: centre-cell channels, then the temporal summaries */
            const int F = job->F, Sm = job->norm.S;
            for (size_t k0 = 0; k0 < cells; k0 += TAB_CHUNK) {
                size_t nk = cells - k0 < TAB_CHUNK ? cells - k0 : TAB_CHUNK;
                for (size_t k = 0; k < nk; k++) {
                    size_t cell = k0 + k, y = cell / tw, x = cell % tw;
                    float *row = c->tab + k * F;
                    for (int ch = 0; ch < C; ch++)
                        row[ch] = c->xin[((size_t)ch * Hin + y + SCARP_MAP_HALO_BEFORE) * S + x + SCARP_MAP_HALO_BEFORE];
                    if (Sm > 0) memcpy(row + C, c->summ + (size_t)c->tidx[cell] * Sm, (size_t)Sm * sizeof(float));
                }
                if (m->classic) {
                    if ((st = scarp_classic_predict(&m->cls, c->tab, nk, prob + k0))) return st;
                } else {
                    scarp_dense_gain(&m->net, c->tab, (int64_t)nk, c->z1);
                    scarp_dense_head_rows(&m->net, c->z1, (int64_t)nk, prob + k0, c->z2);
                }
            }
        }
    }
    /* ensemble mean and sample sd (n − 1), in model order */
    for (size_t k = 0; k < cells; k++) {
        size_t y = k / tw, x = k % tw;
        if (!c->valid[(y + SCARP_MAP_HALO_BEFORE) * S + x + SCARP_MAP_HALO_BEFORE]) continue;
        double s = 0;
        for (int mi = 0; mi < job->n_models; mi++) s += c->prob[(size_t)mi * cells + k];
        double mean = s / job->n_models;
        c->out[k] = (float)mean;
        if (job->bands > 1) {
            double v = 0;
            for (int mi = 0; mi < job->n_models; mi++) {
                double d = c->prob[(size_t)mi * cells + k] - mean;
                v += d * d;
            }
            c->out[cells + k] = (float)sqrt(v / (job->n_models - 1));
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
    }
    scarp_free(job->models);
    scarp_temporal_free(job->temporal);
    scarp_norm_free(&job->norm);
    scarp_stack_free(&job->stack);
}

static scarp_status job_setup(map_job *job, const scarp_config *cfg, const char *out_dir, const scarp_map_options *o,
                              int rank, char *date_str, char *date_rule, size_t rule_size)
{
    memset(job, 0, sizeof *job);
    job->cfg = cfg;
    scarp_norm_init(&job->norm);
    scarp_stack_init(&job->stack);
    scarp_status st = scarp_stack_open(&job->stack, out_dir);
    if (st) return st;
    const char *name = o && o->model_name ? o->model_name : cfg->map_model;
    if ((st = load_models(job, out_dir, name))) return st;
    if ((st = scarp_norm_check_stack(&job->norm, &job->stack))) return st;
    const scarp_norm *nm = &job->norm;
    job->F = nm->C + nm->S;
    for (int i = 0; i < job->n_models; i++) {
        const map_model *m = &job->models[i];
        if (m->classic) {
            job->needs_tab = 1;
            if (m->cls.n_features != job->F)
                return scarp_fail(SCARP_ERR_INPUT, "%s: %d features, the normalisation gives %d", m->path,
                                  m->cls.n_features, job->F);
            continue;
        }
        const scarp_model_spec *sp = &m->nn.spec;
        if (sp->kind == SCARP_MODEL_CNN_LSTM || sp->kind == SCARP_MODEL_CNN) {
            job->needs_cnn = 1;
            if (sp->C != nm->C)
                return scarp_fail(SCARP_ERR_INPUT, "%s: %d channels, the normalisation gives %d", m->path, sp->C, nm->C);
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
    date_str[0] = '\0';
    date_rule[0] = '\0';
    if (job->needs_lstm || (job->needs_tab && nm->S > 0)) {
        if ((st = scarp_temporal_load(&job->temporal, cfg, &job->stack.grid))) return st;
        if (!job->temporal)
            return scarp_fail(SCARP_ERR_INPUT, "%s: the model needs rainfall/reservoir series but [temporal] gives none",
                              cfg->config_path);
        if (!strcmp(cfg->map_date, "auto") || !cfg->map_date[0]) {
            job->date = scarp_temporal_wettest_window_end(job->temporal);
            if (job->date == SCARP_NO_DATE)
                return scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = auto needs rainfall series", cfg->config_path);
            snprintf(date_rule, rule_size, "auto: end of the wettest %d-day window of the record",
                     scarp_temporal_window(job->temporal));
        } else if (scarp_date_parse(cfg->map_date, &job->date)) {
            return scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = %s: expected auto or yyyy-mm-dd", cfg->config_path,
                              cfg->map_date);
        } else {
            snprintf(date_rule, rule_size, "[map] date");
        }
        scarp_date_format(job->date, date_str);
        int32_t first, last;
        scarp_temporal_range(job->temporal, &first, &last);
        const int N = scarp_temporal_window(job->temporal);
        if (job->date - N < first || job->date - 1 > last) {
            char f[16], l[16];
            scarp_date_format(first, f);
            scarp_date_format(last, l);
            return scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = %s: its %d-day window leaves the series record %s .. %s",
                              cfg->config_path, date_str, N, f, l);
        }
    }
    int tile = o && o->tile > 0 ? o->tile : cfg->map_tile > 0 ? cfg->map_tile : 512;
    int tile_h = o && o->tile_h > 0 ? o->tile_h : tile;
    scarp_tiling_init(&job->tiling, job->stack.grid.width, job->stack.grid.height, tile, tile_h);
    job->bands = job->n_models > 1 ? 2 : 1;
    char key[1024], mapdir[SCARP_PATH_MAX], tiledir[SCARP_PATH_MAX];
    int kn = snprintf(key, sizeof key, "date=%s models=", date_str);
    for (int i = 0; i < job->n_models && kn < (int)sizeof key - 12; i++)
        kn += snprintf(key + kn, sizeof key - (size_t)kn, "%08x,", (unsigned)job->models[i].crc);
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
    int64_t cells = 0;
    double flops = 0;
    scarp_progress_begin(p, "map tiles", n);
    /* dynamic: tiles differ in cost (edge tiles, all-nodata tiles); each tile's result is
     * independent of which thread computes it, so the output is the same for any count. */
#pragma omp parallel num_threads(threads) reduction(+ : cells, flops)
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
    char date_str[16], date_rule[96];
    scarp_status st = job_setup(&job, cfg, out_dir, opts, rank, date_str, date_rule, sizeof date_rule);
    int ok = scarp_mpi_all_ok(st == SCARP_OK);
    if (ok) {
        snprintf(rep->date, sizeof rep->date, "%s", date_str);
        snprintf(rep->date_rule, sizeof rep->date_rule, "%s", date_rule);
        rep->ensemble = job.n_models;
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
        if (!st) st = scarp__map_assemble(&job.stack, job.store, &job.tiling, job.bands, cfg, out_dir, opts, job.models[0].path,
                                          job.n_models, rep);
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
