/* test_tolerance.h — how far two float32 evaluations of the same network may differ when
 * they sum the same products in different orders (another BLAS kernel, the dense à-trous
 * pass against patch-by-patch evaluation, a chunked batch). Any float32 sum of n terms is
 * within γ_n ≈ n·u of the exact sum, relative to the sum of its absolute terms (Higham
 * 2002, §3.1); to first order the relative errors of the reductions along the network add
 * up, so the logit z carries at most u · Σ n_l · Σ|terms of z|. A probability p = σ(z) moves
 * by p(1 − p)·δz ≤ δz / 4, and with inputs scaled to [0, 1] and Glorot-initialised layers
 * the logit's absolute terms stay within a few units (≤ 4 is assumed), so
 *     |Δp| ≤ u · Σ n_l.
 * Σ n_l (eval mode, batch norm folded): conv 9·Ci + 1 per block, LSTM N·(In + U) per layer
 * (every step re-reads the previous state), dense In + 1 per layer. */
#ifndef SCARP_TEST_TOLERANCE_H
#define SCARP_TEST_TOLERANCE_H
#include "scarp/nn.h"

static inline double tol_forward_terms(const scarp_model_spec *s)
{
    const int cnn = s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_CNN;
    const int lstm = s->kind == SCARP_MODEL_CNN_LSTM || s->kind == SCARP_MODEL_LSTM;
    double n = 0;
    int head = 0;
    if (cnn) {
        int ci = s->C;
        for (int k = 0; k < 3; k++) {
            n += 9.0 * ci + 1;
            ci = s->filters[k];
        }
        head += s->filters[2];
    }
    if (lstm) {
        int in = s->T;
        for (int l = 0; l < 2; l++) {
            n += (double)s->N * (in + s->lstm_units[l]);
            in = s->lstm_units[l];
        }
        head += s->lstm_units[1];
    }
    if (s->kind == SCARP_MODEL_MLP) head = s->F;
    n += head + 1.0 + s->dense[0] + 1.0 + s->dense[1] + 1.0;
    return n;
}

/* The absolute tolerance on a probability: u · Σ n_l. */
static inline double tol_probability(const scarp_model_spec *s) { return 5.9604644775390625e-8 * tol_forward_terms(s); }
/* Dated maps against single-date maps (src/map/dense.c head_settled): everything up to the
 * first layer's pre-activations a = W1c·f and g_d is shared bit for bit; the second and
 * output layers are regrouped (W2_ON·a + W2_ON·g_d + W2_OPEN·relu(·) against W2·relu(a + g_d),
 * and the second-layer units ON on every date summed through one dot product per listed
 * unit). A leaf of the per-date head passes through ≤ H1 + 2 roundings, then the output
 * layer (H2 + 2); one of the settled head through ≤ 2·H1 + 3 before it joins the logit's sum
 * (the ON GEMM or P = W2·g, then the listed units; or a dot product over H2 and a product),
 * which then takes ≤ H1 + 3·H2 + 4 more (the ON units' constant and date terms, the listed
 * units, the OPEN units): ≤ 3·H1 + 3·H2 + 7 in all; the sigmoid adds ≤ 4 ulps. With the same
 * assumption as above (the logit's absolute terms ≤ 4, σ' ≤ 1/4):
 *     |Δp| ≤ u · ((H1 + 2) + (H2 + 2) + (3·H1 + 3·H2 + 7) + 8) = u · (4·H1 + 4·H2 + 19).
 * test_map_dense.c checks the head on a constructed strip with the rigorous per-cell form
 * of this bound (actual magnitudes of a, g and the weights, no assumption). */
static inline double tol_head_regroup(const scarp_model_spec *s)
{
    return 5.9604644775390625e-8 * (4.0 * s->dense[0] + 4.0 * s->dense[1] + 19.0);
}
#endif
