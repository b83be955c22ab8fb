/* config.h — the study configuration (INI, read with libinih): the contract between the
 * stages. Every key has the default of DESIGN.md; unknown keys and sections are errors
 * that suggest the nearest known key. Paths in the file are resolved relative to the
 * config file's folder. Implemented in src/io/config.c. */
#ifndef SCARP_CONFIG_H
#define SCARP_CONFIG_H
#include <stdint.h>
#include "scarp/status.h"

#define SCARP_MAX_LAYERS 32
#define SCARP_MAX_MODELS 16
#define SCARP_PATH_MAX 1024

typedef enum { SCARP_KIND_CONTINUOUS = 0, SCARP_KIND_CATEGORICAL, SCARP_KIND_CIRCULAR } scarp_layer_kind;

/* DEM derivatives that a [layer.*] with `derive = ...` asks for (bit flags). */
enum {
    SCARP_DERIVE_SLOPE = 1 << 0,
    SCARP_DERIVE_ASPECT = 1 << 1,    /* circular: sin, cos */
    SCARP_DERIVE_TWI = 1 << 2,
    SCARP_DERIVE_SPI = 1 << 3,       /* stored as ln(SPI) */
    SCARP_DERIVE_CURVATURE = 1 << 4, /* plan and profile */
    SCARP_DERIVE_RIVERS = 1 << 5,    /* distance to rivers from an accumulation threshold */
    SCARP_DERIVE_LCA = 1 << 6        /* ln of the specific catchment area (m), the contributing area per unit contour */
};

/* [project] memory default: 2 GiB */
#define SCARP_DEFAULT_MEMORY ((int64_t)2 << 30)

typedef struct {
    char name[64];             /* the section suffix: [layer.NAME] */
    char path[SCARP_PATH_MAX]; /* resolved */
    int band;                  /* 1-based, default 1 */
    scarp_layer_kind kind;
    unsigned derive;           /* SCARP_DERIVE_* flags (DEM only) */
} scarp_layer_config;

typedef struct {
    char name[64];             /* [distance.NAME] */
    char path[SCARP_PATH_MAX];
} scarp_distance_config;

typedef struct {
    /* [project] */
    char config_path[SCARP_PATH_MAX]; /* the file this was read from */
    char out[SCARP_PATH_MAX];         /* default "run", resolved */
    uint64_t seed;                    /* 42 */
    int threads;                      /* 0 = all cores */
    char task[16];                    /* "susceptibility" (default) | "hazard" (issue 15) */
    char truth[SCARP_PATH_MAX];       /* synthetic truth (truth.json of `scarp synth`), "" = none */
    int64_t memory_bytes;             /* budget of the terrain chain of `prepare`, default 2 GiB */

    /* [grid] */
    char grid_reference[64];          /* layer name, default "dem"; "" when crs/extent given */
    char grid_crs[256];
    double grid_resolution;           /* 0 = unset */
    double grid_extent[4];            /* xmin ymin xmax ymax; all 0 = unset */

    /* [layer.*], [distance.*], [ndvi] */
    int n_layers;
    scarp_layer_config layers[SCARP_MAX_LAYERS];
    int n_distances;
    scarp_distance_config distances[SCARP_MAX_LAYERS];
    char ndvi_red[SCARP_PATH_MAX];    /* "" = no NDVI */
    int ndvi_red_band;
    char ndvi_nir[SCARP_PATH_MAX];
    int ndvi_nir_band;
    char flow[8];                     /* "mfd" (default) | "d8" */
    double river_threshold_km2;       /* accumulation threshold for derived rivers, default 1.0 */

    /* [inventory] */
    char inventory_path[SCARP_PATH_MAX];
    char inventory_x[64], inventory_y[64]; /* CSV columns, default "x", "y" */
    char inventory_crs[256];          /* CSV only; default: the grid's CRS */
    char inventory_date[64];          /* optional column, default "date" if present */
    char inventory_label[64];         /* optional 1/0 column: both classes given */

    /* [negatives] */
    double negatives_ratio;           /* 1 */
    double negatives_min_distance;    /* 300 m */
    char negatives_dates[16];         /* "matched" | "uniform" */
    double negatives_same_cell_share; /* hazard: share of negatives on landslide cells, 0.5 */

    /* [temporal] (all optional: no temporal branch when no series is given) */
    char stations_path[SCARP_PATH_MAX];
    char stations_crs[256];           /* default EPSG:4326 if x/y look like lon/lat, else grid */
    char stations_id[64];             /* column names in the stations/reservoirs files: "id" */
    char stations_x[64], stations_y[64]; /* "x", "y" (lon/lat auto-detected when absent) */
    char rainfall_path[SCARP_PATH_MAX];
    char reservoirs_path[SCARP_PATH_MAX];
    char reservoir_levels_path[SCARP_PATH_MAX];
    int window;                       /* 30 days */
    double temporal_resolution;       /* 1000 m */
    char interpolation[16];           /* "idw" */
    double idw_power;                 /* 2 */
    char reservoir_interpolation[16]; /* "nearest" | "idw" */

    /* [split] */
    char split_method[16];            /* "random" | "spatial" */
    double split_train, split_val, split_test; /* 0.70 0.15 0.15 */
    int folds, repeats;               /* 1, 1 */
    double block_size;                /* spatial blocks: metres, default 5000 */
    char split_blocks[16];            /* spatial: "kmeans" (default) | "squares" */
    int split_clusters;               /* spatial k-means clusters, default 0 = auto (n / 25, 10..200) */
    double split_buffer;              /* metres: training rows nearer than this to a test row are
                                         left out (Roberts et al. 2017); default 0 = none */
    char split_compare[16];           /* "none" (default) | "random": with method = spatial and
                                         folds or repeats > 1, also run conventional (random,
                                         stratified) CV with the same k and repeats and report
                                         random, spatial and their gap (Brenning 2012) */

    /* [model] */
    int n_models;
    char models[SCARP_MAX_MODELS][32]; /* cnn_lstm cnn lstm mlp svm tree forest logreg */
    int patch, epochs, batch;          /* 22 50 32 */
    double lr, l2, dropout, recurrent_dropout; /* 0.001 0.01 0.2 0.2 */
    char select[16];                   /* "val_bce" | "val_loss" */
    int trees;                         /* forest: 500 */
    double logreg_c;                   /* logistic regression inverse L2 strength; 0 = tune */
    char tune[8];                      /* networks: "auto" (grid + early stopping) | "none" */
    int patience;                      /* tune = auto: early-stopping patience in epochs, 10 */
    char augment[16];                  /* "none" | "dihedral" (cnn, cnn_lstm) */
    int ensemble;                      /* networks: seeds averaged, 1 */

    /* [map] */
    char map_model[32];               /* "cnn_lstm" */
    int map_classes;                  /* 4 */
    char map_breaks[16];              /* natural | quantile | equal | target | fixed */
    double map_thresholds[8];         /* fixed breaks (classes - 1) or target shares */
    int map_n_thresholds;
    char map_date[16];                /* "auto" (wettest window) or yyyy-mm-dd */
    int map_tile;                     /* tile size in cells, default 512 */
    char map_ensemble[8];             /* "auto" (fold/seed members when present) | "on" | "off" */
    char map_dates[48];               /* "" or D1..D2[/step]: one map per date (OUT/map/dates) */

    /* [report] */
    char report_reference[16];        /* "none" | "kerman": the published study's table beside ours */

    /* [apply] (`scarp apply RUN_DIR NEW.ini`: models of another study on this area) */
    char apply_unseen[8];             /* "error" (default): a category never seen in training stops
                                         the run | "nodata": those cells are mapped as nodata */
} scarp_config;

/* Fills every default. */
void scarp_config_defaults(scarp_config *c);
/* Reads an INI file over the defaults. Errors name file, line and key (with a suggestion
 * for unknown keys). */
scarp_status scarp_config_load(scarp_config *c, const char *path);
/* Index of a layer by name, -1 if absent. */
int scarp_config_layer(const scarp_config *c, const char *name);
/* 1 if `model` is in [model] models. */
int scarp_config_has_model(const scarp_config *c, const char *model);

#endif
