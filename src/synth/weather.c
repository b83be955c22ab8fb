/* weather.c — rain stations, a stochastic daily weather generator and reservoir levels.
 * Weather: a two-state (wet/dry) first-order Markov chain for occurrence with gamma-distributed
 * amounts (Richardson 1981, Water Resour. Res. 17(1), doi:10.1029/WR017i001p00182; Wilks &
 * Wilby 1999), with seasonal transition probabilities (the winter–spring wet season of
 * south-east Iran) and a regional chain shared by all stations so that storms are spatially
 * coherent. Each station is rescaled to its orographic mean annual precipitation.
 * Reservoirs: a daily water balance (routed inflow from the upstream catchment, seasonal
 * irrigation release, flood-control rule, spill, evaporation); stage from a V ∝ h^2.5 valley. */
#include <string.h>

#include "scarp/alloc.h"
#include "synth_internal.h"

double synth_season(const synth_ctx *c, int t)
{
    int y, m, d;
    scarp_civil_from_days(c->day0 + t, &y, &m, &d);
    int64_t doy = c->day0 + t - scarp_days_from_civil(y, 1, 1);
    double s = 0.5 * (1 + cos(2 * 3.14159265358979323846 * ((double)doy - 45) / 365.25));
    return s * s; /* near zero from June to October */
}

static scarp_status stations_place(synth_ctx *c)
{
    double area_km2 = c->W * c->H / 1e6;
    int n = c->p.n_stations > 0 ? c->p.n_stations : (int)lround(10 + area_km2 / 700.0);
    if (c->p.n_stations <= 0) n = n < 10 ? 10 : n > 30 ? 30 : n;
    c->st = scarp_calloc((size_t)n, sizeof *c->st);
    if (!c->st) return SCARP_ERR_NOMEM;
    int nx = (int)ceil(sqrt(n * c->W / c->H)), ny = (n + nx - 1) / nx;
    size_t ncell = (size_t)nx * ny;
    size_t *order = scarp_malloc(ncell * sizeof(size_t));
    if (!order) return SCARP_ERR_NOMEM;
    for (size_t i = 0; i < ncell; i++) order[i] = i;
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_STATIONS);
    scarp_rng_shuffle(&r, order, ncell);
    int got = 0;
    for (size_t q = 0; q < ncell && got < n; q++) {
        int cx = (int)(order[q] % nx), cy = (int)(order[q] / nx);
        for (int attempt = 0; attempt < 60; attempt++) {
            double x = (cx + scarp_rng_uniform(&r)) * c->W / nx, y = (cy + scarp_rng_uniform(&r)) * c->H / ny;
            if (!synth_inside(c, x, y) || x < c->cs || y < c->cs || x > c->W - c->cs || y > c->H - c->cs) continue;
            /* a station sits at a cell centre, so that tests can look it up exactly */
            x = (floor(x / c->cs) + 0.5) * c->cs;
            y = (floor(y / c->cs) + 0.5) * c->cs;
            c->st[got].x = x;
            c->st[got].y = y;
            c->st[got].aap = synth_aap_at(c, x, y);
            got++;
            break;
        }
    }
    scarp_free(order);
    c->n_st = got;
    if (got < 2) return scarp_fail(SCARP_ERR_INPUT, "synth: could not place rain stations in the province");
    return SCARP_OK;
}

scarp_status synth_weather_make(synth_ctx *c)
{
    scarp_status st = stations_place(c);
    if (st) return st;
    int T = c->n_days;
    uint8_t *wet = scarp_malloc((size_t)T);
    double *storm = scarp_malloc((size_t)T * sizeof(double));
    if (!wet || !storm) { scarp_free(wet); scarp_free(storm); return SCARP_ERR_NOMEM; }
    scarp_rng r;
    scarp_rng_stream(&r, c->seed, SYNTH_STREAM_WEATHER);
    int w = 0;
    for (int t = 0; t < T; t++) {
        double s = synth_season(c, t);
        double p01 = 0.02 + 0.20 * pow(s, 1.5), p11 = 0.25 + 0.40 * s;
        w = scarp_rng_uniform(&r) < (w ? p11 : p01);
        wet[t] = (uint8_t)w;
        storm[t] = scarp_rng_gamma(&r, 2.0) / 2.0;
    }
    for (int i = 0; i < c->n_st; i++) {
        synth_station *s = &c->st[i];
        s->rain = scarp_malloc((size_t)T * sizeof(float));
        s->r30 = scarp_malloc((size_t)T * sizeof(float));
        if (!s->rain || !s->r30) { st = SCARP_ERR_NOMEM; break; }
        scarp_rng rs;
        scarp_rng_stream(&rs, c->seed, SYNTH_STREAM_STATION_BASE + (uint64_t)i);
        double total = 0;
        for (int t = 0; t < T; t++) {
            double season = synth_season(c, t);
            double u = scarp_rng_uniform(&rs), g = scarp_rng_gamma(&rs, 0.8);
            double v = 0;
            if (wet[t] && u < 0.8) v = g * (0.4 + season) * storm[t];
            else if (!wet[t] && u < 0.012 * (0.2 + season)) v = 0.5 * g;
            s->rain[t] = (float)v;
            total += v;
        }
        double scale = total > 0 ? s->aap * c->p.n_years / total : 0;
        double run = 0;
        for (int t = 0; t < T; t++) {
            s->rain[t] = (float)(floor(s->rain[t] * scale * 10 + 0.5) / 10); /* the 0.1 mm of a rain gauge */
            /* r30[t] = rain of days t−30 … t−1 (the window ending the day before) */
            s->r30[t] = t >= SYNTH_WINDOW ? (float)run : NAN;
            run += s->rain[t];
            if (t >= SYNTH_WINDOW) run -= s->rain[t - SYNTH_WINDOW];
        }
    }
    scarp_free(wet);
    scarp_free(storm);
    return st;
}

/* Inverse-distance (power 2) weights of the stations at (x, y); w has n_st entries, sum 1. */
static void idw_weights(const synth_ctx *c, double x, double y, double *w)
{
    double sum = 0;
    for (int i = 0; i < c->n_st; i++) {
        double dx = x - c->st[i].x, dy = y - c->st[i].y;
        double d2 = dx * dx + dy * dy;
        w[i] = 1.0 / (d2 < 1e4 ? 1e4 : d2);
        sum += w[i];
    }
    for (int i = 0; i < c->n_st; i++) w[i] /= sum;
}

scarp_status synth_reservoir_levels(synth_ctx *c)
{
    int T = c->n_days;
    double *wts = scarp_malloc((size_t)c->n_st * sizeof(double));
    double *inflow = scarp_malloc((size_t)T * sizeof(double));
    if (!wts || !inflow) { scarp_free(wts); scarp_free(inflow); return SCARP_ERR_NOMEM; }
    scarp_status st = SCARP_OK;
    for (int k = 0; k < c->n_res; k++) {
        synth_reservoir *rv = &c->res[k];
        rv->level = scarp_malloc((size_t)T * sizeof(float));
        if (!rv->level) { st = SCARP_ERR_NOMEM; break; }
        idw_weights(c, rv->x, rv->y, wts);
        double q = 0, V = 0;
        for (int t = 0; t < T; t++) {
            double R = 0;
            for (int i = 0; i < c->n_st; i++) R += wts[i] * c->st[i].rain[t];
            double qin = 0.12 * rv->catchment_m2 * R / 1000.0; /* m³ of runoff that day */
            q = 0.92 * q + 0.08 * qin;                          /* routed through the basin */
            inflow[t] = q;
            V += qin;
        }
        V /= c->p.n_years;
        double C = V > 1e5 ? 0.9 * V : 1e5;
        double S = 0.55 * C;
        for (int t = 0; t < T; t++) {
            double s = synth_season(c, t);
            double demand = V / 365.25 * (0.3 + 1.2 * (1 - s)) * 0.85;
            S += inflow[t] - demand - 0.0015 * S * (1 - s);
            if (S > 0.9 * C) S -= 0.2 * (S - 0.9 * C); /* flood-control release */
            if (S > C) S = C;                          /* spill */
            if (S < 0.05 * C) S = 0.05 * C;            /* dead storage */
            rv->level[t] = (float)(floor(rv->height * pow(S / C, 0.4) * 100 + 0.5) / 100);
        }
    }
    scarp_free(wts);
    scarp_free(inflow);
    return st;
}

void synth_dynamic_wetness(const synth_ctx *c, double x, double y, float *out)
{
    double w[64];
    int n = c->n_st < 64 ? c->n_st : 64;
    idw_weights(c, x, y, w);
    const double r30_ref = 80.0; /* mm in 30 days that saturate the rain term */
    int near[8], nn = 0;
    double dd_gain[8];
    for (int k = 0; k < c->n_res && nn < 8; k++) {
        double dx = x - c->res[k].x, dy = y - c->res[k].y, d = sqrt(dx * dx + dy * dy);
        if (d < 6000) { near[nn] = k; dd_gain[nn++] = 0.35 * exp(-d / 1500.0); }
    }
    for (int t = 0; t < SYNTH_WINDOW && t < c->n_days; t++) out[t] = 0;
    for (int t = SYNTH_WINDOW; t < c->n_days; t++) {
        double R = 0;
        for (int i = 0; i < n; i++) R += w[i] * c->st[i].r30[t];
        double m = c->ph.m_rain * fmin(1.0, R / r30_ref);
        double dd = 0;
        for (int q = 0; q < nn; q++) {
            const float *L = c->res[near[q]].level;
            double drop = L[t - SYNTH_WINDOW] - L[t - 1];
            if (drop > 0) dd = fmax(dd, dd_gain[q] * fmin(1.0, drop / 6.0));
        }
        out[t] = (float)(m + dd);
    }
}
