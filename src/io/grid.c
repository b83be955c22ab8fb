/* grid.c — reference grids, CRS handling and metric cell sizes (GDAL/OGR SRS).
 * Geographic cell sizes on the WGS84 ellipsoid: meridional and prime-vertical radii of
 * curvature (e.g. Snyder 1987, "Map Projections — A Working Manual", USGS PP 1395, §3). */
#include "scarp/grid.h"
#include "scarp/alloc.h"
#include "scarp/raster.h"

#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <string.h>

void scarp_grid_init(scarp_grid *g)
{
    memset(g, 0, sizeof *g);
    g->gt[1] = 1.0;
    g->gt[5] = -1.0;
}

void scarp_grid_free(scarp_grid *g)
{
    if (!g) return;
    scarp_free(g->wkt);
    g->wkt = NULL;
}

scarp_status scarp_grid_copy(scarp_grid *dst, const scarp_grid *src)
{
    char *wkt = scarp_strdup(src->wkt ? src->wkt : "");
    if (!wkt) return SCARP_ERR_NOMEM;
    scarp_free(dst->wkt);
    *dst = *src;
    dst->wkt = wkt;
    return SCARP_OK;
}

static scarp_status crs_to_wkt(const char *crs, char **wkt_out, const char *what)
{
    scarp_gdal_init();
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (OSRSetFromUserInput(srs, crs) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return scarp_fail(SCARP_ERR_INPUT, "%s: unknown CRS '%s'", what, crs);
    }
    char *wkt = NULL;
    const char *opts[] = {"FORMAT=WKT2_2018", NULL};
    OSRExportToWktEx(srs, &wkt, opts);
    OSRDestroySpatialReference(srs);
    *wkt_out = scarp_strdup(wkt ? wkt : "");
    CPLFree(wkt);
    return *wkt_out ? SCARP_OK : SCARP_ERR_NOMEM;
}

scarp_status scarp_grid_from_extent(scarp_grid *g, const char *crs, double resolution, double xmin,
                                    double ymin, double xmax, double ymax)
{
    if (!(resolution > 0)) return scarp_fail(SCARP_ERR_INPUT, "grid: resolution must be > 0 (got %g)", resolution);
    if (!(xmax > xmin && ymax > ymin))
        return scarp_fail(SCARP_ERR_INPUT, "grid: extent must have xmax > xmin and ymax > ymin");
    char *wkt = NULL;
    scarp_status st = crs_to_wkt(crs, &wkt, "grid");
    if (st) return st;
    scarp_grid_free(g);
    scarp_grid_init(g);
    g->wkt = wkt;
    double x0 = floor(xmin / resolution) * resolution, y1 = ceil(ymax / resolution) * resolution;
    g->gt[0] = x0;
    g->gt[1] = resolution;
    g->gt[3] = y1;
    g->gt[5] = -resolution;
    g->width = (int64_t)ceil((xmax - x0) / resolution - 1e-9);
    g->height = (int64_t)ceil((y1 - ymin) / resolution - 1e-9);
    return SCARP_OK;
}

scarp_status scarp_grid_from_raster(scarp_grid *g, const char *path)
{
    scarp_gdal_init();
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) return scarp_fail(SCARP_ERR_IO, "%s: cannot open as a raster", path);
    double gt[6];
    scarp_status st = SCARP_OK;
    if (GDALGetGeoTransform(ds, gt) != CE_None) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: raster has no geotransform", path);
        goto end;
    }
    if (gt[2] != 0.0 || gt[4] != 0.0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: rotated rasters are not supported (warp it north-up first)", path);
        goto end;
    }
    const char *wkt = GDALGetProjectionRef(ds);
    if (!wkt || !*wkt) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: raster has no CRS", path);
        goto end;
    }
    char *w = scarp_strdup(wkt);
    if (!w) { st = SCARP_ERR_NOMEM; goto end; }
    scarp_grid_free(g);
    scarp_grid_init(g);
    g->wkt = w;
    memcpy(g->gt, gt, sizeof gt);
    g->width = GDALGetRasterXSize(ds);
    g->height = GDALGetRasterYSize(ds);
end:
    GDALClose(ds);
    return st;
}

int scarp_grid_cell_of(const scarp_grid *g, double x, double y, int64_t *col, int64_t *row)
{
    double c = floor((x - g->gt[0]) / g->gt[1]);
    double r = floor((y - g->gt[3]) / g->gt[5]);
    if (!(c >= 0 && r >= 0 && c < (double)g->width && r < (double)g->height)) return 0;
    *col = (int64_t)c;
    *row = (int64_t)r;
    return 1;
}

int scarp_grid_is_geographic(const scarp_grid *g)
{
    if (!g->wkt || !*g->wkt) return 0;
    scarp_gdal_init();
    OGRSpatialReferenceH srs = OSRNewSpatialReference(g->wkt);
    int geo = srs ? OSRIsGeographic(srs) : 0;
    OSRDestroySpatialReference(srs);
    return geo;
}

static int same_crs(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    if (strcmp(a, b) == 0) return 1;
    OGRSpatialReferenceH sa = OSRNewSpatialReference(a), sb = OSRNewSpatialReference(b);
    int same = sa && sb && OSRIsSame(sa, sb);
    OSRDestroySpatialReference(sa);
    OSRDestroySpatialReference(sb);
    return same;
}

int scarp_grid_same(const scarp_grid *a, const scarp_grid *b)
{
    if (a->width != b->width || a->height != b->height) return 0;
    double tol = 1e-9 * fabs(a->gt[1]);
    for (int i = 0; i < 6; i++)
        if (fabs(a->gt[i] - b->gt[i]) > tol) return 0;
    return same_crs(a->wkt, b->wkt);
}

const char *scarp_grid_crs_name(const scarp_grid *g)
{
    static _Thread_local char name[128];
    snprintf(name, sizeof name, "(none)");
    if (!g->wkt || !*g->wkt) return name;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(g->wkt);
    if (!srs) return name;
    OSRAutoIdentifyEPSG(srs);
    const char *auth = OSRGetAuthorityName(srs, NULL), *code = OSRGetAuthorityCode(srs, NULL);
    if (auth && code)
        snprintf(name, sizeof name, "%s:%s", auth, code);
    else {
        const char *n = OSRGetName(srs);
        snprintf(name, sizeof name, "%s", n ? n : "(unnamed CRS)");
    }
    OSRDestroySpatialReference(srs);
    return name;
}

scarp_status scarp_cellsize_init(scarp_cellsize *cs, const scarp_grid *g)
{
    cs->dx_row = scarp_malloc((size_t)g->height * sizeof(double));
    cs->dy_row = scarp_malloc((size_t)g->height * sizeof(double));
    if (!cs->dx_row || !cs->dy_row) {
        scarp_cellsize_free(cs);
        return SCARP_ERR_NOMEM;
    }
    if (!scarp_grid_is_geographic(g)) {
        for (int64_t r = 0; r < g->height; r++) {
            cs->dx_row[r] = fabs(g->gt[1]);
            cs->dy_row[r] = fabs(g->gt[5]);
        }
        return SCARP_OK;
    }
    const double a = 6378137.0, f = 1.0 / 298.257223563, e2 = f * (2.0 - f);
    const double deg = M_PI / 180.0;
    for (int64_t r = 0; r < g->height; r++) {
        double phi = scarp_grid_y(g, (double)r) * deg;
        double s = sin(phi), w = sqrt(1.0 - e2 * s * s);
        double n_radius = a / w;                        /* prime vertical */
        double m_radius = a * (1.0 - e2) / (w * w * w); /* meridional */
        cs->dx_row[r] = n_radius * cos(phi) * fabs(g->gt[1]) * deg;
        cs->dy_row[r] = m_radius * fabs(g->gt[5]) * deg;
    }
    return SCARP_OK;
}

void scarp_cellsize_free(scarp_cellsize *cs)
{
    if (!cs) return;
    scarp_free(cs->dx_row);
    scarp_free(cs->dy_row);
    cs->dx_row = cs->dy_row = NULL;
}

scarp_status scarp_transform_points(const char *from_crs, const char *to_wkt, double *x, double *y, int64_t n,
                                    const char *what)
{
    scarp_gdal_init();
    OGRSpatialReferenceH src = OSRNewSpatialReference(NULL), dst = OSRNewSpatialReference(NULL);
    scarp_status st = SCARP_OK;
    OGRCoordinateTransformationH ct = NULL;
    if (OSRSetFromUserInput(src, from_crs) != OGRERR_NONE) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: unknown CRS '%s'", what, from_crs);
        goto end;
    }
    if (OSRSetFromUserInput(dst, to_wkt) != OGRERR_NONE) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the grid's CRS is unknown", what);
        goto end;
    }
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
    if (OSRIsSame(src, dst)) goto end;
    ct = OCTNewCoordinateTransformation(src, dst);
    if (!ct) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: cannot transform from '%s' to the grid's CRS", what, from_crs);
        goto end;
    }
    for (int64_t i = 0; i < n; i += 1 << 20) {
        int m = (int)(n - i < (1 << 20) ? n - i : (1 << 20));
        int *ok = scarp_malloc((size_t)m * sizeof(int));
        if (!ok) { st = SCARP_ERR_NOMEM; goto end; }
        OCTTransformEx(ct, m, x + i, y + i, NULL, ok);
        for (int k = 0; k < m; k++)
            if (!ok[k]) { x[i + k] = NAN; y[i + k] = NAN; }
        scarp_free(ok);
    }
end:
    if (ct) OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(dst);
    return st;
}
