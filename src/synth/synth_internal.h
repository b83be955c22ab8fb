/* synth_internal.h — the shared state of the synthetic-province generator (src/synth/).
 * Coordinates inside the generator are "local" metres: lx from the west edge, ly from the
 * north edge growing southwards, so cell (col, row) has its centre at ((col+.5)·cs, (row+.5)·cs).
 * World coordinates (EPSG:32640) are x = x0 + lx, y = y0 − ly. */
#ifndef SCARP_SYNTH_INTERNAL_H
#define SCARP_SYNTH_INTERNAL_H
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stdint.h>

#include "scarp/grid.h"
#include "scarp/rng.h"
#include "scarp/synth.h"

#define SYNTH_TILE 256      /* tile edge (cells) = the GeoTIFF block size */
#define SYNTH_BLOCK 32      /* temporal block (cells): wetness series are evaluated per block (~1 km) */
#define SYNTH_BINS 16       /* histogram bins of the dynamic wetness per block */
#define SYNTH_WINDOW 30     /* antecedent window (days) */
#define SYNTH_FAULT_VERTS 7
#define SYNTH_HALO 8        /* halo (cells) of a tile: the neighbourhood terms reach 6 cells */
#define SYNTH_TPI_RADIUS 4  /* topographic position: mean elevation of the (2r+1)² box minus z */
#define SYNTH_MAX_ROADS 64
#define SYNTH_ROAD_VERTS 40 /* vertices of a routed road (depth-5 midpoint routing: ≤ 33) */

/* Random stream ids (scarp_rng_stream(seed, id)). */
enum {
    SYNTH_STREAM_FAULTS = 1,
    SYNTH_STREAM_MASK,
    SYNTH_STREAM_TOWNS,
    SYNTH_STREAM_RESERVOIRS,
    SYNTH_STREAM_STATIONS,
    SYNTH_STREAM_WEATHER,
    SYNTH_STREAM_GAPS,
    SYNTH_STREAM_CALIBRATE,
    SYNTH_STREAM_ROADS,
    SYNTH_STREAM_STATION_BASE = 1000,   /* + station index */
    SYNTH_STREAM_EVENT_BASE = 100000,   /* + event index */
    SYNTH_STREAM_TILE_BASE = 10000000   /* + tile index */
};

/* A fault: a gently bending polyline whose hanging wall is uplifted (a range front):
 * uplift(d) = A · taper(along strike) · (1 − e^{−d/ws})² e^{−d/ld} / norm on the uplifted side,
 * multiplied by a compact window (1 − (d/R)²)² so it is exactly 0 beyond R (tiles can cull). */
typedef struct {
    double x[SYNTH_FAULT_VERTS], y[SYNTH_FAULT_VERTS], cum[SYNTH_FAULT_VERTS];
    int n;
    double length, amp, ws, ld, reach, norm;
    int side;               /* +1: uplift left of the trace direction, −1 right */
    double bbox[4];         /* xmin ymin xmax ymax of the trace, local metres */
} synth_fault;

/* The parameters of the model of failure and of the inventory's mapping errors
 * (docs/03-synth.md, "How the landslides happen"). */
typedef struct {
    double hazard_width;  /* logistic spread of the daily failure probability around FS = 1 */
    double fs_min;        /* least FS at the static wetness of a mantle that survived (soil thinned to it) */
    double soil_sigma;    /* log soil depth per unit of its fractal field */
    double soil_conv;     /* log soil depth per unit of convergence */
    double coh_sigma;     /* log cohesion per unit of its fractal field */
    double phi_sigma;     /* degrees of friction angle per unit of its fractal field */
    double tpi_scale;     /* m of topographic position for a full hollow (conv = 1) */
    double m_twi, m_conv, m_break, m_gw; /* weights of the static wetness terms */
    double ms_max;        /* cap of the static wetness */
    double m_rain;        /* dynamic wetness at 80 mm of rain in the 30 days before */
    double bank_tan, bank_dist;  /* subgrid steepening of river banks: + bank_tan·e^(−d/bank_dist) */
    double gully_tan;     /* subgrid steepening of gullies in soft rocks, per unit of their field */
    double road_cut, road_weaken; /* m, and FS × (1 − road_weaken·(1 − d/road_cut)) next to a road */
    double ev_road, ev_road_reach, ev_gross; /* shares of events reported from a road / mislocated */
    double ev_pos_sigma;  /* cells: Rayleigh σ of the positional error (capped at 3 cells) */
} synth_physics;

typedef struct { double x, y, radius; } synth_town;
typedef struct { double ax, ay, bx, by; } synth_seg; /* a road segment, local metres */

typedef struct {
    double x, y;            /* the dam, local metres */
    double z_bed, height;   /* bed elevation at the dam and dam height (m) */
    double radius;          /* lake reach from the dam (m) */
    double upx, upy;        /* unit vector pointing up the valley */
    double catchment_m2;
    float *level;           /* n_days, metres above the bed */
} synth_reservoir;

typedef struct {
    double x, y;            /* local metres */
    double aap;             /* target mean annual precipitation (mm) */
    float *rain;            /* n_days, mm (the true series, without gaps) */
    float *r30;             /* n_days, sum of the 30 previous days (NaN for the first 30) */
} synth_station;

typedef struct {
    scarp_synth_params p;
    scarp_grid grid;
    double cs, W, H;        /* cell size and extent (m) */
    double x0, y0;          /* world coordinates of the north-west corner */
    uint64_t seed;
    uint64_t s_base, s_detail, s_litho, s_lu, s_mask, s_cell;
    double mask_wl;         /* wavelength of the outline noise */

    synth_fault *faults;
    int n_faults;

    /* climate grid (AAP), step cstep metres, node (i, j) at (i·cstep, j·cstep) */
    int64_t cw, ch;
    double cstep;
    float *aap_grid;

    /* coarse hydrology: factor f, (hh, hw) cells of f·cs metres */
    int f;
    int64_t hw, hh;
    float *hdem, *acc_mfd, *acc_d8;

    synth_town *towns;
    int n_towns;
    /* roads: polylines (n_roads, SYNTH_ROAD_VERTS, 2) with road_np vertices each, and their segments */
    int n_roads, n_road_seg;
    int road_from[SYNTH_MAX_ROADS], road_to[SYNTH_MAX_ROADS], road_np[SYNTH_MAX_ROADS];
    double *road_xy;
    synth_seg *road_seg;
    uint64_t s_soil, s_coh, s_phi, s_gw, s_gully; /* the unobserved random fields of the regolith */
    synth_physics ph;
    synth_reservoir *res;
    int n_res;
    synth_station *st;
    int n_st;
    int n_days;
    int64_t day0;           /* days since 1970-01-01 of the first day */

    double p0;              /* daily failure probability scale (calibrated) */
    double truth_sum;       /* Σ truth over the grid: the expected number of failed cells */

    /* the inventory */
    int n_ev;
    double *ev_x, *ev_y;    /* local metres */
    int *ev_t;              /* day index */
    int n_ev_road, n_ev_gross; /* events reported near a road / grossly mislocated */
} synth_ctx;

/* ---- noise.c: hash-based value helpers and gradient-noise fBm ---- */
static inline uint64_t synth_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
/* Uniform [0, 1) from a seed and an integer cell. */
static inline double synth_hash01(uint64_t seed, int64_t a, int64_t b)
{
    uint64_t h = synth_mix64(seed ^ synth_mix64((uint64_t)a * 0x9E3779B97F4A7C15ULL + (uint64_t)b));
    return (double)(h >> 11) * 0x1.0p-53;
}
/* Gradient noise (Perlin 2002 quintic fade), about [−0.7, 0.7], unit wavelength. */
double synth_noise(uint64_t seed, double x, double y);
/* fBm: octaves from wavelength wl0 (m) halving while ≥ wl_min, amplitude × gain per octave.
 * The raw sum (not normalised), so that a low-passed evaluation (larger wl_min) is the
 * full one without its finest octaves. */
double synth_fbm(uint64_t seed, double x, double y, double wl0, double wl_min, double gain);

/* ---- relief.c ---- */
scarp_status synth_faults_make(synth_ctx *c);
/* Sum of the fault uplifts at (x, y) (m) and the distance to the nearest fault trace (m). */
double synth_uplift(const synth_ctx *c, double x, double y, const int *fault_idx, int n_idx, double *dist_fault);
/* Faults whose reach intersects the box [x0, x1] × [y0, y1]; returns the count (idx: n_faults). */
int synth_faults_cull(const synth_ctx *c, double x0, double y0, double x1, double y1, int *idx);
/* Terrain elevation (m), low-passed to wavelengths ≥ wl_min (cs·2 for the full DEM);
 * U and dist_fault (may be NULL) get the uplift and the distance to the nearest fault. */
double synth_terrain(const synth_ctx *c, double x, double y, double wl_min, const int *fault_idx, int n_idx,
                     double *U, double *dist_fault);
/* 1 inside the province outline (cells outside are nodata in every layer). */
int synth_inside(const synth_ctx *c, double x, double y);
/* Index of the reservoir whose lake covers (x, y) at terrain elevation z, or −1. */
int synth_lake(const synth_ctx *c, double x, double y, double z);

/* ---- hydro.c: coarse hydrology, rivers, towns, roads, reservoirs ---- */
scarp_status synth_climate_make(synth_ctx *c);
double synth_aap_at(const synth_ctx *c, double x, double y);
scarp_status synth_hydro_make(synth_ctx *c);
/* Bilinear MFD contributing area (m²) of the coarse grid at (x, y). */
double synth_acc_at(const synth_ctx *c, double x, double y);
/* Distance (m) from (x, y) to the centre of the nearest river cell of the coarse hydrology grid
 * (D8 area ≥ the rivers.gpkg threshold), or maxd when none is nearer. */
double synth_river_distance(const synth_ctx *c, double x, double y, double maxd);
scarp_status synth_towns_make(synth_ctx *c);
scarp_status synth_reservoirs_place(synth_ctx *c);
/* Distance (m) from (x, y) to the nearest of the road segments seg_idx (all when NULL), and
 * the nearest point on it (px, py may be NULL). 1e30 when there is no road. */
double synth_road_distance(const synth_ctx *c, double x, double y, const int *seg_idx, int n_idx, double *px,
                           double *py);
/* Road segments within `reach` of the box [x0, x1] × [y0, y1]; returns the count (idx: n_road_seg). */
int synth_roads_cull(const synth_ctx *c, double x0, double y0, double x1, double y1, double reach, int *idx);
/* D8 receiver direction (0..7: N, NE, E, SE, S, SW, W, NW) of a coarse cell, −1 at an outlet. */
int synth_d8_receiver(const synth_ctx *c, int64_t i, int64_t j);
void synth_d8_offset(int dir, int *dc, int *dr);

/* ---- weather.c ---- */
scarp_status synth_weather_make(synth_ctx *c);
scarp_status synth_reservoir_levels(synth_ctx *c);
/* Dynamic wetness (rain + drawdown) at (x, y) for every day t ≥ SYNTH_WINDOW: out (n_days),
 * entries before the window are 0. */
void synth_dynamic_wetness(const synth_ctx *c, double x, double y, float *out);
/* Seasonal wetness factor in [0, 1] for day t (peaks in February). */
double synth_season(const synth_ctx *c, int t);

/* ---- tile.c: every raster layer of a window, and the stability terms ---- */
typedef struct {
    int64_t cap;            /* capacity in cells of the (h, w) outputs */
    float *dem, *erg, *lu, *aap, *red, *nir, *truth; /* (h, w) */
    float *G;               /* (h, w) Σ over days of the failure intensity / p0 */
    float *fs_a, *fs_b, *ms; /* (h, w) FS = a − b·m, static wetness */
    float *U, *dfault, *lake; /* (h, w) uplift, distance to the nearest fault, lake index or −1 */
    float *halo, *slope, *aspect; /* (h+2R, w+2R), R = SYNTH_HALO */
    double *zsum, *zcnt;    /* (h+2R+1, w+2R+1) summed-area tables of the haloed elevation */
    int64_t sat_cap;
    int *road_idx;
    int64_t halo_cap;
    float *hist_n, *hist_m; /* (blocks, SYNTH_BINS) */
    int64_t hist_cap;
    float *mdyn;            /* n_days */
    int *fault_idx;
    scarp_cellsize cs;
    int64_t cs_rows;
} synth_tile;

scarp_status synth_tile_init(synth_tile *t, const synth_ctx *c, int64_t max_w, int64_t max_h);
void synth_tile_free(synth_tile *t);
/* Computes every layer of the window [col0, col0+w) × [row0, row0+h); truth uses c->p0. */
scarp_status synth_tile_compute(const synth_ctx *c, synth_tile *t, int64_t col0, int64_t row0, int64_t w,
                                int64_t h);
/* Per-cell daily hazard σ((1 − FS)/width) for wetness m. */
static inline double synth_hazard(double a, double b, double m, double width)
{
    double fs = a - b * (m < 0 ? 0 : m > 1 ? 1 : m);
    return 1.0 / (1.0 + exp((fs - 1.0) / width));
}

/* ---- writer.c ---- */
scarp_status synth_write_vectors(const synth_ctx *c, const char *dir);
scarp_status synth_write_series(const synth_ctx *c, const char *dir);
scarp_status synth_write_study_ini(const synth_ctx *c, const char *dir);
/* truth.json (the formula's constants, station and reservoir positions) and
 * truth_series.csv (the gap-free rain and levels the generator used). */
scarp_status synth_write_truth(const synth_ctx *c, const char *dir);
scarp_status synth_roads_make(synth_ctx *c);
void synth_date_string(const synth_ctx *c, int t, char out[11]);

#endif
