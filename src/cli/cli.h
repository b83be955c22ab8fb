/* cli.h — what every subcommand shares: the registry entry, common options, error exit. */
#ifndef SCARP_CLI_H
#define SCARP_CLI_H
#include "scarp/config.h"
#include "scarp/progress.h"
#include "scarp/status.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} cli_command;

/* Options every subcommand accepts, filled by cli_common_option(). */
typedef struct {
    int threads; /* --threads N (0 = all cores) */
    int quiet;   /* --quiet */
    const char *out; /* --out DIR (NULL: the config's [project] out) */
} cli_common;

/* getopt_long entries for --threads, --quiet, --out, --help; use with CLI_COMMON_SHORT. */
#define CLI_OPT_THREADS 1001
#define CLI_OPT_QUIET 1002
#define CLI_OPT_OUT 1003
#define CLI_OPT_HELP 'h'
#define CLI_COMMON_LONG_OPTIONS                                                            \
    {"threads", required_argument, 0, CLI_OPT_THREADS}, {"quiet", no_argument, 0, CLI_OPT_QUIET}, \
        {"out", required_argument, 0, CLI_OPT_OUT}, {"help", no_argument, 0, CLI_OPT_HELP}

/* Handles a common option; returns 1 if handled, 0 if not a common option, -1 on a bad value
 * (message printed). */
int cli_common_option(cli_common *c, int opt, const char *arg, const char *cmd);
/* Applies threads and log level. */
void cli_common_apply(const cli_common *c);
/* Prints "scarp CMD: <last error>" and returns the exit code for the status. */
int cli_fail(const char *cmd, scarp_status st);
/* Prints a usage error naming the command and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole positive integer option; -1 on error (message printed). */
int cli_parse_int(const char *cmd, const char *opt, const char *arg, long min, long max, long *out);

/* The usage error for getopt_long's '?' (unknown option or missing value). Returns 2. */
int cli_bad_option(const char *cmd, char **argv);

/* For subcommands of the form `scarp CMD CONFIG [options]`: checks that exactly one
 * CONFIG follows the options, applies the common options, loads the config (threads from
 * [project] threads unless --threads was given) and sets *out to --out or [project] out.
 * Returns 0, or the exit code after printing the error. */
int cli_load_study(const char *cmd, int argc, char **argv, const cli_common *common, scarp_config *cfg,
                   const char **out);

/* Subcommands (one file each). */
int cmd_synth(int argc, char **argv);
int cmd_terrain(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
