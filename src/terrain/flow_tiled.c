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
#include "terrain/tiles.h"

static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};
#define NO_RECEIVER 8

int64_t scarp_flow_tile_side(int64_t bytes)
{
    /* per cell: DEM window 4 + ring window 4 + acc 4 + tile buffer 4 + receivers 1 + in-degree
     * 1 + Kahn stack 8 */
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

scarp_status scarp_flow_accumulation_tiled(const scarp_tile_band *filled, const scarp_tile_band *acc_m2,
                                           int64_t width, int64_t height, const scarp_cellsize *cs, int mfd,
                                           double exponent, int64_t tile, scarp_tiled_stats *stats,
                                           scarp_progress *progress)
{
    if (!filled || !acc_m2 || !cs || width <= 0 || height <= 0 || tile < 1)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_flow_accumulation_tiled: empty DEM or tile");
    if (!(exponent > 0.0)) exponent = SCARP_MFD_EXPONENT;
    const int64_t Tw = tile < width ? tile : width, Th = tile < height ? tile : height;
    flow_ctx x = {.filled = filled, .cs = cs, .height = height, .mfd = mfd, .pexp = (float)exponent};
    x.z = scarp_malloc((size_t)((Tw + 4) * (Th + 4)) * sizeof(float));
    x.recv = scarp_malloc((size_t)((Tw + 2) * (Th + 2)));
    x.indeg = scarp_malloc((size_t)(Tw * Th));
    x.stack = scarp_malloc((size_t)(Tw * Th) * sizeof(int64_t));
    scarp_status st = SCARP_ERR_NOMEM;
    if (x.z && x.recv && x.indeg && x.stack)
        st = scarp__tiles_relax(width, height, tile, 0.0f, flow_solve, &x, acc_m2, stats, progress,
                                mfd ? "flow accumulation MFD (tiled)" : "flow accumulation D8 (tiled)");
    scarp_free(x.z);
    scarp_free(x.recv);
    scarp_free(x.indeg);
    scarp_free(x.stack);
    return st;
}
