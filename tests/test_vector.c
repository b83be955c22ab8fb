/* test_vector.c — OGR vector I/O: points read from GeoJSON and GeoPackage written here in
 * another CRS come back reprojected to where PROJ puts them; polygons become centroids and
 * lines their midpoints (closed forms); a line burns exactly the cells it touches (brute
 * force by dense sampling); the crash-safe writer round-trips attributes and dates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/grid.h"
#include "scarp/vector.h"

static char tmp_root[256];

static void tmp_path(char *out, size_t sz, const char *name) { snprintf(out, sz, "%s/%s", tmp_root, name); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* 15°E 45°N is E 500000.000 N 4982950.400 in UTM 33N (central meridian; PROJ/pyproj). */
static void test_geojson_points_reprojected(void)
{
    char path[1024];
    tmp_path(path, sizeof path, "pts.geojson");
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":["
                     "{\"type\":\"Feature\",\"properties\":{\"id\":1,\"name\":\"a\",\"when\":\"2021-03-04\"},"
                     "\"geometry\":{\"type\":\"Point\",\"coordinates\":[15.0,45.0]}},"
                     "{\"type\":\"Feature\",\"properties\":{\"id\":2,\"name\":null,\"when\":\"2020-12-31\"},"
                     "\"geometry\":{\"type\":\"Point\",\"coordinates\":[15.0,0.0]}}]}");
    scarp_point_table t;
    CHECK_OK(scarp_vector_read_points(path, "EPSG:32633", &t));
    CHECK_EQ_INT(t.n, 2);
    CHECK(strcmp(t.crs, "EPSG:4326") == 0);
    if (t.n == 2) {
        CHECK_NEAR(t.x[0], 500000.0, 1e-3);
        CHECK_NEAR(t.y[0], 4982950.400, 1e-2);
        CHECK_NEAR(t.x[1], 500000.0, 1e-3);
        CHECK_NEAR(t.y[1], 0.0, 1e-3);
        int id = scarp_point_table_field(&t, "ID"), name = scarp_point_table_field(&t, "name");
        int when = scarp_point_table_field(&t, "when");
        CHECK(id >= 0 && name >= 0 && when >= 0);
        CHECK_EQ_INT(scarp_point_table_field(&t, "nope"), -1);
        if (id >= 0 && name >= 0 && when >= 0) {
            CHECK(strcmp(t.values[0 * t.n_fields + id], "1") == 0);
            CHECK(strcmp(t.values[0 * t.n_fields + name], "a") == 0);
            CHECK(t.values[1 * t.n_fields + name] == NULL);
            CHECK(strcmp(t.values[1 * t.n_fields + when], "2020-12-31") == 0);
        }
    }
    scarp_point_table_free(&t);
    scarp_point_table_free(&t); /* idempotent */
    scarp_point_table_free(NULL);
}

/* Polygons → centroid, lines → the point halfway along their length (kept in their CRS). */
static void test_polygons_centroids_lines_midpoints(void)
{
    char path[1024];
    tmp_path(path, sizeof path, "shapes.geojson");
    write_text(path,
               "{\"type\":\"FeatureCollection\","
               "\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32633\"}},"
               "\"features\":["
               /* rectangle: centroid (1150, 2300) */
               "{\"type\":\"Feature\",\"properties\":{\"k\":\"rect\"},\"geometry\":{\"type\":\"Polygon\","
               "\"coordinates\":[[[1000,2000],[1300,2000],[1300,2600],[1000,2600],[1000,2000]]]}},"
               /* L shape = 2x1 block [0,2]x[0,1] + 1x1 block [0,1]x[1,2] (units of 100):
                * centroid = (2*(1,0.5) + 1*(0.5,1.5)) / 3 = (2.5/3, 2.5/3) * 100 */
               "{\"type\":\"Feature\",\"properties\":{\"k\":\"L\"},\"geometry\":{\"type\":\"Polygon\","
               "\"coordinates\":[[[0,0],[200,0],[200,100],[100,100],[100,200],[0,200],[0,0]]]}},"
               /* polyline of length 400: the midpoint is at 200 along it, (200, 0) */
               "{\"type\":\"Feature\",\"properties\":{\"k\":\"line\"},\"geometry\":{\"type\":\"LineString\","
               "\"coordinates\":[[0,0],[300,0],[300,100]]}}]}");
    scarp_point_table t;
    CHECK_OK(scarp_vector_read_points(path, NULL, &t));
    CHECK_EQ_INT(t.n, 3);
    CHECK(strcmp(t.crs, "EPSG:32633") == 0);
    if (t.n == 3) {
        CHECK_NEAR(t.x[0], 1150.0, 1e-9);
        CHECK_NEAR(t.y[0], 2300.0, 1e-9);
        CHECK_NEAR(t.x[1], 250.0 / 3.0, 1e-9);
        CHECK_NEAR(t.y[1], 250.0 / 3.0, 1e-9);
        CHECK_NEAR(t.x[2], 200.0, 1e-9);
        CHECK_NEAR(t.y[2], 0.0, 1e-9);
    }
    scarp_point_table_free(&t);
    /* and reprojected: the same file into lon/lat and back agrees */
    CHECK_OK(scarp_vector_read_points(path, "EPSG:4326", &t));
    if (t.n == 3) {
        double x = t.x[0], y = t.y[0];
        CHECK(fabs(x - 10.0) < 2.0 && y > 0.0 && y < 0.1); /* far west of the zone, near the equator */
        CHECK_OK(scarp_transform_points("EPSG:4326", "EPSG:32633", &x, &y, 1, "test"));
        CHECK_NEAR(x, 1150.0, 1e-3);
        CHECK_NEAR(y, 2300.0, 1e-3);
    }
    scarp_point_table_free(&t);
}

/* Segment (x0,y0)-(x1,y1) against cells: sample densely, mark the holding cells. */
static void brute_touched(const scarp_grid *g, double x0, double y0, double x1, double y1, uint8_t *m)
{
    const int K = 200000;
    for (int i = 0; i <= K; i++) {
        double t = (double)i / K, x = x0 + t * (x1 - x0), y = y0 + t * (y1 - y0);
        int64_t c, r;
        if (scarp_grid_cell_of(g, x, y, &c, &r)) m[r * g->width + c] = 1;
    }
}

static void test_rasterize_line_and_polygon(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32633", 10.0, 400000, 5000000, 400200, 5000150));
    CHECK_EQ_INT(g.width, 20);
    CHECK_EQ_INT(g.height, 15);
    int64_t n = scarp_grid_cells(&g);
    /* a two-segment line whose vertices avoid cell corners */
    double xy[6] = {400003.3, 5000141.7, 400121.9, 5000047.1, 400187.4, 5000013.6};
    char path[1024];
    tmp_path(path, sizeof path, "line.gpkg");
    scarp_vector_writer *w = NULL;
    CHECK_OK(scarp_vector_writer_open(&w, path, "roads", "EPSG:32633", SCARP_GEOM_LINE, NULL, "", 0));
    if (w) CHECK_OK(scarp_vector_write_line(w, xy, 3, NULL));
    if (w) CHECK_OK(scarp_vector_writer_commit(w));
    uint8_t *mask = scarp_malloc((size_t)n), *want = scarp_calloc((size_t)n, 1);
    int64_t nf = 0;
    CHECK_OK(scarp_vector_rasterize(path, &g, mask, &nf));
    CHECK_EQ_INT(nf, 1);
    brute_touched(&g, xy[0], xy[1], xy[2], xy[3], want);
    brute_touched(&g, xy[2], xy[3], xy[4], xy[5], want);
    int64_t diff = 0, on = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += mask[i] != want[i];
        on += want[i];
    }
    CHECK(on > 20);
    CHECK_EQ_INT(diff, 0);

    /* a polygon burns its interior and every cell its outline touches; a point one cell */
    tmp_path(path, sizeof path, "poly.geojson");
    write_text(path,
               "{\"type\":\"FeatureCollection\","
               "\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32633\"}},"
               "\"features\":["
               "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\","
               "\"coordinates\":[[[400032,5000032],[400078,5000032],[400078,5000088],[400032,5000088],[400032,5000032]]]}},"
               "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[400155,5000125]}},"
               "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[900155,5000125]}}"
               "]}");
    CHECK_OK(scarp_vector_rasterize(path, &g, mask, &nf));
    CHECK_EQ_INT(nf, 2); /* the third feature is off the grid */
    int64_t wrong = 0;
    for (int64_t r = 0; r < g.height; r++)
        for (int64_t c = 0; c < g.width; c++) {
            double x = scarp_grid_x(&g, (double)c), y = scarp_grid_y(&g, (double)r);
            /* cells [x-5, x+5] intersecting [32, 78] x [32, 88] (offsets from the origin) */
            int in_poly = x + 5 > 400032 && x - 5 < 400078 && y + 5 > 5000032 && y - 5 < 5000088;
            int is_pt = fabs(x - 400155) < 5 && fabs(y - 5000125) < 5;
            wrong += mask[r * g.width + c] != (in_poly || is_pt);
        }
    CHECK_EQ_INT(wrong, 0);

    /* nothing on the grid: an error naming the file */
    tmp_path(path, sizeof path, "far.geojson");
    write_text(path, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},"
                     "\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[100,10],[101,11]]}}]}");
    CHECK_FAILS(scarp_vector_rasterize(path, &g, mask, &nf), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "far.geojson") != NULL);
    scarp_free(mask);
    scarp_free(want);
    scarp_grid_free(&g);
}

static void test_writer_round_trip(void)
{
    char path[1024], partial[1100];
    tmp_path(path, sizeof path, "inv.gpkg");
    snprintf(partial, sizeof partial, "%s.partial", path);
    const char *names[] = {"id", "score", "label", "date"};
    scarp_vector_writer *w = NULL;
    CHECK_OK(scarp_vector_writer_open(&w, path, "landslides", "EPSG:4326", SCARP_GEOM_POINT, names, "irsd", 4));
    CHECK(scarp_file_exists(partial));
    CHECK(!scarp_file_exists(path));
    const int N = 1500;
    for (int i = 0; i < N && w; i++) {
        char id[16], score[32], date[16];
        snprintf(id, sizeof id, "%d", i);
        snprintf(score, sizeof score, "%.17g", i * 0.125);
        snprintf(date, sizeof date, "2020-%02d-%02d", 1 + i % 12, 1 + i % 28);
        const char *vals[] = {id, score, i % 3 ? "slide" : NULL, date};
        CHECK_OK(scarp_vector_write_point(w, 15.0 + i * 1e-4, 45.0, vals));
    }
    if (w) CHECK_OK(scarp_vector_writer_commit(w));
    CHECK(scarp_file_exists(path));
    CHECK(!scarp_file_exists(partial));
    scarp_point_table t;
    CHECK_OK(scarp_vector_read_points(path, "EPSG:32633", &t));
    CHECK_EQ_INT(t.n, N);
    CHECK_EQ_INT(t.n_fields, 4);
    if (t.n == N && t.n_fields == 4) {
        CHECK_NEAR(t.x[0], 500000.0, 1e-3);
        CHECK_NEAR(t.y[0], 4982950.400, 1e-2);
        int64_t bad = 0;
        for (int i = 0; i < N; i++) {
            char date[16];
            snprintf(date, sizeof date, "2020-%02d-%02d", 1 + i % 12, 1 + i % 28);
            bad += atoi(t.values[i * 4 + 0]) != i;
            bad += fabs(atof(t.values[i * 4 + 1]) - i * 0.125) > 1e-12;
            bad += i % 3 ? (t.values[i * 4 + 2] == NULL || strcmp(t.values[i * 4 + 2], "slide") != 0)
                         : t.values[i * 4 + 2] != NULL;
            bad += strcmp(t.values[i * 4 + 3], date) != 0;
        }
        CHECK_EQ_INT(bad, 0);
    }
    scarp_point_table_free(&t);

    /* abort leaves nothing; GeoJSON and FlatGeobuf work too; unknown formats are refused */
    char p2[1024];
    tmp_path(p2, sizeof p2, "aborted.gpkg");
    CHECK_OK(scarp_vector_writer_open(&w, p2, "x", "EPSG:4326", SCARP_GEOM_POINT, NULL, "", 0));
    if (w) CHECK_OK(scarp_vector_write_point(w, 1, 2, NULL));
    scarp_vector_writer_abort(w);
    scarp_vector_writer_abort(NULL);
    snprintf(partial, sizeof partial, "%s.partial", p2);
    CHECK(!scarp_file_exists(p2) && !scarp_file_exists(partial));
    const char *fmts[] = {"pts.out.geojson", "pts.fgb"};
    for (int k = 0; k < 2; k++) {
        tmp_path(p2, sizeof p2, fmts[k]);
        const char *nm[] = {"v"};
        CHECK_OK(scarp_vector_writer_open(&w, p2, "pts", "EPSG:32633", SCARP_GEOM_POINT, nm, "r", 1));
        const char *v[] = {"2.5"};
        if (w) CHECK_OK(scarp_vector_write_point(w, 500000, 4982950.4, v));
        if (w) CHECK_OK(scarp_vector_writer_commit(w));
        CHECK_OK(scarp_vector_read_points(p2, "EPSG:4326", &t));
        CHECK_EQ_INT(t.n, 1);
        if (t.n == 1) {
            CHECK_NEAR(t.x[0], 15.0, 1e-7);
            CHECK_NEAR(t.y[0], 45.0, 1e-7);
            CHECK_NEAR(atof(t.values[0]), 2.5, 0);
        }
        scarp_point_table_free(&t);
    }
    tmp_path(p2, sizeof p2, "x.shp");
    CHECK_FAILS(scarp_vector_writer_open(&w, p2, "x", "EPSG:4326", SCARP_GEOM_POINT, NULL, "", 0), SCARP_ERR_USAGE);
}

static void test_bad_sources(void)
{
    char path[1024];
    scarp_point_table t;
    tmp_path(path, sizeof path, "missing.gpkg");
    CHECK_FAILS(scarp_vector_read_points(path, NULL, &t), SCARP_ERR_IO);
    CHECK(strstr(scarp_last_error(), "missing.gpkg") != NULL);
    tmp_path(path, sizeof path, "garbage.gpkg");
    write_text(path, "this is not a geopackage\n");
    CHECK_FAILS(scarp_vector_read_points(path, NULL, &t), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "garbage.gpkg") != NULL);
    /* no CRS but a target CRS asked for */
    tmp_path(path, sizeof path, "nocrs.csv");
    write_text(path, "WKT,name\n\"POINT (1 2)\",a\n");
    CHECK_FAILS(scarp_vector_read_points(path, "EPSG:4326", &t), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "no CRS") != NULL);
    CHECK_OK(scarp_vector_read_points(path, NULL, &t));
    CHECK_EQ_INT(t.n, 1);
    if (t.n == 1) CHECK_NEAR(t.x[0] + t.y[0], 3.0, 0);
    scarp_point_table_free(&t);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_test_vector_XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_geojson_points_reprojected);
    RUN(test_polygons_centroids_lines_midpoints);
    RUN(test_rasterize_line_and_polygon);
    RUN(test_writer_round_trip);
    RUN(test_bad_sources);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_summary();
}
