/* csv.h — a strict CSV reader (RFC 4180: comma separator, optional "quoted" fields with
 * "" escapes, LF or CRLF line ends, a header row). Every malformed line is an error naming
 * the file, the line and the column; numbers are parsed strictly (the whole field).
 * Implemented in src/io/csv.c. */
#ifndef SCARP_CSV_H
#define SCARP_CSV_H
#include <stdint.h>
#include "scarp/status.h"

typedef struct {
    char path[1024];
    int n_cols;
    char **header;      /* n_cols, trimmed of surrounding blanks */
    int64_t n_rows;     /* data rows (blank lines are skipped) */
    char **cells;       /* (n_rows, n_cols) row-major; "" for an empty field */
    int64_t *line;      /* (n_rows) 1-based line number of each row in the file */
    char *buf_;         /* private: the file text, unescaped in place */
} scarp_csv;

void scarp_csv_init(scarp_csv *t);
void scarp_csv_free(scarp_csv *t); /* accepts NULL */
/* Reads a whole file. Errors: cannot open (SCARP_ERR_IO); an unterminated quote, text
 * after a closing quote, a row with the wrong number of fields, a duplicated or empty
 * header name, no header (SCARP_ERR_INPUT, "FILE:LINE: column N: ..."). */
scarp_status scarp_csv_read(scarp_csv *t, const char *path);
/* Parses a text buffer (for tests); `name` is used in messages. The buffer is copied. */
scarp_status scarp_csv_parse(scarp_csv *t, const char *name, const char *text, size_t bytes);
/* Index of a header column (case-insensitive), -1 if absent. */
int scarp_csv_column(const scarp_csv *t, const char *name);
/* Like scarp_csv_column but an absent column is SCARP_ERR_INPUT naming the file, the
 * column wanted and the columns present; `what` says which key asked for it. */
scarp_status scarp_csv_require(const scarp_csv *t, const char *name, const char *what, int *col);
static inline const char *scarp_csv_cell(const scarp_csv *t, int64_t row, int col)
{
    return t->cells[row * t->n_cols + col];
}
/* Strict number: the whole (trimmed) field; "", "NA", "nan", "-nan" set *missing = 1 (when missing != NULL)
 * and *out = NaN, otherwise an empty field is an error. Errors name FILE:LINE, column. */
scarp_status scarp_csv_double(const scarp_csv *t, int64_t row, int col, double *out, int *missing);

#endif
