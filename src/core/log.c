/* log.c — leveled messages to stderr. */
#include "scarp/log.h"

#include <stdarg.h>
#include <stdio.h>

static scarp_log_level current_level = SCARP_LOG_INFO;

void scarp_log_set_level(scarp_log_level level) { current_level = level; }
scarp_log_level scarp_log_get_level(void) { return current_level; }

void scarp_log(scarp_log_level level, const char *fmt, ...)
{
    if (level < current_level) return;
    static const char *const prefix[] = {"debug: ", "", "warning: ", "error: ", ""};
    va_list ap;
    va_start(ap, fmt);
    fputs(prefix[level], stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
