/* inventory.c — the landslide inventory (DESIGN.md §2): a CSV with x/y columns and a CRS,
 * or any OGR source (polygons reduced to centroids by the vector reader), reprojected to
 * the grid; optional ISO event dates and an optional 1/0 label column. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "samples.h"
#include "scarp/alloc.h"
#include "scarp/csv.h"
#include "scarp/vector.h"

void scarp_inventory_free(scarp_inventory *inv)
{
    if (!inv) return;
    scarp_free(inv->x);
    scarp_free(inv->y);
    scarp_free(inv->date);
    scarp_free(inv->label);
    scarp_free(inv->source);
    memset(inv, 0, sizeof *inv);
}

static int is_csv(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".txt") == 0);
}

static scarp_status inv_alloc(scarp_inventory *inv, int64_t n)
{
    size_t m = (size_t)(n > 0 ? n : 1);
    inv->x = scarp_malloc(m * sizeof(double));
    inv->y = scarp_malloc(m * sizeof(double));
    inv->date = scarp_malloc(m * sizeof(int32_t));
    inv->label = scarp_malloc(m);
    inv->source = scarp_malloc(m * sizeof(int64_t));
    if (!inv->x || !inv->y || !inv->date || !inv->label || !inv->source) return SCARP_ERR_NOMEM;
    return SCARP_OK;
}

/* "1"/"0" (also true/false, yes/no); -1 when it is none of these. */
static int parse_label(const char *s)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1.0")) return 1;
    if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0.0")) return 0;
    return -1;
}

/* Shared by both readers: date and label of row i from a string (NULL/"" = unset). */
static scarp_status row_attrs(scarp_inventory *inv, int64_t i, const char *date, const char *label, const char *path,
                              int64_t line, int dcol, int lcol, const char *dname, const char *lname)
{
    inv->date[i] = SCARP_NO_DATE;
    inv->label[i] = -1;
    if (date && *date && scarp_date_parse(date, &inv->date[i]))
        return scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): '%s' is not a date yyyy-mm-dd", path,
                          (long long)line, dcol, dname, date);
    if (lname) {
        int v = label ? parse_label(label) : -1;
        if (v < 0)
            return scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): label '%s' is not 1 or 0", path,
                              (long long)line, lcol, lname, label ? label : "");
        inv->label[i] = (int8_t)v;
    }
    return SCARP_OK;
}

static scarp_status read_csv(const scarp_config *cfg, const scarp_grid *grid, scarp_inventory *inv)
{
    const char *path = cfg->inventory_path;
    scarp_csv csv;
    scarp_status st = scarp_csv_read(&csv, path);
    if (st != SCARP_OK) return st;
    int cx, cy, cd = -1, cl = -1;
    if ((st = scarp_csv_require(&csv, cfg->inventory_x, "[inventory] x", &cx)) != SCARP_OK) goto done;
    if ((st = scarp_csv_require(&csv, cfg->inventory_y, "[inventory] y", &cy)) != SCARP_OK) goto done;
    if (cfg->inventory_date[0]) {
        cd = scarp_csv_column(&csv, cfg->inventory_date);
        if (cd < 0 && strcmp(cfg->inventory_date, "date") != 0) {
            st = scarp_csv_require(&csv, cfg->inventory_date, "[inventory] date", &cd);
            goto done;
        }
    }
    if (cfg->inventory_label[0] &&
        (st = scarp_csv_require(&csv, cfg->inventory_label, "[inventory] label", &cl)) != SCARP_OK)
        goto done;
    if ((st = inv_alloc(inv, csv.n_rows)) != SCARP_OK) goto done;
    inv->n = csv.n_rows;
    inv->has_dates = cd >= 0;
    inv->has_labels = cl >= 0;
    for (int64_t i = 0; i < csv.n_rows; i++) {
        inv->source[i] = csv.line[i];
        if ((st = scarp_csv_double(&csv, i, cx, &inv->x[i], NULL)) != SCARP_OK) goto done;
        if ((st = scarp_csv_double(&csv, i, cy, &inv->y[i], NULL)) != SCARP_OK) goto done;
        if ((st = row_attrs(inv, i, cd >= 0 ? scarp_csv_cell(&csv, i, cd) : NULL,
                            cl >= 0 ? scarp_csv_cell(&csv, i, cl) : NULL, path, csv.line[i], cd + 1, cl + 1,
                            cd >= 0 ? csv.header[cd] : "", cl >= 0 ? csv.header[cl] : NULL)) != SCARP_OK)
            goto done;
    }
    snprintf(inv->crs, sizeof inv->crs, "%s", cfg->inventory_crs[0] ? cfg->inventory_crs : "(grid CRS)");
    if (cfg->inventory_crs[0] && inv->n > 0)
        st = scarp_transform_points(cfg->inventory_crs, grid->wkt, inv->x, inv->y, inv->n, path);
done:
    scarp_csv_free(&csv);
    return st;
}

static scarp_status read_ogr(const scarp_config *cfg, const scarp_grid *grid, scarp_inventory *inv)
{
    const char *path = cfg->inventory_path;
    scarp_point_table t;
    memset(&t, 0, sizeof t);
    scarp_status st = scarp_vector_read_points(path, grid->wkt, &t);
    if (st != SCARP_OK) return st;
    int fd = -1, fl = -1;
    if (cfg->inventory_date[0]) {
        fd = scarp_point_table_field(&t, cfg->inventory_date);
        if (fd < 0 && strcmp(cfg->inventory_date, "date") != 0) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: no field '%s' ([inventory] date)", path, cfg->inventory_date);
            goto done;
        }
    }
    if (cfg->inventory_label[0]) {
        fl = scarp_point_table_field(&t, cfg->inventory_label);
        if (fl < 0) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: no field '%s' ([inventory] label)", path, cfg->inventory_label);
            goto done;
        }
    }
    if ((st = inv_alloc(inv, t.n)) != SCARP_OK) goto done;
    inv->n = t.n;
    inv->has_dates = fd >= 0;
    inv->has_labels = fl >= 0;
    for (int64_t i = 0; i < t.n; i++) {
        inv->source[i] = i + 1;
        inv->x[i] = t.x[i];
        inv->y[i] = t.y[i];
        const char *dv = fd >= 0 ? t.values[i * t.n_fields + fd] : NULL;
        const char *lv = fl >= 0 ? t.values[i * t.n_fields + fl] : NULL;
        /* OGR date fields come as "yyyy/mm/dd" or "yyyy-mm-dd", both parsed */
        if ((st = row_attrs(inv, i, dv, lv, path, i + 1, fd + 1, fl + 1, fd >= 0 ? t.field_names[fd] : "",
                            fl >= 0 ? t.field_names[fl] : NULL)) != SCARP_OK)
            goto done;
    }
    snprintf(inv->crs, sizeof inv->crs, "%s", t.crs);
done:
    scarp_point_table_free(&t);
    return st;
}

scarp_status scarp_inventory_read(const scarp_config *cfg, const scarp_grid *grid, scarp_inventory *inv)
{
    memset(inv, 0, sizeof *inv);
    if (!cfg->inventory_path[0]) return scarp_fail(SCARP_ERR_INPUT, "%s: [inventory] has no 'path'", cfg->config_path);
    scarp_status st = is_csv(cfg->inventory_path) ? read_csv(cfg, grid, inv) : read_ogr(cfg, grid, inv);
    if (st != SCARP_OK) {
        scarp_inventory_free(inv);
        return st;
    }
    if (inv->n == 0) {
        scarp_inventory_free(inv);
        return scarp_fail(SCARP_ERR_INPUT, "%s: the inventory holds no point", cfg->inventory_path);
    }
    return SCARP_OK;
}
