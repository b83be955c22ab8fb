/* bitmap.h — one bit per grid cell, in memory or spilled to a file.
 * A grid of 2 × 10⁹ cells needs 250 MB per bitmap; `scarp prepare` keeps one per layer
 * (which cells each layer leaves nodata) and the samples stage one for the valid mask.
 * Where they would not fit the `[project] memory` budget, a bitmap lives in an unlinked
 * file of the output folder, mapped MAP_SHARED: its pages sit in the page cache, not in
 * the process, and scarp_bitmap_release hands the pages of a finished range back (for a
 * shared file mapping MADV_DONTNEED keeps the data: a later access faults it back in). */
#ifndef SCARP_BITMAP_H
#define SCARP_BITMAP_H
#include <stddef.h>
#include <stdint.h>

#include "scarp/status.h"

typedef struct {
    uint8_t *bits;  /* (cells + 7) / 8 bytes; bit k of byte k/8 is cell k */
    int64_t cells;
    size_t bytes;
    int spilled;    /* 1: a file mapping (release drops pages), 0: heap */
} scarp_bitmap;

/* All bits 0. spill_dir NULL: on the heap. Otherwise a file in spill_dir, unlinked at once
 * (nothing is left behind by a crash) and reserved in full, so a full disk is an error
 * here rather than a fault later. */
scarp_status scarp_bitmap_init(scarp_bitmap *b, int64_t cells, const char *spill_dir);
void scarp_bitmap_free(scarp_bitmap *b);

static inline int scarp_bitmap_get(const scarp_bitmap *b, int64_t k) { return (b->bits[k >> 3] >> (k & 7)) & 1; }
static inline void scarp_bitmap_set(scarp_bitmap *b, int64_t k) { b->bits[k >> 3] |= (uint8_t)(1u << (k & 7)); }

/* Every bit back to 0 (a spilled bitmap a chunk at a time, released as it goes). */
void scarp_bitmap_clear(scarp_bitmap *b);

/* Spilled: the pages holding cells [first, first + n) leave the resident set (their bits
 * are kept). Heap: nothing. Safe while other threads write other parts of the bitmap. */
void scarp_bitmap_release(const scarp_bitmap *b, int64_t first, int64_t n);

/* Bits [first, first + n) set where v is NaN (the others untouched), then released. */
void scarp_bitmap_mark_nan(scarp_bitmap *b, int64_t first, const float *v, int64_t n);

#endif
