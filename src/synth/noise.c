/* noise.c — hash-based gradient noise and fractional Brownian motion for the synthetic relief.
 * Gradient noise after Perlin (2002, "Improving noise", SIGGRAPH, quintic fade); fBm after
 * Mandelbrot & Van Ness (1968) as used for terrain by Musgrave et al. (1989). The lattice
 * gradients come from a hash of (seed, lattice cell), so any window of any size is computed
 * independently: tiles need no shared state and every thread count gives the same values. */
#include "synth_internal.h"

/* 16 unit gradient directions. */
static const double grad_x[16] = {1, 0.92388, 0.70711, 0.38268, 0, -0.38268, -0.70711, -0.92388,
                                  -1, -0.92388, -0.70711, -0.38268, 0, 0.38268, 0.70711, 0.92388};
static const double grad_y[16] = {0, 0.38268, 0.70711, 0.92388, 1, 0.92388, 0.70711, 0.38268,
                                  0, -0.38268, -0.70711, -0.92388, -1, -0.92388, -0.70711, -0.38268};

static inline double lattice(uint64_t seed, int64_t ix, int64_t iy, double dx, double dy)
{
    uint64_t h = synth_mix64(seed ^ synth_mix64((uint64_t)ix * 0xD1B54A32D192ED03ULL + (uint64_t)iy));
    int k = (int)(h >> 60);
    return grad_x[k] * dx + grad_y[k] * dy;
}

static inline double fade(double t) { return t * t * t * (t * (t * 6 - 15) + 10); }

double synth_noise(uint64_t seed, double x, double y)
{
    double fx = floor(x), fy = floor(y);
    int64_t ix = (int64_t)fx, iy = (int64_t)fy;
    double dx = x - fx, dy = y - fy;
    double n00 = lattice(seed, ix, iy, dx, dy);
    double n10 = lattice(seed, ix + 1, iy, dx - 1, dy);
    double n01 = lattice(seed, ix, iy + 1, dx, dy - 1);
    double n11 = lattice(seed, ix + 1, iy + 1, dx - 1, dy - 1);
    double u = fade(dx), v = fade(dy);
    double a = n00 + u * (n10 - n00), b = n01 + u * (n11 - n01);
    return a + v * (b - a);
}

double synth_fbm(uint64_t seed, double x, double y, double wl0, double wl_min, double gain)
{
    double sum = 0, amp = 1, norm = 0, wl = wl0;
    for (int o = 0; o < 24 && wl >= wl_min * 0.999; o++) {
        /* A per-octave offset decorrelates the octaves' lattices. */
        double off = 0.618034 * (o + 1) * 1000.0;
        sum += amp * synth_noise(seed + (uint64_t)o * 0x9E37ULL, x / wl + off, y / wl - off);
        norm += amp;
        amp *= gain;
        wl *= 0.5;
    }
    (void)norm; /* the raw sum keeps low-passed and full evaluations on one scale */
    return sum;
}
