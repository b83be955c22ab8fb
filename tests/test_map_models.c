/* test_map_models.c — every model kind through the real map engine, on a small synthetic
 * province (scarp synth 256 × 192 cells, ~8 × 6 temporal cells of 1 km, rainfall and
 * reservoir series) prepared by scarp_prepare:
 *  - lstm-only, mlp, cnn_lstm (random weights) and forest / logreg baselines (trained on
 *    the prepared tabular rows through scarp/classic.h): susceptibility.tif at random
 *    cells, grid edges, tile borders and temporal-cell borders equals the model's
 *    per-sample prediction on inputs built exactly as `scarp prepare` builds them
 *    (scarp_patches_read → scarp_norm_apply_window; scarp_temporal_sequence at the cell
 *    centre and the map date → scarp_norm_apply_sequence; scarp_norm_tabular);
 *  - the prepared samples themselves (dataset.bin rows) whose event date is the map date
 *    give the map's value at their cell;
 *  - `[map] date = auto` maps at the end of the wettest 30-day window
 *    (scarp_temporal_wettest_window_end), named in summary.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "data/samples.h"
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/config.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/map.h"
#include "scarp/nn.h"
#include "scarp/raster.h"
#include "scarp/rng.h"
#include "scarp/stack.h"
#include "scarp/synth.h"
#include "test_tolerance.h"

#define SW 256
#define SH 192
#define P 22

static char dir[256];
static scarp_config cfg;
static scarp_dataset ds;
static scarp_stack stack;
static scarp_temporal *tmp;
static int ready = 0;
static int GW, GH;
static int32_t date_common; /* the event date shared by the most prepared samples */
static int32_t date_other;  /* half a year away, its window inside the record */

/* ---- fixture ---- */

static scarp_status save_nn(const char *name, scarp_model_kind kind, uint64_t seed, const void *blob, size_t bytes)
{
    scarp_model_spec spec;
    scarp_model_spec_default(&spec, kind);
    spec.C = ds.C, spec.H = spec.W = ds.H, spec.N = ds.N, spec.T = ds.T, spec.F = ds.F;
    scarp_model m;
    scarp_status st = scarp_model_init(&m, &spec, seed);
    if (st) return st;
    /* non-zero biases and batch-norm statistics, and a larger LSTM input kernel so that
     * neighbouring temporal cells (whose rainfall differs by a few per cent) give clearly
     * different probabilities: a cell mapped with its neighbour's sequence shows */
    scarp_rng r;
    scarp_rng_seed(&r, seed + 1);
    if (m.spec.kind == SCARP_MODEL_CNN_LSTM || m.spec.kind == SCARP_MODEL_CNN)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < m.spec.filters[k]; j++) {
                m.p.conv_b[k][j] = (float)(0.1 * scarp_rng_normal(&r));
                m.p.bn_gamma[k][j] = (float)(0.5 + scarp_rng_uniform(&r));
                m.p.bn_beta[k][j] = (float)(0.2 * scarp_rng_normal(&r));
                m.bn_mean[k][j] = (float)(0.2 * scarp_rng_normal(&r));
                m.bn_var[k][j] = (float)(0.5 + scarp_rng_uniform(&r));
            }
    if (m.spec.kind == SCARP_MODEL_CNN_LSTM || m.spec.kind == SCARP_MODEL_LSTM) {
        size_t nwx = (size_t)m.spec.T * 4 * m.spec.lstm_units[0];
        for (size_t i = 0; i < nwx; i++) m.p.lstm_wx[0][i] *= 6.0f;
    }
    if (m.spec.kind == SCARP_MODEL_LSTM) /* the LSTM-only logit spans a range worth checking */
        for (int j = 0; j < m.spec.dense[1]; j++) m.p.dense_w[2][j] *= 20.0f;
    for (int j = 0; j < m.spec.dense[0]; j++) m.p.dense_b[0][j] = (float)(0.1 * scarp_rng_normal(&r));
    char path[SCARP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/models/%s.model", cfg.out, name);
    st = scarp_model_save(path, &m, blob, bytes);
    scarp_model_free(&m);
    return st;
}

static scarp_status save_classic(const char *name, scarp_classic_kind kind, const void *blob, size_t bytes)
{
    float *X = scarp_malloc(sizeof(float) * (size_t)ds.n * ds.F);
    uint8_t *y = scarp_malloc((size_t)ds.n);
    if (!X || !y) return SCARP_ERR_NOMEM;
    size_t n = 0;
    for (int64_t i = 0; i < ds.n; i++)
        if (ds.split[i] == SCARP_SPLIT_TRAIN) {
            memcpy(X + n * ds.F, ds.tab + (size_t)i * ds.F, sizeof(float) * ds.F);
            y[n++] = ds.label[i];
        }
    scarp_classic_params p;
    memset(&p, 0, sizeof p);
    p.seed = 11, p.n_trees = 60, p.logreg_c = 1.0;
    scarp_classic m;
    memset(&m, 0, sizeof m);
    scarp_status st = scarp_classic_train(&m, kind, &p, X, y, n, ds.F, NULL, NULL, 0, NULL);
    char path[SCARP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/models/%s.model", cfg.out, name);
    if (!st) st = scarp_classic_save(&m, path, blob, bytes);
    scarp_classic_free(&m);
    scarp_free(X), scarp_free(y);
    return st;
}

static scarp_status make_fixture(void)
{
    scarp_synth_params sp;
    scarp_status st = scarp_synth_preset(&sp, "mini");
    if (st) return st;
    sp.width = SW, sp.height = SH, sp.n_events = 40;
    char area[512], ini[600];
    snprintf(area, sizeof area, "%s/area", dir);
    if ((st = scarp_synth_run(&sp, area, NULL))) return st;
    snprintf(ini, sizeof ini, "%s/study.ini", area);
    /* a province this small may have no road at all (synth places roads between towns):
     * the test needs a stack and series, not roads, so the roads layer is left out */
    char *text = NULL;
    size_t len = 0;
    if ((st = scarp_read_file(ini, &text, &len))) return st;
    char *cut = strstr(text, "[distance.roads]");
    if (cut) {
        char *next = strstr(cut + 1, "\n[");
        if (next)
            memmove(cut, next + 1, strlen(next + 1) + 1);
        else
            *cut = '\0';
    }
    st = scarp_write_file_atomic(ini, text, strlen(text));
    scarp_free(text);
    if (st) return st;
    scarp_config_defaults(&cfg);
    if ((st = scarp_config_load(&cfg, ini))) return st;
    scarp_prepare_report rep;
    if ((st = scarp_prepare(&cfg, cfg.out, NULL, &ds, &rep))) return st;
    if ((st = scarp_stack_open(&stack, cfg.out))) return st;
    if ((st = scarp_temporal_load(&tmp, &cfg, &stack.grid))) return st;
    if (!tmp || ds.T == 0) return scarp_fail(SCARP_ERR_INTERNAL, "%s: the synthetic study has no series", ini);
    GW = (int)stack.grid.width, GH = (int)stack.grid.height;
    void *blob;
    size_t bytes;
    if ((st = scarp_norm_serialize(&ds.norm, &blob, &bytes))) return st;
    char models[SCARP_PATH_MAX + 16];
    snprintf(models, sizeof models, "%s/models", cfg.out);
    if (!(st = scarp_mkdir_p(models)) && !(st = save_nn("lstm", SCARP_MODEL_LSTM, 21, blob, bytes)) &&
        !(st = save_nn("mlp", SCARP_MODEL_MLP, 22, blob, bytes)) &&
        !(st = save_nn("cnn_lstm", SCARP_MODEL_CNN_LSTM, 23, blob, bytes)) &&
        !(st = save_classic("forest", SCARP_CLASSIC_FOREST, blob, bytes)))
        st = save_classic("logreg", SCARP_CLASSIC_LOGREG, blob, bytes);
    /* two cnn_lstm fold members, the second with another normalisation (wider ranges of
     * the channels and the series, as another fold's training rows would give) */
    if (!st) st = save_nn("cl.r0.f0", SCARP_MODEL_CNN_LSTM, 31, blob, bytes);
    scarp_free(blob);
    if (!st) {
        scarp_norm n2;
        scarp_norm_init(&n2);
        if (!(st = scarp_norm_copy(&n2, &ds.norm))) {
            for (int c = 0; c < n2.C; c++) n2.channels[c].max += 0.2f * (n2.channels[c].max - n2.channels[c].min);
            for (int t = 0; t < n2.T; t++) n2.seq_max[t] += 0.3f * (n2.seq_max[t] - n2.seq_min[t]);
            if (!(st = scarp_norm_serialize(&n2, &blob, &bytes))) {
                st = save_nn("cl.r0.f1", SCARP_MODEL_CNN_LSTM, 32, blob, bytes);
                scarp_free(blob);
            }
        }
        scarp_norm_free(&n2);
    }
    if (st) return st;
    /* the date most samples share (negatives take the positives' dates) */
    int best = 0;
    for (int64_t i = 0; i < ds.n; i++) {
        int k = 0;
        for (int64_t j = 0; j < ds.n; j++) k += ds.date[j] == ds.date[i];
        if (k > best) best = k, date_common = ds.date[i];
    }
    int32_t first, last;
    scarp_temporal_range(tmp, &first, &last);
    date_other = date_common - 180 - ds.N >= first ? date_common - 180 : date_common + 180;
    if (date_other > last + 1) return scarp_fail(SCARP_ERR_INTERNAL, "%s: the series are too short", ini);
    return SCARP_OK;
}

/* ---- the independent per-sample reference ---- */

typedef struct {
    int is_classic;
    scarp_model nn;
    scarp_classic cls;
} ref_model;

static int ref_load(ref_model *m, const char *name)
{
    char path[SCARP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/models/%s.model", cfg.out, name);
    memset(m, 0, sizeof *m);
    m->is_classic = scarp_classic_file_is(path);
    scarp_status st = m->is_classic ? scarp_classic_load(&m->cls, path, NULL, NULL)
                                    : scarp_model_load(path, &m->nn, NULL, NULL);
    CHECK_OK(st);
    return st == SCARP_OK;
}

static void ref_free(ref_model *m)
{
    if (m->is_classic)
        scarp_classic_free(&m->cls);
    else
        scarp_model_free(&m->nn);
}

static void ref_predict(ref_model *m, const float *patches, const float *seq, const float *tab, int64_t n, float *prob)
{
    if (m->is_classic)
        CHECK_OK(scarp_classic_predict(&m->cls, tab, (size_t)n, prob));
    else
        CHECK_OK(scarp_model_predict(&m->nn, patches, seq, tab, n, prob));
}

/* Inputs of n cells at map date `date`, built as scarp prepare builds a sample's. */
static void ref_inputs(const int64_t *cols, const int64_t *rows, int n, int32_t date, float *patches, float *seq,
                       float *tab, uint8_t *valid)
{
    const int L = stack.n_layers, C = ds.norm.C, N = ds.norm.N, T = ds.norm.T, F = ds.F;
    float *raw = scarp_malloc(sizeof(float) * (size_t)n * L * P * P), *rs = scarp_malloc(sizeof(float) * N * T);
    CHECK_OK(scarp_patches_read(&stack, cols, rows, n, P, raw));
    scarp_stack_reader *rd;
    CHECK_OK(scarp_stack_reader_open(&rd, &stack));
    for (int i = 0; i < n; i++) {
        float one[64];
        CHECK_OK(scarp_stack_read(rd, cols[i], rows[i], 1, 1, one, &valid[i]));
        float *pt = patches + (size_t)i * C * P * P;
        scarp_norm_apply_window(&ds.norm, raw + (size_t)i * L * P * P, P, P, pt);
        CHECK_OK(scarp_temporal_sequence(tmp, scarp_grid_x(&stack.grid, (double)cols[i]),
                                         scarp_grid_y(&stack.grid, (double)rows[i]), date, rs));
        scarp_norm_apply_sequence(&ds.norm, rs, seq + (size_t)i * N * T);
        scarp_norm_tabular(&ds.norm, pt, rs, tab + (size_t)i * F);
    }
    scarp_stack_reader_close(rd);
    scarp_free(raw), scarp_free(rs);
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

static cJSON *read_summary(void)
{
    char path[SCARP_PATH_MAX + 64], *text = NULL;
    snprintf(path, sizeof path, "%s/map/summary.json", cfg.out);
    CHECK_OK(scarp_read_file(path, &text, NULL));
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    scarp_free(text);
    CHECK(j != NULL);
    return j;
}

enum { NCELLS = 160 };

/* Cells to check: the corners and edges, tile borders (tile tw × th), both sides of the
 * temporal-cell borders (1000 m / 30 m ≈ every 33⅓ cells), then random cells. */
static int pick_cells(int tw, int th, int64_t *cols, int64_t *rows)
{
    int n = 0;
    const int fixed[][2] = {{0, 0},           {GW - 1, 0},      {0, GH - 1},      {GW - 1, GH - 1}, {GW / 2, 0},
                            {GW / 2, GH - 1}, {0, GH / 2},      {GW - 1, GH / 2}, {tw - 1, th - 1}, {tw, th},
                            {tw - 1, th},     {tw, th - 1},     {2 * tw, 2 * th}, {32, 40},         {33, 40},
                            {66, 40},         {67, 40},         {100, 33},        {100, 34},        {100, 66},
                            {100, 67},        {33, 33},         {34, 34},         {133, 100},       {134, 100}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i][0] < GW && fixed[i][1] < GH) cols[n] = fixed[i][0], rows[n] = fixed[i][1], n++;
    scarp_rng r;
    scarp_rng_seed(&r, 77);
    while (n < NCELLS) cols[n] = (int64_t)scarp_rng_below(&r, GW), rows[n] = (int64_t)scarp_rng_below(&r, GH), n++;
    return n;
}

/* Maps `name` at `date` (yyyy-mm-dd or "auto") with tw × th tiles; checks the map against
 * the per-sample reference at the picked cells (inputs at ref_date) and at the prepared
 * samples dated `sample_date` (SCARP_NO_DATE: none). With other_date, also checks that
 * the temporal input matters: the reference at that date is far from the map at most
 * cells. Returns the map (caller frees) or NULL. */
static float *check_model(const char *name, const char *date, int tw, int th, int32_t ref_date, double tol,
                          int32_t sample_date, int32_t other_date)
{
    snprintf(cfg.map_date, sizeof cfg.map_date, "%s", date);
    scarp_map_options o = {0};
    o.model_name = name;
    o.tile = tw, o.tile_h = th, o.no_figures = 1;
    scarp_map_report rep;
    scarp_status st = scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep);
    CHECK_OK(st);
    if (st) return NULL;
    float *map = read_map("susceptibility.tif");
    ref_model m;
    if (!map || !ref_load(&m, name)) return map;
    if (!m.is_classic) tol = tol_probability(&m.nn.spec); /* networks: from the computation */
    const int C = ds.norm.C, N = ds.norm.N, T = ds.norm.T, F = ds.F;
    int64_t cols[NCELLS], rows[NCELLS];
    int n = pick_cells(tw, th, cols, rows);
    float *patches = scarp_malloc(sizeof(float) * (size_t)n * C * P * P);
    float *seq = scarp_malloc(sizeof(float) * (size_t)n * N * T), *tab = scarp_malloc(sizeof(float) * (size_t)n * F);
    float prob[NCELLS];
    uint8_t valid[NCELLS];
    ref_inputs(cols, rows, n, ref_date, patches, seq, tab, valid);
    ref_predict(&m, patches, seq, tab, n, prob);
    double maxerr = 0;
    int nv = 0, ni = 0;
    for (int i = 0; i < n; i++) {
        float v = map[rows[i] * GW + cols[i]];
        if (!valid[i]) {
            ni++;
            CHECK_MSG(isnan(v), "%s: cell (%lld, %lld) is nodata but mapped as %g", name, (long long)cols[i],
                      (long long)rows[i], v);
            continue;
        }
        nv++;
        CHECK_MSG(fabs(v - prob[i]) <= tol, "%s: cell (%lld, %lld): map %.9g, per-sample model %.9g", name,
                  (long long)cols[i], (long long)rows[i], v, prob[i]);
        if (fabs(v - prob[i]) > maxerr) maxerr = fabs(v - prob[i]);
    }
    CHECK(nv > n * 3 / 4);
    int apart = 0;
    if (other_date != SCARP_NO_DATE) {
        float prob_other[NCELLS];
        ref_inputs(cols, rows, n, other_date, patches, seq, tab, valid);
        ref_predict(&m, patches, seq, tab, n, prob_other);
        for (int i = 0; i < n; i++) apart += valid[i] && fabs(prob_other[i] - map[rows[i] * GW + cols[i]]) > 1e-4;
        CHECK_MSG(apart >= nv * 9 / 10, "%s: only %d of %d cells depend on the date", name, apart, nv);
    }
    /* the prepared samples whose event date is the map date */
    int ns = 0;
    double maxs = 0;
    if (sample_date != SCARP_NO_DATE)
        for (int64_t i = 0; i < ds.n; i++) {
            if (ds.date[i] != sample_date) continue;
            float p;
            ref_predict(&m, ds.patches + (size_t)i * C * P * P, ds.seq + (size_t)i * N * T, ds.tab + (size_t)i * F, 1,
                        &p);
            float v = map[ds.row[i] * GW + ds.col[i]];
            CHECK_MSG(fabs(v - p) <= tol, "%s: sample %lld at (%lld, %lld): map %.9g, model on dataset.bin row %.9g",
                      name, (long long)i, (long long)ds.col[i], (long long)ds.row[i], v, p);
            if (fabs(v - p) > maxs) maxs = fabs(v - p);
            ns++;
        }
    if (sample_date != SCARP_NO_DATE) CHECK(ns >= 2);
    /* the map is not constant: the check above could not pass by accident */
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < GW * GH; i++)
        if (!isnan(map[i])) lo = fmin(lo, map[i]), hi = fmax(hi, map[i]);
    CHECK_MSG(hi - lo > 1e-3, "%s: map range [%g, %g]", name, lo, hi);
    fprintf(stderr, "  %-8s date %s (%s): max |map − model| %.3g over %d cells (%d nodata), %.3g over %d prepared "
            "samples; range [%.4f, %.4f]; %d cells move by > 1e-4 at another date; %.0f cells/s\n",
            name, rep.date, date, maxerr, nv, ni, maxs, ns, lo, hi, apart, rep.cells_per_second);
    ref_free(&m);
    scarp_free(patches), scarp_free(seq), scarp_free(tab);
    return map;
}

static void date_text(int32_t d, char out[16]) { scarp_date_format(d, out); }

/* ---- tests ---- */

static void test_lstm_map(void)
{
    if (!ready) SKIP("no fixture");
    char d[16];
    date_text(date_common, d);
    float *map = check_model("lstm", d, 64, 48, date_common, 1e-5, date_common, date_other);
    if (!map) return;
    /* the LSTM-only map is constant over each temporal cell (to the float rounding of
     * GEMMs whose row count differs between tiles) and differs between neighbouring cells
     * by far more than the tolerance, so a cell mapped with a neighbour's sequence shows */
    enum { MT = 32 };
    double first[MT][MT], spread = 0;
    int seen[MT][MT];
    memset(seen, 0, sizeof seen);
    for (int r = 0; r < GH; r++)
        for (int c = 0; c < GW; c++) {
            float v = map[r * GW + c];
            int64_t tc, tr;
            if (isnan(v)) continue;
            scarp_temporal_cell_of(tmp, scarp_grid_x(&stack.grid, c), scarp_grid_y(&stack.grid, r), &tc, &tr);
            CHECK(tc >= 0 && tr >= 0 && tc < MT && tr < MT);
            if (tc < 0 || tr < 0 || tc >= MT || tr >= MT) continue;
            if (!seen[tr][tc]) seen[tr][tc] = 1, first[tr][tc] = v;
            spread = fmax(spread, fabs(v - first[tr][tc]));
        }
    CHECK_NEAR(spread, 0, 1e-6);
    int cells_t = 0, pairs = 0, pairs_apart = 0;
    double min_gap = INFINITY;
    for (int tr = 0; tr < MT; tr++)
        for (int tc = 0; tc < MT; tc++) {
            if (!seen[tr][tc]) continue;
            cells_t++;
            const int nb[2][2] = {{tr, tc + 1}, {tr + 1, tc}};
            for (int k = 0; k < 2; k++) {
                if (nb[k][0] >= MT || nb[k][1] >= MT || !seen[nb[k][0]][nb[k][1]]) continue;
                double gap = fabs(first[tr][tc] - first[nb[k][0]][nb[k][1]]);
                pairs++;
                pairs_apart += gap > 1e-4;
                min_gap = fmin(min_gap, gap);
            }
        }
    CHECK(cells_t >= 30);
    CHECK_MSG(pairs_apart >= pairs * 9 / 10, "%d of %d neighbouring temporal cells differ by > 1e-4", pairs_apart, pairs);
    fprintf(stderr, "  lstm map: %d temporal cells, spread inside a cell %.3g, %d of %d neighbour pairs differ by > 1e-4 "
            "(smallest gap %.3g)\n", cells_t, spread, pairs_apart, pairs, min_gap);
    scarp_free(map);
}

static void test_mlp_map(void)
{
    if (!ready) SKIP("no fixture");
    char d[16];
    date_text(date_common, d);
    scarp_free(check_model("mlp", d, 50, 70, date_common, 1e-5, date_common, date_other));
}

static void test_baseline_maps(void)
{
    if (!ready) SKIP("no fixture");
    char d[16];
    date_text(date_common, d);
    /* trees compare features with thresholds: the rows must be the same floats */
    scarp_free(check_model("forest", d, 64, 64, date_common, 0, date_common, SCARP_NO_DATE));
    scarp_free(check_model("logreg", d, 64, 64, date_common, 1e-6, date_common, date_other));
}

static void test_cnn_lstm_map(void)
{
    if (!ready) SKIP("no fixture");
    char d[16];
    date_text(date_common, d);
    scarp_free(check_model("cnn_lstm", d, 37, 29, date_common, 1e-5, date_common, date_other));
}

static void test_date_auto(void)
{
    if (!ready) SKIP("no fixture");
    int32_t wet = scarp_temporal_wettest_window_end(tmp);
    CHECK(wet != SCARP_NO_DATE);
    char expect[16], other[16];
    date_text(wet, expect);
    date_text(date_other, other);
    float *map_auto = check_model("mlp", "auto", 64, 48, wet, 1e-5, SCARP_NO_DATE, SCARP_NO_DATE);
    cJSON *j = read_summary();
    const cJSON *date = j ? cJSON_GetObjectItem(j, "date") : NULL, *rule = j ? cJSON_GetObjectItem(j, "date_rule") : NULL;
    CHECK(cJSON_IsString(date) && !strcmp(date->valuestring, expect));
    CHECK(cJSON_IsString(rule) && strstr(rule->valuestring, "wettest") != NULL);
    fprintf(stderr, "  date = auto → %s (%s)\n", cJSON_IsString(date) ? date->valuestring : "?",
            cJSON_IsString(rule) ? rule->valuestring : "?");
    cJSON_Delete(j);
    /* an explicit date: mapped at that date and named as such */
    float *map_other = check_model("mlp", other, 64, 64, date_other, 1e-5, SCARP_NO_DATE, wet);
    j = read_summary();
    date = j ? cJSON_GetObjectItem(j, "date") : NULL;
    rule = j ? cJSON_GetObjectItem(j, "date_rule") : NULL;
    CHECK(cJSON_IsString(date) && !strcmp(date->valuestring, other));
    CHECK(cJSON_IsString(rule) && !strcmp(rule->valuestring, "[map] date"));
    cJSON_Delete(j);
    if (map_auto && map_other) {
        int64_t moved = 0, nv = 0;
        for (int i = 0; i < GW * GH; i++)
            if (!isnan(map_auto[i])) nv++, moved += fabs(map_auto[i] - map_other[i]) > 1e-4;
        CHECK_MSG(moved > nv / 2, "%lld of %lld cells differ between %s and %s", (long long)moved, (long long)nv, expect,
                  other);
    }
    scarp_free(map_auto), scarp_free(map_other);
    /* a malformed date, and a date whose window leaves the record: one clear error */
    scarp_map_options o = {0};
    o.model_name = "lstm", o.no_figures = 1;
    snprintf(cfg.map_date, sizeof cfg.map_date, "2018-13-45");
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "2018-13-45") != NULL);
    snprintf(cfg.map_date, sizeof cfg.map_date, "1990-01-01");
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL), SCARP_ERR_INPUT);
    fprintf(stderr, "  date outside the record: %s\n", scarp_last_error());
    snprintf(cfg.map_date, sizeof cfg.map_date, "auto");
}

static float *read_path(const char *path)
{
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(path, 1, &g, &d));
    scarp_grid_free(&g);
    return d;
}

/* Three consecutive dates ending at date_common (their windows inside the record). */
static void three_dates(int32_t d[3], char range[48])
{
    char a[16], b[16];
    for (int i = 0; i < 3; i++) d[i] = date_common - 2 + i;
    scarp_date_format(d[0], a);
    scarp_date_format(d[2], b);
    snprintf(range, 48, "%s..%s/1", a, b);
}

/* Issue 15: a map for 3 dates equals 3 single-date maps cell for cell (within the float32
 * regrouping of the settled head's second layer, test_tolerance.h tol_head_regroup), and the CNN branch
 * runs once per tile for all the dates (scarp_map_report.cnn_passes counts the dense
 * passes; lstm_sequences the temporal-branch runs, which do scale with the dates). */
static void test_dated_maps(void)
{
    if (!ready) SKIP("no fixture");
    int32_t d[3];
    char range[48], path[SCARP_PATH_MAX + 96], ds3[3][16];
    three_dates(d, range);
    for (int i = 0; i < 3; i++) scarp_date_format(d[i], ds3[i]);
    scarp_map_options o = {0};
    o.model_name = "cnn_lstm";
    o.tile = 64, o.tile_h = 48;
    o.dates = range;
    scarp_map_report rep3, rep1;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep3));
    CHECK_EQ_INT(rep3.n_dates, 3);
    scarp_tiling t;
    scarp_tiling_init(&t, GW, GH, 64, 48);
    CHECK_MSG(rep3.cnn_passes >= 1 && rep3.cnn_passes <= t.n, "3 dates: %lld CNN passes for %lld tiles",
              (long long)rep3.cnn_passes, (long long)t.n);
    float *dated[3] = {0};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/map/dates/susceptibility_%s.tif", cfg.out, ds3[i]);
        dated[i] = read_path(path);
        snprintf(path, sizeof path, "%s/map/dates/classes_%s.tif", cfg.out, ds3[i]);
        CHECK_MSG(scarp_file_exists(path), "no %s", path);
    }
    const char *files[] = {"strip.png", "top_class_share.csv", "top_class_share.png", "summary.json", "figures.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/map/dates/%s", cfg.out, files[i]);
        CHECK_MSG(scarp_file_exists(path), "no %s", path);
    }
    /* the CSV's top-class share of the last date = the share of class 3 in its class map */
    snprintf(path, sizeof path, "%s/map/dates/classes_%s.tif", cfg.out, ds3[2]);
    float *cls = read_path(path);
    char *csv = NULL;
    snprintf(path, sizeof path, "%s/map/dates/top_class_share.csv", cfg.out);
    CHECK_OK(scarp_read_file(path, &csv, NULL));
    if (cls && csv) {
        int64_t top = 0, nv = 0;
        for (int i = 0; i < GW * GH; i++)
            if (!isnan(cls[i])) nv++, top += cls[i] == 3.0f;
        char want[32];
        snprintf(want, sizeof want, "%s,", ds3[2]);
        const char *line = strstr(csv, want);
        CHECK(line != NULL);
        double share = line ? atof(line + strlen(want)) : -1;
        CHECK_NEAR(share, (double)top / (double)nv, 1e-6); /* the CSV prints 6 decimals */
    }
    scarp_free(cls), scarp_free(csv);
    /* each date alone */
    int64_t moved = 0, nv = 0, same = 0, compared = 0;
    double maxdiff = 0;
    scarp_model_spec spec;
    scarp_model_spec_default(&spec, SCARP_MODEL_CNN_LSTM);
    const double tol = tol_head_regroup(&spec);
    for (int i = 0; i < 3; i++) {
        scarp_map_options o1 = o;
        o1.dates = ds3[i], o1.no_figures = 1;
        CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o1, NULL, &rep1));
        CHECK_EQ_INT(rep1.n_dates, 0);
        CHECK(!strcmp(rep1.date, ds3[i]));
        float *one = read_map("susceptibility.tif");
        if (!one || !dated[i]) {
            scarp_free(one);
            continue;
        }
        /* the CNN features, W1c·feat and G_d are shared bit for bit; the second layer is
         * regrouped (sign-settled units folded), so equal within tol_head_regroup, and
         * nodata on exactly the same cells */
        int64_t diff = 0, nanmiss = 0;
        for (int k = 0; k < GW * GH; k++) {
            if (isnan(one[k]) || isnan(dated[i][k])) {
                nanmiss += isnan(one[k]) != isnan(dated[i][k]);
                continue;
            }
            double e = fabs((double)one[k] - dated[i][k]);
            maxdiff = fmax(maxdiff, e);
            diff += e > tol;
            same += one[k] == dated[i][k];
            compared++;
        }
        CHECK_EQ_INT(nanmiss, 0);
        CHECK_MSG(diff == 0, "date %s: %lld cells differ by more than %.3g between the 3-date run and the single-date map",
                  ds3[i], (long long)diff, tol);
        scarp_free(one);
        CHECK_EQ_INT(rep1.cnn_passes, rep3.cnn_passes);
        CHECK_EQ_INT(3 * rep1.lstm_sequences, rep3.lstm_sequences);
    }
    if (dated[0] && dated[2])
        for (int k = 0; k < GW * GH; k++)
            if (!isnan(dated[0][k])) nv++, moved += fabs(dated[0][k] - dated[2][k]) > 1e-6;
    CHECK_MSG(moved > nv / 2, "only %lld of %lld cells change between %s and %s", (long long)moved, (long long)nv,
              ds3[0], ds3[2]);
    fprintf(stderr, "  dated maps %s: max |dated − single-date| %.3g (tolerance %.3g), %lld of %lld cells equal bit for "
                    "bit; CNN passes %lld (tiles %lld) for 3 dates and "
                    "for 1; LSTM runs %lld for 3 dates, %lld for 1; %lld of %lld cells move between the first and last date\n",
            range, maxdiff, tol, (long long)same, (long long)compared, (long long)rep3.cnn_passes, (long long)t.n, (long long)rep3.lstm_sequences,
            (long long)rep1.lstm_sequences, (long long)moved, (long long)nv);
    for (int i = 0; i < 3; i++) scarp_free(dated[i]);
    /* a malformed range and a range leaving the record: one clear error each */
    o.dates = "2019-03-05..2019-03-01";
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "before the first") != NULL);
    o.dates = "1990-01-01..1990-01-03";
    CHECK_FAILS(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "leaves the series record") != NULL);
}

/* Ensembles and dates compose: the fold members cl.r0.f0 and cl.r0.f1 (different
 * normalisations) over 3 dates give, per date, the mean and sd of the members' own dated
 * maps; the CNN branch runs once per tile and member. */
static void test_dated_ensemble(void)
{
    if (!ready) SKIP("no fixture");
    int32_t d[3];
    char range[48], path[SCARP_PATH_MAX + 96], dstr[16];
    three_dates(d, range);
    scarp_date_format(d[1], dstr);
    scarp_map_options o = {0};
    o.model_name = "cl";
    o.tile = 64, o.tile_h = 64, o.dates = range, o.no_figures = 1;
    scarp_map_report rep, rep1;
    CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o, NULL, &rep));
    CHECK_EQ_INT(rep.ensemble, 2);
    CHECK_EQ_INT(rep.n_dates, 3);
    snprintf(path, sizeof path, "%s/map/dates/susceptibility_%s.tif", cfg.out, dstr);
    float *mean = read_path(path);
    snprintf(path, sizeof path, "%s/map/dates/uncertainty_sd_%s.tif", cfg.out, dstr);
    float *sd = read_path(path);
    float *mem[2] = {0};
    for (int f = 0; f < 2; f++) {
        char model[SCARP_PATH_MAX + 64];
        snprintf(model, sizeof model, "%s/models/cl.r0.f%d.model", cfg.out, f);
        scarp_map_options o1 = o;
        o1.model_name = model;
        CHECK_OK(scarp_map_run_ex(&cfg, cfg.out, &o1, NULL, &rep1));
        CHECK_EQ_INT(2 * rep1.cnn_passes, rep.cnn_passes);
        snprintf(path, sizeof path, "%s/map/dates/susceptibility_%s.tif", cfg.out, dstr);
        mem[f] = read_path(path);
    }
    /* one float32 rounding of a double mean / sd of values in [0, 1]: 2^-23 */
    const double tol = 0x1p-23;
    if (mean && sd && mem[0] && mem[1]) {
        double em = 0, es = 0, smax = 0;
        for (int k = 0; k < GW * GH; k++) {
            if (isnan(mem[0][k])) continue;
            double a = mem[0][k], b = mem[1][k], mu = 0.5 * (a + b), s = fabs(a - b) / sqrt(2.0);
            em = fmax(em, fabs(mean[k] - mu));
            es = fmax(es, fabs(sd[k] - s));
            smax = fmax(smax, s);
        }
        CHECK_MSG(em <= tol && es <= tol, "date %s: max |Δmean| %.3g, |Δsd| %.3g > %.3g", dstr, em, es, tol);
        CHECK_MSG(smax > 1e-3, "members agree everywhere (max sd %.3g)", smax);
        fprintf(stderr, "  dated ensemble (2 members, own norms) at %s: max |Δmean| %.3g, |Δsd| %.3g, max sd %.3f; "
                        "CNN passes %lld = 2 × %lld\n",
                dstr, em, es, smax, (long long)rep.cnn_passes, (long long)rep1.cnn_passes);
    }
    scarp_free(mean), scarp_free(sd), scarp_free(mem[0]), scarp_free(mem[1]);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/scarp_test_map_models_%d", (int)getpid());
    scarp_dataset_init(&ds);
    scarp_stack_init(&stack);
    scarp_status st = make_fixture();
    if (st) fprintf(stderr, "fixture failed: %s\n", scarp_last_error());
    CHECK_OK(st);
    ready = st == SCARP_OK;
    if (ready)
        fprintf(stderr, "  fixture: %d × %d cells, %lld samples, C = %d, N × T = %d × %d, F = %d, common date shared by "
                        "several samples\n",
                GW, GH, (long long)ds.n, ds.C, ds.N, ds.T, ds.F);
    RUN(test_lstm_map);
    RUN(test_mlp_map);
    RUN(test_baseline_maps);
    RUN(test_cnn_lstm_map);
    RUN(test_date_auto);
    RUN(test_dated_maps);
    RUN(test_dated_ensemble);
    scarp_temporal_free(tmp);
    scarp_stack_free(&stack);
    scarp_dataset_free(&ds);
    char cmd[600];
    snprintf(cmd, sizeof cmd, getenv("KEEP") ? "true %s" : "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
