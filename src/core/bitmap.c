/* bitmap.c — one bit per grid cell, on the heap or in a spilled file mapping (bitmap.h). */
#define _GNU_SOURCE /* mkostemp, O_CLOEXEC */
#include "scarp/bitmap.h"
#include "scarp/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CLEAR_CHUNK ((size_t)1 << 20)

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

scarp_status scarp_bitmap_init(scarp_bitmap *b, int64_t cells, const char *spill_dir)
{
    memset(b, 0, sizeof *b);
    if (cells < 0) return scarp_fail(SCARP_ERR_USAGE, "bitmap of %lld cells", (long long)cells);
    b->cells = cells;
    b->bytes = (size_t)((cells + 7) / 8);
    if (!spill_dir) {
        b->bits = scarp_calloc(b->bytes ? b->bytes : 1, 1);
        return b->bits ? SCARP_OK : SCARP_ERR_NOMEM;
    }
    char path[4200];
    if (snprintf(path, sizeof path, "%s/.bitmap.XXXXXX", spill_dir) >= (int)sizeof path)
        return scarp_fail(SCARP_ERR_USAGE, "%s: path too long", spill_dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) return scarp_fail(SCARP_ERR_IO, "%s: cannot create a spill file: %s", spill_dir, strerror(errno));
    unlink(path);
    const size_t len = b->bytes ? b->bytes : 1;
    int e = posix_fallocate(fd, 0, (off_t)len); /* holes would turn a full disk into SIGBUS */
    if (e) {
        close(fd);
        return scarp_fail(SCARP_ERR_IO, "%s: cannot reserve %zu MB for a nodata bitmap: %s", spill_dir, len >> 20,
                          strerror(e));
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    e = errno;
    close(fd); /* the mapping keeps the file */
    if (p == MAP_FAILED) return scarp_fail(SCARP_ERR_IO, "%s: cannot map a spill file: %s", spill_dir, strerror(e));
    b->bits = p;
    b->spilled = 1;
    /* the reservation wrote zeros (or left unwritten extents that read as zeros) */
    return SCARP_OK;
}

void scarp_bitmap_free(scarp_bitmap *b)
{
    if (!b || !b->bits) return;
    if (b->spilled)
        munmap(b->bits, b->bytes ? b->bytes : 1);
    else
        scarp_free(b->bits);
    memset(b, 0, sizeof *b);
}

/* Pages overlapping bytes [lo, hi) leave the resident set (a spilled bitmap only). */
static void release_bytes(const scarp_bitmap *b, size_t lo, size_t hi)
{
    if (!b->spilled || hi <= lo) return;
    const size_t pg = page_size();
    size_t a = lo / pg * pg, z = (hi + pg - 1) / pg * pg;
    if (z > b->bytes) z = b->bytes;
    if (z > a) madvise(b->bits + a, z - a, MADV_DONTNEED);
}

void scarp_bitmap_release(const scarp_bitmap *b, int64_t first, int64_t n)
{
    if (!b->spilled || n <= 0) return;
    release_bytes(b, (size_t)(first >> 3), (size_t)((first + n + 7) >> 3));
}

void scarp_bitmap_clear(scarp_bitmap *b)
{
    if (!b->spilled) {
        memset(b->bits, 0, b->bytes);
        return;
    }
    for (size_t o = 0; o < b->bytes; o += CLEAR_CHUNK) {
        size_t n = b->bytes - o < CLEAR_CHUNK ? b->bytes - o : CLEAR_CHUNK;
        memset(b->bits + o, 0, n);
        release_bytes(b, o, o + n);
    }
}

void scarp_bitmap_mark_nan(scarp_bitmap *b, int64_t first, const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (isnan(v[i])) scarp_bitmap_set(b, first + i);
    scarp_bitmap_release(b, first, n);
}
