/* patches.c — the spatial input of the reference study's CNN branch: a C × H × W window
 * centred on each sample cell (H = W = 22: the sample at row/column H/2), read from the
 * aligned layer stack with one reader per thread; cells outside the grid or on nodata come
 * back NaN and take the channel's training mean when normalised (normalize.c). */
#include <stdio.h>
#include <string.h>

#include "samples.h"
#include "scarp/alloc.h"

scarp_status scarp_patches_read(const scarp_stack *stack, const int64_t *col, const int64_t *row, int64_t n, int patch,
                                float *raw)
{
    const int L = stack->n_layers;
    const size_t per = (size_t)L * patch * patch; /* (L, H, W) per sample */
    scarp_status st = SCARP_OK;
    char msg[1024] = "";
    #pragma omp parallel
    {
        scarp_stack_reader *r = NULL;
        scarp_status mine = scarp_stack_reader_open(&r, stack);
        /* static schedule: every sample is read by exactly one thread; results do not
         * depend on the thread count because each writes only its own slice */
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
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
    if (st != SCARP_OK) return scarp_fail(st, "%s", msg);
    return SCARP_OK;
}
