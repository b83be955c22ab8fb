/* apply.h — `scarp apply RUN_DIR NEW.ini` (issue 17): the trained models of one study
 * carried to another area. The new area's layer stack is built from NEW.ini by the usual
 * code path (any CRS and resolution, warped as usual, terrain derived on the new DEM); the
 * models' factors are matched to its layers by name; a DOMAIN REPORT comes first (per
 * factor the share of valid cells outside the training min–max stored in the model's
 * normalisation, categories never seen in training, grids and series of both areas) with
 * the per-cell mask map/outside_range.tif; then the map engine maps the models into
 * NEW.ini's [project] out, and where NEW.ini has an inventory every one of its samples is
 * scored (apply/metrics.json). Implemented in src/run/apply.c; docs/08-apply.md. */
#ifndef SCARP_APPLY_H
#define SCARP_APPLY_H
#include <stdint.h>
#include "scarp/config.h"
#include "scarp/eval.h"
#include "scarp/map.h"
#include "scarp/progress.h"
#include "scarp/status.h"

/* Values of map/outside_range.tif (Byte; 255 = nodata where the area is void). */
enum { SCARP_DOMAIN_INSIDE = 0, SCARP_DOMAIN_OUTSIDE = 1, SCARP_DOMAIN_UNSEEN = 2, SCARP_DOMAIN_NODATA = 255 };

#define SCARP_APPLY_MAX_UNSEEN 32 /* distinct unseen values listed per factor (the rest are counted) */

typedef struct {
    char name[64];             /* the stack layer ("dem", "erg", "slope", ...) */
    int kind;                  /* scarp_layer_kind */
    double train_min, train_max; /* continuous: the training range (widest over ensemble members) */
    int n_categories;          /* categorical: categories seen in training */
    int64_t below, above;      /* continuous: valid cells below / above the range */
    int64_t outside;           /* below + above (continuous) or unseen cells (categorical) */
    double share;              /* outside / valid cells */
    int n_unseen;              /* categorical: distinct unseen values listed (at most the max) */
    int unseen_value[SCARP_APPLY_MAX_UNSEEN];
    int64_t unseen_cells[SCARP_APPLY_MAX_UNSEEN];
    int64_t unseen_other_cells; /* cells of further unseen values, beyond the listed ones */
} scarp_apply_factor;

typedef struct {
    int present;               /* 0: no series (or unknown for the training area) */
    int n_stations, n_reservoirs;
    char first[16], last[16];  /* common record, yyyy-mm-dd */
} scarp_apply_series;

typedef struct {
    char model[64];            /* the resolved model name */
    int members;               /* model files averaged */
    int n_factors;
    scarp_apply_factor factors[64];
    int64_t valid_cells;       /* of the new area */
    int64_t outside_cells;     /* valid cells outside the training range in >= 1 factor (and no unseen category) */
    int64_t unseen_cells;      /* valid cells with >= 1 unseen category */
    int unseen_nodata;         /* [apply] unseen = nodata */
    char train_crs[128], new_crs[128];
    double train_res[2], new_res[2]; /* |pixel width|, |pixel height| in CRS units */
    int64_t train_size[2], new_size[2];
    scarp_apply_series train_series, new_series;
    char domain_path[SCARP_PATH_MAX + 32];
    /* mapping */
    scarp_map_report map;
    /* evaluation on the new area's inventory */
    int evaluated;
    int64_t dropped_unseen;    /* samples left out: their cell holds an unseen category (unseen = nodata) */
    scarp_metrics metrics;     /* over every sample of the new area (threshold 0.5) */
} scarp_apply_report;

typedef struct {
    const char *model_name;    /* NULL: NEW.ini's [map] model ("best": RUN_DIR's models/best.json) */
    int tile;                  /* 0: [map] tile */
    int no_figures;
    /* called once the domain report is written, before mapping (may be NULL) */
    void (*on_domain)(const scarp_apply_report *rep, void *user);
    void *user;
} scarp_apply_options;

/* Applies the models of run_dir (a run folder of `scarp train`/`scarp run`) to the area of
 * cfg, writing into out_dir: stack/ (+ dataset.bin when cfg has an inventory), apply/domain.json,
 * apply/domain.txt, map/outside_range.tif + .qml, the map of scarp_map_run_ex, and
 * apply/metrics.json when evaluated. Errors (SCARP_ERR_INPUT, one line): a factor the model
 * needs that the area lacks, a category never seen in training ([apply] unseen = error),
 * series the model needs that cfg lacks, an event or map date whose window leaves the new
 * series. Nothing of the domain report, mask or map is written under a final name then. */
scarp_status scarp_apply_run(const char *run_dir, const scarp_config *cfg, const char *out_dir,
                             const scarp_apply_options *opts, scarp_progress *progress, scarp_apply_report *rep);

#endif
