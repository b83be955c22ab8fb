/* test_nn_torch.c — parity with PyTorch: tests/reference/make_nn_fixtures.py builds the
 * same CNN–LSTM (small sizes) in float64 PyTorch with Keras semantics and records one
 * training step; here the C engine (float32) must match the training-mode logits, BCE,
 * L2 penalty, every gradient, the weights after one Adam step, the BN moving averages and
 * the eval-mode probabilities / branch features within 1e-4 relative. */
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

/* |a − b| ≤ 1e-4 · (|b| + 1e-2 · max|b|) for every element: 1e-4 relative, with a floor
 * at 1 % of the tensor's scale for elements that are nearly zero. */
static void compare(const char *what, const float *got, const char *name, size_t n)
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
        if (rel > 1e-4 && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: scarp %.9g, torch %.9g\n", name, i, (double)got[i], (double)r->v[i]);
    }
    CHECK_MSG(bad == 0, "%s: %zu of %zu values differ by more than 1e-4 relative (worst %.3g)", name, bad, n, worst);
    if (getenv("SCARP_TEST_VERBOSE")) fprintf(stderr, "  %-18s worst rel %.3g\n", name, worst);
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
    for (int i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "step.%s", t[i].name);
        compare(name, t[i].p, name, t[i].n);
    }
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
