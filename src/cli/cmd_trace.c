/* SPDX-License-Identifier: MIT */
/* cmd_trace.c: `ferret trace [OPTIONS] -- COMMAND [ARGS...]`: runs a Python program with
 * ferret's tracer injected (cli/inject.h), which streams exact per-function (and with
 * --lines per-line) counts and times to a .ferret file; then renders the report the user
 * asked for. Exits with the command's own status unless ferret itself failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "cli/inject.h"
#include "cli/sample_cli.h"
#include "profile/callgraph.h"
#include "profile/ffile.h"
#include "report/report.h"
#include "sampler/proc.h"
#include "util/outpath.h"

#define TRACE_TIMELINE_DEFAULT 1000000

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ferret trace [OPTIONS] -- COMMAND [ARGS...]\n\n"
            "Runs a Python program and counts every call exactly: calls, self and total wall\n"
            "and CPU time per function, callers and callees; with --lines, hits and time per\n"
            "line. Every thread is traced. Without -o the text report goes to standard output\n"
            "(other formats: to ferret-DATE-TIME.EXT in the current directory).\n\n"
            "  -o, --output FILE     write the report to FILE; the format follows the extension\n"
            "                        (.ferret, .prof = pstats, .json = chrome, .html, .txt, ...)\n"
            "  -f, --format FORMAT   %s\n"
            "      --sort KEY        text report order: self (default), total, calls, cpu, name\n"
            "      --top N           rows per table in the text report (default 20)\n"
            "      --lines           per-line hits and time (all code, or what --include picks)\n"
            "      --include PAT     line data only for files or functions matching PAT (a glob\n"
            "                        over the path, file name or qualified name, or a substring\n"
            "                        of the path); repeatable; implies --lines\n"
            "      --builtins        count calls into C functions (len, list.append, ...)\n"
            "      --timeline        record call spans for a Chrome trace (-f chrome)\n"
            "      --timeline-size N keep the newest N spans (default %d; implies --timeline)\n"
            "      --no-cpu          skip CPU time (wall time only)\n",
            report_format_list_for(PROFILE_TRACE), TRACE_TIMELINE_DEFAULT);
}

typedef struct {
    const char *output, *format, *sort;
    long long top, timeline;
    bool lines, builtins, cpu;
    const char **include;
    int ninclude;
    char **cmd;
} TraceArgs;

/* Returns -1 on a usage error (printed), 0 to run, 1 after --help. */
static int
parse(int argc, char **argv, TraceArgs *a)
{
    Err err;
    a->top = 20;
    a->cpu = true;
    a->include = calloc((size_t)argc, sizeof *a->include);
    if (!a->include) {
        err_set(&err, ERR_NOMEM, "out of memory");
        cli_fail(&err);
        return -1;
    }
    int i = 1;
    for (; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--") == 0) {
            i++;
            break;
        }
        if (o[0] != '-' || o[1] == '\0')
            break;
        char name[32];
        const char *eq = cli_long_value(&o, name, sizeof name); /* as run, mem and report */
        bool flag = strcmp(o, "--help") == 0 || strcmp(o, "--lines") == 0 ||
                    strcmp(o, "--builtins") == 0 || strcmp(o, "--timeline") == 0 ||
                    strcmp(o, "--no-cpu") == 0;
        if (eq && flag) {
            cli_usage("%s takes no value", o);
            return -1;
        }
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(o, "--lines") == 0) {
            a->lines = true;
            continue;
        }
        if (strcmp(o, "--builtins") == 0) {
            a->builtins = true;
            continue;
        }
        if (strcmp(o, "--timeline") == 0) {
            if (!a->timeline)
                a->timeline = TRACE_TIMELINE_DEFAULT;
            continue;
        }
        if (strcmp(o, "--no-cpu") == 0) {
            a->cpu = false;
            continue;
        }
        bool takes = strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0 || strcmp(o, "-f") == 0 ||
                     strcmp(o, "--format") == 0 || strcmp(o, "--sort") == 0 ||
                     strcmp(o, "--top") == 0 || strcmp(o, "--include") == 0 ||
                     strcmp(o, "--timeline-size") == 0;
        if (!takes) {
            cli_usage("trace: unknown option '%s' (try `ferret trace --help`)", o);
            return -1;
        }
        if (!eq && i + 1 >= argc) {
            cli_usage("%s needs a value", o);
            return -1;
        }
        const char *v = eq ? eq : argv[++i];
        if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
            a->output = v;
        } else if (strcmp(o, "-f") == 0 || strcmp(o, "--format") == 0) {
            a->format = v;
        } else if (strcmp(o, "--sort") == 0) {
            a->sort = v;
        } else if (strcmp(o, "--include") == 0) {
            if (!*v) {
                cli_usage("--include needs a non-empty pattern");
                return -1;
            }
            a->include[a->ninclude++] = v;
            a->lines = true;
        } else if (strcmp(o, "--top") == 0) {
            if (cli_parse_int(o, v, 1, 100000, &a->top, &err) < 0) {
                cli_fail(&err);
                return -1;
            }
        } else if (cli_parse_int(o, v, 1, 100000000, &a->timeline, &err) < 0) {
            cli_fail(&err);
            return -1;
        }
    }
    if (i >= argc) {
        cli_usage("trace: which program? (usage: ferret trace [OPTIONS] -- python3 app.py)");
        return -1;
    }
    a->cmd = argv + i;
    return 0;
}

/* Prints the profile's warnings (a replaced hook, unmatched patterns, dropped spans). */
static void
print_warnings(const Profile *p)
{
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        if (strncmp(k, "warning", 7) == 0)
            fprintf(stderr, "ferret: warning: %s\n", v);
        else if (strcmp(k, "dropped.timeline") == 0)
            fprintf(stderr,
                    "ferret: warning: %s timeline spans were dropped (the newest %s were kept; "
                    "raise --timeline-size)\n",
                    v,
                    profile_meta_get(p, "timeline_size") ? profile_meta_get(p, "timeline_size")
                                                         : "?");
    }
}

static int
set_options_env(const TraceArgs *a, const char *stream, Err *err)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", a->timeline);
    size_t n = 1;
    for (int i = 0; i < a->ninclude; i++)
        n += strlen(a->include[i]) + 1;
    char *inc = calloc(1, n);
    if (!inc)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (int i = 0; i < a->ninclude; i++) {
        if (i)
            strcat(inc, "\x1f");
        strcat(inc, a->include[i]);
    }
    int rc = 0;
    if (setenv("FERRET_TRACE_OUT", stream, 1) != 0 ||
        setenv("FERRET_TRACE_LINES", a->lines ? "1" : "0", 1) != 0 ||
        setenv("FERRET_TRACE_BUILTINS", a->builtins ? "1" : "0", 1) != 0 ||
        setenv("FERRET_TRACE_CPU", a->cpu ? "1" : "0", 1) != 0 ||
        setenv("FERRET_TRACE_TIMELINE", num, 1) != 0 || setenv("FERRET_TRACE_INCLUDE", inc, 1) != 0)
        rc = err_sys(err, errno, "setting the environment");
    free(inc);
    return rc;
}

int
cmd_trace(int argc, char **argv)
{
    TraceArgs a = {0};
    int r = parse(argc, argv, &a);
    if (r != 0) {
        free(a.include);
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    }
    Err err;
    err_clear(&err);
    int rc = EXIT_OK;
    Inject inj = {0};
    Profile *p = NULL;
    char *stream = NULL, *def = NULL;
    const char *format = a.format;
    if (!format)
        format = a.output ? report_format_for_path(a.output, PROFILE_TRACE) : "text";
    if (!format) {
        rc = cli_usage("-o %s: which format? (name it with -f, or use an extension such as "
                       ".ferret, .prof, .json, .html, .txt)",
                       a.output);
        goto done;
    }
    bool raw = strcmp(format, "ferret") == 0;
    const ReportWriter *w = raw ? NULL : report_find(format);
    if (!raw && !w) {
        rc = cli_usage("unknown format '%s' (formats: %s)", format,
                       report_format_list_for(PROFILE_TRACE));
        goto done;
    }
    CgSort key;
    if (a.sort && !callgraph_sort_parse(a.sort, &key)) {
        rc = cli_usage("--sort: unknown key '%s' (self, total, calls, cpu, name)", a.sort);
        goto done;
    }
    if (raw && !a.output) {
        rc = cli_usage("-f ferret writes a file: name it with -o FILE.ferret");
        goto done;
    }
    if (raw && outpath_in_place(a.output)) { /* /dev/null, a FIFO: no FILE.tmp beside it */
        raw = false;
        w = report_find("ferret");
    }
    if (w && strcmp(w->name, "chrome") == 0 && !a.timeline)
        a.timeline = TRACE_TIMELINE_DEFAULT; /* a Chrome trace is the timeline */
    if (w && report_check_kind(w, PROFILE_TRACE, a.timeline > 0, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    if (outpath_check(a.output, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    /* refuse what cannot be Python before running anything; a script (a pyenv shim, a
     * wrapper) may exec Python, which is known only once it runs (inject_status) */
    if (proc_check_command(a.cmd, getenv("PATH"), &err) < 0 || inject_init(&inj, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    /* -o FILE.ferret: streamed next to the user's file (FILE.tmp, renamed at the end), so
     * what was flushed survives even if ferret itself is killed. An absolute path: the
     * tracer opens it again if the program closes its descriptor, maybe after a chdir */
    const char *dir = raw ? a.output : inj.rundir;
    char cwd[4096] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        err_sys(&err, errno, "reading the current directory");
        rc = cli_fail(&err);
        goto done;
    }
    size_t n = strlen(cwd) + strlen(dir) + 16;
    stream = malloc(n);
    if (stream) {
        snprintf(stream, n, raw ? "%s%s%s" : "%s%s%s/trace.ferret", cwd, *cwd ? "/" : "", dir);
        if (raw) {
            char *tmp = outpath_tmp_name(stream);
            free(stream);
            stream = tmp;
        }
    }
    if (!stream) {
        err_set(&err, ERR_NOMEM, "out of memory");
        rc = cli_fail(&err);
        goto done;
    }
    unlink(stream);
    if (inject_setenv(&inj, "ferret._boot:trace_main", &err) < 0 ||
        set_options_env(&a, stream, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    pid_t child;
    if (proc_spawn(a.cmd, &child, &err) < 0) {
        rc = cli_fail(&err);
        goto done;
    }
    /* Ctrl-C reaches the program from the terminal (it writes its trace as it exits); a
     * signal sent to ferret alone is passed on; ferret outlives the program either way */
    sample_cli_signals(child);
    int status = proc_exit_code(sample_cli_wait_child(child));
    char msg[1024];
    InjectState st = inject_status(&inj, msg, sizeof msg);
    if (st == INJECT_NONE) {
        err_set(&err, ERR_NOTPY,
                "%s did not start a Python interpreter that ferret could trace (not a Python "
                "program, or python ran with -S, -I or -E)",
                a.cmd[0]);
        rc = cli_fail(&err);
        goto done;
    }
    if (st == INJECT_ERROR && !*msg)
        snprintf(msg, sizeof msg, "the tracer failed inside %s", a.cmd[0]);
    if (st == INJECT_ERROR && strstr(msg, "tracing stopped early") == NULL &&
        access(stream, R_OK) != 0) {
        err_set(&err, ERR_TARGET, "%s", msg);
        rc = cli_fail(&err);
        goto done;
    }
    if (st == INJECT_ERROR)
        fprintf(stderr, "ferret: %s\n", msg);
    if (st == INJECT_STARTED)
        fprintf(stderr,
                "ferret: note: %s ended without finishing the trace (os._exit or a "
                "signal); the report covers its last second-by-second flush\n",
                a.cmd[0]);
    p = ffile_read(stream, &err);
    if (!p) {
        rc = cli_fail(&err);
        goto done;
    }
    print_warnings(p);
    const char *exec = profile_meta_get(p, "exec");
    if (exec && *exec)
        fprintf(stderr,
                "ferret: note: %s replaced itself (%s): the trace ends at the exec; the new "
                "program ran untraced\n",
                a.cmd[0], exec);
    if (raw) {
        if (rename(stream, a.output) != 0) {
            err_sys(&err, errno, "renaming %s to %s", stream, a.output);
            rc = cli_fail(&err);
            goto done;
        }
        fprintf(stderr, "ferret: wrote %s\n", a.output);
    } else {
        ReportOptions opt;
        report_options_init(&opt, p);
        opt.top = (int)a.top;
        opt.sort = a.sort;
        /* text and collapsed go to standard output; other formats without -o to a new file
         * named by the date, as `ferret run` does */
        const char *out = a.output;
        if (!out && strcmp(w->name, "text") != 0 && strcmp(w->name, "collapsed") != 0) {
            def = report_default_path(NULL, w, &err);
            if (!def) {
                rc = cli_fail(&err);
                goto done;
            }
            out = def;
        }
        if (!out)
            out = "-";
        opt.color = strcmp(out, "-") == 0 && cli_color(1);
        if (report_write_path(w, p, &opt, out, &err) < 0) {
            rc = cli_fail(&err);
            goto done;
        }
        if (strcmp(out, "-") != 0)
            fprintf(stderr, "ferret: wrote %s\n", out);
    }
    rc = st == INJECT_ERROR ? EXIT_FAIL : status;
done:
    free(def);
    profile_free(p);
    free(stream);
    inject_fini(&inj);
    free(a.include);
    return rc;
}
