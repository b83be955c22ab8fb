/* model.c — the study's hybrid CNN–LSTM and its variants (DESIGN.md §4): parameter slabs
 * with Keras initialisers (Glorot & Bengio 2010; orthogonal: Saxe, McClelland & Ganguli
 * 2014), the workspace, the forward and backward passes of the whole model, and inference.
 * Model and branch layout: see include/scarp/nn.h. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

const char *scarp_model_kind_name(scarp_model_kind kind)
{
    switch (kind) {
    case SCARP_MODEL_CNN_LSTM: return "cnn_lstm";
    case SCARP_MODEL_CNN: return "cnn";
    case SCARP_MODEL_LSTM: return "lstm";
    case SCARP_MODEL_MLP: return "mlp";
    }
    return "unknown";
}

scarp_status scarp_model_kind_parse(const char *name, scarp_model_kind *kind)
{
    for (int k = 0; k <= SCARP_MODEL_MLP; k++)
        if (name && strcmp(name, scarp_model_kind_name((scarp_model_kind)k)) == 0) {
            *kind = (scarp_model_kind)k;
            return SCARP_OK;
        }
    return scarp_fail(SCARP_ERR_INPUT, "unknown network model '%s' (expected cnn_lstm, cnn, lstm or mlp)",
                      name ? name : "(null)");
}

void scarp_model_spec_default(scarp_model_spec *s, scarp_model_kind kind)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->C = 22; s->H = 22; s->W = 22;
    s->N = 30; s->T = 2; s->F = 0;
    s->filters[0] = 32; s->filters[1] = 64; s->filters[2] = 128;
    s->lstm_units[0] = 128; s->lstm_units[1] = 64;
    s->dense[0] = 128; s->dense[1] = 64;
    s->dropout = 0.2f; s->recurrent_dropout = 0.2f; s->l2 = 0.01f;
}

static int has_cnn(const scarp_model_spec *s) { return s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN; }
static int has_lstm(const scarp_model_spec *s) { return s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM; }

/* Upper bound of every size of a spec: far above any landslide model, low enough that no
 * product of sizes in the layout overflows (2^16 · 4 · 2^16 < 2^31). */
#define SPEC_MAX_SIZE 65536

scarp_status scarp_model_spec_check(const scarp_model_spec *s)
{
    if (s->kind < SCARP_MODEL_CNN_LSTM || s->kind > SCARP_MODEL_MLP)
        return scarp_fail(SCARP_ERR_USAGE, "model spec: unknown kind %d", (int)s->kind);
    const int sizes[] = {s->C, s->H, s->W, s->N, s->T, s->F, s->filters[0], s->filters[1], s->filters[2],
                         s->lstm_units[0], s->lstm_units[1], s->dense[0], s->dense[1]};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i] > SPEC_MAX_SIZE)
            return scarp_fail(SCARP_ERR_USAGE, "model spec: a size of %d exceeds the limit %d", sizes[i], SPEC_MAX_SIZE);
    if (s->H > 1024 || s->W > 1024) /* keeps filters · (H/8) · (W/8) inside an int */
        return scarp_fail(SCARP_ERR_USAGE, "model spec: patch %d x %d is larger than 1024 x 1024", s->H, s->W);
    if (has_cnn(s)) {
        if (s->C < 1) return scarp_fail(SCARP_ERR_USAGE, "model spec: C = %d channels (need >= 1)", s->C);
        if (s->H < 22 || s->W < 22)
            return scarp_fail(SCARP_ERR_USAGE, "model spec: patch %d x %d is too small for three conv 3x3 + pool 2x2 blocks (need >= 22 x 22)", s->H, s->W);
        for (int k = 0; k < 3; k++)
            if (s->filters[k] < 1) return scarp_fail(SCARP_ERR_USAGE, "model spec: filters[%d] = %d", k, s->filters[k]);
    }
    if (has_lstm(s)) {
        if (s->N < 1 || s->T < 1)
            return scarp_fail(SCARP_ERR_USAGE, "model spec: sequence %d steps x %d variables (need >= 1 each)", s->N, s->T);
        for (int l = 0; l < 2; l++)
            if (s->lstm_units[l] < 1) return scarp_fail(SCARP_ERR_USAGE, "model spec: lstm_units[%d] = %d", l, s->lstm_units[l]);
    }
    if (s->kind == SCARP_MODEL_MLP && s->F < 1)
        return scarp_fail(SCARP_ERR_USAGE, "model spec: MLP needs F >= 1 tabular features (F = %d)", s->F);
    for (int d = 0; d < 2; d++)
        if (s->dense[d] < 1) return scarp_fail(SCARP_ERR_USAGE, "model spec: dense[%d] = %d", d, s->dense[d]);
    if (!(s->dropout >= 0 && s->dropout < 1) || !(s->recurrent_dropout >= 0 && s->recurrent_dropout < 1))
        return scarp_fail(SCARP_ERR_USAGE, "model spec: dropout %g / recurrent_dropout %g must be in [0, 1)",
                          s->dropout, s->recurrent_dropout);
    if (!(s->l2 >= 0)) return scarp_fail(SCARP_ERR_USAGE, "model spec: l2 = %g must be >= 0", s->l2);
    return SCARP_OK;
}

/* Spatial sizes of the CNN blocks. */
static void cnn_sizes(const scarp_model_spec *s, int hin[3], int win[3], int ho[3], int wo[3],
                      int hp[3], int wp[3])
{
    int h = s->H, w = s->W;
    for (int k = 0; k < 3; k++) {
        hin[k] = h; win[k] = w;
        ho[k] = h - 2; wo[k] = w - 2;
        hp[k] = ho[k] / 2; wp[k] = wo[k] / 2;
        h = hp[k]; w = wp[k];
    }
}

/* Lays out the tensors of a slab; returns its size in floats (base may be NULL to count). */
static size_t layout(const scarp_model_spec *s, float *base, scarp_model_tensors *t, int *cnn_feat,
                     int *lstm_feat, int *head_in)
{
    size_t off = 0;
    memset(t, 0, sizeof *t);
#define TAKE(ptr, n) do { (ptr) = base ? base + off : NULL; off += (size_t)(n); } while (0)
    int hin[3], win[3], ho[3], wo[3], hp[3], wp[3];
    *cnn_feat = *lstm_feat = 0;
    if (has_cnn(s)) {
        cnn_sizes(s, hin, win, ho, wo, hp, wp);
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            const int co = s->filters[k];
            TAKE(t->conv_w[k], (size_t)co * ci * 9);
            TAKE(t->conv_b[k], co);
            TAKE(t->bn_gamma[k], co);
            TAKE(t->bn_beta[k], co);
            ci = co;
        }
        *cnn_feat = s->filters[2] * hp[2] * wp[2];
    }
    if (has_lstm(s)) {
        int in = s->T;
        for (int l = 0; l < 2; l++) {
            const int u = s->lstm_units[l];
            TAKE(t->lstm_wx[l], (size_t)in * 4 * u);
            TAKE(t->lstm_wh[l], (size_t)u * 4 * u);
            TAKE(t->lstm_b[l], 4 * u);
            in = u;
        }
        *lstm_feat = s->lstm_units[1];
    }
    int in = s->kind == SCARP_MODEL_MLP ? s->F : *cnn_feat + *lstm_feat;
    *head_in = in;
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        TAKE(t->dense_w[d], (size_t)in * outs[d]);
        TAKE(t->dense_b[d], outs[d]);
        in = outs[d];
    }
#undef TAKE
    return off;
}

static void glorot_uniform(float *w, size_t n, double fan_in, double fan_out, uint64_t seed, uint64_t id)
{
    scarp_rng r;
    scarp_rng_stream(&r, seed, id);
    const double lim = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * scarp_rng_uniform(&r) - 1.0) * lim);
}

/* Keras Orthogonal for a (U, 4U) kernel: QR of a (4U, U) normal matrix with sign(diag R)
 * fixed positive (modified Gram–Schmidt gives exactly that), transposed: orthonormal rows. */
static scarp_status orthogonal(float *w, int U, uint64_t seed, uint64_t id)
{
    const int rows = 4 * U;
    double *a = scarp_malloc(sizeof(double) * (size_t)rows * U); /* column-major: col j at a + j·rows */
    if (!a) return SCARP_ERR_NOMEM;
    scarp_rng r;
    scarp_rng_stream(&r, seed, id);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < U; j++) a[(size_t)j * rows + i] = scarp_rng_normal(&r);
    for (int j = 0; j < U; j++) {
        double *cj = a + (size_t)j * rows;
        for (int pass = 0; pass < 2; pass++) /* re-orthogonalise once for accuracy */
            for (int k = 0; k < j; k++) {
                const double *ck = a + (size_t)k * rows;
                double d = 0;
                for (int i = 0; i < rows; i++) d += ck[i] * cj[i];
                for (int i = 0; i < rows; i++) cj[i] -= d * ck[i];
            }
        double nrm = 0;
        for (int i = 0; i < rows; i++) nrm += cj[i] * cj[i];
        nrm = sqrt(nrm);
        for (int i = 0; i < rows; i++) cj[i] /= nrm;
    }
    for (int u = 0; u < U; u++)
        for (int i = 0; i < rows; i++) w[(size_t)u * rows + i] = (float)a[(size_t)u * rows + i];
    scarp_free(a);
    return SCARP_OK;
}

scarp_status nn_model_counts(const scarp_model_spec *spec, size_t *n_params, size_t *n_stats)
{
    scarp_status st = scarp_model_spec_check(spec);
    if (st) return st;
    scarp_model_tensors tmp;
    int a, b, c;
    *n_params = layout(spec, NULL, &tmp, &a, &b, &c);
    *n_stats = has_cnn(spec) ? 2 * (size_t)(spec->filters[0] + spec->filters[1] + spec->filters[2]) : 0;
    return SCARP_OK;
}

scarp_status nn_model_alloc(scarp_model *m, const scarp_model_spec *spec)
{
    memset(m, 0, sizeof *m);
    scarp_status st = scarp_model_spec_check(spec);
    if (st) return st;
    m->spec = *spec;
    scarp_model_tensors tmp;
    m->n_params = layout(spec, NULL, &tmp, &m->cnn_features, &m->lstm_features, &m->head_in);
    m->n_stats = has_cnn(spec) ? 2 * (size_t)(spec->filters[0] + spec->filters[1] + spec->filters[2]) : 0;
    m->params = scarp_calloc(m->n_params, sizeof(float));
    m->grads = scarp_calloc(m->n_params, sizeof(float));
    m->adam_m = scarp_calloc(m->n_params, sizeof(float));
    m->adam_v = scarp_calloc(m->n_params, sizeof(float));
    m->stats = scarp_calloc(m->n_stats ? m->n_stats : 1, sizeof(float));
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v || !m->stats) {
        scarp_model_free(m);
        return SCARP_ERR_NOMEM;
    }
    int a, b, c;
    layout(spec, m->params, &m->p, &a, &b, &c);
    layout(spec, m->grads, &m->g, &a, &b, &c);
    if (has_cnn(spec)) {
        size_t off = 0;
        for (int k = 0; k < 3; k++) {
            m->bn_mean[k] = m->stats + off; off += spec->filters[k];
            m->bn_var[k] = m->stats + off; off += spec->filters[k];
        }
    }
    return SCARP_OK;
}

scarp_status scarp_model_init(scarp_model *m, const scarp_model_spec *spec, uint64_t seed)
{
    scarp_status st = nn_model_alloc(m, spec);
    if (st) return st;
    const scarp_model_spec *s = &m->spec;
    if (has_cnn(s)) {
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            const int co = s->filters[k];
            glorot_uniform(m->p.conv_w[k], (size_t)co * ci * 9, ci * 9.0, co * 9.0, seed, 100 + k);
            for (int j = 0; j < co; j++) { m->p.bn_gamma[k][j] = 1.0f; m->bn_var[k][j] = 1.0f; }
            ci = co;
        }
    }
    if (has_lstm(s)) {
        int in = s->T;
        for (int l = 0; l < 2; l++) {
            const int u = s->lstm_units[l];
            glorot_uniform(m->p.lstm_wx[l], (size_t)in * 4 * u, in, 4.0 * u, seed, 200 + l);
            if ((st = orthogonal(m->p.lstm_wh[l], u, seed, 210 + l))) { scarp_model_free(m); return st; }
            for (int j = u; j < 2 * u; j++) m->p.lstm_b[l][j] = 1.0f; /* unit_forget_bias */
            in = u;
        }
    }
    int in = m->head_in;
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        glorot_uniform(m->p.dense_w[d], (size_t)in * outs[d], in, outs[d], seed, 300 + d);
        in = outs[d];
    }
    return SCARP_OK;
}

void scarp_model_free(scarp_model *m)
{
    if (!m) return;
    scarp_free(m->params);
    scarp_free(m->grads);
    scarp_free(m->adam_m);
    scarp_free(m->adam_v);
    scarp_free(m->stats);
    scarp_nn_workspace_free(m->ws);
    memset(m, 0, sizeof *m);
}

scarp_status scarp_model_copy(scarp_model *dst, const scarp_model *src)
{
    scarp_status st = nn_model_alloc(dst, &src->spec);
    if (st) return st;
    memcpy(dst->params, src->params, sizeof(float) * src->n_params);
    memcpy(dst->grads, src->grads, sizeof(float) * src->n_params);
    memcpy(dst->adam_m, src->adam_m, sizeof(float) * src->n_params);
    memcpy(dst->adam_v, src->adam_v, sizeof(float) * src->n_params);
    if (src->n_stats) memcpy(dst->stats, src->stats, sizeof(float) * src->n_stats);
    dst->adam_t = src->adam_t;
    return SCARP_OK;
}

double scarp_model_l2_penalty(const scarp_model *m)
{
    const scarp_model_spec *s = &m->spec;
    double pen = 0;
    if (has_cnn(s)) {
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            pen += scarp_l2_penalty(m->p.conv_w[k], (size_t)s->filters[k] * ci * 9, s->l2);
            ci = s->filters[k];
        }
    }
    int in = m->head_in;
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        pen += scarp_l2_penalty(m->p.dense_w[d], (size_t)in * outs[d], s->l2);
        in = outs[d];
    }
    return pen;
}

static void l2_grads(scarp_model *m)
{
    const scarp_model_spec *s = &m->spec;
    if (s->l2 == 0) return;
    if (has_cnn(s)) {
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            scarp_l2_backward(m->g.conv_w[k], m->p.conv_w[k], (size_t)s->filters[k] * ci * 9, s->l2);
            ci = s->filters[k];
        }
    }
    int in = m->head_in;
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        scarp_l2_backward(m->g.dense_w[d], m->p.dense_w[d], (size_t)in * outs[d], s->l2);
        in = outs[d];
    }
}

double scarp_model_flops(const scarp_model_spec *s)
{
    double f = 0;
    if (has_cnn(s)) {
        int hin[3], win[3], ho[3], wo[3], hp[3], wp[3];
        cnn_sizes(s, hin, win, ho, wo, hp, wp);
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            f += 2.0 * ho[k] * wo[k] * s->filters[k] * 9.0 * ci;
            ci = s->filters[k];
        }
    }
    int head_in = 0;
    if (has_lstm(s)) {
        int in = s->T;
        for (int l = 0; l < 2; l++) {
            const double u = s->lstm_units[l];
            f += 2.0 * s->N * 4 * u * (in + u);
            in = s->lstm_units[l];
        }
    }
    if (s->kind == SCARP_MODEL_MLP) head_in = s->F;
    else {
        if (has_cnn(s)) {
            int hin[3], win[3], ho[3], wo[3], hp[3], wp[3];
            cnn_sizes(s, hin, win, ho, wo, hp, wp);
            head_in += s->filters[2] * hp[2] * wp[2];
        }
        if (has_lstm(s)) head_in += s->lstm_units[1];
    }
    f += 2.0 * ((double)head_in * s->dense[0] + (double)s->dense[0] * s->dense[1] + s->dense[1]);
    return f;
}

/* ---- workspace ------------------------------------------------------------------------- */

scarp_status nn_workspace_create(const scarp_model *m, int64_t max_batch, int with_grads,
                                 scarp_nn_workspace **out)
{
    *out = NULL;
    if (max_batch < 1) return scarp_fail(SCARP_ERR_USAGE, "nn workspace: max_batch %lld < 1", (long long)max_batch);
    scarp_nn_workspace *ws = scarp_calloc(1, sizeof *ws);
    if (!ws) return SCARP_ERR_NOMEM;
    const scarp_model_spec *s = &m->spec;
    const int64_t B = max_batch;
    ws->max_batch = B;
    ws->with_grads = with_grads;
    /* two passes: count, then carve */
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0, ioff = 0;
        float *base = ws->slab;
        int32_t *ibase = ws->islab;
#define F(ptr, n) do { (ptr) = base ? base + off : NULL; off += ((size_t)(n) + 15) & ~(size_t)15; } while (0)
#define I(ptr, n) do { (ptr) = ibase ? ibase + ioff : NULL; ioff += ((size_t)(n) + 15) & ~(size_t)15; } while (0)
        if (has_cnn(s)) {
            cnn_sizes(s, ws->hin, ws->win, ws->ho, ws->wo, ws->hp, ws->wp);
            F(ws->x[0], B * s->C * s->H * s->W);
            int ci = s->C;
            size_t maxcol = 0;
            for (int k = 0; k < 3; k++) {
                const int co = s->filters[k];
                const size_t ncol = (size_t)ci * 9 * B * ws->ho[k] * ws->wo[k];
                const size_t ny = (size_t)co * B * ws->ho[k] * ws->wo[k];
                const size_t np = (size_t)co * B * ws->hp[k] * ws->wp[k];
                F(ws->col[k], ncol);
                F(ws->y[k], ny);
                F(ws->pool[k], np);
                I(ws->arg[k], np);
                F(ws->x[k + 1], np);
                F(ws->bn_mu[k], co);
                F(ws->bn_rs[k], co);
                if (with_grads) {
                    F(ws->dy[k], ny);
                    F(ws->dpool[k], np);
                    F(ws->dx[k + 1], np);
                    if (k > 0) { F(ws->dx[k], (size_t)ci * B * ws->hin[k] * ws->win[k]); }
                    if (k > 0 && ncol > maxcol) maxcol = ncol;
                }
                ci = co;
            }
            if (with_grads) F(ws->dcol, maxcol);
        }
        if (has_lstm(s)) {
            F(ws->xs, B * s->N * s->T);
            int umax = 0;
            for (int l = 0; l < 2; l++) {
                const int u = s->lstm_units[l];
                if (u > umax) umax = u;
                F(ws->lh[l], (size_t)(s->N + 1) * B * u);
                F(ws->lc[l], (size_t)(s->N + 1) * B * u);
                F(ws->lg[l], (size_t)s->N * B * 4 * u);
                F(ws->lhm[l], (size_t)s->N * B * u);
                F(ws->lmask[l], (size_t)B * u);
                if (with_grads) F(ws->ldh[l], (size_t)s->N * B * u);
            }
            if (with_grads) {
                F(ws->ldz, (size_t)s->N * B * 4 * umax);
                F(ws->lscratch, (size_t)2 * B * umax);
            }
        }
        F(ws->hin_buf, B * m->head_in);
        for (int d = 0; d < 2; d++) {
            F(ws->a[d], B * s->dense[d]);
            F(ws->m[d], B * s->dense[d]);
            F(ws->r[d], B * s->dense[d]);
            if (with_grads) { F(ws->da[d], B * s->dense[d]); F(ws->dr[d], B * s->dense[d]); }
        }
        F(ws->logit, B);
        F(ws->labels, B);
        if (with_grads) { F(ws->dhin, B * m->head_in); F(ws->dlogit, B); }
#undef F
#undef I
        if (pass == 0) {
            ws->slab = scarp_malloc_aligned(sizeof(float) * (off ? off : 1));
            ws->islab = scarp_malloc_aligned(sizeof(int32_t) * (ioff ? ioff : 1));
            if (!ws->slab || !ws->islab) { scarp_nn_workspace_free(ws); return SCARP_ERR_NOMEM; }
            memset(ws->slab, 0, sizeof(float) * (off ? off : 1));
        }
    }
    *out = ws;
    return SCARP_OK;
}

scarp_status scarp_nn_workspace_new(const scarp_model *m, int64_t max_batch, scarp_nn_workspace **ws)
{
    return nn_workspace_create(m, max_batch, 0, ws);
}

void scarp_nn_workspace_free(scarp_nn_workspace *ws)
{
    if (!ws) return;
    scarp_free_aligned(ws->slab);
    scarp_free_aligned(ws->islab);
    scarp_free(ws);
}

/* ---- forward / backward ----------------------------------------------------------------- */

static inline size_t row_of(const size_t *idx, size_t base, int64_t i) { return idx ? idx[i] : base + (size_t)i; }

void nn_gather(const scarp_model *m, scarp_nn_workspace *ws, const scarp_nn_data *d,
               const size_t *idx, size_t base, int64_t B)
{
    const scarp_model_spec *s = &m->spec;
    if (has_cnn(s)) {
        const int64_t HW = (int64_t)s->H * s->W;
        /* (B,C,H,W) rows → (C,B,H,W) */
#pragma omp parallel for schedule(static) if (B * s->C * HW > (1 << 15))
        for (int c = 0; c < s->C; c++)
            for (int64_t i = 0; i < B; i++)
                memcpy(ws->x[0] + ((int64_t)c * B + i) * HW,
                       d->patches + ((int64_t)row_of(idx, base, i) * s->C + c) * HW, sizeof(float) * HW);
    }
    if (has_lstm(s)) {
        /* (B,N,T) rows → (N,B,T) */
        for (int64_t i = 0; i < B; i++) {
            const float *src = d->seq + (int64_t)row_of(idx, base, i) * s->N * s->T;
            for (int t = 0; t < s->N; t++)
                memcpy(ws->xs + ((int64_t)t * B + i) * s->T, src + (int64_t)t * s->T, sizeof(float) * s->T);
        }
    }
    if (s->kind == SCARP_MODEL_MLP)
        for (int64_t i = 0; i < B; i++)
            memcpy(ws->hin_buf + i * s->F, d->tab + (int64_t)row_of(idx, base, i) * s->F, sizeof(float) * s->F);
    if (d->labels)
        for (int64_t i = 0; i < B; i++) ws->labels[i] = d->labels[row_of(idx, base, i)];
}

static void cnn_forward(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int train, int update_stats)
{
    const scarp_model_spec *s = &m->spec;
    int ci = s->C;
    for (int k = 0; k < 3; k++) {
        const int co = s->filters[k];
        const int64_t M = B * ws->hp[k] * ws->wp[k];
        scarp_conv3x3_forward(ws->y[k], ws->col[k], ws->x[k], m->p.conv_w[k], m->p.conv_b[k], (int)B,
                              ci, ws->hin[k], ws->win[k], co);
        scarp_relu_forward(ws->y[k], (size_t)co * B * ws->ho[k] * ws->wo[k]);
        scarp_maxpool2_forward(ws->pool[k], ws->arg[k], ws->y[k], (int64_t)co * B, ws->ho[k], ws->wo[k]);
        if (train)
            scarp_batchnorm_forward_train(ws->x[k + 1], ws->bn_mu[k], ws->bn_rs[k], ws->pool[k],
                                          m->p.bn_gamma[k], m->p.bn_beta[k],
                                          update_stats ? m->bn_mean[k] : NULL,
                                          update_stats ? m->bn_var[k] : NULL, co, M,
                                          SCARP_BN_MOMENTUM, SCARP_BN_EPS);
        else
            scarp_batchnorm_forward_eval(ws->x[k + 1], ws->pool[k], m->p.bn_gamma[k], m->p.bn_beta[k],
                                         m->bn_mean[k], m->bn_var[k], co, M, SCARP_BN_EPS);
        ci = co;
    }
}

/* x[3] (Co,B,hw) → feat rows (B, ld) starting at column 0: (c, y, x) order. */
static void cnn_features_out(const scarp_model *m, const scarp_nn_workspace *ws, int64_t B, float *feat, int ld)
{
    const int co = m->spec.filters[2], hw = ws->hp[2] * ws->wp[2];
    for (int64_t i = 0; i < B; i++)
        for (int c = 0; c < co; c++)
            for (int q = 0; q < hw; q++) feat[i * ld + c * hw + q] = ws->x[3][((int64_t)c * B + i) * hw + q];
}

static void lstm_forward_branch(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int train, scarp_rng *rng)
{
    const scarp_model_spec *s = &m->spec;
    const float *x = ws->xs;
    int in = s->T;
    for (int l = 0; l < 2; l++) {
        const int u = s->lstm_units[l];
        const float *mask = NULL;
        if (train && rng && s->recurrent_dropout > 0) {
            scarp_dropout_mask(ws->lmask[l], (size_t)B * u, s->recurrent_dropout, rng);
            mask = ws->lmask[l];
        }
        scarp_lstm_forward(ws->lh[l], ws->lc[l], ws->lg[l], ws->lhm[l], x, m->p.lstm_wx[l],
                           m->p.lstm_wh[l], m->p.lstm_b[l], mask, s->N, B, in, u);
        x = ws->lh[l] + B * u; /* outputs h_1..h_N (N,B,u) */
        in = u;
    }
}

static void head_forward(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int train, scarp_rng *rng)
{
    const scarp_model_spec *s = &m->spec;
    const float *x = ws->hin_buf;
    int in = m->head_in;
    for (int d = 0; d < 2; d++) {
        const int o = s->dense[d];
        scarp_dense_forward(ws->a[d], x, m->p.dense_w[d], m->p.dense_b[d], B, in, o);
        scarp_relu_forward(ws->a[d], (size_t)B * o);
        if (train && rng && s->dropout > 0) {
            scarp_dropout_mask(ws->m[d], (size_t)B * o, s->dropout, rng);
            scarp_dropout_forward(ws->r[d], ws->a[d], ws->m[d], (size_t)B * o);
            x = ws->r[d];
        } else {
            x = ws->a[d];
        }
        in = o;
    }
    scarp_dense_forward(ws->logit, x, m->p.dense_w[2], m->p.dense_b[2], B, in, 1);
}

/* Draw order of the masks is fixed (recurrent 0, 1, then dense 0, 1), whatever runs first. */
void nn_forward(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int train, int update_stats,
                scarp_rng *rng)
{
    const scarp_model_spec *s = &m->spec;
    if (has_cnn(s)) cnn_forward(m, ws, B, train, update_stats);
    if (has_lstm(s)) lstm_forward_branch(m, ws, B, train, rng);
    if (s->kind != SCARP_MODEL_MLP) {
        if (has_cnn(s)) cnn_features_out(m, ws, B, ws->hin_buf, m->head_in);
        if (has_lstm(s)) {
            const int u = s->lstm_units[1], off = m->cnn_features;
            const float *hl = ws->lh[1] + (int64_t)s->N * B * u;
            for (int64_t i = 0; i < B; i++)
                memcpy(ws->hin_buf + i * m->head_in + off, hl + i * u, sizeof(float) * u);
        }
    }
    head_forward(m, ws, B, train, rng);
}

static void relu_mask_inplace(float *d, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(out[i] > 0.0f)) d[i] = 0.0f;
}

static void nn_backward(scarp_model *m, scarp_nn_workspace *ws, int64_t B, int dropout_on)
{
    const scarp_model_spec *s = &m->spec;
    /* head */
    const float *xin[3] = {ws->hin_buf, dropout_on ? ws->r[0] : ws->a[0], dropout_on ? ws->r[1] : ws->a[1]};
    const int ins[3] = {m->head_in, s->dense[0], s->dense[1]};
    memset(ws->dr[1], 0, sizeof(float) * B * s->dense[1]);
    scarp_dense_backward(ws->dr[1], m->g.dense_w[2], m->g.dense_b[2], ws->dlogit, xin[2], m->p.dense_w[2], B, ins[2], 1);
    for (int d = 1; d >= 0; d--) {
        const size_t n = (size_t)B * s->dense[d];
        if (dropout_on) {
            memset(ws->da[d], 0, sizeof(float) * n);
            scarp_dropout_backward(ws->da[d], ws->dr[d], ws->m[d], n);
        } else {
            memcpy(ws->da[d], ws->dr[d], sizeof(float) * n);
        }
        relu_mask_inplace(ws->da[d], ws->a[d], n);
        float *dprev = d > 0 ? ws->dr[d - 1] : (s->kind == SCARP_MODEL_MLP ? NULL : ws->dhin);
        if (dprev) memset(dprev, 0, sizeof(float) * B * ins[d]);
        scarp_dense_backward(dprev, m->g.dense_w[d], m->g.dense_b[d], ws->da[d], xin[d], m->p.dense_w[d], B, ins[d], s->dense[d]);
    }
    if (s->kind == SCARP_MODEL_MLP) return;
    /* LSTM branch */
    if (has_lstm(s)) {
        const int u0 = s->lstm_units[0], u1 = s->lstm_units[1], N = s->N;
        memset(ws->ldh[1], 0, sizeof(float) * N * B * u1);
        float *last = ws->ldh[1] + (int64_t)(N - 1) * B * u1;
        for (int64_t i = 0; i < B; i++)
            memcpy(last + i * u1, ws->dhin + i * m->head_in + m->cnn_features, sizeof(float) * u1);
        memset(ws->ldh[0], 0, sizeof(float) * N * B * u0);
        const int rd = s->recurrent_dropout > 0 && dropout_on;
        scarp_lstm_backward(ws->ldh[0], m->g.lstm_wx[1], m->g.lstm_wh[1], m->g.lstm_b[1], ws->ldz, ws->lscratch,
                            ws->ldh[1], ws->lh[1], ws->lc[1], ws->lg[1], ws->lhm[1], ws->lh[0] + B * u0,
                            m->p.lstm_wx[1], m->p.lstm_wh[1], rd ? ws->lmask[1] : NULL, N, B, u0, u1);
        scarp_lstm_backward(NULL, m->g.lstm_wx[0], m->g.lstm_wh[0], m->g.lstm_b[0], ws->ldz, ws->lscratch,
                            ws->ldh[0], ws->lh[0], ws->lc[0], ws->lg[0], ws->lhm[0], ws->xs,
                            m->p.lstm_wx[0], m->p.lstm_wh[0], rd ? ws->lmask[0] : NULL, N, B, s->T, u0);
    }
    /* CNN branch */
    if (has_cnn(s)) {
        const int co3 = s->filters[2], hw = ws->hp[2] * ws->wp[2];
        for (int64_t i = 0; i < B; i++)
            for (int c = 0; c < co3; c++)
                for (int q = 0; q < hw; q++)
                    ws->dx[3][((int64_t)c * B + i) * hw + q] = ws->dhin[i * m->head_in + c * hw + q];
        for (int k = 2; k >= 0; k--) {
            const int co = s->filters[k], ci = k ? s->filters[k - 1] : s->C;
            const int64_t M = B * ws->hp[k] * ws->wp[k];
            const size_t ny = (size_t)co * B * ws->ho[k] * ws->wo[k];
            memset(ws->dpool[k], 0, sizeof(float) * co * M);
            scarp_batchnorm_backward(ws->dpool[k], m->g.bn_gamma[k], m->g.bn_beta[k], ws->dx[k + 1], ws->pool[k],
                                     ws->bn_mu[k], ws->bn_rs[k], m->p.bn_gamma[k], co, M);
            memset(ws->dy[k], 0, sizeof(float) * ny);
            scarp_maxpool2_backward(ws->dy[k], ws->dpool[k], ws->arg[k], (int64_t)co * B, ws->ho[k], ws->wo[k]);
            relu_mask_inplace(ws->dy[k], ws->y[k], ny);
            if (k > 0) memset(ws->dx[k], 0, sizeof(float) * ci * B * ws->hin[k] * ws->win[k]);
            scarp_conv3x3_backward(k > 0 ? ws->dx[k] : NULL, m->g.conv_w[k], m->g.conv_b[k], ws->dcol, ws->dy[k],
                                   ws->col[k], m->p.conv_w[k], (int)B, ci, ws->hin[k], ws->win[k], co);
        }
    }
}

static scarp_status check_inputs(const scarp_model *m, const float *patches, const float *seq, const float *tab)
{
    const scarp_model_spec *s = &m->spec;
    if (has_cnn(s) && !patches) return scarp_fail(SCARP_ERR_USAGE, "%s model: patches are required", scarp_model_kind_name(s->kind));
    if (has_lstm(s) && !seq) return scarp_fail(SCARP_ERR_USAGE, "%s model: sequences are required", scarp_model_kind_name(s->kind));
    if (s->kind == SCARP_MODEL_MLP && !tab) return scarp_fail(SCARP_ERR_USAGE, "mlp model: tabular features are required");
    return SCARP_OK;
}

scarp_status scarp_model_forward_backward(scarp_model *m, scarp_nn_workspace *ws, const scarp_nn_data *data,
                                          const size_t *idx, int64_t B, scarp_rng *rng, int update_stats,
                                          double *bce, double *penalty, float *prob_out)
{
    if (!ws || !ws->with_grads || B < 1 || B > ws->max_batch)
        return scarp_fail(SCARP_ERR_USAGE, "forward_backward: batch %lld does not fit the workspace", (long long)B);
    scarp_status st = check_inputs(m, data->patches, data->seq, data->tab);
    if (st) return st;
    if (!data->labels) return scarp_fail(SCARP_ERR_USAGE, "forward_backward: labels are required");
    nn_gather(m, ws, data, idx, 0, B);
    nn_forward(m, ws, B, 1, update_stats, rng);
    const double l = scarp_bce_logits_forward(ws->logit, ws->labels, B);
    memset(ws->dlogit, 0, sizeof(float) * B);
    scarp_bce_logits_backward(ws->dlogit, ws->logit, ws->labels, B, 1.0f / (float)B);
    nn_backward(m, ws, B, rng != NULL);
    l2_grads(m);
    if (bce) *bce = l;
    if (penalty) *penalty = scarp_model_l2_penalty(m);
    if (prob_out)
        for (int64_t i = 0; i < B; i++) prob_out[i] = (float)(1.0 / (1.0 + exp(-(double)ws->logit[i])));
    return SCARP_OK;
}

/* ---- inference ---------------------------------------------------------------------------- */

scarp_status scarp_model_predict_ws(const scarp_model *cm, scarp_nn_workspace *ws, const float *patches,
                                    const float *seq, const float *tab, int64_t B, float *prob_out)
{
    scarp_model *m = (scarp_model *)cm; /* eval mode writes nothing in the model */
    scarp_status st = check_inputs(m, patches, seq, tab);
    if (st) return st;
    const scarp_nn_data d = {patches, seq, tab, NULL, 0};
    for (int64_t b0 = 0; b0 < B; b0 += ws->max_batch) {
        const int64_t nb = B - b0 < ws->max_batch ? B - b0 : ws->max_batch;
        nn_gather(m, ws, &d, NULL, (size_t)b0, nb);
        nn_forward(m, ws, nb, 0, 0, NULL);
        for (int64_t i = 0; i < nb; i++) prob_out[b0 + i] = (float)(1.0 / (1.0 + exp(-(double)ws->logit[i])));
    }
    return SCARP_OK;
}

#define PREDICT_CHUNK 128

scarp_status scarp_model_predict(scarp_model *m, const float *patches, const float *seq, const float *tab,
                                 int64_t B, float *prob_out)
{
    if (!m->ws) {
        scarp_status st = nn_workspace_create(m, PREDICT_CHUNK, 0, &m->ws);
        if (st) return st;
    }
    return scarp_model_predict_ws(m, m->ws, patches, seq, tab, B, prob_out);
}

scarp_status scarp_model_cnn_features(const scarp_model *cm, scarp_nn_workspace *ws, const float *patches,
                                      int64_t B, float *feat)
{
    scarp_model *m = (scarp_model *)cm;
    if (!has_cnn(&m->spec)) return scarp_fail(SCARP_ERR_USAGE, "%s model has no CNN branch", scarp_model_kind_name(m->spec.kind));
    const scarp_nn_data d = {patches, NULL, NULL, NULL, 0};
    for (int64_t b0 = 0; b0 < B; b0 += ws->max_batch) {
        const int64_t nb = B - b0 < ws->max_batch ? B - b0 : ws->max_batch;
        const int64_t HW = (int64_t)m->spec.H * m->spec.W;
        for (int c = 0; c < m->spec.C; c++)
            for (int64_t i = 0; i < nb; i++)
                memcpy(ws->x[0] + ((int64_t)c * nb + i) * HW, d.patches + ((b0 + i) * m->spec.C + c) * HW, sizeof(float) * HW);
        cnn_forward(m, ws, nb, 0, 0);
        cnn_features_out(m, ws, nb, feat + b0 * m->cnn_features, m->cnn_features);
    }
    return SCARP_OK;
}

scarp_status scarp_model_lstm_features(const scarp_model *cm, scarp_nn_workspace *ws, const float *seq,
                                       int64_t B, float *feat)
{
    scarp_model *m = (scarp_model *)cm;
    const scarp_model_spec *s = &m->spec;
    if (!has_lstm(s)) return scarp_fail(SCARP_ERR_USAGE, "%s model has no LSTM branch", scarp_model_kind_name(s->kind));
    for (int64_t b0 = 0; b0 < B; b0 += ws->max_batch) {
        const int64_t nb = B - b0 < ws->max_batch ? B - b0 : ws->max_batch;
        for (int64_t i = 0; i < nb; i++)
            for (int t = 0; t < s->N; t++)
                memcpy(ws->xs + ((int64_t)t * nb + i) * s->T, seq + ((b0 + i) * s->N + t) * s->T, sizeof(float) * s->T);
        lstm_forward_branch(m, ws, nb, 0, NULL);
        memcpy(feat + b0 * s->lstm_units[1], ws->lh[1] + (int64_t)s->N * nb * s->lstm_units[1],
               sizeof(float) * nb * s->lstm_units[1]);
    }
    return SCARP_OK;
}

scarp_status scarp_model_head(const scarp_model *cm, scarp_nn_workspace *ws, const float *feat, int64_t B,
                              float *logit_out, float *prob_out)
{
    scarp_model *m = (scarp_model *)cm;
    for (int64_t b0 = 0; b0 < B; b0 += ws->max_batch) {
        const int64_t nb = B - b0 < ws->max_batch ? B - b0 : ws->max_batch;
        memcpy(ws->hin_buf, feat + b0 * m->head_in, sizeof(float) * nb * m->head_in);
        head_forward(m, ws, nb, 0, NULL);
        for (int64_t i = 0; i < nb; i++) {
            if (logit_out) logit_out[b0 + i] = ws->logit[i];
            if (prob_out) prob_out[b0 + i] = (float)(1.0 / (1.0 + exp(-(double)ws->logit[i])));
        }
    }
    return SCARP_OK;
}

scarp_status scarp_nn_workspace_new_train(const scarp_model *m, int64_t max_batch, scarp_nn_workspace **ws)
{
    return nn_workspace_create(m, max_batch, 1, ws);
}

/* ---- population batch-norm statistics ---------------------------------------------------
 * The moving averages (momentum 0.99) trail the weights: with a few hundred updates, and
 * L2 shrinking the conv kernels under every BN (the loss is blind to their scale, so the
 * penalty shrinks them steadily, Laarhoven 2017 arXiv:1706.05350), the averages describe
 * older, larger activations and the eval-mode network squashes its outputs. This replaces
 * them by the exact statistics of the current weights over the given rows, block by block
 * in eval mode (block k sees blocks < k normalised with their new statistics), as the
 * network will be used ("precise BN", Wu & Johnson 2021, arXiv:2105.07576). */
scarp_status scarp_model_bn_population(scarp_model *m, const scarp_nn_data *d, const size_t *idx, size_t n)
{
    const scarp_model_spec *s = &m->spec;
    if (!has_cnn(s) || n == 0) return SCARP_OK;
    if (!d->patches) return scarp_fail(SCARP_ERR_USAGE, "bn_population: patches are required");
    const int64_t bs = 64;
    scarp_nn_workspace *ws = NULL;
    double *sum = NULL, *sq = NULL;
    scarp_status st = nn_workspace_create(m, bs, 0, &ws);
    if (st) return st;
    const int cmax = s->filters[0] > s->filters[1] ? (s->filters[0] > s->filters[2] ? s->filters[0] : s->filters[2])
                                                   : (s->filters[1] > s->filters[2] ? s->filters[1] : s->filters[2]);
    sum = scarp_calloc((size_t)cmax, sizeof *sum);
    sq = scarp_calloc((size_t)cmax, sizeof *sq);
    if (!sum || !sq) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    const scarp_nn_data dd = {d->patches, d->seq, d->tab, NULL, d->n}; /* nn_gather copies every input of the kind */
    for (int k = 0; k < 3; k++) {
        const int co = s->filters[k];
        const int64_t hw = (int64_t)ws->hp[k] * ws->wp[k];
        memset(sum, 0, sizeof *sum * (size_t)co);
        memset(sq, 0, sizeof *sq * (size_t)co);
        /* shift by the old mean so the sums of squares do not cancel */
        for (size_t b0 = 0; b0 < n; b0 += (size_t)bs) {
            const int64_t B = (int64_t)(n - b0 < (size_t)bs ? n - b0 : (size_t)bs);
            { /* patches only, (B,C,H,W) rows → (C,B,H,W): the CNN blocks need nothing else */
                const int64_t HW = (int64_t)s->H * s->W;
                for (int cc = 0; cc < s->C; cc++)
                    for (int64_t i = 0; i < B; i++)
                        memcpy(ws->x[0] + ((int64_t)cc * B + i) * HW,
                               dd.patches + ((int64_t)idx[b0 + (size_t)i] * s->C + cc) * HW, sizeof(float) * HW);
            }
            int ci = s->C;
            for (int j = 0; j <= k; j++) {
                const int cj = s->filters[j];
                scarp_conv3x3_forward(ws->y[j], ws->col[j], ws->x[j], m->p.conv_w[j], m->p.conv_b[j], (int)B, ci,
                                      ws->hin[j], ws->win[j], cj);
                scarp_relu_forward(ws->y[j], (size_t)cj * B * ws->ho[j] * ws->wo[j]);
                scarp_maxpool2_forward(ws->pool[j], ws->arg[j], ws->y[j], (int64_t)cj * B, ws->ho[j], ws->wo[j]);
                if (j < k)
                    scarp_batchnorm_forward_eval(ws->x[j + 1], ws->pool[j], m->p.bn_gamma[j], m->p.bn_beta[j],
                                                 m->bn_mean[j], m->bn_var[j], cj, B * ws->hp[j] * ws->wp[j],
                                                 SCARP_BN_EPS);
                ci = cj;
            }
            for (int c = 0; c < co; c++) {
                const float *x = ws->pool[k] + (int64_t)c * B * hw, sh = m->bn_mean[k][c];
                double a = 0, q = 0;
                for (int64_t t = 0; t < B * hw; t++) {
                    const double v = (double)x[t] - sh;
                    a += v;
                    q += v * v;
                }
                sum[c] += a;
                sq[c] += q;
            }
        }
        const double M = (double)n * (double)hw;
        for (int c = 0; c < co; c++) {
            const double mu = sum[c] / M; /* relative to the shift */
            const double var = M > 1 ? (sq[c] - M * mu * mu) / (M - 1) : 0.0;
            m->bn_mean[k][c] = (float)(m->bn_mean[k][c] + mu);
            m->bn_var[k][c] = (float)(var > 0 ? var : 0.0);
        }
    }
end:
    scarp_free(sum);
    scarp_free(sq);
    scarp_nn_workspace_free(ws);
    return st;
}
