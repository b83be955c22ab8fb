/* temporal.c — daily station series (rainfall, reservoir level) and the antecedent
 * window of a location, shared by training and mapping (DESIGN.md §3). Gaps are filled by
 * linear interpolation in time; values at a location by inverse-distance weighting
 * (Shepard 1968, "A two-dimensional interpolation function for irregularly-spaced data",
 * ACM '68, doi:10.1145/800186.810616) or by the nearest station, evaluated at the centre of
 * the temporal grid cell holding the location. Dates: Hinnant's days_from_civil. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scarp/alloc.h"
#include "scarp/csv.h"
#include "scarp/dataset.h"
#include "scarp/grid.h"
#include "scarp/log.h"

/* ---------------------------------------------------------------------------------- */
/* Dates                                                                                */
/* ---------------------------------------------------------------------------------- */

int32_t scarp_date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2u) / 5u + (unsigned)d - 1u;
    const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void scarp_date_to_ymd(int32_t days, int *y, int *m, int *d)
{
    int z = days + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int yy = (int)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return md[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

int scarp_date_parse(const char *s, int32_t *days)
{
    int y = 0, m = 0, d = 0, n = 0;
    const char *p = s;
    while (*p == ' ') p++;
    for (n = 0; n < 4 && *p >= '0' && *p <= '9'; n++, p++) y = y * 10 + (*p - '0');
    if (n != 4 || (*p != '-' && *p != '/')) return -1;
    char sep = *p++;
    for (n = 0; n < 2 && *p >= '0' && *p <= '9'; n++, p++) m = m * 10 + (*p - '0');
    if (n < 1 || *p != sep) return -1;
    p++;
    for (n = 0; n < 2 && *p >= '0' && *p <= '9'; n++, p++) d = d * 10 + (*p - '0');
    if (n < 1) return -1;
    if (*p == 'T' || *p == ' ') {
        /* a time part: accept "T..." or " hh:mm..." and ignore it */
        if (*p == ' ' && !(p[1] >= '0' && p[1] <= '9')) {
            while (*p == ' ') p++;
            if (*p) return -1;
        }
    } else if (*p) {
        return -1;
    }
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return -1;
    *days = scarp_date_from_ymd(y, m, d);
    return 0;
}

void scarp_date_format(int32_t days, char out[16])
{
    if (days == SCARP_NO_DATE) {
        strcpy(out, "none");
        return;
    }
    int y, m, d;
    scarp_date_to_ymd(days, &y, &m, &d);
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d);
    memcpy(out, tmp, 15);
    out[15] = 0;
}

/* ---------------------------------------------------------------------------------- */
/* The temporal object                                                                  */
/* ---------------------------------------------------------------------------------- */

typedef struct {
    char name[32];
    int n_st;
    double *sx, *sy;   /* (n_st) station positions, grid CRS */
    char (*ids)[64];   /* (n_st) */
    int32_t day0;      /* first day of `values` */
    int64_t n_days;
    float *values;     /* (n_days, n_st): NaN outside a station's record */
    int32_t first, last; /* days with at least one station (inclusive) */
    int idw;           /* 1 = IDW, 0 = nearest */
    double power;
    int64_t filled, station_days;
    int long_form;
} tseries;

struct scarp_temporal {
    int N, T;
    tseries var[2];
    double gx0, gy0, rx, ry; /* temporal grid origin and cell size (grid units) */
    int32_t first, last;     /* common record */
};

static void tseries_free(tseries *s)
{
    scarp_free(s->sx);
    scarp_free(s->sy);
    scarp_free(s->ids);
    scarp_free(s->values);
    memset(s, 0, sizeof *s);
}

void scarp_temporal_free(scarp_temporal *t)
{
    if (!t) return;
    for (int i = 0; i < 2; i++) tseries_free(&t->var[i]);
    scarp_free(t);
}

int scarp_temporal_n_vars(const scarp_temporal *t) { return t ? t->T : 0; }
int scarp_temporal_window(const scarp_temporal *t) { return t ? t->N : 0; }
const char *scarp_temporal_var_name(const scarp_temporal *t, int var) { return t->var[var].name; }
void scarp_temporal_range(const scarp_temporal *t, int32_t *first, int32_t *last)
{
    *first = t->first;
    *last = t->last;
}

/* Reads a stations/reservoirs file: id, x, y columns, reprojected to the grid. */
static scarp_status read_stations(tseries *s, const char *path, const scarp_config *cfg, const scarp_grid *grid)
{
    scarp_csv csv;
    scarp_status st = scarp_csv_read(&csv, path);
    if (st != SCARP_OK) return st;
    int cid = scarp_csv_column(&csv, cfg->stations_id);
    if (cid < 0 && strcmp(cfg->stations_id, "id") == 0) cid = scarp_csv_column(&csv, "station");
    if (cid < 0) {
        st = scarp_csv_require(&csv, cfg->stations_id, "[temporal] stations_id", &cid);
        scarp_csv_free(&csv);
        return st;
    }
    int cx = scarp_csv_column(&csv, cfg->stations_x), cy = scarp_csv_column(&csv, cfg->stations_y);
    const char *crs = cfg->stations_crs;
    int lonlat = 0;
    if (cx < 0 && cy < 0 && strcmp(cfg->stations_x, "x") == 0 && strcmp(cfg->stations_y, "y") == 0) {
        cx = scarp_csv_column(&csv, "lon");
        cy = scarp_csv_column(&csv, "lat");
        if (cx < 0 || cy < 0) {
            cx = scarp_csv_column(&csv, "longitude");
            cy = scarp_csv_column(&csv, "latitude");
        }
        lonlat = cx >= 0 && cy >= 0;
    }
    if (cx < 0 && (st = scarp_csv_require(&csv, cfg->stations_x, "[temporal] stations_x", &cx)) != SCARP_OK) goto done;
    if (cy < 0 && (st = scarp_csv_require(&csv, cfg->stations_y, "[temporal] stations_y", &cy)) != SCARP_OK) goto done;
    if (!crs[0] && lonlat) crs = "EPSG:4326";
    if (csv.n_rows == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: no stations (only a header)", path);
        goto done;
    }
    s->n_st = (int)csv.n_rows;
    s->sx = scarp_malloc(sizeof(double) * (size_t)s->n_st);
    s->sy = scarp_malloc(sizeof(double) * (size_t)s->n_st);
    s->ids = scarp_calloc((size_t)s->n_st, 64);
    if (!s->sx || !s->sy || !s->ids) {
        st = SCARP_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < csv.n_rows; i++) {
        const char *id = scarp_csv_cell(&csv, i, cid);
        if (!id[0] || strlen(id) >= 64) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): station id is empty or too long", path,
                            (long long)csv.line[i], cid + 1, csv.header[cid]);
            goto done;
        }
        for (int64_t k = 0; k < i; k++)
            if (strcmp(s->ids[k], id) == 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: station id '%s' appears twice", path, (long long)csv.line[i], id);
                goto done;
            }
        strcpy(s->ids[i], id);
        if ((st = scarp_csv_double(&csv, i, cx, &s->sx[i], NULL)) != SCARP_OK) goto done;
        if ((st = scarp_csv_double(&csv, i, cy, &s->sy[i], NULL)) != SCARP_OK) goto done;
    }
    if (crs[0]) st = scarp_transform_points(crs, grid->wkt, s->sx, s->sy, s->n_st, path);
    /* a station PROJ cannot place (latitude 95) comes back NaN: name it, never carry it */
    for (int64_t i = 0; i < s->n_st && !st; i++)
        if (!isfinite(s->sx[i]) || !isfinite(s->sy[i]))
            st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: station '%s': its coordinates cannot be transformed to the "
                            "grid's CRS (outside the valid range of %s?)", path, (long long)csv.line[i], s->ids[i],
                            crs[0] ? crs : "the grid CRS");
done:
    scarp_csv_free(&csv);
    return st;
}

static int station_index(const tseries *s, const char *id)
{
    for (int i = 0; i < s->n_st; i++)
        if (strcmp(s->ids[i], id) == 0) return i;
    return -1;
}

/* Reads a series file (wide or long form) into s->values and fills gaps. */
static scarp_status read_series(tseries *s, const char *path, const char *station_file, int nonnegative)
{
    scarp_csv csv;
    scarp_status st = scarp_csv_read(&csv, path);
    if (st != SCARP_OK) return st;
    int cdate = scarp_csv_column(&csv, "date");
    int cst = scarp_csv_column(&csv, "station");
    if (cst < 0) cst = scarp_csv_column(&csv, "id");
    int cval = scarp_csv_column(&csv, "value");
    int *colst = NULL;
    s->long_form = cdate >= 0 && cst >= 0 && cval >= 0 && csv.n_cols == 3;
    if (cdate < 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s:1: no 'date' column (expected wide form 'date,<station>,...' or long "
                        "form 'station,date,value')", path);
        goto done;
    }
    if (csv.n_rows == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: empty series (only a header)", path);
        goto done;
    }
    /* date range */
    int32_t dmin = INT32_MAX, dmax = INT32_MIN;
    for (int64_t i = 0; i < csv.n_rows; i++) {
        int32_t d;
        if (scarp_date_parse(scarp_csv_cell(&csv, i, cdate), &d)) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): '%s' is not a date yyyy-mm-dd", path,
                            (long long)csv.line[i], cdate + 1, csv.header[cdate], scarp_csv_cell(&csv, i, cdate));
            goto done;
        }
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
    }
    if ((int64_t)dmax - dmin > 200 * 366) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: the series spans more than 200 years", path);
        goto done;
    }
    s->day0 = dmin;
    s->n_days = (int64_t)dmax - dmin + 1;
    s->values = scarp_malloc(sizeof(float) * (size_t)s->n_days * (size_t)s->n_st);
    colst = scarp_malloc(sizeof(int) * (size_t)csv.n_cols);
    uint8_t *seen = scarp_calloc((size_t)s->n_days * (size_t)s->n_st, 1);
    if (!s->values || !colst || !seen) {
        scarp_free(seen);
        st = SCARP_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < s->n_days * s->n_st; i++) s->values[i] = NAN;
    if (!s->long_form) {
        for (int j = 0; j < csv.n_cols; j++) {
            colst[j] = -1;
            if (j == cdate) continue;
            colst[j] = station_index(s, csv.header[j]);
            if (colst[j] < 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s:1: column %d ('%s') is not a station of %s", path, j + 1,
                                csv.header[j], station_file);
                scarp_free(seen);
                goto done;
            }
        }
    }
    int64_t n_values = 0;
    for (int64_t i = 0; i < csv.n_rows; i++) {
        int32_t d;
        scarp_date_parse(scarp_csv_cell(&csv, i, cdate), &d);
        int64_t di = (int64_t)d - s->day0;
        for (int j = 0; j < csv.n_cols; j++) {
            int si;
            if (s->long_form) {
                if (j != cval) continue;
                si = station_index(s, scarp_csv_cell(&csv, i, cst));
                if (si < 0) {
                    st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): '%s' is not a station of %s", path,
                                    (long long)csv.line[i], cst + 1, csv.header[cst], scarp_csv_cell(&csv, i, cst),
                                    station_file);
                    scarp_free(seen);
                    goto done;
                }
            } else {
                si = colst[j];
                if (si < 0) continue;
            }
            double v;
            int missing;
            if ((st = scarp_csv_double(&csv, i, j, &v, &missing)) != SCARP_OK) {
                scarp_free(seen);
                goto done;
            }
            /* series are kept as float: a finite double beyond its range would become inf */
            if (!missing && fabs(v) > FLT_MAX) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): value %g is beyond the float range (±%g)",
                                path, (long long)csv.line[i], j + 1, csv.header[j], v, (double)FLT_MAX);
                scarp_free(seen);
                goto done;
            }
            size_t k = (size_t)di * (size_t)s->n_st + (size_t)si;
            if (seen[k]) {
                char ds[16];
                scarp_date_format(d, ds);
                st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: a second value for station '%s' on %s", path,
                                (long long)csv.line[i], s->ids[si], ds);
                scarp_free(seen);
                goto done;
            }
            seen[k] = 1;
            if (missing) continue;
            if (nonnegative && v < 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): negative rainfall %g", path,
                                (long long)csv.line[i], j + 1, csv.header[j], v);
                scarp_free(seen);
                goto done;
            }
            s->values[k] = (float)v;
            n_values++;
        }
    }
    scarp_free(seen);
    if (n_values == 0) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s: empty series (no value in any row)", path);
        goto done;
    }
    /* Gap filling: linear in time between a station's known values; nothing outside. */
    s->first = INT32_MAX;
    s->last = INT32_MIN;
    for (int si = 0; si < s->n_st; si++) {
        int64_t prev = -1;
        for (int64_t di = 0; di < s->n_days; di++) {
            float v = s->values[di * s->n_st + si];
            if (isnan(v)) continue;
            if (prev >= 0 && di - prev > 1) {
                float a = s->values[prev * s->n_st + si];
                for (int64_t k = prev + 1; k < di; k++) {
                    double f = (double)(k - prev) / (double)(di - prev);
                    s->values[k * s->n_st + si] = (float)(a + f * (v - a));
                    s->filled++;
                }
            }
            if (prev < 0 && s->day0 + (int32_t)di < s->first) s->first = s->day0 + (int32_t)di;
            if (s->day0 + (int32_t)di > s->last) s->last = s->day0 + (int32_t)di;
            prev = di;
        }
    }
    for (int64_t i = 0; i < s->n_days * s->n_st; i++) s->station_days += !isnan(s->values[i]);
    int unused = 0;
    for (int si = 0; si < s->n_st; si++) {
        int any = 0;
        for (int64_t di = 0; di < s->n_days && !any; di++) any = !isnan(s->values[di * s->n_st + si]);
        unused += !any;
    }
    if (unused) scarp_warn("%s: %d of the %d stations of %s have no value and take no part", path, unused, s->n_st, station_file);
done:
    scarp_free(colst);
    scarp_csv_free(&csv);
    return st;
}

scarp_status scarp_temporal_load(scarp_temporal **out, const scarp_config *cfg, const scarp_grid *grid)
{
    *out = NULL;
    if (!cfg->rainfall_path[0] && !cfg->reservoir_levels_path[0]) return SCARP_OK;
    scarp_temporal *t = scarp_calloc(1, sizeof *t);
    if (!t) return SCARP_ERR_NOMEM;
    scarp_status st = SCARP_OK;
    t->N = cfg->window;
    if (cfg->rainfall_path[0]) {
        tseries *s = &t->var[t->T];
        strcpy(s->name, "rainfall");
        s->idw = strcmp(cfg->interpolation, "nearest") != 0;
        s->power = cfg->idw_power;
        if ((st = read_stations(s, cfg->stations_path, cfg, grid)) != SCARP_OK) goto fail;
        if ((st = read_series(s, cfg->rainfall_path, cfg->stations_path, 1)) != SCARP_OK) goto fail;
        t->T++;
    }
    if (cfg->reservoir_levels_path[0]) {
        tseries *s = &t->var[t->T];
        strcpy(s->name, "reservoir_level");
        s->idw = strcmp(cfg->reservoir_interpolation, "idw") == 0;
        s->power = cfg->idw_power;
        if ((st = read_stations(s, cfg->reservoirs_path, cfg, grid)) != SCARP_OK) goto fail;
        if ((st = read_series(s, cfg->reservoir_levels_path, cfg->reservoirs_path, 0)) != SCARP_OK) goto fail;
        t->T++;
    }
    t->first = INT32_MIN;
    t->last = INT32_MAX;
    for (int v = 0; v < t->T; v++) {
        if (t->var[v].first > t->first) t->first = t->var[v].first;
        if (t->var[v].last < t->last) t->last = t->var[v].last;
    }
    if (t->last < t->first) {
        st = scarp_fail(SCARP_ERR_INPUT, "%s and %s: the rainfall and reservoir records do not overlap in time",
                        cfg->rainfall_path, cfg->reservoir_levels_path);
        goto fail;
    }
    /* temporal grid */
    t->gx0 = grid->gt[0];
    t->gy0 = grid->gt[3];
    t->rx = t->ry = cfg->temporal_resolution;
    if (scarp_grid_is_geographic(grid)) {
        double lat = grid->gt[3] + 0.5 * (double)grid->height * grid->gt[5];
        t->ry = cfg->temporal_resolution / 110574.0;
        t->rx = cfg->temporal_resolution / (111320.0 * cos(lat * M_PI / 180.0));
    }
    *out = t;
    return SCARP_OK;
fail:
    scarp_temporal_free(t);
    return st;
}

void scarp_temporal_cell_of(const scarp_temporal *t, double x, double y, int64_t *tc, int64_t *tr)
{
    *tc = (int64_t)floor((x - t->gx0) / t->rx);
    *tr = (int64_t)floor((t->gy0 - y) / t->ry);
}

void scarp_temporal_cell_centre(const scarp_temporal *t, int64_t tc, int64_t tr, double *cx, double *cy)
{
    *cx = t->gx0 + ((double)tc + 0.5) * t->rx;
    *cy = t->gy0 - ((double)tr + 0.5) * t->ry;
}

/* Value of one variable on day index di at (x, y); NaN when no station has a value. */
static float series_value(const tseries *s, int64_t di, double x, double y)
{
    const float *row = s->values + di * s->n_st;
    if (!s->idw) {
        int best = -1;
        double bd = INFINITY;
        for (int i = 0; i < s->n_st; i++) {
            if (isnan(row[i])) continue;
            double dx = s->sx[i] - x, dy = s->sy[i] - y, d2 = dx * dx + dy * dy;
            if (d2 < bd) bd = d2, best = i;
        }
        return best < 0 ? NAN : row[best];
    }
    double num = 0, den = 0;
    for (int i = 0; i < s->n_st; i++) {
        if (isnan(row[i])) continue;
        double dx = s->sx[i] - x, dy = s->sy[i] - y, d2 = dx * dx + dy * dy;
        if (d2 <= 1e-18) return row[i];
        double w = s->power == 2.0 ? 1.0 / d2 : pow(d2, -0.5 * s->power);
        num += w * row[i];
        den += w;
    }
    return den > 0 ? (float)(num / den) : NAN;
}

scarp_status scarp_temporal_sequence_at(const scarp_temporal *t, double x, double y, int32_t date_end, float *out)
{
    int32_t start = date_end - t->N;
    if (start < t->first || date_end - 1 > t->last) {
        char a[16], b[16], f[16], l[16];
        scarp_date_format(start, a);
        scarp_date_format(date_end - 1, b);
        scarp_date_format(t->first, f);
        scarp_date_format(t->last, l);
        return scarp_fail(SCARP_ERR_INPUT, "the window %s .. %s leaves the series record %s .. %s", a, b, f, l);
    }
    for (int v = 0; v < t->T; v++) {
        const tseries *s = &t->var[v];
        for (int i = 0; i < t->N; i++) {
            int64_t di = (int64_t)start + i - s->day0;
            float val = series_value(s, di, x, y);
            if (isnan(val)) {
                char a[16];
                scarp_date_format(start + i, a);
                return scarp_fail(SCARP_ERR_INPUT, "no %s station has a value on %s", s->name, a);
            }
            out[(size_t)i * t->T + v] = val;
        }
    }
    return SCARP_OK;
}

scarp_status scarp_temporal_sequence(const scarp_temporal *t, double x, double y, int32_t date_end, float *out)
{
    int64_t tc, tr;
    double cx, cy;
    scarp_temporal_cell_of(t, x, y, &tc, &tr);
    scarp_temporal_cell_centre(t, tc, tr, &cx, &cy);
    return scarp_temporal_sequence_at(t, cx, cy, date_end, out);
}

int32_t scarp_temporal_wettest_window_end(const scarp_temporal *t)
{
    if (!t || t->T == 0 || strcmp(t->var[0].name, "rainfall") != 0) return SCARP_NO_DATE;
    const tseries *s = &t->var[0];
    int64_t n = (int64_t)t->last - t->first + 1;
    if (n < t->N) return SCARP_NO_DATE;
    /* mean over the stations with a value each day; rolling N-day sum in double */
    double best = -1, run = 0;
    int32_t best_end = SCARP_NO_DATE;
    double *mean = scarp_malloc(sizeof(double) * (size_t)n);
    if (!mean) return SCARP_NO_DATE;
    for (int64_t k = 0; k < n; k++) {
        const float *row = s->values + ((int64_t)t->first + k - s->day0) * s->n_st;
        double sum = 0;
        int c = 0;
        for (int i = 0; i < s->n_st; i++)
            if (!isnan(row[i])) sum += row[i], c++;
        mean[k] = c ? sum / c : 0.0;
    }
    for (int64_t k = 0; k < n; k++) {
        run += mean[k];
        if (k >= t->N) run -= mean[k - t->N];
        if (k >= t->N - 1 && run > best + 1e-9) {
            best = run;
            best_end = t->first + (int32_t)k + 1;
        }
    }
    scarp_free(mean);
    return best_end;
}

void scarp_temporal_report_get(const scarp_temporal *t, scarp_temporal_report *r)
{
    memset(r, 0, sizeof *r);
    if (!t) return;
    r->first = t->first;
    r->last = t->last;
    for (int v = 0; v < t->T; v++) {
        const tseries *s = &t->var[v];
        if (strcmp(s->name, "rainfall") == 0) {
            r->n_stations = s->n_st;
            r->rain_days = s->station_days;
            r->rain_missing_filled = s->filled;
            r->rain_long_form = s->long_form;
        } else {
            r->n_reservoirs = s->n_st;
            r->level_days = s->station_days;
            r->level_missing_filled = s->filled;
            r->level_long_form = s->long_form;
        }
    }
}
