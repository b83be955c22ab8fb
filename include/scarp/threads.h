/* threads.h — the thread count of every OpenMP region and of OpenBLAS.
 * 0 = all cores. Results never depend on the count (reductions in a fixed order). */
#ifndef SCARP_THREADS_H
#define SCARP_THREADS_H

void scarp_threads_set(int n);
int scarp_threads_get(void);

#endif
