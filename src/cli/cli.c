/* SPDX-License-Identifier: MIT */
/* cli.c: error printing and option value parsing shared by the subcommands. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/exitcode.h"

int
cli_fail(const Err *err)
{
    fprintf(stderr, "ferret: %s\n", err->msg[0] ? err->msg : err_kind_name(err->kind));
    fflush(stderr);
    return exitcode_for(err->kind);
}

int
cli_usage(const char *fmt, ...)
{
    Err err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    err.kind = ERR_USAGE;
    return cli_fail(&err);
}

int
cli_parse_double(const char *opt, const char *s, double min, double max, double *out, Err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return err_set(err, ERR_USAGE, "%s: '%s' is not a number", opt, s);
    if (v < min || v > max)
        return err_set(err, ERR_USAGE, "%s: %s is out of range (%g to %g)", opt, s, min, max);
    *out = v;
    return 0;
}

int
cli_parse_int(const char *opt, const char *s, long long min, long long max, long long *out,
              Err *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return err_set(err, ERR_USAGE, "%s: '%s' is not a whole number", opt, s);
    if (v < min || v > max)
        return err_set(err, ERR_USAGE, "%s: %s is out of range (%lld to %lld)", opt, s, min, max);
    *out = v;
    return 0;
}

const char *
cli_long_value(const char **arg, char *name, size_t n)
{
    const char *eq = strncmp(*arg, "--", 2) == 0 ? strchr(*arg, '=') : NULL;
    if (!eq || (size_t)(eq - *arg) >= n)
        return NULL;
    snprintf(name, n, "%.*s", (int)(eq - *arg), *arg);
    *arg = name;
    return eq + 1;
}

int
cli_parse_seconds(const char *opt, const char *s, double *out, Err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || end == s || errno || !isfinite(v))
        return err_set(err, ERR_USAGE, "%s: '%s' is not a duration (e.g. 10, 2.5s, 500ms)", opt, s);
    double scale = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        scale = 1;
    else if (strcmp(end, "ms") == 0)
        scale = 1e-3;
    else if (strcmp(end, "us") == 0)
        scale = 1e-6;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        scale = 60;
    else if (strcmp(end, "h") == 0)
        scale = 3600;
    else
        return err_set(err, ERR_USAGE, "%s: '%s' is not a duration (e.g. 10, 2.5s, 500ms)", opt, s);
    if (v <= 0)
        return err_set(err, ERR_USAGE, "%s: the duration must be positive", opt);
    if (v * scale > CLI_SECONDS_MAX) /* kept where nanosecond clock arithmetic cannot overflow */
        return err_set(err, ERR_USAGE, "%s: '%s' is out of range (at most %.0f s, about 3 years)",
                       opt, s, CLI_SECONDS_MAX);
    *out = v * scale;
    return 0;
}

bool
cli_isatty(int fd)
{
    return isatty(fd) == 1;
}

bool
cli_color(int fd)
{
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    return cli_isatty(fd) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}
