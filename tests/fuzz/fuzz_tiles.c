/* fuzz_tiles.c — libFuzzer target for the map's tile store (src/map/tiles.c): the plan
 * file, the journals tiles.done / tiles.done.1 and a tile file, as a rerun after a crash
 * finds them. Input layout: byte 0 = control (bits 0-1 tiling: 4x3 tiles of 16x16 on
 * 50x40 cells, 1 tile, 9x1, 2x7; bit 2: write the correct plan.txt, so the fuzzer gets
 * past the plan check; bit 3: repair the tile file's CRC over its floats), then parts
 * split at NUL bytes: plan.txt, tiles.done, tiles.done.1, the bytes of tile 0's file.
 * Properties: opening never crashes; a tile reported done can be read back (its file
 * was verified); the done count is within 0..n; after a put, a reopened store reports
 * that tile done and returns its values. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "scarp/alloc.h"
#include "scarp/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_part(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fuzz_write(path, p, n);
}

/* Deletes every file in dir (the store's own files and any partial left by a failed put). */
static void remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1000];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[600];
    if (!dir[0]) {
        fuzz_quiet();
        fuzz_path(dir, sizeof dir, "tiles");
    }
    if (size < 1) return 0;
    static const int shapes[4][4] = {{50, 40, 16, 16}, {16, 16, 16, 16}, {72, 5, 8, 8}, {3, 40, 2, 6}};
    const int *sh = shapes[data[0] & 3];
    const int bands = 2;
    scarp_tiling tiling;
    scarp_tiling_init(&tiling, sh[0], sh[1], sh[2], sh[3]);
    const char *plan_key = "fuzzkey";
    /* parts */
    const uint8_t *part[4] = {0};
    size_t len[4] = {0};
    size_t start = 1;
    for (int i = 0; i < 4 && start <= size; i++) {
        size_t end = start;
        while (end < size && (i == 3 || data[end] != 0)) end++; /* the tile file takes the rest */
        part[i] = data + start, len[i] = end - start;
        start = end + 1;
    }
    /* a fresh folder each run */
    scarp_tile_store *s = NULL;
    if (scarp_mkdir_p(dir)) abort();
    char plan[256];
    int pl = snprintf(plan, sizeof plan, "%s|%lldx%lld|%dx%d|%d\n", plan_key, (long long)tiling.width,
                      (long long)tiling.height, tiling.tile_w, tiling.tile_h, bands);
    if (data[0] & 4) write_part(dir, "plan.txt", (const uint8_t *)plan, (size_t)pl);
    else write_part(dir, "plan.txt", part[0] ? part[0] : (const uint8_t *)"", len[0]);
    write_part(dir, "tiles.done", part[1] ? part[1] : (const uint8_t *)"", len[1]);
    write_part(dir, "tiles.done.1", part[2] ? part[2] : (const uint8_t *)"", len[2]);
    if (part[3]) {
        uint8_t *t = scarp_malloc(len[3] + 1);
        if (!t) abort();
        memcpy(t, part[3], len[3]);
        if ((data[0] & 8) && len[3] >= 32) { /* CRC at offset 28 over the floats after the header */
            uint32_t crc = scarp_crc32(0, t + 32, len[3] - 32);
            memcpy(t + 28, &crc, 4);
        }
        write_part(dir, "t00000000.bin", t, len[3]);
        scarp_free(t);
    }
    scarp_status st = scarp_tile_store_open(&s, dir, &tiling, bands, plan_key, 0);
    fuzz_check_failure(st, NULL);
    if (st == SCARP_OK) {
        int64_t done = scarp_tile_store_count_done(s);
        if (done < 0 || done > tiling.n) abort();
        size_t maxf = (size_t)bands * sh[2] * sh[3];
        float *buf = scarp_malloc(maxf * sizeof(float) + 4), *back = scarp_malloc(maxf * sizeof(float) + 4);
        if (!buf || !back) abort();
        for (int64_t i = 0; i < tiling.n; i++)
            if (scarp_tile_store_done(s, i) && scarp_tile_store_get(s, i, buf) != SCARP_OK) {
                fprintf(stderr, "fuzz: tile %lld reported done but unreadable: %s\n", (long long)i, scarp_last_error());
                abort();
            }
        /* a put survives a reopen */
        int64_t last = tiling.n - 1, c0, r0;
        int w, h;
        scarp_tiling_tile(&tiling, last, &c0, &r0, &w, &h);
        for (size_t k = 0; k < (size_t)bands * w * h; k++) buf[k] = (float)k * 0.5f - 3.0f;
        st = scarp_tile_store_put(s, last, buf);
        fuzz_check_failure(st, NULL);
        scarp_tile_store_close(s);
        s = NULL;
        if (st == SCARP_OK) {
            if (scarp_tile_store_open(&s, dir, &tiling, bands, plan_key, 0) != SCARP_OK) abort();
            if (!scarp_tile_store_done(s, last) || scarp_tile_store_get(s, last, back) != SCARP_OK ||
                memcmp(buf, back, (size_t)bands * w * h * sizeof(float))) {
                fprintf(stderr, "fuzz: tile %lld lost after a put and a reopen\n", (long long)last);
                abort();
            }
        }
        scarp_free(buf);
        scarp_free(back);
    }
    scarp_tile_store_close(s);
    remove_all(dir); /* the next input starts from an empty folder */
    return 0;
}
