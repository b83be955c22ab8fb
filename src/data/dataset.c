/* dataset.c — the prepared dataset: ownership, k-fold / repeated runs, and the binary file
 * OUT/dataset.bin (header with magic, version and sizes; the arrays; names, factors, grid
 * and the normalisation blob; CRC-32 of everything at the end), written crash-safely. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"

#define DSET_MAGIC "SCDSET01"
#define DSET_VERSION 1u

void scarp_dataset_init(scarp_dataset *d)
{
    memset(d, 0, sizeof *d);
    scarp_norm_init(&d->norm);
    scarp_grid_init(&d->grid);
}

void scarp_dataset_free(scarp_dataset *d)
{
    if (!d) return;
    scarp_free_aligned(d->patches);
    scarp_free_aligned(d->seq);
    scarp_free_aligned(d->tab);
    scarp_free(d->label);
    scarp_free(d->x);
    scarp_free(d->y);
    scarp_free(d->col);
    scarp_free(d->row);
    scarp_free(d->date);
    scarp_free(d->split);
    scarp_free(d->block);
    scarp_free(d->same_cell);
    scarp_free(d->fold);
    scarp_free(d->channel_names);
    scarp_free(d->feature_names);
    for (int i = 0; i < d->n_factors && d->factors; i++) {
        scarp_free(d->factors[i].channels);
        scarp_free(d->factors[i].features);
    }
    scarp_free(d->factors);
    scarp_free(d->raw);
    scarp_free(d->raw_seq);
    scarp_norm_free(&d->norm);
    scarp_grid_free(&d->grid);
    memset(d, 0, sizeof *d);
}

int scarp_dataset_n_runs(const scarp_dataset *d)
{
    int f = d->folds > 1 ? d->folds : 1, r = d->repeats > 1 ? d->repeats : 1;
    return d->fold ? f * r : 1;
}

scarp_status scarp_dataset_run_split(const scarp_dataset *d, int run, uint8_t *out)
{
    int nr = scarp_dataset_n_runs(d);
    if (run < 0 || run >= nr) return scarp_fail(SCARP_ERR_USAGE, "dataset: run %d out of 0..%d", run, nr - 1);
    if (!d->fold) {
        memcpy(out, d->split, (size_t)d->n);
        return SCARP_OK;
    }
    if (d->folds > 1) {
        int r = run / d->folds, f = run % d->folds;
        const int16_t *fo = d->fold + (size_t)r * d->n;
        for (int64_t i = 0; i < d->n; i++) out[i] = fo[i] == f ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN;
    } else {
        const int16_t *fo = d->fold + (size_t)run * d->n;
        for (int64_t i = 0; i < d->n; i++) out[i] = (uint8_t)fo[i];
    }
    return SCARP_OK;
}

scarp_status scarp_dataset_apply_norm(scarp_dataset *d, const scarp_norm *norm)
{
    if (!d->raw) return scarp_fail(SCARP_ERR_INPUT, "dataset: no raw inputs kept (prepare it again with this version)");
    if (norm->C != d->C || norm->L != d->norm.L || norm->patch != d->H || norm->T != d->T || norm->S != d->F - d->C)
        return scarp_fail(SCARP_ERR_INPUT, "dataset: a normalisation with %d channels and %d layers does not fit "
                          "this dataset (%d channels, %d layers)", norm->C, norm->L, d->C, d->norm.L);
    const int C = d->C, H = d->H, L = norm->L, N = d->N, T = d->T;
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < d->n; i++) {
        float *pt = d->patches + (size_t)i * C * H * H;
        scarp_norm_apply_window(norm, d->raw + (size_t)i * L * H * H, H, H, pt);
        const float *rs = T ? d->raw_seq + (size_t)i * N * T : NULL;
        if (T) scarp_norm_apply_sequence(norm, rs, d->seq + (size_t)i * N * T);
        scarp_norm_tabular(norm, pt, rs, d->tab + (size_t)i * d->F);
    }
    return SCARP_OK;
}

int64_t scarp_dataset_count(const scarp_dataset *d, int split, int label)
{
    int64_t c = 0;
    for (int64_t i = 0; i < d->n; i++)
        if ((split < 0 || d->split[i] == split) && (label < 0 || d->label[i] == label)) c++;
    return c;
}

/* ---------------------------------------------------------------------------------- */
/* File format (native little-endian):
 *   "SCDSET01" u32 version u32 flags(1 seq, 2 fold)
 *   i64 n; i32 C H W N T F folds repeats n_factors; u64 norm_bytes; u32 wkt_bytes;
 *   f64 gt[6]; i64 grid_width grid_height
 *   f32 patches (n,C,H,W); f32 seq (n,N,T) [flag 1]; f32 tab (n,F)
 *   u8 label (n); f64 x (n); f64 y (n); i64 col (n); i64 row (n); i32 date (n); u8 split (n);
 *   i32 block (n); i16 fold (repeats,n) [flag 2]; u8 same_cell (n) [flag 4]
 *   char channel_names[C][64]; char feature_names[F][64]
 *   factors: char name[64], i32 n_channels, i32 n_features, i32 temporal_var,
 *            i32 channels[n_channels], i32 features[n_features]
 *   char wkt[wkt_bytes]; norm blob[norm_bytes];
 *   [flag 8] i32 L; f32 raw (n,L,H,W); f32 raw_seq (n,N,T) [flag 1]
 *   u32 CRC-32 of all the above. */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    uint32_t crc;
    int err;
} wstream;

static void wput(wstream *w, const void *p, size_t bytes)
{
    if (w->err || bytes == 0) return;
    if (fwrite(p, 1, bytes, w->f) != bytes) w->err = 1;
    w->crc = scarp_crc32(w->crc, p, bytes);
}

scarp_status scarp_dataset_save(const scarp_dataset *d, const char *path)
{
    char partial[SCARP_PATH_MAX + 16];
    scarp_status st = scarp_partial_name(partial, sizeof partial, path);
    if (st != SCARP_OK) return st;
    void *blob = NULL;
    size_t nb = 0;
    if ((st = scarp_norm_serialize(&d->norm, &blob, &nb)) != SCARP_OK) return st;
    wstream w = {fopen(partial, "wb"), 0, 0};
    if (!w.f) {
        scarp_free(blob);
        return scarp_fail(SCARP_ERR_IO, "%s: cannot create", partial);
    }
    const int64_t n = d->n;
    uint32_t ver = DSET_VERSION, flags = (d->seq && d->T > 0 ? 1u : 0u) | (d->fold ? 2u : 0u) | (d->same_cell ? 4u : 0u) | (d->raw ? 8u : 0u);
    int32_t dims[9] = {d->C, d->H, d->W, d->N, d->T, d->F, d->folds, d->repeats, d->n_factors};
    uint64_t norm_bytes = nb;
    const char *wkt = d->grid.wkt ? d->grid.wkt : "";
    uint32_t wkt_bytes = (uint32_t)strlen(wkt);
    int64_t gw = d->grid.width, gh = d->grid.height;
    wput(&w, DSET_MAGIC, 8);
    wput(&w, &ver, 4);
    wput(&w, &flags, 4);
    wput(&w, &n, 8);
    wput(&w, dims, sizeof dims);
    wput(&w, &norm_bytes, 8);
    wput(&w, &wkt_bytes, 4);
    wput(&w, d->grid.gt, sizeof d->grid.gt);
    wput(&w, &gw, 8);
    wput(&w, &gh, 8);
    wput(&w, d->patches, sizeof(float) * (size_t)n * d->C * d->H * d->W);
    if (flags & 1) wput(&w, d->seq, sizeof(float) * (size_t)n * d->N * d->T);
    wput(&w, d->tab, sizeof(float) * (size_t)n * d->F);
    wput(&w, d->label, (size_t)n);
    wput(&w, d->x, sizeof(double) * (size_t)n);
    wput(&w, d->y, sizeof(double) * (size_t)n);
    wput(&w, d->col, sizeof(int64_t) * (size_t)n);
    wput(&w, d->row, sizeof(int64_t) * (size_t)n);
    wput(&w, d->date, sizeof(int32_t) * (size_t)n);
    wput(&w, d->split, (size_t)n);
    wput(&w, d->block, sizeof(int32_t) * (size_t)n);
    if (flags & 2) wput(&w, d->fold, sizeof(int16_t) * (size_t)n * d->repeats);
    if (flags & 4) wput(&w, d->same_cell, (size_t)n);
    wput(&w, d->channel_names, 64 * (size_t)d->C);
    wput(&w, d->feature_names, 64 * (size_t)d->F);
    for (int i = 0; i < d->n_factors; i++) {
        const scarp_factor *fa = &d->factors[i];
        int32_t h3[3] = {fa->n_channels, fa->n_features, fa->temporal_var};
        wput(&w, fa->name, 64);
        wput(&w, h3, sizeof h3);
        for (int k = 0; k < fa->n_channels; k++) {
            int32_t v = fa->channels[k];
            wput(&w, &v, 4);
        }
        for (int k = 0; k < fa->n_features; k++) {
            int32_t v = fa->features[k];
            wput(&w, &v, 4);
        }
    }
    wput(&w, wkt, wkt_bytes);
    wput(&w, blob, nb);
    scarp_free(blob);
    if (flags & 8) { /* the raw inputs, for per-fold normalisation */
        int32_t L = d->norm.L;
        wput(&w, &L, 4);
        wput(&w, d->raw, sizeof(float) * (size_t)n * L * d->H * d->W);
        if (flags & 1) wput(&w, d->raw_seq, sizeof(float) * (size_t)n * d->N * d->T);
    }
    uint32_t crc = w.crc;
    if (!w.err && fwrite(&crc, 4, 1, w.f) != 1) w.err = 1;
    if (fclose(w.f) != 0) w.err = 1;
    if (w.err) {
        remove(partial);
        return scarp_fail(SCARP_ERR_IO, "%s: write failed (disk full?)", partial);
    }
    if ((st = scarp_commit_file(partial, path)) != SCARP_OK) remove(partial);
    return st;
}

typedef struct {
    FILE *f;
    uint32_t crc;
    int err;
    const char *path;
} rstream;

static int rget(rstream *r, void *p, size_t bytes)
{
    if (r->err) return -1;
    if (bytes == 0) return 0;
    if (fread(p, 1, bytes, r->f) != bytes) {
        r->err = 1;
        return -1;
    }
    r->crc = scarp_crc32(r->crc, p, bytes);
    return 0;
}

scarp_status scarp_dataset_load(scarp_dataset *d, const char *path)
{
    scarp_dataset_init(d);
    rstream r = {fopen(path, "rb"), 0, 0, path};
    if (!r.f) return scarp_fail(SCARP_ERR_IO, "%s: cannot open", path);
    fseek(r.f, 0, SEEK_END);
    long long fsize = ftell(r.f);
    fseek(r.f, 0, SEEK_SET);
    scarp_status st = SCARP_OK;
    char magic[8];
    uint32_t ver = 0, flags = 0, wkt_bytes = 0;
    int64_t n = 0, gw = 0, gh = 0;
    int32_t dims[9];
    uint64_t norm_bytes = 0;
    double gt[6];
    void *blob = NULL;
    int32_t raw_layers = 0;
    if (rget(&r, magic, 8) || memcmp(magic, DSET_MAGIC, 8) != 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: not a scarp dataset (bad magic)", path);
        goto fail;
    }
    if (rget(&r, &ver, 4) || ver != DSET_VERSION) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: dataset format version %u, this build reads %u", path, ver, DSET_VERSION);
        goto fail;
    }
    rget(&r, &flags, 4);
    rget(&r, &n, 8);
    rget(&r, dims, sizeof dims);
    rget(&r, &norm_bytes, 8);
    rget(&r, &wkt_bytes, 4);
    rget(&r, gt, sizeof gt);
    rget(&r, &gw, 8);
    if (rget(&r, &gh, 8) || n < 0 || n > ((int64_t)1 << 40) || dims[0] < 0 || dims[0] > 100000 || dims[1] < 1 ||
        dims[1] > 4096 || dims[2] < 1 || dims[2] > 4096 || dims[3] < 0 || dims[3] > 100000 || dims[4] < 0 ||
        dims[4] > 2 || dims[5] < 0 || dims[5] > 200000 || dims[6] < 0 || dims[6] > 100 || dims[7] < 0 ||
        dims[7] > 1000 || dims[8] < 0 || dims[8] > 100000 || norm_bytes > ((uint64_t)1 << 30) || wkt_bytes > (1u << 24)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged dataset header", path);
        goto fail;
    }
    d->n = n;
    d->C = dims[0], d->H = dims[1], d->W = dims[2], d->N = dims[3], d->T = dims[4], d->F = dims[5];
    d->folds = dims[6], d->repeats = dims[7];
    int n_factors = dims[8];
    if ((flags & 2) && d->repeats < 1) { /* fold rows are stored per repeat: 0 would index past them */
        st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged dataset header (folds stored with %d repeats)", path, d->repeats);
        goto fail;
    }
    /* the fixed part of the size must fit in the file before anything is allocated;
     * in double: a damaged header's products overflow 64-bit integers (n up to 2^40) */
    double dn = (double)n;
    double fixed = 8 + 4 + 4 + 8 + (double)sizeof dims + 8 + 4 + 48 + 16 + 4.0 * dn * d->C * d->H * d->W +
                   ((flags & 1) ? 4.0 * dn * d->N * d->T : 0) + 4.0 * dn * d->F + dn * (1 + 8 + 8 + 8 + 8 + 4 + 1 + 4) +
                   ((flags & 2) ? 2.0 * dn * d->repeats : 0) + ((flags & 4) ? dn : 0) + 64.0 * d->C + 64.0 * d->F + (double)wkt_bytes +
                   (double)norm_bytes + 4;
    if (fixed > (double)fsize) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: truncated (%lld bytes, at least %.0f needed)", path, fsize, fixed);
        goto fail;
    }
    size_t sz_p = sizeof(float) * (size_t)n * d->C * d->H * d->W;
    d->patches = scarp_malloc_aligned(sz_p ? sz_p : 64);
    d->tab = scarp_malloc_aligned(sizeof(float) * (size_t)(n * d->F) + 64);
    if ((flags & 1) && !(d->seq = scarp_malloc_aligned(sizeof(float) * (size_t)n * d->N * d->T + 64))) goto nomem;
    d->label = scarp_malloc((size_t)n + 1);
    d->x = scarp_malloc(sizeof(double) * (size_t)n + 8);
    d->y = scarp_malloc(sizeof(double) * (size_t)n + 8);
    d->col = scarp_malloc(sizeof(int64_t) * (size_t)n + 8);
    d->row = scarp_malloc(sizeof(int64_t) * (size_t)n + 8);
    d->date = scarp_malloc(sizeof(int32_t) * (size_t)n + 4);
    d->split = scarp_malloc((size_t)n + 1);
    d->block = scarp_malloc(sizeof(int32_t) * (size_t)n + 4);
    d->channel_names = scarp_calloc((size_t)d->C + 1, 64);
    d->feature_names = scarp_calloc((size_t)d->F + 1, 64);
    d->factors = scarp_calloc((size_t)n_factors + 1, sizeof(scarp_factor));
    if (!d->patches || !d->tab || !d->label || !d->x || !d->y || !d->col || !d->row || !d->date || !d->split ||
        !d->block || !d->channel_names || !d->feature_names || !d->factors)
        goto nomem;
    if ((flags & 2) && !(d->fold = scarp_malloc(sizeof(int16_t) * (size_t)n * d->repeats + 2))) goto nomem;
    if ((flags & 4) && !(d->same_cell = scarp_malloc((size_t)n + 1))) goto nomem;
    rget(&r, d->patches, sz_p);
    if (flags & 1) rget(&r, d->seq, sizeof(float) * (size_t)n * d->N * d->T);
    rget(&r, d->tab, sizeof(float) * (size_t)n * d->F);
    rget(&r, d->label, (size_t)n);
    rget(&r, d->x, sizeof(double) * (size_t)n);
    rget(&r, d->y, sizeof(double) * (size_t)n);
    rget(&r, d->col, sizeof(int64_t) * (size_t)n);
    rget(&r, d->row, sizeof(int64_t) * (size_t)n);
    rget(&r, d->date, sizeof(int32_t) * (size_t)n);
    rget(&r, d->split, (size_t)n);
    rget(&r, d->block, sizeof(int32_t) * (size_t)n);
    if (flags & 2) rget(&r, d->fold, sizeof(int16_t) * (size_t)n * d->repeats);
    if (flags & 4) rget(&r, d->same_cell, (size_t)n);
    rget(&r, d->channel_names, 64 * (size_t)d->C);
    rget(&r, d->feature_names, 64 * (size_t)d->F);
    for (int i = 0; i < d->C; i++) d->channel_names[i][63] = 0;
    for (int i = 0; i < d->F; i++) d->feature_names[i][63] = 0;
    for (int i = 0; i < n_factors && !r.err; i++) {
        scarp_factor *fa = &d->factors[i];
        int32_t h3[3];
        rget(&r, fa->name, 64);
        fa->name[63] = 0;
        if (rget(&r, h3, sizeof h3) || h3[0] < 0 || h3[0] > d->C || h3[1] < 0 || h3[1] > d->F || h3[2] < -1 ||
            h3[2] >= (d->T > 0 ? d->T : 1)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged factor table", path);
            goto fail;
        }
        d->n_factors = i + 1;
        fa->n_channels = h3[0], fa->n_features = h3[1], fa->temporal_var = h3[2];
        fa->channels = scarp_malloc(sizeof(int) * (size_t)(h3[0] + 1));
        fa->features = scarp_malloc(sizeof(int) * (size_t)(h3[1] + 1));
        if (!fa->channels || !fa->features) goto nomem;
        for (int k = 0; k < h3[0]; k++) {
            int32_t v = -1;
            rget(&r, &v, 4);
            if (v < 0 || v >= d->C) r.err = 2;
            fa->channels[k] = v;
        }
        for (int k = 0; k < h3[1]; k++) {
            int32_t v = -1;
            rget(&r, &v, 4);
            if (v < 0 || v >= d->F) r.err = 2;
            fa->features[k] = v;
        }
    }
    d->grid.wkt = scarp_malloc(wkt_bytes + 1);
    blob = scarp_malloc(norm_bytes + 1);
    if (!d->grid.wkt || !blob) goto nomem;
    rget(&r, d->grid.wkt, wkt_bytes);
    d->grid.wkt[wkt_bytes] = 0;
    memcpy(d->grid.gt, gt, sizeof gt);
    d->grid.width = gw;
    d->grid.height = gh;
    rget(&r, blob, norm_bytes);
    if (flags & 8) {
        int32_t L = 0;
        if (rget(&r, &L, 4) || L < 1 || L > 4096 ||
            (double)ftell(r.f) + 4.0 * dn * L * d->H * d->W + ((flags & 1) ? 4.0 * dn * d->N * d->T : 0) + 4 >
                (double)fsize) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged or truncated raw inputs", path);
            goto fail;
        }
        d->raw = scarp_malloc(sizeof(float) * (size_t)n * L * d->H * d->W + 4);
        if ((flags & 1) && !(d->raw_seq = scarp_malloc(sizeof(float) * (size_t)n * d->N * d->T + 4))) goto nomem;
        if (!d->raw) goto nomem;
        rget(&r, d->raw, sizeof(float) * (size_t)n * L * d->H * d->W);
        if (flags & 1) rget(&r, d->raw_seq, sizeof(float) * (size_t)n * d->N * d->T);
        raw_layers = L;
    }
    uint32_t crc_calc = r.crc, crc_file = 0;
    if (r.err || fread(&crc_file, 4, 1, r.f) != 1) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: truncated or damaged dataset", path);
        goto fail;
    }
    if (crc_calc != crc_file) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: CRC mismatch: the dataset file is damaged", path);
        goto fail;
    }
    if (ftell(r.f) != fsize) { /* bytes after the CRC: not a file this code wrote */
        st = scarp_fail(SCARP_ERR_INPUT, "%s: %lld unexpected bytes after the end of the dataset", path,
                        fsize - (long long)ftell(r.f));
        goto fail;
    }
    for (int64_t i = 0; i < n; i++)
        if (d->label[i] > 1 || d->split[i] > 2 || (d->same_cell && (d->same_cell[i] > 1 || (d->same_cell[i] && d->label[i])))) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged labels or splits", path);
            goto fail;
        }
    if (d->fold) {
        /* k folds: fold ids 0..k-1; repeats without folds: a split (0 train, 1 val, 2 test) */
        const int limit = d->folds > 1 ? d->folds : 3;
        for (int64_t i = 0; i < n * (int64_t)d->repeats; i++)
            if (d->fold[i] < 0 || d->fold[i] >= limit) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged fold table (value %d, expected 0..%d)", path,
                                (int)d->fold[i], limit - 1);
                goto fail;
            }
    }
    if ((st = scarp_norm_deserialize(&d->norm, blob, norm_bytes)) != SCARP_OK) {
        st = scarp_fail(st, "%s: %s", path, scarp_last_error());
        goto fail;
    }
    /* the blob must describe these samples: renormalisation and training index the
     * patches, sequences and features by its sizes (fuzz finding
     * tests/fuzz/crashes/dataset_norm_channels_mismatch.bin) */
    if (d->norm.C != d->C || d->norm.T != d->T || d->F != d->C + d->norm.S) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged dataset: the normalisation is for %d channels, %d temporal "
                        "variables and %d features, the samples have %d, %d and %d", path, d->norm.C, d->norm.T,
                        d->norm.C + d->norm.S, d->C, d->T, d->F);
        goto fail;
    }
    if (d->raw && raw_layers != d->norm.L) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: raw inputs hold %d layers, the normalisation %d", path, raw_layers,
                        d->norm.L);
        goto fail;
    }
    scarp_free(blob);
    fclose(r.f);
    return SCARP_OK;
nomem:
    st = scarp_fail(SCARP_ERR_NOMEM, "%s: out of memory loading the dataset", path);
fail:
    scarp_free(blob);
    fclose(r.f);
    scarp_dataset_free(d);
    return st;
}
