/* fill.c — depression filling by priority-flood with an optional epsilon gradient on flats.
 * Barnes, R., Lehman, C., Mulla, D. (2014) Priority-flood: An optimal depression-filling and
 * watershed-labeling algorithm for digital elevation models. Computers & Geosciences 62:117-127,
 * doi:10.1016/j.cageo.2013.04.024 (Algorithm 2 "Priority-Flood + ε" with the "Pit" FIFO queue,
 * which floods depression interiors without touching the heap), with the upslope tracing of
 * Zhou, G., Sun, Z., Fu, S. (2016) An efficient variant of the Priority-Flood algorithm for
 * filling depressions in raster DEMs. Computers & Geosciences 90:87-96,
 * doi:10.1016/j.cageo.2016.02.021: a neighbour strictly higher than a finished cell is itself
 * finished (its spill level is its own height), so slopes are walked with a stack and only
 * cells next to lower, unfinished ground go through the heap.
 * Ties in the heap are popped oldest-first: the heap key is (elevation, insertion number). */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"

/* A heap entry: key = order-preserving bits of the elevation (high 32) | insertion number (low 32). */
typedef struct {
    uint64_t key;
    int64_t idx;
} heap_item;

typedef struct {
    heap_item *a;
    size_t n, cap;
} min_heap;

static inline uint32_t float_order_bits(float z)
{
    z += 0.0f; /* -0 → +0 */
    uint32_t u;
    memcpy(&u, &z, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static int heap_push(min_heap *h, uint64_t key, int64_t idx)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        heap_item *a = scarp_realloc(h->a, cap * sizeof *a);
        if (!a) return -1;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->a[parent].key <= key) break;
        h->a[i] = h->a[parent];
        i = parent;
    }
    h->a[i].key = key;
    h->a[i].idx = idx;
    return 0;
}

static heap_item heap_pop(min_heap *h)
{
    heap_item top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && h->a[child + 1].key < h->a[child].key) child++;
        if (h->a[child].key >= last.key) break;
        h->a[i] = h->a[child];
        i = child;
    }
    if (n) h->a[i] = last;
    return top;
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

/* A growable LIFO of cell indices (the upslope trace). */
typedef struct {
    int64_t *a;
    size_t n, cap;
} lifo;

static inline int stack_push(lifo *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        int64_t *a = scarp_realloc(s->a, cap * sizeof *a);
        if (!a) return -1;
        s->a = a;
        s->cap = cap;
    }
    s->a[s->n++] = v;
    return 0;
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
    min_heap heap = {0};
    fifo pit = {0};
    lifo trace = {0};
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
                if (heap_push(&heap, ((uint64_t)float_order_bits(out[i]) << 32) | seq++, i)) {
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
        /* A pit cell and a heap cell of the same height: the heap cell is older, pop it first. */
        if (pit.n && !(heap.n && (uint32_t)(heap.a[0].key >> 32) == float_order_bits(out[pit.a[pit.head]])))
            c = fifo_pop(&pit);
        else
            c = heap_pop(&heap).idx;
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
            } else if (stack_push(&trace, j)) { /* higher: finished at its own height */
                st = SCARP_ERR_NOMEM;
                goto end;
            }
        }
        /* Walk up the slopes from c. A traced cell t next to lower or equal unfinished ground
         * must wait for its turn in the heap (that ground may spill elsewhere, lower). */
        while (trace.n) {
            int64_t t = trace.a[--trace.n];
            float zt = out[t];
            int64_t tr = t / w, tc = t % w;
            int wait = 0;
            for (int k = 0; k < 8; k++) {
                int64_t rr = tr + dr[k], cc = tc + dc[k];
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                int64_t j = rr * w + cc;
                if (closed[j]) continue;
                if (out[j] > zt) {
                    closed[j] = 1;
                    if (stack_push(&trace, j)) {
                        st = SCARP_ERR_NOMEM;
                        goto end;
                    }
                } else {
                    wait = 1;
                }
            }
            if (wait && heap_push(&heap, ((uint64_t)float_order_bits(zt) << 32) | seq++, t)) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
            done++;
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
    scarp_free(heap.a);
    scarp_free(pit.a);
    scarp_free(trace.a);
    return st;
}
