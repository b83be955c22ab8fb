/* raster_info.c — `scarp info` for rasters: grid, CRS, bands with type, nodata and exact
 * statistics (min, max, mean over valid cells: not NaN, not the band's nodata value). */
#include "scarp/raster_info.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/grid.h"
#include "scarp/raster.h"

#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <string.h>

int scarp_raster_probe(const char *path)
{
    scarp_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    CPLPopErrorHandler();
    int ok = ds && GDALGetRasterCount(ds) > 0;
    if (ds) GDALClose(ds);
    return ok;
}

scarp_status scarp_raster_describe(const char *path, FILE *out)
{
    scarp_gdal_init();
    if (!scarp_file_exists(path)) return scarp_fail(SCARP_ERR_IO, "%s: no such file", path);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds || GDALGetRasterCount(ds) == 0) {
        if (ds) GDALClose(ds);
        return scarp_fail(SCARP_ERR_INPUT, "%s: not a raster GDAL can read", path);
    }
    scarp_status st = SCARP_OK;
    int64_t W = GDALGetRasterXSize(ds), H = GDALGetRasterYSize(ds);
    double gt[6] = {0, 1, 0, 0, 0, 1};
    int has_gt = GDALGetGeoTransform(ds, gt) == CE_None;
    scarp_grid g;
    scarp_grid_init(&g);
    g.wkt = (char *)GDALGetProjectionRef(ds);
    float *buf = NULL;
    fprintf(out, "%s\n", path);
    fprintf(out, "  format      %s\n", GDALGetDriverShortName(GDALGetDatasetDriver(ds)));
    fprintf(out, "  CRS         %s%s\n", scarp_grid_crs_name(&g),
            g.wkt && *g.wkt ? (scarp_grid_is_geographic(&g) ? " (geographic, degrees)" : " (projected)") : "");
    fprintf(out, "  size        %lld x %lld cells (%lld), %d band%s\n", (long long)W, (long long)H,
            (long long)(W * H), GDALGetRasterCount(ds), GDALGetRasterCount(ds) > 1 ? "s" : "");
    if (has_gt) {
        double x0 = gt[0], x1 = gt[0] + W * gt[1], y0 = gt[3], y1 = gt[3] + H * gt[5];
        fprintf(out, "  resolution  %.10g x %.10g\n", fabs(gt[1]), fabs(gt[5]));
        fprintf(out, "  extent      %.10g %.10g %.10g %.10g (xmin ymin xmax ymax)\n", fmin(x0, x1), fmin(y0, y1),
                fmax(x0, x1), fmax(y0, y1));
        if (gt[2] != 0 || gt[4] != 0) fprintf(out, "  rotated     yes (scarp needs north-up rasters)\n");
    } else {
        fprintf(out, "  georeference none (no geotransform)\n");
    }
    const int64_t strip = 256;
    buf = scarp_malloc((size_t)W * (size_t)strip * sizeof(float));
    if (!buf) { st = SCARP_ERR_NOMEM; goto end; }
    for (int b = 1; b <= GDALGetRasterCount(ds); b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        int has_nd = 0;
        double nd = GDALGetRasterNoDataValue(band, &has_nd);
        const char *desc = GDALGetDescription(band);
        fprintf(out, "  band %d: %s", b, GDALGetDataTypeName(GDALGetRasterDataType(band)));
        if (has_nd)
            fprintf(out, ", nodata %.10g", nd);
        else
            fprintf(out, ", no nodata value");
        if (desc && *desc) fprintf(out, ", \"%s\"", desc);
        fputc('\n', out);
        int64_t n = 0;
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        float ndf = (float)nd;
        for (int64_t r = 0; r < H; r += strip) {
            int64_t h = H - r < strip ? H - r : strip;
            if (GDALRasterIO(band, GF_Read, 0, (int)r, (int)W, (int)h, buf, (int)W, (int)h, GDT_Float32, 0, 0) !=
                CE_None) {
                st = scarp_fail(SCARP_ERR_IO, "%s: cannot read band %d: %s", path, b, CPLGetLastErrorMsg());
                goto end;
            }
            double s = 0;
            for (int64_t i = 0; i < W * h; i++) {
                float v = buf[i];
                if (!isfinite(v) || (has_nd && (v == ndf || (double)v == nd))) continue;
                n++;
                s += v;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            sum += s;
        }
        if (n)
            fprintf(out, "    valid %lld cells (%.2f %%), min %.8g, max %.8g, mean %.8g\n", (long long)n,
                    100.0 * (double)n / (double)(W * H), mn, mx, sum / (double)n);
        else
            fprintf(out, "    no valid cell (all nodata)\n");
        char **cats = GDALGetRasterCategoryNames(band);
        if (cats && cats[0]) {
            fprintf(out, "    classes:");
            for (int k = 0; cats[k]; k++)
                if (*cats[k]) fprintf(out, " %d=%s", k, cats[k]);
            fputc('\n', out);
        }
    }
end:
    scarp_free(buf);
    GDALClose(ds);
    return st;
}
