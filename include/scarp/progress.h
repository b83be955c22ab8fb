/* progress.h — progress reporting that can cancel.
 * A long-running library function takes a `scarp_progress *` (NULL = silent) and calls
 * scarp_progress_step(); the CLI's reporter draws a bar with ETA on a terminal, prints a
 * plain line every few seconds otherwise (or, in `lines` mode, one machine-readable line
 * "@progress DONE TOTAL LABEL" per percent, for front ends such as the QGIS plugin), and
 * nothing with --quiet. A callback that
 * returns non-zero cancels: the library function then returns SCARP_ERR_CANCELLED. */
#ifndef SCARP_PROGRESS_H
#define SCARP_PROGRESS_H
#include <stdint.h>
#include "scarp/status.h"

typedef struct scarp_progress scarp_progress;
/* Called with the task label, work done and total; return non-zero to cancel. */
typedef int (*scarp_progress_fn)(void *user, const char *label, int64_t done, int64_t total);

struct scarp_progress {
    scarp_progress_fn fn; /* NULL: the built-in reporter (bar / plain lines / quiet) */
    void *user;
    int quiet;            /* built-in reporter prints nothing */
    int lines;            /* built-in reporter: "@progress DONE TOTAL LABEL" per percent */
    /* private state of the built-in reporter */
    const char *label;
    int64_t total, done;
    double t_start, t_last;
    int tty, cancelled;
    int last_percent; /* lines mode: the percent last printed */
};

/* The built-in reporter: bar on a terminal, plain lines otherwise, silent if quiet. */
void scarp_progress_init(scarp_progress *p, int quiet);
/* Starts a task of `total` units. Safe with p == NULL. */
void scarp_progress_begin(scarp_progress *p, const char *label, int64_t total);
/* Adds `units` of work done (thread-safe). Returns SCARP_ERR_CANCELLED if cancelled. */
scarp_status scarp_progress_step(scarp_progress *p, int64_t units);
/* Ends the task (prints the final line with the elapsed time). */
void scarp_progress_end(scarp_progress *p);

/* Monotonic wall clock in seconds. */
double scarp_now(void);

#endif
