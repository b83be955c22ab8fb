/* stack.c — the layer stack: every input warped onto one reference grid (GDAL warper:
 * bilinear / nearest / mode), DEM derivatives (terrain.h: Horn 1981, Zevenbergen & Thorne
 * 1987, Barnes et al. 2014, Freeman 1991, Beven & Kirkby 1979, Moore et al. 1991),
 * distance layers (Felzenszwalb & Huttenlocher 2012) and NDVI, materialised as aligned
 * Float32 GeoTIFFs plus a valid mask, stack.json and the pre-flight report; and a window
 * reader over the result. The stack is built in "stack.partial/" and renamed into place
 * only when complete. */
#include "scarp/json_io.h"
#include "scarp/stack.h"
#include "scarp/alloc.h"
#include "scarp/bitmap.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/progress.h"
#include "scarp/raster.h"
#include "scarp/terrain.h"
#include "scarp/terrain_tiled.h"
#include "scarp/vector.h"
#include "preflight.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define STRIP_ROWS 256

void scarp_stack_init(scarp_stack *s)
{
    memset(s, 0, sizeof *s);
    scarp_grid_init(&s->grid);
}

void scarp_stack_free(scarp_stack *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_layers; i++) scarp_free(s->layers[i].categories);
    scarp_grid_free(&s->grid);
    scarp_stack_init(s);
}

int scarp_stack_layer_index(const scarp_stack *s, const char *name)
{
    for (int i = 0; i < s->n_layers; i++)
        if (strcmp(s->layers[i].name, name) == 0) return i;
    return -1;
}

/* ---- per-layer statistics and category values ---- */

typedef struct {
    int64_t n;
    double min, max, sum, sumsq;
    int categorical, n_cat;
    int cat[SCARP_STACK_MAX_CATEGORIES];
} layer_acc;

static void acc_init(layer_acc *a, int categorical)
{
    memset(a, 0, sizeof *a);
    a->min = INFINITY;
    a->max = -INFINITY;
    a->categorical = categorical;
}

/* Adds n values (NaN skipped). Categorical values must be whole numbers, at most
 * SCARP_STACK_MAX_CATEGORIES distinct ones; `what` names the input in errors. */
static scarp_status acc_add(layer_acc *a, const float *v, size_t n, const char *what)
{
    int64_t cnt = 0;
    double mn = a->min, mx = a->max, sum = 0, sumsq = 0;
    float last_cat = NAN;
    for (size_t i = 0; i < n; i++) {
        float x = v[i];
        if (isnan(x)) continue;
        cnt++;
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
        sum += x;
        sumsq += (double)x * x;
        if (a->categorical && x != last_cat) {
            if (x != floorf(x) || fabsf(x) > 2e9f)
                return scarp_fail(SCARP_ERR_INPUT, "%s: categorical layer holds a non-integer value %g", what, x);
            int c = (int)x, lo = 0, hi = a->n_cat;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (a->cat[mid] < c) lo = mid + 1; else hi = mid;
            }
            if (lo == a->n_cat || a->cat[lo] != c) {
                if (a->n_cat == SCARP_STACK_MAX_CATEGORIES)
                    return scarp_fail(SCARP_ERR_INPUT, "%s: categorical layer has more than %d distinct values", what,
                                      SCARP_STACK_MAX_CATEGORIES);
                memmove(a->cat + lo + 1, a->cat + lo, (size_t)(a->n_cat - lo) * sizeof(int));
                a->cat[lo] = c;
                a->n_cat++;
            }
            last_cat = x;
        }
    }
    a->n += cnt;
    a->min = mn;
    a->max = mx;
    a->sum += sum;
    a->sumsq += sumsq;
    return SCARP_OK;
}

static scarp_status acc_finish(const layer_acc *a, scarp_stack_layer *L)
{
    L->valid_cells = a->n;
    L->min = a->n ? a->min : NAN;
    L->max = a->n ? a->max : NAN;
    L->mean = a->n ? a->sum / (double)a->n : NAN;
    L->sd = a->n ? sqrt(fmax(0.0, a->sumsq / (double)a->n - L->mean * L->mean)) : NAN;
    scarp_free(L->categories);
    L->categories = NULL;
    L->n_categories = 0;
    if (a->categorical && a->n_cat > 0) {
        L->categories = scarp_malloc((size_t)a->n_cat * sizeof(int));
        if (!L->categories) return SCARP_ERR_NOMEM;
        memcpy(L->categories, a->cat, (size_t)a->n_cat * sizeof(int));
        L->n_categories = a->n_cat;
    }
    return SCARP_OK;
}

/* ---- small helpers ---- */

static scarp_status add_layer(scarp_stack *s, const char *name, scarp_layer_kind kind, scarp_layer_source src,
                              const char *dir, int *index)
{
    if (scarp_stack_layer_index(s, name) >= 0)
        return scarp_fail(SCARP_ERR_INPUT, "layer stack: two layers are named '%s' (rename a [layer.*] section)", name);
    if (s->n_layers == SCARP_STACK_MAX_LAYERS)
        return scarp_fail(SCARP_ERR_INPUT, "layer stack: more than %d layers", SCARP_STACK_MAX_LAYERS);
    scarp_stack_layer *L = &s->layers[s->n_layers];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", name);
    L->kind = kind;
    L->source = src;
    char file[96];
    snprintf(file, sizeof file, "%s.tif", name);
    scarp_status st = scarp_path_join(L->path, sizeof L->path, dir, file);
    if (st) return st;
    *index = s->n_layers++;
    return SCARP_OK;
}

/* Deletes a folder that holds only files (the stack's own folders). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[2048];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static scarp_resample method_for(scarp_layer_kind kind)
{
    /* Circular values (degrees) must not be averaged across 0/360 (bilinear would turn
     * 359° and 1° into 180°): nearest keeps every value a real angle. */
    return kind == SCARP_KIND_CONTINUOUS ? SCARP_RESAMPLE_BILINEAR : SCARP_RESAMPLE_NEAREST;
}

/* ---- void bitmaps: which cells each layer leaves nodata ----
 * Every producer (strip jobs, terrain, distances) marks its layer's NaN cells in a bitmap
 * of the grid (1 bit per cell: 2 MB per layer at 4000², 25 MB at 2×10⁸ cells, 250 MB at
 * 2×10⁹) as it writes the layer, so the valid mask is an AND of bitmaps instead of a second
 * decode of every layer (it was 2.8 s of the kerman stack). A bitmap is only written by the
 * job that produces its layer; byte-aligned strips (256 rows) keep jobs apart. Where the
 * bitmaps of the expected layers would take more than an eighth of `[project] memory`, they
 * are spilled to unlinked files of the stack folder (scarp_bitmap_init) and each strip's
 * pages leave the resident set once marked or read, so they cost page cache, not RSS. */

typedef struct {
    scarp_bitmap b[SCARP_STACK_MAX_LAYERS];
    const char *spill_dir; /* NULL: on the heap */
} void_set;

static scarp_status voids_alloc(void_set *vs, int li, int64_t cells)
{
    if (vs->b[li].bits) return SCARP_OK;
    return scarp_bitmap_init(&vs->b[li], cells, vs->spill_dir);
}

/* ---- the reference grid ---- */

static scarp_status layer_bounds_in(const char *path, const char *to_crs, double b[4])
{
    scarp_grid g;
    scarp_grid_init(&g);
    scarp_status st = scarp_grid_from_raster(&g, path);
    if (st) return st;
    /* The raster's outline, densified (21 points per edge), transformed. */
    enum { K = 21 };
    double x[4 * K], y[4 * K];
    double x0 = g.gt[0], x1 = g.gt[0] + g.width * g.gt[1], y0 = g.gt[3], y1 = g.gt[3] + g.height * g.gt[5];
    for (int i = 0; i < K; i++) {
        double t = (double)i / (K - 1);
        x[i] = x0 + t * (x1 - x0), y[i] = y0;
        x[K + i] = x0 + t * (x1 - x0), y[K + i] = y1;
        x[2 * K + i] = x0, y[2 * K + i] = y0 + t * (y1 - y0);
        x[3 * K + i] = x1, y[3 * K + i] = y0 + t * (y1 - y0);
    }
    char *to_wkt = NULL;
    scarp_grid tmp;
    scarp_grid_init(&tmp);
    /* scarp_grid_from_extent turns any CRS string into WKT. */
    st = scarp_grid_from_extent(&tmp, to_crs, 1.0, 0, 0, 1, 1);
    if (!st) {
        to_wkt = tmp.wkt;
        st = scarp_transform_points(g.wkt, to_wkt, x, y, 4 * K, path);
    }
    if (!st) {
        b[0] = b[1] = INFINITY;
        b[2] = b[3] = -INFINITY;
        for (int i = 0; i < 4 * K; i++) {
            if (isnan(x[i]) || isnan(y[i])) continue;
            b[0] = fmin(b[0], x[i]), b[1] = fmin(b[1], y[i]);
            b[2] = fmax(b[2], x[i]), b[3] = fmax(b[3], y[i]);
        }
        if (!(b[2] > b[0] && b[3] > b[1]))
            st = scarp_fail(SCARP_ERR_INPUT, "%s: its extent cannot be expressed in %s", path, to_crs);
    }
    scarp_grid_free(&tmp);
    scarp_grid_free(&g);
    return st;
}

static scarp_status reference_grid(const scarp_config *cfg, scarp_grid *g, char *origin, size_t osz)
{
    int have_extent = cfg->grid_extent[0] != 0 || cfg->grid_extent[1] != 0 || cfg->grid_extent[2] != 0 ||
                      cfg->grid_extent[3] != 0;
    const char *ref = cfg->grid_reference[0] ? cfg->grid_reference : "dem";
    int li = -1;
    for (int i = 0; i < cfg->n_layers && li < 0; i++)
        if (strcmp(cfg->layers[i].name, ref) == 0) li = i;
    scarp_status st;
    if (cfg->grid_crs[0]) {
        if (!(cfg->grid_resolution > 0))
            return scarp_fail(SCARP_ERR_INPUT, "[grid] crs = %s needs resolution = <cell size in CRS units>",
                              cfg->grid_crs);
        double b[4];
        if (have_extent) {
            memcpy(b, cfg->grid_extent, sizeof b);
            snprintf(origin, osz, "[grid] crs %s, resolution %.10g, extent %.10g %.10g %.10g %.10g", cfg->grid_crs,
                     cfg->grid_resolution, b[0], b[1], b[2], b[3]);
        } else {
            if (li < 0)
                return scarp_fail(SCARP_ERR_INPUT, "[grid] has crs but no extent, and no [layer.%s] to take it from",
                                  ref);
            if (!scarp_file_exists(cfg->layers[li].path))
                return scarp_fail(SCARP_ERR_IO, "%s: no such file ([layer.%s])", cfg->layers[li].path, ref);
            if ((st = layer_bounds_in(cfg->layers[li].path, cfg->grid_crs, b))) return st;
            snprintf(origin, osz, "[grid] crs %s, resolution %g, extent of layer %s reprojected", cfg->grid_crs,
                     cfg->grid_resolution, ref);
        }
        return scarp_grid_from_extent(g, cfg->grid_crs, cfg->grid_resolution, b[0], b[1], b[2], b[3]);
    }
    if (li < 0)
        return scarp_fail(SCARP_ERR_INPUT, "[grid] reference = %s: there is no [layer.%s] (set reference, or crs + "
                          "resolution + extent)", ref, ref);
    const char *path = cfg->layers[li].path;
    if (!scarp_file_exists(path)) return scarp_fail(SCARP_ERR_IO, "%s: no such file ([layer.%s])", path, ref);
    if ((st = scarp_grid_from_raster(g, path))) return st;
    snprintf(origin, osz, "layer %s (%s)", ref, path);
    if (cfg->grid_resolution > 0 && fabs(cfg->grid_resolution - fabs(g->gt[1])) > 1e-9 * cfg->grid_resolution) {
        double x0 = g->gt[0], x1 = g->gt[0] + g->width * g->gt[1];
        double y1 = g->gt[3], y0 = g->gt[3] + g->height * g->gt[5];
        char *wkt = scarp_strdup(g->wkt);
        if (!wkt) return SCARP_ERR_NOMEM;
        st = scarp_grid_from_extent(g, wkt, cfg->grid_resolution, fmin(x0, x1), fmin(y0, y1), fmax(x0, x1),
                                    fmax(y0, y1));
        scarp_free(wkt);
        if (st) return st;
        snprintf(origin, osz, "layer %s (%s) at resolution %g", ref, path, cfg->grid_resolution);
    }
    return SCARP_OK;
}

/* ---- phase 1: raster inputs and NDVI, by strips ---- */

typedef struct {
    int layer;           /* stack layer index */
    int input, input2;   /* preflight inputs (input2: NIR for NDVI, else -1) */
    scarp_status st;
    char msg[512];
    layer_acc acc;
} strip_job;

static scarp_status run_strip_job(strip_job *job, const scarp_stack *s, void_set *voids, scarp_preflight *pf,
                                  scarp_progress *p)
{
    const scarp_grid *g = &s->grid;
    scarp_stack_layer *L = (scarp_stack_layer *)&s->layers[job->layer];
    scarp_preflight_input *in = &pf->inputs[job->input];
    scarp_preflight_input *in2 = job->input2 >= 0 ? &pf->inputs[job->input2] : NULL;
    scarp_warped *w1 = NULL, *w2 = NULL;
    scarp_raster_writer *wr = NULL;
    float *buf = NULL, *buf2 = NULL;
    scarp_status st;
    scarp_resample m = in2 ? SCARP_RESAMPLE_BILINEAR : method_for(L->kind);
    if ((st = scarp_warped_open(&w1, in->path, in->band, g, m, &in->align))) goto end;
    if (in2 && (st = scarp_warped_open(&w2, in2->path, in2->band, g, m, &in2->align))) goto end;
    size_t n = (size_t)g->width * STRIP_ROWS;
    buf = scarp_malloc(n * sizeof(float));
    if (in2) buf2 = scarp_malloc(n * sizeof(float));
    if (!buf || (in2 && !buf2)) { st = SCARP_ERR_NOMEM; goto end; }
    scarp_raster_meta meta = {.description = L->name, .fast = 1};
    if ((st = scarp_raster_writer_open(&wr, L->path, g, SCARP_OUT_FLOAT32, &meta))) goto end;
    acc_init(&job->acc, L->kind == SCARP_KIND_CATEGORICAL);
    scarp_bitmap *bits = &voids->b[job->layer];
    for (int64_t r = 0; r < g->height; r += STRIP_ROWS) {
        int64_t h = g->height - r < STRIP_ROWS ? g->height - r : STRIP_ROWS;
        size_t cells = (size_t)h * (size_t)g->width;
        if ((st = scarp_warped_read(w1, 0, r, g->width, h, buf))) goto end;
        if (in2) {
            if ((st = scarp_warped_read(w2, 0, r, g->width, h, buf2))) goto end;
            if ((st = scarp_ndvi(buf, buf2, (int64_t)cells, buf))) goto end;
        }
        if ((st = acc_add(&job->acc, buf, cells, in->path))) goto end;
        scarp_bitmap_mark_nan(bits, r * g->width, buf, (int64_t)cells);
        if ((st = scarp_raster_writer_write(wr, 0, r, g->width, h, buf))) goto end;
        if ((st = scarp_progress_step(p, h))) {
            st = scarp_fail(SCARP_ERR_CANCELLED, "layer stack: cancelled");
            goto end;
        }
    }
    if (job->acc.n == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no valid cell on the reference grid (all nodata where it overlaps)",
                        in2 ? "NDVI (red and NIR)" : in->path);
        goto end;
    }
    st = scarp_raster_writer_commit(wr);
    wr = NULL;
    if (!st) st = acc_finish(&job->acc, L);
end:
    scarp_raster_writer_abort(wr);
    scarp_warped_close(w1);
    scarp_warped_close(w2);
    scarp_free(buf);
    scarp_free(buf2);
    return st;
}

/* ---- phase 2: DEM derivatives (whole DEM in memory when it fits the budget) ---- */

static scarp_status write_whole(scarp_stack *s, void_set *voids, int li, const float *data)
{
    scarp_stack_layer *L = &s->layers[li];
    layer_acc acc;
    acc_init(&acc, L->kind == SCARP_KIND_CATEGORICAL);
    scarp_status st = acc_add(&acc, data, (size_t)scarp_grid_cells(&s->grid), L->name);
    if (st) return st;
    if (acc.n == 0) return scarp_fail(SCARP_ERR_INPUT, "layer %s: no valid cell on the grid", L->name);
    if ((st = voids_alloc(voids, li, scarp_grid_cells(&s->grid)))) return st;
    scarp_bitmap_mark_nan(&voids->b[li], 0, data, scarp_grid_cells(&s->grid));
    /* one writer fed by this thread: GDAL's workers compress its blocks in parallel */
    scarp_raster_meta meta = {.description = L->name, .fast = 1, .threads = omp_get_max_threads()};
    double t0 = scarp_now();
    if ((st = scarp_raster_write(L->path, &s->grid, data, SCARP_OUT_FLOAT32, &meta))) return st;
    scarp_debug("stack:   write %-16s %.2f s", L->name, scarp_now() - t0);
    return acc_finish(&acc, L);
}

/* ---- phase 2 within a memory budget: tiles and strips through scratch rasters ---- */

/* Bytes per cell of the in-memory chain below: the DEM and two work rasters (12), the fill's
 * closed bytes and open set (1 + up to 16 for the cells queued at once, a few in practice),
 * the flow's receivers, in-degrees and stack, the river mask. 20 is what `/usr/bin/time -v
 * scarp prepare` measures on the 4000² synthetic study (docs/BENCHMARKS.md). */
#define TERRAIN_BYTES_PER_CELL 20.0

/* An output layer written strip by strip: its statistics, voids and block writer. */
typedef struct {
    int li;
    layer_acc acc;
    scarp_raster_writer *wr;
} strip_out;

static scarp_status strip_out_open(scarp_stack *s, void_set *voids, strip_out *o, const char *name,
                                   scarp_layer_kind kind, scarp_layer_source src, const char *dir)
{
    scarp_status st = add_layer(s, name, kind, src, dir, &o->li);
    if (st) return st;
    acc_init(&o->acc, kind == SCARP_KIND_CATEGORICAL);
    if ((st = voids_alloc(voids, o->li, scarp_grid_cells(&s->grid)))) return st;
    scarp_raster_meta meta = {.description = s->layers[o->li].name, .fast = 1, .threads = omp_get_max_threads()};
    return scarp_raster_writer_open(&o->wr, s->layers[o->li].path, &s->grid, SCARP_OUT_FLOAT32, &meta);
}

static scarp_status strip_out_write(scarp_stack *s, void_set *voids, strip_out *o, int64_t row0, int64_t rows,
                                    const float *v)
{
    if (!o->wr) return SCARP_OK;
    const int64_t W = s->grid.width;
    scarp_status st = acc_add(&o->acc, v, (size_t)(rows * W), s->layers[o->li].name);
    if (st) return st;
    scarp_bitmap_mark_nan(&voids->b[o->li], row0 * W, v, rows * W);
    return scarp_raster_writer_write(o->wr, 0, row0, W, rows, v);
}

static scarp_status strip_out_commit(scarp_stack *s, strip_out *o)
{
    if (!o->wr) return SCARP_OK;
    scarp_stack_layer *L = &s->layers[o->li];
    if (o->acc.n == 0) return scarp_fail(SCARP_ERR_INPUT, "layer %s: no valid cell on the grid", L->name);
    scarp_status st = scarp_raster_writer_commit(o->wr);
    o->wr = NULL;
    return st ? st : acc_finish(&o->acc, L);
}

static scarp_status band_warped_read(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out)
{
    return scarp_warped_read(ctx, col0, row0, w, h, out);
}
static scarp_status band_scratch_read(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out)
{
    return scarp_scratch_read(ctx, col0, row0, w, h, out);
}
static scarp_status band_scratch_write(void *ctx, int64_t col0, int64_t row0, int64_t w, int64_t h, const float *d)
{
    return scarp_scratch_write(ctx, col0, row0, w, h, d);
}

/* Rows [r0, r1) of a band with the one-row halo the 3×3 stencils need, clipped to the grid
 * (the grid edge keeps its own policy): reads rows [*h0, *h1) into buf. */
static scarp_status read_rows_halo(const scarp_tile_band *b, int64_t W, int64_t H, int64_t r0, int64_t r1,
                                   float *buf, int64_t *h0, int64_t *h1)
{
    *h0 = r0 > 0 ? r0 - 1 : 0;
    *h1 = r1 < H ? r1 + 1 : H;
    return b->read(b->ctx, 0, *h0, W, *h1 - *h0, buf);
}

/* The strip layers of the tiled chain, in the stack's layer order (dist_rivers, when derived,
 * goes between profile_curvature and twi as in the in-memory path). */
enum { T_SLOPE, T_ASPECT, T_PLAN, T_PROFILE, T_TWI, T_LCA, T_SPI, T_N };
static const struct {
    const char *name;
    scarp_layer_kind kind;
    unsigned flag;
} TILED_OUT[T_N] = {
    {"slope", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_SLOPE},
    {"aspect", SCARP_KIND_CIRCULAR, SCARP_DERIVE_ASPECT},
    {"plan_curvature", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_CURVATURE},
    {"profile_curvature", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_CURVATURE},
    {"twi", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_TWI},
    {"lca", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_LCA},
    {"spi", SCARP_KIND_CONTINUOUS, SCARP_DERIVE_SPI},
};

/* Work buffers of one strip of S rows: in, a, b: (S+2, W); acc: (S, W). */
typedef struct {
    const scarp_tile_band *dem, *filled, *acc;
    const scarp_cellsize *cs;
    int64_t W, H;
    float *in, *a, *b, *sca;
} strip_work;

/* Layer k of rows [r0, r1): a pointer to (r1 - r0, W) values inside the work buffers. */
static scarp_status strip_layer(strip_work *x, int k, int64_t r0, int64_t r1, const float **out)
{
    const int64_t W = x->W, rows = r1 - r0, n = rows * W;
    int64_t h0, h1;
    scarp_status st;
    if (k <= T_PROFILE) { /* the same 3×3 functions on the strip and its halo rows */
        if ((st = read_rows_halo(x->dem, W, x->H, r0, r1, x->in, &h0, &h1))) return st;
        scarp_cellsize view = scarp_cellsize_rows(x->cs, h0);
        st = k <= T_ASPECT ? scarp_slope_aspect(x->in, W, h1 - h0, &view, x->a, x->b)
                           : scarp_curvature(x->in, W, h1 - h0, &view, x->a, x->b);
        *out = ((k == T_SLOPE || k == T_PLAN) ? x->a : x->b) + (r0 - h0) * W;
        return st;
    }
    /* slope of the filled surface (filled pits are flat, hence wet: large TWI) and SCA */
    if ((st = x->acc->read(x->acc->ctx, 0, r0, W, rows, x->sca))) return st;
    if ((st = read_rows_halo(x->filled, W, x->H, r0, r1, x->in, &h0, &h1))) return st;
    scarp_cellsize view = scarp_cellsize_rows(x->cs, h0), vrows = scarp_cellsize_rows(x->cs, r0);
    if ((st = scarp_slope_aspect(x->in, W, h1 - h0, &view, x->b, NULL))) return st;
    const float *slope = x->b + (r0 - h0) * W;
    if ((st = scarp_specific_catchment_area(x->sca, W, rows, &vrows, x->sca))) return st;
    if (k == T_TWI) st = scarp_twi(x->sca, slope, n, SCARP_MIN_TAN_SLOPE, x->a);
    else if (k == T_SPI) st = scarp_spi_ln(x->sca, slope, n, SCARP_MIN_TAN_SLOPE, x->a);
    else /* ln a: the contributing-area factor of TWI and SPI alone (sperrorest's "log.carea") */
        for (int64_t i = 0; i < n; i++) x->a[i] = x->sca[i] > 0 ? logf(x->sca[i]) : NAN;
    *out = x->a;
    return st;
}

/* Writes layer k by strips, one layer at a time (one writer's partial blocks in the cache). */
static scarp_status strip_layer_write(scarp_stack *s, void_set *voids, strip_work *x, int k, int64_t S,
                                      const char *dir)
{
    strip_out o = {0};
    scarp_status st = strip_out_open(s, voids, &o, TILED_OUT[k].name, TILED_OUT[k].kind, SCARP_SOURCE_DERIVED, dir);
    for (int64_t r0 = 0; r0 < x->H && !st; r0 += S) {
        int64_t r1 = r0 + S < x->H ? r0 + S : x->H;
        const float *v = NULL;
        if (!(st = strip_layer(x, k, r0, r1, &v))) st = strip_out_write(s, voids, &o, r0, r1 - r0, v);
    }
    if (!st) st = strip_out_commit(s, &o);
    scarp_raster_writer_abort(o.wr);
    return st;
}

/* The chain of derive_terrain within the budget: slope, aspect and curvature by strips of
 * rows with a one-row halo (the same functions on the same 3×3 windows: identical values);
 * filling and flow accumulation by tiles (terrain_tiled.h: identical fill, D8 identical where
 * its sums are exact, MFD within a float tolerance) into scratch rasters in the stack folder;
 * slope of the filled DEM, SCA, TWI, ln a, ln SPI and the distance to derived rivers by
 * strips (identical values). */
static scarp_status derive_terrain_tiled(scarp_stack *s, const scarp_config *cfg, int dem_layer, unsigned derive,
                                         int want_river_distance, const char *dir, void_set *voids,
                                         scarp_progress *p)
{
    const scarp_grid *g = &s->grid;
    const int64_t W = g->width, H = g->height, N = W * H;
    const int64_t budget = cfg->memory_bytes > 0 ? cfg->memory_bytes : SCARP_DEFAULT_MEMORY;
    int n_out = 0;
    for (int k = 0; k < T_N; k++) n_out += (derive & TILED_OUT[k].flag) != 0;
    /* Part of the budget is taken already (libraries, the stack's void masks) or will be (the
     * void masks of these layers, one writer's row of 256-row blocks in GDAL's cache); of the
     * rest, a quarter each for the cache beyond that row, the tile solves and the strips, and a
     * quarter of headroom (edge values, compression threads, allocator slack). */
    const int64_t block_row = W * 256 * (int64_t)sizeof(float);
#ifdef __GLIBC__
    malloc_trim(0); /* what the warping freed goes back to the system before the budget is measured */
#endif
    int64_t avail = budget - scarp_rss_bytes() - (voids->spill_dir ? 0 : (int64_t)n_out * ((N + 7) / 8)) - block_row;
    if (avail < ((int64_t)8 << 20)) {
        scarp_warn("[project] memory = %lld MB leaves %lld MB beyond what the process holds: the terrain chain "
                   "runs in 8 MB and may exceed it", (long long)(budget >> 20), (long long)(avail >> 20));
        avail = (int64_t)8 << 20;
    }
    int64_t cache = scarp_gdal_cache_set(-1);
    scarp_gdal_cache_set(cache < block_row + avail / 4 ? cache : block_row + avail / 4);
    /* strips: 4 buffers of S + 2 rows */
    int64_t S = avail / 4 / (16 * W) - 2;
    if (S >= 256) S -= S % 256; /* whole block rows of the writers */
    if (S < 1) S = 1;
    if (S > H) S = H;
    scarp_warped *dw = NULL;
    scarp_scratch *sf = NULL, *sa = NULL;
    uint8_t *mask = NULL;
    scarp_cellsize cs = {0};
    scarp_distance_rows drows = {0};
    scarp_align_info info;
    char path[SCARP_PATH_MAX];
    double t0 = scarp_now();
    strip_work x = {.W = W, .H = H, .cs = &cs};
    scarp_status st = scarp_warped_open(&dw, s->layers[dem_layer].path, 1, g, SCARP_RESAMPLE_NEAREST, &info);
    if (st) goto end;
    if ((st = scarp_cellsize_init(&cs, g))) goto end;
    x.in = scarp_malloc((size_t)((S + 2) * W) * sizeof(float));
    x.a = scarp_malloc((size_t)((S + 2) * W) * sizeof(float));
    x.b = scarp_malloc((size_t)((S + 2) * W) * sizeof(float));
    x.sca = scarp_malloc((size_t)(S * W) * sizeof(float));
    if (!x.in || !x.a || !x.b || !x.sca) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    scarp_tile_band dem = {dw, band_warped_read, NULL};
    x.dem = &dem;
    scarp_debug("stack:   terrain by tiles and strips: budget %lld MB, %lld MB free of it, strips of %lld rows",
                (long long)(budget >> 20), (long long)(avail >> 20), (long long)S);
    scarp_progress_begin(p, "terrain derivatives (tiled)", 4);
    for (int k = T_SLOPE; k <= T_PROFILE; k++)
        if ((derive & TILED_OUT[k].flag) && (st = strip_layer_write(s, voids, &x, k, S, dir))) goto end;
    scarp_debug("stack:   slope/aspect/curvature by strips at %.2f s (RSS %lld MB)", scarp_now() - t0,
                (long long)(scarp_rss_bytes() >> 20));
    scarp_progress_step(p, 1);
    if ((derive & (SCARP_DERIVE_TWI | SCARP_DERIVE_SPI | SCARP_DERIVE_LCA)) || want_river_distance) {
        scarp_tiled_stats fs, as;
        scarp_path_join(path, sizeof path, dir, "scratch_filled.tif");
        if ((st = scarp_scratch_create(&sf, path, g))) goto end;
        scarp_path_join(path, sizeof path, dir, "scratch_acc.tif");
        if ((st = scarp_scratch_create(&sa, path, g))) goto end;
        scarp_tile_band filled = {sf, band_scratch_read, band_scratch_write};
        scarp_tile_band accb = {sa, band_scratch_read, band_scratch_write};
        x.filled = &filled;
        x.acc = &accb;
        if ((st = scarp_fill_depressions_tiled(&dem, &filled, W, H, scarp_fill_tile_side(avail / 4), 1, &fs, NULL)))
            goto end;
        scarp_debug("stack:   filled by %lld tiles (%lld solves, %d sweeps) at %.2f s (RSS %lld MB)",
                    (long long)fs.tiles, (long long)fs.solves, fs.sweeps, scarp_now() - t0,
                    (long long)(scarp_rss_bytes() >> 20));
        scarp_progress_step(p, 1);
        int mfd = strcmp(cfg->flow, "d8") != 0;
        if ((st = scarp_flow_accumulation_tiled(&filled, &accb, W, H, &cs, mfd, SCARP_MFD_EXPONENT,
                                                scarp_flow_tile_side(avail / 4), &as, NULL)))
            goto end;
        scarp_debug("stack:   flow accumulation by %lld tiles (%lld solves, %d sweeps) at %.2f s (RSS %lld MB)",
                    (long long)as.tiles, (long long)as.solves, as.sweeps, scarp_now() - t0,
                    (long long)(scarp_rss_bytes() >> 20));
        scarp_progress_step(p, 1);
        int li_dist = -1;
        if (want_river_distance &&
            (st = add_layer(s, "dist_rivers", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DISTANCE, dir, &li_dist)))
            goto end;
        for (int k = T_TWI; k <= T_SPI; k++)
            if ((derive & TILED_OUT[k].flag) && (st = strip_layer_write(s, voids, &x, k, S, dir))) goto end;
        scarp_debug("stack:   slope of filled, sca, twi, lca, spi by strips at %.2f s", scarp_now() - t0);
        if (want_river_distance) {
            /* the exact distance transform by strips (terrain_tiled.h); the nearest feature row
             * of each cell waits in the filled DEM's scratch raster, no longer needed */
            double km2 = cfg->river_threshold_km2 > 0 ? cfg->river_threshold_km2 : 1.0;
            int64_t n_river = 0;
            mask = scarp_malloc((size_t)(S * W));
            if (!mask) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
            if ((st = scarp_distance_rows_init(&drows, W, H, &cs))) goto end;
            for (int pass = 0; pass < 3; pass++) {
                strip_out o = {0};
                if (pass == 2) {
                    if (n_river == 0) {
                        st = scarp_fail(SCARP_ERR_INPUT, "%s: no cell reaches the river threshold of %g km² (lower "
                                        "river_threshold_km2)", s->layers[dem_layer].path, km2);
                        goto end;
                    }
                    o.li = li_dist;
                    acc_init(&o.acc, 0);
                    scarp_raster_meta meta = {.description = "dist_rivers", .fast = 1, .threads = omp_get_max_threads()};
                    if ((st = voids_alloc(voids, li_dist, N)) ||
                        (st = scarp_raster_writer_open(&o.wr, s->layers[li_dist].path, g, SCARP_OUT_FLOAT32, &meta)))
                        goto end;
                }
                const int64_t nstrips = (H + S - 1) / S;
                for (int64_t q = 0; q < nstrips && !st; q++) {
                    int64_t r0 = (pass == 1 ? nstrips - 1 - q : q) * S, r1 = r0 + S < H ? r0 + S : H;
                    int64_t rows = r1 - r0, n = rows * W;
                    if (pass < 2) {
                        if ((st = accb.read(accb.ctx, 0, r0, W, rows, x.sca)) ||
                            (st = scarp_rivers_from_accumulation(x.sca, n, km2 * 1e6, x.a)))
                            break;
                        for (int64_t i = 0; i < n; i++) mask[i] = x.a[i] == 1.0f;
                    }
                    if (pass == 0) {
                        for (int64_t i = 0; i < n; i++) n_river += mask[i];
                        scarp_distance_rows_down(&drows, r0, r1, mask, x.b);
                        st = filled.write(filled.ctx, 0, r0, W, rows, x.b);
                    } else if (pass == 1) {
                        if (!(st = filled.read(filled.ctx, 0, r0, W, rows, x.b))) {
                            scarp_distance_rows_up(&drows, r0, r1, mask, x.b);
                            st = filled.write(filled.ctx, 0, r0, W, rows, x.b);
                        }
                    } else if (!(st = filled.read(filled.ctx, 0, r0, W, rows, x.b))) {
                        scarp_distance_rows_finish(&drows, r0, r1, x.b, x.a);
                        st = strip_out_write(s, voids, &o, r0, rows, x.a);
                    }
                }
                if (!st && pass == 2) st = strip_out_commit(s, &o);
                scarp_raster_writer_abort(o.wr);
                if (st) goto end;
            }
            scarp_debug("stack:   distance to derived rivers by strips at %.2f s", scarp_now() - t0);
        }
    }
    scarp_progress_step(p, 1);
    scarp_progress_end(p);
end:
    scarp_scratch_close(sf);
    scarp_scratch_close(sa);
    scarp_warped_close(dw);
    scarp_free(x.in), scarp_free(x.a), scarp_free(x.b), scarp_free(x.sca);
    scarp_free(mask);
    scarp_distance_rows_free(&drows);
    scarp_cellsize_free(&cs);
    scarp_gdal_cache_set(cache);
    return st;
}

static scarp_status derive_terrain(scarp_stack *s, const scarp_config *cfg, int dem_layer, unsigned derive,
                                   int want_river_distance, const char *dir, void_set *voids, scarp_progress *p)
{
    const scarp_grid *g = &s->grid;
    int64_t W = g->width, H = g->height, N = W * H;
    const int64_t budget = cfg->memory_bytes > 0 ? cfg->memory_bytes : SCARP_DEFAULT_MEMORY;
    if ((double)N * TERRAIN_BYTES_PER_CELL > (double)budget)
        return derive_terrain_tiled(s, cfg, dem_layer, derive, want_river_distance, dir, voids, p);
    float *dem = NULL, *a = NULL, *b = NULL, *filled = NULL, *acc = NULL;
    uint8_t *mask = NULL;
    scarp_cellsize cs = {0};
    scarp_grid own;
    scarp_grid_init(&own);
    int li;
    double t0 = scarp_now();
    scarp_status st = scarp_raster_read(s->layers[dem_layer].path, 1, &own, &dem);
    if (st) goto end;
    scarp_debug("stack:   dem read in %.2f s", scarp_now() - t0);
    if ((st = scarp_cellsize_init(&cs, g))) goto end;
    a = scarp_malloc((size_t)N * sizeof(float));
    b = scarp_malloc((size_t)N * sizeof(float));
    if (!a || !b) { st = SCARP_ERR_NOMEM; goto end; }
    int steps = 0, total = 6;
    scarp_progress_begin(p, "terrain derivatives", total);
    if (derive & (SCARP_DERIVE_SLOPE | SCARP_DERIVE_ASPECT)) {
        if ((st = scarp_slope_aspect(dem, W, H, &cs, a, b))) goto end;
        scarp_debug("stack:   slope/aspect computed at %.2f s", scarp_now() - t0);
        if (derive & SCARP_DERIVE_SLOPE) {
            if ((st = add_layer(s, "slope", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
                (st = write_whole(s, voids, li, a)))
                goto end;
        }
        if (derive & SCARP_DERIVE_ASPECT) {
            if ((st = add_layer(s, "aspect", SCARP_KIND_CIRCULAR, SCARP_SOURCE_DERIVED, dir, &li)) ||
                (st = write_whole(s, voids, li, b)))
                goto end;
        }
    }
    scarp_progress_step(p, 1), steps++;
    if (derive & SCARP_DERIVE_CURVATURE) {
        if ((st = scarp_curvature(dem, W, H, &cs, a, b))) goto end;
        scarp_debug("stack:   curvature computed at %.2f s", scarp_now() - t0);
        if ((st = add_layer(s, "plan_curvature", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
            (st = write_whole(s, voids, li, a)))
            goto end;
        if ((st = add_layer(s, "profile_curvature", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
            (st = write_whole(s, voids, li, b)))
            goto end;
    }
    scarp_progress_step(p, 1), steps++;
    if ((derive & (SCARP_DERIVE_TWI | SCARP_DERIVE_SPI | SCARP_DERIVE_LCA)) || want_river_distance) {
        /* Hydrology runs on the depression-filled DEM (epsilon: every cell drains). */
        filled = dem;
        dem = NULL;
        if ((st = scarp_fill_depressions(filled, W, H, 1, filled, NULL))) goto end;
        scarp_debug("stack:   filled at %.2f s", scarp_now() - t0);
        scarp_progress_step(p, 1), steps++;
        acc = a;
        a = NULL;
        if (strcmp(cfg->flow, "d8") == 0)
            st = scarp_flow_accumulation_d8(filled, W, H, &cs, acc, NULL);
        else
            st = scarp_flow_accumulation_mfd(filled, W, H, &cs, SCARP_MFD_EXPONENT, acc, NULL);
        if (st) goto end;
        scarp_debug("stack:   flow accumulation at %.2f s", scarp_now() - t0);
        scarp_progress_step(p, 1), steps++;
        if (want_river_distance) {
            double km2 = cfg->river_threshold_km2 > 0 ? cfg->river_threshold_km2 : 1.0;
            if ((st = scarp_rivers_from_accumulation(acc, N, km2 * 1e6, b))) goto end;
            mask = scarp_malloc((size_t)N);
            if (!mask) { st = SCARP_ERR_NOMEM; goto end; }
            int64_t n_river = 0;
            for (int64_t i = 0; i < N; i++) n_river += (mask[i] = b[i] == 1.0f);
            if (n_river == 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: no cell reaches the river threshold of %g km² (lower "
                                "river_threshold_km2)", s->layers[dem_layer].path, km2);
                goto end;
            }
            if ((st = scarp_distance_transform(mask, W, H, &cs, b, NULL))) goto end;
            if ((st = add_layer(s, "dist_rivers", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DISTANCE, dir, &li)) ||
                (st = write_whole(s, voids, li, b)))
                goto end;
        }
        if (derive & (SCARP_DERIVE_TWI | SCARP_DERIVE_SPI | SCARP_DERIVE_LCA)) {
            /* slope of the filled surface: filled pits are flat, hence wet (large TWI) */
            if ((st = scarp_slope_aspect(filled, W, H, &cs, b, NULL))) goto end;
            if ((st = scarp_specific_catchment_area(acc, W, H, &cs, acc))) goto end;
            scarp_debug("stack:   slope of filled + sca at %.2f s", scarp_now() - t0);
            if (derive & SCARP_DERIVE_TWI) {
                if ((st = scarp_twi(acc, b, N, SCARP_MIN_TAN_SLOPE, filled))) goto end;
                if ((st = add_layer(s, "twi", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
                    (st = write_whole(s, voids, li, filled)))
                    goto end;
            }
            if (derive & SCARP_DERIVE_LCA) {
                /* ln a: the contributing-area factor of TWI and SPI alone (sperrorest's "log.carea") */
                for (int64_t i = 0; i < N; i++) filled[i] = acc[i] > 0 ? logf(acc[i]) : NAN;
                if ((st = add_layer(s, "lca", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
                    (st = write_whole(s, voids, li, filled)))
                    goto end;
            }
            if (derive & SCARP_DERIVE_SPI) {
                if ((st = scarp_spi_ln(acc, b, N, SCARP_MIN_TAN_SLOPE, b))) goto end;
                if ((st = add_layer(s, "spi", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DERIVED, dir, &li)) ||
                    (st = write_whole(s, voids, li, b)))
                    goto end;
            }
        }
    }
    scarp_progress_step(p, total - steps);
    scarp_progress_end(p);
end:
    scarp_free(dem);
    scarp_free(filled);
    scarp_free(acc);
    scarp_free(a);
    scarp_free(b);
    scarp_free(mask);
    scarp_cellsize_free(&cs);
    scarp_grid_free(&own);
    return st;
}

/* ---- phase 3: distance layers from vectors ---- */

/* Distances must see features outside the grid: a fault 100 m beyond the edge is 100 m
 * from the edge cells, whatever lies inside. The features are rasterized on the grid's
 * lattice extended by a margin of P cells on every side and the distance transform runs
 * on that window. Every lattice cell outside the window is more than P·cmin metres from
 * every grid cell (cmin: the smallest cell side of the window), so a grid cell whose
 * distance d satisfies d <= P·cmin is exact, i.e. the same as on an unbounded raster:
 *   pass 1: P = 0 (nothing more when every feature lies inside the grid);
 *   pass 2: P = ceil(dmax / cmin) + 1, dmax the largest distance of pass 1 (an upper bound
 *           of the true one), after which every cell is exact.
 * When no feature meets the window, P grows past the gap to the nearest feature envelope.
 * P is bounded so that the window holds at most four times the grid's cells or 2^24 cells
 * (80 MB of mask and distances), whichever is more, and at least 64 cells of margin; on a
 * geographic grid its rows stay within ±89.9°. When the bound
 * cuts the margin, the cells beyond it are counted in the pre-flight report. */
static int64_t distance_margin_cap(const scarp_grid *g)
{
    double w = (double)g->width, h = (double)g->height;
    /* (w + 2P)(h + 2P) <= A  <=>  4P² + 2(w + h)P + wh - A <= 0, A = max(4 wh, 2^24 cells) */
    double A = fmax(4.0 * w * h, 16777216.0);
    double p = (-(w + h) + sqrt((w + h) * (w + h) - 4.0 * (w * h - A))) / 4.0;
    int64_t cap = (int64_t)fmax(64.0, floor(p));
    if (scarp_grid_is_geographic(g)) {
        double y0 = g->gt[3], y1 = g->gt[3] + (double)g->height * g->gt[5];
        double room = (89.9 - fmax(fabs(y0), fabs(y1))) / fabs(g->gt[5]);
        cap = room < 0 ? 0 : (int64_t)fmin((double)cap, floor(room));
    }
    return cap;
}

/* The window: the grid's lattice with P more cells on every side (the CRS is borrowed). */
static scarp_grid distance_window(const scarp_grid *g, int64_t P)
{
    scarp_grid win = *g;
    win.gt[0] -= (double)P * g->gt[1];
    win.gt[3] -= (double)P * g->gt[5];
    win.width += 2 * P;
    win.height += 2 * P;
    return win;
}

/* Strips of the window for a distance layer within `[project] memory`: per window row a
 * mask byte and the nearest feature row (float), plus the grid's part of the row for the
 * writer; the whole window in one strip when it fits (5 bytes per window cell, no scratch
 * file), else strips of whole burn bands (SCARP_BURN_BAND_ROWS) with the nearest rows
 * waiting in a scratch raster between the sweeps. */
static int64_t distance_strip_rows(const scarp_config *cfg, int64_t w, int64_t W, int64_t H, int64_t *cache)
{
    const int64_t budget = cfg && cfg->memory_bytes > 0 ? cfg->memory_bytes : SCARP_DEFAULT_MEMORY;
    /* GDAL's cache: a row of 256-row blocks of the writer and of the scratch raster, and a
     * megabyte of slack (other open datasets) */
    *cache = (w + W) * 256 * (int64_t)sizeof(float) + ((int64_t)1 << 20);
    const int64_t fixed = W * 32 * (int64_t)omp_get_max_threads() + H * 32; /* envelope scratch, row positions */
    int64_t avail = budget - scarp_rss_bytes() - fixed - *cache;
    if (avail < ((int64_t)1 << 20)) avail = (int64_t)1 << 20;
    if (5 * W * H <= avail / 2) return H;
    /* whole bands of the burner (its bands do not depend on the strips: same cells); per
     * row a mask byte, the nearest row, the grid's part for the writer and its copy */
    int64_t S = avail / 2 / (W * 5 + w * 8 + 1);
    S -= S % SCARP_BURN_BAND_ROWS;
    if (S < SCARP_BURN_BAND_ROWS) S = SCARP_BURN_BAND_ROWS;
    return S < H ? S : H;
}

/* One distance transform of the window (margin P) by strips: the burner's bands swept down,
 * then up (the nearest feature row of each cell, Felzenszwalb & Huttenlocher 2012 pass 1),
 * then the lower envelopes of the grid's rows (pass 2), written to wr with their
 * statistics and voids. *burnt_out = the feature cells of the window (0: nothing written);
 * *dmax the largest grid distance, *beyond_reach the grid cells farther than reach. */
static scarp_status distance_window_pass(scarp_vector_burner *b, const scarp_grid *win, const scarp_cellsize *cs,
                                         int64_t P, int64_t w, int64_t h, int64_t S, const char *scratch_path,
                                         double reach, scarp_raster_writer *wr, layer_acc *acc, scarp_bitmap *void_bits,
                                         const char *name, int64_t *burnt_out, double *dmax, int64_t *beyond_reach)
{
    const int64_t W = win->width, H = win->height;
    const int one = S >= H;
    uint8_t *mask = scarp_malloc((size_t)(S * W));
    float *rowof = scarp_malloc((size_t)(S * W) * sizeof(float));
    float *out = one ? NULL : scarp_malloc((size_t)(S * w) * sizeof(float));
    scarp_scratch *sc = NULL;
    scarp_distance_rows dr = {0};
    scarp_status st = SCARP_OK;
    *burnt_out = 0, *dmax = 0, *beyond_reach = 0;
    if (!mask || !rowof || (!one && !out)) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    if ((st = scarp_distance_rows_init(&dr, W, H, cs))) goto end;
    if (!one && (st = scarp_scratch_create(&sc, scratch_path, win))) goto end;
    const int64_t nstrips = (H + S - 1) / S;
    int64_t burnt = 0;
    /* sweep down: burn each band, the nearest feature row above */
    for (int64_t q = 0; q < nstrips && !st; q++) {
        const int64_t r0 = q * S, r1 = r0 + S < H ? r0 + S : H;
        int64_t k = 0;
        if ((st = scarp_vector_burner_rows(b, r0, r1 - r0, mask, &k))) break;
        burnt += k;
        scarp_distance_rows_down(&dr, r0, r1, mask, rowof);
        if (!one) st = scarp_scratch_write(sc, 0, r0, W, r1 - r0, rowof);
    }
    if (st || burnt == 0) goto end;
    /* sweep up; a band's mask is where the downward sweep found the row itself */
    for (int64_t q = nstrips - 1; q >= 0 && !st; q--) {
        const int64_t r0 = q * S, r1 = r0 + S < H ? r0 + S : H;
        if (!one) {
            if ((st = scarp_scratch_read(sc, 0, r0, W, r1 - r0, rowof))) break;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = 0; c < W; c++) mask[(r - r0) * W + c] = rowof[(r - r0) * W + c] == (float)r;
        }
        scarp_distance_rows_up(&dr, r0, r1, mask, rowof);
        if (!one) st = scarp_scratch_write(sc, 0, r0, W, r1 - r0, rowof);
    }
    /* the grid's rows: lower envelopes in place, then the grid's columns out */
    for (int64_t g0 = 0; g0 < h && !st; g0 += S) {
        const int64_t rows = g0 + S < h ? S : h - g0, r0 = P + g0;
        float *src = one ? rowof + r0 * W : rowof;
        if (!one && (st = scarp_scratch_read(sc, 0, r0, W, rows, rowof))) break;
        scarp_distance_rows_finish(&dr, r0, r0 + rows, src, src);
        float *dst = one ? src : out;
        for (int64_t r = 0; r < rows; r++) {
            /* compact the grid's part of each row (memmove: in one strip it overlaps) */
            memmove(dst + r * w, src + r * W + P, (size_t)w * sizeof(float));
            for (int64_t c = 0; c < w; c++) {
                const float d = dst[r * w + c];
                *dmax = fmax(*dmax, d);
                *beyond_reach += d > reach;
            }
        }
        if ((st = acc_add(acc, dst, (size_t)(rows * w), name))) break;
        scarp_bitmap_mark_nan(void_bits, g0 * w, dst, rows * w);
        for (int64_t k = 0; k < rows && !st; k += 256) /* the writer's copy stays one block row */
            st = scarp_raster_writer_write(wr, 0, g0 + k, w, rows - k < 256 ? rows - k : 256, dst + k * w);
    }
    *burnt_out = burnt;
end:
    scarp_distance_rows_free(&dr);
    scarp_scratch_close(sc);
    scarp_free(mask), scarp_free(rowof), scarp_free(out);
    return st;
}

/* The distance layer li from the vector in->path: the margin loop above, each transform by
 * strips of the window (distance_window_pass), the last one's grid part written by strips.
 * Memory: the strips within `[project] memory` and the features meeting the window. */
static scarp_status distance_layer(scarp_stack *s, const scarp_config *cfg, const char *dir, void_set *voids,
                                   int li, scarp_preflight_input *in)
{
    const scarp_grid *g = &s->grid;
    const int64_t w = g->width, h = g->height, cap = distance_margin_cap(g);
    scarp_stack_layer *L = &s->layers[li];
    char scratch[SCARP_PATH_MAX];
    scarp_path_join(scratch, sizeof scratch, dir, "scratch_distance.tif");
    int64_t P = 0;
    scarp_cellsize cs = {0};
    scarp_vector_burner *b = NULL;
    scarp_raster_writer *wr = NULL;
    layer_acc acc;
    acc_init(&acc, 0);
    scarp_status st = voids_alloc(voids, li, scarp_grid_cells(g));
    in->margin_m = 0;
    in->unsure_cells = 0;
    const int64_t gdal_cache = scarp_gdal_cache_set(-1);
    while (!st) {
#ifdef __GLIBC__
        malloc_trim(0); /* what was freed (earlier phases, the last pass) goes back before the budget is measured */
#endif
        scarp_grid win = distance_window(g, P);
        const int64_t W = win.width, H = win.height;
        scarp_vector_burner_close(b), b = NULL;
        scarp_cellsize_free(&cs);
        scarp_rasterize_info info;
        if ((st = scarp_vector_burner_open(&b, in->path, &win, &info))) break;
        if ((st = scarp_cellsize_init(&cs, &win))) break;
        double cmin = INFINITY;
        for (int64_t r = 0; r < H; r++) cmin = fmin(cmin, fmin(cs.dx_row[r], cs.dy_row[r]));
        const double reach = (double)P * cmin;
        int64_t burnt = 0, unsure = 0;
        double dmax = 0;
        if (info.in_window > 0) {
            int64_t cache = 0;
            const int64_t S = distance_strip_rows(cfg, w, W, H, &cache);
            if (S < H) scarp_gdal_cache_set(cache < gdal_cache ? cache : gdal_cache);
            scarp_debug("stack:   %s: RSS %lld MB before the strips", L->name, (long long)(scarp_rss_bytes() >> 20));
            acc_init(&acc, 0);
            scarp_bitmap_clear(&voids->b[li]);
            scarp_raster_meta meta = {.description = L->name, .fast = 1, .threads = omp_get_max_threads()};
            if ((st = scarp_raster_writer_open(&wr, L->path, g, SCARP_OUT_FLOAT32, &meta))) break;
            in->strips = (H + S - 1) / S;
            scarp_debug("stack:   %s: window %lld x %lld (margin %lld), strips of %lld rows", L->name, (long long)W,
                        (long long)H, (long long)P, (long long)S);
            if ((st = distance_window_pass(b, &win, &cs, P, w, h, S, scratch, reach, wr, &acc, &voids->b[li], L->name,
                                           &burnt, &dmax, &unsure)))
                break;
        }
        in->n_features = burnt > 0 ? info.in_window : 0;
        if (burnt == 0) {
            scarp_raster_writer_abort(wr), wr = NULL;
            if (info.features == 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s: holds no feature to measure distances to", in->path);
                break;
            }
            if (P >= cap) {
                st = scarp_fail(SCARP_ERR_INPUT,
                                "%s: none of its %lld features lies on the grid or within %.0f m of it (wrong CRS or "
                                "area?)", in->path, (long long)info.features, reach);
                break;
            }
            /* past the nearest envelope; at least doubling (an envelope that meets the window
             * can still hold no cell of it: an L-shaped road around a corner) */
            int64_t next = P + (info.gap_cells > 0 ? info.gap_cells : 0) + 1;
            if (next < 2 * P) next = 2 * P;
            if (next < 16) next = 16;
            P = next < cap ? next : cap;
            continue;
        }
        in->margin_m = reach;
        if (!info.beyond || dmax <= reach) break; /* exact everywhere */
        if (P >= cap) { /* bounded: count the cells a farther feature could still be nearer to */
            in->unsure_cells = unsure;
            scarp_warn("%s: %lld cells are farther than %.0f m from every feature within the margin rasterized "
                       "around the grid; a feature beyond it could be nearer", in->path, (long long)unsure, reach);
            break;
        }
        scarp_raster_writer_abort(wr), wr = NULL;
        int64_t need = (int64_t)ceil(dmax / cmin) + 1;
        P = need < cap ? need : cap;
    }
    scarp_gdal_cache_set(gdal_cache);
    scarp_vector_burner_close(b);
    scarp_cellsize_free(&cs);
    if (!st && acc.n == 0) st = scarp_fail(SCARP_ERR_INPUT, "layer %s: no valid cell on the grid", L->name);
    if (st) {
        scarp_raster_writer_abort(wr);
        return st;
    }
    if ((st = scarp_raster_writer_commit(wr))) return st;
    return acc_finish(&acc, L);
}

/* The CRS name of a vector's first layer, for the report (read through the point reader
 * would load every feature; the rasterizer already validated the file). */
static void vector_crs_name(const char *path, char *out, size_t sz)
{
    scarp_point_table t;
    /* cheap enough for the line/polygon sources used as distance layers */
    if (scarp_vector_read_points(path, NULL, &t) == SCARP_OK) {
        snprintf(out, sz, "%s", t.crs);
        scarp_point_table_free(&t);
    } else {
        snprintf(out, sz, "(unknown)");
        scarp_clear_error();
    }
}

/* ---- phase 4: the valid mask ---- */

static scarp_status build_valid(scarp_stack *s, void_set *voids, scarp_preflight *pf, const char *dir,
                                scarp_progress *p)
{
    const scarp_grid *g = &s->grid;
    const int L = s->n_layers;
    size_t n = (size_t)g->width * STRIP_ROWS;
    float *vout = scarp_malloc(n * sizeof(float));
    scarp_raster_writer *wr = NULL;
    scarp_status st = vout ? SCARP_OK : SCARP_ERR_NOMEM;
    if (st) goto end;
    for (int l = 0; l < L; l++)
        if (!voids->b[l].bits) {
            st = scarp_fail(SCARP_ERR_INTERNAL, "layer stack: layer %s has no void bitmap", s->layers[l].name);
            goto end;
        }
    if ((st = scarp_path_join(s->valid_path, sizeof s->valid_path, dir, "valid.tif"))) goto end;
    scarp_raster_meta meta = {.description = "valid: 1 where every layer is valid", .fast = 1};
    if ((st = scarp_raster_writer_open(&wr, s->valid_path, g, SCARP_OUT_BYTE, &meta))) goto end;
    scarp_progress_begin(p, "valid mask", g->height);
    s->valid_cells = 0;
    int64_t nodata[SCARP_STACK_MAX_LAYERS] = {0}, only[SCARP_STACK_MAX_LAYERS] = {0}, valid = 0;
    for (int64_t r = 0; r < g->height; r += STRIP_ROWS) {
        int64_t h = g->height - r < STRIP_ROWS ? g->height - r : STRIP_ROWS;
        int64_t first = r * g->width, cells = h * g->width;
        /* integer sums: the same for any thread count */
#pragma omp parallel for schedule(static) reduction(+ : nodata[:L], only[:L], valid)
        for (int64_t i = 0; i < cells; i++) {
            int bad = 0, who = -1;
            for (int l = 0; l < L; l++)
                if (scarp_bitmap_get(&voids->b[l], first + i)) {
                    bad++;
                    who = l;
                    nodata[l]++;
                }
            if (bad == 1) only[who]++;
            vout[i] = bad ? 0.0f : 1.0f;
            valid += !bad;
        }
        for (int l = 0; l < L; l++) scarp_bitmap_release(&voids->b[l], first, cells);
        if ((st = scarp_raster_writer_write(wr, 0, r, g->width, h, vout))) goto end;
        if (scarp_progress_step(p, h)) {
            st = scarp_fail(SCARP_ERR_CANCELLED, "layer stack: cancelled");
            goto end;
        }
    }
    scarp_progress_end(p);
    s->valid_cells = valid;
    for (int l = 0; l < L; l++) {
        pf->nodata_cells[l] += nodata[l];
        pf->only_void_cells[l] += only[l];
    }
    if (s->valid_cells == 0) {
        int worst = 0;
        for (int l = 1; l < L; l++)
            if (pf->nodata_cells[l] > pf->nodata_cells[worst]) worst = l;
        st = scarp_fail(SCARP_ERR_INPUT, "layer stack: no cell is valid in every layer (the valid mask is empty; "
                        "layer %s alone is nodata on %lld of %lld cells)", s->layers[worst].name,
                        (long long)pf->nodata_cells[worst], (long long)scarp_grid_cells(g));
        goto end;
    }
    st = scarp_raster_writer_commit(wr);
    wr = NULL;
end:
    scarp_raster_writer_abort(wr);
    scarp_free(vout);
    return st;
}

/* ---- stack.json ---- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static scarp_status write_stack_json(const scarp_stack *s, const char *dir, const scarp_preflight *pf)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return scarp_fail(SCARP_ERR_NOMEM, "stack.json: out of memory");
    cJSON_AddStringToObject(root, "format", "scarp-stack");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON *grid = cJSON_AddObjectToObject(root, "grid");
    cJSON_AddStringToObject(grid, "crs", scarp_grid_crs_name(&s->grid));
    cJSON_AddStringToObject(grid, "wkt", s->grid.wkt ? s->grid.wkt : "");
    cJSON_AddItemToObject(grid, "geotransform", cJSON_CreateDoubleArray(s->grid.gt, 6));
    cJSON_AddNumberToObject(grid, "width", (double)s->grid.width);
    cJSON_AddNumberToObject(grid, "height", (double)s->grid.height);
    cJSON_AddStringToObject(grid, "origin", pf->grid_origin);
    cJSON *valid = cJSON_AddObjectToObject(root, "valid");
    cJSON_AddStringToObject(valid, "path", base_name(s->valid_path));
    cJSON_AddNumberToObject(valid, "cells", (double)s->valid_cells);
    cJSON *layers = cJSON_AddArrayToObject(root, "layers");
    for (int l = 0; l < s->n_layers; l++) {
        const scarp_stack_layer *L = &s->layers[l];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", L->name);
        cJSON_AddStringToObject(o, "kind", scarp__kind_name(L->kind));
        cJSON_AddStringToObject(o, "source", scarp__source_name(L->source));
        cJSON_AddStringToObject(o, "path", base_name(L->path));
        for (int i = 0; i < pf->n_inputs; i++)
            if (pf->inputs[i].layer == l) {
                cJSON_AddStringToObject(o, "input", pf->inputs[i].path);
                break;
            }
        cJSON *st = cJSON_AddObjectToObject(o, "stats");
        cJSON_AddNumberToObject(st, "valid_cells", (double)L->valid_cells);
        cJSON_AddNumberToObject(st, "min", L->min);
        cJSON_AddNumberToObject(st, "max", L->max);
        cJSON_AddNumberToObject(st, "mean", L->mean);
        cJSON_AddNumberToObject(st, "sd", L->sd);
        cJSON_AddNumberToObject(st, "nodata_cells", (double)pf->nodata_cells[l]);
        if (L->kind == SCARP_KIND_CATEGORICAL)
            cJSON_AddItemToObject(o, "categories", cJSON_CreateIntArray(L->categories, L->n_categories));
        cJSON_AddItemToArray(layers, o);
    }
    char path[1200];
    scarp_status st = scarp_path_join(path, sizeof path, dir, "stack.json");
    if (!st) st = scarp_json_write_file(path, root);
    cJSON_Delete(root);
    return st;
}

static scarp_layer_kind kind_from_name(const char *s, int *ok)
{
    *ok = 1;
    if (strcmp(s, "continuous") == 0) return SCARP_KIND_CONTINUOUS;
    if (strcmp(s, "categorical") == 0) return SCARP_KIND_CATEGORICAL;
    if (strcmp(s, "circular") == 0) return SCARP_KIND_CIRCULAR;
    *ok = 0;
    return SCARP_KIND_CONTINUOUS;
}

static scarp_layer_source source_from_name(const char *s)
{
    for (int i = SCARP_SOURCE_RASTER; i <= SCARP_SOURCE_NDVI; i++)
        if (strcmp(s, scarp__source_name((scarp_layer_source)i)) == 0) return (scarp_layer_source)i;
    return SCARP_SOURCE_RASTER;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

scarp_status scarp_stack_open(scarp_stack *s, const char *out_dir)
{
    scarp_stack_init(s);
    char sdir[1100], path[1200];
    scarp_status st = scarp_path_join(sdir, sizeof sdir, out_dir, "stack");
    if (!st) st = scarp_path_join(path, sizeof path, sdir, "stack.json");
    if (st) return st;
    if (!scarp_file_exists(path))
        return scarp_fail(SCARP_ERR_IO, "%s: no layer stack here (run `scarp prepare` first)", path);
    char *text = NULL;
    size_t bytes;
    if ((st = scarp_read_file(path, &text, &bytes))) return st;
    cJSON *root = cJSON_Parse(text);
    scarp_free(text);
    if (!root) return scarp_fail(SCARP_ERR_INPUT, "%s: not valid JSON", path);
    snprintf(s->dir, sizeof s->dir, "%s", out_dir);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(root, "grid");
    const cJSON *gt = grid ? cJSON_GetObjectItemCaseSensitive(grid, "geotransform") : NULL;
    const cJSON *wkt = grid ? cJSON_GetObjectItemCaseSensitive(grid, "wkt") : NULL;
    const cJSON *valid = cJSON_GetObjectItemCaseSensitive(root, "valid");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "scarp-stack") != 0 || !cJSON_IsArray(gt) ||
        cJSON_GetArraySize(gt) != 6 || !cJSON_IsString(wkt) || !cJSON_IsObject(valid) || !cJSON_IsArray(layers)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: not a scarp layer stack description (format, grid, valid or layers "
                        "missing)", path);
        goto end;
    }
    for (int i = 0; i < 6; i++) s->grid.gt[i] = cJSON_GetArrayItem(gt, i)->valuedouble;
    s->grid.width = (int64_t)json_num(grid, "width");
    s->grid.height = (int64_t)json_num(grid, "height");
    if (!(s->grid.wkt = scarp_strdup(wkt->valuestring))) { st = SCARP_ERR_NOMEM; goto end; }
    if (s->grid.width <= 0 || s->grid.height <= 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: grid has no cells", path);
        goto end;
    }
    const cJSON *vp = cJSON_GetObjectItemCaseSensitive(valid, "path");
    if (!cJSON_IsString(vp) || (st = scarp_path_join(s->valid_path, sizeof s->valid_path, sdir, vp->valuestring))) {
        if (!st) st = scarp_fail(SCARP_ERR_INPUT, "%s: valid.path missing", path);
        goto end;
    }
    s->valid_cells = (int64_t)json_num(valid, "cells");
    const cJSON *o;
    cJSON_ArrayForEach(o, layers)
    {
        if (s->n_layers == SCARP_STACK_MAX_LAYERS) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: more than %d layers", path, SCARP_STACK_MAX_LAYERS);
            goto end;
        }
        scarp_stack_layer *L = &s->layers[s->n_layers];
        memset(L, 0, sizeof *L);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(o, "path");
        int ok = 0;
        if (cJSON_IsString(kind)) kind_from_name(kind->valuestring, &ok);
        if (!cJSON_IsString(name) || !cJSON_IsString(lp) || !ok) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: layer %d lacks a name, path or valid kind", path, s->n_layers + 1);
            goto end;
        }
        s->n_layers++;
        snprintf(L->name, sizeof L->name, "%s", name->valuestring);
        L->kind = kind_from_name(kind->valuestring, &ok);
        L->source = cJSON_IsString(src) ? source_from_name(src->valuestring) : SCARP_SOURCE_RASTER;
        if ((st = scarp_path_join(L->path, sizeof L->path, sdir, lp->valuestring))) goto end;
        const cJSON *stats = cJSON_GetObjectItemCaseSensitive(o, "stats");
        L->valid_cells = (int64_t)json_num(stats, "valid_cells");
        L->min = json_num(stats, "min");
        L->max = json_num(stats, "max");
        L->mean = json_num(stats, "mean");
        L->sd = json_num(stats, "sd");
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(o, "categories");
        if (cJSON_IsArray(cats) && cJSON_GetArraySize(cats) > 0) {
            int nc = cJSON_GetArraySize(cats);
            if (!(L->categories = scarp_malloc((size_t)nc * sizeof(int)))) { st = SCARP_ERR_NOMEM; goto end; }
            for (int i = 0; i < nc; i++) L->categories[i] = (int)cJSON_GetArrayItem(cats, i)->valuedouble;
            L->n_categories = nc;
        }
    }
    if (s->n_layers == 0) st = scarp_fail(SCARP_ERR_INPUT, "%s: the stack has no layer", path);
end:
    cJSON_Delete(root);
    if (st) scarp_stack_free(s);
    return st;
}

/* ---- build ---- */

static scarp_status check_raster_input(const char *path, const char *section)
{
    if (!path[0]) return scarp_fail(SCARP_ERR_INPUT, "[%s]: path is not set", section);
    if (!scarp_file_exists(path)) return scarp_fail(SCARP_ERR_IO, "%s: no such file ([%s])", path, section);
    return SCARP_OK;
}

scarp_status scarp_stack_build(const scarp_config *cfg, const char *out_dir, scarp_progress *p, scarp_stack *stack)
{
    scarp_stack_init(stack);
    scarp_stack *s = stack;
    scarp_preflight *pf = scarp_calloc(1, sizeof *pf);
    strip_job *jobs = scarp_calloc(SCARP_STACK_MAX_LAYERS, sizeof *jobs);
    void_set voids_set = {0}, *voids = &voids_set; /* per layer: 1 bit per cell, set where nodata */
    char final_dir[1100], part_dir[1100], old_dir[1100];
    int n_jobs = 0, dir_made = 0;
    scarp_status st = (!pf || !jobs) ? SCARP_ERR_NOMEM : SCARP_OK;
    /* [project] memory caps GDAL's block cache during the build (an eighth of the budget) */
    const int64_t budget = cfg->memory_bytes > 0 ? cfg->memory_bytes : SCARP_DEFAULT_MEMORY;
    const int64_t gdal_cache = scarp_gdal_cache_set(-1);
    if (gdal_cache > budget / 8) scarp_gdal_cache_set(budget / 8);
    if (st) goto end;
    if ((st = scarp_path_join(final_dir, sizeof final_dir, out_dir, "stack")) ||
        (st = scarp_path_join(part_dir, sizeof part_dir, out_dir, "stack.partial")) ||
        (st = scarp_path_join(old_dir, sizeof old_dir, out_dir, "stack.old")))
        goto end;
    snprintf(s->dir, sizeof s->dir, "%s", out_dir);
    if (cfg->n_layers == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no [layer.*] section: the stack needs at least a DEM",
                        cfg->config_path[0] ? cfg->config_path : "config");
        goto end;
    }
    /* Every input exists before any work starts. */
    int dem_layer_cfg = -1;
    for (int i = 0; i < cfg->n_layers; i++) {
        char section[80];
        snprintf(section, sizeof section, "layer.%s", cfg->layers[i].name);
        if ((st = check_raster_input(cfg->layers[i].path, section))) goto end;
        if (cfg->layers[i].derive) {
            if (dem_layer_cfg >= 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "[layer.%s] and [layer.%s] both have derive = ...: only one DEM",
                                cfg->layers[dem_layer_cfg].name, cfg->layers[i].name);
                goto end;
            }
            if (cfg->layers[i].kind != SCARP_KIND_CONTINUOUS) {
                st = scarp_fail(SCARP_ERR_INPUT, "[layer.%s]: derive needs a continuous DEM", cfg->layers[i].name);
                goto end;
            }
            dem_layer_cfg = i;
        }
    }
    for (int i = 0; i < cfg->n_distances; i++)
        if (!scarp_file_exists(cfg->distances[i].path)) {
            st = scarp_fail(SCARP_ERR_IO, "%s: no such file ([distance.%s])", cfg->distances[i].path,
                            cfg->distances[i].name);
            goto end;
        }
    if (cfg->ndvi_red[0] || cfg->ndvi_nir[0]) {
        if ((st = check_raster_input(cfg->ndvi_red, "ndvi] red")) || (st = check_raster_input(cfg->ndvi_nir, "ndvi] nir")))
            goto end;
    }

    if ((st = reference_grid(cfg, &s->grid, pf->grid_origin, sizeof pf->grid_origin))) goto end;
    if (scarp_grid_cells(&s->grid) <= 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "reference grid (%s) has no cells", pf->grid_origin);
        goto end;
    }
    if ((st = scarp_mkdir_p(out_dir))) goto end;
    remove_flat_dir(part_dir); /* leftovers of a crashed build */
    if ((st = scarp_mkdir_p(part_dir))) goto end;
    dir_made = 1;
    {
        /* the nodata bitmaps of every layer this build may make (an upper bound: the derived
         * terrain layers and a river distance counted in full); spilled beyond an eighth of the budget */
        int n_expect = cfg->n_layers + cfg->n_distances + 2;
        for (int i = 0; i < cfg->n_layers; i++) n_expect += __builtin_popcount(cfg->layers[i].derive);
        if (n_expect > SCARP_STACK_MAX_LAYERS) n_expect = SCARP_STACK_MAX_LAYERS;
        const int64_t bitmaps = (int64_t)n_expect * ((scarp_grid_cells(&s->grid) + 7) / 8);
        if (bitmaps > budget / 8) voids->spill_dir = part_dir;
        scarp_debug("stack: nodata bitmaps of up to %d layers, %lld MB: %s", n_expect, (long long)(bitmaps >> 20),
                    voids->spill_dir ? "spilled to the stack folder" : "in memory");
    }

    /* Phase 1: raster inputs and NDVI, each a job of strips (jobs run in parallel). */
    for (int i = 0; i < cfg->n_layers; i++) {
        const scarp_layer_config *lc = &cfg->layers[i];
        int li;
        if ((st = add_layer(s, lc->name, lc->kind, SCARP_SOURCE_RASTER, part_dir, &li))) goto end;
        scarp_preflight_input *in = &pf->inputs[pf->n_inputs];
        snprintf(in->role, sizeof in->role, "layer");
        snprintf(in->name, sizeof in->name, "%s", lc->name);
        snprintf(in->path, sizeof in->path, "%s", lc->path);
        in->band = lc->band > 0 ? lc->band : 1;
        in->layer = li;
        jobs[n_jobs++] = (strip_job){.layer = li, .input = pf->n_inputs++, .input2 = -1};
    }
    if (cfg->ndvi_red[0]) {
        int li;
        if ((st = add_layer(s, "ndvi", SCARP_KIND_CONTINUOUS, SCARP_SOURCE_NDVI, part_dir, &li))) goto end;
        const char *paths[2] = {cfg->ndvi_red, cfg->ndvi_nir};
        int bands[2] = {cfg->ndvi_red_band, cfg->ndvi_nir_band};
        for (int k = 0; k < 2; k++) {
            scarp_preflight_input *in = &pf->inputs[pf->n_inputs++];
            snprintf(in->role, sizeof in->role, k ? "ndvi nir" : "ndvi red");
            snprintf(in->name, sizeof in->name, "ndvi");
            snprintf(in->path, sizeof in->path, "%s", paths[k]);
            in->band = bands[k] > 0 ? bands[k] : 1;
            in->layer = li;
        }
        jobs[n_jobs++] = (strip_job){.layer = li, .input = pf->n_inputs - 2, .input2 = pf->n_inputs - 1};
    }
    double t0 = scarp_now();
    for (int j = 0; j < n_jobs && !st; j++) st = voids_alloc(voids, jobs[j].layer, scarp_grid_cells(&s->grid));
    if (st) goto end;
    scarp_progress_begin(p, "warping layers", (int64_t)n_jobs * s->grid.height);
#pragma omp parallel for schedule(dynamic, 1)
    for (int j = 0; j < n_jobs; j++) {
        jobs[j].st = run_strip_job(&jobs[j], s, voids, pf, p);
        if (jobs[j].st) snprintf(jobs[j].msg, sizeof jobs[j].msg, "%s", scarp_last_error());
    }
    scarp_progress_end(p);
    for (int j = 0; j < n_jobs; j++)
        if (jobs[j].st) {
            st = scarp_fail(jobs[j].st, "%s", jobs[j].msg);
            goto end;
        }

    scarp_debug("stack: %-20s done at %.2f s (RSS %lld MB)", "warping", scarp_now() - t0,
                (long long)(scarp_rss_bytes() >> 20));
    /* Phase 2: DEM derivatives. */
    int has_river_vector = 0;
    for (int i = 0; i < cfg->n_distances; i++) has_river_vector |= strcmp(cfg->distances[i].name, "rivers") == 0;
    if (dem_layer_cfg >= 0) {
        unsigned derive = cfg->layers[dem_layer_cfg].derive;
        int rivers = (derive & SCARP_DERIVE_RIVERS) && !has_river_vector;
        snprintf(pf->note, sizeof pf->note, "DEM derivatives from layer %s (flow %s%s)",
                 cfg->layers[dem_layer_cfg].name, strcmp(cfg->flow, "d8") == 0 ? "d8" : "mfd",
                 rivers ? ", rivers from an accumulation threshold" : "");
        if ((st = derive_terrain(s, cfg, dem_layer_cfg, derive, rivers, part_dir, voids, p))) goto end;
    }

    scarp_debug("stack: %-20s done at %.2f s (RSS %lld MB)", "terrain", scarp_now() - t0,
                (long long)(scarp_rss_bytes() >> 20));
    /* Phase 3: distance layers. */
    for (int i = 0; i < cfg->n_distances; i++) {
        char name[80];
        int li;
        snprintf(name, sizeof name, "dist_%s", cfg->distances[i].name);
        if ((st = add_layer(s, name, SCARP_KIND_CONTINUOUS, SCARP_SOURCE_DISTANCE, part_dir, &li))) goto end;
        scarp_preflight_input *in = &pf->inputs[pf->n_inputs++];
        snprintf(in->role, sizeof in->role, "distance");
        snprintf(in->name, sizeof in->name, "%s", cfg->distances[i].name);
        snprintf(in->path, sizeof in->path, "%s", cfg->distances[i].path);
        in->is_vector = 1;
        in->layer = li;
        if ((st = distance_layer(s, cfg, part_dir, voids, li, in))) goto end;
        vector_crs_name(in->path, in->vector_crs, sizeof in->vector_crs);
    }

    scarp_debug("stack: %-20s done at %.2f s", "distances", scarp_now() - t0);
    /* Phase 4: valid mask, stack.json, then the whole folder goes into place. */
    if ((st = build_valid(s, voids, pf, part_dir, p))) goto end;
    scarp_debug("stack: %-20s done at %.2f s", "valid mask", scarp_now() - t0);
    if ((st = write_stack_json(s, part_dir, pf))) goto end;
    remove_flat_dir(old_dir);
    if (rename(final_dir, old_dir) != 0 && scarp_file_exists(final_dir)) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot replace the previous stack", final_dir);
        goto end;
    }
    if (rename(part_dir, final_dir) != 0) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot move the finished stack into place", final_dir);
        goto end;
    }
    dir_made = 0;
    remove_flat_dir(old_dir);
    /* Paths now point into stack/. */
    for (int l = 0; l < s->n_layers; l++) {
        char file[96];
        snprintf(file, sizeof file, "%s", base_name(s->layers[l].path));
        scarp_path_join(s->layers[l].path, sizeof s->layers[l].path, final_dir, file);
    }
    scarp_path_join(s->valid_path, sizeof s->valid_path, final_dir, "valid.tif");
    st = scarp__preflight_write(pf, s, out_dir);
end:
    scarp_gdal_cache_set(gdal_cache);
    if (dir_made) remove_flat_dir(part_dir);
    if (st) scarp_stack_free(s);
    scarp_free(pf);
    scarp_free(jobs);
    for (int l = 0; l < SCARP_STACK_MAX_LAYERS; l++) scarp_bitmap_free(&voids->b[l]);
    return st;
}

/* ---- window reader ---- */

struct scarp_stack_reader {
    int n_layers;
    scarp_warped *layer[SCARP_STACK_MAX_LAYERS];
    scarp_warped *valid;
    float *vbuf;
    size_t vcap;
};

void scarp_stack_reader_close(scarp_stack_reader *r)
{
    if (!r) return;
    for (int l = 0; l < r->n_layers; l++) scarp_warped_close(r->layer[l]);
    scarp_warped_close(r->valid);
    scarp_free(r->vbuf);
    scarp_free(r);
}

static scarp_status open_on_grid(scarp_warped **w, const char *path, const scarp_grid *g)
{
    scarp_align_info info;
    scarp_status st = scarp_warped_open(w, path, 1, g, SCARP_RESAMPLE_NEAREST, &info);
    if (st) return st;
    if (info.resampled) {
        scarp_warped_close(*w);
        *w = NULL;
        return scarp_fail(SCARP_ERR_INPUT, "%s: not on the stack's grid (was the stack folder edited?)", path);
    }
    return SCARP_OK;
}

scarp_status scarp_stack_reader_open(scarp_stack_reader **out, const scarp_stack *s)
{
    *out = NULL;
    scarp_stack_reader *r = scarp_calloc(1, sizeof *r);
    if (!r) return SCARP_ERR_NOMEM;
    scarp_status st = SCARP_OK;
    for (int l = 0; l < s->n_layers && !st; l++) {
        st = open_on_grid(&r->layer[l], s->layers[l].path, &s->grid);
        if (!st) r->n_layers++;
    }
    if (!st) st = open_on_grid(&r->valid, s->valid_path, &s->grid);
    if (st) {
        scarp_stack_reader_close(r);
        return st;
    }
    *out = r;
    return SCARP_OK;
}

scarp_status scarp_stack_read(scarp_stack_reader *r, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out,
                              uint8_t *valid)
{
    if (w <= 0 || h <= 0) return scarp_fail(SCARP_ERR_USAGE, "stack read: empty window %lld x %lld", (long long)w,
                                            (long long)h);
    size_t n = (size_t)w * (size_t)h;
    scarp_status st;
    for (int l = 0; l < r->n_layers; l++)
        if ((st = scarp_warped_read(r->layer[l], col0, row0, w, h, out + (size_t)l * n))) return st;
    if (!valid) return SCARP_OK;
    if (r->vcap < n) {
        float *b = scarp_realloc(r->vbuf, n * sizeof(float));
        if (!b) return SCARP_ERR_NOMEM;
        r->vbuf = b;
        r->vcap = n;
    }
    if ((st = scarp_warped_read(r->valid, col0, row0, w, h, r->vbuf))) return st;
    for (size_t i = 0; i < n; i++) valid[i] = r->vbuf[i] == 1.0f;
    return SCARP_OK;
}
