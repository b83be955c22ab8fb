/* fuzz_model.c — libFuzzer target for the model-file loaders: the network model file
 * (src/nn/modelfile.c: scarp_model_load, scarp_model_describe), the baseline model file
 * (src/classic/classic.c: scarp_classic_load) and the normalisation blob they carry
 * (src/data/normalize.c: scarp_norm_deserialize). Input: byte 0 is a control byte —
 * bit 0 set: repair the trailing CRC-32 so mutations reach the parser behind the
 * checksum; the rest is the file. A loaded model is then used (prediction on a constant
 * input, the blob's normalisation applied) so that a header the loader accepts but the
 * consumers cannot survive is found too. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Uses a deserialised normalisation the way training and mapping do. */
static void use_norm(const scarp_norm *n)
{
    if (n->L < 0 || n->C < 0 || n->T < 0 || n->S < 0 || n->N < 0 || n->patch < 1) abort();
    const size_t hw = 2 * 2;
    float *raw = scarp_calloc((size_t)n->L * hw + 1, sizeof(float));
    float *out = scarp_calloc((size_t)n->C * hw + 1, sizeof(float));
    float *seq = scarp_calloc((size_t)n->N * n->T + 1, sizeof(float));
    float *seqn = scarp_calloc((size_t)n->N * n->T + 1, sizeof(float));
    float *sum = scarp_calloc((size_t)n->S + 1, sizeof(float));
    if (!raw || !out || !seq || !seqn || !sum) abort();
    for (size_t i = 0; i < (size_t)n->L * hw; i++) raw[i] = (i % 3 == 0) ? NAN : (float)i;
    scarp_norm_apply_window(n, raw, 2, 2, out);
    if (n->T > 0 && n->N > 0) {
        for (size_t i = 0; i < (size_t)n->N * n->T; i++) seq[i] = (float)(i % 5);
        scarp_norm_apply_sequence(n, seq, seqn);
        scarp_norm_temporal_summaries(n, seq, sum);
    }
    size_t patch_floats = (size_t)n->C * n->patch * n->patch;
    if (patch_floats <= (1u << 20)) {
        float *patch = scarp_calloc(patch_floats + 1, sizeof(float));
        float *tab = scarp_calloc((size_t)n->C + n->S + 1, sizeof(float));
        if (!patch || !tab) abort();
        scarp_norm_tabular(n, patch, n->T > 0 && n->N > 0 ? seq : NULL, tab);
        scarp_free(patch);
        scarp_free(tab);
    }
    scarp_free(raw);
    scarp_free(out);
    scarp_free(seq);
    scarp_free(seqn);
    scarp_free(sum);
}

static void use_blob(const void *blob, size_t nb)
{
    if (!blob || !nb) return;
    scarp_norm n;
    if (scarp_norm_deserialize(&n, blob, nb) == SCARP_OK) {
        use_norm(&n);
        scarp_norm_free(&n);
    } else if (!scarp_last_error()[0]) {
        abort();
    }
}

static void use_nn(scarp_model *m)
{
    const scarp_model_spec *s = &m->spec;
    size_t pf = (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN) ? (size_t)s->C * s->H * s->W : 0;
    size_t sf = (s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM) ? (size_t)s->N * s->T : 0;
    size_t tf = s->kind == SCARP_MODEL_MLP ? (size_t)s->F : 0;
    /* predict only on models whose activations stay small (the file size bounds the
     * weights, not the patch size: a 22 x 22 patch with 1e6 channels is a valid spec). */
    double act = (double)pf * (s->filters[0] + 1) + (double)sf * (s->lstm_units[0] + 1) + (double)tf * s->dense[0];
    if (act > 4e6) return;
    scarp_nn_workspace *ws = NULL;
    if (scarp_nn_workspace_new(m, 1, &ws) != SCARP_OK) {
        if (!scarp_last_error()[0]) abort();
        return;
    }
    float *patches = scarp_calloc(pf + 1, sizeof(float)), *seq = scarp_calloc(sf + 1, sizeof(float)),
          *tab = scarp_calloc(tf + 1, sizeof(float)), prob[2];
    if (!patches || !seq || !tab) abort();
    for (size_t i = 0; i < pf; i++) patches[i] = 0.5f;
    for (size_t i = 0; i < sf; i++) seq[i] = 0.25f;
    for (size_t i = 0; i < tf; i++) tab[i] = 0.75f;
    scarp_status st = scarp_model_predict_ws(m, ws, patches, seq, tab, 1, prob);
    if (st != SCARP_OK && !scarp_last_error()[0]) abort();
    scarp_nn_workspace_free(ws);
    scarp_free(patches);
    scarp_free(seq);
    scarp_free(tab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    static FILE *devnull;
    if (!path[0]) {
        fuzz_quiet();
        fuzz_path(path, sizeof path, "model.bin");
        devnull = fopen("/dev/null", "w");
    }
    if (size < 1) return 0;
    uint8_t *buf = scarp_malloc(size);
    if (!buf) abort();
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1) fuzz_fix_crc(buf, size - 1);
    fuzz_write(path, buf, size - 1);

    scarp_model m;
    void *blob = NULL;
    size_t nb = 0;
    /* tests/fuzz/crashes/model_alloc_before_size_check.bin: the loader once allocated the
     * slabs of a damaged header's architecture before checking its sizes (fixed). */
    scarp_status st = scarp_model_load(path, &m, &blob, &nb);
    fuzz_check_failure(st, path);
    if (st == SCARP_OK) {
        if (scarp_model_describe(path, devnull) != SCARP_OK) abort();
        use_blob(blob, nb);
        use_nn(&m);
        scarp_free(blob);
        scarp_model_free(&m);
    } else if (blob) {
        abort(); /* a failed load hands nothing back */
    }

    scarp_classic c;
    blob = NULL;
    st = scarp_classic_load(&c, path, &blob, &nb);
    fuzz_check_failure(st, path);
    if (st == SCARP_OK) {
        use_blob(blob, nb);
        if (c.n_features >= 1 && c.n_features <= 4096) {
            float x[2 * 4096], prob[2];
            for (int i = 0; i < 2 * c.n_features; i++) x[i] = (float)(i % 7) - 3.0f;
            st = scarp_classic_predict(&c, x, 2, prob);
            if (st != SCARP_OK && !scarp_last_error()[0]) abort();
        }
        scarp_free(blob);
        scarp_classic_free(&c);
    } else if (blob) {
        abort();
    }

    /* the raw bytes as a normalisation blob */
    use_blob(buf, size - 1);
    scarp_free(buf);
    return 0;
}
