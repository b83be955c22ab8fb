/* fuzz_csv.c — libFuzzer target for the CSV reader (src/io/csv.c) and the readers built
 * on it: stations + rainfall/reservoir series (src/data/temporal.c, scarp_temporal_load)
 * and the CSV landslide inventory (src/data/inventory.c). Input layout: byte 0 picks the
 * reader, the rest is split at NUL bytes into the files that reader needs (NUL is never
 * valid CSV, so the split loses nothing):
 *   0: one CSV text → scarp_csv_parse, then every cell through scarp_csv_double
 *   1: stations \0 rainfall                       → scarp_temporal_load
 *   2: stations \0 rainfall \0 reservoirs \0 levels → scarp_temporal_load
 *   3: inventory (grid CRS)          4: inventory in EPSG:4326 (reprojected)
 * Properties checked besides "no crash, leak, hang or UB": every failure names the file;
 * every loaded value (sequences, inventory coordinates) is finite — NaN/Inf never pass
 * silently. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/samples.h"
#include "fuzz_util.h"
#include "scarp/alloc.h"
#include "scarp/csv.h"
#include "scarp/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static scarp_grid grid; /* 30 m UTM 40N grid, 30 × 30 km */
static scarp_config cfg;

/* Splits data at NUL bytes into up to n parts written to files names[i]; missing parts
 * are empty files. Returns the number of parts present. */
static int write_parts(const uint8_t *data, size_t size, int n, char paths[][512], const char *const *names)
{
    int k = 0;
    size_t start = 0;
    for (int i = 0; i < n; i++) {
        fuzz_path(paths[i], sizeof paths[i], names[i]);
        size_t end = start;
        while (end < size && data[end] != 0) end++;
        fuzz_write(paths[i], data + (start < size ? start : size), start < size ? end - start : 0);
        if (start < size) k++;
        start = end + 1;
    }
    return k;
}

static void check_finite_f(const float *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            fprintf(stderr, "fuzz: %s[%zu] = %g is not finite after a successful load\n", what, i, (double)v[i]);
            abort();
        }
}

static void fuzz_temporal(const uint8_t *data, size_t size, int with_reservoirs)
{
    static const char *const names[] = {"stations.csv", "rainfall.csv", "reservoirs.csv", "levels.csv"};
    char paths[4][512];
    int n = with_reservoirs ? 4 : 2;
    write_parts(data, size, n, paths, names);
    scarp_config_defaults(&cfg);
    snprintf(cfg.stations_path, sizeof cfg.stations_path, "%s", paths[0]);
    snprintf(cfg.rainfall_path, sizeof cfg.rainfall_path, "%s", paths[1]);
    cfg.window = 5;
    if (with_reservoirs) {
        snprintf(cfg.reservoirs_path, sizeof cfg.reservoirs_path, "%s", paths[2]);
        snprintf(cfg.reservoir_levels_path, sizeof cfg.reservoir_levels_path, "%s", paths[3]);
        strcpy(cfg.reservoir_interpolation, "idw");
    }
    scarp_temporal *t = NULL;
    scarp_status st = scarp_temporal_load(&t, &cfg, &grid);
    if (st != SCARP_OK) {
        /* the message must name one of the files */
        const char *msg = scarp_last_error();
        int named = 0;
        for (int i = 0; i < n; i++) named |= strstr(msg, paths[i]) != NULL;
        if (!msg[0] || (!named && st != SCARP_ERR_NOMEM)) {
            fprintf(stderr, "fuzz: temporal error names no file: '%s'\n", msg);
            abort();
        }
        if (t) abort();
        return;
    }
    if (!t) abort();
    int32_t first, last;
    scarp_temporal_range(t, &first, &last);
    if (last < first) abort();
    scarp_temporal_report rep;
    scarp_temporal_report_get(t, &rep);
    (void)scarp_temporal_wettest_window_end(t);
    int N = scarp_temporal_window(t), T = scarp_temporal_n_vars(t);
    float seq[5 * 2];
    if (N != 5 || T < 1 || T > 2) abort();
    /* A few locations (grid corners, centre, far outside) and windows. */
    static const double pts[][2] = {{500000, 4000000}, {515000, 3985000}, {529999, 3970001}, {1e7, -1e7}};
    for (int p = 0; p < 4; p++)
        for (int32_t end = first + N; end <= last + 1 && end <= first + N + 3; end++) {
            if (scarp_temporal_sequence(t, pts[p][0], pts[p][1], end, seq) == SCARP_OK)
                check_finite_f(seq, (size_t)N * T, "temporal sequence");
            if (scarp_temporal_sequence_at(t, pts[p][0], pts[p][1], end, seq) == SCARP_OK)
                check_finite_f(seq, (size_t)N * T, "temporal sequence_at");
        }
    scarp_temporal_free(t);
}

static void fuzz_inventory(const uint8_t *data, size_t size, int lonlat)
{
    static const char *const names[] = {"inventory.csv"};
    char paths[1][512];
    write_parts(data, size, 1, paths, names);
    scarp_config_defaults(&cfg);
    snprintf(cfg.inventory_path, sizeof cfg.inventory_path, "%s", paths[0]);
    if (lonlat) {
        strcpy(cfg.inventory_crs, "EPSG:4326");
        strcpy(cfg.inventory_x, "lon");
        strcpy(cfg.inventory_y, "lat");
        strcpy(cfg.inventory_label, "label");
    }
    scarp_inventory inv;
    scarp_status st = scarp_inventory_read(&cfg, &grid, &inv);
    fuzz_check_failure(st, paths[0]);
    if (st != SCARP_OK) return;
    for (int64_t i = 0; i < inv.n; i++) {
        /* A point the CRS transformation cannot map (lat 366, say) comes back as NaN, NaN by
         * design (scarp_transform_points) and prepare drops and counts it as off the grid;
         * anything else non-finite — or half a NaN pair — is a leak. */
        if (lonlat && isnan(inv.x[i]) && isnan(inv.y[i])) continue;
        if (!isfinite(inv.x[i]) || !isfinite(inv.y[i])) {
            fprintf(stderr, "fuzz: inventory point %lld (line %lld) is (%g, %g)\n", (long long)i,
                    (long long)inv.source[i], inv.x[i], inv.y[i]);
            abort();
        }
        if (inv.has_labels && inv.label[i] != 0 && inv.label[i] != 1) abort();
    }
    scarp_inventory_free(&inv);
}

static void fuzz_table(const uint8_t *data, size_t size)
{
    scarp_csv t;
    scarp_status st = scarp_csv_parse(&t, "fuzz.csv", (const char *)data, size);
    fuzz_check_failure(st, "fuzz.csv");
    if (st != SCARP_OK) return;
    if (t.n_cols < 1 || t.n_rows < 0) abort();
    for (int j = 0; j < t.n_cols; j++)
        if (scarp_csv_column(&t, t.header[j]) != j) abort(); /* header names are unique */
    for (int64_t r = 0; r < t.n_rows; r++) {
        if (r && t.line[r] <= t.line[r - 1]) abort(); /* line numbers increase */
        for (int j = 0; j < t.n_cols; j++) {
            double v;
            int missing;
            st = scarp_csv_double(&t, r, j, &v, &missing);
            fuzz_check_failure(st, "fuzz.csv");
            if (st == SCARP_OK && !missing && !isfinite(v)) abort();
        }
    }
    /* a required column that is absent fails with a message naming the file; the probe's
     * name can itself be a header (a fuzzer finding), then it must be found where it is */
    int col = -1;
    const int at = scarp_csv_column(&t, "no-such-column");
    st = scarp_csv_require(&t, "no-such-column", "fuzz", &col);
    if (at >= 0) {
        if (st != SCARP_OK || col != at) abort();
    } else {
        if (st == SCARP_OK) abort();
        fuzz_check_failure(st, "fuzz.csv");
    }
    scarp_csv_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!grid.wkt) {
        fuzz_quiet();
        scarp_grid_init(&grid);
        if (scarp_grid_from_extent(&grid, "EPSG:32640", 30, 500000, 3970000, 530000, 4000000) != SCARP_OK) abort();
    }
    if (size < 1) return 0;
    switch (data[0] % 5) {
    case 0: fuzz_table(data + 1, size - 1); break;
    case 1: fuzz_temporal(data + 1, size - 1, 0); break;
    case 2: fuzz_temporal(data + 1, size - 1, 1); break;
    case 3: fuzz_inventory(data + 1, size - 1, 0); break;
    default: fuzz_inventory(data + 1, size - 1, 1); break;
    }
    return 0;
}
