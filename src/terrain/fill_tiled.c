/* fill_tiled.c — depression filling by tiles: block relaxation (tiles.c) of the least surface
 * G = max(dem, raise(min of the neighbours)) (terrain_tiled.h has the definition, and how it
 * compares with the in-memory fill). Each tile solve is a priority-flood in the sense of
 * Barnes, Lehman & Mulla (2014), doi:10.1016/j.cageo.2013.04.024, seeded with the tile's own
 * seeds and its ring as in the per-tile flood of Barnes (2016) "Parallel priority-flood
 * depression filling for trillion cell digital elevation models", Computers & Geosciences
 * 88:1-8, doi:10.1016/j.cageo.2016.03.019. Unlike Barnes 2016, which solves a graph of
 * watershed labels once, the ring values here are iterated to their fixed point: that also
 * carries the epsilon gradient (a count of ulp steps, absent from a spill-level graph) across
 * tile borders. Pops are strictly in (height, age) order: a binary heap, no "Pit" queue. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain_tiled.h"
#include "terrain/tiles.h"

int64_t scarp_fill_tile_side(int64_t bytes)
{
    /* per window cell: dem 4 + value 4 + closed 1 + heap entries (16 B, up to 2 per cell with
     * the doubling) + the tile buffer 4 */
    int64_t s = (int64_t)sqrt((double)bytes / 45.0);
    return s < 64 ? 64 : s;
}

static inline uint32_t order_bits(float z)
{
    z += 0.0f; /* -0 → +0 */
    uint32_t u;
    memcpy(&u, &z, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

typedef struct {
    uint64_t key; /* order bits of the height << 32 | insertion number */
    int64_t idx;
} heap_item;

typedef struct {
    heap_item *a;
    size_t n, cap;
} heap;

static int heap_push(heap *hp, uint64_t key, int64_t idx)
{
    if (hp->n == hp->cap) {
        size_t cap = hp->cap ? hp->cap * 2 : 4096;
        heap_item *a = scarp_realloc(hp->a, cap * sizeof *a);
        if (!a) return -1;
        hp->a = a;
        hp->cap = cap;
    }
    size_t i = hp->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (hp->a[p].key <= key) break;
        hp->a[i] = hp->a[p];
        i = p;
    }
    hp->a[i] = (heap_item){key, idx};
    return 0;
}

static int64_t heap_pop(heap *hp)
{
    int64_t top = hp->a[0].idx;
    heap_item last = hp->a[--hp->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= hp->n) break;
        if (l + 1 < hp->n && hp->a[l + 1].key < hp->a[l].key) l++;
        if (last.key <= hp->a[l].key) break;
        hp->a[i] = hp->a[l];
        i = l;
    }
    if (hp->n) hp->a[i] = last;
    return top;
}

typedef struct {
    const scarp_tile_band *dem;
    int epsilon;
    float *d, *z;    /* (th+2, tw+2): the DEM window, the values (ring = neighbours' values) */
    uint8_t *closed; /* (th+2, tw+2) */
    heap hp;
} fill_ctx;

static scarp_status fill_solve(void *vctx, int64_t r0, int64_t c0, int64_t th, int64_t tw, const float *ring,
                               float *out)
{
    fill_ctx *x = vctx;
    const int64_t W = tw + 2, H = th + 2;
    static const int dr[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, dc[8] = {0, 1, 1, 1, 0, -1, -1, -1};
    scarp_status st = x->dem->read(x->dem->ctx, c0 - 1, r0 - 1, W, H, x->d);
    if (st) return st;
    uint32_t seq = 0;
    x->hp.n = 0;
    for (int64_t r = 0; r < H; r++)
        for (int64_t c = 0; c < W; c++) {
            int64_t i = r * W + c;
            int is_ring = r == 0 || c == 0 || r == H - 1 || c == W - 1;
            x->closed[i] = 1;
            if (isnan(x->d[i])) { /* NaN in the DEM (or outside the grid) */
                x->z[i] = NAN;
                continue;
            }
            if (is_ring) {
                /* a neighbour tile's value: a seed of this solve when known */
                x->z[i] = ring[i];
                if (isfinite(ring[i]) && heap_push(&x->hp, ((uint64_t)order_bits(ring[i]) << 32) | seq++, i))
                    return SCARP_ERR_NOMEM;
                continue;
            }
            x->z[i] = x->d[i];
            int seed = 0; /* a global seed: next to a NaN cell or the grid edge (NaN in d) */
            for (int k = 0; k < 8 && !seed; k++) seed = isnan(x->d[(r + dr[k]) * W + c + dc[k]]);
            if (seed) {
                if (heap_push(&x->hp, ((uint64_t)order_bits(x->d[i]) << 32) | seq++, i)) return SCARP_ERR_NOMEM;
            } else {
                x->closed[i] = 0;
            }
        }
    while (x->hp.n) {
        int64_t i = heap_pop(&x->hp);
        float zc = x->z[i];
        float zraise = x->epsilon ? nextafterf(zc, INFINITY) : zc;
        int64_t r = i / W, c = i % W;
        for (int k = 0; k < 8; k++) {
            int64_t rr = r + dr[k], cc = c + dc[k];
            if (rr < 0 || rr >= H || cc < 0 || cc >= W) continue;
            int64_t j = rr * W + cc;
            if (x->closed[j]) continue;
            x->closed[j] = 1;
            if (x->z[j] <= zraise) x->z[j] = zraise;
            if (heap_push(&x->hp, ((uint64_t)order_bits(x->z[j]) << 32) | seq++, j)) return SCARP_ERR_NOMEM;
        }
    }
    for (int64_t r = 0; r < th; r++) memcpy(out + r * tw, x->z + (r + 1) * W + 1, (size_t)tw * sizeof(float));
    return SCARP_OK;
}

scarp_status scarp_fill_depressions_tiled(const scarp_tile_band *dem, const scarp_tile_band *out, int64_t width,
                                          int64_t height, int64_t tile, int epsilon, scarp_tiled_stats *stats,
                                          scarp_progress *progress)
{
    if (!dem || !out || width <= 0 || height <= 0 || tile < 1)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_fill_depressions_tiled: empty DEM or tile");
    if (tile > 46000) tile = 46000; /* window indices and insertion numbers stay below 2^31 */
    const int64_t Tw = (tile < width ? tile : width) + 2, Th = (tile < height ? tile : height) + 2;
    fill_ctx x = {.dem = dem, .epsilon = epsilon};
    x.d = scarp_malloc((size_t)(Tw * Th) * sizeof(float));
    x.z = scarp_malloc((size_t)(Tw * Th) * sizeof(float));
    x.closed = scarp_malloc((size_t)(Tw * Th));
    scarp_status st = SCARP_ERR_NOMEM;
    if (x.d && x.z && x.closed)
        st = scarp__tiles_relax(width, height, tile, INFINITY, fill_solve, &x, out, stats, progress,
                                "fill depressions (tiled)");
    scarp_free(x.d);
    scarp_free(x.z);
    scarp_free(x.closed);
    scarp_free(x.hp.a);
    return st;
}
