/* relief.c — faults and the fractal relief they drive: range fronts uplifted on the hanging
 * wall of NW–SE faults (the trend of the Kerman ranges, Walker & Jackson 2004, doi:10.1029/
 * 2003TC001529), a low-frequency basin floor, and gradient-noise fBm whose amplitude grows
 * with the uplift, so plains stay smooth and mountains are rough (Musgrave et al. 1989). */
#include <string.h>

#include "scarp/alloc.h"
#include "synth_internal.h"

#define DEG (3.14159265358979323846 / 180.0)

scarp_status synth_faults_make(synth_ctx *c)
{
    double area_km2 = c->W * c->H / 1e6;
    int n = (int)lround(area_km2 / 700.0);
    n = n < 3 ? 3 : n > 400 ? 400 : n;
    c->faults = scarp_calloc((size_t)n, sizeof *c->faults);
    if (!c->faults) return SCARP_ERR_NOMEM;
    c->n_faults = n;
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_FAULTS);
    for (int i = 0; i < n; i++) {
        synth_fault *f = &c->faults[i];
        double cx = (-0.1 + 1.2 * scarp_rng_uniform(&r)) * c->W;
        double cy = (-0.1 + 1.2 * scarp_rng_uniform(&r)) * c->H;
        /* local y grows southwards: 45° is a NW–SE trace; one fault in six trends E–W. */
        double theta = scarp_rng_uniform(&r) < 0.83 ? (45 + 70 * (scarp_rng_uniform(&r) - 0.5)) * DEG
                                                    : (40 * (scarp_rng_uniform(&r) - 0.5)) * DEG;
        double len = 15e3 + 45e3 * scarp_rng_uniform(&r);
        f->n = SYNTH_FAULT_VERTS;
        double seg = len / (f->n - 1);
        double hx = cos(theta), hy = sin(theta);
        f->x[0] = cx - 0.5 * len * hx;
        f->y[0] = cy - 0.5 * len * hy;
        f->cum[0] = 0;
        double heading = theta;
        for (int k = 1; k < f->n; k++) {
            heading += 16 * DEG * (scarp_rng_uniform(&r) - 0.5);
            f->x[k] = f->x[k - 1] + seg * cos(heading);
            f->y[k] = f->y[k - 1] + seg * sin(heading);
            f->cum[k] = f->cum[k - 1] + seg;
        }
        f->length = f->cum[f->n - 1];
        f->amp = 900 + 1500 * scarp_rng_uniform(&r);
        f->ws = 2000 + 2000 * scarp_rng_uniform(&r);
        f->ld = 6000 + 8000 * scarp_rng_uniform(&r);
        f->reach = 3.0 * f->ld;
        f->side = scarp_rng_uniform(&r) < 0.5 ? 1 : -1;
        /* the maximum of the profile (1 − e^{−d/ws})² e^{−d/ld}, on a fine grid of d */
        f->norm = 0;
        for (int k = 1; k <= 4000; k++) {
            double d = k * 0.005 * f->ws, rise = 1 - exp(-d / f->ws);
            f->norm = fmax(f->norm, rise * rise * exp(-d / f->ld));
        }
        f->bbox[0] = f->bbox[2] = f->x[0];
        f->bbox[1] = f->bbox[3] = f->y[0];
        for (int k = 1; k < f->n; k++) {
            f->bbox[0] = fmin(f->bbox[0], f->x[k]);
            f->bbox[2] = fmax(f->bbox[2], f->x[k]);
            f->bbox[1] = fmin(f->bbox[1], f->y[k]);
            f->bbox[3] = fmax(f->bbox[3], f->y[k]);
        }
    }
    return SCARP_OK;
}

int synth_faults_cull(const synth_ctx *c, double x0, double y0, double x1, double y1, int *idx)
{
    int n = 0;
    for (int i = 0; i < c->n_faults; i++) {
        const synth_fault *f = &c->faults[i];
        double R = f->reach;
        if (x1 < f->bbox[0] - R || x0 > f->bbox[2] + R || y1 < f->bbox[1] - R || y0 > f->bbox[3] + R) continue;
        idx[n++] = i;
    }
    return n;
}

double synth_uplift(const synth_ctx *c, double x, double y, const int *fault_idx, int n_idx, double *dist_fault)
{
    double U = 0, dmin = 1e30;
    for (int q = 0; q < n_idx; q++) {
        const synth_fault *f = &c->faults[fault_idx[q]];
        double R = f->reach;
        if (x < f->bbox[0] - R || x > f->bbox[2] + R || y < f->bbox[1] - R || y > f->bbox[3] + R) continue;
        double best = 1e300, best_cross = 0, best_s = 0;
        for (int k = 0; k + 1 < f->n; k++) {
            double ax = f->x[k], ay = f->y[k], sx = f->x[k + 1] - ax, sy = f->y[k + 1] - ay;
            double l2 = sx * sx + sy * sy;
            double t = ((x - ax) * sx + (y - ay) * sy) / l2;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double px = ax + t * sx - x, py = ay + t * sy - y;
            double d2 = px * px + py * py;
            if (d2 < best) {
                best = d2;
                best_cross = sx * (y - ay) - sy * (x - ax);
                best_s = f->cum[k] + t * sqrt(l2);
            }
        }
        double d = sqrt(best);
        if (d < dmin) dmin = d;
        if (d >= R) continue;
        double signed_d = (best_cross > 0 ? d : -d) * f->side;
        if (signed_d <= 0) continue;
        double along = best_s / f->length; /* may pass 1 by a rounding error: clamp, or sqrt(sin) is NaN */
        along = along < 0 ? 0 : along > 1 ? 1 : along;
        double taper = sqrt(fmax(0.0, sin(3.14159265358979323846 * along)));
        double win = 1 - (d / R) * (d / R);
        double rise = 1 - exp(-d / f->ws);
        U += f->amp * taper * rise * rise * exp(-d / f->ld) / f->norm * win * win;
    }
    if (dist_fault) *dist_fault = dmin;
    return 3000.0 * tanh(U / 3000.0);
}

double synth_terrain(const synth_ctx *c, double x, double y, double wl_min, const int *fault_idx, int n_idx,
                     double *U_out, double *dist_fault)
{
    double U = synth_uplift(c, x, y, fault_idx, n_idx, dist_fault);
    double base = 1150 + 420 * synth_fbm(c->s_base, x, y, 80e3, fmax(wl_min, 10e3), 0.5);
    double rough = 45 + 0.5 * U;
    double detail = synth_fbm(c->s_detail, x, y, 16e3, wl_min, 0.42);
    double z = base + U + 1.6 * rough * detail;
    if (U_out) *U_out = U;
    return z < 480 ? 480 + 0.1 * (z - 480) : z;
}

int synth_inside(const synth_ctx *c, double x, double y)
{
    double u = (x - 0.5 * c->W) / (0.5 * c->W), v = (y - 0.5 * c->H) / (0.5 * c->H);
    double r = sqrt(sqrt(u * u * u * u + v * v * v * v));
    return r < 1.07 + 0.12 * synth_fbm(c->s_mask, x, y, c->mask_wl, c->mask_wl / 4, 0.5);
}

int synth_lake(const synth_ctx *c, double x, double y, double z)
{
    for (int i = 0; i < c->n_res; i++) {
        const synth_reservoir *r = &c->res[i];
        double dx = x - r->x, dy = y - r->y;
        if (dx * dx + dy * dy > r->radius * r->radius) continue;
        if (dx * r->upx + dy * r->upy < -c->cs) continue;
        if (z > r->z_bed - 1 && z < r->z_bed + r->height) return i;
    }
    return -1;
}
