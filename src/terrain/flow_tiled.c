/* flow_tiled.c — D8 and MFD flow accumulation by tiles: block relaxation (tiles.c) of the
 * linear system acc(c) = area(c) + Σ_donors share(d → c) · acc(d) on the acyclic donor graph,
 * with the receivers and fractions of flow.c (O'Callaghan & Mark 1984; Freeman 1991,
 * doi:10.1016/0098-3004(91)90048-I). A tile solve reads the filled DEM with a 2-cell halo (the
 * ring cells' fractions need their own neighbours), adds the inflow of the ring cells (their
 * accumulation as last solved in the neighbour tile) and accumulates in Kahn's order inside
 * the tile. The tolerance against the in-memory pass is derived in terrain_tiled.h. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"
#include "scarp/terrain_tiled.h"
#include "terrain/neighbours.h"

static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};
#define NO_RECEIVER 8

int64_t scarp_flow_tile_side(int64_t bytes)
{
    /* per window cell: DEM window 4 + ring window 4 + acc 4 + receivers 1 + in-degree 1 + Kahn
     * stack 8, and the zeros of the core 4 */
    int64_t s = (int64_t)sqrt((double)bytes / 34.0);
    return s < 64 ? 64 : s;
}

typedef struct {
    const scarp_tile_band *filled;
    const scarp_cellsize *cs;
    int64_t height;
    int mfd;
    float pexp;
    float *z;        /* (th+4, tw+4): the filled DEM with a 2-cell halo */
    uint8_t *recv;   /* (th+2, tw+2): D8 receiver of tile and ring cells */
    uint8_t *indeg;  /* (th, tw): donors inside the tile not yet done */
    int64_t *stack;  /* (th·tw) */
} flow_ctx;

/* The MFD shares of the cell at window position (r, c) of Z (width ZW), global row gr: its lower
 * neighbours k (mask bit k) with weights wt[k], and the weight sum; exactly flow.c's arithmetic. */
static inline float mfd_weights(const flow_ctx *x, const float *Z, int64_t ZW, int64_t r, int64_t c, int64_t gr,
                                float wt[8], unsigned *mask)
{
    double len[8];
    neighbour_distances(x->cs, x->height, gr, len);
    float zc = Z[r * ZW + c], sum = 0.0f;
    *mask = 0;
    for (int k = 0; k < 8; k++) {
        float zn = Z[(r + DR[k]) * ZW + c + DC[k]];
        if (!(zn < zc)) continue; /* also NaN and outside the grid */
        float t = (float)(((double)zc - zn) / len[k]);
        wt[k] = powf(t, x->pexp);
        *mask |= 1u << k;
        sum += wt[k];
    }
    return sum;
}

static inline uint8_t d8_receiver(const flow_ctx *x, const float *Z, int64_t ZW, int64_t r, int64_t c, int64_t gr)
{
    float zc = Z[r * ZW + c];
    uint8_t best = NO_RECEIVER;
    if (isnan(zc)) return best;
    double len[8], best_slope = 0.0;
    neighbour_distances(x->cs, x->height, gr, len);
    for (int k = 0; k < 8; k++) {
        float zn = Z[(r + DR[k]) * ZW + c + DC[k]];
        if (!(zn < zc)) continue;
        double s = ((double)zc - zn) / len[k];
        if (s > best_slope) {
            best_slope = s;
            best = (uint8_t)k;
        }
    }
    return best;
}

/* Passes the accumulation `a` of the cell at ring-window position (r, c) (ring window width
 * RW, global row gr) to its receivers inside the tile (acc: (th, tw)); in-tile receivers lose
 * one pending donor when `count` is set, and become ready (pushed) when none is left. */
static void pass_on(flow_ctx *x, int64_t r, int64_t c, int64_t gr, int64_t th, int64_t tw, float a, float *acc,
                    int count, int64_t *sp)
{
    const int64_t RW = tw + 2, ZW = tw + 4;
    if (x->mfd) {
        float wt[8] = {0};
        unsigned mask;
        float sum = mfd_weights(x, x->z, ZW, r + 1, c + 1, gr, wt, &mask);
        if (!mask) return;
        float s = a / sum;
        for (int k = 0; k < 8; k++) {
            if (!(mask >> k & 1)) continue;
            int64_t rr = r + DR[k] - 1, cc = c + DC[k] - 1; /* tile coordinates */
            if (rr < 0 || rr >= th || cc < 0 || cc >= tw) continue;
            acc[rr * tw + cc] += s * wt[k];
            if (count && --x->indeg[rr * tw + cc] == 0) x->stack[(*sp)++] = rr * tw + cc;
        }
    } else {
        uint8_t k = x->recv[r * RW + c];
        if (k == NO_RECEIVER) return;
        int64_t rr = r + DR[k] - 1, cc = c + DC[k] - 1;
        if (rr < 0 || rr >= th || cc < 0 || cc >= tw) return;
        acc[rr * tw + cc] += a;
        if (count && --x->indeg[rr * tw + cc] == 0) x->stack[(*sp)++] = rr * tw + cc;
    }
}

static scarp_status flow_solve(void *vctx, int64_t r0, int64_t c0, int64_t th, int64_t tw, const float *ring,
                               float *acc)
{
    flow_ctx *x = vctx;
    const int64_t RW = tw + 2, RH = th + 2, ZW = tw + 4;
    scarp_status st = x->filled->read(x->filled->ctx, c0 - 2, r0 - 2, ZW, th + 4, x->z);
    if (st) return st;
    /* receivers (D8) of the tile and ring cells, own areas */
    if (!x->mfd)
        for (int64_t r = 0; r < RH; r++)
            for (int64_t c = 0; c < RW; c++) {
                int64_t gr = r0 + r - 1;
                x->recv[r * RW + c] = (gr < 0 || gr >= x->height) ? NO_RECEIVER : d8_receiver(x, x->z, ZW, r + 1, c + 1, gr);
            }
    for (int64_t r = 0; r < th; r++) {
        float area = (float)(x->cs->dx_row[r0 + r] * x->cs->dy_row[r0 + r]);
        for (int64_t c = 0; c < tw; c++) acc[r * tw + c] = isnan(x->z[(r + 2) * ZW + c + 2]) ? NAN : area;
    }
    /* in-degree: donors inside the tile (a donor's receiver is this cell) */
    for (int64_t r = 0; r < th; r++)
        for (int64_t c = 0; c < tw; c++) {
            uint8_t d = 0;
            float zc = x->z[(r + 2) * ZW + c + 2];
            if (!isnan(zc))
                for (int k = 0; k < 8; k++) {
                    int64_t rr = r + DR[k], cc = c + DC[k];
                    if (rr < 0 || rr >= th || cc < 0 || cc >= tw) continue;
                    if (x->mfd ? x->z[(rr + 2) * ZW + cc + 2] > zc : x->recv[(rr + 1) * RW + cc + 1] == ((k + 4) & 7))
                        d++;
                }
            x->indeg[r * tw + c] = isnan(zc) ? 0xFF : d;
        }
    /* inflow from the ring, in raster order of the ring window */
    for (int64_t r = 0; r < RH; r++)
        for (int64_t c = 0; c < RW; c++) {
            if (!(r == 0 || c == 0 || r == RH - 1 || c == RW - 1)) continue;
            float a = ring[r * RW + c];
            /* 0: not solved yet (a valid cell has a positive area); NaN accumulations (MFD
             * weights that underflow on sub-ulp drops) pass on as in flow.c */
            if (a == 0.0f || isnan(x->z[(r + 1) * ZW + c + 1])) continue;
            pass_on(x, r, c, r0 + r - 1, th, tw, a, acc, 0, NULL);
        }
    /* Kahn's order inside the tile, started in raster order as flow.c */
    for (int64_t s0 = 0; s0 < th * tw; s0++) {
        if (x->indeg[s0] != 0) continue;
        int64_t sp = 0;
        x->stack[sp++] = s0;
        while (sp) {
            int64_t i = x->stack[--sp];
            x->indeg[i] = 0xFF;
            int64_t r = i / tw, c = i % tw;
            pass_on(x, r + 1, c + 1, r0 + r, th, tw, acc[i], acc, 1, &sp);
        }
    }
    return SCARP_OK;
}

/* Block relaxation with overlapping windows: a tile is solved on its core extended by `margin`
 * cells on every side, its ring being the cells just outside that window as last written to
 * the output band (0 = not solved yet: every valid cell has a positive area), and only the core
 * is written. MFD flow that meanders along a tile border, crossing it every few cells, stays
 * inside one window instead of costing a sweep per crossing. A changed core cell within
 * margin + 1 of a side marks the neighbours whose windows' rings see it. */
static scarp_status relax_overlapping(flow_ctx *x, const scarp_tile_band *out, int64_t width, int64_t height,
                                      int64_t tile, int64_t margin, float *ring, float *acc, float *zeros,
                                      scarp_tiled_stats *stats, scarp_progress *progress, const char *what)
{
    const int64_t ntx = (width + tile - 1) / tile, nty = (height + tile - 1) / tile, nt = ntx * nty;
    uint8_t *dirty = scarp_malloc((size_t)nt);
    scarp_status st = SCARP_OK;
    int64_t solves = 0;
    int sweeps = 0;
    if (!dirty) return SCARP_ERR_NOMEM;
    memset(dirty, 1, (size_t)nt);
    /* the output starts at 0 everywhere ("no inflow known") */
    for (int64_t t = 0; t < nt && !st; t++) {
        int64_t r0 = t / ntx * tile, c0 = t % ntx * tile;
        int64_t th = height - r0 < tile ? height - r0 : tile, tw = width - c0 < tile ? width - c0 : tile;
        st = out->write(out->ctx, c0, r0, tw, th, zeros);
    }
    scarp_progress_begin(progress, what, nt);
    for (int64_t left = nt; left > 0 && !st; sweeps++) {
        for (int64_t q = 0; q < nt; q++) {
            int64_t t = (sweeps & 1) ? nt - 1 - q : q, ty = t / ntx, tx = t % ntx;
            if (!dirty[t]) continue;
            dirty[t] = 0;
            const int64_t r0 = ty * tile, c0 = tx * tile;
            const int64_t r1 = r0 + tile < height ? r0 + tile : height, c1 = c0 + tile < width ? c0 + tile : width;
            const int64_t wr0 = r0 - margin > 0 ? r0 - margin : 0, wc0 = c0 - margin > 0 ? c0 - margin : 0;
            const int64_t wr1 = r1 + margin < height ? r1 + margin : height;
            const int64_t wc1 = c1 + margin < width ? c1 + margin : width;
            const int64_t wh = wr1 - wr0, ww = wc1 - wc0, RW = ww + 2;
            /* the window and its ring as last written (the core's old values included) */
            if ((st = out->read(out->ctx, wc0 - 1, wr0 - 1, RW, wh + 2, ring))) goto end;
            if ((st = flow_solve(x, wr0, wc0, wh, ww, ring, acc))) goto end;
            solves++;
            unsigned near = 0; /* changed core cells near a side: bit 0 top, 1 bottom, 2 left, 3 right */
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++) {
                    float nv = acc[(r - wr0) * ww + c - wc0], ov = ring[(r - wr0 + 1) * RW + c - wc0 + 1];
                    if (!memcmp(&nv, &ov, sizeof nv)) continue;
                    near |= (r < r0 + margin + 1) | (r >= r1 - margin - 1) << 1 | (c < c0 + margin + 1) << 2 |
                            (unsigned)(c >= c1 - margin - 1) << 3;
                    near |= 16; /* something changed */
                }
            for (int64_t r = r0; r < r1 && near; r++) /* the core back into a (th, tw) block */
                memmove(acc + (r - r0) * (c1 - c0), acc + (r - wr0) * ww + (c0 - wc0), (size_t)(c1 - c0) * sizeof(float));
            if (near && (st = out->write(out->ctx, c0, r0, c1 - c0, r1 - r0, acc))) goto end;
            for (int64_t dy = -1; dy <= 1 && near; dy++)
                for (int64_t dx = -1; dx <= 1; dx++) {
                    int64_t y = ty + dy, xx = tx + dx;
                    if ((!dy && !dx) || y < 0 || y >= nty || xx < 0 || xx >= ntx) continue;
                    int vy = dy < 0 ? (near & 1) : dy > 0 ? (near >> 1 & 1) : 1;
                    int vx = dx < 0 ? (near >> 2 & 1) : dx > 0 ? (near >> 3 & 1) : 1;
                    if (vy && vx) dirty[y * ntx + xx] = 1;
                }
            if (sweeps == 0 && scarp_progress_step(progress, 1) != SCARP_OK) {
                st = scarp_fail(SCARP_ERR_CANCELLED, "%s: cancelled", what);
                goto end;
            }
        }
        left = 0;
        for (int64_t t = 0; t < nt; t++) left += dirty[t];
    }
    scarp_progress_end(progress);
    if (stats) *stats = (scarp_tiled_stats){nt, solves, sweeps};
end:
    scarp_free(dirty);
    return st;
}

scarp_status scarp_flow_accumulation_tiled(const scarp_tile_band *filled, const scarp_tile_band *acc_m2,
                                           int64_t width, int64_t height, const scarp_cellsize *cs, int mfd,
                                           double exponent, int64_t tile, scarp_tiled_stats *stats,
                                           scarp_progress *progress)
{
    if (!filled || !acc_m2 || !cs || width <= 0 || height <= 0 || tile < 1)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_flow_accumulation_tiled: empty DEM or tile");
    if (!(exponent > 0.0)) exponent = SCARP_MFD_EXPONENT;
    /* `tile` is the side of the window: a core of 4/5 of it and margins of 1/10 */
    int64_t margin = tile / 10, core = tile - 2 * margin;
    if (core < 1) core = 1, margin = 0;
    const int64_t Tw = (core + 2 * margin < width ? core + 2 * margin : width);
    const int64_t Th = (core + 2 * margin < height ? core + 2 * margin : height);
    flow_ctx x = {.filled = filled, .cs = cs, .height = height, .mfd = mfd, .pexp = (float)exponent};
    x.z = scarp_malloc((size_t)((Tw + 4) * (Th + 4)) * sizeof(float));
    x.recv = scarp_malloc((size_t)((Tw + 2) * (Th + 2)));
    x.indeg = scarp_malloc((size_t)(Tw * Th));
    x.stack = scarp_malloc((size_t)(Tw * Th) * sizeof(int64_t));
    float *ring = scarp_malloc((size_t)((Tw + 2) * (Th + 2)) * sizeof(float));
    float *acc = scarp_malloc((size_t)(Tw * Th) * sizeof(float));
    float *zeros = scarp_calloc((size_t)(core * core), sizeof(float));
    scarp_status st = SCARP_ERR_NOMEM;
    if (x.z && x.recv && x.indeg && x.stack && ring && acc && zeros)
        st = relax_overlapping(&x, acc_m2, width, height, core, margin, ring, acc, zeros, stats, progress,
                               mfd ? "flow accumulation MFD (tiled)" : "flow accumulation D8 (tiled)");
    scarp_free(x.z);
    scarp_free(x.recv);
    scarp_free(x.indeg);
    scarp_free(x.stack);
    scarp_free(ring);
    scarp_free(acc);
    scarp_free(zeros);
    return st;
}
