/* rng.c — xoshiro256** (Blackman & Vigna 2018) seeded by SplitMix64; normal by the
 * Marsaglia polar method, gamma by Marsaglia & Tsang (2000), bounded integers by
 * Lemire (2019, "Fast random integer generation in an interval", ACM TOMACS 29(1)). */
#include "scarp/rng.h"

#include <math.h>
#include <stddef.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void scarp_rng_seed(scarp_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

void scarp_rng_stream(scarp_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ 0x5CA4B5EEDULL;
    uint64_t h = splitmix64(&x);
    x = h ^ (stream * 0xD1342543DE82EF95ULL + 0x2545F4914F6CDD1DULL);
    scarp_rng_seed(rng, splitmix64(&x));
}

uint64_t scarp_rng_u64(scarp_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double scarp_rng_uniform(scarp_rng *rng)
{
    return (double)(scarp_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t scarp_rng_below(scarp_rng *rng, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)scarp_rng_u64(rng) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)scarp_rng_u64(rng) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double scarp_rng_normal(scarp_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * scarp_rng_uniform(rng) - 1.0;
        v = 2.0 * scarp_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double scarp_rng_gamma(scarp_rng *rng, double shape)
{
    if (shape < 1.0) {
        /* Gamma(k) = Gamma(k + 1) * U^(1/k) */
        double u = scarp_rng_uniform(rng);
        return scarp_rng_gamma(rng, shape + 1.0) * pow(u > 0 ? u : 1e-300, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = scarp_rng_normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = scarp_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

void scarp_rng_shuffle(scarp_rng *rng, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)scarp_rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
