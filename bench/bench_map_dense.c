/* bench_map_dense.c — throughput of the dense (à trous) tile pass alone: cells/s and
 * achieved GFLOP/s for the study's cnn_lstm (C channels, 22×22 patches) on random
 * normalised tiles, threads over tiles (each thread its own buffers), no I/O.
 *   bench_map_dense [C=22] [tile=512] [tiles=8] [threads=2] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "scarp/alloc.h"
#include "scarp/map.h"
#include "scarp/nn.h"
#include "scarp/progress.h"
#include "scarp/rng.h"
#include "scarp/threads.h"

int main(int argc, char **argv)
{
    int C = argc > 1 ? atoi(argv[1]) : 22, T = argc > 2 ? atoi(argv[2]) : 512;
    int ntiles = argc > 3 ? atoi(argv[3]) : 8, threads = argc > 4 ? atoi(argv[4]) : 2;
    scarp_threads_set(threads);
    scarp_model_spec spec;
    scarp_model_spec_default(&spec, SCARP_MODEL_CNN_LSTM);
    spec.C = C;
    scarp_model m;
    if (scarp_model_init(&m, &spec, 1)) return 1;
    scarp_dense_net net;
    if (scarp_dense_net_init(&net, &m)) return 1;
    float *G = scarp_malloc(sizeof(float) * net.H1);
    scarp_dense_gain(&net, NULL, 1, G);
    double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(threads)
    {
        scarp_dense_work *w;
        scarp_dense_work_new(&net, T, T, &w);
        float *in = scarp_dense_work_input(w), *out = scarp_malloc(sizeof(float) * T * T);
        scarp_rng r;
        scarp_rng_stream(&r, 7, (uint64_t)omp_get_thread_num());
        for (size_t i = 0; i < (size_t)C * (T + 21) * (T + 21); i++) in[i] = (float)scarp_rng_uniform(&r);
        scarp_dense_tile(&net, w, T, T, G, NULL, out); /* warm-up */
#pragma omp barrier
#pragma omp single
        t0 = scarp_now();
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < ntiles; t++) scarp_dense_tile(&net, w, T, T, G, NULL, out);
#pragma omp single
        t1 = scarp_now();
        scarp_free(out);
        scarp_dense_work_free(w);
    }
    double cells = (double)ntiles * T * T, sec = t1 - t0;
    double fl = scarp_dense_flops_per_cell(&net, T, T);
    printf("dense C=%d tile=%d tiles=%d threads=%d: %.3f s, %.0f cells/s, %.3f MFLOP/cell, %.1f GFLOP/s\n", C, T, ntiles,
           threads, sec, cells / sec, fl / 1e6, cells * fl / sec / 1e9);
    scarp_free(G);
    scarp_dense_net_free(&net);
    scarp_model_free(&m);
    return 0;
}
