/* modelfile.c — the network model file: magic, format version, architecture and sizes,
 * an opaque normalisation blob (written by the dataset stage), weights, BN statistics and
 * a CRC-32; written crash-safely (partial name + rename). Layout: include/scarp/nn.h. */
#include <inttypes.h>
#include <string.h>

#include "nn_internal.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"

static const char MAGIC[8] = {'S', 'C', 'A', 'R', 'P', 'N', 'N', '\0'};
#define HEADER_BYTES (8 + 4 + 4 + 6 * 4 + 7 * 4 + 3 * 4 + 3 * 8)

static void put(unsigned char **p, const void *v, size_t n) { memcpy(*p, v, n); *p += n; }
static void get(const unsigned char **p, void *v, size_t n) { memcpy(v, *p, n); *p += n; }

scarp_status scarp_model_save(const char *path, const scarp_model *m, const void *norm_blob, size_t norm_bytes)
{
    if (norm_bytes && !norm_blob) return scarp_fail(SCARP_ERR_USAGE, "%s: normalisation blob of %zu bytes is NULL", path, norm_bytes);
    const size_t total = HEADER_BYTES + norm_bytes + sizeof(float) * (m->n_params + m->n_stats) + 4;
    unsigned char *buf = scarp_malloc(total), *p = buf;
    if (!buf) return SCARP_ERR_NOMEM;
    const scarp_model_spec *s = &m->spec;
    const uint32_t version = SCARP_MODEL_FORMAT_VERSION, kind = (uint32_t)s->kind;
    const int32_t sizes[13] = {s->C, s->H, s->W, s->N, s->T, s->F, s->filters[0], s->filters[1], s->filters[2],
                               s->lstm_units[0], s->lstm_units[1], s->dense[0], s->dense[1]};
    const float hyper[3] = {s->dropout, s->recurrent_dropout, s->l2};
    const uint64_t counts[3] = {m->n_params, m->n_stats, norm_bytes};
    put(&p, MAGIC, 8);
    put(&p, &version, 4);
    put(&p, &kind, 4);
    put(&p, sizes, sizeof sizes);
    put(&p, hyper, sizeof hyper);
    put(&p, counts, sizeof counts);
    if (norm_bytes) put(&p, norm_blob, norm_bytes);
    put(&p, m->params, sizeof(float) * m->n_params);
    if (m->n_stats) put(&p, m->stats, sizeof(float) * m->n_stats);
    const uint32_t crc = scarp_crc32(0, buf, (size_t)(p - buf));
    put(&p, &crc, 4);
    scarp_status st = scarp_write_file_atomic(path, buf, total);
    scarp_free(buf);
    return st;
}

/* Parses and validates the file; on success *spec and the section offsets are set. */
static scarp_status parse(const char *path, const unsigned char *buf, size_t bytes, scarp_model_spec *spec,
                          uint64_t counts[3], size_t *blob_off, uint32_t *crc_out)
{
    if (bytes < 8 || memcmp(buf, MAGIC, 8) != 0)
        return scarp_fail(SCARP_ERR_INPUT, "%s: not a scarp network model file (bad magic)", path);
    if (bytes < HEADER_BYTES)
        return scarp_fail(SCARP_ERR_INPUT, "%s: truncated model file (%zu bytes, header alone is %d)", path, bytes, HEADER_BYTES);
    const unsigned char *p = buf + 8;
    uint32_t version, kind;
    int32_t sizes[13];
    float hyper[3];
    get(&p, &version, 4);
    get(&p, &kind, 4);
    get(&p, sizes, sizeof sizes);
    get(&p, hyper, sizeof hyper);
    get(&p, counts, 3 * sizeof(uint64_t));
    if (version != SCARP_MODEL_FORMAT_VERSION)
        return scarp_fail(SCARP_ERR_INPUT, "%s: model format version %u, this scarp reads version %d", path, version,
                          SCARP_MODEL_FORMAT_VERSION);
    if (kind > SCARP_MODEL_MLP) return scarp_fail(SCARP_ERR_INPUT, "%s: unknown model kind %u", path, kind);
    if (counts[0] > ((uint64_t)1 << 34) || counts[1] > ((uint64_t)1 << 34) || counts[2] > ((uint64_t)1 << 40))
        return scarp_fail(SCARP_ERR_INPUT, "%s: implausible section sizes (damaged header)", path);
    const uint64_t expect = HEADER_BYTES + counts[2] + 4 * (counts[0] + counts[1]) + 4;
    if (bytes < expect)
        return scarp_fail(SCARP_ERR_INPUT, "%s: truncated model file (%zu of %" PRIu64 " bytes)", path, bytes, expect);
    if (bytes > expect)
        return scarp_fail(SCARP_ERR_INPUT, "%s: %" PRIu64 " unexpected trailing bytes after the model", path, bytes - expect);
    uint32_t crc;
    memcpy(&crc, buf + bytes - 4, 4);
    if (scarp_crc32(0, buf, bytes - 4) != crc)
        return scarp_fail(SCARP_ERR_INPUT, "%s: checksum mismatch: the model file is damaged", path);
    memset(spec, 0, sizeof *spec);
    spec->kind = (scarp_model_kind)kind;
    spec->C = sizes[0]; spec->H = sizes[1]; spec->W = sizes[2]; spec->N = sizes[3]; spec->T = sizes[4]; spec->F = sizes[5];
    for (int k = 0; k < 3; k++) spec->filters[k] = sizes[6 + k];
    spec->lstm_units[0] = sizes[9]; spec->lstm_units[1] = sizes[10];
    spec->dense[0] = sizes[11]; spec->dense[1] = sizes[12];
    spec->dropout = hyper[0]; spec->recurrent_dropout = hyper[1]; spec->l2 = hyper[2];
    if (scarp_model_spec_check(spec) != SCARP_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", scarp_last_error());
        return scarp_fail(SCARP_ERR_INPUT, "%s: invalid architecture in the model file: %s", path, why);
    }
    *blob_off = HEADER_BYTES;
    *crc_out = crc;
    return SCARP_OK;
}

scarp_status scarp_model_load(const char *path, scarp_model *m, void **norm_blob, size_t *norm_bytes)
{
    memset(m, 0, sizeof *m);
    if (norm_blob) *norm_blob = NULL;
    if (norm_bytes) *norm_bytes = 0;
    char *buf = NULL;
    size_t bytes = 0;
    scarp_status st = scarp_read_file(path, &buf, &bytes);
    if (st) return st;
    scarp_model_spec spec;
    uint64_t counts[3];
    size_t off;
    uint32_t crc;
    if ((st = parse(path, (const unsigned char *)buf, bytes, &spec, counts, &off, &crc))) goto end;
    size_t want_params, want_stats;
    if ((st = nn_model_counts(&spec, &want_params, &want_stats))) goto end;
    if (want_params != counts[0] || want_stats != counts[1]) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: architecture mismatch: %" PRIu64 " weights and %" PRIu64
                        " statistics stored, the %s architecture has %zu and %zu", path, counts[0], counts[1],
                        scarp_model_kind_name(spec.kind), want_params, want_stats);
        goto end;
    }
    if ((st = nn_model_alloc(m, &spec))) goto end;
    const unsigned char *p = (const unsigned char *)buf + off;
    if (norm_blob && counts[2]) {
        if (!(*norm_blob = scarp_malloc(counts[2]))) { st = SCARP_ERR_NOMEM; scarp_model_free(m); goto end; }
        memcpy(*norm_blob, p, counts[2]);
    }
    if (norm_bytes) *norm_bytes = counts[2];
    p += counts[2];
    memcpy(m->params, p, sizeof(float) * m->n_params);
    p += sizeof(float) * m->n_params;
    if (m->n_stats) memcpy(m->stats, p, sizeof(float) * m->n_stats);
end:
    scarp_free(buf);
    return st;
}

scarp_status scarp_model_describe(const char *path, FILE *out)
{
    char *buf = NULL;
    size_t bytes = 0;
    scarp_status st = scarp_read_file(path, &buf, &bytes);
    if (st) return st;
    scarp_model_spec s;
    uint64_t counts[3];
    size_t off;
    uint32_t crc;
    if ((st = parse(path, (const unsigned char *)buf, bytes, &s, counts, &off, &crc))) { scarp_free(buf); return st; }
    fprintf(out, "%s: scarp network model, format version %d, %zu bytes, CRC-32 %08x\n", path,
            SCARP_MODEL_FORMAT_VERSION, bytes, crc);
    fprintf(out, "  kind              %s\n", scarp_model_kind_name(s.kind));
    if (s.kind == SCARP_MODEL_CNN_LSTM || s.kind == SCARP_MODEL_CNN)
        fprintf(out, "  CNN branch        patch %d x %d x %d; conv 3x3 %d, %d, %d filters (ReLU, max-pool 2x2, batch norm)\n",
                s.C, s.H, s.W, s.filters[0], s.filters[1], s.filters[2]);
    if (s.kind == SCARP_MODEL_CNN_LSTM || s.kind == SCARP_MODEL_LSTM)
        fprintf(out, "  LSTM branch       %d steps x %d variables; LSTM %d (sequences) -> LSTM %d (last state); recurrent dropout %g\n",
                s.N, s.T, s.lstm_units[0], s.lstm_units[1], s.recurrent_dropout);
    if (s.kind == SCARP_MODEL_MLP) fprintf(out, "  input             %d tabular features\n", s.F);
    fprintf(out, "  head              dense %d ReLU -> dropout %g -> dense %d ReLU -> dropout %g -> dense 1 sigmoid\n",
            s.dense[0], s.dropout, s.dense[1], s.dropout);
    fprintf(out, "  L2                %g on conv and dense kernels\n", s.l2);
    fprintf(out, "  parameters        %" PRIu64 " trainable + %" PRIu64 " batch-norm statistics\n", counts[0], counts[1]);
    fprintf(out, "  forward cost      %.3f MFLOP per sample\n", scarp_model_flops(&s) / 1e6);
    fprintf(out, "  normalisation     %" PRIu64 " bytes\n", counts[2]);
    scarp_free(buf);
    return SCARP_OK;
}
