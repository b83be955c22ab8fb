/* figures.c — the report's figures: ROC curves of every model in one chart, the
 * reliability (calibration) curves, per-epoch training curves (loss, accuracy, MAE, RMSE;
 * train solid, validation dashed) of each network, permutation-importance bars, and the
 * spread of AUC over k-fold / repeated runs (mean with its 95 % interval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/report.h"

static scarp_status add(char (*names)[128], char (*caps)[256], int max, int *n, const char *name, const char *cap)
{
    if (*n >= max) return scarp_fail(SCARP_ERR_INTERNAL, "report: too many figures (%d)", max);
    snprintf(names[*n], 128, "%s", name);
    snprintf(caps[*n], 256, "%s", cap);
    (*n)++;
    return SCARP_OK;
}

typedef struct {
    int i;
    double v;
} ranked;

static int ranked_desc(const void *a, const void *b)
{
    const ranked *p = a, *q = b;
    if (p->v > q->v) return -1;
    if (p->v < q->v) return 1;
    return p->i - q->i;
}

scarp_status scarp_report_write_plots(const scarp_report *r, const char *dir, char (*names)[128],
                                      char (*caps)[256], int max, int *n_written)
{
    *n_written = 0;
    scarp_status st = scarp_mkdir_p(dir);
    if (st) return st;
    char path[4096], cap[256];
    int nm = r->n_models;
    scarp_plot_series *s = scarp_calloc((size_t)(nm ? nm : 1), sizeof *s);
    char (*labels)[96] = scarp_calloc((size_t)(nm ? nm : 1), sizeof *labels);
    double *relx = scarp_calloc((size_t)(nm ? nm : 1) * SCARP_RELIABILITY_BINS * 2, sizeof(double));
    if (!s || !labels || !relx) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    /* ROC of all models */
    int k = 0;
    for (int i = 0; i < nm; i++) {
        const scarp_report_model *m = &r->models[i];
        if (!m->roc_n) continue;
        snprintf(labels[i], sizeof labels[i], "%s (AUC %.3f)", m->name, m->test.auc);
        s[k++] = (scarp_plot_series){m->roc_fpr, m->roc_tpr, m->roc_n, labels[i], i, 0, 0};
    }
    if (k) {
        scarp_plot_axes ax = {"ROC on the test split", "false positive rate (1 - specificity)",
                              "true positive rate (recall)", 0, 1, 0, 1, 1, 1};
        if ((st = scarp_path_join(path, sizeof path, dir, "roc.png")) || (st = scarp_plot_lines(path, 760, 620, &ax, s, k)))
            goto end;
        if ((st = add(names, caps, max, n_written, "roc.png",
                      "ROC curves of every model on the test split (AUC in the legend; dashed: chance).")))
            goto end;
    }
    /* reliability */
    k = 0;
    for (int i = 0; i < nm; i++) {
        const scarp_report_model *m = &r->models[i];
        if (!m->test.n) continue;
        double *x = relx + (size_t)i * SCARP_RELIABILITY_BINS * 2, *y = x + SCARP_RELIABILITY_BINS;
        for (int b = 0; b < SCARP_RELIABILITY_BINS; b++) {
            x[b] = m->test.rel_mean[b];
            y[b] = m->test.rel_obs[b];
        }
        snprintf(labels[i], sizeof labels[i], "%s (Brier %.3f)", m->name, m->test.brier);
        s[k++] = (scarp_plot_series){x, y, SCARP_RELIABILITY_BINS, labels[i], i, 0, 1};
    }
    if (k) {
        scarp_plot_axes ax = {"Reliability on the test split", "mean predicted probability (10 bins)",
                              "observed share of landslides", 0, 1, 0, 1, 1, 1};
        if ((st = scarp_path_join(path, sizeof path, dir, "calibration.png")) ||
            (st = scarp_plot_lines(path, 760, 620, &ax, s, k)))
            goto end;
        if ((st = add(names, caps, max, n_written, "calibration.png",
                      "Reliability curves: a calibrated model follows the diagonal.")))
            goto end;
    }
    /* training curves */
    for (int i = 0; i < nm; i++) {
        const scarp_report_model *m = &r->models[i];
        if (m->n_epochs < 1) continue;
        double *ep = scarp_malloc((size_t)m->n_epochs * sizeof *ep);
        if (!ep) {
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        for (int e = 0; e < m->n_epochs; e++) ep[e] = e + 1;
        static const char *const what[4] = {"loss (BCE + L2)", "accuracy", "MAE", "RMSE"};
        scarp_plot_series ps[4][3];
        const scarp_plot_series *pp[4];
        int np[4];
        scarp_plot_axes ax[4];
        double bx[4][2], by[4][2];
        for (int q = 0; q < 4; q++) {
            int n = 0;
            if (m->hist[2 * q]) ps[q][n++] = (scarp_plot_series){ep, m->hist[2 * q], (size_t)m->n_epochs, "train", 0, 0, 0};
            if (m->hist[2 * q + 1])
                ps[q][n++] = (scarp_plot_series){ep, m->hist[2 * q + 1], (size_t)m->n_epochs, "validation", 1, 1, 0};
            /* a vertical mark at the kept epoch, spanning the panel's data */
            double lo = INFINITY, hi = -INFINITY;
            for (int j = 0; j < n; j++)
                for (int e = 0; e < m->n_epochs; e++)
                    if (isfinite(ps[q][j].y[e])) {
                        lo = fmin(lo, ps[q][j].y[e]);
                        hi = fmax(hi, ps[q][j].y[e]);
                    }
            if (n && lo <= hi && m->best_epoch >= 0 && m->best_epoch < m->n_epochs) {
                bx[q][0] = bx[q][1] = m->best_epoch + 1;
                by[q][0] = lo;
                by[q][1] = hi;
                ps[q][n++] = (scarp_plot_series){bx[q], by[q], 2, "kept epoch", 7, 1, 0};
            }
            pp[q] = ps[q];
            np[q] = n;
            ax[q] = (scarp_plot_axes){what[q], "epoch", what[q], 1, m->n_epochs > 1 ? m->n_epochs : 2, 0, 0, 0, q == 1};
        }
        char file[128];
        snprintf(file, sizeof file, "training_%s.png", m->name);
        st = scarp_path_join(path, sizeof path, dir, file);
        if (!st) st = scarp_plot_panels(path, 1000, 720, 2, 2, ax, pp, np);
        scarp_free(ep);
        if (st) goto end;
        snprintf(cap, sizeof cap, "%s: per-epoch training (solid) and validation (dashed) curves; the weights of "
                                  "epoch %d (lowest validation cross-entropy) were kept.", m->name, m->best_epoch + 1);
        if ((st = add(names, caps, max, n_written, file, cap))) goto end;
    }
    /* importance */
    for (int i = 0; i < nm; i++) {
        const scarp_report_model *m = &r->models[i];
        if (m->n_factors < 1) continue;
        int nf = m->n_factors;
        ranked *rk = scarp_malloc((size_t)nf * sizeof *rk);
        const char **nms = scarp_malloc((size_t)nf * sizeof *nms);
        double *val = scarp_malloc((size_t)nf * sizeof *val), *err = scarp_malloc((size_t)nf * sizeof *err);
        if (!rk || !nms || !val || !err) {
            scarp_free(rk);
            scarp_free(nms);
            scarp_free(val);
            scarp_free(err);
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        double total = 0;
        for (int f = 0; f < nf; f++) total += fmax(m->imp_drop[f], 0);
        for (int f = 0; f < nf; f++) rk[f] = (ranked){f, m->imp_share[f]};
        qsort(rk, (size_t)nf, sizeof *rk, ranked_desc);
        for (int f = 0; f < nf; f++) {
            nms[f] = m->factor_names[rk[f].i];
            val[f] = 100.0 * m->imp_share[rk[f].i];
            err[f] = total > 0 ? 100.0 * m->imp_sd[rk[f].i] / total : 0;
        }
        char file[128], title[160];
        snprintf(file, sizeof file, "importance_%s.png", m->name);
        snprintf(title, sizeof title, "Permutation importance: %s", m->name);
        st = scarp_path_join(path, sizeof path, dir, file);
        if (!st) st = scarp_plot_bars(path, 760, 120 + 26 * nf, title, "share of the total AUC drop (%)", nms, val, err, nf);
        scarp_free(rk);
        scarp_free(nms);
        scarp_free(val);
        scarp_free(err);
        if (st) goto end;
        snprintf(cap, sizeof cap, "%s: share of the total test-AUC drop when each factor is permuted as a whole "
                                  "(%d repeats; bars: ± 1 sd).", m->name, m->importance_repeats);
        if ((st = add(names, caps, max, n_written, file, cap))) goto end;
    }
    /* spread over runs */
    int with_runs = 0;
    for (int i = 0; i < nm; i++) with_runs += r->models[i].n_runs > 1;
    if (with_runs) {
        const char **nms = scarp_malloc((size_t)nm * sizeof *nms);
        double *val = scarp_malloc((size_t)nm * sizeof *val), *err = scarp_malloc((size_t)nm * sizeof *err);
        if (!nms || !val || !err) {
            scarp_free(nms);
            scarp_free(val);
            scarp_free(err);
            st = SCARP_ERR_NOMEM;
            goto end;
        }
        int n = 0;
        for (int i = 0; i < nm; i++) {
            const scarp_report_model *m = &r->models[i];
            if (m->n_runs < 2) continue;
            nms[n] = m->name;
            val[n] = m->run_summary[SCARP_RUNM_AUC].mean;
            err[n++] = m->run_summary[SCARP_RUNM_AUC].hi - m->run_summary[SCARP_RUNM_AUC].mean;
        }
        st = scarp_path_join(path, sizeof path, dir, "runs_auc.png");
        if (!st) st = scarp_plot_bars(path, 760, 120 + 30 * n, "Test AUC over runs", "AUC (mean, bars: 95 % interval)",
                                      nms, val, err, n);
        scarp_free(nms);
        scarp_free(val);
        scarp_free(err);
        if (st) goto end;
        snprintf(cap, sizeof cap, "Mean test AUC over %d folds x %d repeats with the Student-t 95 %% interval of "
                                  "the mean.", r->folds, r->repeats);
        if ((st = add(names, caps, max, n_written, "runs_auc.png", cap))) goto end;
    }
end:
    scarp_free(s);
    scarp_free(labels);
    scarp_free(relx);
    return st;
}
