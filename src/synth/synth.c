/* synth.c — `scarp synth`: presets and the generator's driver. The rasters are computed in
 * 256 × 256 tiles, a batch of tiles in parallel, then written in tile order (so the files
 * are byte-identical for any thread count); the inventory is drawn during the same pass by
 * weighted reservoir sampling without replacement (Efraimidis & Spirakis 2006, Inf. Process.
 * Lett. 97(5), doi:10.1016/j.ipl.2005.11.003) with weights = the truth layer, one random
 * stream per tile, and each event's date is drawn from the cell's daily failure hazard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/threads.h"
#include "synth_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- calendar (Hinnant's days_from_civil / civil_from_days) ---- */

int64_t scarp_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void scarp_civil_from_days(int64_t z, int *year, int *month, int *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

void synth_date_string(const synth_ctx *c, int t, char out[11])
{
    int y, m, d;
    scarp_civil_from_days(c->day0 + t, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* ---- presets ---- */

scarp_status scarp_synth_preset(scarp_synth_params *p, const char *name)
{
    memset(p, 0, sizeof *p);
    p->cellsize = 30;
    p->seed = 42;
    if (strcmp(name, "mini") == 0) {
        p->width = p->height = 512;
        p->n_events = 100;
        p->start_year = 2017;
        p->n_years = 4;
        p->epochs = 15; /* keeps `scarp run` of the mini study fast */
    } else if (strcmp(name, "kerman") == 0) {
        p->width = p->height = 4000;
        p->n_events = 719;
        p->start_year = 2015;
        p->n_years = 6;
        p->epochs = 0;
    } else {
        return scarp_fail(SCARP_ERR_USAGE, "synth: unknown preset '%s' (known: mini, kerman)", name);
    }
    snprintf(p->preset, sizeof p->preset, "%s", name);
    return SCARP_OK;
}

/* ---- the model of failure (docs/03-synth.md: calibrated on kerman so that the study's
 * baselines score AUC ≈ 0.88–0.93 on a random split, as on real inventories) ---- */

static void synth_physics_defaults(synth_physics *ph)
{
#define P(f, v) ph->f = v
    P(hazard_width, 0.05);
    P(fs_min, 1.2);
    P(soil_sigma, 0.5);
    P(soil_conv, 0.50);
    P(coh_sigma, 0.8);
    P(phi_sigma, 4.0);
    P(tpi_scale, 4.0);
    P(m_twi, 0.35);
    P(m_conv, 0.35);
    P(m_break, 0.30);
    P(m_gw, 0.12);
    P(ms_max, 0.70);
    P(m_rain, 0.70);
    P(bank_tan, 0.25);
    P(bank_dist, 60.0);
    P(gully_tan, 0.3);
    P(road_cut, 90.0);
    P(road_weaken, 0.25);
    P(ev_road, 0.08);
    P(ev_road_reach, 5000.0);
    P(ev_gross, 0.10);
    P(ev_pos_sigma, 1.25);
#undef P
}

/* ---- context ---- */

static void ctx_free(synth_ctx *c)
{
    scarp_grid_free(&c->grid);
    scarp_free(c->faults);
    scarp_free(c->aap_grid);
    scarp_free(c->hdem);
    scarp_free(c->acc_mfd);
    scarp_free(c->acc_d8);
    scarp_free(c->towns);
    scarp_free(c->road_xy);
    scarp_free(c->road_seg);
    for (int i = 0; c->res && i < c->n_res; i++) scarp_free(c->res[i].level);
    scarp_free(c->res);
    for (int i = 0; c->st && i < c->n_st; i++) {
        scarp_free(c->st[i].rain);
        scarp_free(c->st[i].r30);
    }
    scarp_free(c->st);
    scarp_free(c->ev_x);
    scarp_free(c->ev_y);
    scarp_free(c->ev_t);
}

static scarp_status ctx_init(synth_ctx *c, const scarp_synth_params *p)
{
    memset(c, 0, sizeof *c);
    c->p = *p;
    if (p->width < 64 || p->height < 64 || p->width > 100000 || p->height > 100000)
        return scarp_fail(SCARP_ERR_USAGE, "synth: size %lldx%lld out of range (64 to 100000 cells a side)",
                          (long long)p->width, (long long)p->height);
    if (!(p->cellsize >= 1 && p->cellsize <= 1000))
        return scarp_fail(SCARP_ERR_USAGE, "synth: cell size %g m out of range (1 to 1000)", p->cellsize);
    if (p->n_events < 1 || p->n_events > 1000000)
        return scarp_fail(SCARP_ERR_USAGE, "synth: %d events out of range (1 to 1000000)", p->n_events);
    if (p->n_years < 1 || p->n_years > 100 || p->start_year < 1900 || p->start_year > 2200)
        return scarp_fail(SCARP_ERR_USAGE, "synth: series of %d years from %d out of range", p->n_years, p->start_year);
    c->cs = p->cellsize;
    c->W = p->width * c->cs;
    c->H = p->height * c->cs;
    /* UTM 40N around Kerman: the north-west corner at (350 000, 3 450 000). */
    c->x0 = 350000;
    c->y0 = 3450000;
    scarp_grid_init(&c->grid);
    scarp_status st = scarp_grid_from_extent(&c->grid, "EPSG:32640", c->cs, c->x0, c->y0 - c->H, c->x0 + c->W, c->y0);
    if (st) return st;
    c->grid.width = p->width; /* exact, whatever the snapping */
    c->grid.height = p->height;
    c->x0 = c->grid.gt[0];    /* snapped to whole cells */
    c->y0 = c->grid.gt[3];
    c->seed = p->seed;
    c->s_base = synth_mix64(p->seed ^ 0x1001);
    c->s_detail = synth_mix64(p->seed ^ 0x1002);
    c->s_litho = synth_mix64(p->seed ^ 0x1003);
    c->s_lu = synth_mix64(p->seed ^ 0x1004);
    c->s_mask = synth_mix64(p->seed ^ 0x1005);
    c->s_cell = synth_mix64(p->seed ^ 0x1006);
    c->s_soil = synth_mix64(p->seed ^ 0x1007);
    c->s_coh = synth_mix64(p->seed ^ 0x1008);
    c->s_gw = synth_mix64(p->seed ^ 0x1009);
    c->s_phi = synth_mix64(p->seed ^ 0x100A);
    c->s_gully = synth_mix64(p->seed ^ 0x100B);
    synth_physics_defaults(&c->ph);
    c->mask_wl = fmax(c->W, c->H) / 2.5;
    c->day0 = scarp_days_from_civil(p->start_year, 1, 1);
    c->n_days = (int)(scarp_days_from_civil(p->start_year + p->n_years, 1, 1) - c->day0);
    return SCARP_OK;
}

/* ---- calibration of p0: Σ truth over the grid ≈ the number of events ---- */

static scarp_status calibrate(synth_ctx *c)
{
    /* Up to 1.1 M cells: every tile (exact). Larger: 4096 patches of 8 × 8 on a jittered lattice. */
    const int64_t cells = c->p.width * c->p.height;
    int exact = cells <= 1100000;
    int64_t pw = exact ? SYNTH_TILE : 8, ph = pw;
    int64_t ntx = (c->p.width + pw - 1) / pw, nty = (c->p.height + ph - 1) / ph;
    int side = 64;
    int64_t nwin = exact ? ntx * nty : (int64_t)side * side;
    int64_t (*win)[4] = scarp_malloc((size_t)nwin * sizeof *win);
    if (!win) return SCARP_ERR_NOMEM;
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_CALIBRATE);
    int64_t cap = 0;
    for (int64_t k = 0; k < nwin; k++) {
        int64_t col, row, w = pw, h = ph;
        if (exact) {
            col = (k % ntx) * pw;
            row = (k / ntx) * ph;
            w = c->p.width - col < pw ? c->p.width - col : pw;
            h = c->p.height - row < ph ? c->p.height - row : ph;
        } else {
            int a = (int)(k / side), b = (int)(k % side);
            col = (int64_t)((a + scarp_rng_uniform(&r)) * c->p.width / side) - pw / 2;
            row = (int64_t)((b + scarp_rng_uniform(&r)) * c->p.height / side) - ph / 2;
            col = col < 0 ? 0 : col > c->p.width - pw ? c->p.width - pw : col;
            row = row < 0 ? 0 : row > c->p.height - ph ? c->p.height - ph : row;
        }
        win[k][0] = col; win[k][1] = row; win[k][2] = w; win[k][3] = h;
        cap += w * h;
    }
    float *G = scarp_malloc((size_t)cap * sizeof(float));
    if (!G) { scarp_free(win); return SCARP_ERR_NOMEM; }
    scarp_status st = SCARP_OK;
#pragma omp parallel
    {
        synth_tile t;
        scarp_status my = synth_tile_init(&t, c, pw, ph);
#pragma omp for schedule(static)
        for (int64_t k = 0; k < nwin; k++) {
            if (my) continue;
            scarp_status s2 = synth_tile_compute(c, &t, win[k][0], win[k][1], win[k][2], win[k][3]);
            if (s2) { my = s2; continue; }
            /* windows are full-size except the last tiles of an exact pass: offset by index */
            int64_t off = exact ? ((k / ntx) * pw * c->p.width + (k % ntx) * pw * win[k][3]) : k * pw * ph;
            for (int64_t i = 0; i < win[k][2] * win[k][3]; i++) G[off + i] = t.G[i];
        }
#pragma omp critical
        if (my && !st) st = my;
        synth_tile_free(&t);
    }
    scarp_free(win);
    if (st) { scarp_free(G); return st; }
    double scale = (double)cells / (double)cap, target = c->p.n_events;
    double lo = -30, hi = 0; /* log p0 */
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi), p0 = exp(mid), sum = 0;
        for (int64_t i = 0; i < cap; i++) sum += -expm1(-p0 * G[i]);
        if (sum * scale < target) lo = mid; else hi = mid;
    }
    c->p0 = exp(0.5 * (lo + hi));
    if (hi > -1e-6)
        scarp_warn("synth: this province is too gentle for %d events: the truth layer will sum to fewer; "
                   "events are still drawn from the most unstable cells", c->p.n_events);
    scarp_free(G);
    return SCARP_OK;
}

/* ---- weighted sampling without replacement: a min-heap of the n best keys ---- */

typedef struct {
    double key;
    int64_t cell;
    float a, b, ms;
} candidate;

static int cand_less(const candidate *x, const candidate *y) /* x worse than y */
{
    if (x->key != y->key) return x->key < y->key;
    return x->cell > y->cell;
}

typedef struct {
    candidate *v;
    int n, cap;
} cand_heap;

static void heap_offer(cand_heap *h, const candidate *c)
{
    if (h->n < h->cap) {
        int i = h->n++;
        h->v[i] = *c;
        while (i > 0 && cand_less(&h->v[i], &h->v[(i - 1) / 2])) {
            candidate t = h->v[i];
            h->v[i] = h->v[(i - 1) / 2];
            h->v[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return;
    }
    if (!cand_less(&h->v[0], c)) return;
    h->v[0] = *c;
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && cand_less(&h->v[l], &h->v[m])) m = l;
        if (r < h->n && cand_less(&h->v[r], &h->v[m])) m = r;
        if (m == i) break;
        candidate t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
}

static int cmp_cell(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    return (x->cell > y->cell) - (x->cell < y->cell);
}

/* ---- the tile pass ---- */

enum { L_DEM, L_ERG, L_LU, L_AAP, L_RED, L_NIR, L_TRUTH, L_TA, L_TB, L_TMS, N_LAYERS };

static scarp_status open_writers(const synth_ctx *c, const char *dir, scarp_raster_writer **wr)
{
    static const char *erg_names[SCARP_SYNTH_N_ERG + 1];
    static const char *lu_names[SCARP_SYNTH_N_LANDUSE + 1];
    static const uint8_t erg_colors[SCARP_SYNTH_N_ERG + 1][4] = {
        {0, 0, 0, 0}, {120, 60, 40, 255}, {190, 110, 70, 255}, {230, 180, 100, 255}, {240, 225, 150, 255},
        {250, 245, 215, 255}};
    static const uint8_t lu_colors[SCARP_SYNTH_N_LANDUSE + 1][4] = {
        {0, 0, 0, 0}, {170, 160, 150, 255}, {215, 200, 130, 255}, {120, 190, 80, 255},
        {40, 130, 50, 255}, {200, 40, 40, 255}, {60, 110, 210, 255}};
    erg_names[0] = lu_names[0] = "";
    for (int i = 0; i < SCARP_SYNTH_N_ERG; i++) erg_names[i + 1] = scarp_synth_erg_table[i].name;
    for (int i = 0; i < SCARP_SYNTH_N_LANDUSE; i++) lu_names[i + 1] = scarp_synth_landuse_table[i].name;
    const struct {
        const char *file;
        scarp_out_type type;
        scarp_raster_meta meta;
    } spec[N_LAYERS] = {
        {"dem.tif", SCARP_OUT_FLOAT32, {.description = "elevation (m)"}},
        {"erg.tif", SCARP_OUT_BYTE, {.description = "engineering rock group", .class_names = erg_names, .colors = erg_colors, .n_classes = SCARP_SYNTH_N_ERG + 1}},
        {"landuse.tif", SCARP_OUT_BYTE, {.description = "land use", .class_names = lu_names, .colors = lu_colors, .n_classes = SCARP_SYNTH_N_LANDUSE + 1}},
        {"aap.tif", SCARP_OUT_FLOAT32, {.description = "average annual precipitation (mm)"}},
        {"red.tif", SCARP_OUT_UINT16, {.description = "red (B4) surface reflectance x 10000"}},
        {"nir.tif", SCARP_OUT_UINT16, {.description = "near infrared (B8) surface reflectance x 10000"}},
        {"truth.tif", SCARP_OUT_FLOAT32, {.description = "true probability of failure over the record"}},
        /* the daily truth: FS = a − b·m with the static wetness m_s (truth.json, docs/03-synth.md) */
        {"truth_a.tif", SCARP_OUT_FLOAT32, {.description = "factor of safety FS = a - b m: a"}},
        {"truth_b.tif", SCARP_OUT_FLOAT32, {.description = "factor of safety FS = a - b m: b"}},
        {"truth_ms.tif", SCARP_OUT_FLOAT32, {.description = "static wetness m_s"}},
    };
    for (int l = 0; l < N_LAYERS; l++) {
        char path[4096];
        scarp_status st = scarp_path_join(path, sizeof path, dir, spec[l].file);
        if (!st) st = scarp_raster_writer_open(&wr[l], path, &c->grid, spec[l].type, &spec[l].meta);
        if (st) {
            for (int k = 0; k < l; k++) { scarp_raster_writer_abort(wr[k]); wr[k] = NULL; }
            return st;
        }
    }
    return SCARP_OK;
}

static scarp_status tile_pass(synth_ctx *c, const char *dir, cand_heap *global, scarp_progress *progress)
{
    const int64_t T = SYNTH_TILE;
    int64_t ntx = (c->p.width + T - 1) / T, nty = (c->p.height + T - 1) / T, ntiles = ntx * nty;
    int threads = scarp_threads_get();
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads < 1) threads = 1;
    int B = 2 * threads;
    B = B < 2 ? 2 : B > 16 ? 16 : B;
    synth_tile *slots = scarp_calloc((size_t)B, sizeof *slots);
    cand_heap *heaps = scarp_calloc((size_t)B, sizeof *heaps);
    scarp_raster_writer *wr[N_LAYERS] = {0};
    scarp_status st = SCARP_OK;
    if (!slots || !heaps) { st = SCARP_ERR_NOMEM; goto end; }
    for (int s = 0; s < B && !st; s++) {
        st = synth_tile_init(&slots[s], c, T, T);
        heaps[s].cap = c->p.n_events;
        heaps[s].v = scarp_malloc((size_t)c->p.n_events * sizeof(candidate));
        if (!st && !heaps[s].v) st = SCARP_ERR_NOMEM;
    }
    if (st) goto end;
    if ((st = open_writers(c, dir, wr))) goto end;
    scarp_progress_begin(progress, "synth: rasters", ntiles);
    double truth_sum = 0;
    for (int64_t first = 0; first < ntiles && !st; first += B) {
        int nb = (int)(ntiles - first < B ? ntiles - first : B);
        scarp_status bst = SCARP_OK;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int s = 0; s < nb; s++) {
            int64_t tile = first + s, tx = tile % ntx, ty = tile / ntx;
            int64_t col0 = tx * T, row0 = ty * T;
            int64_t w = c->p.width - col0 < T ? c->p.width - col0 : T;
            int64_t h = c->p.height - row0 < T ? c->p.height - row0 : T;
            synth_tile *t = &slots[s];
            scarp_status s2 = synth_tile_compute(c, t, col0, row0, w, h);
            if (s2) {
#pragma omp critical
                bst = s2;
                continue;
            }
            /* Efraimidis–Spirakis keys ln(u)/w from this tile's stream */
            scarp_rng rng;
            scarp_rng_stream(&rng, c->seed, SYNTH_STREAM_TILE_BASE + (uint64_t)tile);
            heaps[s].n = 0;
            for (int64_t i = 0; i < w * h; i++) {
                double u = scarp_rng_uniform(&rng);
                float p = t->truth[i];
                if (!(p > 0)) continue;
                candidate cd = {log(u > 0 ? u : 1e-300) / p, (row0 + i / w) * c->p.width + col0 + i % w,
                                t->fs_a[i], t->fs_b[i], t->ms[i]};
                heap_offer(&heaps[s], &cd);
            }
        }
        if (bst) { st = bst; break; }
        for (int s = 0; s < nb && !st; s++) {
            int64_t tile = first + s, tx = tile % ntx, ty = tile / ntx;
            int64_t col0 = tx * T, row0 = ty * T;
            int64_t w = c->p.width - col0 < T ? c->p.width - col0 : T;
            int64_t h = c->p.height - row0 < T ? c->p.height - row0 : T;
            const synth_tile *t = &slots[s];
            const float *bufs[N_LAYERS] = {t->dem, t->erg, t->lu, t->aap, t->red, t->nir, t->truth,
                                             t->fs_a, t->fs_b, t->ms};
            for (int l = 0; l < N_LAYERS && !st; l++) st = scarp_raster_writer_write(wr[l], col0, row0, w, h, bufs[l]);
            for (int64_t i = 0; i < w * h; i++)
                if (t->truth[i] > 0) truth_sum += t->truth[i];
            for (int k = 0; k < heaps[s].n; k++) heap_offer(global, &heaps[s].v[k]);
            if (!st) st = scarp_progress_step(progress, 1);
        }
    }
    scarp_progress_end(progress);
    c->truth_sum = truth_sum;
    for (int l = 0; l < N_LAYERS; l++) {
        if (!st) st = scarp_raster_writer_commit(wr[l]);
        else scarp_raster_writer_abort(wr[l]);
        wr[l] = NULL;
    }
end:
    for (int l = 0; l < N_LAYERS; l++) scarp_raster_writer_abort(wr[l]);
    for (int s = 0; slots && s < B; s++) synth_tile_free(&slots[s]);
    for (int s = 0; heaps && s < B; s++) scarp_free(heaps[s].v);
    scarp_free(slots);
    scarp_free(heaps);
    return st;
}

/* ---- the inventory's mapping errors ---- */

/* A set of cells (open addressing): the failed cells are reserved first so that a displaced
 * point never lands on another event's cell (prepare would drop it as a duplicate). */
typedef struct { int64_t *v; uint64_t mask; } cell_set;

static int cell_set_add(cell_set *s, int64_t cell) /* 1 when added, 0 when present */
{
    uint64_t h = synth_mix64((uint64_t)cell) & s->mask;
    while (s->v[h] >= 0) {
        if (s->v[h] == cell) return 0;
        h = (h + 1) & s->mask;
    }
    s->v[h] = cell;
    return 1;
}

static int cell_set_has(const cell_set *s, int64_t cell)
{
    uint64_t h = synth_mix64((uint64_t)cell) & s->mask;
    while (s->v[h] >= 0) {
        if (s->v[h] == cell) return 1;
        h = (h + 1) & s->mask;
    }
    return 0;
}

/* 1 when (x, y) is on land a mapper could report: inside the grid and the province with its
 * 8 neighbours (so every derived layer is valid there), and not on a lake. */
static int reportable(const synth_ctx *c, double x, double y, int *fault_idx)
{
    const double cs = c->cs;
    if (x < cs || y < cs || x >= c->W - cs || y >= c->H - cs) return 0;
    double cx = (floor(x / cs) + 0.5) * cs, cy = (floor(y / cs) + 0.5) * cs;
    for (int dr = -1; dr <= 1; dr++)
        for (int dc = -1; dc <= 1; dc++)
            if (!synth_inside(c, cx + dc * cs, cy + dr * cs)) return 0;
    int nf = synth_faults_cull(c, cx, cy, cx, cy, fault_idx);
    double z = synth_terrain(c, cx, cy, 2 * cs, fault_idx, nf, NULL, NULL);
    return synth_lake(c, cx, cy, z) < 0;
}

typedef struct { int t; int64_t cell; double x, y; } event;

static int cmp_event(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return (x->cell > y->cell) - (x->cell < y->cell);
}

static scarp_status draw_events(synth_ctx *c, cand_heap *h)
{
    int n = h->n;
    if (n < c->p.n_events)
        return scarp_fail(SCARP_ERR_INPUT, "synth: only %d cells can fail in a %lldx%lld province, %d events asked", n,
                          (long long)c->p.width, (long long)c->p.height, c->p.n_events);
    qsort(h->v, (size_t)n, sizeof *h->v, cmp_cell);
    uint64_t tcap = 1024;
    while (tcap < 4 * (uint64_t)n) tcap *= 2;
    cell_set set = {scarp_malloc((size_t)tcap * sizeof(int64_t)), tcap - 1};
    event *ev = scarp_malloc((size_t)n * sizeof *ev);
    float *m = scarp_malloc((size_t)c->n_days * sizeof(float));
    double *cum = scarp_malloc((size_t)c->n_days * sizeof(double));
    int *fidx = scarp_malloc((size_t)(c->n_faults > 0 ? c->n_faults : 1) * sizeof(int));
    c->ev_x = scarp_malloc((size_t)n * sizeof(double));
    c->ev_y = scarp_malloc((size_t)n * sizeof(double));
    c->ev_t = scarp_malloc((size_t)n * sizeof(int));
    if (!set.v || !ev || !m || !cum || !fidx || !c->ev_x || !c->ev_y || !c->ev_t) {
        scarp_free(set.v); scarp_free(ev); scarp_free(m); scarp_free(cum); scarp_free(fidx);
        return SCARP_ERR_NOMEM;
    }
    for (uint64_t k = 0; k < tcap; k++) set.v[k] = -1;
    for (int e = 0; e < n; e++) cell_set_add(&set, h->v[e].cell);
    const double cs = c->cs;
    c->n_ev_road = c->n_ev_gross = 0;
    for (int e = 0; e < n; e++) {
        const candidate *cd = &h->v[e];
        int64_t col = cd->cell % c->p.width, row = cd->cell / c->p.width;
        int64_t bc = col / SYNTH_BLOCK, br = row / SYNTH_BLOCK;
        synth_dynamic_wetness(c, (bc * SYNTH_BLOCK + SYNTH_BLOCK * 0.5) * c->cs, (br * SYNTH_BLOCK + SYNTH_BLOCK * 0.5) * c->cs, m);
        double run = 0;
        for (int t = 0; t < c->n_days; t++) {
            if (t >= SYNTH_WINDOW) run += synth_hazard(cd->a, cd->b, cd->ms + m[t], c->ph.hazard_width);
            cum[t] = run;
        }
        scarp_rng r;
        scarp_rng_stream(&r, c->seed, SYNTH_STREAM_EVENT_BASE + (uint64_t)e);
        double u = scarp_rng_uniform(&r) * run;
        int lo = SYNTH_WINDOW, hi = c->n_days - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cum[mid] > u) hi = mid; else lo = mid + 1;
        }
        ev[e].t = lo;
        ev[e].cell = cd->cell;
        /* where the mapper put it: the failed cell, maybe reported from the nearest road or
         * grossly mislocated, always with a positional error (docs/03-synth.md) */
        double fx = (col + 0.5) * cs, fy = (row + 0.5) * cs;
        double kind = scarp_rng_uniform(&r);
        int type = kind < c->ph.ev_road ? 1 : kind < c->ph.ev_road + c->ph.ev_gross ? 2 : 0;
        double rx = fx, ry = fy;
        if (type == 1) { /* seen from the road: recorded where the observer stood */
            double d = synth_road_distance(c, fx, fy, NULL, 0, &rx, &ry);
            if (!(d < c->ph.ev_road_reach && d > 3 * cs)) type = 0, rx = fx, ry = fy;
        }
        int placed = 0;
        for (int attempt = 0; attempt < 16 && !placed; attempt++) {
            double ox = rx, oy = ry;
            if (type == 2) { /* a wrong digit in the coordinates: ±k·100 m or ±k·1000 m on x, y or both */
                double axis = scarp_rng_uniform(&r);
                for (int a = 0; a < 2; a++) {
                    double mag = (1 + (double)scarp_rng_below(&r, 9)) * (scarp_rng_uniform(&r) < 0.5 ? 100 : 1000);
                    double sgn = scarp_rng_uniform(&r) < 0.5 ? -1 : 1;
                    if (a == 0 && axis < 0.6) ox += sgn * mag;
                    if (a == 1 && axis >= 0.4) oy += sgn * mag;
                }
            }
            /* positional error: Rayleigh radius (σ = ev_pos_sigma cells) capped at 3 cells */
            double u1 = scarp_rng_uniform(&r), a = 2 * M_PI * scarp_rng_uniform(&r);
            double rad = fmin(3.0, c->ph.ev_pos_sigma * sqrt(-2 * log(u1 > 1e-300 ? u1 : 1e-300))) * cs;
            double x = ox + rad * cos(a), y = oy + rad * sin(a);
            if (!reportable(c, x, y, fidx)) continue;
            int64_t cell = (int64_t)floor(y / cs) * c->p.width + (int64_t)floor(x / cs);
            if (cell != cd->cell && (cell_set_has(&set, cell) || !cell_set_add(&set, cell))) continue;
            ev[e].x = x;
            ev[e].y = y;
            placed = 1;
        }
        if (!placed) { /* the failed cell itself, the point jittered inside it */
            ev[e].x = (col + 0.5 + 0.9 * (scarp_rng_uniform(&r) - 0.5)) * cs;
            ev[e].y = (row + 0.5 + 0.9 * (scarp_rng_uniform(&r) - 0.5)) * cs;
            type = 0;
        }
        c->n_ev_road += type == 1;
        c->n_ev_gross += type == 2;
    }
    qsort(ev, (size_t)n, sizeof *ev, cmp_event);
    for (int e = 0; e < n; e++) {
        c->ev_x[e] = ev[e].x;
        c->ev_y[e] = ev[e].y;
        c->ev_t[e] = ev[e].t;
    }
    c->n_ev = n;
    scarp_free(set.v);
    scarp_free(ev);
    scarp_free(m);
    scarp_free(cum);
    scarp_free(fidx);
    return SCARP_OK;
}

scarp_status scarp_synth_run(const scarp_synth_params *p, const char *out_dir, scarp_progress *progress)
{
    synth_ctx c;
    cand_heap global = {0};
    scarp_status st = ctx_init(&c, p);
    if (st) goto end;
    if ((st = scarp_mkdir_p(out_dir))) goto end;
    double t0 = scarp_now();
    if ((st = synth_faults_make(&c))) goto end;
    if ((st = synth_climate_make(&c))) goto end;
    if ((st = synth_hydro_make(&c))) goto end;
    if ((st = synth_towns_make(&c))) goto end;
    if ((st = synth_roads_make(&c))) goto end;
    if ((st = synth_reservoirs_place(&c))) goto end;
    if ((st = synth_weather_make(&c))) goto end;
    if ((st = synth_reservoir_levels(&c))) goto end;
    if ((st = calibrate(&c))) goto end;
    scarp_info("synth: %lldx%lld cells, %d faults, %d towns, %d reservoirs, %d stations, %d days, "
               "hydrology on %lldx%lld (factor %d), p0 = %.3g (%.1f s)",
               (long long)p->width, (long long)p->height, c.n_faults, c.n_towns, c.n_res, c.n_st, c.n_days,
               (long long)c.hw, (long long)c.hh, c.f, c.p0, scarp_now() - t0);
    global.cap = p->n_events;
    global.v = scarp_malloc((size_t)p->n_events * sizeof(candidate));
    if (!global.v) { st = SCARP_ERR_NOMEM; goto end; }
    if ((st = tile_pass(&c, out_dir, &global, progress))) goto end;
    if ((st = draw_events(&c, &global))) goto end;
    scarp_info("synth: %d events (%d reported from a road, %d grossly mislocated); the truth layer sums to %.1f "
               "expected failed cells", c.n_ev, c.n_ev_road, c.n_ev_gross, c.truth_sum);
    if ((st = synth_write_series(&c, out_dir))) goto end;
    if ((st = synth_write_truth(&c, out_dir))) goto end;
    if ((st = synth_write_vectors(&c, out_dir))) goto end;
    st = synth_write_study_ini(&c, out_dir);
end:
    scarp_free(global.v);
    ctx_free(&c);
    return st;
}
