/* dates.c — rank 0's last step of a dated `scarp map` ([map] dates = D1..D2[/step]):
 * stored tiles (n_dates × (mean[, sd]) bands) → one Float32 COG per date whose band
 * description is the date, one class COG per date, the ensemble sd per date, a PNG strip
 * of the dates' class maps, the share of the area in the top class per date (CSV and a
 * line plot) and dates/summary.json + dates/figures.json for the report. Class breaks are
 * computed ONCE from a seeded sample pooled over all dates (the same cells every date),
 * so a class means the same probability range on every day and the top-class share is
 * comparable between days. Two streaming passes over the tiles (each tile file is read
 * twice in all, not twice per date). */
#define _POSIX_C_SOURCE 200809L
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "map_internal.h"
#include "scarp/alloc.h"
#include "scarp/classes.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/report.h"
#include "scarp/threads.h"

#define SAMPLE_TARGET 200000
#define PANEL_MAX 200   /* pixels of the longer side of one date's panel in the strip */
#define STRIP_COLS 6
#define STRIP_MAX 48    /* panels shown at most (evenly spaced dates beyond) */

/* The dates' rasters are independent GDAL datasets: their writes, class passes and COG
 * conversions run on the threads, one date (or writer) at a time each. A worker's message
 * lives in its own thread's error slot, so the first failure is copied here and re-raised
 * on the calling thread. */
typedef struct {
    scarp_status st;
    char msg[512];
} date_error;

static void date_error_note(date_error *e, scarp_status st)
{
    if (!st) return;
#pragma omp critical(scarp_dates_err)
    if (!e->st) {
        e->st = st;
        snprintf(e->msg, sizeof e->msg, "%s", scarp_last_error());
    }
}

static scarp_status date_error_raise(const date_error *e)
{
    return e->st ? scarp_fail(e->st, "%s", e->msg) : SCARP_OK;
}

static scarp_status write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text) return SCARP_ERR_NOMEM;
    scarp_status st = scarp_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

/* The strip: one panel per shown date (class colours), its date and top-class share
 * under it, the class legend at the bottom. q holds n_show panels of qw × qh. */
static scarp_status write_strip(const char *path, const uint8_t *q, int qw, int qh, int n_show, const int *shown,
                                const int32_t *dates, const double *top_share, int k, const char *title)
{
    const uint8_t(*col)[4] = scarp_class_colors(k);
    const char *const *names = scarp_class_names(k);
    const int cols = n_show < STRIP_COLS ? n_show : STRIP_COLS, rows = (n_show + cols - 1) / cols;
    const int pw = qw + 12, ph = qh + 34, W = cols * pw + 20, H = 40 + rows * ph + 40;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, qw, qh);
    for (int i = 0; i < n_show; i++) {
        unsigned char *px = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        cairo_surface_flush(img);
        const uint8_t *qi = q + (size_t)i * qw * qh;
        for (int y = 0; y < qh; y++)
            for (int x = 0; x < qw; x++) {
                uint8_t c = qi[(size_t)y * qw + x];
                uint32_t v = c < k ? (0xffu << 24) | ((uint32_t)col[c][0] << 16) | ((uint32_t)col[c][1] << 8) | col[c][2]
                                   : 0xffdddddd;
                memcpy(px + (size_t)y * stride + 4 * x, &v, 4);
            }
        cairo_surface_mark_dirty(img);
        double x0 = 10 + (i % cols) * pw, y0 = 40 + (i / cols) * ph;
        cairo_set_source_surface(cr, img, x0, y0);
        cairo_paint(cr);
        char label[64], d[16];
        scarp_date_format(dates[shown[i]], d);
        snprintf(label, sizeof label, "%s  top %.1f %%", d, 100 * top_share[shown[i]]);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 11);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x0, y0 + qh + 14);
        cairo_show_text(cr, label);
    }
    cairo_surface_destroy(img);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 10, 24);
    cairo_show_text(cr, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    for (int c = 0; c < k; c++) {
        double x = 10 + 120.0 * c, y = H - 30;
        cairo_set_source_rgb(cr, col[c][0] / 255.0, col[c][1] / 255.0, col[c][2] / 255.0);
        cairo_rectangle(cr, x, y, 18, 14);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x + 24, y + 12);
        cairo_show_text(cr, names[c]);
    }
    cairo_destroy(cr);
    char partial[SCARP_PATH_MAX + 16];
    scarp_partial_name(partial, sizeof partial, path);
    cairo_status_t cs = cairo_surface_write_to_png(s, partial);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS) return scarp_fail(SCARP_ERR_IO, "%s: cannot write PNG: %s", path, cairo_status_to_string(cs));
    return scarp_commit_file(partial, path);
}

scarp_status scarp__map_assemble_dates(const scarp_stack *stack, const scarp_tile_store *store,
                                       const scarp_tiling *tiling, int bpd, const int32_t *dates, int n_dates,
                                       const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                                       const char *model_name, int n_models, scarp_map_report *rep)
{
    char dir[SCARP_PATH_MAX], p[SCARP_PATH_MAX + 64];
    scarp_status st;
    if ((st = scarp_path_join(dir, sizeof dir, out_dir, "map/dates")) || (st = scarp_mkdir_p(dir))) return st;
    const int k = cfg->map_classes ? cfg->map_classes : 4;
    scarp_breaks_method method;
    if ((st = scarp_breaks_parse(cfg->map_breaks[0] ? cfg->map_breaks : "natural", &method))) return st;
    if (method == SCARP_BREAKS_TARGET)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [map] breaks = target is not available with [map] dates (use natural, "
                                           "quantile, equal or fixed)",
                          cfg->config_path);
    const int D = n_dates, bands = D * bpd;
    const int64_t W = tiling->width, H = tiling->height;
    const size_t tile_cells = (size_t)tiling->tile_w * tiling->tile_h;
    const int f = (int)(((W > H ? W : H) + PANEL_MAX - 1) / PANEL_MAX);
    const int qw = (int)((W + f - 1) / f), qh = (int)((H + f - 1) / f);
    const int n_show = D < STRIP_MAX ? D : STRIP_MAX;
    int shown[STRIP_MAX];
    for (int i = 0; i < n_show; i++) shown[i] = n_show > 1 ? (int)((int64_t)i * (D - 1) / (n_show - 1)) : 0;
    scarp_raster_writer **wp = scarp_calloc((size_t)D * 3, sizeof *wp), **wsd = wp + D, **wc = wp + 2 * D;
    float *tile = scarp_malloc((size_t)bands * tile_cells * sizeof(float));
    int nth = scarp_threads_get();
    if (nth > D) nth = D;
    if (nth < 1) nth = 1;
    float *cls = scarp_malloc((size_t)nth * tile_cells * sizeof(float)); /* one class tile per thread */
    size_t scap = SAMPLE_TARGET + SAMPLE_TARGET / 2 + 1024, ns = 0;
    float *sample = scarp_malloc(scap * sizeof(float));
    uint8_t *q = scarp_malloc((size_t)n_show * qw * qh);
    int64_t *counts = scarp_calloc((size_t)D * k, sizeof *counts), *sd_above = scarp_calloc((size_t)D, sizeof *sd_above);
    double *psum = scarp_calloc((size_t)D, sizeof *psum), *top = scarp_calloc((size_t)D, sizeof *top);
    int *panel = scarp_malloc((size_t)D * sizeof *panel);
    cJSON *figs = NULL;
    if (!wp || !tile || !cls || !sample || !q || !counts || !sd_above || !psum || !top || !panel) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    memset(q, 255, (size_t)n_show * qw * qh);
    for (int d = 0; d < D; d++) panel[d] = -1;
    for (int i = 0; i < n_show; i++) panel[shown[i]] = i;
    char ds[16];
    /* every date's intermediates (probability, sd, classes) exist at once until the conversions:
     * uncompressed only where the disk holds them all */
    const int raw = scarp_raster_raw_intermediates_fit(dir, (int64_t)D * W * H * (4 * (int64_t)bpd + 1));
    for (int d = 0; d < D && !st; d++) {
        scarp_date_format(dates[d], ds);
        scarp_raster_meta mp = {.description = ds, .cog = 1, .raw_intermediate = raw};
        snprintf(p, sizeof p, "%s/susceptibility_%s.tif", dir, ds);
        st = scarp_raster_writer_open(&wp[d], p, &stack->grid, SCARP_OUT_FLOAT32, &mp);
        if (!st && bpd > 1) {
            char desc[64];
            snprintf(desc, sizeof desc, "%s ensemble sd", ds);
            scarp_raster_meta ms = {.description = desc, .cog = 1, .raw_intermediate = raw};
            snprintf(p, sizeof p, "%s/uncertainty_sd_%s.tif", dir, ds);
            st = scarp_raster_writer_open(&wsd[d], p, &stack->grid, SCARP_OUT_FLOAT32, &ms);
        }
    }
    if (st) goto end;
    /* pass 1: probability (and sd) rasters, the pooled sample (the same seeded cells on
     * every date, ≈ SAMPLE_TARGET values in all), the range, mean probability per date */
    const double per_date = (double)SAMPLE_TARGET / D;
    const double p_take = stack->valid_cells > per_date ? per_date / (double)stack->valid_cells : 1.0;
    const uint64_t seed = cfg->seed;
    double vmin = INFINITY, vmax = -INFINITY;
    int64_t valid = 0;
    for (int64_t t = 0; t < tiling->n; t++) {
        int64_t c0, r0;
        int tw, th;
        scarp_tiling_tile(tiling, t, &c0, &r0, &tw, &th);
        const size_t cells = (size_t)tw * th;
        if ((st = scarp_tile_store_get(store, t, tile))) goto end;
        date_error err = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
        for (int d = 0; d < D; d++) {
            const float *pr = tile + (size_t)d * bpd * cells;
            scarp_status s = scarp_raster_writer_write(wp[d], c0, r0, tw, th, pr);
            if (!s && bpd > 1) s = scarp_raster_writer_write(wsd[d], c0, r0, tw, th, pr + cells);
            date_error_note(&err, s);
        }
        if ((st = date_error_raise(&err))) goto end;
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                size_t j = (size_t)y * tw + x;
                if (isnan(tile[j])) continue;
                valid++;
                uint64_t idx = (uint64_t)(r0 + y) * (uint64_t)W + (uint64_t)(c0 + x);
                double u = (double)(scarp__map_splitmix(idx ^ scarp__map_splitmix(seed)) >> 11) * 0x1.0p-53;
                int take = u < p_take;
                for (int d = 0; d < D; d++) {
                    float v = tile[(size_t)d * bpd * cells + j];
                    psum[d] += v;
                    if (v < vmin) vmin = v;
                    if (v > vmax) vmax = v;
                    if (take && ns < scap) sample[ns++] = v;
                    if (bpd > 1) sd_above[d] += tile[((size_t)d * bpd + 1) * cells + j] > SCARP_MAP_SD_THRESHOLD;
                }
            }
    }
    if (valid == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no valid cell to map", stack->valid_path);
        goto end;
    }
    double breaks[SCARP_CLASSES_MAX - 1];
    if ((st = scarp_class_breaks(method, k, sample, ns, vmin, vmax, NULL, 0, cfg->map_thresholds, cfg->map_n_thresholds,
                                 seed, breaks)))
        goto end;
    /* pass 2: class rasters, counts and the strip's panels */
    scarp_raster_meta mc = {.description = "landslide susceptibility class",
                            .class_names = scarp_class_names(k),
                            .colors = scarp_class_colors(k),
                            .n_classes = k,
                            .cog = 1,
                            .raw_intermediate = raw};
    for (int d = 0; d < D && !st; d++) {
        scarp_date_format(dates[d], ds);
        snprintf(p, sizeof p, "%s/classes_%s.tif", dir, ds);
        st = scarp_raster_writer_open(&wc[d], p, &stack->grid, SCARP_OUT_BYTE, &mc);
    }
    if (st) goto end;
    for (int64_t t = 0; t < tiling->n; t++) {
        int64_t c0, r0;
        int tw, th;
        scarp_tiling_tile(tiling, t, &c0, &r0, &tw, &th);
        const size_t cells = (size_t)tw * th;
        if ((st = scarp_tile_store_get(store, t, tile))) goto end;
        date_error err = {0};
        /* each date owns its counts row and its strip panel: no two threads share a cell */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
        for (int d = 0; d < D; d++) {
            float *cls_d = cls + (size_t)omp_get_thread_num() * tile_cells;
            const float *pr = tile + (size_t)d * bpd * cells;
            uint8_t *qd = panel[d] >= 0 ? q + (size_t)panel[d] * qw * qh : NULL;
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++) {
                    size_t j = (size_t)y * tw + x;
                    int c = scarp_class_of(pr[j], breaks, k);
                    cls_d[j] = c < 0 ? NAN : (float)c;
                    if (c >= 0) counts[(size_t)d * k + c]++;
                    int64_t R = r0 + y, Cc = c0 + x;
                    if (qd && R % f == 0 && Cc % f == 0) qd[(size_t)(R / f) * qw + Cc / f] = c < 0 ? 255 : (uint8_t)c;
                }
            date_error_note(&err, scarp_raster_writer_write(wc[d], c0, r0, tw, th, cls_d));
        }
        if ((st = date_error_raise(&err))) goto end;
    }
    for (int d = 0; d < D; d++) top[d] = (double)counts[(size_t)d * k + k - 1] / (double)valid;
    {
        /* the COG conversions (most of the assembly's time): every writer on the threads */
        date_error err = {0};
        int halt = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
        for (int i = 0; i < 3 * D; i++) {
            scarp_raster_writer *w = wp[i];
            int stop;
#pragma omp atomic read
            stop = halt;
            if (!w || stop) continue;
            wp[i] = NULL;
            scarp_status s = scarp_raster_writer_commit(w);
            if (s) {
#pragma omp atomic write
                halt = 1;
            }
            date_error_note(&err, s);
        }
        if ((st = date_error_raise(&err))) goto end;
    }
    /* CSV: one row per date */
    {
        size_t cap = 256 + (size_t)D * 96, n = 0;
        char *csv = scarp_malloc(cap);
        if (!csv) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        n += (size_t)snprintf(csv + n, cap - n, "date,top_class_share,mean_probability%s\n",
                              bpd > 1 ? ",area_share_sd_above_0.1" : "");
        for (int d = 0; d < D; d++) {
            scarp_date_format(dates[d], ds);
            n += (size_t)snprintf(csv + n, cap - n, "%s,%.6f,%.6f", ds, top[d], psum[d] / (double)valid);
            if (bpd > 1) n += (size_t)snprintf(csv + n, cap - n, ",%.6f", (double)sd_above[d] / (double)valid);
            n += (size_t)snprintf(csv + n, cap - n, "\n");
        }
        snprintf(p, sizeof p, "%s/top_class_share.csv", dir);
        st = scarp_write_file_atomic(p, csv, n);
        scarp_free(csv);
        if (st) goto end;
    }
    char first[16], last[16], title[256];
    scarp_date_format(dates[0], first);
    scarp_date_format(dates[D - 1], last);
    snprintf(title, sizeof title, "Susceptibility classes by date — %s%s, rainfall to %s .. %s", model_name,
             n_models > 1 ? " (ensemble mean)" : "", first, last);
    figs = cJSON_CreateArray();
    if (!(opts && opts->no_figures)) {
        snprintf(p, sizeof p, "%s/strip.png", dir);
        if ((st = write_strip(p, q, qw, qh, n_show, shown, dates, top, k, title))) goto end;
        double *xs = scarp_malloc((size_t)D * sizeof *xs), *ys = scarp_malloc((size_t)D * sizeof *ys);
        if (!xs || !ys) {
            scarp_free(xs), scarp_free(ys);
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int d = 0; d < D; d++) xs[d] = dates[d] - dates[0], ys[d] = 100 * top[d];
        char xl[64], ttl[128];
        snprintf(xl, sizeof xl, "days after %s", first);
        snprintf(ttl, sizeof ttl, "Share of the area in the class '%s'", scarp_class_names(k)[k - 1]);
        scarp_plot_series ser = {.x = xs, .y = ys, .n = (size_t)D, .label = NULL, .color = 3, .markers = 1};
        scarp_plot_axes ax = {.title = ttl, .xlabel = xl, .ylabel = "% of the mapped area"};
        snprintf(p, sizeof p, "%s/top_class_share.png", dir);
        st = scarp_plot_lines(p, 640, 400, &ax, &ser, 1);
        scarp_free(xs), scarp_free(ys);
        if (st) goto end;
        char cap[512];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", "map/dates/strip.png");
        cJSON_AddStringToObject(o, "title", "Susceptibility classes by date");
        snprintf(cap, sizeof cap, "%s (%d of %d dates shown). One set of class breaks for every date, from a sample "
                                  "pooled over the dates.", title, n_show, D);
        cJSON_AddStringToObject(o, "caption", cap);
        cJSON_AddItemToArray(figs, o);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", "map/dates/top_class_share.png");
        cJSON_AddStringToObject(o, "title", "Top-class share by date");
        snprintf(cap, sizeof cap, "Share of the mapped area in '%s' (probability ≥ %.4f) for each date "
                                  "(map/dates/top_class_share.csv).", scarp_class_names(k)[k - 1], breaks[k - 2]);
        cJSON_AddStringToObject(o, "caption", cap);
        cJSON_AddItemToArray(figs, o);
    }
    snprintf(p, sizeof p, "%s/figures.json", dir);
    if ((st = write_json(p, figs))) goto end;
    snprintf(p, sizeof p, "%s/classes.qml", dir);
    {
        /* the same QML as map/classes.qml, for the class rasters of every date */
        const uint8_t(*col)[4] = scarp_class_colors(k);
        char buf[4096];
        int n = snprintf(buf, sizeof buf,
                         "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22\">\n  <pipe>\n"
                         "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\">\n"
                         "      <colorPalette>\n");
        for (int c = 0; c < k; c++)
            n += snprintf(buf + n, sizeof buf - (size_t)n,
                          "        <paletteEntry value=\"%d\" color=\"#%02x%02x%02x\" alpha=\"255\" label=\"%s\"/>\n", c,
                          col[c][0], col[c][1], col[c][2], scarp_class_names(k)[c]);
        n += snprintf(buf + n, sizeof buf - (size_t)n, "      </colorPalette>\n    </rasterrenderer>\n  </pipe>\n</qgis>\n");
        if ((st = scarp_write_file_atomic(p, buf, (size_t)n))) goto end;
    }
    {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model", model_name);
        cJSON_AddNumberToObject(root, "ensemble_models", n_models);
        cJSON_AddNumberToObject(root, "dates", D);
        cJSON_AddStringToObject(root, "first_date", first);
        cJSON_AddStringToObject(root, "last_date", last);
        cJSON_AddNumberToObject(root, "valid_cells", (double)valid);
        cJSON_AddStringToObject(root, "breaks_method", scarp_breaks_name(method));
        cJSON *br = cJSON_AddArrayToObject(root, "breaks");
        for (int i = 0; i < k - 1; i++) cJSON_AddItemToArray(br, cJSON_CreateNumber(round(breaks[i] * 1e6) / 1e6));
        cJSON *per = cJSON_AddArrayToObject(root, "per_date");
        for (int d = 0; d < D; d++) {
            cJSON *o = cJSON_CreateObject();
            scarp_date_format(dates[d], ds);
            cJSON_AddStringToObject(o, "date", ds);
            cJSON_AddNumberToObject(o, "top_class_share", top[d]);
            cJSON_AddNumberToObject(o, "mean_probability", psum[d] / (double)valid);
            if (bpd > 1) cJSON_AddNumberToObject(o, "area_share_sd_above_0.1", (double)sd_above[d] / (double)valid);
            cJSON_AddItemToArray(per, o);
        }
        cJSON_AddNumberToObject(root, "seconds_compute", rep->seconds_compute);
        cJSON_AddNumberToObject(root, "cells_per_second", rep->cells_per_second);
        cJSON_AddNumberToObject(root, "cnn_passes", (double)rep->cnn_passes);
        cJSON_AddNumberToObject(root, "lstm_sequences", (double)rep->lstm_sequences);
        cJSON_AddNumberToObject(root, "head_units_settled_share", round(rep->head_settled_share * 1e4) / 1e4);
        cJSON_AddNumberToObject(root, "head_units_per_date_share", round(rep->head_listed_share * 1e4) / 1e4);
        cJSON_AddNumberToObject(root, "head_layer2_settled_share", round(rep->head2_settled_share * 1e4) / 1e4);
        snprintf(p, sizeof p, "%s/summary.json", dir);
        st = write_json(p, root);
        cJSON_Delete(root);
    }
    if (!st) {
        rep->cells = W * H;
        rep->valid_cells = valid;
        memcpy(rep->breaks, breaks, sizeof(double) * (size_t)(k - 1));
        memset(&rep->stats, 0, sizeof rep->stats);
        rep->stats.k = k;
        for (int c = 0; c < k; c++) rep->stats.area_share[c] = (double)counts[(size_t)(D - 1) * k + c] / (double)valid;
        rep->success_auc = rep->prediction_auc = NAN;
    }
end:
    cJSON_Delete(figs);
    if (wp)
        for (int i = 0; i < 3 * D; i++) scarp_raster_writer_abort(wp[i]);
    scarp_free(wp), scarp_free(tile), scarp_free(cls), scarp_free(sample), scarp_free(q), scarp_free(counts);
    scarp_free(sd_above), scarp_free(psum), scarp_free(top), scarp_free(panel);
    return st;
}
