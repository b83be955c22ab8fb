/* classes.h — susceptibility classes, per-class statistics and success/prediction-rate
 * curves (pure computation on plain arrays; implemented in src/eval/classes.c, rates.c).
 * Natural breaks: Jenks (1967), "The data model concept in statistical mapping", exact
 * dynamic programme (Fisher 1958, "On grouping for maximum homogeneity", JASA 53).
 * Target breaks: classes hold given shares of landslides, as LSAT does (Polat 2021,
 * "An innovative, fast method for landslide susceptibility mapping", Environ. Earth Sci.).
 * Success/prediction-rate curves: Chung & Fabbri (2003), "Validation of spatial prediction
 * models for landslide hazard mapping", Natural Hazards 30. */
#ifndef SCARP_CLASSES_H
#define SCARP_CLASSES_H
#include <stddef.h>
#include <stdint.h>
#include "scarp/status.h"

#define SCARP_CLASSES_MIN 3
#define SCARP_CLASSES_MAX 5

typedef enum {
    SCARP_BREAKS_NATURAL = 0, /* Jenks on a seeded sample of cells */
    SCARP_BREAKS_QUANTILE,    /* equal share of area per class */
    SCARP_BREAKS_EQUAL,       /* equal interval between the map's min and max */
    SCARP_BREAKS_TARGET,      /* given share of landslides per class (low → very high) */
    SCARP_BREAKS_FIXED        /* given thresholds */
} scarp_breaks_method;

/* "natural" | "quantile" | "equal" | "target" | "fixed"; error names the value. */
scarp_status scarp_breaks_parse(const char *name, scarp_breaks_method *method);
const char *scarp_breaks_name(scarp_breaks_method method);

/* Class names and RGBA colours (green → red) for k classes (3..5):
 * 3: low, moderate, high; 4: + very high; 5: very low, low, moderate, high, very high. */
const char *const *scarp_class_names(int k);
const uint8_t (*scarp_class_colors(int k))[4];

/* Class of a value given k-1 ascending upper bounds: the number of breaks b with v > b
 * (so v <= breaks[0] is class 0, the lowest). NaN → -1. */
static inline int scarp_class_of(double v, const double *breaks, int k)
{
    if (v != v) return -1;
    int c = 0;
    while (c < k - 1 && v > breaks[c]) c++;
    return c;
}

/* Exact Jenks natural breaks of n sorted values into k classes (Fisher's DP, O(k n²),
 * minimising the total within-class sum of squared deviations). breaks (k-1): the upper
 * value of each class but the last. *ssd (optional): the minimum within-class SSD.
 * Needs n >= k. */
scarp_status scarp_jenks_sorted(const double *sorted, size_t n, int k, double *breaks, double *ssd);

/* Breaks for k classes (3..5) by `method`:
 *  natural:  Jenks on `sample` (n_sample values, any order; at most 4000 are used, drawn
 *            with the seeded generator `seed`);
 *  quantile: the (i/k) quantiles of `sample` (type-7 interpolation);
 *  equal:    vmin + i (vmax - vmin)/k;
 *  target:   params = k shares of landslides per class, low → very high, summing to 1
 *            (NULL: scarp_target_default); breaks are quantiles of `landslide_values`
 *            (n_ls values at landslide cells) at the cumulative shares;
 *  fixed:    params = k-1 ascending thresholds.
 * breaks (k-1) come out ascending; error on bad parameters names them. */
scarp_status scarp_class_breaks(scarp_breaks_method method, int k, const float *sample, size_t n_sample,
                                double vmin, double vmax, const float *landslide_values, size_t n_ls,
                                const double *params, int n_params, uint64_t seed, double *breaks);

/* Default target shares of landslides per class (low → very high) for k classes. */
const double *scarp_target_default(int k);

/* Per-class statistics of a classified map. */
typedef struct {
    int k;
    int64_t cells[SCARP_CLASSES_MAX];      /* valid cells per class */
    int64_t landslides[SCARP_CLASSES_MAX]; /* inventory landslides per class (on valid cells) */
    int64_t test[SCARP_CLASSES_MAX];       /* test-split landslides per class */
    double area_share[SCARP_CLASSES_MAX];  /* cells / all valid cells */
    double ls_share[SCARP_CLASSES_MAX];    /* landslides / all landslides on valid cells */
    double test_share[SCARP_CLASSES_MAX];
    double frequency_ratio[SCARP_CLASSES_MAX]; /* ls_share / area_share (0 when no area) */
    double ls_high;    /* share of inventory landslides in the two highest classes (k = 3: the highest) */
    double test_high;  /* the same for the test split */
    double area_high;  /* share of area in those classes */
} scarp_class_stats;

/* Accumulation: zero with scarp_class_stats_init, add class counts of cells (per tile) and
 * landslides, then finish computes the shares. */
void scarp_class_stats_init(scarp_class_stats *s, int k);
void scarp_class_stats_add_cells(scarp_class_stats *s, const int64_t *cells_per_class);
/* cls: class of the landslide's cell (-1 = nodata: ignored); is_test: in the test split. */
void scarp_class_stats_add_landslide(scarp_class_stats *s, int cls, int is_test);
void scarp_class_stats_finish(scarp_class_stats *s);

/* Success-rate (training landslides) or prediction-rate (test landslides) curve:
 * cells sorted by decreasing susceptibility; x = cumulative share of area, y = cumulative
 * share of landslides. Computed from a histogram of the map's valid values over
 * [lo, hi] in nbins equal bins (hist[nbins]), landslide cell values `ls` (n_ls).
 * Within a bin, area and landslides are spread uniformly (a linear segment), so the curve
 * is exact when no bin holds two distinct values. Writes npts points (x, y) (npts >= 2,
 * including (0,0) and (1,1)), at x = i/(npts-1), and returns the area under the curve
 * (trapezoid over the bins) in *auc. */
scarp_status scarp_rate_curve(const int64_t *hist, int nbins, double lo, double hi, const float *ls, size_t n_ls,
                              int npts, double *x, double *y, double *auc);
/* The bin of a value in such a histogram (clamped to [0, nbins-1]). */
static inline int scarp_hist_bin(double v, int nbins, double lo, double hi)
{
    double t = (v - lo) / (hi - lo) * nbins;
    int b = (int)t;
    return b < 0 ? 0 : b >= nbins ? nbins - 1 : b;
}

#endif
