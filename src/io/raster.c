/* raster.c — raster reading (native or warped onto a reference grid by GDAL's warper)
 * and crash-safe GeoTIFF/COG writing. The only raster code that touches gdal.h. */
#include "scarp/raster.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <gdalwarper.h>
#include <errno.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_init_once(void)
{
    GDALAllRegister();
    CPLSetConfigOption("GDAL_NUM_THREADS", "1");
    CPLSetConfigOption("CPL_LOG", "/dev/null");
    CPLSetConfigOption("CHECK_DISK_FREE_SPACE", "NO");
    /* GDAL's block cache defaults to 5 % of RAM (1.2 GB on a 24 GB machine) and filled it
     * during `scarp prepare`. Our readers visit rasters in block order (patches sorted by
     * tile, map tiles, strips), so a bounded cache costs nothing; GDAL_CACHEMAX (env or
     * --config) still wins. */
    if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) GDALSetCacheMax64((GIntBig)256 << 20);
    /* Our messages name the file; GDAL's own stderr chatter would duplicate them. */
    CPLSetErrorHandler(CPLQuietErrorHandler);
}

void scarp_gdal_init(void) { pthread_once(&gdal_once, gdal_init_once); }

/* ---- scratch rasters ---- */

static const char *gdal_message(void);

struct scarp_scratch {
    GDALDatasetH ds;
    GDALRasterBandH band;
    int64_t width, height;
    char path[4096];
};

scarp_status scarp_scratch_create(scarp_scratch **out, const char *path, const scarp_grid *grid)
{
    scarp_gdal_init();
    *out = NULL;
    scarp_scratch *s = scarp_calloc(1, sizeof *s);
    if (!s) return SCARP_ERR_NOMEM;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->width = grid->width;
    s->height = grid->height;
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "TILED", "YES");
    opts = CSLSetNameValue(opts, "BLOCKXSIZE", "256");
    opts = CSLSetNameValue(opts, "BLOCKYSIZE", "256");
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    opts = CSLSetNameValue(opts, "SPARSE_OK", "TRUE");
    s->ds = drv ? GDALCreate(drv, path, (int)grid->width, (int)grid->height, 1, GDT_Float32, opts) : NULL;
    CSLDestroy(opts);
    if (!s->ds) {
        scarp_status st = scarp_fail(SCARP_ERR_IO, "%s: cannot create a scratch raster (%s)", path, gdal_message());
        scarp_free(s);
        return st;
    }
    GDALSetGeoTransform(s->ds, (double *)grid->gt);
    s->band = GDALGetRasterBand(s->ds, 1);
    *out = s;
    return SCARP_OK;
}

scarp_status scarp_scratch_read(scarp_scratch *s, int64_t col0, int64_t row0, int64_t width, int64_t height,
                                float *out)
{
    /* the part of the window inside the grid, the rest NaN */
    int64_t c0 = col0 < 0 ? 0 : col0, r0 = row0 < 0 ? 0 : row0;
    int64_t c1 = col0 + width > s->width ? s->width : col0 + width;
    int64_t r1 = row0 + height > s->height ? s->height : row0 + height;
    if (c1 <= c0 || r1 <= r0 || c0 != col0 || r0 != row0 || c1 != col0 + width || r1 != row0 + height)
        for (int64_t i = 0; i < width * height; i++) out[i] = NAN;
    if (c1 <= c0 || r1 <= r0) return SCARP_OK;
    float *dst = out + (r0 - row0) * width + (c0 - col0);
    if (GDALRasterIO(s->band, GF_Read, (int)c0, (int)r0, (int)(c1 - c0), (int)(r1 - r0), dst, (int)(c1 - c0),
                     (int)(r1 - r0), GDT_Float32, 0, (GSpacing)(width * (int64_t)sizeof(float))) != CE_None)
        return scarp_fail(SCARP_ERR_IO, "%s: cannot read a window of the scratch raster (%s)", s->path, gdal_message());
    return SCARP_OK;
}

scarp_status scarp_scratch_write(scarp_scratch *s, int64_t col0, int64_t row0, int64_t width, int64_t height,
                                 const float *data)
{
    if (col0 < 0 || row0 < 0 || col0 + width > s->width || row0 + height > s->height)
        return scarp_fail(SCARP_ERR_USAGE, "%s: scratch window outside the grid", s->path);
    if (GDALRasterIO(s->band, GF_Write, (int)col0, (int)row0, (int)width, (int)height, (void *)data, (int)width,
                     (int)height, GDT_Float32, 0, 0) != CE_None)
        return scarp_fail(SCARP_ERR_IO, "%s: cannot write the scratch raster (%s; disk full?)", s->path, gdal_message());
    return SCARP_OK;
}

void scarp_scratch_close(scarp_scratch *s)
{
    if (!s) return;
    if (s->ds) GDALClose(s->ds);
    remove(s->path);
    scarp_free(s);
}

int64_t scarp_gdal_cache_set(int64_t bytes)
{
    scarp_gdal_init();
    int64_t old = (int64_t)GDALGetCacheMax64();
    if (bytes >= 0) GDALSetCacheMax64((GIntBig)bytes);
    return old;
}

const char *scarp_gdal_version(void) { return GDALVersionInfo("RELEASE_NAME"); }

static const char *gdal_message(void)
{
    const char *m = CPLGetLastErrorMsg();
    return (m && *m) ? m : "unknown GDAL error";
}

/* ": No space left on device" for the errno values a failed write leaves, else "":
 * libtiff's own messages ("TIFFAppendToStrip: Write error") do not say why, and other
 * errno values (ENOENT from GDAL probing for sidecar files) say nothing about it. */
static const char *write_errno_text(int e, char *buf, size_t n)
{
    int why = e == ENOSPC || e == EFBIG || e == EDQUOT || e == EIO || e == EROFS;
    if (why && !strstr(gdal_message(), strerror(e))) /* not said twice */
        snprintf(buf, n, ": %s", strerror(e));
    else if (n)
        buf[0] = '\0';
    return buf;
}

/* Converts a band's buffer to float with NaN for nodata (and for NaN/Inf input). */
static void mask_nodata(float *buf, size_t n, int has_nodata, double nodata)
{
    float nd = (float)nodata;
    for (size_t i = 0; i < n; i++) {
        float v = buf[i];
        if (!isfinite(v) || (has_nodata && (v == nd || (double)v == nodata))) buf[i] = NAN;
    }
}

/* The band's validity mask when it is more than its nodata value: an internal or ".msk"
 * mask, or an alpha band (GMF_PER_DATASET / GMF_ALPHA). Cells the mask marks invalid
 * (0) hold whatever the writer left there — often junk, e.g. a denormal float or a
 * non-existent class — so they must become NaN. GDAL's warper honours such masks by
 * itself; a direct read does not. NULL when every cell is valid or nodata says it all. */
static GDALRasterBandH mask_band_of(GDALRasterBandH b)
{
    int f = GDALGetMaskFlags(b);
    if (f & (GMF_ALL_VALID | GMF_NODATA)) return NULL;
    return GDALGetMaskBand(b);
}

/* Sets out[r * stride + c] = NaN where the mask window (col0, row0, w, h) is 0; m is
 * scratch of w * h bytes. */
static scarp_status apply_mask(GDALRasterBandH mb, int64_t col0, int64_t row0, int64_t w, int64_t h, float *out,
                               int64_t stride, uint8_t *m, const char *path)
{
    if (GDALRasterIO(mb, GF_Read, (int)col0, (int)row0, (int)w, (int)h, m, (int)w, (int)h, GDT_Byte, 0, 0) !=
        CE_None)
        return scarp_fail(SCARP_ERR_IO, "%s: cannot read the mask band at cells (%lld, %lld): %s", path,
                          (long long)col0, (long long)row0, gdal_message());
    for (int64_t r = 0; r < h; r++)
        for (int64_t c = 0; c < w; c++)
            if (!m[r * w + c]) out[r * stride + c] = NAN;
    return SCARP_OK;
}

scarp_status scarp_raster_read(const char *path, int band, scarp_grid *grid, float **data)
{
    scarp_gdal_init();
    *data = NULL;
    scarp_status st = scarp_grid_from_raster(grid, path);
    if (st) return st;
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) return scarp_fail(SCARP_ERR_IO, "%s: cannot open as a raster", path);
    float *buf = NULL;
    if (band < 1 || band > GDALGetRasterCount(ds)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: band %d does not exist (the file has %d)", path, band,
                        GDALGetRasterCount(ds));
        goto end;
    }
    GDALRasterBandH b = GDALGetRasterBand(ds, band);
    size_t n = (size_t)grid->width * (size_t)grid->height;
    buf = scarp_malloc(n * sizeof(float));
    if (!buf) { st = SCARP_ERR_NOMEM; goto end; }
    if (GDALRasterIO(b, GF_Read, 0, 0, (int)grid->width, (int)grid->height, buf, (int)grid->width,
                     (int)grid->height, GDT_Float32, 0, 0) != CE_None) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot read band %d: %s", path, band, gdal_message());
        goto end;
    }
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(b, &has_nd);
    mask_nodata(buf, n, has_nd, nd);
    GDALRasterBandH mb = mask_band_of(b);
    if (mb) {
        /* one strip of the mask at a time: bounded extra memory */
        const int64_t strip = 256;
        uint8_t *m = scarp_malloc((size_t)grid->width * (size_t)strip);
        if (!m) { st = SCARP_ERR_NOMEM; goto end; }
        for (int64_t r = 0; r < grid->height && !st; r += strip) {
            int64_t h = grid->height - r < strip ? grid->height - r : strip;
            st = apply_mask(mb, 0, r, grid->width, h, buf + r * grid->width, grid->width, m, path);
        }
        scarp_free(m);
        if (st) goto end;
    }
    *data = buf;
    buf = NULL;
end:
    scarp_free(buf);
    GDALClose(ds);
    return st;
}

struct scarp_warped {
    GDALDatasetH src;    /* the opened input */
    GDALDatasetH vrt;    /* warped VRT onto the grid, or NULL when src is on the grid */
    GDALRasterBandH band;
    GDALRasterBandH mask;  /* same-grid path: the source's mask band, or NULL (see mask_band_of) */
    uint8_t *mbuf;         /* scratch for mask windows (grows, never per read once large enough) */
    size_t mcap;
    int64_t width, height;
    int has_nodata;
    double nodata;
    char path[1024];
};

static void fill_align_info(scarp_align_info *info, GDALDatasetH ds, GDALRasterBandH b)
{
    memset(info, 0, sizeof *info);
    double gt[6] = {0, 1, 0, 0, 0, -1};
    GDALGetGeoTransform(ds, gt);
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    info->res_x = fabs(gt[1]);
    info->res_y = fabs(gt[5]);
    double x0 = gt[0], x1 = gt[0] + w * gt[1], y0 = gt[3], y1 = gt[3] + h * gt[5];
    info->extent[0] = fmin(x0, x1);
    info->extent[1] = fmin(y0, y1);
    info->extent[2] = fmax(x0, x1);
    info->extent[3] = fmax(y0, y1);
    info->nodata = GDALGetRasterNoDataValue(b, &info->has_nodata);
    info->has_mask = mask_band_of(b) != NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    g.wkt = (char *)GDALGetProjectionRef(ds);
    snprintf(info->crs, sizeof info->crs, "%s", scarp_grid_crs_name(&g));
}

/* Does the input's extent, transformed into the grid CRS, intersect the grid? */
static int overlaps_grid(GDALDatasetH ds, const scarp_grid *grid, const scarp_align_info *info)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(GDALGetProjectionRef(ds));
    OGRSpatialReferenceH d = OSRNewSpatialReference(grid->wkt);
    int result = 1;
    if (s && d) {
        OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
        OSRSetAxisMappingStrategy(d, OAMS_TRADITIONAL_GIS_ORDER);
        OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, d);
        double xmin, ymin, xmax, ymax;
        if (ct && OCTTransformBounds(ct, info->extent[0], info->extent[1], info->extent[2], info->extent[3],
                                     &xmin, &ymin, &xmax, &ymax, 21)) {
            double gx0 = grid->gt[0], gx1 = grid->gt[0] + grid->width * grid->gt[1];
            double gy1 = grid->gt[3], gy0 = grid->gt[3] + grid->height * grid->gt[5];
            result = !(xmax <= fmin(gx0, gx1) || xmin >= fmax(gx0, gx1) || ymax <= fmin(gy0, gy1) ||
                       ymin >= fmax(gy0, gy1));
        }
        if (ct) OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(s);
    OSRDestroySpatialReference(d);
    return result;
}

scarp_status scarp_warped_open(scarp_warped **out, const char *path, int band, const scarp_grid *grid,
                               scarp_resample method, scarp_align_info *info_out)
{
    scarp_gdal_init();
    *out = NULL;
    scarp_status st = SCARP_OK;
    scarp_warped *w = scarp_calloc(1, sizeof *w);
    if (!w) return SCARP_ERR_NOMEM;
    snprintf(w->path, sizeof w->path, "%s", path);
    w->width = grid->width;
    w->height = grid->height;
    w->src = GDALOpen(path, GA_ReadOnly);
    if (!w->src) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot open as a raster (missing file or not a raster)", path);
        goto fail;
    }
    if (band < 1 || band > GDALGetRasterCount(w->src)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: band %d does not exist (the file has %d)", path, band,
                        GDALGetRasterCount(w->src));
        goto fail;
    }
    const char *wkt = GDALGetProjectionRef(w->src);
    if (!wkt || !*wkt) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: raster has no CRS; assign one (gdal_edit.py -a_srs)", path);
        goto fail;
    }
    GDALRasterBandH sb = GDALGetRasterBand(w->src, band);
    scarp_align_info info;
    fill_align_info(&info, w->src, sb);
    info.method = method;
    w->has_nodata = info.has_nodata;
    w->nodata = info.nodata;

    scarp_grid sg;
    scarp_grid_init(&sg);
    st = scarp_grid_from_raster(&sg, path);
    if (st) goto fail;
    int same = scarp_grid_same(&sg, grid);
    info.reprojected = !same && !scarp_grid_same(&(scarp_grid){.wkt = sg.wkt, .gt = {0}, .width = 0, .height = 0},
                                                 &(scarp_grid){.wkt = grid->wkt, .gt = {0}, .width = 0, .height = 0});
    info.resampled = !same;
    scarp_grid_free(&sg);

    if (!overlaps_grid(w->src, grid, &info)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: does not overlap the reference grid (its extent %.6g %.6g %.6g %.6g in %s)",
                        path, info.extent[0], info.extent[1], info.extent[2], info.extent[3], info.crs);
        goto fail;
    }

    if (same) {
        w->band = sb;
        w->mask = mask_band_of(sb);
    } else {
        GDALResampleAlg alg = method == SCARP_RESAMPLE_BILINEAR ? GRA_Bilinear
                              : method == SCARP_RESAMPLE_MODE   ? GRA_Mode
                                                                : GRA_NearestNeighbour;
        /* Categorical layers on a coarser grid: the majority class (mode), not an
         * arbitrary nearest cell; only decidable cheaply when the CRSs agree. */
        if (method == SCARP_RESAMPLE_NEAREST && !info.reprojected && info.res_x * 1.5 < fabs(grid->gt[1])) {
            alg = GRA_Mode;
            info.method = SCARP_RESAMPLE_MODE;
        }
        GDALWarpOptions *wo = GDALCreateWarpOptions();
        wo->hSrcDS = w->src;
        wo->nBandCount = 1;
        wo->panSrcBands = CPLMalloc(sizeof(int));
        wo->panSrcBands[0] = band;
        wo->panDstBands = CPLMalloc(sizeof(int));
        wo->panDstBands[0] = 1;
        wo->eResampleAlg = alg;
        wo->eWorkingDataType = GDT_Float32;
        if (info.has_nodata) {
            wo->padfSrcNoDataReal = CPLMalloc(sizeof(double));
            wo->padfSrcNoDataReal[0] = info.nodata;
        }
        wo->padfDstNoDataReal = CPLMalloc(sizeof(double));
        wo->padfDstNoDataReal[0] = NAN;
        wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
        double sgt[6];
        GDALGetGeoTransform(w->src, sgt);
        wo->pTransformerArg = GDALCreateGenImgProjTransformer3(wkt, sgt, grid->wkt, grid->gt);
        if (!wo->pTransformerArg) {
            GDALDestroyWarpOptions(wo);
            st = scarp_fail(SCARP_ERR_INPUT, "%s: cannot transform its CRS (%s) to the grid's: %s", path, info.crs,
                            gdal_message());
            goto fail;
        }
        wo->pfnTransformer = GDALGenImgProjTransform;
        double gt[6];
        memcpy(gt, grid->gt, sizeof gt);
        w->vrt = GDALCreateWarpedVRT(w->src, (int)grid->width, (int)grid->height, gt, wo);
        if (!w->vrt) {
            GDALDestroyGenImgProjTransformer(wo->pTransformerArg);
            GDALDestroyWarpOptions(wo);
            st = scarp_fail(SCARP_ERR_INPUT, "%s: cannot warp onto the grid: %s", path, gdal_message());
            goto fail;
        }
        GDALSetProjection(w->vrt, grid->wkt);
        /* The VRT cloned the options and owns the transformer (as GDALAutoCreateWarpedVRT
         * does): the options struct itself is ours to free. */
        GDALDestroyWarpOptions(wo);
        w->band = GDALGetRasterBand(w->vrt, 1);
        GDALSetRasterNoDataValue(w->band, NAN);
        w->has_nodata = 1;
        w->nodata = NAN;
    }
    if (info_out) *info_out = info;
    *out = w;
    return SCARP_OK;
fail:
    scarp_warped_close(w);
    return st;
}

scarp_status scarp_warped_read(scarp_warped *w, int64_t col0, int64_t row0, int64_t width, int64_t height,
                               float *out)
{
    int64_t c0 = col0 < 0 ? 0 : col0, r0 = row0 < 0 ? 0 : row0;
    int64_t c1 = col0 + width > w->width ? w->width : col0 + width;
    int64_t r1 = row0 + height > w->height ? w->height : row0 + height;
    int partial = c0 != col0 || r0 != row0 || c1 != col0 + width || r1 != row0 + height;
    if (partial)
        for (int64_t i = 0; i < width * height; i++) out[i] = NAN;
    if (c1 <= c0 || r1 <= r0) return SCARP_OK;
    float *dst = out + (r0 - row0) * width + (c0 - col0);
    if (GDALRasterIO(w->band, GF_Read, (int)c0, (int)r0, (int)(c1 - c0), (int)(r1 - r0), dst, (int)(c1 - c0),
                     (int)(r1 - r0), GDT_Float32, sizeof(float), (GSpacing)(width * (int64_t)sizeof(float))) != CE_None)
        return scarp_fail(SCARP_ERR_IO, "%s: read failed at cells (%lld, %lld): %s", w->path, (long long)c0,
                          (long long)r0, gdal_message());
    for (int64_t r = r0; r < r1; r++)
        mask_nodata(out + (r - row0) * width + (c0 - col0), (size_t)(c1 - c0), w->has_nodata && !isnan(w->nodata),
                    w->nodata);
    if (w->mask) {
        size_t need = (size_t)(c1 - c0) * (size_t)(r1 - r0);
        if (w->mcap < need) {
            uint8_t *m = scarp_realloc(w->mbuf, need);
            if (!m) return SCARP_ERR_NOMEM;
            w->mbuf = m;
            w->mcap = need;
        }
        return apply_mask(w->mask, c0, r0, c1 - c0, r1 - r0, dst, width, w->mbuf, w->path);
    }
    return SCARP_OK;
}

void scarp_warped_close(scarp_warped *w)
{
    if (!w) return;
    if (w->vrt) GDALClose(w->vrt);
    if (w->src) GDALClose(w->src);
    scarp_free(w->mbuf);
    scarp_free(w);
}

scarp_status scarp_raster_read_warped(const char *path, int band, const scarp_grid *grid, scarp_resample method,
                                      float **data, scarp_align_info *info)
{
    *data = NULL;
    scarp_warped *w;
    scarp_status st = scarp_warped_open(&w, path, band, grid, method, info);
    if (st) return st;
    float *buf = scarp_malloc((size_t)grid->width * (size_t)grid->height * sizeof(float));
    if (!buf) { scarp_warped_close(w); return SCARP_ERR_NOMEM; }
    /* Read in strips so GDAL's warper works on bounded chunks. */
    const int64_t strip = 512;
    for (int64_t r = 0; r < grid->height && !st; r += strip) {
        int64_t h = grid->height - r < strip ? grid->height - r : strip;
        st = scarp_warped_read(w, 0, r, grid->width, h, buf + r * grid->width);
    }
    scarp_warped_close(w);
    if (st) { scarp_free(buf); return st; }
    *data = buf;
    return SCARP_OK;
}

/* ---- writing ---- */

struct scarp_raster_writer {
    GDALDatasetH ds;
    scarp_out_type type;
    int cog;
    double nodata;
    char final_path[4096], partial_path[4096];
    float *scratch;
    size_t scratch_n;
};

static GDALDataType gdal_type(scarp_out_type t)
{
    switch (t) {
    case SCARP_OUT_BYTE: return GDT_Byte;
    case SCARP_OUT_INT16: return GDT_Int16;
    case SCARP_OUT_UINT16: return GDT_UInt16;
    default: return GDT_Float32;
    }
}

static double default_nodata(scarp_out_type t)
{
    switch (t) {
    case SCARP_OUT_BYTE: return 255;
    case SCARP_OUT_INT16: return -32768;
    case SCARP_OUT_UINT16: return 65535;
    default: return -9999;
    }
}

scarp_status scarp_raster_writer_open(scarp_raster_writer **out, const char *path, const scarp_grid *grid,
                                      scarp_out_type type, const scarp_raster_meta *meta)
{
    scarp_gdal_init();
    *out = NULL;
    scarp_raster_writer *wr = scarp_calloc(1, sizeof *wr);
    if (!wr) return SCARP_ERR_NOMEM;
    scarp_status st = SCARP_OK;
    snprintf(wr->final_path, sizeof wr->final_path, "%s", path);
    if ((st = scarp_partial_name(wr->partial_path, sizeof wr->partial_path, path))) goto fail;
    wr->type = type;
    wr->cog = meta && meta->cog;
    wr->nodata = default_nodata(type);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "TILED", "YES");
    opts = CSLSetNameValue(opts, "BLOCKXSIZE", "256");
    opts = CSLSetNameValue(opts, "BLOCKYSIZE", "256");
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    if (meta && meta->threads > 1) {
        char nt[16];
        snprintf(nt, sizeof nt, "%d", meta->threads);
        opts = CSLSetNameValue(opts, "NUM_THREADS", nt);
    }
    if (wr->cog && meta->raw_intermediate) {
        opts = CSLSetNameValue(opts, "COMPRESS", "NONE");
    } else if (meta && (meta->fast || wr->cog)) {
        /* libtiff undoes the floating-point predictor one byte at a time: on the kerman
         * stack it was ~45 % of the CPU time of `scarp prepare`; ZSTD alone decodes 4-5x faster.
         * A COG's GTiff is only an intermediate, read once by the COG conversion at commit
         * and deleted: the cheapest codec to write and read back is the right one there
         * (none at all above, where the caller found the space: 1.7 s less CPU per 30 dates'
         * 16 M-cell probability and class maps). */
        opts = CSLSetNameValue(opts, "COMPRESS", "ZSTD");
        opts = CSLSetNameValue(opts, "ZSTD_LEVEL", "1");
    } else {
        opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
        /* Level 1: ~2.5x faster to write than the default 6 for a few % more bytes;
         * deterministic, so identical inputs still give identical files. */
        opts = CSLSetNameValue(opts, "ZLEVEL", "1");
        if (type == SCARP_OUT_FLOAT32) opts = CSLSetNameValue(opts, "PREDICTOR", "3");
    }
    wr->ds = GDALCreate(drv, wr->partial_path, (int)grid->width, (int)grid->height, 1, gdal_type(type), opts);
    CSLDestroy(opts);
    if (!wr->ds) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot create raster: %s", path, gdal_message());
        goto fail;
    }
    double gt[6];
    memcpy(gt, grid->gt, sizeof gt);
    GDALSetGeoTransform(wr->ds, gt);
    if (grid->wkt && *grid->wkt) GDALSetProjection(wr->ds, grid->wkt);
    GDALRasterBandH b = GDALGetRasterBand(wr->ds, 1);
    GDALSetRasterNoDataValue(b, wr->nodata);
    if (meta && meta->description) GDALSetDescription(b, meta->description);
    if (wr->cog) GDALSetMetadataItem(wr->ds, "SCARP_COG", "1", NULL);
    if (meta && type == SCARP_OUT_BYTE && meta->n_classes > 0) {
        if (meta->colors) {
            GDALColorTableH ct = GDALCreateColorTable(GPI_RGB);
            for (int i = 0; i < meta->n_classes; i++) {
                GDALColorEntry e = {meta->colors[i][0], meta->colors[i][1], meta->colors[i][2], meta->colors[i][3]};
                GDALSetColorEntry(ct, i, &e);
            }
            GDALSetRasterColorTable(b, ct);
            GDALDestroyColorTable(ct);
        }
        if (meta->class_names) {
            char **names = NULL;
            for (int i = 0; i < meta->n_classes; i++) names = CSLAddString(names, meta->class_names[i]);
            GDALSetRasterCategoryNames(b, names);
            CSLDestroy(names);
        }
    }
    *out = wr;
    return SCARP_OK;
fail:
    if (wr->ds) GDALClose(wr->ds);
    scarp_free(wr);
    return st;
}

scarp_status scarp_raster_writer_resume(scarp_raster_writer **out, const char *path)
{
    scarp_gdal_init();
    *out = NULL;
    scarp_raster_writer *wr = scarp_calloc(1, sizeof *wr);
    if (!wr) return SCARP_ERR_NOMEM;
    snprintf(wr->final_path, sizeof wr->final_path, "%s", path);
    scarp_partial_name(wr->partial_path, sizeof wr->partial_path, path);
    wr->ds = GDALOpen(wr->partial_path, GA_Update);
    if (!wr->ds) {
        scarp_free(wr);
        return scarp_fail(SCARP_ERR_IO, "%s: cannot reopen partial output to resume", wr->partial_path);
    }
    GDALRasterBandH b = GDALGetRasterBand(wr->ds, 1);
    GDALDataType t = GDALGetRasterDataType(b);
    wr->type = t == GDT_Byte ? SCARP_OUT_BYTE : t == GDT_Int16 ? SCARP_OUT_INT16 : t == GDT_UInt16 ? SCARP_OUT_UINT16
                                                                                                 : SCARP_OUT_FLOAT32;
    wr->nodata = default_nodata(wr->type);
    const char *cog = GDALGetMetadataItem(wr->ds, "SCARP_COG", NULL);
    wr->cog = cog && strcmp(cog, "1") == 0;
    *out = wr;
    return SCARP_OK;
}

scarp_status scarp_raster_writer_write(scarp_raster_writer *wr, int64_t col0, int64_t row0, int64_t width,
                                       int64_t height, const float *data)
{
    size_t n = (size_t)width * (size_t)height;
    if (wr->scratch_n < n) {
        float *s = scarp_realloc(wr->scratch, n * sizeof(float));
        if (!s) return SCARP_ERR_NOMEM;
        wr->scratch = s;
        wr->scratch_n = n;
    }
    for (size_t i = 0; i < n; i++) wr->scratch[i] = isnan(data[i]) ? (float)wr->nodata : data[i];
    GDALRasterBandH b = GDALGetRasterBand(wr->ds, 1);
    if (GDALRasterIO(b, GF_Write, (int)col0, (int)row0, (int)width, (int)height, wr->scratch, (int)width, (int)height,
                     GDT_Float32, 0, 0) != CE_None)
        return scarp_fail(SCARP_ERR_IO, "%s: write failed: %s", wr->final_path, gdal_message());
    return SCARP_OK;
}

/* GDAL keeps what GeoTIFF cannot hold (category names, some statistics) in a PAM
 * sidecar "<file>.aux.xml" named after the file it wrote: follow the rename. */
static scarp_status move_sidecar(const char *written, const char *final_path)
{
    char from[4300], to[4300];
    snprintf(from, sizeof from, "%s.aux.xml", written);
    snprintf(to, sizeof to, "%s.aux.xml", final_path);
    if (!scarp_file_exists(from)) {
        unlink(to); /* a stale sidecar of an earlier run would describe the wrong file */
        return SCARP_OK;
    }
    return scarp_commit_file(from, to);
}

/* Removes FILE.partial and the FILE.partial.aux.xml GDALClose may write beside it
 * (colour tables, statistics). */
static void remove_partial(const char *partial_path)
{
    char aux[4200];
    unlink(partial_path);
    snprintf(aux, sizeof aux, "%s.aux.xml", partial_path);
    unlink(aux);
}

scarp_status scarp_raster_writer_commit(scarp_raster_writer *wr)
{
    scarp_status st = SCARP_OK;
    if (wr->cog) GDALSetMetadataItem(wr->ds, "SCARP_COG", NULL, NULL);
    /* Reset first: a full disk shows up while the cache is flushed (ENOSPC), and that
     * error must survive until it is checked, or a truncated file would be renamed into
     * place. GDALFlushCache and GDALClose are void in GDAL 3.6: check the error state. */
    CPLErrorReset();
    errno = 0;
    GDALFlushCache(wr->ds);
    int flush_errno = errno;
    int failed = CPLGetLastErrorType() >= CE_Failure;
    GDALClose(wr->ds);
    failed |= CPLGetLastErrorType() >= CE_Failure;
    if (failed) {
        wr->ds = NULL;
        char why[96];
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot finish writing: %s%s", wr->final_path, gdal_message(),
                        write_errno_text(flush_errno, why, sizeof why));
        remove_partial(wr->partial_path);
        goto end;
    }
    wr->ds = NULL;
    if (wr->cog) {
        char cog_tmp[4200];
        snprintf(cog_tmp, sizeof cog_tmp, "%s.cog.partial", wr->final_path);
        /* Same rule as above: reset before the conversion and check after it and after
         * the close, or an ENOSPC raised while GDALTranslate writes would be forgotten and
         * a truncated COG renamed into place (found on a nearly full tmpfs). */
        CPLErrorReset();
        errno = 0;
        GDALDatasetH src = GDALOpen(wr->partial_path, GA_ReadOnly);
        /* DEFLATE level 1: on a 16 M-cell Float32 probability map the default level 6 takes
         * 2.7 s and level 1 1.8 s for the same size (73 MB: probabilities barely compress);
         * a class map is 30 % larger (2.1 instead of 1.6 MB) in 0.5 instead of 0.8 s. */
        char *argv[] = {"-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "LEVEL=1", "-co", "BIGTIFF=IF_SAFER", NULL};
        GDALTranslateOptions *to = GDALTranslateOptionsNew(argv, NULL);
        int usage_error = 0;
        GDALDatasetH dst = src ? GDALTranslate(cog_tmp, src, to, &usage_error) : NULL;
        GDALTranslateOptionsFree(to);
        int ok = dst && CPLGetLastErrorType() < CE_Failure;
        if (dst) GDALClose(dst);
        ok = ok && CPLGetLastErrorType() < CE_Failure;
        int cog_errno = errno;
        if (src) GDALClose(src);
        if (!ok) {
            remove_partial(wr->partial_path);
            unlink(cog_tmp);
            char why[96];
            st = scarp_fail(SCARP_ERR_IO, "%s: cannot write Cloud-Optimized GeoTIFF: %s%s", wr->final_path,
                            gdal_message(), write_errno_text(cog_errno, why, sizeof why));
            goto end;
        }
        remove_partial(wr->partial_path);
        st = scarp_commit_file(cog_tmp, wr->final_path);
        if (!st) st = move_sidecar(cog_tmp, wr->final_path);
    } else {
        st = scarp_commit_file(wr->partial_path, wr->final_path);
        if (!st) st = move_sidecar(wr->partial_path, wr->final_path);
    }
end:
    scarp_free(wr->scratch);
    scarp_free(wr);
    return st;
}

void scarp_raster_writer_abort(scarp_raster_writer *wr)
{
    if (!wr) return;
    if (wr->ds) GDALClose(wr->ds);
    remove_partial(wr->partial_path);
    scarp_free(wr->scratch);
    scarp_free(wr);
}

scarp_status scarp_raster_write(const char *path, const scarp_grid *grid, const float *data, scarp_out_type type,
                                const scarp_raster_meta *meta)
{
    scarp_raster_writer *wr;
    scarp_status st = scarp_raster_writer_open(&wr, path, grid, type, meta);
    if (st) return st;
    const int64_t strip = 256;
    for (int64_t r = 0; r < grid->height; r += strip) {
        int64_t h = grid->height - r < strip ? grid->height - r : strip;
        st = scarp_raster_writer_write(wr, 0, r, grid->width, h, data + r * grid->width);
        if (st) { scarp_raster_writer_abort(wr); return st; }
    }
    return scarp_raster_writer_commit(wr);
}

int scarp_raster_raw_intermediates_fit(const char *dir, int64_t bytes)
{
    struct statvfs v;
    if (bytes < 0 || bytes > ((int64_t)8 << 30) || statvfs(dir, &v) != 0) return 0;
    const double avail = (double)v.f_bavail * (double)v.f_frsize;
    return avail >= 2.0 * (double)bytes + (double)((int64_t)1 << 30);
}
