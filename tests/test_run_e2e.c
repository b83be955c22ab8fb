/* test_run_e2e.c — the whole study on the `mini` synthetic province through the CLI:
 * every output exists, metrics.json parses, cnn_lstm beats chance on the test split (the
 * DeLong 95 % interval of its AUC lies above 0.5), the map's high classes hold more
 * landslides than their share of the area; a rerun with nothing changed does no work, and
 * changing one model key ([model] trees) retrains only that model.
 * SCARP_TEST_SLOW: trains every model; runs in the Release build only. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"

static char work[] = "/tmp/scarp_e2e_XXXXXX";

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static cJSON *load_json(const char *rel)
{
    char path[1024], *text = NULL;
    snprintf(path, sizeof path, "%s/area/run/%s", work, rel);
    if (scarp_read_file(path, &text, NULL)) return NULL;
    cJSON *j = cJSON_Parse(text);
    scarp_free(text);
    return j;
}

static double num(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cJSON_IsNumber(cur) ? cur->valuedouble : NAN;
}

static long long mtime_ns(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/area/run/%s", work, rel);
    struct stat st;
    if (stat(path, &st)) return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static int log_has(const char *log, const char *needle)
{
    char path[1024], *text = NULL;
    snprintf(path, sizeof path, "%s/%s", work, log);
    if (scarp_read_file(path, &text, NULL)) return 0;
    int found = strstr(text, needle) != NULL;
    scarp_free(text);
    return found;
}

static void test_whole_study(void)
{
    if (sh("%s synth --preset mini --out %s/area --quiet", SCARP_BINARY, work)) SKIP("synth failed");
    /* the pipeline's plumbing, at the study's fixed recipe (tune = auto trains 3 settings per
     * network: its pieces are tested in test_nn_tune, its pipeline path in cli_fault_disk) */
    if (sh("sed -i 's/^\\[model\\]/[model]\\ntune = none/' %s/area/study.ini", work)) SKIP("sed failed");
    CHECK_EQ_INT(sh("%s run %s/area/study.ini > %s/run1.log 2>&1", SCARP_BINARY, work, work) == 0 ? 0 : 1, 0);
    const char *products[] = {"manifest.json", "dataset.bin", "norm.bin", "stack/stack.json", "preflight.txt",
                              "models/cnn_lstm.model", "models/forest.model", "models/svm.model", "metrics.json",
                              "metrics.csv", "report.html", "map/susceptibility.tif", "map/classes.tif",
                              "map/classes.qml", "map/summary.json"};
    for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/area/run/%s", work, products[i]);
        CHECK_MSG(scarp_file_exists(p), "missing output %s", products[i]);
    }
    cJSON *metrics = load_json("metrics.json");
    CHECK(metrics != NULL);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(metrics, "models");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(models, "cnn_lstm");
    double auc = num(cl, "test/auc"), lo = num(cl, "test/auc_ci95_lo");
    fprintf(stderr, "cnn_lstm test AUC %.3f (95%% interval from %.3f)\n", auc, lo);
    CHECK(auc > 0.7);
    CHECK(lo > 0.5);
    const cJSON *m;
    int n_models = 0;
    cJSON_ArrayForEach(m, models)
    {
        n_models++;
        CHECK_MSG(isfinite(num(m, "test/auc")), "model %s has no AUC", m->string);
    }
    CHECK_EQ_INT(n_models, 8);
    cJSON_Delete(metrics);

    cJSON *summary = load_json("map/summary.json");
    CHECK(summary != NULL);
    double ls_high = num(summary, "landslides_in_high_classes"), area_high = num(summary, "area_in_high_classes");
    fprintf(stderr, "high + very high: %.3f of landslides on %.3f of the area\n", ls_high, area_high);
    CHECK(ls_high > area_high);
    cJSON_Delete(summary);
}

static void test_rerun_reuses_everything(void)
{
    long long model_before = mtime_ns("models/cnn_lstm.model"), map_before = mtime_ns("map/susceptibility.tif");
    CHECK_EQ_INT(sh("%s run %s/area/study.ini > %s/run2.log 2>&1", SCARP_BINARY, work, work) == 0 ? 0 : 1, 0);
    CHECK(mtime_ns("models/cnn_lstm.model") == model_before);
    CHECK(mtime_ns("map/susceptibility.tif") == map_before);
    CHECK(log_has("run2.log", "prepare reused"));
    CHECK(log_has("run2.log", "map reused"));
    CHECK(log_has("run2.log", "evaluate reused"));
    /* "== train NAME" alone on a line means NAME was trained; reuse says "unchanged". */
    CHECK(!log_has("run2.log", "== train cnn_lstm\n"));
    CHECK(!log_has("run2.log", "== train forest\n"));
    CHECK(log_has("run2.log", "== train cnn_lstm: unchanged"));
}

static void test_one_model_key_retrains_one_model(void)
{
    long long cnn = mtime_ns("models/cnn_lstm.model"), svm = mtime_ns("models/svm.model");
    long long forest = mtime_ns("models/forest.model");
    /* [model] trees is read by the random forest alone. */
    CHECK_EQ_INT(sh("sed -i 's/^\\[model\\]$/[model]\\ntrees = 120/' %s/area/study.ini", work), 0);
    CHECK_EQ_INT(sh("%s run %s/area/study.ini > %s/run3.log 2>&1", SCARP_BINARY, work, work) == 0 ? 0 : 1, 0);
    CHECK(mtime_ns("models/forest.model") != forest);
    CHECK(mtime_ns("models/cnn_lstm.model") == cnn);
    CHECK(mtime_ns("models/svm.model") == svm);
    CHECK(log_has("run3.log", "prepare reused"));
    CHECK(log_has("run3.log", "== train forest\n"));
    CHECK(!log_has("run3.log", "== train cnn_lstm\n"));
    CHECK(!log_has("run3.log", "== train svm\n"));
}

int main(void)
{
    if (!mkdtemp(work)) return 1;
    setenv("OMP_NUM_THREADS", "2", 1);
    RUN(test_whole_study);
    RUN(test_rerun_reuses_everything);
    RUN(test_one_model_key_retrains_one_model);
    int rc = check_summary();
    if (rc == 0) sh("rm -rf %s", work);
    else fprintf(stderr, "outputs kept in %s\n", work);
    return rc;
}
