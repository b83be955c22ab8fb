/* classic.c — the baselines' common entry points: names, train/predict dispatch, the
 * training-set standardisation, and the model file ("SCARPCLS", version, kind, features,
 * normalisation blob, payload, CRC-32), read back with bounds checks so a truncated or
 * damaged file is a clear error, never a crash. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/fsutil.h"

#define CLS_MAGIC "SCARPCLS"
#define CLS_VERSION 1u

static const char *const kind_names[SCARP_CLASSIC_N] = {"svm", "tree", "forest", "logreg", "gboost"};

const char *scarp_classic_name(scarp_classic_kind kind)
{
    return (unsigned)kind < SCARP_CLASSIC_N ? kind_names[kind] : "?";
}

scarp_status scarp_classic_kind_parse(const char *name, scarp_classic_kind *kind)
{
    static const struct { const char *alias; scarp_classic_kind k; } aliases[] = {
        {"svm", SCARP_CLASSIC_SVM},       {"tree", SCARP_CLASSIC_TREE},   {"dt", SCARP_CLASSIC_TREE},
        {"forest", SCARP_CLASSIC_FOREST}, {"rf", SCARP_CLASSIC_FOREST},   {"logreg", SCARP_CLASSIC_LOGREG},
        {"lr", SCARP_CLASSIC_LOGREG},     {"gboost", SCARP_CLASSIC_GBOOST}, {"gb", SCARP_CLASSIC_GBOOST},
        {"boost", SCARP_CLASSIC_GBOOST},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i].alias)) {
            *kind = aliases[i].k;
            return SCARP_OK;
        }
    return scarp_fail(SCARP_ERR_INPUT, "unknown baseline model '%s' (known: svm tree forest logreg gboost)", name);
}

int scarp_classic_is_name(const char *name)
{
    scarp_classic_kind k;
    scarp_status st = scarp_classic_kind_parse(name, &k);
    if (st) scarp_clear_error();
    return st == SCARP_OK;
}

void scarp_classic_free(scarp_classic *m)
{
    if (!m) return;
    scarp_free(m->mean);
    scarp_free(m->scale);
    scarp_free(m->sv);
    scarp_free(m->sv_coef);
    scarp_free(m->tree_root);
    scarp_free(m->nodes);
    scarp_free(m->walk);
    scarp_free(m->leaf_value);
    scarp_free(m->tree_depth);
    scarp_free(m->coef);
    memset(m, 0, sizeof *m);
}

scarp_status scarp__standardize_fit(scarp_classic *m, const float *X, size_t n)
{
    const int F = m->n_features;
    m->mean = scarp_malloc((size_t)F * sizeof *m->mean);
    m->scale = scarp_malloc((size_t)F * sizeof *m->scale);
    if (!m->mean || !m->scale) return SCARP_ERR_NOMEM;
    for (int j = 0; j < F; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) s += X[i * F + j];
        double mu = n ? s / (double)n : 0;
        for (size_t i = 0; i < n; i++) ss += (X[i * F + j] - mu) * (X[i * F + j] - mu);
        double sd = n ? sqrt(ss / (double)n) : 0; /* population sd, as StandardScaler */
        m->mean[j] = (float)mu;
        m->scale[j] = sd > 1e-12 ? (float)sd : 1.0f;
    }
    return SCARP_OK;
}

scarp_status scarp_classic_train(scarp_classic *m, scarp_classic_kind kind, const scarp_classic_params *p,
                                 const float *X, const uint8_t *y, size_t n, int F, const float *Xv,
                                 const uint8_t *yv, size_t nv, scarp_progress *progress)
{
    memset(m, 0, sizeof *m);
    if ((unsigned)kind >= SCARP_CLASSIC_N) return scarp_fail(SCARP_ERR_USAGE, "classic: unknown kind %d", (int)kind);
    if (F < 1 || n < 2) return scarp_fail(SCARP_ERR_INPUT, "%s: needs >= 2 training rows and >= 1 feature "
                                                           "(got %zu rows, %d features)", kind_names[kind], n, F);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        pos += y[i] != 0;
        for (int j = 0; j < F; j++)
            if (!isfinite(X[i * F + j]))
                return scarp_fail(SCARP_ERR_INPUT, "%s: training row %zu feature %d is not finite", kind_names[kind],
                                  i, j);
    }
    if (pos == 0 || pos == n)
        return scarp_fail(SCARP_ERR_INPUT, "%s: the training rows hold only one class (%zu positives of %zu)",
                          kind_names[kind], pos, n);
    if (!Xv || !yv) nv = 0;
    scarp_classic_params defaults = {0};
    if (!p) p = &defaults;
    m->kind = kind;
    m->n_features = F;
    m->val_auc = NAN;
    scarp_status st;
    switch (kind) {
    case SCARP_CLASSIC_SVM: st = scarp__svm_train(m, p, X, y, n, Xv, yv, nv); break;
    case SCARP_CLASSIC_TREE: st = scarp__tree_train(m, p, X, y, n, Xv, yv, nv); break;
    case SCARP_CLASSIC_FOREST: st = scarp__forest_train(m, p, X, y, n, progress); break;
    case SCARP_CLASSIC_LOGREG: st = scarp__logreg_train(m, p, X, y, n, Xv, yv, nv); break;
    default: st = scarp__gboost_train(m, p, X, y, n, progress); break;
    }
    if (st) scarp_classic_free(m);
    return st;
}

scarp_status scarp_classic_predict(const scarp_classic *m, const float *X, size_t n, float *prob)
{
    switch (m->kind) {
    case SCARP_CLASSIC_SVM: return scarp__svm_predict(m, X, n, prob);
    case SCARP_CLASSIC_LOGREG: return scarp__logreg_predict(m, X, n, prob);
    case SCARP_CLASSIC_TREE:
    case SCARP_CLASSIC_FOREST:
    case SCARP_CLASSIC_GBOOST: return scarp__trees_predict(m, X, n, prob);
    default: return scarp_fail(SCARP_ERR_USAGE, "classic: model not trained");
    }
}

/* ---- model file ---------------------------------------------------------------------- */
typedef struct {
    unsigned char *p;
    size_t n, cap;
    int failed;
} wbuf;

static void put(wbuf *b, const void *data, size_t bytes)
{
    if (b->failed) return;
    if (b->n + bytes > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + bytes) cap *= 2;
        unsigned char *np = scarp_realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (bytes) memcpy(b->p + b->n, data, bytes);
    b->n += bytes;
}
#define PUT(b, v) do { __typeof__(v) v_ = (v); put((b), &v_, sizeof v_); } while (0)

scarp_status scarp_classic_save(const scarp_classic *m, const char *path, const void *norm, size_t norm_bytes)
{
    if ((unsigned)m->kind >= SCARP_CLASSIC_N || m->n_features < 1)
        return scarp_fail(SCARP_ERR_USAGE, "%s: cannot save an untrained model", path);
    wbuf b = {0};
    const int F = m->n_features;
    put(&b, CLS_MAGIC, 8);
    PUT(&b, (uint32_t)CLS_VERSION);
    PUT(&b, (uint32_t)m->kind);
    PUT(&b, (int32_t)F);
    PUT(&b, (uint64_t)norm_bytes);
    put(&b, norm, norm_bytes);
    PUT(&b, (double)m->val_auc);
    uint32_t has_std = m->mean != NULL;
    PUT(&b, has_std);
    if (has_std) {
        put(&b, m->mean, (size_t)F * sizeof(float));
        put(&b, m->scale, (size_t)F * sizeof(float));
    }
    switch (m->kind) {
    case SCARP_CLASSIC_SVM:
        PUT(&b, (int32_t)m->n_sv);
        PUT(&b, m->gamma);
        PUT(&b, m->c);
        PUT(&b, m->rho);
        PUT(&b, m->prob_a);
        PUT(&b, m->prob_b);
        put(&b, m->sv, (size_t)m->n_sv * F * sizeof(float));
        put(&b, m->sv_coef, (size_t)m->n_sv * sizeof(double));
        break;
    case SCARP_CLASSIC_LOGREG:
        PUT(&b, m->logreg_c);
        PUT(&b, m->intercept);
        put(&b, m->coef, (size_t)F * sizeof(double));
        break;
    default:
        PUT(&b, (int32_t)m->n_trees);
        PUT(&b, (int32_t)m->max_depth);
        PUT(&b, (int32_t)m->min_leaf);
        PUT(&b, (int32_t)m->mtry);
        PUT(&b, m->base_score);
        PUT(&b, m->learning_rate);
        PUT(&b, (int64_t)m->n_nodes);
        put(&b, m->tree_root, (size_t)m->n_trees * sizeof(int64_t));
        put(&b, m->nodes, (size_t)m->n_nodes * sizeof(scarp_tree_node));
        break;
    }
    uint32_t crc = b.failed ? 0 : scarp_crc32(0, b.p, b.n);
    PUT(&b, crc);
    if (b.failed) {
        scarp_free(b.p);
        return scarp_fail(SCARP_ERR_NOMEM, "%s: out of memory while serialising the model", path);
    }
    scarp_status st = scarp_write_file_atomic(path, b.p, b.n);
    scarp_free(b.p);
    return st;
}

typedef struct {
    const unsigned char *p;
    size_t n, off;
    int bad;
} rbuf;

static int get(rbuf *r, void *out, size_t bytes)
{
    if (r->bad || bytes > r->n - r->off) {
        r->bad = 1;
        return -1;
    }
    if (out) memcpy(out, r->p + r->off, bytes);
    r->off += bytes;
    return 0;
}

static void *get_array(rbuf *r, size_t count, size_t size)
{
    if (r->bad || (size && count > (r->n - r->off) / size)) {
        r->bad = 1;
        return NULL;
    }
    size_t bytes = count * size;
    void *a = scarp_malloc(bytes ? bytes : 1);
    if (!a) {
        r->bad = 2;
        return NULL;
    }
    get(r, a, count * size);
    return a;
}

int scarp_classic_file_is(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[8];
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, CLS_MAGIC, 8);
    fclose(f);
    return ok;
}

scarp_status scarp_classic_load(scarp_classic *m, const char *path, void **norm, size_t *norm_bytes)
{
    memset(m, 0, sizeof *m);
    if (norm) *norm = NULL;
    if (norm_bytes) *norm_bytes = 0;
    char *data = NULL;
    size_t size = 0;
    scarp_status st = scarp_read_file(path, &data, &size);
    if (st) return st;
    if (size < 8 + 4 + 4 || memcmp(data, CLS_MAGIC, 8)) {
        scarp_free(data);
        return scarp_fail(SCARP_ERR_INPUT, "%s: not a scarp baseline model file (bad magic)", path);
    }
    uint32_t stored;
    memcpy(&stored, data + size - 4, 4);
    if (scarp_crc32(0, data, size - 4) != stored) {
        scarp_free(data);
        return scarp_fail(SCARP_ERR_INPUT, "%s: damaged model file (CRC mismatch: truncated or corrupted)", path);
    }
    rbuf r = {(const unsigned char *)data, size - 4, 8, 0};
    uint32_t version = 0, kind = 0;
    int32_t F = 0;
    uint64_t nb = 0;
    get(&r, &version, 4);
    get(&r, &kind, 4);
    get(&r, &F, 4);
    get(&r, &nb, 8);
    if (version != CLS_VERSION) {
        scarp_free(data);
        return scarp_fail(SCARP_ERR_INPUT, "%s: model format version %u, this scarp reads version %u", path, version,
                          CLS_VERSION);
    }
    if (kind >= SCARP_CLASSIC_N || F < 1 || F > 1000000 || nb > size) {
        scarp_free(data);
        return scarp_fail(SCARP_ERR_INPUT, "%s: damaged model header (kind %u, %d features)", path, kind, F);
    }
    m->kind = (scarp_classic_kind)kind;
    m->n_features = F;
    void *blob = get_array(&r, nb, 1);
    get(&r, &m->val_auc, 8);
    uint32_t has_std = 0;
    get(&r, &has_std, 4);
    if (has_std) {
        m->mean = get_array(&r, (size_t)F, sizeof(float));
        m->scale = get_array(&r, (size_t)F, sizeof(float));
    }
    if (m->kind == SCARP_CLASSIC_SVM) {
        int32_t nsv = 0;
        get(&r, &nsv, 4);
        get(&r, &m->gamma, 8);
        get(&r, &m->c, 8);
        get(&r, &m->rho, 8);
        get(&r, &m->prob_a, 8);
        get(&r, &m->prob_b, 8);
        if (nsv < 0) r.bad = 1;
        m->n_sv = nsv;
        m->sv = get_array(&r, (size_t)nsv * F, sizeof(float));
        m->sv_coef = get_array(&r, (size_t)nsv, sizeof(double));
        if (!has_std) r.bad = 1;
    } else if (m->kind == SCARP_CLASSIC_LOGREG) {
        get(&r, &m->logreg_c, 8);
        get(&r, &m->intercept, 8);
        m->coef = get_array(&r, (size_t)F, sizeof(double));
        if (!has_std) r.bad = 1;
    } else {
        int32_t T = 0, d = 0, l = 0, mt = 0;
        int64_t nn = 0;
        get(&r, &T, 4);
        get(&r, &d, 4);
        get(&r, &l, 4);
        get(&r, &mt, 4);
        get(&r, &m->base_score, 8);
        get(&r, &m->learning_rate, 8);
        get(&r, &nn, 8);
        if (T < 1 || nn < T) r.bad = 1;
        m->n_trees = T;
        m->max_depth = d;
        m->min_leaf = l;
        m->mtry = mt;
        m->n_nodes = nn;
        m->tree_root = get_array(&r, (size_t)T, sizeof(int64_t));
        m->nodes = get_array(&r, (size_t)nn, sizeof(scarp_tree_node));
        /* structural check: every child index stays inside its own tree, features in range */
        for (int32_t t = 0; !r.bad && t < T; t++) {
            int64_t a = m->tree_root[t], e = t + 1 < T ? m->tree_root[t + 1] : nn;
            if (a < 0 || e > nn || a >= e) {
                r.bad = 1;
                break;
            }
            for (int64_t k = a; k < e; k++) {
                const scarp_tree_node *q = &m->nodes[k];
                if (q->feature >= F || (q->feature >= 0 && (q->left <= k - a || a + q->left + 1 >= e))) {
                    r.bad = 1;
                    break;
                }
            }
        }
    }
    if (!r.bad && r.off != r.n) r.bad = 1;
    if (!r.bad && m->n_trees > 0 && scarp__trees_prepare(m)) r.bad = 2;
    scarp_free(data);
    if (r.bad) {
        scarp_free(blob);
        int nomem = r.bad == 2;
        scarp_classic_free(m);
        if (nomem) return SCARP_ERR_NOMEM;
        return scarp_fail(SCARP_ERR_INPUT, "%s: damaged model file (inconsistent sizes or tree structure)", path);
    }
    if (norm) *norm = blob;
    else scarp_free(blob);
    if (norm_bytes) *norm_bytes = nb;
    return SCARP_OK;
}
