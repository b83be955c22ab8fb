/* map.h — the map engine (DESIGN.md §6): a trained model applied to every valid cell of
 * the grid, tile by tile, exactly and fast.
 *
 * Dense evaluation (src/map/dense.c): with 'valid' 3×3 convolutions and 2×2 floor
 * pooling, the per-patch CNN branch equals ONE pass over a tile with stride-1 pooling and
 * dilations 1, 2, 4 ("algorithme à trous": Holschneider et al. 1989; Mallat 1999; for
 * CNNs Giusti et al. 2013, "Fast image scanning with deep max-pooling convolutional
 * neural networks", ICIP; Long et al. 2015). Batch norm comes after pooling in each block
 * and is applied as a per-channel affine map in the pooling pass. The patch of cell
 * (r, c) spans rows r−11 … r+10 (centre at H/2 = 11), so a tile of th × tw outputs needs
 * an input window of (th + 21) × (tw + 21) starting at (row0 − 11, col0 − 11).
 * The LSTM branch runs once per temporal-grid cell; its share of the first dense layer
 * (W_t·h + b) is precomputed per temporal cell and broadcast to the cells it holds.
 *
 * Tiles (src/map/tiles.c): a journal (OUT/map/tiles/tiles.done) lists finished tiles, each
 * stored crash-safely as OUT/map/tiles/tNNNNNNNN.bin; a rerun after a crash or kill -9
 * skips them and assembles the same bytes. MPI (src/map/mpi.c): under mpirun, ranks take
 * tiles round-robin; rank 0 assembles.
 */
#ifndef SCARP_MAP_H
#define SCARP_MAP_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/classes.h"
#include "scarp/config.h"
#include "scarp/mpi.h"
#include "scarp/nn.h"
#include "scarp/progress.h"
#include "scarp/status.h"

/* Rows/columns of a tile's input window before and after the output cell. */
#define SCARP_MAP_HALO_BEFORE 11
#define SCARP_MAP_HALO_AFTER 10
#define SCARP_MAP_HALO (SCARP_MAP_HALO_BEFORE + SCARP_MAP_HALO_AFTER)

/* ---- dense engine ------------------------------------------------------------------ */

/* The model's tensors rearranged for dense evaluation (owned copies). */
typedef struct {
    scarp_model_kind kind;
    int C;             /* input channels (0 for lstm/mlp) */
    int F[3];          /* filters per block */
    float *conv_w[3];  /* (F_l, F_{l-1}·9): OIHW flattened = the GEMM's A */
    float *conv_b[3];  /* (F_l) */
    float *bn_scale[3], *bn_shift[3]; /* (F_l): γ/√(var+ε), β − mean·scale */
    int n_cnn, n_lstm; /* widths of the head input parts (cnn_lstm: 128, 64) */
    int H1, H2;        /* dense widths (128, 64) */
    float *w1c;        /* (H1, n_cnn) transposed from Keras (In, Out) */
    float *w1t;        /* (H1, n_lstm or F for the MLP) */
    float *b1;         /* (H1) */
    float *w2, *b2;    /* (H2, H1), (H2) */
    float *w2t;        /* (H1, H2): W2 as Keras stores it, unit j's outgoing weights contiguous */
    float *w3;         /* (H2) */
    float b3;
} scarp_dense_net;

/* Builds the dense form of a model's CNN branch and head. The CNN must reduce a patch to
 * 1×1 (patch 22 or 23); other sizes are SCARP_ERR_INPUT. */
scarp_status scarp_dense_net_init(scarp_dense_net *net, const scarp_model *model);
void scarp_dense_net_free(scarp_dense_net *net); /* accepts NULL */

/* Per-thread buffers for tiles up to max_w × max_h outputs (sized once; no allocation in
 * scarp_dense_tile). */
typedef struct scarp_dense_work scarp_dense_work;
scarp_status scarp_dense_work_new(const scarp_dense_net *net, int max_w, int max_h, scarp_dense_work **w);
void scarp_dense_work_free(scarp_dense_work *w);
/* Sizes the dated head's buffers for n_t temporal cells × n_dates dates (grows only; call
 * before scarp_dense_tile_dates / scarp_dense_head_dates with n_dates > 1). */
scarp_status scarp_dense_work_reserve_dates(scarp_dense_work *w, const scarp_dense_net *net, int n_t, int n_dates);
/* What the sign-settled head met (summed over the calls on this work): cells, first-layer
 * units (cells × H1), units settled for every date (always on or always off), and units
 * listed for per-date work (undecided + the smaller of the on/off sets). */
typedef struct {
    int64_t cells, units, settled, listed;
    int64_t units2, settled2; /* second-layer units (cells × H2) and those ON or OFF on every date */
    int64_t by_reference[3]; /* cells whose ON-set sum was taken from none, every unit, the majority set */
} scarp_dense_head_stats;
scarp_dense_head_stats scarp_dense_work_stats(const scarp_dense_work *w);
/* The input buffer to fill before scarp_dense_tile: (C, th + 21, tw + 21), contiguous,
 * normalised (nodata already replaced by the channel means). */
float *scarp_dense_work_input(scarp_dense_work *w);

/* Temporal gains: G (n_t, H1), row t = W1_t · h_t + b1 for temporal cell t (cnn: just b1,
 * n_t = 1). tidx (th·tw) gives each output cell's row of G (NULL: row 0 for all).
 * Writes prob (th, tw) = the model's probability for every cell of the tile (the caller
 * masks invalid cells). */
void scarp_dense_tile(const scarp_dense_net *net, scarp_dense_work *w, int tw, int th, const float *G,
                      const int32_t *tidx, float *prob);
/* The same for n_dates sets of temporal gains: G (n_dates, n_t, H1) with g_stride =
 * n_t·H1 floats between dates (n_t = g_stride / H1 with tidx, 1 without); prob (n_dates,
 * th, tw). The CNN branch and the first-layer product W1c·feat run ONCE. n_dates = 1 is
 * exactly scarp_dense_tile (the same floating-point operations). n_dates > 1 uses the
 * sign-settled head (scarp_dense_head_dates, settled = 1): per cell, the first-layer units
 * whose sign the range of G over the dates decides are folded into one GEMM for every
 * date, and only the rest run per date; equal to the per-date head within float32
 * rounding (regrouped sums). Needs scarp_dense_work_reserve_dates(w, net, n_t, n_dates). */
void scarp_dense_tile_dates(const scarp_dense_net *net, scarp_dense_work *w, int tw, int th, const float *G,
                            size_t g_stride, int n_dates, const int32_t *tidx, float *prob);
/* The head alone on r rows of first-layer CNN parts za (H1, r·S) (row stride S, columns
 * >= tw unused; r·S <= the work's strip of 4096 cells or one row): for each date d,
 * prob[d·p_stride + y·tw + x] = σ(w3·relu(W2·relu(za + G_d[tidx]) + b2) + b3).
 * settled = 0: date by date (the naive twin, head of one map); 1: the sign-settled
 * fast path (needs scarp_dense_work_reserve_dates). */
void scarp_dense_head_dates(const scarp_dense_net *net, scarp_dense_work *w, const float *za, int S, int r, int tw,
                            const float *G, size_t g_stride, int n_t, int n_dates, const int32_t *tidx, float *prob,
                            size_t p_stride, int settled);
/* First-layer pre-activations from the non-CNN part of the head input: G (n, H1) =
 * h (n, n_lstm) · W1[n_cnn:, :] + b1 (cnn_lstm/lstm: LSTM states; mlp: tabular rows;
 * cnn: h = NULL, n = 1, G = b1). */
void scarp_dense_gain(const scarp_dense_net *net, const float *h, int64_t n, float *G);
/* The same head for rows of precomputed first-layer pre-activations: used by lstm/mlp
 * maps. z1 (n, H1) is overwritten. */
void scarp_dense_head_rows(const scarp_dense_net *net, float *z1, int64_t n, float *prob, float *scratch /* (n, H2) */);

/* FLOPs per output cell of the dense pass for a tw × th tile (conv + head, 2 × MAC). */
double scarp_dense_flops_per_cell(const scarp_dense_net *net, int tw, int th);

/* ---- tiling, journal, MPI ------------------------------------------------------------ */

typedef struct {
    int64_t width, height;  /* grid */
    int tile_w, tile_h;
    int64_t nx, ny, n;      /* tiles across, down, total */
} scarp_tiling;
void scarp_tiling_init(scarp_tiling *t, int64_t width, int64_t height, int tile_w, int tile_h);
/* Window of tile i (raster order). */
void scarp_tiling_tile(const scarp_tiling *t, int64_t i, int64_t *col0, int64_t *row0, int *w, int *h);

/* The store of finished tiles: dir/tNNNNNNNN.bin (bands × h × w floats, header with a
 * CRC) and dir/tiles.done (+ tiles.done.RANK under MPI), one line per tile, fsync'd after
 * the tile file is renamed into place. plan_key identifies the run (grid, tile size,
 * model checksum, date...): a store made for another plan is cleared on open. */
typedef struct scarp_tile_store scarp_tile_store;
scarp_status scarp_tile_store_open(scarp_tile_store **s, const char *dir, const scarp_tiling *tiling, int bands,
                                   const char *plan_key, int rank);
/* 1 if tile i is journalled as done (and its file is intact). */
int scarp_tile_store_done(const scarp_tile_store *s, int64_t i);
int64_t scarp_tile_store_count_done(const scarp_tile_store *s);
/* Stores tile i (bands × h × w) crash-safely, then journals it. Thread-safe. */
scarp_status scarp_tile_store_put(scarp_tile_store *s, int64_t i, const float *data);
/* Reads tile i back (bands × h × w). Thread-safe. */
scarp_status scarp_tile_store_get(const scarp_tile_store *s, int64_t i, float *data);
/* Re-reads every journal (after other ranks finished). */
scarp_status scarp_tile_store_refresh(scarp_tile_store *s);
/* Deletes the tile files and journals, then the folder. */
void scarp_tile_store_remove(scarp_tile_store *s);
void scarp_tile_store_close(scarp_tile_store *s); /* accepts NULL */

/* MPI: scarp/mpi.h (scarp_mpi_start, _barrier, _all_ok, _finish, ...). */

/* ---- the whole stage ------------------------------------------------------------------ */

typedef struct {
    const char *model_name; /* NULL: cfg->map_model; a name ("cnn_lstm", "forest") or a path */
    int tile;               /* 0: cfg->map_tile (default 512) */
    int tile_h;             /* 0: = tile (tests use odd sizes like 37 × 29) */
    int keep_tiles;         /* 1: leave OUT/map/tiles after assembly */
    int no_figures;         /* 1: skip PNGs */
    const char *dates;      /* NULL: the config's. "yyyy-mm-dd": one map at that date (overrides
                               [map] date); "D1..D2[/step]": dated maps (overrides [map] dates) */
    const char *ensemble;   /* NULL: [map] ensemble; "auto", "on" or "off" */
    /* `scarp apply` (src/run/apply.c): models of another study on this grid */
    const char *models_dir; /* NULL: out_dir; else the run folder whose models/ (and best.json) are mapped */
    int match_by_name;      /* 1: the stack's layers are matched to each model's factors by name (any
                               order, extra layers ignored; a missing one is an error naming it) */
    const char *valid_path; /* NULL: stack/valid.tif; else a Byte mask (1 = map the cell) on the grid */
    int64_t valid_cells;    /* the 1s of valid_path */
} scarp_map_options;

/* The model files `[map] model` / --model NAME resolves to in run_dir/models (NAME, "best"
 * via best.json, fold or seed members by ensemble = auto | on | off; or explicit comma-
 * separated paths): *paths (scarp_malloc'd, *n rows) in the order the map averages them;
 * resolved receives the model name. The same rule as scarp_map_run_ex. */
scarp_status scarp_map_model_files(const char *run_dir, const char *name, const char *ensemble,
                                   char (**paths)[SCARP_PATH_MAX], int *n, char *resolved, size_t rsize);

/* Parses "D1..D2[/step]" (or one date "D") into days since 1970-01-01: at most max dates,
 * D1 <= D2, step >= 1 day. SCARP_ERR_INPUT naming the text on a malformed range. */
scarp_status scarp_map_dates_parse(const char *text, int32_t *dates, int max, int *n);
#define SCARP_MAP_MAX_DATES 400

typedef struct {
    int64_t cells, valid_cells, tiles, tiles_skipped;
    double seconds_compute, seconds_assemble;
    double cells_per_second;  /* valid + invalid grid cells of computed tiles / compute time */
    double dense_gflops;      /* FLOP/s of the dense CNN passes / 1e9 over the compute time
                                 (scarp_dense_flops_per_cell; 0 for models without a CNN) */
    char date[16];            /* the map date (yyyy-mm-dd) or "" (no temporal input) */
    char date_rule[96];       /* how it was chosen: "auto: ..." (wettest window) or "[map] date" */
    double breaks[SCARP_CLASSES_MAX - 1];
    scarp_class_stats stats;
    double success_auc, prediction_auc;
    int ensemble;             /* models averaged */
    int n_dates;              /* dated maps written to OUT/map/dates (0: one map in OUT/map) */
    int64_t cnn_passes;       /* dense CNN-branch passes run (tiles with valid cells × members):
                                 the same for one date or many (the features are reused) */
    int64_t lstm_sequences;   /* LSTM branch runs: temporal cells × dates × members */
    double head_settled_share;/* dated cnn_lstm maps: share of (cell, first-layer unit) pairs whose
                                 sign the range of the dates' gains decides (scarp_dense_head_stats) */
    double head_listed_share; /* ... and the share that still runs per date (0 for one date) */
    double head2_settled_share; /* ... and of (cell, second-layer unit) pairs ON or OFF on every date */
    double sd_share_above;    /* ensembles: share of the valid area with sd > SCARP_MAP_SD_THRESHOLD */
} scarp_map_report;

/* The sd of the ensemble's probability above which a cell counts as uncertain in the
 * summary and the report ("x % of the area has sd > 0.1"). */
#define SCARP_MAP_SD_THRESHOLD 0.1

/* Maps with the configured (or named) model: reads out_dir/stack, out_dir/dataset.bin
 * (landslides and their splits) and the model files (docs/07-map.md "Which models"): with
 * [map] ensemble = auto (default) the fold models NAME.rR.fF[.sK].model when cross-validation
 * wrote them, else the seed members NAME.model + NAME.sK.model, else NAME.model; each
 * member is applied with its own normalisation; writes out_dir/map/{susceptibility.tif, classes.tif,
 * classes.qml, uncertainty_sd.tif + uncertainty.png (ensembles), quicklook.png, rates.png,
 * summary.json, figures.json}; with several dates ([map] dates or opts->dates = a range)
 * out_dir/map/dates/{susceptibility_D.tif, classes_D.tif, uncertainty_sd_D.tif
 * (ensembles), strip.png, top_class_share.csv, top_class_share.png, summary.json,
 * figures.json} instead. rep may be NULL. */
scarp_status scarp_map_run_ex(const scarp_config *cfg, const char *out_dir, const scarp_map_options *opts,
                              scarp_progress *progress, scarp_map_report *rep);
/* The lead's entry point: default options, model_name NULL = cfg->map_model. */
scarp_status scarp_map_run(const scarp_config *cfg, const char *out_dir, const char *model_name,
                           scarp_progress *progress);

#endif
