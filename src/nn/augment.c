/* augment.c — the 8 rotations and reflections of a square patch (the dihedral group D4),
 * with directional (sin, cos of an azimuth) channels rotated with the cells, for training
 * augmentation of the CNN branch (Simard, Steinkraus & Platt 2003, "Best practices for
 * convolutional neural networks applied to visual document analysis", ICDAR). */
#include <string.h>

#include "scarp/nn.h"

/* M = R^k F^f in (east, north) coordinates: F = diag(−1, 1), R = [[0, −1], [1, 0]] (CCW). */
static void dihedral_matrix(int t, int M[2][2])
{
    int a = (t & 4) ? -1 : 1, b = 0, c = 0, d = 1; /* F^f */
    for (int k = 0; k < (t & 3); k++) {              /* left-multiply by R */
        int na = -c, nb = -d, nc = a, nd = b;
        a = na, b = nb, c = nc, d = nd;
    }
    M[0][0] = a, M[0][1] = b, M[1][0] = c, M[1][1] = d;
}

void scarp_patch_dihedral(const float *src, float *dst, int C, int S, int t, const int *circular, int n_circular)
{
    int M[2][2];
    dihedral_matrix(t & 7, M);
    const size_t HW = (size_t)S * S;
    /* doubled centred coordinates keep half-integer centres exact: E = 2c − (S−1), N = (S−1) − 2r;
     * dst(E', N') = src(Mᵀ (E', N')) since M is orthogonal */
    for (int r2 = 0; r2 < S; r2++)
        for (int c2 = 0; c2 < S; c2++) {
            const int E2 = 2 * c2 - (S - 1), N2 = (S - 1) - 2 * r2;
            const int E = M[0][0] * E2 + M[1][0] * N2, N = M[0][1] * E2 + M[1][1] * N2;
            const int c = (E + S - 1) / 2, r = (S - 1 - N) / 2;
            const size_t from = (size_t)r * S + c, to = (size_t)r2 * S + c2;
            for (int ch = 0; ch < C; ch++) dst[ch * HW + to] = src[ch * HW + from];
        }
    for (int k = 0; k < n_circular; k++) {
        float *sn = dst + (size_t)circular[2 * k] * HW, *cs = dst + (size_t)circular[2 * k + 1] * HW;
        for (size_t i = 0; i < HW; i++) {
            const float e = sn[i], n = cs[i];
            sn[i] = (float)(M[0][0] * e + M[0][1] * n);
            cs[i] = (float)(M[1][0] * e + M[1][1] * n);
        }
    }
}
