/* vector.c — vector input/output through OGR: points (polygons → centroid, lines →
 * midpoint along their length) with attributes reprojected to the grid CRS; lines,
 * polygons and points burnt onto a grid with GDAL's rasterizer (ALL_TOUCHED); a
 * crash-safe single-file writer (GeoPackage, GeoJSON, FlatGeobuf). */
#include "scarp/vector.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *ogr_message(void)
{
    const char *m = CPLGetLastErrorMsg();
    return (m && *m) ? m : "unknown OGR error";
}

static GDALDatasetH open_vector(const char *path, scarp_status *st)
{
    scarp_gdal_init();
    if (!scarp_file_exists(path)) {
        *st = scarp_fail(SCARP_ERR_IO, "%s: no such file", path);
        return NULL;
    }
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds) {
        *st = scarp_fail(SCARP_ERR_INPUT, "%s: not a vector file OGR can read", path);
        return NULL;
    }
    if (GDALDatasetGetLayerCount(ds) < 1) {
        GDALClose(ds);
        *st = scarp_fail(SCARP_ERR_INPUT, "%s: holds no vector layer", path);
        return NULL;
    }
    *st = SCARP_OK;
    return ds;
}

/* A transformation from a layer's CRS to `to_wkt` (NULL when no transformation is needed).
 * A layer without CRS is an error when a target CRS is given. */
static scarp_status layer_transform(OGRLayerH layer, const char *to_wkt, const char *path,
                                    OGRCoordinateTransformationH *ct, char *crs_name, size_t crs_name_sz)
{
    *ct = NULL;
    OGRSpatialReferenceH src = OGR_L_GetSpatialRef(layer);
    if (crs_name) snprintf(crs_name, crs_name_sz, "(none)");
    if (src && crs_name) {
        OGRSpatialReferenceH c = OSRClone(src);
        OSRAutoIdentifyEPSG(c);
        const char *auth = OSRGetAuthorityName(c, NULL), *code = OSRGetAuthorityCode(c, NULL);
        if (auth && code)
            snprintf(crs_name, crs_name_sz, "%s:%s", auth, code);
        else
            snprintf(crs_name, crs_name_sz, "%s", OSRGetName(c) ? OSRGetName(c) : "(unnamed CRS)");
        OSRDestroySpatialReference(c);
    }
    if (!to_wkt || !*to_wkt) return SCARP_OK;
    if (!src)
        return scarp_fail(SCARP_ERR_INPUT, "%s: layer '%s' has no CRS; assign one (ogr2ogr -a_srs)", path,
                          OGR_L_GetName(layer));
    OGRSpatialReferenceH s = OSRClone(src), d = OSRNewSpatialReference(NULL);
    scarp_status st = SCARP_OK;
    if (OSRSetFromUserInput(d, to_wkt) != OGRERR_NONE) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the target CRS is unknown", path);
        goto end;
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(d, OAMS_TRADITIONAL_GIS_ORDER);
    if (OSRIsSame(s, d)) goto end;
    *ct = OCTNewCoordinateTransformation(s, d);
    if (!*ct) st = scarp_fail(SCARP_ERR_INPUT, "%s: cannot transform from %s to the grid's CRS: %s", path,
                              crs_name ? crs_name : "its CRS", ogr_message());
end:
    OSRDestroySpatialReference(s);
    OSRDestroySpatialReference(d);
    return st;
}

/* The point that represents a geometry: itself, the centroid of an areal or multi-point
 * geometry, the point halfway along the total length of a linear one. */
static int representative_point(OGRGeometryH g, double *x, double *y)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbPoint) {
        *x = OGR_G_GetX(g, 0);
        *y = OGR_G_GetY(g, 0);
        return 1;
    }
    if (t == wkbLineString || t == wkbMultiLineString) {
        double total = OGR_G_Length(g), half = total / 2.0;
        int parts = t == wkbLineString ? 1 : OGR_G_GetGeometryCount(g);
        for (int p = 0; p < parts; p++) {
            OGRGeometryH line = t == wkbLineString ? g : OGR_G_GetGeometryRef(g, p);
            double len = OGR_G_Length(line);
            if (half <= len || p == parts - 1) {
                OGRGeometryH pt = OGR_G_Value(line, half < len ? half : len);
                if (!pt) return 0;
                *x = OGR_G_GetX(pt, 0);
                *y = OGR_G_GetY(pt, 0);
                OGR_G_DestroyGeometry(pt);
                return 1;
            }
            half -= len;
        }
        return 0;
    }
    OGRGeometryH c = OGR_G_CreateGeometry(wkbPoint);
    int ok = OGR_G_Centroid(g, c) == OGRERR_NONE && !OGR_G_IsEmpty(c);
    if (ok) {
        *x = OGR_G_GetX(c, 0);
        *y = OGR_G_GetY(c, 0);
    }
    OGR_G_DestroyGeometry(c);
    return ok;
}

/* A field value as a string; dates in ISO form (yyyy-mm-dd[Thh:mm:ss]). NULL when unset. */
static char *field_string(OGRFeatureH f, int i, OGRFieldType type)
{
    if (!OGR_F_IsFieldSetAndNotNull(f, i)) return NULL;
    if (type == OFTDate || type == OFTDateTime) {
        int y, m, d, hh, mm, tz;
        float ss;
        if (OGR_F_GetFieldAsDateTimeEx(f, i, &y, &m, &d, &hh, &mm, &ss, &tz)) {
            char buf[64];
            if (type == OFTDate || (hh == 0 && mm == 0 && ss == 0))
                snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
            else
                snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, hh, mm, (int)ss);
            return scarp_strdup(buf);
        }
    }
    return scarp_strdup(OGR_F_GetFieldAsString(f, i));
}

void scarp_point_table_free(scarp_point_table *t)
{
    if (!t) return;
    if (t->values)
        for (int64_t i = 0; i < t->n * (int64_t)t->n_fields; i++) scarp_free(t->values[i]);
    if (t->field_names)
        for (int k = 0; k < t->n_fields; k++) scarp_free(t->field_names[k]);
    scarp_free(t->values);
    scarp_free(t->field_names);
    scarp_free(t->x);
    scarp_free(t->y);
    memset(t, 0, sizeof *t);
}

int scarp_point_table_field(const scarp_point_table *t, const char *name)
{
    for (int k = 0; k < t->n_fields; k++)
        if (strcasecmp(t->field_names[k], name) == 0) return k;
    return -1;
}

scarp_status scarp_vector_read_points(const char *path, const char *to_wkt, scarp_point_table *out)
{
    memset(out, 0, sizeof *out);
    scarp_status st;
    GDALDatasetH ds = open_vector(path, &st);
    if (!ds) return st;
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    OGRCoordinateTransformationH ct = NULL;
    OGRFeatureH f = NULL;
    if ((st = layer_transform(layer, to_wkt, path, &ct, out->crs, sizeof out->crs))) goto end;

    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    out->n_fields = OGR_FD_GetFieldCount(defn);
    if (out->n_fields > 0) {
        out->field_names = scarp_calloc((size_t)out->n_fields, sizeof(char *));
        if (!out->field_names) { st = SCARP_ERR_NOMEM; goto end; }
        for (int k = 0; k < out->n_fields; k++)
            if (!(out->field_names[k] = scarp_strdup(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, k))))) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
    }
    int64_t cap = 0;
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer))) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (!g || OGR_G_IsEmpty(g)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: feature %lld has no geometry", path, (long long)OGR_F_GetFID(f));
            goto end;
        }
        double x, y;
        if (!representative_point(g, &x, &y)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: feature %lld: cannot take a point of its geometry (%s)", path,
                            (long long)OGR_F_GetFID(f), OGR_G_GetGeometryName(g));
            goto end;
        }
        if (ct && !OCTTransform(ct, 1, &x, &y, NULL)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: feature %lld (%.9g, %.9g) cannot be transformed to the grid's CRS",
                            path, (long long)OGR_F_GetFID(f), x, y);
            goto end;
        }
        if (out->n == cap) {
            int64_t ncap = cap ? cap * 2 : 256;
            double *nx = scarp_realloc(out->x, (size_t)ncap * sizeof(double));
            if (nx) out->x = nx;
            double *ny = nx ? scarp_realloc(out->y, (size_t)ncap * sizeof(double)) : NULL;
            if (ny) out->y = ny;
            char **nv = ny ? scarp_realloc(out->values, (size_t)ncap * (size_t)(out->n_fields ? out->n_fields : 1) *
                                                            sizeof(char *))
                           : NULL;
            if (!nv) { st = SCARP_ERR_NOMEM; goto end; }
            out->values = nv;
            cap = ncap;
        }
        out->x[out->n] = x;
        out->y[out->n] = y;
        char **row = out->values + out->n * out->n_fields;
        for (int k = 0; k < out->n_fields; k++) row[k] = NULL;
        out->n++; /* counted before filling so that free() releases partial rows */
        for (int k = 0; k < out->n_fields; k++) {
            if (!OGR_F_IsFieldSetAndNotNull(f, k)) continue;
            if (!(row[k] = field_string(f, k, OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, k))))) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
        }
        OGR_F_Destroy(f);
    }
end:
    if (f) OGR_F_Destroy(f);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    GDALClose(ds);
    if (st) scarp_point_table_free(out);
    return st;
}

/* ---- rasterize ---- */

_Static_assert(SCARP_BURN_BAND_ROWS == 64, "CHUNKYSIZE in burn() is the band");

/* Burns a batch of geometries (already in the grid CRS) into the MEM band. */
static scarp_status burn(GDALDatasetH mem, OGRGeometryH *geoms, int n, const char *path)
{
    if (n == 0) return SCARP_OK;
    int band = 1;
    double *values = scarp_malloc((size_t)n * sizeof(double));
    if (!values) return SCARP_ERR_NOMEM;
    for (int i = 0; i < n; i++) values[i] = 1.0;
    /* one chunk: the band is the unit (GDAL would otherwise split it by its cache size, and
     * where a line runs along a chunk's edge the touched cells depend on the split) */
    const char *opts[] = {"ALL_TOUCHED=TRUE", "CHUNKYSIZE=64", NULL};
    CPLErrorReset();
    CPLErr e = GDALRasterizeGeometries(mem, 1, &band, n, geoms, NULL, NULL, values, (CSLConstList)opts, NULL, NULL);
    scarp_free(values);
    if (e != CE_None) return scarp_fail(SCARP_ERR_IO, "%s: rasterizing failed: %s", path, ogr_message());
    return SCARP_OK;
}

scarp_status scarp_vector_rasterize(const char *path, const scarp_grid *grid, uint8_t *mask, int64_t *n_features)
{
    scarp_rasterize_info info;
    scarp_status st = scarp_vector_rasterize_window(path, grid, mask, &info);
    *n_features = info.in_window;
    if (st == SCARP_OK && info.in_window == 0)
        st = scarp_fail(SCARP_ERR_INPUT, "%s: none of its %lld features falls on the grid (wrong CRS or area?)", path,
                        (long long)info.features);
    return st;
}

/* Whole cells between the window [x0, x1] x [y0, y1] and an envelope that misses it, in
 * the larger of the two directions (the Chebyshev gap a padding must bridge). */
static int64_t gap_cells(const OGREnvelope *e, double x0, double x1, double y0, double y1, double cx, double cy)
{
    double gx = e->MaxX < x0 ? x0 - e->MaxX : e->MinX > x1 ? e->MinX - x1 : 0.0;
    double gy = e->MaxY < y0 ? y0 - e->MaxY : e->MinY > y1 ? e->MinY - y1 : 0.0;
    double g = fmax(ceil(gx / cx), ceil(gy / cy));
    return g < 4e18 ? (int64_t)g : INT64_MAX;
}

/* The features of a source, read once and reprojected to a window's CRS, kept with their
 * envelopes so that any band of the window's rows can be burnt on its own (the distance
 * layers of src/data/stack.c rasterize by strips within `[project] memory`). Only the
 * features whose envelope meets the window are kept: memory follows the vector, not the
 * raster. */
struct scarp_vector_burner {
    char path[4096];
    scarp_grid window; /* wkt borrowed from the caller's grid */
    OGRGeometryH *geoms;
    OGREnvelope *env;
    int64_t n, cap;
};

void scarp_vector_burner_close(scarp_vector_burner *b)
{
    if (!b) return;
    for (int64_t i = 0; i < b->n; i++) OGR_G_DestroyGeometry(b->geoms[i]);
    scarp_free(b->geoms);
    scarp_free(b->env);
    scarp_free(b);
}

static scarp_status burner_keep(scarp_vector_burner *b, OGRGeometryH g, const OGREnvelope *e)
{
    if (b->n == b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 1024;
        OGRGeometryH *ng = scarp_realloc(b->geoms, (size_t)cap * sizeof *ng);
        if (!ng) return SCARP_ERR_NOMEM;
        b->geoms = ng;
        OGREnvelope *ne = scarp_realloc(b->env, (size_t)cap * sizeof *ne);
        if (!ne) return SCARP_ERR_NOMEM;
        b->env = ne;
        b->cap = cap;
    }
    b->geoms[b->n] = g;
    b->env[b->n++] = *e;
    return SCARP_OK;
}

scarp_status scarp_vector_burner_open(scarp_vector_burner **out, const char *path, const scarp_grid *window,
                                      scarp_rasterize_info *info)
{
    *out = NULL;
    *info = (scarp_rasterize_info){0, 0, 0, -1};
    scarp_status st;
    GDALDatasetH ds = open_vector(path, &st);
    if (!ds) return st;
    scarp_vector_burner *b = scarp_calloc(1, sizeof *b);
    OGRCoordinateTransformationH ct = NULL;
    OGRFeatureH f = NULL;
    if (!b) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    snprintf(b->path, sizeof b->path, "%s", path);
    b->window = *window;
    const scarp_grid *grid = window;
    double gx0 = fmin(grid->gt[0], grid->gt[0] + grid->width * grid->gt[1]);
    double gx1 = fmax(grid->gt[0], grid->gt[0] + grid->width * grid->gt[1]);
    double gy0 = fmin(grid->gt[3], grid->gt[3] + grid->height * grid->gt[5]);
    double gy1 = fmax(grid->gt[3], grid->gt[3] + grid->height * grid->gt[5]);
    for (int li = 0; li < GDALDatasetGetLayerCount(ds); li++) {
        OGRLayerH layer = GDALDatasetGetLayer(ds, li);
        if ((st = layer_transform(layer, grid->wkt, path, &ct, NULL, 0))) goto end;
        OGR_L_ResetReading(layer);
        while ((f = OGR_L_GetNextFeature(layer))) {
            OGRGeometryH g = OGR_F_StealGeometry(f);
            OGR_F_Destroy(f);
            f = NULL;
            if (!g) continue;
            if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE) {
                OGR_G_DestroyGeometry(g);
                continue; /* outside the area of use of the target CRS: not on the grid */
            }
            if (OGR_G_IsEmpty(g)) {
                OGR_G_DestroyGeometry(g);
                continue;
            }
            info->features++;
            OGREnvelope e;
            OGR_G_GetEnvelope(g, &e);
            if (e.MinX < gx0 || e.MaxX > gx1 || e.MinY < gy0 || e.MaxY > gy1) info->beyond = 1;
            if (e.MaxX < gx0 || e.MinX > gx1 || e.MaxY < gy0 || e.MinY > gy1) {
                int64_t gap = gap_cells(&e, gx0, gx1, gy0, gy1, fabs(grid->gt[1]), fabs(grid->gt[5]));
                if (info->gap_cells < 0 || gap < info->gap_cells) info->gap_cells = gap;
                OGR_G_DestroyGeometry(g);
                continue;
            }
            if ((st = burner_keep(b, g, &e))) {
                OGR_G_DestroyGeometry(g);
                goto end;
            }
            info->in_window++;
        }
        if (ct) OCTDestroyCoordinateTransformation(ct);
        ct = NULL;
    }
end:
    if (f) OGR_F_Destroy(f);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    GDALClose(ds);
    if (st) {
        scarp_vector_burner_close(b);
        return st;
    }
    *out = b;
    return SCARP_OK;
}

/* Burns window rows [row0, row0 + rows) — one band of at most SCARP_BURN_BAND_ROWS — into
 * mask: a MEM dataset over the band whose geotransform is the window's shifted by row0
 * rows, rasterized in one chunk (CHUNKYSIZE). */
static scarp_status burn_band(scarp_vector_burner *b, int64_t row0, int64_t rows, uint8_t *mask)
{
    const scarp_grid *g = &b->window;
    double gt[6];
    memcpy(gt, g->gt, sizeof gt);
    gt[3] = g->gt[3] + (double)row0 * g->gt[5];
    const double ya = gt[3], yb = gt[3] + (double)rows * gt[5], dy = fabs(gt[5]);
    const double y0 = fmin(ya, yb) - dy, y1 = fmax(ya, yb) + dy; /* a cell of slack: ALL_TOUCHED edges */
    enum { BATCH = 4096 };
    OGRGeometryH batch[BATCH];
    int nb = 0;
    scarp_status st = SCARP_OK;
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", (int)g->width, (int)rows, 0, GDT_Byte, NULL);
    if (!mem) return scarp_fail(SCARP_ERR_NOMEM, "%s: cannot create the rasterizing buffer", b->path);
    char ptr_opt[64];
    snprintf(ptr_opt, sizeof ptr_opt, "DATAPOINTER=%p", (void *)mask);
    char *band_opts[] = {ptr_opt, NULL};
    if (GDALAddBand(mem, GDT_Byte, band_opts) != CE_None) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot wrap the mask for rasterizing: %s", b->path, ogr_message());
        goto end;
    }
    GDALSetGeoTransform(mem, gt);
    if (g->wkt) GDALSetProjection(mem, g->wkt);
    for (int64_t i = 0; i < b->n && !st; i++) {
        if (b->env[i].MaxY < y0 || b->env[i].MinY > y1) continue;
        batch[nb++] = b->geoms[i];
        if (nb == BATCH) st = burn(mem, batch, nb, b->path), nb = 0;
    }
    if (!st) st = burn(mem, batch, nb, b->path);
end:
    GDALClose(mem);
    return st;
}

scarp_status scarp_vector_burner_rows(scarp_vector_burner *b, int64_t row0, int64_t rows, uint8_t *mask,
                                      int64_t *burnt)
{
    const int64_t W = b->window.width, H = b->window.height, B = SCARP_BURN_BAND_ROWS;
    if (row0 < 0 || rows < 0 || row0 + rows > H || row0 % B != 0 || (rows % B != 0 && row0 + rows != H))
        return scarp_fail(SCARP_ERR_USAGE, "%s: rows [%lld, %lld) are not whole bands of %lld rows of the window",
                          b->path, (long long)row0, (long long)(row0 + rows), (long long)B);
    memset(mask, 0, (size_t)(W * rows));
    if (burnt) *burnt = 0;
    scarp_status st = SCARP_OK;
    for (int64_t k = 0; k < rows && !st; k += B)
        st = burn_band(b, row0 + k, rows - k < B ? rows - k : B, mask + k * W);
    if (!st && burnt) {
        int64_t n = 0;
        for (int64_t i = 0; i < W * rows; i++) n += mask[i] != 0;
        *burnt = n;
    }
    return st;
}

scarp_status scarp_vector_rasterize_window(const char *path, const scarp_grid *grid, uint8_t *mask,
                                           scarp_rasterize_info *info)
{
    scarp_vector_burner *b = NULL;
    scarp_status st = scarp_vector_burner_open(&b, path, grid, info);
    if (st) return st;
    int64_t burnt = 0;
    st = scarp_vector_burner_rows(b, 0, grid->height, mask, &burnt);
    /* a feature whose envelope meets the window but whose geometry burns no cell of it
     * (an L-shaped road around a corner) is not in the window */
    if (!st && burnt == 0) info->in_window = 0;
    scarp_vector_burner_close(b);
    return st;
}

/* ---- writer ---- */

struct scarp_vector_writer {
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRFeatureDefnH defn;
    scarp_geom_kind kind;
    int n_fields;
    int64_t in_transaction;
    char final_path[4096], partial_path[4096];
};

static const char *driver_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) return NULL;
    if (strcasecmp(dot, ".gpkg") == 0) return "GPKG";
    if (strcasecmp(dot, ".geojson") == 0 || strcasecmp(dot, ".json") == 0) return "GeoJSON";
    if (strcasecmp(dot, ".fgb") == 0) return "FlatGeobuf";
    return NULL;
}

scarp_status scarp_vector_writer_open(scarp_vector_writer **out, const char *path, const char *layer_name,
                                      const char *crs_wkt, scarp_geom_kind kind, const char *const *field_names,
                                      const char *field_types, int n_fields)
{
    scarp_gdal_init();
    *out = NULL;
    const char *drv_name = driver_for(path);
    if (!drv_name)
        return scarp_fail(SCARP_ERR_USAGE, "%s: unsupported vector format (use .gpkg, .geojson or .fgb)", path);
    if ((int)strlen(field_types ? field_types : "") != n_fields)
        return scarp_fail(SCARP_ERR_USAGE, "%s: %d fields but field types '%s'", path, n_fields,
                          field_types ? field_types : "");
    scarp_vector_writer *w = scarp_calloc(1, sizeof *w);
    if (!w) return SCARP_ERR_NOMEM;
    scarp_status st = SCARP_OK;
    OGRSpatialReferenceH srs = NULL;
    snprintf(w->final_path, sizeof w->final_path, "%s", path);
    if ((st = scarp_partial_name(w->partial_path, sizeof w->partial_path, path))) goto fail;
    unlink(w->partial_path); /* a stale partial from a crashed run */
    w->kind = kind;
    w->n_fields = n_fields;
    GDALDriverH drv = GDALGetDriverByName(drv_name);
    /* The GeoPackage driver warns about the ".partial" extension: harmless. */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    w->ds = drv ? GDALCreate(drv, w->partial_path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    CPLPopErrorHandler();
    if (!w->ds) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot create vector file: %s", path, ogr_message());
        goto fail;
    }
    if (crs_wkt && *crs_wkt) {
        srs = OSRNewSpatialReference(NULL);
        if (OSRSetFromUserInput(srs, crs_wkt) != OGRERR_NONE) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: unknown CRS for the output", path);
            goto fail;
        }
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    }
    OGRwkbGeometryType gt = kind == SCARP_GEOM_POINT ? wkbPoint : kind == SCARP_GEOM_LINE ? wkbLineString : wkbPolygon;
    w->layer = GDALDatasetCreateLayer(w->ds, layer_name, srs, gt, NULL);
    if (!w->layer) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot create layer '%s': %s", path, layer_name, ogr_message());
        goto fail;
    }
    for (int k = 0; k < n_fields; k++) {
        char t = field_types[k];
        OGRFieldType ft = t == 'i' ? OFTInteger64 : t == 'r' ? OFTReal : t == 'd' ? OFTDate : OFTString;
        if (t != 'i' && t != 'r' && t != 'd' && t != 's') {
            st = scarp_fail(SCARP_ERR_USAGE, "%s: field '%s' has unknown type '%c' (i, r, s or d)", path,
                            field_names[k], t);
            goto fail;
        }
        OGRFieldDefnH fd = OGR_Fld_Create(field_names[k], ft);
        OGRErr e = OGR_L_CreateField(w->layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE) {
            st = scarp_fail(SCARP_ERR_IO, "%s: cannot create field '%s': %s", path, field_names[k], ogr_message());
            goto fail;
        }
    }
    w->defn = OGR_L_GetLayerDefn(w->layer);
    if (srs) OSRDestroySpatialReference(srs);
    *out = w;
    return SCARP_OK;
fail:
    if (srs) OSRDestroySpatialReference(srs);
    scarp_vector_writer_abort(w);
    return st;
}

static scarp_status write_feature(scarp_vector_writer *w, OGRGeometryH g, const char *const *values)
{
    scarp_status st = SCARP_OK;
    /* Batch features in transactions: GeoPackage commits per feature are ~100× slower. */
    if (w->in_transaction == 0 && OGR_L_TestCapability(w->layer, OLCTransactions))
        if (OGR_L_StartTransaction(w->layer) == OGRERR_NONE) w->in_transaction = 1;
    OGRFeatureH f = OGR_F_Create(w->defn);
    OGR_F_SetGeometryDirectly(f, g);
    for (int k = 0; k < w->n_fields; k++)
        if (values && values[k]) OGR_F_SetFieldString(f, k, values[k]);
    if (OGR_L_CreateFeature(w->layer, f) != OGRERR_NONE)
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot write a feature: %s", w->final_path, ogr_message());
    OGR_F_Destroy(f);
    if (!st && w->in_transaction && ++w->in_transaction > 10000) {
        if (OGR_L_CommitTransaction(w->layer) != OGRERR_NONE)
            st = scarp_fail(SCARP_ERR_IO, "%s: cannot commit features: %s", w->final_path, ogr_message());
        w->in_transaction = 0;
    }
    return st;
}

scarp_status scarp_vector_write_point(scarp_vector_writer *w, double x, double y, const char *const *values)
{
    if (w->kind != SCARP_GEOM_POINT) return scarp_fail(SCARP_ERR_USAGE, "%s: not a point layer", w->final_path);
    OGRGeometryH g = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(g, 0, x, y);
    return write_feature(w, g, values);
}

scarp_status scarp_vector_write_line(scarp_vector_writer *w, const double *xy, int n_points, const char *const *values)
{
    if (w->kind != SCARP_GEOM_LINE) return scarp_fail(SCARP_ERR_USAGE, "%s: not a line layer", w->final_path);
    if (n_points < 2) return scarp_fail(SCARP_ERR_USAGE, "%s: a line needs at least 2 points", w->final_path);
    OGRGeometryH g = OGR_G_CreateGeometry(wkbLineString);
    OGR_G_SetPointCount(g, n_points);
    for (int i = 0; i < n_points; i++) OGR_G_SetPoint_2D(g, i, xy[2 * i], xy[2 * i + 1]);
    return write_feature(w, g, values);
}

scarp_status scarp_vector_writer_commit(scarp_vector_writer *w)
{
    scarp_status st = SCARP_OK;
    if (w->in_transaction && OGR_L_CommitTransaction(w->layer) != OGRERR_NONE)
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot commit features: %s", w->final_path, ogr_message());
    w->in_transaction = 0;
    CPLErrorReset();
    GDALClose(w->ds);
    w->ds = NULL;
    if (!st && CPLGetLastErrorType() >= CE_Failure)
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot finish writing: %s", w->final_path, ogr_message());
    if (!st) st = scarp_commit_file(w->partial_path, w->final_path);
    if (st) unlink(w->partial_path);
    scarp_free(w);
    return st;
}

void scarp_vector_writer_abort(scarp_vector_writer *w)
{
    if (!w) return;
    if (w->ds) {
        if (w->in_transaction) OGR_L_RollbackTransaction(w->layer);
        GDALClose(w->ds);
    }
    unlink(w->partial_path);
    scarp_free(w);
}
