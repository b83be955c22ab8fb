/* fill.c — depression filling by priority-flood with an optional epsilon gradient on flats.
 * Barnes, R., Lehman, C., Mulla, D. (2014) Priority-flood: An optimal depression-filling and
 * watershed-labeling algorithm for digital elevation models. Computers & Geosciences 62:117-127,
 * doi:10.1016/j.cageo.2013.04.024: the "Priority-Flood + ε" variant with the improved
 * variant's "Pit" FIFO queue, which floods depression interiors without touching the open set.
 * Ties in the open set are popped oldest-first: its key is (elevation, insertion number).
 * Pops are strictly monotone in height: the pit queue (whose heights never decrease) is popped
 * only while its front is lower than the open set's top. Barnes's variant pops the pit unless
 * the two are equal, so a depression could be flooded from one of two spill cells of the same
 * height (the one queued first) and its cells raised through a higher neighbour; with strict
 * order the result is the least surface G = max(dem, nextafter(min neighbour G)), a property
 * of the DEM alone, which the tiled fill (fill_tiled.c) reproduces byte for byte. On a
 * rough 16 M-cell DEM nearly every cell passes through the open set, so it is a radix heap
 * (see below): about 1.35x faster than a binary or 4-ary heap here, with the same pop order. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"

static inline uint32_t float_order_bits(float z)
{
    z += 0.0f; /* -0 → +0 */
    uint32_t u;
    memcpy(&u, &z, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* An open-set entry: key = order-preserving bits of the elevation (high 32) | insertion
 * number (low 32), so keys are unique and equal heights pop oldest-first. */
typedef struct {
    uint64_t key;
    int64_t idx;
} open_item;

/* The open set is a radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990, doi:10.1145/77600.77615):
 * priority-flood is monotone (every key pushed exceeds the last key popped), so items sit in
 * 65 buckets by the highest bit in which they differ from the last popped key; a pop empties
 * the lowest non-empty bucket into lower ones. Exactly the order of a binary heap, with
 * sequential memory access instead of log n cache misses. */
typedef struct {
    open_item *a;
    size_t n, cap;
} bucket;

typedef struct {
    bucket b[65];
    uint64_t last;    /* the last key popped: every key in the heap is >= last */
    size_t n;
    int peek_bucket;  /* cache of the minimum: its bucket (-1 = unknown) and key */
    uint64_t peek_key;
} radix_heap;

static inline int bucket_of(uint64_t key, uint64_t last)
{
    return key == last ? 0 : 64 - __builtin_clzll(key ^ last);
}

static inline int bucket_push(bucket *b, open_item it)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        open_item *a = scarp_realloc(b->a, cap * sizeof *a);
        if (!a) return -1;
        b->a = a;
        b->cap = cap;
    }
    b->a[b->n++] = it;
    return 0;
}

static inline int rh_push(radix_heap *h, uint64_t key, int64_t idx)
{
    int j = bucket_of(key, h->last);
    /* a lower bucket holds only smaller keys: keep the cached minimum exact */
    if (h->peek_bucket >= 0) {
        if (j < h->peek_bucket) {
            h->peek_bucket = j;
            h->peek_key = key;
        } else if (j == h->peek_bucket && key < h->peek_key) {
            h->peek_key = key;
        }
    }
    h->n++;
    return bucket_push(&h->b[j], (open_item){key, idx});
}

/* The smallest key (h->n > 0), without popping it. */
static uint64_t rh_peek(radix_heap *h)
{
    if (h->peek_bucket < 0) {
        int i = 0;
        while (h->b[i].n == 0) i++;
        uint64_t m = h->b[i].a[0].key;
        for (size_t k = 1; k < h->b[i].n; k++)
            if (h->b[i].a[k].key < m) m = h->b[i].a[k].key;
        h->peek_bucket = i;
        h->peek_key = m;
    }
    return h->peek_key;
}

/* Pops the smallest item (h->n > 0): the lowest non-empty bucket is emptied into lower
 * buckets relative to its minimum, which lands alone in bucket 0 (keys are unique). */
static int rh_pop(radix_heap *h, int64_t *idx)
{
    if (h->b[0].n == 0) {
        int i = 1;
        while (h->b[i].n == 0) i++;
        bucket *src = &h->b[i];
        uint64_t m = src->a[0].key;
        for (size_t k = 1; k < src->n; k++)
            if (src->a[k].key < m) m = src->a[k].key;
        h->last = m;
        for (size_t k = 0; k < src->n; k++) /* every item moves to a bucket below i */
            if (bucket_push(&h->b[bucket_of(src->a[k].key, m)], src->a[k])) return -1;
        src->n = 0;
    }
    *idx = h->b[0].a[--h->b[0].n].idx;
    h->n--;
    h->peek_bucket = -1;
    return 0;
}

static void rh_free(radix_heap *h)
{
    for (int i = 0; i < 65; i++) scarp_free(h->b[i].a);
}

/* A growable FIFO ring of cell indices. */
typedef struct {
    int64_t *a;
    size_t head, n, cap;
} fifo;

static int fifo_push(fifo *q, int64_t v)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4096;
        int64_t *a = scarp_malloc(cap * sizeof *a);
        if (!a) return -1;
        for (size_t k = 0; k < q->n; k++) a[k] = q->a[(q->head + k) % q->cap];
        scarp_free(q->a);
        q->a = a;
        q->head = 0;
        q->cap = cap;
    }
    q->a[(q->head + q->n) % q->cap] = v;
    q->n++;
    return 0;
}

static inline int64_t fifo_pop(fifo *q)
{
    int64_t v = q->a[q->head];
    q->head = (q->head + 1 == q->cap) ? 0 : q->head + 1;
    q->n--;
    return v;
}

scarp_status scarp_fill_depressions(const float *dem, int64_t width, int64_t height, int epsilon, float *out,
                                    scarp_progress *progress)
{
    if (!dem || !out || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_fill_depressions: empty DEM");
    const int64_t w = width, h = height, n = w * h;
    if ((uint64_t)n >= ((uint64_t)1 << 32))
        return scarp_fail(SCARP_ERR_USAGE, "scarp_fill_depressions: %lld cells exceed the 2^32 limit; tile the DEM",
                          (long long)n);
    if (out != dem) memcpy(out, dem, (size_t)n * sizeof(float));
    uint8_t *closed = scarp_calloc((size_t)n, 1);
    radix_heap heap = {0};
    heap.peek_bucket = -1;
    fifo pit = {0};
    scarp_status st = SCARP_OK;
    if (!closed) return SCARP_ERR_NOMEM;
    uint32_t seq = 0;
    static const int dr[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, dc[8] = {0, 1, 1, 1, 0, -1, -1, -1};

    /* Seeds: valid cells on the grid edge or next to a NaN cell, in raster order. */
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            if (isnan(out[i])) {
                closed[i] = 1;
                continue;
            }
            int seed = (r == 0 || c == 0 || r == h - 1 || c == w - 1);
            for (int k = 0; k < 8 && !seed; k++)
                if (isnan(out[(r + dr[k]) * w + c + dc[k]])) seed = 1;
            if (seed) {
                closed[i] = 1;
                if (rh_push(&heap, ((uint64_t)float_order_bits(out[i]) << 32) | seq++, i)) {
                    st = SCARP_ERR_NOMEM;
                    goto end;
                }
            }
        }
    }

    scarp_progress_begin(progress, "fill depressions", n);
    int64_t done = 0, reported = 0; /* cells finished */
    while (heap.n || pit.n) {
        int64_t c;
        /* The lower of the pit front and the heap top; on equal heights the heap cell (older). */
        if (pit.n && !(heap.n && (uint32_t)(rh_peek(&heap) >> 32) <= float_order_bits(out[pit.a[pit.head]]))) {
            c = fifo_pop(&pit);
        } else if (rh_pop(&heap, &c)) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        float zc = out[c];
        float zraise = epsilon ? nextafterf(zc, INFINITY) : zc;
        int64_t r = c / w, col = c % w;
        for (int k = 0; k < 8; k++) {
            int64_t rr = r + dr[k], cc = col + dc[k];
            if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
            int64_t j = rr * w + cc;
            if (closed[j]) continue;
            closed[j] = 1;
            if (out[j] <= zraise) {
                out[j] = zraise;
                if (fifo_push(&pit, j)) {
                    st = SCARP_ERR_NOMEM;
                    goto end;
                }
            } else if (rh_push(&heap, ((uint64_t)float_order_bits(out[j]) << 32) | seq++, j)) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
        }
        done++;
        if (done - reported >= (1 << 20)) {
            if (scarp_progress_step(progress, done - reported) != SCARP_OK) {
                st = scarp_fail(SCARP_ERR_CANCELLED, "fill depressions: cancelled");
                goto end;
            }
            reported = done;
        }
    }
    scarp_progress_step(progress, done - reported);
    scarp_progress_end(progress);
end:
    scarp_free(closed);
    rh_free(&heap);
    scarp_free(pit.a);
    return st;
}
