/* test_raster_limits.c — a raster write that runs out of room must fail and leave no
 * file under its final name (docs/ROBUSTNESS.md, "full disk").
 *
 * The case the shell test cli_fault_disk cannot reach: the intermediate GeoTIFF fits and
 * the Cloud-Optimized GeoTIFF made from it does not. The raster is incompressible (random
 * floats), so the ZSTD intermediate is about its raw size and the COG (DEFLATE plus
 * overviews, a third more) is larger; the file-size limit sits between the two. Each
 * case runs in a child process with RLIMIT_FSIZE set and SIGXFSZ ignored, so write()
 * fails with EFBIG exactly as on a full disk; the parent then looks at the folder. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/grid.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/rng.h"

enum { SIDE = 1024 };
static char dir[256];

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Writes about SIDE x SIDE random floats to path (COG or not) in a child limited to
 * limit_bytes per file; returns the child's exit code: 0 written, 1 the writer reported
 * an error, 2 the error message does not name the file, other = crashed. */
static int write_limited(const char *path, int cog, long long limit_bytes)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)limit_bytes, (rlim_t)limit_bytes};
        if (limit_bytes > 0 && setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        scarp_gdal_init();
        scarp_grid g;
        scarp_grid_init(&g);
        if (scarp_grid_from_extent(&g, "EPSG:32640", 30.0, 500000.0, 3000000.0, 500000.0 + 30.0 * SIDE,
                                   3000000.0 + 30.0 * SIDE) != SCARP_OK)
            _exit(4);
        /* the extent snaps outward to whole cells: size the data by the grid made */
        const size_t cells = (size_t)scarp_grid_cells(&g);
        float *v = scarp_malloc(cells * sizeof *v);
        if (!v) _exit(5);
        scarp_rng rng;
        scarp_rng_seed(&rng, 7);
        for (size_t i = 0; i < cells; i++) v[i] = (float)scarp_rng_uniform(&rng);
        /* not COG: the settings of the COG's intermediate (ZSTD level 1) */
        scarp_raster_meta meta = {.description = "random", .cog = cog, .fast = !cog};
        scarp_status st = scarp_raster_write(path, &g, v, SCARP_OUT_FLOAT32, &meta);
        int code = 0;
        if (st != SCARP_OK) {
            fprintf(stderr, "  (child) %s\n", scarp_last_error());
            code = strstr(scarp_last_error(), path) ? 1 : 2;
        }
        scarp_free(v);
        scarp_grid_free(&g);
        _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* No temporary file of path's writer is left. */
static void check_no_partials(const char *path)
{
    char partial[400];
    snprintf(partial, sizeof partial, "%s.partial", path);
    CHECK_MSG(file_size(partial) < 0, "%s left behind", partial);
    snprintf(partial, sizeof partial, "%s.partial.aux.xml", path);
    CHECK_MSG(file_size(partial) < 0, "%s left behind", partial);
    snprintf(partial, sizeof partial, "%s.cog.partial", path);
    CHECK_MSG(file_size(partial) < 0, "%s left behind", partial);
}

/* Nothing under the final name, and no temporary file. */
static void check_nothing_left(const char *path)
{
    CHECK_MSG(file_size(path) < 0, "%s exists (%lld bytes) after a failed write", path, file_size(path));
    check_no_partials(path);
}

static void test_cog_conversion_out_of_room(void)
{
    char plain[300], cog[300];
    snprintf(plain, sizeof plain, "%s/plain.tif", dir);
    snprintf(cog, sizeof cog, "%s/cog.tif", dir);
    /* Unlimited: learn the two sizes this GDAL writes (plain = the intermediate's settings). */
    CHECK_EQ_INT(write_limited(plain, 0, 0), 0);
    CHECK_EQ_INT(write_limited(cog, 1, 0), 0);
    check_no_partials(plain);
    check_no_partials(cog);
    long long n_plain = file_size(plain), n_cog = file_size(cog);
    fprintf(stderr, "  intermediate-like GeoTIFF %lld bytes, COG %lld bytes\n", n_plain, n_cog);
    CHECK_MSG(n_cog > n_plain + 65536, "the COG (%lld) must be larger than the plain GeoTIFF (%lld) for this test",
              n_cog, n_plain);
    unlink(cog);
    /* The intermediate fits, the COG does not: the conversion must fail, name the file,
     * and leave nothing under the final name. */
    /* Several limits across the gap: GDAL fails in different places (the overview pass,
     * the main image, the final flush), and some of them do not make GDALTranslate
     * return NULL; the last is one block short of the whole file. */
    long long limits[] = {n_plain + (n_cog - n_plain) / 8, n_plain + (n_cog - n_plain) / 2,
                          n_plain + 3 * (n_cog - n_plain) / 4, n_cog - 65536, n_cog - 4096, n_cog - 1};
    for (size_t k = 0; k < sizeof limits / sizeof *limits; k++) {
        int code = write_limited(cog, 1, limits[k]);
        CHECK_MSG(code == 1, "COG limited to %lld bytes (whole file %lld): child exit %d, want 1", limits[k], n_cog,
                  code);
        check_nothing_left(cog);
        unlink(cog);
    }
    /* Too small even for the intermediate. */
    CHECK_EQ_INT(write_limited(cog, 1, n_plain / 2), 1);
    check_nothing_left(cog);
    unlink(plain);
    CHECK_EQ_INT(write_limited(plain, 0, n_plain / 2), 1);
    check_nothing_left(plain);
}

int main(void)
{
    scarp_log_set_level(SCARP_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/scarp-raster-limits.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(test_cog_conversion_out_of_room);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
