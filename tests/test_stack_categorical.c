/* test_stack_categorical.c — categorical layers of every storage type (Float32, Int16,
 * Byte) on the DEM's grid and on other grids (finer → nearest, coarser → mode, another
 * CRS) go through scarp_stack_build with exactly the input classes, cell for cell against
 * the class of the input cell that holds each grid-cell centre (GDAL's nearest rule), and
 * the stack is the same for 1 and 2 threads (the layers are warped in parallel). */
#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/stack.h"

static char tmp_root[256];

/* The reference grid: UTM 40N, 30 m, 330 × 300 cells (more than one 256-row strip). */
#define CRS "EPSG:32640"
#define X0 500010.0
#define Y0 3300000.0
#define RES 30.0
#define NX 330
#define NY 300

/* Classes 1/2/3 in blocks of 90 × 150 m aligned on the 30 m grid. */
static int class_at(double x, double y)
{
    long k = (long)floor((x - X0) / 90.0) + (long)floor((y - Y0) / 150.0);
    return 1 + (int)(((k % 3) + 3) % 3);
}

static int in_the_hole(double x, double y) { return fabs(x - (X0 + 3000)) < 600 && fabs(y - (Y0 + 3990)) < 900; }

/* Writes a raster over [xmin, xmax] × [ymin, ymax] at res, each cell = class at its
 * centre (or hole_value inside the optional hole), stored as `type`. */
static void write_classes_hv(const char *name, const char *crs, double res, double xmin, double ymin, double xmax,
                             double ymax, scarp_out_type type, int hole, float hole_value, char *path,
                             scarp_grid *g_out)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, crs, res, xmin, ymin, xmax, ymax));
    float *d = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t r = 0; r < g.height; r++)
        for (int64_t c = 0; c < g.width; c++) {
            double x = scarp_grid_x(&g, (double)c), y = scarp_grid_y(&g, (double)r);
            d[r * g.width + c] = hole && in_the_hole(x, y) ? hole_value : (float)class_at(x, y);
        }
    snprintf(path, 1024, "%s/%s", tmp_root, name);
    CHECK_OK(scarp_raster_write(path, &g, d, type, NULL));
    scarp_free(d);
    if (g_out) *g_out = g; else scarp_grid_free(&g);
}

/* Writes a raster over [xmin, xmax] × [ymin, ymax] at res, each cell = class at its
 * centre (or NaN inside the optional hole), stored as `type`. */
static void write_classes(const char *name, const char *crs, double res, double xmin, double ymin, double xmax,
                          double ymax, scarp_out_type type, int hole, char *path, scarp_grid *g_out)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, crs, res, xmin, ymin, xmax, ymax));
    float *d = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t r = 0; r < g.height; r++)
        for (int64_t c = 0; c < g.width; c++) {
            double x = scarp_grid_x(&g, (double)c), y = scarp_grid_y(&g, (double)r);
            int in_hole = hole && fabs(x - (X0 + 3000)) < 600 && fabs(y - (Y0 + 3990)) < 900;
            d[r * g.width + c] = in_hole ? NAN : (float)class_at(x, y);
        }
    snprintf(path, 1024, "%s/%s", tmp_root, name);
    CHECK_OK(scarp_raster_write(path, &g, d, type, NULL));
    scarp_free(d);
    if (g_out) *g_out = g; else scarp_grid_free(&g);
}

static void cfg_init(scarp_config *c)
{
    scarp_config_defaults(c);
    c->n_layers = 0;
    c->n_distances = 0;
    c->ndvi_red[0] = c->ndvi_nir[0] = 0;
    snprintf(c->grid_reference, sizeof c->grid_reference, "dem");
}

static void cfg_layer(scarp_config *c, const char *name, const char *path, scarp_layer_kind kind)
{
    scarp_layer_config *l = &c->layers[c->n_layers++];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->path, sizeof l->path, "%s", path);
    l->band = 1;
    l->kind = kind;
}

static float *read_layer(const scarp_stack *s, const char *name)
{
    int i = scarp_stack_layer_index(s, name);
    CHECK_MSG(i >= 0, "layer %s missing", name);
    if (i < 0) return NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(s->layers[i].path, 1, &g, &d));
    scarp_grid_free(&g);
    return d;
}

/* Every cell of layer `name` equals the class of the input cell (grid gi) holding the
 * cell centre, NaN in the hole; stack.json lists exactly 1, 2, 3. */
static void check_nearest(const scarp_stack *s, const char *name, const scarp_grid *gi, int hole)
{
    float *d = read_layer(s, name);
    if (!d) return;
    int64_t wrong = 0, first = -1;
    for (int64_t r = 0; r < s->grid.height; r++)
        for (int64_t c = 0; c < s->grid.width; c++) {
            double x = scarp_grid_x(&s->grid, (double)c), y = scarp_grid_y(&s->grid, (double)r);
            int64_t ic, ir;
            float want = NAN;
            if (scarp_grid_cell_of(gi, x, y, &ic, &ir)) {
                double xi = scarp_grid_x(gi, (double)ic), yi = scarp_grid_y(gi, (double)ir);
                int in_hole = hole && fabs(xi - (X0 + 3000)) < 600 && fabs(yi - (Y0 + 3990)) < 900;
                want = in_hole ? NAN : (float)class_at(xi, yi);
            }
            float v = d[r * s->grid.width + c];
            int ok = isnan(want) ? isnan(v) : v == want;
            if (!ok && first < 0) first = r * s->grid.width + c;
            wrong += !ok;
        }
    CHECK_MSG(wrong == 0, "layer %s: %lld cells differ from the input class (first cell %lld holds %g)", name,
              (long long)wrong, (long long)first, first >= 0 ? d[first] : 0.0);
    scarp_free(d);
    int li = scarp_stack_layer_index(s, name);
    if (li >= 0) {
        const scarp_stack_layer *L = &s->layers[li];
        CHECK_EQ_INT(L->kind, SCARP_KIND_CATEGORICAL);
        CHECK_EQ_INT(L->n_categories, 3);
        for (int k = 0; k < L->n_categories && L->n_categories == 3; k++) CHECK_EQ_INT(L->categories[k], k + 1);
    }
}

typedef struct {
    char dem[1024], f32[1024], i16[1024], u8[1024], f32_fine[1024], i16_fine[1024], f32_coarse[1024],
        i16_coarse[1024], i16_ll[1024];
    scarp_grid g_f32_fine, g_i16_fine, g_f32_coarse, g_i16_coarse;
} inputs;

static void make_inputs(inputs *in)
{
    double x1 = X0 + NX * RES, y1 = Y0 + NY * RES;
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, CRS, RES, X0, Y0, x1, y1));
    float *z = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t i = 0; i < scarp_grid_cells(&g); i++) z[i] = 1000.0f + (float)(i % NX) * 0.5f;
    snprintf(in->dem, sizeof in->dem, "%s/dem.tif", tmp_root);
    CHECK_OK(scarp_raster_write(in->dem, &g, z, SCARP_OUT_FLOAT32, NULL));
    scarp_free(z);
    scarp_grid_free(&g);
    /* on the DEM's grid: the same-grid path (the file itself is read) */
    write_classes("cls_f32.tif", CRS, RES, X0, Y0, x1, y1, SCARP_OUT_FLOAT32, 1, in->f32, NULL);
    write_classes("cls_i16.tif", CRS, RES, X0, Y0, x1, y1, SCARP_OUT_INT16, 1, in->i16, NULL);
    write_classes("cls_u8.tif", CRS, RES, X0, Y0, x1, y1, SCARP_OUT_BYTE, 1, in->u8, NULL);
    /* finer input (20 m, origin shifted 5 m: no centre on a cell edge) → nearest */
    write_classes("cls_f32_20m.tif", CRS, 20, X0 - 195, Y0 - 195, x1 + 205, y1 + 205, SCARP_OUT_FLOAT32, 1,
                  in->f32_fine, &in->g_f32_fine);
    write_classes("cls_i16_20m.tif", CRS, 20, X0 - 195, Y0 - 195, x1 + 205, y1 + 205, SCARP_OUT_INT16, 1,
                  in->i16_fine, &in->g_i16_fine);
    /* coarser grid than the input (10 m blocks nested in 30 m cells) → mode, which is the
     * block's class since the classes are constant on every 30 m cell */
    write_classes("cls_f32_10m.tif", CRS, 10, X0 - 100, Y0 - 100, x1 + 100, y1 + 100, SCARP_OUT_FLOAT32, 1,
                  in->f32_coarse, &in->g_f32_coarse);
    write_classes("cls_i16_10m.tif", CRS, 10, X0 - 100, Y0 - 100, x1 + 100, y1 + 100, SCARP_OUT_INT16, 1,
                  in->i16_coarse, &in->g_i16_coarse);
    /* another CRS (lon/lat around 57.0°E, 29.8°N) → reprojected, nearest */
    scarp_grid gl;
    scarp_grid_init(&gl);
    CHECK_OK(scarp_grid_from_extent(&gl, "EPSG:4326", 0.0002, 56.99, 29.79, 57.12, 29.91));
    float *d = scarp_malloc((size_t)scarp_grid_cells(&gl) * sizeof(float));
    for (int64_t r = 0; r < gl.height; r++)
        for (int64_t c = 0; c < gl.width; c++)
            d[r * gl.width + c] = (float)(1 + (int)((r / 40 + c / 40) % 3));
    snprintf(in->i16_ll, sizeof in->i16_ll, "%s/cls_i16_ll.tif", tmp_root);
    CHECK_OK(scarp_raster_write(in->i16_ll, &gl, d, SCARP_OUT_INT16, NULL));
    scarp_free(d);
    scarp_grid_free(&gl);
}

static void free_inputs(inputs *in)
{
    scarp_grid_free(&in->g_f32_fine);
    scarp_grid_free(&in->g_i16_fine);
    scarp_grid_free(&in->g_f32_coarse);
    scarp_grid_free(&in->g_i16_coarse);
}

static void build(const inputs *in, const char *out, scarp_stack *s)
{
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", in->dem, SCARP_KIND_CONTINUOUS);
    cfg_layer(&c, "f32", in->f32, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "i16", in->i16, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "u8", in->u8, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "f32_fine", in->f32_fine, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "i16_fine", in->i16_fine, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "f32_coarse", in->f32_coarse, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "i16_coarse", in->i16_coarse, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "i16_ll", in->i16_ll, SCARP_KIND_CATEGORICAL);
    CHECK_OK(scarp_stack_build(&c, out, NULL, s));
}

static scarp_grid ref_grid(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, CRS, RES, X0, Y0, X0 + NX * RES, Y0 + NY * RES));
    return g;
}

static void test_types_and_grids(void)
{
    inputs in;
    memset(&in, 0, sizeof in);
    make_inputs(&in);
    char out[1024];
    snprintf(out, sizeof out, "%s/run", tmp_root);
    scarp_stack s;
    build(&in, out, &s);
    if (s.n_layers == 9) {
        scarp_grid g = ref_grid();
        CHECK(scarp_grid_same(&g, &s.grid));
        check_nearest(&s, "f32", &g, 1);
        check_nearest(&s, "i16", &g, 1);
        check_nearest(&s, "u8", &g, 1);
        check_nearest(&s, "f32_fine", &in.g_f32_fine, 1);
        check_nearest(&s, "i16_fine", &in.g_i16_fine, 1);
        /* mode of nine 10 m cells = the class of the 30 m cell (hole: 600 and 900 m
         * half-widths are multiples of 30 m, so the hole is whole 30 m cells) */
        check_nearest(&s, "f32_coarse", &g, 1);
        check_nearest(&s, "i16_coarse", &g, 1);
        int li = scarp_stack_layer_index(&s, "i16_ll");
        CHECK(li >= 0 && s.layers[li].n_categories == 3);
        scarp_grid_free(&g);
    }
    scarp_stack_free(&s);
    free_inputs(&in);
}

/* A raster whose invalid cells are marked by a GDAL mask band (internal mask, as
 * GDAL_TIFF_INTERNAL_MASK writes, or ArcGIS/QGIS exports often carry) rather than by a
 * nodata value, and whose cells under the mask hold junk: for Float32 the bit pattern
 * of the integer 12345 (the denormal 1.73e-41 of the bug report), for integer types a
 * class that does not exist (77). Made with gdal_translate -mask; 0 if the GDAL tools
 * are missing. */
static int write_masked(const char *name, double res, double xmin, double ymin, double xmax, double ymax,
                        scarp_out_type type, char *path, scarp_grid *g_out)
{
    char values[1024], mask[1024], vrt[1100], cmd[8192];
    float junk = 77.0f;
    if (type == SCARP_OUT_FLOAT32) {
        uint32_t bits = 12345;
        memcpy(&junk, &bits, sizeof junk);
    }
    char vname[128], mname[128];
    snprintf(vname, sizeof vname, "%s.values.tif", name);
    snprintf(mname, sizeof mname, "%s.mask.tif", name);
    write_classes_hv(vname, CRS, res, xmin, ymin, xmax, ymax, type, 1, junk, values, g_out);
    /* the mask: 0 in the hole, 255 elsewhere */
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, CRS, res, xmin, ymin, xmax, ymax));
    float *m = scarp_malloc((size_t)scarp_grid_cells(&g) * sizeof(float));
    for (int64_t r = 0; r < g.height; r++)
        for (int64_t c = 0; c < g.width; c++)
            m[r * g.width + c] = in_the_hole(scarp_grid_x(&g, (double)c), scarp_grid_y(&g, (double)r)) ? 0.0f : 255.0f;
    snprintf(mask, sizeof mask, "%s/%s", tmp_root, mname);
    CHECK_OK(scarp_raster_write(mask, &g, m, SCARP_OUT_BYTE, NULL));
    scarp_free(m);
    scarp_grid_free(&g);
    snprintf(vrt, sizeof vrt, "%s/%s.vrt", tmp_root, name);
    snprintf(path, 1024, "%s/%s", tmp_root, name);
    snprintf(cmd, sizeof cmd,
             "gdalbuildvrt -q -separate '%s' '%s' '%s' && gdal_translate -q -b 1 -mask 2 -a_nodata none "
             "-co TILED=YES -co COMPRESS=DEFLATE --config GDAL_TIFF_INTERNAL_MASK YES '%s' '%s' 2>/dev/null",
             vrt, values, mask, vrt, path);
    return system(cmd) == 0 && scarp_file_exists(path);
}

/* The bug report: a Float32 categorical layer with values 1/2/3 on the DEM's grid was
 * rejected ("categorical layer holds a non-integer value 1.73e-41"): the same-grid path
 * read the file's raw values and ignored its mask band, so junk under the mask came
 * through (in a Byte layer the junk was a silent extra class). Masked cells must be
 * nodata on every path: same grid, warped, and the plain whole-raster read. */
static void test_mask_band_is_nodata(void)
{
    double x1 = X0 + NX * RES, y1 = Y0 + NY * RES;
    char dem[1024], f32[1024], i16[1024], u8[1024], f32_fine[1024], out[1024];
    scarp_grid g_fine;
    scarp_grid_init(&g_fine);
    float z = 800.0f;
    write_classes_hv("mdem.tif", CRS, RES, X0, Y0, x1, y1, SCARP_OUT_FLOAT32, 0, z, dem, NULL);
    if (!write_masked("m_f32.tif", RES, X0, Y0, x1, y1, SCARP_OUT_FLOAT32, f32, NULL) ||
        !write_masked("m_i16.tif", RES, X0, Y0, x1, y1, SCARP_OUT_INT16, i16, NULL) ||
        !write_masked("m_u8.tif", RES, X0, Y0, x1, y1, SCARP_OUT_BYTE, u8, NULL) ||
        !write_masked("m_f32_20m.tif", 20, X0 - 195, Y0 - 195, x1 + 205, y1 + 205, SCARP_OUT_FLOAT32, f32_fine,
                      &g_fine)) {
        scarp_grid_free(&g_fine);
        SKIP("gdalbuildvrt/gdal_translate (gdal-bin) not usable: mask bands not tested");
    }
    /* the plain reader */
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(f32, 1, &g, &d));
    if (d) {
        int64_t wrong = 0;
        for (int64_t r = 0; r < g.height; r++)
            for (int64_t c = 0; c < g.width; c++) {
                double x = scarp_grid_x(&g, (double)c), y = scarp_grid_y(&g, (double)r);
                float v = d[r * g.width + c];
                wrong += in_the_hole(x, y) ? !isnan(v) : v != (float)class_at(x, y);
            }
        CHECK_EQ_INT(wrong, 0);
    }
    scarp_free(d);
    scarp_grid_free(&g);
    /* the stack */
    scarp_config c;
    cfg_init(&c);
    cfg_layer(&c, "dem", dem, SCARP_KIND_CONTINUOUS);
    cfg_layer(&c, "f32", f32, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "i16", i16, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "u8", u8, SCARP_KIND_CATEGORICAL);
    cfg_layer(&c, "f32_fine", f32_fine, SCARP_KIND_CATEGORICAL);
    snprintf(out, sizeof out, "%s/run_mask", tmp_root);
    scarp_stack s;
    CHECK_OK(scarp_stack_build(&c, out, NULL, &s));
    if (s.n_layers == 5) {
        scarp_grid gr = ref_grid();
        check_nearest(&s, "f32", &gr, 1);
        check_nearest(&s, "i16", &gr, 1);
        check_nearest(&s, "u8", &gr, 1);
        check_nearest(&s, "f32_fine", &g_fine, 1);
        scarp_grid_free(&gr);
        /* the hole is void in the valid mask, and the report names the mask band */
        int64_t hole = 0;
        for (int64_t r = 0; r < s.grid.height; r++)
            for (int64_t col = 0; col < s.grid.width; col++)
                hole += in_the_hole(scarp_grid_x(&s.grid, (double)col), scarp_grid_y(&s.grid, (double)r));
        CHECK_EQ_INT(s.valid_cells, scarp_grid_cells(&s.grid) - hole);
        char pf[1200], *text = NULL;
        size_t n;
        snprintf(pf, sizeof pf, "%s/preflight.txt", out);
        CHECK_OK(scarp_read_file(pf, &text, &n));
        CHECK(text && strstr(text, "mask band") != NULL);
        scarp_free(text);
    }
    scarp_stack_free(&s);
    scarp_grid_free(&g_fine);
}

/* The layers are warped in parallel: 1 thread and 2 threads give identical files. */
static void test_thread_count_invariance(void)
{
    inputs in;
    memset(&in, 0, sizeof in);
    make_inputs(&in);
    char out1[1024], out2[1024];
    snprintf(out1, sizeof out1, "%s/run_t1", tmp_root);
    snprintf(out2, sizeof out2, "%s/run_t2", tmp_root);
    int saved = omp_get_max_threads();
    scarp_stack s1, s2;
    omp_set_num_threads(1);
    build(&in, out1, &s1);
    omp_set_num_threads(2);
    build(&in, out2, &s2);
    omp_set_num_threads(saved);
    CHECK_EQ_INT(s1.n_layers, s2.n_layers);
    for (int l = 0; l < s1.n_layers && l < s2.n_layers; l++) {
        float *a = read_layer(&s1, s1.layers[l].name), *b = read_layer(&s2, s2.layers[l].name);
        if (a && b) {
            int64_t diff = 0;
            for (int64_t i = 0; i < scarp_grid_cells(&s1.grid); i++)
                diff += !(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])));
            CHECK_MSG(diff == 0, "layer %s: %lld cells differ between 1 and 2 threads", s1.layers[l].name,
                      (long long)diff);
        }
        scarp_free(a);
        scarp_free(b);
    }
    CHECK_EQ_INT(s1.valid_cells, s2.valid_cells);
    scarp_stack_free(&s1);
    scarp_stack_free(&s2);
    free_inputs(&in);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_test_stack_cat_XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_types_and_grids);
    RUN(test_thread_count_invariance);
    RUN(test_mask_band_is_nodata);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (getenv("SCARP_KEEP"))
        fprintf(stderr, "kept %s\n", tmp_root);
    else if (check_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_summary();
}
