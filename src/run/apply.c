/* apply.c — `scarp apply RUN_DIR NEW.ini` (issue 17): the models of one study mapped onto
 * another area. The domain report comes first: per factor the share of the new area's
 * valid cells outside the training min–max (the range stored in each model file's
 * normalisation), categories never seen in training, grids and series of both areas, and
 * the per-cell mask map/outside_range.tif — so nobody reads a transferred map without being
 * told where the model extrapolates (the "area of applicability" idea of Meyer & Pebesma
 * 2021, Methods Ecol. Evol. 12:1620, reduced here to the training box of each factor).
 * Then the map engine maps the models (factors matched by name), and the new area's
 * inventory, when there is one, is scored sample by sample: all of it is test data. */
#define _XOPEN_SOURCE 700
#include "scarp/apply.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/json_io.h"
#include "scarp/log.h"
#include "scarp/nn.h"
#include "scarp/raster.h"
#include "scarp/stack.h"

#define MAX_CATS 256

typedef struct {
    char path[SCARP_PATH_MAX];
    int classic;
    scarp_classic cls;
    scarp_model nn;
    int loaded;
    scarp_norm norm; /* remapped onto the new stack */
} member;

/* The training domain of one factor of the new stack (merged over members). */
typedef struct {
    int layer;                 /* index in the new stack */
    int kind;
    float lo, hi;              /* continuous: training min, max */
    int has_range;
    int n_cats;
    float cats[MAX_CATS];      /* categorical: seen in training, sorted */
} factor_domain;

static void members_free(member *m, int n)
{
    for (int i = 0; m && i < n; i++) {
        if (m[i].loaded) {
            if (m[i].classic) scarp_classic_free(&m[i].cls);
            else scarp_model_free(&m[i].nn);
        }
        scarp_norm_free(&m[i].norm);
    }
    scarp_free(m);
}

static scarp_status members_load(member *m, int n, char (*paths)[SCARP_PATH_MAX])
{
    scarp_status st = SCARP_OK;
    for (int i = 0; i < n && !st; i++) {
        void *blob = NULL;
        size_t bytes = 0;
        snprintf(m[i].path, sizeof m[i].path, "%s", paths[i]);
        scarp_norm_init(&m[i].norm);
        m[i].classic = scarp_classic_file_is(m[i].path);
        st = m[i].classic ? scarp_classic_load(&m[i].cls, m[i].path, &blob, &bytes)
                          : scarp_model_load(m[i].path, &m[i].nn, &blob, &bytes);
        if (st) break;
        m[i].loaded = 1;
        if (!blob) st = scarp_fail(SCARP_ERR_INPUT, "%s: the model file holds no normalisation", m[i].path);
        else if ((st = scarp_norm_deserialize(&m[i].norm, blob, bytes)))
            st = scarp_fail(st, "%s: %s", m[i].path, scarp_last_error());
        scarp_free(blob);
    }
    return st;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int category_seen(const factor_domain *f, float v)
{
    int lo = 0, hi = f->n_cats - 1;
    while (lo <= hi) { /* the list is sorted */
        int mid = (lo + hi) / 2;
        if (f->cats[mid] == v) return 1;
        if (f->cats[mid] < v) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

/* The training domain per factor: the widest min–max and the union of categories over the
 * members (each fold model fits its own). Norms are already remapped onto the stack. */
static scarp_status build_domain(const member *m, int n, const scarp_stack *stack, factor_domain *fd, int *nf)
{
    const scarp_norm *n0 = &m[0].norm;
    *nf = 0;
    for (int l = 0; l < stack->n_layers; l++) {
        int used = 0;
        for (int c = 0; c < n0->C; c++) used |= n0->channels[c].layer == l;
        if (!used) continue;
        factor_domain *f = &fd[(*nf)++];
        memset(f, 0, sizeof *f);
        f->layer = l;
        f->kind = stack->layers[l].kind;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < m[i].norm.C; c++) {
                const scarp_norm_channel *ch = &m[i].norm.channels[c];
                if (ch->layer != l) continue;
                if (ch->kind == SCARP_CHANNEL_VALUE) {
                    if (!f->has_range || ch->min < f->lo) f->lo = ch->min;
                    if (!f->has_range || ch->max > f->hi) f->hi = ch->max;
                    f->has_range = 1;
                } else if (ch->kind == SCARP_CHANNEL_ONEHOT) {
                    int seen = 0;
                    for (int k = 0; k < f->n_cats; k++) seen |= f->cats[k] == ch->category;
                    if (seen) continue;
                    if (f->n_cats == MAX_CATS)
                        return scarp_fail(SCARP_ERR_INPUT, "%s: more than %d categories of '%s'", m[i].path, MAX_CATS,
                                          stack->layers[l].name);
                    f->cats[f->n_cats++] = ch->category;
                }
            }
        qsort(f->cats, (size_t)f->n_cats, sizeof f->cats[0], cmp_float);
    }
    return SCARP_OK;
}

static void series_of(const scarp_temporal *t, scarp_apply_series *s)
{
    memset(s, 0, sizeof *s);
    if (!t) return;
    scarp_temporal_report r;
    scarp_temporal_report_get(t, &r);
    s->present = 1;
    s->n_stations = r.n_stations;
    s->n_reservoirs = r.n_reservoirs;
    scarp_date_format(r.first, s->first);
    scarp_date_format(r.last, s->last);
}

/* The training area: its grid (RUN_DIR/stack) and its series (the study named by
 * RUN_DIR/manifest.json, when it can still be read). */
static void training_area(const char *run_dir, scarp_apply_report *rep)
{
    scarp_stack s;
    scarp_stack_init(&s);
    snprintf(rep->train_crs, sizeof rep->train_crs, "unknown (no %s/stack)", run_dir);
    if (scarp_stack_open(&s, run_dir) == SCARP_OK) {
        snprintf(rep->train_crs, sizeof rep->train_crs, "%s", scarp_grid_crs_name(&s.grid));
        rep->train_res[0] = fabs(s.grid.gt[1]), rep->train_res[1] = fabs(s.grid.gt[5]);
        rep->train_size[0] = s.grid.width, rep->train_size[1] = s.grid.height;
    }
    char path[SCARP_PATH_MAX + 32];
    char *text = NULL;
    cJSON *root = NULL;
    if (!scarp_path_join(path, sizeof path, run_dir, "manifest.json") && scarp_file_exists(path) &&
        !scarp_read_file(path, &text, NULL))
        root = cJSON_Parse(text);
    const cJSON *cf = root ? cJSON_GetObjectItemCaseSensitive(root, "config_file") : NULL;
    scarp_config *cfg = scarp_malloc(sizeof *cfg);
    if (cJSON_IsString(cf) && cfg && s.grid.wkt) {
        scarp_config_defaults(cfg);
        scarp_temporal *t = NULL;
        if (scarp_config_load(cfg, cf->valuestring) == SCARP_OK && scarp_temporal_load(&t, cfg, &s.grid) == SCARP_OK) {
            series_of(t, &rep->train_series);
            if (!t) rep->train_series.present = -1; /* known: no series */
        } else {
            scarp_warn("apply: the training study %s cannot be read again (%s): its series are not compared",
                       cf->valuestring, scarp_last_error());
        }
        scarp_temporal_free(t);
    }
    scarp_free(cfg);
    cJSON_Delete(root);
    scarp_free(text);
    scarp_stack_free(&s);
}

/* The new area's series against what the models need; a map date whose window leaves the
 * record is an error here, before anything is mapped. */
static scarp_status check_series(const scarp_config *cfg, const scarp_norm *norm, const scarp_grid *grid,
                                 scarp_apply_report *rep)
{
    scarp_temporal *t = NULL;
    scarp_status st = scarp_temporal_load(&t, cfg, grid);
    if (st) return st;
    series_of(t, &rep->new_series);
    if (!t) rep->new_series.present = -1;
    if (norm->T == 0) goto end;
    if (!t) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the model uses %s series ([temporal]) but this area gives none",
                        cfg->config_path, norm->var_names[0]);
        goto end;
    }
    for (int v = 0; v < norm->T; v++)
        if (v >= scarp_temporal_n_vars(t) || strcmp(scarp_temporal_var_name(t, v), norm->var_names[v])) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: the model uses the series '%s', which [temporal] does not give",
                            cfg->config_path, norm->var_names[v]);
            goto end;
        }
    if (scarp_temporal_n_vars(t) != norm->T) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: [temporal] gives %d series, the model was trained on %d (%s%s)",
                        cfg->config_path, scarp_temporal_n_vars(t), norm->T, norm->var_names[0],
                        norm->T > 1 ? " ..." : "");
        goto end;
    }
    int32_t first, last, d;
    scarp_temporal_range(t, &first, &last);
    if (!cfg->map_dates[0] && cfg->map_date[0] && strcmp(cfg->map_date, "auto") && !scarp_date_parse(cfg->map_date, &d) &&
        (d - norm->N < first || d - 1 > last))
        st = scarp_fail(SCARP_ERR_INPUT, "%s: [map] date = %s: its %d-day window leaves this area's series record %s .. %s",
                        cfg->config_path, cfg->map_date, norm->N, rep->new_series.first, rep->new_series.last);
end:
    scarp_temporal_free(t);
    return st;
}

/* ---- the domain scan: counts per factor, map/outside_range.tif, the unseen mask ---- */

static scarp_status domain_scan(const scarp_stack *stack, const factor_domain *fd, int nf, const char *mask_path,
                                const char *valid_path, int keep_unseen, scarp_apply_report *rep, scarp_progress *p)
{
    const int64_t W = stack->grid.width, H = stack->grid.height;
    const int L = stack->n_layers;
    int64_t rows = (int64_t)(8u << 20) / ((int64_t)(L + 1) * W);
    if (rows < 1) rows = 1;
    if (rows > H) rows = H;
    scarp_stack_reader *r = NULL;
    scarp_raster_writer *wm = NULL, *wv = NULL;
    float *buf = scarp_malloc((size_t)L * rows * W * sizeof(float));
    float *mask = scarp_malloc((size_t)rows * W * sizeof(float)), *vout = NULL;
    uint8_t *valid = scarp_malloc((size_t)rows * W);
    static const char *const names[] = {"inside the training range", "outside the training range",
                                        "category unseen in training"};
    static const uint8_t colors[3][4] = {{230, 230, 230, 255}, {230, 120, 20, 255}, {160, 0, 160, 255}};
    scarp_raster_meta meta = {.description = "outside the training domain (0 inside, 1 outside the range, 2 unseen)",
                              .class_names = names, .colors = colors, .n_classes = 3, .cog = 1};
    scarp_status st = SCARP_OK;
    if (!buf || !mask || !valid) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if (valid_path && !(vout = scarp_malloc((size_t)rows * W * sizeof(float)))) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = scarp_stack_reader_open(&r, stack)) ||
        (st = scarp_raster_writer_open(&wm, mask_path, &stack->grid, SCARP_OUT_BYTE, &meta)))
        goto end;
    scarp_raster_meta vmeta = {.description = "valid cells without an unseen category (scarp apply)"};
    if (valid_path && (st = scarp_raster_writer_open(&wv, valid_path, &stack->grid, SCARP_OUT_BYTE, &vmeta))) goto end;
    scarp_progress_begin(p, "domain", H);
    for (int64_t r0 = 0; r0 < H && !st; r0 += rows) {
        const int64_t h = r0 + rows <= H ? rows : H - r0, n = h * W;
        if ((st = scarp_stack_read(r, 0, r0, W, h, buf, valid))) break;
        for (int64_t k = 0; k < n; k++) {
            if (!valid[k]) {
                mask[k] = NAN;
                if (vout) vout[k] = 0;
                continue;
            }
            rep->valid_cells++;
            int out = 0, unseen = 0;
            for (int i = 0; i < nf; i++) {
                const factor_domain *f = &fd[i];
                scarp_apply_factor *a = &rep->factors[i];
                const float v = buf[(size_t)f->layer * n + k];
                if (f->kind == SCARP_KIND_CATEGORICAL) {
                    if (category_seen(f, v)) continue;
                    unseen = 1;
                    a->outside++;
                    int j = 0;
                    while (j < a->n_unseen && a->unseen_value[j] != (int)v) j++;
                    if (j < SCARP_APPLY_MAX_UNSEEN) {
                        if (j == a->n_unseen) a->unseen_value[a->n_unseen++] = (int)v;
                        a->unseen_cells[j]++;
                    } else {
                        a->unseen_other_cells++; /* counted, not listed */
                    }
                } else if (f->has_range) {
                    if (v < f->lo) a->below++, a->outside++, out = 1;
                    else if (v > f->hi) a->above++, a->outside++, out = 1;
                }
            }
            if (unseen) rep->unseen_cells++;
            else if (out) rep->outside_cells++;
            mask[k] = unseen ? SCARP_DOMAIN_UNSEEN : out ? SCARP_DOMAIN_OUTSIDE : SCARP_DOMAIN_INSIDE;
            if (vout) vout[k] = unseen ? 0 : 1;
        }
        if (!st) st = scarp_raster_writer_write(wm, 0, r0, W, h, mask);
        if (!st && wv) st = scarp_raster_writer_write(wv, 0, r0, W, h, vout);
        if (!st) st = scarp_progress_step(p, h);
    }
    scarp_progress_end(p);
end:
    /* an unseen category stops the run ([apply] unseen = error): nothing under a final name */
    if (st || (rep->unseen_cells && !keep_unseen)) {
        scarp_raster_writer_abort(wm);
        scarp_raster_writer_abort(wv);
    } else {
        st = scarp_raster_writer_commit(wm);
        if (wv) {
            scarp_status s2 = scarp_raster_writer_commit(wv);
            if (!st) st = s2;
        }
    }
    scarp_stack_reader_close(r);
    scarp_free(buf), scarp_free(mask), scarp_free(valid), scarp_free(vout);
    return st;
}

static scarp_status write_mask_qml(const char *path)
{
    static const char text[] =
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22\">\n  <pipe>\n"
        "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\">\n"
        "      <colorPalette>\n"
        "        <paletteEntry value=\"0\" color=\"#e6e6e6\" alpha=\"255\" label=\"inside the training range\"/>\n"
        "        <paletteEntry value=\"1\" color=\"#e67814\" alpha=\"255\" label=\"outside the training range\"/>\n"
        "        <paletteEntry value=\"2\" color=\"#a000a0\" alpha=\"255\" label=\"category unseen in training\"/>\n"
        "      </colorPalette>\n    </rasterrenderer>\n  </pipe>\n</qgis>\n";
    return scarp_write_file_atomic(path, text, sizeof text - 1);
}

static const char *kind_word(int kind)
{
    return kind == SCARP_KIND_CATEGORICAL ? "categorical" : kind == SCARP_KIND_CIRCULAR ? "circular" : "continuous";
}

static cJSON *series_json(const scarp_apply_series *s)
{
    if (s->present == 0) return cJSON_CreateString("unknown");
    if (s->present < 0) return cJSON_CreateString("none");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "first", s->first);
    cJSON_AddStringToObject(o, "last", s->last);
    cJSON_AddNumberToObject(o, "stations", s->n_stations);
    cJSON_AddNumberToObject(o, "reservoirs", s->n_reservoirs);
    return o;
}

static cJSON *grid_json(const char *crs, const double *res, const int64_t *size)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "crs", crs);
    cJSON_AddItemToObject(o, "resolution", cJSON_CreateDoubleArray(res, 2));
    cJSON_AddNumberToObject(o, "width", (double)size[0]);
    cJSON_AddNumberToObject(o, "height", (double)size[1]);
    return o;
}

static void series_text(char *b, size_t n, const scarp_apply_series *s)
{
    if (s->present == 0) snprintf(b, n, "unknown");
    else if (s->present < 0) snprintf(b, n, "none");
    else snprintf(b, n, "%s .. %s, %d stations, %d reservoirs", s->first, s->last, s->n_stations, s->n_reservoirs);
}

/* The readable form of the report (apply/domain.txt; the CLI prints the same lines). */
static char *domain_text(const scarp_apply_report *rep, const char *run_dir, const char *config)
{
    size_t cap = 16384, n = 0;
    char *b = scarp_malloc(cap);
    if (!b) return NULL;
#define OUT(...) (n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__))
    char ts[160], ns[160];
    series_text(ts, sizeof ts, &rep->train_series);
    series_text(ns, sizeof ns, &rep->new_series);
    OUT("scarp apply — domain report\nmodels: %s (%d file%s) from %s\nnew area: %s\n", rep->model, rep->members,
        rep->members > 1 ? "s" : "", run_dir, config);
    OUT("grid:   training %s, %g x %g, %lld x %lld cells\n        new      %s, %g x %g, %lld x %lld cells\n",
        rep->train_crs, rep->train_res[0], rep->train_res[1], (long long)rep->train_size[0],
        (long long)rep->train_size[1], rep->new_crs, rep->new_res[0], rep->new_res[1], (long long)rep->new_size[0],
        (long long)rep->new_size[1]);
    OUT("series: training %s\n        new      %s\n", ts, ns);
    const double V = rep->valid_cells > 0 ? (double)rep->valid_cells : 1;
    OUT("valid cells: %lld; outside the training range in >= 1 factor: %lld (%.2f %%); unseen category: %lld (%.2f %%)%s\n",
        (long long)rep->valid_cells, (long long)rep->outside_cells, 100.0 * (double)rep->outside_cells / V,
        (long long)rep->unseen_cells, 100.0 * (double)rep->unseen_cells / V,
        rep->unseen_cells && rep->unseen_nodata ? " (mapped as nodata: [apply] unseen = nodata)" : "");
    OUT("%-22s %-12s %-27s %10s %10s %8s\n", "factor", "kind", "training range", "below", "above", "outside");
    for (int i = 0; i < rep->n_factors; i++) {
        const scarp_apply_factor *f = &rep->factors[i];
        char range[64];
        if (f->kind == SCARP_KIND_CATEGORICAL) snprintf(range, sizeof range, "%d categories", f->n_categories);
        else if (f->kind == SCARP_KIND_CIRCULAR) snprintf(range, sizeof range, "(sin, cos: any angle)");
        else snprintf(range, sizeof range, "%.6g .. %.6g", f->train_min, f->train_max);
        if (f->kind == SCARP_KIND_CATEGORICAL) {
            OUT("%-22s %-12s %-27s %10s %10s %7.2f%%", f->name, kind_word(f->kind), range, "-", "-", 100 * f->share);
            if (f->n_unseen) {
                OUT("  unseen:");
                for (int j = 0; j < f->n_unseen; j++)
                    OUT(" %d (%lld cells)", f->unseen_value[j], (long long)f->unseen_cells[j]);
                if (f->unseen_other_cells) OUT(" and %lld cells of other values", (long long)f->unseen_other_cells);
            }
            OUT("\n");
        } else {
            OUT("%-22s %-12s %-27s %10lld %10lld %7.2f%%\n", f->name, kind_word(f->kind), range, (long long)f->below,
                (long long)f->above, 100 * f->share);
        }
        if (n >= cap - 512) {
            char *nb = scarp_realloc(b, cap * 2);
            if (!nb) break;
            b = nb, cap *= 2;
        }
    }
    OUT("mask: map/outside_range.tif (0 inside, 1 outside the range in >= 1 factor, 2 unseen category)\n");
#undef OUT
    if (n >= cap) b[cap - 1] = 0;
    return b;
}

static scarp_status write_domain_json(const char *path, const scarp_apply_report *rep, const char *run_dir,
                                      const char *config)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return SCARP_ERR_NOMEM;
    cJSON_AddStringToObject(root, "run_dir", run_dir);
    cJSON_AddStringToObject(root, "config", config);
    cJSON_AddStringToObject(root, "model", rep->model);
    cJSON_AddNumberToObject(root, "members", rep->members);
    cJSON_AddStringToObject(root, "unseen", rep->unseen_nodata ? "nodata" : "error");
    cJSON_AddNumberToObject(root, "valid_cells", (double)rep->valid_cells);
    cJSON_AddNumberToObject(root, "outside_cells", (double)rep->outside_cells);
    cJSON_AddNumberToObject(root, "unseen_cells", (double)rep->unseen_cells);
    const double V = rep->valid_cells > 0 ? (double)rep->valid_cells : 1;
    cJSON_AddNumberToObject(root, "outside_share", (double)rep->outside_cells / V);
    cJSON_AddNumberToObject(root, "unseen_share", (double)rep->unseen_cells / V);
    cJSON *fa = cJSON_AddArrayToObject(root, "factors");
    for (int i = 0; i < rep->n_factors; i++) {
        const scarp_apply_factor *f = &rep->factors[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", f->name);
        cJSON_AddStringToObject(o, "kind", kind_word(f->kind));
        if (f->kind == SCARP_KIND_CONTINUOUS) {
            cJSON_AddNumberToObject(o, "train_min", f->train_min);
            cJSON_AddNumberToObject(o, "train_max", f->train_max);
            cJSON_AddNumberToObject(o, "below", (double)f->below);
            cJSON_AddNumberToObject(o, "above", (double)f->above);
        }
        if (f->kind == SCARP_KIND_CATEGORICAL) {
            cJSON_AddNumberToObject(o, "categories_seen", f->n_categories);
            cJSON *u = cJSON_AddArrayToObject(o, "unseen");
            for (int j = 0; j < f->n_unseen; j++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "value", f->unseen_value[j]);
                cJSON_AddNumberToObject(e, "cells", (double)f->unseen_cells[j]);
                cJSON_AddItemToArray(u, e);
            }
            cJSON_AddNumberToObject(o, "unseen_other_cells", (double)f->unseen_other_cells);
        }
        cJSON_AddNumberToObject(o, "outside", (double)f->outside);
        cJSON_AddNumberToObject(o, "share", f->share);
        cJSON_AddItemToArray(fa, o);
    }
    cJSON *g = cJSON_AddObjectToObject(root, "grids");
    cJSON_AddItemToObject(g, "training", grid_json(rep->train_crs, rep->train_res, rep->train_size));
    cJSON_AddItemToObject(g, "new", grid_json(rep->new_crs, rep->new_res, rep->new_size));
    cJSON *s = cJSON_AddObjectToObject(root, "series");
    cJSON_AddItemToObject(s, "training", series_json(&rep->train_series));
    cJSON_AddItemToObject(s, "new", series_json(&rep->new_series));
    cJSON_AddStringToObject(root, "mask", "map/outside_range.tif");
    scarp_status st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
    return st;
}

/* Appends text to an HTML buffer with <, >, & and " escaped. */
static void html_text(char *b, size_t cap, size_t *n, const char *t)
{
    for (; *t && *n + 8 < cap; t++) {
        const char *e = *t == '<' ? "&lt;" : *t == '>' ? "&gt;" : *t == '&' ? "&amp;" : *t == '"' ? "&quot;" : NULL;
        if (e) *n += (size_t)snprintf(b + *n, cap - *n, "%s", e);
        else b[(*n)++] = *t;
    }
    b[*n < cap ? *n : cap - 1] = 0;
}

/* apply/domain.html: the same report as a page a browser (or the QGIS user) reads. */
static scarp_status write_domain_html(const char *path, const scarp_apply_report *rep, const char *run_dir,
                                      const char *config)
{
    const size_t cap = 65536;
    size_t n = 0;
    char *b = scarp_malloc(cap);
    if (!b) return SCARP_ERR_NOMEM;
#define H(...) (n += (size_t)snprintf(b + n, n < cap ? cap - n : 0, __VA_ARGS__), n = n < cap ? n : cap - 1)
    H("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>scarp apply — domain report</title>\n"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
      "padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.out{background:#fde0c0}"
      ".unseen{background:#f0c8f0}</style></head><body>\n<h1>Domain report</h1>\n<p>Models <b>");
    html_text(b, cap, &n, rep->model);
    H("</b> (%d file%s) from <code>", rep->members, rep->members > 1 ? "s" : "");
    html_text(b, cap, &n, run_dir);
    H("</code> applied to <code>");
    html_text(b, cap, &n, config);
    const double V = rep->valid_cells > 0 ? (double)rep->valid_cells : 1;
    H("</code>.</p>\n<p>%lld valid cells: <b>%.2f %%</b> outside the training range in at least one factor, "
      "<b>%.2f %%</b> with a category unseen in training%s. Per cell: <code>map/outside_range.tif</code> "
      "(0 inside, 1 outside, 2 unseen).</p>\n",
      (long long)rep->valid_cells, 100.0 * (double)rep->outside_cells / V, 100.0 * (double)rep->unseen_cells / V,
      rep->unseen_cells && rep->unseen_nodata ? " (mapped as nodata)" : "");
    H("<table><tr><th>factor</th><th>kind</th><th>training range</th><th>below</th><th>above</th><th>outside</th>"
      "<th>unseen values (cells)</th></tr>\n");
    for (int i = 0; i < rep->n_factors; i++) {
        const scarp_apply_factor *f = &rep->factors[i];
        H("<tr class=\"%s\"><td>", f->n_unseen ? "unseen" : f->outside ? "out" : "");
        html_text(b, cap, &n, f->name);
        H("</td><td>%s</td>", kind_word(f->kind));
        if (f->kind == SCARP_KIND_CONTINUOUS)
            H("<td>%.6g … %.6g</td><td>%lld</td><td>%lld</td>", f->train_min, f->train_max, (long long)f->below,
              (long long)f->above);
        else if (f->kind == SCARP_KIND_CATEGORICAL)
            H("<td>%d categories</td><td></td><td></td>", f->n_categories);
        else
            H("<td>any angle</td><td></td><td></td>");
        H("<td>%.2f %%</td><td>", 100 * f->share);
        for (int j = 0; j < f->n_unseen; j++)
            H("%s%d (%lld)", j ? ", " : "", f->unseen_value[j], (long long)f->unseen_cells[j]);
        H("</td></tr>\n");
    }
    char ts[160], ns[160];
    series_text(ts, sizeof ts, &rep->train_series);
    series_text(ns, sizeof ns, &rep->new_series);
    H("</table>\n<h2>Grids and series</h2>\n<table><tr><th></th><th>CRS</th><th>resolution</th><th>cells</th>"
      "<th>series</th></tr>\n<tr><td>training</td><td>");
    html_text(b, cap, &n, rep->train_crs);
    H("</td><td>%g × %g</td><td>%lld × %lld</td><td>%s</td></tr>\n<tr><td>new</td><td>", rep->train_res[0],
      rep->train_res[1], (long long)rep->train_size[0], (long long)rep->train_size[1], ts);
    html_text(b, cap, &n, rep->new_crs);
    H("</td><td>%g × %g</td><td>%lld × %lld</td><td>%s</td></tr>\n</table>\n</body></html>\n", rep->new_res[0],
      rep->new_res[1], (long long)rep->new_size[0], (long long)rep->new_size[1], ns);
#undef H
    scarp_status st = scarp_write_file_atomic(path, b, strlen(b));
    scarp_free(b);
    return st;
}

/* The one-line error of an unseen category: the factor and its values. */
static scarp_status unseen_error(const scarp_apply_report *rep, const char *config)
{
    char list[512];
    size_t n = 0;
    list[0] = 0;
    for (int i = 0; i < rep->n_factors; i++) {
        const scarp_apply_factor *f = &rep->factors[i];
        if (!f->n_unseen) continue;
        n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s = ", n ? "; " : "", f->name);
        for (int j = 0; j < f->n_unseen && n < sizeof list; j++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%d (%lld cells)", j ? ", " : "", f->unseen_value[j],
                                  (long long)f->unseen_cells[j]);
        if (f->unseen_other_cells && n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, " and %lld cells of other values",
                                  (long long)f->unseen_other_cells);
    }
    return scarp_fail(SCARP_ERR_INPUT, "%s: categories never seen in training: %s (set [apply] unseen = nodata to map "
                                       "those cells as nodata)", config, list);
}

/* ---- evaluation on the new area's samples ---- */

/* One member's probabilities for rows idx (n) of ds, inputs built from the raw windows with
 * the member's own (remapped) normalisation. */
static scarp_status member_predict(member *m, const scarp_dataset *ds, const size_t *idx, size_t n, float *prob)
{
    const scarp_norm *nm = &m->norm;
    const int H = ds->H, W = ds->W, C = nm->C, F = nm->C + nm->S;
    const size_t L = (size_t)nm->L, P = (size_t)C * H * W, NT = (size_t)nm->N * nm->T;
    const size_t CH = 256;
    float *pat = scarp_malloc(CH * P * sizeof(float)), *seq = scarp_malloc(CH * (NT ? NT : 1) * sizeof(float));
    float *tab = scarp_malloc(CH * (size_t)F * sizeof(float));
    scarp_status st = SCARP_OK;
    if (!pat || !seq || !tab) st = SCARP_ERR_NOMEM;
    for (size_t k0 = 0; k0 < n && !st; k0 += CH) {
        const size_t nk = n - k0 < CH ? n - k0 : CH;
        for (size_t k = 0; k < nk; k++) {
            const size_t i = idx[k0 + k];
            const float *raw = ds->raw + i * L * H * W, *rs = NT && ds->raw_seq ? ds->raw_seq + i * NT : NULL;
            scarp_norm_apply_window(nm, raw, H, W, pat + k * P);
            if (rs) scarp_norm_apply_sequence(nm, rs, seq + k * NT);
            scarp_norm_tabular(nm, pat + k * P, rs, tab + k * F);
        }
        if (m->classic) st = scarp_classic_predict(&m->cls, tab, nk, prob + k0);
        else st = scarp_model_predict(&m->nn, pat, NT ? seq : NULL, tab, (int64_t)nk, prob + k0);
    }
    scarp_free(pat), scarp_free(seq), scarp_free(tab);
    return st;
}

static scarp_status evaluate(member *m, int nm, const scarp_dataset *ds, const factor_domain *fd, int nf,
                             const char *path, const char *run_dir, scarp_apply_report *rep)
{
    const size_t H = (size_t)ds->H, W = (size_t)ds->W, L = (size_t)m[0].norm.L, centre = (H / 2) * W + W / 2;
    size_t *idx = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *idx), n = 0;
    float *prob = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *prob);
    float *pk = scarp_malloc((size_t)(ds->n ? ds->n : 1) * sizeof *pk);
    double *acc = scarp_calloc((size_t)(ds->n ? ds->n : 1), sizeof *acc);
    uint8_t *y = scarp_malloc((size_t)(ds->n ? ds->n : 1));
    scarp_status st = SCARP_OK;
    if (!idx || !prob || !pk || !acc || !y) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t i = 0; i < ds->n; i++) {
        int unseen = 0;
        for (int f = 0; f < nf; f++)
            if (fd[f].kind == SCARP_KIND_CATEGORICAL &&
                !category_seen(&fd[f], ds->raw[((size_t)i * L + (size_t)fd[f].layer) * H * W + centre]))
                unseen = 1;
        if (unseen) {
            rep->dropped_unseen++;
            continue;
        }
        y[n] = ds->label[i];
        idx[n++] = (size_t)i;
    }
    for (int k = 0; k < nm && !st; k++) {
        if ((st = member_predict(&m[k], ds, idx, n, pk))) break;
        for (size_t i = 0; i < n; i++) acc[i] += pk[i];
    }
    if (st) goto end;
    for (size_t i = 0; i < n; i++) prob[i] = (float)(acc[i] / nm);
    if ((st = scarp_metrics_compute(prob, y, n, 0.5, &rep->metrics))) goto end;
    rep->evaluated = 1;
    const scarp_metrics *mt = &rep->metrics;
    cJSON *root = cJSON_CreateObject();
    if (!root) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    cJSON_AddStringToObject(root, "run_dir", run_dir);
    cJSON_AddStringToObject(root, "model", rep->model);
    cJSON_AddNumberToObject(root, "members", nm);
    cJSON_AddStringToObject(root, "samples", "all samples of the new area's inventory (every one a test sample)");
    cJSON_AddNumberToObject(root, "n", (double)mt->n);
    cJSON_AddNumberToObject(root, "n_pos", (double)mt->n_pos);
    cJSON_AddNumberToObject(root, "n_neg", (double)mt->n_neg);
    cJSON_AddNumberToObject(root, "dropped_unseen", (double)rep->dropped_unseen);
#define NUM(k, v) cJSON_AddItemToObject(root, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull())
    NUM("auc", mt->auc);
    NUM("auc_lo", mt->auc_lo);
    NUM("auc_hi", mt->auc_hi);
    NUM("pr_auc", mt->pr_auc);
    NUM("accuracy", mt->at_half.accuracy);
    NUM("precision", mt->at_half.precision);
    NUM("recall", mt->at_half.recall);
    NUM("f1", mt->at_half.f1);
    NUM("brier", mt->brier);
    NUM("log_loss", mt->log_loss);
    NUM("mae", mt->mae);
    NUM("rmse", mt->rmse);
#undef NUM
    cJSON_AddNumberToObject(root, "threshold", 0.5);
    st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
end:
    scarp_free(idx), scarp_free(prob), scarp_free(pk), scarp_free(acc), scarp_free(y);
    return st;
}

/* ---- the stage ---- */

scarp_status scarp_apply_run(const char *run_dir, const scarp_config *cfg_in, const char *out_dir,
                             const scarp_apply_options *opts, scarp_progress *progress, scarp_apply_report *rep)
{
    scarp_apply_options no = {0};
    if (!opts) opts = &no;
    scarp_apply_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    char (*paths)[SCARP_PATH_MAX] = NULL;
    member *m = NULL;
    int nm = 0, nf = 0;
    scarp_config *cfg = scarp_malloc(sizeof *cfg);
    factor_domain *fd = scarp_calloc(SCARP_STACK_MAX_LAYERS, sizeof *fd);
    scarp_stack stack;
    scarp_stack_init(&stack);
    scarp_dataset ds;
    scarp_dataset_init(&ds);
    char rpath[SCARP_PATH_MAX], opath[SCARP_PATH_MAX];
    char adir[SCARP_PATH_MAX], mdir[SCARP_PATH_MAX], p_dom[SCARP_PATH_MAX], p_txt[SCARP_PATH_MAX];
    char p_html[SCARP_PATH_MAX], p_mask[SCARP_PATH_MAX], p_qml[SCARP_PATH_MAX], p_valid[SCARP_PATH_MAX], p_met[SCARP_PATH_MAX];
    char *text = NULL;
    scarp_status st = SCARP_OK;
    if (!cfg || !fd) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    memcpy(cfg, cfg_in, sizeof *cfg);
    if (!realpath(run_dir, rpath)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no such run folder", run_dir);
        goto end;
    }
    if (realpath(out_dir, opath) && !strcmp(rpath, opath)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: [project] out is the run folder %s itself; give the new area its own "
                                         "(--out DIR)", cfg->config_path, run_dir);
        goto end;
    }
    if ((st = scarp_path_join(adir, sizeof adir, out_dir, "apply")) ||
        (st = scarp_path_join(mdir, sizeof mdir, out_dir, "map")) ||
        (st = scarp_path_join(p_dom, sizeof p_dom, adir, "domain.json")) ||
        (st = scarp_path_join(p_txt, sizeof p_txt, adir, "domain.txt")) ||
        (st = scarp_path_join(p_html, sizeof p_html, adir, "domain.html")) ||
        (st = scarp_path_join(p_valid, sizeof p_valid, adir, "valid.tif")) ||
        (st = scarp_path_join(p_met, sizeof p_met, adir, "metrics.json")) ||
        (st = scarp_path_join(p_mask, sizeof p_mask, mdir, "outside_range.tif")) ||
        (st = scarp_path_join(p_qml, sizeof p_qml, mdir, "outside_range.qml")))
        goto end;
    snprintf(rep->domain_path, sizeof rep->domain_path, "%s", p_dom);
    rep->unseen_nodata = !strcmp(cfg->apply_unseen, "nodata");

    /* 1. the models and their normalisations */
    const char *name = opts->model_name ? opts->model_name : cfg->map_model;
    const char *ens = cfg->map_ensemble[0] ? cfg->map_ensemble : "auto";
    if ((st = scarp_map_model_files(run_dir, name, ens, &paths, &nm, rep->model, sizeof rep->model))) goto end;
    if (!(m = scarp_calloc((size_t)nm, sizeof *m))) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = members_load(m, nm, paths))) goto end;
    rep->members = nm;
    const scarp_norm *n0 = &m[0].norm;
    cfg->patch = n0->patch; /* the new area's samples are cut as the model was trained */
    if (n0->T > 0) cfg->window = n0->N;

    /* 2. the new area's layer stack (the usual code path), its factors matched by name */
    scarp_info("apply: layer stack of %s", cfg->config_path);
    int reused = 0;
    if ((st = scarp_prepare_stack(cfg, out_dir, progress, &stack, &reused))) goto end;
    for (int i = 0; i < nm && !st; i++)
        if ((st = scarp_norm_remap(&m[i].norm, &stack))) st = scarp_fail(st, "%s: %s", cfg->config_path, scarp_last_error());
    if (st) goto end;
    training_area(run_dir, rep);
    snprintf(rep->new_crs, sizeof rep->new_crs, "%s", scarp_grid_crs_name(&stack.grid));
    rep->new_res[0] = fabs(stack.grid.gt[1]), rep->new_res[1] = fabs(stack.grid.gt[5]);
    rep->new_size[0] = stack.grid.width, rep->new_size[1] = stack.grid.height;
    if ((st = check_series(cfg, n0, &stack.grid, rep))) goto end;

    /* 3. the domain report, before anything is mapped */
    if ((st = build_domain(m, nm, &stack, fd, &nf))) goto end;
    rep->n_factors = nf;
    for (int i = 0; i < nf; i++) {
        scarp_apply_factor *a = &rep->factors[i];
        snprintf(a->name, sizeof a->name, "%s", stack.layers[fd[i].layer].name);
        a->kind = fd[i].kind;
        a->train_min = fd[i].has_range ? fd[i].lo : NAN;
        a->train_max = fd[i].has_range ? fd[i].hi : NAN;
        a->n_categories = fd[i].n_cats;
    }
    if ((st = scarp_mkdir_p(mdir)) || (st = scarp_mkdir_p(adir))) goto end;
    if ((st = domain_scan(&stack, fd, nf, p_mask, rep->unseen_nodata ? p_valid : NULL, rep->unseen_nodata, rep,
                           progress))) goto end;
    for (int i = 0; i < nf; i++)
        rep->factors[i].share = rep->valid_cells ? (double)rep->factors[i].outside / (double)rep->valid_cells : 0;
    if (rep->unseen_cells && !rep->unseen_nodata) {
        st = unseen_error(rep, cfg->config_path);
        goto end;
    }
    if (rep->valid_cells == rep->unseen_cells) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: every valid cell holds a category never seen in training: nothing to map",
                        cfg->config_path);
        remove(p_mask), remove(p_valid);
        goto end;
    }
    if (!(text = domain_text(rep, run_dir, cfg->config_path))) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = write_mask_qml(p_qml)) || (st = scarp_write_file_atomic(p_txt, text, strlen(text))) ||
        (st = write_domain_html(p_html, rep, run_dir, cfg->config_path)) ||
        (st = write_domain_json(p_dom, rep, run_dir, cfg->config_path)))
        goto end;
    if (opts->on_domain) opts->on_domain(rep, opts->user);

    /* 4. the samples of the new area's inventory (the stack is reused) */
    scarp_prepare_report prep;
    memset(&prep, 0, sizeof prep);
    if (cfg->inventory_path[0]) {
        if ((st = scarp_prepare(cfg, out_dir, progress, &ds, &prep))) goto end;
        if (prep.dropped_window > 0) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: %lld inventory events have a %d-day window outside this area's series "
                                             "record %s .. %s (listed in %s)",
                            cfg->config_path, (long long)prep.dropped_window, n0->N, rep->new_series.first,
                            rep->new_series.last, prep.report_path);
            goto end;
        }
        if (ds.T != n0->T || (n0->T && ds.N != n0->N) || ds.H != n0->patch || !ds.raw) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: the samples have %d×%d patches and %d×%d series, the model %d×%d and %d×%d",
                            cfg->config_path, ds.H, ds.W, ds.N, ds.T, n0->patch, n0->patch, n0->N, n0->T);
            goto end;
        }
    }

    /* 5. the map, with the map engine */
    scarp_map_options mo = {0};
    mo.model_name = name;
    mo.tile = opts->tile;
    mo.no_figures = opts->no_figures;
    mo.models_dir = run_dir;
    mo.match_by_name = 1;
    if (rep->unseen_nodata && rep->unseen_cells) {
        mo.valid_path = p_valid;
        mo.valid_cells = rep->valid_cells - rep->unseen_cells;
    }
    if ((st = scarp_map_run_ex(cfg, out_dir, &mo, progress, &rep->map))) goto end;
    if (!(rep->unseen_nodata && rep->unseen_cells)) remove(p_valid);

    /* 6. the transfer's metrics over every sample of the new area */
    if (cfg->inventory_path[0] && ds.n > 0) st = evaluate(m, nm, &ds, fd, nf, p_met, run_dir, rep);
end:
    scarp_free(text);
    scarp_free(paths);
    members_free(m, nm);
    scarp_dataset_free(&ds);
    scarp_stack_free(&stack);
    scarp_free(fd);
    scarp_free(cfg);
    return st;
}
