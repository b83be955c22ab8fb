/* writer.c — the vector, CSV and config outputs of the synthetic province: faults, rivers
 * (traced downstream along D8 receivers of the coarse hydrology grid, O'Callaghan & Mark 1984),
 * roads (a minimum spanning tree of the towns, Prim 1957, each edge routed down valleys by
 * recursive midpoint displacement), reservoirs, the landslide inventory, station and
 * reservoir series in wide CSV form (with realistic gaps), and study.ini. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/vector.h"
#include "synth_internal.h"

/* ---- a growing text buffer ---- */

typedef struct {
    char *s;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->failed = 1; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = (b->cap ? b->cap * 2 : 65536) + (size_t)k;
        char *t = scarp_realloc(b->s, cap);
        if (!t) { b->failed = 1; return; }
        b->s = t;
        b->cap = cap;
    }
}

static scarp_status sb_save(sbuf *b, const char *dir, const char *name)
{
    char path[4096];
    scarp_status st = b->failed ? SCARP_ERR_NOMEM : scarp_path_join(path, sizeof path, dir, name);
    if (!st) st = scarp_write_file_atomic(path, b->s ? b->s : "", b->n);
    scarp_free(b->s);
    memset(b, 0, sizeof *b);
    return st;
}

static double wx(const synth_ctx *c, double x) { return c->x0 + x; }
static double wy(const synth_ctx *c, double y) { return c->y0 - y; }

/* ---- CSV series ---- */

/* Missing-day mask: a few gaps of 1..maxlen days per column. gaps: (n_cols, n_days). */
static void make_gaps(const synth_ctx *c, uint8_t *gaps, int n_cols, int max_gaps, int maxlen, uint64_t stream)
{
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, stream);
    memset(gaps, 0, (size_t)n_cols * c->n_days);
    for (int i = 0; i < n_cols; i++) {
        int ng = (int)scarp_rng_below(&r, (uint64_t)max_gaps + 1);
        for (int g = 0; g < ng; g++) {
            int start = (int)scarp_rng_below(&r, (uint64_t)c->n_days);
            int len = 1 + (int)scarp_rng_below(&r, (uint64_t)maxlen);
            for (int t = start; t < start + len && t < c->n_days; t++) gaps[(size_t)i * c->n_days + t] = 1;
        }
    }
}

scarp_status synth_write_series(const synth_ctx *c, const char *dir)
{
    sbuf b = {0};
    scarp_status st;
    char date[11];
    sb_printf(&b, "id,x,y\n");
    for (int i = 0; i < c->n_st; i++) sb_printf(&b, "S%02d,%.2f,%.2f\n", i + 1, wx(c, c->st[i].x), wy(c, c->st[i].y));
    if ((st = sb_save(&b, dir, "stations.csv"))) return st;

    int ncol = c->n_st > c->n_res ? c->n_st : c->n_res;
    uint8_t *gaps = scarp_malloc((size_t)(ncol > 0 ? ncol : 1) * c->n_days);
    if (!gaps) return SCARP_ERR_NOMEM;
    make_gaps(c, gaps, c->n_st, 3, 20, SYNTH_STREAM_GAPS);
    sb_printf(&b, "date");
    for (int i = 0; i < c->n_st; i++) sb_printf(&b, ",S%02d", i + 1);
    sb_printf(&b, "\n");
    for (int t = 0; t < c->n_days; t++) {
        synth_date_string(c, t, date);
        sb_printf(&b, "%s", date);
        for (int i = 0; i < c->n_st; i++) {
            if (gaps[(size_t)i * c->n_days + t]) sb_printf(&b, ",");
            else sb_printf(&b, ",%.1f", c->st[i].rain[t]);
        }
        sb_printf(&b, "\n");
    }
    if ((st = sb_save(&b, dir, "rainfall.csv"))) goto end;

    sb_printf(&b, "id,x,y\n");
    for (int k = 0; k < c->n_res; k++) sb_printf(&b, "R%02d,%.2f,%.2f\n", k + 1, wx(c, c->res[k].x), wy(c, c->res[k].y));
    if ((st = sb_save(&b, dir, "reservoirs.csv"))) goto end;

    make_gaps(c, gaps, c->n_res, 2, 8, SYNTH_STREAM_GAPS + 0x100);
    sb_printf(&b, "date");
    for (int k = 0; k < c->n_res; k++) sb_printf(&b, ",R%02d", k + 1);
    sb_printf(&b, "\n");
    for (int t = 0; t < c->n_days; t++) {
        synth_date_string(c, t, date);
        sb_printf(&b, "%s", date);
        for (int k = 0; k < c->n_res; k++) {
            if (gaps[(size_t)k * c->n_days + t]) sb_printf(&b, ",");
            else sb_printf(&b, ",%.2f", c->res[k].level[t]);
        }
        sb_printf(&b, "\n");
    }
    if ((st = sb_save(&b, dir, "reservoir_levels.csv"))) goto end;

    sb_printf(&b, "x,y,date\n");
    for (int e = 0; e < c->n_ev; e++) {
        synth_date_string(c, c->ev_t[e], date);
        sb_printf(&b, "%.2f,%.2f,%s\n", wx(c, c->ev_x[e]), wy(c, c->ev_y[e]), date);
    }
    st = sb_save(&b, dir, "landslides.csv");
end:
    scarp_free(b.s);
    scarp_free(gaps);
    return st;
}

/* ---- vectors ---- */

static scarp_status open_vector(const synth_ctx *c, const char *dir, const char *file, const char *layer,
                                scarp_geom_kind kind, const char *const *names, const char *types, int n,
                                scarp_vector_writer **w)
{
    char path[4096];
    scarp_status st = scarp_path_join(path, sizeof path, dir, file);
    if (st) return st;
    return scarp_vector_writer_open(w, path, layer, c->grid.wkt, kind, names, types, n);
}

static scarp_status write_faults(const synth_ctx *c, const char *dir)
{
    const char *names[] = {"id", "kind", "uplift_m", "length_km"};
    scarp_vector_writer *w;
    scarp_status st = open_vector(c, dir, "faults.gpkg", "faults", SCARP_GEOM_LINE, names, "isrr", 4, &w);
    if (st) return st;
    for (int i = 0; i < c->n_faults && !st; i++) {
        const synth_fault *f = &c->faults[i];
        double xy[2 * SYNTH_FAULT_VERTS];
        for (int k = 0; k < f->n; k++) {
            xy[2 * k] = wx(c, f->x[k]);
            xy[2 * k + 1] = wy(c, f->y[k]);
        }
        char id[16], amp[32], len[32];
        snprintf(id, sizeof id, "%d", i + 1);
        snprintf(amp, sizeof amp, "%.0f", f->amp);
        snprintf(len, sizeof len, "%.2f", f->length / 1000);
        const char *v[] = {id, "reverse", amp, len};
        st = scarp_vector_write_line(w, xy, f->n, v);
    }
    if (st) { scarp_vector_writer_abort(w); return st; }
    return scarp_vector_writer_commit(w);
}

static scarp_status write_rivers(const synth_ctx *c, const char *dir)
{
    const double step = c->f * c->cs;
    const double thr = fmax(1e6, 30 * step * step);
    const int64_t n = c->hw * c->hh;
    uint8_t *river = scarp_calloc((size_t)n, 1), *donor = scarp_calloc((size_t)n, 1);
    scarp_status st = SCARP_OK;
    int64_t n_river = 0;
    if (!river || !donor) { st = SCARP_ERR_NOMEM; goto end; }
    for (int64_t k = 0; k < n; k++)
        if (c->acc_d8[k] >= thr) { river[k] = 1; n_river++; }
    /* donor[k] = 1 when some river cell drains into k: sources are river cells without one */
    for (int64_t k = 0; k < n; k++) {
        if (!river[k]) continue;
        int d = synth_d8_receiver(c, k % c->hw, k / c->hw);
        if (d < 0) continue;
        int dc, dr;
        synth_d8_offset(d, &dc, &dr);
        donor[k + dr * c->hw + dc] = 1;
    }
    const char *names[] = {"id", "area_km2"};
    scarp_vector_writer *w = NULL;
    if ((st = open_vector(c, dir, "rivers.gpkg", "rivers", SCARP_GEOM_LINE, names, "ir", 2, &w))) goto end;
    double *xy = scarp_malloc((size_t)(n_river + 2) * 2 * sizeof(double));
    if (!xy) { scarp_vector_writer_abort(w); st = SCARP_ERR_NOMEM; goto end; }
    int id = 0;
    /* visited: reuse donor with value 2 */
    for (int64_t k0 = 0; k0 < n && !st; k0++) {
        if (!river[k0] || donor[k0]) continue;
        int64_t k = k0, klast = k0;
        int np = 0;
        for (;;) {
            klast = k;
            xy[2 * np] = wx(c, (k % c->hw + 0.5) * step);
            xy[2 * np + 1] = wy(c, (k / c->hw + 0.5) * step);
            np++;
            if (donor[k] == 2) break; /* joined a traced river */
            if (k != k0) donor[k] = 2;
            int d = synth_d8_receiver(c, k % c->hw, k / c->hw);
            if (d < 0 || np > n_river) break;
            int dc, dr;
            synth_d8_offset(d, &dc, &dr);
            k += dr * c->hw + dc;
        }
        if (np < 2) continue;
        char sid[16], area[32];
        snprintf(sid, sizeof sid, "%d", ++id);
        snprintf(area, sizeof area, "%.3f", c->acc_d8[klast] / 1e6);
        const char *v[] = {sid, area};
        st = scarp_vector_write_line(w, xy, np, v);
    }
    scarp_free(xy);
    if (st) scarp_vector_writer_abort(w);
    else st = scarp_vector_writer_commit(w);
end:
    scarp_free(river);
    scarp_free(donor);
    return st;
}

static double coarse_z(const synth_ctx *c, double x, double y)
{
    double step = c->f * c->cs;
    int64_t i = (int64_t)(x / step), j = (int64_t)(y / step);
    if (i < 0 || j < 0 || i >= c->hw || j >= c->hh) return 1e9;
    float z = c->hdem[j * c->hw + i];
    return isnan(z) ? 1e9 : z;
}

/* Routes a road from a to b: the midpoint moves sideways to the lowest of a few offsets. */
static void route(const synth_ctx *c, double ax, double ay, double bx, double by, int depth, double *xy, int *np)
{
    double dx = bx - ax, dy = by - ay, len = sqrt(dx * dx + dy * dy);
    if (depth == 0 || len < 1200) {
        xy[2 * *np] = bx;
        xy[2 * *np + 1] = by;
        (*np)++;
        return;
    }
    double mx = 0.5 * (ax + bx), my = 0.5 * (ay + by), nx = -dy / len, ny = dx / len;
    double best = coarse_z(c, mx, my), bxm = mx, bym = my;
    static const double offs[4] = {-0.2, -0.1, 0.1, 0.2};
    for (int k = 0; k < 4; k++) {
        double px = mx + offs[k] * len * nx, py = my + offs[k] * len * ny;
        double z = coarse_z(c, px, py) + 0.15 * fabs(offs[k]) * len; /* detours cost */
        if (z < best) { best = z; bxm = px; bym = py; }
    }
    route(c, ax, ay, bxm, bym, depth - 1, xy, np);
    route(c, bxm, bym, bx, by, depth - 1, xy, np);
}

/* The road network, built before the rasters (road cuts weaken the slopes they cross and
 * the inventory is biased towards roads): Prim's minimum spanning tree over the towns plus
 * the shortest extra edge (a loop), each edge routed down valleys. Local metres. */
scarp_status synth_roads_make(synth_ctx *c)
{
    int n = c->n_towns;
    int *parent = scarp_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    double *best = scarp_malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    uint8_t *in = scarp_calloc((size_t)(n > 0 ? n : 1), 1);
    scarp_status st = SCARP_OK;
    if (!parent || !best || !in) { st = SCARP_ERR_NOMEM; goto end; }
    for (int i = 0; i < n; i++) { best[i] = 1e300; parent[i] = -1; }
    if (n > 0) best[0] = 0;
    int ne = 0;
    for (int it = 0; it < n; it++) {
        int u = -1;
        for (int i = 0; i < n; i++)
            if (!in[i] && (u < 0 || best[i] < best[u])) u = i;
        in[u] = 1;
        if (parent[u] >= 0 && ne < SYNTH_MAX_ROADS) { c->road_from[ne] = parent[u]; c->road_to[ne] = u; ne++; }
        for (int i = 0; i < n; i++) {
            double dx = c->towns[i].x - c->towns[u].x, dy = c->towns[i].y - c->towns[u].y, d = dx * dx + dy * dy;
            if (!in[i] && d < best[i]) { best[i] = d; parent[i] = u; }
        }
    }
    if (n >= 4 && ne < SYNTH_MAX_ROADS) {
        double bd = 1e300;
        int ba = -1, bb = -1;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) {
                int used = 0;
                for (int e = 0; e < ne; e++)
                    used |= (c->road_from[e] == a && c->road_to[e] == b) || (c->road_from[e] == b && c->road_to[e] == a);
                double dx = c->towns[a].x - c->towns[b].x, dy = c->towns[a].y - c->towns[b].y;
                if (!used && dx * dx + dy * dy < bd) { bd = dx * dx + dy * dy; ba = a; bb = b; }
            }
        if (ba >= 0) { c->road_from[ne] = ba; c->road_to[ne] = bb; ne++; }
    }
    c->n_roads = ne;
    c->road_xy = scarp_malloc((size_t)(ne > 0 ? ne : 1) * SYNTH_ROAD_VERTS * 2 * sizeof(double));
    c->road_seg = scarp_malloc((size_t)(ne > 0 ? ne : 1) * SYNTH_ROAD_VERTS * sizeof *c->road_seg);
    if (!c->road_xy || !c->road_seg) { st = SCARP_ERR_NOMEM; goto end; }
    c->n_road_seg = 0;
    for (int e = 0; e < ne; e++) {
        const synth_town *a = &c->towns[c->road_from[e]], *b = &c->towns[c->road_to[e]];
        double *xy = c->road_xy + (size_t)e * SYNTH_ROAD_VERTS * 2;
        int np = 1;
        xy[0] = a->x;
        xy[1] = a->y;
        route(c, a->x, a->y, b->x, b->y, 5, xy, &np);
        c->road_np[e] = np;
        for (int k = 0; k + 1 < np; k++) {
            synth_seg *sg = &c->road_seg[c->n_road_seg++];
            sg->ax = xy[2 * k];
            sg->ay = xy[2 * k + 1];
            sg->bx = xy[2 * k + 2];
            sg->by = xy[2 * k + 3];
        }
    }
end:
    scarp_free(parent);
    scarp_free(best);
    scarp_free(in);
    return st;
}

static scarp_status write_roads(const synth_ctx *c, const char *dir)
{
    const char *names[] = {"id", "from", "to"};
    scarp_vector_writer *w;
    scarp_status st = open_vector(c, dir, "roads.gpkg", "roads", SCARP_GEOM_LINE, names, "iss", 3, &w);
    if (st) return st;
    double xy[2 * SYNTH_ROAD_VERTS];
    for (int e = 0; e < c->n_roads && !st; e++) {
        int np = c->road_np[e];
        const double *src = c->road_xy + (size_t)e * SYNTH_ROAD_VERTS * 2;
        for (int k = 0; k < np; k++) {
            xy[2 * k] = wx(c, src[2 * k]);
            xy[2 * k + 1] = wy(c, src[2 * k + 1]);
        }
        char id[16], from[16], to[16];
        snprintf(id, sizeof id, "%d", e + 1);
        snprintf(from, sizeof from, "T%02d", c->road_from[e] + 1);
        snprintf(to, sizeof to, "T%02d", c->road_to[e] + 1);
        const char *v[] = {id, from, to};
        st = scarp_vector_write_line(w, xy, np, v);
    }
    if (st) { scarp_vector_writer_abort(w); return st; }
    return scarp_vector_writer_commit(w);
}

static scarp_status write_points(const synth_ctx *c, const char *dir)
{
    const char *rn[] = {"id", "dam_height_m", "catchment_km2", "bed_m"};
    scarp_vector_writer *w;
    scarp_status st = open_vector(c, dir, "reservoirs.gpkg", "reservoirs", SCARP_GEOM_POINT, rn, "srrr", 4, &w);
    if (st) return st;
    for (int k = 0; k < c->n_res && !st; k++) {
        char id[16], h[32], a[32], z[32];
        snprintf(id, sizeof id, "R%02d", k + 1);
        snprintf(h, sizeof h, "%.1f", c->res[k].height);
        snprintf(a, sizeof a, "%.2f", c->res[k].catchment_m2 / 1e6);
        snprintf(z, sizeof z, "%.1f", c->res[k].z_bed);
        const char *v[] = {id, h, a, z};
        st = scarp_vector_write_point(w, wx(c, c->res[k].x), wy(c, c->res[k].y), v);
    }
    if (st) { scarp_vector_writer_abort(w); return st; }
    if ((st = scarp_vector_writer_commit(w))) return st;

    const char *ln[] = {"id", "date"};
    if ((st = open_vector(c, dir, "landslides.gpkg", "landslides", SCARP_GEOM_POINT, ln, "id", 2, &w))) return st;
    for (int e = 0; e < c->n_ev && !st; e++) {
        char id[16], date[11];
        snprintf(id, sizeof id, "%d", e + 1);
        synth_date_string(c, c->ev_t[e], date);
        const char *v[] = {id, date};
        st = scarp_vector_write_point(w, wx(c, c->ev_x[e]), wy(c, c->ev_y[e]), v);
    }
    if (st) { scarp_vector_writer_abort(w); return st; }
    return scarp_vector_writer_commit(w);
}

scarp_status synth_write_vectors(const synth_ctx *c, const char *dir)
{
    /* GeoPackage stamps gpkg_contents.last_change with the clock unless OGR_CURRENT_DATE is
     * set: fix it so that the same seed gives byte-identical files. */
    setenv("OGR_CURRENT_DATE", "2000-01-01T00:00:00.000Z", 0);
    scarp_status st = write_faults(c, dir);
    if (!st) st = write_rivers(c, dir);
    if (!st) st = write_roads(c, dir);
    if (!st) st = write_points(c, dir);
    return st;
}

/* ---- study.ini ---- */

scarp_status synth_write_study_ini(const synth_ctx *c, const char *dir)
{
    sbuf b = {0};
    sb_printf(&b,
              "; study.ini — written by `scarp synth --preset %s --size %lldx%lld --seed %llu`.\n"
              "; Paths are relative to this file; run the whole study with:\n"
              ";   scarp run FOLDER/study.ini\n"
              "; Ground truth (not an input of the study): truth.tif, the probability that each cell\n"
              "; fails during the record, from which the %d events of landslides.csv were drawn.\n\n",
              c->p.preset, (long long)c->p.width, (long long)c->p.height, (unsigned long long)c->p.seed, c->n_ev);
    sb_printf(&b, "[project]\nout = run\nseed = %llu\ntask = susceptibility\n"
                  "; the generator's truth: scored beside every model by `scarp evaluate`\ntruth = truth.json\n\n",
              (unsigned long long)c->p.seed);
    sb_printf(&b, "[grid]\nreference = dem\n\n");
    sb_printf(&b, "[layer.dem]\npath = dem.tif\nkind = continuous\nderive = slope aspect twi spi curvature\n\n");
    sb_printf(&b, "[layer.erg]\npath = erg.tif\nkind = categorical\n\n");
    sb_printf(&b, "[layer.landuse]\npath = landuse.tif\nkind = categorical\n\n");
    sb_printf(&b, "[layer.aap]\npath = aap.tif\nkind = continuous\n\n");
    sb_printf(&b, "[distance.faults]\npath = faults.gpkg\n\n");
    sb_printf(&b, "[distance.rivers]\npath = rivers.gpkg\n\n");
    sb_printf(&b, "[distance.roads]\npath = roads.gpkg\n\n");
    sb_printf(&b, "[ndvi]\nred = red.tif:1\nnir = nir.tif:1\n\n");
    sb_printf(&b, "[inventory]\npath = landslides.csv\nx = x\ny = y\ncrs = EPSG:32640\ndate = date\n\n");
    sb_printf(&b, "[negatives]\nratio = 1\nmin_distance = 300\ndates = matched\n\n");
    sb_printf(&b, "[temporal]\nstations = stations.csv\nrainfall = rainfall.csv\nreservoirs = reservoirs.csv\n"
                  "reservoir_levels = reservoir_levels.csv\nwindow = 30\nresolution = 1000\n\n");
    sb_printf(&b, "[split]\nmethod = random\ntrain = 0.70\nval = 0.15\ntest = 0.15\n\n");
    if (c->p.epochs > 0)
        sb_printf(&b, "[model]\n; fewer epochs than the study's 50 keep this small area quick\nepochs = %d\n\n",
                  c->p.epochs);
    else
        sb_printf(&b, "[model]\nepochs = 50\n\n");
    sb_printf(&b, "[map]\nclasses = 4\nbreaks = natural\n");
    /* the kerman preset mimics the published study: its table belongs beside ours */
    if (!strcmp(c->p.preset, "kerman"))
        sb_printf(&b, "\n[report]\n; the Kerman study's published figures beside this run's\nreference = kerman\n");
    return sb_save(&b, dir, "study.ini");
}

/* ---- the truth of the daily failure probability (docs/03-synth.md, "The truth") ---- */

scarp_status synth_write_truth(const synth_ctx *c, const char *dir)
{
    sbuf b = {0};
    char date[11];
    scarp_status st;
    /* the gap-free series the generator used (the study's CSVs have gaps and are rounded) */
    sb_printf(&b, "date");
    for (int i = 0; i < c->n_st; i++) sb_printf(&b, ",S%02d", i + 1);
    for (int k = 0; k < c->n_res; k++) sb_printf(&b, ",R%02d", k + 1);
    sb_printf(&b, "\n");
    for (int t = 0; t < c->n_days; t++) {
        synth_date_string(c, t, date);
        sb_printf(&b, "%s", date);
        for (int i = 0; i < c->n_st; i++) sb_printf(&b, ",%.9g", (double)c->st[i].rain[t]);
        for (int k = 0; k < c->n_res; k++) sb_printf(&b, ",%.9g", (double)c->res[k].level[t]);
        sb_printf(&b, "\n");
    }
    if ((st = sb_save(&b, dir, "truth_series.csv"))) return st;
    synth_date_string(c, 0, date);
    sb_printf(&b,
              "{\n  \"format\": \"scarp synth truth 1\",\n"
              "  \"formula\": \"p(cell, D) = p0 / (1 + exp((a - b*clamp(m_s + m_d(block, D), 0, 1) - 1) / width))\",\n"
              "  \"static\": \"truth.tif\",\n  \"a\": \"truth_a.tif\",\n  \"b\": \"truth_b.tif\",\n"
              "  \"m_s\": \"truth_ms.tif\",\n  \"series\": \"truth_series.csv\",\n"
              "  \"first_date\": \"%s\",\n  \"n_days\": %d,\n  \"p0\": %.17g,\n  \"width\": %.17g,\n"
              "  \"window\": %d,\n  \"block\": %d,\n  \"cellsize\": %.17g,\n  \"x0\": %.17g,\n  \"y0\": %.17g,\n"
              "  \"idw_min_d2\": 10000,\n  \"m_rain\": %.17g,\n  \"r30_ref\": 80,\n"
              "  \"reservoir_reach\": 6000,\n  \"reservoir_gain\": 0.35,\n  \"reservoir_decay\": 1500,\n"
              "  \"drawdown_ref\": 6,\n  \"max_reservoirs\": 8,\n",
              date, c->n_days, c->p0, c->ph.hazard_width, SYNTH_WINDOW, SYNTH_BLOCK, c->cs, c->x0, c->y0,
              c->ph.m_rain);
    /* positions in the generator's local frame (metres east of x0, south of y0), so that the
     * distances, and so the wetness, are bit for bit the generator's */
    sb_printf(&b, "  \"frame\": \"local: x - x0 east, y0 - y south (m)\",\n  \"stations\": [");
    for (int i = 0; i < c->n_st; i++) sb_printf(&b, "%s[%.17g, %.17g]", i ? ", " : "", c->st[i].x, c->st[i].y);
    sb_printf(&b, "],\n  \"reservoirs\": [");
    for (int k = 0; k < c->n_res; k++) sb_printf(&b, "%s[%.17g, %.17g]", k ? ", " : "", c->res[k].x, c->res[k].y);
    sb_printf(&b, "]\n}\n");
    st = sb_save(&b, dir, "truth.json");
    scarp_free(b.s);
    return st;
}
