/* dataset.h — from inventory to training data (DESIGN.md §2–3): the prepared samples
 * (patches, antecedent sequences, tabular features, labels, splits), the normalisation
 * fitted on the training split only, and the temporal inputs shared EXACTLY by training
 * and mapping. Implements the data design of the reference study (CNN–LSTM landslide
 * susceptibility, Kerman: 719 + 719 samples, 22×22 patches, 30-day antecedent series,
 * min–max normalisation, stratified 70/15/15 split).
 * Implemented in src/data/{inventory,negatives,split,normalize,patches,temporal,dataset,prepare}.c */
#ifndef SCARP_DATASET_H
#define SCARP_DATASET_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/config.h"
#include "scarp/grid.h"
#include "scarp/progress.h"
#include "scarp/stack.h"
#include "scarp/status.h"

/* ------------------------------------------------------------------------------------ */
/* Dates: whole days since 1970-01-01 (proleptic Gregorian), int32.                      */
/* ------------------------------------------------------------------------------------ */
#define SCARP_NO_DATE INT32_MIN
/* Parses "yyyy-mm-dd" (also "yyyy/mm/dd", and a leading "yyyy-mm-ddT..." time part is
 * ignored); returns 0 on success, -1 if malformed or not a real day. */
int scarp_date_parse(const char *s, int32_t *days);
/* Writes "yyyy-mm-dd" (11 bytes with NUL). */
void scarp_date_format(int32_t days, char out[16]);
int32_t scarp_date_from_ymd(int y, int m, int d);
void scarp_date_to_ymd(int32_t days, int *y, int *m, int *d);

/* ------------------------------------------------------------------------------------ */
/* Temporal inputs (rainfall, reservoir level): loaded once from the config, evaluated   */
/* by the same function for training samples and map cells.                             */
/* ------------------------------------------------------------------------------------ */
typedef struct scarp_temporal scarp_temporal;

/* Loads [temporal] of cfg: stations (+ x/y columns, CRS → reprojected to grid->wkt),
 * rainfall series (long `station,date,value` or wide `date,<id>,...`, detected from the
 * header), reservoirs + levels (optional). Missing days inside each station's record are
 * filled by linear interpolation in time (counted, see scarp_temporal_report); days
 * before a station's first or after its last value are not extrapolated: that station
 * simply takes no part in IDW on those days. *t = NULL (and SCARP_OK) when cfg gives no
 * rainfall and no reservoir levels. Errors name file, line and column. */
scarp_status scarp_temporal_load(scarp_temporal **t, const scarp_config *cfg, const scarp_grid *grid);
void scarp_temporal_free(scarp_temporal *t); /* accepts NULL */

/* T: number of variables (rainfall first, then reservoir level, each only if given). */
int scarp_temporal_n_vars(const scarp_temporal *t);
/* N: window length in days ([temporal] window, default 30). */
int scarp_temporal_window(const scarp_temporal *t);
const char *scarp_temporal_var_name(const scarp_temporal *t, int var); /* "rainfall", "reservoir_level" */
/* First and last day (inclusive) of the common record of all variables. */
void scarp_temporal_range(const scarp_temporal *t, int32_t *first, int32_t *last);

/* The temporal grid: square cells of [temporal] resolution (default 1000 m; grid CRS
 * units — for a geographic grid the metres are converted to degrees at the grid's
 * centre latitude) anchored at the reference grid's top-left corner (gt[0], gt[3]).
 * Temporal cell (tc, tr) holds x in [gt0 + tc·R, gt0 + (tc+1)·R), y in (gt3 − (tr+1)·R, gt3 − tr·R]. */
void scarp_temporal_cell_of(const scarp_temporal *t, double x, double y, int64_t *tc, int64_t *tr);
void scarp_temporal_cell_centre(const scarp_temporal *t, int64_t tc, int64_t tr, double *cx, double *cy);

/* The raw sequence at the centre of the temporal cell holding (x, y) (grid CRS):
 *   out (N, T): day i = date_end_exclusive − N + i, so the last row is the day BEFORE
 *   date_end_exclusive (the event date). Rainfall by IDW (power [temporal] idw_power,
 *   default 2) over the stations with a value that day; reservoir level by nearest or
 *   IDW ([temporal] reservoir_interpolation). A station at distance 0 gives its own value.
 * SCARP_ERR_INPUT when the window leaves the record (message gives the dates).
 * Thread-safe (read-only). */
scarp_status scarp_temporal_sequence(const scarp_temporal *t, double x, double y, int32_t date_end_exclusive,
                                     float *out);
/* The same, evaluated exactly at (x, y) (no snapping to the temporal cell centre). */
scarp_status scarp_temporal_sequence_at(const scarp_temporal *t, double x, double y, int32_t date_end_exclusive,
                                        float *out);
/* The end date (exclusive, i.e. the "event date") of the wettest N-day window of the
 * record, rainfall averaged over stations (the map's default `[map] date = auto`).
 * SCARP_NO_DATE when there is no rainfall. */
int32_t scarp_temporal_wettest_window_end(const scarp_temporal *t);

typedef struct {
    int n_stations, n_reservoirs;
    int64_t rain_days, rain_missing_filled;   /* station-days filled by interpolation */
    int64_t level_days, level_missing_filled;
    int32_t first, last;                      /* common record (inclusive) */
    int rain_long_form, level_long_form;      /* 1 = long form detected */
} scarp_temporal_report;
void scarp_temporal_report_get(const scarp_temporal *t, scarp_temporal_report *r);

/* ------------------------------------------------------------------------------------ */
/* Normalisation: fitted on the TRAINING split only; stored in the model file as a blob; */
/* applied by the map engine to raw stack windows.                                       */
/* ------------------------------------------------------------------------------------ */
typedef enum {
    SCARP_CHANNEL_VALUE = 0, /* continuous: (v − min) / (max − min) */
    SCARP_CHANNEL_ONEHOT,    /* categorical: v == category ? 1 : 0 */
    SCARP_CHANNEL_SIN,       /* circular (degrees): sin(v) */
    SCARP_CHANNEL_COS        /* circular: cos(v) */
} scarp_channel_kind;

typedef struct {
    char name[64];           /* "slope", "erg=3", "aspect_sin", ... */
    int layer;               /* index of the raw stack layer */
    scarp_channel_kind kind;
    float category;          /* ONEHOT: the category value */
    float min, max;          /* VALUE: training min and max (max == min → channel is 0) */
    float mean;              /* training mean of the NORMALISED channel: nodata fill */
} scarp_norm_channel;

typedef struct {
    int L;                        /* raw stack layers the norm expects, in stack order */
    char (*layer_names)[64];      /* L */
    int *layer_kinds;             /* L, scarp_layer_kind */
    int C;                        /* channels after one-hot and sin/cos */
    scarp_norm_channel *channels; /* C */
    int patch;                    /* H = W */
    int N, T;                     /* window, temporal variables (T = 0: no temporal input) */
    char (*var_names)[32];        /* T */
    float *seq_min, *seq_max;     /* T: min–max of raw daily values over training windows */
    int S;                        /* temporal summary features (see scarp_norm_temporal_summaries) */
    char (*summary_names)[64];    /* S */
    float *sum_min, *sum_max;     /* S: min–max of raw summaries over training samples */
} scarp_norm;

void scarp_norm_init(scarp_norm *n);
void scarp_norm_free(scarp_norm *n); /* accepts NULL */
scarp_status scarp_norm_copy(scarp_norm *dst, const scarp_norm *src);

/* Fits the normalisation from raw per-sample data, using only rows with split[i] == 0:
 *   raw_patches (n, L, H, W) float32, NaN = nodata, layers as in stack;
 *   raw_seq     (n, N, T) or NULL when T == 0;
 * Category lists are the distinct values of each categorical layer in the training
 * patches (sorted); circular layers give sin and cos; nodata fill = mean of the
 * normalised channel over the valid cells of the training patches.
 * var_names: T names (NULL when T == 0). */
scarp_status scarp_norm_fit(scarp_norm *norm, const scarp_stack *stack, int64_t n, int patch, const float *raw_patches,
                            int N, int T, const char *const *var_names, const float *raw_seq, const uint8_t *split);

/* Refits `layout` on other training rows (split[i] == 0): the same channels (the category
 * lists stay those of `layout`, so every fold's model has the same inputs), with min–max,
 * nodata means and temporal scaling recomputed from those rows only. Used per outer fold
 * of cross-validation, so no test row shapes the scaling of the model that is tested on it. */
scarp_status scarp_norm_refit(scarp_norm *norm, const scarp_norm *layout, int64_t n, const float *raw_patches,
                              const float *raw_seq, const uint8_t *split);

/* Raw stack window (L, h, w) (NaN = nodata, L = norm->L) → normalised channels
 * (C, h, w); nodata → the channel's training mean. Used for training patches and by the
 * map engine, so both scale identically. Thread-safe. */
void scarp_norm_apply_window(const scarp_norm *norm, const float *raw, int64_t h, int64_t w, float *out);
/* Raw sequence (N, T) → normalised (N, T). */
void scarp_norm_apply_sequence(const scarp_norm *norm, const float *raw, float *out);
/* Temporal summary features of a RAW sequence (N, T), normalised: S values. For
 * rainfall: sum over the window, max day, sum of the last 3 days, sum of the last 7
 * days; for reservoir level: change (last − first) and mean. */
void scarp_norm_temporal_summaries(const scarp_norm *norm, const float *raw_seq, float *out);
/* Tabular row (F = C + S) from a normalised patch (C, H, W) (centre = row/col H/2) and a
 * raw sequence (N, T) (NULL when T == 0). */
void scarp_norm_tabular(const scarp_norm *norm, const float *patch, const float *raw_seq, float *out);
/* Checks that a stack has the layers this norm was fitted on (names, order, kinds);
 * SCARP_ERR_INPUT naming the first mismatch. */
scarp_status scarp_norm_check_stack(const scarp_norm *norm, const scarp_stack *stack);
/* Points the norm at another stack's layers by NAME (`scarp apply`: the same factors in
 * another area, in any order, extra layers ignored): layer indices, L, names and kinds
 * become the stack's. SCARP_ERR_INPUT naming the first factor the stack lacks, or one
 * whose kind differs; the norm is unchanged then. */
scarp_status scarp_norm_remap(scarp_norm *norm, const scarp_stack *stack);

/* Serialisation (little-endian, magic "SCNORM01", CRC-32 at the end). The blob is
 * malloc'd with scarp_malloc; free with scarp_free. Deserialize checks magic, size and
 * CRC: a damaged blob is SCARP_ERR_INPUT. */
scarp_status scarp_norm_serialize(const scarp_norm *norm, void **blob, size_t *bytes);
scarp_status scarp_norm_deserialize(scarp_norm *norm, const void *blob, size_t bytes);

/* ------------------------------------------------------------------------------------ */
/* The dataset.                                                                          */
/* ------------------------------------------------------------------------------------ */
enum { SCARP_SPLIT_TRAIN = 0, SCARP_SPLIT_VAL = 1, SCARP_SPLIT_TEST = 2 };

/* A factor for permutation importance: the channels / features / temporal variable that
 * make one original input (a one-hot group, aspect's sin + cos, a temporal variable with
 * all its days and summaries) and are permuted together. */
typedef struct {
    char name[64];
    int n_channels;
    int *channels;     /* indices into the C patch channels */
    int n_features;
    int *features;     /* indices into the F tabular features */
    int temporal_var;  /* -1, or t: seq[:, :, t] (all N days) belongs to this factor */
} scarp_factor;

typedef struct {
    int64_t n;          /* samples */
    int C, H, W;        /* patch channels and size (H = W = [model] patch) */
    int N, T;           /* window days and temporal variables (T = 0: none) */
    int F;              /* tabular features = C + S */
    float *patches;     /* (n, C, H, W) normalised; nodata → channel training mean */
    float *seq;         /* (n, N, T) normalised; NULL when T == 0 */
    float *tab;         /* (n, F): centre cell (row/col H/2) of each channel, then the S
                           normalised temporal summaries */
    float *raw;         /* (n, L, H, W) raw stack windows (NaN = nodata), L = norm.L */
    float *raw_seq;     /* (n, N, T) raw sequences; NULL when T == 0 */
    uint8_t *label;     /* (n) 1 = landslide, 0 = not */
    double *x, *y;      /* (n) cell centre, grid CRS */
    int64_t *col, *row; /* (n) grid cell */
    int32_t *date;      /* (n) days since 1970-01-01; SCARP_NO_DATE when undated */
    uint8_t *split;     /* (n) SCARP_SPLIT_TRAIN / VAL / TEST of the main run */
    int32_t *block;     /* (n) spatial block / cluster id (square blocks of [split]
                           block_size metres, or the k-means cluster when spatial) */
    uint8_t *same_cell; /* (n) or NULL: 1 = a hazard negative on a landslide cell, on a day
                           more than the window from every event there ([project] task =
                           hazard, src/data/hazard.c); 0 otherwise */
    /* k-fold / repeats: fold[r * n + i] = fold (0..folds-1) of sample i in repeat r.
     * Run (r, f) has test = fold f and train = all other folds (the training stage draws
     * its inner validation rows from those); use scarp_dataset_run_split. When folds == 1 and repeats > 1, repeat r is a fresh
     * 70/15/15 split stored as fold = split value (0/1/2). folds == repeats == 1: fold is
     * NULL and the only run is `split`. The normalisation is fitted on the main split's
     * training rows and shared by all runs. */
    int folds, repeats;
    int16_t *fold;      /* (repeats, n) or NULL */
    char (*channel_names)[64]; /* C */
    char (*feature_names)[64]; /* F */
    int n_factors;
    scarp_factor *factors;
    scarp_norm norm;    /* the fitted normalisation (owned) */
    scarp_grid grid;    /* the reference grid (owned) */
} scarp_dataset;

void scarp_dataset_init(scarp_dataset *d);
void scarp_dataset_free(scarp_dataset *d); /* accepts NULL */
/* Number of runs (folds × repeats, at least 1). */
int scarp_dataset_n_runs(const scarp_dataset *d);
/* Split of every sample for run `run` (0 ≤ run < n_runs): out (n) 0/1/2 (k folds: 0/2). */
scarp_status scarp_dataset_run_split(const scarp_dataset *d, int run, uint8_t *out);
/* Rebuilds patches, seq and tab from raw and raw_seq under `norm` (same channel layout
 * as the dataset's own norm, e.g. from scarp_norm_refit or a fold model's file). */
scarp_status scarp_dataset_apply_norm(scarp_dataset *d, const scarp_norm *norm);
/* Count of samples with split s and label lab (lab < 0: any). */
int64_t scarp_dataset_count(const scarp_dataset *d, int split, int label);

/* Binary file (little-endian): header (magic "SCDSET01", version, sizes, flags), the
 * arrays, names, factors, grid WKT + geotransform, the norm blob; CRC-32 of everything
 * before it at the end. Written crash-safely (partial + rename). A truncated, damaged or
 * foreign file is SCARP_ERR_INPUT naming the path. */
scarp_status scarp_dataset_save(const scarp_dataset *d, const char *path);
scarp_status scarp_dataset_load(scarp_dataset *d, const char *path);

/* ------------------------------------------------------------------------------------ */
/* The whole stage (`scarp prepare`).                                                     */
/* ------------------------------------------------------------------------------------ */
typedef struct {
    int64_t inventory_rows;
    int64_t dropped_off_grid, dropped_nodata, dropped_duplicate, dropped_no_date, dropped_window;
    int64_t positives, negatives;
    int labelled;                  /* 1: the inventory gave both classes */
    char dates_mode[16];           /* "matched" | "uniform" | "inventory" | "none" */
    double seconds_stack, seconds_total;
    char report_path[1024];        /* OUT/prepare_dropped.csv (the dropped points and why) */
} scarp_prepare_report;

/* The layer stack of `scarp prepare`: out_dir/stack reused when it was built from the
 * same config keys and input files (stack/prepare.stamp), else built and stamped.
 * *reused = 1 when reused. */
scarp_status scarp_prepare_stack(const scarp_config *cfg, const char *out_dir, scarp_progress *p, scarp_stack *s,
                                 int *reused);

/* Loads or builds the stack (reused when out_dir/stack/stack.json exists and matches),
 * samples, splits, fits the normalisation on train, extracts everything and writes
 * out_dir/dataset.bin, out_dir/norm.bin and out_dir/prepare_summary.txt. ds (may be NULL)
 * receives the dataset. */
scarp_status scarp_prepare(const scarp_config *cfg, const char *out_dir, scarp_progress *p, scarp_dataset *ds,
                           scarp_prepare_report *rep);

#endif
