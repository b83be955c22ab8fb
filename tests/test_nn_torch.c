/* test_nn_torch.c — parity with PyTorch: tests/reference/make_nn_fixtures.py builds the
 * same CNN–LSTM (small sizes) in float64 PyTorch with Keras semantics and records one
 * training step; here the C engine (float32) must match the training-mode logits, BCE,
 * L2 penalty, every gradient, the weights after one Adam step, the BN moving averages and
 * the eval-mode probabilities / branch features, within tolerances derived below from
 * float32 accumulation (they hold under every OpenBLAS kernel). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/nn.h"
#include "scarp/nn_layers.h"
#include "scarp/threads.h"

typedef struct { char name[64]; uint32_t n; const float *v; } record;
static record recs[256];
static int nrecs;
static char *blob;

static const record *find(const char *name)
{
    for (int i = 0; i < nrecs; i++)
        if (strcmp(recs[i].name, name) == 0) return &recs[i];
    fprintf(stderr, "fixture record %s missing\n", name);
    return NULL;
}

/* The tolerances follow from float32 arithmetic against float64 PyTorch. Every reduction
 * of n terms on the way contributes at most γ_n ≈ n·u relative to the sum of its absolute
 * terms (Higham 2002, §3.1), whatever order the BLAS kernel sums in; to first order the
 * relative errors of the layers on a path add up. So
 *   forward (logits, BCE, eval outputs): u · Σ over the forward reductions (conv 9·Ci + 1,
 *     batch-norm statistics over B·H·W, LSTM N·(In + U) per layer, dense In + 1);
 *   gradients: the backward path mirrors the forward one, plus the longest weight-gradient
 *     reduction over the batch (conv: B·Ho·Wo), so 2 · forward + u · that reduction.
 * Elements much smaller than their tensor are compared against 1 % of the tensor's largest
 * value (a sum's error scales with its terms, not with the cancelled result). */
static double tol_fwd, tol_grad;

static void set_tolerances(const scarp_model_spec *s, int B)
{
    const double u = 5.9604644775390625e-8;
    double n = 0, widest = 0;
    int ci = s->C, h = s->H;
    for (int k = 0; k < 3; k++) {
        const int ho = h - 2;
        n += 9.0 * ci + 1 + (double)B * (ho / 2) * (ho / 2); /* conv, then BN over the pooled map */
        widest = fmax(widest, (double)B * ho * ho);
        ci = s->filters[k];
        h = ho / 2;
    }
    int in = s->T;
    for (int l = 0; l < 2; l++) {
        n += (double)s->N * (in + s->lstm_units[l]);
        widest = fmax(widest, (double)s->N * B);
        in = s->lstm_units[l];
    }
    in = s->filters[2] + s->lstm_units[1];
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        n += in + 1.0;
        in = outs[d];
    }
    tol_fwd = n * u;
    tol_grad = 2 * tol_fwd + widest * u;
    if (getenv("SCARP_TEST_VERBOSE")) fprintf(stderr, "  tolerances: forward %.3g, gradients %.3g\n", tol_fwd, tol_grad);
}

/* |a − b| ≤ tol · (|b| + 1e-2 · max|b|) for every element. */
static void compare_tol(const char *what, const float *got, const char *name, size_t n, double tol)
{
    const record *r = find(name);
    CHECK_MSG(r && r->n == n, "%s: fixture %s has %u values, expected %zu", what, name, r ? r->n : 0, n);
    if (!r || r->n != n) return;
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(r->v[i]));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double rel = fabs((double)got[i] - r->v[i]) / (fabs(r->v[i]) + 1e-2 * scale + 1e-30);
        if (rel > worst) worst = rel;
        if (rel > tol && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: scarp %.9g, torch %.9g\n", name, i, (double)got[i], (double)r->v[i]);
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu values differ by more than %.3g relative (worst %.3g)", name, bad, n, tol,
              worst);
    if (getenv("SCARP_TEST_VERBOSE")) fprintf(stderr, "  %-18s worst rel %.3g (tolerance %.3g)\n", name, worst, tol);
}

static void compare(const char *what, const float *got, const char *name, size_t n)
{
    compare_tol(what, got, name, n, strncmp(name, "grad.", 5) ? tol_fwd : tol_grad);
}

/* Keras's first Adam step: p1 = p0 − lr_t · m / (√v + ε), m = (1 − β1) g, v = (1 − β2) g². */
static double adam_first_step(double g, double lr, double b1, double b2, double eps)
{
    const double lr_t = lr * sqrt(1 - b2) / (1 - b1), m = (1 - b1) * g, v = (1 - b2) * g * g;
    return lr_t * m / (sqrt(v) + eps);
}

/* After the step, a parameter may differ from PyTorch's by what the step does with a
 * gradient anywhere within that gradient's own tolerance δg: the step is monotone in g, so
 * the bound is max |Δ(g ± δg) − Δ(g)| (up to 2 · lr when g ≈ 0 and its sign is uncertain),
 * plus rounding: the fixture's and our float32 p1 (u·|p1| each, |p1| ≤ |p0| + |Δ|) and
 * the float32 Adam arithmetic on Δ (m, v, √, ÷: a few u·|Δ|): 4u·|p0| + 8u·|Δ| in all. */
static void compare_step(const float *got, const char *tensor, size_t n, double lr, double b1, double b2, double eps)
{
    char sname[80], gname[80], iname[80];
    snprintf(sname, sizeof sname, "step.%s", tensor);
    snprintf(gname, sizeof gname, "grad.%s", tensor);
    snprintf(iname, sizeof iname, "init.%s", tensor);
    const record *rs = find(sname), *rg = find(gname), *ri = find(iname);
    CHECK_MSG(rs && rg && ri && rs->n == n && rg->n == n && ri->n == n, "%s: fixture records missing", sname);
    if (!rs || !rg || !ri || rs->n != n || rg->n != n || ri->n != n) return;
    double gscale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) gscale = fmax(gscale, fabs(rg->v[i]));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double g = rg->v[i], dg = tol_grad * (fabs(g) + 1e-2 * gscale);
        const double d0 = adam_first_step(g, lr, b1, b2, eps);
        const double tol = fmax(fabs(adam_first_step(g + dg, lr, b1, b2, eps) - d0),
                                fabs(adam_first_step(g - dg, lr, b1, b2, eps) - d0)) +
                           5.9604644775390625e-8 * (4 * fabs(ri->v[i]) + 8 * fabs(d0));
        const double diff = fabs((double)got[i] - rs->v[i]);
        worst = fmax(worst, diff / tol);
        if (diff > tol && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: scarp %.9g, torch %.9g, bound %.3g (g %.3g ± %.3g)\n", sname, i,
                    (double)got[i], (double)rs->v[i], tol, g, dg);
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu values outside the step's bound (worst %.3g of it)", sname, bad, n, worst);
    if (getenv("SCARP_TEST_VERBOSE")) fprintf(stderr, "  %-18s worst %.3g of the step bound\n", sname, worst);
}

/* Points at every tensor with its fixture name and size. */
typedef struct { const char *name; float *p; float *g; size_t n; } tensor;

static int tensors(scarp_model *m, tensor *t)
{
    const scarp_model_spec *s = &m->spec;
    int n = 0, ci = s->C, in = s->T;
    static char names[64][32];
#define ADD(fmt, idx, field, count) do { snprintf(names[n], 32, fmt, idx); \
        t[n] = (tensor){names[n], m->p.field, m->g.field, (size_t)(count)}; n++; } while (0)
    for (int k = 0; k < 3; k++) {
        const int co = s->filters[k];
        ADD("conv_w%d", k, conv_w[k], co * ci * 9);
        ADD("conv_b%d", k, conv_b[k], co);
        ADD("bn_gamma%d", k, bn_gamma[k], co);
        ADD("bn_beta%d", k, bn_beta[k], co);
        ci = co;
    }
    for (int l = 0; l < 2; l++) {
        const int u = s->lstm_units[l];
        ADD("lstm_wx%d", l, lstm_wx[l], in * 4 * u);
        ADD("lstm_wh%d", l, lstm_wh[l], u * 4 * u);
        ADD("lstm_b%d", l, lstm_b[l], 4 * u);
        in = u;
    }
    in = m->head_in;
    const int outs[3] = {s->dense[0], s->dense[1], 1};
    for (int d = 0; d < 3; d++) {
        ADD("dense_w%d", d, dense_w[d], in * outs[d]);
        ADD("dense_b%d", d, dense_b[d], outs[d]);
        in = outs[d];
    }
#undef ADD
    return n;
}

static void test_torch_parity(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/reference/nn_fixture.bin", SCARP_SOURCE_DIR);
    size_t bytes;
    CHECK_OK(scarp_read_file(path, &blob, &bytes));
    if (!blob) return;
    for (size_t off = 0; off + 8 <= bytes && nrecs < 256;) {
        uint32_t ln, n;
        memcpy(&ln, blob + off, 4);
        record *r = &recs[nrecs++];
        memcpy(r->name, blob + off + 4, ln < 63 ? ln : 63);
        memcpy(&n, blob + off + 4 + ln, 4);
        r->n = n;
        r->v = (const float *)(blob + off + 8 + ln); /* 4-byte names keep floats aligned often; copy if not */
        if (((uintptr_t)r->v) % 4) {
            float *c = malloc(sizeof(float) * n);
            memcpy(c, r->v, sizeof(float) * n);
            r->v = c;
        }
        off += 8 + ln + 4 * (size_t)n;
    }
    const record *sp = find("spec");
    CHECK(sp && sp->n == 13);
    if (!sp || sp->n != 13) return;
    const int B = (int)sp->v[0];
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_CNN_LSTM);
    s.C = (int)sp->v[1]; s.H = (int)sp->v[2]; s.W = (int)sp->v[3]; s.N = (int)sp->v[4]; s.T = (int)sp->v[5];
    for (int k = 0; k < 3; k++) s.filters[k] = (int)sp->v[6 + k];
    s.lstm_units[0] = (int)sp->v[9]; s.lstm_units[1] = (int)sp->v[10];
    s.dense[0] = (int)sp->v[11]; s.dense[1] = (int)sp->v[12];
    set_tolerances(&s, B);
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 1));
    tensor t[64];
    const int nt = tensors(&m, t);
    char name[64];
    for (int i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "init.%s", t[i].name);
        const record *r = find(name);
        CHECK(r && r->n == t[i].n);
        if (r && r->n == t[i].n) memcpy(t[i].p, r->v, sizeof(float) * t[i].n);
    }
    const record *pa = find("patches"), *se = find("seq"), *la = find("labels");
    if (!pa || !se || !la) return;
    scarp_nn_data d = {pa->v, se->v, NULL, la->v, (size_t)B};
    size_t idx[64];
    for (int i = 0; i < B; i++) idx[i] = (size_t)i;
    scarp_nn_workspace *ws;
    CHECK_OK(scarp_nn_workspace_new_train(&m, B, &ws));
    memset(m.grads, 0, sizeof(float) * m.n_params);
    double bce = 0, pen = 0;
    float prob[64], logit[64];
    /* no rng: dropout and recurrent dropout off, as in the reference */
    CHECK_OK(scarp_model_forward_backward(&m, ws, &d, idx, B, NULL, 1, &bce, &pen, prob));
    for (int i = 0; i < B; i++) logit[i] = logf(prob[i] / (1.0f - prob[i]));
    compare("logits", logit, "logits", (size_t)B);
    float v[2] = {(float)bce, (float)pen};
    compare("bce", v, "bce", 1);
    compare("penalty", v + 1, "penalty", 1);
    for (int i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "grad.%s", t[i].name);
        compare(name, t[i].g, name, t[i].n);
    }
    m.adam_t++;
    scarp_adam_update(m.params, m.grads, m.adam_m, m.adam_v, m.n_params, 1e-3f, 0.9f, 0.999f, 1e-7f, m.adam_t);
    for (int i = 0; i < nt; i++) compare_step(t[i].p, t[i].name, t[i].n, 1e-3, 0.9, 0.999, 1e-7);
    for (int k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "bn_mean%d", k);
        compare(name, m.bn_mean[k], name, (size_t)s.filters[k]);
        snprintf(name, sizeof name, "bn_var%d", k);
        compare(name, m.bn_var[k], name, (size_t)s.filters[k]);
    }
    /* eval mode with the updated weights and moving averages */
    float pe[64], fc[64 * 64], fl[64 * 64];
    CHECK_OK(scarp_model_predict(&m, pa->v, se->v, NULL, B, pe));
    compare("eval.prob", pe, "eval.prob", (size_t)B);
    scarp_nn_workspace *ev;
    CHECK_OK(scarp_nn_workspace_new(&m, 3, &ev)); /* 3 < B: chunked */
    CHECK_OK(scarp_model_cnn_features(&m, ev, pa->v, B, fc));
    CHECK_OK(scarp_model_lstm_features(&m, ev, se->v, B, fl));
    compare("eval.cnn", fc, "eval.cnn", (size_t)B * m.cnn_features);
    compare("eval.lstm", fl, "eval.lstm", (size_t)B * m.lstm_features);
    scarp_nn_workspace_free(ev);
    scarp_nn_workspace_free(ws);
    scarp_model_free(&m);
    scarp_free(blob);
}

int main(void)
{
    scarp_threads_set(2);
    RUN(test_torch_parity);
    return check_summary();
}
