/* gemm.c — a thread-count-independent parallel sgemm: the output is cut into column tiles
 * whose width depends only on the shape, each tile is one single-threaded OpenBLAS call
 * (OpenBLAS' OpenMP build runs single-threaded inside a parallel region), and the tiles are
 * shared among OpenMP threads. OpenBLAS' own threading changes its K blocking with the
 * thread count (level3.c and level3_thread.c round the K panels differently), which would
 * make 1 thread ≠ 2 threads; this wrapper keeps every output element's summation order
 * fixed, so training is bit-identical for any thread count. */
#include <cblas.h>
#include <omp.h>

#include "scarp/nn_layers.h"
#include "scarp/threads.h"

/* Tile width: a function of the shape only, never of the thread count. (Splitting the
 * columns differently DOES change results: OpenBLAS' edge kernels for the N remainder
 * accumulate in another order — measured, test_nn_model's determinism test catches it.) */
static int tile_width(int M, int N, int K)
{
    const double work = 2.0 * M * (double)N * K;
    if (work < 2.0e5 || N < 32) return N; /* too small to be worth a fork */
    if (N >= 2048) return 512;
    int w = (N + 3) / 4;
    w = (w + 15) & ~15;
    return w < 16 ? 16 : w;
}

void scarp_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    int nthreads = omp_in_parallel() ? 1 : scarp_threads_get();
    const int tw = tile_width(M, N, K);
    const int tiles = (N + tw - 1) / tw;
    const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
    if (nthreads > tiles) nthreads = tiles;
#pragma omp parallel num_threads(nthreads)
    {
        /* this implicit task's thread count = 1: OpenBLAS then never threads the call (a team
         * of one is not "in parallel" for omp_in_parallel, so that test alone is not enough) */
        omp_set_num_threads(1);
#pragma omp for schedule(static)
        for (int t = 0; t < tiles; t++) {
            const int j0 = t * tw, nj = N - j0 < tw ? N - j0 : tw;
            /* columns j0..j0+nj of op(B): row-major B is (K,N) untransposed, (N,K) transposed */
            const float *Bt = transB ? B + (size_t)j0 * ldb : B + j0;
            cblas_sgemm(CblasRowMajor, ta, tb, M, nj, K, alpha, A, lda, Bt, ldb, beta, C + j0, ldc);
        }
    }
}
