/* twi_spi.c — specific catchment area, topographic wetness index, stream power index, rivers.
 * TWI = ln(a / tan β): Beven, K.J., Kirkby, M.J. (1979) A physically based, variable
 * contributing area model of basin hydrology. Hydrological Sciences Bulletin 24(1):43-69,
 * doi:10.1080/02626667909491834. SPI = a · tan β: Moore, I.D., Grayson, R.B., Ladson, A.R.
 * (1991) Digital terrain modelling: a review. Hydrological Processes 5:3-30,
 * doi:10.1002/hyp.3360050103. The β = 0 guard (tan β >= 0.001) is SAGA's (ta_hydrology 20/21).
 * Also: rivers by an accumulation threshold and uniform cell sizes for tests. */
#include <math.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"

static const double DEG2RAD = 0.017453292519943295;

scarp_status scarp_specific_catchment_area(const float *acc_m2, int64_t width, int64_t height,
                                           const scarp_cellsize *cs, float *sca_m)
{
    if (!acc_m2 || !cs || !sca_m || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_specific_catchment_area: empty raster");
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < height; r++) {
        float inv_width = (float)(1.0 / sqrt(cs->dx_row[r] * cs->dy_row[r]));
        for (int64_t c = 0; c < width; c++) sca_m[r * width + c] = acc_m2[r * width + c] * inv_width;
    }
    return SCARP_OK;
}

static inline double guarded_tan(float slope_deg, double min_tan)
{
    double t = tan(slope_deg * DEG2RAD);
    return t < min_tan ? min_tan : t;
}

scarp_status scarp_twi(const float *sca_m, const float *slope_deg, int64_t n, double min_tan_slope, float *twi)
{
    if (!sca_m || !slope_deg || !twi || n < 0) return scarp_fail(SCARP_ERR_USAGE, "scarp_twi: missing array");
    if (!(min_tan_slope > 0.0)) min_tan_slope = SCARP_MIN_TAN_SLOPE;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float a = sca_m[i], s = slope_deg[i];
        twi[i] = (isnan(a) || isnan(s) || !(a > 0.0f)) ? NAN : (float)log(a / guarded_tan(s, min_tan_slope));
    }
    return SCARP_OK;
}

scarp_status scarp_spi_ln(const float *sca_m, const float *slope_deg, int64_t n, double min_tan_slope,
                          float *spi_ln)
{
    if (!sca_m || !slope_deg || !spi_ln || n < 0) return scarp_fail(SCARP_ERR_USAGE, "scarp_spi_ln: missing array");
    if (!(min_tan_slope > 0.0)) min_tan_slope = SCARP_MIN_TAN_SLOPE;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float a = sca_m[i], s = slope_deg[i];
        spi_ln[i] = (isnan(a) || isnan(s) || !(a > 0.0f)) ? NAN : (float)log(a * guarded_tan(s, min_tan_slope));
    }
    return SCARP_OK;
}

scarp_status scarp_rivers_from_accumulation(const float *acc_m2, int64_t n, double threshold_m2, float *rivers)
{
    if (!acc_m2 || !rivers || n < 0) return scarp_fail(SCARP_ERR_USAGE, "scarp_rivers_from_accumulation: missing array");
    if (!(threshold_m2 > 0.0))
        return scarp_fail(SCARP_ERR_USAGE, "river threshold must be a positive area in m² (got %g)", threshold_m2);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float a = acc_m2[i];
        rivers[i] = isnan(a) ? NAN : (a >= threshold_m2 ? 1.0f : 0.0f);
    }
    return SCARP_OK;
}

scarp_status scarp_cellsize_uniform(scarp_cellsize *cs, int64_t height, double dx, double dy)
{
    cs->dx_row = cs->dy_row = NULL;
    if (height <= 0 || !(dx > 0.0) || !(dy > 0.0))
        return scarp_fail(SCARP_ERR_USAGE, "scarp_cellsize_uniform: need height > 0 and positive dx, dy");
    cs->dx_row = scarp_malloc((size_t)height * sizeof(double));
    cs->dy_row = scarp_malloc((size_t)height * sizeof(double));
    if (!cs->dx_row || !cs->dy_row) {
        scarp_cellsize_free(cs);
        return SCARP_ERR_NOMEM;
    }
    for (int64_t r = 0; r < height; r++) {
        cs->dx_row[r] = dx;
        cs->dy_row[r] = dy;
    }
    return SCARP_OK;
}
