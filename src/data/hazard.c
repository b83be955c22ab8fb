/* hazard.c — negatives of the space-time hazard design ([project] task = hazard, issue 15).
 *
 * The susceptibility design asks "where": negatives take the positives' dates, so every
 * negative sees the same regional rain as some landslide and the temporal branch has
 * nothing to learn. The hazard design asks "where and when": a negative is a (cell, day)
 * pair.
 *   - A share 1 − s of the negatives are cells drawn exactly as for susceptibility
 *     (scarp_negatives_sample: uniform over the valid cells, min_distance from every
 *     landslide and from each other), each on a day drawn uniformly over the usable record
 *     (the N-day window before the day must lie inside the record).
 *   - A share s ([negatives] same_cell_share) are the landslide cells themselves on days
 *     more than N days from every event recorded at that cell (all inventory rows on the
 *     cell, also the duplicates prepare drops), so the window of the negative never holds
 *     the failure and the event's own window is not repeated. The landslide cells are dealt
 *     round-robin in a seeded order, so each gets ⌊s·n/P⌋ or ⌈s·n/P⌉ of them; no (cell,
 *     day) pair is drawn twice.
 * These pairs are the ones the temporal view of the evaluation scores (landslide cells on
 * their event day against the same cells on other days): only the temporal inputs can tell
 * them apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "samples.h"
#include "scarp/alloc.h"
#include "scarp/rng.h"

static int cmp_i64x2(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Index range [*lo, *hi) of cell in the sorted (cell, date) pairs. */
static void cell_range(const int64_t *ev, int64_t n, int64_t cell, int64_t *lo, int64_t *hi)
{
    int64_t a = 0, b = n;
    while (a < b) {
        int64_t m = (a + b) / 2;
        if (ev[2 * m] < cell) a = m + 1;
        else b = m;
    }
    *lo = a;
    while (a < n && ev[2 * a] == cell) a++;
    *hi = a;
}

scarp_status scarp_hazard_negatives(const scarp_bitmap *valid, const scarp_grid *grid, const double *px, const double *py,
                                    const int64_t *pcol, const int64_t *prow, int64_t n_pos, const int64_t *ev_cell,
                                    const int32_t *ev_date, int64_t n_ev, int64_t n_neg, double share, double min_dist,
                                    int32_t first, int32_t last, int window, uint64_t seed, double *nx, double *ny,
                                    int64_t *ncol, int64_t *nrow, int32_t *ndate, uint8_t *same_cell,
                                    int64_t *n_same_out)
{
    if (n_same_out) *n_same_out = 0;
    if (n_neg <= 0) return SCARP_OK;
    if (share < 0 || share > 1) return scarp_fail(SCARP_ERR_USAGE, "[negatives] same_cell_share must be in [0, 1]");
    /* usable days D: the window D−N … D−1 inside [first, last] */
    const int32_t d0 = first + window, d1 = last + 1;
    if (d1 < d0)
        return scarp_fail(SCARP_ERR_INPUT, "task = hazard: the record (%d days) is shorter than the window (%d days)",
                          (int)(last - first + 1), window);
    const uint64_t n_days = (uint64_t)(d1 - d0 + 1);
    const int64_t W = grid->width;
    int64_t n_same = n_pos > 0 ? llround(share * (double)n_neg) : 0, n_other = n_neg - n_same;
    scarp_status st = SCARP_OK;
    int64_t *ev = NULL, *pairs = NULL;
    size_t *order = NULL;
    /* 1. other cells, drawn as for susceptibility, on uniform days */
    if (n_other > 0 &&
        (st = scarp_negatives_sample(valid, grid, px, py, n_pos, n_other, min_dist, seed, nx, ny, ncol, nrow)))
        return st;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, 0x48444159ull /* "HDAY" */);
    for (int64_t k = 0; k < n_other; k++) {
        ndate[k] = d0 + (int32_t)scarp_rng_below(&rng, n_days);
        same_cell[k] = 0;
    }
    if (n_same == 0) return SCARP_OK;
    /* 2. the landslide cells on days away from their events */
    ev = scarp_malloc(sizeof(int64_t) * 2 * (size_t)(n_ev + 1));
    pairs = scarp_malloc(sizeof(int64_t) * 2 * (size_t)n_same);
    order = scarp_malloc(sizeof(size_t) * (size_t)n_pos);
    if (!ev || !pairs || !order) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int64_t i = 0; i < n_ev; i++) {
        ev[2 * i] = ev_cell[i];
        ev[2 * i + 1] = ev_date[i];
    }
    qsort(ev, (size_t)n_ev, 2 * sizeof(int64_t), cmp_i64x2);
    for (int64_t i = 0; i < n_pos; i++) order[i] = (size_t)i;
    scarp_rng crng;
    scarp_rng_stream(&crng, seed, 0x53414d45ull /* "SAME" */);
    scarp_rng_shuffle(&crng, order, (size_t)n_pos);
    int64_t placed = 0, tried_cells = 0, k = 0;
    /* deal the cells round-robin; a cell with no free day left is skipped (counted) */
    while (placed < n_same && tried_cells < n_pos) {
        int64_t p = (int64_t)order[k % n_pos];
        k++;
        int64_t cell = prow[p] * W + pcol[p], lo, hi;
        cell_range(ev, n_ev, cell, &lo, &hi);
        int ok = 0;
        for (int attempt = 0; attempt < 64 && !ok; attempt++) {
            int32_t day = d0 + (int32_t)scarp_rng_below(&rng, n_days);
            ok = 1;
            for (int64_t e = lo; e < hi && ok; e++) {
                int64_t dd = (int64_t)day - ev[2 * e + 1];
                if (dd <= window && dd >= -window) ok = 0;
            }
            /* no (cell, day) pair twice: the same cell's earlier pairs (few per cell) */
            for (int64_t q = 0; q < placed && ok; q++)
                if (pairs[2 * q] == cell && pairs[2 * q + 1] == day) ok = 0;
            if (ok) {
                int64_t j = n_other + placed;
                pairs[2 * placed] = cell;
                pairs[2 * placed + 1] = day;
                nx[j] = px[p];
                ny[j] = py[p];
                ncol[j] = pcol[p];
                nrow[j] = prow[p];
                ndate[j] = day;
                same_cell[j] = 1;
                placed++;
            }
        }
        tried_cells = ok ? 0 : tried_cells + 1;
    }
    if (placed < n_same) {
        st = scarp_fail(SCARP_ERR_INPUT,
                        "task = hazard: only %lld of %lld same-cell negatives fit (record %d days, window %d: the "
                        "landslide cells have no day more than the window from their events); lower [negatives] "
                        "same_cell_share",
                        (long long)placed, (long long)n_same, (int)(last - first + 1), window);
        goto end;
    }
    if (n_same_out) *n_same_out = n_same;
end:
    scarp_free(ev);
    scarp_free(pairs);
    scarp_free(order);
    return st;
}

scarp_status scarp_hazard_prepare_negatives(const scarp_config *cfg, const scarp_bitmap *valid, const scarp_grid *g,
                                            const scarp_inventory *inv, int has_series, int32_t first, int32_t last,
                                            int window, scarp_dataset *d, int64_t n_pos, int64_t n_neg,
                                            int64_t *n_same)
{
    if (!has_series)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [project] task = hazard needs [temporal] series (rainfall or reservoir "
                          "levels): its negatives are (cell, day) pairs", cfg->config_path);
    if (inv->has_labels)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [project] task = hazard draws its own (cell, day) negatives: leave "
                          "[inventory] label empty", cfg->config_path);
    int64_t *ev_cell = scarp_malloc(sizeof(int64_t) * (size_t)(inv->n + 1));
    int32_t *ev_date = scarp_malloc(sizeof(int32_t) * (size_t)(inv->n + 1));
    d->same_cell = scarp_calloc((size_t)(n_pos + n_neg + 1), 1);
    if (!ev_cell || !ev_date || !d->same_cell) {
        scarp_free(ev_cell);
        scarp_free(ev_date);
        return SCARP_ERR_NOMEM;
    }
    int64_t n_ev = 0;
    for (int64_t i = 0; i < inv->n; i++) {
        int64_t col, row;
        if (inv->date[i] == SCARP_NO_DATE || !scarp_grid_cell_of(g, inv->x[i], inv->y[i], &col, &row) ||
            !scarp_bitmap_get(valid, row * g->width + col))
            continue;
        ev_cell[n_ev] = row * g->width + col;
        ev_date[n_ev++] = inv->date[i];
    }
    scarp_status st = scarp_hazard_negatives(
        valid, g, d->x, d->y, d->col, d->row, n_pos, ev_cell, ev_date, n_ev, n_neg, cfg->negatives_same_cell_share,
        cfg->negatives_min_distance, first, last, window, cfg->seed, d->x + n_pos, d->y + n_pos, d->col + n_pos,
        d->row + n_pos, d->date + n_pos, d->same_cell + n_pos, n_same);
    for (int64_t k = 0; st == SCARP_OK && k < n_neg; k++) d->label[n_pos + k] = 0;
    scarp_free(ev_cell);
    scarp_free(ev_date);
    return st;
}
