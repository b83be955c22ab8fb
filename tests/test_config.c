/* test_config.c — the study config parser: DESIGN.md defaults, relative paths, path:band,
 * unknown keys with a suggestion, malformed values naming FILE:LINE and the key. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/config.h"
#include "scarp/fsutil.h"

static char dir[256];

static void write_ini(const char *name, const char *text, char *path, size_t sz)
{
    snprintf(path, sz, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void)
{
    static scarp_config c;
    scarp_config_defaults(&c);
    CHECK_EQ_INT(c.seed, 42);
    CHECK_EQ_INT(c.threads, 0);
    CHECK(strcmp(c.grid_reference, "dem") == 0);
    CHECK_NEAR(c.negatives_ratio, 1.0, 0);
    CHECK_NEAR(c.negatives_min_distance, 300.0, 0);
    CHECK(strcmp(c.negatives_dates, "matched") == 0);
    CHECK_EQ_INT(c.window, 30);
    CHECK_NEAR(c.temporal_resolution, 1000.0, 0);
    CHECK(strcmp(c.interpolation, "idw") == 0);
    CHECK_NEAR(c.idw_power, 2.0, 0);
    CHECK(strcmp(c.split_method, "random") == 0);
    CHECK_NEAR(c.split_train, 0.70, 1e-12);
    CHECK_NEAR(c.split_val, 0.15, 1e-12);
    CHECK_NEAR(c.split_test, 0.15, 1e-12);
    CHECK_EQ_INT(c.folds, 1);
    CHECK_EQ_INT(c.repeats, 1);
    CHECK_EQ_INT(c.n_models, 8);
    CHECK(scarp_config_has_model(&c, "cnn_lstm") && scarp_config_has_model(&c, "logreg"));
    CHECK_EQ_INT(c.patch, 22);
    CHECK_EQ_INT(c.epochs, 50);
    CHECK_EQ_INT(c.batch, 32);
    CHECK_NEAR(c.lr, 0.001, 0);
    CHECK_NEAR(c.l2, 0.01, 0);
    CHECK_NEAR(c.dropout, 0.2, 0);
    CHECK_NEAR(c.recurrent_dropout, 0.2, 0);
    CHECK(strcmp(c.select, "val_bce") == 0);
    CHECK_EQ_INT(c.trees, 500);
    CHECK(strcmp(c.map_model, "best") == 0);
    CHECK(strcmp(c.split_compare, "none") == 0);
    CHECK_EQ_INT(c.map_classes, 4);
    CHECK(strcmp(c.map_breaks, "natural") == 0);
    CHECK(strcmp(c.map_date, "auto") == 0);
    CHECK(strcmp(c.apply_unseen, "error") == 0);
}

static void test_full_file(void)
{
    static scarp_config c;
    char path[512], want[1024];
    write_ini("full.ini",
              "; a study\n"
              "[project]\nout = results\nseed = 7\nthreads = 2\n"
              "[grid]\nreference = dem\n"
              "[layer.dem]\npath = data/dem.tif\nkind = continuous\nderive = slope aspect twi spi curvature\n"
              "[layer.erg]\npath = /abs/erg.tif\nkind = categorical\nband = 2\n"
              "[distance.faults]\npath = faults.gpkg\n"
              "[ndvi]\nred = s2.tif:4\nnir = s2.tif:8\n"
              "[inventory]\npath = landslides.csv\nx = lon\ny = lat\ncrs = EPSG:4326\ndate = event_date\n"
              "[negatives]\nratio = 2\nmin_distance = 500   ; metres\ndates = uniform\n"
              "[temporal]\nstations = st.csv\nrainfall = rain.csv\nwindow = 14\nresolution = 500\n"
              "stations_x = lon\nstations_y = lat\n"
              "[split]\nmethod = spatial\ntrain = 0.6\nval = 0.2\ntest = 0.2\nfolds = 5\nrepeats = 3\ncompare = random\n"
              "[model]\nmodels = cnn_lstm forest\npatch = 24\nlr = 0.0005\n"
              "[map]\nmodel = forest\nclasses = 5\nbreaks = quantile\ndate = 2020-02-29\n"
              "[apply]\nunseen = nodata\n",
              path, sizeof path);
    scarp_config_defaults(&c);
    CHECK_OK(scarp_config_load(&c, path));
    snprintf(want, sizeof want, "%s/results", dir);
    CHECK_MSG(strcmp(c.out, want) == 0, "out = %s", c.out);
    CHECK_EQ_INT(c.seed, 7);
    CHECK_EQ_INT(c.n_layers, 2);
    snprintf(want, sizeof want, "%s/data/dem.tif", dir);
    CHECK_MSG(strcmp(c.layers[0].path, want) == 0, "dem path = %s", c.layers[0].path);
    CHECK_EQ_INT(c.layers[0].derive, SCARP_DERIVE_SLOPE | SCARP_DERIVE_ASPECT | SCARP_DERIVE_TWI | SCARP_DERIVE_SPI |
                                         SCARP_DERIVE_CURVATURE);
    CHECK(strcmp(c.layers[1].path, "/abs/erg.tif") == 0);
    CHECK_EQ_INT(c.layers[1].kind, SCARP_KIND_CATEGORICAL);
    CHECK_EQ_INT(c.layers[1].band, 2);
    CHECK_EQ_INT(c.n_distances, 1);
    snprintf(want, sizeof want, "%s/s2.tif", dir);
    CHECK_MSG(strcmp(c.ndvi_red, want) == 0, "red = %s", c.ndvi_red);
    CHECK_EQ_INT(c.ndvi_red_band, 4);
    CHECK_EQ_INT(c.ndvi_nir_band, 8);
    CHECK(strcmp(c.inventory_x, "lon") == 0 && strcmp(c.inventory_crs, "EPSG:4326") == 0);
    CHECK(strcmp(c.inventory_date, "event_date") == 0);
    CHECK_NEAR(c.negatives_ratio, 2, 0);
    CHECK_NEAR(c.negatives_min_distance, 500, 0); /* inline comment stripped */
    CHECK(strcmp(c.negatives_dates, "uniform") == 0);
    CHECK_EQ_INT(c.window, 14);
    CHECK(strcmp(c.stations_x, "lon") == 0);
    CHECK(strcmp(c.split_method, "spatial") == 0);
    CHECK_EQ_INT(c.folds, 5);
    CHECK_EQ_INT(c.repeats, 3);
    CHECK(strcmp(c.split_compare, "random") == 0);
    CHECK_EQ_INT(c.n_models, 2);
    CHECK(scarp_config_has_model(&c, "forest") && !scarp_config_has_model(&c, "svm"));
    CHECK_EQ_INT(c.patch, 24);
    CHECK_EQ_INT(c.map_classes, 5);
    CHECK(strcmp(c.map_date, "2020-02-29") == 0);
    CHECK(strcmp(c.apply_unseen, "nodata") == 0);
}

/* Loads `text` and expects SCARP_ERR_INPUT with a message containing `want`. */
static void expect_error(const char *text, const char *want)
{
    static scarp_config c;
    char path[512];
    write_ini("bad.ini", text, path, sizeof path);
    scarp_config_defaults(&c);
    CHECK_FAILS(scarp_config_load(&c, path), SCARP_ERR_INPUT);
    char full[1024];
    snprintf(full, sizeof full, want, path);
    CHECK_MSG(strstr(scarp_last_error(), full) != NULL, "message '%s' lacks '%s'", scarp_last_error(), full);
}

static void test_errors(void)
{
    expect_error("[map]\nclasses = 4\nmodle = cnn\n", "%s:3: unknown key 'modle' in [map] (did you mean 'model'?)");
    expect_error("[model]\nmodle = cnn\n", "%s:2: unknown key 'modle' in [model] (did you mean 'models'?)");
    expect_error("[negatives]\nmin_distanse = 3\n", "%s:2: unknown key 'min_distanse' in [negatives] (did you mean 'min_distance'?)");
    expect_error("[layer.dem]\npth = dem.tif\n", "%s:2: unknown key 'pth' in [layer.dem] (did you mean 'path'?)");
    expect_error("[apply]\nunsen = nodata\n", "%s:2: unknown key 'unsen' in [apply] (did you mean 'unseen'?)");
    expect_error("[apply]\nunseen = maybe\n", "%s:2: 'unseen' must be one of: error nodata (got 'maybe')");
    expect_error("[aply]\nunseen = nodata\n", "%s:2: unknown section [aply] (did you mean [apply]?)");
    expect_error("[projcet]\nseed = 1\n", "%s:2: unknown section [projcet] (did you mean [project]?)");
    expect_error("[layr.dem]\npath = x.tif\n", "(did you mean [layer.dem]?)");
    expect_error("[project]\nzzzzzz = 1\n", "%s:2: unknown key 'zzzzzz' in [project] (known:");
    expect_error("[project]\n\nseed = forty\n", "%s:3: 'seed' must be a non-negative whole number (got 'forty')");
    expect_error("[model]\npatch = 22.5\n", "%s:2: 'patch' must be a whole number (got '22.5')");
    /* a patch the CNN branch cannot take is a config error, before prepare; models without it accept it */
    expect_error("[model]\npatch = 21\n", "%s: [model] patch = 21 is too small for cnn_lstm (its three convolution "
                                            "and pooling blocks need >= 22): raise patch or remove cnn_lstm from models");
    expect_error("[model]\nmodels = mlp cnn\npatch = 8\n", "[model] patch = 8 is too small for cnn ");
    expect_error("[negatives]\nratio = -1\n", "%s:2: 'ratio' must be greater than 0");
    expect_error("[negatives]\ndates = random\n", "%s:2: 'dates' must be one of: matched uniform (got 'random')");
    expect_error("[layer.erg]\npath = e.tif\nkind = discrete\n", "%s:3: 'kind' must be one of: continuous categorical circular");
    expect_error("[map]\ndate = 2021-02-29\n", "%s:2: 'date' must be 'auto' or a date yyyy-mm-dd");
    expect_error("[model]\nmodels = cnn_lstm xgb\n", "%s:2: 'models': unknown model 'xgb'");
    expect_error("[split]\ntrain = 0.8\n", "[split] train + val + test must be 1");
    expect_error("[split]\nmethod = spatial\nfolds = 5\ncompare = spatail\n",
                 "%s:4: 'compare' must be one of: none random (got 'spatail')");
    expect_error("[split]\nmethod = random\nfolds = 5\ncompare = random\n",
                 "%s: [split] compare = random needs method = spatial (with method = random the cross-validation is "
                 "already random: remove compare)");
    expect_error("[split]\nmethod = spatial\ncompare = random\n",
                 "%s: [split] compare = random needs folds or repeats > 1");
    expect_error("[layer.dem]\nkind = continuous\n", "[layer.dem] has no 'path'");
    expect_error("[project]\nthis is not ini\n", "%s:2: syntax error");
    expect_error("[grid]\ncrs = EPSG:32640\n", "[grid] 'crs' needs 'resolution' and 'extent' too");
    expect_error("[grid]\nextent = 1 2 3\n", "'extent' must be four numbers");
}

static void test_missing_file(void)
{
    static scarp_config c;
    scarp_config_defaults(&c);
    char path[512];
    snprintf(path, sizeof path, "%s/none.ini", dir);
    CHECK_FAILS(scarp_config_load(&c, path), SCARP_ERR_IO);
    CHECK(strstr(scarp_last_error(), "none.ini") != NULL);
}

static void test_grid_by_extent(void)
{
    static scarp_config c;
    char path[512];
    write_ini("ext.ini", "[grid]\ncrs = EPSG:32640\nresolution = 30\nextent = 0 0 3000 6000\n", path, sizeof path);
    scarp_config_defaults(&c);
    CHECK_OK(scarp_config_load(&c, path));
    CHECK(c.grid_reference[0] == 0);
    CHECK_NEAR(c.grid_resolution, 30, 0);
    CHECK_NEAR(c.grid_extent[3], 6000, 0);
}

/* [project] memory: megabytes, or K/M/G/T (powers of 1024), default 2G, at least 1M. */
static void test_memory(void)
{
    static scarp_config c;
    char path[512];
    static const struct {
        const char *text;
        int64_t bytes;
    } ok[] = {{"512", (int64_t)512 << 20}, {"256M", (int64_t)256 << 20}, {"2G", (int64_t)2 << 30},
              {"1.5GiB", (int64_t)3 << 29}, {"4096 kb", (int64_t)4 << 20}, {"1T", (int64_t)1 << 40}};
    scarp_config_defaults(&c);
    CHECK_EQ_INT(c.memory_bytes, (int64_t)2 << 30);
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        char text[128];
        snprintf(text, sizeof text, "[project]\nmemory = %s\n", ok[k].text);
        write_ini("mem.ini", text, path, sizeof path);
        scarp_config_defaults(&c);
        CHECK_OK(scarp_config_load(&c, path));
        CHECK_EQ_INT(c.memory_bytes, ok[k].bytes);
    }
    expect_error("[project]\nmemory = lots\n", "%s:2: 'memory' must be a size of at least 1M");
    expect_error("[project]\nmemory = 2X\n", "%s:2: 'memory' must be a size of at least 1M");
    expect_error("[project]\nmemory = 100K\n", "%s:2: 'memory' must be a size of at least 1M");
    expect_error("[project]\nmemory = -5\n", "%s:2: 'memory' must be a size of at least 1M");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/scarp_test_config_%d", (int)getpid());
    scarp_mkdir_p(dir);
    RUN(test_defaults);
    RUN(test_full_file);
    RUN(test_errors);
    RUN(test_missing_file);
    RUN(test_grid_by_extent);
    RUN(test_memory);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    return check_summary();
}
