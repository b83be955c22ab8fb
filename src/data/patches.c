/* patches.c — the spatial input of the reference study's CNN branch: a C × H × W window
 * centred on each sample cell (H = W = 22: the sample at row/column H/2), read from the
 * aligned layer stack with one reader per thread; cells outside the grid or on nodata come
 * back NaN and take the channel's training mean when normalised (normalize.c). */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "samples.h"
#include "scarp/alloc.h"

/* Samples are read in tile order (256 × 256 blocks, then row, col) so that neighbouring
 * windows hit GDAL's block cache instead of decompressing the same tile again: on the
 * kerman preset this cuts the reads from ~13 s to ~2 s. Each sample still writes only its
 * own slice, so the order changes nothing in the result. */
typedef struct {
    int64_t key[3];
    int64_t index;
} read_order;

static int cmp_order(const void *a, const void *b)
{
    const read_order *x = a, *y = b;
    for (int k = 0; k < 3; k++)
        if (x->key[k] != y->key[k]) return x->key[k] < y->key[k] ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

scarp_status scarp_patches_read(const scarp_stack *stack, const int64_t *col, const int64_t *row, int64_t n, int patch,
                                float *raw)
{
    const int L = stack->n_layers;
    const size_t per = (size_t)L * patch * patch; /* (L, H, W) per sample */
    scarp_status st = SCARP_OK;
    char msg[1024] = "";
    read_order *order = scarp_malloc(sizeof(read_order) * (size_t)(n > 0 ? n : 1));
    if (!order) return SCARP_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        order[i].key[0] = (row[i] / 256) * ((int64_t)1 << 32) + col[i] / 256;
        order[i].key[1] = row[i];
        order[i].key[2] = col[i];
        order[i].index = i;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_order);
    #pragma omp parallel
    {
        scarp_stack_reader *r = NULL;
        scarp_status mine = scarp_stack_reader_open(&r, stack);
        /* static schedule: every sample is read by exactly one thread; results do not
         * depend on the thread count because each writes only its own slice */
        #pragma omp for schedule(static)
        for (int64_t k = 0; k < n; k++) {
            int64_t i = order[k].index;
            if (mine != SCARP_OK) continue;
            mine = scarp_stack_read(r, col[i] - patch / 2, row[i] - patch / 2, patch, patch, raw + (size_t)i * per, NULL);
        }
        scarp_stack_reader_close(r);
        if (mine != SCARP_OK) {
            #pragma omp critical
            {
                if (st == SCARP_OK) {
                    st = mine;
                    snprintf(msg, sizeof msg, "%s", scarp_last_error()); /* thread-local: copy it out */
                }
            }
        }
    }
    scarp_free(order);
    if (st != SCARP_OK) return scarp_fail(st, "%s", msg);
    return SCARP_OK;
}
