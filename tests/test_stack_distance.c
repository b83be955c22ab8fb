/* test_stack_distance.c — distance layers see the features outside the grid: the stack's
 * dist_faults equals brute force (the distance from each cell centre to the nearest point
 * of every fault segment, computed here from the fixture's coordinates) within half a
 * cell diagonal, when a fault runs 100 m beyond the east edge, when the only fault lies
 * 100 m beyond the north edge (no feature on the grid at all), and when a fault 1 km
 * beyond a long grid is nearer to a third of it than the fault inside. A source whose
 * features are all out of reach is an error naming the file.
 *
 * Tolerance: the features are rasterized with ALL_TOUCHED and distances run between cell
 * centres. Every touched cell holds a point of the line within half its diagonal of the
 * centre, and the cell holding the nearest point is touched, so the raster distance and
 * the exact one differ by at most diag/2 (21.2 m for 30 m cells); plus the float32
 * rounding of the stored distance (2^-24 relative). The bug this guards against (features
 * beyond the edge ignored) is off by hundreds of metres to kilometres. Within a tiny
 * `[project] memory` the transform runs by strips: the same distances byte for byte. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/vector.h"

static char tmp_root[256];
#define CELL 30.0
#define X0 500000.0
#define Y0 4980000.0

typedef struct {
    int n; /* vertices */
    double xy[8];
} polyline;

static double point_segment(double px, double py, double ax, double ay, double bx, double by)
{
    double vx = bx - ax, vy = by - ay, wx = px - ax, wy = py - ay;
    double t = (vx * wx + vy * wy) / (vx * vx + vy * vy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double dx = px - (ax + t * vx), dy = py - (ay + t * vy);
    return sqrt(dx * dx + dy * dy);
}

static double brute(const polyline *f, int nf, double x, double y)
{
    double best = INFINITY;
    for (int k = 0; k < nf; k++)
        for (int v = 0; v + 1 < f[k].n; v++)
            best = fmin(best, point_segment(x, y, f[k].xy[2 * v], f[k].xy[2 * v + 1], f[k].xy[2 * v + 2],
                                            f[k].xy[2 * v + 3]));
    return best;
}

static float f_one(double x, double y) { return 1.0f; }

static int64_t g_memory; /* [project] memory of the next build (0: the default) */
static int g_dem_holes;  /* 1: the next build's DEM has nodata cells (an oblique band and scattered cells) */

/* A constant DEM of W x H cells of 30 m from (X0, Y0), faults as a GeoPackage, the stack. */
static scarp_status build(const char *name, int W, int H, const polyline *f, int nf, scarp_stack *s, char *dir,
                          size_t dsz)
{
    char dem[1024], faults[1024];
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32633", CELL, X0, Y0, X0 + CELL * W, Y0 + CELL * H));
    /* exactly W x H cells from (X0, Y0): the faults are placed relative to these edges */
    g.width = W, g.height = H;
    g.gt[0] = X0, g.gt[1] = CELL, g.gt[2] = 0, g.gt[3] = Y0 + CELL * H, g.gt[4] = 0, g.gt[5] = -CELL;
    float *d = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t i = 0; i < scarp_grid_cells(&g); i++) {
        const int64_t r = i / W, c = i % W;
        const int hole = g_dem_holes && ((r + 2 * c) % 97 < 5 || (uint64_t)i * 0x9E3779B97F4A7C15ull >> 60 == 7);
        d[i] = hole ? NAN : f_one(0, 0);
    }
    snprintf(dem, sizeof dem, "%s/%s_dem.tif", tmp_root, name);
    CHECK_OK(scarp_raster_write(dem, &g, d, SCARP_OUT_FLOAT32, NULL));
    scarp_free(d);
    scarp_grid_free(&g);
    snprintf(faults, sizeof faults, "%s/%s_faults.gpkg", tmp_root, name);
    scarp_vector_writer *w = NULL;
    CHECK_OK(scarp_vector_writer_open(&w, faults, "faults", "EPSG:32633", SCARP_GEOM_LINE, NULL, "", 0));
    for (int k = 0; k < nf && w; k++) CHECK_OK(scarp_vector_write_line(w, f[k].xy, f[k].n, NULL));
    if (w) CHECK_OK(scarp_vector_writer_commit(w));

    scarp_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.flow, sizeof c.flow, "mfd");
    c.river_threshold_km2 = 1.0;
    snprintf(c.grid_reference, sizeof c.grid_reference, "dem");
    c.memory_bytes = g_memory;
    scarp_layer_config *l = &c.layers[c.n_layers++];
    snprintf(l->name, sizeof l->name, "dem");
    snprintf(l->path, sizeof l->path, "%s", dem);
    l->band = 1;
    l->kind = SCARP_KIND_CONTINUOUS;
    c.n_distances = 1;
    snprintf(c.distances[0].name, sizeof c.distances[0].name, "faults");
    snprintf(c.distances[0].path, sizeof c.distances[0].path, "%s", faults);
    snprintf(dir, dsz, "%s/%s_run", tmp_root, name);
    return scarp_stack_build(&c, dir, NULL, s);
}

/* dist_faults of the stack against brute force; returns the worst error (m). */
static double compare(const char *what, const scarp_stack *s, const polyline *f, int nf)
{
    int li = scarp_stack_layer_index(s, "dist_faults");
    CHECK(li >= 0);
    if (li < 0) return INFINITY;
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(s->layers[li].path, 1, &g, &d));
    CHECK(g.gt[0] == X0 && g.gt[1] == CELL && g.gt[5] == -CELL);
    double worst = 0, tol_worst = 0, at_x = 0, at_y = 0, got = 0, want = 0;
    const double half_diag = 0.5 * sqrt(2.0) * CELL;
    int64_t bad = 0;
    for (int64_t r = 0; r < g.height && d; r++)
        for (int64_t c = 0; c < g.width; c++) {
            double x = scarp_grid_x(&g, (double)c), y = scarp_grid_y(&g, (double)r);
            double b = brute(f, nf, x, y), v = d[r * g.width + c];
            double tol = half_diag + 2.0 * FLT_EPSILON * b + 1e-9;
            double e = fabs(v - b);
            if (!(e <= tol)) bad++;
            if (!(e <= worst)) worst = e, tol_worst = tol, at_x = x, at_y = y, got = v, want = b;
        }
    printf("  %s: worst |raster - brute force| = %.3f m (tolerance %.3f m) at (%.0f, %.0f): %.3f vs %.3f; %lld cells "
           "out of tolerance\n", what, worst, tol_worst, at_x, at_y, got, want, (long long)bad);
    CHECK_EQ_INT(bad, 0);
    scarp_free(d);
    scarp_grid_free(&g);
    return worst;
}

static cJSON *preflight_input(const char *dir)
{
    char p[1200], *text = NULL;
    snprintf(p, sizeof p, "%s/preflight.json", dir);
    if (scarp_read_file(p, &text, NULL)) {
        snprintf(p, sizeof p, "%s/stack/preflight.json", dir);
        CHECK_OK(scarp_read_file(p, &text, NULL));
    }
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    scarp_free(text);
    return root;
}

/* margin_m and unsure_cells of the distance input in the pre-flight record */
static void check_preflight(const char *dir, int want_margin)
{
    cJSON *root = preflight_input(dir);
    CHECK(root != NULL);
    const cJSON *in, *found = NULL;
    cJSON_ArrayForEach(in, cJSON_GetObjectItemCaseSensitive(root, "inputs"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(in, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "distance")) found = in;
    }
    CHECK(found != NULL);
    if (found) {
        double m = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(found, "margin_m"));
        double u = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(found, "unsure_cells"));
        printf("  pre-flight: margin %.0f m, %.0f unsure cells\n", m, u);
        CHECK(want_margin ? m > 0 : m == 0);
        CHECK(u == 0);
    }
    cJSON_Delete(root);
}

/* a fault inside near the west edge, another 100 m beyond the east edge (oblique, vertices
 * away from cell corners) */
static void test_fault_beyond_east_edge(void)
{
    const int W = 60, H = 40;
    const double xe = X0 + CELL * W;
    polyline f[2] = {{2, {X0 + 95.3, Y0 - 310.7, X0 + 140.9, Y0 + CELL * H + 290.2}},
                     {3, {xe + 100.0, Y0 - 420.1, xe + 100.0, Y0 + 611.3, xe + 163.7, Y0 + CELL * H + 500.9}}};
    scarp_stack s;
    char dir[1100];
    CHECK_OK(build("east", W, H, f, 2, &s, dir, sizeof dir));
    compare("fault 100 m beyond the east edge", &s, f, 2);
    check_preflight(dir, 1);
    /* the east edge column is about 115 m from the outside fault, not ~1.7 km from the inner one */
    float *d = NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_raster_read(s.layers[scarp_stack_layer_index(&s, "dist_faults")].path, 1, &g, &d));
    CHECK_EQ_INT(g.width, W);
    if (d) CHECK_NEAR(d[10 * W + W - 1], brute(f, 2, scarp_grid_x(&g, W - 1), scarp_grid_y(&g, 10)), 21.3);
    if (d) CHECK(d[10 * W + W - 1] < 200.0f);
    scarp_free(d);
    scarp_grid_free(&g);
    scarp_stack_free(&s);
}

/* no feature on the grid at all: one fault 100 m north of it */
static void test_only_fault_beyond_north_edge(void)
{
    const int W = 50, H = 30;
    const double yn = Y0 + CELL * H;
    polyline f[1] = {{2, {X0 - 700.4, yn + 100.0, X0 + CELL * W + 800.6, yn + 163.1}}};
    scarp_stack s;
    char dir[1100];
    CHECK_OK(build("north", W, H, f, 1, &s, dir, sizeof dir));
    compare("only fault 100 m beyond the north edge", &s, f, 1);
    check_preflight(dir, 1);
    scarp_stack_free(&s);
}

/* a long grid: the fault inside at the west end, one 1 km beyond the east end is the
 * nearer one for the eastern third */
static void test_far_fault_nearer_than_inner(void)
{
    const int W = 200, H = 20;
    const double xe = X0 + CELL * W;
    polyline f[2] = {{2, {X0 + 20.2, Y0 - 50.3, X0 + 35.7, Y0 + CELL * H + 40.9}},
                     {2, {xe + 1000.0, Y0 - 200.5, xe + 1010.3, Y0 + CELL * H + 210.1}}};
    scarp_stack s;
    char dir[1100];
    CHECK_OK(build("long", W, H, f, 2, &s, dir, sizeof dir));
    compare("fault 1 km beyond a 6 km grid", &s, f, 2);
    check_preflight(dir, 1);
    scarp_stack_free(&s);
}

/* every fault inside: no margin needed (the old single pass) */
static void test_faults_inside_need_no_margin(void)
{
    const int W = 40, H = 40;
    polyline f[1] = {{3, {X0 + 100.3, Y0 + 100.9, X0 + 700.2, Y0 + 900.4, X0 + 1100.6, Y0 + 400.7}}};
    scarp_stack s;
    char dir[1100];
    CHECK_OK(build("inside", W, H, f, 1, &s, dir, sizeof dir));
    compare("fault inside the grid", &s, f, 1);
    check_preflight(dir, 0);
    scarp_stack_free(&s);
}

/* out of reach (300 km away): an error naming the file */
static void test_fault_out_of_reach(void)
{
    polyline f[1] = {{2, {X0 + 300000.5, Y0 + 10.5, X0 + 300100.5, Y0 + 50.5}}};
    scarp_stack s;
    char dir[1100];
    scarp_status st = build("far", 40, 40, f, 1, &s, dir, sizeof dir);
    CHECK_EQ_INT(st, SCARP_ERR_INPUT);
    printf("  out of reach: %s\n", scarp_last_error());
    CHECK(strstr(scarp_last_error(), "far_faults.gpkg") && strstr(scarp_last_error(), "within"));
    if (st == SCARP_OK) scarp_stack_free(&s);
}

static double preflight_strips(const char *dir)
{
    cJSON *root = preflight_input(dir);
    double strips = -1;
    const cJSON *in;
    cJSON_ArrayForEach(in, cJSON_GetObjectItemCaseSensitive(root, "inputs"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(in, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "distance"))
            strips = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(in, "strips"));
    }
    cJSON_Delete(root);
    return strips;
}

/* Within a tiny `[project] memory` the window is swept in strips of 64-row bands (the nearest
 * feature rows wait in a scratch raster between the sweeps): the same distances, byte for
 * byte, as the whole window at once, on a tall grid whose faults cross the strips' edges
 * obliquely, with one beyond the south edge (a margin around the grid). */
static void test_strips_equal_whole_window(void)
{
    const int W = 90, H = 700;
    const double ys = Y0;
    polyline f[3] = {{3, {X0 + 150.3, Y0 + 20500.7, X0 + 1900.6, Y0 + 9000.2, X0 + 600.9, Y0 + 3100.4}},
                     {2, {X0 - 300.2, Y0 + 15300.5, X0 + 3000.8, Y0 + 15320.1}},
                     {2, {X0 + 400.5, ys - 120.0, X0 + 2500.1, ys - 180.7}}};
    scarp_stack a, b;
    char da[1100], db[1100];
    g_memory = (int64_t)1 << 40;
    g_dem_holes = 1;
    CHECK_OK(build("whole", W, H, f, 3, &a, da, sizeof da));
    g_memory = (int64_t)1 << 10; /* below what the process holds: the smallest strips, spilled bitmaps */
    CHECK_OK(build("strips", W, H, f, 3, &b, db, sizeof db));
    g_memory = 0;
    g_dem_holes = 0;
    /* the nodata bitmaps spilled to files under the tiny budget: the same valid mask */
    CHECK(a.valid_cells > 0 && a.valid_cells < (int64_t)W * H / 10 * 9);
    CHECK_EQ_INT(b.valid_cells, a.valid_cells);
    {
        float *va = NULL, *vb = NULL;
        scarp_grid gv;
        scarp_grid_init(&gv);
        CHECK_OK(scarp_raster_read(a.valid_path, 1, &gv, &va));
        scarp_grid_free(&gv);
        scarp_grid_init(&gv);
        CHECK_OK(scarp_raster_read(b.valid_path, 1, &gv, &vb));
        scarp_grid_free(&gv);
        int64_t vdiff = 0, vn = 0;
        for (int64_t i = 0; va && vb && i < (int64_t)W * H; i++) vdiff += va[i] != vb[i], vn += va[i] > 0.5f;
        CHECK(va && vb);
        CHECK_EQ_INT(vdiff, 0);
        CHECK_EQ_INT(vn, a.valid_cells);
        scarp_free(va), scarp_free(vb);
    }
    double sa = preflight_strips(da), sb = preflight_strips(db);
    printf("  whole window: %.0f strip(s); tiny budget: %.0f strips\n", sa, sb);
    CHECK(sa == 1);
    CHECK(sb >= 3);
    compare("tall grid by strips", &b, f, 3);
    float *x = NULL, *y = NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_raster_read(a.layers[scarp_stack_layer_index(&a, "dist_faults")].path, 1, &g, &x));
    scarp_grid_free(&g);
    scarp_grid_init(&g);
    CHECK_OK(scarp_raster_read(b.layers[scarp_stack_layer_index(&b, "dist_faults")].path, 1, &g, &y));
    int64_t differ = 0;
    for (int64_t i = 0; x && y && i < (int64_t)W * H; i++) differ += memcmp(&x[i], &y[i], sizeof(float)) != 0;
    printf("  %lld of %d cells differ\n", (long long)differ, W * H);
    CHECK(x && y);
    CHECK_EQ_INT(differ, 0);
    scarp_free(x), scarp_free(y);
    scarp_grid_free(&g);
    scarp_stack_free(&a);
    scarp_stack_free(&b);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_test_stack_distance_XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_fault_beyond_east_edge);
    RUN(test_only_fault_beyond_north_edge);
    RUN(test_far_fault_nearer_than_inner);
    RUN(test_faults_inside_need_no_margin);
    RUN(test_fault_out_of_reach);
    RUN(test_strips_equal_whole_window);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_summary();
}
