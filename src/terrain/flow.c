/* flow.c — flow accumulation, single (D8) and multiple (MFD) flow direction.
 * D8: O'Callaghan, J.F., Mark, D.M. (1984) The extraction of drainage networks from digital
 * elevation data. CVGIP 28:323-344, doi:10.1016/S0734-189X(84)80011-0.
 * MFD: Freeman, T.G. (1991) Calculating catchment area with divergent flow based on a regular
 * grid. Computers & Geosciences 17(3):413-422, doi:10.1016/0098-3004(91)90048-I
 * (fractions ∝ tan(β_i)^p, p = 1.1), the multiple-direction idea of Quinn et al. (1991).
 * Order: Kahn's topological sort on the donor graph (a cell is passed on once all its donors
 * are done), sequential and therefore deterministic; the per-cell passes run in parallel. */
#include <math.h>
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"
#include "terrain/neighbours.h"

/* Neighbour k: N, NE, E, SE, S, SW, W, NW. */
static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};
#define DONE 0xFF
#define NO_RECEIVER 8

typedef struct {
    int64_t *a;
    size_t n, cap;
} stack;

static inline int stack_push(stack *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        int64_t *a = scarp_realloc(s->a, cap * sizeof *a);
        if (!a) return -1;
        s->a = a;
        s->cap = cap;
    }
    s->a[s->n++] = v;
    return 0;
}

/* acc = own cell area (m²) where valid, NaN elsewhere. */
static void init_area(const float *z, int64_t w, int64_t h, const scarp_cellsize *cs, float *acc)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        float area = (float)(cs->dx_row[r] * cs->dy_row[r]);
        for (int64_t c = 0; c < w; c++) acc[r * w + c] = isnan(z[r * w + c]) ? NAN : area;
    }
}

/* The D8 receiver of every cell (NO_RECEIVER for outlets, pits and NaN). */
static void d8_receivers(const float *z, int64_t w, int64_t h, const scarp_cellsize *cs, uint8_t *recv)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        double len[8];
        neighbour_distances(cs, h, r, len);
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            float zc = z[i];
            uint8_t best = NO_RECEIVER;
            double best_slope = 0.0;
            if (!isnan(zc)) {
                for (int k = 0; k < 8; k++) {
                    int64_t rr = r + DR[k], cc = c + DC[k];
                    if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                    float zn = z[rr * w + cc];
                    if (!(zn < zc)) continue; /* also skips NaN */
                    double s = ((double)zc - zn) / len[k];
                    if (s > best_slope) {
                        best_slope = s;
                        best = (uint8_t)k;
                    }
                }
            }
            recv[i] = best;
        }
    }
}

scarp_status scarp_flow_accumulation_d8(const float *filled, int64_t width, int64_t height,
                                        const scarp_cellsize *cs, float *acc_m2, scarp_progress *progress)
{
    if (!filled || !cs || !acc_m2 || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_flow_accumulation_d8: empty DEM");
    const int64_t w = width, h = height, n = w * h;
    uint8_t *recv = scarp_malloc((size_t)n), *indeg = scarp_malloc((size_t)n);
    stack s = {0};
    scarp_status st = SCARP_OK;
    if (!recv || !indeg) {
        st = SCARP_ERR_NOMEM;
        goto end;
    }
    init_area(filled, w, h, cs, acc_m2);
    d8_receivers(filled, w, h, cs, recv);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            if (isnan(filled[i])) {
                indeg[i] = DONE;
                continue;
            }
            uint8_t d = 0;
            for (int k = 0; k < 8; k++) {
                int64_t rr = r + DR[k], cc = c + DC[k];
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                /* the neighbour's receiver points back at this cell */
                if (recv[rr * w + cc] == ((k + 4) & 7)) d++;
            }
            indeg[i] = d;
        }
    }
    scarp_progress_begin(progress, "flow accumulation (D8)", h);
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c0 = 0; c0 < w; c0++) {
            int64_t start = r * w + c0;
            if (indeg[start] != 0) continue;
            if (stack_push(&s, start)) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
            while (s.n) {
                int64_t i = s.a[--s.n];
                indeg[i] = DONE;
                uint8_t k = recv[i];
                if (k == NO_RECEIVER) continue;
                int64_t j = (i / w + DR[k]) * w + (i % w) + DC[k];
                acc_m2[j] += acc_m2[i];
                if (--indeg[j] == 0 && stack_push(&s, j)) {
                    st = SCARP_ERR_NOMEM;
                    goto end;
                }
            }
        }
        if ((r & 63) == 63 && scarp_progress_step(progress, 64) != SCARP_OK) {
            st = scarp_fail(SCARP_ERR_CANCELLED, "flow accumulation: cancelled");
            goto end;
        }
    }
    scarp_progress_step(progress, h & 63);
    scarp_progress_end(progress);
end:
    scarp_free(recv);
    scarp_free(indeg);
    scarp_free(s.a);
    return st;
}

scarp_status scarp_flow_accumulation_mfd(const float *filled, int64_t width, int64_t height,
                                         const scarp_cellsize *cs, double exponent, float *acc_m2,
                                         scarp_progress *progress)
{
    if (!filled || !cs || !acc_m2 || width <= 0 || height <= 0)
        return scarp_fail(SCARP_ERR_USAGE, "scarp_flow_accumulation_mfd: empty DEM");
    if (!(exponent > 0.0)) exponent = SCARP_MFD_EXPONENT;
    const int64_t w = width, h = height, n = w * h;
    const float pexp = (float)exponent;
    uint8_t *indeg = scarp_malloc((size_t)n);
    stack s = {0};
    scarp_status st = SCARP_OK;
    if (!indeg) return SCARP_ERR_NOMEM;
    init_area(filled, w, h, cs, acc_m2);
    /* donors of a cell = its strictly higher valid neighbours */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < h; r++) {
        for (int64_t c = 0; c < w; c++) {
            int64_t i = r * w + c;
            float zc = filled[i];
            if (isnan(zc)) {
                indeg[i] = DONE;
                continue;
            }
            uint8_t d = 0;
            for (int k = 0; k < 8; k++) {
                int64_t rr = r + DR[k], cc = c + DC[k];
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                if (filled[rr * w + cc] > zc) d++;
            }
            indeg[i] = d;
        }
    }
    scarp_progress_begin(progress, "flow accumulation (MFD)", h);
    for (int64_t r0 = 0; r0 < h; r0++) {
        for (int64_t c0 = 0; c0 < w; c0++) {
            int64_t start = r0 * w + c0;
            if (indeg[start] != 0) continue;
            if (stack_push(&s, start)) {
                st = SCARP_ERR_NOMEM;
                goto end;
            }
            while (s.n) {
                int64_t i = s.a[--s.n];
                indeg[i] = DONE;
                int64_t r = i / w, c = i % w;
                float zc = filled[i];
                double len[8];
                neighbour_distances(cs, h, r, len);
                float wt[8];
                int64_t nb[8];
                int m = 0;
                float sum = 0.0f;
                for (int k = 0; k < 8; k++) {
                    int64_t rr = r + DR[k], cc = c + DC[k];
                    if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                    int64_t j = rr * w + cc;
                    float zn = filled[j];
                    if (!(zn < zc)) continue;
                    float t = (float)(((double)zc - zn) / len[k]);
                    float wk = powf(t, pexp);
                    wt[m] = wk;
                    nb[m++] = j;
                    sum += wk;
                }
                if (m == 0) continue;
                float a = acc_m2[i] / sum;
                for (int k = 0; k < m; k++) {
                    int64_t j = nb[k];
                    acc_m2[j] += a * wt[k];
                    if (--indeg[j] == 0 && stack_push(&s, j)) {
                        st = SCARP_ERR_NOMEM;
                        goto end;
                    }
                }
            }
        }
        if ((r0 & 63) == 63 && scarp_progress_step(progress, 64) != SCARP_OK) {
            st = scarp_fail(SCARP_ERR_CANCELLED, "flow accumulation: cancelled");
            goto end;
        }
    }
    scarp_progress_step(progress, h & 63);
    scarp_progress_end(progress);
end:
    scarp_free(indeg);
    scarp_free(s.a);
    return st;
}
