/* test_hazard.c — issue 15: the (cell, day) negatives of task = hazard, the paired DeLong
 * test against an independent reference (tests/reference/make_delong_fixture.py, the
 * structural components computed pair by pair with numpy), and the truth ceiling read at
 * exactly the test samples (a fixture province whose truth is known in closed form). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/samples.h"
#include "scarp/alloc.h"
#include "scarp/dataset.h"
#include "scarp/eval.h"
#include "scarp/fsutil.h"
#include "scarp/raster.h"
#include "scarp/report.h"
#include "scarp/rng.h"
#include "scarp/synth.h"

/* ---- hazard negatives ------------------------------------------------------------ */

typedef struct {
    scarp_grid g;
    scarp_bitmap valid;
    int64_t n_pos, n_ev;
    double px[64], py[64];
    int64_t pcol[64], prow[64];
    int64_t ev_cell[96];
    int32_t ev_date[96];
} hz_fixture;

enum { HZ_W = 200, HZ_H = 200, HZ_WIN = 30, HZ_FIRST = 0, HZ_LAST = 999 };

static void hz_make(hz_fixture *f)
{
    memset(f, 0, sizeof *f);
    scarp_grid_init(&f->g);
    CHECK_OK(scarp_grid_from_extent(&f->g, "EPSG:32640", 30, 0, 0, HZ_W * 30, HZ_H * 30));
    scarp_bitmap_init(&f->valid, HZ_W * HZ_H, NULL);
    for (int64_t i = 0; i < HZ_W * HZ_H; i++)
        if ((i % HZ_W) < 180) scarp_bitmap_set(&f->valid, i); /* a nodata stripe beyond column 180 */
    scarp_rng r;
    scarp_rng_seed(&r, 77);
    f->n_pos = 60;
    for (int64_t k = 0; k < f->n_pos; k++) {
        int64_t c, w;
        int dup;
        do { /* distinct cells */
            c = (int64_t)scarp_rng_below(&r, 180);
            w = (int64_t)scarp_rng_below(&r, HZ_H);
            dup = 0;
            for (int64_t j = 0; j < k; j++) dup |= f->pcol[j] == c && f->prow[j] == w;
        } while (dup);
        f->pcol[k] = c;
        f->prow[k] = w;
        f->px[k] = scarp_grid_x(&f->g, (double)c);
        f->py[k] = scarp_grid_y(&f->g, (double)w);
        f->ev_cell[f->n_ev] = w * HZ_W + c;
        f->ev_date[f->n_ev++] = HZ_FIRST + HZ_WIN + (int32_t)scarp_rng_below(&r, HZ_LAST + 1 - HZ_WIN - HZ_FIRST);
    }
    /* a second event at 20 of the cells (the duplicates prepare drops still count) */
    for (int64_t k = 0; k < 20; k++) {
        f->ev_cell[f->n_ev] = f->prow[k] * HZ_W + f->pcol[k];
        f->ev_date[f->n_ev++] = HZ_FIRST + (int32_t)scarp_rng_below(&r, HZ_LAST + 1 - HZ_FIRST);
    }
}

static void hz_free(hz_fixture *f)
{
    scarp_bitmap_free(&f->valid);
    scarp_grid_free(&f->g);
}

typedef struct {
    double x[200], y[200];
    int64_t col[200], row[200];
    int32_t date[200];
    uint8_t same[200];
    int64_t n_same;
} hz_out;

static scarp_status hz_draw(const hz_fixture *f, int64_t n_neg, double share, uint64_t seed, hz_out *o)
{
    memset(o, 0, sizeof *o);
    return scarp_hazard_negatives(&f->valid, &f->g, f->px, f->py, f->pcol, f->prow, f->n_pos, f->ev_cell, f->ev_date,
                                  f->n_ev, n_neg, share, 100.0, HZ_FIRST, HZ_LAST, HZ_WIN, seed, o->x, o->y, o->col,
                                  o->row, o->date, o->same, &o->n_same);
}

static void test_hazard_negatives(void)
{
    hz_fixture f;
    hz_make(&f);
    static hz_out a, b, c;
    const double shares[3] = {0.4, 0.0, 1.0};
    const int64_t counts[3] = {90, 90, 150};
    for (int s = 0; s < 3; s++) {
        const int64_t n_neg = counts[s];
        CHECK_OK(hz_draw(&f, n_neg, shares[s], 42, &a));
        int64_t expect_same = llround(shares[s] * (double)n_neg), same = 0;
        for (int64_t k = 0; k < n_neg; k++) same += a.same[k];
        CHECK_EQ_INT(same, expect_same);
        CHECK_EQ_INT(a.n_same, expect_same);
        int per_cell[64] = {0};
        for (int64_t k = 0; k < n_neg; k++) {
            /* the window D−N … D−1 lies inside the record */
            CHECK_MSG(a.date[k] - HZ_WIN >= HZ_FIRST && a.date[k] - 1 <= HZ_LAST, "date %d", a.date[k]);
            CHECK(scarp_bitmap_get(&f.valid, a.row[k] * HZ_W + a.col[k]));
            int64_t cell = a.row[k] * HZ_W + a.col[k];
            /* no negative within the window of an event at its own cell */
            for (int64_t e = 0; e < f.n_ev; e++)
                if (f.ev_cell[e] == cell)
                    CHECK_MSG(abs(a.date[k] - f.ev_date[e]) > HZ_WIN, "negative %lld on day %d, event on day %d",
                              (long long)k, a.date[k], f.ev_date[e]);
            int at_pos = -1;
            for (int64_t p = 0; p < f.n_pos; p++)
                if (f.pcol[p] == a.col[k] && f.prow[p] == a.row[k]) at_pos = (int)p;
            if (a.same[k]) {
                CHECK(at_pos >= 0);
                if (at_pos >= 0) {
                    per_cell[at_pos]++;
                    CHECK(a.x[k] == f.px[at_pos] && a.y[k] == f.py[at_pos]);
                }
            } else { /* drawn as for susceptibility: ≥ min_distance from every landslide */
                CHECK(at_pos < 0);
                for (int64_t p = 0; p < f.n_pos; p++)
                    CHECK(hypot(a.x[k] - f.px[p], a.y[k] - f.py[p]) >= 100.0);
            }
            for (int64_t j = 0; j < k; j++) /* no (cell, day) pair twice */
                CHECK(!(a.col[j] == a.col[k] && a.row[j] == a.row[k] && a.date[j] == a.date[k]));
        }
        /* dealt round-robin: every landslide cell gets ⌊m/P⌋ or ⌈m/P⌉ */
        int64_t lo = expect_same / f.n_pos, hi = (expect_same + f.n_pos - 1) / f.n_pos;
        for (int64_t p = 0; p < f.n_pos; p++) CHECK_MSG(per_cell[p] >= lo && per_cell[p] <= hi, "cell %lld: %d",
                                                        (long long)p, per_cell[p]);
        /* seeded: the same seed gives the same pairs, another seed others */
        CHECK_OK(hz_draw(&f, n_neg, shares[s], 42, &b));
        CHECK(memcmp(a.date, b.date, sizeof a.date) == 0 && memcmp(a.col, b.col, sizeof a.col) == 0 &&
              memcmp(a.same, b.same, sizeof a.same) == 0);
        CHECK_OK(hz_draw(&f, n_neg, shares[s], 43, &c));
        CHECK(memcmp(a.date, c.date, sizeof a.date) != 0);
    }
    /* the other cells are the ones susceptibility draws first (same seed, same stream) */
    CHECK_OK(hz_draw(&f, 90, 0.4, 42, &a));
    static double sx[54], sy[54];
    static int64_t sc[54], sr[54];
    CHECK_OK(scarp_negatives_sample(&f.valid, &f.g, f.px, f.py, f.n_pos, 54, 100.0, 42, sx, sy, sc, sr));
    CHECK(memcmp(sc, a.col, sizeof sc) == 0 && memcmp(sr, a.row, sizeof sr) == 0);
    hz_free(&f);
}

static void test_hazard_impossible(void)
{
    hz_fixture f;
    hz_make(&f);
    /* a record of 61 days with every event on day 45: no day D in [30, 61] is > 30 days
     * from it, so no same-cell negative fits — a clear error, not a silent shortfall */
    for (int64_t e = 0; e < f.n_ev; e++) f.ev_date[e] = 45;
    static double x[10], y[10];
    static int64_t col[10], row[10], ns;
    static int32_t date[10];
    static uint8_t same[10];
    CHECK_FAILS(scarp_hazard_negatives(&f.valid, &f.g, f.px, f.py, f.pcol, f.prow, f.n_pos, f.ev_cell, f.ev_date,
                                       f.n_ev, 10, 0.5, 100.0, 0, 60, HZ_WIN, 1, x, y, col, row, date, same, &ns),
                SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "same_cell_share") != NULL);
    /* a record shorter than the window */
    CHECK_FAILS(scarp_hazard_negatives(&f.valid, &f.g, f.px, f.py, f.pcol, f.prow, f.n_pos, f.ev_cell, f.ev_date,
                                       f.n_ev, 10, 0.5, 100.0, 0, 20, HZ_WIN, 1, x, y, col, row, date, same, &ns),
                SCARP_ERR_INPUT);
    hz_free(&f);
}

/* ---- paired DeLong against the reference ------------------------------------------ */

static void test_delong_paired_reference(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/reference/delong_paired.txt", SCARP_TEST_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s missing (run tests/reference/make_delong_fixture.py)", path);
    if (!f) return;
    int cases = 0, n;
    while (fscanf(f, " case %d", &n) == 1) {
        float *a = scarp_malloc(sizeof(float) * (size_t)n), *b = scarp_malloc(sizeof(float) * (size_t)n);
        uint8_t *y = scarp_malloc((size_t)n);
        for (int i = 0; i < n; i++) {
            int yi;
            CHECK(fscanf(f, "%d %f %f", &yi, &a[i], &b[i]) == 3);
            y[i] = (uint8_t)yi;
        }
        double e[6];
        CHECK(fscanf(f, " expect %lf %lf %lf %lf %lf %lf", &e[0], &e[1], &e[2], &e[3], &e[4], &e[5]) == 6);
        scarp_delong_paired r;
        CHECK_OK(scarp_auc_delong_paired(a, b, y, (size_t)n, &r));
        /* AUCs are ratios of small integers (pair counts, halves): exact to rounding
         * (n ≤ 300 terms of size ≤ n: ~n·2^-52 relative); the variance is a difference of
         * sums of n squared terms (amplified by S_aa + S_bb over their difference, ≤ 10 here):
         * 1e-9 relative leaves ample room, a wrong formula is off by far more. */
        CHECK_REL(r.auc_a, e[0], 1e-12, 0);
        CHECK_REL(r.auc_b, e[1], 1e-12, 0);
        CHECK_REL(r.diff, e[2], 1e-10, 1e-14);
        CHECK_REL(r.var, e[3], 1e-9, 0);
        CHECK_REL(r.z, e[4], 1e-8, 1e-12);
        CHECK_REL(r.p, e[5], 1e-7, 1e-15);
        CHECK_REL(r.hi - r.lo, 2 * 1.959963984540054 * sqrt(e[3]), 1e-9, 0);
        /* each AUC equals the single-score AUC */
        double auc;
        CHECK_OK(scarp_auc(a, y, (size_t)n, &auc));
        CHECK_REL(r.auc_a, auc, 1e-12, 0);
        /* swapping the models flips the sign, keeps the variance and p */
        scarp_delong_paired s;
        CHECK_OK(scarp_auc_delong_paired(b, a, y, (size_t)n, &s));
        CHECK_REL(s.diff, -r.diff, 1e-12, 1e-15);
        CHECK_REL(s.var, r.var, 1e-12, 0);
        /* a model against itself: no difference, p = 1 */
        CHECK_OK(scarp_auc_delong_paired(a, a, y, (size_t)n, &s));
        CHECK(s.diff == 0 && s.p == 1);
        scarp_free(a);
        scarp_free(b);
        scarp_free(y);
        cases++;
    }
    fclose(f);
    CHECK_EQ_INT(cases, 3);
}

/* ---- the truth ceiling -------------------------------------------------------------- */

enum { TG = 64, TDAYS = 200 };
#define T_P0 1e-3
#define T_FIRST_DATE "2020-01-01"

static float t_rain(int d) { return (float)((d % 17) * 0.125); } /* exact sums: no rounding in R30 */
static float t_a(int64_t col) { return (float)(1.0 + 0.01 * (double)col); }

/* ln of the daily probability in closed form: one station (IDW weight 1), no reservoir,
 * b = 1, m_s = 0: p = p0 / (1 + exp((a − 0.7·min(1, R30/80) − 1)/0.05)). */
static double t_logp(int64_t col, int d)
{
    double run = 0;
    for (int k = d - 30; k < d; k++) run += t_rain(k);
    double R = (float)run; /* the generator keeps R30 as float */
    double m = 0.7 * fmin(1.0, R / 80.0);
    double z = ((double)t_a(col) - m - 1.0) / 0.05;
    return log(T_P0) - (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)));
}

/* Mann–Whitney AUC by brute force over the rows with use[i] */
static double brute_auc(const double *s, const uint8_t *y, const uint8_t *use, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (use[i] && use[j] && y[i] && !y[j]) {
                num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                den += 1;
            }
    return num / den;
}

static void write_truth_fixture(const char *dir, scarp_grid *g)
{
    CHECK_OK(scarp_mkdir_p(dir));
    CHECK_OK(scarp_grid_from_extent(g, "EPSG:32640", 30, 0, 0, TG * 30, TG * 30));
    float *v = scarp_malloc(sizeof(float) * TG * TG);
    char p[4096];
    const char *files[4] = {"truth.tif", "truth_a.tif", "truth_b.tif", "truth_ms.tif"};
    for (int f = 0; f < 4; f++) {
        for (int64_t i = 0; i < TG * TG; i++) {
            int64_t col = i % TG, row = i / TG;
            v[i] = f == 0 ? (float)(col + TG * row + 1) : f == 1 ? t_a(col) : f == 2 ? 1.0f : 0.0f;
        }
        snprintf(p, sizeof p, "%s/%s", dir, files[f]);
        CHECK_OK(scarp_raster_write(p, g, v, SCARP_OUT_FLOAT32, NULL));
    }
    scarp_free(v);
    snprintf(p, sizeof p, "%s/truth_series.csv", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "date,S01\n");
    int32_t d0;
    scarp_date_parse(T_FIRST_DATE, &d0);
    for (int d = 0; d < TDAYS; d++) {
        char ds[16];
        scarp_date_format(d0 + d, ds);
        fprintf(f, "%s,%.9g\n", ds, (double)t_rain(d));
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/truth.json", dir);
    f = fopen(p, "w");
    fprintf(f, "{\"static\": \"truth.tif\", \"a\": \"truth_a.tif\", \"b\": \"truth_b.tif\", \"m_s\": "
               "\"truth_ms.tif\", \"series\": \"truth_series.csv\", \"first_date\": \"%s\", \"n_days\": %d, "
               "\"p0\": %.17g, \"width\": 0.05, \"window\": 30, \"block\": 32, \"cellsize\": 30, \"x0\": 0, "
               "\"y0\": %d, \"idw_min_d2\": 10000, \"m_rain\": 0.7, \"r30_ref\": 80, \"reservoir_reach\": 6000, "
               "\"reservoir_gain\": 0.35, \"reservoir_decay\": 1500, \"drawdown_ref\": 6, \"max_reservoirs\": 8, "
               "\"stations\": [[960, 960]], \"reservoirs\": []}\n",
            T_FIRST_DATE, TDAYS, T_P0, TG * 30);
    fclose(f);
}

static void test_truth_ceiling(void)
{
    char dir[] = "/tmp/scarp_test_truth_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    scarp_grid g;
    scarp_grid_init(&g);
    write_truth_fixture(dir, &g);
    int32_t d0;
    scarp_date_parse(T_FIRST_DATE, &d0);
    /* a dataset of 90 samples, a third of them test rows, on random cells and days */
    scarp_dataset ds;
    scarp_dataset_init(&ds);
    const int64_t n = 90;
    ds.n = n;
    ds.label = scarp_malloc(n);
    ds.x = scarp_malloc(sizeof(double) * n);
    ds.y = scarp_malloc(sizeof(double) * n);
    ds.col = scarp_malloc(sizeof(int64_t) * n);
    ds.row = scarp_malloc(sizeof(int64_t) * n);
    ds.date = scarp_malloc(sizeof(int32_t) * n);
    ds.split = scarp_malloc(n);
    ds.same_cell = scarp_calloc(n, 1);
    scarp_rng r;
    scarp_rng_seed(&r, 9);
    for (int64_t i = 0; i < n; i++) {
        ds.label[i] = i % 2 == 0;
        ds.col[i] = (int64_t)scarp_rng_below(&r, TG);
        ds.row[i] = (int64_t)scarp_rng_below(&r, TG);
        ds.x[i] = scarp_grid_x(&g, (double)ds.col[i]);
        ds.y[i] = scarp_grid_y(&g, (double)ds.row[i]);
        ds.date[i] = d0 + 30 + (int32_t)scarp_rng_below(&r, TDAYS - 30);
        ds.split[i] = i % 3 == 0 ? SCARP_SPLIT_TEST : SCARP_SPLIT_TRAIN;
    }
    /* same-cell negatives: a negative on the cell of the landslide before it; a few
     * negatives on event days (the date of some landslide) */
    for (int64_t i = 1; i < n; i += 2) {
        if (i % 4 == 1) {
            ds.col[i] = ds.col[i - 1], ds.row[i] = ds.row[i - 1];
            ds.x[i] = ds.x[i - 1], ds.y[i] = ds.y[i - 1];
            ds.same_cell[i] = 1;
        } else if (i % 4 == 3) {
            ds.date[i] = ds.date[(i + 45) % n & ~(int64_t)1];
        }
    }
    size_t te[90], nte = 0;
    for (int64_t i = 0; i < n; i++)
        if (ds.split[i] == SCARP_SPLIT_TEST) te[nte++] = (size_t)i;
    scarp_config cfg;
    scarp_config_defaults(&cfg);
    strcpy(cfg.task, "hazard");
    snprintf(cfg.truth, sizeof cfg.truth, "%s/truth.json", dir);
    scarp_report_views v;
    CHECK_OK(scarp_views_init(&v, &cfg, &ds, te, nte));
    CHECK(v.has_static && v.has_daily && v.n_views == 3);
    /* the known truth at the test rows, and the views by their definitions */
    double st[90], dl[90];
    uint8_t y[90], use[3][90];
    int32_t evd[90];
    int nev = 0;
    for (int64_t i = 0; i < n; i++)
        if (ds.label[i]) evd[nev++] = ds.date[i];
    for (size_t k = 0; k < nte; k++) {
        size_t i = te[k];
        st[k] = (double)(ds.col[i] + TG * ds.row[i] + 1);
        dl[k] = t_logp(ds.col[i], ds.date[i] - d0);
        y[k] = ds.label[i];
        int on_ev = 0;
        for (int e = 0; e < nev; e++) on_ev |= evd[e] == ds.date[i];
        use[0][k] = 1;
        use[1][k] = y[k] || ds.same_cell[i];
        use[2][k] = y[k] || on_ev;
        CHECK(v.in_view[1][k] == use[1][k] && v.in_view[2][k] == use[2][k]);
        CHECK_REL(v.truth_static[k], st[k], 0, 0);
        /* float32 storage of ln p (|ln p| < 60): relative 2^-24 */
        CHECK_REL(v.truth_daily[k], dl[k], 1.2e-7, 0);
    }
    for (int w = 0; w < 3; w++) {
        /* the exact AUC of the known truth over the rows of each view */
        double es = brute_auc(st, y, use[w], nte), ed = brute_auc(dl, y, use[w], nte);
        CHECK_REL(v.truth_static_view[w].auc, es, 1e-12, 0);
        CHECK_REL(v.truth_daily_view[w].auc, ed, 1e-12, 0);
        fprintf(stderr, "  view %d: truth static %.4f daily %.4f (%zu/%zu)\n", w, es, ed, v.truth_daily_view[w].n_pos,
                v.truth_daily_view[w].n_neg);
    }
    CHECK(v.truth_daily_view[1].n_neg > 0 && v.truth_daily_view[2].n_neg > 0);
    /* a model equal to the daily truth scores its AUC; a pair of it against a noisy copy */
    float prob[90], prob2[90];
    for (size_t k = 0; k < nte; k++) {
        prob[k] = (float)exp(dl[k]);
        prob2[k] = (float)(st[k] / (TG * TG));
    }
    CHECK_OK(scarp_views_add_model(&v, "cnn_lstm", prob));
    CHECK_OK(scarp_views_add_model(&v, "cnn", prob2));
    CHECK_OK(scarp_views_finish(&v));
    CHECK_EQ_INT(v.n_pairs, 1);
    for (int w = 0; w < 3; w++) {
        CHECK_REL(v.view[0][w].auc, v.truth_daily_view[w].auc, 1e-12, 0);
        CHECK_REL(v.pair[0][w].diff, v.view[0][w].auc - v.view[1][w].auc, 1e-12, 1e-15);
    }
    /* the CLI table and the report pieces carry the truth */
    char *html = scarp_views_html(&v);
    CHECK(html && strstr(html, "truth (daily)") && strstr(html, "cnn_lstm − cnn"));
    scarp_free(html);
    scarp_views_free(&v);
    /* susceptibility: one view, the static truth only */
    strcpy(cfg.task, "susceptibility");
    CHECK_OK(scarp_views_init(&v, &cfg, &ds, te, nte));
    CHECK(v.n_views == 1 && v.has_static && !v.has_daily);
    CHECK_REL(v.truth_static_view[0].auc, brute_auc(st, y, use[0], nte), 1e-12, 0);
    scarp_views_free(&v);
    /* no truth (a real study): nothing scored */
    cfg.truth[0] = 0;
    CHECK_OK(scarp_views_init(&v, &cfg, &ds, te, nte));
    CHECK(!v.has_static && !v.has_daily);
    scarp_views_free(&v);
    /* a damaged truth file: one clear error naming it */
    char p[512];
    snprintf(p, sizeof p, "%s/bad.json", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "{\"static\": \"truth.tif\"}\n");
    fclose(f);
    snprintf(cfg.truth, sizeof cfg.truth, "%s", p);
    CHECK_FAILS(scarp_views_init(&v, &cfg, &ds, te, nte), SCARP_ERR_INPUT);
    CHECK(strstr(scarp_last_error(), "bad.json") != NULL);
    scarp_views_free(&v);
    scarp_dataset_free(&ds);
    scarp_grid_free(&g);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* ---- the written truth reproduces the generator's ---------------------------------- */

/* truth.tif is 1 − exp(−p0 Σ_days σ(...)), the sum taken by the generator through a 16-bin
 * histogram of each block's daily wetness (tile.c). Rebuilding that histogram from the
 * daily wetness read back (truth.json, truth_series.csv) with a, b, m_s of the rasters must
 * give truth.tif again: every piece of the daily truth (stations, IDW, R30, reservoir
 * drawdown, block geometry, dates, p0, width) enters. */
static void test_truth_matches_generator(void)
{
    char dir[] = "/tmp/scarp_test_truthgen_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    scarp_synth_params p;
    CHECK_OK(scarp_synth_preset(&p, "mini"));
    p.width = p.height = 256;
    p.n_events = 20;
    p.n_years = 2;
    CHECK_OK(scarp_synth_run(&p, dir, NULL));
    char path[600];
    const char *files[4] = {"truth.tif", "truth_a.tif", "truth_b.tif", "truth_ms.tif"};
    float *r[4] = {0};
    scarp_grid g;
    for (int f = 0; f < 4; f++) {
        scarp_grid_init(&g);
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        CHECK_OK(scarp_raster_read(path, 1, &g, &r[f]));
        if (f < 3) scarp_grid_free(&g);
    }
    snprintf(path, sizeof path, "%s/truth.json", dir);
    scarp_synth_truth *t = NULL;
    CHECK_OK(scarp_synth_truth_open(&t, path));
    if (!t || !r[0] || !r[3]) return;
    FILE *jf = fopen(path, "r");
    char js[4096] = {0};
    size_t nj = fread(js, 1, sizeof js - 1, jf);
    fclose(jf);
    js[nj] = 0;
    double p0 = atof(strstr(js, "\"p0\":") + 5);
    int n_days = atoi(strstr(js, "\"n_days\":") + 9);
    int32_t first;
    char fd[11] = {0};
    memcpy(fd, strstr(js, "\"first_date\": \"") + 15, 10);
    CHECK(scarp_date_parse(fd, &first) == 0);
    const int B = 32, NB = 16;
    const int64_t W = g.width, H = g.height, nbx = (W + B - 1) / B, nby = (H + B - 1) / B;
    float *hn = scarp_calloc((size_t)(nbx * nby * NB), sizeof(float)), *hm = scarp_calloc((size_t)(nbx * nby * NB), sizeof(float));
    for (int64_t bj = 0; bj < nby; bj++)
        for (int64_t bi = 0; bi < nbx; bi++) {
            double n[16] = {0}, s[16] = {0};
            double x = scarp_grid_x(&g, (double)(bi * B)), y = scarp_grid_y(&g, (double)(bj * B));
            for (int d = 30; d < n_days; d++) {
                double m;
                CHECK_OK(scarp_synth_truth_wetness(t, x, y, first + d, &m));
                int k = (int)(m * NB);
                k = k < 0 ? 0 : k >= NB ? NB - 1 : k;
                n[k] += 1;
                s[k] += m;
            }
            for (int k = 0; k < NB; k++) {
                hn[(bj * nbx + bi) * NB + k] = (float)n[k];
                hm[(bj * nbx + bi) * NB + k] = n[k] > 0 ? (float)(s[k] / n[k]) : 0.f;
            }
        }
    double worst = 0;
    int64_t compared = 0, positive = 0;
    for (int64_t i = 0; i < W * H; i++) {
        if (isnan(r[0][i])) continue;
        int64_t col = i % W, row = i / W, b = (row / B) * nbx + col / B;
        double G = 0;
        if (r[1][i] < 50)
            for (int k = 0; k < NB; k++)
                if (hn[b * NB + k] > 0) {
                    float m = r[3][i] + hm[b * NB + k];
                    double mm = m < 0 ? 0 : m > 1 ? 1 : m;
                    G += hn[b * NB + k] / (1.0 + exp(((double)r[1][i] - (double)r[2][i] * mm - 1.0) / 0.05));
                }
        double truth = (float)(-expm1(-p0 * G));
        compared++;
        positive += truth > 0;
        double rel = fabs(truth - r[0][i]) / fmax(fabs(r[0][i]), 1e-300);
        if (truth == 0 && r[0][i] == 0) rel = 0;
        if (isnan(rel)) rel = INFINITY;
        if (rel > worst) worst = rel;
    }
    fprintf(stderr, "  %lld cells (%lld > 0): worst relative difference %.3g\n", (long long)compared,
            (long long)positive, worst);
    /* the same floats through the same operations: equal but for the last bits of the
     * float32 result (FMA contraction may differ between the two compilation units): 4 ulp */
    CHECK_MSG(worst <= 4 * 0x1p-24, "worst %.3g", worst);
    CHECK(positive > 1000);
    scarp_synth_truth_free(t);
    for (int f = 0; f < 4; f++) scarp_free(r[f]);
    scarp_free(hn);
    scarp_free(hm);
    scarp_grid_free(&g);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(test_hazard_negatives);
    RUN(test_hazard_impossible);
    RUN(test_delong_paired_reference);
    RUN(test_truth_ceiling);
    RUN(test_truth_matches_generator);
    return check_summary();
}
