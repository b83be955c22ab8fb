/* alloc.c — the single allocation door, with failure injection for tests. */
#include <stdio.h>
#include <unistd.h>
#include "scarp/alloc.h"
#include "scarp/status.h"

#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;

static int should_fail(void)
{
    if (fail_countdown < 0) return 0;
    if (fail_countdown == 0) { fail_countdown = -1; return 1; }
    fail_countdown--;
    return 0;
}

void scarp_alloc_fail_after(long n) { fail_countdown = n; }

void *scarp_malloc(size_t bytes)
{
    void *p = should_fail() ? NULL : malloc(bytes ? bytes : 1);
    if (!p) scarp_fail(SCARP_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *scarp_calloc(size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size) {
        scarp_fail(SCARP_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
    if (!p) scarp_fail(SCARP_ERR_NOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

void *scarp_realloc(void *ptr, size_t bytes)
{
    void *p = should_fail() ? NULL : realloc(ptr, bytes ? bytes : 1);
    if (!p) scarp_fail(SCARP_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void scarp_free(void *ptr) { free(ptr); }

char *scarp_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = scarp_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *scarp_malloc_aligned(size_t bytes)
{
    if (should_fail()) {
        scarp_fail(SCARP_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) scarp_fail(SCARP_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void scarp_free_aligned(void *ptr) { free(ptr); }

int64_t scarp_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long long pages_total = 0, pages_resident = 0;
    int ok = fscanf(f, "%lld %lld", &pages_total, &pages_resident) == 2;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return ok && page > 0 ? (int64_t)pages_resident * page : 0;
}
