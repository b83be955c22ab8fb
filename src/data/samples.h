/* samples.h — internal building blocks of `scarp prepare` (inventory, negatives, splits,
 * patches), exposed to the tests; the public entry points are in scarp/dataset.h. */
#ifndef SCARP_DATA_SAMPLES_H
#define SCARP_DATA_SAMPLES_H
#include <stdint.h>
#include "scarp/bitmap.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/grid.h"
#include "scarp/stack.h"

/* ---- inventory.c ---------------------------------------------------------------- */
typedef struct {
    int64_t n;
    double *x, *y;        /* (n) grid CRS */
    int32_t *date;        /* (n) SCARP_NO_DATE when undated */
    int8_t *label;        /* (n) 1/0, or -1 when there is no label column */
    int64_t *source;      /* (n) CSV line or 1-based feature number */
    int has_dates, has_labels;
    char crs[260];        /* the source CRS as given or found */
} scarp_inventory;

void scarp_inventory_free(scarp_inventory *inv); /* accepts NULL */
/* Reads [inventory] (CSV with x/y columns and crs, or any OGR source; polygons →
 * centroids), reprojected to the grid. Errors name file, line and column. */
scarp_status scarp_inventory_read(const scarp_config *cfg, const scarp_grid *grid, scarp_inventory *inv);

/* ---- negatives.c ---------------------------------------------------------------- */
/* Metric scale of grid units: (sx, sy) metres per unit (1, 1 for a projected grid; an
 * equirectangular approximation at the grid's centre latitude for a geographic one). */
void scarp_grid_metric_scale(const scarp_grid *g, double *sx, double *sy);

/* Draws n_neg cells uniformly over the valid cells (valid: one bit per cell of the grid, row by row, 1 = valid),
 * each at least min_dist metres (and > 0) from every positive (px, py) and from each other
 * (spatial hash with buckets of ≥ min_dist: O(n) expected, not O(n²)). Cell centres go to
 * (nx, ny, ncol, nrow). SCARP_ERR_INPUT when the area cannot hold them. */
scarp_status scarp_negatives_sample(const scarp_bitmap *valid, const scarp_grid *grid, const double *px, const double *py,
                                    int64_t n_pos, int64_t n_neg, double min_dist, uint64_t seed, double *nx,
                                    double *ny, int64_t *ncol, int64_t *nrow);

/* ---- hazard.c ------------------------------------------------------------------ */
/* Negatives of [project] task = hazard: n_neg (cell, day) pairs into (nx, ny, ncol, nrow,
 * ndate, same_cell). The first n_neg − round(share·n_neg) are cells drawn by
 * scarp_negatives_sample (same seed: the same cells susceptibility would draw first) on days
 * uniform over [first + window, last + 1] (day D = the "event date": its window is D−N …
 * D−1); the rest (same_cell = 1) are the n_pos landslide cells (pcol, prow; px, py),
 * dealt round-robin in a seeded order, on days D with |D − e| > window for every event e at
 * that cell (ev_cell = row·width + col, ev_date: every dated inventory row on a valid cell),
 * no (cell, day) pair twice. *n_same_out = the same-cell count. SCARP_ERR_INPUT when the
 * record is too short for them. */
scarp_status scarp_hazard_negatives(const scarp_bitmap *valid, const scarp_grid *grid, const double *px, const double *py,
                                    const int64_t *pcol, const int64_t *prow, int64_t n_pos, const int64_t *ev_cell,
                                    const int32_t *ev_date, int64_t n_ev, int64_t n_neg, double share, double min_dist,
                                    int32_t first, int32_t last, int window, uint64_t seed, double *nx, double *ny,
                                    int64_t *ncol, int64_t *nrow, int32_t *ndate, uint8_t *same_cell,
                                    int64_t *n_same_out);
/* The prepare step for task = hazard: checks the inputs (series needed, no label column),
 * collects the dated inventory events on valid cells, allocates d->same_cell and fills
 * rows n_pos … n_pos+n_neg−1 of d (labels 0). */
scarp_status scarp_hazard_prepare_negatives(const scarp_config *cfg, const scarp_bitmap *valid, const scarp_grid *g,
                                            const scarp_inventory *inv, int has_series, int32_t first, int32_t last,
                                            int window, scarp_dataset *d, int64_t n_pos, int64_t n_neg,
                                            int64_t *n_same);

/* ---- split.c -------------------------------------------------------------------- */
/* Per-class counts of a stratified split: val = round(n·fval), test = round(n·ftest),
 * train = the rest (719 → 503 / 108 / 108). */
void scarp_split_counts(int64_t n, double fval, double ftest, int64_t *n_train, int64_t *n_val, int64_t *n_test);
/* Stratified random split of n labelled samples into split (0/1/2); rng stream `stream`. */
scarp_status scarp_split_random(const uint8_t *label, int64_t n, double ftrain, double fval, double ftest, uint64_t seed,
                                uint64_t stream, uint8_t *split);
/* Square blocks of `size` metres: block id of each sample (row-major block index). */
scarp_status scarp_blocks_squares(const scarp_grid *g, const double *x, const double *y, int64_t n, double size,
                                  int32_t *block);
/* k-means (k-means++ seeding, Lloyd iterations) on metric coordinates: cluster of each. */
scarp_status scarp_blocks_kmeans(const scarp_grid *g, const double *x, const double *y, int64_t n, int k, uint64_t seed,
                                 int32_t *block);
/* Whole blocks to splits, stratified: each split's size and class counts as close as possible
 * to its share of each class (greedy dealing of blocks in a seeded order, largest first, then
 * a local search of moves and swaps minimising Σ (count − target)²/target over splits and
 * classes). label may be NULL (sizes only). No block is in two splits. */
scarp_status scarp_split_blocks_stratified(const uint8_t *label, const int32_t *block, int64_t n, double ftrain,
                                           double fval, double ftest, uint64_t seed, uint64_t stream, uint8_t *split);
/* The same without labels: sizes only. */
scarp_status scarp_split_blocks(const int32_t *block, int64_t n, double ftrain, double fval, double ftest, uint64_t seed,
                                uint64_t stream, uint8_t *split);
/* k folds: stratified round-robin (random), or whole blocks (block != NULL) dealt like
 * scarp_split_blocks_stratified so each fold holds ~1/k of each class (label may be NULL). */
scarp_status scarp_split_folds(const uint8_t *label, const int32_t *block, int64_t n, int folds, uint64_t seed,
                               uint64_t stream, int16_t *fold);

/* ---- patches.c ------------------------------------------------------------------ */
/* Raw windows (n, L, H, W) centred on (col, row) (centre = row/col H/2); NaN outside the
 * grid or on nodata. One reader per thread. */
scarp_status scarp_patches_read(const scarp_stack *stack, const int64_t *col, const int64_t *row, int64_t n, int patch,
                                float *raw);

#endif
