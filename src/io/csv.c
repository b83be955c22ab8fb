/* csv.c — strict CSV reading (RFC 4180, Shafranovich 2005): one pass over the text,
 * fields unescaped in place, every malformed line reported with file, line and column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scarp/alloc.h"
#include "scarp/csv.h"
#include "scarp/fsutil.h"

void scarp_csv_init(scarp_csv *t) { memset(t, 0, sizeof *t); }

void scarp_csv_free(scarp_csv *t)
{
    if (!t) return;
    scarp_free(t->header);
    scarp_free(t->cells);
    scarp_free(t->line);
    scarp_free(t->buf_);
    memset(t, 0, sizeof *t);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    return s;
}

/* Parses one record starting at *pos; fields are written as pointers into buf (in place).
 * Returns the number of fields (>= 1), 0 at end of text, -1 on error (message set). */
static int parse_record(scarp_csv *t, char *buf, size_t len, size_t *pos, int64_t *lineno, char ***fields, int *cap)
{
    size_t i = *pos;
    if (i >= len) return 0;
    int nf = 0;
    int64_t line0 = *lineno;
    for (;;) {
        if (nf >= *cap) {
            int nc = *cap ? *cap * 2 : 16;
            char **nf_ = scarp_realloc(*fields, (size_t)nc * sizeof(char *));
            if (!nf_) return -1;
            *fields = nf_;
            *cap = nc;
        }
        char *out = buf + i; /* unescaped text is written from here */
        char *w = out;
        int col = nf + 1;
        if (i < len && buf[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: unterminated quoted field", t->path,
                               (long long)line0, col);
                    return -1;
                }
                char ch = buf[i];
                if (ch == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') {
                        *w++ = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (ch == '\n') (*lineno)++;
                *w++ = ch;
                i++;
            }
            /* after the closing quote: blanks, then , or end of line */
            while (i < len && (buf[i] == ' ' || buf[i] == '\t')) i++;
            if (i < len && buf[i] == '\r') i++;
            if (i < len && buf[i] != ',' && buf[i] != '\n') {
                scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: unexpected character '%c' after a closing quote",
                           t->path, (long long)*lineno, col, buf[i]);
                return -1;
            }
        } else {
            while (i < len && buf[i] != ',' && buf[i] != '\n') {
                if (buf[i] == '"') {
                    scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: quote inside an unquoted field", t->path,
                               (long long)*lineno, col);
                    return -1;
                }
                *w++ = buf[i++];
            }
            if (w > out && w[-1] == '\r') w--;
        }
        char sep = i < len ? buf[i] : '\n';
        *w = 0; /* safe: w <= buf + i, and buf[i] is a separator (or the final NUL) */
        (*fields)[nf++] = trim(out);
        i++;
        if (sep == '\n') break;
    }
    (*lineno)++;
    *pos = i;
    return nf;
}

scarp_status scarp_csv_parse(scarp_csv *t, const char *name, const char *text, size_t bytes)
{
    scarp_csv_init(t);
    snprintf(t->path, sizeof t->path, "%s", name);
    t->buf_ = scarp_malloc(bytes + 1);
    if (!t->buf_) return SCARP_ERR_NOMEM;
    memcpy(t->buf_, text, bytes);
    t->buf_[bytes] = 0;
    if (memchr(t->buf_, 0, bytes)) {
        scarp_csv_free(t);
        return scarp_fail(SCARP_ERR_INPUT, "%s: contains NUL bytes: not a CSV text file", name);
    }
    char *buf = t->buf_;
    size_t pos = 0, len = bytes;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF)
        pos = 3; /* UTF-8 BOM */
    int64_t lineno = 1;
    char **fields = NULL;
    int cap = 0;
    scarp_status st = SCARP_OK;
    /* header: the first non-blank line */
    int nf;
    for (;;) {
        int64_t l0 = lineno;
        nf = parse_record(t, buf, len, &pos, &lineno, &fields, &cap);
        if (nf < 0) {
            st = SCARP_ERR_INPUT;
            goto fail;
        }
        if (nf == 0) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s: empty file (no header line)", name);
            goto fail;
        }
        if (!(nf == 1 && fields[0][0] == 0)) break;
        (void)l0;
    }
    t->n_cols = nf;
    t->header = scarp_malloc((size_t)nf * sizeof(char *));
    if (!t->header) {
        st = SCARP_ERR_NOMEM;
        goto fail;
    }
    for (int j = 0; j < nf; j++) {
        t->header[j] = fields[j];
        if (!fields[j][0]) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: empty column name in the header", name,
                            (long long)(lineno - 1), j + 1);
            goto fail;
        }
        for (int k = 0; k < j; k++)
            if (strcasecmp(t->header[k], fields[j]) == 0) {
                st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: duplicated column name '%s'", name,
                                (long long)(lineno - 1), j + 1, fields[j]);
                goto fail;
            }
    }
    /* rows: an upper bound on their count is the number of newlines + 1 */
    size_t max_rows = 1;
    for (size_t i = pos; i < len; i++) max_rows += buf[i] == '\n';
    t->cells = scarp_malloc(max_rows * (size_t)nf * sizeof(char *));
    t->line = scarp_malloc(max_rows * sizeof(int64_t));
    if (!t->cells || !t->line) {
        st = SCARP_ERR_NOMEM;
        goto fail;
    }
    for (;;) {
        int64_t l0 = lineno;
        int k = parse_record(t, buf, len, &pos, &lineno, &fields, &cap);
        if (k < 0) {
            st = SCARP_ERR_INPUT;
            goto fail;
        }
        if (k == 0) break;
        if (k == 1 && fields[0][0] == 0) continue; /* blank line */
        if (k != nf) {
            st = scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d: %d fields where the header has %d", name,
                            (long long)l0, (k > nf ? nf + 1 : k), k, nf);
            goto fail;
        }
        memcpy(t->cells + t->n_rows * nf, fields, (size_t)nf * sizeof(char *));
        t->line[t->n_rows] = l0;
        t->n_rows++;
    }
    scarp_free(fields);
    return SCARP_OK;
fail:
    scarp_free(fields);
    scarp_csv_free(t);
    return st;
}

scarp_status scarp_csv_read(scarp_csv *t, const char *path)
{
    char *text = NULL;
    size_t bytes = 0;
    scarp_csv_init(t);
    if (!scarp_file_exists(path)) return scarp_fail(SCARP_ERR_IO, "%s: no such file", path);
    scarp_status st = scarp_read_file(path, &text, &bytes);
    if (st != SCARP_OK) return st;
    st = scarp_csv_parse(t, path, text, bytes);
    scarp_free(text);
    return st;
}

int scarp_csv_column(const scarp_csv *t, const char *name)
{
    for (int j = 0; j < t->n_cols; j++)
        if (strcasecmp(t->header[j], name) == 0) return j;
    return -1;
}

scarp_status scarp_csv_require(const scarp_csv *t, const char *name, const char *what, int *col)
{
    *col = scarp_csv_column(t, name);
    if (*col >= 0) return SCARP_OK;
    char have[512] = "";
    for (int j = 0; j < t->n_cols && strlen(have) < 400; j++) {
        strncat(have, j ? ", " : "", sizeof have - strlen(have) - 1);
        strncat(have, t->header[j], sizeof have - strlen(have) - 1);
    }
    return scarp_fail(SCARP_ERR_INPUT, "%s: no column '%s' (%s); the header has: %s", t->path, name, what, have);
}

scarp_status scarp_csv_double(const scarp_csv *t, int64_t row, int col, double *out, int *missing)
{
    const char *s = scarp_csv_cell(t, row, col);
    if (missing) *missing = 0;
    /* missing: empty, NA (R), nan / -nan (C printf of a NaN) */
    if (!*s || strcasecmp(s, "NA") == 0 || strcasecmp(s, "NaN") == 0 || strcasecmp(s, "-nan") == 0 ||
        strcasecmp(s, "+nan") == 0) {
        if (missing) {
            *missing = 1;
            *out = NAN;
            return SCARP_OK;
        }
        return scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): empty value where a number is needed", t->path,
                          (long long)t->line[row], col + 1, t->header[col]);
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno == ERANGE && fabs(d) > 1.0) errno = ERANGE;
    else errno = 0;
    if (end == s || *end || errno || !isfinite(d))
        return scarp_fail(SCARP_ERR_INPUT, "%s:%lld: column %d ('%s'): '%s' is not a number", t->path,
                          (long long)t->line[row], col + 1, t->header[col], s);
    *out = d;
    return SCARP_OK;
}
