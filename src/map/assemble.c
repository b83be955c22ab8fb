/* assemble.c — rank 0's last step of `scarp map`: stored tiles → susceptibility.tif
 * (Float32 COG), uncertainty_sd.tif (ensembles), classes.tif (Byte COG, colour table and
 * class names) + classes.qml, per-class statistics, success/prediction-rate curves
 * (Chung & Fabbri 2003), a quicklook PNG with legend and a rate-curve PNG (cairo),
 * summary.json and figures.json. Two streaming passes over the tiles: memory is bounded
 * by one tile, a 2²⁰-bin histogram and a seeded sample of ≤ ~200 000 cells. */
#define _POSIX_C_SOURCE 200809L
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "map_internal.h"
#include "scarp/alloc.h"
#include "scarp/classes.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/threads.h"

#define HIST_BINS (1 << 20)
#define SAMPLE_TARGET 200000
#define QUICKLOOK_MAX 800
#define CURVE_POINTS 101

uint64_t scarp__map_splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
#define splitmix scarp__map_splitmix

/* Five stops of matplotlib's viridis (van der Walt & Smith 2015), linearly interpolated:
 * perceptually uniform and readable in greyscale. */
void scarp__map_ramp(double t, double rgb[3])
{
    static const double stop[5][3] = {{0.267, 0.005, 0.329}, {0.230, 0.322, 0.546}, {0.128, 0.567, 0.551},
                                      {0.369, 0.789, 0.383}, {0.993, 0.906, 0.144}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double u = t * 4;
    int i = u >= 4 ? 3 : (int)u;
    double f = u - i;
    for (int c = 0; c < 3; c++) rgb[c] = stop[i][c] + f * (stop[i + 1][c] - stop[i][c]);
}

scarp_status scarp__map_write_ramp_png(const char *path, const float *q, int qw, int qh, double vmax,
                                       const char *title, const char *bar_label, const char *note)
{
    const int legend = 150, W = qw + legend + 20, H = (qh > 260 ? qh : 260) + 70;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, qw, qh);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    cairo_surface_flush(img);
    for (int y = 0; y < qh; y++)
        for (int x = 0; x < qw; x++) {
            float v = q[(size_t)y * qw + x];
            uint32_t c = 0xffdddddd;
            if (!isnan(v)) {
                double rgb[3];
                scarp__map_ramp(vmax > 0 ? v / vmax : 0, rgb);
                c = (0xffu << 24) | ((uint32_t)(rgb[0] * 255 + 0.5) << 16) | ((uint32_t)(rgb[1] * 255 + 0.5) << 8) |
                    (uint32_t)(rgb[2] * 255 + 0.5);
            }
            memcpy(px + (size_t)y * stride + 4 * x, &c, 4);
        }
    cairo_surface_mark_dirty(img);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_surface(cr, img, 10, 40);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 10, 24);
    cairo_show_text(cr, title);
    /* the colour bar: 0 at the bottom, vmax at the top, 5 ticks */
    const double bx = qw + 30, by = 50, bh = 200, bw = 22;
    for (int i = 0; i < (int)bh; i++) {
        double rgb[3];
        scarp__map_ramp(1.0 - i / (bh - 1), rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, bx, by + i, bw, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_stroke(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int i = 0; i <= 4; i++) {
        char t[32];
        snprintf(t, sizeof t, "%.3g", vmax * i / 4);
        cairo_move_to(cr, bx + bw + 5, by + bh - bh * i / 4 + 4);
        cairo_show_text(cr, t);
    }
    cairo_move_to(cr, bx - 5, by + bh + 18);
    cairo_show_text(cr, bar_label);
    if (note) {
        cairo_move_to(cr, 10, H - 12);
        cairo_show_text(cr, note);
    }
    cairo_destroy(cr);
    char partial[SCARP_PATH_MAX + 16];
    scarp_partial_name(partial, sizeof partial, path);
    cairo_status_t cs = cairo_surface_write_to_png(s, partial);
    cairo_surface_destroy(s);
    cairo_surface_destroy(img);
    if (cs != CAIRO_STATUS_SUCCESS) return scarp_fail(SCARP_ERR_IO, "%s: cannot write PNG: %s", path, cairo_status_to_string(cs));
    return scarp_commit_file(partial, path);
}

typedef struct {
    int64_t n;
    int64_t *col, *row;
    uint8_t *split;
    float *value;
} landslides;

static void landslides_free(landslides *l)
{
    scarp_free(l->col), scarp_free(l->row), scarp_free(l->split), scarp_free(l->value);
    memset(l, 0, sizeof *l);
}

/* The inventory's landslides (positives of the prepared dataset) and their split. */
static scarp_status load_landslides(const char *out_dir, landslides *l)
{
    memset(l, 0, sizeof *l);
    char path[SCARP_PATH_MAX];
    scarp_status st = scarp_path_join(path, sizeof path, out_dir, "dataset.bin");
    if (st) return st;
    if (!scarp_file_exists(path)) {
        scarp_warn("map: %s not found: no landslide statistics (run scarp prepare)", path);
        return SCARP_OK;
    }
    scarp_dataset ds;
    scarp_dataset_init(&ds);
    if ((st = scarp_dataset_load(&ds, path))) return st;
    int64_t np = 0;
    for (int64_t i = 0; i < ds.n; i++) np += ds.label[i] == 1;
    l->col = scarp_malloc((size_t)(np + 1) * sizeof *l->col);
    l->row = scarp_malloc((size_t)(np + 1) * sizeof *l->row);
    l->split = scarp_malloc((size_t)(np + 1));
    l->value = scarp_malloc((size_t)(np + 1) * sizeof *l->value);
    if (!l->col || !l->row || !l->split || !l->value) {
        scarp_dataset_free(&ds);
        landslides_free(l);
        return SCARP_ERR_NOMEM;
    }
    for (int64_t i = 0; i < ds.n; i++)
        if (ds.label[i] == 1) {
            l->col[l->n] = ds.col[i], l->row[l->n] = ds.row[i], l->split[l->n] = ds.split[i];
            l->value[l->n++] = NAN;
        }
    scarp_dataset_free(&ds);
    return SCARP_OK;
}

/* ---- figures ---- */

static scarp_status write_quicklook(const char *path, const uint8_t *q, int qw, int qh, int k, const char *title,
                                    const scarp_class_stats *stats)
{
    const uint8_t(*col)[4] = scarp_class_colors(k);
    const char *const *names = scarp_class_names(k);
    int legend = 230, W = qw + legend + 20, H = (qh > 220 ? qh : 220) + 50;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, qw, qh);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    cairo_surface_flush(img);
    for (int y = 0; y < qh; y++)
        for (int x = 0; x < qw; x++) {
            uint8_t c = q[(size_t)y * qw + x];
            uint32_t v = c < k ? (0xffu << 24) | ((uint32_t)col[c][0] << 16) | ((uint32_t)col[c][1] << 8) | col[c][2]
                               : 0xffdddddd;
            memcpy(px + (size_t)y * stride + 4 * x, &v, 4);
        }
    cairo_surface_mark_dirty(img);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_surface(cr, img, 10, 40);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 10, 24);
    cairo_show_text(cr, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    for (int c = k - 1, i = 0; c >= 0; c--, i++) {
        double y = 50 + 26.0 * i, x = qw + 25;
        cairo_set_source_rgb(cr, col[c][0] / 255.0, col[c][1] / 255.0, col[c][2] / 255.0);
        cairo_rectangle(cr, x, y, 22, 18);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
        char label[96];
        snprintf(label, sizeof label, "%s  %.1f %% area", names[c], 100 * stats->area_share[c]);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x + 30, y + 14);
        cairo_show_text(cr, label);
    }
    cairo_destroy(cr);
    char partial[SCARP_PATH_MAX + 16];
    scarp_partial_name(partial, sizeof partial, path);
    cairo_status_t cs = cairo_surface_write_to_png(s, partial);
    cairo_surface_destroy(s);
    cairo_surface_destroy(img);
    if (cs != CAIRO_STATUS_SUCCESS) return scarp_fail(SCARP_ERR_IO, "%s: cannot write PNG: %s", path, cairo_status_to_string(cs));
    return scarp_commit_file(partial, path);
}

static scarp_status write_rates_png(const char *path, const double *xs, const double *ys, double aus, const double *xp,
                                    const double *yp, double aup)
{
    const int W = 460, H = 420, L = 60, T = 30, P = 330;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, L, T, P, P);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_move_to(cr, L, T + P);
    cairo_line_to(cr, L + P, T);
    cairo_stroke(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int i = 0; i <= 4; i++) {
        char t[16];
        snprintf(t, sizeof t, "%d", 25 * i);
        cairo_move_to(cr, L + P * i / 4.0 - 6, T + P + 15);
        cairo_show_text(cr, t);
        cairo_move_to(cr, L - 25, T + P - P * i / 4.0 + 4);
        cairo_show_text(cr, t);
    }
    cairo_move_to(cr, L + 60, T + P + 34);
    cairo_show_text(cr, "cumulative area, most susceptible first (%)");
    cairo_save(cr);
    cairo_move_to(cr, 18, T + P - 60);
    cairo_rotate(cr, -1.5707963267948966);
    cairo_show_text(cr, "cumulative landslides (%)");
    cairo_restore(cr);
    const double rgb[2][3] = {{0.84, 0.1, 0.11}, {0.17, 0.48, 0.71}};
    const double *cx[2] = {xs, xp}, *cy[2] = {ys, yp}, au[2] = {aus, aup};
    const char *nm[2] = {"success rate (training)", "prediction rate (test)"};
    for (int c = 0; c < 2; c++) {
        if (!cx[c]) continue;
        cairo_set_source_rgb(cr, rgb[c][0], rgb[c][1], rgb[c][2]);
        cairo_set_line_width(cr, 2);
        for (int i = 0; i < CURVE_POINTS; i++) {
            double X = L + P * cx[c][i], Y = T + P - P * cy[c][i];
            if (i == 0)
                cairo_move_to(cr, X, Y);
            else
                cairo_line_to(cr, X, Y);
        }
        cairo_stroke(cr);
        char t[80];
        snprintf(t, sizeof t, "%s, AUC %.3f", nm[c], au[c]);
        cairo_move_to(cr, L + 120, T + P - 40 + 18 * c);
        cairo_show_text(cr, t);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 13);
    cairo_move_to(cr, L, 20);
    cairo_show_text(cr, "Success- and prediction-rate curves");
    cairo_destroy(cr);
    char partial[SCARP_PATH_MAX + 16];
    scarp_partial_name(partial, sizeof partial, path);
    cairo_status_t cs = cairo_surface_write_to_png(s, partial);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS) return scarp_fail(SCARP_ERR_IO, "%s: cannot write PNG: %s", path, cairo_status_to_string(cs));
    return scarp_commit_file(partial, path);
}

static scarp_status write_qml(const char *path, int k)
{
    const uint8_t(*col)[4] = scarp_class_colors(k);
    const char *const *names = scarp_class_names(k);
    char buf[4096];
    int n = snprintf(buf, sizeof buf,
                     "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22\">\n  <pipe>\n"
                     "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\">\n"
                     "      <colorPalette>\n");
    for (int c = 0; c < k; c++)
        n += snprintf(buf + n, sizeof buf - (size_t)n,
                      "        <paletteEntry value=\"%d\" color=\"#%02x%02x%02x\" alpha=\"255\" label=\"%s\"/>\n", c,
                      col[c][0], col[c][1], col[c][2], names[c]);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "      </colorPalette>\n    </rasterrenderer>\n  </pipe>\n</qgis>\n");
    return scarp_write_file_atomic(path, buf, (size_t)n);
}

/* A QGIS style for a continuous raster: a colour ramp interpolated between `n` stops
 * spread evenly over [0, vmax] (QGIS loads NAME.qml beside NAME.tif as its default style). */
static scarp_status write_ramp_qml(const char *path, const uint8_t (*stops)[4], int n, double vmax, int digits)
{
    char buf[4096];
    int len = snprintf(buf, sizeof buf,
                       "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22\">\n  <pipe>\n"
                       "    <rasterrenderer type=\"singlebandpseudocolor\" band=\"1\" opacity=\"1\" alphaBand=\"-1\""
                       " classificationMin=\"0\" classificationMax=\"%.*f\">\n"
                       "      <rastershader>\n"
                       "        <colorrampshader colorRampType=\"INTERPOLATED\" classificationMode=\"1\" clip=\"0\""
                       " minimumValue=\"0\" maximumValue=\"%.*f\">\n",
                       digits, vmax, digits, vmax);
    for (int i = 0; i < n; i++) {
        double v = vmax * i / (n - 1);
        len += snprintf(buf + len, sizeof buf - (size_t)len,
                        "          <item value=\"%.*f\" color=\"#%02x%02x%02x\" alpha=\"255\" label=\"%.*f\"/>\n", digits,
                        v, stops[i][0], stops[i][1], stops[i][2], digits, v);
    }
    len += snprintf(buf + len, sizeof buf - (size_t)len,
                    "        </colorrampshader>\n      </rastershader>\n    </rasterrenderer>\n  </pipe>\n</qgis>\n");
    return scarp_write_file_atomic(path, buf, (size_t)len);
}

/* susceptibility.qml: the 5-class colours (green → red) as a ramp over probability 0..1 */
static scarp_status write_susceptibility_qml(const char *path)
{
    return write_ramp_qml(path, scarp_class_colors(5), 5, 1.0, 2);
}

/* uncertainty_sd.qml: viridis (the ramp of uncertainty.png) over sd 0..vmax */
static scarp_status write_uncertainty_qml(const char *path, double vmax)
{
    uint8_t stops[9][4];
    for (int i = 0; i < 9; i++) {
        double rgb[3];
        scarp__map_ramp(i / 8.0, rgb);
        for (int c = 0; c < 3; c++) stops[i][c] = (uint8_t)lround(255 * rgb[c]);
        stops[i][3] = 255;
    }
    return write_ramp_qml(path, (const uint8_t(*)[4])stops, 9, vmax, 3);
}

static scarp_status write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root);
    if (!text) return SCARP_ERR_NOMEM;
    scarp_status st = scarp_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return st;
}

static cJSON *json_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(round(v[i] * 1e6) / 1e6));
    return a;
}

/* ---- the two passes ---- */

scarp_status scarp__map_assemble(const scarp_stack *stack, const scarp_tile_store *store, const scarp_tiling *tiling,
                                 int bands, const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                                 const char *model_path, int n_models, scarp_map_report *rep)
{
    char mapdir[SCARP_PATH_MAX], p_sus[SCARP_PATH_MAX], p_sd[SCARP_PATH_MAX], p_cls[SCARP_PATH_MAX];
    char p_qml[SCARP_PATH_MAX], p_sus_qml[SCARP_PATH_MAX], p_sd_qml[SCARP_PATH_MAX], p_png[SCARP_PATH_MAX], p_rates[SCARP_PATH_MAX], p_sum[SCARP_PATH_MAX],
        p_fig[SCARP_PATH_MAX], p_unc[SCARP_PATH_MAX];
    scarp_status st;
    if ((st = scarp_path_join(mapdir, sizeof mapdir, out_dir, "map"))) return st;
    scarp_path_join(p_sus, sizeof p_sus, mapdir, "susceptibility.tif");
    scarp_path_join(p_sd, sizeof p_sd, mapdir, "uncertainty_sd.tif");
    scarp_path_join(p_cls, sizeof p_cls, mapdir, "classes.tif");
    scarp_path_join(p_qml, sizeof p_qml, mapdir, "classes.qml");
    scarp_path_join(p_sus_qml, sizeof p_sus_qml, mapdir, "susceptibility.qml");
    scarp_path_join(p_sd_qml, sizeof p_sd_qml, mapdir, "uncertainty_sd.qml");
    scarp_path_join(p_png, sizeof p_png, mapdir, "quicklook.png");
    scarp_path_join(p_rates, sizeof p_rates, mapdir, "rates.png");
    scarp_path_join(p_sum, sizeof p_sum, mapdir, "summary.json");
    scarp_path_join(p_fig, sizeof p_fig, mapdir, "figures.json");
    scarp_path_join(p_unc, sizeof p_unc, mapdir, "uncertainty.png");

    const int k = cfg->map_classes ? cfg->map_classes : 4;
    scarp_breaks_method method;
    if ((st = scarp_breaks_parse(cfg->map_breaks[0] ? cfg->map_breaks : "natural", &method))) return st;
    if (k < SCARP_CLASSES_MIN || k > SCARP_CLASSES_MAX)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [map] classes = %d: expected 3 to 5", cfg->config_path, k);

    landslides ls;
    if ((st = load_landslides(out_dir, &ls))) return st;
    const int64_t W = tiling->width, H = tiling->height;
    const size_t tile_cells = (size_t)tiling->tile_w * tiling->tile_h;
    float *tile = scarp_malloc((size_t)bands * tile_cells * sizeof(float));
    int64_t *hist = scarp_calloc(HIST_BINS, sizeof *hist);
    size_t scap = SAMPLE_TARGET + SAMPLE_TARGET / 2 + 1024, ns = 0;
    float *sample = scarp_malloc(scap * sizeof(float));
    const int f = (int)((W > H ? W : H) + QUICKLOOK_MAX - 1) / QUICKLOOK_MAX;
    const int qw = (int)((W + f - 1) / f), qh = (int)((H + f - 1) / f);
    uint8_t *q = scarp_malloc((size_t)qw * qh);
    float *qsd = bands > 1 ? scarp_malloc((size_t)qw * qh * sizeof(float)) : NULL;
    scarp_raster_writer *w_sus = NULL, *w_sd = NULL, *w_cls = NULL;
    float *cls_buf = scarp_malloc(tile_cells * sizeof(float));
    int64_t sd_above = 0;
    double sd_sum = 0, sd_max = 0;
    if (!tile || !hist || !sample || !q || !cls_buf || (bands > 1 && !qsd)) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    memset(q, 255, (size_t)qw * qh);
    for (size_t i = 0; qsd && i < (size_t)qw * qh; i++) qsd[i] = NAN;
    /* pass 1: susceptibility (+ sd) rasters, histogram, range, sample, landslide values */
    /* the COGs' intermediates (probability, sd, classes) uncompressed where the disk holds them */
    const int raw = scarp_raster_raw_intermediates_fit(mapdir, W * H * (4 * (int64_t)bands + 1));
    scarp_raster_meta meta_sus = {.description = "landslide susceptibility (probability)", .cog = 1,
                                  .raw_intermediate = raw};
    scarp_raster_meta meta_sd = {.description = "ensemble standard deviation of the probability", .cog = 1,
                                 .raw_intermediate = raw};
    if ((st = scarp_raster_writer_open(&w_sus, p_sus, &stack->grid, SCARP_OUT_FLOAT32, &meta_sus))) goto end;
    if (bands > 1 && (st = scarp_raster_writer_open(&w_sd, p_sd, &stack->grid, SCARP_OUT_FLOAT32, &meta_sd))) goto end;
    const double p_take = stack->valid_cells > SAMPLE_TARGET ? (double)SAMPLE_TARGET / (double)stack->valid_cells : 1.0;
    const uint64_t seed = cfg->seed;
    double vmin = INFINITY, vmax = -INFINITY;
    int64_t valid = 0;
    for (int64_t t = 0; t < tiling->n; t++) {
        int64_t c0, r0;
        int tw, th;
        scarp_tiling_tile(tiling, t, &c0, &r0, &tw, &th);
        const size_t cells = (size_t)tw * th;
        if ((st = scarp_tile_store_get(store, t, tile))) goto end;
        if ((st = scarp_raster_writer_write(w_sus, c0, r0, tw, th, tile))) goto end;
        if (w_sd && (st = scarp_raster_writer_write(w_sd, c0, r0, tw, th, tile + cells))) goto end;
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                float v = tile[(size_t)y * tw + x];
                if (isnan(v)) continue;
                valid++;
                if (bands > 1) {
                    float sd = tile[cells + (size_t)y * tw + x];
                    sd_above += sd > SCARP_MAP_SD_THRESHOLD;
                    sd_sum += sd;
                    if (sd > sd_max) sd_max = sd;
                    if ((r0 + y) % f == 0 && (c0 + x) % f == 0) qsd[(size_t)((r0 + y) / f) * qw + (c0 + x) / f] = sd;
                }
                if (v < vmin) vmin = v;
                if (v > vmax) vmax = v;
                hist[scarp_hist_bin(v, HIST_BINS, 0.0, 1.0)]++;
                uint64_t idx = (uint64_t)(r0 + y) * (uint64_t)W + (uint64_t)(c0 + x);
                double u = (double)(splitmix(idx ^ splitmix(seed)) >> 11) * 0x1.0p-53;
                if (u < p_take && ns < scap) sample[ns++] = v;
            }
        for (int64_t i = 0; i < ls.n; i++)
            if (ls.col[i] >= c0 && ls.col[i] < c0 + tw && ls.row[i] >= r0 && ls.row[i] < r0 + th)
                ls.value[i] = tile[(size_t)(ls.row[i] - r0) * tw + (ls.col[i] - c0)];
    }
    if (valid == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no valid cell to map", stack->valid_path);
        goto end;
    }
    /* breaks */
    double breaks[SCARP_CLASSES_MAX - 1];
    {
        float *lsv = scarp_malloc((size_t)(ls.n + 1) * sizeof(float));
        if (!lsv) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        size_t nl = 0;
        for (int64_t i = 0; i < ls.n; i++)
            if (!isnan(ls.value[i])) lsv[nl++] = ls.value[i];
        int np = cfg->map_n_thresholds;
        st = scarp_class_breaks(method, k, sample, ns, vmin, vmax, lsv, nl, cfg->map_thresholds, np, seed, breaks);
        scarp_free(lsv);
        if (st) goto end;
    }
    /* pass 2: classes raster, class counts, quicklook */
    scarp_raster_meta meta_cls = {.description = "landslide susceptibility class",
                                  .class_names = scarp_class_names(k),
                                  .colors = scarp_class_colors(k),
                                  .n_classes = k,
                                  .cog = 1,
                                  .raw_intermediate = raw};
    if ((st = scarp_raster_writer_open(&w_cls, p_cls, &stack->grid, SCARP_OUT_BYTE, &meta_cls))) goto end;
    scarp_class_stats stats;
    scarp_class_stats_init(&stats, k);
    for (int64_t t = 0; t < tiling->n; t++) {
        int64_t c0, r0;
        int tw, th;
        scarp_tiling_tile(tiling, t, &c0, &r0, &tw, &th);
        if ((st = scarp_tile_store_get(store, t, tile))) goto end;
        int64_t counts[SCARP_CLASSES_MAX] = {0};
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                size_t j = (size_t)y * tw + x;
                int c = scarp_class_of(tile[j], breaks, k);
                cls_buf[j] = c < 0 ? NAN : (float)c;
                if (c >= 0) counts[c]++;
                int64_t R = r0 + y, Cc = c0 + x;
                if (R % f == 0 && Cc % f == 0) q[(size_t)(R / f) * qw + Cc / f] = c < 0 ? 255 : (uint8_t)c;
            }
        scarp_class_stats_add_cells(&stats, counts);
        if ((st = scarp_raster_writer_write(w_cls, c0, r0, tw, th, cls_buf))) goto end;
    }
    for (int64_t i = 0; i < ls.n; i++)
        scarp_class_stats_add_landslide(&stats, scarp_class_of(ls.value[i], breaks, k), ls.split[i] == SCARP_SPLIT_TEST);
    scarp_class_stats_finish(&stats);
    /* rate curves: success = training landslides, prediction = test landslides */
    double xs[CURVE_POINTS], ys[CURVE_POINTS], xp[CURVE_POINTS], yp[CURVE_POINTS], aus = NAN, aup = NAN;
    int have_s = 0, have_p = 0;
    if (ls.n > 0) {
        float *v = scarp_malloc((size_t)ls.n * sizeof(float));
        if (!v) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int pass = 0; pass < 2; pass++) {
            size_t m = 0;
            for (int64_t i = 0; i < ls.n; i++)
                if (ls.split[i] == (pass ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN) && !isnan(ls.value[i])) v[m++] = ls.value[i];
            if (m == 0) continue;
            if (pass == 0 && !scarp_rate_curve(hist, HIST_BINS, 0, 1, v, m, CURVE_POINTS, xs, ys, &aus)) have_s = 1;
            if (pass == 1 && !scarp_rate_curve(hist, HIST_BINS, 0, 1, v, m, CURVE_POINTS, xp, yp, &aup)) have_p = 1;
        }
        scarp_free(v);
        scarp_clear_error();
    }
    /* commit the rasters (COG conversion happens here), then the small files */
    /* (a writer left uncommitted after a failure is aborted at `end`: no .partial stays) */
    st = scarp_raster_writer_commit(w_sus);
    w_sus = NULL;
    if (st) goto end;
    if (w_sd) st = scarp_raster_writer_commit(w_sd);
    w_sd = NULL;
    if (st) goto end;
    st = scarp_raster_writer_commit(w_cls);
    w_cls = NULL;
    if (st) goto end;
    if ((st = write_qml(p_qml, k))) goto end;
    if ((st = write_susceptibility_qml(p_sus_qml))) goto end;
    /* the same span as the colour bar of uncertainty.png: 0 .. max(2 × threshold, largest sd) */
    const double sd_bar_max = sd_max > 2 * SCARP_MAP_SD_THRESHOLD ? sd_max : 2 * SCARP_MAP_SD_THRESHOLD;
    if (bands > 1 && (st = write_uncertainty_qml(p_sd_qml, sd_bar_max))) goto end;
    const char *base = strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path;
    char title[256];
    snprintf(title, sizeof title, "Landslide susceptibility — %s%s%s%s", base, n_models > 1 ? " (ensemble)" : "",
             rep->date[0] ? ", rainfall to " : "", rep->date);
    cJSON *figs = cJSON_CreateArray();
    if (!(opts && opts->no_figures)) {
        if ((st = write_quicklook(p_png, q, qw, qh, k, title, &stats))) goto end_json;
        cJSON *fq = cJSON_CreateObject();
        cJSON_AddStringToObject(fq, "file", "map/quicklook.png");
        cJSON_AddStringToObject(fq, "title", "Susceptibility classes");
        cJSON_AddStringToObject(fq, "caption", title);
        cJSON_AddItemToArray(figs, fq);
        if (have_s || have_p) {
            if ((st = write_rates_png(p_rates, have_s ? xs : NULL, ys, aus, have_p ? xp : NULL, yp, aup))) goto end_json;
            cJSON *fr = cJSON_CreateObject();
            cJSON_AddStringToObject(fr, "file", "map/rates.png");
            cJSON_AddStringToObject(fr, "title", "Success- and prediction-rate curves");
            cJSON_AddStringToObject(fr, "caption", "Cumulative share of landslides against cumulative share of area, cells ranked by decreasing susceptibility.");
            cJSON_AddItemToArray(figs, fr);
        }
        if (bands > 1) {
            /* the colour bar spans 0 .. the larger of 2 × the threshold and the largest sd,
             * so the threshold always sits inside it */
            const double bar_max = sd_bar_max;
            char note[200], cap[400], ut[256];
            snprintf(note, sizeof note, "%.1f %% of the mapped area has sd > %.2f (mean sd %.3f, max %.3f; %d members)",
                     100.0 * (double)sd_above / (double)valid, SCARP_MAP_SD_THRESHOLD, sd_sum / (double)valid, sd_max,
                     n_models);
            snprintf(ut, sizeof ut, "Uncertainty — sd of the probability over %d ensemble members", n_models);
            if ((st = scarp__map_write_ramp_png(p_unc, qsd, qw, qh, bar_max, ut, "sd", note))) goto end_json;
            snprintf(cap, sizeof cap, "Per-cell standard deviation of the members' probabilities "
                     "(map/uncertainty_sd.tif). %s.", note);
            cJSON *fu = cJSON_CreateObject();
            cJSON_AddStringToObject(fu, "file", "map/uncertainty.png");
            cJSON_AddStringToObject(fu, "title", "Uncertainty of the ensemble");
            cJSON_AddStringToObject(fu, "caption", cap);
            cJSON_AddItemToArray(figs, fu);
        }
    }
    {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model", base);
        cJSON_AddNumberToObject(root, "ensemble_models", n_models);
        cJSON_AddStringToObject(root, "date", rep->date);
        cJSON_AddStringToObject(root, "date_rule", rep->date_rule);
        cJSON_AddNumberToObject(root, "width", (double)W);
        cJSON_AddNumberToObject(root, "height", (double)H);
        cJSON_AddNumberToObject(root, "valid_cells", (double)valid);
        cJSON_AddNumberToObject(root, "tile_width", tiling->tile_w);
        cJSON_AddNumberToObject(root, "tile_height", tiling->tile_h);
        cJSON_AddStringToObject(root, "breaks_method", scarp_breaks_name(method));
        cJSON_AddItemToObject(root, "breaks", json_array(breaks, k - 1));
        cJSON_AddNumberToObject(root, "min", vmin);
        cJSON_AddNumberToObject(root, "max", vmax);
        cJSON *cl = cJSON_AddArrayToObject(root, "classes");
        for (int c = 0; c < k; c++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", scarp_class_names(k)[c]);
            cJSON_AddNumberToObject(o, "cells", (double)stats.cells[c]);
            cJSON_AddNumberToObject(o, "area_share", stats.area_share[c]);
            cJSON_AddNumberToObject(o, "landslides", (double)stats.landslides[c]);
            cJSON_AddNumberToObject(o, "landslide_share", stats.ls_share[c]);
            cJSON_AddNumberToObject(o, "test_landslides", (double)stats.test[c]);
            cJSON_AddNumberToObject(o, "test_share", stats.test_share[c]);
            cJSON_AddNumberToObject(o, "frequency_ratio", stats.frequency_ratio[c]);
            cJSON_AddItemToArray(cl, o);
        }
        cJSON_AddNumberToObject(root, "landslides_in_high_classes", stats.ls_high);
        cJSON_AddNumberToObject(root, "test_landslides_in_high_classes", stats.test_high);
        cJSON_AddNumberToObject(root, "area_in_high_classes", stats.area_high);
        if (bands > 1) {
            cJSON_AddNumberToObject(root, "uncertainty_sd_threshold", SCARP_MAP_SD_THRESHOLD);
            cJSON_AddNumberToObject(root, "area_share_sd_above_threshold", (double)sd_above / (double)valid);
            cJSON_AddNumberToObject(root, "uncertainty_sd_mean", sd_sum / (double)valid);
            cJSON_AddNumberToObject(root, "uncertainty_sd_max", sd_max);
        }
        if (have_s) {
            cJSON_AddNumberToObject(root, "success_rate_auc", aus);
            cJSON *o = cJSON_AddObjectToObject(root, "success_rate_curve");
            cJSON_AddItemToObject(o, "area", json_array(xs, CURVE_POINTS));
            cJSON_AddItemToObject(o, "landslides", json_array(ys, CURVE_POINTS));
        }
        if (have_p) {
            cJSON_AddNumberToObject(root, "prediction_rate_auc", aup);
            cJSON *o = cJSON_AddObjectToObject(root, "prediction_rate_curve");
            cJSON_AddItemToObject(o, "area", json_array(xp, CURVE_POINTS));
            cJSON_AddItemToObject(o, "landslides", json_array(yp, CURVE_POINTS));
        }
        cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
        cJSON_AddItemToArray(outs, cJSON_CreateString("map/susceptibility.tif"));
        cJSON_AddItemToArray(outs, cJSON_CreateString("map/classes.tif"));
        cJSON_AddItemToArray(outs, cJSON_CreateString("map/classes.qml"));
        cJSON_AddItemToArray(outs, cJSON_CreateString("map/susceptibility.qml"));
        if (bands > 1) {
            cJSON_AddItemToArray(outs, cJSON_CreateString("map/uncertainty_sd.tif"));
            cJSON_AddItemToArray(outs, cJSON_CreateString("map/uncertainty_sd.qml"));
        }
        cJSON_AddNumberToObject(root, "seconds_compute", rep->seconds_compute);
        cJSON_AddNumberToObject(root, "cells_per_second", rep->cells_per_second);
        cJSON_AddNumberToObject(root, "dense_gflops_per_second", rep->dense_gflops);
        cJSON_AddNumberToObject(root, "threads", scarp_threads_get());
        st = write_json(p_sum, root);
        cJSON_Delete(root);
    }
    if (!st) st = write_json(p_fig, figs);
end_json:
    cJSON_Delete(figs);
    if (!st) {
        rep->cells = W * H;
        rep->valid_cells = valid;
        memcpy(rep->breaks, breaks, sizeof(double) * (size_t)(k - 1));
        rep->stats = stats;
        rep->success_auc = aus;
        rep->prediction_auc = aup;
        rep->sd_share_above = bands > 1 ? (double)sd_above / (double)valid : 0;
    }
end:
    scarp_raster_writer_abort(w_sus);
    scarp_raster_writer_abort(w_sd);
    scarp_raster_writer_abort(w_cls);
    landslides_free(&ls);
    scarp_free(tile), scarp_free(hist), scarp_free(sample), scarp_free(q), scarp_free(qsd), scarp_free(cls_buf);
    return st;
}
