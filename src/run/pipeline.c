/* pipeline.c — `scarp run`: prepare → train each model → map → evaluate + report, reusing
 * every stage whose key (SHA-256 of the config keys it reads, the keys of the stages it
 * depends on and the input files' checksums) matches OUT/manifest.json. */
#include "scarp/json_io.h"
#include "scarp/run.h"

#include <cairo.h>
#include <cblas.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <svm.h>

#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/hash.h"
#include "scarp/log.h"
#include "scarp/map.h"
#include "scarp/mpi.h"
#include "scarp/raster.h"
#include "scarp/report.h"
#include "manifest.h"

/* Bump when a stage's products change format, so old run folders are rebuilt. */
#define PIPELINE_FORMAT "scarp-pipeline-1"

static void hash_field(scarp_hash *h, const char *name, const void *data, size_t bytes)
{
    scarp_hash_update_str(h, name);
    scarp_hash_update(h, data, bytes);
}
#define HASH_FIELD(h, cfg, field) hash_field(h, #field, &(cfg)->field, sizeof((cfg)->field))
#define HASH_STR(h, cfg, field) (scarp_hash_update_str(h, #field), scarp_hash_update_str(h, (cfg)->field))

/* Every input file a study reads, for checksums. */
static int input_files(const scarp_config *c, const char **paths, int max)
{
    int n = 0;
    for (int i = 0; i < c->n_layers && n < max; i++) paths[n++] = c->layers[i].path;
    for (int i = 0; i < c->n_distances && n < max; i++) paths[n++] = c->distances[i].path;
    const char *more[] = {c->ndvi_red, c->ndvi_nir, c->inventory_path, c->stations_path, c->rainfall_path,
                          c->reservoirs_path, c->reservoir_levels_path};
    for (size_t i = 0; i < sizeof more / sizeof more[0] && n < max; i++)
        if (more[i][0]) {
            int dup = 0;
            for (int k = 0; k < n; k++) dup |= strcmp(paths[k], more[i]) == 0;
            if (!dup) paths[n++] = more[i];
        }
    return n;
}

/* Config keys the prepare stage reads: [project] seed, [grid] … [split] (a contiguous
 * block of scarp_config, hashed by name and value) and [model] patch. */
static void hash_prepare_config(scarp_hash *h, const scarp_config *c)
{
    scarp_hash_update_str(h, PIPELINE_FORMAT);
    HASH_FIELD(h, c, seed);
    HASH_STR(h, c, grid_reference);
    HASH_STR(h, c, grid_crs);
    HASH_FIELD(h, c, grid_resolution);
    HASH_FIELD(h, c, grid_extent);
    HASH_FIELD(h, c, n_layers);
    for (int i = 0; i < c->n_layers; i++) {
        scarp_hash_update_str(h, c->layers[i].name);
        scarp_hash_update_str(h, c->layers[i].path);
        hash_field(h, "band", &c->layers[i].band, sizeof c->layers[i].band);
        hash_field(h, "kind", &c->layers[i].kind, sizeof c->layers[i].kind);
        hash_field(h, "derive", &c->layers[i].derive, sizeof c->layers[i].derive);
    }
    for (int i = 0; i < c->n_distances; i++) {
        scarp_hash_update_str(h, c->distances[i].name);
        scarp_hash_update_str(h, c->distances[i].path);
    }
    /* The remaining scalar keys of [ndvi] … [split]: hash the strings as strings (their
     * bytes after the NUL are not part of the value) and the numbers as bytes. */
    HASH_STR(h, c, ndvi_red);
    HASH_FIELD(h, c, ndvi_red_band);
    HASH_STR(h, c, ndvi_nir);
    HASH_FIELD(h, c, ndvi_nir_band);
    HASH_STR(h, c, flow);
    HASH_FIELD(h, c, river_threshold_km2);
    HASH_STR(h, c, inventory_path);
    HASH_STR(h, c, inventory_x);
    HASH_STR(h, c, inventory_y);
    HASH_STR(h, c, inventory_crs);
    HASH_STR(h, c, inventory_date);
    HASH_STR(h, c, inventory_label);
    HASH_FIELD(h, c, negatives_ratio);
    HASH_FIELD(h, c, negatives_min_distance);
    HASH_STR(h, c, negatives_dates);
    HASH_STR(h, c, stations_path);
    HASH_STR(h, c, stations_crs);
    HASH_STR(h, c, stations_id);
    HASH_STR(h, c, stations_x);
    HASH_STR(h, c, stations_y);
    HASH_STR(h, c, rainfall_path);
    HASH_STR(h, c, reservoirs_path);
    HASH_STR(h, c, reservoir_levels_path);
    HASH_FIELD(h, c, window);
    HASH_FIELD(h, c, temporal_resolution);
    HASH_STR(h, c, interpolation);
    HASH_FIELD(h, c, idw_power);
    HASH_STR(h, c, reservoir_interpolation);
    HASH_STR(h, c, split_method);
    HASH_FIELD(h, c, split_train);
    HASH_FIELD(h, c, split_val);
    HASH_FIELD(h, c, split_test);
    HASH_FIELD(h, c, folds);
    HASH_FIELD(h, c, repeats);
    HASH_FIELD(h, c, block_size);
    HASH_STR(h, c, split_blocks);
    HASH_FIELD(h, c, split_clusters);
    HASH_FIELD(h, c, patch);
}

scarp_status scarp_run_stage_key_prepare(const scarp_config *cfg, char key[65])
{
    scarp_hash *h;
    scarp_status st = scarp_hash_begin(&h);
    if (st) return st;
    hash_prepare_config(h, cfg);
    const char *paths[2 * SCARP_MAX_LAYERS + 8];
    int n = input_files(cfg, paths, (int)(sizeof paths / sizeof paths[0]));
    for (int i = 0; i < n; i++) {
        char sum[65];
        st = scarp_hash_file(paths[i], sum);
        if (st) {
            scarp_hash_end(h, key);
            return st;
        }
        scarp_hash_update_str(h, sum);
    }
    scarp_hash_end(h, key);
    return SCARP_OK;
}

static int is_network_model(const char *m)
{
    return !strcmp(m, "cnn_lstm") || !strcmp(m, "cnn") || !strcmp(m, "lstm") || !strcmp(m, "mlp");
}

scarp_status scarp_run_stage_key_model(const scarp_config *c, const char *prepare_key, const char *model, char key[65])
{
    scarp_hash *h;
    scarp_status st = scarp_hash_begin(&h);
    if (st) return st;
    scarp_hash_update_str(h, prepare_key);
    scarp_hash_update_str(h, model);
    /* Only the keys this model reads: a change to `trees` retrains the forest alone. */
    if (is_network_model(model)) {
        HASH_FIELD(h, c, epochs);
        HASH_FIELD(h, c, batch);
        HASH_FIELD(h, c, lr);
        HASH_FIELD(h, c, l2);
        HASH_FIELD(h, c, dropout);
        HASH_FIELD(h, c, recurrent_dropout);
        HASH_STR(h, c, select);
        HASH_STR(h, c, tune);
        HASH_FIELD(h, c, patience);
        HASH_STR(h, c, augment);
        HASH_FIELD(h, c, ensemble);
    } else if (!strcmp(model, "forest") || !strcmp(model, "gboost")) {
        HASH_FIELD(h, c, trees);
    } else if (!strcmp(model, "logreg")) {
        HASH_FIELD(h, c, logreg_c);
    }
    HASH_FIELD(h, c, split_buffer); /* which rows train every model */
    HASH_STR(h, c, split_compare);  /* compare = random trains the random-CV fold models too */
    scarp_hash_end(h, key);
    return SCARP_OK;
}

/* ---- manifest ---- */

static cJSON *manifest_load(const char *path) { return scarp__manifest_load(path); }
static const char *stage_key(cJSON *manifest, const char *stage) { return scarp__manifest_stage_key(manifest, stage); }
static void stage_clear(cJSON *manifest, const char *stage) { scarp__manifest_stage_clear(manifest, stage); }
static void stage_set(cJSON *manifest, const char *stage, const char *key)
{
    if (scarp__manifest_stage_set(manifest, stage, key)) scarp_warn("out of memory recording stage %s", stage);
}

static scarp_status manifest_fill(cJSON *m, const scarp_config *cfg)
{
    const char *fields[] = {"config_file", "config", "seed", "versions", "inputs"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(m, fields[i]);
    cJSON_AddStringToObject(m, "config_file", cfg->config_path);
    char *text = NULL;
    if (cfg->config_path[0] && scarp_read_file(cfg->config_path, &text, NULL) == SCARP_OK) {
        cJSON_AddStringToObject(m, "config", text);
        scarp_free(text);
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);
    cJSON_AddStringToObject(m, "seed", seed);
    cJSON *v = cJSON_AddObjectToObject(m, "versions");
    cJSON_AddStringToObject(v, "scarp", SCARP_VERSION);
    cJSON_AddStringToObject(v, "gdal", scarp_gdal_version());
    cJSON_AddStringToObject(v, "openblas", openblas_get_config());
    char svm_version[16];
    snprintf(svm_version, sizeof svm_version, "%d", libsvm_version);
    cJSON_AddStringToObject(v, "libsvm", svm_version);
    cJSON_AddStringToObject(v, "cairo", cairo_version_string());
    cJSON_AddStringToObject(v, "cjson", cJSON_Version());
    cJSON *inputs = cJSON_AddObjectToObject(m, "inputs");
    const char *paths[2 * SCARP_MAX_LAYERS + 8];
    int n = input_files(cfg, paths, (int)(sizeof paths / sizeof paths[0]));
    for (int i = 0; i < n; i++) {
        char sum[65];
        scarp_status st = scarp_hash_file(paths[i], sum);
        if (st) return st;
        cJSON *item = cJSON_GetObjectItemCaseSensitive(inputs, paths[i]);
        if (!item) cJSON_AddStringToObject(inputs, paths[i], sum);
    }
    return SCARP_OK;
}

static scarp_status manifest_save(cJSON *m, const char *path) { return scarp_json_write_file(path, m); }

static int products_exist(const char *out_dir, const char *const *names)
{
    char p[SCARP_PATH_MAX + 64];
    for (int i = 0; names[i]; i++) {
        if (scarp_path_join(p, sizeof p, out_dir, names[i]) || !scarp_file_exists(p)) return 0;
    }
    return 1;
}

static int model_exists(const char *out_dir, const char *model)
{
    char name[128];
    snprintf(name, sizeof name, "models/%s.model", model);
    const char *names[] = {name, NULL};
    if (products_exist(out_dir, names)) return 1;
    /* k-fold / repeated runs: at least the first fold's file */
    snprintf(name, sizeof name, "models/%s.r0.f0.model", model);
    return products_exist(out_dir, names);
}

/* Under mpirun (scarp_run below) every rank walks the same stages: rank 0 decides what
 * reruns (the manifest) and tells the others, prepares, evaluates and keeps the manifest;
 * train and map are shared among the ranks. Every step that may fail on one rank only is
 * followed by scarp_mpi_agree, so the ranks stop together with the first failure's message. */
static scarp_status run_stages(const scarp_config *cfg, const char *out_dir, const scarp_run_options *opts,
                               scarp_run_result *res, int rank)
{
    scarp_status st = scarp_mkdir_p(out_dir);
    if (st) return st;
    char manifest_path[SCARP_PATH_MAX + 32];
    if ((st = scarp_path_join(manifest_path, sizeof manifest_path, out_dir, "manifest.json"))) return st;
    snprintf(res->manifest_path, sizeof res->manifest_path, "%s", manifest_path);
    cJSON *manifest = manifest_load(manifest_path);
    if (!manifest) return scarp_fail(SCARP_ERR_NOMEM, "out of memory reading the manifest");

    char prep_key[65], keys[SCARP_MAX_MODELS][65], map_key[65], eval_key[65];
    double t0;
    if ((st = scarp_run_stage_key_prepare(cfg, prep_key))) goto end;
    if ((st = manifest_fill(manifest, cfg))) goto end;

    /* 1. prepare */
    t0 = scarp_now();
    const char *prep_products[] = {"dataset.bin", "norm.bin", "stack/stack.json", NULL};
    if (scarp_mpi_bcast_int(opts->force || strcmp(stage_key(manifest, "prepare"), prep_key) ||
                            !products_exist(out_dir, prep_products))) {
        if (rank == 0) { /* the others wait, then read what it wrote */
            stage_clear(manifest, "prepare");
            st = manifest_save(manifest, manifest_path);
            scarp_info("== prepare: layer stack, samples, splits, patches, sequences");
            scarp_prepare_report rep;
            if (!st) st = scarp_prepare(cfg, out_dir, opts->progress, NULL, &rep);
            stage_set(manifest, "prepare", prep_key);
            if (!st) st = manifest_save(manifest, manifest_path);
        }
        if ((st = scarp_mpi_agree(st))) goto end;
        res->prepared = 1;
    } else {
        scarp_info("== prepare: unchanged, reusing %s/dataset.bin", out_dir);
    }
    res->seconds[0] = scarp_now() - t0;

    /* 2. train, model by model */
    t0 = scarp_now();
    res->n_models = cfg->n_models;
    for (int i = 0; i < cfg->n_models; i++) {
        const char *m = cfg->models[i];
        snprintf(res->models[i], sizeof res->models[i], "%s", m);
        char stage[64];
        snprintf(stage, sizeof stage, "train.%s", m);
        if ((st = scarp_run_stage_key_model(cfg, prep_key, m, keys[i]))) goto end;
        if (scarp_mpi_bcast_int(!opts->force && !strcmp(stage_key(manifest, stage), keys[i]) &&
                                model_exists(out_dir, m))) {
            scarp_info("== train %s: unchanged, reusing its model", m);
            continue;
        }
        stage_clear(manifest, stage);
        if ((st = scarp_mpi_agree(rank ? SCARP_OK : manifest_save(manifest, manifest_path)))) goto end;
        scarp_info("== train %s", m);
        if ((st = scarp_train_run(cfg, out_dir, m, opts->progress))) goto end; /* shared by the ranks */
        stage_set(manifest, stage, keys[i]);
        if ((st = scarp_mpi_agree(rank ? SCARP_OK : manifest_save(manifest, manifest_path)))) goto end;
        res->trained[i] = 1;
    }
    res->seconds[1] = scarp_now() - t0;

    /* 3. map with [map] model */
    t0 = scarp_now();
    {
        int mi = -1;
        char mname[64];
        snprintf(mname, sizeof mname, "%s", cfg->map_model);
        if (!strcmp(mname, "best") && (st = scarp_best_model(out_dir, mname, sizeof mname))) goto end;
        /* (best.json: written by rank 0 before the train stage's last agreement) */
        for (int i = 0; i < cfg->n_models; i++)
            if (!strcmp(cfg->models[i], mname)) mi = i;
        if (mi < 0) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: [map] model = %s is not among [model] models", cfg->config_path,
                            mname);
            goto end;
        }
        scarp_hash *h;
        if ((st = scarp_hash_begin(&h))) goto end;
        scarp_hash_update_str(h, keys[mi]);
        HASH_STR(h, cfg, map_model);
        scarp_hash_update_str(h, mname);
        HASH_FIELD(h, cfg, map_classes);
        HASH_STR(h, cfg, map_breaks);
        HASH_FIELD(h, cfg, map_thresholds);
        HASH_FIELD(h, cfg, map_n_thresholds);
        HASH_STR(h, cfg, map_date);
        scarp_hash_end(h, map_key);
        const char *map_products[] = {"map/susceptibility.tif", "map/classes.tif", NULL};
        if (scarp_mpi_bcast_int(opts->force || strcmp(stage_key(manifest, "map"), map_key) ||
                                !products_exist(out_dir, map_products))) {
            stage_clear(manifest, "map");
            if ((st = scarp_mpi_agree(rank ? SCARP_OK : manifest_save(manifest, manifest_path)))) goto end;
            scarp_info("== map %s%s", mname, strcmp(cfg->map_model, "best") ? "" : " (best by validation)");
            /* shared by the ranks; rank 0 assembles */
            if ((st = scarp_mpi_agree(scarp_map_run(cfg, out_dir, mname, opts->progress)))) goto end;
            stage_set(manifest, "map", map_key);
            if ((st = scarp_mpi_agree(rank ? SCARP_OK : manifest_save(manifest, manifest_path)))) goto end;
            res->mapped = 1;
        } else {
            scarp_info("== map: unchanged, reusing %s/map", out_dir);
        }
    }
    res->seconds[2] = scarp_now() - t0;

    /* 4. evaluate + report (after the map, so the report holds its figures) */
    t0 = scarp_now();
    {
        scarp_hash *h;
        if ((st = scarp_hash_begin(&h))) goto end;
        for (int i = 0; i < cfg->n_models; i++) scarp_hash_update_str(h, keys[i]);
        scarp_hash_update_str(h, map_key);
        scarp_hash_end(h, eval_key);
        const char *eval_products[] = {"metrics.json", "report.html", NULL};
        if (scarp_mpi_bcast_int(opts->force || strcmp(stage_key(manifest, "evaluate"), eval_key) ||
                                !products_exist(out_dir, eval_products))) {
            if (rank == 0) { /* one process: the evaluation is not shared */
                stage_clear(manifest, "evaluate");
                st = manifest_save(manifest, manifest_path);
                scarp_info("== evaluate: test-split metrics, importance, report");
                if (!st) st = scarp_evaluate_run(cfg, out_dir, opts->progress);
                stage_set(manifest, "evaluate", eval_key);
                if (!st) st = manifest_save(manifest, manifest_path);
            }
            if ((st = scarp_mpi_agree(st))) goto end;
            res->evaluated = 1;
        } else {
            scarp_info("== evaluate: unchanged, reusing %s/metrics.json", out_dir);
        }
    }
    res->seconds[3] = scarp_now() - t0;
    scarp_path_join(res->report_path, sizeof res->report_path, out_dir, "report.html");
end:
    cJSON_Delete(manifest);
    return st;
}

scarp_status scarp_run(const scarp_config *cfg, const char *out_dir, const scarp_run_options *opts,
                       scarp_run_result *res)
{
    scarp_run_options defaults = {0};
    if (!opts) opts = &defaults;
    memset(res, 0, sizeof *res);
    int rank, size;
    scarp_mpi_start(&rank, &size); /* the train and map stages join it */
    scarp_status st = run_stages(cfg, out_dir, opts, res, rank);
    scarp_mpi_finish();
    return st;
}
