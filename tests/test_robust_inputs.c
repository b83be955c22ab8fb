/* test_robust_inputs.c — bad text inputs (DESIGN.md "bad input → one clear line naming the
 * file"; issue 9): the CSV reader, the station/series readers and the config reader on
 * malformed, non-finite and out-of-range input. Every rejection must be SCARP_ERR_INPUT
 * with a message naming the file and line (and column/key); every accepted input must
 * give finite values — NaN/Inf never pass silently: an empty / NA / NaN cell is a gap
 * that is interpolated and counted, an "inf" or "1e999" is an error naming line and
 * column, and a finite number too large for the float32 the series is kept in must not
 * become an infinity. Independent truth: the expected counts and positions are those of
 * the constructed files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/samples.h"
#include "scarp/config.h"
#include "scarp/csv.h"
#include "scarp/dataset.h"
#include "scarp/grid.h"
#include "scarp/log.h"

static char dir[256];
static scarp_grid grid; /* UTM 40N, 30 m, 30 x 30 km */

static void put(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static int has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* ---- CSV reader ------------------------------------------------------------------- */
static void test_csv_malformed(void)
{
    static const struct { const char *text, *want; } cases[] = {
        {"a,b\n1,2\n3\n", "bad.csv:3: column 1: 1 fields where the header has 2"}, /* too few fields */
        {"a,b\n1,2,3\n", "bad.csv:2: column 3"},               /* too many fields */
        {"a,b\n\"1,2\n", "bad.csv:2: column 1: unterminated"}, /* open quote */
        {"a,b\n\"1\"x,2\n", "bad.csv:2: column 1: unexpected"},/* text after a closing quote */
        {"a,b\n1,2\"3\n", "bad.csv:2: column 2: quote"},        /* stray quote */
        {"a,a\n1,2\n", "bad.csv:1: column 2: duplicated"},     /* duplicated header */
        {"a,,c\n1,2,3\n", "bad.csv:1: column 2: empty column"},/* empty header name */
        {"", "bad.csv: empty file"},
        {"a,b\n1,\0002\n", "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scarp_csv t;
        size_t n = strlen(cases[i].text);
        if (i == 8) n = 9; /* the NUL case: length given explicitly */
        scarp_status st = scarp_csv_parse(&t, "bad.csv", cases[i].text, n);
        CHECK_MSG(st == SCARP_ERR_INPUT && has(scarp_last_error(), cases[i].want), "case %zu: status %d, '%s'", i,
                  (int)st, scarp_last_error());
        if (st == SCARP_OK) scarp_csv_free(&t);
    }
}

static void test_csv_numbers(void)
{
    const char *text = "v\n1.5\ninf\n-Infinity\n1e999\nnan\nNA\n\n\"\"\n0x10\n 2 \n1e-400\n";
    scarp_csv t;
    CHECK_OK(scarp_csv_parse(&t, "n.csv", text, strlen(text)));
    /* rows: 1.5 inf -Infinity 1e999 nan NA 0x10 " 2 " 1e-400 (the blank line and the line
     * holding only "" are both blank lines, skipped) */
    static const int want[] = {0, 1, 1, 1, 2, 2, -1, 0, -1};
    /* 0 = a number, 1 = error naming line and column, 2 = missing, -1 = either number or error */
    CHECK_EQ_INT(t.n_rows, 9);
    for (int64_t r = 0; r < t.n_rows && r < 9; r++) {
        double v = 0;
        int missing = 0;
        scarp_status st = scarp_csv_double(&t, r, 0, &v, &missing);
        char where[32];
        snprintf(where, sizeof where, "n.csv:%lld: column 1", (long long)t.line[r]);
        if (want[r] == 1)
            CHECK_MSG(st == SCARP_ERR_INPUT && has(scarp_last_error(), where), "row %lld '%s': %d %s", (long long)r,
                      scarp_csv_cell(&t, r, 0), (int)st, scarp_last_error());
        if (want[r] == 2) CHECK_MSG(st == SCARP_OK && missing && isnan(v), "row %lld: not a gap", (long long)r);
        if (want[r] == 0) CHECK_MSG(st == SCARP_OK && !missing && isfinite(v), "row %lld: %s", (long long)r, scarp_last_error());
        if (st == SCARP_OK && !missing) CHECK_MSG(isfinite(v), "row %lld accepted a non-finite value", (long long)r);
    }
    scarp_csv_free(&t);
}

/* ---- stations and series ------------------------------------------------------------ */
static const char *STATIONS = "id,x,y\nS1,505000,3995000\nS2,520000,3980000\n";

/* Loads stations + a wide rainfall series whose S1 value on day 5 is `cell`. */
static scarp_status load_rain(const char *cell, scarp_temporal **t, char *rain_path)
{
    char st_path[512], text[2048];
    put("stations.csv", STATIONS, st_path, sizeof st_path);
    /* 40 days from 2020-01-01; line d + 2 holds day d (0-based) */
    int k = snprintf(text, sizeof text, "date,S1,S2\n");
    for (int d = 0; d < 40; d++) {
        int m = d < 31 ? 1 : 2, dd = d < 31 ? d + 1 : d - 30;
        k += snprintf(text + k, sizeof text - (size_t)k, "2020-%02d-%02d,%s,%d\n", m, dd,
                      d == 4 ? cell : (d % 3 ? "1.5" : "0"), d % 4);
    }
    put("rainfall.csv", text, rain_path, 512);
    static scarp_config cfg;
    scarp_config_defaults(&cfg);
    snprintf(cfg.stations_path, sizeof cfg.stations_path, "%s", st_path);
    snprintf(cfg.rainfall_path, sizeof cfg.rainfall_path, "%s", rain_path);
    cfg.window = 10;
    return scarp_temporal_load(t, &cfg, &grid);
}

static void test_rainfall_nonfinite(void)
{
    static const char *bad[] = {"inf", "-inf", "Infinity", "1e999", "-1e999", "nan(0x1)", "1.5.2", "12mm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scarp_temporal *t = NULL;
        char rain[512];
        scarp_status st = load_rain(bad[i], &t, rain);
        char where[600];
        snprintf(where, sizeof where, "%s:6: column 2 ('S1')", rain); /* day 5 is line 6 */
        CHECK_MSG(st == SCARP_ERR_INPUT && has(scarp_last_error(), where), "'%s': status %d, '%s'", bad[i], (int)st,
                  scarp_last_error());
        scarp_temporal_free(t);
    }
}

static void test_rainfall_gaps_counted(void)
{
    static const char *gaps[] = {"", "NA", "NaN", "nan"};
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
        scarp_temporal *t = NULL;
        char rain[512];
        CHECK_OK(load_rain(gaps[i], &t, rain));
        if (!t) continue;
        scarp_temporal_report rep;
        scarp_temporal_report_get(t, &rep);
        CHECK_EQ_INT(rep.rain_missing_filled, 1); /* exactly the one gap, filled and counted */
        CHECK_EQ_INT(rep.rain_days, 80);          /* 2 stations x 40 days after filling */
        float seq[10];
        int32_t first, last;
        scarp_temporal_range(t, &first, &last);
        CHECK_OK(scarp_temporal_sequence_at(t, 505000, 3995000, first + 10, seq));
        /* at S1 itself: day 4 (the gap) = linear between day 3 (0) and day 5 (1.5) */
        CHECK_NEAR(seq[4], 0.75, 1e-6);
        for (int k = 0; k < 10; k++) CHECK(isfinite(seq[k]));
        scarp_temporal_free(t);
    }
}

/* A finite number beyond float32 range (the series are kept as float): must be an error
 * naming line and column, or stay finite — never an infinity in a sequence. */
static void test_rainfall_float_overflow(void)
{
    static const char *big[] = {"1e300", "3.5e38", "-1e300"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        scarp_temporal *t = NULL;
        char rain[512];
        scarp_status st = load_rain(big[i], &t, rain);
        if (st != SCARP_OK) {
            char where[600];
            snprintf(where, sizeof where, "%s:6: column 2", rain);
            CHECK_MSG(has(scarp_last_error(), where), "'%s': '%s'", big[i], scarp_last_error());
            continue;
        }
        int32_t first, last;
        scarp_temporal_range(t, &first, &last);
        float seq[10];
        int finite = 1;
        for (int32_t end = first + 10; end <= last + 1; end++)
            if (scarp_temporal_sequence(t, 510000, 3990000, end, seq) == SCARP_OK)
                for (int k = 0; k < 10; k++) finite &= isfinite(seq[k]) != 0;
        CHECK_MSG(finite, "rainfall '%s' was accepted and became an infinity in the antecedent sequences", big[i]);
        scarp_temporal_free(t);
    }
}

/* A station whose coordinates cannot be transformed to the grid CRS (latitude 95) must be
 * an error naming the stations file and line, not a station silently at NaN that later
 * breaks every IDW value with "no station has a value". */
static void test_station_untransformable(void)
{
    char st_path[512], rain[512];
    put("stations_ll.csv", "id,lon,lat\nA,57.1,36.0\nB,57.2,95.0\n", st_path, sizeof st_path);
    put("rain_ll.csv",
        "date,A,B\n2020-01-01,1,2\n2020-01-02,1,2\n2020-01-03,1,2\n2020-01-04,1,2\n2020-01-05,1,2\n", rain, sizeof rain);
    static scarp_config cfg;
    scarp_config_defaults(&cfg);
    snprintf(cfg.stations_path, sizeof cfg.stations_path, "%s", st_path);
    snprintf(cfg.rainfall_path, sizeof cfg.rainfall_path, "%s", rain);
    cfg.window = 3;
    scarp_temporal *t = NULL;
    scarp_status st = scarp_temporal_load(&t, &cfg, &grid);
    if (st != SCARP_OK) {
        CHECK_MSG(has(scarp_last_error(), "stations_ll.csv"), "'%s'", scarp_last_error());
        return;
    }
    float seq[3];
    int32_t first, last;
    scarp_temporal_range(t, &first, &last);
    st = scarp_temporal_sequence_at(t, 510000, 3990000, first + 3, seq);
    CHECK_MSG(st == SCARP_OK, "a station at latitude 95 was accepted by the loader and then broke IDW: '%s'",
              scarp_last_error());
    scarp_temporal_free(t);
}

static void test_series_malformed(void)
{
    static const struct { const char *series, *want; } cases[] = {
        {"date,S1,S2\n2020-01-01,1,2\n2020-13-01,1,2\n", ":3: column 1 ('date'): '2020-13-01' is not a date"},
        {"date,S1,S9\n2020-01-01,1,2\n", ":1: column 3 ('S9') is not a station"},
        {"date,S1,S2\n2020-01-01,1,2\n2020-01-01,1,2\n", ":3: a second value for station"},
        {"date,S1,S2\n2020-01-01,-1,2\n", ":2: column 2 ('S1'): negative rainfall"},
        {"station,date,value\nS1,2020-01-01,1\nS3,2020-01-02,1\n", ":3: column 1 ('station'): 'S3' is not a station"},
        {"when,S1,S2\n2020-01-01,1,2\n", ":1: no 'date' column"},
        {"date,S1,S2\n", "empty series"},
        {"date,S1,S2\n1800-01-01,1,2\n2100-01-01,1,2\n", "more than 200 years"},
    };
    char st_path[512], rain[512];
    put("stations.csv", STATIONS, st_path, sizeof st_path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put("series.csv", cases[i].series, rain, sizeof rain);
        static scarp_config cfg;
        scarp_config_defaults(&cfg);
        snprintf(cfg.stations_path, sizeof cfg.stations_path, "%s", st_path);
        snprintf(cfg.rainfall_path, sizeof cfg.rainfall_path, "%s", rain);
        scarp_temporal *t = NULL;
        scarp_status st = scarp_temporal_load(&t, &cfg, &grid);
        CHECK_MSG(st == SCARP_ERR_INPUT && has(scarp_last_error(), "series.csv") && has(scarp_last_error(), cases[i].want),
                  "case %zu: status %d '%s'", i, (int)st, scarp_last_error());
        scarp_temporal_free(t);
    }
}

/* ---- config ----------------------------------------------------------------------------- */
static void test_config_bad(void)
{
    static const struct { const char *text, *want; } cases[] = {
        {"[model]\nepochs = 50\nepoch = 3\n", "study.ini:3: unknown key 'epoch' in [model] (did you mean 'epochs'?)"},
        {"[modle]\nepochs = 3\n", "study.ini:2: unknown section [modle] (did you mean [model]?)"},
        {"[model]\nepochs = many\n", "study.ini:2: 'epochs' must be a whole number (got 'many')"},
        {"[model]\nlr = nan\n", "study.ini:2: 'lr' must be a number (got 'nan')"},
        {"[model]\nlr = inf\n", "study.ini:2: 'lr' must be a number (got 'inf')"},
        {"[model]\nlr = 1e999\n", "study.ini:2: 'lr' must be a number"},
        {"[split]\ntrain = 0.8\nval = 0.15\ntest = 0.15\n", "train + val + test must be 1"},
        {"[map]\nclasses = 9\n", "study.ini:2: 'classes' must be from 3 to 5 (got '9')"},
        {"[map]\ndate = 2021-02-29\n", "study.ini:2: 'date' must be 'auto' or a date"},
        {"[layer.dem]\nkind = continuous\n", "[layer.dem] has no 'path'"},
        {"just text\n", "study.ini:1:"},
        {"[project]\nthreads = -1\n", "study.ini:2: 'threads' must be from 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        put("study.ini", cases[i].text, path, sizeof path);
        static scarp_config c;
        scarp_config_defaults(&c);
        scarp_status st = scarp_config_load(&c, path);
        CHECK_MSG(st == SCARP_ERR_INPUT && has(scarp_last_error(), cases[i].want), "case %zu: status %d '%s'", i,
                  (int)st, scarp_last_error());
    }
    static scarp_config c;
    scarp_config_defaults(&c);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such.ini", dir);
    scarp_status st = scarp_config_load(&c, missing);
    CHECK_MSG(st == SCARP_ERR_IO && has(scarp_last_error(), "no-such.ini"), "missing config: %d '%s'", (int)st,
              scarp_last_error());
}

int main(void)
{
    scarp_log_set_level(SCARP_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/scarp-robust-inputs.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    scarp_grid_init(&grid);
    if (scarp_grid_from_extent(&grid, "EPSG:32640", 30, 500000, 3970000, 530000, 4000000) != SCARP_OK) return 1;
    RUN(test_csv_malformed);
    RUN(test_csv_numbers);
    RUN(test_rainfall_nonfinite);
    RUN(test_rainfall_gaps_counted);
    RUN(test_rainfall_float_overflow);
    RUN(test_station_untransformable);
    RUN(test_series_malformed);
    RUN(test_config_bad);
    scarp_grid_free(&grid);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
