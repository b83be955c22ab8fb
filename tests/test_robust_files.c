/* test_robust_files.c — damaged binary files (issue 9; DESIGN.md §4 "a wrong or damaged
 * file is a clear error"): the network model file, the baseline model file, the dataset
 * file and the normalisation blob, each written by its own writer and then truncated at
 * many lengths, bit-flipped at many offsets, given a foreign magic, emptied, or given a
 * header whose architecture / sizes are absurd under a valid CRC (the case a checksum
 * does not protect against). Every load must return SCARP_ERR_INPUT (SCARP_ERR_IO for a
 * missing file) with a message naming the file, without crashing, leaking or asking for
 * absurd memory. The absurd-header cases run in a child process so that a sanitizer
 * abort is reported as a failure of that case instead of ending the test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/classic.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/nn.h"

static char dir[256];

typedef scarp_status (*loader)(const char *path);

static scarp_status load_nn(const char *path)
{
    scarp_model m;
    void *blob = NULL;
    size_t nb = 0;
    scarp_status st = scarp_model_load(path, &m, &blob, &nb);
    if (st == SCARP_OK) scarp_model_free(&m);
    scarp_free(blob);
    return st;
}
static scarp_status load_classic(const char *path)
{
    scarp_classic c;
    void *blob = NULL;
    size_t nb = 0;
    scarp_status st = scarp_classic_load(&c, path, &blob, &nb);
    if (st == SCARP_OK) scarp_classic_free(&c);
    scarp_free(blob);
    return st;
}
static scarp_status load_dataset(const char *path)
{
    scarp_dataset d;
    scarp_status st = scarp_dataset_load(&d, path);
    if (st == SCARP_OK) scarp_dataset_free(&d);
    return st;
}
static scarp_status load_norm(const char *path)
{
    char *buf = NULL;
    size_t n = 0;
    scarp_status st = scarp_read_file(path, &buf, &n);
    if (st) return st;
    scarp_norm norm;
    st = scarp_norm_deserialize(&norm, buf, n);
    if (st == SCARP_OK) scarp_norm_free(&norm);
    scarp_free(buf);
    /* the blob has no path of its own: the caller (model / dataset loader) adds it */
    if (st != SCARP_OK) return scarp_fail(st, "%s: %s", path, scarp_last_error());
    return st;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void fix_crc(uint8_t *buf, size_t n)
{
    uint32_t crc = scarp_crc32(0, buf, n - 4);
    memcpy(buf + n - 4, &crc, 4);
}

/* Every damaged variant of the file at `good` must fail with SCARP_ERR_INPUT naming it. */
static void damage_all(const char *what, const char *good, loader load)
{
    char *orig = NULL;
    size_t n = 0;
    CHECK_OK(scarp_read_file(good, &orig, &n));
    if (!orig) return;
    CHECK_OK(load(good)); /* the undamaged file loads */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/damaged-%s", dir, what);
    uint8_t *buf = scarp_malloc(n + 16);
    int wrong = 0, tried = 0;
    /* truncations: every length from 0 to n - 1 for small files, a stride otherwise */
    size_t step = n > 4000 ? n / 997 : 1;
    for (size_t len = 0; len < n; len += step) {
        write_bytes(bad, orig, len);
        scarp_clear_error();
        scarp_status st = load(bad);
        tried++;
        if (st != SCARP_ERR_INPUT || !strstr(scarp_last_error(), bad)) {
            if (wrong++ < 3) fprintf(stderr, "  %s truncated to %zu bytes: status %d '%s'\n", what, len, (int)st, scarp_last_error());
        }
    }
    /* single bit flips (CRC intact → must be caught by the CRC or a check) */
    for (size_t off = 0; off < n; off += (n > 2000 ? n / 499 : 1)) {
        memcpy(buf, orig, n);
        buf[off] ^= (uint8_t)(1u << (off % 8));
        write_bytes(bad, buf, n);
        scarp_status st = load(bad);
        tried++;
        if (st != SCARP_ERR_INPUT || !strstr(scarp_last_error(), bad)) {
            if (wrong++ < 3) fprintf(stderr, "  %s bit flip at %zu: status %d '%s'\n", what, off, (int)st, scarp_last_error());
        }
    }
    /* a trailing byte, a foreign magic */
    scarp_status st;
    memcpy(buf, orig, n);
    buf[n] = 0;
    write_bytes(bad, buf, n + 1);
    st = load(bad);
    if (st != SCARP_ERR_INPUT || !strstr(scarp_last_error(), bad)) {
        wrong++;
        fprintf(stderr, "  %s with one trailing byte: status %d '%s'\n", what, (int)st, st ? scarp_last_error() : "");
    }
    memcpy(buf, orig, n);
    memcpy(buf, "GIF89a\0\0", 8);
    write_bytes(bad, buf, n);
    st = load(bad);
    if (st != SCARP_ERR_INPUT || !strstr(scarp_last_error(), bad)) {
        wrong++;
        fprintf(stderr, "  %s with a foreign magic: status %d '%s'\n", what, (int)st, st ? scarp_last_error() : "");
    }
    tried += 2;
    /* a missing file */
    snprintf(bad, sizeof bad, "%s/no-such-%s", dir, what);
    st = load(bad);
    CHECK_MSG(st == SCARP_ERR_IO && strstr(scarp_last_error(), bad), "%s missing: %d '%s'", what, (int)st, scarp_last_error());
    CHECK_MSG(wrong == 0, "%s: %d of %d damaged variants were not a clear SCARP_ERR_INPUT naming the file", what, wrong, tried);
    fprintf(stderr, "  %s: %d damaged variants rejected\n", what, tried - wrong);
    scarp_free(buf);
    scarp_free(orig);
}

/* Runs load(path) in a child; the child's verdict: 0 = SCARP_ERR_INPUT naming the file. */
static int child_rejects(loader load, const char *path, const char *what)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        scarp_status st = load(path);
        int ok = st == SCARP_ERR_INPUT && strstr(scarp_last_error(), path) != NULL;
        if (!ok) fprintf(stderr, "  %s: status %d '%s'\n", what, (int)st, scarp_last_error());
        _exit(ok ? 0 : 1);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (WIFSIGNALED(ws)) fprintf(stderr, "  %s: the loader died with signal %d\n", what, WTERMSIG(ws));
    else if (WEXITSTATUS(ws) > 1) fprintf(stderr, "  %s: the loader aborted (exit %d, sanitizer report above)\n", what, WEXITSTATUS(ws));
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

static void make_files(char *nn, char *cls, char *ds, char *norm_path)
{
    /* normalisation: one continuous layer, one rainfall variable */
    scarp_norm norm;
    scarp_norm_init(&norm);
    norm.L = 1, norm.C = 1, norm.patch = 2, norm.N = 3, norm.T = 1, norm.S = 4;
    norm.layer_names = scarp_calloc(1, 64);
    norm.layer_kinds = scarp_calloc(1, sizeof(int));
    norm.channels = scarp_calloc(1, sizeof(scarp_norm_channel));
    norm.var_names = scarp_calloc(1, 32);
    norm.seq_min = scarp_calloc(1, sizeof(float));
    norm.seq_max = scarp_calloc(1, sizeof(float));
    norm.summary_names = scarp_calloc(4, 64);
    norm.sum_min = scarp_calloc(4, sizeof(float));
    norm.sum_max = scarp_calloc(4, sizeof(float));
    strcpy(norm.layer_names[0], "dem");
    strcpy(norm.channels[0].name, "dem");
    norm.channels[0].max = 1000;
    strcpy(norm.var_names[0], "rainfall");
    norm.seq_max[0] = 50;
    for (int s = 0; s < 4; s++) snprintf(norm.summary_names[s], 64, "rain%d", s), norm.sum_max[s] = 100;
    void *blob = NULL;
    size_t nb = 0;
    CHECK_OK(scarp_norm_serialize(&norm, &blob, &nb));
    snprintf(norm_path, 512, "%s/norm.bin", dir);
    write_bytes(norm_path, blob, nb);

    scarp_model_spec s;
    scarp_model_spec_default(&s, SCARP_MODEL_MLP);
    s.F = 5, s.dense[0] = 8, s.dense[1] = 4;
    scarp_model m;
    CHECK_OK(scarp_model_init(&m, &s, 3));
    snprintf(nn, 512, "%s/mlp.model", dir);
    CHECK_OK(scarp_model_save(nn, &m, blob, nb));
    scarp_model_free(&m);

    enum { NR = 30, F = 3 };
    float X[NR * F];
    uint8_t y[NR];
    for (int i = 0; i < NR; i++) {
        for (int j = 0; j < F; j++) X[i * F + j] = (float)((i * (j + 3)) % 7);
        y[i] = (uint8_t)(X[i * F] > 3);
    }
    scarp_classic c;
    scarp_classic_params p;
    memset(&p, 0, sizeof p);
    p.max_depth = 3, p.min_leaf = 2, p.n_trees = 2, p.seed = 1;
    CHECK_OK(scarp_classic_train(&c, SCARP_CLASSIC_FOREST, &p, X, y, NR, F, NULL, NULL, 0, NULL));
    snprintf(cls, 512, "%s/forest.model", dir);
    CHECK_OK(scarp_classic_save(&c, cls, blob, nb));
    scarp_classic_free(&c);
    scarp_free(blob);

    scarp_dataset d;
    scarp_dataset_init(&d);
    const int n = 6;
    d.n = n, d.C = 1, d.H = d.W = 2, d.N = 3, d.T = 1, d.F = 5, d.folds = 3, d.repeats = 1;
    d.patches = scarp_malloc_aligned(sizeof(float) * n * 4);
    d.seq = scarp_malloc_aligned(sizeof(float) * n * 3);
    d.tab = scarp_malloc_aligned(sizeof(float) * n * 5);
    d.label = scarp_malloc(n), d.split = scarp_malloc(n);
    d.x = scarp_malloc(8 * n), d.y = scarp_malloc(8 * n);
    d.col = scarp_malloc(8 * n), d.row = scarp_malloc(8 * n);
    d.date = scarp_malloc(4 * n), d.block = scarp_malloc(4 * n);
    d.fold = scarp_malloc(2 * n);
    d.channel_names = scarp_calloc(1, 64);
    d.feature_names = scarp_calloc(5, 64);
    for (int i = 0; i < n * 4; i++) d.patches[i] = 0.1f * (float)(i % 10);
    for (int i = 0; i < n * 3; i++) d.seq[i] = 0.2f;
    for (int i = 0; i < n * 5; i++) d.tab[i] = 0.3f;
    for (int i = 0; i < n; i++) {
        d.label[i] = (uint8_t)(i & 1), d.split[i] = (uint8_t)(i % 3);
        d.x[i] = 500015 + 30 * i, d.y[i] = 3999985, d.col[i] = i, d.row[i] = 0;
        d.date[i] = 18300 + i, d.block[i] = i / 2, d.fold[i] = (int16_t)(i % 3);
    }
    strcpy(d.channel_names[0], "dem");
    CHECK_OK(scarp_norm_copy(&d.norm, &norm));
    d.grid.wkt = scarp_strdup("EPSG:32640");
    d.grid.gt[0] = 500000, d.grid.gt[1] = 30, d.grid.gt[3] = 4000000, d.grid.gt[5] = -30;
    d.grid.width = d.grid.height = 8;
    snprintf(ds, 512, "%s/dataset.bin", dir);
    CHECK_OK(scarp_dataset_save(&d, ds));
    scarp_dataset_free(&d);
    scarp_norm_free(&norm);
}

static char nn_path[512], cls_path[512], ds_path[512], norm_path[512];

static void test_nn_model_damaged(void) { damage_all("mlp.model", nn_path, load_nn); }
static void test_classic_model_damaged(void) { damage_all("forest.model", cls_path, load_classic); }
static void test_dataset_damaged(void) { damage_all("dataset.bin", ds_path, load_dataset); }
static void test_norm_damaged(void) { damage_all("norm.bin", norm_path, load_norm); }

/* A header that declares an absurd architecture under a VALID CRC (a file written by a
 * buggy or hostile tool): the loader must compare the declared sizes with the file
 * before allocating, and answer SCARP_ERR_INPUT — not try to allocate terabytes.
 * Reproducer of the fuzz finding tests/fuzz/crashes/model_alloc_before_size_check.bin. */
static void test_nn_model_absurd_header(void)
{
    char *orig = NULL;
    size_t n = 0;
    CHECK_OK(scarp_read_file(nn_path, &orig, &n));
    if (!orig) return;
    char bad[600];
    snprintf(bad, sizeof bad, "%s/absurd.model", dir);
    /* sizes start at byte 16: C H W N T F f0 f1 f2 u0 u1 d0 d1 (int32 each) */
    int32_t F = 1 << 30, d0 = 1 << 16;
    memcpy(orig + 16 + 5 * 4, &F, 4);
    memcpy(orig + 16 + 11 * 4, &d0, 4);
    fix_crc((uint8_t *)orig, n);
    write_bytes(bad, orig, n);
    CHECK_MSG(child_rejects(load_nn, bad, "model with F = 2^30, dense 2^16"),
              "a model header declaring 2^46 weights in a %zu-byte file is not a clear SCARP_ERR_INPUT", n);
    scarp_free(orig);
}

/* Reproducer of tests/fuzz/crashes/dataset_size_overflow.bin: sizes whose product
 * overflows int64 must be rejected as damaged (and without undefined behaviour). */
static void test_dataset_absurd_header(void)
{
    char *orig = NULL;
    size_t n = 0;
    CHECK_OK(scarp_read_file(ds_path, &orig, &n));
    if (!orig) return;
    char bad[600];
    snprintf(bad, sizeof bad, "%s/absurd.bin", dir);
    /* n at byte 16 (int64), dims at 24: C H W N T F folds repeats factors */
    int64_t ns = (int64_t)1 << 40;
    int32_t C = 100000, H = 4096, W = 4096;
    memcpy(orig + 16, &ns, 8);
    memcpy(orig + 24, &C, 4);
    memcpy(orig + 28, &H, 4);
    memcpy(orig + 32, &W, 4);
    write_bytes(bad, orig, n);
    CHECK_MSG(child_rejects(load_dataset, bad, "dataset with n = 2^40, 100000 x 4096 x 4096 patches"),
              "a dataset header whose sizes overflow is not a clear SCARP_ERR_INPUT");
    scarp_free(orig);
}

/* Folds declared but repeats = 0: the fold table is empty, yet the runs read n entries. */
static void test_dataset_zero_repeats(void)
{
    char *orig = NULL;
    size_t n = 0;
    CHECK_OK(scarp_read_file(ds_path, &orig, &n));
    if (!orig) return;
    /* repeats is dims[7] at byte 24 + 28; the fold table (2 bytes x n x repeats) follows
     * the block ids: with repeats = 0 it is absent, so cut those 12 bytes out. */
    int64_t ns;
    int32_t dims[9];
    memcpy(&ns, orig + 16, 8);
    memcpy(dims, orig + 24, sizeof dims);
    size_t patches = 4 * (size_t)ns * dims[0] * dims[1] * dims[2], seq = 4 * (size_t)ns * dims[3] * dims[4];
    size_t fold_off = 24 + 36 + 8 + 4 + 48 + 16 + patches + seq + 4 * (size_t)ns * dims[5] + (size_t)ns * (1 + 8 + 8 + 8 + 8 + 4 + 1 + 4);
    size_t fold_bytes = 2 * (size_t)ns * dims[7];
    if (fold_off + fold_bytes > n) SKIP("dataset layout differs from the documented one");
    int32_t zero = 0;
    memcpy(orig + 24 + 7 * 4, &zero, 4);
    memmove(orig + fold_off, orig + fold_off + fold_bytes, n - fold_off - fold_bytes);
    size_t m = n - fold_bytes;
    fix_crc((uint8_t *)orig, m);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/zero_repeats.bin", dir);
    write_bytes(bad, orig, m);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        scarp_dataset d;
        scarp_status st = scarp_dataset_load(&d, bad);
        if (st != SCARP_OK) _exit(strstr(scarp_last_error(), bad) ? 0 : 1);
        uint8_t *split = scarp_malloc((size_t)d.n);
        int runs = scarp_dataset_n_runs(&d);
        for (int r = 0; r < runs; r++) scarp_dataset_run_split(&d, r, split);
        _exit(0);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK_MSG(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
              "dataset with folds = 3, repeats = 0: load + run splits crashed or misreported (status %d)", ws);
    scarp_free(orig);
}

/* A dataset whose normalisation describes other sizes than its samples, under a valid
 * CRC (what tests/fuzz/crashes/dataset_norm_channels_mismatch.bin was found as): written
 * by the dataset writer itself, so only the loader's consistency check can refuse it. */
static void test_dataset_norm_mismatch(void)
{
    scarp_dataset d;
    CHECK_OK(scarp_dataset_load(&d, ds_path));
    d.norm.S -= 1; /* the features no longer equal channels + summaries */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/norm_mismatch.bin", dir);
    CHECK_OK(scarp_dataset_save(&d, bad));
    scarp_dataset_free(&d);
    scarp_dataset e;
    scarp_status st = scarp_dataset_load(&e, bad);
    CHECK_EQ_INT(st, SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), bad) && strstr(scarp_last_error(), "the normalisation is for"),
              "message: %s", scarp_last_error());
    if (st == SCARP_OK) scarp_dataset_free(&e);
}

int main(void)
{
    scarp_log_set_level(SCARP_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/scarp-robust-files.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    make_files(nn_path, cls_path, ds_path, norm_path);
    RUN(test_nn_model_damaged);
    RUN(test_classic_model_damaged);
    RUN(test_dataset_damaged);
    RUN(test_norm_damaged);
    RUN(test_nn_model_absurd_header);
    RUN(test_dataset_absurd_header);
    RUN(test_dataset_zero_repeats);
    RUN(test_dataset_norm_mismatch);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
