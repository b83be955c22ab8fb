/* dense.c — exact dense evaluation of the CNN branch and head over a whole tile.
 * Per-patch network: 3 × [conv3×3 valid → ReLU → maxpool 2×2 stride 2 → BN], then the head.
 * Dense twin: the same blocks with stride-1 pooling and dilations 1, 2, 4 (à trous;
 * Giusti et al. 2013, "Fast image scanning with deep max-pooling CNNs", ICIP), so that the
 * output at (y, x) is exactly the network applied to the patch whose top-left is (y, x).
 *
 * Layout: every activation is channel-major (C, rows, S) with the row stride S = tw + 21
 * of the input window kept through all layers; columns x >= the layer's valid width hold
 * garbage that never reaches a valid output (valid outputs only read valid inputs). With
 * this stride, the im2col row of kernel tap (c, ky, kx) for a strip of rows is ONE
 * contiguous copy. Convolutions are im2col strips + cblas_sgemm (single-threaded inside a
 * tile: the engine runs threads over tiles). Bias, ReLU and batch norm ride in the pooling
 * pass: max(x + b) = max(x) + b and relu(max) = max(relu), both exact in floating point.
 * Block 3 and the head run on a rolling strip of rows, so memory is
 * O(C·tile + strip), independent of the raster. Several dates share the CNN pass and
 * W1c·feat; their head runs sign-settled (head_settled: first-layer units whose sign the
 * range of the dates' gains decides cost one GEMM for every date), its naive twin
 * head_naive is the one-date head. */
#include "scarp/map.h"
#include "scarp/alloc.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

#define PAD_FLOATS 64 /* dilated taps read up to 2·4 floats past a plane's end */
#define STRIP_CELLS 4096

static float *copy_floats(const float *src, size_t n)
{
    float *d = scarp_malloc(n * sizeof *d);
    if (d) memcpy(d, src, n * sizeof *d);
    return d;
}

/* Keras (In, Out) → (Out, In) rows [r0, r0 + nin). */
static float *transpose_rows(const float *w, int in_total, int out, int r0, int nin)
{
    float *d = scarp_malloc((size_t)out * nin * sizeof *d);
    if (!d) return NULL;
    for (int o = 0; o < out; o++)
        for (int i = 0; i < nin; i++) d[(size_t)o * nin + i] = w[(size_t)(r0 + i) * out + o];
    (void)in_total;
    return d;
}

void scarp_dense_net_free(scarp_dense_net *net)
{
    if (!net) return;
    for (int l = 0; l < 3; l++) {
        scarp_free(net->conv_w[l]);
        scarp_free(net->conv_b[l]);
        scarp_free(net->bn_scale[l]);
        scarp_free(net->bn_shift[l]);
    }
    scarp_free(net->w1c), scarp_free(net->w1t), scarp_free(net->b1);
    scarp_free(net->w2), scarp_free(net->w2t), scarp_free(net->b2), scarp_free(net->w3);
    memset(net, 0, sizeof *net);
}

scarp_status scarp_dense_net_init(scarp_dense_net *net, const scarp_model *m)
{
    memset(net, 0, sizeof *net);
    const scarp_model_spec *sp = &m->spec;
    net->kind = sp->kind;
    int has_cnn = sp->kind == SCARP_MODEL_CNN_LSTM || sp->kind == SCARP_MODEL_CNN;
    int has_lstm = sp->kind == SCARP_MODEL_CNN_LSTM || sp->kind == SCARP_MODEL_LSTM;
    if (has_cnn) {
        /* The dense pass assumes the three blocks reduce the patch to 1×1 with the
         * receptive rows 0..21 (patch 22, or 23 whose last row floor pooling drops). */
        if (sp->H != sp->W || (sp->H != 22 && sp->H != 23))
            return scarp_fail(SCARP_ERR_INPUT, "model patch %d×%d: the map engine needs 22×22 (or 23×23) patches",
                              sp->H, sp->W);
        net->C = sp->C;
        int ci = sp->C;
        for (int l = 0; l < 3; l++) {
            int co = sp->filters[l];
            net->F[l] = co;
            net->conv_w[l] = copy_floats(m->p.conv_w[l], (size_t)co * ci * 9);
            net->conv_b[l] = copy_floats(m->p.conv_b[l], (size_t)co);
            net->bn_scale[l] = scarp_malloc((size_t)co * sizeof(float));
            net->bn_shift[l] = scarp_malloc((size_t)co * sizeof(float));
            if (!net->conv_w[l] || !net->conv_b[l] || !net->bn_scale[l] || !net->bn_shift[l]) goto nomem;
            for (int c = 0; c < co; c++) {
                float s = m->p.bn_gamma[l][c] / sqrtf(m->bn_var[l][c] + SCARP_BN_EPS);
                net->bn_scale[l][c] = s;
                net->bn_shift[l][c] = m->p.bn_beta[l][c] - m->bn_mean[l][c] * s;
            }
            ci = co;
        }
        net->n_cnn = m->cnn_features;
        if (net->n_cnn != sp->filters[2])
            return scarp_fail(SCARP_ERR_INPUT, "model CNN features %d, expected %d (1×1 output)", net->n_cnn,
                              sp->filters[2]);
    }
    net->n_lstm = has_lstm ? m->lstm_features : sp->kind == SCARP_MODEL_MLP ? sp->F : 0;
    net->H1 = sp->dense[0];
    net->H2 = sp->dense[1];
    int in = m->head_in;
    if (in != net->n_cnn + net->n_lstm)
        return scarp_fail(SCARP_ERR_INPUT, "model head input %d != %d + %d", in, net->n_cnn, net->n_lstm);
    if (net->n_cnn && !(net->w1c = transpose_rows(m->p.dense_w[0], in, net->H1, 0, net->n_cnn))) goto nomem;
    if (net->n_lstm && !(net->w1t = transpose_rows(m->p.dense_w[0], in, net->H1, net->n_cnn, net->n_lstm))) goto nomem;
    if (!(net->b1 = copy_floats(m->p.dense_b[0], (size_t)net->H1))) goto nomem;
    if (!(net->w2 = transpose_rows(m->p.dense_w[1], net->H1, net->H2, 0, net->H1))) goto nomem;
    if (!(net->w2t = copy_floats(m->p.dense_w[1], (size_t)net->H1 * net->H2))) goto nomem; /* Keras (In, Out) */
    if (!(net->b2 = copy_floats(m->p.dense_b[1], (size_t)net->H2))) goto nomem;
    if (!(net->w3 = copy_floats(m->p.dense_w[2], (size_t)net->H2))) goto nomem; /* (H2, 1) */
    net->b3 = m->p.dense_b[2][0];
    return SCARP_OK;
nomem:
    scarp_dense_net_free(net);
    return SCARP_ERR_NOMEM;
}

struct scarp_dense_work {
    int max_w, max_h;
    size_t strip_cells;     /* R·S budget of a strip */
    float *in;              /* (C, max_h + 21, max_w + 21) */
    float *a1, *a2, *a3;    /* block outputs; a3 is the rolling strip (F2, R + 4, S) */
    float *col;             /* im2col (Kmax, strip) */
    float *za;              /* W1c · feat (H1, strip), kept across the dates of a strip */
    float *z1, *z2;         /* head (H1, strip), (H2, strip) */
    float *row;             /* one pooled row (S) */
    /* dated head (scarp_dense_work_reserve_dates; grown, never shrunk) */
    int cap_t, cap_d;       /* temporal cells × dates the buffers below hold */
    float *gmin, *gmax;     /* (n_t, H1): range of g_d over the dates */
    float *gt;              /* (n_t, H1, D): the gains of a unit over the dates, contiguous */
    float *pg;              /* (n_t, H2, D): W2 · g_d (no bias), a unit's dates contiguous */
    float *coef;            /* (H1, D): one cell's per-date coefficients of its listed units */
    int *list;              /* (H1) one cell's listed units */
    uint64_t *mon, *mop;    /* (⌈H1/64⌉, strip_cells): bit masks of each cell's ON and OPEN units */
    int32_t *run_end;       /* (strip_cells): one past the run of equal temporal cells along a row */
    const float **cptr;     /* (H1): a listed unit's per-date coefficients (the gains, or coef) */
    float *csgn;            /* (H1): their sign */
    uint64_t *rho;          /* (n_t, ⌈H1/64⌉): the majority reference set per temporal cell */
    int *list2;             /* (H2) one cell's second-layer units evaluated per date */
    int32_t *ton, *tcells;  /* (n_t, H1) ON counts, (n_t) cells, per temporal cell of a strip */
    float *pr;              /* (n_t, H2, D): W2_ρ · g_d */
    float *gm;              /* (D, H1): g_d masked to ρ */
    float *pgr, *prr;       /* (n_t, 2, H2): min and max over the dates of pg, pr */
    float *cell;            /* one cell's scratch: zc, lo, hi, mag, mw3 (H2 each), cmin, cmax (H1
                               each), o, zt (D each) — head_settled step 4 */
    scarp_dense_head_stats stats;
};

void scarp_dense_work_free(scarp_dense_work *w)
{
    if (!w) return;
    scarp_free_aligned(w->in), scarp_free_aligned(w->a1), scarp_free_aligned(w->a2), scarp_free_aligned(w->a3);
    scarp_free_aligned(w->col), scarp_free_aligned(w->za), scarp_free_aligned(w->z1), scarp_free_aligned(w->z2), scarp_free_aligned(w->row);
    scarp_free(w->gmin), scarp_free(w->gmax), scarp_free(w->gt), scarp_free(w->pg);
    scarp_free(w->coef), scarp_free(w->list), scarp_free(w->rho);
    scarp_free(w->mon), scarp_free(w->mop), scarp_free(w->run_end), scarp_free(w->cptr), scarp_free(w->csgn);
    scarp_free(w->ton), scarp_free(w->tcells), scarp_free(w->pr), scarp_free(w->gm);
    scarp_free(w->pgr), scarp_free(w->prr), scarp_free(w->cell), scarp_free(w->list2);
    scarp_free(w);
}

static float *zalloc(size_t n)
{
    float *p = scarp_malloc_aligned((n + PAD_FLOATS) * sizeof(float));
    if (p) memset(p, 0, (n + PAD_FLOATS) * sizeof(float));
    return p;
}

scarp_status scarp_dense_work_new(const scarp_dense_net *net, int max_w, int max_h, scarp_dense_work **out)
{
    *out = NULL;
    if (max_w < 1 || max_h < 1) return scarp_fail(SCARP_ERR_USAGE, "dense tile %d×%d", max_w, max_h);
    scarp_dense_work *w = scarp_calloc(1, sizeof *w);
    if (!w) return SCARP_ERR_NOMEM;
    w->max_w = max_w, w->max_h = max_h;
    size_t S = (size_t)max_w + SCARP_MAP_HALO, Hin = (size_t)max_h + SCARP_MAP_HALO;
    w->strip_cells = STRIP_CELLS > S ? STRIP_CELLS : S;
    int kmax = net->C > net->F[0] ? net->C : net->F[0];
    if (net->F[1] > kmax) kmax = net->F[1];
    w->in = zalloc((size_t)net->C * Hin * S);
    w->a1 = zalloc((size_t)net->F[0] * (Hin - 2) * S);
    w->a2 = zalloc((size_t)net->F[1] * (Hin - 7) * S);
    w->a3 = zalloc((size_t)net->F[2] * (w->strip_cells + 4 * S));
    w->col = zalloc((size_t)kmax * 9 * (w->strip_cells + 4 * S)); /* block 3's first strip has R + 4 rows */
    w->za = zalloc((size_t)net->H1 * w->strip_cells);
    w->z1 = zalloc((size_t)net->H1 * w->strip_cells);
    w->z2 = zalloc((size_t)net->H2 * w->strip_cells);
    w->row = zalloc(S);
    w->list = scarp_malloc((size_t)net->H1 * sizeof(int));
    const size_t w64 = (size_t)(net->H1 + 63) / 64;
    w->mon = scarp_malloc(w->strip_cells * w64 * sizeof(uint64_t));
    w->mop = scarp_malloc(w->strip_cells * w64 * sizeof(uint64_t));
    w->run_end = scarp_malloc(w->strip_cells * sizeof(int32_t));
    w->cptr = scarp_malloc((size_t)net->H1 * sizeof *w->cptr);
    w->csgn = scarp_malloc((size_t)net->H1 * sizeof(float));
    if (!w->in || !w->a1 || !w->a2 || !w->a3 || !w->col || !w->za || !w->z1 || !w->z2 || !w->row ||
        !w->list || !w->mon || !w->mop || !w->run_end || !w->cptr || !w->csgn) {
        scarp_dense_work_free(w);
        return SCARP_ERR_NOMEM;
    }
    *out = w;
    return SCARP_OK;
}

scarp_status scarp_dense_work_reserve_dates(scarp_dense_work *w, const scarp_dense_net *net, int n_t, int n_dates)
{
    if (n_t <= w->cap_t && n_dates <= w->cap_d) return SCARP_OK;
    const int T = n_t > w->cap_t ? n_t : w->cap_t, D = n_dates > w->cap_d ? n_dates : w->cap_d;
    const size_t H1 = (size_t)net->H1, H2 = (size_t)net->H2;
    void **bufs[] = {(void **)&w->gmin, (void **)&w->gmax, (void **)&w->gt, (void **)&w->pg, (void **)&w->coef,
                     (void **)&w->pr, (void **)&w->gm, (void **)&w->rho, (void **)&w->ton, (void **)&w->tcells,
                     (void **)&w->pgr, (void **)&w->prr, (void **)&w->cell, (void **)&w->list2};
    const size_t n[] = {(size_t)T * H1 * 4, (size_t)T * H1 * 4, (size_t)T * H1 * D * 4, (size_t)T * D * H2 * 4,
                        H1 * D * 4, (size_t)T * D * H2 * 4, (size_t)D * H1 * 4, (size_t)T * ((H1 + 63) / 64) * 8, (size_t)T * H1 * 4,
                        (size_t)T * 4, (size_t)T * 2 * H2 * 4, (size_t)T * 2 * H2 * 4,
                        (5 * H2 + 2 * H1 + 2 * (size_t)D) * 4, H2 * 4};
    for (int i = 0; i < 14; i++) {
        void *p = scarp_realloc(*bufs[i], n[i]);
        if (!p) return SCARP_ERR_NOMEM;
        *bufs[i] = p;
    }
    w->cap_t = T, w->cap_d = D;
    return SCARP_OK;
}

scarp_dense_head_stats scarp_dense_work_stats(const scarp_dense_work *w) { return w->stats; }

float *scarp_dense_work_input(scarp_dense_work *w) { return w->in; }

/* Convolution rows [y0, y0 + r) of a dilated 3×3 conv (no bias: it rides in the pooling):
 *   inp (Ci, ·, S) with plane stride pin;  out (Co, ·, S) with plane stride pout, pointing
 *   at the row that receives conv row y0. */
static void conv_strip(const float *restrict W, int Co, int Ci, int d, const float *restrict inp, size_t pin, int S,
                       int y0, int r, float *restrict col, float *restrict out, size_t pout)
{
    size_t N = (size_t)r * S;
    for (int c = 0; c < Ci; c++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                size_t k = (size_t)c * 9 + ky * 3 + kx;
                memcpy(col + k * N, inp + c * pin + (size_t)(y0 + ky * d) * S + kx * d, N * sizeof(float));
            }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, (int)N, Ci * 9, 1.0f, W, Ci * 9, col, (int)N, 0.0f, out,
                (int)pout);
}

/* In-place stride-1 max-pool with dilation d over rows [0, rows) of each of the C planes
 * (plane stride p, row stride S), then + bias, ReLU, batch-norm affine. */
static void pool_bias_relu_bn(float *a, int C, size_t p, int S, int rows, int d, const float *bias, const float *scale,
                              const float *shift, float *restrict tmp)
{
    for (int c = 0; c < C; c++) {
        float b = bias[c], s = scale[c], t = shift[c];
        float *plane = a + c * p;
        for (int y = 0; y < rows; y++) {
            const float *restrict r0 = plane + (size_t)y * S, *restrict r1 = plane + (size_t)(y + d) * S;
            for (int x = 0; x < S; x++) {
                float m0 = r0[x] > r0[x + d] ? r0[x] : r0[x + d];
                float m1 = r1[x] > r1[x + d] ? r1[x] : r1[x + d];
                float v = (m0 > m1 ? m0 : m1) + b;
                v = v > 0.0f ? v : 0.0f;
                tmp[x] = v * s + t;
            }
            memcpy(plane + (size_t)y * S, tmp, (size_t)S * sizeof(float));
        }
    }
}

static inline float sigmoidf(float z) { return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); }

/* The head of one strip, date by date, as one map computes it: z1 = relu(za + G_d[t]),
 * z2 = relu(W2 · z1 + b2), p = σ(b3 + Σ_k w3_k z2_k) (k in order). za (H1, r·S) holds
 * W1c·feat for the strip's r rows (row stride S, columns >= tw unused); tidx (r, tw) or
 * NULL (temporal cell 0); prob + d·p_stride + y·tw + x receives date d's probability. */
static void head_naive(const scarp_dense_net *net, scarp_dense_work *w, const float *za_strip, int S, int r, int tw,
                       const float *G, size_t g_stride, int n_dates, const int32_t *tidx, float *prob, size_t p_stride)
{
    const int H1 = net->H1, H2 = net->H2, N = r * S;
    for (int d = 0; d < n_dates; d++) {
        const float *Gd = G + (size_t)d * g_stride;
        float *probd = prob + (size_t)d * p_stride;
        /* z1 = relu(za + G_d[temporal cell]) */
        for (int j = 0; j < H1; j++) {
            const float *za = za_strip + (size_t)j * N;
            float *z = w->z1 + (size_t)j * N;
            for (int y = 0; y < r; y++) {
                const float *ar = za + (size_t)y * S;
                float *zr = z + (size_t)y * S;
                if (tidx) {
                    const int32_t *ti = tidx + (size_t)y * tw;
                    for (int x = 0; x < tw; x++) {
                        float v = ar[x] + Gd[(size_t)ti[x] * H1 + j];
                        zr[x] = v > 0.0f ? v : 0.0f;
                    }
                } else {
                    float g = Gd[j];
                    for (int x = 0; x < tw; x++) {
                        float v = ar[x] + g;
                        zr[x] = v > 0.0f ? v : 0.0f;
                    }
                }
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H2, N, H1, 1.0f, net->w2, H1, w->z1, N, 0.0f, w->z2, N);
        for (int j = 0; j < H2; j++) {
            float *z = w->z2 + (size_t)j * N, b = net->b2[j];
            for (int n = 0; n < N; n++) {
                float v = z[n] + b;
                z[n] = v > 0.0f ? v : 0.0f;
            }
        }
        /* logit = w3 · z2 + b3, accumulated in j order for every cell */
        for (int y = 0; y < r; y++) {
            float *o = probd + (size_t)y * tw;
            for (int x = 0; x < tw; x++) o[x] = net->b3;
            for (int j = 0; j < H2; j++) {
                const float *z = w->z2 + (size_t)j * N + (size_t)y * S;
                float wj = net->w3[j];
                for (int x = 0; x < tw; x++) o[x] += wj * z[x];
            }
            for (int x = 0; x < tw; x++) o[x] = sigmoidf(o[x]);
        }
    }
}

/* r (2, H) = the min and max over the D columns of each row of p (H, D). */
static void unit_range(const float *p, int H, int D, float *r)
{
    for (int k = 0; k < H; k++) {
        float lo = INFINITY, hi = -INFINITY;
        for (int d = 0; d < D; d++) lo = fminf(lo, p[(size_t)k * D + d]), hi = fmaxf(hi, p[(size_t)k * D + d]);
        r[k] = lo, r[H + k] = hi;
    }
}

/* Per tile: the range of each unit's gain over the dates, the gains transposed so that a
 * unit's dates are contiguous, and P[t, d] = W2 · g_d[t] (one GEMM). */
static void dates_prepare(const scarp_dense_net *net, scarp_dense_work *w, const float *G, size_t g_stride, int n_t,
                          int D)
{
    const int H1 = net->H1, H2 = net->H2;
    assert(n_t <= w->cap_t && D <= w->cap_d); /* scarp_dense_work_reserve_dates first */
    for (int t = 0; t < n_t; t++)
        for (int j = 0; j < H1; j++) {
            float lo = INFINITY, hi = -INFINITY;
            float *gt = w->gt + ((size_t)t * H1 + j) * D;
            for (int d = 0; d < D; d++) {
                float g = G[(size_t)d * g_stride + (size_t)t * H1 + j];
                gt[d] = g;
                lo = g < lo ? g : lo;
                hi = g > hi ? g : hi;
            }
            w->gmin[(size_t)t * H1 + j] = lo;
            w->gmax[(size_t)t * H1 + j] = hi;
        }
    /* pg (n_t, H2, D): column d of block t = W2 · g_d[t]  (W2 stored (H2, H1)), and its range */
    for (int t = 0; t < n_t; t++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H2, D, H1, 1.0f, net->w2, H1, G + (size_t)t * H1,
                    (int)g_stride, 0.0f, w->pg + (size_t)t * H2 * D, D);
        unit_range(w->pg + (size_t)t * H2 * D, H2, D, w->pgr + (size_t)t * 2 * H2);
    }
}

/* Σ_k a_k b_k over 8 independent lanes, then their pairwise sum (a single in-order chain of
 * additions would not vectorise). */
static inline float dot_lanes(const float *restrict a, const float *restrict b, int n)
{
    float s[8] = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int q = 0; q < 8; q++) s[q] += a[k + q] * b[k + q];
    for (; k < n; k++) s[0] += a[k] * b[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* The sign-settled head for D dates. For a cell with first-layer part a = W1c·f and the
 * gains g_d of its temporal cell, unit j is
 *   ON   if fl(a_j + min_d g_dj) > 0:  relu(a_j + g_dj) = a_j + g_dj on every date,
 *   OFF  if fl(a_j + max_d g_dj) <= 0: relu(a_j + g_dj) = 0 on every date,
 *   OPEN otherwise
 * (float addition rounds monotonically, so the tests on the range decide every date
 * exactly as the per-date evaluation does). Then for every date
 *   W2·relu(a + g_d) = W2_ON·a + W2_ON·g_d + W2_OPEN·relu(a_OPEN + g_d,OPEN),
 * W2_ON·a being one GEMM per strip for every date (za masked to the ON units). The term
 * W2_ON·g_d depends on the cell's ON set; it is taken relative to a reference set ρ whose
 * W2_ρ·g_d is precomputed per temporal cell and date:
 *   W2_ON·g_d = W2_ρ·g_d + Σ_{ON∖ρ} W2_j g_dj − Σ_{ρ∖ON} W2_j g_dj,
 * with ρ the cheapest of: no unit (sum over ON), every unit (P = W2·g_d, less the OFF and
 * OPEN units), or the units ON in the majority of the strip's cells of that temporal cell
 * (neighbouring cells mostly share their pattern). The second layer is settled the same
 * way over the dates (step 4), so per cell the listed units (OPEN + |ON Δ ρ|) cost one
 * H2-long dot product each and one pass over the dates, instead of H2 × H1 multiply-adds per
 * date. The sums are regrouped, so the result equals head_naive within float32 rounding,
 * not bit for bit (bound and test: tests/test_map_dense.c test_settled_head). */
static void head_settled(const scarp_dense_net *net, scarp_dense_work *w, const float *za, int S, int r, int tw,
                         int n_t, int D, const int32_t *tidx, float *prob, size_t p_stride)
{
    const int H1 = net->H1, H2 = net->H2, N = r * S;
    const int W64 = (H1 + 63) / 64, cells = r * tw;
    uint64_t *mon = w->mon, *mop = w->mop; /* (W64, cells): bit j of word j/64 — ON, OPEN */
    /* 1. classify (cell, unit) into bit masks, unit-major so that every pass is contiguous;
     * za masked to the ON units; the ON cells per temporal cell and unit. Along a row the
     * temporal cell is constant over runs of cells (run_end: one past each cell's run). */
    memset(w->tcells, 0, (size_t)n_t * sizeof *w->tcells);
    memset(w->ton, 0, (size_t)n_t * H1 * sizeof *w->ton);
    memset(mon, 0, (size_t)W64 * cells * sizeof *mon);
    memset(mop, 0, (size_t)W64 * cells * sizeof *mop);
    int32_t *run_end = w->run_end;
    for (int y = 0; y < r; y++) {
        const int32_t *ti = tidx ? tidx + (size_t)y * tw : NULL;
        for (int x = tw - 1; x >= 0; x--) {
            const int same = x + 1 < tw && (!ti || ti[x + 1] == ti[x]);
            run_end[y * tw + x] = same ? run_end[y * tw + x + 1] : x + 1;
            w->tcells[ti ? ti[x] : 0]++;
        }
    }
    float *zb = w->z1, *base = w->z2;
    for (int j = 0; j < H1; j++) {
        const uint64_t bit = (uint64_t)1 << (j & 63);
        for (int y = 0; y < r; y++) {
            const float *ar = za + (size_t)j * N + (size_t)y * S;
            float *zr = zb + (size_t)j * N + (size_t)y * S;
            uint64_t *on = mon + (size_t)(j >> 6) * cells + (size_t)y * tw, *op = mop + (size_t)(j >> 6) * cells + (size_t)y * tw;
            for (int x0 = 0; x0 < tw;) {
                const int x1 = run_end[y * tw + x0], t = tidx ? tidx[(size_t)y * tw + x0] : 0;
                const float lo = w->gmin[(size_t)t * H1 + j], hi = w->gmax[(size_t)t * H1 + j];
                int32_t count = 0;
                for (int x = x0; x < x1; x++) {
                    const float a = ar[x];
                    const int is_on = a + lo > 0.0f, is_open = !is_on && !(a + hi <= 0.0f);
                    zr[x] = is_on ? a : 0.0f;
                    on[x] |= is_on ? bit : 0;
                    op[x] |= is_open ? bit : 0;
                    count += is_on;
                }
                w->ton[(size_t)t * H1 + j] += count;
                x0 = x1;
            }
            for (int x = tw; x < S; x++) zr[x] = 0.0f;
        }
    }
    /* 2. base (H2, N) = W2 · (za masked to the ON units) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H2, N, H1, 1.0f, net->w2, H1, zb, N, 0.0f, base, N);
    /* 3. the majority reference of each temporal cell met (bit mask ρ): W2_ρ·g_d (H2, D) */
    for (int t = 0; t < n_t; t++) {
        if (!w->tcells[t]) continue;
        uint64_t *rho = w->rho + (size_t)t * W64;
        memset(rho, 0, (size_t)W64 * sizeof *rho);
        for (int j = 0; j < H1; j++)
            if (2 * w->ton[(size_t)t * H1 + j] > w->tcells[t]) rho[j >> 6] |= (uint64_t)1 << (j & 63);
        for (int d = 0; d < D; d++)
            for (int j = 0; j < H1; j++)
                w->gm[(size_t)d * H1 + j] = rho[j >> 6] >> (j & 63) & 1 ? w->gt[((size_t)t * H1 + j) * D + d] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H2, D, H1, 1.0f, net->w2, H1, w->gm, H1, 0.0f,
                    w->pr + (size_t)t * H2 * D, D);
        unit_range(w->pr + (size_t)t * H2 * D, H2, D, w->prr + (size_t)t * 2 * H2);
    }
    /* 4. per cell: the cheapest reference, its listed units (by their bits), then every date */
    int64_t settled = 0, listed = 0, settled2 = 0;
    const uint64_t last = H1 % 64 ? ((uint64_t)1 << (H1 % 64)) - 1 : ~(uint64_t)0; /* the units of the last word */
    for (int y = 0; y < r; y++)
        for (int x = 0; x < tw; x++) {
            const size_t i = (size_t)y * S + x, cell = (size_t)y * tw + x;
            const int t = tidx ? tidx[cell] : 0;
            const uint64_t *rho_t = w->rho + (size_t)t * W64;
            int n_on = 0, n_undecided = 0, n_diff = 0;
            for (int q = 0; q < W64; q++) {
                const uint64_t on = mon[(size_t)q * cells + cell], op = mop[(size_t)q * cells + cell];
                n_on += __builtin_popcountll(on);
                n_undecided += __builtin_popcountll(op);
                n_diff += __builtin_popcountll((on ^ rho_t[q]) & ~op); /* no bit past H1 is set in any */
            }
            const int n_off = H1 - n_on - n_undecided;
            /* ref 0: none, 1: every unit, 2: the majority set */
            const int ref = n_diff < n_on && n_diff < n_off ? 2 : n_off < n_on ? 1 : 0;
            int n = 0;
            float *cmin = w->cell + 5 * H2, *cmax = cmin + H1;
            for (int q = 0; q < W64; q++) {
                const uint64_t on = mon[(size_t)q * cells + cell], op = mop[(size_t)q * cells + cell];
                const uint64_t valid = q == W64 - 1 ? last : ~(uint64_t)0;
                const uint64_t refm = ref == 2 ? rho_t[q] : ref ? valid : 0;
                /* not held by base + reference: OPEN, or settled on the other side of ρ */
                for (uint64_t m = (op | (on ^ refm)) & valid; m; m &= m - 1) {
                    const int j = q * 64 + __builtin_ctzll(m);
                    const float *g = w->gt + ((size_t)t * H1 + j) * D;
                    if (on >> (j & 63) & 1) { /* ON, outside ρ: + g_d */
                        w->cptr[n] = g, w->csgn[n] = 1.0f;
                        cmin[n] = w->gmin[(size_t)t * H1 + j], cmax[n] = w->gmax[(size_t)t * H1 + j];
                    } else if (!(op >> (j & 63) & 1)) { /* OFF, inside ρ: − g_d */
                        w->cptr[n] = g, w->csgn[n] = -1.0f;
                        cmin[n] = -w->gmax[(size_t)t * H1 + j], cmax[n] = -w->gmin[(size_t)t * H1 + j];
                    } else {
                        const int in_ref = refm >> (j & 63) & 1;
                        const float a = za[(size_t)j * N + i];
                        float *cc = w->coef + (size_t)n * D, c0 = INFINITY, c1 = -INFINITY;
                        for (int d = 0; d < D; d++) {
                            float v = a + g[d];
                            v = v > 0.0f ? v : 0.0f;
                            cc[d] = in_ref ? v - g[d] : v;
                            c0 = cc[d] < c0 ? cc[d] : c0, c1 = cc[d] > c1 ? cc[d] : c1;
                        }
                        w->cptr[n] = cc, w->csgn[n] = 1.0f;
                        cmin[n] = c0, cmax[n] = c1;
                    }
                    w->list[n++] = j;
                }
            }
            settled += n_on + n_off;
            listed += n;
            w->stats.by_reference[ref]++;
            const float *pt = ref == 1 ? w->pg + (size_t)t * H2 * D : ref == 2 ? w->pr + (size_t)t * H2 * D : NULL;
            const float *ptr = ref == 1 ? w->pgr + (size_t)t * 2 * H2 : ref == 2 ? w->prr + (size_t)t * 2 * H2 : NULL;
            float *zc = w->cell, *lo = zc + H2, *hi = lo + H2, *mag = hi + H2, *mw3 = mag + H2;
            float *o = cmax + H1, *zt = o + D;
            /* second layer, z_k(d) = zc_k + pt_k(d) + Σ_l coef_l(d) W2[k, list_l]: its range over
             * the dates (interval sums) and the magnitude of its terms */
            for (int k = 0; k < H2; k++) {
                zc[k] = net->b2[k] + base[(size_t)k * N + i];
                lo[k] = hi[k] = zc[k];
                mag[k] = fabsf(zc[k]);
            }
            if (ptr)
                for (int k = 0; k < H2; k++) {
                    const float a = ptr[k], b = ptr[H2 + k], m = -a > b ? -a : b;
                    lo[k] += a, hi[k] += b, mag[k] += m; /* b >= a: max(|a|, |b|) = max(-a, b) */
                }
            for (int l = 0; l < n; l++) {
                const float *wl = net->w2t + (size_t)w->list[l] * H2, c0 = cmin[l], c1 = cmax[l];
                for (int k = 0; k < H2; k++) {
                    const float a = c0 * wl[k], b = c1 * wl[k], fa = a < 0 ? -a : a, fb = b < 0 ? -b : b;
                    lo[k] += a < b ? a : b;
                    hi[k] += a < b ? b : a;
                    mag[k] += fa > fb ? fa : fb;
                }
            }
            /* A second-layer unit whose range clears 0 by more than twice the rounding of its
             * sums (γ_{n+3} · magnitude each for the range and for a date's value) is ON or OFF
             * on every date: an ON unit adds w3_k z_k(d), linear in the per-date terms, so all
             * ON units together cost one dot product per listed unit (v_l = Σ_ON w3_k W2[k, l])
             * and one pass over the dates; only the OPEN ones are evaluated date by date. */
            const float tol = (float)(n + 4) * 0x1p-22f;
            float A = net->b3;
            int n_open = 0;
            for (int k = 0; k < H2; k++) {
                const float m = tol * mag[k];
                const int on = lo[k] > m, off = hi[k] < -m;
                mw3[k] = on ? net->w3[k] : 0.0f;
                if (on) A += net->w3[k] * zc[k];
                if (!on && !off) w->list2[n_open++] = k;
            }
            for (int d = 0; d < D; d++) o[d] = A;
            if (pt)
                for (int k = 0; k < H2; k++) {
                    const float wk = mw3[k], *pk = pt + (size_t)k * D;
                    if (wk != 0.0f)
                        for (int d = 0; d < D; d++) o[d] += wk * pk[d];
                }
            for (int l = 0; l < n; l++) {
                const float *wl = net->w2t + (size_t)w->list[l] * H2, *c = w->cptr[l];
                float vl = dot_lanes(mw3, wl, H2) * w->csgn[l];
                if (vl != 0.0f)
                    for (int d = 0; d < D; d++) o[d] += vl * c[d];
            }
            for (int q = 0; q < n_open; q++) {
                const int k = w->list2[q];
                const float *pk = pt ? pt + (size_t)k * D : NULL, w3k = net->w3[k];
                for (int d = 0; d < D; d++) zt[d] = zc[k] + (pk ? pk[d] : 0.0f);
                for (int l = 0; l < n; l++) {
                    const float wk = w->csgn[l] * net->w2t[(size_t)w->list[l] * H2 + k], *c = w->cptr[l];
                    for (int d = 0; d < D; d++) zt[d] += wk * c[d];
                }
                for (int d = 0; d < D; d++) o[d] += w3k * (zt[d] > 0.0f ? zt[d] : 0.0f);
            }
            settled2 += H2 - n_open;
            for (int d = 0; d < D; d++) prob[(size_t)d * p_stride + (size_t)y * tw + x] = sigmoidf(o[d]);
        }
    w->stats.cells += (int64_t)r * tw;
    w->stats.units += (int64_t)r * tw * H1;
    w->stats.settled += settled;
    w->stats.listed += listed;
    w->stats.units2 += (int64_t)r * tw * H2;
    w->stats.settled2 += settled2;
}

void scarp_dense_head_dates(const scarp_dense_net *net, scarp_dense_work *w, const float *za, int S, int r, int tw,
                            const float *G, size_t g_stride, int n_t, int n_dates, const int32_t *tidx, float *prob,
                            size_t p_stride, int settled)
{
    if (settled) {
        dates_prepare(net, w, G, g_stride, n_t, n_dates);
        head_settled(net, w, za, S, r, tw, n_t, n_dates, tidx, prob, p_stride);
    } else {
        head_naive(net, w, za, S, r, tw, G, g_stride, n_dates, tidx, prob, p_stride);
    }
}

void scarp_dense_tile(const scarp_dense_net *net, scarp_dense_work *w, int tw, int th, const float *G,
                      const int32_t *tidx, float *prob)
{
    scarp_dense_tile_dates(net, w, tw, th, G, 0, 1, tidx, prob);
}

void scarp_dense_tile_dates(const scarp_dense_net *net, scarp_dense_work *w, int tw, int th, const float *G,
                            size_t g_stride, int n_dates, const int32_t *tidx, float *prob)
{
    const int S = tw + SCARP_MAP_HALO, Hin = th + SCARP_MAP_HALO;
    const int F0 = net->F[0], F1 = net->F[1], F2 = net->F[2], H1 = net->H1;
    int R = (int)(w->strip_cells / (size_t)S);
    if (R < 1) R = 1;
    /* several dates: the sign-settled head (see head_settled), prepared once per tile */
    const int n_t = tidx ? (int)(g_stride / (size_t)H1) : 1;
    const int settled = n_dates > 1;
    if (settled) dates_prepare(net, w, G, g_stride, n_t, n_dates);
    /* block 1: conv d=1 on (C, Hin, S) → (F0, Hin−2, S); pool d=1 → Hin−3 rows */
    const size_t pin = (size_t)Hin * S, p1 = (size_t)(Hin - 2) * S, p2 = (size_t)(Hin - 7) * S;
    for (int y0 = 0; y0 < Hin - 2; y0 += R) {
        int r = Hin - 2 - y0 < R ? Hin - 2 - y0 : R;
        conv_strip(net->conv_w[0], F0, net->C, 1, w->in, pin, S, y0, r, w->col, w->a1 + (size_t)y0 * S, p1);
    }
    pool_bias_relu_bn(w->a1, F0, p1, S, Hin - 3, 1, net->conv_b[0], net->bn_scale[0], net->bn_shift[0], w->row);
    /* block 2: conv d=2 → (F1, Hin−7, S); pool d=2 → Hin−9 rows */
    for (int y0 = 0; y0 < Hin - 7; y0 += R) {
        int r = Hin - 7 - y0 < R ? Hin - 7 - y0 : R;
        conv_strip(net->conv_w[1], F1, F0, 2, w->a1, p1, S, y0, r, w->col, w->a2 + (size_t)y0 * S, p2);
    }
    pool_bias_relu_bn(w->a2, F1, p2, S, Hin - 9, 2, net->conv_b[1], net->bn_scale[1], net->bn_shift[1], w->row);
    /* block 3 + head on rolling strips of r output rows: conv d=4 needs r + 4 rows for
     * the d=4 pooling; the last 4 conv rows of a strip are the first 4 of the next. */
    const size_t p3 = (size_t)(R + 4) * S;
    int rprev = 0;
    for (int yp0 = 0; yp0 < th; yp0 += R) {
        int r = th - yp0 < R ? th - yp0 : R;
        if (yp0 == 0) {
            conv_strip(net->conv_w[2], F2, F1, 4, w->a2, p2, S, 0, r + 4, w->col, w->a3, p3);
        } else {
            for (int c = 0; c < F2; c++)
                memmove(w->a3 + c * p3, w->a3 + c * p3 + (size_t)rprev * S, (size_t)4 * S * sizeof(float));
            conv_strip(net->conv_w[2], F2, F1, 4, w->a2, p2, S, yp0 + 4, r, w->col, w->a3 + (size_t)4 * S, p3);
        }
        rprev = r;
        pool_bias_relu_bn(w->a3, F2, p3, S, r, 4, net->conv_b[2], net->bn_scale[2], net->bn_shift[2], w->row);
        /* head: za (H1, N) = W1c · feat (F2, N; plane stride p3), once for every date */
        const int N = r * S;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H1, N, F2, 1.0f, net->w1c, F2, w->a3, (int)p3, 0.0f,
                    w->za, N);
        if (settled)
            head_settled(net, w, w->za, S, r, tw, n_t, n_dates, tidx ? tidx + (size_t)yp0 * tw : NULL,
                         prob + (size_t)yp0 * tw, (size_t)tw * th);
        else
            head_naive(net, w, w->za, S, r, tw, G, g_stride, n_dates, tidx ? tidx + (size_t)yp0 * tw : NULL,
                       prob + (size_t)yp0 * tw, (size_t)tw * th);
    }
}

void scarp_dense_gain(const scarp_dense_net *net, const float *h, int64_t n, float *G)
{
    const int H1 = net->H1;
    for (int64_t i = 0; i < n; i++) memcpy(G + i * H1, net->b1, (size_t)H1 * sizeof(float));
    if (!h || !net->n_lstm) return;
    /* (n, H1) += (n, K) · W1tᵀ  (w1t stored (H1, K)) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, H1, net->n_lstm, 1.0f, h, net->n_lstm, net->w1t,
                net->n_lstm, 1.0f, G, H1);
}

void scarp_dense_head_rows(const scarp_dense_net *net, float *z1, int64_t n, float *prob, float *scratch)
{
    const int H1 = net->H1, H2 = net->H2;
    for (int64_t i = 0; i < n * H1; i++) z1[i] = z1[i] > 0.0f ? z1[i] : 0.0f;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < H2; j++) scratch[i * H2 + j] = net->b2[j];
    /* (n, H2) += (n, H1) · W2ᵀ  (W2 stored (H2, H1)) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, H2, H1, 1.0f, z1, H1, net->w2, H1, 1.0f, scratch, H2);
    for (int64_t i = 0; i < n; i++) {
        float acc = net->b3;
        for (int j = 0; j < H2; j++) {
            float v = scratch[i * H2 + j];
            acc += net->w3[j] * (v > 0.0f ? v : 0.0f);
        }
        prob[i] = sigmoidf(acc);
    }
}

double scarp_dense_flops_per_cell(const scarp_dense_net *net, int tw, int th)
{
    double S = tw + SCARP_MAP_HALO, Hin = th + SCARP_MAP_HALO;
    double f = 2.0 * 9 * S *
               ((double)net->C * net->F[0] * (Hin - 2) + (double)net->F[0] * net->F[1] * (Hin - 7) +
                (double)net->F[1] * net->F[2] * (th + 4));
    f += 2.0 * S * th * ((double)net->F[2] * net->H1 + (double)net->H1 * net->H2 + net->H2);
    return f / ((double)tw * th);
}
