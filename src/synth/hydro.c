/* hydro.c — the coarse grids of the synthetic province: the orographic climate (AAP), the
 * hydrology (priority-flood fill, D8 and MFD accumulation from src/terrain on a DEM coarsened
 * to at most 1024 cells a side, so memory stays bounded at any size), towns on the plains
 * and reservoirs dammed on the larger rivers. Orographic rule after Smith (1979, Adv.
 * Geophys. 21): precipitation grows with height and on slopes facing the moist westerlies. */
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"
#include "synth_internal.h"

/* ---- climate ---- */

scarp_status synth_climate_make(synth_ctx *c)
{
    double step = fmin(1000.0, fmax(c->W, c->H) / 64.0);
    c->cstep = step;
    c->cw = (int64_t)ceil(c->W / step) + 1;
    c->ch = (int64_t)ceil(c->H / step) + 1;
    c->aap_grid = scarp_malloc((size_t)(c->cw * c->ch) * sizeof(float));
    int *idx = scarp_malloc((size_t)(c->n_faults > 0 ? c->n_faults : 1) * sizeof(int));
    if (!c->aap_grid || !idx) { scarp_free(idx); return SCARP_ERR_NOMEM; }
    const double wl = 4000, h = 1000;
    for (int64_t j = 0; j < c->ch; j++) {
        double y = j * step;
        int nf = synth_faults_cull(c, -h, y, c->W + h, y, idx);
        for (int64_t i = 0; i < c->cw; i++) {
            double x = i * step;
            double z = synth_terrain(c, x, y, wl, idx, nf, NULL, NULL);
            double ze = synth_terrain(c, x + h, y, wl, idx, nf, NULL, NULL);
            double zw = synth_terrain(c, x - h, y, wl, idx, nf, NULL, NULL);
            double grad = (ze - zw) / (2 * h); /* > 0: the ground rises eastwards, facing the westerlies */
            double lift = (z - 900) / 2600;
            lift = lift < 0 ? 0 : lift > 1 ? 1 : lift;
            double a = 155 + 120 * lift + 25 * tanh(8 * grad) + 10 * synth_fbm(c->s_lu ^ 0xAA, x, y, 20e3, 5e3, 0.5);
            c->aap_grid[j * c->cw + i] = (float)(a < 150 ? 150 : a > 300 ? 300 : a);
        }
    }
    scarp_free(idx);
    return SCARP_OK;
}

double synth_aap_at(const synth_ctx *c, double x, double y)
{
    double gx = x / c->cstep, gy = y / c->cstep;
    if (gx < 0) gx = 0;
    if (gy < 0) gy = 0;
    if (gx > c->cw - 1.001) gx = c->cw - 1.001;
    if (gy > c->ch - 1.001) gy = c->ch - 1.001;
    int64_t i = (int64_t)gx, j = (int64_t)gy;
    double u = gx - i, v = gy - j;
    const float *g = c->aap_grid;
    double a = g[j * c->cw + i] * (1 - u) + g[j * c->cw + i + 1] * u;
    double b = g[(j + 1) * c->cw + i] * (1 - u) + g[(j + 1) * c->cw + i + 1] * u;
    return a * (1 - v) + b * v;
}

/* ---- coarse hydrology ---- */

scarp_status synth_hydro_make(synth_ctx *c)
{
    int64_t big = c->p.width > c->p.height ? c->p.width : c->p.height;
    c->f = (int)((big + 1023) / 1024);
    if (c->f < 1) c->f = 1;
    c->hw = (c->p.width + c->f - 1) / c->f;
    c->hh = (c->p.height + c->f - 1) / c->f;
    size_t n = (size_t)(c->hw * c->hh);
    double step = c->f * c->cs;
    c->hdem = scarp_malloc(n * sizeof(float));
    c->acc_mfd = scarp_malloc(n * sizeof(float));
    c->acc_d8 = scarp_malloc(n * sizeof(float));
    int *idx = scarp_malloc((size_t)c->n_faults * sizeof(int));
    if (!c->hdem || !c->acc_mfd || !c->acc_d8 || !idx) { scarp_free(idx); return SCARP_ERR_NOMEM; }
    /* f = 1: the very DEM of dem.tif (same function, same low-pass); f > 1: low-passed to 2 coarse cells. */
    double wl_min = 2 * step;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < c->hh; j++) {
        double y = (j + 0.5) * step;
        int *myidx = scarp_malloc((size_t)c->n_faults * sizeof(int));
        int nf = myidx ? synth_faults_cull(c, 0, y, c->W, y, myidx) : 0;
        for (int64_t i = 0; i < c->hw; i++) {
            double x = (i + 0.5) * step;
            float z = NAN;
            if (myidx && synth_inside(c, x, y)) z = (float)synth_terrain(c, x, y, wl_min, myidx, nf, NULL, NULL);
            c->hdem[j * c->hw + i] = z;
        }
        scarp_free(myidx);
    }
    scarp_free(idx);
    scarp_cellsize cs;
    scarp_status st = scarp_cellsize_uniform(&cs, c->hh, step, step);
    if (st) return st;
    if (!(st = scarp_fill_depressions(c->hdem, c->hw, c->hh, 1, c->hdem, NULL)) &&
        !(st = scarp_flow_accumulation_mfd(c->hdem, c->hw, c->hh, &cs, SCARP_MFD_EXPONENT, c->acc_mfd, NULL)))
        st = scarp_flow_accumulation_d8(c->hdem, c->hw, c->hh, &cs, c->acc_d8, NULL);
    scarp_cellsize_free(&cs);
    return st;
}

double synth_acc_at(const synth_ctx *c, double x, double y)
{
    double step = c->f * c->cs;
    double gx = x / step - 0.5, gy = y / step - 0.5;
    if (gx < 0) gx = 0;
    if (gy < 0) gy = 0;
    if (gx > c->hw - 1) gx = (double)(c->hw - 1);
    if (gy > c->hh - 1) gy = (double)(c->hh - 1);
    int64_t i = (int64_t)gx, j = (int64_t)gy;
    int64_t i1 = i + 1 < c->hw ? i + 1 : i, j1 = j + 1 < c->hh ? j + 1 : j;
    double u = gx - i, v = gy - j;
    /* NaN corners (outside the province) are skipped, weights renormalised. */
    double w[4] = {(1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v};
    float a[4] = {c->acc_mfd[j * c->hw + i], c->acc_mfd[j * c->hw + i1], c->acc_mfd[j1 * c->hw + i],
                  c->acc_mfd[j1 * c->hw + i1]};
    double s = 0, sw = 0;
    for (int k = 0; k < 4; k++)
        if (!isnan(a[k])) { s += w[k] * a[k]; sw += w[k]; }
    return sw > 0 ? s / sw : NAN;
}

double synth_river_distance(const synth_ctx *c, double x, double y, double maxd)
{
    const double step = c->f * c->cs, thr = fmax(1e6, 30 * step * step); /* as rivers.gpkg */
    int64_t ci = (int64_t)floor(x / step), cj = (int64_t)floor(y / step), k = (int64_t)ceil(maxd / step);
    double best = maxd * maxd;
    for (int64_t j = cj - k; j <= cj + k; j++) {
        if (j < 0 || j >= c->hh) continue;
        for (int64_t i = ci - k; i <= ci + k; i++) {
            if (i < 0 || i >= c->hw) continue;
            float a = c->acc_d8[j * c->hw + i];
            if (!(a >= thr)) continue;
            double dx = (i + 0.5) * step - x, dy = (j + 0.5) * step - y, d2 = dx * dx + dy * dy;
            if (d2 < best) best = d2;
        }
    }
    return sqrt(best);
}

/* ---- towns ---- */

static double coarse_slope_deg(const synth_ctx *c, int64_t i, int64_t j)
{
    if (i < 1 || j < 1 || i >= c->hw - 1 || j >= c->hh - 1) return 90;
    const float *z = c->hdem;
    double step = c->f * c->cs;
    double dzdx = (z[j * c->hw + i + 1] - z[j * c->hw + i - 1]) / (2 * step);
    double dzdy = (z[(j + 1) * c->hw + i] - z[(j - 1) * c->hw + i]) / (2 * step);
    double g = sqrt(dzdx * dzdx + dzdy * dzdy);
    return isnan(g) ? 90 : atan(g) * 180 / 3.14159265358979323846;
}

/* Towns on gentle, not too high ground, away from the edges and from each other. On small
 * areas (a side under 7.5 km, i.e. --size below 250 cells of 30 m) the edge margin and the
 * spacing shrink with the side, and if fewer than two towns fit the slope and height limits
 * are relaxed, so there are always at least two towns and a road between them (the roads
 * layer is a distance layer of the study: it must never be empty). The presets and areas
 * whose shorter side is 7.5 km or more (and not much shorter than the usual spacing) get
 * the same towns as before. */
scarp_status synth_towns_make(synth_ctx *c)
{
    double area_km2 = c->W * c->H / 1e6;
    int n = c->p.n_towns > 0 ? c->p.n_towns : (int)lround(area_km2 / 700.0);
    n = n < 3 ? 3 : n > 60 ? 60 : n;
    c->towns = scarp_calloc((size_t)n, sizeof *c->towns);
    if (!c->towns) return SCARP_ERR_NOMEM;
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_TOWNS);
    const double side = fmin(c->W, c->H);
    const double edge = fmin(1500.0, 0.2 * side);
    const double dmin = fmin(fmax(3000.0, 0.6 * sqrt(c->W * c->H / n)), 0.4 * side);
    double step = c->f * c->cs;
    int got = 0;
    /* phase 0: the usual limits; phase 1 (only when fewer than two towns fit): any slope
     * under 30°, any height, half the spacing */
    for (int phase = 0; phase < 2 && got < (phase == 0 ? n : 2); phase++)
        for (int attempt = 0; attempt < 20000 && got < n; attempt++) {
            /* rugged provinces: accept closer towns late */
            double relax = phase ? 0.5 : attempt < 10000 ? 1.0 : 0.5;
            double max_slope = phase ? 30.0 : attempt < 10000 ? 4.0 : 8.0, max_z = phase ? INFINITY : 2300;
            int64_t i = (int64_t)scarp_rng_below(&r, (uint64_t)c->hw), j = (int64_t)scarp_rng_below(&r, (uint64_t)c->hh);
            float z = c->hdem[j * c->hw + i];
            if (isnan(z) || z > max_z || coarse_slope_deg(c, i, j) > max_slope) continue;
            double x = (i + 0.5) * step, y = (j + 0.5) * step;
            if (x < edge || y < edge || x > c->W - edge || y > c->H - edge) continue;
            int ok = 1;
            for (int k = 0; k < got && ok; k++) {
                double dx = x - c->towns[k].x, dy = y - c->towns[k].y;
                ok = dx * dx + dy * dy >= dmin * dmin * relax * relax;
            }
            if (!ok) continue;
            c->towns[got].x = x;
            c->towns[got].y = y;
            c->towns[got].radius = 450 + 650 * scarp_rng_uniform(&r);
            if (side < 7500) c->towns[got].radius = fmin(c->towns[got].radius, 0.25 * dmin + 100);
            got++;
        }
    c->n_towns = got;
    return SCARP_OK;
}

/* ---- reservoirs ---- */

static const int d8_dr[8] = {-1, -1, 0, 1, 1, 1, 0, -1};
static const int d8_dc[8] = {0, 1, 1, 1, 0, -1, -1, -1};

/* D8 receiver of coarse cell (i, j) on the filled DEM (same rule as scarp_flow_accumulation_d8:
 * steepest drop / distance, ties to the first in N, NE, E, ...), or −1 for an outlet. */
int synth_d8_receiver(const synth_ctx *c, int64_t i, int64_t j)
{
    float z = c->hdem[j * c->hw + i];
    if (isnan(z)) return -1;
    double best = 0;
    int dir = -1;
    for (int k = 0; k < 8; k++) {
        int64_t ii = i + d8_dc[k], jj = j + d8_dr[k];
        if (ii < 0 || jj < 0 || ii >= c->hw || jj >= c->hh) continue;
        float zn = c->hdem[jj * c->hw + ii];
        if (isnan(zn)) continue;
        double drop = ((double)z - zn) / ((k & 1) ? 1.4142135623730951 : 1.0);
        if (drop > best) { best = drop; dir = k; }
    }
    return dir;
}

void synth_d8_offset(int dir, int *dc, int *dr)
{
    *dc = d8_dc[dir];
    *dr = d8_dr[dir];
}

scarp_status synth_reservoirs_place(synth_ctx *c)
{
    double area_km2 = c->W * c->H / 1e6;
    int n = c->p.n_reservoirs > 0 ? c->p.n_reservoirs : (int)lround(area_km2 / 2000.0) + 1;
    n = n < 1 ? 1 : n > 8 && c->p.n_reservoirs <= 0 ? 8 : n;
    c->res = scarp_calloc((size_t)n, sizeof *c->res);
    if (!c->res) return SCARP_ERR_NOMEM;
    double thr = fmin(fmax(0.02 * area_km2, 5.0), 300.0) * 1e6;
    double step = c->f * c->cs;
    double dmin = fmax(4000.0, 0.5 * sqrt(c->W * c->H / n));
    /* Candidates in raster order, then drawn at random: deterministic. */
    int64_t nc = 0, cap = 1024;
    int64_t *cand = scarp_malloc((size_t)cap * sizeof(int64_t));
    if (!cand) return SCARP_ERR_NOMEM;
    for (int64_t j = 1; j < c->hh - 1; j++)
        for (int64_t i = 1; i < c->hw - 1; i++) {
            int64_t k = j * c->hw + i;
            float a = c->acc_d8[k], z = c->hdem[k];
            if (isnan(a) || a < thr || z < 900 || z > 2800) continue;
            double x = (i + 0.5) * step, y = (j + 0.5) * step;
            double m = fmin(2500.0, 0.15 * fmin(c->W, c->H));
            if (!synth_inside(c, x - m, y) || !synth_inside(c, x + m, y) || !synth_inside(c, x, y - m) ||
                !synth_inside(c, x, y + m))
                continue;
            if (nc == cap) {
                int64_t *t = scarp_realloc(cand, (size_t)(cap * 2) * sizeof(int64_t));
                if (!t) { scarp_free(cand); return SCARP_ERR_NOMEM; }
                cand = t;
                cap *= 2;
            }
            cand[nc++] = k;
        }
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_RESERVOIRS);
    int got = 0;
    for (int attempt = 0; nc > 0 && attempt < 4000 && got < n; attempt++) {
        int64_t k = cand[scarp_rng_below(&r, (uint64_t)nc)];
        int64_t i = k % c->hw, j = k / c->hw;
        double x = (i + 0.5) * step, y = (j + 0.5) * step;
        int ok = 1;
        for (int q = 0; q < got && ok; q++) {
            double dx = x - c->res[q].x, dy = y - c->res[q].y;
            ok = dx * dx + dy * dy >= dmin * dmin;
        }
        for (int q = 0; q < c->n_towns && ok; q++) {
            double dx = x - c->towns[q].x, dy = y - c->towns[q].y;
            ok = dx * dx + dy * dy >= 3000.0 * 3000.0;
        }
        if (!ok) continue;
        /* Up the valley: towards the donor with the largest area. */
        double best = -1, ux = 0, uy = -1;
        for (int d = 0; d < 8; d++) {
            int64_t ii = i + d8_dc[d], jj = j + d8_dr[d];
            int rd = synth_d8_receiver(c, ii, jj);
            if (rd < 0 || ii + d8_dc[rd] != i || jj + d8_dr[rd] != j) continue;
            float a = c->acc_d8[jj * c->hw + ii];
            if (a > best) {
                best = a;
                double l = sqrt((double)d8_dc[d] * d8_dc[d] + (double)d8_dr[d] * d8_dr[d]);
                ux = d8_dc[d] / l;
                uy = d8_dr[d] / l;
            }
        }
        synth_reservoir *rv = &c->res[got];
        rv->x = x;
        rv->y = y;
        rv->upx = ux;
        rv->upy = uy;
        rv->height = 25 + 35 * scarp_rng_uniform(&r);
        rv->radius = fmin(1500 + 2000 * scarp_rng_uniform(&r), 0.15 * fmin(c->W, c->H));
        rv->catchment_m2 = c->acc_d8[k];
        int *idx = scarp_malloc((size_t)c->n_faults * sizeof(int));
        if (!idx) { scarp_free(cand); return SCARP_ERR_NOMEM; }
        int nf = synth_faults_cull(c, x, y, x, y, idx);
        rv->z_bed = synth_terrain(c, x, y, 2 * c->cs, idx, nf, NULL, NULL);
        scarp_free(idx);
        got++;
    }
    scarp_free(cand);
    if (got == 0) {
        /* no valley fits the rules (a small or gentle province): dam the largest inner river */
        int64_t bestk = -1;
        for (int64_t j = 1; j < c->hh - 1; j++)
            for (int64_t i = 1; i < c->hw - 1; i++) {
                int64_t k = j * c->hw + i;
                double x = (i + 0.5) * step, y = (j + 0.5) * step, m = 0.1 * fmin(c->W, c->H);
                if (isnan(c->acc_d8[k]) || !synth_inside(c, x - m, y) || !synth_inside(c, x + m, y) ||
                    !synth_inside(c, x, y - m) || !synth_inside(c, x, y + m))
                    continue;
                if (bestk < 0 || c->acc_d8[k] > c->acc_d8[bestk]) bestk = k;
            }
        if (bestk >= 0) {
            int64_t i = bestk % c->hw, j = bestk / c->hw;
            synth_reservoir *rv = &c->res[0];
            rv->x = (i + 0.5) * step;
            rv->y = (j + 0.5) * step;
            rv->upx = 0;
            rv->upy = -1;
            rv->height = 25;
            rv->radius = fmin(1500.0, 0.1 * fmin(c->W, c->H));
            rv->catchment_m2 = c->acc_d8[bestk];
            int *idx = scarp_malloc((size_t)c->n_faults * sizeof(int));
            if (!idx) return SCARP_ERR_NOMEM;
            int nf = synth_faults_cull(c, rv->x, rv->y, rv->x, rv->y, idx);
            rv->z_bed = synth_terrain(c, rv->x, rv->y, 2 * c->cs, idx, nf, NULL, NULL);
            scarp_free(idx);
            got = 1;
        }
    }
    c->n_res = got;
    return SCARP_OK;
}

/* ---- roads (built by synth_roads_make in writer.c) ---- */

int synth_roads_cull(const synth_ctx *c, double x0, double y0, double x1, double y1, double reach, int *idx)
{
    int n = 0;
    for (int k = 0; k < c->n_road_seg; k++) {
        const synth_seg *s = &c->road_seg[k];
        if (fmax(s->ax, s->bx) < x0 - reach || fmin(s->ax, s->bx) > x1 + reach || fmax(s->ay, s->by) < y0 - reach ||
            fmin(s->ay, s->by) > y1 + reach)
            continue;
        idx[n++] = k;
    }
    return n;
}

double synth_road_distance(const synth_ctx *c, double x, double y, const int *seg_idx, int n_idx, double *px,
                           double *py)
{
    double best = 1e60, bx = x, by = y;
    int n = seg_idx ? n_idx : c->n_road_seg;
    for (int q = 0; q < n; q++) {
        const synth_seg *s = &c->road_seg[seg_idx ? seg_idx[q] : q];
        double sx = s->bx - s->ax, sy = s->by - s->ay, l2 = sx * sx + sy * sy;
        double t = l2 > 0 ? ((x - s->ax) * sx + (y - s->ay) * sy) / l2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double qx = s->ax + t * sx, qy = s->ay + t * sy, d2 = (qx - x) * (qx - x) + (qy - y) * (qy - y);
        if (d2 < best) { best = d2; bx = qx; by = qy; }
    }
    if (px) *px = bx;
    if (py) *py = by;
    return best < 1e59 ? sqrt(best) : 1e30;
}
