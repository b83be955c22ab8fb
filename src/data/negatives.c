/* negatives.c — non-landslide samples drawn uniformly over the valid cells, each at least
 * min_distance metres from every landslide and from each other: random sequential
 * adsorption (Widom 1966) with a uniform spatial hash (buckets ≥ min_distance, so only
 * the 3×3 neighbouring buckets are searched), O(n) expected instead of O(n²). */
#include <math.h>
#include <string.h>

#include "samples.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

void scarp_grid_metric_scale(const scarp_grid *g, double *sx, double *sy)
{
    *sx = *sy = 1.0;
    if (scarp_grid_is_geographic(g)) {
        double lat = g->gt[3] + 0.5 * (double)g->height * g->gt[5];
        *sy = 110574.0;
        *sx = 111320.0 * cos(lat * M_PI / 180.0);
    }
}

typedef struct {
    double x0, y0, bs;      /* origin and bucket size (metres) */
    int64_t nbx, nby;
    int32_t *head;          /* (nby, nbx) first point of each bucket, -1 */
    int32_t *next;          /* (cap) next point in the same bucket */
    double *px, *py;        /* (cap) metric coordinates */
    int32_t n, cap;
} spatial_hash;

static scarp_status hash_init(spatial_hash *h, double xmin, double ymin, double xmax, double ymax, double min_dist,
                              int32_t cap)
{
    memset(h, 0, sizeof *h);
    double w = xmax - xmin, hh = ymax - ymin;
    double bs = min_dist > 0 ? min_dist : fmax(w, hh) / 1024.0;
    /* at most ~4M buckets: grow the bucket (≥ min_dist keeps the 3×3 search exact) */
    while ((w / bs + 1) * (hh / bs + 1) > 4.0e6) bs *= 2;
    h->x0 = xmin;
    h->y0 = ymin;
    h->bs = bs;
    h->nbx = (int64_t)(w / bs) + 1;
    h->nby = (int64_t)(hh / bs) + 1;
    h->head = scarp_malloc(sizeof(int32_t) * (size_t)(h->nbx * h->nby));
    h->next = scarp_malloc(sizeof(int32_t) * (size_t)cap);
    h->px = scarp_malloc(sizeof(double) * (size_t)cap);
    h->py = scarp_malloc(sizeof(double) * (size_t)cap);
    if (!h->head || !h->next || !h->px || !h->py) return SCARP_ERR_NOMEM;
    for (int64_t i = 0; i < h->nbx * h->nby; i++) h->head[i] = -1;
    h->cap = cap;
    return SCARP_OK;
}

static void hash_free(spatial_hash *h)
{
    scarp_free(h->head);
    scarp_free(h->next);
    scarp_free(h->px);
    scarp_free(h->py);
}

static inline void bucket_of(const spatial_hash *h, double x, double y, int64_t *bx, int64_t *by)
{
    *bx = (int64_t)floor((x - h->x0) / h->bs);
    *by = (int64_t)floor((y - h->y0) / h->bs);
    if (*bx < 0) *bx = 0;
    if (*by < 0) *by = 0;
    if (*bx >= h->nbx) *bx = h->nbx - 1;
    if (*by >= h->nby) *by = h->nby - 1;
}

static void hash_add(spatial_hash *h, double x, double y)
{
    int64_t bx, by;
    bucket_of(h, x, y, &bx, &by);
    int32_t i = h->n++;
    h->px[i] = x;
    h->py[i] = y;
    h->next[i] = h->head[by * h->nbx + bx];
    h->head[by * h->nbx + bx] = i;
}

/* 1 if some point lies closer than d (or at distance 0) to (x, y). */
static int hash_near(const spatial_hash *h, double x, double y, double d)
{
    int64_t bx, by;
    bucket_of(h, x, y, &bx, &by);
    double d2 = d * d;
    for (int64_t j = by - 1; j <= by + 1; j++) {
        if (j < 0 || j >= h->nby) continue;
        for (int64_t i = bx - 1; i <= bx + 1; i++) {
            if (i < 0 || i >= h->nbx) continue;
            for (int32_t k = h->head[j * h->nbx + i]; k >= 0; k = h->next[k]) {
                double dx = h->px[k] - x, dy = h->py[k] - y, e2 = dx * dx + dy * dy;
                if (e2 < d2 || e2 <= 1e-12) return 1;
            }
        }
    }
    return 0;
}

scarp_status scarp_negatives_sample(const scarp_bitmap *valid, const scarp_grid *grid, const double *px, const double *py,
                                    int64_t n_pos, int64_t n_neg, double min_dist, uint64_t seed, double *nx,
                                    double *ny, int64_t *ncol, int64_t *nrow)
{
    if (n_neg <= 0) return SCARP_OK;
    if (n_pos + n_neg > INT32_MAX / 2) return scarp_fail(SCARP_ERR_INPUT, "negatives: too many samples (%lld)", (long long)n_neg);
    double sx, sy;
    scarp_grid_metric_scale(grid, &sx, &sy);
    const int64_t W = grid->width, H = grid->height;
    /* metric bounding box of the grid */
    double xa = grid->gt[0] * sx, xb = (grid->gt[0] + W * grid->gt[1]) * sx;
    double ya = grid->gt[3] * sy, yb = (grid->gt[3] + H * grid->gt[5]) * sy;
    spatial_hash h;
    scarp_status st = hash_init(&h, fmin(xa, xb), fmin(ya, yb), fmax(xa, xb), fmax(ya, yb), min_dist,
                                (int32_t)(n_pos + n_neg));
    if (st != SCARP_OK) {
        hash_free(&h);
        return st;
    }
    for (int64_t i = 0; i < n_pos; i++) hash_add(&h, px[i] * sx, py[i] * sy);
    int64_t n_valid = 0;
    for (size_t i = 0; i < valid->bytes; i++) n_valid += __builtin_popcount(valid->bits[i]); /* bits past the grid are 0 */
    if (n_valid == 0) {
        hash_free(&h);
        return scarp_fail(SCARP_ERR_INPUT, "negatives: the grid has no valid cell");
    }
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x4e454741ull /* "NEGA" */);
    /* Budget: enough draws that a feasible but crowded area still fills, bounded so an
     * impossible request ends with a clear message. */
    double fvalid = (double)n_valid / (double)(W * H);
    int64_t budget = (int64_t)((double)(200 * n_neg + 100000) / fvalid);
    int64_t placed = 0, draws = 0, rejected_dist = 0;
    while (placed < n_neg && draws < budget) {
        draws++;
        int64_t cell = (int64_t)scarp_rng_below(&rng, (uint64_t)(W * H));
        if (!scarp_bitmap_get(valid, cell)) continue;
        int64_t col = cell % W, row = cell / W;
        double x = scarp_grid_x(grid, (double)col), y = scarp_grid_y(grid, (double)row);
        if (hash_near(&h, x * sx, y * sy, min_dist)) {
            rejected_dist++;
            continue;
        }
        hash_add(&h, x * sx, y * sy);
        nx[placed] = x;
        ny[placed] = y;
        ncol[placed] = col;
        nrow[placed] = row;
        placed++;
    }
    hash_free(&h);
    if (placed < n_neg) {
        double area_km2 = (double)n_valid * fabs(grid->gt[1] * sx * grid->gt[5] * sy) / 1e6;
        return scarp_fail(SCARP_ERR_INPUT,
                          "negatives: the valid area (%.3g km², %lld cells) cannot hold %lld negatives at least %g m from "
                          "the %lld landslides and from each other (placed %lld after %lld draws); lower [negatives] "
                          "ratio or min_distance",
                          area_km2, (long long)n_valid, (long long)n_neg, min_dist, (long long)n_pos, (long long)placed,
                          (long long)draws);
    }
    return SCARP_OK;
}
