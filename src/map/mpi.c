/* mpi.c — sharing work among MPI ranks (OpenMPI): map tiles (map.c) and cross-validation
 * units (report/train_run.c). MPI is initialised only when the process was launched by
 * mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set), so a plain run never needs an
 * MPI runtime; without SCARP_HAVE_MPI every call is the single-process identity. */
#include "scarp/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SCARP_HAVE_MPI
#include <mpi.h>
static int mpi_active = 0;
#endif
static int depth = 0; /* nested start/finish pairs (scarp run → train, map) */

void scarp_mpi_start(int *rank, int *size)
{
    *rank = 0, *size = 1;
    depth++;
#ifdef SCARP_HAVE_MPI
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (fin) return;
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
        ok = ok != 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
        return all;
    }
#endif
    return ok;
}

scarp_status scarp_mpi_agree(scarp_status st)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active) {
        int rank, size, first;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        int mine = st ? rank : size;
        MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (first == size) return SCARP_OK;
        /* the failing rank's status and message, to every rank */
        char msg[1024] = "";
        int code = st;
        if (rank == first) snprintf(msg, sizeof msg, "%s", scarp_last_error());
        MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
        MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
        msg[sizeof msg - 1] = 0;
        if (rank == first) return (scarp_status)code; /* its message is in place */
        if (!msg[0]) snprintf(msg, sizeof msg, "%s", scarp_strerror((scarp_status)code));
        if (first == 0) return scarp_fail((scarp_status)code, "%s", msg);
        return scarp_fail((scarp_status)code, "rank %d: %s", first, msg);
    }
#endif
    return st;
}

void scarp_mpi_sum_doubles(double *v, int n)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active && n > 0) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)v, (void)n;
#endif
}

void scarp_mpi_sum_ints(int *v, int n)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active && n > 0) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)v, (void)n;
#endif
}

int scarp_mpi_bcast_int(int v)
{
#ifdef SCARP_HAVE_MPI
    if (mpi_active) MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
    return v;
}

void scarp_mpi_finish(void)
{
    if (depth > 0 && --depth > 0) return;
#ifdef SCARP_HAVE_MPI
    int fin = 0;
    if (mpi_active && (MPI_Finalized(&fin), !fin)) MPI_Finalize();
    mpi_active = 0;
#endif
}
