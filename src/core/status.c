/* status.c — thread-local error message and status code names. */
#include "scarp/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];

scarp_status scarp_fail(scarp_status status, const char *fmt, ...)
{
    /* Format into a local buffer first: an argument may point into last_message itself
     * (a caller adding context to the message of a failure it received). */
    char buf[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_message, buf, sizeof buf);
    return status;
}

const char *scarp_last_error(void) { return last_message; }

void scarp_clear_error(void) { last_message[0] = '\0'; }

const char *scarp_strerror(scarp_status status)
{
    switch (status) {
    case SCARP_OK: return "ok";
    case SCARP_ERR_IO: return "input/output error";
    case SCARP_ERR_INPUT: return "invalid input";
    case SCARP_ERR_NOMEM: return "out of memory";
    case SCARP_ERR_USAGE: return "invalid usage";
    case SCARP_ERR_CANCELLED: return "cancelled";
    case SCARP_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int scarp_status_exit_code(scarp_status status)
{
    if (status == SCARP_OK) return 0;
    if (status == SCARP_ERR_USAGE) return 2;
    return 1;
}
