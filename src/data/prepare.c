/* prepare.c — `scarp prepare`: layer stack → samples (inventory, negatives with matched
 * dates) → splits → normalisation fitted on the training split → patches, antecedent
 * sequences and tabular features → OUT/dataset.bin, OUT/norm.bin, OUT/prepare_summary.txt.
 * The data design of the reference CNN–LSTM study (DESIGN.md §2–3), without its leaks:
 * scaling from training rows only, negative dates drawn from the positives' dates. */
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "samples.h"
#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/rng.h"

/* One dropped inventory row. */
typedef struct {
    int64_t source;
    double x, y;
    char reason[160];
} dropped_row;

typedef struct {
    dropped_row *rows;
    int64_t n, cap;
} dropped_list;

static void drop(dropped_list *d, int64_t source, double x, double y, const char *reason)
{
    if (d->n == d->cap) {
        int64_t nc = d->cap ? 2 * d->cap : 64;
        dropped_row *r = scarp_realloc(d->rows, sizeof(dropped_row) * (size_t)nc);
        if (!r) return; /* the count below still tells the truth */
        d->rows = r;
        d->cap = nc;
    }
    dropped_row *r = &d->rows[d->n++];
    r->source = source;
    r->x = x;
    r->y = y;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

/* A digest of everything the stack depends on (config keys, input sizes and mtimes). */
static uint32_t stack_digest(const scarp_config *c)
{
    uint32_t h = 0;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s|%s|%.17g|%.17g %.17g %.17g %.17g|%s|%s|%d|%d|%s|%.17g", c->grid_reference,
                     c->grid_crs, c->grid_resolution, c->grid_extent[0], c->grid_extent[1], c->grid_extent[2],
                     c->grid_extent[3], c->ndvi_red, c->ndvi_nir, c->ndvi_red_band, c->ndvi_nir_band,
                     c->flow, c->river_threshold_km2);
    h = scarp_crc32(h, buf, (size_t)n);
    const char *paths[2 * SCARP_MAX_LAYERS + 2];
    int np = 0;
    for (int i = 0; i < c->n_layers; i++) {
        const scarp_layer_config *l = &c->layers[i];
        n = snprintf(buf, sizeof buf, "L|%s|%s|%d|%d|%u", l->name, l->path, l->band, (int)l->kind, l->derive);
        h = scarp_crc32(h, buf, (size_t)n);
        paths[np++] = l->path;
    }
    for (int i = 0; i < c->n_distances; i++) {
        /* "D2": distances measured to features beyond the grid too (issue 13); stacks built
         * before are rebuilt */
        n = snprintf(buf, sizeof buf, "D2|%s|%s", c->distances[i].name, c->distances[i].path);
        h = scarp_crc32(h, buf, (size_t)n);
        paths[np++] = c->distances[i].path;
    }
    if (c->ndvi_red[0]) paths[np++] = c->ndvi_red, paths[np++] = c->ndvi_nir;
    for (int i = 0; i < np; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) == 0) {
            n = snprintf(buf, sizeof buf, "S|%lld|%lld", (long long)sb.st_size, (long long)sb.st_mtime);
            h = scarp_crc32(h, buf, (size_t)n);
        }
    }
    return h;
}

scarp_status scarp_prepare_stack(const scarp_config *cfg, const char *out, scarp_progress *p, scarp_stack *s,
                                 int *reused)
{
    char stamp_path[SCARP_PATH_MAX + 64], json[SCARP_PATH_MAX + 64], line[64];
    scarp_path_join(stamp_path, sizeof stamp_path, out, "stack/prepare.stamp");
    scarp_path_join(json, sizeof json, out, "stack/stack.json");
    uint32_t want = stack_digest(cfg);
    *reused = 0;
    if (scarp_file_exists(json) && scarp_file_exists(stamp_path)) {
        FILE *f = fopen(stamp_path, "r");
        unsigned have = 0;
        int ok = f && fgets(line, sizeof line, f) && sscanf(line, "%x", &have) == 1 && have == want;
        if (f) fclose(f);
        if (ok && scarp_stack_open(s, out) == SCARP_OK) {
            *reused = 1;
            return SCARP_OK;
        }
        scarp_stack_free(s);
        scarp_stack_init(s);
    }
    scarp_status st = scarp_stack_build(cfg, out, p, s);
    if (st != SCARP_OK) return st;
    int n = snprintf(line, sizeof line, "%08x\n", want);
    return scarp_write_file_atomic(stamp_path, line, (size_t)n);
}

/* Spatial blocks of the samples for repeat r. Repeat 0 gives the blocks of the main split;
 * each further repeat draws its own partition, as sperrorest re-runs k-means per repetition
 * (Brenning 2012): k-means from a seed of its own, square blocks with a random offset of the
 * lattice (uniform in [0, block_size) on each axis). Without this, repeats would only re-deal
 * the same blocks, and equal-sized blocks land in the same folds: the repeats would repeat
 * one partition and the spread over repeats would be too narrow. */
static scarp_status spatial_blocks(const scarp_config *cfg, const scarp_grid *g, const double *x, const double *y,
                                   int64_t n, int r, int32_t *block)
{
    const uint64_t seed = cfg->seed + (uint64_t)r * 0x9E3779B97F4A7C15ull;
    if (strcmp(cfg->split_blocks, "kmeans") == 0) {
        int k = cfg->split_clusters > 0 ? cfg->split_clusters : (int)(n / 25);
        if (cfg->split_clusters <= 0) k = k < 10 ? 10 : k > 200 ? 200 : k;
        return scarp_blocks_kmeans(g, x, y, n, k, seed, block);
    }
    if (r == 0) return scarp_blocks_squares(g, x, y, n, cfg->block_size, block);
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x53514f00ull); /* "SQO" */
    double sx, sy;
    scarp_grid_metric_scale(g, &sx, &sy);
    const double ox = scarp_rng_uniform(&rng) * cfg->block_size / sx, oy = scarp_rng_uniform(&rng) * cfg->block_size / sy;
    double *xs = scarp_malloc(sizeof(double) * (size_t)n), *ys = scarp_malloc(sizeof(double) * (size_t)n);
    if (!xs || !ys) {
        scarp_free(xs), scarp_free(ys);
        return SCARP_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) xs[i] = x[i] + ox, ys[i] = y[i] - oy;
    scarp_status st = scarp_blocks_squares(g, xs, ys, n, cfg->block_size, block);
    scarp_free(xs), scarp_free(ys);
    return st;
}

/* Empties GDAL's block cache (a zero cap flushes it) and caps it at cap again: blocks that
 * will not be read again would otherwise stay resident up to the cap. */
static void drop_gdal_cache(int64_t cap)
{
    scarp_gdal_cache_set(0);
    scarp_gdal_cache_set(cap);
#ifdef __GLIBC__
    malloc_trim(0); /* and what they held goes back to the system */
#endif
}

/* One line of SCARP_DEBUG=1 per phase of the samples stage: when it ended and the RSS then. */
static void debug_phase(const char *phase, double t0)
{
    scarp_debug("prepare: %-16s done at %.2f s (RSS %lld MB)", phase, scarp_now() - t0,
                (long long)(scarp_rss_bytes() >> 20));
}

/* The valid mask of the stack, one bit per cell (250 MB at 2 × 10⁹ cells: the only whole-grid
 * array of the samples stage), read by strips of 256 rows. */
static scarp_status read_valid(const scarp_stack *s, scarp_bitmap *valid)
{
    const scarp_grid *g = &s->grid;
    const int64_t W = g->width, H = g->height, R = 256;
    scarp_warped *w = NULL;
    scarp_align_info info;
    float *strip = scarp_malloc((size_t)(W * R) * sizeof(float));
    scarp_status st = strip ? scarp_bitmap_init(valid, W * H, NULL) : SCARP_ERR_NOMEM;
    if (!st) st = scarp_warped_open(&w, s->valid_path, 1, g, SCARP_RESAMPLE_NEAREST, &info);
    for (int64_t r0 = 0; !st && r0 < H; r0 += R) {
        const int64_t rows = H - r0 < R ? H - r0 : R;
        if ((st = scarp_warped_read(w, 0, r0, W, rows, strip))) break;
        for (int64_t i = 0; i < rows * W; i++)
            if (strip[i] > 0.5f) scarp_bitmap_set(valid, r0 * W + i);
    }
    scarp_warped_close(w);
    scarp_free(strip);
    if (st) scarp_bitmap_free(valid);
    return st;
}

static int cmp_i64pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The factor table: one factor per stack layer (its channels and their centre features)
 * and one per temporal variable (the whole sequence variable and its summaries). */
static scarp_status build_names_and_factors(scarp_dataset *d)
{
    const scarp_norm *nm = &d->norm;
    d->channel_names = scarp_calloc((size_t)d->C + 1, 64);
    d->feature_names = scarp_calloc((size_t)d->F + 1, 64);
    d->n_factors = nm->L + nm->T;
    d->factors = scarp_calloc((size_t)d->n_factors + 1, sizeof(scarp_factor));
    if (!d->channel_names || !d->feature_names || !d->factors) return SCARP_ERR_NOMEM;
    for (int c = 0; c < d->C; c++) {
        memcpy(d->channel_names[c], nm->channels[c].name, 64);
        memcpy(d->feature_names[c], nm->channels[c].name, 64);
    }
    for (int s = 0; s < nm->S; s++) memcpy(d->feature_names[d->C + s], nm->summary_names[s], 64);
    for (int l = 0; l < nm->L; l++) {
        scarp_factor *f = &d->factors[l];
        snprintf(f->name, sizeof f->name, "%s", nm->layer_names[l]);
        f->temporal_var = -1;
        f->channels = scarp_malloc(sizeof(int) * (size_t)(d->C + 1));
        f->features = scarp_malloc(sizeof(int) * (size_t)(d->C + 1));
        if (!f->channels || !f->features) return SCARP_ERR_NOMEM;
        for (int c = 0; c < d->C; c++)
            if (nm->channels[c].layer == l) f->channels[f->n_channels++] = c, f->features[f->n_features++] = c;
    }
    int s = 0;
    for (int v = 0; v < nm->T; v++) {
        scarp_factor *f = &d->factors[nm->L + v];
        snprintf(f->name, sizeof f->name, "%s", nm->var_names[v]);
        f->temporal_var = v;
        f->channels = scarp_malloc(sizeof(int));
        f->features = scarp_malloc(sizeof(int) * 8);
        if (!f->channels || !f->features) return SCARP_ERR_NOMEM;
        int k = strcmp(nm->var_names[v], "rainfall") == 0 ? 4 : 2;
        for (int j = 0; j < k; j++) f->features[f->n_features++] = d->C + s++;
    }
    return SCARP_OK;
}

static scarp_status write_summary(const char *out, const scarp_config *cfg, const scarp_dataset *d,
                                  const scarp_prepare_report *rep, const dropped_list *dl, const scarp_temporal *t,
                                  int stack_reused, int64_t valid_cells)
{
    char path[SCARP_PATH_MAX + 64];
    scarp_path_join(path, sizeof path, out, "prepare_summary.txt");
    size_t cap = 65536 + (size_t)d->C * 96 + (size_t)dl->n * 200;
    char *b = scarp_malloc(cap);
    if (!b) return SCARP_ERR_NOMEM;
    size_t k = 0;
#define OUTF(...) do { int w_ = snprintf(b + k, cap - k, __VA_ARGS__); if (w_ > 0) k += (size_t)w_ < cap - k ? (size_t)w_ : cap - k - 1; } while (0)
    OUTF("scarp prepare — summary\nconfig: %s\nseed: %llu\nstack: %s (%d layers, %lld x %lld cells, %lld valid)\n\n",
         cfg->config_path, (unsigned long long)cfg->seed, stack_reused ? "reused" : "built", d->norm.L,
         (long long)d->grid.width, (long long)d->grid.height, (long long)valid_cells);
    OUTF("inventory: %s\n  rows read: %lld\n  dropped off the grid: %lld\n  dropped on nodata: %lld\n"
         "  dropped duplicates (same cell): %lld\n  dropped without a date: %lld\n"
         "  dropped with a window outside the series: %lld\n",
         cfg->inventory_path, (long long)rep->inventory_rows, (long long)rep->dropped_off_grid,
         (long long)rep->dropped_nodata, (long long)rep->dropped_duplicate, (long long)rep->dropped_no_date,
         (long long)rep->dropped_window);
    OUTF("samples: %lld landslides, %lld non-landslides (%s)\nnegative dates: %s\n\n", (long long)rep->positives,
         (long long)rep->negatives, rep->labelled ? "both classes from the inventory's label column" : "negatives sampled",
         rep->dates_mode);
    if (d->same_cell) {
        int64_t ns = 0;
        for (int64_t i = 0; i < d->n; i++) ns += d->same_cell[i];
        OUTF("task: hazard: %lld negatives on landslide cells on days > %d days from their events ([negatives] "
             "same_cell_share %g), %lld on other cells on uniform days\n\n", (long long)ns, cfg->window,
             cfg->negatives_same_cell_share, (long long)(rep->negatives - ns));
    }
    OUTF("split: %s", cfg->split_method);
    if (strcmp(cfg->split_method, "spatial") == 0)
        OUTF(" (%s, %s)", cfg->split_blocks, strcmp(cfg->split_blocks, "squares") == 0 ? "square blocks" : "k-means clusters");
    OUTF("; folds %d, repeats %d\n", cfg->folds, cfg->repeats);
    OUTF("  %-6s %10s %10s %10s\n", "split", "landslide", "other", "total");
    const char *names[3] = {"train", "val", "test"};
    for (int s = 0; s < 3; s++)
        OUTF("  %-6s %10lld %10lld %10lld\n", names[s], (long long)scarp_dataset_count(d, s, 1),
             (long long)scarp_dataset_count(d, s, 0), (long long)scarp_dataset_count(d, s, -1));
    if (strcmp(cfg->split_method, "spatial") == 0) {
        /* whole blocks cannot always hit the shares exactly: show the targets beside the counts */
        int64_t tv[2], tt[2], tr[2];
        for (int cls = 0; cls < 2; cls++)
            scarp_split_counts(scarp_dataset_count(d, 0, cls) + scarp_dataset_count(d, 1, cls) +
                                   scarp_dataset_count(d, 2, cls),
                               cfg->split_val, cfg->split_test, &tr[cls], &tv[cls], &tt[cls]);
        OUTF("  targets (landslide/other): train %lld/%lld, val %lld/%lld, test %lld/%lld; blocks assigned whole, "
             "stratified by class\n", (long long)tr[1], (long long)tr[0], (long long)tv[1], (long long)tv[0],
             (long long)tt[1], (long long)tt[0]);
    }
    if (d->fold && cfg->folds > 1) {
        OUTF("  folds of repeat 1 (landslide/other):");
        for (int f = 0; f < cfg->folds; f++) {
            int64_t c1 = 0, c0 = 0;
            for (int64_t i = 0; i < d->n; i++)
                if (d->fold[i] == f) c1 += d->label[i] == 1, c0 += d->label[i] == 0;
            OUTF(" %lld/%lld", (long long)c1, (long long)c0);
        }
        OUTF("\n");
    }
    OUTF("\npatch: %d x %d cells; %d channels (normalisation fitted on the training split):\n", d->H, d->W, d->C);
    for (int c = 0; c < d->C; c++) {
        const scarp_norm_channel *ch = &d->norm.channels[c];
        const char *kind = ch->kind == SCARP_CHANNEL_VALUE ? "min-max" : ch->kind == SCARP_CHANNEL_ONEHOT ? "one-hot"
                           : ch->kind == SCARP_CHANNEL_SIN ? "sin" : "cos";
        if (ch->kind == SCARP_CHANNEL_VALUE)
            OUTF("  %3d %-28s %-8s min %-12g max %-12g nodata fill %.4g\n", c, ch->name, kind, ch->min, ch->max, ch->mean);
        else
            OUTF("  %3d %-28s %-8s nodata fill %.4g\n", c, ch->name, kind, ch->mean);
    }
    if (t) {
        scarp_temporal_report tr;
        scarp_temporal_report_get(t, &tr);
        char f[16], l[16];
        scarp_date_format(tr.first, f);
        scarp_date_format(tr.last, l);
        OUTF("\ntemporal: window %d days ending the day before each event; %d variables; record %s .. %s\n", d->N, d->T,
             f, l);
        if (tr.n_stations)
            OUTF("  rainfall: %d stations (%s form), %lld station-days, %lld missing days filled by linear interpolation; "
                 "%s\n", tr.n_stations, tr.rain_long_form ? "long" : "wide", (long long)tr.rain_days,
                 (long long)tr.rain_missing_filled, strcmp(cfg->interpolation, "idw") == 0 ? "IDW" : "nearest station");
        if (tr.n_reservoirs)
            OUTF("  reservoir level: %d reservoirs (%s form), %lld days filled; %s\n", tr.n_reservoirs,
                 tr.level_long_form ? "long" : "wide", (long long)tr.level_missing_filled, cfg->reservoir_interpolation);
        OUTF("  evaluated at the centre of the %g m temporal cell holding each sample\n", cfg->temporal_resolution);
        for (int v = 0; v < d->T; v++)
            OUTF("  %-16s min %-10g max %g (training windows)\n", d->norm.var_names[v], d->norm.seq_min[v],
                 d->norm.seq_max[v]);
    } else {
        OUTF("\ntemporal: none (no [temporal] rainfall or reservoir levels)\n");
    }
    OUTF("\ntabular features: %d (centre cell of each channel + %d temporal summaries)\n", d->F, d->F - d->C);
    OUTF("\ndropped points (%lld; also in prepare_dropped.csv):\n", (long long)dl->n);
    for (int64_t i = 0; i < dl->n && i < 200; i++)
        OUTF("  row %lld (%.3f, %.3f): %s\n", (long long)dl->rows[i].source, dl->rows[i].x, dl->rows[i].y,
             dl->rows[i].reason);
    if (dl->n > 200) OUTF("  ... %lld more\n", (long long)(dl->n - 200));
#undef OUTF
    scarp_status st = scarp_write_file_atomic(path, b, k);
    scarp_free(b);
    if (st != SCARP_OK) return st;
    /* the full list as CSV */
    scarp_path_join(path, sizeof path, out, "prepare_dropped.csv");
    size_t cap2 = 64 + (size_t)dl->n * 240;
    char *c = scarp_malloc(cap2);
    if (!c) return SCARP_ERR_NOMEM;
    size_t m = (size_t)snprintf(c, cap2, "source_row,x,y,reason\n");
    for (int64_t i = 0; i < dl->n; i++) {
        int w = snprintf(c + m, cap2 - m, "%lld,%.6f,%.6f,\"%s\"\n", (long long)dl->rows[i].source, dl->rows[i].x,
                         dl->rows[i].y, dl->rows[i].reason);
        if (w > 0 && (size_t)w < cap2 - m) m += (size_t)w;
    }
    st = scarp_write_file_atomic(path, c, m);
    scarp_free(c);
    return st;
}

scarp_status scarp_prepare(const scarp_config *cfg, const char *out, scarp_progress *p, scarp_dataset *ds_out,
                           scarp_prepare_report *rep_out)
{
    double t0 = scarp_now();
    scarp_prepare_report rep;
    memset(&rep, 0, sizeof rep);
    scarp_stack stack;
    scarp_stack_init(&stack);
    scarp_inventory inv;
    memset(&inv, 0, sizeof inv);
    scarp_temporal *tmp = NULL;
    scarp_dataset d;
    scarp_dataset_init(&d);
    dropped_list dl = {0};
    scarp_bitmap valid = {0};
    float *raw = NULL, *raw_seq = NULL;
    int64_t *keys = NULL;
    int stack_reused = 0;
    scarp_status st;
    /* [project] memory also caps GDAL's block cache while the samples are read (an eighth of
     * the budget, as while the stack is built): random patch reads would fill its default */
    const int64_t budget = cfg->memory_bytes > 0 ? cfg->memory_bytes : SCARP_DEFAULT_MEMORY;
    const int64_t gdal_cache = scarp_gdal_cache_set(-1), samples_cache = gdal_cache < budget / 8 ? gdal_cache : budget / 8;
    scarp_gdal_cache_set(samples_cache);
    if ((st = scarp_mkdir_p(out)) != SCARP_OK) goto end;

    /* 1. the layer stack */
    if ((st = scarp_prepare_stack(cfg, out, p, &stack, &stack_reused)) != SCARP_OK) goto end;
    rep.seconds_stack = scarp_now() - t0;
    scarp_info("prepare: stack %s (%d layers) in %.1f s", stack_reused ? "reused" : "built", stack.n_layers,
               rep.seconds_stack);
    const scarp_grid *g = &stack.grid;
    const int64_t W = g->width;
    drop_gdal_cache(samples_cache); /* the build's blocks are not read again; what it freed goes back */
    debug_phase("stack", t0);
    if ((st = read_valid(&stack, &valid)) != SCARP_OK) goto end;
    drop_gdal_cache(samples_cache); /* valid.tif is read once */
    debug_phase("valid mask", t0);

    /* 2. temporal series and inventory */
    if ((st = scarp_temporal_load(&tmp, cfg, g)) != SCARP_OK) goto end;
    debug_phase("temporal series", t0);
    const int N = tmp ? scarp_temporal_window(tmp) : 0, T = scarp_temporal_n_vars(tmp);
    int32_t rec_first = 0, rec_last = 0;
    if (tmp) scarp_temporal_range(tmp, &rec_first, &rec_last);
    if ((st = scarp_inventory_read(cfg, g, &inv)) != SCARP_OK) goto end;
    debug_phase("inventory", t0);
    rep.inventory_rows = inv.n;
    rep.labelled = inv.has_labels;
    if (tmp && !inv.has_dates) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no date column '%s', but [temporal] series are given: each event needs "
                        "its date for its antecedent window ([inventory] date)", cfg->inventory_path,
                        cfg->inventory_date);
        goto end;
    }

    /* 3. keep points on valid cells, once per cell, with a usable date */
    int64_t n_cap = inv.n + (int64_t)ceil(cfg->negatives_ratio * (double)inv.n) + 1;
    d.x = scarp_malloc(sizeof(double) * (size_t)n_cap);
    d.y = scarp_malloc(sizeof(double) * (size_t)n_cap);
    d.col = scarp_malloc(sizeof(int64_t) * (size_t)n_cap);
    d.row = scarp_malloc(sizeof(int64_t) * (size_t)n_cap);
    d.date = scarp_malloc(sizeof(int32_t) * (size_t)n_cap);
    d.label = scarp_malloc((size_t)n_cap);
    keys = scarp_malloc(sizeof(int64_t) * 2 * (size_t)(inv.n + 1));
    if (!d.x || !d.y || !d.col || !d.row || !d.date || !d.label || !keys) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    uint8_t *keep = (uint8_t *)(d.label); /* scratch until labels are written below */
    int64_t n_keys = 0;
    for (int64_t i = 0; i < inv.n; i++) {
        int64_t col, row;
        keep[i] = 0;
        if (!scarp_grid_cell_of(g, inv.x[i], inv.y[i], &col, &row)) {
            rep.dropped_off_grid++;
            drop(&dl, inv.source[i], inv.x[i], inv.y[i], "off the grid");
            continue;
        }
        if (!scarp_bitmap_get(&valid, row * W + col)) {
            rep.dropped_nodata++;
            drop(&dl, inv.source[i], inv.x[i], inv.y[i], "on a nodata cell");
            continue;
        }
        keep[i] = 1;
        keys[2 * n_keys] = row * W + col;
        keys[2 * n_keys + 1] = i;
        n_keys++;
    }
    qsort(keys, (size_t)n_keys, 2 * sizeof(int64_t), cmp_i64pair);
    for (int64_t k = 1; k < n_keys; k++)
        if (keys[2 * k] == keys[2 * (k - 1)]) {
            int64_t i = keys[2 * k + 1], j = keys[2 * (k - 1) + 1];
            /* the first row on the cell is kept: walk back to it */
            int64_t kk = k - 1;
            while (kk > 0 && keys[2 * kk - 2] == keys[2 * k]) kk--;
            j = keys[2 * kk + 1];
            char why[160];
            snprintf(why, sizeof why, "duplicate: same cell as row %lld", (long long)inv.source[j]);
            keep[i] = 0;
            rep.dropped_duplicate++;
            drop(&dl, inv.source[i], inv.x[i], inv.y[i], why);
        }
    float *seq_probe = NULL;
    if (tmp && !(seq_probe = scarp_malloc(sizeof(float) * (size_t)N * (size_t)T))) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    int64_t n = 0;
    int8_t *lab = scarp_malloc((size_t)(inv.n + 1));
    if (!lab) {
        scarp_free(seq_probe);
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t i = 0; i < inv.n; i++) {
        if (!keep[i]) continue;
        if (tmp) {
            if (inv.date[i] == SCARP_NO_DATE) {
                rep.dropped_no_date++;
                drop(&dl, inv.source[i], inv.x[i], inv.y[i], "no event date");
                continue;
            }
            int64_t col, row;
            scarp_grid_cell_of(g, inv.x[i], inv.y[i], &col, &row);
            if (scarp_temporal_sequence(tmp, scarp_grid_x(g, (double)col), scarp_grid_y(g, (double)row), inv.date[i],
                                        seq_probe) != SCARP_OK) {
                char why[160];
                snprintf(why, sizeof why, "window outside the series: %s", scarp_last_error());
                rep.dropped_window++;
                drop(&dl, inv.source[i], inv.x[i], inv.y[i], why);
                continue;
            }
        }
        int64_t col, row;
        scarp_grid_cell_of(g, inv.x[i], inv.y[i], &col, &row);
        d.col[n] = col;
        d.row[n] = row;
        d.x[n] = scarp_grid_x(g, (double)col);
        d.y[n] = scarp_grid_y(g, (double)row);
        d.date[n] = inv.date[i];
        lab[n] = inv.has_labels ? inv.label[i] : 1;
        n++;
    }
    scarp_free(seq_probe);
    debug_phase("filtering", t0);
    for (int64_t i = 0; i < n; i++) d.label[i] = (uint8_t)lab[i];
    scarp_free(lab);
    for (int64_t i = 0; i < n; i++) rep.positives += d.label[i] == 1;
    rep.negatives = n - rep.positives;
    if (rep.positives == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no valid landslide point remains (%lld rows: %lld off the grid, %lld on "
                        "nodata, %lld duplicates, %lld undated, %lld outside the series); see the dropped list in %s",
                        cfg->inventory_path, (long long)inv.n, (long long)rep.dropped_off_grid,
                        (long long)rep.dropped_nodata, (long long)rep.dropped_duplicate, (long long)rep.dropped_no_date,
                        (long long)rep.dropped_window, out);
        goto end;
    }
    if (inv.has_labels && rep.negatives == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the label column '%s' holds only landslides (1): give both classes, or "
                        "leave [inventory] label empty to sample negatives", cfg->inventory_path, cfg->inventory_label);
        goto end;
    }

    /* 4. negatives ((cell, day) pairs for task = hazard: src/data/hazard.c) */
    if (strcmp(cfg->task, "hazard") == 0) {
        int64_t n_neg = llround(cfg->negatives_ratio * (double)n), n_same = 0;
        if ((st = scarp_hazard_prepare_negatives(cfg, &valid, g, &inv, tmp != NULL, rec_first, rec_last, N, &d, n,
                                                 n_neg, &n_same)) != SCARP_OK)
            goto end;
        snprintf(rep.dates_mode, sizeof rep.dates_mode, "hazard");
        scarp_info("prepare: hazard: %lld negatives on landslide cells, %lld elsewhere", (long long)n_same,
                   (long long)(n_neg - n_same));
        n += n_neg;
        rep.negatives = n_neg;
    } else if (!inv.has_labels) {
        int64_t n_pos = n, n_neg = llround(cfg->negatives_ratio * (double)n_pos);
        if ((st = scarp_negatives_sample(&valid, g, d.x, d.y, n_pos, n_neg, cfg->negatives_min_distance, cfg->seed,
                                         d.x + n, d.y + n, d.col + n, d.row + n)) != SCARP_OK)
            goto end;
        scarp_rng rng;
        scarp_rng_stream(&rng, cfg->seed, 0x44415445ull /* "DATE" */);
        int uniform = strcmp(cfg->negatives_dates, "uniform") == 0;
        int dated = tmp || inv.has_dates;
        snprintf(rep.dates_mode, sizeof rep.dates_mode, "%s", !dated ? "none" : uniform && tmp ? "uniform" : "matched");
        for (int64_t k = 0; k < n_neg; k++) {
            int32_t date = SCARP_NO_DATE;
            if (dated && uniform && tmp)
                date = rec_first + N + (int32_t)scarp_rng_below(&rng, (uint64_t)(rec_last + 1 - (rec_first + N) + 1));
            else if (dated)
                date = d.date[scarp_rng_below(&rng, (uint64_t)n_pos)];
            d.date[n + k] = date;
            d.label[n + k] = 0;
        }
        n += n_neg;
        rep.negatives = n_neg;
    } else {
        snprintf(rep.dates_mode, sizeof rep.dates_mode, "inventory");
    }
    d.n = n;
    debug_phase("negatives", t0);
    scarp_info("prepare: %lld landslides, %lld non-landslides (%lld inventory rows dropped)", (long long)rep.positives,
               (long long)rep.negatives, (long long)dl.n);

    /* 5. splits, blocks, folds */
    d.split = scarp_malloc((size_t)n);
    d.block = scarp_malloc(sizeof(int32_t) * (size_t)n);
    if (!d.split || !d.block) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    int spatial = strcmp(cfg->split_method, "spatial") == 0;
    if ((st = spatial_blocks(cfg, g, d.x, d.y, n, 0, d.block)) != SCARP_OK) goto end;
    if (spatial)
        st = scarp_split_blocks_stratified(d.label, d.block, n, cfg->split_train, cfg->split_val, cfg->split_test,
                                           cfg->seed, 0, d.split);
    else
        st = scarp_split_random(d.label, n, cfg->split_train, cfg->split_val, cfg->split_test, cfg->seed, 0, d.split);
    if (st != SCARP_OK) goto end;
    d.folds = cfg->folds;
    d.repeats = cfg->repeats;
    if (cfg->folds > 1 || cfg->repeats > 1) {
        d.fold = scarp_malloc(sizeof(int16_t) * (size_t)n * (size_t)cfg->repeats);
        uint8_t *tmp_split = scarp_malloc((size_t)n);
        int32_t *rblock = spatial ? scarp_malloc(sizeof(int32_t) * (size_t)n) : NULL;
        if (!d.fold || !tmp_split || (spatial && !rblock)) {
            scarp_free(tmp_split);
            scarp_free(rblock);
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int r = 0; r < cfg->repeats && st == SCARP_OK; r++) {
            int16_t *fo = d.fold + (size_t)r * n;
            /* every repeat draws its own blocks (repeat 0: the blocks of the main split) */
            if (spatial) {
                if (r == 0) memcpy(rblock, d.block, sizeof(int32_t) * (size_t)n);
                else if ((st = spatial_blocks(cfg, g, d.x, d.y, n, r, rblock)) != SCARP_OK) break;
            }
            if (cfg->folds > 1) {
                st = scarp_split_folds(d.label, rblock, n, cfg->folds, cfg->seed, (uint64_t)r, fo);
            } else {
                if (r == 0) memcpy(tmp_split, d.split, (size_t)n);
                else if (spatial)
                    st = scarp_split_blocks_stratified(d.label, rblock, n, cfg->split_train, cfg->split_val,
                                                       cfg->split_test, cfg->seed, (uint64_t)r, tmp_split);
                else
                    st = scarp_split_random(d.label, n, cfg->split_train, cfg->split_val, cfg->split_test, cfg->seed,
                                            (uint64_t)r, tmp_split);
                for (int64_t i = 0; i < n; i++) fo[i] = tmp_split[i];
            }
        }
        scarp_free(tmp_split);
        scarp_free(rblock);
        if (st != SCARP_OK) goto end;
    }

    /* 6. raw patches and sequences */
    debug_phase("splits", t0);
    const int H = cfg->patch, L = stack.n_layers;
    raw = scarp_malloc(sizeof(float) * (size_t)n * L * H * H);
    if (!raw) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    scarp_progress_begin(p, "patches", n);
    st = scarp_patches_read(&stack, d.col, d.row, n, H, raw);
    scarp_progress_step(p, n);
    scarp_progress_end(p);
    if (st != SCARP_OK) goto end;
    drop_gdal_cache(gdal_cache); /* the layers are not read again */
    const char *var_names[2] = {NULL, NULL};
    debug_phase("patches", t0);
    if (tmp) {
        raw_seq = scarp_malloc(sizeof(float) * (size_t)n * N * T);
        if (!raw_seq) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int v = 0; v < T; v++) var_names[v] = scarp_temporal_var_name(tmp, v);
        int fail = 0;
        #pragma omp parallel for schedule(static) reduction(| : fail)
        for (int64_t i = 0; i < n; i++)
            if (scarp_temporal_sequence(tmp, d.x[i], d.y[i], d.date[i], raw_seq + (size_t)i * N * T) != SCARP_OK) fail = 1;
        if (fail) { /* cannot happen: every date was checked above (negatives take positives' dates) */
            st = scarp_fail(SCARP_ERR_INTERNAL, "prepare: a sequence failed after its window was checked");
            goto end;
        }
    }

    /* 7. normalisation on the training split, then the normalised arrays */
    debug_phase("sequences", t0);
    if ((st = scarp_norm_fit(&d.norm, &stack, n, H, raw, N, T, var_names, raw_seq, d.split)) != SCARP_OK) goto end;
    const int C = d.norm.C;
    d.C = C;
    d.H = d.W = H;
    d.N = N;
    d.T = T;
    d.F = C + d.norm.S;
    d.patches = scarp_malloc_aligned(sizeof(float) * (size_t)n * C * H * H + 64);
    d.tab = scarp_malloc_aligned(sizeof(float) * (size_t)n * d.F + 64);
    if (T) d.seq = scarp_malloc_aligned(sizeof(float) * (size_t)n * N * T + 64);
    if (!d.patches || !d.tab || (T && !d.seq)) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *pt = d.patches + (size_t)i * C * H * H; /* (C, H, W) */
        scarp_norm_apply_window(&d.norm, raw + (size_t)i * L * H * H, H, H, pt);
        const float *rs = T ? raw_seq + (size_t)i * N * T : NULL;
        if (T) scarp_norm_apply_sequence(&d.norm, rs, d.seq + (size_t)i * N * T);
        scarp_norm_tabular(&d.norm, pt, rs, d.tab + (size_t)i * d.F);
    }
    d.raw = raw; /* kept for per-fold normalisation */
    d.raw_seq = raw_seq;
    raw = raw_seq = NULL;
    if ((st = build_names_and_factors(&d)) != SCARP_OK) goto end;
    debug_phase("normalisation", t0);
    if ((st = scarp_grid_copy(&d.grid, g)) != SCARP_OK) goto end;

    /* 8. outputs */
    char path[SCARP_PATH_MAX + 64];
    scarp_path_join(path, sizeof path, out, "dataset.bin");
    if ((st = scarp_dataset_save(&d, path)) != SCARP_OK) goto end;
    {
        void *blob = NULL;
        size_t nb = 0;
        if ((st = scarp_norm_serialize(&d.norm, &blob, &nb)) != SCARP_OK) goto end;
        scarp_path_join(path, sizeof path, out, "norm.bin");
        st = scarp_write_file_atomic(path, blob, nb);
        scarp_free(blob);
        if (st != SCARP_OK) goto end;
    }
    scarp_path_join(rep.report_path, sizeof rep.report_path, out, "prepare_dropped.csv");
    debug_phase("files", t0);
    rep.seconds_total = scarp_now() - t0;
    if ((st = write_summary(out, cfg, &d, &rep, &dl, tmp, stack_reused, stack.valid_cells)) != SCARP_OK) goto end;
    scarp_info("prepare: %lld samples, %d channels, %d x %d patches, %d x %d sequences in %.1f s", (long long)n, C, H, H,
               N, T, rep.seconds_total);

end:
    if (st == SCARP_OK && ds_out) {
        *ds_out = d;
        scarp_dataset_init(&d);
    }
    scarp_dataset_free(&d);
    if (rep_out) *rep_out = rep;
    scarp_free(keys);
    scarp_free(raw);
    scarp_free(raw_seq);
    scarp_bitmap_free(&valid);
    scarp_free(dl.rows);
    scarp_inventory_free(&inv);
    scarp_temporal_free(tmp);
    scarp_stack_free(&stack);
    scarp_gdal_cache_set(gdal_cache);
    return st;
}
