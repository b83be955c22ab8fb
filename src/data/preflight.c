/* preflight.c — the pre-flight report of a layer stack (out_dir/preflight.txt and .json):
 * the reference grid, every input's CRS, resolution, extent and nodata, how it was aligned
 * (read as is, resampled or reprojected, with which method), and per layer the cells it
 * leaves without data and the cells that only it voids — so a user sees why a cell is void. */
#include "preflight.h"
#include "scarp/json_io.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *scarp__kind_name(scarp_layer_kind k)
{
    return k == SCARP_KIND_CATEGORICAL ? "categorical" : k == SCARP_KIND_CIRCULAR ? "circular" : "continuous";
}

const char *scarp__source_name(scarp_layer_source s)
{
    switch (s) {
    case SCARP_SOURCE_DERIVED: return "derived";
    case SCARP_SOURCE_DISTANCE: return "distance";
    case SCARP_SOURCE_NDVI: return "ndvi";
    default: return "raster";
    }
}

const char *scarp__resample_name(scarp_resample m)
{
    return m == SCARP_RESAMPLE_NEAREST ? "nearest" : m == SCARP_RESAMPLE_MODE ? "mode" : "bilinear";
}

/* A growing text buffer. */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->n + (size_t)k + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)k + 1) * 2;
        char *s = scarp_realloc(t->s, cap);
        if (!s) { t->oom = 1; return; }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

static const char *alignment(const scarp_preflight_input *in, const char *grid_crs, char *buf, size_t sz)
{
    if (in->is_vector)
        snprintf(buf, sz, "rasterized (all touched)%s%s, exact Euclidean distance in metres",
                 strcmp(in->vector_crs, grid_crs) ? " after reprojection from " : "",
                 strcmp(in->vector_crs, grid_crs) ? in->vector_crs : "");
    else if (!in->align.resampled)
        snprintf(buf, sz, "on the grid already: read as is");
    else if (in->align.reprojected)
        snprintf(buf, sz, "reprojected from %s, %s", in->align.crs, scarp__resample_name(in->align.method));
    else
        snprintf(buf, sz, "resampled, %s", scarp__resample_name(in->align.method));
    return buf;
}

scarp_status scarp__preflight_write(const scarp_preflight *pf, const scarp_stack *s, const char *out_dir)
{
    const scarp_grid *g = &s->grid;
    int64_t cells = scarp_grid_cells(g);
    double x0 = g->gt[0], x1 = g->gt[0] + g->width * g->gt[1];
    double y1 = g->gt[3], y0 = g->gt[3] + g->height * g->gt[5];
    char crs[128], how[256];
    snprintf(crs, sizeof crs, "%s", scarp_grid_crs_name(g));

    text t = {0};
    put(&t, "scarp pre-flight report\n\n");
    put(&t, "Reference grid (from %s)\n", pf->grid_origin);
    put(&t, "  CRS         %s\n", crs);
    put(&t, "  size        %lld x %lld cells (%lld)\n", (long long)g->width, (long long)g->height, (long long)cells);
    put(&t, "  resolution  %.10g x %.10g\n", fabs(g->gt[1]), fabs(g->gt[5]));
    put(&t, "  extent      %.10g %.10g %.10g %.10g (xmin ymin xmax ymax)\n", fmin(x0, x1), fmin(y0, y1), fmax(x0, x1),
        fmax(y0, y1));
    put(&t, "  valid cells %lld (%.2f %%): a cell is valid only where every layer is valid\n",
        (long long)s->valid_cells, cells ? 100.0 * (double)s->valid_cells / (double)cells : 0.0);
    if (pf->note[0]) put(&t, "  %s\n", pf->note);

    put(&t, "\nInputs\n");
    for (int i = 0; i < pf->n_inputs; i++) {
        const scarp_preflight_input *in = &pf->inputs[i];
        put(&t, "  [%s %s] %s\n", in->role, in->name, in->path);
        if (in->is_vector) {
            put(&t, "    vector, CRS %s, %lld features on the grid", in->vector_crs, (long long)in->n_features);
            if (in->margin_m > 0) put(&t, " or within the %.10g m margin rasterized around it", in->margin_m);
            put(&t, "\n");
            if (in->unsure_cells > 0)
                put(&t, "    WARNING: %lld cells are farther than %.10g m from every feature seen; a feature beyond "
                    "that margin could be nearer to them\n", (long long)in->unsure_cells, in->margin_m);
        } else {
            const scarp_align_info *a = &in->align;
            put(&t, "    band %d, CRS %s, resolution %.10g x %.10g, extent %.10g %.10g %.10g %.10g\n", in->band, a->crs,
                a->res_x, a->res_y, a->extent[0], a->extent[1], a->extent[2], a->extent[3]);
            if (a->has_nodata)
                put(&t, "    nodata %.10g\n", a->nodata);
            else
                put(&t, "    nodata (none declared)\n");
            if (a->has_mask) put(&t, "    mask band: cells it marks invalid are nodata\n");
        }
        put(&t, "    aligned: %s\n", alignment(in, crs, how, sizeof how));
        if (in->layer >= 0)
            put(&t, "    voids %lld cells of the grid (%lld voided by this input alone) -> layer %s\n",
                (long long)pf->nodata_cells[in->layer], (long long)pf->only_void_cells[in->layer],
                s->layers[in->layer].name);
    }

    put(&t, "\nLayers\n");
    put(&t, "  %-20s %-12s %-9s %12s %12s %12s %12s %12s %12s\n", "name", "kind", "source", "nodata", "only-void",
        "min", "max", "mean", "sd");
    for (int l = 0; l < s->n_layers; l++) {
        const scarp_stack_layer *L = &s->layers[l];
        put(&t, "  %-20s %-12s %-9s %12lld %12lld %12.6g %12.6g %12.6g %12.6g\n", L->name, scarp__kind_name(L->kind),
            scarp__source_name(L->source), (long long)pf->nodata_cells[l], (long long)pf->only_void_cells[l], L->min,
            L->max, L->mean, L->sd);
        if (L->kind == SCARP_KIND_CATEGORICAL) {
            put(&t, "    categories (%d):", L->n_categories);
            for (int c = 0; c < L->n_categories; c++) put(&t, " %d", L->categories[c]);
            put(&t, "\n");
        }
    }
    if (t.oom) {
        scarp_free(t.s);
        return SCARP_ERR_NOMEM;
    }

    /* JSON twin */
    cJSON *root = cJSON_CreateObject();
    cJSON *grid = cJSON_AddObjectToObject(root, "grid");
    cJSON_AddStringToObject(grid, "origin", pf->grid_origin);
    cJSON_AddStringToObject(grid, "crs", crs);
    cJSON_AddNumberToObject(grid, "width", (double)g->width);
    cJSON_AddNumberToObject(grid, "height", (double)g->height);
    cJSON_AddNumberToObject(grid, "resolution_x", fabs(g->gt[1]));
    cJSON_AddNumberToObject(grid, "resolution_y", fabs(g->gt[5]));
    double ext[4] = {fmin(x0, x1), fmin(y0, y1), fmax(x0, x1), fmax(y0, y1)};
    cJSON_AddItemToObject(grid, "extent", cJSON_CreateDoubleArray(ext, 4));
    cJSON_AddNumberToObject(grid, "valid_cells", (double)s->valid_cells);
    if (pf->note[0]) cJSON_AddStringToObject(root, "note", pf->note);
    cJSON *inputs = cJSON_AddArrayToObject(root, "inputs");
    for (int i = 0; i < pf->n_inputs; i++) {
        const scarp_preflight_input *in = &pf->inputs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", in->role);
        cJSON_AddStringToObject(o, "name", in->name);
        cJSON_AddStringToObject(o, "path", in->path);
        if (in->is_vector) {
            cJSON_AddStringToObject(o, "type", "vector");
            cJSON_AddStringToObject(o, "crs", in->vector_crs);
            cJSON_AddNumberToObject(o, "features", (double)in->n_features);
            if (!strcmp(in->role, "distance")) {
                cJSON_AddNumberToObject(o, "margin_m", in->margin_m);
                cJSON_AddNumberToObject(o, "unsure_cells", (double)in->unsure_cells);
                cJSON_AddNumberToObject(o, "strips", (double)in->strips);
            }
        } else {
            const scarp_align_info *a = &in->align;
            cJSON_AddStringToObject(o, "type", "raster");
            cJSON_AddNumberToObject(o, "band", in->band);
            cJSON_AddStringToObject(o, "crs", a->crs);
            cJSON_AddNumberToObject(o, "resolution_x", a->res_x);
            cJSON_AddNumberToObject(o, "resolution_y", a->res_y);
            cJSON_AddItemToObject(o, "extent", cJSON_CreateDoubleArray(a->extent, 4));
            if (a->has_nodata)
                cJSON_AddNumberToObject(o, "nodata", a->nodata);
            else
                cJSON_AddNullToObject(o, "nodata");
            cJSON_AddBoolToObject(o, "mask_band", a->has_mask);
            cJSON_AddBoolToObject(o, "reprojected", a->reprojected);
            cJSON_AddBoolToObject(o, "resampled", a->resampled);
            cJSON_AddStringToObject(o, "method", a->resampled ? scarp__resample_name(a->method) : "none");
        }
        if (in->layer >= 0) {
            cJSON_AddStringToObject(o, "layer", s->layers[in->layer].name);
            cJSON_AddNumberToObject(o, "void_cells", (double)pf->nodata_cells[in->layer]);
            cJSON_AddNumberToObject(o, "only_void_cells", (double)pf->only_void_cells[in->layer]);
        }
        cJSON_AddItemToArray(inputs, o);
    }
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int l = 0; l < s->n_layers; l++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->layers[l].name);
        cJSON_AddStringToObject(o, "kind", scarp__kind_name(s->layers[l].kind));
        cJSON_AddStringToObject(o, "source", scarp__source_name(s->layers[l].source));
        cJSON_AddNumberToObject(o, "void_cells", (double)pf->nodata_cells[l]);
        cJSON_AddNumberToObject(o, "only_void_cells", (double)pf->only_void_cells[l]);
        cJSON_AddItemToArray(layers, o);
    }
    char path[1200];
    scarp_status st = scarp_path_join(path, sizeof path, out_dir, "preflight.txt");
    if (!st) st = scarp_write_file_atomic(path, t.s, t.n);
    if (!st) st = scarp_path_join(path, sizeof path, out_dir, "preflight.json");
    if (!st) st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
    scarp_free(t.s);
    return st;
}
