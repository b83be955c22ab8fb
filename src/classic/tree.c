/* tree.c — CART (Breiman, Friedman, Olshen & Stone 1984, "Classification and Regression
 * Trees"): binary splits x[f] <= t at midpoints between consecutive distinct values,
 * Gini impurity for classification, squared error (or the Newton gain Σg²/Σh of
 * Friedman 2001 / Chen & Guestrin 2016 when hessians are given) for boosting. Rows carry
 * weights (bootstrap counts). Depth and leaf size of the single tree are tuned on the
 * validation AUC. The builder is shared by forest.c and gboost.c; trees are stored
 * flattened (children adjacent) so prediction is a tight loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/eval.h"
#include "scarp/rng.h"

typedef struct {
    float v;
    uint32_t row;
} fv_pair;

struct scarp__tree_builder {
    size_t cap_rows;
    int n_features;
    uint32_t *rows;   /* (n) active rows, partitioned in place node by node */
    uint32_t *tmp;    /* (n) partition scratch */
    fv_pair *pairs;   /* (n) sort scratch */
    int *feat_order;  /* (F) */
    scarp_tree_node *nodes;
    int64_t n_nodes, cap_nodes;
    struct stack_item { int64_t node; size_t start, end; int depth; } *stack;
    size_t cap_stack;
};

scarp__tree_builder *scarp__tree_builder_new(size_t n, int n_features)
{
    scarp__tree_builder *b = scarp_calloc(1, sizeof *b);
    if (!b) return NULL;
    b->cap_rows = n;
    b->n_features = n_features;
    b->rows = scarp_malloc((n ? n : 1) * sizeof *b->rows);
    b->tmp = scarp_malloc((n ? n : 1) * sizeof *b->tmp);
    b->pairs = scarp_malloc((n ? n : 1) * sizeof *b->pairs);
    b->feat_order = scarp_malloc((size_t)(n_features ? n_features : 1) * sizeof *b->feat_order);
    b->cap_stack = 256;
    b->stack = scarp_malloc(b->cap_stack * sizeof *b->stack);
    if (!b->rows || !b->tmp || !b->pairs || !b->feat_order || !b->stack) {
        scarp__tree_builder_free(b);
        return NULL;
    }
    return b;
}

void scarp__tree_builder_free(scarp__tree_builder *b)
{
    if (!b) return;
    scarp_free(b->rows);
    scarp_free(b->tmp);
    scarp_free(b->pairs);
    scarp_free(b->feat_order);
    scarp_free(b->nodes);
    scarp_free(b->stack);
    scarp_free(b);
}

static int pair_cmp(const void *a, const void *b)
{
    const fv_pair *p = a, *q = b;
    if (p->v < q->v) return -1;
    if (p->v > q->v) return 1;
    return (p->row > q->row) - (p->row < q->row);
}

static int64_t new_nodes(scarp__tree_builder *b, int count)
{
    if (b->n_nodes + count > b->cap_nodes) {
        int64_t cap = b->cap_nodes ? b->cap_nodes * 2 : 256;
        while (cap < b->n_nodes + count) cap *= 2;
        scarp_tree_node *nn = scarp_realloc(b->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        b->nodes = nn;
        b->cap_nodes = cap;
    }
    int64_t id = b->n_nodes;
    b->n_nodes += count;
    for (int k = 0; k < count; k++) b->nodes[id + k] = (scarp_tree_node){0, -1, -1, 0};
    return id;
}

static int push(scarp__tree_builder *b, size_t *top, int64_t node, size_t start, size_t end, int depth)
{
    if (*top == b->cap_stack) {
        void *ns = scarp_realloc(b->stack, 2 * b->cap_stack * sizeof *b->stack);
        if (!ns) return -1;
        b->stack = ns;
        b->cap_stack *= 2;
    }
    b->stack[(*top)++] = (struct stack_item){node, start, end, depth};
    return 0;
}

scarp_status scarp__tree_build(scarp__tree_builder *b, const float *X, const double *target, const double *hess,
                               const double *weight, size_t n, int F, int max_depth, int min_leaf, int mtry,
                               int regression, uint64_t seed, uint64_t stream, scarp_tree_node **nodes_out,
                               int64_t *n_nodes_out)
{
    *nodes_out = NULL;
    *n_nodes_out = 0;
    if (n > b->cap_rows || F != b->n_features || n > UINT32_MAX)
        return scarp_fail(SCARP_ERR_INTERNAL, "tree builder sized for %zu rows, %d features; got %zu, %d",
                          b->cap_rows, b->n_features, n, F);
    if (min_leaf < 1) min_leaf = 1;
    if (mtry < 1 || mtry > F) mtry = F;
    scarp_rng rng;
    scarp_rng_stream(&rng, seed, stream);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!weight || weight[i] > 0) b->rows[m++] = (uint32_t)i;
    if (m == 0) return scarp_fail(SCARP_ERR_INPUT, "tree: no training rows");
    b->n_nodes = 0;
    size_t top = 0;
    int64_t root = new_nodes(b, 1);
    if (root < 0 || push(b, &top, root, 0, m, 0)) return SCARP_ERR_NOMEM;
    for (int f = 0; f < F; f++) b->feat_order[f] = f;

    while (top > 0) {
        struct stack_item it = b->stack[--top];
        size_t s = it.start, e = it.end, cnt = e - s;
        /* node totals: W = Σw, S = Σ w·target, H = Σ w·hess (denominator of the leaf value) */
        double W = 0, S = 0, H = 0;
        for (size_t k = s; k < e; k++) {
            uint32_t r = b->rows[k];
            double w = weight ? weight[r] : 1.0;
            W += w;
            S += w * target[r];
            H += w * (hess ? hess[r] : 1.0);
        }
        float value = (float)(H > 0 ? S / H : 0.0);
        int pure = 0;
        if (!regression) pure = S <= 0 || S >= W;
        else {
            pure = 1;
            for (size_t k = s + 1; k < e && pure; k++) pure = target[b->rows[k]] == target[b->rows[s]];
        }
        if (pure || cnt < 2 * (size_t)min_leaf || (max_depth > 0 && it.depth >= max_depth)) {
            b->nodes[it.node].threshold = value;
            continue;
        }
        /* search the features in a random order (Fisher–Yates on the feature list); after mtry
         * features stop as soon as one valid split has been found (as scikit-learn does) */
        double best_score = -INFINITY;
        int best_f = -1;
        float best_t = 0;
        double parent_score = regression ? S * S / H : 0.0; /* unused for gini */
        (void)parent_score;
        for (int j = 0; j < F; j++) {
            if (j >= mtry && best_f >= 0) break;
            int pick = j + (int)scarp_rng_below(&rng, (uint64_t)(F - j));
            int tmpf = b->feat_order[j];
            b->feat_order[j] = b->feat_order[pick];
            b->feat_order[pick] = tmpf;
            int f = b->feat_order[j];
            for (size_t k = s; k < e; k++) b->pairs[k - s] = (fv_pair){X[(size_t)b->rows[k] * F + f], b->rows[k]};
            qsort(b->pairs, cnt, sizeof *b->pairs, pair_cmp);
            if (b->pairs[0].v == b->pairs[cnt - 1].v) continue; /* constant here */
            double wl = 0, sl = 0, hl = 0;
            for (size_t k = 0; k + 1 < cnt; k++) {
                uint32_t r = b->pairs[k].row;
                double w = weight ? weight[r] : 1.0;
                wl += w;
                sl += w * target[r];
                hl += w * (hess ? hess[r] : 1.0);
                if (k + 1 < (size_t)min_leaf) continue;
                if (cnt - (k + 1) < (size_t)min_leaf) break;
                if (b->pairs[k].v == b->pairs[k + 1].v) continue;
                double wr = W - wl, sr = S - sl, hr = H - hl, score;
                if (regression) {
                    /* maximise Σ S²/H over the children (less squared error / more Newton gain) */
                    score = (hl > 0 ? sl * sl / hl : 0) + (hr > 0 ? sr * sr / hr : 0);
                } else {
                    /* minimise W_L·gini_L + W_R·gini_R, gini = 2p(1−p) */
                    double gl = wl > 0 ? 2.0 * sl * (wl - sl) / wl : 0, gr = wr > 0 ? 2.0 * sr * (wr - sr) / wr : 0;
                    score = -(gl + gr);
                }
                if (score > best_score) {
                    best_score = score;
                    best_f = f;
                    float lo = b->pairs[k].v, hi = b->pairs[k + 1].v;
                    float t = lo + (hi - lo) * 0.5f;
                    if (!(t < hi)) t = lo; /* rounding: keep lo <= t < hi */
                    best_t = t;
                }
            }
        }
        if (best_f < 0) {
            b->nodes[it.node].threshold = value;
            continue;
        }
        /* stable partition of rows[s, e) */
        size_t nl = 0, nr = 0;
        for (size_t k = s; k < e; k++) {
            uint32_t r = b->rows[k];
            if (X[(size_t)r * F + best_f] <= best_t) b->rows[s + nl++] = r;
            else b->tmp[nr++] = r;
        }
        memcpy(b->rows + s + nl, b->tmp, nr * sizeof *b->tmp);
        int64_t left = new_nodes(b, 2);
        if (left < 0) return SCARP_ERR_NOMEM;
        b->nodes[it.node].feature = best_f;
        b->nodes[it.node].threshold = best_t;
        b->nodes[it.node].left = (int32_t)left;
        if (push(b, &top, left + 1, s + nl, e, it.depth + 1) || push(b, &top, left, s, s + nl, it.depth + 1))
            return SCARP_ERR_NOMEM;
    }
    scarp_tree_node *out = scarp_malloc((size_t)b->n_nodes * sizeof *out);
    if (!out) return SCARP_ERR_NOMEM;
    memcpy(out, b->nodes, (size_t)b->n_nodes * sizeof *out);
    *nodes_out = out;
    *n_nodes_out = b->n_nodes;
    return SCARP_OK;
}

/* One tree into m (replacing any trees). */
static scarp_status tree_fit(scarp_classic *m, const float *X, const uint8_t *y, size_t n, int F, int depth, int leaf,
                             uint64_t seed, scarp__tree_builder *b, double *target)
{
    scarp_tree_node *nodes;
    int64_t nn;
    scarp_status st = scarp__tree_build(b, X, target, NULL, NULL, n, F, depth, leaf, F, 0, seed, 0, &nodes, &nn);
    if (st) return st;
    scarp_free(m->nodes);
    scarp_free(m->tree_root);
    m->tree_root = scarp_malloc(sizeof *m->tree_root);
    if (!m->tree_root) {
        scarp_free(nodes);
        m->nodes = NULL;
        return SCARP_ERR_NOMEM;
    }
    m->tree_root[0] = 0;
    m->nodes = nodes;
    m->n_nodes = nn;
    m->n_trees = 1;
    m->max_depth = depth;
    m->min_leaf = leaf;
    return scarp__trees_prepare(m);
}

scarp_status scarp__tree_train(scarp_classic *m, const scarp_classic_params *p, const float *X, const uint8_t *y,
                               size_t n, const float *Xv, const uint8_t *yv, size_t nv)
{
    int F = m->n_features;
    scarp__tree_builder *b = scarp__tree_builder_new(n, F);
    double *target = scarp_malloc(n * sizeof *target);
    float *pv = scarp_malloc((nv ? nv : 1) * sizeof *pv);
    scarp_status st = SCARP_OK;
    if (!b || !target || !pv) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (size_t i = 0; i < n; i++) target[i] = y[i] ? 1.0 : 0.0;
    static const int depths[] = {3, 5, 8, 12, 0}, leaves[] = {20, 5, 1};
    int tune_depth = p->max_depth == 0 && nv > 0, tune_leaf = p->min_leaf == 0 && nv > 0;
    int best_d = p->max_depth, best_l = p->min_leaf > 0 ? p->min_leaf : 1;
    m->val_auc = NAN;
    if (tune_depth || tune_leaf) {
        double best = -INFINITY;
        for (int di = 0; di < 5; di++) {
            int d = tune_depth ? depths[di] : p->max_depth;
            if (!tune_depth && di > 0) break;
            for (int li = 0; li < 3; li++) {
                int l = tune_leaf ? leaves[li] : best_l;
                if (!tune_leaf && li > 0) break;
                if ((st = tree_fit(m, X, y, n, F, d, l, p->seed, b, target))) goto end;
                if ((st = scarp__trees_predict(m, Xv, nv, pv))) goto end;
                double auc;
                if (scarp_auc(pv, yv, nv, &auc) != SCARP_OK) auc = 0.5; /* one class only in val */
                /* strict >: on ties the simpler tree (smaller depth, larger leaf) wins */
                if (auc > best + 1e-12) {
                    best = auc;
                    best_d = d;
                    best_l = l;
                }
            }
        }
        m->val_auc = best;
    }
    st = tree_fit(m, X, y, n, F, best_d, best_l, p->seed, b, target);
end:
    scarp__tree_builder_free(b);
    scarp_free(target);
    scarp_free(pv);
    return st;
}

scarp_status scarp__trees_prepare(scarp_classic *m)
{
    scarp_free(m->walk);
    scarp_free(m->leaf_value);
    scarp_free(m->tree_depth);
    const int64_t nn = m->n_nodes;
    m->walk = scarp_malloc((size_t)(nn ? nn : 1) * sizeof *m->walk);
    m->leaf_value = scarp_calloc((size_t)(nn ? nn : 1), sizeof *m->leaf_value);
    m->tree_depth = scarp_calloc((size_t)(m->n_trees ? m->n_trees : 1), sizeof *m->tree_depth);
    int32_t *depth = scarp_calloc((size_t)(nn ? nn : 1), sizeof *depth);
    if (!m->walk || !m->leaf_value || !m->tree_depth || !depth) {
        scarp_free(depth);
        return SCARP_ERR_NOMEM;
    }
    for (int t = 0; t < m->n_trees; t++) {
        int64_t a = m->tree_root[t], e = t + 1 < m->n_trees ? m->tree_root[t + 1] : nn;
        int32_t dmax = 0;
        /* children always come after their parent, so one forward pass gives every depth */
        for (int64_t k = a; k < e; k++) {
            const scarp_tree_node *q = &m->nodes[k];
            if (q->feature >= 0) {
                depth[a + q->left] = depth[a + q->left + 1] = depth[k] + 1;
                m->walk[k] = *q;
            } else {
                m->walk[k] = (scarp_tree_node){INFINITY, 0, (int32_t)(k - a), 0};
                m->leaf_value[k] = q->threshold;
                if (depth[k] > dmax) dmax = depth[k];
            }
        }
        m->tree_depth[t] = dmax;
    }
    scarp_free(depth);
    return SCARP_OK;
}

/* Forest mean / single tree / boosted logit → probability. Rows in blocks of 64: for each
 * tree, every row of the block steps down one level at a time for tree_depth steps (leaves
 * loop on themselves), so the 64 walks are independent loads the CPU overlaps instead of
 * one unpredictable branch per node; trees are summed in a fixed order. */
scarp_status scarp__trees_predict(const scarp_classic *m, const float *X, size_t n, float *prob)
{
    const int F = m->n_features, T = m->n_trees;
    const int boosted = m->kind == SCARP_CLASSIC_GBOOST;
    enum { BLK = 64 };
    const int64_t nblocks = (int64_t)((n + BLK - 1) / BLK);
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < nblocks; blk++) {
        double acc[BLK];
        int32_t k[BLK];
        const size_t r0 = (size_t)blk * BLK, nb = r0 + BLK < n ? BLK : n - r0;
        const float *xb = X + r0 * (size_t)F;
        for (size_t r = 0; r < nb; r++) acc[r] = 0;
        for (int t = 0; t < T; t++) {
            const scarp_tree_node *restrict tree = m->walk + m->tree_root[t];
            const float *restrict val = m->leaf_value + m->tree_root[t];
            const int D = m->tree_depth[t];
            for (size_t r = 0; r < nb; r++) k[r] = 0;
            for (int d = 0; d < D; d++)
                for (size_t r = 0; r < nb; r++) {
                    const scarp_tree_node q = tree[k[r]];
                    k[r] = q.left + (xb[r * (size_t)F + (size_t)q.feature] > q.threshold);
                }
            for (size_t r = 0; r < nb; r++) acc[r] += val[k[r]];
        }
        for (size_t r = 0; r < nb; r++) {
            if (boosted) prob[r0 + r] = (float)(1.0 / (1.0 + exp(-(m->base_score + m->learning_rate * acc[r]))));
            else prob[r0 + r] = (float)(acc[r] / T);
        }
    }
    return SCARP_OK;
}

scarp_status scarp__trees_pack(scarp_classic *m, scarp_tree_node *const *trees, const int64_t *counts, int T)
{
    int64_t total = 0;
    for (int t = 0; t < T; t++) total += counts[t];
    m->nodes = scarp_malloc((size_t)total * sizeof *m->nodes);
    m->tree_root = scarp_malloc((size_t)T * sizeof *m->tree_root);
    if (!m->nodes || !m->tree_root) return SCARP_ERR_NOMEM;
    int64_t off = 0;
    for (int t = 0; t < T; t++) {
        m->tree_root[t] = off;
        memcpy(m->nodes + off, trees[t], (size_t)counts[t] * sizeof *m->nodes);
        off += counts[t];
    }
    m->n_nodes = total;
    m->n_trees = T;
    return scarp__trees_prepare(m);
}
