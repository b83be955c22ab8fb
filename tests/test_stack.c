/* test_stack.c — the layer stack on small constructed rasters: reprojection lands a
 * feature where PROJ says it is, categorical layers never gain classes, bilinear reproduces
 * a linear ramp, the valid mask is the AND of all layers, the pre-flight report counts
 * voids against brute force, window reads at the edges are NaN outside, and every bad
 * input is a clear error naming the file with nothing left behind. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/vector.h"

static char tmp_root[256];

static void tmp_path(char *out, size_t sz, const char *name)
{
    snprintf(out, sz, "%s/%s", tmp_root, name);
}

/* Writes a raster whose cell (c, r) holds f(x, y) of its centre. */
static void write_raster(const char *name, const char *crs, double res, double xmin, double ymin, double xmax,
                         double ymax, float (*f)(double x, double y, void *u), void *u, char *path_out)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, crs, res, xmin, ymin, xmax, ymax));
    float *d = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t r = 0; r < g.height; r++)
        for (int64_t c = 0; c < g.width; c++)
            d[r * g.width + c] = f(scarp_grid_x(&g, (double)c), scarp_grid_y(&g, (double)r), u);
    tmp_path(path_out, 1024, name);
    CHECK_OK(scarp_raster_write(path_out, &g, d, SCARP_OUT_FLOAT32, NULL));
    scarp_free(d);
    scarp_grid_free(&g);
}

static void cfg_init(scarp_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->flow, sizeof c->flow, "mfd");
    c->river_threshold_km2 = 1.0;
    snprintf(c->grid_reference, sizeof c->grid_reference, "dem");
}

static void cfg_layer(scarp_config *c, const char *name, const char *path, scarp_layer_kind kind, unsigned derive)
{
    scarp_layer_config *l = &c->layers[c->n_layers++];
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->path, sizeof l->path, "%s", path);
    l->band = 1;
    l->kind = kind;
    l->derive = derive;
}

static float *read_layer(const scarp_stack *s, const char *name)
{
    int i = scarp_stack_layer_index(s, name);
    CHECK(i >= 0);
    if (i < 0) return NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(s->layers[i].path, 1, &g, &d));
    CHECK(scarp_grid_same(&g, &s->grid));
    scarp_grid_free(&g);
    return d;
}

static void out_dir(char *out, size_t sz, const char *name)
{
    tmp_path(out, sz, name);
}

/* ---- fields ---- */

static float f_ramp_x(double x, double y, void *u) { return (float)(0.01 * (x - 500000.0)); }
static float f_const(double x, double y, void *u) { return *(float *)u; }
static float f_plane(double x, double y, void *u) { return (float)(0.1 * (x - 500000.0) + 1000.0); }

/* A bump of 100 at (15°E, 45°N), zero elsewhere (a lon/lat raster). */
static float f_bump_ll(double lon, double lat, void *u)
{
    return (fabs(lon - 15.0) < 0.0008 && fabs(lat - 45.0) < 0.0008) ? 100.0f : 0.0f;
}

/* Three classes in irregular stripes. */
static float f_classes(double x, double y, void *u)
{
    int k = ((int)floor((x - 500000.0) / 70.0) + 2 * (int)floor((y - 4978000.0) / 110.0)) % 3;
    return k == 0 ? 3.0f : k == 1 ? 7.0f : 11.0f;
}

/* Holes of nodata: a disc in layer A, a band in layer B. */
static float f_hole_a(double x, double y, void *u)
{
    double dx = x - 502000, dy = y - 4983000;
    return dx * dx + dy * dy < 1500.0 * 1500.0 ? NAN : 1.0f;
}
static float f_hole_b(double x, double y, void *u) { return (x > 503000 && x < 504000) ? NAN : 2.0f; }

/* The UTM 33N grid used throughout: 10 km square around (15°E, 45°N) at 100 m. */
#define GX0 495000.0
#define GY0 4978000.0
#define GX1 505000.0
#define GY1 4988000.0

static void test_reprojected_feature_lands_in_place(void)
{
    char dem[1024], bump[1024], out[1024];
    float z = 500.0f;
    write_raster("ref_dem.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_const, &z, dem);
    write_raster("bump_ll.tif", "EPSG:4326", 0.0004, 14.9, 44.93, 15.1, 45.07, f_bump_ll, NULL, bump);
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "bump", bump, SCARP_KIND_CONTINUOUS, 0);
    out_dir(out, sizeof out, "run_reproject");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    CHECK_EQ_INT(s.n_layers, 2);
    CHECK_EQ_INT(s.grid.width, 100);
    float *b = read_layer(&s, "bump");
    if (b) {
        /* PROJ (pyproj / gdaltransform) puts 15°E 45°N at E 500000.000, N 4982950.400 in
         * UTM 33N; the warped bump's centre of mass must be there, within 25 m. */
        double sw = 0, sx = 0, sy = 0, vmax = 0;
        for (int64_t r = 0; r < s.grid.height; r++)
            for (int64_t col = 0; col < s.grid.width; col++) {
                double v = b[r * s.grid.width + col];
                CHECK(!isnan(v));
                sw += v;
                sx += v * scarp_grid_x(&s.grid, (double)col);
                sy += v * scarp_grid_y(&s.grid, (double)r);
                vmax = fmax(vmax, v);
            }
        CHECK(sw > 0);
        CHECK_NEAR(sx / sw, 500000.0, 25.0);
        CHECK_NEAR(sy / sw, 4982950.4, 25.0);
        CHECK(vmax > 50.0 && vmax <= 100.0);
        scarp_free(b);
    }
    /* the pre-flight report says so */
    char pj[1200], *text = NULL;
    size_t n;
    snprintf(pj, sizeof pj, "%s/preflight.json", out);
    CHECK_OK(scarp_read_file(pj, &text, &n));
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECK(root != NULL);
    if (root) {
        cJSON *inputs = cJSON_GetObjectItem(root, "inputs");
        CHECK_EQ_INT(cJSON_GetArraySize(inputs), 2);
        cJSON *i0 = cJSON_GetArrayItem(inputs, 0), *i1 = cJSON_GetArrayItem(inputs, 1);
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(i0, "reprojected")));
        CHECK(strcmp(cJSON_GetObjectItem(i0, "method")->valuestring, "none") == 0);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(i1, "reprojected")));
        CHECK(strcmp(cJSON_GetObjectItem(i1, "method")->valuestring, "bilinear") == 0);
        CHECK(strcmp(cJSON_GetObjectItem(i1, "crs")->valuestring, "EPSG:4326") == 0);
        CHECK_EQ_INT(cJSON_GetObjectItem(i1, "void_cells")->valuedouble, 0);
        cJSON_Delete(root);
    }
    scarp_free(text);
    char txt[1200];
    snprintf(txt, sizeof txt, "%s/preflight.txt", out);
    CHECK(scarp_file_exists(txt));
    scarp_stack_free(&s);
}

static void check_classes_only(const float *d, int64_t n, int *seen)
{
    for (int64_t i = 0; i < n; i++) {
        float v = d[i];
        int ok = v == 3.0f || v == 7.0f || v == 11.0f;
        if (!ok) {
            CHECK_MSG(ok, "cell %lld has class %g, not an input class", (long long)i, v);
            return;
        }
        seen[v == 3.0f ? 0 : v == 7.0f ? 1 : 2] = 1;
    }
}

static void test_categorical_gains_no_class(void)
{
    char dem[1024], cls[1024], out[1024];
    float z = 1.0f;
    /* input classes on a 30 m grid offset from the 100 m reference (coarser: mode) and
     * from a 20 m one (finer: nearest) */
    write_raster("cls30.tif", "EPSG:32633", 30, GX0 - 15, GY0 - 15, GX1 + 15, GY1 + 15, f_classes, NULL, cls);
    for (int pass = 0; pass < 2; pass++) {
        double res = pass == 0 ? 100 : 20;
        write_raster(pass == 0 ? "cdem100.tif" : "cdem20.tif", "EPSG:32633", res, GX0 + 2000, GY0 + 2000,
                     GX0 + 4000, GY0 + 4000, f_const, &z, dem);
        scarp_config c;
        cfg_init(&c);
        cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
        cfg_layer(&c, "erg", cls, SCARP_KIND_CATEGORICAL, 0);
        out_dir(out, sizeof out, pass == 0 ? "run_cat_mode" : "run_cat_nearest");
        scarp_stack s;
        CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
        float *d = read_layer(&s, "erg");
        int seen[3] = {0};
        if (d) check_classes_only(d, scarp_grid_cells(&s.grid), seen);
        CHECK(seen[0] && seen[1] && seen[2]);
        scarp_free(d);
        /* stack.json records exactly the classes found */
        scarp_stack o;
        CHECK_OK(scarp_stack_open(&o, out));
        int li = scarp_stack_layer_index(&o, "erg");
        CHECK(li == 1);
        if (li == 1) {
            CHECK_EQ_INT(o.layers[li].kind, SCARP_KIND_CATEGORICAL);
            CHECK_EQ_INT(o.layers[li].n_categories, 3);
            if (o.layers[li].n_categories == 3) {
                CHECK_EQ_INT(o.layers[li].categories[0], 3);
                CHECK_EQ_INT(o.layers[li].categories[1], 7);
                CHECK_EQ_INT(o.layers[li].categories[2], 11);
            }
        }
        /* the report names the method: mode on the coarser grid, nearest on the finer */
        char pj[1200], *text = NULL;
        size_t n;
        snprintf(pj, sizeof pj, "%s/preflight.json", out);
        CHECK_OK(scarp_read_file(pj, &text, &n));
        cJSON *root = text ? cJSON_Parse(text) : NULL;
        if (root) {
            const char *m = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "inputs"), 1), "method")
                                ->valuestring;
            CHECK_MSG(strcmp(m, pass == 0 ? "mode" : "nearest") == 0, "method %s", m);
            cJSON_Delete(root);
        }
        scarp_free(text);
        scarp_stack_free(&o);
        scarp_stack_free(&s);
    }
}

static void test_bilinear_reproduces_ramp(void)
{
    char dem[1024], ramp[1024], out[1024];
    float z = 1.0f;
    write_raster("rdem.tif", "EPSG:32633", 20, GX0 + 1010, GY0 + 1010, GX0 + 3010, GY0 + 3010, f_const, &z, dem);
    write_raster("ramp30.tif", "EPSG:32633", 30, GX0, GY0, GX0 + 4500, GY0 + 4500, f_ramp_x, NULL, ramp);
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "ramp", ramp, SCARP_KIND_CONTINUOUS, 0);
    out_dir(out, sizeof out, "run_ramp");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    float *d = read_layer(&s, "ramp");
    if (d) {
        double worst = 0;
        for (int64_t r = 0; r < s.grid.height; r++)
            for (int64_t col = 0; col < s.grid.width; col++) {
                double want = f_ramp_x(scarp_grid_x(&s.grid, (double)col), 0, NULL);
                worst = fmax(worst, fabs(d[r * s.grid.width + col] - want));
            }
        CHECK_NEAR(worst, 0.0, 1e-3); /* values ~ -40..-20: float precision */
    }
    scarp_free(d);
    scarp_stack_free(&s);
}

static void test_valid_mask_and_void_counts(void)
{
    char dem[1024], a[1024], b[1024], out[1024];
    write_raster("vdem.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_plane, NULL, dem);
    write_raster("hole_a.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_hole_a, NULL, a);
    write_raster("hole_b.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_hole_b, NULL, b);
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "a", a, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "b", b, SCARP_KIND_CONTINUOUS, 0);
    out_dir(out, sizeof out, "run_valid");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    scarp_grid g;
    scarp_grid_init(&g);
    float *v = NULL;
    CHECK_OK(scarp_raster_read(s.valid_path, 1, &g, &v));
    int64_t n = scarp_grid_cells(&s.grid), want_valid = 0, void_a = 0, void_b = 0, only_a = 0, only_b = 0, bad = 0;
    for (int64_t r = 0; r < s.grid.height; r++)
        for (int64_t col = 0; col < s.grid.width; col++) {
            double x = scarp_grid_x(&s.grid, (double)col), y = scarp_grid_y(&s.grid, (double)r);
            int ha = isnan(f_hole_a(x, y, NULL)), hb = isnan(f_hole_b(x, y, NULL));
            void_a += ha, void_b += hb, only_a += ha && !hb, only_b += hb && !ha;
            int want = !ha && !hb;
            want_valid += want;
            if (v && v[r * s.grid.width + col] != (float)want) bad++;
        }
    CHECK(void_a > 0 && void_b > 0 && only_a > 0 && only_b > 0);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(s.valid_cells, want_valid);
    CHECK(s.valid_cells < n);
    /* the report's per-input counts against the brute force above */
    char pj[1200], *text = NULL;
    size_t bytes;
    snprintf(pj, sizeof pj, "%s/preflight.json", out);
    CHECK_OK(scarp_read_file(pj, &text, &bytes));
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    if (root) {
        cJSON *inputs = cJSON_GetObjectItem(root, "inputs");
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(inputs, 0), "void_cells")->valuedouble, 0);
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(inputs, 1), "void_cells")->valuedouble, void_a);
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(inputs, 2), "void_cells")->valuedouble, void_b);
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(inputs, 1), "only_void_cells")->valuedouble, only_a);
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(inputs, 2), "only_void_cells")->valuedouble, only_b);
        CHECK_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "grid"), "valid_cells")->valuedouble, want_valid);
        cJSON_Delete(root);
    }
    scarp_free(text);

    /* window reads: the window pokes out of the top-left and bottom-right corners */
    scarp_stack o;
    CHECK_OK(scarp_stack_open(&o, out));
    CHECK_EQ_INT(o.n_layers, 3);
    CHECK(scarp_grid_same(&o.grid, &s.grid));
    scarp_stack_reader *rd = NULL;
    CHECK_OK(scarp_stack_reader_open(&rd, &o));
    float *dem_full = read_layer(&o, "dem");
    for (int corner = 0; corner < 2 && rd && dem_full; corner++) {
        int64_t w = 8, h = 6;
        int64_t c0 = corner == 0 ? -3 : s.grid.width - 5, r0 = corner == 0 ? -2 : s.grid.height - 4;
        float *buf = scarp_malloc((size_t)(3 * w * h) * sizeof(float));
        uint8_t *vm = scarp_malloc((size_t)(w * h));
        CHECK_OK(scarp_stack_read(rd, c0, r0, w, h, buf, vm));
        int64_t wrong = 0;
        for (int64_t r = 0; r < h; r++)
            for (int64_t col = 0; col < w; col++) {
                int64_t gr = r0 + r, gc = c0 + col;
                int inside = gr >= 0 && gc >= 0 && gr < s.grid.height && gc < s.grid.width;
                float got = buf[r * w + col]; /* layer 0: dem */
                if (!inside) {
                    wrong += !isnan(got) || vm[r * w + col] != 0;
                    for (int l = 1; l < 3; l++) wrong += !isnan(buf[l * w * h + r * w + col]);
                } else {
                    wrong += got != dem_full[gr * s.grid.width + gc];
                    wrong += vm[r * w + col] != (uint8_t)v[gr * s.grid.width + gc];
                }
            }
        CHECK_EQ_INT(wrong, 0);
        scarp_free(buf);
        scarp_free(vm);
    }
    scarp_free(dem_full);
    scarp_stack_reader_close(rd);
    scarp_stack_free(&o);
    scarp_free(v);
    scarp_grid_free(&g);
    scarp_stack_free(&s);
}

/* A build that fails leaves no stack/ (nor stack.partial/) behind. */
static void check_nothing_left(const char *out)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/stack/stack.json", out);
    CHECK(!scarp_file_exists(p));
    snprintf(p, sizeof p, "%s/stack.partial", out);
    CHECK(!scarp_file_exists(p));
    snprintf(p, sizeof p, "%s/preflight.txt", out);
    CHECK(!scarp_file_exists(p));
}

static void expect_error(scarp_config *c, const char *out_name, scarp_status code, const char *must_name)
{
    char out[1024];
    out_dir(out, sizeof out, out_name);
    scarp_stack s;
    scarp_status st = scarp_stack_build(c, out, NULL, &s);
    CHECK_MSG(st == code, "%s: status %d, expected %d (%s)", out_name, st, code, scarp_last_error());
    CHECK_MSG(strstr(scarp_last_error(), must_name) != NULL, "message '%s' should name '%s'", scarp_last_error(),
              must_name);
    CHECK(strchr(scarp_last_error(), '\n') == NULL);
    check_nothing_left(out);
    scarp_stack_free(&s);
}

static void test_bad_inputs(void)
{
    char dem[1024], far[1024], nocrs[1024], empty[1024], missing[1024];
    float z = 1.0f, nan = NAN;
    write_raster("edem.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_const, &z, dem);
    write_raster("far.tif", "EPSG:32633", 100, GX0 + 200000, GY0, GX1 + 200000, GY1, f_const, &z, far);
    write_raster("nocrs.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_const, &z, nocrs);
    write_raster("allnan.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_const, &nan, empty);
    tmp_path(missing, sizeof missing, "does_not_exist.tif");
    { /* strip the CRS from nocrs.tif */
        scarp_grid g;
        scarp_grid_init(&g);
        float *d = NULL;
        CHECK_OK(scarp_raster_read(nocrs, 1, &g, &d));
        scarp_free(g.wkt);
        g.wkt = scarp_strdup("");
        CHECK_OK(scarp_raster_write(nocrs, &g, d, SCARP_OUT_FLOAT32, NULL));
        scarp_free(d);
        scarp_grid_free(&g);
    }
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "far", far, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_far", SCARP_ERR_INPUT, "far.tif");

    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "x", missing, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_missing", SCARP_ERR_IO, "does_not_exist.tif");

    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "x", nocrs, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_nocrs", SCARP_ERR_INPUT, "nocrs.tif");
    CHECK(strstr(scarp_last_error(), "CRS") != NULL);

    cfg_init(&c);
    cfg_layer(&c, "dem", nocrs, SCARP_KIND_CONTINUOUS, 0); /* as the reference too */
    expect_error(&c, "run_nocrs_ref", SCARP_ERR_INPUT, "nocrs.tif");

    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "x", empty, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_allnan", SCARP_ERR_INPUT, "allnan.tif");

    /* two layers that are each partly valid but never together: empty valid mask */
    char left[1024], right[1024];
    float one = 1.0f;
    write_raster("left.tif", "EPSG:32633", 100, GX0, GY0, GX0 + 4000, GY1, f_const, &one, left);
    write_raster("right.tif", "EPSG:32633", 100, GX0 + 6000, GY0, GX1, GY1, f_const, &one, right);
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "left", left, SCARP_KIND_CONTINUOUS, 0);
    cfg_layer(&c, "right", right, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_empty_mask", SCARP_ERR_INPUT, "valid mask is empty");

    /* a reference layer that is not in the config */
    cfg_init(&c);
    cfg_layer(&c, "elevation", dem, SCARP_KIND_CONTINUOUS, 0);
    expect_error(&c, "run_noref", SCARP_ERR_INPUT, "reference = dem");

    /* a categorical layer with fractional values */
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    char frac[1024];
    write_raster("frac.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_ramp_x, NULL, frac);
    cfg_layer(&c, "cls", frac, SCARP_KIND_CATEGORICAL, 0);
    expect_error(&c, "run_frac", SCARP_ERR_INPUT, "frac.tif");
}

/* NDVI from red and NIR rasters on another grid: (0.5 - 0.1) / (0.5 + 0.1) = 2/3. */
static void test_ndvi_layer(void)
{
    char dem[1024], red[1024], nir[1024], out[1024];
    float z = 1.0f, r = 0.1f, n = 0.5f;
    write_raster("ndem.tif", "EPSG:32633", 100, GX0, GY0, GX0 + 3000, GY0 + 3000, f_const, &z, dem);
    write_raster("red.tif", "EPSG:32633", 30, GX0 - 500, GY0 - 500, GX0 + 3500, GY0 + 3500, f_const, &r, red);
    write_raster("nir.tif", "EPSG:32633", 30, GX0 - 500, GY0 - 500, GX0 + 3500, GY0 + 3500, f_const, &n, nir);
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, 0);
    snprintf(c.ndvi_red, sizeof c.ndvi_red, "%s", red);
    snprintf(c.ndvi_nir, sizeof c.ndvi_nir, "%s", nir);
    c.ndvi_red_band = c.ndvi_nir_band = 1;
    out_dir(out, sizeof out, "run_ndvi");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    int li = scarp_stack_layer_index(&s, "ndvi");
    CHECK(li >= 0);
    if (li >= 0) {
        CHECK_EQ_INT(s.layers[li].source, SCARP_SOURCE_NDVI);
        CHECK_NEAR(s.layers[li].min, 2.0 / 3.0, 1e-6);
        CHECK_NEAR(s.layers[li].max, 2.0 / 3.0, 1e-6);
        CHECK_EQ_INT(s.layers[li].valid_cells, scarp_grid_cells(&s.grid));
    }
    scarp_stack_free(&s);
}

/* Derivatives, distance to a fault vector and derived rivers on a tilted plane with a
 * valley: slope of the plane is atan(0.1) exactly; distance to the fault line is |x - xf|. */
static float f_valley(double x, double y, void *u)
{
    return (float)(2000.0 + 0.1 * (y - GY0) + 0.2 * fabs(x - 500000.0));
}

static void test_derivatives_and_distance(void)
{
    char dem[1024], fault[1024], out[1024];
    write_raster("valley.tif", "EPSG:32633", 100, GX0, GY0, GX1, GY1, f_valley, NULL, dem);
    tmp_path(fault, sizeof fault, "fault.geojson");
    { /* a N-S fault at x = 498050 (a cell centre), written in lon/lat (reprojected on use) */
        double x[2] = {498050.0, 498050.0}, y[2] = {GY0 - 1000, GY1 + 1000};
        CHECK_OK(scarp_transform_points("EPSG:32633", "EPSG:4326", x, y, 2, "test"));
        scarp_vector_writer *w = NULL;
        double xy[4] = {x[0], y[0], x[1], y[1]};
        const char *names[] = {"name"};
        CHECK_OK(scarp_vector_writer_open(&w, fault, "faults", "EPSG:4326", SCARP_GEOM_LINE, names, "s", 1));
        const char *vals[] = {"f1"};
        if (w) CHECK_OK(scarp_vector_write_line(w, xy, 2, vals));
        if (w) CHECK_OK(scarp_vector_writer_commit(w));
    }
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS,
              SCARP_DERIVE_SLOPE | SCARP_DERIVE_ASPECT | SCARP_DERIVE_TWI | SCARP_DERIVE_SPI | SCARP_DERIVE_LCA |
                  SCARP_DERIVE_CURVATURE | SCARP_DERIVE_RIVERS);
    c.n_distances = 1;
    snprintf(c.distances[0].name, sizeof c.distances[0].name, "faults");
    snprintf(c.distances[0].path, sizeof c.distances[0].path, "%s", fault);
    c.river_threshold_km2 = 20;
    out_dir(out, sizeof out, "run_derive");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    const char *want[] = {"dem", "slope", "aspect", "plan_curvature", "profile_curvature", "dist_rivers", "twi", "spi",
                          "lca", "dist_faults"};
    for (int i = 0; i < 10; i++) CHECK_MSG(scarp_stack_layer_index(&s, want[i]) >= 0, "layer %s missing", want[i]);
    int ai = scarp_stack_layer_index(&s, "aspect");
    if (ai >= 0) CHECK_EQ_INT(s.layers[ai].kind, SCARP_KIND_CIRCULAR);
    CHECK_EQ_INT(s.valid_cells, scarp_grid_cells(&s.grid));
    float *sl = read_layer(&s, "slope");
    if (sl) /* off the valley floor the surface is a plane: slope = atan(|(0.2, 0.1)|) */
        CHECK_NEAR(sl[50 * s.grid.width + 10], atan(sqrt(0.05)) * 180.0 / M_PI, 1e-3);
    /* lca = ln a and twi = ln(a / tan β): the DEM drains everywhere (no depression to fill),
     * so lca − twi = ln tan β of the slope layer, and spi = ln(a tan β) = 2 lca − twi. Each
     * side adds up to three float32 values of magnitude < 16 (ulp 2^-19), each rounded once
     * (and logf within 1 ulp): 8 ulps bound the difference. */
    float *lca = read_layer(&s, "lca"), *twi = read_layer(&s, "twi"), *spi = read_layer(&s, "spi");
    if (sl && lca && twi && spi) {
        double worst = 0, worst_spi = 0;
        int64_t checked = 0;
        for (int64_t i = 0; i < scarp_grid_cells(&s.grid); i++) {
            double tb = tan(sl[i] * M_PI / 180.0);
            if (!(tb > 0.01)) continue; /* away from the flat-slope guard of TWI */
            worst = fmax(worst, fabs((lca[i] - twi[i]) - log(tb)));
            worst_spi = fmax(worst_spi, fabs(spi[i] - (2.0 * lca[i] - twi[i])));
            checked++;
        }
        fprintf(stderr, "  lca: %lld cells, max |lca - twi - ln tan b| %.3g, |spi - (2 lca - twi)| %.3g\n",
                (long long)checked, worst, worst_spi);
        CHECK(checked > 9000);
        const double tol = 8.0 * ldexp(1.0, -19);
        CHECK_NEAR(worst, 0.0, tol);
        CHECK_NEAR(worst_spi, 0.0, tol);
    }
    scarp_free(lca), scarp_free(twi), scarp_free(spi);
    scarp_free(sl);
    float *df = read_layer(&s, "dist_faults");
    float *dr = read_layer(&s, "dist_rivers");
    int64_t W = s.grid.width;
    if (df) {
        double worst = 0;
        for (int64_t r = 0; r < s.grid.height; r++)
            for (int64_t col = 0; col < W; col++)
                worst = fmax(worst, fabs(df[r * W + col] - fabs(scarp_grid_x(&s.grid, (double)col) - 498050.0)));
        CHECK_NEAR(worst, 0.0, 1e-2);
    }
    if (dr) { /* the valley floor (x = 500000: cells 49 and 50 share the bottom) collects the flow */
        int64_t r = s.grid.height - 10;
        CHECK(dr[r * W + 49] == 0.0f || dr[r * W + 50] == 0.0f);
        CHECK_NEAR(dr[r * W + 10], fmin(fabs(scarp_grid_x(&s.grid, 10) - scarp_grid_x(&s.grid, 49)),
                                        fabs(scarp_grid_x(&s.grid, 10) - scarp_grid_x(&s.grid, 50))),
                   100.5);
    }
    scarp_free(df);
    scarp_free(dr);
    scarp_stack_free(&s);

    /* `scarp info RUN` lists the stack */
    char cmd[1400], line[512], all[8192] = "";
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", SCARP_BINARY, out);
    FILE *pp = popen(cmd, "r");
    CHECK(pp != NULL);
    if (pp) {
        while (fgets(line, sizeof line, pp) && strlen(all) + strlen(line) < sizeof all) strcat(all, line);
        CHECK_EQ_INT(pclose(pp), 0);
        CHECK_MSG(strstr(all, "layer stack of 10 layers") != NULL, "scarp info said: %s", all);
        CHECK(strstr(all, "dist_faults") != NULL && strstr(all, "circular") != NULL);
        CHECK(strstr(all, "valid cells 10000 (100.00 %)") != NULL);
    }
}

/* The real NASADEM tile (EPSG:4326, Int16, nodata -32768) warped onto a UTM 19N grid at
 * 90 m: Mount Washington (44°16'14"N 71°18'12"W, 1916.6 m; E 316172.2 N 4904503.6 in UTM
 * 19N by PROJ) must be the highest cell, where it belongs. */
static void test_nasadem_to_utm(void)
{
    char dem[1024], out[1024];
    snprintf(dem, sizeof dem, "%s/dem/nasadem_N44W072_3arcsec.tif", SCARP_SHARED_DATA);
    if (!scarp_file_exists(dem)) SKIP("%s absent: NASADEM reprojection not tested", dem);
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS, SCARP_DERIVE_SLOPE);
    snprintf(c.grid_crs, sizeof c.grid_crs, "EPSG:32619");
    c.grid_resolution = 90;
    c.grid_extent[0] = 306000, c.grid_extent[1] = 4894000, c.grid_extent[2] = 326000, c.grid_extent[3] = 4914000;
    out_dir(out, sizeof out, "run_nasadem");
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    float *d = read_layer(&s, "dem");
    float *sl = read_layer(&s, "slope");
    if (d && sl) {
        int64_t best = 0, n = scarp_grid_cells(&s.grid);
        for (int64_t i = 0; i < n; i++)
            if (d[i] > d[best]) best = i;
        double x = scarp_grid_x(&s.grid, (double)(best % s.grid.width));
        double y = scarp_grid_y(&s.grid, (double)(best / s.grid.width));
        CHECK_NEAR(x, 316172.2, 180.0);
        CHECK_NEAR(y, 4904503.6, 180.0);
        CHECK_NEAR(d[best], 1916.6, 40.0);
        double smax = 0;
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++) {
            bad += isnan(sl[i]) != isnan(d[i]) || sl[i] < 0 || sl[i] > 90;
            smax = fmax(smax, sl[i]);
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(smax > 25 && smax < 70); /* the Presidential Range headwalls at 90 m */
    }
    char pj[1200], *text = NULL;
    size_t bytes;
    snprintf(pj, sizeof pj, "%s/preflight.txt", out);
    CHECK_OK(scarp_read_file(pj, &text, &bytes));
    if (text) {
        CHECK(strstr(text, "reprojected from EPSG:4326, bilinear") != NULL);
        CHECK(strstr(text, "nodata -32768") != NULL);
    }
    scarp_free(text);
    scarp_free(d);
    scarp_free(sl);
    scarp_stack_free(&s);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_test_stack_XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_reprojected_feature_lands_in_place);
    RUN(test_categorical_gains_no_class);
    RUN(test_bilinear_reproduces_ramp);
    RUN(test_valid_mask_and_void_counts);
    RUN(test_bad_inputs);
    RUN(test_ndvi_layer);
    RUN(test_derivatives_and_distance);
    RUN(test_nasadem_to_utm);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (getenv("SCARP_KEEP")) fprintf(stderr, "kept %s\n", tmp_root); else if (check_failures == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_summary();
}
