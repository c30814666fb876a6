/* SPDX-License-Identifier: MIT */
/* sample_cli.c: options, output and signals for `ferret run` and `ferret attach`. */
#include "cli/sample_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exitcode.h"
#include "profile/ffile.h"
#include "report/report.h"
#include "util/outpath.h"

volatile sig_atomic_t sample_cli_stop;
static FfileWriter *stream; /* -o FILE.ferret: written while recording */
static const char *stream_path; /* its name (borrowed from argv) */
/* Where the stream goes until it holds a sample, then renamed over stream_path (NULL once
 * renamed, or for a device, FIFO or link, written in place): a run that samples nothing
 * leaves an earlier recording at -o's path as it was. */
static char *stream_staging;
static char *html_path;     /* the default HTML report (no -o, no -f), once written */
static bool out_written;    /* -o FILE is complete (sample_cli_summary says so) */
static volatile sig_atomic_t forward_pid;
static volatile sig_atomic_t signals_seen;

static void
usage(FILE *f, bool attach)
{
    if (attach)
        fprintf(f, "usage: ferret attach [OPTIONS] [--duration SEC] PID\n\n"
                   "Samples the running Python process PID until it exits, the duration ends or "
                   "Ctrl-C.\n\n");
    else
        fprintf(f, "usage: ferret run [OPTIONS] -- COMMAND [ARGS...]\n\n"
                   "Runs COMMAND (python script.py, python -m module, python -c code, or a "
                   "script with a\nPython #! line) and samples every thread until it exits.\n\n");
    fprintf(f,
            "options:\n"
            "  -r, --rate HZ          sampling moments per second (default %.0f, up to %.0f)\n"
            "  -m, --mode wall|cpu    wall: all samples (idle too); cpu: only on-CPU samples\n"
            "                         (default wall; every sample is recorded either way)\n"
            "      --gil              show only samples of the thread holding the GIL\n"
            "      --threads          start each stack with a frame naming its thread\n"
            "      --subprocesses     also sample child Python processes (multiprocessing...)\n"
            "      --blocking         stop the target's threads while reading each sample\n"
            "                         (consistent stacks, slower target; needs ptrace)\n"
            "  -d, --duration SEC     stop sampling after SEC seconds (e.g. 10, 2.5s, 500ms)\n"
            "  -o, --output FILE      write the profile to FILE ('-' = standard output)\n"
            "  -f, --format FORMAT    %s (default: from -o's extension, else text)\n"
            "      --top N            rows per table in the text report (default 15)\n"
            "  -q, --quiet            no sampling summary on standard error\n"
            "      --runtime-search auto|scan  how to find the interpreter (scan: debugging)\n",
            SAMPLER_DEFAULT_RATE_HZ, SAMPLER_MAX_RATE_HZ, report_format_list());
}

int
sample_cli_parse(int argc, char **argv, bool attach, SampleArgs *a, int *next, bool *done)
{
    static const struct option opts[] = {
        {"rate", required_argument, NULL, 'r'},   {"mode", required_argument, NULL, 'm'},
        {"gil", no_argument, NULL, 'G'},          {"threads", no_argument, NULL, 'T'},
        {"subprocesses", no_argument, NULL, 'S'}, {"blocking", no_argument, NULL, 'B'},
        {"duration", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'}, {"top", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"runtime-search", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    sampler_options_init(&a->sampler);
    a->top = 15;
    *done = false;
    Err err;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:r:m:d:o:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (cli_parse_double("--rate", optarg, 0, SAMPLER_MAX_RATE_HZ, &a->sampler.rate_hz,
                                 &err) < 0)
                return cli_fail(&err);
            if (!(a->sampler.rate_hz > 0))
                return cli_usage("--rate: must be more than 0 (samples per second)");
            break;
        case 'm':
            if (strcmp(optarg, "wall") == 0)
                a->sampler.mode = SAMPLER_WALL;
            else if (strcmp(optarg, "cpu") == 0)
                a->sampler.mode = SAMPLER_CPU;
            else
                return cli_usage("--mode: expected wall or cpu, not '%s'", optarg);
            break;
        case 'G':
            a->sampler.gil_only = true;
            break;
        case 'T':
            a->sampler.threads_root = true;
            break;
        case 'S':
            a->sampler.subprocesses = true;
            break;
        case 'B':
            a->sampler.blocking = true;
            break;
        case 'd':
            if (cli_parse_seconds("--duration", optarg, &a->sampler.duration_s, &err) < 0)
                return cli_fail(&err);
            break;
        case 'o':
            a->out_path = optarg;
            break;
        case 'f':
            a->format = optarg;
            break;
        case 't': {
            long long v;
            if (cli_parse_int("--top", optarg, 1, 100000, &v, &err) < 0)
                return cli_fail(&err);
            a->top = (int)v;
            break;
        }
        case 'q':
            a->quiet = true;
            break;
        case 'R':
            if (strcmp(optarg, "scan") == 0)
                a->sampler.find = TARGET_FIND_SCAN;
            else if (strcmp(optarg, "auto") == 0)
                a->sampler.find = TARGET_FIND_AUTO;
            else
                return cli_usage("--runtime-search: expected auto or scan, not '%s'", optarg);
            break;
        case 'h':
            usage(stdout, attach);
            *done = true;
            return EXIT_OK;
        case ':':
            return cli_usage("%s: option %s needs a value", attach ? "attach" : "run",
                             argv[optind - 1]);
        default:
            return cli_usage("%s: unknown option '%s' (see ferret %s --help)",
                             attach ? "attach" : "run", argv[optind - 1],
                             attach ? "attach" : "run");
        }
    }
    *next = optind;
    return EXIT_OK;
}

/* The format named by -f, or guessed from -o's extension. */
static const ReportWriter *
pick_writer(const SampleArgs *a, Err *err)
{
    if (a->format) {
        const ReportWriter *w = report_find(a->format);
        if (!w)
            err_set(err, ERR_USAGE, "unknown format '%s' (formats: %s)", a->format,
                    report_format_list());
        return w;
    }
    if (a->out_path && strcmp(a->out_path, "-") != 0) {
        const char *name = report_format_for_path(a->out_path, PROFILE_SAMPLED);
        const ReportWriter *w = name ? report_find(name) : NULL;
        if (w)
            return w;
        err_set(err, ERR_USAGE, "cannot tell the format from the name %s; give -f (%s)",
                a->out_path, report_format_list());
        return NULL;
    }
    return report_find("text");
}

Profile *
sample_cli_profile(const char *command, Err *err)
{
    Profile *p = profile_new(PROFILE_SAMPLED, err);
    if (p && (profile_meta_set(p, "command", command, err) < 0 ||
              profile_meta_set(p, "ferret_version", FERRET_VERSION, err) < 0)) {
        profile_free(p);
        p = NULL;
    }
    return p;
}

int
sample_cli_check_output(const SampleArgs *a, Err *err)
{
    if (!pick_writer(a, err))
        return -1;
    return outpath_check(a->out_path, err);
}

static bool
to_terminal(const SampleArgs *a)
{
    return !a->out_path || strcmp(a->out_path, "-") == 0;
}

/* Puts the stream in its place once it holds what a user would not want to lose. */
static int
stream_settle(const Profile *p, bool last, Err *err)
{
    if (!stream_staging || (!last && profile_nsamples(p) == 0))
        return 0;
    if (rename(stream_staging, stream_path) != 0)
        return err_sys(err, errno, "cannot rename %s to %s", stream_staging, stream_path);
    free(stream_staging);
    stream_staging = NULL;
    return 0;
}

static int
stream_flush(void *ctx, Profile *p, Err *err)
{
    (void)ctx;
    if (ffile_writer_flush(stream, p, err) < 0)
        return -1;
    return stream_settle(p, false, err);
}

int
sample_cli_begin(SampleArgs *a, Err *err)
{
    const ReportWriter *w = pick_writer(a, err);
    if (!w)
        return -1;
    if (strcmp(w->name, "ferret") != 0 || to_terminal(a))
        return 0;
    if (outpath_staging(a->out_path, &stream_staging, err) < 0)
        return -1;
    stream = ffile_writer_open(stream_staging ? stream_staging : a->out_path, err);
    if (!stream) {
        free(stream_staging);
        stream_staging = NULL;
        return -1;
    }
    stream_path = a->out_path;
    a->sampler.flush = stream_flush;
    return 0;
}

void
sample_cli_abort(void)
{
    /* nothing was sampled: the staged stream holds only a header; -o's path (a file from
     * before, or the user's device, FIFO or link) is left as it was */
    if (stream && stream_staging)
        (void)unlink(stream_staging);
    free(stream_staging);
    stream_staging = NULL;
    ffile_writer_abort(stream);
    stream = NULL;
}

int
sample_cli_write(const Profile *p, const SampleArgs *a, Err *err)
{
    if (stream) {
        int rc = ffile_writer_close(stream, p, err);
        stream = NULL;
        if (rc == 0)
            rc = stream_settle(p, true, err);
        if (stream_staging) /* the close failed: what it holds is not a whole profile */
            (void)unlink(stream_staging);
        free(stream_staging);
        stream_staging = NULL;
        out_written = rc == 0;
        return rc;
    }
    const ReportWriter *w = pick_writer(a, err);
    if (!w)
        return -1;
    ReportOptions opt;
    report_options_init(&opt, p);
    opt.top = a->top;
    bool term = to_terminal(a);
    opt.color = term && cli_color(STDOUT_FILENO);
    if (term && w->binary && cli_isatty(STDOUT_FILENO))
        return err_set(err, ERR_USAGE, "%s output is binary: give -o FILE", w->name);
    Err text_err;
    bool text_failed = false;
    if (report_write_path(w, p, &opt, term ? "-" : a->out_path, &text_err) < 0) {
        if (!term || text_err.sys_errno != EPIPE) {
            *err = text_err;
            if (a->out_path || a->format)
                return -1;
            text_failed = true; /* the HTML report is still written */
        }
        clearerr(stdout); /* a reader that went away (| head) is not a failure */
    }
    out_written = !term;
    if (a->out_path || a->format)
        return 0;
    /* the default: text on the terminal, and the interactive report in a file */
    const ReportWriter *html = report_find("html");
    if (!html)
        return text_failed ? -1 : 0;
    html_path = cli_default_html(p, &opt, text_failed ? &text_err : NULL, err);
    if (!html_path)
        return -1;
    /* sample_cli_summary names html_path: written and closed */
    if (text_failed)
        *err = text_err;
    return text_failed ? -1 : 0;
}

/* The sampler's cost per moment that sampled Python: a launcher's polls before Python was
 * found (the pyenv shim, a shell) cost little and would make it look cheaper. */
static double
per_moment(double total, uint64_t moments)
{
    return moments ? total / (double)moments : 0.0;
}

/* A rate for the summary: whole samples per second, or two digits below 10 (-r 0.5 read
 * "0 of 0 samples/s"). */
static const char *
rate_text(double hz, char *buf, size_t n)
{
    snprintf(buf, n, hz >= 10 || hz == 0 ? "%.0f" : "%.2g", hz);
    return buf;
}

void
sample_cli_summary(const Sampler *s, const SampleArgs *a, pid_t pid)
{
    if (a->quiet)
        return;
    SamplerStats st;
    sampler_stats(s, &st);
    /* which processes were Python (with --subprocesses, a wrapper may not be; its helpers
     * that never ran Python are not counted) */
    char who[96], got[32], want[32];
    unsigned long long kids = st.processes - st.root_python;
    if (kids == 0)
        snprintf(who, sizeof who, "process %d", (int)pid);
    else if (st.root_python)
        snprintf(who, sizeof who, "process %d and %llu child process%s", (int)pid, kids,
                 kids == 1 ? "" : "es");
    else
        snprintf(who, sizeof who, "%llu child process%s of process %d", kids, kids == 1 ? "" : "es",
                 (int)pid);
    fprintf(stderr,
            "ferret: sampled %s (CPython %s) for %.2fs: %s of %s samples/s, "
            "%llu stacks, %llu dropped, %.1f us CPU and %.1f reads per sample moment\n",
            who, sampler_python_version(s)[0] ? sampler_python_version(s) : "?", st.elapsed_s,
            rate_text(st.rate_hz, got, sizeof got),
            rate_text(a->sampler.rate_hz, want, sizeof want), (unsigned long long)st.samples,
            (unsigned long long)st.dropped, per_moment(st.cpu_s * 1e6, st.sampled_ticks),
            per_moment((double)st.reads, st.sampled_ticks));
    if (out_written && strcmp(a->out_path, "-") != 0)
        fprintf(stderr, "ferret: wrote %s\n", a->out_path);
    if (html_path)
        fprintf(stderr, "ferret: wrote the interactive report to %s\n", html_path);
    free(html_path);
    html_path = NULL;
}

static void
on_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    sample_cli_stop = 1;
    signals_seen++;
    /* the terminal sends Ctrl-C to the whole process group (the command got it too); a
     * signal sent to ferret alone is passed on */
    if (forward_pid > 0 && info && info->si_code != SI_KERNEL)
        kill((pid_t)forward_pid, signals_seen >= 3 ? SIGKILL : sig);
}

void
sample_cli_signals(pid_t forward_to)
{
    forward_pid = forward_to;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* after the command started: it keeps its own disposition */
}

int
sample_cli_wait_child(pid_t pid)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, 0);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return 0;
        /* a Ctrl-C from the terminal reached the command too; after three, insist */
        if (signals_seen >= 3)
            kill(pid, SIGKILL);
    }
}
