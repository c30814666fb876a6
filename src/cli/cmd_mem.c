/* SPDX-License-Identifier: MIT */
/* cmd_mem.c: `ferret mem [OPTIONS] -- COMMAND [ARGS...]`. Starts COMMAND with the memory
 * tracker (libferret_mem.so) preloaded, waits for it, reads the stream the tracker wrote
 * into a memory profile (profile/memstream.h) and renders the chosen view in the chosen
 * format. The command's own exit status is passed on (128+N when killed by signal N); a
 * recording cut short by a crash is still reported. Everything inside the target is in
 * src/mem/; docs/MEM.md is the user's guide. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layouts/layout.h"
#include "cli/cli.h"
#include "cli/exitcode.h"
#include "profile/memstream.h"
#include "report/memview.h"
#include "report/report.h"
#include "util/outpath.h"

#define DEFAULT_SAMPLE_BYTES 65536.0
#define DEFAULT_INTERVAL_S 0.01
#define SNAPSHOT_POLL_NS 50000000L /* how often -o FILE.ferret looks for new stream chunks */
#define STREAM_PREFIX "ferret-mem-"
#define ORPHAN_AGE_S 10 /* an unlocked stream file untouched this long is a killed run's */

typedef struct {
    double sample_bytes;
    bool exact;
    MemView view;
    const char *format; /* NULL: from the output's extension, else text */
    const char *output; /* NULL or "-": standard output */
    bool default_html;  /* no -o, no -f: also write the HTML report to a default file */
    double interval_s;
    long long top;
    char **cmd;
} MemOpts;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: ferret mem [OPTIONS] -- COMMAND [ARGS...]\n\n"
            "Runs a Python program with ferret's allocation tracker inside it and reports\n"
            "where its memory goes: Python objects and native allocations, by line.\n\n"
            "options:\n"
            "  --view VIEW         peak (default): live at the highest heap; leaks: still live\n"
            "                      at exit; allocated: all allocations (churn); timeline: heap\n"
            "                      and resident memory over time\n"
            "  --sample-bytes N    sample one allocation per N bytes on average (default 64K;\n"
            "                      suffixes K, M, G); estimates are scaled back, unbiased\n"
            "  --exact             record every allocation (slower; the peak heap is exact\n"
            "                      either way)\n"
            "  --interval TIME     timeline resolution (default 10ms)\n"
            "  -f, --format FMT    %s\n"
            "                      (default: from -o's name; without -o, text here and the\n"
            "                      HTML report in a file whose name ferret prints)\n"
            "  -o, --output FILE   write the report to FILE instead of standard output;\n"
            "                      FILE.ferret keeps the whole profile for `ferret report`\n"
            "  --top N             rows per table in the text report (default 15)\n\n"
            "See docs/MEM.md for what each number means.\n",
            report_format_list_for(PROFILE_MEMORY));
}

/* "64K", "1.5M", "4096", "2GiB" -> bytes. */
static int
parse_size(const char *opt, const char *s, double *out, Err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return err_set(err, ERR_USAGE, "%s: '%s' is not a size (e.g. 65536, 64K, 1M)", opt, s);
    double scale = 1;
    if (*end == 'k' || *end == 'K')
        scale = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        scale = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        scale = 1024.0 * 1024 * 1024, end++;
    if (scale > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "b") == 0))
        end += strlen(end);
    else if (scale == 1 && (strcmp(end, "B") == 0 || strcmp(end, "b") == 0))
        end++;
    if (*end)
        return err_set(err, ERR_USAGE, "%s: '%s' is not a size (e.g. 65536, 64K, 1M)", opt, s);
    v *= scale;
    if (v < 1 || v > 1024.0 * 1024 * 1024)
        return err_set(err, ERR_USAGE, "%s: %s is out of range (1 byte to 1G)", opt, s);
    *out = v;
    return 0;
}

/* Takes the option's value from "--opt=value" or the next argument. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, Err *err)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (a[n] == '=')
        return a + n + 1;
    if (*i + 1 >= argc) {
        err_set(err, ERR_USAGE, "mem: %s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

static bool
is_opt(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static int
parse(int argc, char **argv, MemOpts *o, Err *err)
{
    *o = (MemOpts){.sample_bytes = DEFAULT_SAMPLE_BYTES, .view = MEMVIEW_PEAK,
                   .interval_s = DEFAULT_INTERVAL_S, .top = 15};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break; /* the command starts here */
        if (strcmp(a, "--exact") == 0) {
            o->exact = true;
        } else if (is_opt(a, "--sample-bytes")) {
            if (!(v = opt_value(argc, argv, &i, "--sample-bytes", err)) ||
                parse_size("--sample-bytes", v, &o->sample_bytes, err) < 0)
                return -1;
        } else if (is_opt(a, "--view")) {
            if (!(v = opt_value(argc, argv, &i, "--view", err)))
                return -1;
            if (!memview_find(v, &o->view))
                return err_set(err, ERR_USAGE, "--view: unknown view '%s' (one of %s)", v,
                               memview_list());
        } else if (is_opt(a, "--interval")) {
            if (!(v = opt_value(argc, argv, &i, "--interval", err)) ||
                cli_parse_seconds("--interval", v, &o->interval_s, err) < 0)
                return -1;
            if (o->interval_s < 0.001 || o->interval_s > 60)
                return err_set(err, ERR_USAGE, "--interval: %s is out of range (1ms to 60s)", v);
        } else if (is_opt(a, "--top")) {
            if (!(v = opt_value(argc, argv, &i, "--top", err)) ||
                cli_parse_int("--top", v, 1, 100000, &o->top, err) < 0)
                return -1;
        } else if (strcmp(a, "-f") == 0 || is_opt(a, "--format")) {
            if (!(o->format = opt_value(argc, argv, &i, a[1] == 'f' ? "-f" : "--format", err)))
                return -1;
        } else if (strcmp(a, "-o") == 0 || is_opt(a, "--output")) {
            if (!(o->output = opt_value(argc, argv, &i, a[1] == 'o' ? "-o" : "--output", err)))
                return -1;
        } else {
            return err_set(err, ERR_USAGE, "mem: unknown option '%s' (try `ferret mem --help`)", a);
        }
    }
    if (i >= argc)
        return err_set(err, ERR_USAGE,
                       "mem: no command given (usage: ferret mem [OPTIONS] -- COMMAND [ARGS...])");
    o->cmd = argv + i;
    bool to_file = o->output && strcmp(o->output, "-") != 0;
    if (!o->format && to_file && !(o->format = report_format_for_path(o->output, PROFILE_MEMORY)))
        return err_set(err, ERR_USAGE, "cannot tell the format from the name %s; give -f (%s)",
                       o->output, report_format_list_for(PROFILE_MEMORY));
    if (!o->format) {
        o->format = "text";
        o->default_html = !o->output; /* like ferret run: text here, the HTML report in a file */
    }
    const ReportWriter *w = report_find(o->format);
    if (!w)
        return err_set(err, ERR_USAGE, "-f: unknown format '%s' (one of %s)", o->format,
                       report_format_list_for(PROFILE_MEMORY));
    if (report_check_kind(w, PROFILE_MEMORY, false, err) < 0) /* before the program runs */
        return -1;
    if (w->binary && !to_file && cli_isatty(STDOUT_FILENO))
        return err_set(err, ERR_USAGE, "%s output is binary: give -o FILE", w->name);
    if (!memview_format_shows(o->view, w->name))
        return err_set(err, ERR_USAGE,
                       "--view timeline has no stacks to draw as %s; use -f text, json or html "
                       "(or keep the profile with -f ferret)",
                       w->name);
    return 0;
}

/* The tracker library: $FERRET_MEM_LIB, or next to the ferret binary (build/ and
 * build/san/ in the tree, PREFIX/lib/ferret/ when installed). */
static int
find_library(char *out, size_t n, Err *err)
{
    const char *env = getenv("FERRET_MEM_LIB");
    if (env && *env) {
        if (access(env, R_OK) != 0)
            return err_sys(err, errno, "FERRET_MEM_LIB=%s", env);
        if (env[0] == '/') {
            snprintf(out, n, "%s", env);
        } else {
            char *abs = realpath(env, NULL);
            if (!abs)
                return err_sys(err, errno, "FERRET_MEM_LIB=%s", env);
            snprintf(out, n, "%s", abs);
            free(abs);
        }
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return err_sys(err, errno, "finding ferret's own directory");
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    static const char *const rel[] = {"/libferret_mem.so", "/../libferret_mem.so",
                                      "/../lib/ferret/libferret_mem.so"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        char *abs = realpath(cand, NULL);
        if (abs && access(abs, R_OK) == 0 && strlen(abs) < n) {
            snprintf(out, n, "%s", abs);
            free(abs);
            return 0;
        }
        free(abs);
    }
    return err_set(err, ERR_IO,
                   "mem: libferret_mem.so not found next to ferret (%s); build it with `make` or "
                   "set FERRET_MEM_LIB",
                   exe);
}

static volatile sig_atomic_t child_pid;

static void
forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

static int
setenv_num(const char *name, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.0f", v);
    return setenv(name, buf, 1);
}

/* In the child: the environment the tracker reads, then exec. Reports errno on errfd. */
static void
exec_child(const MemOpts *o, const char *lib, const char *stream, int errfd)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    const char *pre = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(lib) + (pre ? strlen(pre) : 0) + 2);
    int e = 0;
    if (!preload) {
        e = ENOMEM;
    } else {
        strcpy(preload, lib);
        if (pre && *pre) {
            strcat(preload, ":");
            strcat(preload, pre);
            e = setenv("FERRET_MEM_PRELOAD", pre, 1) ? errno : 0;
        } else {
            unsetenv("FERRET_MEM_PRELOAD");
        }
        if (!e && (setenv("LD_PRELOAD", preload, 1) || setenv("FERRET_MEM_OUT", stream, 1) ||
                   setenv_num("FERRET_MEM_PID", (double)getpid()) ||
                   setenv_num("FERRET_MEM_SAMPLE", o->sample_bytes) ||
                   setenv("FERRET_MEM_EXACT", o->exact ? "1" : "0", 1) ||
                   setenv_num("FERRET_MEM_INTERVAL_NS", o->interval_s * 1e9)))
            e = errno;
    }
    if (!e) {
        execvp(o->cmd[0], o->cmd);
        e = errno;
    }
    ssize_t w = write(errfd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* -o FILE.ferret is kept current while the program runs: the stream is read again and the
 * profile written over FILE (a temporary file, then rename) each time the tracker flushed
 * (twice a second), so if ferret itself is killed the file holds the profile as it was
 * half a second before. */
static void
snapshot(const MemOpts *o, int stream)
{
    Err err;
    MemStreamInfo info;
    Profile *p = memstream_read_fd(stream, &info, &err);
    if (!p)
        return; /* nothing recorded yet, or not Python: nothing to keep */
    ReportOptions opt;
    report_options_init(&opt, p);
    report_write_path(report_find("ferret"), p, &opt, o->output, &err);
    profile_free(p);
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wait_child(const MemOpts *o, pid_t pid, int stream, int *ws)
{
    bool live = strcmp(o->format, "ferret") == 0 && o->output && strcmp(o->output, "-") != 0;
    if (!live) {
        while (waitpid(pid, ws, 0) < 0 && errno == EINTR)
            ;
        return;
    }
    struct stat st;
    off_t seen = 0;
    double next_s = 0;
    for (;;) {
        pid_t r = waitpid(pid, ws, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        struct timespec nap = {0, SNAPSHOT_POLL_NS};
        nanosleep(&nap, NULL);
        double now_s = mono_s();
        if (now_s >= next_s && fstat(stream, &st) == 0 && st.st_size != seen) {
            seen = st.st_size;
            snapshot(o, stream);
            /* a profile so large that rewriting it takes long is rewritten less often: at
             * most a fifth of ferret's time goes to it */
            double done_s = mono_s();
            next_s = done_s + 4 * (done_s - now_s);
        }
    }
}

/* Runs the command; *status is its exit status as ferret passes it on. */
static int
run(const MemOpts *o, const char *lib, const char *stream, int stream_fd, int *status, char *why,
    size_t whyn, Err *err)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return err_sys(err, errno, "mem: creating a pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return err_sys(err, errno, "mem: starting %s", o->cmd[0]);
    }
    if (pid == 0) {
        close(pipefd[0]);
        exec_child(o, lib, stream, pipefd[1]);
    }
    close(pipefd[1]);
    child_pid = pid;
    /* Ctrl-C reaches the whole foreground group: the program handles it, ferret waits for
     * it to finish and reports. SIGTERM and SIGHUP sent to ferret alone are passed on. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal}, old[4];
    sigemptyset(&fwd.sa_mask);
    sigaction(SIGINT, &ign, &old[0]);
    sigaction(SIGQUIT, &ign, &old[1]);
    sigaction(SIGTERM, &fwd, &old[2]);
    sigaction(SIGHUP, &fwd, &old[3]);
    int e = 0;
    ssize_t got;
    do
        got = read(pipefd[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    int ws;
    wait_child(o, pid, stream_fd, &ws);
    child_pid = 0;
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGQUIT, &old[1], NULL);
    sigaction(SIGTERM, &old[2], NULL);
    sigaction(SIGHUP, &old[3], NULL);
    if (got == (ssize_t)sizeof e && e) {
        errno = e;
        return err_sys(err, e, "mem: cannot run '%s'", o->cmd[0]);
    }
    why[0] = '\0';
    if (WIFEXITED(ws)) {
        *status = WEXITSTATUS(ws);
    } else if (WIFSIGNALED(ws)) {
        *status = 128 + WTERMSIG(ws);
        snprintf(why, whyn, "killed by signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    } else {
        *status = EXIT_FAIL;
    }
    return 0;
}

/* Is path still the file open as fd? */
static bool
same_file(const char *path, int fd)
{
    struct stat a, b;
    return stat(path, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Removes the stream files of ferret mem runs that were killed (kill -9 leaves the stream
 * behind, and the program may go on writing to it). A running ferret mem holds a lock on
 * its own; one that nobody locks and nobody wrote to for a while is an orphan. Only the
 * user's own regular files, and only the file that was checked. */
static void
remove_orphans(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, STREAM_PREFIX, strlen(STREAM_PREFIX)) != 0)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st, now;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            time(NULL) - st.st_mtime > ORPHAN_AGE_S && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dirfd(d), e->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
            now.st_dev == st.st_dev && now.st_ino == st.st_ino)
            unlinkat(dirfd(d), e->d_name, 0);
        close(fd);
    }
    closedir(d);
}

/* The file the tracker streams into: created here (the tracker appends to it by name),
 * locked for as long as this ferret runs (see remove_orphans), read back through the
 * returned descriptor, unlinked when ferret is done with it. */
static int
make_stream_file(char *path, size_t n, int *fd, Err *err)
{
    const char *tmp = getenv("TMPDIR");
    const char *dirs[] = {tmp && *tmp ? tmp : "/tmp", "/tmp"};
    *fd = -1;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && *fd < 0; i++) {
        remove_orphans(dirs[i]);
        snprintf(path, n, "%s/" STREAM_PREFIX "XXXXXX", dirs[i]);
        *fd = mkostemp(path, O_CLOEXEC);
    }
    if (*fd < 0)
        return err_sys(err, errno, "mem: creating a temporary file");
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        unlink(path);
        close(*fd);
        return err_sys(err, e, "mem: locking %s", path);
    }
    return 0;
}

int
cmd_mem(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (argv[i][0] != '-')
            break;
    }
    MemOpts o;
    Err err;
    err_clear(&err);
    char lib[PATH_MAX], stream[PATH_MAX];
    int fd = -1;
    if (parse(argc, argv, &o, &err) < 0 || outpath_check(o.output, &err) < 0 ||
        find_library(lib, sizeof lib, &err) < 0 ||
        make_stream_file(stream, sizeof stream, &fd, &err) < 0)
        return cli_fail(&err);
    int status = 0;
    char why[160];
    if (run(&o, lib, stream, fd, &status, why, sizeof why, &err) < 0) {
        unlink(stream);
        close(fd);
        return cli_fail(&err);
    }
    MemStreamInfo info;
    /* through ferret's own descriptor: the recording survives a program that deletes or
     * renames files in the temporary directory */
    Profile *p = memstream_read_fd(fd, &info, &err);
    bool removed = !same_file(stream, fd);
    unlink(stream);
    close(fd);
    if (!p) {
        if (err.kind == ERR_FORMAT && !info.has_header) {
            err_set(&err, ERR_NOTPY,
                    "mem: '%s' did not start a Python interpreter ferret can track (CPython 3.9 "
                    "to 3.13, not a static or setuid binary)%s%s",
                    o.cmd[0], why[0] ? "; it was " : "", why);
        } else {
            err_context(&err, "mem: reading what the tracker recorded");
        }
        return cli_fail(&err);
    }
    const char *pv = profile_meta_get(p, "python_version");
    int major = 0, minor = -1;
    if (pv && sscanf(pv, "%d.%d", &major, &minor) == 2 && !layout_require(major, minor, &err)) {
        err_context(&err, "mem");
        profile_free(p);
        return cli_fail(&err);
    }
    if (!info.ended) {
        int64_t t = profile_info_c(p)->duration_ns;
        if (!why[0]) /* exited: the tracker could not write its last chunks */
            snprintf(why, sizeof why, "%s",
                     removed ? "it closed ferret's stream and removed its file, so the tracker "
                               "could not write to it again"
                             : "the tracker's stream stopped: a write failed, or the program "
                               "left without the C library's exit or exec");
        fprintf(stderr,
                "ferret: the program ended without finishing the recording (%s); the report "
                "holds what was recorded until %.2fs\n",
                why, (double)t / 1e9);
    }
    ReportOptions opt;
    report_options_init(&opt, p);
    opt.top = (int)o.top;
    if (memview_series(p, o.view, &opt.series, NULL, &err) < 0) {
        profile_free(p);
        return cli_fail(&err);
    }
    const char *out = o.output ? o.output : "-";
    opt.color = strcmp(out, "-") == 0 && cli_color(STDOUT_FILENO);
    int rc = report_write_path(report_find(o.format), p, &opt, out, &err);
    if (rc < 0 && strcmp(out, "-") == 0 && err.sys_errno == EPIPE) {
        clearerr(stdout); /* the reader went away (| head): not a failure */
        rc = 0;
    }
    /* a text report that could not go to standard output does not cost the HTML report */
    Err text_err = err;
    bool text_failed = rc < 0;
    char *html = NULL;
    if (o.default_html && report_find("html")) {
        Err html_err;
        html = cli_default_html(p, &opt, text_failed ? &text_err : NULL, &html_err);
        if (!html) {
            err = html_err;
            rc = -1;
        } else {
            fprintf(stderr, "ferret: wrote the interactive report to %s\n", html);
        }
    }
    free(html);
    profile_free(p);
    if (rc < 0)
        return cli_fail(&err);
    return status;
}
