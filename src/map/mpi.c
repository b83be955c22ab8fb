/* mpi.c — sharing map tiles among MPI ranks (OpenMPI). MPI is initialised only when the
 * process was launched by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set), so a
 * plain `scarp map` never needs an MPI runtime; without SCARP_HAVE_MPI every call is the
 * single-process identity. */
#include "scarp/map.h"

#include <stdlib.h>

#ifdef SCARP_HAVE_MPI
#include <mpi.h>
static int mpi_active = 0;
#endif

void scarp_mpi_start(int *rank, int *size)
{
    *rank = 0, *size = 1;
#ifdef SCARP_HAVE_MPI
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return;
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    }
    mpi_active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
#endif
}

void scarp_mpi_barrier(void)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

int scarp_mpi_all_ok(int ok)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active) {
        int all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
        return all;
    }
#endif
    return ok;
}

void scarp_mpi_finish(void)
{
#ifdef SCARP_HAVE_MPI
    int fin = 0;
    if (mpi_active && (MPI_Finalized(&fin), !fin)) MPI_Finalize();
    mpi_active = 0;
#endif
}
