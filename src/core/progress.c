/* progress.c — a bar with ETA on a terminal, a plain line every 5 s otherwise; in lines
 * mode one "@progress DONE TOTAL LABEL" line per percent (label last: it may hold spaces). */
#include "scarp/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double scarp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void scarp_progress_init(scarp_progress *p, int quiet)
{
    *p = (scarp_progress){0};
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
}

void scarp_progress_begin(scarp_progress *p, const char *label, int64_t total)
{
    if (!p) return;
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last = scarp_now();
    p->last_percent = 0;
    if (p->fn) p->cancelled = p->fn(p->user, label, 0, total);
    else if (p->lines && !p->quiet) {
        fprintf(stderr, "@progress 0 %lld %s\n", (long long)total, label);
        fflush(stderr);
    }
}

static void draw(scarp_progress *p, double now, int final)
{
    double elapsed = now - p->t_start;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1.0) frac = 1.0;
    if (p->tty && !p->lines) {
        int width = 30, fill = (int)(frac * width + 0.5);
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (final)
            fprintf(stderr, "\r%-24s [%s] 100%% %.1fs\n", p->label, bar, elapsed);
        else {
            double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
            fprintf(stderr, "\r%-24s [%s] %3d%% ETA %.0fs ", p->label, bar, (int)(frac * 100), eta);
        }
    } else if (final) {
        fprintf(stderr, "%s: done in %.1f s\n", p->label, elapsed);
    } else {
        double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
        fprintf(stderr, "%s: %d%% (%lld/%lld), ETA %.0f s\n", p->label, (int)(frac * 100),
                (long long)p->done, (long long)p->total, eta);
    }
    fflush(stderr);
}

scarp_status scarp_progress_step(scarp_progress *p, int64_t units)
{
    if (!p) return SCARP_OK;
    int64_t done;
#pragma omp atomic capture
    done = p->done += units;
    if (p->fn) {
        int c;
#pragma omp critical(scarp_progress)
        c = p->fn(p->user, p->label, done, p->total);
        if (c) p->cancelled = 1;
    } else if (p->lines && !p->quiet) {
        int percent = p->total > 0 ? (int)(100 * (done < p->total ? done : p->total) / p->total) : 100;
        if (percent > p->last_percent) {
#pragma omp critical(scarp_progress)
            {
                if (percent > p->last_percent) { /* one line per percent, in increasing order */
                    p->last_percent = percent;
                    fprintf(stderr, "@progress %lld %lld %s\n", (long long)done, (long long)p->total, p->label);
                    fflush(stderr);
                }
            }
        }
    } else if (!p->quiet) {
        double now = scarp_now();
        double interval = p->tty ? 0.2 : 5.0;
        if (now - p->t_last >= interval) {
#pragma omp critical(scarp_progress)
            {
                if (now - p->t_last >= interval) {
                    p->t_last = now;
                    draw(p, now, 0);
                }
            }
        }
    }
    return p->cancelled ? SCARP_ERR_CANCELLED : SCARP_OK;
}

void scarp_progress_end(scarp_progress *p)
{
    if (!p || p->fn || p->quiet) return;
    /* a task that ends is complete, even where its steps did not add up to its total */
    if (p->lines && p->done != p->total) {
        fprintf(stderr, "@progress %lld %lld %s\n", (long long)p->total, (long long)p->total, p->label);
        fflush(stderr);
    }
    draw(p, scarp_now(), 1);
}
