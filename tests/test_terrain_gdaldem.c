/* test_terrain_gdaldem.c — slope and aspect equal `gdaldem slope` / `gdaldem aspect`
 * (-compute_edges, -zero_for_flat) within 1e-3 degrees on real DEMs (Olinda UTM 25S, 90 m;
 * Luxembourg EPSG:4326 with -s 111120 and the same uniform scale on our side), and the true
 * metric cell size of a geographic DEM (NASADEM 3″ tile) gives the same mean slope as the DEM
 * warped to UTM. Real data come from ../shared/data or scripts/fetch-test-dems; the test
 * skips loudly when neither works. Cells compared: all but the four corners, where gdaldem
 * substitutes the centre while we extrapolate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/raster.h"
#include "scarp/terrain.h"

static char dem_dir[1024];
static const char *TMP = "terrain_gdaldem_tmp";

static int have(const char *path) { return access(path, R_OK) == 0; }

/* Finds the folder holding terra_elev.tif and olinda_dem_utm25s.tif. */
static int find_dems(void)
{
    snprintf(dem_dir, sizeof dem_dir, "%s/dem", SCARP_SHARED_DATA);
    char p[1200];
    snprintf(p, sizeof p, "%s/olinda_dem_utm25s.tif", dem_dir);
    if (have(p)) return 1;
    snprintf(dem_dir, sizeof dem_dir, "test-dems");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/scripts/fetch-test-dems' '%s'", SCARP_SOURCE_DIR, dem_dir);
    if (system(cmd) != 0) return 0;
    snprintf(p, sizeof p, "%s/olinda_dem_utm25s.tif", dem_dir);
    return have(p);
}

static double angle_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 360.0);
    return d > 180.0 ? 360.0 - d : d;
}

/* Runs gdaldem MODE on dem with extra options, reads the result. */
static int run_gdaldem(const char *mode, const char *dem, const char *opts, float **out, scarp_grid *g)
{
    char path[1300], cmd[4096];
    snprintf(path, sizeof path, "%s/gd_%s.tif", TMP, mode);
    snprintf(cmd, sizeof cmd, "gdaldem %s -q -compute_edges %s '%s' '%s'", mode, opts, dem, path);
    if (system(cmd) != 0) return 0;
    return scarp_raster_read(path, 1, g, out) == SCARP_OK;
}

static void compare_with_gdaldem(const char *name, double scale)
{
    char dem[1300];
    snprintf(dem, sizeof dem, "%s/%s", dem_dir, name);
    scarp_grid g, gs, ga;
    scarp_grid_init(&g);
    scarp_grid_init(&gs);
    scarp_grid_init(&ga);
    float *z = NULL, *gd_s = NULL, *gd_a = NULL;
    CHECK_OK(scarp_raster_read(dem, 1, &g, &z));
    if (!z) return;
    char opts[64] = "";
    if (scale != 1.0) snprintf(opts, sizeof opts, "-s %.17g", scale);
    CHECK(run_gdaldem("slope", dem, opts, &gd_s, &gs));
    CHECK(run_gdaldem("aspect", dem, "-zero_for_flat", &gd_a, &ga));
    if (!gd_s || !gd_a) {
        fprintf(stderr, "  gdaldem failed on %s\n", dem);
        goto end;
    }
    int64_t w = g.width, h = g.height;
    scarp_cellsize cs;
    /* gdaldem divides by the geotransform's resolution times -s: use the same cell size */
    CHECK_OK(scarp_cellsize_uniform(&cs, h, fabs(g.gt[1]) * scale, fabs(g.gt[5]) * scale));
    float *s = scarp_malloc(w * h * 4), *a = scarp_malloc(w * h * 4);
    CHECK_OK(scarp_slope_aspect(z, w, h, &cs, s, a));
    double ds = 0, da = 0;
    int64_t compared = 0, nodata_mismatch = 0;
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            if ((r == 0 || r == h - 1) && (c == 0 || c == w - 1)) continue;
            int64_t i = r * w + c;
            if (isnan(z[i])) {
                nodata_mismatch += !isnan(s[i]) || !isnan(gd_s[i]) ? 1 : 0;
                continue;
            }
            if (isnan(gd_s[i]) || isnan(s[i]) || isnan(gd_a[i]) || isnan(a[i])) {
                nodata_mismatch++;
                continue;
            }
            compared++;
            ds = fmax(ds, fabs(s[i] - gd_s[i]));
            double e = angle_diff(a[i], gd_a[i]);
            if (e > 1e-3 && da <= 1e-3)
                fprintf(stderr, "  first aspect mismatch at row %lld col %lld: %.6f vs gdaldem %.6f\n", (long long)r,
                        (long long)c, a[i], gd_a[i]);
            da = fmax(da, e);
        }
    }
    fprintf(stderr, "  %s: %lld cells, max |slope - gdaldem| %.3g deg, max |aspect - gdaldem| %.3g deg\n", name,
            (long long)compared, ds, da);
    CHECK(compared > (w * h) / 3);
    CHECK_EQ_INT(nodata_mismatch, 0);
    CHECK_MSG(ds <= 1e-3, "%s: slope differs from gdaldem by %g deg", name, ds);
    CHECK_MSG(da <= 1e-3, "%s: aspect differs from gdaldem by %g deg", name, da);
    scarp_cellsize_free(&cs);
    scarp_free(s);
    scarp_free(a);
end:
    scarp_free(z);
    scarp_free(gd_s);
    scarp_free(gd_a);
    scarp_grid_free(&g);
    scarp_grid_free(&gs);
    scarp_grid_free(&ga);
}

static void test_olinda_utm(void)
{
    if (!dem_dir[0]) SKIP("no real DEMs (../shared/data absent and scripts/fetch-test-dems failed)");
    compare_with_gdaldem("olinda_dem_utm25s.tif", 1.0);
}

static void test_luxembourg_geographic_scaled(void)
{
    if (!dem_dir[0]) SKIP("no real DEMs (../shared/data absent and scripts/fetch-test-dems failed)");
    compare_with_gdaldem("terra_elev.tif", 111120.0);
}

static double mean_slope(const char *path, int64_t *n_out)
{
    scarp_grid g;
    scarp_grid_init(&g);
    float *z = NULL;
    double mean = NAN;
    if (scarp_raster_read(path, 1, &g, &z) != SCARP_OK) {
        fprintf(stderr, "  %s\n", scarp_last_error());
        return NAN;
    }
    scarp_cellsize cs;
    if (scarp_cellsize_init(&cs, &g) == SCARP_OK) {
        float *s = scarp_malloc(g.width * g.height * 4);
        scarp_slope_aspect(z, g.width, g.height, &cs, s, NULL);
        double sum = 0;
        int64_t n = 0;
        /* skip a margin: the warped raster's rotated footprint leaves NaN wedges */
        for (int64_t r = 5; r < g.height - 5; r++)
            for (int64_t c = 5; c < g.width - 5; c++)
                if (!isnan(s[r * g.width + c])) {
                    sum += s[r * g.width + c];
                    n++;
                }
        mean = sum / (double)n;
        *n_out = n;
        scarp_free(s);
        scarp_cellsize_free(&cs);
    }
    scarp_free(z);
    scarp_grid_free(&g);
    return mean;
}

static void test_geographic_true_cellsize(void)
{
    char dem[1300], utm[1300], cmd[4096];
    snprintf(dem, sizeof dem, "%s/dem/nasadem_N44W072_3arcsec.tif", SCARP_SHARED_DATA);
    if (!have(dem)) SKIP("%s absent: geographic slope test not run", dem);
    /* the tile spans 71-72°W, 44-45°N: UTM zone 19N; 60 m cells (finer than the 3″ source) */
    snprintf(utm, sizeof utm, "%s/nasadem_utm19.tif", TMP);
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite -t_srs EPSG:32619 -tr 60 60 -r bilinear -dstnodata -9999 '%s' '%s'", dem, utm);
    CHECK(system(cmd) == 0);
    int64_t n1 = 0, n2 = 0;
    double geo = mean_slope(dem, &n1), proj = mean_slope(utm, &n2);
    fprintf(stderr, "  NASADEM mean slope: %.3f deg with the true cell size (%lld cells), %.3f deg warped to UTM "
            "(%lld cells)\n", geo, (long long)n1, proj, (long long)n2);
    /* bilinear resampling smooths a little: agree within 3 % of the mean */
    CHECK_REL(geo, proj, 0.03, 0);
    CHECK(geo > 5.0); /* mountains: degrees taken as metres would give ~90° */
}

int main(void)
{
    mkdir(TMP, 0755);
    if (!find_dems()) dem_dir[0] = 0;
    if (system("command -v gdaldem >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: gdaldem (Debian gdal-bin) not installed: no comparison run\n");
        return check_summary();
    }
    RUN(test_olinda_utm);
    RUN(test_luxembourg_geographic_scaled);
    RUN(test_geographic_true_cellsize);
    return check_summary();
}
