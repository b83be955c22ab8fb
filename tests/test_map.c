/* test_map.c — the whole map stage on a small constructed study: a stack with a nodata
 * hole (built by scarp_stack_build from GeoTIFFs written here), a normalisation fitted on
 * random windows, a random CNN model with random batch-norm statistics.
 *  - susceptibility.tif equals per-patch evaluation (stack window → scarp_norm_apply_window
 *    → scarp_model_predict) within 1e-5 at random cells, tile borders, grid edges and
 *    cells next to nodata, with odd 37×29 tiles; nodata cells stay nodata;
 *  - another tiling gives identical values; an ensemble gives mean and sd of its members;
 *  - classes.tif agrees with the breaks in summary.json.
 * `test_map --fixture DIR [W H]` only builds the study in DIR (used by tests/cli/map_*.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/map.h"
#include "scarp/nn.h"
#include "scarp/raster.h"
#include "scarp/rng.h"
#include "scarp/stack.h"
#include "test_tolerance.h"

#define NL 3

static void randomise(scarp_model *m, uint64_t seed)
{
    scarp_rng r;
    scarp_rng_seed(&r, seed);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < m->spec.filters[k]; j++) {
            m->p.conv_b[k][j] = (float)(0.2 * scarp_rng_normal(&r));
            m->p.bn_gamma[k][j] = (float)(0.5 + scarp_rng_uniform(&r));
            m->p.bn_beta[k][j] = (float)(0.3 * scarp_rng_normal(&r));
            m->bn_mean[k][j] = (float)(0.3 * scarp_rng_normal(&r));
            m->bn_var[k][j] = (float)(0.5 + 1.5 * scarp_rng_uniform(&r));
        }
    for (int j = 0; j < m->spec.dense[0]; j++) m->p.dense_b[0][j] = (float)(0.1 * scarp_rng_normal(&r));
    m->p.dense_b[2][0] = 0.3f;
}

/* Writes DIR/{a,b,c}.tif, DIR/study.ini, builds DIR/run/stack and the models
 * DIR/run/models/{cnn, ens.r0.f0, ens.r0.f1}.model (two fold members, no main model). Layer b has a nodata hole; c is categorical. */
static scarp_status make_fixture(const char *dir, int W, int H, scarp_config *cfg)
{
    scarp_status st;
    if ((st = scarp_mkdir_p(dir))) return st;
    scarp_grid g;
    scarp_grid_init(&g);
    if ((st = scarp_grid_from_extent(&g, "EPSG:32640", 30, 500000, 3500000, 500000 + 30.0 * W, 3500000 + 30.0 * H)))
        return st;
    W = (int)g.width, H = (int)g.height; /* the extent is snapped outward to whole cells */
    float *d = scarp_malloc(sizeof(float) * W * H);
    char path[SCARP_PATH_MAX + 64];
    const char *names[NL] = {"a", "b", "c"};
    scarp_rng r;
    scarp_rng_seed(&r, 5);
    for (int l = 0; l < NL; l++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = l == 0   ? 100 + 50 * sin(x * 0.11) * cos(y * 0.07) + 5 * scarp_rng_uniform(&r)
                           : l == 1 ? 20 + 0.1 * x - 0.05 * y + scarp_rng_normal(&r)
                                    : (double)(1 + ((x / 9 + y / 7) % 3));
                d[y * W + x] = (float)v;
            }
        if (l == 1) /* nodata hole and a nodata strip on the right edge */
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    if ((y >= H / 3 && y < H / 3 + 6 && x >= W / 2 && x < W / 2 + 11) || x >= W - 2) d[y * W + x] = NAN;
        snprintf(path, sizeof path, "%s/%s.tif", dir, names[l]);
        if ((st = scarp_raster_write(path, &g, d, l == 2 ? SCARP_OUT_BYTE : SCARP_OUT_FLOAT32, NULL))) return st;
    }
    scarp_free(d);
    scarp_grid_free(&g);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[project]\nout = run\nseed = 7\n\n[grid]\nreference = a\n\n"
             "[layer.a]\npath = a.tif\nkind = continuous\n\n[layer.b]\npath = b.tif\nkind = continuous\n\n"
             "[layer.c]\npath = c.tif\nkind = categorical\n\n[map]\nmodel = cnn\nclasses = 4\nbreaks = quantile\n");
    snprintf(path, sizeof path, "%s/study.ini", dir);
    if ((st = scarp_write_file_atomic(path, ini, strlen(ini)))) return st;
    scarp_config_defaults(cfg);
    if ((st = scarp_config_load(cfg, path))) return st;
    scarp_stack stack;
    scarp_stack_init(&stack);
    if ((st = scarp_stack_build(cfg, cfg->out, NULL, &stack))) return st;
    /* normalisation fitted on random windows */
    const int n = 40, P = 22;
    float *raw = scarp_malloc(sizeof(float) * n * stack.n_layers * P * P);
    uint8_t *split = scarp_calloc(n, 1);
    scarp_stack_reader *rd;
    if ((st = scarp_stack_reader_open(&rd, &stack))) return st;
    for (int i = 0; i < n; i++)
        if ((st = scarp_stack_read(rd, (int64_t)scarp_rng_below(&r, W) - 11, (int64_t)scarp_rng_below(&r, H) - 11, P, P,
                                   raw + (size_t)i * stack.n_layers * P * P, NULL)))
            return st;
    scarp_stack_reader_close(rd);
    scarp_norm norm;
    scarp_norm_init(&norm);
    if ((st = scarp_norm_fit(&norm, &stack, n, P, raw, 0, 0, NULL, NULL, split))) return st;
    void *blob;
    size_t bytes;
    if ((st = scarp_norm_serialize(&norm, &blob, &bytes))) return st;
    snprintf(path, sizeof path, "%s/models", cfg->out);
    scarp_mkdir_p(path);
    const char *mnames[3] = {"cnn", "ens.r0.f0", "ens.r0.f1"};
    for (int i = 0; i < 3; i++) {
        scarp_model_spec spec;
        scarp_model_spec_default(&spec, SCARP_MODEL_CNN);
        spec.C = norm.C;
        scarp_model m;
        if ((st = scarp_model_init(&m, &spec, 100 + i))) return st;
        randomise(&m, 200 + i);
        snprintf(path, sizeof path, "%s/models/%s.model", cfg->out, mnames[i]);
        if ((st = scarp_model_save(path, &m, blob, bytes))) return st;
        scarp_model_free(&m);
    }
    scarp_free(blob);
    /* a cross-validated study: cv.model (main split) and three fold models, each with ITS
     * OWN normalisation fitted on other random windows (as every outer fold fits its own) */
    for (int f = -1; f < 3; f++) {
        scarp_rng rf;
        scarp_rng_seed(&rf, 50 + (uint64_t)(f + 1));
        const int nf = 12 + 6 * (f + 1); /* few windows: the fitted min/max differ clearly */
        if ((st = scarp_stack_reader_open(&rd, &stack))) return st;
        for (int i = 0; i < nf; i++)
            if ((st = scarp_stack_read(rd, (int64_t)scarp_rng_below(&rf, W) - 11, (int64_t)scarp_rng_below(&rf, H) - 11,
                                       P, P, raw + (size_t)i * stack.n_layers * P * P, NULL)))
                return st;
        scarp_stack_reader_close(rd);
        scarp_norm nfold;
        scarp_norm_init(&nfold);
        if ((st = scarp_norm_fit(&nfold, &stack, nf, P, raw, 0, 0, NULL, NULL, split))) return st;
        if ((st = scarp_norm_serialize(&nfold, &blob, &bytes))) return st;
        scarp_model_spec spec;
        scarp_model_spec_default(&spec, SCARP_MODEL_CNN);
        spec.C = nfold.C;
        scarp_model m;
        if ((st = scarp_model_init(&m, &spec, 300 + f))) return st;
        randomise(&m, 400 + f);
        if (f < 0)
            snprintf(path, sizeof path, "%s/models/cv.model", cfg->out);
        else
            snprintf(path, sizeof path, "%s/models/cv.r0.f%d.model", cfg->out, f);
        st = scarp_model_save(path, &m, blob, bytes);
        scarp_model_free(&m);
        scarp_free(blob);
        scarp_norm_free(&nfold);
        if (st) return st;
    }
    scarp_free(raw), scarp_free(split);
    scarp_norm_free(&norm);
    scarp_stack_free(&stack);
    return SCARP_OK;
}

static char fixture_dir[512];
static scarp_config cfg;
static int fixture_ok = 0;
static int GW = 96, GH = 80; /* asked size; set to the stack grid's after the fixture */

/* Per-patch reference probabilities of `model_file` at the given cells. */
static double ref_tol = 1e-5; /* tol_probability of the last model reference() loaded */

static void reference(const char *model_file, const int *cols, const int *rows, int n, float *prob, uint8_t *valid_out)
{
    scarp_model m;
    void *blob;
    size_t bytes;
    CHECK_OK(scarp_model_load(model_file, &m, &blob, &bytes));
    ref_tol = tol_probability(&m.spec);
    scarp_norm norm;
    scarp_norm_init(&norm);
    CHECK_OK(scarp_norm_deserialize(&norm, blob, bytes));
    scarp_stack stack;
    scarp_stack_init(&stack);
    CHECK_OK(scarp_stack_open(&stack, cfg.out));
    scarp_stack_reader *rd;
    CHECK_OK(scarp_stack_reader_open(&rd, &stack));
    const int P = 22, L = stack.n_layers, C = norm.C;
    float *raw = scarp_malloc(sizeof(float) * L * P * P), *patches = scarp_malloc(sizeof(float) * n * C * P * P);
    uint8_t valid[22 * 22];
    for (int i = 0; i < n; i++) {
        CHECK_OK(scarp_stack_read(rd, cols[i] - 11, rows[i] - 11, P, P, raw, valid));
        valid_out[i] = valid[11 * P + 11];
        scarp_norm_apply_window(&norm, raw, P, P, patches + (size_t)i * C * P * P);
    }
    CHECK_OK(scarp_model_predict(&m, patches, NULL, NULL, n, prob));
    scarp_free(raw), scarp_free(patches), scarp_free(blob);
    scarp_stack_reader_close(rd);
    scarp_stack_free(&stack);
    scarp_norm_free(&norm);
    scarp_model_free(&m);
}

static float *read_map(const char *name)
{
    char path[SCARP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/map/%s", cfg.out, name);
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(path, 1, &g, &d));
    CHECK_EQ_INT(g.width, GW);
    CHECK_EQ_INT(g.height, GH);
    scarp_grid_free(&g);
    return d;
}

static void test_map_equals_patches(void)
{
    if (!fixture_ok) SKIP("no fixture");
    scarp_map_options o = {0};
    o.tile = 37, o.tile_h = 29;
    scarp_map_report rep;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep));
    float *map = read_map("susceptibility.tif");
    if (!map) return;
    enum { N = 120 };
    int cols[N], rows[N], n = 0;
    const int fixed[][2] = {{0, 0}, {GW - 1, 0}, {0, GH - 1}, {GW - 1, GH - 1}, {GW - 3, 10}, {GW - 2, 10},
                            {36, 28}, {37, 29}, {36, 29}, {74, 57}, {73, 58}, {GW / 2 - 1, GH / 3},
                            {GW / 2 + 11, GH / 3 + 2}, {GW / 2 + 3, GH / 3 - 1}, {GW / 2 + 3, GH / 3 + 6},
                            {GW / 2 + 3, GH / 3 + 2}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) cols[n] = fixed[i][0], rows[n] = fixed[i][1], n++;
    scarp_rng r;
    scarp_rng_seed(&r, 99);
    while (n < N) cols[n] = (int)scarp_rng_below(&r, GW), rows[n] = (int)scarp_rng_below(&r, GH), n++;
    float *prob = scarp_malloc(sizeof(float) * N);
    uint8_t valid[N];
    char model[SCARP_PATH_MAX + 64];
    snprintf(model, sizeof model, "%s/models/cnn.model", cfg.out);
    reference(model, cols, rows, N, prob, valid);
    double maxerr = 0;
    int nvalid = 0, ninvalid = 0;
    for (int i = 0; i < N; i++) {
        float v = map[rows[i] * GW + cols[i]];
        if (valid[i]) {
            nvalid++;
            CHECK_NEAR(v, prob[i], ref_tol);
            if (fabs(v - prob[i]) > maxerr) maxerr = fabs(v - prob[i]);
        } else {
            ninvalid++;
            CHECK_MSG(isnan(v), "cell (%d, %d) is nodata in the stack but mapped as %g", cols[i], rows[i], v);
        }
    }
    CHECK(nvalid > 80);
    CHECK(ninvalid >= 2);
    fprintf(stderr, "  map vs per-patch: max |diff| = %.3g over %d valid cells, %d nodata cells\n", maxerr, nvalid,
            ninvalid);
    /* classes agree with the breaks in summary.json; quantile classes hold ~1/4 of the area */
    float *cls = read_map("classes.tif");
    char path[SCARP_PATH_MAX + 64], *text = NULL;
    snprintf(path, sizeof path, "%s/map/summary.json", cfg.out);
    CHECK_OK(scarp_read_file(path, &text, NULL));
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    cJSON *br = root ? cJSON_GetObjectItem(root, "breaks") : NULL;
    CHECK(br && cJSON_GetArraySize(br) == 3);
    if (cls && br && cJSON_GetArraySize(br) == 3) {
        double b[3];
        for (int i = 0; i < 3; i++) b[i] = cJSON_GetArrayItem(br, i)->valuedouble;
        int64_t bad = 0, counts[4] = {0}, nv = 0;
        for (int i = 0; i < GW * GH; i++) {
            if (isnan(map[i])) {
                bad += !isnan(cls[i]);
                continue;
            }
            int c = scarp_class_of(map[i], b, 4);
            /* breaks in the JSON are rounded to 1e-6: allow cells within that of a break */
            int near = 0;
            for (int j = 0; j < 3; j++) near |= fabs(map[i] - b[j]) < 2e-6;
            if (!near) bad += cls[i] != (float)c;
            counts[(int)cls[i] & 3]++;
            nv++;
        }
        CHECK_EQ_INT(bad, 0);
        for (int c = 0; c < 4; c++) CHECK_NEAR((double)counts[c] / nv, 0.25, 0.02);
    }
    cJSON_Delete(root);
    scarp_free(text);
    snprintf(path, sizeof path, "%s/map/classes.qml", cfg.out);
    CHECK(scarp_file_exists(path));
    snprintf(path, sizeof path, "%s/map/quicklook.png", cfg.out);
    CHECK(scarp_file_exists(path));
    snprintf(path, sizeof path, "%s/map/tiles", cfg.out);
    CHECK(!scarp_file_exists(path)); /* removed after assembly */
    /* another tiling: the same values */
    o.tile = 64, o.tile_h = 0;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL));
    float *map2 = read_map("susceptibility.tif");
    if (map2) {
        /* equal to float rounding: GEMM blocking differs with the strip width, the
         * function computed does not (same tiling ⇒ same bits: see tests/cli/map_*.sh) */
        int64_t nan_diff = 0;
        double maxd = 0;
        for (int i = 0; i < GW * GH; i++) {
            nan_diff += isnan(map2[i]) != isnan(map[i]);
            if (!isnan(map[i]) && fabs(map2[i] - map[i]) > maxd) maxd = fabs(map2[i] - map[i]);
        }
        CHECK_EQ_INT(nan_diff, 0);
        CHECK_NEAR(maxd, 0, 1e-6);
    }
    scarp_free(map2), scarp_free(map), scarp_free(cls), scarp_free(prob);
}

static void test_map_ensemble(void)
{
    if (!fixture_ok) SKIP("no fixture");
    scarp_map_options o = {0};
    o.model_name = "ens";
    o.tile = 40, o.no_figures = 1;
    scarp_map_report rep;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep));
    CHECK_EQ_INT(rep.ensemble, 2);
    float *mean = read_map("susceptibility.tif"), *sd = read_map("uncertainty_sd.tif");
    if (!mean || !sd) return;
    int cols[20], rows[20];
    scarp_rng r;
    scarp_rng_seed(&r, 3);
    for (int i = 0; i < 20; i++) cols[i] = (int)scarp_rng_below(&r, GW - 3), rows[i] = (int)scarp_rng_below(&r, GH);
    float p0[20], p1[20];
    uint8_t v[20];
    char m0[SCARP_PATH_MAX + 64], m1[SCARP_PATH_MAX + 64];
    snprintf(m0, sizeof m0, "%s/models/ens.r0.f0.model", cfg.out);
    snprintf(m1, sizeof m1, "%s/models/ens.r0.f1.model", cfg.out);
    reference(m0, cols, rows, 20, p0, v);
    reference(m1, cols, rows, 20, p1, v);
    for (int i = 0; i < 20; i++) {
        if (!v[i]) continue;
        double mu = 0.5 * (p0[i] + p1[i]), s = fabs(p0[i] - p1[i]) / sqrt(2.0);
        CHECK_NEAR(mean[rows[i] * GW + cols[i]], mu, ref_tol);
        CHECK_NEAR(sd[rows[i] * GW + cols[i]], s, 2 * ref_tol); /* |p0 − p1| / √2: both errors */
    }
    scarp_free(mean), scarp_free(sd);
}

static float *read_map_path(const char *path)
{
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(path, 1, &g, &d));
    scarp_grid_free(&g);
    return d;
}

/* Issue 18: a study with 3 outer folds maps the ensemble of its 3 fold models by default
 * ([map] ensemble = auto); every member is applied with its own normalisation; the mean
 * and sd equal those computed here from the 3 single-member maps, cell for cell. */
static void test_map_cv_ensemble(void)
{
    if (!fixture_ok) SKIP("no fixture");
    const int n = GW * GH;
    char path[SCARP_PATH_MAX + 64], sus[SCARP_PATH_MAX + 64];
    snprintf(sus, sizeof sus, "%s/map/susceptibility.tif", cfg.out);
    /* the members' normalisations differ (else the per-member norm could not be told from
     * one shared norm) */
    scarp_norm nm[3];
    for (int f = 0; f < 3; f++) {
        scarp_model m;
        void *blob;
        size_t bytes;
        snprintf(path, sizeof path, "%s/models/cv.r0.f%d.model", cfg.out, f);
        scarp_norm_init(&nm[f]);
        CHECK_OK(scarp_model_load(path, &m, &blob, &bytes));
        CHECK_OK(scarp_norm_deserialize(&nm[f], blob, bytes));
        scarp_free(blob);
        scarp_model_free(&m);
    }
    int differ = 0;
    for (int c = 0; c < nm[0].C; c++)
        differ += nm[0].channels[c].max != nm[1].channels[c].max || nm[1].channels[c].min != nm[2].channels[c].min;
    CHECK_MSG(differ > 0, "the fixture's fold normalisations are identical");
    for (int f = 0; f < 3; f++) scarp_norm_free(&nm[f]);

    /* the default: 3 members */
    scarp_map_options o = {0};
    o.model_name = "cv";
    o.tile = 40, o.tile_h = 33, o.no_figures = 0;
    scarp_map_report rep;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep));
    CHECK_EQ_INT(rep.ensemble, 3);
    float *mean = read_map("susceptibility.tif"), *sd = read_map("uncertainty_sd.tif");
    snprintf(path, sizeof path, "%s/map/uncertainty.png", cfg.out);
    CHECK_MSG(scarp_file_exists(path), "no %s", path);
    /* the QGIS style beside uncertainty_sd.tif: a ramp over 0 .. max(2 x threshold, the
     * largest sd of the raster), the span of uncertainty.png's colour bar; written with 3
     * decimals, so it equals the raster's maximum to 0.0005 */
    {
        double sd_max = 0;
        for (int i = 0; sd && i < GW * GH; i++)
            if (!isnan(sd[i]) && sd[i] > sd_max) sd_max = sd[i];
        double want = sd_max > 2 * SCARP_MAP_SD_THRESHOLD ? sd_max : 2 * SCARP_MAP_SD_THRESHOLD;
        char *qml = NULL;
        snprintf(path, sizeof path, "%s/map/uncertainty_sd.qml", cfg.out);
        CHECK_OK(scarp_read_file(path, &qml, NULL));
        const char *mx = qml ? strstr(qml, "maximumValue=\"") : NULL;
        CHECK_MSG(qml && strstr(qml, "type=\"singlebandpseudocolor\"") && mx, "%s: not a pseudocolour style", path);
        if (mx) CHECK_NEAR(strtod(mx + strlen("maximumValue=\""), NULL), want, 0.0005);
        scarp_free(qml);
        snprintf(path, sizeof path, "%s/map/susceptibility.qml", cfg.out);
        CHECK_MSG(scarp_file_exists(path), "no %s", path);
    }
    double share_reported = rep.sd_share_above;
    /* each member alone (explicit path): the single-member maps */
    float *mem[3] = {0};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/models/cv.r0.f%d.model", cfg.out, f);
        scarp_map_options o1 = o;
        o1.model_name = path, o1.no_figures = 1;
        CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o1, NULL, &rep));
        CHECK_EQ_INT(rep.ensemble, 1);
        mem[f] = read_map_path(sus);
    }
    /* a member alone equals its per-patch evaluation with ITS OWN norm */
    {
        int cols[30], rows[30];
        float ref[30];
        uint8_t v[30];
        scarp_rng r;
        scarp_rng_seed(&r, 8);
        for (int i = 0; i < 30; i++) cols[i] = (int)scarp_rng_below(&r, GW - 3), rows[i] = (int)scarp_rng_below(&r, GH);
        snprintf(path, sizeof path, "%s/models/cv.r0.f2.model", cfg.out);
        reference(path, cols, rows, 30, ref, v);
        for (int i = 0; i < 30 && mem[2]; i++)
            if (v[i]) CHECK_NEAR(mem[2][rows[i] * GW + cols[i]], ref[i], 1e-5);
    }
    /* Tolerance: the members' probabilities are the same float32 values in both runs
     * (same tiles, same operations); the ensemble forms mean and M2 in double and rounds
     * once to float32, the check forms them in double too: the two differ by at most one
     * float32 rounding of a value in [0, 1], i.e. one ulp at 1 = 2^-23. */
    const double tol = 0x1p-23;
    if (mean && sd && mem[0] && mem[1] && mem[2]) {
        int64_t nv = 0, bad_nan = 0, above = 0;
        double emax_mean = 0, emax_sd = 0, sd_hi = 0;
        for (int i = 0; i < n; i++) {
            if (isnan(mem[0][i])) {
                bad_nan += !isnan(mean[i]) || !isnan(sd[i]) || !isnan(mem[1][i]) || !isnan(mem[2][i]);
                continue;
            }
            nv++;
            double a = mem[0][i], b = mem[1][i], c = mem[2][i], mu = (a + b + c) / 3;
            double s = sqrt(((a - mu) * (a - mu) + (b - mu) * (b - mu) + (c - mu) * (c - mu)) / 2);
            emax_mean = fmax(emax_mean, fabs(mean[i] - mu));
            emax_sd = fmax(emax_sd, fabs(sd[i] - s));
            sd_hi = fmax(sd_hi, s);
            above += s > SCARP_MAP_SD_THRESHOLD;
        }
        CHECK_EQ_INT(bad_nan, 0);
        CHECK(nv > n / 2);
        CHECK_MSG(emax_mean <= tol, "mean: max |ensemble − mean of the 3 member maps| = %.3g > %.3g", emax_mean, tol);
        CHECK_MSG(emax_sd <= tol, "sd: max |ensemble − sd of the 3 member maps| = %.3g > %.3g", emax_sd, tol);
        CHECK_MSG(sd_hi > 1e-3, "the members agree everywhere (max sd %.3g): the check could not fail", sd_hi);
        CHECK_NEAR(share_reported, (double)above / (double)nv, 0.5 / (double)nv + 1e-12);
        fprintf(stderr, "  cv ensemble of 3 fold members (own norms): %lld cells, max |Δmean| %.3g, max |Δsd| %.3g "
                        "(tol %.3g), max sd %.3f, %.1f %% of the area sd > %.2f\n",
                (long long)nv, emax_mean, emax_sd, tol, sd_hi, 100.0 * above / nv, SCARP_MAP_SD_THRESHOLD);
    }
    /* ensemble = off maps the main-split model cv.model alone */
    float *single = NULL;
    scarp_map_options o2 = o;
    o2.ensemble = "off", o2.no_figures = 1;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o2, NULL, &rep));
    CHECK_EQ_INT(rep.ensemble, 1);
    single = read_map_path(sus);
    snprintf(path, sizeof path, "%s/models/cv.model", cfg.out);
    o2.model_name = path, o2.ensemble = NULL;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o2, NULL, &rep));
    float *main_map = read_map_path(sus);
    if (single && main_map) {
        int64_t diff = 0;
        for (int i = 0; i < n; i++) diff += !(single[i] == main_map[i] || (isnan(single[i]) && isnan(main_map[i])));
        CHECK_EQ_INT(diff, 0);
    }
    /* ensemble = on without members: one clear error */
    o2.model_name = "cnn", o2.ensemble = "on";
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o2, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "ensemble = on") != NULL);
    /* dated maps need a model with rainfall/reservoir input: one clear error */
    o2.ensemble = NULL, o2.dates = "2019-03-01..2019-03-03";
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o2, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "no rainfall") != NULL);
    scarp_free(single), scarp_free(main_map);
    for (int f = 0; f < 3; f++) scarp_free(mem[f]);
    scarp_free(mean), scarp_free(sd);
}

static void test_map_bad_model(void)
{
    if (!fixture_ok) SKIP("no fixture");
    scarp_map_options o = {0};
    o.model_name = "forest";
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "forest") != NULL);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--fixture")) {
        int W = argc >= 5 ? atoi(argv[3]) : GW, H = argc >= 5 ? atoi(argv[4]) : GH;
        scarp_status st = make_fixture(argv[2], W, H, &cfg);
        if (st) fprintf(stderr, "fixture: %s\n", scarp_last_error());
        return st ? 1 : 0;
    }
    snprintf(fixture_dir, sizeof fixture_dir, "/tmp/scarp_test_map_%d", (int)getpid());
    scarp_status st = make_fixture(fixture_dir, GW, GH, &cfg);
    if (st) fprintf(stderr, "fixture failed: %s\n", scarp_last_error());
    CHECK_OK(st);
    fixture_ok = st == SCARP_OK;
    if (fixture_ok) {
        scarp_stack s;
        scarp_stack_init(&s);
        CHECK_OK(scarp_stack_open(&s, cfg.out));
        GW = (int)s.grid.width, GH = (int)s.grid.height;
        scarp_stack_free(&s);
    }
    RUN(test_map_equals_patches);
    RUN(test_map_ensemble);
    RUN(test_map_cv_ensemble);
    RUN(test_map_bad_model);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fixture_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", fixture_dir);
    return check_summary();
}
