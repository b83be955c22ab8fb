/* test_stack_tiled.c — the layer stack built within a tiny `[project] memory` (the DEM
 * derivatives by tiles and strips, src/data/stack.c derive_terrain_tiled) equals the stack
 * built in memory on a small synthetic study (`scarp synth`): the same layers in the same
 * order; slope, aspect, curvature, the DEM and the distance to derived rivers byte for byte;
 * TWI, ln a and ln SPI within the float tolerance of the flow accumulation (terrain_tiled.h:
 * a relative error e of the area is an absolute error e of its logarithm), for MFD and D8. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/raster.h"
#include "scarp/stack.h"
#include "scarp/terrain.h"

static char tmp_root[256];

static float *read_layer(const scarp_stack *s, const char *name)
{
    int i = scarp_stack_layer_index(s, name);
    if (i < 0) return NULL;
    scarp_grid g;
    scarp_grid_init(&g);
    float *d = NULL;
    CHECK_OK(scarp_raster_read(s->layers[i].path, 1, &g, &d));
    scarp_grid_free(&g);
    return d;
}

/* The most cells on a flow path ending anywhere (descending heights of the epsilon fill). */
static int longest_flow_path(const char *dem_path)
{
    scarp_grid g;
    scarp_grid_init(&g);
    float *z = NULL;
    CHECK_OK(scarp_raster_read(dem_path, 1, &g, &z));
    if (!z) return 1 << 20;
    const int64_t w = g.width, h = g.height, n = w * h;
    CHECK_OK(scarp_fill_depressions(z, w, h, 1, z, NULL));
    /* longest path by repeated relaxation in row order (few rounds on a valley DEM) */
    int *L = scarp_calloc((size_t)n, sizeof(int)), best = 0;
    static const int DR[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, DC[8] = {0, 1, 1, 1, 0, -1, -1, -1};
    for (int changed = 1; changed;) {
        changed = 0;
        for (int64_t i = 0; i < n; i++) {
            if (isnan(z[i])) continue;
            int64_t r = i / w, c = i % w;
            for (int k = 0; k < 8; k++) {
                int64_t rr = r + DR[k], cc = c + DC[k];
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                int64_t j = rr * w + cc;
                if (z[j] < z[i] && L[j] < L[i] + 1) L[j] = L[i] + 1, changed = 1;
            }
        }
    }
    for (int64_t i = 0; i < n; i++) best = L[i] > best ? L[i] : best;
    scarp_free(L);
    scarp_free(z);
    scarp_grid_free(&g);
    return best;
}

static void build(const char *dem, const char *flow, int64_t memory, const char *name, scarp_stack *s)
{
    scarp_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.flow, sizeof c.flow, "%s", flow);
    c.river_threshold_km2 = 1.0;
    c.memory_bytes = memory;
    snprintf(c.grid_reference, sizeof c.grid_reference, "dem");
    scarp_layer_config *l = &c.layers[c.n_layers++];
    snprintf(l->name, sizeof l->name, "dem");
    snprintf(l->path, sizeof l->path, "%s", dem);
    l->band = 1;
    l->kind = SCARP_KIND_CONTINUOUS;
    l->derive = SCARP_DERIVE_SLOPE | SCARP_DERIVE_ASPECT | SCARP_DERIVE_TWI | SCARP_DERIVE_SPI |
                SCARP_DERIVE_CURVATURE | SCARP_DERIVE_RIVERS | SCARP_DERIVE_LCA;
    char out[512];
    snprintf(out, sizeof out, "%s/%s", tmp_root, name);
    CHECK_OK(scarp_stack_build(&c, out, NULL, s));
}

static void compare(const char *dem, const char *flow, int Lmax)
{
    scarp_stack a, b;
    char na[64], nb[64];
    snprintf(na, sizeof na, "mem_%s", flow);
    snprintf(nb, sizeof nb, "tiled_%s", flow);
    build(dem, flow, (int64_t)1 << 40, na, &a);
    build(dem, flow, (int64_t)1 << 18, nb, &b); /* 256 KB (the grid needs ~1 MB in memory): tiles of 64², strips of 8 rows */
    CHECK_EQ_INT(a.n_layers, b.n_layers);
    const int64_t n = scarp_grid_cells(&a.grid);
    const double bound = 20.0 * ldexp(1.0, -24) * (Lmax + 1) + 1e-6;
    for (int l = 0; l < a.n_layers && l < b.n_layers; l++) {
        CHECK_MSG(strcmp(a.layers[l].name, b.layers[l].name) == 0, "layer %d: %s vs %s", l, a.layers[l].name,
                  b.layers[l].name);
        float *x = read_layer(&a, a.layers[l].name), *y = read_layer(&b, a.layers[l].name);
        CHECK(x && y);
        if (!x || !y) {
            scarp_free(x), scarp_free(y);
            continue;
        }
        int64_t differ = 0, nan_mismatch = 0;
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            if (isnan(x[i]) || isnan(y[i])) {
                nan_mismatch += isnan(x[i]) != isnan(y[i]);
                continue;
            }
            differ += memcmp(&x[i], &y[i], sizeof(float)) != 0;
            worst = fmax(worst, fabs((double)x[i] - y[i]) / fmax(1.0, fabs(x[i])));
        }
        const char *nm = a.layers[l].name;
        int from_flow = !strcmp(nm, "twi") || !strcmp(nm, "spi") || !strcmp(nm, "lca");
        fprintf(stderr, "  %s %-18s %7lld cells differ, worst %.3g%s\n", flow, nm, (long long)differ, worst,
                from_flow ? " (flow tolerance)" : "");
        CHECK_EQ_INT(nan_mismatch, 0);
        if (from_flow) CHECK_MSG(worst <= bound, "%s: %g > %g", nm, worst, bound);
        else CHECK_EQ_INT(differ, 0);
        scarp_free(x), scarp_free(y);
    }
    scarp_stack_free(&a);
    scarp_stack_free(&b);
}

static void test_stack_tiled_equals_memory(void)
{
    char cmd[1024], dem[512];
    snprintf(cmd, sizeof cmd, "'%s' synth --size 250x190 --events 20 --out '%s/area' --quiet --threads 2", SCARP_BINARY,
             tmp_root);
    CHECK_EQ_INT(system(cmd), 0);
    snprintf(dem, sizeof dem, "%s/area/dem.tif", tmp_root);
    int L = longest_flow_path(dem);
    compare(dem, "mfd", L);
    compare(dem, "d8", L);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/scarp_stack_tiled_XXXXXX");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_stack_tiled_equals_memory);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
    return check_summary();
}
