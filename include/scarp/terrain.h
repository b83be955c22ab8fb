/* terrain.h — terrain derivatives of a DEM as pure functions on flat float arrays.
 * Every raster is row-major, width × height (int64_t), float32 with NaN = nodata; no function
 * here opens a file. Cell sizes come from a `const scarp_cellsize *` (grid.h): true metric
 * dx/dy per row, so a geographic DEM (EPSG:4326) gets correct slopes and areas.
 * Outputs are caller-owned buffers of width*height floats (uint8_t for masks).
 * All functions are deterministic for any thread count.
 *
 * Papers: Horn 1981 (slope/aspect), Zevenbergen & Thorne 1987 (curvature), Barnes, Lehman &
 * Mulla 2014 doi:10.1016/j.cageo.2013.04.024 (priority-flood + epsilon), O'Callaghan & Mark
 * 1984 (D8), Freeman 1991 doi:10.1016/0098-3004(91)90048-I (MFD), Beven & Kirkby 1979 (TWI),
 * Moore, Grayson & Ladson 1991 (SPI), Felzenszwalb & Huttenlocher 2012 doi:10.4086/toc.2012.v008a019
 * (exact Euclidean distance transform), Ahuja et al. 1990 (radix heap of the priority-flood).
 *
 * Edge and nodata policy of the 3×3 stencils (slope, aspect, curvature): a neighbour outside
 * the grid is the linear extrapolation 2a − b of the two cells next to it inside (planes stay
 * exact at edges and corners); a NaN neighbour, or one whose extrapolation needs a NaN, takes
 * the centre cell's value. This is `gdaldem -compute_edges` except at the four corner cells
 * (gdaldem substitutes the centre there). Every valid cell gets a value; a NaN centre gives NaN. */
#ifndef SCARP_TERRAIN_H
#define SCARP_TERRAIN_H
#include <stdint.h>
#include "scarp/grid.h"
#include "scarp/progress.h"
#include "scarp/status.h"

/* Slope (degrees, 0..90) and aspect (degrees clockwise from north, 0..360, the direction the
 * slope faces = downslope, as gdaldem) with Horn's 1981 3×3 weighted differences, each row of
 * the stencil using its own dx (geographic grids). Flat cells (zero gradient) get aspect 0
 * (gdaldem -zero_for_flat), never nodata. Either output may be NULL.
 *   dem, slope_deg, aspect_deg: (height, width) */
scarp_status scarp_slope_aspect(const float *dem, int64_t width, int64_t height, const scarp_cellsize *cs,
                                float *slope_deg, float *aspect_deg);

/* Plan and profile curvature (1/m) of Zevenbergen & Thorne 1987, from the 3×3 quadratic fit:
 *   with p = dz/dx, q = dz/dy (y north), r = d²z/dx², t = d²z/dy², s = d²z/dxdy,
 *   plan    =  (r q² − 2 s p q + t p²) / (p² + q²)  (> 0: contours concave, flow converges)
 *   profile = −(r p² + 2 s p q + t q²) / (p² + q²)  (> 0: convex, slope steepens downhill)
 * i.e. the second derivatives along the contour and (negated) along the gradient. Where the
 * gradient is zero both are 0. Either output may be NULL.
 *   dem, plan, profile: (height, width) */
scarp_status scarp_curvature(const float *dem, int64_t width, int64_t height, const scarp_cellsize *cs,
                             float *plan, float *profile);

/* Depression filling by priority-flood (Barnes et al. 2014). Seeds are the valid cells on the
 * grid edge or next to a NaN cell (water leaves the DEM there). With epsilon = 0 every pit
 * is raised to its spill level (flats stay flat); with epsilon = 1 each flooded cell is raised
 * to the next float above the cell that flooded it (nextafterf), so every valid cell has a
 * strictly descending path to a seed: the result is the least surface with
 * G = max(dem, nextafterf(min of the neighbours' G)) off the seeds (cells are popped strictly
 * in height order, ties oldest-first), which does not depend on the order of the queue, so
 * scarp_fill_depressions_tiled (terrain_tiled.h) gives the same bytes. NaN cells
 * stay NaN. out may equal dem (in place). Single-threaded (the algorithm is sequential).
 *   dem, out: (height, width) */
scarp_status scarp_fill_depressions(const float *dem, int64_t width, int64_t height, int epsilon, float *out,
                                    scarp_progress *progress);

/* Flow accumulation: contributing area in m² of each cell, including its own area
 * (dx_row · dy_row). Cells are processed in topological order (a cell after all its donors).
 * D8 (O'Callaghan & Mark 1984): all flow to the neighbour of steepest drop / distance
 * (ties: the first in the order N, NE, E, SE, S, SW, W, NW). MFD (Freeman 1991): flow split
 * among all lower neighbours in proportion to (drop / distance)^exponent (1.1 as SAGA's
 * default; <= 0 selects 1.1). A cell with no lower valid neighbour keeps its flow (an outlet
 * at the edge, a pit elsewhere: pass a DEM filled with epsilon so that only edge and
 * nodata-adjacent cells are outlets). NaN cells give NaN.
 *   filled, acc_m2: (height, width) */
scarp_status scarp_flow_accumulation_d8(const float *filled, int64_t width, int64_t height,
                                        const scarp_cellsize *cs, float *acc_m2, scarp_progress *progress);
scarp_status scarp_flow_accumulation_mfd(const float *filled, int64_t width, int64_t height,
                                         const scarp_cellsize *cs, double exponent, float *acc_m2,
                                         scarp_progress *progress);
#define SCARP_MFD_EXPONENT 1.1

/* Specific catchment area a (m) = contributing area / effective contour width, the width
 * being the cell size sqrt(dx · dy) of the row (SAGA's default). out may equal acc_m2.
 *   acc_m2, sca_m: (height, width) */
scarp_status scarp_specific_catchment_area(const float *acc_m2, int64_t width, int64_t height,
                                           const scarp_cellsize *cs, float *sca_m);

/* TWI = ln(a / tan β) and ln(SPI) = ln(a · tan β), β the slope in degrees. β = 0 guard as in
 * SAGA (ta_hydrology 20/21): tan β is raised to at least min_tan_slope (SCARP_MIN_TAN_SLOPE =
 * 0.001, SAGA's M_ALMOST_ZERO, when <= 0 is passed), so flats get a large finite TWI and a
 * finite ln(SPI). NaN where a or β is NaN or a <= 0. n = number of cells; out may equal an input. */
#define SCARP_MIN_TAN_SLOPE 0.001
scarp_status scarp_twi(const float *sca_m, const float *slope_deg, int64_t n, double min_tan_slope, float *twi);
scarp_status scarp_spi_ln(const float *sca_m, const float *slope_deg, int64_t n, double min_tan_slope,
                          float *spi_ln);

/* River cells: 1 where acc_m2 >= threshold_m2, 0 below, NaN where acc_m2 is NaN. */
scarp_status scarp_rivers_from_accumulation(const float *acc_m2, int64_t n, double threshold_m2, float *rivers);

/* Exact Euclidean distance (metres) from every cell to the nearest feature cell (mask != 0),
 * by the separable lower-envelope algorithm of Felzenszwalb & Huttenlocher 2012: a pass down
 * the columns with the true positions of row centres (cumulative dy_row), then a pass along
 * each row with that row's dx. On a projected grid (constant dx, dy, possibly dx != dy) this
 * is exactly min over features of sqrt((dx·Δcol)² + (Δy)²); on a geographic grid the column
 * offset is measured with the target row's dx. Feature cells get 0. A mask without any
 * feature is SCARP_ERR_INPUT (out is then all NaN).
 *   mask: (height, width) uint8_t, dist_m: (height, width) */
scarp_status scarp_distance_transform(const uint8_t *mask, int64_t width, int64_t height,
                                      const scarp_cellsize *cs, float *dist_m, scarp_progress *progress);

/* NDVI = (nir − red) / (nir + red), NaN where either is NaN or nir + red == 0. n cells. */
scarp_status scarp_ndvi(const float *red, const float *nir, int64_t n, float *ndvi);

/* A cell size for tests and synthetic grids: constant dx, dy on `height` rows (caller frees
 * with scarp_cellsize_free). */
scarp_status scarp_cellsize_uniform(scarp_cellsize *cs, int64_t height, double dx, double dy);

#endif
