/* mpi.h — sharing work among MPI ranks (OpenMPI): the tiles of `scarp map` and the
 * cross-validation units of `scarp train` (src/map/mpi.c). MPI is initialised only when
 * the process was launched by mpirun and the build has SCARP_HAVE_MPI; otherwise every
 * call is the single-process identity (rank 0 of 1). */
#ifndef SCARP_MPI_H
#define SCARP_MPI_H
#include <stddef.h>
#include "scarp/status.h"

/* Starts (or joins) MPI: *rank of *size. Calls nest: scarp run starts MPI once and the
 * train and map stages inside it start and finish again; only the outermost
 * scarp_mpi_finish finalises. */
void scarp_mpi_start(int *rank, int *size);
void scarp_mpi_barrier(void);
/* Logical AND of ok over ranks (every rank learns whether all ranks succeeded). */
int scarp_mpi_all_ok(int ok);
/* Collective: SCARP_OK when st is SCARP_OK on every rank; otherwise, on every rank, the
 * status and message (scarp_last_error) of the lowest-numbered failing rank, with "rank K: "
 * in front when K > 0, so rank 0 can print what went wrong elsewhere. */
scarp_status scarp_mpi_agree(scarp_status st);
/* Element-wise sums over ranks, in place (every rank gets the totals). */
void scarp_mpi_sum_doubles(double *v, int n);
void scarp_mpi_sum_ints(int *v, int n);
/* Rank 0's value of v, on every rank. */
int scarp_mpi_bcast_int(int v);
void scarp_mpi_finish(void);

#endif
