/* test_terrain_tiled_rss.c — SCARP_TEST_SLOW (one to two minutes: 20 M cells).
 * `[project] memory` bounds the peak RSS: the layer stack of a DEM whose in-memory terrain
 * chain would need 4 times the budget (96 MB budget, 4487² = 20.1 M cells at ~20 B per cell =
 * 384 MB) is built in a child process (so that nothing else of this test counts), and its
 * peak resident set (getrusage ru_maxrss) stays under the budget. 96 MB rather than 64: the
 * process holds ~33 MB of libraries before any work and the stack's nodata bitmaps take
 * 1 bit per cell and layer (23 MB for these 9 layers), both inside the budget. The DEM is written by
 * strips in another child first. Derived layers: slope, aspect, curvatures, TWI, ln a, ln SPI
 * and the distance to rivers from the accumulation; and the distance to faults from a vector
 * (one beyond the east edge: a margin around the grid), whose window in one piece would
 * take 5 bytes per cell (> 100 MB), here swept by strips of rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/grid.h"
#include "scarp/log.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/progress.h"
#include "scarp/vector.h"

#define SIDE 4487
#define BUDGET ((int64_t)96 << 20)

static char tmp_root[256];

/* A valley with closed bowls and hash noise, written 64 rows at a time. */
static int write_dem(const char *path)
{
    scarp_grid g;
    scarp_grid_init(&g);
    if (scarp_grid_from_extent(&g, "EPSG:32640", 30.0, 500000, 3000000, 500000 + 30.0 * SIDE, 3000000 + 30.0 * SIDE))
        return 1;
    scarp_raster_writer *wr = NULL;
    if (scarp_raster_writer_open(&wr, path, &g, SCARP_OUT_FLOAT32, NULL)) return 1;
    float *buf = scarp_malloc((size_t)64 * SIDE * sizeof(float));
    for (int64_t r0 = 0; r0 < SIDE; r0 += 64) {
        int64_t rows = SIDE - r0 < 64 ? SIDE - r0 : 64;
        for (int64_t r = r0; r < r0 + rows; r++)
            for (int64_t c = 0; c < SIDE; c++) {
                uint64_t hsh = (uint64_t)(r * SIDE + c) * 0x9E3779B97F4A7C15ULL;
                hsh ^= hsh >> 29;
                double noise = (double)(hsh % 1000) / 1000.0;
                double v = 1500.0 + 0.05 * r + 0.02 * fabs(c - SIDE / 2.0) + 20 * sin(c / 37.0) * cos(r / 23.0) + noise;
                buf[(r - r0) * SIDE + c] = (float)v;
            }
        if (scarp_raster_writer_write(wr, 0, r0, SIDE, rows, buf)) return 1;
    }
    scarp_free(buf);
    scarp_grid_free(&g);
    return scarp_raster_writer_commit(wr) ? 1 : 0;
}

/* Faults: three oblique lines across the grid and one beyond its east edge (a margin). */
static int write_faults(const char *path)
{
    const double x0 = 500000, y0 = 3000000, e = 30.0 * SIDE;
    double a[] = {x0 + 1000.5, y0 - 500.3, x0 + 0.6 * e, y0 + e + 800.1};
    double b[] = {x0 - 900.2, y0 + 0.3 * e, x0 + 0.4 * e, y0 + 0.45 * e, x0 + e + 700.7, y0 + 0.2 * e};
    double c[] = {x0 + 0.1 * e, y0 + 0.9 * e, x0 + 0.9 * e, y0 + 0.6 * e};
    double d[] = {x0 + e + 250.4, y0 - 300.8, x0 + e + 400.9, y0 + e + 300.2};
    scarp_vector_writer *w = NULL;
    if (scarp_vector_writer_open(&w, path, "faults", "EPSG:32640", SCARP_GEOM_LINE, NULL, "", 0)) return 1;
    if (scarp_vector_write_line(w, a, 2, NULL) || scarp_vector_write_line(w, b, 3, NULL) ||
        scarp_vector_write_line(w, c, 2, NULL) || scarp_vector_write_line(w, d, 2, NULL))
        return 1;
    return scarp_vector_writer_commit(w) ? 1 : 0;
}

/* In the child: the stack build; writes its peak RSS (bytes) and seconds to fd. */
static int build_stack(const char *dem, int fd)
{
    scarp_config c;
    scarp_config_defaults(&c);
    c.memory_bytes = BUDGET;
    scarp_layer_config *l = &c.layers[c.n_layers++];
    snprintf(l->name, sizeof l->name, "dem");
    snprintf(l->path, sizeof l->path, "%s", dem);
    l->band = 1;
    l->kind = SCARP_KIND_CONTINUOUS;
    l->derive = SCARP_DERIVE_SLOPE | SCARP_DERIVE_ASPECT | SCARP_DERIVE_TWI | SCARP_DERIVE_SPI |
                SCARP_DERIVE_CURVATURE | SCARP_DERIVE_LCA | SCARP_DERIVE_RIVERS;
    c.n_distances = 1;
    snprintf(c.distances[0].name, sizeof c.distances[0].name, "faults");
    snprintf(c.distances[0].path, sizeof c.distances[0].path, "%s/faults.gpkg", tmp_root);
    char out[512];
    snprintf(out, sizeof out, "%s/run", tmp_root);
    scarp_stack s;
    scarp_log_set_level(SCARP_LOG_DEBUG); /* the phases with their times and RSS */
    double t0 = scarp_now();
    scarp_status st = scarp_stack_build(&c, out, NULL, &s);
    double secs = scarp_now() - t0;
    if (st) {
        fprintf(stderr, "stack build: %s\n", scarp_last_error());
        return 1;
    }
    int layers = s.n_layers;
    scarp_stack_free(&s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double res[3] = {(double)ru.ru_maxrss * 1024.0, secs, layers};
    return write(fd, res, sizeof res) == (ssize_t)sizeof res ? 0 : 1;
}

static void test_peak_rss_under_budget(void)
{
    char dem[512];
    snprintf(dem, sizeof dem, "%s/dem.tif", tmp_root);
    pid_t pid = fork();
    if (pid == 0) {
        char faults[512];
        snprintf(faults, sizeof faults, "%s/faults.gpkg", tmp_root);
        _exit(write_dem(dem) || write_faults(faults));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        _exit(build_stack(dem, fds[1]));
    }
    close(fds[1]);
    double res[3] = {0, 0, 0};
    ssize_t got = read(fds[0], res, sizeof res);
    close(fds[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(got == (ssize_t)sizeof res);
    fprintf(stderr, "  %dx%d cells, budget %lld MB (in memory ~%.0f MB): %d layers in %.1f s, peak RSS %.1f MB "
            "(this process before the fork: %.1f MB)\n", SIDE, SIDE, (long long)(BUDGET >> 20),
            20.0 * SIDE * SIDE / 1048576.0, (int)res[2], res[1], res[0] / 1048576.0,
            (double)before.ru_maxrss / 1024.0);
    CHECK_EQ_INT((int)res[2], 10);
    CHECK_MSG(res[0] > 0 && res[0] < (double)BUDGET, "peak RSS %.1f MB >= budget %lld MB", res[0] / 1048576.0,
              (long long)(BUDGET >> 20));
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_tiled_rss_XXXXXX");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_peak_rss_under_budget);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
    return check_summary();
}
