/* predictions.c — every sample for the GIS: OUT/predictions.csv and OUT/samples.gpkg with
 * x, y, class, date, main split, fold of each repeat, and every model's test probability
 * (the main split's test rows) and out-of-fold probability (cross-validation: each sample
 * scored by the model of the fold that held it out, averaged over repeats). With [split]
 * compare = random also the random fold of each repeat (random_fold_rR) and every model's
 * random-CV out-of-fold probability (NAME_random_oof). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/vector.h"
#include "stage_internal.h"

static const char *split_name(uint8_t s)
{
    return s == SCARP_SPLIT_TRAIN ? "train" : s == SCARP_SPLIT_VAL ? "val" : s == SCARP_SPLIT_TEST ? "test" : "buffer";
}

/* Field values of sample i into vals (strings in buf). */
static int sample_fields(const scarp_dataset *ds, const uint8_t *split, int64_t i, int nm, const float *main_prob,
                         const double *oof, int cv, const int16_t *rfold, const double *roof, char buf[][32],
                         const char **vals)
{
    int k = 0;
    snprintf(buf[k], 32, "%lld", (long long)i + 1), vals[k] = buf[k], k++;
    snprintf(buf[k], 32, "%.3f", ds->x[i]), vals[k] = buf[k], k++;
    snprintf(buf[k], 32, "%.3f", ds->y[i]), vals[k] = buf[k], k++;
    snprintf(buf[k], 32, "%d", ds->label[i]), vals[k] = buf[k], k++;
    if (ds->date[i] != SCARP_NO_DATE) scarp_date_format(ds->date[i], buf[k]), vals[k] = buf[k];
    else vals[k] = NULL;
    k++;
    snprintf(buf[k], 32, "%s", split_name(split[i])), vals[k] = buf[k], k++;
    for (int r = 0; cv && r < ds->repeats; r++)
        snprintf(buf[k], 32, "%d", ds->fold[(size_t)r * ds->n + i] + 1), vals[k] = buf[k], k++;
    for (int r = 0; rfold && r < ds->repeats; r++)
        snprintf(buf[k], 32, "%d", rfold[(size_t)r * ds->n + i] + 1), vals[k] = buf[k], k++;
    for (int m = 0; m < nm; m++) {
        float p = main_prob[(size_t)m * ds->n + i];
        if (isnan(p)) vals[k] = NULL;
        else snprintf(buf[k], 32, "%.6f", p), vals[k] = buf[k];
        k++;
        if (!cv) continue;
        double q = oof[(size_t)m * ds->n + i];
        if (isnan(q)) vals[k] = NULL;
        else snprintf(buf[k], 32, "%.6f", q), vals[k] = buf[k];
        k++;
        if (!rfold) continue;
        q = roof[(size_t)m * ds->n + i];
        if (isnan(q)) vals[k] = NULL;
        else snprintf(buf[k], 32, "%.6f", q), vals[k] = buf[k];
        k++;
    }
    return k;
}

scarp_status scarp__write_predictions(const char *out, const scarp_config *cfg, const scarp_dataset *ds,
                                      const uint8_t *split, const char (*names)[32], int nm, const float *main_prob,
                                      const double *oof, const double *roof)
{
    const int cv = oof && ds->fold && ds->folds > 1;
    const int rcv = cv && roof; /* [split] compare = random: the random folds and out-of-fold probabilities too */
    const int nf = 6 + (cv ? ds->repeats : 0) + (rcv ? ds->repeats : 0) + nm * (cv ? (rcv ? 3 : 2) : 1);
    int16_t *rfold = rcv ? scarp_malloc(sizeof(int16_t) * (size_t)ds->n * (size_t)ds->repeats + 1) : NULL;
    char(*fname)[48] = scarp_calloc((size_t)nf, sizeof *fname);
    char *types = scarp_calloc((size_t)nf + 1, 1);
    char(*buf)[32] = scarp_calloc((size_t)nf, sizeof *buf);
    const char **fn = scarp_calloc((size_t)nf, sizeof *fn), **vals = scarp_calloc((size_t)nf, sizeof *vals);
    char *text = NULL;
    scarp_vector_writer *w = NULL;
    scarp_status st = SCARP_OK;
    if (!fname || !types || !buf || !fn || !vals || (rcv && !rfold)) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int r = 0; rcv && r < ds->repeats && !st; r++) st = scarp__stage_random_folds(cfg, ds, r, rfold + (size_t)r * ds->n);
    if (st) goto end;
    int k = 0;
    const char *fixed[6] = {"id", "x", "y", "class", "date", "split"};
    const char fixed_t[6] = {'i', 'r', 'r', 'i', 'd', 's'};
    for (; k < 6; k++) snprintf(fname[k], 48, "%s", fixed[k]), types[k] = fixed_t[k];
    for (int r = 0; cv && r < ds->repeats; r++, k++) snprintf(fname[k], 48, "fold_r%d", r + 1), types[k] = 'i';
    for (int r = 0; rcv && r < ds->repeats; r++, k++) snprintf(fname[k], 48, "random_fold_r%d", r + 1), types[k] = 'i';
    for (int m = 0; m < nm; m++) {
        snprintf(fname[k], 48, "%s_test", names[m]), types[k++] = 'r';
        if (cv) snprintf(fname[k], 48, "%s_oof", names[m]), types[k++] = 'r';
        if (rcv) snprintf(fname[k], 48, "%s_random_oof", names[m]), types[k++] = 'r';
    }
    for (int i = 0; i < nf; i++) fn[i] = fname[i];
    /* CSV */
    size_t cap = (size_t)(ds->n + 1) * (size_t)nf * 16 + 256, len = 0;
    text = scarp_malloc(cap);
    if (!text) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    for (int i = 0; i < nf; i++) len += (size_t)snprintf(text + len, cap - len, "%s%s", i ? "," : "", fname[i]);
    len += (size_t)snprintf(text + len, cap - len, "\n");
    for (int64_t i = 0; i < ds->n; i++) {
        sample_fields(ds, split, i, nm, main_prob, oof, cv, rfold, roof, buf, vals);
        for (int j = 0; j < nf; j++) {
            if (len + 40 > cap) {
                char *t = scarp_realloc(text, cap * 2);
                if (!t) {
                    st = SCARP_ERR_NOMEM;
                    goto end;
                }
                text = t, cap *= 2;
            }
            len += (size_t)snprintf(text + len, cap - len, "%s%s", j ? "," : "", vals[j] ? vals[j] : "");
        }
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    char path[4096];
    if ((st = scarp_path_join(path, sizeof path, out, "predictions.csv")) ||
        (st = scarp_write_file_atomic(path, text, len)))
        goto end;
    /* GeoPackage */
    if ((st = scarp_path_join(path, sizeof path, out, "samples.gpkg")) ||
        (st = scarp_vector_writer_open(&w, path, "samples", ds->grid.wkt, SCARP_GEOM_POINT, fn, types, nf)))
        goto end;
    for (int64_t i = 0; i < ds->n && !st; i++) {
        sample_fields(ds, split, i, nm, main_prob, oof, cv, rfold, roof, buf, vals);
        st = scarp_vector_write_point(w, ds->x[i], ds->y[i], vals);
    }
    if (st) scarp_vector_writer_abort(w);
    else st = scarp_vector_writer_commit(w);
    w = NULL;
end:
    scarp_free(rfold);
    scarp_free(fname);
    scarp_free(types);
    scarp_free(buf);
    scarp_free(fn);
    scarp_free(vals);
    scarp_free(text);
    return st;
}
