/* synth.h — the synthetic province: a whole study area built from a seed (DESIGN.md §8).
 * A fractal DEM with fault-driven uplift, lithology (engineering rock groups), land use,
 * red/NIR bands, an orographic rainfall climate, rain stations with daily series from a
 * stochastic weather generator, reservoirs with daily levels, rivers from flow accumulation,
 * roads between towns, and a dated landslide inventory drawn from an infinite-slope factor
 * of safety (Skempton & DeLory 1957; Hammond et al. 1992, USDA INT-285) under antecedent
 * wetness, with unobserved regolith fields, neighbourhood terms and road cuts, reported with
 * realistic mapping errors (positional error, points recorded from roads, wrong digits).
 * The ground-truth failure probability of the failed cells is written as truth.tif.
 * Everything is generated in tiles with per-tile random streams: memory is bounded by the
 * tile buffers and a coarse (≤ 1024² cells) hydrology grid, whatever the size.
 * Same parameters + seed ⇒ byte-identical files, for any thread count. */
#ifndef SCARP_SYNTH_H
#define SCARP_SYNTH_H
#include <stdint.h>
#include "scarp/progress.h"
#include "scarp/status.h"

typedef struct {
    char preset[16];     /* "mini", "kerman" or "custom" (for the report and study.ini) */
    int64_t width, height; /* cells */
    double cellsize;     /* metres, 30 */
    uint64_t seed;       /* 42 */
    int n_events;        /* exact number of landslides in the inventory */
    int n_stations;      /* rain stations; 0 = from the area (10..30) */
    int n_reservoirs;    /* 0 = from the area (1..8) */
    int n_towns;         /* 0 = from the area (3..40) */
    int start_year;      /* first day of the daily series is 1 January of this year */
    int n_years;         /* length of the daily series */
    int epochs;          /* [model] epochs written into study.ini (0 = leave the default) */
} scarp_synth_params;

/* Fills the parameters of a preset: "mini" (512 × 512, 100 events, 4 years) or
 * "kerman" (4000 × 4000 at 30 m ≈ 14 400 km², the study's 719 events, 6 years).
 * Unknown name → SCARP_ERR_USAGE naming the accepted ones. */
scarp_status scarp_synth_preset(scarp_synth_params *p, const char *name);

/* Writes the whole province into out_dir (created if needed):
 *   dem.tif erg.tif landuse.tif aap.tif red.tif nir.tif truth.tif
 *   faults.gpkg rivers.gpkg roads.gpkg reservoirs.gpkg landslides.gpkg
 *   stations.csv rainfall.csv reservoirs.csv reservoir_levels.csv landslides.csv study.ini
 * Every file is written crash-safely (partial name, renamed when complete).
 * progress may be NULL (silent); cancelling returns SCARP_ERR_CANCELLED. */
scarp_status scarp_synth_run(const scarp_synth_params *p, const char *out_dir, scarp_progress *progress);

/* The engineering rock groups (erg.tif values 1..5) and the mean strength of the regolith
 * formed on them, as used by the factor of safety (cells vary around it). */
#define SCARP_SYNTH_N_ERG 5
typedef struct {
    int id;
    const char *name;
    double cohesion_kpa;  /* effective cohesion c' of the soil mantle */
    double friction_deg;  /* effective friction angle φ' */
} scarp_synth_erg;
extern const scarp_synth_erg scarp_synth_erg_table[SCARP_SYNTH_N_ERG];

/* Land-use classes (landuse.tif values 1..6) with their root cohesion. */
#define SCARP_SYNTH_N_LANDUSE 6
enum {
    SCARP_LU_BARE = 1,
    SCARP_LU_RANGELAND = 2,
    SCARP_LU_CROPLAND = 3,
    SCARP_LU_ORCHARD = 4,
    SCARP_LU_URBAN = 5,
    SCARP_LU_WATER = 6
};
typedef struct {
    int id;
    const char *name;
    double root_cohesion_kpa; /* at NDVI 0.5; scaled by the cell's NDVI */
    double ndvi_mean, ndvi_sd;
    double red_reflectance;   /* mean surface reflectance of band 4 */
} scarp_synth_landuse;
extern const scarp_synth_landuse scarp_synth_landuse_table[SCARP_SYNTH_N_LANDUSE];

/* The truth read back from a province's files (src/synth/truth.c): truth.json names
 * truth.tif (static: probability of at least one failure over the record), truth_a.tif,
 * truth_b.tif, truth_ms.tif (FS = a − b·m, static wetness m_s) and truth_series.csv (the
 * gap-free rain and reservoir levels the generator used). Errors name the file. */
typedef struct scarp_synth_truth scarp_synth_truth;
scarp_status scarp_synth_truth_open(scarp_synth_truth **t, const char *json_path);
void scarp_synth_truth_free(scarp_synth_truth *t); /* accepts NULL */
/* truth.tif at world points (grid CRS); NaN off the grid or on nodata. */
scarp_status scarp_synth_truth_static(const scarp_synth_truth *t, const double *x, const double *y, size_t n,
                                      double *out);
/* The daily failure probability p0·σ((1 − FS)/width) of the cell holding each point on day
 * date[i] (days since 1970-01-01, the "event date": the wetness is that of the 30 days
 * before); NaN when the day's window leaves the record or the point the grid. out_log
 * (may be NULL, as may out) gets ln p, exact in rank where p underflows. */
scarp_status scarp_synth_truth_daily(const scarp_synth_truth *t, const double *x, const double *y,
                                     const int32_t *date, size_t n, double *out, double *out_log);
/* The dynamic wetness m_d of that cell's block on that day (NaN outside the record). */
scarp_status scarp_synth_truth_wetness(const scarp_synth_truth *t, double x, double y, int32_t date, double *m_d);

/* Calendar helpers (proleptic Gregorian): days since 1970-01-01 ↔ yyyy-mm-dd. */
int64_t scarp_days_from_civil(int year, int month, int day);
void scarp_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
