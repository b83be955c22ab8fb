/* config.c — the study configuration: an INI file read with libinih (B. Hoyt), every key
 * of DESIGN.md with its default, strict value checks (errors name FILE:LINE and the key),
 * unknown sections and keys rejected with the nearest known name (Damerau–Levenshtein,
 * optimal string alignment distance), paths resolved relative to the config file. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/fsutil.h"

/* ---------------------------------------------------------------------------------- */
/* Edit distance for suggestions.                                                       */
/* ---------------------------------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein + adjacent transposition), case-folded. */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The closest of `n` candidates to `word`, or NULL when none is close enough. */
static const char *nearest(const char *word, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 1 << 30;
    for (int i = 0; i < n; i++) {
        int dd = edit_distance(word, cands[i]);
        if (dd < bestd) bestd = dd, best = cands[i];
    }
    int len = (int)strlen(word);
    int limit = len <= 4 ? 2 : (len + 2) / 3;
    if (limit < 2) limit = 2;
    return bestd <= limit ? best : NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Keys.                                                                               */
/* ---------------------------------------------------------------------------------- */

typedef enum { K_STR, K_PATH, K_PATHBAND, K_INT, K_DOUBLE, K_U64, K_ENUM, K_LIST, K_SPECIAL } key_type;

typedef struct {
    const char *section; /* "project", ..., "layer.*", "distance.*" */
    const char *key;
    key_type type;
    size_t off;          /* offset in scarp_config (or in scarp_layer_config for layer.*) */
    size_t size;         /* string capacity */
    double lo, hi;       /* numeric bounds (inclusive) */
    const char *choices; /* K_ENUM / K_LIST: space-separated allowed words */
    size_t off2;         /* K_PATHBAND: offset of the band int */
} key_def;

#define F(field) offsetof(scarp_config, field), sizeof(((scarp_config *)0)->field)
#define LF(field) offsetof(scarp_layer_config, field), sizeof(((scarp_layer_config *)0)->field)

static const char MODEL_NAMES[] = "cnn_lstm cnn lstm mlp svm tree forest logreg boost";

static const key_def KEYS[] = {
    {"project", "out", K_PATH, F(out), 0, 0, NULL, 0},
    {"project", "seed", K_U64, F(seed), 0, 0, NULL, 0},
    {"project", "threads", K_INT, F(threads), 0, 1024, NULL, 0},
    {"project", "task", K_ENUM, F(task), 0, 0, "susceptibility hazard", 0},
    {"project", "truth", K_PATH, F(truth), 0, 0, NULL, 0},
    {"project", "memory", K_SPECIAL, F(memory_bytes), 0, 0, NULL, 0},

    {"grid", "reference", K_STR, F(grid_reference), 0, 0, NULL, 0},
    {"grid", "crs", K_STR, F(grid_crs), 0, 0, NULL, 0},
    {"grid", "resolution", K_DOUBLE, F(grid_resolution), 1e-12, 1e12, NULL, 0},
    {"grid", "extent", K_SPECIAL, F(grid_extent), 0, 0, NULL, 0},

    {"terrain", "flow", K_ENUM, F(flow), 0, 0, "mfd d8", 0},
    {"terrain", "river_threshold_km2", K_DOUBLE, F(river_threshold_km2), 1e-9, 1e9, NULL, 0},

    {"layer.*", "path", K_PATH, LF(path), 0, 0, NULL, 0},
    {"layer.*", "kind", K_SPECIAL, LF(kind), 0, 0, "continuous categorical circular", 0},
    {"layer.*", "band", K_INT, LF(band), 1, 100000, NULL, 0},
    {"layer.*", "derive", K_SPECIAL, LF(derive), 0, 0, "slope aspect twi spi lca curvature rivers", 0},
    {"distance.*", "path", K_PATH, offsetof(scarp_distance_config, path), sizeof(((scarp_distance_config *)0)->path), 0, 0, NULL, 0},

    {"ndvi", "red", K_PATHBAND, F(ndvi_red), 0, 0, NULL, offsetof(scarp_config, ndvi_red_band)},
    {"ndvi", "nir", K_PATHBAND, F(ndvi_nir), 0, 0, NULL, offsetof(scarp_config, ndvi_nir_band)},

    {"inventory", "path", K_PATH, F(inventory_path), 0, 0, NULL, 0},
    {"inventory", "x", K_STR, F(inventory_x), 0, 0, NULL, 0},
    {"inventory", "y", K_STR, F(inventory_y), 0, 0, NULL, 0},
    {"inventory", "crs", K_STR, F(inventory_crs), 0, 0, NULL, 0},
    {"inventory", "date", K_STR, F(inventory_date), 0, 0, NULL, 0},
    {"inventory", "label", K_STR, F(inventory_label), 0, 0, NULL, 0},

    {"negatives", "ratio", K_DOUBLE, F(negatives_ratio), 1e-6, 1000, NULL, 0},
    {"negatives", "min_distance", K_DOUBLE, F(negatives_min_distance), 0, 1e9, NULL, 0},
    {"negatives", "dates", K_ENUM, F(negatives_dates), 0, 0, "matched uniform", 0},
    {"negatives", "same_cell_share", K_DOUBLE, F(negatives_same_cell_share), 0, 1, NULL, 0},

    {"temporal", "stations", K_PATH, F(stations_path), 0, 0, NULL, 0},
    {"temporal", "stations_crs", K_STR, F(stations_crs), 0, 0, NULL, 0},
    {"temporal", "stations_id", K_STR, F(stations_id), 0, 0, NULL, 0},
    {"temporal", "stations_x", K_STR, F(stations_x), 0, 0, NULL, 0},
    {"temporal", "stations_y", K_STR, F(stations_y), 0, 0, NULL, 0},
    {"temporal", "rainfall", K_PATH, F(rainfall_path), 0, 0, NULL, 0},
    {"temporal", "reservoirs", K_PATH, F(reservoirs_path), 0, 0, NULL, 0},
    {"temporal", "reservoir_levels", K_PATH, F(reservoir_levels_path), 0, 0, NULL, 0},
    {"temporal", "window", K_INT, F(window), 1, 3660, NULL, 0},
    {"temporal", "resolution", K_DOUBLE, F(temporal_resolution), 1e-9, 1e9, NULL, 0},
    {"temporal", "interpolation", K_ENUM, F(interpolation), 0, 0, "idw nearest", 0},
    {"temporal", "idw_power", K_DOUBLE, F(idw_power), 1e-6, 100, NULL, 0},
    {"temporal", "reservoir_interpolation", K_ENUM, F(reservoir_interpolation), 0, 0, "nearest idw", 0},

    {"split", "method", K_ENUM, F(split_method), 0, 0, "random spatial", 0},
    {"split", "train", K_DOUBLE, F(split_train), 0, 1, NULL, 0},
    {"split", "val", K_DOUBLE, F(split_val), 0, 1, NULL, 0},
    {"split", "test", K_DOUBLE, F(split_test), 0, 1, NULL, 0},
    {"split", "folds", K_INT, F(folds), 1, 100, NULL, 0},
    {"split", "repeats", K_INT, F(repeats), 1, 1000, NULL, 0},
    {"split", "block_size", K_DOUBLE, F(block_size), 1e-9, 1e12, NULL, 0},
    {"split", "blocks", K_ENUM, F(split_blocks), 0, 0, "kmeans squares", 0},
    {"split", "clusters", K_INT, F(split_clusters), 0, 100000, NULL, 0},
    {"split", "buffer", K_DOUBLE, F(split_buffer), 0, 1e12, NULL, 0},
    {"split", "compare", K_ENUM, F(split_compare), 0, 0, "none random", 0},

    {"model", "models", K_LIST, F(models), 0, 0, MODEL_NAMES, 0},
    {"model", "patch", K_INT, F(patch), 1, 512, NULL, 0},
    {"model", "epochs", K_INT, F(epochs), 1, 100000, NULL, 0},
    {"model", "batch", K_INT, F(batch), 1, 1000000, NULL, 0},
    {"model", "lr", K_DOUBLE, F(lr), 1e-12, 10, NULL, 0},
    {"model", "l2", K_DOUBLE, F(l2), 0, 1e6, NULL, 0},
    {"model", "dropout", K_DOUBLE, F(dropout), 0, 0.999, NULL, 0},
    {"model", "recurrent_dropout", K_DOUBLE, F(recurrent_dropout), 0, 0.999, NULL, 0},
    {"model", "select", K_ENUM, F(select), 0, 0, "val_bce val_loss", 0},
    {"model", "trees", K_INT, F(trees), 1, 100000, NULL, 0},
    {"model", "logreg_c", K_DOUBLE, F(logreg_c), 0, 1e12, NULL, 0},
    {"model", "tune", K_ENUM, F(tune), 0, 0, "auto none", 0},
    {"model", "patience", K_INT, F(patience), 1, 100000, NULL, 0},
    {"model", "augment", K_ENUM, F(augment), 0, 0, "none dihedral", 0},
    {"model", "ensemble", K_INT, F(ensemble), 1, 64, NULL, 0},

    {"map", "model", K_ENUM, F(map_model), 0, 0, "best cnn_lstm cnn lstm mlp svm tree forest logreg boost", 0},
    {"map", "classes", K_INT, F(map_classes), 3, 5, NULL, 0},
    {"map", "breaks", K_ENUM, F(map_breaks), 0, 0, "natural quantile equal target fixed", 0},
    {"map", "thresholds", K_SPECIAL, F(map_thresholds), 0, 0, NULL, 0},
    {"map", "date", K_SPECIAL, F(map_date), 0, 0, NULL, 0},
    {"map", "tile", K_INT, F(map_tile), 16, 65536, NULL, 0},
    {"map", "ensemble", K_ENUM, F(map_ensemble), 0, 0, "auto on off", 0},
    {"map", "dates", K_SPECIAL, F(map_dates), 0, 0, NULL, 0},

    {"report", "reference", K_ENUM, F(report_reference), 0, 0, "none kerman", 0},

    {"apply", "unseen", K_ENUM, F(apply_unseen), 0, 0, "error nodata", 0},
};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

static const char *const SECTIONS[] = {"project", "grid", "terrain", "layer.NAME", "distance.NAME", "ndvi",
                                       "inventory", "negatives", "temporal", "split", "model", "map", "report", "apply"};

void scarp_config_defaults(scarp_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->out, "run");
    c->seed = 42;
    c->threads = 0;
    c->memory_bytes = SCARP_DEFAULT_MEMORY;
    strcpy(c->grid_reference, "dem");
    c->ndvi_red_band = 1;
    c->ndvi_nir_band = 1;
    strcpy(c->flow, "mfd");
    c->river_threshold_km2 = 1.0;
    strcpy(c->inventory_x, "x");
    strcpy(c->inventory_y, "y");
    strcpy(c->inventory_date, "date");
    c->negatives_ratio = 1.0;
    c->negatives_min_distance = 300.0;
    strcpy(c->negatives_dates, "matched");
    c->negatives_same_cell_share = 0.5;
    strcpy(c->task, "susceptibility");
    strcpy(c->stations_id, "id");
    strcpy(c->stations_x, "x");
    strcpy(c->stations_y, "y");
    c->window = 30;
    c->temporal_resolution = 1000.0;
    strcpy(c->interpolation, "idw");
    c->idw_power = 2.0;
    strcpy(c->reservoir_interpolation, "nearest");
    strcpy(c->split_method, "random");
    c->split_train = 0.70;
    c->split_val = 0.15;
    c->split_test = 0.15;
    c->folds = 1;
    c->repeats = 1;
    c->block_size = 5000.0;
    strcpy(c->split_blocks, "kmeans");
    c->split_clusters = 0;
    const char *models[] = {"cnn_lstm", "cnn", "lstm", "mlp", "svm", "tree", "forest", "logreg"};
    c->n_models = 8;
    for (int i = 0; i < 8; i++) strcpy(c->models[i], models[i]);
    c->patch = 22;
    c->epochs = 50;
    c->batch = 32;
    c->lr = 0.001;
    c->l2 = 0.01;
    c->dropout = 0.2;
    c->recurrent_dropout = 0.2;
    strcpy(c->select, "val_bce");
    c->trees = 500;
    c->logreg_c = 0;
    c->split_buffer = 0;
    strcpy(c->split_compare, "none");
    strcpy(c->map_model, "best");
    strcpy(c->tune, "auto");
    c->patience = 10;
    strcpy(c->augment, "none");
    c->ensemble = 1;
    c->map_classes = 4;
    strcpy(c->map_breaks, "natural");
    strcpy(c->map_date, "auto");
    c->map_tile = 512;
    strcpy(c->map_ensemble, "auto");
    strcpy(c->report_reference, "none");
    strcpy(c->apply_unseen, "error");
}

/* ---------------------------------------------------------------------------------- */
/* Parsing.                                                                            */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    scarp_config *c;
    const char *path;
    char err[1200];    /* first error, without the FILE:LINE prefix */
    int have_err;
    unsigned grid_set; /* 1 crs, 2 resolution, 4 extent, 8 reference */
} parse_ctx;

static int set_err(parse_ctx *p, const char *fmt, const char *a, const char *b, const char *c)
{
    if (!p->have_err) {
        snprintf(p->err, sizeof p->err, fmt, a, b, c);
        p->have_err = 1;
    }
    return 0;
}

static int word_in(const char *w, const char *list)
{
    size_t n = strlen(w);
    const char *s = list;
    while (*s) {
        while (*s == ' ') s++;
        const char *e = s;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - s) == n && n && strncmp(s, w, n) == 0) return 1;
        s = e;
    }
    return 0;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end && isspace((unsigned char)*end)) end++;
    if (errno || end == v || *end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static int parse_long(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long d = strtoll(v, &end, 10);
    while (*end && isspace((unsigned char)*end)) end++;
    if (errno || end == v || *end) return -1;
    *out = d;
    return 0;
}

static int copy_str(parse_ctx *p, char *dst, size_t cap, const char *v, const char *key)
{
    if (strlen(v) >= cap) return set_err(p, "value of '%s' is too long (%s%s)", key, "max chars exceeded", "");
    strcpy(dst, v);
    return 1;
}

static int resolve_path(parse_ctx *p, char *dst, size_t cap, const char *v, const char *key)
{
    if (!*v) {
        dst[0] = 0;
        return 1;
    }
    if (scarp_path_resolve(dst, cap, p->path, v) != SCARP_OK)
        return set_err(p, "path of '%s' is too long: '%s'%s", key, v, "");
    return 1;
}

/* Splits "path:band" when the part after the last ':' is a whole number. */
static int parse_path_band(parse_ctx *p, char *dst, size_t cap, int *band, const char *v, const char *key)
{
    char buf[SCARP_PATH_MAX];
    if (strlen(v) >= sizeof buf) return set_err(p, "path of '%s' is too long: '%s'%s", key, v, "");
    strcpy(buf, v);
    *band = 1;
    char *colon = strrchr(buf, ':');
    if (colon && colon[1]) {
        char *q = colon + 1;
        int digits = 1;
        for (char *r = q; *r; r++)
            if (!isdigit((unsigned char)*r)) digits = 0;
        if (digits) {
            long b = strtol(q, NULL, 10);
            if (b < 1 || b > 100000) return set_err(p, "'%s' = '%s': band must be 1 or more%s", key, v, "");
            *band = (int)b;
            *colon = 0;
        }
    }
    return resolve_path(p, dst, cap, buf, key);
}

static int apply_key(parse_ctx *p, const key_def *k, void *base, const char *section, const char *v)
{
    char *field = (char *)base + k->off;
    const char *key = k->key;
    switch (k->type) {
    case K_STR: return copy_str(p, field, k->size, v, key);
    case K_PATH: return resolve_path(p, field, k->size, v, key);
    case K_PATHBAND: return parse_path_band(p, field, k->size, (int *)((char *)base + k->off2), v, key);
    case K_INT: {
        long long d;
        if (parse_long(v, &d)) return set_err(p, "'%s' must be a whole number (got '%s')%s", key, v, "");
        if (d < (long long)k->lo || d > (long long)k->hi) {
            char range[64];
            snprintf(range, sizeof range, " from %.0f to %.0f", k->lo, k->hi);
            return set_err(p, "'%s' must be%s (got '%s')", key, range, v);
        }
        *(int *)field = (int)d;
        return 1;
    }
    case K_U64: {
        char *end;
        errno = 0;
        if (v[0] == '-') return set_err(p, "'%s' must be a non-negative whole number (got '%s')%s", key, v, "");
        unsigned long long d = strtoull(v, &end, 10);
        if (errno || end == v || *end) return set_err(p, "'%s' must be a non-negative whole number (got '%s')%s", key, v, "");
        *(uint64_t *)field = d;
        return 1;
    }
    case K_DOUBLE: {
        double d;
        if (parse_double(v, &d)) return set_err(p, "'%s' must be a number (got '%s')%s", key, v, "");
        if (d < k->lo || d > k->hi) {
            char range[96];
            if (k->lo > 0 && k->lo < 1e-5)
                snprintf(range, sizeof range, " greater than 0 and at most %g", k->hi);
            else
                snprintf(range, sizeof range, " from %g to %g", k->lo, k->hi);
            return set_err(p, "'%s' must be%s (got '%s')", key, range, v);
        }
        *(double *)field = d;
        return 1;
    }
    case K_ENUM:
        if (!word_in(v, k->choices)) return set_err(p, "'%s' must be one of: %s (got '%s')", key, k->choices, v);
        return copy_str(p, field, k->size, v, key);
    case K_LIST: { /* [model] models */
        scarp_config *c = p->c;
        c->n_models = 0;
        char buf[512];
        if (strlen(v) >= sizeof buf) return set_err(p, "'%s' is too long%s%s", key, "", "");
        strcpy(buf, v);
        for (char *save = NULL, *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            if (!word_in(w, k->choices)) return set_err(p, "'%s': unknown model '%s' (known: %s)", key, w, k->choices);
            if (scarp_config_has_model(c, w)) continue;
            if (c->n_models >= SCARP_MAX_MODELS) return set_err(p, "'%s': too many models%s%s", key, "", "");
            strcpy(c->models[c->n_models++], w);
        }
        if (c->n_models == 0) return set_err(p, "'%s' names no model (known: %s)%s", key, k->choices, "");
        return 1;
    }
    case K_SPECIAL: break;
    }
    /* K_SPECIAL */
    if (strcmp(key, "memory") == 0) {
        /* megabytes, or a number with a unit K, M, G or T (powers of 1024; "B", "iB" allowed) */
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        double unit = 1048576.0;
        while (*end == ' ') end++;
        if (*end) {
            char u = (char)toupper((unsigned char)*end++);
            unit = u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : u == 'T' ? 1099511627776.0 : 0;
            if (*end == 'i' || *end == 'I') end++;
            if (*end == 'b' || *end == 'B') end++;
        }
        if (errno || end == v || *end || unit == 0 || !(d * unit >= 1048576.0) || d * unit > 1e18)
            return set_err(p, "'%s' must be a size of at least 1M: megabytes or a number with K, M, G or T (got '%s')%s",
                           key, v, "");
        p->c->memory_bytes = (int64_t)(d * unit);
        return 1;
    }
    if (strcmp(key, "extent") == 0) {
        double e[4];
        char buf[512];
        if (strlen(v) >= sizeof buf) return set_err(p, "'%s' is too long%s%s", key, "", "");
        strcpy(buf, v);
        int n = 0;
        for (char *save = NULL, *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            if (n >= 4 || parse_double(w, &e[n])) {
                n = -1;
                break;
            }
            n++;
        }
        if (n != 4 || e[2] <= e[0] || e[3] <= e[1])
            return set_err(p, "'%s' must be four numbers 'xmin ymin xmax ymax' with xmin < xmax, ymin < ymax (got '%s')%s", key, v, "");
        memcpy(p->c->grid_extent, e, sizeof e);
        return 1;
    }
    if (strcmp(key, "kind") == 0) {
        scarp_layer_kind kind;
        if (strcmp(v, "continuous") == 0) kind = SCARP_KIND_CONTINUOUS;
        else if (strcmp(v, "categorical") == 0) kind = SCARP_KIND_CATEGORICAL;
        else if (strcmp(v, "circular") == 0) kind = SCARP_KIND_CIRCULAR;
        else return set_err(p, "'%s' must be one of: continuous categorical circular (got '%s')%s", key, v, "");
        *(scarp_layer_kind *)field = kind;
        return 1;
    }
    if (strcmp(key, "derive") == 0) {
        unsigned flags = 0;
        char buf[512];
        if (strlen(v) >= sizeof buf) return set_err(p, "'%s' is too long%s%s", key, "", "");
        strcpy(buf, v);
        for (char *save = NULL, *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            if (strcmp(w, "slope") == 0) flags |= SCARP_DERIVE_SLOPE;
            else if (strcmp(w, "aspect") == 0) flags |= SCARP_DERIVE_ASPECT;
            else if (strcmp(w, "twi") == 0) flags |= SCARP_DERIVE_TWI;
            else if (strcmp(w, "spi") == 0) flags |= SCARP_DERIVE_SPI;
            else if (strcmp(w, "lca") == 0) flags |= SCARP_DERIVE_LCA;
            else if (strcmp(w, "curvature") == 0) flags |= SCARP_DERIVE_CURVATURE;
            else if (strcmp(w, "rivers") == 0) flags |= SCARP_DERIVE_RIVERS;
            else if (strcmp(w, "none") == 0) ;
            else return set_err(p, "'%s': unknown derivative '%s' (known: %s)", key, w, k->choices);
        }
        *(unsigned *)field = flags;
        return 1;
    }
    if (strcmp(key, "thresholds") == 0) {
        scarp_config *c = p->c;
        char buf[512];
        if (strlen(v) >= sizeof buf) return set_err(p, "'%s' is too long%s%s", key, "", "");
        strcpy(buf, v);
        c->map_n_thresholds = 0;
        for (char *save = NULL, *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            double d;
            if (parse_double(w, &d)) return set_err(p, "'%s': '%s' is not a number%s", key, w, "");
            if (c->map_n_thresholds >= 8) return set_err(p, "'%s': at most 8 values%s%s", key, "", "");
            if (c->map_n_thresholds && d <= c->map_thresholds[c->map_n_thresholds - 1])
                return set_err(p, "'%s' must be increasing (got '%s')%s", key, v, "");
            c->map_thresholds[c->map_n_thresholds++] = d;
        }
        return 1;
    }
    if (strcmp(key, "dates") == 0 && strcmp(section, "map") == 0) {
        /* D1..D2[/step]: two real days, D1 <= D2, step >= 1 (the map engine expands it) */
        char a[16], b[16];
        long step = 1;
        int y1, m1, d1, y2, m2, d2, n = 0;
        const char *slash = strchr(v, '/');
        int ok = strlen(v) < k->size && sscanf(v, "%10[0-9-]..%10[0-9-]%n", a, b, &n) == 2 && strlen(a) == 10 &&
                 strlen(b) == 10 && sscanf(a, "%4d-%2d-%2d", &y1, &m1, &d1) == 3 &&
                 sscanf(b, "%4d-%2d-%2d", &y2, &m2, &d2) == 3;
        if (ok && slash) {
            char *e;
            step = strtol(slash + 1, &e, 10);
            ok = (size_t)n == (size_t)(slash - v) && e != slash + 1 && !*e && step >= 1 && step <= 36600;
        } else if (ok) {
            ok = v[n] == '\0';
        }
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const int ys[2] = {y1, y2}, ms[2] = {m1, m2}, dd[2] = {d1, d2};
        for (int i = 0; ok && i < 2; i++)
            ok = ms[i] >= 1 && ms[i] <= 12 && dd[i] >= 1 &&
                 dd[i] <= mdays[ms[i] - 1] + (ms[i] == 2 && ((ys[i] % 4 == 0 && ys[i] % 100 != 0) || ys[i] % 400 == 0));
        if (ok) ok = strcmp(a, b) <= 0;
        if (!ok)
            return set_err(p, "'%s' must be D1..D2[/step] with dates yyyy-mm-dd, D1 <= D2 and a step in days >= 1 "
                              "(got '%s')%s", key, v, "");
        return copy_str(p, field, k->size, v, key);
    }
    if (strcmp(key, "date") == 0 && strcmp(section, "map") == 0) {
        /* "auto" or yyyy-mm-dd (checked for a real day) */
        int y, m, d;
        char extra;
        if (strcmp(v, "auto") != 0) {
            static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 ||
                d > mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
                return set_err(p, "'%s' must be 'auto' or a date yyyy-mm-dd (got '%s')%s", key, v, "");
        }
        return copy_str(p, field, k->size, v, key);
    }
    return set_err(p, "internal: unhandled key '%s'%s%s", key, "", "");
}

/* Finds (or creates) the [layer.NAME] / [distance.NAME] entry. */
static void *named_section(parse_ctx *p, const char *prefix, const char *name)
{
    scarp_config *c = p->c;
    if (strlen(name) == 0 || strlen(name) >= 64) {
        set_err(p, "section [%s.%s] needs a name of 1 to 63 characters%s", prefix, name, "");
        return NULL;
    }
    if (strcmp(prefix, "layer") == 0) {
        int i = scarp_config_layer(c, name);
        if (i >= 0) return &c->layers[i];
        if (c->n_layers >= SCARP_MAX_LAYERS) {
            set_err(p, "too many [layer.*] sections (at most %s)%s%s", "32", "", "");
            return NULL;
        }
        scarp_layer_config *l = &c->layers[c->n_layers++];
        memset(l, 0, sizeof *l);
        strcpy(l->name, name);
        l->band = 1;
        l->kind = SCARP_KIND_CONTINUOUS;
        return l;
    }
    for (int i = 0; i < c->n_distances; i++)
        if (strcmp(c->distances[i].name, name) == 0) return &c->distances[i];
    if (c->n_distances >= SCARP_MAX_LAYERS) {
        set_err(p, "too many [distance.*] sections (at most %s)%s%s", "32", "", "");
        return NULL;
    }
    scarp_distance_config *d = &c->distances[c->n_distances++];
    memset(d, 0, sizeof *d);
    strcpy(d->name, name);
    return d;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (p->have_err) return 0;
    char sec[80];
    void *base = p->c;
    const char *dot = strchr(section, '.');
    if (dot && (size_t)(dot - section) == 5 && strncmp(section, "layer", 5) == 0) {
        strcpy(sec, "layer.*");
        base = named_section(p, "layer", dot + 1);
    } else if (dot && (size_t)(dot - section) == 8 && strncmp(section, "distance", 8) == 0) {
        strcpy(sec, "distance.*");
        base = named_section(p, "distance", dot + 1);
    } else {
        snprintf(sec, sizeof sec, "%s", section);
    }
    if (!base) return 0;

    int sec_known = 0;
    const char *cands[64];
    int nc = 0;
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(KEYS[i].section, sec) == 0) {
            sec_known = 1;
            if (strcmp(KEYS[i].key, name) == 0) {
                if (strcmp(sec, "grid") == 0) {
                    if (strcmp(name, "crs") == 0) p->grid_set |= 1;
                    if (strcmp(name, "resolution") == 0) p->grid_set |= 2;
                    if (strcmp(name, "extent") == 0) p->grid_set |= 4;
                    if (strcmp(name, "reference") == 0) p->grid_set |= 8;
                }
                return apply_key(p, &KEYS[i], base, section, value);
            }
            if (nc < 64) cands[nc++] = KEYS[i].key;
        }
    if (!sec_known) {
        /* Suggest a section: compare with the fixed names and the "layer"/"distance" prefixes. */
        const char *s = nearest(section, SECTIONS, (int)(sizeof SECTIONS / sizeof SECTIONS[0]));
        char guess[128] = "";
        if (dot) {
            const char *prefixes[] = {"layer", "distance"};
            char pre[64];
            snprintf(pre, sizeof pre, "%.*s", (int)(dot - section), section);
            const char *q = nearest(pre, prefixes, 2);
            if (q) snprintf(guess, sizeof guess, "%s%s", q, dot);
        } else if (s && !strchr(s, '.')) {
            snprintf(guess, sizeof guess, "%s", s);
        }
        if (*guess) return set_err(p, "unknown section [%s] (did you mean [%s]?)%s", section, guess, "");
        return set_err(p, "unknown section [%s] (known: project grid terrain layer.NAME distance.NAME ndvi inventory "
                          "negatives temporal split model map report apply)%s%s", section, "", "");
    }
    const char *s = nearest(name, cands, nc);
    if (s) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown key '%s' in [%s] (did you mean '%s'?)", name, section, s);
        return set_err(p, "%s%s%s", msg, "", "");
    }
    char known[600] = "";
    for (int i = 0; i < nc; i++) {
        strncat(known, i ? " " : "", sizeof known - strlen(known) - 1);
        strncat(known, cands[i], sizeof known - strlen(known) - 1);
    }
    return set_err(p, "unknown key '%s' in [%s] (known: %s)", name, section, known);
}

scarp_status scarp_config_load(scarp_config *c, const char *path)
{
    char *text = NULL;
    size_t bytes = 0;
    scarp_status st = scarp_read_file(path, &text, &bytes);
    if (st != SCARP_OK) {
        /* the reader's message already starts with the path: say it once */
        const char *why = scarp_last_error();
        size_t n = strlen(path);
        if (strncmp(why, path, n) == 0 && why[n] == ':') why += n + (why[n + 1] == ' ' ? 2 : 1);
        return scarp_fail(SCARP_ERR_IO, "%s: cannot read the config file: %s", path, why);
    }
    /* inih reads lines into a fixed buffer and silently splits longer ones: refuse them. */
    {
        int line = 1;
        size_t len = 0;
        for (size_t i = 0; i < bytes; i++) {
            if (text[i] == '\n') {
                line++;
                len = 0;
            } else if (++len > 4000) {
                scarp_free(text);
                return scarp_fail(SCARP_ERR_INPUT, "%s:%d: line longer than 4000 characters", path, line);
            }
            if (text[i] == 0) {
                scarp_free(text);
                return scarp_fail(SCARP_ERR_INPUT, "%s:%d: NUL byte: not a text file", path, line);
            }
        }
    }
    /* Process-wide libinih options (Debian's shared build reads them at run time): long
     * lines, and no "indented line continues the previous value" surprise. */
    ini_use_stack = 0;
    ini_max_line = 4100;
    ini_allow_multiline = 0;
    ini_allow_inline_comments = 1;

    parse_ctx p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.path = path;
    if (strlen(path) >= sizeof c->config_path) {
        scarp_free(text);
        return scarp_fail(SCARP_ERR_USAGE, "%s: path too long", path);
    }
    strcpy(c->config_path, path);
    /* "out" default is relative to the config file too. */
    if (strcmp(c->out, "run") == 0) {
        char tmp[SCARP_PATH_MAX];
        if (scarp_path_resolve(tmp, sizeof tmp, path, "run") == SCARP_OK) strcpy(c->out, tmp);
    }
    int line = ini_parse_string(text, handler, &p);
    scarp_free(text);
    if (line < 0) return scarp_fail(SCARP_ERR_IO, "%s: cannot parse (out of memory)", path);
    if (line > 0) {
        if (p.have_err) return scarp_fail(SCARP_ERR_INPUT, "%s:%d: %s", path, line, p.err);
        return scarp_fail(SCARP_ERR_INPUT, "%s:%d: syntax error (expected [section] or key = value)", path, line);
    }

    /* Whole-file checks. */
    for (int i = 0; i < c->n_layers; i++)
        if (!c->layers[i].path[0])
            return scarp_fail(SCARP_ERR_INPUT, "%s: [layer.%s] has no 'path'", path, c->layers[i].name);
    for (int i = 0; i < c->n_distances; i++)
        if (!c->distances[i].path[0])
            return scarp_fail(SCARP_ERR_INPUT, "%s: [distance.%s] has no 'path'", path, c->distances[i].name);
    if ((c->ndvi_red[0] != 0) != (c->ndvi_nir[0] != 0))
        return scarp_fail(SCARP_ERR_INPUT, "%s: [ndvi] needs both 'red' and 'nir'", path);
    if (p.grid_set & 1) {
        if ((p.grid_set & 6) != 6)
            return scarp_fail(SCARP_ERR_INPUT, "%s: [grid] 'crs' needs 'resolution' and 'extent' too", path);
        if (!(p.grid_set & 8)) c->grid_reference[0] = 0;
    } else if (c->grid_reference[0] && c->n_layers > 0 && scarp_config_layer(c, c->grid_reference) < 0) {
        return scarp_fail(SCARP_ERR_INPUT, "%s: [grid] reference = '%s' names no [layer.%s]", path, c->grid_reference,
                          c->grid_reference);
    }
    double sum = c->split_train + c->split_val + c->split_test;
    if (fabs(sum - 1.0) > 1e-6)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [split] train + val + test must be 1 (got %g + %g + %g = %g)", path,
                          c->split_train, c->split_val, c->split_test, sum);
    if (c->split_train <= 0) return scarp_fail(SCARP_ERR_INPUT, "%s: [split] train must be greater than 0", path);
    if (!strcmp(c->split_compare, "random") && strcmp(c->split_method, "spatial"))
        return scarp_fail(SCARP_ERR_INPUT, "%s: [split] compare = random needs method = spatial (with method = %s the "
                                           "cross-validation is already random: remove compare)", path, c->split_method);
    if (!strcmp(c->split_compare, "random") && c->folds < 2 && c->repeats < 2)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [split] compare = random needs folds or repeats > 1 (it compares "
                                           "cross-validation runs)", path);
    if (strcmp(c->map_breaks, "fixed") == 0 && c->map_n_thresholds != c->map_classes - 1)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [map] breaks = fixed needs %d thresholds (classes - 1), got %d", path,
                          c->map_classes - 1, c->map_n_thresholds);
    if (strcmp(c->map_breaks, "target") == 0 && c->map_n_thresholds && c->map_n_thresholds != c->map_classes - 1)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [map] breaks = target needs %d shares (classes - 1), got %d", path,
                          c->map_classes - 1, c->map_n_thresholds);
    /* the CNN branch's three 3x3 convolution + 2x2 pooling blocks need 22 x 22 cells
     * (scarp_model_spec_check); said here, before prepare spends minutes on patches */
    const char *cnn_model = scarp_config_has_model(c, "cnn_lstm") ? "cnn_lstm" : scarp_config_has_model(c, "cnn") ? "cnn" : NULL;
    if (cnn_model && c->patch < 22)
        return scarp_fail(SCARP_ERR_INPUT, "%s: [model] patch = %d is too small for %s (its three convolution and "
                                           "pooling blocks need >= 22): raise patch or remove %s from models", path,
                          c->patch, cnn_model, cnn_model);
    if ((c->reservoirs_path[0] != 0) != (c->reservoir_levels_path[0] != 0))
        return scarp_fail(SCARP_ERR_INPUT, "%s: [temporal] 'reservoirs' and 'reservoir_levels' go together", path);
    if (c->rainfall_path[0] && !c->stations_path[0])
        return scarp_fail(SCARP_ERR_INPUT, "%s: [temporal] 'rainfall' needs 'stations'", path);
    return SCARP_OK;
}

int scarp_config_layer(const scarp_config *c, const char *name)
{
    for (int i = 0; i < c->n_layers; i++)
        if (strcmp(c->layers[i].name, name) == 0) return i;
    return -1;
}

int scarp_config_has_model(const scarp_config *c, const char *model)
{
    for (int i = 0; i < c->n_models; i++)
        if (strcmp(c->models[i], model) == 0) return 1;
    return 0;
}
