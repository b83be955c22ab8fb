/* bench_nn.c — figures of the network engine (issue 4, docs/benchmarks/04-nn.md):
 *   bench_nn train DATA.bin [--epochs 50] [--threads 2] [--select val_loss|val_bce]
 *       trains the study's cnn_lstm on the PyTorch peer's data (bench/nn_peer_data.py),
 *       prints wall time, s/epoch, best epoch, validation accuracy and AUC;
 *   bench_nn infer [--batch 4096] [--batches 6] [--threads 2] [--C 22]
 *       per-patch inference throughput (samples/s) of the full model and the CNN branch;
 *   bench_nn kernels [--threads 2]
 *       GFLOP/s of the conv and LSTM kernels, forward and backward, at the training batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scarp/alloc.h"
#include "scarp/fsutil.h"
#include "scarp/nn.h"
#include "scarp/nn_layers.h"
#include "scarp/progress.h"
#include "scarp/rng.h"
#include "scarp/threads.h"

static const char *opt_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}
static int opt_int(int argc, char **argv, const char *name, int def)
{
    const char *s = opt_str(argc, argv, name, NULL);
    return s ? atoi(s) : def;
}

/* Process CPU seconds (all threads): with other jobs on the machine, samples per CPU-second
 * at 1 thread measures the kernels' efficiency independently of the load. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double auc(const float *p, const float *y, size_t n)
{
    double num = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] > 0.5f && y[j] < 0.5f) { pairs++; num += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0; }
    return num / pairs;
}

static int cmd_train(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: bench_nn train DATA.bin [--epochs N]\n"); return 2; }
    char *buf;
    size_t bytes;
    if (scarp_read_file(argv[2], &buf, &bytes)) { fprintf(stderr, "%s\n", scarp_last_error()); return 1; }
    int32_t hd[7];
    memcpy(hd, buf, sizeof hd);
    const int n = hd[0], n_train = hd[6];
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_CNN_LSTM);
    s.C = hd[1]; s.H = hd[2]; s.W = hd[3]; s.N = hd[4]; s.T = hd[5];
    const float *patches = (const float *)(buf + sizeof hd);
    const float *seq = patches + (size_t)n * s.C * s.H * s.W;
    const float *labels = seq + (size_t)n * s.N * s.T;
    scarp_model m;
    if (scarp_model_init(&m, &s, 0)) { fprintf(stderr, "%s\n", scarp_last_error()); return 1; }
    size_t *tr = malloc(sizeof(size_t) * n), *va = tr + n_train;
    for (int i = 0; i < n; i++) tr[i] = (size_t)i;
    scarp_train_options o;
    scarp_train_options_default(&o);
    o.epochs = opt_int(argc, argv, "--epochs", 50);
    o.seed = 0;
    o.select = strcmp(opt_str(argc, argv, "--select", "val_bce"), "val_loss") == 0 ? SCARP_SELECT_VAL_LOSS : SCARP_SELECT_VAL_BCE;
    scarp_nn_data d = {patches, seq, NULL, labels, (size_t)n};
    scarp_train_history h;
    const double t0 = scarp_now(), c0 = cpu_now();
    if (scarp_model_train(&m, &d, tr, (size_t)n_train, va, (size_t)(n - n_train), &o, &h)) {
        fprintf(stderr, "%s\n", scarp_last_error());
        return 1;
    }
    const double dt = scarp_now() - t0, dc = cpu_now() - c0;
    float *p = malloc(sizeof(float) * (n - n_train));
    scarp_model_predict(&m, patches + (size_t)n_train * s.C * s.H * s.W, seq + (size_t)n_train * s.N * s.T, NULL,
                        n - n_train, p);
    printf("TRAIN scarp cnn_lstm: %d epochs, %d train / %d val, %d threads: %.2f s (%.3f s/epoch), CPU %.2f s\n", o.epochs, n_train,
           n - n_train, scarp_threads_get(), dt, dt / o.epochs, dc);
    for (int e = 0; e < h.epochs; e++)
        if (e < 3 || (e + 1) % 10 == 0)
            printf("  epoch %3d loss %.4f val_loss %.4f (bce %.4f) val_acc %.3f\n", e + 1, h.train_loss[e], h.val_loss[e],
                   h.val_bce[e], h.val_acc[e]);
    printf("BEST epoch %d (select %s): val_loss %.4f val_bce %.4f VAL_ACC %.4f VAL_AUC %.4f\n", h.best_epoch + 1,
           o.select == SCARP_SELECT_VAL_LOSS ? "val_loss" : "val_bce", h.val_loss[h.best_epoch], h.val_bce[h.best_epoch],
           h.val_acc[h.best_epoch], auc(p, labels + n_train, (size_t)(n - n_train)));
    scarp_train_history_free(&h);
    scarp_model_free(&m);
    free(p);
    free(tr);
    scarp_free(buf);
    return 0;
}

static int cmd_infer(int argc, char **argv)
{
    const int bs = opt_int(argc, argv, "--batch", 4096), nb = opt_int(argc, argv, "--batches", 6);
    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_CNN_LSTM);
    s.C = opt_int(argc, argv, "--C", 22);
    scarp_model m;
    if (scarp_model_init(&m, &s, 1)) return 1;
    const size_t n = (size_t)bs * nb;
    float *x = scarp_malloc(sizeof(float) * n * s.C * s.H * s.W), *q = scarp_malloc(sizeof(float) * n * s.N * s.T);
    float *p = scarp_malloc(sizeof(float) * n), *f = scarp_malloc(sizeof(float) * n * 128);
    if (!x || !q || !p || !f) return 1;
    scarp_rng r;
    scarp_rng_seed(&r, 1);
    for (size_t i = 0; i < n * s.C * s.H * s.W; i++) x[i] = (float)scarp_rng_normal(&r);
    for (size_t i = 0; i < n * s.N * s.T; i++) q[i] = (float)scarp_rng_normal(&r);
    scarp_nn_workspace *ws;
    const int chunk = opt_int(argc, argv, "--chunk", 128);
    if (scarp_nn_workspace_new(&m, chunk, &ws)) return 1;
    scarp_model_predict_ws(&m, ws, x, q, NULL, bs, p); /* warm-up batch */
    double t0 = scarp_now(), c0 = cpu_now();
    for (int b = 0; b < nb; b++)
        scarp_model_predict_ws(&m, ws, x + (size_t)b * bs * s.C * s.H * s.W, q + (size_t)b * bs * s.N * s.T, NULL, bs,
                               p + (size_t)b * bs);
    double dt = scarp_now() - t0, dc = cpu_now() - c0;
    const double fl = scarp_model_flops(&s);
    printf("INFER full model (C=%d, chunk %d): %zu samples in %.2f s -> %.0f samples/s (%.1f GFLOP/s); %.0f samples per CPU-second\n", s.C, chunk, n,
           dt, n / dt, n / dt * fl / 1e9, n / dc);
    t0 = scarp_now(); c0 = cpu_now();
    for (int b = 0; b < nb; b++)
        scarp_model_cnn_features(&m, ws, x + (size_t)b * bs * s.C * s.H * s.W, bs, f + (size_t)b * bs * 128);
    dt = scarp_now() - t0; dc = cpu_now() - c0;
    scarp_model_spec sc = s;
    sc.kind = SCARP_MODEL_CNN;
    const double flc = scarp_model_flops(&sc) - 2.0 * (128.0 * 128 + 128 * 64 + 64);
    printf("INFER CNN branch only -> 128 features: %zu samples in %.2f s -> %.0f samples/s (%.1f GFLOP/s); %.0f per CPU-s\n", n, dt,
           n / dt, n / dt * flc / 1e9, n / dc);
    t0 = scarp_now(); c0 = cpu_now();
    for (int b = 0; b < nb; b++)
        scarp_model_lstm_features(&m, ws, q + (size_t)b * bs * s.N * s.T, bs, f + (size_t)b * bs * 64);
    dt = scarp_now() - t0; dc = cpu_now() - c0;
    printf("INFER LSTM branch only -> 64 features: %zu samples in %.2f s -> %.0f samples/s; %.0f per CPU-s\n", n, dt, n / dt, n / dc);
    scarp_nn_workspace_free(ws);
    scarp_model_free(&m);
    scarp_free(x); scarp_free(q); scarp_free(p); scarp_free(f);
    return 0;
}

static int cmd_kernels(int argc, char **argv)
{
    (void)argc; (void)argv;
    const int B = 32, reps = 20;
    scarp_rng r;
    scarp_rng_seed(&r, 3);
    /* the three conv layers of the study at batch 32 (channel-major layout) */
    const int ci[3] = {22, 32, 64}, co[3] = {32, 64, 128}, hh[3] = {22, 10, 4};
    for (int k = 0; k < 3; k++) {
        const int h = hh[k], ho = h - 2;
        const size_t nin = (size_t)ci[k] * B * h * h, nout = (size_t)co[k] * B * ho * ho, ncol = (size_t)ci[k] * 9 * B * ho * ho;
        float *in = scarp_malloc(sizeof(float) * nin), *out = scarp_malloc(sizeof(float) * nout);
        float *col = scarp_malloc(sizeof(float) * ncol), *dcol = scarp_malloc(sizeof(float) * ncol);
        float *w = scarp_malloc(sizeof(float) * co[k] * ci[k] * 9), *dw = scarp_calloc(co[k] * ci[k] * 9, sizeof(float));
        float *b = scarp_calloc(co[k], sizeof(float)), *db = scarp_calloc(co[k], sizeof(float));
        float *din = scarp_calloc(nin, sizeof(float));
        for (size_t i = 0; i < nin; i++) in[i] = (float)scarp_rng_normal(&r);
        for (int i = 0; i < co[k] * ci[k] * 9; i++) w[i] = (float)scarp_rng_normal(&r);
        const double fl = 2.0 * B * ho * ho * co[k] * ci[k] * 9.0;
        scarp_conv3x3_forward(out, col, in, w, b, B, ci[k], h, h, co[k]);
        double t0 = scarp_now(), c0 = cpu_now();
        for (int i = 0; i < reps; i++) scarp_conv3x3_forward(out, col, in, w, b, B, ci[k], h, h, co[k]);
        const double tf = (scarp_now() - t0) / reps, cf = (cpu_now() - c0) / reps;
        t0 = scarp_now(); c0 = cpu_now();
        for (int i = 0; i < reps; i++) scarp_conv3x3_backward(k ? din : NULL, dw, db, dcol, out, col, w, B, ci[k], h, h, co[k]);
        const double tb = (scarp_now() - t0) / reps, cb = (cpu_now() - c0) / reps;
        printf("KERNEL conv%d %2dx%2d %3d->%3d batch %d: forward %.3f ms %.1f GFLOP/s (%.1f per CPU-s); backward%s %.3f ms %.1f GFLOP/s (%.1f per CPU-s)\n",
               k, h, h, ci[k], co[k], B, tf * 1e3, fl / tf / 1e9, fl / cf / 1e9, k ? "" : " (no dinput)", tb * 1e3,
               (k ? 2 : 1) * fl / tb / 1e9, (k ? 2 : 1) * fl / cb / 1e9);
        scarp_free(in); scarp_free(out); scarp_free(col); scarp_free(dcol); scarp_free(w); scarp_free(dw);
        scarp_free(b); scarp_free(db); scarp_free(din);
    }
    /* the two LSTM layers at batch 32, 30 steps */
    const int N = 30, ins[2] = {2, 128}, us[2] = {128, 64};
    for (int l = 0; l < 2; l++) {
        const int In = ins[l], U = us[l];
        float *x = scarp_malloc(sizeof(float) * N * B * In), *wx = scarp_malloc(sizeof(float) * In * 4 * U);
        float *wh = scarp_malloc(sizeof(float) * U * 4 * U), *bb = scarp_calloc(4 * U, sizeof(float));
        float *h = scarp_malloc(sizeof(float) * (N + 1) * B * U), *c = scarp_malloc(sizeof(float) * (N + 1) * B * U);
        float *g = scarp_malloc(sizeof(float) * N * B * 4 * U), *hm = scarp_malloc(sizeof(float) * N * B * U);
        float *dx = scarp_calloc((size_t)N * B * In, sizeof(float)), *dwx = scarp_calloc(In * 4 * U, sizeof(float));
        float *dwh = scarp_calloc(U * 4 * U, sizeof(float)), *db = scarp_calloc(4 * U, sizeof(float));
        float *dz = scarp_malloc(sizeof(float) * N * B * 4 * U), *sc = scarp_malloc(sizeof(float) * 2 * B * U);
        float *dh = scarp_malloc(sizeof(float) * N * B * U), *mask = scarp_malloc(sizeof(float) * B * U);
        for (int i = 0; i < N * B * In; i++) x[i] = (float)scarp_rng_normal(&r);
        for (int i = 0; i < In * 4 * U; i++) wx[i] = 0.1f * (float)scarp_rng_normal(&r);
        for (int i = 0; i < U * 4 * U; i++) wh[i] = 0.1f * (float)scarp_rng_normal(&r);
        scarp_dropout_mask(mask, (size_t)B * U, 0.2f, &r);
        const double fl = 2.0 * N * B * 4.0 * U * (In + U);
        double t0 = scarp_now(), c0 = cpu_now();
        for (int i = 0; i < reps; i++) scarp_lstm_forward(h, c, g, hm, x, wx, wh, bb, mask, N, B, In, U);
        const double tf = (scarp_now() - t0) / reps, cf = (cpu_now() - c0) / reps;
        t0 = scarp_now(); c0 = cpu_now();
        for (int i = 0; i < reps; i++) {
            for (int j = 0; j < N * B * U; j++) dh[j] = 0.01f;
            scarp_lstm_backward(l ? dx : NULL, dwx, dwh, db, dz, sc, dh, h, c, g, hm, x, wx, wh, mask, N, B, In, U);
        }
        const double tb = (scarp_now() - t0) / reps, cb = (cpu_now() - c0) / reps;
        const double flb = 2.0 * N * B * 4.0 * U * (U + U + In + (l ? In : 0));
        printf("KERNEL lstm%d %3d->%3d, %d steps, batch %d: forward %.3f ms %.1f GFLOP/s (%.1f per CPU-s); backward %.3f ms %.1f GFLOP/s (%.1f per CPU-s)\n", l,
               In, U, N, B, tf * 1e3, fl / tf / 1e9, fl / cf / 1e9, tb * 1e3, flb / tb / 1e9, flb / cb / 1e9);
        scarp_free(x); scarp_free(wx); scarp_free(wh); scarp_free(bb); scarp_free(h); scarp_free(c); scarp_free(g);
        scarp_free(hm); scarp_free(dx); scarp_free(dwx); scarp_free(dwh); scarp_free(db); scarp_free(dz); scarp_free(sc);
        scarp_free(dh); scarp_free(mask);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_nn train DATA.bin | infer | kernels  [--threads N] ...\n");
        return 2;
    }
    scarp_threads_set(opt_int(argc, argv, "--threads", 2));
    if (strcmp(argv[1], "train") == 0) return cmd_train(argc, argv);
    if (strcmp(argv[1], "infer") == 0) return cmd_infer(argc, argv);
    if (strcmp(argv[1], "kernels") == 0) return cmd_kernels(argc, argv);
    fprintf(stderr, "bench_nn: unknown mode %s\n", argv[1]);
    return 2;
}
