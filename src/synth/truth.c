/* truth.c — the synthetic province's truth read back from the files `scarp synth` writes
 * (truth.json, truth.tif, truth_a.tif, truth_b.tif, truth_ms.tif, truth_series.csv), so that
 * `scarp evaluate` can score the truth itself on the very samples the models are scored on.
 *
 * Daily failure probability of a cell on day D (docs/03-synth.md, "The truth"): the same
 * computation as the generator's (tile.c synth_hazard, weather.c synth_dynamic_wetness):
 *   p(cell, D) = p0 · σ((1 − FS)/width),  FS = a − b·clamp(m_s + m_d, 0, 1)
 *   m_d = m_rain·min(1, R30/80 mm) + max_k 0.35·e^(−d_k/1.5 km)·min(1, drawdown_k/6 m)
 * with R30 the rain of days D−30 … D−1 interpolated by IDW (weights 1/max(d², 100 m²)) at the
 * centre of the cell's 32 × 32-cell block, and drawdown_k = level_k(D−30) − level_k(D−1) of
 * each of the first 8 reservoirs within 6 km (positive drops only). Infinite slope with
 * seepage parallel to the surface: Skempton & DeLory (1957); Hammond et al. (1992). */
#include <cjson/cJSON.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/synth.h"

struct scarp_synth_truth {
    char dir[SCARP_PATH_MAX];
    char file[4][SCARP_PATH_MAX]; /* static, a, b, m_s */
    int32_t first;                /* date of day 0 */
    int n_days, window, block, n_st, n_res, max_res;
    double p0, width, cs, x0, y0, idw_min_d2, m_rain, r30_ref, res_reach, res_gain, res_decay, dd_ref;
    double *st_xy, *res_xy;       /* (n_st, 2), (n_res, 2) world */
    float *r30;                   /* (n_st, n_days): rain of the 30 days before, NaN before */
    float *level;                 /* (n_res, n_days) */
};

void scarp_synth_truth_free(scarp_synth_truth *t)
{
    if (!t) return;
    scarp_free(t->st_xy);
    scarp_free(t->res_xy);
    scarp_free(t->r30);
    scarp_free(t->level);
    scarp_free(t);
}

static int num(const cJSON *root, const char *key, double *v)
{
    const cJSON *o = cJSON_GetObjectItem(root, key);
    if (!cJSON_IsNumber(o)) return -1;
    *v = o->valuedouble;
    return 0;
}

static int xy_list(const cJSON *root, const char *key, double **xy, int *n)
{
    const cJSON *a = cJSON_GetObjectItem(root, key);
    if (!cJSON_IsArray(a)) return -1;
    *n = cJSON_GetArraySize(a);
    *xy = scarp_malloc(sizeof(double) * 2 * (size_t)(*n + 1));
    if (!*xy) return -1;
    int i = 0;
    for (const cJSON *p = a->child; p; p = p->next, i++) {
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(p->child) ||
            !cJSON_IsNumber(p->child->next))
            return -1;
        (*xy)[2 * i] = p->child->valuedouble;
        (*xy)[2 * i + 1] = p->child->next->valuedouble;
    }
    return 0;
}

static scarp_status read_series(scarp_synth_truth *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return scarp_fail(SCARP_ERR_IO, "%s: cannot open", path);
    const int nc = t->n_st + t->n_res;
    float *rain = scarp_malloc(sizeof(float) * (size_t)(t->n_st ? t->n_st : 1) * (size_t)t->n_days);
    t->r30 = scarp_malloc(sizeof(float) * (size_t)(t->n_st ? t->n_st : 1) * (size_t)t->n_days);
    t->level = scarp_malloc(sizeof(float) * (size_t)(t->n_res ? t->n_res : 1) * (size_t)t->n_days);
    size_t cap = 64 + 32 * (size_t)nc;
    char *line = scarp_malloc(cap);
    scarp_status st = SCARP_OK;
    if (!rain || !t->r30 || !t->level || !line) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if (!fgets(line, (int)cap, f)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: empty", path);
        goto end;
    }
    for (int d = 0; d < t->n_days; d++) {
        if (!fgets(line, (int)cap, f)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: %d days, truth.json says %d", path, d, t->n_days);
            goto end;
        }
        char *p = strchr(line, ',');
        for (int k = 0; k < nc; k++) {
            if (!p) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: line %d: %d values, %d expected", path, d + 2, k, nc);
                goto end;
            }
            char *e;
            double v = strtod(p + 1, &e);
            if (e == p + 1) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: line %d, column %d: not a number", path, d + 2, k + 2);
                goto end;
            }
            if (k < t->n_st) rain[(size_t)k * t->n_days + d] = (float)v;
            else t->level[(size_t)(k - t->n_st) * t->n_days + d] = (float)v;
            p = strchr(e, ',');
        }
    }
    /* r30[d] = rain of days d−30 … d−1, accumulated exactly as the generator does (weather.c) */
    for (int i = 0; i < t->n_st; i++) {
        const float *r = rain + (size_t)i * t->n_days;
        float *o = t->r30 + (size_t)i * t->n_days;
        double run = 0;
        for (int d = 0; d < t->n_days; d++) {
            o[d] = d >= t->window ? (float)run : NAN;
            run += r[d];
            if (d >= t->window) run -= r[d - t->window];
        }
    }
end:
    fclose(f);
    scarp_free(rain);
    scarp_free(line);
    return st;
}

scarp_status scarp_synth_truth_open(scarp_synth_truth **out, const char *json_path)
{
    *out = NULL;
    char *text = NULL;
    size_t n = 0;
    scarp_status st = scarp_read_file(json_path, &text, &n);
    if (st) return st;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    if (!root) return scarp_fail(SCARP_ERR_INPUT, "%s: not valid JSON", json_path);
    scarp_synth_truth *t = scarp_calloc(1, sizeof *t);
    if (!t) {
        cJSON_Delete(root);
        return SCARP_ERR_NOMEM;
    }
    snprintf(t->dir, sizeof t->dir, "%s", json_path);
    char *slash = strrchr(t->dir, '/');
    if (slash) slash[1] = 0;
    else t->dir[0] = 0;
    static const char *const keys[4] = {"static", "a", "b", "m_s"};
    double nd = 0, win = 0, blk = 0, maxr = 0;
    const cJSON *fd = cJSON_GetObjectItem(root, "first_date"), *se = cJSON_GetObjectItem(root, "series");
    int bad = !cJSON_IsString(fd) || scarp_date_parse(fd->valuestring, &t->first) != 0 || !cJSON_IsString(se) ||
              num(root, "n_days", &nd) || num(root, "p0", &t->p0) || num(root, "width", &t->width) ||
              num(root, "window", &win) || num(root, "block", &blk) || num(root, "cellsize", &t->cs) ||
              num(root, "x0", &t->x0) || num(root, "y0", &t->y0) || num(root, "idw_min_d2", &t->idw_min_d2) ||
              num(root, "m_rain", &t->m_rain) || num(root, "r30_ref", &t->r30_ref) ||
              num(root, "reservoir_reach", &t->res_reach) || num(root, "reservoir_gain", &t->res_gain) ||
              num(root, "reservoir_decay", &t->res_decay) || num(root, "drawdown_ref", &t->dd_ref) ||
              num(root, "max_reservoirs", &maxr) || xy_list(root, "stations", &t->st_xy, &t->n_st) ||
              xy_list(root, "reservoirs", &t->res_xy, &t->n_res);
    for (int k = 0; k < 4 && !bad; k++) {
        const cJSON *o = cJSON_GetObjectItem(root, keys[k]);
        if (!cJSON_IsString(o)) bad = 1;
        else snprintf(t->file[k], sizeof t->file[k], "%s%s", o->valuestring[0] == '/' ? "" : t->dir, o->valuestring);
    }
    char series[SCARP_PATH_MAX];
    if (!bad) snprintf(series, sizeof series, "%s%s", se->valuestring[0] == '/' ? "" : t->dir, se->valuestring);
    cJSON_Delete(root);
    t->n_days = (int)nd, t->window = (int)win, t->block = (int)blk, t->max_res = (int)maxr;
    if (bad || t->n_days < 1 || t->n_days > 1000000 || t->window < 1 || t->block < 1 || !(t->cs > 0) ||
        !(t->width > 0) || t->n_st < 1) {
        scarp_synth_truth_free(t);
        return scarp_fail(SCARP_ERR_INPUT, "%s: not a truth file of `scarp synth` (a key is missing or out of range)",
                          json_path);
    }
    if ((st = read_series(t, series))) {
        scarp_synth_truth_free(t);
        return st;
    }
    *out = t;
    return SCARP_OK;
}

/* Values of one raster band at world points (NaN off the raster or on nodata). */
static scarp_status read_points(const char *path, const double *x, const double *y, size_t n, double *out)
{
    scarp_gdal_init();
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) return scarp_fail(SCARP_ERR_IO, "%s: cannot open", path);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    double gt[6];
    GDALGetGeoTransform(ds, gt);
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(b, &has_nd);
    const int W = GDALGetRasterXSize(ds), H = GDALGetRasterYSize(ds);
    scarp_status st = SCARP_OK;
    for (size_t i = 0; i < n && !st; i++) {
        long col = (long)floor((x[i] - gt[0]) / gt[1]), row = (long)floor((y[i] - gt[3]) / gt[5]);
        out[i] = NAN;
        if (col < 0 || row < 0 || col >= W || row >= H) continue;
        float v;
        if (GDALRasterIO(b, GF_Read, (int)col, (int)row, 1, 1, &v, 1, 1, GDT_Float32, 0, 0) != CE_None)
            st = scarp_fail(SCARP_ERR_IO, "%s: read failed", path);
        else if (!(has_nd && v == (float)nd) && !isnan(v))
            out[i] = v;
    }
    GDALClose(ds);
    return st;
}

scarp_status scarp_synth_truth_static(const scarp_synth_truth *t, const double *x, const double *y, size_t n,
                                      double *out)
{
    return read_points(t->file[0], x, y, n, out);
}

/* Dynamic wetness of block centre (bx, by) (local frame) on day index d (d ≥ window), in
 * the generator's order of operations (weather.c synth_dynamic_wetness), rounded to float
 * as the generator stores it. */
static float wetness(const scarp_synth_truth *t, double bx, double by, int d)
{
    double w[256], sum = 0;
    const int nst = t->n_st < 256 ? t->n_st : 256;
    const int ns = t->n_st < 64 ? t->n_st : 64; /* the generator sums over its first 64 stations */
    for (int i = 0; i < nst; i++) {
        double dx = bx - t->st_xy[2 * i], dy = by - t->st_xy[2 * i + 1];
        double d2 = dx * dx + dy * dy;
        w[i] = 1.0 / (d2 < t->idw_min_d2 ? t->idw_min_d2 : d2);
        sum += w[i];
    }
    for (int i = 0; i < nst; i++) w[i] /= sum;
    double R = 0;
    for (int i = 0; i < ns; i++) R += w[i] * t->r30[(size_t)i * t->n_days + d];
    double m = t->m_rain * fmin(1.0, R / t->r30_ref), dd = 0;
    int nn = 0;
    for (int k = 0; k < t->n_res && nn < t->max_res; k++) {
        double dx = bx - t->res_xy[2 * k], dy = by - t->res_xy[2 * k + 1], dist = sqrt(dx * dx + dy * dy);
        if (!(dist < t->res_reach)) continue;
        nn++;
        const float *L = t->level + (size_t)k * t->n_days;
        double drop = L[d - t->window] - L[d - 1];
        double gain = t->res_gain * exp(-dist / t->res_decay);
        if (drop > 0) dd = fmax(dd, gain * fmin(1.0, drop / t->dd_ref));
    }
    return (float)(m + dd);
}

scarp_status scarp_synth_truth_wetness(const scarp_synth_truth *t, double x, double y, int32_t date, double *m_d)
{
    int d = (int)(date - t->first);
    *m_d = NAN;
    if (d < t->window || d >= t->n_days) return SCARP_OK;
    double lx = x - t->x0, ly = t->y0 - y;
    long col = (long)floor(lx / t->cs), row = (long)floor(ly / t->cs);
    long bc = col / t->block, br = row / t->block;
    double bx = (bc * t->block + t->block * 0.5) * t->cs, by = (br * t->block + t->block * 0.5) * t->cs;
    *m_d = wetness(t, bx, by, d);
    return SCARP_OK;
}

scarp_status scarp_synth_truth_daily(const scarp_synth_truth *t, const double *x, const double *y,
                                     const int32_t *date, size_t n, double *out, double *out_log)
{
    double *a = scarp_malloc(sizeof(double) * (n ? n : 1) * 3);
    if (!a) return SCARP_ERR_NOMEM;
    double *b = a + n, *ms = b + n;
    scarp_status st = read_points(t->file[1], x, y, n, a);
    if (!st) st = read_points(t->file[2], x, y, n, b);
    if (!st) st = read_points(t->file[3], x, y, n, ms);
    for (size_t i = 0; i < n && !st; i++) {
        double md;
        scarp_synth_truth_wetness(t, x[i], y[i], date[i], &md);
        if (isnan(md) || isnan(a[i]) || isnan(b[i]) || isnan(ms[i])) {
            if (out) out[i] = NAN;
            if (out_log) out_log[i] = NAN;
            continue;
        }
        double m = (float)ms[i] + (float)md; /* float + float, as the generator adds them */
        m = m < 0 ? 0 : m > 1 ? 1 : m;
        double z = (a[i] - b[i] * m - 1.0) / t->width;
        if (out) out[i] = t->p0 / (1.0 + exp(z));
        /* ln p = ln p0 − ln(1 + e^z), without overflow: ranks stay exact where p underflows */
        if (out_log) out_log[i] = log(t->p0) - (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)));
    }
    scarp_free(a);
    return st;
}
