/* SPDX-License-Identifier: MIT */
/* cli.h: what every subcommand shares: the command table, the one-line error, and option
 * value parsing with messages that name the option. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"
#include "util/err.h"

/* Every subcommand: X(name, one-line help). Each is `int cmd_<name>(int argc, char **argv)`
 * in cli/cmd_<name>.c, with argv[0] the subcommand's name; it returns the exit status. */
#define FERRET_COMMANDS(X)                                                                         \
    X(run, "run a Python command and sample where its time goes")                                 \
    X(attach, "sample a running Python process")                                                 \
    X(mem, "run a Python program and report where its memory goes")                              \
    X(report, "render a saved .ferret profile (text, html, svg, pprof, ...)")                  \
    X(diff, "compare two profiles: which functions' share changed")                            \
    X(trace, "run a Python program and count every call exactly (calls, times, lines)")        \
    X(dump, "print the current Python stack of every thread of a process")                        \
    X(bench, "benchmark statements, bench_* functions or commands, with statistics")              \
    X(compare, "compare two benchmark results: ratio, interval, significance")                    \
    X(history, "benchmark results over time, with change points; plots")                         \
    X(version, "print ferret's version")

#define X(name, help) int cmd_##name(int argc, char **argv);
FERRET_COMMANDS(X)
#undef X

#define FERRET_VERSION "0.1.0"

/* Prints "ferret: <message>" on stderr and returns the exit status for err's kind. */
int cli_fail(const Err *err);
/* Formats a usage error, prints it like cli_fail and returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a number for option `opt`: the whole string, finite, within [min, max]. */
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out,
                     Err *err);
int cli_parse_int(const char *opt, const char *s, long long min, long long max, long long *out,
                  Err *err);
/* Parses a duration like "10", "2.5s", "500ms", "3m" into seconds. */
#define CLI_SECONDS_MAX 1e8 /* the longest duration an option takes */
int cli_parse_seconds(const char *opt, const char *s, double *out, Err *err);
/* "--option=value": the option's name into name (n bytes) and a pointer to the value; NULL,
 * and arg itself is the option, for anything else (a short option, no '=', a long name). */
const char *cli_long_value(const char **arg, char *name, size_t n);
/* Parses `report`/`diff` options (-f, -o, --series, --top, --mode, --gil; NULL series, top,
 * mode or gil: not accepted) and up to max_paths positional paths. Returns 0, 1 after
 * printing --help with help(), or -1 after printing a usage error. */
int cli_report_options(int argc, char **argv, const char **paths, int max_paths, int *npaths,
                       const char **format, const char **output, const char **series,
                       long long *top, const char **mode, bool *gil, void (*help)(FILE *));
/* --mode wall|cpu (already checked) and --gil of report and diff: the samples p's reports
 * count from now on. Only a sampled profile has them: ERR_USAGE for another kind. */
int cli_report_view(Profile *p, const char *path, const char *mode, bool gil, Err *err);
/* Writes p's interactive HTML report to its default file (ferret-DATE.html in the current
 * directory, as run, attach and mem do without -o) and returns that path (the caller frees
 * it). NULL with *err set when it cannot; text_err, when the text report on standard output
 * failed too, is then printed first, so each failure gets its own line. */
char *cli_default_html(const Profile *p, ReportOptions *opt, const Err *text_err, Err *err);
/* Is this stream a terminal (and colour allowed by NO_COLOR)? */
bool cli_isatty(int fd);
bool cli_color(int fd);
