/* test_data_prepare.c — `scarp prepare` end to end on tiny constructed inputs: inventory
 * in another CRS (reprojected), points off the grid / on nodata / duplicated / outside the
 * series reported and dropped, patches at the grid edge and around nodata, dataset file
 * round trip and damaged-file errors, no valid positives. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/grid.h"
#include "scarp/raster.h"

static char dir[256];
#define GW 60
#define GH 50
#define RES 30.0
#define X0 499980.0 /* a multiple of 30: the grid is not snapped */
#define Y1 3000000.0

static float dem_value(int c, int r) { return (float)(1000 + 3 * c + 2 * r); }

static void put(const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

/* Cell centre → lon/lat text (the inventory is given in EPSG:4326). */
static void lonlat_of(const scarp_grid *g, double col, double row, double *lon, double *lat)
{
    double x = scarp_grid_x(g, col), y = scarp_grid_y(g, row);
    scarp_transform_points(g->wkt, "EPSG:4326", &x, &y, 1, "test");
    /* OGR's traditional GIS order is applied by scarp_transform_points: x = lon, y = lat */
    *lon = x;
    *lat = y;
}

static scarp_grid grid;
static int pos_col[20], pos_row[20];

static void make_inputs(int all_off_grid)
{
    float *dem = scarp_malloc(sizeof(float) * GW * GH), *erg = scarp_malloc(sizeof(float) * GW * GH);
    for (int r = 0; r < GH; r++)
        for (int c = 0; c < GW; c++) {
            dem[r * GW + c] = dem_value(c, r);
            erg[r * GW + c] = (float)(1 + (c / 20));
        }
    for (int r = 20; r < 24; r++)
        for (int c = 30; c < 34; c++) dem[r * GW + c] = NAN; /* a nodata hole */
    char p[600];
    snprintf(p, sizeof p, "%s/dem.tif", dir);
    CHECK_OK(scarp_raster_write(p, &grid, dem, SCARP_OUT_FLOAT32, NULL));
    snprintf(p, sizeof p, "%s/erg.tif", dir);
    CHECK_OK(scarp_raster_write(p, &grid, erg, SCARP_OUT_BYTE, NULL));
    scarp_free(dem);
    scarp_free(erg);

    char *inv = scarp_malloc(8192);
    size_t k = (size_t)sprintf(inv, "id,lon,lat,event\n");
    for (int i = 0; i < 20; i++) {
        pos_col[i] = (i * 7) % GW;
        pos_row[i] = (i * 11) % GH;
        if (i == 0) pos_col[i] = 0, pos_row[i] = 0; /* the corner: a patch mostly outside */
        if (i == 1) pos_col[i] = 29, pos_row[i] = 21; /* beside the hole */
        double lon, lat;
        lonlat_of(&grid, pos_col[i], pos_row[i], &lon, &lat);
        k += (size_t)sprintf(inv + k, "p%d,%.10f,%.10f,2020-03-%02d\n", i, lon, lat, 1 + i);
    }
    double lon, lat;
    lonlat_of(&grid, -5, 10, &lon, &lat);
    k += (size_t)sprintf(inv + k, "off,%.10f,%.10f,2020-03-01\n", lon, lat);
    lonlat_of(&grid, 31, 21, &lon, &lat);
    k += (size_t)sprintf(inv + k, "hole,%.10f,%.10f,2020-03-01\n", lon, lat);
    lonlat_of(&grid, pos_col[5] + 0.2, pos_row[5] - 0.2, &lon, &lat);
    k += (size_t)sprintf(inv + k, "dup,%.10f,%.10f,2020-03-01\n", lon, lat);
    lonlat_of(&grid, 10, 40, &lon, &lat);
    k += (size_t)sprintf(inv + k, "early,%.10f,%.10f,2019-12-05\n", lon, lat);
    if (all_off_grid) { /* every point 1° further east: 100 km off the grid */
        k = (size_t)sprintf(inv, "id,lon,lat,event\n");
        for (int i = 0; i < 24; i++) {
            lonlat_of(&grid, i, i, &lon, &lat);
            k += (size_t)sprintf(inv + k, "q%d,%.10f,%.10f,2020-03-10\n", i, lon + 1.0, lat);
        }
    }
    put("inventory.csv", inv);
    /* one rain station, wide form, 2019-12-01 .. 2020-04-30, value = day of month */
    k = (size_t)sprintf(inv, "date,S1\n");
    for (int32_t d = 0; d < 152; d++) {
        int32_t d0;
        scarp_date_parse("2019-12-01", &d0);
        int y, m, dd;
        scarp_date_to_ymd(d0 + d, &y, &m, &dd);
        k += (size_t)sprintf(inv + k, "%04d-%02d-%02d,%d\n", y, m, dd, dd);
    }
    put("rain.csv", inv);
    scarp_free(inv);
    put("stations.csv", "id,x,y\nS1,500900,2999250\n");
    put("study.ini", "[project]\nout = run\nseed = 5\n"
                     "[layer.dem]\npath = dem.tif\n"
                     "[layer.erg]\npath = erg.tif\nkind = categorical\n"
                     "[inventory]\npath = inventory.csv\nx = lon\ny = lat\ncrs = EPSG:4326\ndate = event\n"
                     "[negatives]\nmin_distance = 60\n"
                     "[temporal]\nstations = stations.csv\nrainfall = rain.csv\nwindow = 10\n"
                     "[model]\npatch = 6\nmodels = mlp logreg\n");
}

static void test_prepare(void)
{
    make_inputs(0);
    static scarp_config cfg;
    char ini[600], out[600];
    snprintf(ini, sizeof ini, "%s/study.ini", dir);
    scarp_config_defaults(&cfg);
    CHECK_OK(scarp_config_load(&cfg, ini));
    snprintf(out, sizeof out, "%s/run", dir);
    CHECK(strcmp(cfg.out, out) == 0);
    scarp_dataset d;
    scarp_dataset_init(&d);
    scarp_prepare_report rep;
    CHECK_OK(scarp_prepare(&cfg, cfg.out, NULL, &d, &rep));
    if (d.n == 0) return;
    CHECK_EQ_INT(rep.inventory_rows, 24);
    CHECK_EQ_INT(rep.dropped_off_grid, 1);
    CHECK_EQ_INT(rep.dropped_nodata, 1);
    CHECK_EQ_INT(rep.dropped_duplicate, 1);
    CHECK_EQ_INT(rep.dropped_window, 1);
    CHECK_EQ_INT(rep.positives, 20);
    CHECK_EQ_INT(rep.negatives, 20);
    CHECK_EQ_INT(d.n, 40);
    /* reprojected from lon/lat onto the intended cells */
    for (int i = 0; i < 20; i++) CHECK(d.label[i] == 1 && d.col[i] == pos_col[i] && d.row[i] == pos_row[i]);
    /* 20 per class → val round(3.0) = 3, test 3, train 14 */
    CHECK_EQ_INT(scarp_dataset_count(&d, 0, 1), 14);
    CHECK_EQ_INT(scarp_dataset_count(&d, 1, 1), 3);
    CHECK_EQ_INT(scarp_dataset_count(&d, 2, 0), 3);
    /* channels: dem + erg one-hot (1, 2, 3) */
    CHECK_EQ_INT(d.C, 4);
    CHECK_EQ_INT(d.H, 6);
    CHECK_EQ_INT(d.T, 1);
    CHECK_EQ_INT(d.N, 10);
    CHECK_EQ_INT(d.F, 4 + 4);
    CHECK(strcmp(d.channel_names[0], "dem") == 0 && strcmp(d.channel_names[2], "erg=2") == 0);
    CHECK_EQ_INT(d.n_factors, 3);
    CHECK_EQ_INT(d.factors[1].n_channels, 3);
    CHECK_EQ_INT(d.factors[2].temporal_var, 0);
    const scarp_norm_channel *dem = &d.norm.channels[0];
    /* sample 0 at the corner (0,0): patch rows/cols 0..2 lie outside → the training mean;
     * the centre (3,3) is the sample cell */
    const float *p0 = d.patches; /* (C, 6, 6) */
    CHECK_NEAR(p0[0 * 6 + 0], dem->mean, 0);
    CHECK_NEAR(p0[2 * 6 + 5], dem->mean, 0);
    CHECK_NEAR(p0[3 * 6 + 3], (dem_value(0, 0) - dem->min) / (dem->max - dem->min), 1e-5);
    CHECK_NEAR(p0[5 * 6 + 5], (dem_value(2, 2) - dem->min) / (dem->max - dem->min), 1e-5);
    CHECK_NEAR(d.tab[0], p0[3 * 6 + 3], 0);
    /* sample 1 beside the hole (col 29, row 21): patch col 30.. row 20..23 is nodata */
    const float *p1 = d.patches + (size_t)1 * d.C * 36;
    CHECK_NEAR(p1[(3 + 0) * 6 + 4], dem->mean, 0); /* (row 21, col 30) */
    CHECK_NEAR(p1[3 * 6 + 3], (dem_value(29, 21) - dem->min) / (dem->max - dem->min), 1e-5);
    CHECK_NEAR(p1[1 * 36 + 3 * 6 + 3], 0.0, 0); /* erg of col 29 is 2: erg=1 channel 0 */
    CHECK_NEAR(p1[2 * 36 + 3 * 6 + 3], 1.0, 0); /* erg=2 channel 1 */
    /* sequence: window of 10 days ending the day before 2020-03-01 (sample 0): Feb 20..29 */
    float smin = d.norm.seq_min[0], smax = d.norm.seq_max[0];
    for (int i = 0; i < 10; i++) CHECK_NEAR(d.seq[i] * (smax - smin) + smin, 20 + i, 1e-4);
    /* negatives: matched dates (drawn from the positives'), min distance, valid cells */
    for (int64_t i = 20; i < 40; i++) {
        int found = 0;
        for (int j = 0; j < 20; j++) found |= d.date[j] == d.date[i];
        CHECK(found);
        CHECK(!(d.col[i] >= 30 && d.col[i] < 34 && d.row[i] >= 20 && d.row[i] < 24));
        for (int64_t j = 0; j < i; j++) CHECK(hypot(d.x[i] - d.x[j], d.y[i] - d.y[j]) >= 60 - 1e-9);
    }
    /* files */
    char path[700];
    snprintf(path, sizeof path, "%s/prepare_summary.txt", out);
    CHECK(scarp_file_exists(path));
    char *text = NULL;
    size_t bytes = 0;
    if (scarp_read_file(path, &text, &bytes) == SCARP_OK) {
        CHECK(strstr(text, "dropped on nodata: 1") != NULL);
        CHECK(strstr(text, "duplicate: same cell as row") != NULL);
        scarp_free(text);
    }
    /* dataset round trip */
    snprintf(path, sizeof path, "%s/dataset.bin", out);
    scarp_dataset e;
    CHECK_OK(scarp_dataset_load(&e, path));
    CHECK(e.n == d.n && e.C == d.C && e.F == d.F && e.n_factors == d.n_factors);
    if (e.n == d.n && e.C == d.C) {
        CHECK(memcmp(e.patches, d.patches, sizeof(float) * (size_t)d.n * d.C * 36) == 0);
        CHECK(memcmp(e.seq, d.seq, sizeof(float) * (size_t)d.n * d.N * d.T) == 0);
        CHECK(memcmp(e.split, d.split, (size_t)d.n) == 0);
        CHECK(memcmp(e.date, d.date, sizeof(int32_t) * (size_t)d.n) == 0);
        CHECK(e.norm.C == d.norm.C && e.norm.channels[0].mean == d.norm.channels[0].mean);
        CHECK(scarp_grid_same(&e.grid, &d.grid));
    }
    scarp_dataset_free(&e);
    /* reproducible: a second run (stack reused) gives the same file */
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    scarp_read_file(path, &a, &na);
    CHECK_OK(scarp_prepare(&cfg, cfg.out, NULL, NULL, &rep));
    scarp_read_file(path, &b, &nb);
    CHECK(a && b && na == nb && memcmp(a, b, na) == 0);
    /* damaged and truncated files */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/damaged.bin", dir);
    a[na / 2] ^= 0x10;
    scarp_write_file_atomic(bad, a, na);
    CHECK_FAILS(scarp_dataset_load(&e, bad), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "damaged.bin") != NULL);
    scarp_write_file_atomic(bad, b, nb / 3);
    CHECK_FAILS(scarp_dataset_load(&e, bad), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "truncated") != NULL);
    scarp_write_file_atomic(bad, "hello", 5);
    CHECK_FAILS(scarp_dataset_load(&e, bad), SCARP_ERR_INPUT);
    scarp_free(a);
    scarp_free(b);
    scarp_dataset_free(&d);
}

static void test_no_valid_positives(void)
{
    make_inputs(1);
    static scarp_config cfg;
    char ini[600];
    snprintf(ini, sizeof ini, "%s/study.ini", dir);
    scarp_config_defaults(&cfg);
    CHECK_OK(scarp_config_load(&cfg, ini));
    scarp_prepare_report rep;
    CHECK_FAILS(scarp_prepare(&cfg, cfg.out, NULL, NULL, &rep), SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), "no valid landslide point remains") != NULL, "%s", scarp_last_error());
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/scarp_test_prepare_%d", (int)getpid());
    scarp_mkdir_p(dir);
    scarp_grid_init(&grid);
    if (scarp_grid_from_extent(&grid, "EPSG:32640", RES, X0, Y1 - GH * RES, X0 + GW * RES, Y1) != SCARP_OK ||
        grid.width != GW || grid.height != GH) {
        fprintf(stderr, "test grid: %s\n", scarp_last_error());
        return 1;
    }
    RUN(test_prepare);
    RUN(test_no_valid_positives);
    scarp_grid_free(&grid);
    char cmd[300];
    snprintf(cmd, sizeof cmd, getenv("KEEP") ? "true %s" : "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    return check_summary();
}
