/* status.h — one error convention for the whole library.
 * Functions return scarp_status (0 = OK, negative = error) and set a thread-local
 * message naming the file, field or line (scarp_last_error()). The library never exits. */
#ifndef SCARP_STATUS_H
#define SCARP_STATUS_H

typedef enum {
    SCARP_OK = 0,
    SCARP_ERR_IO = -1,        /* a file could not be opened, read or written */
    SCARP_ERR_INPUT = -2,     /* bad user input: malformed file, wrong CRS, no data, ... */
    SCARP_ERR_NOMEM = -3,     /* an allocation failed */
    SCARP_ERR_USAGE = -4,     /* bad command-line or API argument */
    SCARP_ERR_CANCELLED = -5, /* a progress callback asked to stop */
    SCARP_ERR_INTERNAL = -6   /* a bug: should not happen */
} scarp_status;

/* Sets the thread-local message (printf format) and returns `status`, so that
 * `return scarp_fail(SCARP_ERR_IO, "%s: cannot open", path);` reads naturally. */
scarp_status scarp_fail(scarp_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message of the last failure on this thread ("" if none). */
const char *scarp_last_error(void);

/* Clears the thread-local message. */
void scarp_clear_error(void);

/* A short, fixed description of a status code. */
const char *scarp_strerror(scarp_status status);

/* Exit code for the CLI: 0 OK, 2 usage, 1 everything else. */
int scarp_status_exit_code(scarp_status status);

#endif
