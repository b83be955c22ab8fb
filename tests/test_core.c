/* test_core.c — status, allocation injection, RNG statistics and streams, CRC-32, paths,
 * bitmaps on the heap and spilled to a file. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/bitmap.h"
#include "scarp/fsutil.h"
#include "scarp/hash.h"
#include "scarp/rng.h"

static void test_rng_reproducible_and_streams(void)
{
    scarp_rng a, b, c;
    scarp_rng_seed(&a, 42);
    scarp_rng_seed(&b, 42);
    scarp_rng_stream(&c, 42, 1);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = scarp_rng_u64(&a), y = scarp_rng_u64(&b), z = scarp_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same);
    CHECK_EQ_INT(differ, 1000);
}

static void test_rng_distributions(void)
{
    scarp_rng r;
    scarp_rng_seed(&r, 7);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0, sg = 0, sg2 = 0;
    long counts[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = scarp_rng_uniform(&r);
        CHECK(u >= 0 && u < 1);
        su += u;
        double z = scarp_rng_normal(&r);
        sn += z;
        sn2 += z * z;
        double g = scarp_rng_gamma(&r, 0.7);
        sg += g;
        sg2 += g * g;
        counts[scarp_rng_below(&r, 10)]++;
    }
    CHECK_NEAR(su / n, 0.5, 0.005);
    CHECK_NEAR(sn / n, 0.0, 0.01);
    CHECK_NEAR(sn2 / n, 1.0, 0.02);
    /* Gamma(k, 1): mean k, variance k. */
    CHECK_NEAR(sg / n, 0.7, 0.01);
    CHECK_NEAR(sg2 / n - (sg / n) * (sg / n), 0.7, 0.03);
    for (int k = 0; k < 10; k++) CHECK_NEAR(counts[k] / (double)n, 0.1, 0.005);
}

static void test_crc32_known_value(void)
{
    /* The CRC-32 check value of "123456789" (ITU-T V.42 / IEEE 802.3) is 0xCBF43926. */
    CHECK_EQ_INT(scarp_crc32(0, "123456789", 9), 0xCBF43926u);
    uint32_t part = scarp_crc32(0, "12345", 5);
    CHECK_EQ_INT(scarp_crc32(part, "6789", 4), 0xCBF43926u);
    /* the 8-byte steps against the bitwise definition, at every length and alignment */
    unsigned char buf[67];
    for (int i = 0; i < 67; i++) buf[i] = (unsigned char)(i * 37 + 11);
    for (int off = 0; off < 3; off++)
        for (int n = 0; n + off <= 67; n++) {
            uint32_t c = 0xFFFFFFFFu;
            for (int i = 0; i < n; i++) {
                c ^= buf[off + i];
                for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            CHECK_EQ_INT(scarp_crc32(0, buf + off, (size_t)n), ~c);
        }
}

static void test_alloc_injection(void)
{
    scarp_alloc_fail_after(1);
    void *a = scarp_malloc(16);
    void *b = scarp_malloc(16);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(strstr(scarp_last_error(), "out of memory") != NULL);
    void *c = scarp_malloc(16);
    CHECK(c != NULL);
    scarp_free(a);
    scarp_free(c);
}

static void test_atomic_write_and_paths(void)
{
    char dir[] = "/tmp/scarp_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[512], file[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    CHECK_OK(scarp_mkdir_p(sub));
    CHECK_OK(scarp_path_join(file, sizeof file, sub, "x.txt"));
    CHECK_OK(scarp_write_file_atomic(file, "hello", 5));
    char *data;
    size_t n;
    CHECK_OK(scarp_read_file(file, &data, &n));
    CHECK_EQ_INT(n, 5);
    CHECK(strcmp(data, "hello") == 0);
    scarp_free(data);
    char partial[700];
    scarp_partial_name(partial, sizeof partial, file);
    CHECK(!scarp_file_exists(partial));
    CHECK_FAILS(scarp_read_file("/nonexistent/scarp/file", &data, &n), SCARP_ERR_IO);
    CHECK(strstr(scarp_last_error(), "/nonexistent/scarp/file") != NULL);
    char resolved[600];
    CHECK_OK(scarp_path_resolve(resolved, sizeof resolved, "/data/study/study.ini", "dem.tif"));
    CHECK(strcmp(resolved, "/data/study/dem.tif") == 0);
    CHECK_OK(scarp_path_resolve(resolved, sizeof resolved, "/data/study/study.ini", "/abs/dem.tif"));
    CHECK(strcmp(resolved, "/abs/dem.tif") == 0);
    unlink(file);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", dir);
    rmdir(sub);
    rmdir(dir);
}

static void test_sha256_fips_vectors(void)
{
    /* FIPS 180-2 appendix B.1 and the empty-string digest. */
    scarp_hash *h;
    char hex[65];
    CHECK_OK(scarp_hash_begin(&h));
    scarp_hash_update(h, "abc", 3);
    scarp_hash_end(h, hex);
    CHECK_MSG(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "got %s", hex);
    char path[] = "/tmp/scarp_hash_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(scarp_hash_file(path, hex));
    CHECK_MSG(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "got %s", hex);
    unlink(path);
    CHECK_FAILS(scarp_hash_file("/nonexistent/x.tif", hex), SCARP_ERR_IO);
}

/* The NaN pattern of the bitmap tests: cell k is NaN when a hash of k says so (about 1 in 5). */
static int pattern_nan(int64_t k) { return (uint64_t)k * 0x9E3779B97F4A7C15ull >> 61 == 3; }

static void fill_pattern(float *v, int64_t first, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = pattern_nan(first + i) ? NAN : 1.0f;
}

/* A spilled bitmap holds the same bits as a heap one (strips of any alignment), keeps them
 * through release, and its marked pages leave the resident set. */
static void test_bitmap_spill(void)
{
    char dir[] = "/tmp/scarp_bitmap_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    /* 1. equality, odd size, unaligned strips of 999 cells */
    const int64_t n1 = 1000003;
    scarp_bitmap h, f;
    CHECK_OK(scarp_bitmap_init(&h, n1, NULL));
    CHECK_OK(scarp_bitmap_init(&f, n1, dir));
    CHECK(f.spilled && !h.spilled && f.bytes == (size_t)((n1 + 7) / 8));
    float *v = scarp_malloc(sizeof(float) * (1 << 20));
    for (int64_t a = 0; a < n1; a += 999) {
        int64_t m = n1 - a < 999 ? n1 - a : 999;
        fill_pattern(v, a, m);
        scarp_bitmap_mark_nan(&h, a, v, m);
        scarp_bitmap_mark_nan(&f, a, v, m);
    }
    CHECK(memcmp(h.bits, f.bits, h.bytes) == 0);
    int64_t wrong = 0;
    for (int64_t k = 0; k < n1; k++) wrong += scarp_bitmap_get(&f, k) != pattern_nan(k);
    CHECK_EQ_INT(wrong, 0);
    scarp_bitmap_clear(&f);
    int64_t set = 0;
    for (size_t i = 0; i < f.bytes; i++) set += f.bits[i] != 0;
    CHECK_EQ_INT(set, 0);
    scarp_bitmap_free(&h);
    scarp_bitmap_free(&f);
    /* 2. 2^28 cells (32 MB of bits) marked strip by strip: the resident set grows by far less
     * than the bitmap, and every bit reads back */
    const int64_t n2 = (int64_t)1 << 28, S = 1 << 20;
    CHECK_OK(scarp_bitmap_init(&f, n2, dir));
    fill_pattern(v, 0, S); /* the strip buffer resident before the measure */
    const int64_t rss0 = scarp_rss_bytes();
    for (int64_t a = 0; a < n2; a += S) {
        fill_pattern(v, a, S);
        scarp_bitmap_mark_nan(&f, a, v, S);
    }
    const int64_t grew = scarp_rss_bytes() - rss0;
    CHECK_MSG(grew < (int64_t)(f.bytes / 4), "spilled bitmap of %zu MB: RSS grew by %lld MB", f.bytes >> 20,
              (long long)(grew >> 20));
    wrong = 0;
    for (int64_t a = 0; a < n2; a += S) {
        for (int64_t k = a; k < a + S; k++) wrong += scarp_bitmap_get(&f, k) != pattern_nan(k);
        scarp_bitmap_release(&f, a, S);
    }
    CHECK_EQ_INT(wrong, 0);
    scarp_bitmap_free(&f);
    scarp_free(v);
    /* 3. a spill folder that does not exist: a clear error naming it */
    char missing[64];
    snprintf(missing, sizeof missing, "%s/none", dir);
    CHECK_FAILS(scarp_bitmap_init(&f, 100, missing), SCARP_ERR_IO);
    CHECK(strstr(scarp_last_error(), missing) != NULL);
    /* 4. no room for the reservation (a file size limit stands in for a full disk, in a
     * child so the limit stays there): a clear error, not a fault at the first write */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1 << 20, 1 << 20};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        scarp_bitmap big;
        scarp_status st = scarp_bitmap_init(&big, (int64_t)64 << 23, dir); /* 64 MB of bits */
        _exit(st == SCARP_ERR_IO && strstr(scarp_last_error(), "cannot reserve 64 MB") ? 0 : 4);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    CHECK(rmdir(dir) == 0); /* the spill files were unlinked at once */
}

int main(void)
{
    RUN(test_sha256_fips_vectors);
    RUN(test_rng_reproducible_and_streams);
    RUN(test_rng_distributions);
    RUN(test_crc32_known_value);
    RUN(test_alloc_injection);
    RUN(test_atomic_write_and_paths);
    RUN(test_bitmap_spill);
    return check_summary();
}
