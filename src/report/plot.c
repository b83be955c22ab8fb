/* plot.c — a small plotting toolkit on cairo (line charts with ticks, grid, legend and
 * an optional diagonal; panel grids; horizontal bar charts with error bars) writing PNG
 * crash-safely. Colours are matplotlib's "tab10" palette so figures look familiar. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/fsutil.h"
#include "scarp/report.h"

static const double palette[10][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}};

static void set_color(cairo_t *cr, int k)
{
    const double *c = palette[((k % 10) + 10) % 10];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

static void nice_ticks(double lo, double hi, double *step, double *first)
{
    double range = hi - lo;
    if (!(range > 0)) range = 1;
    double raw = range / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    *step = nice * mag;
    *first = ceil(lo / *step - 1e-9) * *step;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.width * ax - e.x_bearing, y - e.height * ay - e.y_bearing);
    cairo_show_text(cr, s);
}

static void auto_range(const scarp_plot_axes *ax, const scarp_plot_series *s, int n, double *x0, double *x1,
                       double *y0, double *y1)
{
    *x0 = ax->xmin, *x1 = ax->xmax, *y0 = ax->ymin, *y1 = ax->ymax;
    int autox = !(ax->xmax > ax->xmin), autoy = !(ax->ymax > ax->ymin);
    if (!autox && !autoy) return;
    double a = INFINITY, b = -INFINITY, c = INFINITY, d = -INFINITY;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            a = fmin(a, s[k].x[i]);
            b = fmax(b, s[k].x[i]);
            c = fmin(c, s[k].y[i]);
            d = fmax(d, s[k].y[i]);
        }
    if (!(b >= a)) a = 0, b = 1;
    if (!(d >= c)) c = 0, d = 1;
    if (b == a) a -= 0.5, b += 0.5;
    if (d == c) c -= 0.5, d += 0.5;
    double pad = 0.05 * (d - c);
    if (autox) *x0 = a, *x1 = b;
    if (autoy) *y0 = c - pad, *y1 = d + pad;
}

/* One chart in the rectangle (X, Y, W, H) of the surface. */
static void draw_chart(cairo_t *cr, double X, double Y, double W, double H, const scarp_plot_axes *ax,
                       const scarp_plot_series *s, int n)
{
    double x0, x1, y0, y1;
    auto_range(ax, s, n, &x0, &x1, &y0, &y1);
    const double ml = 62, mr = 16, mt = ax->title ? 30 : 12, mb = 46;
    double px = X + ml, py = Y + mt, pw = W - ml - mr, ph = H - mt - mb;
#define SX(v) (px + ((v) - x0) / (x1 - x0) * pw)
#define SY(v) (py + ph - ((v) - y0) / (y1 - y0) * ph)
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (ax->title) text_at(cr, X + W / 2, Y + 8, ax->title, 0.5, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    /* grid and tick labels */
    double step, v;
    char buf[64];
    cairo_set_line_width(cr, 1);
    nice_ticks(x0, x1, &step, &v);
    for (; v <= x1 + 1e-9 * step; v += step) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, SX(v), py);
        cairo_line_to(cr, SX(v), py + ph);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        text_at(cr, SX(v), py + ph + 6, buf, 0.5, 0);
    }
    nice_ticks(y0, y1, &step, &v);
    for (; v <= y1 + 1e-9 * step; v += step) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, px, SY(v));
        cairo_line_to(cr, px + pw, SY(v));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        text_at(cr, px - 6, SY(v), buf, 1, 0.5);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, px, py, pw, ph);
    cairo_stroke(cr);
    if (ax->xlabel) text_at(cr, px + pw / 2, py + ph + 24, ax->xlabel, 0.5, 0);
    if (ax->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, X + 14, py + ph / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, ax->ylabel, 0.5, 0.5);
        cairo_restore(cr);
    }
    /* data */
    cairo_save(cr);
    cairo_rectangle(cr, px, py, pw, ph);
    cairo_clip(cr);
    if (ax->diagonal) {
        double dash[] = {4, 4};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_move_to(cr, SX(fmax(x0, y0)), SY(fmax(x0, y0)));
        cairo_line_to(cr, SX(fmin(x1, y1)), SY(fmin(x1, y1)));
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    for (int k = 0; k < n; k++) {
        set_color(cr, s[k].color);
        cairo_set_line_width(cr, 2);
        if (s[k].dashed) {
            double dash[] = {6, 4};
            cairo_set_dash(cr, dash, 2, 0);
        }
        int pen = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) {
                pen = 0;
                continue;
            }
            if (pen) cairo_line_to(cr, SX(s[k].x[i]), SY(s[k].y[i]));
            else cairo_move_to(cr, SX(s[k].x[i]), SY(s[k].y[i]));
            pen = 1;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        if (s[k].markers)
            for (size_t i = 0; i < s[k].n; i++) {
                if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
                cairo_arc(cr, SX(s[k].x[i]), SY(s[k].y[i]), 3, 0, 2 * M_PI);
                cairo_fill(cr);
            }
    }
    cairo_restore(cr);
    /* legend */
    int nl = 0;
    double lw = 0;
    for (int k = 0; k < n; k++)
        if (s[k].label) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, s[k].label, &e);
            lw = fmax(lw, e.x_advance);
            nl++;
        }
    if (nl) {
        double bw = lw + 40, bh = 16.0 * nl + 8;
        double bx = px + pw - bw - 8, by = ax->legend_right ? py + ph - bh - 8 : py + 8;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, bx, by, bw, bh);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
        int j = 0;
        for (int k = 0; k < n; k++) {
            if (!s[k].label) continue;
            double ly = by + 12 + 16.0 * j++;
            set_color(cr, s[k].color);
            cairo_set_line_width(cr, 2);
            if (s[k].dashed) {
                double dash[] = {6, 4};
                cairo_set_dash(cr, dash, 2, 0);
            }
            cairo_move_to(cr, bx + 6, ly);
            cairo_line_to(cr, bx + 28, ly);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            text_at(cr, bx + 34, ly, s[k].label, 0, 0.5);
        }
    }
#undef SX
#undef SY
}

static scarp_status finish_png(cairo_surface_t *surf, cairo_t *cr, const char *path)
{
    char partial[4096];
    scarp_status st = scarp_partial_name(partial, sizeof partial, path);
    cairo_destroy(cr);
    if (!st) {
        cairo_status_t cs = cairo_surface_write_to_png(surf, partial);
        if (cs != CAIRO_STATUS_SUCCESS) {
            remove(partial);
            st = scarp_fail(SCARP_ERR_IO, "%s: cannot write PNG (%s)", path, cairo_status_to_string(cs));
        } else {
            st = scarp_commit_file(partial, path);
        }
    }
    cairo_surface_destroy(surf);
    return st;
}

static scarp_status new_canvas(int w, int h, cairo_surface_t **surf, cairo_t **cr)
{
    *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(*surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(*surf);
        return scarp_fail(SCARP_ERR_NOMEM, "plot: cannot create a %d x %d image", w, h);
    }
    *cr = cairo_create(*surf);
    cairo_set_source_rgb(*cr, 1, 1, 1);
    cairo_paint(*cr);
    return SCARP_OK;
}

scarp_status scarp_plot_lines(const char *path, int w, int h, const scarp_plot_axes *ax, const scarp_plot_series *s,
                              int n)
{
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    scarp_status st = new_canvas(w, h, &surf, &cr);
    if (st) return st;
    draw_chart(cr, 0, 0, w, h, ax, s, n);
    return finish_png(surf, cr, path);
}

scarp_status scarp_plot_panels(const char *path, int w, int h, int rows, int cols, const scarp_plot_axes *ax,
                               const scarp_plot_series *const *series, const int *n_series)
{
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    scarp_status st = new_canvas(w, h, &surf, &cr);
    if (st) return st;
    double pw = (double)w / cols, ph = (double)h / rows;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int k = r * cols + c;
            draw_chart(cr, c * pw, r * ph, pw, ph, &ax[k], series[k], n_series[k]);
        }
    return finish_png(surf, cr, path);
}

scarp_status scarp_plot_bars(const char *path, int w, int h, const char *title, const char *xlabel,
                             const char *const *names, const double *values, const double *errors, int n)
{
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    scarp_status st = new_canvas(w, h, &surf, &cr);
    if (st) return st;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    double namew = 0;
    for (int i = 0; i < n; i++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, names[i], &e);
        namew = fmax(namew, e.x_advance);
    }
    double vmax = 0, vmin = 0;
    for (int i = 0; i < n; i++) {
        double e = errors ? errors[i] : 0;
        if (isfinite(values[i])) {
            vmax = fmax(vmax, values[i] + e);
            vmin = fmin(vmin, values[i] - e);
        }
    }
    if (!(vmax > vmin)) vmax = vmin + 1;
    vmax += 0.05 * (vmax - vmin);
    double ml = namew + 16, mr = 20, mt = title ? 32 : 12, mb = 46;
    double px = ml, py = mt, pw = w - ml - mr, ph = h - mt - mb;
#define BX(v) (px + ((v) - vmin) / (vmax - vmin) * pw)
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (title) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, 14);
        text_at(cr, w / 2.0, 8, title, 0.5, 0);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, 11);
    }
    double step, v;
    char buf[64];
    nice_ticks(vmin, vmax, &step, &v);
    cairo_set_line_width(cr, 1);
    for (; v <= vmax + 1e-9 * step; v += step) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, BX(v), py);
        cairo_line_to(cr, BX(v), py + ph);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * step ? 0.0 : v);
        text_at(cr, BX(v), py + ph + 6, buf, 0.5, 0);
    }
    if (xlabel) text_at(cr, px + pw / 2, py + ph + 24, xlabel, 0.5, 0);
    double slot = n ? ph / n : ph;
    for (int i = 0; i < n; i++) {
        double cy = py + slot * (i + 0.5), bh = fmin(slot * 0.7, 28);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, px - 6, cy, names[i], 1, 0.5);
        if (!isfinite(values[i])) continue;
        set_color(cr, 0);
        double a = BX(fmin(0, values[i])), b = BX(fmax(0, values[i]));
        cairo_rectangle(cr, a, cy - bh / 2, b - a, bh);
        cairo_fill(cr);
        if (errors && errors[i] > 0) {
            cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
            cairo_move_to(cr, BX(values[i] - errors[i]), cy);
            cairo_line_to(cr, BX(values[i] + errors[i]), cy);
            cairo_move_to(cr, BX(values[i] - errors[i]), cy - 4);
            cairo_line_to(cr, BX(values[i] - errors[i]), cy + 4);
            cairo_move_to(cr, BX(values[i] + errors[i]), cy - 4);
            cairo_line_to(cr, BX(values[i] + errors[i]), cy + 4);
            cairo_stroke(cr);
        }
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, BX(0), py);
    cairo_line_to(cr, BX(0), py + ph);
    cairo_stroke(cr);
#undef BX
    return finish_png(surf, cr, path);
}
