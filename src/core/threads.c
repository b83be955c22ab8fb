/* threads.c — one thread count for OpenMP and OpenBLAS (the OpenMP build of OpenBLAS
 * follows omp_set_num_threads, so the two never oversubscribe the cores). */
#include "scarp/threads.h"

#include <omp.h>

static int thread_count = 0;

void scarp_threads_set(int n)
{
    thread_count = n > 0 ? n : omp_get_num_procs();
    omp_set_num_threads(thread_count);
}

int scarp_threads_get(void) { return thread_count > 0 ? thread_count : omp_get_max_threads(); }
