/* common.c — options and error reporting shared by every subcommand. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "scarp/log.h"
#include "scarp/threads.h"

int cli_parse_int(const char *cmd, const char *opt, const char *arg, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "scarp %s: %s must be a whole number from %ld to %ld (got '%s')\n", cmd, opt, min, max, arg);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_common_option(cli_common *c, int opt, const char *arg, const char *cmd)
{
    long v;
    switch (opt) {
    case CLI_OPT_THREADS:
        if (cli_parse_int(cmd, "--threads", arg, 0, 1024, &v)) return -1;
        c->threads = (int)v;
        return 1;
    case CLI_OPT_QUIET: c->quiet = 1; return 1;
    case CLI_OPT_OUT: c->out = arg; return 1;
    default: return 0;
    }
}

void cli_common_apply(const cli_common *c)
{
    scarp_threads_set(c->threads);
    scarp_log_set_level(c->quiet ? SCARP_LOG_ERROR : SCARP_LOG_INFO);
}

int cli_fail(const char *cmd, scarp_status st)
{
    const char *m = scarp_last_error();
    fprintf(stderr, "scarp %s: %s\n", cmd, (m && *m) ? m : scarp_strerror(st));
    return scarp_status_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scarp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see scarp %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

int cli_bad_option(const char *cmd, char **argv)
{
    if (optopt) return cli_usage_error(cmd, "option -%c is unknown or lacks its value", optopt);
    return cli_usage_error(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
}

int cli_load_study(const char *cmd, int argc, char **argv, const cli_common *common, scarp_config *cfg,
                   const char **out)
{
    if (optind >= argc) return cli_usage_error(cmd, "missing the CONFIG file");
    if (optind + 1 < argc) return cli_usage_error(cmd, "one CONFIG only (extra argument '%s')", argv[optind + 1]);
    cli_common_apply(common);
    scarp_config_defaults(cfg);
    scarp_status st = scarp_config_load(cfg, argv[optind]);
    if (st != SCARP_OK) return cli_fail(cmd, st);
    if (common->threads == 0 && cfg->threads > 0) scarp_threads_set(cfg->threads);
    *out = common->out ? common->out : cfg->out;
    return 0;
}
