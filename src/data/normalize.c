/* normalize.c — the input scaling of the reference study (min–max per continuous factor,
 * one-hot categories, aspect as sin/cos, min–max of the antecedent series), fitted on the
 * training split only, serialised into model files, and applied identically to training
 * patches and to the map engine's raw stack windows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "preflight.h"

#define MAX_CATEGORIES 64
#define DEG2RAD (M_PI / 180.0)

void scarp_norm_init(scarp_norm *n) { memset(n, 0, sizeof *n); }

void scarp_norm_free(scarp_norm *n)
{
    if (!n) return;
    scarp_free(n->layer_names);
    scarp_free(n->layer_kinds);
    scarp_free(n->channels);
    scarp_free(n->var_names);
    scarp_free(n->seq_min);
    scarp_free(n->seq_max);
    scarp_free(n->summary_names);
    scarp_free(n->sum_min);
    scarp_free(n->sum_max);
    memset(n, 0, sizeof *n);
}

/* Allocates the arrays for the sizes already set in n (L, C, T, S). */
static scarp_status norm_alloc(scarp_norm *n)
{
    n->layer_names = scarp_calloc((size_t)n->L + 1, 64);
    n->layer_kinds = scarp_calloc((size_t)n->L + 1, sizeof(int));
    n->channels = scarp_calloc((size_t)n->C + 1, sizeof(scarp_norm_channel));
    n->var_names = scarp_calloc((size_t)n->T + 1, 32);
    n->seq_min = scarp_calloc((size_t)n->T + 1, sizeof(float));
    n->seq_max = scarp_calloc((size_t)n->T + 1, sizeof(float));
    n->summary_names = scarp_calloc((size_t)n->S + 1, 64);
    n->sum_min = scarp_calloc((size_t)n->S + 1, sizeof(float));
    n->sum_max = scarp_calloc((size_t)n->S + 1, sizeof(float));
    if (!n->layer_names || !n->layer_kinds || !n->channels || !n->var_names || !n->seq_min || !n->seq_max ||
        !n->summary_names || !n->sum_min || !n->sum_max)
        return SCARP_ERR_NOMEM;
    return SCARP_OK;
}

/* Summary features of a temporal variable: rainfall gets 4, any other variable 2. */
static int var_summaries(const char *name) { return strcmp(name, "rainfall") == 0 ? 4 : 2; }

static void summary_names_fill(scarp_norm *n)
{
    int s = 0;
    for (int v = 0; v < n->T; v++) {
        const char *nm = n->var_names[v];
        if (var_summaries(nm) == 4) {
            snprintf(n->summary_names[s++], 64, "%s_sum_%dd", nm, n->N);
            snprintf(n->summary_names[s++], 64, "%s_max_day", nm);
            snprintf(n->summary_names[s++], 64, "%s_sum_3d", nm);
            snprintf(n->summary_names[s++], 64, "%s_sum_7d", nm);
        } else {
            snprintf(n->summary_names[s++], 64, "%s_change", nm);
            snprintf(n->summary_names[s++], 64, "%s_mean", nm);
        }
    }
}

scarp_status scarp_norm_copy(scarp_norm *dst, const scarp_norm *src)
{
    void *blob = NULL;
    size_t bytes = 0;
    scarp_status st = scarp_norm_serialize(src, &blob, &bytes);
    if (st != SCARP_OK) return st;
    st = scarp_norm_deserialize(dst, blob, bytes);
    scarp_free(blob);
    return st;
}

/* Raw summaries (S values) of a raw sequence (N, T). */
static void raw_summaries(const scarp_norm *n, const float *seq, double *out)
{
    int s = 0, N = n->N, T = n->T;
    for (int v = 0; v < T; v++) {
        if (var_summaries(n->var_names[v]) == 4) {
            double sum = 0, mx = -INFINITY, s3 = 0, s7 = 0;
            for (int i = 0; i < N; i++) {
                double x = seq[(size_t)i * T + v];
                sum += x;
                if (x > mx) mx = x;
                if (i >= N - 3) s3 += x;
                if (i >= N - 7) s7 += x;
            }
            out[s++] = sum;
            out[s++] = mx;
            out[s++] = s3;
            out[s++] = s7;
        } else {
            double sum = 0;
            for (int i = 0; i < N; i++) sum += seq[(size_t)i * T + v];
            out[s++] = (double)seq[(size_t)(N - 1) * T + v] - seq[v];
            out[s++] = sum / N;
        }
    }
}

static inline float scale(float v, float mn, float mx) { return mx > mn ? (v - mn) / (mx - mn) : 0.0f; }

/* The normalised value of channel ch for a raw (non-NaN) value. */
static inline float channel_value(const scarp_norm_channel *ch, float v)
{
    switch (ch->kind) {
    case SCARP_CHANNEL_VALUE: return scale(v, ch->min, ch->max);
    case SCARP_CHANNEL_ONEHOT: return v == ch->category ? 1.0f : 0.0f;
    case SCARP_CHANNEL_SIN: return (float)sin(v * DEG2RAD);
    case SCARP_CHANNEL_COS: return (float)cos(v * DEG2RAD);
    }
    return 0.0f;
}

/* Channel means of the normalised values over the valid training cells (the nodata
 * fill), then the min–max of the daily values and of the temporal summaries, all over the
 * rows with split == TRAIN. The channel layout (norm->channels, min/max) is set. */
static void fit_means_and_temporal(scarp_norm *norm, int64_t n, const float *raw, const float *raw_seq,
                                   const uint8_t *split)
{
    const int L = norm->L, C = norm->C, N = norm->N, T = norm->T;
    const size_t HW = (size_t)norm->patch * norm->patch;
    /* Channel means of the normalised values over the valid training cells (nodata fill). */
    #pragma omp parallel for schedule(static)
    for (int cc = 0; cc < C; cc++) {
        scarp_norm_channel *ch = &norm->channels[cc];
        double sum = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++) {
            if (split[i] != SCARP_SPLIT_TRAIN) continue;
            const float *p = raw + ((size_t)i * L + ch->layer) * HW;
            for (size_t k = 0; k < HW; k++)
                if (!isnan(p[k])) sum += channel_value(ch, p[k]), cnt++;
        }
        ch->mean = cnt ? (float)(sum / (double)cnt) : 0.0f;
    }
    /* Temporal: min–max of daily values per variable, then of the summaries. */
    for (int v = 0; v < T; v++) {
        double mn = INFINITY, mx = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            if (split[i] != SCARP_SPLIT_TRAIN) continue;
            for (int d = 0; d < N; d++) {
                float x = raw_seq[((size_t)i * N + d) * T + v];
                if (x < mn) mn = x;
                if (x > mx) mx = x;
            }
        }
        norm->seq_min[v] = (float)mn;
        norm->seq_max[v] = (float)mx;
    }
    if (norm->S) {
        double s[64];
        for (int k = 0; k < norm->S; k++) norm->sum_min[k] = INFINITY, norm->sum_max[k] = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            if (split[i] != SCARP_SPLIT_TRAIN) continue;
            raw_summaries(norm, raw_seq + (size_t)i * N * T, s);
            for (int k = 0; k < norm->S; k++) {
                if (s[k] < norm->sum_min[k]) norm->sum_min[k] = (float)s[k];
                if (s[k] > norm->sum_max[k]) norm->sum_max[k] = (float)s[k];
            }
        }
    }
}

scarp_status scarp_norm_fit(scarp_norm *norm, const scarp_stack *stack, int64_t n, int patch, const float *raw,
                            int N, int T, const char *const *var_names, const float *raw_seq, const uint8_t *split)
{
    scarp_norm_init(norm);
    const int L = stack->n_layers;
    const size_t HW = (size_t)patch * patch;
    int64_t n_train = 0;
    for (int64_t i = 0; i < n; i++) n_train += split[i] == SCARP_SPLIT_TRAIN;
    if (n_train == 0) return scarp_fail(SCARP_ERR_INPUT, "normalisation: the training split is empty");

    /* Per layer: categories (categorical) and min/max (continuous), training rows only. */
    int ncat[SCARP_STACK_MAX_LAYERS] = {0};
    float cats[SCARP_STACK_MAX_LAYERS][MAX_CATEGORIES + 1];
    double lmin[SCARP_STACK_MAX_LAYERS], lmax[SCARP_STACK_MAX_LAYERS];
    int too_many = -1;
    #pragma omp parallel for schedule(static)
    for (int l = 0; l < L; l++) {
        double mn = INFINITY, mx = -INFINITY;
        int nc = 0;
        for (int64_t i = 0; i < n; i++) {
            if (split[i] != SCARP_SPLIT_TRAIN) continue;
            const float *p = raw + ((size_t)i * L + l) * HW;
            for (size_t k = 0; k < HW; k++) {
                float v = p[k];
                if (isnan(v)) continue;
                if (v < mn) mn = v;
                if (v > mx) mx = v;
                if (stack->layers[l].kind == SCARP_KIND_CATEGORICAL && nc <= MAX_CATEGORIES) {
                    int j = 0;
                    while (j < nc && cats[l][j] < v) j++;
                    if (j < nc && cats[l][j] == v) continue;
                    if (nc == MAX_CATEGORIES) {
                        nc++;
                        continue;
                    }
                    memmove(&cats[l][j + 1], &cats[l][j], sizeof(float) * (size_t)(nc - j));
                    cats[l][j] = v;
                    nc++;
                }
            }
        }
        lmin[l] = isfinite(mn) ? mn : 0.0;
        lmax[l] = isfinite(mx) ? mx : 0.0;
        ncat[l] = nc;
        if (nc > MAX_CATEGORIES) {
            #pragma omp critical
            too_many = l;
        }
    }
    if (too_many >= 0)
        return scarp_fail(SCARP_ERR_INPUT, "layer '%s': more than %d categories in the training patches; is it "
                          "really categorical (kind = continuous?)", stack->layers[too_many].name, MAX_CATEGORIES);

    norm->L = L;
    norm->patch = patch;
    norm->N = N;
    norm->T = T;
    int C = 0;
    for (int l = 0; l < L; l++) {
        scarp_layer_kind k = stack->layers[l].kind;
        C += k == SCARP_KIND_CATEGORICAL ? ncat[l] : k == SCARP_KIND_CIRCULAR ? 2 : 1;
    }
    norm->C = C;
    norm->S = 0;
    for (int v = 0; v < T; v++) norm->S += var_summaries(var_names[v]);
    scarp_status st = norm_alloc(norm);
    if (st != SCARP_OK) goto fail;
    int c = 0;
    for (int l = 0; l < L; l++) {
        const scarp_stack_layer *sl = &stack->layers[l];
        snprintf(norm->layer_names[l], 64, "%s", sl->name);
        norm->layer_kinds[l] = sl->kind;
        if (sl->kind == SCARP_KIND_CATEGORICAL) {
            for (int j = 0; j < ncat[l]; j++, c++) {
                scarp_norm_channel *ch = &norm->channels[c];
                snprintf(ch->name, 64, "%.40s=%g", sl->name, cats[l][j]);
                ch->layer = l;
                ch->kind = SCARP_CHANNEL_ONEHOT;
                ch->category = cats[l][j];
            }
        } else if (sl->kind == SCARP_KIND_CIRCULAR) {
            for (int j = 0; j < 2; j++, c++) {
                scarp_norm_channel *ch = &norm->channels[c];
                snprintf(ch->name, 64, "%.50s_%s", sl->name, j ? "cos" : "sin");
                ch->layer = l;
                ch->kind = j ? SCARP_CHANNEL_COS : SCARP_CHANNEL_SIN;
            }
        } else {
            scarp_norm_channel *ch = &norm->channels[c++];
            snprintf(ch->name, 64, "%s", sl->name);
            ch->layer = l;
            ch->kind = SCARP_CHANNEL_VALUE;
            ch->min = (float)lmin[l];
            ch->max = (float)lmax[l];
        }
    }
    for (int v = 0; v < T; v++) snprintf(norm->var_names[v], 32, "%s", var_names[v]);
    if (norm->S) summary_names_fill(norm);
    fit_means_and_temporal(norm, n, raw, raw_seq, split);
    return SCARP_OK;
fail:
    scarp_norm_free(norm);
    return st;
}

scarp_status scarp_norm_refit(scarp_norm *norm, const scarp_norm *layout, int64_t n, const float *raw,
                              const float *raw_seq, const uint8_t *split)
{
    int64_t n_train = 0;
    for (int64_t i = 0; i < n; i++) n_train += split[i] == SCARP_SPLIT_TRAIN;
    if (n_train == 0) return scarp_fail(SCARP_ERR_INPUT, "normalisation: the training rows are empty");
    scarp_status st = scarp_norm_copy(norm, layout);
    if (st) return st;
    const int L = norm->L;
    const size_t HW = (size_t)norm->patch * norm->patch;
    #pragma omp parallel for schedule(static)
    for (int c = 0; c < norm->C; c++) {
        scarp_norm_channel *ch = &norm->channels[c];
        if (ch->kind != SCARP_CHANNEL_VALUE) continue;
        double mn = INFINITY, mx = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            if (split[i] != SCARP_SPLIT_TRAIN) continue;
            const float *p = raw + ((size_t)i * L + ch->layer) * HW;
            for (size_t k = 0; k < HW; k++) {
                if (isnan(p[k])) continue;
                mn = fmin(mn, p[k]);
                mx = fmax(mx, p[k]);
            }
        }
        ch->min = isfinite(mn) ? (float)mn : 0.0f;
        ch->max = isfinite(mx) ? (float)mx : 0.0f;
    }
    fit_means_and_temporal(norm, n, raw, raw_seq, split);
    return SCARP_OK;
}

void scarp_norm_apply_window(const scarp_norm *norm, const float *raw, int64_t h, int64_t w, float *out)
{
    const size_t hw = (size_t)h * (size_t)w;
    for (int c = 0; c < norm->C; c++) {
        const scarp_norm_channel *ch = &norm->channels[c];
        const float *restrict in = raw + (size_t)ch->layer * hw; /* (h, w) */
        float *restrict o = out + (size_t)c * hw;                /* (h, w) */
        for (size_t k = 0; k < hw; k++) o[k] = isnan(in[k]) ? ch->mean : channel_value(ch, in[k]);
    }
}

void scarp_norm_apply_sequence(const scarp_norm *norm, const float *raw, float *out)
{
    for (int d = 0; d < norm->N; d++)
        for (int v = 0; v < norm->T; v++) {
            size_t k = (size_t)d * norm->T + v;
            out[k] = scale(raw[k], norm->seq_min[v], norm->seq_max[v]);
        }
}

void scarp_norm_temporal_summaries(const scarp_norm *norm, const float *raw_seq, float *out)
{
    double s[64];
    raw_summaries(norm, raw_seq, s);
    for (int k = 0; k < norm->S; k++) out[k] = scale((float)s[k], norm->sum_min[k], norm->sum_max[k]);
}

void scarp_norm_tabular(const scarp_norm *norm, const float *patch, const float *raw_seq, float *out)
{
    const int H = norm->patch;
    const size_t centre = (size_t)(H / 2) * H + (size_t)(H / 2);
    for (int c = 0; c < norm->C; c++) out[c] = patch[(size_t)c * H * H + centre];
    if (norm->S && raw_seq) scarp_norm_temporal_summaries(norm, raw_seq, out + norm->C);
}

scarp_status scarp_norm_check_stack(const scarp_norm *norm, const scarp_stack *stack)
{
    if (stack->n_layers != norm->L)
        return scarp_fail(SCARP_ERR_INPUT, "%s: the stack has %d layers, the model was trained on %d", stack->dir,
                          stack->n_layers, norm->L);
    for (int l = 0; l < norm->L; l++)
        if (strcmp(stack->layers[l].name, norm->layer_names[l]) != 0 || (int)stack->layers[l].kind != norm->layer_kinds[l])
            return scarp_fail(SCARP_ERR_INPUT, "%s: stack layer %d is '%s', the model expects '%s'", stack->dir, l + 1,
                              stack->layers[l].name, norm->layer_names[l]);
    return SCARP_OK;
}

scarp_status scarp_norm_remap(scarp_norm *norm, const scarp_stack *stack)
{
    int map[SCARP_STACK_MAX_LAYERS];
    if (norm->L > SCARP_STACK_MAX_LAYERS)
        return scarp_fail(SCARP_ERR_INPUT, "the model has %d layers, at most %d", norm->L, SCARP_STACK_MAX_LAYERS);
    for (int l = 0; l < norm->L; l++) {
        map[l] = scarp_stack_layer_index(stack, norm->layer_names[l]);
        if (map[l] < 0) {
            char have[512];
            size_t n = 0;
            have[0] = 0;
            for (int j = 0; j < stack->n_layers && n < sizeof have; j++)
                n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", j ? " " : "", stack->layers[j].name);
            return scarp_fail(SCARP_ERR_INPUT, "factor '%s' of the model is not among the layers of %s (%s)",
                              norm->layer_names[l], stack->dir, have);
        }
        if ((int)stack->layers[map[l]].kind != norm->layer_kinds[l])
            return scarp_fail(SCARP_ERR_INPUT, "factor '%s' is %s in %s, the model was trained on a %s layer",
                              norm->layer_names[l], scarp__kind_name(stack->layers[map[l]].kind), stack->dir,
                              scarp__kind_name((scarp_layer_kind)norm->layer_kinds[l]));
    }
    char(*names)[64] = scarp_calloc((size_t)stack->n_layers + 1, 64);
    int *kinds = scarp_calloc((size_t)stack->n_layers + 1, sizeof(int));
    if (!names || !kinds) {
        scarp_free(names), scarp_free(kinds);
        return SCARP_ERR_NOMEM;
    }
    for (int j = 0; j < stack->n_layers; j++) {
        snprintf(names[j], 64, "%s", stack->layers[j].name);
        kinds[j] = stack->layers[j].kind;
    }
    for (int c = 0; c < norm->C; c++) norm->channels[c].layer = map[norm->channels[c].layer];
    scarp_free(norm->layer_names);
    scarp_free(norm->layer_kinds);
    norm->layer_names = names;
    norm->layer_kinds = kinds;
    norm->L = stack->n_layers;
    return SCARP_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Serialisation: "SCNORM01", u32 version, i32 L C patch N T S, layers (name[64], i32
 * kind), channels (name[64], i32 layer, i32 kind, f32 category min max mean), variables
 * (name[32], f32 min max), summaries (name[64], f32 min max), u32 CRC-32 of all before.
 * Native little-endian. */
/* ---------------------------------------------------------------------------------- */

#define NORM_MAGIC "SCNORM01"
#define NORM_VERSION 1u

static size_t norm_bytes(const scarp_norm *n)
{
    return 8 + 4 + 6 * 4 + (size_t)n->L * (64 + 4) + (size_t)n->C * (64 + 6 * 4) + (size_t)n->T * (32 + 8) +
           (size_t)n->S * (64 + 8) + 4;
}

#define PUT(ptr, val) do { memcpy((ptr), &(val), sizeof(val)); (ptr) += sizeof(val); } while (0)
#define GET(ptr, val) do { memcpy(&(val), (ptr), sizeof(val)); (ptr) += sizeof(val); } while (0)

scarp_status scarp_norm_serialize(const scarp_norm *n, void **blob, size_t *bytes)
{
    size_t sz = norm_bytes(n);
    unsigned char *b = scarp_malloc(sz), *p = b;
    if (!b) return SCARP_ERR_NOMEM;
    memcpy(p, NORM_MAGIC, 8);
    p += 8;
    uint32_t ver = NORM_VERSION;
    PUT(p, ver);
    int32_t dims[6] = {n->L, n->C, n->patch, n->N, n->T, n->S};
    for (int i = 0; i < 6; i++) PUT(p, dims[i]);
    for (int l = 0; l < n->L; l++) {
        memcpy(p, n->layer_names[l], 64);
        p += 64;
        int32_t k = n->layer_kinds[l];
        PUT(p, k);
    }
    for (int c = 0; c < n->C; c++) {
        const scarp_norm_channel *ch = &n->channels[c];
        memcpy(p, ch->name, 64);
        p += 64;
        int32_t layer = ch->layer, kind = ch->kind;
        PUT(p, layer);
        PUT(p, kind);
        PUT(p, ch->category);
        PUT(p, ch->min);
        PUT(p, ch->max);
        PUT(p, ch->mean);
    }
    for (int v = 0; v < n->T; v++) {
        memcpy(p, n->var_names[v], 32);
        p += 32;
        PUT(p, n->seq_min[v]);
        PUT(p, n->seq_max[v]);
    }
    for (int s = 0; s < n->S; s++) {
        memcpy(p, n->summary_names[s], 64);
        p += 64;
        PUT(p, n->sum_min[s]);
        PUT(p, n->sum_max[s]);
    }
    uint32_t crc = scarp_crc32(0, b, (size_t)(p - b));
    PUT(p, crc);
    *blob = b;
    *bytes = sz;
    return SCARP_OK;
}

scarp_status scarp_norm_deserialize(scarp_norm *n, const void *blob, size_t bytes)
{
    scarp_norm_init(n);
    const unsigned char *b = blob, *p = b;
    if (bytes < 8 + 4 + 24 + 4 || memcmp(b, NORM_MAGIC, 8) != 0)
        return scarp_fail(SCARP_ERR_INPUT, "normalisation block: not a scarp normalisation (bad magic or too short)");
    p += 8;
    uint32_t ver;
    GET(p, ver);
    if (ver != NORM_VERSION)
        return scarp_fail(SCARP_ERR_INPUT, "normalisation block: version %u, this build reads %u", ver, NORM_VERSION);
    int32_t d[6];
    for (int i = 0; i < 6; i++) GET(p, d[i]);
    if (d[0] < 0 || d[0] > SCARP_STACK_MAX_LAYERS || d[1] < 0 || d[1] > 100000 || d[2] < 1 || d[2] > 4096 || d[3] < 0 ||
        d[3] > 100000 || d[4] < 0 || d[4] > 2 || d[5] < 0 || d[5] > 64)
        return scarp_fail(SCARP_ERR_INPUT, "normalisation block: damaged header");
    n->L = d[0];
    n->C = d[1];
    n->patch = d[2];
    n->N = d[3];
    n->T = d[4];
    n->S = d[5];
    if (norm_bytes(n) != bytes) {
        size_t want = norm_bytes(n);
        scarp_norm_init(n);
        return scarp_fail(SCARP_ERR_INPUT, "normalisation block: %zu bytes, its header says %zu (truncated or damaged)",
                          bytes, want);
    }
    uint32_t crc_stored;
    memcpy(&crc_stored, b + bytes - 4, 4);
    if (scarp_crc32(0, b, bytes - 4) != crc_stored) {
        scarp_norm_init(n);
        return scarp_fail(SCARP_ERR_INPUT, "normalisation block: CRC mismatch (damaged)");
    }
    scarp_status st = norm_alloc(n);
    if (st != SCARP_OK) {
        scarp_norm_free(n);
        return st;
    }
    for (int l = 0; l < n->L; l++) {
        memcpy(n->layer_names[l], p, 64);
        n->layer_names[l][63] = 0;
        p += 64;
        int32_t k;
        GET(p, k);
        n->layer_kinds[l] = k;
    }
    for (int c = 0; c < n->C; c++) {
        scarp_norm_channel *ch = &n->channels[c];
        memcpy(ch->name, p, 64);
        ch->name[63] = 0;
        p += 64;
        int32_t layer, kind;
        GET(p, layer);
        GET(p, kind);
        if (layer < 0 || layer >= n->L || kind < 0 || kind > SCARP_CHANNEL_COS) {
            scarp_norm_free(n);
            return scarp_fail(SCARP_ERR_INPUT, "normalisation block: damaged channel %d", c);
        }
        ch->layer = layer;
        ch->kind = (scarp_channel_kind)kind;
        GET(p, ch->category);
        GET(p, ch->min);
        GET(p, ch->max);
        GET(p, ch->mean);
    }
    for (int v = 0; v < n->T; v++) {
        memcpy(n->var_names[v], p, 32);
        n->var_names[v][31] = 0;
        p += 32;
        GET(p, n->seq_min[v]);
        GET(p, n->seq_max[v]);
    }
    for (int s = 0; s < n->S; s++) {
        memcpy(n->summary_names[s], p, 64);
        n->summary_names[s][63] = 0;
        p += 64;
        GET(p, n->sum_min[s]);
        GET(p, n->sum_max[s]);
    }
    return SCARP_OK;
}
