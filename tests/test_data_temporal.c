/* test_data_temporal.c — station series and antecedent windows: dates and leap years, the
 * strict CSV reader, wide and long forms, gap filling, IDW against hand-computed values,
 * window alignment (ends the day before the event), reprojected stations, the real
 * Trentino file (skipped loudly when ../shared/data is absent). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scarp/alloc.h"
#include "scarp/config.h"
#include "scarp/csv.h"
#include "scarp/dataset.h"
#include "scarp/fsutil.h"
#include "scarp/grid.h"

static char dir[256];

static void put(const char *name, const char *text, char *path)
{
    snprintf(path, 1024, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_dates(void)
{
    int32_t d;
    CHECK(scarp_date_parse("1970-01-01", &d) == 0);
    CHECK_EQ_INT(d, 0);
    CHECK(scarp_date_parse("2000-03-01", &d) == 0);
    CHECK_EQ_INT(d, 11017); /* 30 years × 365 + 7 leap days (72..96) + Jan 31 + Feb 29 */
    int32_t a, b;
    CHECK(scarp_date_parse("2024-02-28", &a) == 0 && scarp_date_parse("2024-03-01", &b) == 0);
    CHECK_EQ_INT(b - a, 2); /* 2024 is a leap year */
    CHECK(scarp_date_parse("2023-02-28", &a) == 0 && scarp_date_parse("2023-03-01", &b) == 0);
    CHECK_EQ_INT(b - a, 1);
    CHECK(scarp_date_parse("2000-02-29", &d) == 0);  /* divisible by 400 */
    CHECK(scarp_date_parse("1900-02-29", &d) != 0);  /* divisible by 100 */
    CHECK(scarp_date_parse("2021-13-01", &d) != 0);
    CHECK(scarp_date_parse("2021-1-x", &d) != 0);
    CHECK(scarp_date_parse("2021/06/05", &d) == 0);
    CHECK(scarp_date_parse("1969-12-31", &d) == 0);
    CHECK_EQ_INT(d, -1);
    char s[16];
    for (int32_t k = -700000; k < 800000; k += 997) { /* round trip, years 53 .. 4160 */
        scarp_date_format(k, s);
        int32_t back;
        CHECK(scarp_date_parse(s, &back) == 0 && back == k);
    }
}

static void test_csv(void)
{
    scarp_csv t;
    const char *ok = "a,\"b, with comma\",c\r\n1,\"say \"\"hi\"\"\",\n\n3,4,5\n";
    CHECK_OK(scarp_csv_parse(&t, "ok.csv", ok, strlen(ok)));
    CHECK_EQ_INT(t.n_cols, 3);
    CHECK_EQ_INT(t.n_rows, 2);
    CHECK(strcmp(t.header[1], "b, with comma") == 0);
    CHECK(strcmp(scarp_csv_cell(&t, 0, 1), "say \"hi\"") == 0);
    CHECK(strcmp(scarp_csv_cell(&t, 0, 2), "") == 0);
    CHECK_EQ_INT(t.line[1], 4);
    double v;
    int missing;
    CHECK_OK(scarp_csv_double(&t, 1, 2, &v, &missing));
    CHECK_NEAR(v, 5, 0);
    CHECK_OK(scarp_csv_double(&t, 0, 2, &v, &missing));
    CHECK(missing && isnan(v));
    CHECK_FAILS(scarp_csv_double(&t, 0, 1, &v, NULL), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "ok.csv:2: column 2 ('b, with comma'): 'say \"hi\"' is not a number") != NULL);
    scarp_csv_free(&t);

    const char *short_row = "x,y,z\n1,2,3\n4,5\n";
    CHECK_FAILS(scarp_csv_parse(&t, "f.csv", short_row, strlen(short_row)), SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), "f.csv:3: column 2: 2 fields where the header has 3") != NULL, "%s",
              scarp_last_error());
    const char *unterminated = "x,y\n1,\"abc\n";
    CHECK_FAILS(scarp_csv_parse(&t, "g.csv", unterminated, strlen(unterminated)), SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), "g.csv:2: column 2: unterminated quoted field") != NULL, "%s", scarp_last_error());
    const char *after = "x,y\n1,\"a\"b\n";
    CHECK_FAILS(scarp_csv_parse(&t, "h.csv", after, strlen(after)), SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), "h.csv:2: column 2: unexpected character 'b'") != NULL, "%s", scarp_last_error());
    const char *dup = "x,X\n1,2\n";
    CHECK_FAILS(scarp_csv_parse(&t, "i.csv", dup, strlen(dup)), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "i.csv:1: column 2: duplicated column name") != NULL);
    CHECK_FAILS(scarp_csv_parse(&t, "j.csv", "", 0), SCARP_ERR_INPUT);
}

/* Stations A (1500,1500), B (3500,1500), C (1500,4500) on a 100 m grid (0..10000)²; daily
 * rainfall A = d, B = 2d, C = 4d for d = days since 2019-12-01 (to 2020-03-31), A missing on
 * days 40..44 (filled linearly: exactly d again), B missing before day 3. */
static scarp_grid grid;
static char stations_path[1024], wide_path[1024], long_path[1024];

static void write_fixtures(void)
{
    put("stations.csv", "id,x,y,name\nA,1500,1500,\"first, station\"\nB,3500,1500,b\nC,1500,4500,c\n", stations_path);
    char *w = scarp_malloc(1 << 16), *l = scarp_malloc(1 << 17);
    size_t kw = 0, kl = 0;
    kw += (size_t)sprintf(w + kw, "date,A,B,C\n");
    kl += (size_t)sprintf(l + kl, "station,date,value\n");
    int32_t d0;
    scarp_date_parse("2019-12-01", &d0);
    for (int d = 0; d < 122; d++) {
        char ds[16];
        scarp_date_format(d0 + d, ds);
        char a[16] = "", b[16] = "";
        if (!(d >= 40 && d <= 44)) snprintf(a, sizeof a, "%d", d);
        if (d >= 3) snprintf(b, sizeof b, "%d", 2 * d);
        kw += (size_t)sprintf(w + kw, "%s,%s,%s,%d\n", ds, a, b, 4 * d);
        if (a[0]) kl += (size_t)sprintf(l + kl, "A,%s,%s\n", ds, a);
        if (b[0]) kl += (size_t)sprintf(l + kl, "B,%s,%s\n", ds, b);
        kl += (size_t)sprintf(l + kl, "C,%s,%d\n", ds, 4 * d);
    }
    put("rain_wide.csv", w, wide_path);
    put("rain_long.csv", l, long_path);
    scarp_free(w);
    scarp_free(l);
}

static void base_config(scarp_config *c, const char *rain)
{
    scarp_config_defaults(c);
    strcpy(c->stations_path, stations_path);
    strcpy(c->rainfall_path, rain);
}

static void check_fixture(const char *rain, int long_form)
{
    static scarp_config c;
    base_config(&c, rain);
    scarp_temporal *t = NULL;
    CHECK_OK(scarp_temporal_load(&t, &c, &grid));
    if (!t) return;
    CHECK_EQ_INT(scarp_temporal_n_vars(t), 1);
    CHECK_EQ_INT(scarp_temporal_window(t), 30);
    scarp_temporal_report r;
    scarp_temporal_report_get(t, &r);
    CHECK_EQ_INT(r.rain_missing_filled, 5);
    CHECK_EQ_INT(r.rain_long_form, long_form);
    CHECK_EQ_INT(r.n_stations, 3);

    float seq[30];
    int32_t ev;
    scarp_date_parse("2020-03-01", &ev);
    /* at station A: the window is 2020-01-31 (d = 61) .. 2020-02-29 (d = 90), leap day included */
    CHECK_OK(scarp_temporal_sequence_at(t, 1500, 1500, ev, seq));
    CHECK_NEAR(seq[0], 61, 0);
    CHECK_NEAR(seq[29], 90, 0);
    for (int i = 0; i < 30; i++) CHECK_NEAR(seq[i], 61 + i, 0);
    /* any point of A's 1 km temporal cell gets A's series (evaluated at the cell centre) */
    CHECK_OK(scarp_temporal_sequence(t, 1099, 1901, ev, seq));
    for (int i = 0; i < 30; i++) CHECK_NEAR(seq[i], 61 + i, 0);
    /* across the gap d = 40..44 (filled linearly) */
    int32_t d0;
    scarp_date_parse("2019-12-01", &d0);
    int32_t ev2 = d0 + 50; /* window d = 20..49 */
    CHECK_OK(scarp_temporal_sequence_at(t, 1500, 1500, ev2, seq));
    for (int i = 0; i < 30; i++) CHECK_NEAR(seq[i], 20 + i, 1e-4);
    /* between stations, by hand: at (2000, 2000) d² = 5e5, 2.5e6, 6.5e6; weights 1/d²;
     * (wA·1 + wB·2 + wC·4)/Σw = 1.3373493975903614 */
    CHECK_OK(scarp_temporal_sequence_at(t, 2000, 2000, ev, seq));
    for (int i = 0; i < 30; i++) CHECK_REL(seq[i], (61 + i) * 1.3373493975903614, 1e-6, 0);
    /* before B's record (d < 3) only A and C count: at (2000,2000) (wA + 4 wC)/(wA + wC) */
    int32_t ev3 = d0 + 31; /* window d = 1..30 */
    CHECK_OK(scarp_temporal_sequence_at(t, 2000, 2000, ev3, seq));
    double wa = 1 / 5e5, wc = 1 / 6.5e6;
    CHECK_REL(seq[0], 1 * (wa + 4 * wc) / (wa + wc), 1e-6, 0);
    CHECK_REL(seq[2], 3 * 1.3373493975903614, 1e-6, 0);
    /* the record: 2019-12-01 .. 2020-03-31 */
    int32_t last_ok;
    scarp_date_parse("2020-04-01", &last_ok);
    CHECK_OK(scarp_temporal_sequence_at(t, 1500, 1500, last_ok, seq));
    CHECK_NEAR(seq[29], 121, 0);
    CHECK_FAILS(scarp_temporal_sequence_at(t, 1500, 1500, last_ok + 1, seq), SCARP_ERR_INPUT);
    int32_t first_ok = d0 + 30; /* window d = 0..29 */
    CHECK_OK(scarp_temporal_sequence_at(t, 1500, 1500, first_ok, seq));
    CHECK_FAILS(scarp_temporal_sequence_at(t, 1500, 1500, first_ok - 1, seq), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "leaves the series record 2019-12-01 .. 2020-03-31") != NULL);
    /* rainfall grows every day: the wettest window is the last one */
    CHECK_EQ_INT(scarp_temporal_wettest_window_end(t), last_ok);
    scarp_temporal_free(t);
}

static void test_wide(void) { check_fixture(wide_path, 0); }
static void test_long(void) { check_fixture(long_path, 1); }

static void test_nearest_and_reservoirs(void)
{
    static scarp_config c;
    base_config(&c, wide_path);
    strcpy(c.interpolation, "nearest");
    strcpy(c.reservoirs_path, stations_path);
    strcpy(c.reservoir_levels_path, wide_path);
    strcpy(c.reservoir_interpolation, "nearest");
    scarp_temporal *t = NULL;
    CHECK_OK(scarp_temporal_load(&t, &c, &grid));
    if (!t) return;
    CHECK_EQ_INT(scarp_temporal_n_vars(t), 2);
    CHECK(strcmp(scarp_temporal_var_name(t, 1), "reservoir_level") == 0);
    float seq[60];
    int32_t ev;
    scarp_date_parse("2020-03-01", &ev);
    CHECK_OK(scarp_temporal_sequence_at(t, 3000, 1700, ev, seq)); /* nearest: B */
    for (int i = 0; i < 30; i++) {
        CHECK_NEAR(seq[i * 2 + 0], 2 * (61 + i), 0);
        CHECK_NEAR(seq[i * 2 + 1], 2 * (61 + i), 0);
    }
    scarp_temporal_free(t);
}

static void expect_load_error(const char *stations, const char *rain, const char *want)
{
    static scarp_config c;
    char sp[1024], rp[1024];
    put("s_bad.csv", stations, sp);
    put("r_bad.csv", rain, rp);
    scarp_config_defaults(&c);
    strcpy(c.stations_path, sp);
    strcpy(c.rainfall_path, rp);
    scarp_temporal *t = NULL;
    CHECK_FAILS(scarp_temporal_load(&t, &c, &grid), SCARP_ERR_INPUT);
    CHECK_MSG(strstr(scarp_last_error(), want) != NULL, "message '%s' lacks '%s'", scarp_last_error(), want);
    scarp_temporal_free(t);
}

static void test_bad_inputs(void)
{
    const char *st = "id,x,y\nA,1500,1500\nB,3500,1500\n";
    expect_load_error(st, "date,A,Z\n2020-01-01,1,2\n", "r_bad.csv:1: column 3 ('Z') is not a station of");
    expect_load_error(st, "date,A,B\n", "r_bad.csv: empty series (only a header)");
    expect_load_error(st, "date,A,B\n2020-01-01,,\n2020-01-02,,\n", "r_bad.csv: empty series (no value in any row)");
    expect_load_error(st, "date,A,B\n2020-01-01,1,2\n2020-01-02,1,abc\n",
                      "r_bad.csv:3: column 3 ('B'): 'abc' is not a number");
    expect_load_error(st, "date,A,B\n2020-01-01,1,2\n2020-02-30,1,2\n", "r_bad.csv:3: column 1 ('date'): '2020-02-30' is not a date");
    expect_load_error(st, "date,A,B\n2020-01-01,1,2\n2020-01-02,1,\"2\n", "r_bad.csv:3: column 3: unterminated quoted field");
    expect_load_error(st, "date,A,B\n2020-01-01,1,-2\n", "r_bad.csv:2: column 3 ('B'): negative rainfall");
    expect_load_error(st, "date,A,B\n2020-01-01,1,2\n2020-01-01,1,2\n", "r_bad.csv:3: a second value for station 'A'");
    expect_load_error(st, "day,A,B\n2020-01-01,1,2\n", "r_bad.csv:1: no 'date' column");
    expect_load_error("id,lon2,y\nA,1,2\n", "date,A\n2020-01-01,1\n", "s_bad.csv: no column 'x'");
    expect_load_error("id,x,y\nA,1,2\nA,3,4\n", "date,A\n2020-01-01,1\n", "s_bad.csv:3: station id 'A' appears twice");
}

/* Stations in lon/lat on a UTM 32N grid: (9°E, 0°N) is (500000, 0) exactly. */
static void test_reprojected_stations(void)
{
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32632", 100, 490000, -10000, 510000, 10000));
    char sp[1024], rp[1024];
    put("s_ll.csv", "station,lon,lat\nP,9.0,0.0\nQ,9.05,0.0\n", sp); /* lon/lat auto-detected */
    put("r_ll.csv", "date,P,Q\n2020-01-01,5,50\n2020-01-02,6,60\n", rp);
    static scarp_config c;
    scarp_config_defaults(&c);
    strcpy(c.stations_path, sp);
    strcpy(c.rainfall_path, rp);
    c.window = 2;
    scarp_temporal *t = NULL;
    CHECK_OK(scarp_temporal_load(&t, &c, &g));
    if (t) {
        float seq[2];
        int32_t ev;
        scarp_date_parse("2020-01-03", &ev);
        CHECK_OK(scarp_temporal_sequence_at(t, 500000, 0, ev, seq));
        CHECK_NEAR(seq[0], 5, 1e-3);
        CHECK_NEAR(seq[1], 6, 1e-3);
        scarp_temporal_free(t);
    }
    scarp_grid_free(&g);
}

static void test_trentino(void)
{
    char sp[1024], rp[1024];
    snprintf(sp, sizeof sp, "%s/rainfall_trentino/stations.csv", SCARP_SHARED_DATA);
    snprintf(rp, sizeof rp, "%s/rainfall_trentino/precipitation_daily_mm.csv", SCARP_SHARED_DATA);
    if (!scarp_file_exists(sp) || !scarp_file_exists(rp)) SKIP("real Trentino rainfall absent (%s)", rp);
    scarp_grid g;
    scarp_grid_init(&g);
    CHECK_OK(scarp_grid_from_extent(&g, "EPSG:32632", 1000, 600000, 5050000, 740000, 5170000));
    static scarp_config c;
    scarp_config_defaults(&c);
    strcpy(c.stations_path, sp);
    strcpy(c.rainfall_path, rp);
    scarp_temporal *t = NULL;
    CHECK_OK(scarp_temporal_load(&t, &c, &g));
    if (t) {
        scarp_temporal_report r;
        scarp_temporal_report_get(t, &r);
        char f[16], l[16];
        scarp_date_format(r.first, f);
        scarp_date_format(r.last, l);
        fprintf(stderr, "  trentino: %d stations, record %s .. %s, %lld station-days, %lld filled\n", r.n_stations, f, l,
                (long long)r.rain_days, (long long)r.rain_missing_filled);
        CHECK_EQ_INT(r.n_stations, 59);
        CHECK(strcmp(f, "1958-01-01") == 0);
        CHECK(r.rain_missing_filled > 0);
        CHECK(r.rain_days > 18262); /* many stations, each day */
        float seq[30];
        int32_t ev;
        scarp_date_parse("1966-11-05", &ev); /* the 1966 Adige flood */
        CHECK_OK(scarp_temporal_sequence(t, 665000, 5105000, ev, seq)); /* near Trento */
        double sum = 0;
        int ok = 1;
        for (int i = 0; i < 30; i++) sum += seq[i], ok &= seq[i] >= 0;
        CHECK(ok);
        fprintf(stderr, "  30-day rainfall before 1966-11-05 near Trento: %.1f mm (last day %.1f)\n", sum, seq[29]);
        CHECK(sum > 100); /* the flood followed weeks of heavy rain */
        int32_t wet = scarp_temporal_wettest_window_end(t);
        CHECK(wet != SCARP_NO_DATE);
        scarp_temporal_free(t);
    }
    scarp_grid_free(&g);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/scarp_test_temporal_%d", (int)getpid());
    scarp_mkdir_p(dir);
    scarp_grid_init(&grid);
    if (scarp_grid_from_extent(&grid, "EPSG:32640", 100, 0, 0, 10000, 10000) != SCARP_OK) {
        fprintf(stderr, "grid: %s\n", scarp_last_error());
        return 1;
    }
    write_fixtures();
    RUN(test_dates);
    RUN(test_csv);
    RUN(test_wide);
    RUN(test_long);
    RUN(test_nearest_and_reservoirs);
    RUN(test_bad_inputs);
    RUN(test_reprojected_stations);
    RUN(test_trentino);
    scarp_grid_free(&grid);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    return check_summary();
}
