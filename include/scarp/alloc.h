/* alloc.h — every allocation of the library goes through here, so tests can inject
 * failures (scarp_alloc_fail_after) and hot paths can be audited for malloc. */
#ifndef SCARP_ALLOC_H
#define SCARP_ALLOC_H
#include <stdint.h>
#include <stddef.h>

/* malloc/calloc/realloc twins; on failure they set a SCARP_ERR_NOMEM message naming
 * the size and return NULL. scarp_free accepts NULL. */
void *scarp_malloc(size_t bytes);
void *scarp_calloc(size_t count, size_t size);
void *scarp_realloc(void *ptr, size_t bytes);
void scarp_free(void *ptr);
char *scarp_strdup(const char *s);

/* 64-byte aligned allocation for SIMD/GEMM buffers; release with scarp_free_aligned. */
void *scarp_malloc_aligned(size_t bytes);
void scarp_free_aligned(void *ptr);

/* Test hook: the n-th allocation from now fails (n = 0 fails the next one);
 * a negative n disables injection. Process-wide, not thread-safe: tests only. */
void scarp_alloc_fail_after(long n);

/* The resident set size of this process now, in bytes (Linux /proc/self/statm); 0 when
 * unknown. For budgets (`[project] memory`) and debug lines, not for accounting. */
int64_t scarp_rss_bytes(void);

#endif
