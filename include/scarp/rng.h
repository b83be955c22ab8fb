/* rng.h — the one seeded random generator of scarp.
 * Algorithm: xoshiro256** (Blackman & Vigna 2018, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4)), state seeded with SplitMix64 from a 64-bit seed.
 * Streams: scarp_rng_stream(seed, id) gives an independent generator per tile, tree,
 * thread or stage, so results do not depend on the order or number of threads.
 * Everything random in scarp draws from a scarp_rng passed explicitly; there is no global. */
#ifndef SCARP_RNG_H
#define SCARP_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s[4]; } scarp_rng;

void scarp_rng_seed(scarp_rng *rng, uint64_t seed);
/* An independent generator for (seed, stream id): SplitMix64 of a hash of both. */
void scarp_rng_stream(scarp_rng *rng, uint64_t seed, uint64_t stream);
uint64_t scarp_rng_u64(scarp_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double scarp_rng_uniform(scarp_rng *rng);
/* Uniform integer in [0, n), unbiased (Lemire 2019); n > 0. */
uint64_t scarp_rng_below(scarp_rng *rng, uint64_t n);
/* Standard normal (Marsaglia polar method; no cached spare, so the draw count is fixed). */
double scarp_rng_normal(scarp_rng *rng);
/* Gamma(shape k > 0, scale 1) by Marsaglia & Tsang (2000), boosted for k < 1. */
double scarp_rng_gamma(scarp_rng *rng, double shape);
/* Fisher–Yates shuffle of n size_t indices. */
void scarp_rng_shuffle(scarp_rng *rng, size_t *idx, size_t n);

#endif
