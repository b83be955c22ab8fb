/* tile.c — every raster layer of one window of the synthetic province, and its stability.
 * Lithology (engineering rock groups) from banded fBm strata, basin fill and crushed fault
 * zones; land use from terrain, lakes, towns and noise; red/NIR reflectances from NDVI;
 * and the infinite-slope factor of safety for a soil mantle with seepage parallel to the
 * slope (Skempton & DeLory 1957; Hammond et al. 1992, USDA Forest Service INT-285, "LISA";
 * root cohesion as in Wu et al. 1979):
 *   FS = (c' + c_r) / (γ z sin β' cos β') + (1 − m γ_w / γ) tan φ' / tan β'  =  a − b·m
 * where soil depth z, cohesion c', friction φ' and perched groundwater vary as unobserved
 * fractal fields, the neighbourhood enters through the topographic position (hollows) and
 * the slope of the cells above (seepage at slope breaks), river banks, gullies and road cuts
 * steepen or weaken the slope below the DEM's resolution, and the wetness is
 * m = m_static(TWI, hollows, slope breaks, groundwater) + m_dynamic(30-day rain, drawdown).
 * The daily failure probability is p0 · σ((1 − FS)/width); the truth layer is the probability
 * of at least one failure over the record, 1 − exp(−p0 Σ_t σ(...)), the sum over days being
 * evaluated through a histogram of the dynamic wetness of the cell's ~1 km block.
 * Parameters: synth_physics (synth.c, docs/03-synth.md). */
#include <string.h>

#include "scarp/alloc.h"
#include "scarp/terrain.h"
#include "synth_internal.h"

const scarp_synth_erg scarp_synth_erg_table[SCARP_SYNTH_N_ERG] = {
    {1, "very strong: intrusive and metamorphic rocks (granite, diorite, quartzite)", 10.0, 40.0},
    {2, "strong: carbonates and lavas (limestone, dolomite, andesite)", 8.0, 36.0},
    {3, "moderate: sandstone, conglomerate, tuff", 5.0, 32.0},
    {4, "weak: shale, marl, flysch, crushed fault zones", 4.0, 28.0},
    {5, "very weak: Quaternary alluvium, colluvium, gypsiferous marl", 2.0, 24.0},
};

const scarp_synth_landuse scarp_synth_landuse_table[SCARP_SYNTH_N_LANDUSE] = {
    {SCARP_LU_BARE, "bare rock and sparse cover", 0.0, 0.07, 0.03, 0.26},
    {SCARP_LU_RANGELAND, "rangeland", 2.0, 0.16, 0.05, 0.20},
    {SCARP_LU_CROPLAND, "cropland", 4.0, 0.45, 0.12, 0.08},
    {SCARP_LU_ORCHARD, "orchards (pistachio)", 6.0, 0.40, 0.08, 0.09},
    {SCARP_LU_URBAN, "urban", 0.0, 0.12, 0.05, 0.18},
    {SCARP_LU_WATER, "water", 0.0, -0.15, 0.05, 0.04},
};

#define GAMMA_SOIL 19.0  /* kN/m³ */
#define GAMMA_WATER 9.81 /* kN/m³ */
#define DEG (3.14159265358979323846 / 180.0)

scarp_status synth_tile_init(synth_tile *t, const synth_ctx *c, int64_t max_w, int64_t max_h)
{
    const int64_t R = SYNTH_HALO;
    memset(t, 0, sizeof *t);
    t->cap = max_w * max_h;
    t->halo_cap = (max_w + 2 * R) * (max_h + 2 * R);
    t->sat_cap = (max_w + 2 * R + 1) * (max_h + 2 * R + 1);
    t->hist_cap = ((max_w + SYNTH_BLOCK - 1) / SYNTH_BLOCK + 1) * ((max_h + SYNTH_BLOCK - 1) / SYNTH_BLOCK + 1);
    size_t n = (size_t)t->cap;
    float **outs[] = {&t->dem, &t->erg, &t->lu, &t->aap, &t->red, &t->nir, &t->truth, &t->G,
                      &t->fs_a, &t->fs_b, &t->ms, &t->U, &t->dfault, &t->lake};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        if (!(*outs[i] = scarp_malloc(n * sizeof(float)))) goto nomem;
    if (!(t->halo = scarp_malloc((size_t)t->halo_cap * sizeof(float)))) goto nomem;
    if (!(t->slope = scarp_malloc((size_t)t->halo_cap * sizeof(float)))) goto nomem;
    if (!(t->aspect = scarp_malloc((size_t)t->halo_cap * sizeof(float)))) goto nomem;
    if (!(t->zsum = scarp_malloc((size_t)t->sat_cap * sizeof(double)))) goto nomem;
    if (!(t->zcnt = scarp_malloc((size_t)t->sat_cap * sizeof(double)))) goto nomem;
    if (!(t->hist_n = scarp_malloc((size_t)t->hist_cap * SYNTH_BINS * sizeof(float)))) goto nomem;
    if (!(t->hist_m = scarp_malloc((size_t)t->hist_cap * SYNTH_BINS * sizeof(float)))) goto nomem;
    if (!(t->mdyn = scarp_malloc((size_t)c->n_days * sizeof(float)))) goto nomem;
    if (!(t->fault_idx = scarp_malloc((size_t)(c->n_faults > 0 ? c->n_faults : 1) * sizeof(int)))) goto nomem;
    if (!(t->road_idx = scarp_malloc((size_t)(c->n_road_seg > 0 ? c->n_road_seg : 1) * sizeof(int)))) goto nomem;
    t->cs_rows = max_h + 2 * R;
    scarp_status st = scarp_cellsize_uniform(&t->cs, t->cs_rows, c->cs, c->cs);
    if (st) { synth_tile_free(t); return st; }
    return SCARP_OK;
nomem:
    synth_tile_free(t);
    return SCARP_ERR_NOMEM;
}

void synth_tile_free(synth_tile *t)
{
    if (!t) return;
    float *bufs[] = {t->dem, t->erg, t->lu, t->aap, t->red, t->nir, t->truth, t->G, t->fs_a, t->fs_b, t->ms,
                     t->U, t->dfault, t->lake, t->halo, t->slope, t->aspect, t->hist_n, t->hist_m, t->mdyn};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) scarp_free(bufs[i]);
    scarp_free(t->zsum);
    scarp_free(t->zcnt);
    scarp_free(t->fault_idx);
    scarp_free(t->road_idx);
    if (t->cs.dx_row) scarp_cellsize_free(&t->cs);
    memset(t, 0, sizeof *t);
}

static int erg_class(const synth_ctx *c, double x, double y, double U, double dfault, double slope)
{
    double n = synth_fbm(c->s_litho ^ 0x51, x, y, 10e3, 2.5e3, 0.5);
    if (U < 120 + 80 * n && slope < 14 + 10 * n) return 5; /* basin fill and foot-slope colluvium */
    /* NW–SE striking strata, folded by low-frequency noise */
    double phase = (x * 0.7071 - y * 0.7071) / 6000.0 + 0.6 * synth_fbm(c->s_litho ^ 0x52, x, y, 20e3, 5e3, 0.5);
    double v = synth_fbm(c->s_litho, x, y, 8e3, 1e3, 0.5) + 0.5 * sin(2 * 3.14159265358979323846 * phase);
    int k = v < -0.3 ? 1 : v < 0.05 ? 2 : v < 0.35 ? 3 : 4;
    if (dfault < 350 && k < 4) k = 4; /* crushed fault zone */
    return k;
}

static int landuse_class(const synth_ctx *c, double x, double y, double z, double slope, double acc, int lake,
                         double n1)
{
    if (lake >= 0) return SCARP_LU_WATER;
    for (int i = 0; i < c->n_towns; i++) {
        double dx = x - c->towns[i].x, dy = y - c->towns[i].y, r = c->towns[i].radius;
        if (dx * dx + dy * dy < r * r * 2.5 &&
            sqrt(dx * dx + dy * dy) < r * (1 + 0.35 * synth_noise(c->s_lu ^ (uint64_t)(i + 7), x / 400, y / 400)))
            return SCARP_LU_URBAN;
    }
    if (slope > 30 + 10 * n1 || z > 3300 + 300 * n1) return SCARP_LU_BARE;
    if (slope < 6 && z < 2400 && (acc > 4e5 || n1 > 0.12)) {
        double n2 = synth_fbm(c->s_lu ^ 0x33, x, y, 2000, 250, 0.5);
        return (z > 1200 && z < 2100 && n2 > 0) ? SCARP_LU_ORCHARD : SCARP_LU_CROPLAND;
    }
    if (n1 < -0.35) return SCARP_LU_BARE;
    return SCARP_LU_RANGELAND;
}

/* Histogram of the dynamic wetness over days ≥ window, for the block (bc, br). */
static void block_histogram(const synth_ctx *c, synth_tile *t, int64_t bc, int64_t br, float *hn, float *hm)
{
    double x = (bc * SYNTH_BLOCK + SYNTH_BLOCK * 0.5) * c->cs, y = (br * SYNTH_BLOCK + SYNTH_BLOCK * 0.5) * c->cs;
    synth_dynamic_wetness(c, x, y, t->mdyn);
    double n[SYNTH_BINS] = {0}, s[SYNTH_BINS] = {0};
    for (int d = SYNTH_WINDOW; d < c->n_days; d++) {
        double m = t->mdyn[d];
        int k = (int)(m * SYNTH_BINS);
        k = k < 0 ? 0 : k >= SYNTH_BINS ? SYNTH_BINS - 1 : k;
        n[k] += 1;
        s[k] += m;
    }
    for (int k = 0; k < SYNTH_BINS; k++) {
        hn[k] = (float)n[k];
        hm[k] = n[k] > 0 ? (float)(s[k] / n[k]) : 0.f;
    }
}

/* Standard deviation of synth_fbm over 5 octaves at gain 0.6 (measured over 160 000 points):
 * dividing by it gives the regolith fields unit variance. */
#define FBM5_SD 0.28

scarp_status synth_tile_compute(const synth_ctx *c, synth_tile *t, int64_t col0, int64_t row0, int64_t w, int64_t h)
{
    const int64_t R = SYNTH_HALO, hw = w + 2 * R, hh = h + 2 * R;
    if (w * h > t->cap || hh > t->cs_rows || hw * hh > t->halo_cap)
        return scarp_fail(SCARP_ERR_INTERNAL, "synth: tile larger than its buffers");
    const double cs = c->cs;
    const int64_t W = c->p.width, H = c->p.height;
    int nf = synth_faults_cull(c, (col0 - R) * cs, (row0 - R) * cs, (col0 + w + R) * cs, (row0 + h + R) * cs,
                               t->fault_idx);
    int nroad = synth_roads_cull(c, col0 * cs, row0 * cs, (col0 + w) * cs, (row0 + h) * cs, c->ph.road_cut + cs,
                                 t->road_idx);
    /* 1. elevation on the window and an R-cell halo (NaN outside the grid and the province);
     *    uplift, fault distance and lake of the interior cells on the way. */
    for (int64_t r = -R; r < h + R; r++) {
        for (int64_t q = -R; q < w + R; q++) {
            int64_t gc = col0 + q, gr = row0 + r;
            float *hz = &t->halo[(r + R) * hw + (q + R)];
            double x = (gc + 0.5) * cs, y = (gr + 0.5) * cs;
            if (gc < 0 || gr < 0 || gc >= W || gr >= H || !synth_inside(c, x, y)) { *hz = NAN; continue; }
            double U, dfault;
            double z = synth_terrain(c, x, y, 2 * cs, t->fault_idx, nf, &U, &dfault);
            int lake = synth_lake(c, x, y, z);
            if (lake >= 0) z = c->res[lake].z_bed + c->res[lake].height; /* the lake surface */
            *hz = (float)z;
            if (r >= 0 && r < h && q >= 0 && q < w) {
                t->U[r * w + q] = (float)U;
                t->dfault[r * w + q] = (float)dfault;
                t->lake[r * w + q] = (float)lake;
            }
        }
    }
    /* 2. slope and aspect (Horn) from the terrain module, on the haloed window */
    scarp_status st = scarp_slope_aspect(t->halo, hw, hh, &t->cs, t->slope, t->aspect);
    if (st) return st;
    /* 3. summed-area tables of the valid elevations (topographic position) */
    for (int64_t j = 0; j <= hw; j++) t->zsum[j] = t->zcnt[j] = 0;
    for (int64_t i = 0; i < hh; i++) {
        double rs = 0, rc = 0;
        double *s0 = t->zsum + i * (hw + 1), *s1 = s0 + hw + 1, *c0 = t->zcnt + i * (hw + 1), *c1 = c0 + hw + 1;
        s1[0] = c1[0] = 0;
        for (int64_t j = 0; j < hw; j++) {
            float z = t->halo[i * hw + j];
            if (!isnan(z)) { rs += z; rc += 1; }
            s1[j + 1] = s0[j + 1] + rs;
            c1[j + 1] = c0[j + 1] + rc;
        }
    }
    /* 4. wetness histograms of the blocks under the window */
    int64_t bc0 = col0 / SYNTH_BLOCK, bc1 = (col0 + w - 1) / SYNTH_BLOCK;
    int64_t br0 = row0 / SYNTH_BLOCK, br1 = (row0 + h - 1) / SYNTH_BLOCK;
    int64_t nbc = bc1 - bc0 + 1;
    if (nbc * (br1 - br0 + 1) > t->hist_cap) return scarp_fail(SCARP_ERR_INTERNAL, "synth: too many blocks");
    for (int64_t br = br0; br <= br1; br++)
        for (int64_t bc = bc0; bc <= bc1; bc++) {
            int64_t b = (br - br0) * nbc + (bc - bc0);
            block_histogram(c, t, bc, br, t->hist_n + b * SYNTH_BINS, t->hist_m + b * SYNTH_BINS);
        }
    /* 5. every layer of the interior cells */
    for (int64_t r = 0; r < h; r++) {
        for (int64_t q = 0; q < w; q++) {
            int64_t i = r * w + q, gc = col0 + q, gr = row0 + r, hi = (r + R) * hw + (q + R);
            float z = t->halo[hi];
            t->dem[i] = z;
            if (isnan(z)) {
                t->erg[i] = t->lu[i] = t->aap[i] = t->red[i] = t->nir[i] = t->truth[i] = NAN;
                t->G[i] = 0;
                t->fs_a[i] = 1e3f;
                t->fs_b[i] = 0;
                t->ms[i] = 0;
                continue;
            }
            double x = (gc + 0.5) * cs, y = (gr + 0.5) * cs;
            double slope = t->slope[hi];
            double acc = synth_acc_at(c, x, y);
            if (isnan(acc)) acc = cs * cs;
            double sca = acc / (c->f * cs);
            double tanb = tan(slope * DEG);
            double twi = log(sca / (tanb > 0.001 ? tanb : 0.001));
            int lake = (int)t->lake[i];
            t->erg[i] = lake >= 0 ? NAN : (float)erg_class(c, x, y, t->U[i], t->dfault[i], slope);
            double n1 = synth_fbm(c->s_lu, x, y, 3000, 250, 0.5);
            int lu = landuse_class(c, x, y, z, slope, acc, lake, n1);
            const scarp_synth_landuse *L = &scarp_synth_landuse_table[lu - 1];
            double e1 = synth_hash01(c->s_cell, gc, gr), e2 = synth_hash01(c->s_cell ^ 1, gc, gr);
            double e3 = synth_hash01(c->s_cell ^ 2, gc, gr);
            double ndvi = L->ndvi_mean + L->ndvi_sd * (1.2 * synth_fbm(c->s_lu ^ 0x77, x, y, 1200, 120, 0.5) +
                                                       1.2 * (e1 - 0.5));
            ndvi = ndvi < -0.3 ? -0.3 : ndvi > 0.85 ? 0.85 : ndvi;
            double red = L->red_reflectance * (1 + 0.25 * (e2 - 0.5));
            double nir = red * (1 + ndvi) / (1 - ndvi);
            if (nir > 0.95) nir = 0.95;
            t->lu[i] = (float)lu;
            t->aap[i] = (float)synth_aap_at(c, x, y);
            t->red[i] = (float)floor(red * 10000 + 0.5); /* surface reflectance × 10⁴ (Sentinel-2 L2A) */
            t->nir[i] = (float)floor(nir * 10000 + 0.5);

            /* infinite slope */
            double fa = 1e3, fb = 0, ms = 0;
            if (lu != SCARP_LU_WATER && slope >= 2.0) {
                const scarp_synth_erg *E = &scarp_synth_erg_table[(int)t->erg[i] - 1];
                /* neighbourhood: topographic position (hollows > 0) and the slope of the cells above */
                const int64_t tr = SYNTH_TPI_RADIUS, a0 = r + R - tr, a1 = r + R + tr + 1, b0 = q + R - tr,
                              b1 = q + R + tr + 1;
                double bs = t->zsum[a1 * (hw + 1) + b1] - t->zsum[a0 * (hw + 1) + b1] - t->zsum[a1 * (hw + 1) + b0] +
                            t->zsum[a0 * (hw + 1) + b0];
                double bn = t->zcnt[a1 * (hw + 1) + b1] - t->zcnt[a0 * (hw + 1) + b1] - t->zcnt[a1 * (hw + 1) + b0] +
                            t->zcnt[a0 * (hw + 1) + b0];
                double tpi = bs / bn - z;
                const synth_physics *ph = &c->ph;
                double conv = fmin(1.0, fmax(-1.0, tpi / ph->tpi_scale));
                double up = 0;
                int nup = 0;
                double asp = t->aspect[hi] * DEG, dcol = -sin(asp), drow = cos(asp);
                for (int k = 2; k <= 6; k += 2) {
                    int64_t rr = r + R + (int64_t)lround(k * drow), cc = q + R + (int64_t)lround(k * dcol);
                    float sv = t->slope[rr * hw + cc];
                    if (!isnan(sv) && !isnan(t->halo[rr * hw + cc])) { up += sv; nup++; }
                }
                double slope_above = nup ? up / nup : slope;
                /* the unobserved regolith: fractal fields (wavelengths 1.6 km … 100 m) of soil
                 * depth, cohesion, friction and perched groundwater, each of unit variance */
                double Fz = synth_fbm(c->s_soil, x, y, 1600, 100, 0.6) / FBM5_SD;
                double Fc = synth_fbm(c->s_coh, x, y, 1600, 100, 0.6) / FBM5_SD;
                double Fp = synth_fbm(c->s_phi, x, y, 1600, 100, 0.6) / FBM5_SD;
                double Fg = synth_fbm(c->s_gw, x, y, 3200, 200, 0.6) / FBM5_SD;
                double zsoil = (0.8 + 1.2 * exp(-slope / 20.0)) *
                               exp(ph->soil_sigma * Fz + ph->soil_conv * conv + 0.3 * (e3 - 0.5));
                zsoil = zsoil < 0.2 ? 0.2 : zsoil > 5.0 ? 5.0 : zsoil;
                double cr = L->root_cohesion_kpa * fmin(1.5, fmax(0.0, ndvi / 0.5));
                double phi = (E->friction_deg + ph->phi_sigma * Fp + 4.0 * (synth_hash01(c->s_cell ^ 3, gc, gr) - 0.5)) * DEG;
                double coh = E->cohesion_kpa * exp(ph->coh_sigma * Fc - 0.5 * ph->coh_sigma * ph->coh_sigma);
                /* subgrid steepness the 30 m DEM smooths away: river banks under toe erosion and
                 * gully walls in soft rocks (ERG 4–5) */
                double tan_eff = tanb;
                if (ph->bank_tan > 0) {
                    double drv = synth_river_distance(c, x, y, 4 * ph->bank_dist);
                    tan_eff += ph->bank_tan * exp(-drv / ph->bank_dist);
                }
                if (ph->gully_tan > 0 && E->id >= 4) {
                    double Fs = synth_fbm(c->s_gully, x, y, 800, 50, 0.6) / FBM5_SD;
                    tan_eff += ph->gully_tan * (E->id == 5 ? 1.0 : 0.6) * fmax(0.0, Fs - 0.5);
                }
                double beta_eff = atan(tan_eff);
                double ratio = tan(phi) / tan_eff;
                fa = (coh + cr) / (GAMMA_SOIL * zsoil * sin(beta_eff) * cos(beta_eff)) + ratio;
                fb = GAMMA_WATER / GAMMA_SOIL * ratio;
                /* static wetness: the (coarse) topographic index, convergent hollows, seepage where
                 * the slope above is steeper (a slope break) and the perched groundwater field */
                ms = ph->m_twi * fmin(1.0, fmax(0.0, (twi - 5.0) / 8.0)) + ph->m_conv * fmax(0.0, conv) +
                     ph->m_break * fmin(1.0, fmax(0.0, (slope_above - slope) / 10.0)) + ph->m_gw * Fg;
                ms = ms < 0 ? 0 : ms > ph->ms_max ? ph->ms_max : ms;
                /* A mantle unstable under its usual groundwater would have slid long ago: where
                 * it would be, the soil is only as thick as that stability allows (FS at the
                 * static wetness ≥ fs_min), so that there too failures wait for wet spells. */
                if (fa - fb * ms < ph->fs_min) fa = ph->fs_min + fb * ms;
                /* road cuts: a recent cut steepens and unloads the toe of the slope it crosses */
                if (nroad > 0) {
                    double dr = synth_road_distance(c, x, y, t->road_idx, nroad, NULL, NULL);
                    if (dr < ph->road_cut) {
                        double k = 1.0 - ph->road_weaken * (1.0 - dr / ph->road_cut);
                        fa *= k;
                        fb *= k;
                    }
                }
            }
            t->fs_a[i] = (float)fa;
            t->fs_b[i] = (float)fb;
            t->ms[i] = (float)ms;
            double G = 0;
            if (fa < 50) {
                int64_t b = (gr / SYNTH_BLOCK - br0) * nbc + (gc / SYNTH_BLOCK - bc0);
                const float *hn = t->hist_n + b * SYNTH_BINS, *hm = t->hist_m + b * SYNTH_BINS;
                for (int k = 0; k < SYNTH_BINS; k++)
                    if (hn[k] > 0) G += hn[k] * synth_hazard(t->fs_a[i], t->fs_b[i], t->ms[i] + hm[k], c->ph.hazard_width);
            }
            t->G[i] = (float)G;
            t->truth[i] = (float)(-expm1(-c->p0 * G));
        }
    }
    return SCARP_OK;
}
