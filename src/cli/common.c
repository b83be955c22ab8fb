/* common.c — the table-driven option parser and the error reporting every subcommand shares. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scarp/fsutil.h"
#include "scarp/log.h"
#include "scarp/threads.h"

enum { MAX_OPTIONS = 48, LONG_BASE = 256 /* getopt values of table rows: LONG_BASE + index */ };

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

static int n_options(const cli_spec *spec)
{
    int n = 0;
    while (spec->options && spec->options[n].name) n++;
    return n;
}

/* "--name META" or "-f, --name META" as the help lists it */
static int option_label(const cli_option *o, char *buf, size_t size)
{
    char shortpart[8] = "";
    if (o->short_name) snprintf(shortpart, sizeof shortpart, "-%c, ", o->short_name);
    return snprintf(buf, size, "%s--%s%s%s", shortpart, o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

void cli_print_help(const cli_spec *spec, FILE *f)
{
    static const cli_option help = {"help", 'h', CLI_FLAG, NULL, "this text", NULL, 0, 0, 0};
    int n = n_options(spec), width = 0;
    char label[128];
    for (int i = 0; i <= n; i++) {
        int len = option_label(i < n ? &spec->options[i] : &help, label, sizeof label);
        if (len > width) width = len;
    }
    fputs(spec->head, f);
    fputs("options:\n", f);
    for (int i = 0; i <= n; i++) {
        const cli_option *o = i < n ? &spec->options[i] : &help;
        option_label(o, label, sizeof label);
        fprintf(f, "  %-*s  ", width, label);
        for (const char *line = o->help; *line;) { /* continuation lines under the first */
            size_t len = strcspn(line, "\n");
            fprintf(f, "%.*s\n", (int)len, line);
            line += len;
            if (*line == '\n' && *++line) fprintf(f, "  %-*s  ", width, "");
        }
    }
    if (spec->tail) {
        fputc('\n', f);
        fputs(spec->tail, f);
    }
}

/* Stores one option's value; 0, or 2 after printing the error. */
static int apply_option(const cli_spec *spec, const cli_option *o, const char *arg)
{
    char name[64];
    snprintf(name, sizeof name, "--%s", o->name);
    switch (o->kind) {
    case CLI_FLAG: *(int *)o->target = 1; return 0;
    case CLI_STRING: *(const char **)o->target = arg; return 0;
    case CLI_INT: {
        long v;
        if (cli_parse_int(spec->name, name, arg, o->min, o->max, &v)) return 2;
        *(int *)o->target = (int)v;
        return 0;
    }
    case CLI_CUSTOM: return o->parse(spec->name, arg, o->target) ? 2 : 0;
    }
    return cli_usage_error(spec->name, "%s: no parser for this option", name);
}

int cli_parse(const cli_spec *spec, int argc, char **argv)
{
    int n = n_options(spec);
    if (n > MAX_OPTIONS) return cli_usage_error(spec->name, "too many options in the command's table");
    struct option longopts[MAX_OPTIONS + 2];
    /* ':' first: a missing value returns ':' instead of '?', so the two errors differ */
    char shortopts[2 * MAX_OPTIONS + 4] = ":h";
    size_t ns = 2;
    for (int i = 0; i < n; i++) {
        const cli_option *o = &spec->options[i];
        longopts[i] = (struct option){o->name, o->kind == CLI_FLAG ? no_argument : required_argument, NULL,
                                      LONG_BASE + i};
        if (o->short_name) {
            shortopts[ns++] = o->short_name;
            if (o->kind != CLI_FLAG) shortopts[ns++] = ':';
        }
    }
    shortopts[ns] = 0;
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){0, 0, 0, 0};

    optind = 1;
    opterr = 0; /* every message is ours, in the one-line form */
    int opt;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (opt == 'h') {
            cli_print_help(spec, stdout);
            return 0;
        }
        int index = -1;
        if (opt >= LONG_BASE && opt < LONG_BASE + n) index = opt - LONG_BASE;
        else
            for (int i = 0; i < n; i++)
                if (opt == spec->options[i].short_name && opt != ':' && opt != '?') index = i;
        if (index >= 0) {
            int rc = apply_option(spec, &spec->options[index], optarg);
            if (rc) return rc;
            continue;
        }
        /* an error: optopt is the row's value (LONG_BASE + i), a short letter, or 0 for an
         * unknown long option, whose text is the argument just read */
        const char *arg = argv[optind - 1];
        if (optopt >= LONG_BASE && optopt < LONG_BASE + n) {
            const cli_option *o = &spec->options[optopt - LONG_BASE];
            if (opt == ':') return cli_usage_error(spec->name, "--%s needs a value (%s)", o->name, o->metavar);
            return cli_usage_error(spec->name, "--%s takes no value (got '%s')", o->name, arg);
        }
        if (opt == ':') return cli_usage_error(spec->name, "option -%c needs a value", optopt);
        if (optopt) return cli_usage_error(spec->name, "unknown option '-%c'", optopt);
        return cli_usage_error(spec->name, "unknown option '%s'", arg);
    }
    return CLI_CONTINUE;
}

int cli_parse_progress(const char *cmd, const char *arg, void *target)
{
    if (!strcmp(arg, "auto") || !strcmp(arg, "lines")) {
        *(int *)target = !strcmp(arg, "lines");
        return 0;
    }
    cli_usage_error(cmd, "--progress must be auto or lines (got '%s')", arg);
    return -1;
}

int cli_mpi_rank(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_RANK");
    if (!v) v = getenv("PMI_RANK");
    return v ? atoi(v) : 0;
}

#ifndef SCARP_HAVE_MPI
/* The number of processes mpirun started (1 without mpirun). */
static int mpi_size_from_env(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v) v = getenv("PMI_SIZE");
    return v ? atoi(v) : 1;
}
#endif

void cli_progress_init(scarp_progress *p, const cli_common *c)
{
    scarp_progress_init(p, c->quiet || cli_mpi_rank() > 0);
    p->lines = c->progress_lines;
}

void cli_common_apply(const cli_common *c)
{
    scarp_threads_set(c->threads);
    /* under mpirun, rank 0 speaks for the job; the others print errors only */
    scarp_log_set_level(c->quiet || cli_mpi_rank() > 0 ? SCARP_LOG_ERROR : SCARP_LOG_INFO);
    /* SCARP_DEBUG=1: the phases with their times and resident memory (for benchmarks) */
    const char *dbg = getenv("SCARP_DEBUG");
    if (dbg && *dbg && strcmp(dbg, "0") != 0 && cli_mpi_rank() == 0) scarp_log_set_level(SCARP_LOG_DEBUG);
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

int cli_load_study(const char *cmd, int argc, char **argv, const cli_common *common, scarp_config *cfg,
                   const char **out)
{
    if (optind >= argc) return cli_usage_error(cmd, "missing the CONFIG file");
    if (optind + 1 < argc) return cli_usage_error(cmd, "one CONFIG only (extra argument '%s')", argv[optind + 1]);
#ifndef SCARP_HAVE_MPI
    /* each process would do the whole job, racing on the same files */
    if (mpi_size_from_env() > 1) {
        fprintf(stderr, "scarp %s: started by mpirun with %d processes, but this scarp was built without MPI "
                "(cmake -DSCARP_WITH_MPI=ON with an MPI installed); run it without mpirun\n", cmd, mpi_size_from_env());
        return 1;
    }
#endif
    cli_common_apply(common);
    scarp_config_defaults(cfg);
    scarp_status st = scarp_config_load(cfg, argv[optind]);
    if (st != SCARP_OK) return cli_fail(cmd, st);
    if (common->threads == 0 && cfg->threads > 0) scarp_threads_set(cfg->threads);
    *out = common->out ? common->out : cfg->out;
    return cli_lock_out(cmd, *out);
}

int cli_lock_out(const char *cmd, const char *dir)
{
    static int fd = -1; /* kept open to the end: the kernel releases the lock at exit or kill */
    if (fd >= 0) return 0;
    scarp_status st = scarp_mkdir_p(dir);
    if (st) return cli_fail(cmd, st);
    /* under mpirun every rank locks its own file: ranks of one job share the folder,
     * a second job (or a plain run) collides on the same rank's file */
    char name[32] = ".scarp.lock", path[SCARP_PATH_MAX + 48];
    int rank = cli_mpi_rank();
    if (rank > 0) snprintf(name, sizeof name, ".scarp.lock.%d", rank);
    if ((st = scarp_path_join(path, sizeof path, dir, name))) return cli_fail(cmd, st);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f < 0) {
        fprintf(stderr, "scarp %s: %s: cannot create the run-folder lock: %s\n", cmd, path, strerror(errno));
        return 1;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[128] = "";
        ssize_t n = pread(f, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(f);
        if (e == EWOULDBLOCK)
            fprintf(stderr, "scarp %s: %s: another scarp%s%s%s is working in %s; wait for it to finish or use "
                    "another --out\n", cmd, path, holder[0] ? " (" : "", holder, holder[0] ? ")" : "", dir);
        else
            fprintf(stderr, "scarp %s: %s: cannot lock the run folder: %s\n", cmd, path, strerror(e));
        return 1;
    }
    /* who holds it, for the message of the one that is refused */
    char who[128];
    int n = snprintf(who, sizeof who, "pid %ld, scarp %s\n", (long)getpid(), cmd);
    if (ftruncate(f, 0) != 0 || pwrite(f, who, (size_t)n, 0) != n) {
        /* a full disk: the lock itself holds, only the holder's name is missing */
    }
    fd = f;
    return 0;
}
