/* cli.h — what every subcommand shares: the registry entry, one table-driven option parser
 * (each command lists its options in a table; the options every command shares are
 * declared once here, with their help text), error exits. */
#ifndef SCARP_CLI_H
#define SCARP_CLI_H
#include <stdio.h>
#include <unistd.h> /* optind: the first operand after cli_parse */

#include "scarp/config.h"
#include "scarp/progress.h"
#include "scarp/status.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} cli_command;

/* Options many subcommands accept (the targets of the CLI_OPTION_* rows below). */
typedef struct {
    int threads;     /* --threads N (0 = all cores) */
    int quiet;       /* --quiet */
    const char *out; /* --out DIR (NULL: the config's [project] out) */
    int progress_lines; /* --progress lines */
} cli_common;

/* How an option's value is read. */
typedef enum {
    CLI_FLAG,   /* no value: *(int *)target = 1 */
    CLI_INT,    /* a whole number in [min, max]: *(int *)target */
    CLI_STRING, /* *(const char **)target = the value */
    CLI_CUSTOM, /* parse(cmd, value, target): 0, or -1 after printing a usage error */
} cli_kind;

typedef struct {
    const char *name;   /* long name without "--" */
    char short_name;    /* a one-letter alias, or 0 */
    cli_kind kind;
    const char *metavar; /* the value's name in the help ("N", "DIR"); NULL for flags */
    const char *help;    /* lines of help ('\n' between them) */
    void *target;
    long min, max; /* CLI_INT */
    int (*parse)(const char *cmd, const char *arg, void *target); /* CLI_CUSTOM */
} cli_option;

/* The shared options, one row each for a command's table. --help (-h) is added by the parser. */
#define CLI_OPTION_THREADS(c) {"threads", 0, CLI_INT, "N", "threads (0 = all cores, default)", &(c)->threads, 0, 1024, 0}
#define CLI_OPTION_QUIET(c) {"quiet", 0, CLI_FLAG, NULL, "no progress output", &(c)->quiet, 0, 0, 0}
#define CLI_OPTION_PROGRESS(c)                                                                                     \
    {"progress", 0, CLI_CUSTOM, "MODE",                                                                           \
     "auto (default: a bar on a terminal, a line every 5 s otherwise) or lines\n"                                \
     "(one line '@progress DONE TOTAL LABEL' per percent, for front ends: the QGIS plugin)",                     \
     &(c)->progress_lines, 0, 0, cli_parse_progress}
/* --out of the commands that work in a study's run folder */
#define CLI_OPTION_RUN_OUT(c)                                                                                      \
    {"out", 0, CLI_STRING, "DIR", "run folder (default: the config's [project] out; created if missing)",       \
     &(c)->out, 0, 0, 0}
/* --out of the commands that write a new folder (synth, terrain) */
#define CLI_OPTION_NEW_OUT(c)                                                                                      \
    {"out", 0, CLI_STRING, "DIR", "output folder (created if missing; required)", &(c)->out, 0, 0, 0}
#define CLI_OPTION_FORCE(flag) {"force", 'f', CLI_FLAG, NULL, "run every stage again", (flag), 0, 0, 0}
#define CLI_OPTION_END {0}

/* A subcommand's command line: its help is `head`, the generated option list, `tail`. */
typedef struct {
    const char *name;          /* "map" */
    const char *head;          /* usage line and description, ending in a blank line */
    const char *tail;          /* after the options: examples etc. (may be NULL) */
    const cli_option *options; /* ends with CLI_OPTION_END */
} cli_spec;

/* What cli_parse returns when the command should go on. */
#define CLI_CONTINUE (-1)

/* Parses the options of argv (argv[0] is the subcommand) by the table; operands are left
 * in argv[optind..argc-1]. Returns CLI_CONTINUE, 0 after printing --help, or 2 after printing
 * a usage error naming the option ("scarp CMD: ... (see scarp CMD --help)"). */
int cli_parse(const cli_spec *spec, int argc, char **argv);
/* Writes the whole help of spec to f. */
void cli_print_help(const cli_spec *spec, FILE *f);

/* --progress MODE: auto (0) or lines (1); -1 after printing a usage error. */
int cli_parse_progress(const char *cmd, const char *arg, void *target);
/* The built-in progress reporter as the common options ask (--quiet, --progress). */
void cli_progress_init(scarp_progress *p, const cli_common *c);

/* The rank under mpirun (Open MPI, MPICH/PMI) from the environment, 0 otherwise. Ranks
 * above 0 keep quiet (no progress, log errors only): rank 0 speaks for the job. */
int cli_mpi_rank(void);
/* Applies threads and log level. */
void cli_common_apply(const cli_common *c);
/* Prints "scarp CMD: <last error>" and returns the exit code for the status. */
int cli_fail(const char *cmd, scarp_status st);
/* Prints a usage error naming the command and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole number option in [min, max]; -1 on error (message printed). */
int cli_parse_int(const char *cmd, const char *opt, const char *arg, long min, long max, long *out);

/* For subcommands of the form `scarp CMD CONFIG [options]`: checks that exactly one
 * CONFIG follows the options, applies the common options, loads the config (threads from
 * [project] threads unless --threads was given), sets *out to --out or [project] out and
 * takes the run-folder lock (cli_lock_out). Returns 0, or the exit code after printing
 * the error. */
int cli_load_study(const char *cmd, int argc, char **argv, const cli_common *common, scarp_config *cfg,
                   const char **out);

/* Takes the run-folder lock DIR/.scarp.lock (created with DIR if missing; under mpirun
 * rank K takes DIR/.scarp.lock.K) for the rest of the process: a second scarp writing into
 * the same folder stops at once with one line naming the lock and its holder, exit 1. The
 * lock is flock(2)-based, so the kernel releases it when the holder exits or is killed.
 * Returns 0, or the exit code after printing the error. */
int cli_lock_out(const char *cmd, const char *dir);

/* Subcommands (one file each). */
int cmd_synth(int argc, char **argv);
int cmd_terrain(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
