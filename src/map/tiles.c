/* tiles.c — the tiling of a grid and the crash-safe store of finished map tiles.
 * A tile's result goes to dir/tNNNNNNNN.bin (written to a partial name, fsync'd, renamed),
 * then one line "i crc" is appended to the journal dir/tiles.done (or tiles.done.RANK) and
 * fsync'd: after kill -9 a rerun skips every journalled tile whose file checks out, and
 * recomputes the rest; since a tile's values depend only on the tile, the assembled map is
 * byte-identical to an uninterrupted run (the write-ahead-log idea of Gray & Reuter 1992,
 * "Transaction Processing", reduced to idempotent tiles). */
#define _POSIX_C_SOURCE 200809L
#include "scarp/map.h"
#include "scarp/alloc.h"
#include "scarp/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void scarp_tiling_init(scarp_tiling *t, int64_t width, int64_t height, int tile_w, int tile_h)
{
    t->width = width, t->height = height;
    t->tile_w = tile_w, t->tile_h = tile_h;
    t->nx = (width + tile_w - 1) / tile_w;
    t->ny = (height + tile_h - 1) / tile_h;
    t->n = t->nx * t->ny;
}

void scarp_tiling_tile(const scarp_tiling *t, int64_t i, int64_t *col0, int64_t *row0, int *w, int *h)
{
    int64_t tx = i % t->nx, ty = i / t->nx;
    *col0 = tx * t->tile_w;
    *row0 = ty * t->tile_h;
    *w = (int)(t->width - *col0 < t->tile_w ? t->width - *col0 : t->tile_w);
    *h = (int)(t->height - *row0 < t->tile_h ? t->height - *row0 : t->tile_h);
}

#define TILE_MAGIC "SCTILE01"

struct scarp_tile_store {
    char dir[2048];
    scarp_tiling tiling;
    int bands, rank;
    uint8_t *done;  /* (n) */
    int journal_fd; /* this rank's journal, O_APPEND */
};

/* Every path of the store is built here and checked: a name that does not fit is an error
 * naming the folder, never a truncated path. */
static scarp_status store_path(char *out, size_t n, const char *dir, const char *fmt, int64_t v)
{
    char name[64];
    int len = snprintf(name, sizeof name, fmt, v);
    if (len < 0 || (size_t)len >= sizeof name) return scarp_fail(SCARP_ERR_INPUT, "%s: bad tile file name", dir);
    return scarp_path_join(out, n, dir, name);
}

static scarp_status tile_path(const scarp_tile_store *s, int64_t i, char *out, size_t n)
{
    return store_path(out, n, s->dir, "t%08" PRId64 ".bin", i);
}

static scarp_status journal_path(const char *dir, int rank, char *out, size_t n)
{
    if (rank == 0) return store_path(out, n, dir, "tiles.done", 0);
    return store_path(out, n, dir, "tiles.done.%" PRId64, rank);
}

/* Parses one journal: complete lines "i crc\n"; a torn last line (kill during write) is ignored. */
static void read_journal(scarp_tile_store *s, const char *path)
{
    char *text = NULL;
    size_t bytes = 0;
    if (scarp_read_file(path, &text, &bytes)) {
        scarp_clear_error();
        return;
    }
    char *p = text, *end = text + bytes;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        *nl = '\0';
        long long i;
        unsigned long crc;
        if (sscanf(p, "%lld %lx", &i, &crc) == 2 && i >= 0 && i < s->tiling.n) s->done[i] = 1;
        p = nl + 1;
    }
    scarp_free(text);
}

static size_t tile_floats(const scarp_tile_store *s, int64_t i)
{
    int64_t c0, r0;
    int w, h;
    scarp_tiling_tile(&s->tiling, i, &c0, &r0, &w, &h);
    return (size_t)s->bands * w * h;
}

/* Verifies a journalled tile's file (size and CRC); unverifiable tiles are recomputed. */
static int tile_file_ok(const scarp_tile_store *s, int64_t i)
{
    float *buf = scarp_malloc(tile_floats(s, i) * sizeof(float) + 1);
    if (!buf) return 0;
    int ok = scarp_tile_store_get(s, i, buf) == SCARP_OK;
    if (!ok) scarp_clear_error();
    scarp_free(buf);
    return ok;
}

scarp_status scarp_tile_store_refresh(scarp_tile_store *s)
{
    memset(s->done, 0, (size_t)s->tiling.n);
    DIR *d = opendir(s->dir);
    if (!d) return scarp_fail(SCARP_ERR_IO, "%s: cannot list: %s", s->dir, strerror(errno));
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "tiles.done", 10)) {
            scarp_status st = scarp_path_join(path, sizeof path, s->dir, e->d_name);
            if (st) {
                closedir(d);
                return st;
            }
            read_journal(s, path);
        }
    closedir(d);
    return SCARP_OK;
}

scarp_status scarp_tile_store_open(scarp_tile_store **out, const char *dir, const scarp_tiling *tiling, int bands,
                                   const char *plan_key, int rank)
{
    *out = NULL;
    scarp_status st = scarp_mkdir_p(dir);
    if (st) return st;
    scarp_tile_store *s = scarp_calloc(1, sizeof *s);
    if (!s) return SCARP_ERR_NOMEM;
    if (strlen(dir) >= sizeof s->dir) {
        scarp_free(s);
        return scarp_fail(SCARP_ERR_INPUT, "%s: tile folder path longer than %zu characters", dir, sizeof s->dir - 1);
    }
    memcpy(s->dir, dir, strlen(dir) + 1);
    s->tiling = *tiling;
    s->bands = bands;
    s->rank = rank;
    s->journal_fd = -1;
    s->done = scarp_calloc((size_t)tiling->n + 1, 1);
    if (!s->done) {
        scarp_free(s);
        return SCARP_ERR_NOMEM;
    }
    /* The plan: a store made for another grid / tile size / model / date is stale. */
    char plan_path[4096], want[1024];
    if ((st = scarp_path_join(plan_path, sizeof plan_path, dir, "plan.txt"))) goto fail;
    int wl = snprintf(want, sizeof want, "%s|%" PRId64 "x%" PRId64 "|%dx%d|%d\n", plan_key, tiling->width,
                      tiling->height, tiling->tile_w, tiling->tile_h, bands);
    if (wl < 0 || (size_t)wl >= sizeof want) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: tile plan key of %zu characters is too long", dir, strlen(plan_key));
        goto fail;
    }
    char *have = NULL;
    size_t hb = 0;
    int same = scarp_read_file(plan_path, &have, &hb) == SCARP_OK && !strcmp(have, want);
    scarp_free(have);
    scarp_clear_error();
    if (!same) {
        if (rank == 0) {
            scarp_tile_store_remove(s);
            if ((st = scarp_mkdir_p(dir)) || (st = scarp_write_file_atomic(plan_path, want, strlen(want)))) goto fail;
        }
    }
    if ((st = scarp_tile_store_refresh(s))) goto fail;
    for (int64_t i = 0; i < tiling->n; i++)
        if (s->done[i] && !tile_file_ok(s, i)) s->done[i] = 0;
    char jp[4096];
    if ((st = journal_path(dir, rank, jp, sizeof jp))) goto fail;
    s->journal_fd = open(jp, O_RDWR | O_CREAT | O_APPEND, 0666);
    if (s->journal_fd < 0) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot open tile journal: %s", jp, strerror(errno));
        goto fail;
    }
    /* A kill during an append leaves a torn last line; the next entry appended to it would
     * merge with it and be lost (fuzz finding tests/fuzz/crashes/tiles_torn_journal.bin).
     * End the torn line first: the reader skips it. */
    char last = '\n';
    off_t end = lseek(s->journal_fd, 0, SEEK_END);
    if (end > 0 && pread(s->journal_fd, &last, 1, end - 1) == 1 && last != '\n' &&
        (write(s->journal_fd, "\n", 1) != 1 || fsync(s->journal_fd) != 0)) {
        st = scarp_fail(SCARP_ERR_IO, "%s: cannot repair the tile journal: %s", jp, strerror(errno));
        goto fail;
    }
    *out = s;
    return SCARP_OK;
fail:
    scarp_tile_store_close(s);
    return st;
}

int scarp_tile_store_done(const scarp_tile_store *s, int64_t i) { return s->done[i]; }

int64_t scarp_tile_store_count_done(const scarp_tile_store *s)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->tiling.n; i++) n += s->done[i];
    return n;
}

/* File: magic (8) | i64 index | i32 bands, w, h | u32 CRC of the floats | floats. */
scarp_status scarp_tile_store_put(scarp_tile_store *s, int64_t i, const float *data)
{
    int64_t c0, r0;
    int w, h;
    scarp_tiling_tile(&s->tiling, i, &c0, &r0, &w, &h);
    size_t nf = (size_t)s->bands * w * h, bytes = 32 + nf * sizeof(float);
    unsigned char *buf = scarp_malloc(bytes);
    if (!buf) return SCARP_ERR_NOMEM;
    uint32_t crc = scarp_crc32(0, data, nf * sizeof(float));
    int32_t dims[3] = {s->bands, w, h};
    memcpy(buf, TILE_MAGIC, 8);
    memcpy(buf + 8, &i, 8);
    memcpy(buf + 16, dims, 12);
    memcpy(buf + 28, &crc, 4);
    memcpy(buf + 32, data, nf * sizeof(float));
    char path[4096];
    scarp_status st = tile_path(s, i, path, sizeof path);
    if (!st) st = scarp_write_file_atomic(path, buf, bytes);
    scarp_free(buf);
    if (st) return st;
    char line[64];
    int n = snprintf(line, sizeof line, "%" PRId64 " %08x\n", i, (unsigned)crc);
    int ok;
#pragma omp critical(scarp_tile_journal)
    ok = write(s->journal_fd, line, (size_t)n) == n && fsync(s->journal_fd) == 0;
    if (!ok) return scarp_fail(SCARP_ERR_IO, "%s: cannot append to the tile journal: %s", s->dir, strerror(errno));
    s->done[i] = 1;
    return SCARP_OK;
}

scarp_status scarp_tile_store_get(const scarp_tile_store *s, int64_t i, float *data)
{
    char path[4096];
    scarp_status pst = tile_path(s, i, path, sizeof path);
    if (pst) return pst;
    size_t nf = tile_floats(s, i);
    FILE *f = fopen(path, "rb");
    if (!f) return scarp_fail(SCARP_ERR_IO, "%s: cannot open tile: %s", path, strerror(errno));
    unsigned char hdr[32];
    scarp_status st = SCARP_OK;
    int64_t idx;
    uint32_t crc;
    if (fread(hdr, 1, 32, f) != 32 || memcmp(hdr, TILE_MAGIC, 8)) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: not a map tile", path);
        goto end;
    }
    memcpy(&idx, hdr + 8, 8);
    memcpy(&crc, hdr + 28, 4);
    if (idx != i || fread(data, sizeof(float), nf, f) != nf || fgetc(f) != EOF ||
        scarp_crc32(0, data, nf * sizeof(float)) != crc)
        st = scarp_fail(SCARP_ERR_INPUT, "%s: damaged map tile", path);
end:
    fclose(f);
    return st;
}

void scarp_tile_store_remove(scarp_tile_store *s)
{
    DIR *d = opendir(s->dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)))
            if ((e->d_name[0] == 't' && strstr(e->d_name, ".bin")) || !strncmp(e->d_name, "tiles.done", 10) ||
                !strcmp(e->d_name, "plan.txt")) {
                if (scarp_path_join(path, sizeof path, s->dir, e->d_name) == SCARP_OK) unlink(path);
            }
        closedir(d);
    }
    rmdir(s->dir);
}

void scarp_tile_store_close(scarp_tile_store *s)
{
    if (!s) return;
    if (s->journal_fd >= 0) close(s->journal_fd);
    scarp_free(s->done);
    scarp_free(s);
}
