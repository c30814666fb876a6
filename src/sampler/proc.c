/* SPDX-License-Identifier: MIT */
/* proc.c: starting commands, recognising Python executables, children, per-thread state
 * from /proc, and ptrace freezing for --blocking. */
#include "sampler/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sampler/elf.h"

/* Finds name on path (a PATH value) like execvp; false if not found. */
static bool
search_path(const char *name, const char *path, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        snprintf(out, cap, "%s", name);
        return access(out, F_OK) == 0;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0)
            snprintf(out, cap, "./%s", name);
        else
            snprintf(out, cap, "%.*s/%s", (int)len, p, name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
        if (!colon)
            break;
        p = colon + 1;
    }
    return false;
}

static int
check_python(const char *argv0, const char *path_env, int depth, Err *err)
{
    char file[PATH_MAX];
    if (!search_path(argv0, path_env, file, sizeof file))
        return err_set(err, ERR_USAGE, "command not found: %s", argv0);
    struct stat st;
    if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
        return err_set(err, ERR_USAGE, "cannot run %s: not a regular file", argv0);
    if (access(file, X_OK) < 0)
        return err_set(err, ERR_USAGE, "cannot run %s: permission denied", argv0);
    FILE *f = fopen(file, "rb");
    if (!f)
        return err_sys(err, errno, "cannot read %s", file);
    char head[512] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        if (depth >= 4)
            return err_set(err, ERR_NOTPY, "%s: too many nested #! interpreters", argv0);
        /* "#!interp [arg]"; through env, the first non-option argument is the program */
        char *line = head + 2;
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL, *interp = strtok_r(line, " \t", &save);
        if (!interp)
            return err_set(err, ERR_NOTPY, "%s has an empty #! line", argv0);
        const char *base = strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp;
        if (strcmp(base, "env") == 0) {
            char *arg;
            while ((arg = strtok_r(NULL, " \t", &save)) && arg[0] == '-')
                ;
            if (!arg)
                return err_set(err, ERR_NOTPY, "%s: #!/usr/bin/env names no program", argv0);
            interp = arg;
        }
        int rc = check_python(interp, path_env, depth + 1, err);
        if (rc < 0 && err->kind == ERR_NOTPY) {
            /* a shell script may still exec Python (pyenv shims, wrappers): known only once
             * it runs */
            const char *ib = strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp;
            if (strcmp(ib, "sh") == 0 || strcmp(ib, "bash") == 0 || strcmp(ib, "dash") == 0 ||
                strcmp(ib, "zsh") == 0)
                return 1;
        }
        return rc < 0 ? -1 : rc;
    }
    Elf e;
    if (elf_open(&e, file, err) < 0)
        return err_set(err, ERR_NOTPY, "%s is not a Python program (neither a Python executable "
                       "nor a script for one)", argv0);
    uint64_t v;
    /* any version: one ferret does not read is named once it runs, not called "not Python" */
    bool py = elf_symbol(&e, "_PyRuntime", &v, NULL) || elf_symbol(&e, "Py_BytesMain", &v, NULL) ||
              elf_symbol(&e, "Py_Main", &v, NULL) || elf_needs(&e, "libpython", NULL, 0);
    elf_close(&e);
    if (!py)
        return err_set(err, ERR_NOTPY, "%s is not a Python program (%s is an executable without "
                       "CPython in it)", argv0, file);
    return 0;
}

int
proc_check_python(const char *argv0, const char *path_env, Err *err)
{
    return check_python(argv0, path_env, 0, err);
}

/* The command a wrapper (env, nice, timeout...) runs: its first argument past options and
 * NAME=VALUE settings that names an executable file (an option's value, such as nice's 5, is
 * none); NULL if there is none. */
static char *const *
wrapped_command(char *const argv[], const char *path_env)
{
    for (char *const *a = argv + 1; *a; a++) {
        const char *eq = strchr(*a, '=');
        if ((*a)[0] == '-' || (eq && !memchr(*a, '/', (size_t)(eq - *a))))
            continue;
        char file[PATH_MAX];
        struct stat st;
        if (search_path(*a, path_env, file, sizeof file) && stat(file, &st) == 0 &&
            S_ISREG(st.st_mode) && access(file, X_OK) == 0)
            return a;
    }
    return NULL;
}

static int
check_command(char *const argv[], const char *path_env, int depth, Err *err)
{
    int rc = check_python(argv[0], path_env, 0, err);
    if (rc >= 0 || err->kind != ERR_NOTPY || depth >= 4)
        return rc;
    char *const *inner = wrapped_command(argv, path_env);
    if (!inner)
        return -1;
    /* it may exec what it wraps (known only once it runs): the wrapped command decides */
    return check_command(inner, path_env, depth + 1, err) < 0 ? -1 : 1;
}

int
proc_check_command(char *const argv[], const char *path_env, Err *err)
{
    return check_command(argv, path_env, 0, err);
}

int
proc_spawn(char *const argv[], pid_t *pid, Err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_sys(err, errno, "creating a pipe");
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return err_sys(err, e, "starting %s", argv[0]);
    }
    if (child == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        close(fds[0]);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(fds[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(fds[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(fds[0], &e, sizeof e);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    if (n == (ssize_t)sizeof e) {
        int st;
        waitpid(child, &st, 0);
        if (e == ENOENT)
            return err_set(err, ERR_USAGE, "command not found: %s", argv[0]);
        return err_sys(err, e, "cannot run %s", argv[0]);
    }
    *pid = child;
    return 0;
}

int
proc_exit_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 1;
}

static size_t
children_from_proc_scan(pid_t pid, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        char *end;
        long p = strtol(e->d_name, &end, 10);
        if (*end || p <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", p);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = '\0';
        char *rp = strrchr(buf, ')');
        int ppid;
        if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
            out[n++] = (pid_t)p;
    }
    closedir(d);
    return n;
}

size_t
proc_tasks(pid_t pid, pid_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid > 0)
            out[n++] = tid;
    }
    closedir(d);
    return n;
}

#define TASKS_MAX 8192 /* threads of a process looked at for its children or a live one */

size_t
proc_children(pid_t pid, pid_t *out, size_t max)
{
    pid_t tids[TASKS_MAX];
    size_t nt = proc_tasks(pid, tids, TASKS_MAX);
    if (!nt)
        return 0;
    size_t n = 0;
    bool have_file = false;
    for (size_t i = 0; i < nt && n < max; i++) {
        char cpath[96];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
        FILE *f = fopen(cpath, "r");
        if (!f)
            continue;
        have_file = true;
        long c;
        while (n < max && fscanf(f, "%ld", &c) == 1)
            out[n++] = (pid_t)c;
        fclose(f);
    }
    if (!have_file) /* kernels without CONFIG_PROC_CHILDREN */
        return children_from_proc_scan(pid, out, max);
    return n;
}

/* Reads a small /proc file into out (NUL-terminated); returns the bytes read, 0 on failure. */
static size_t
read_small(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n <= 0)
        return 0;
    out[n] = '\0';
    return (size_t)n;
}

/* Where the state letter of a stat file's text is, or NULL: it follows the last ')', since
 * the name may hold parentheses. */
static const char *
stat_state(const char *buf)
{
    const char *q = strrchr(buf, ')');
    return q && q[1] == ' ' && q[2] ? q + 2 : NULL;
}

/* The field n places after `at` in a stat file's text (fields are one space apart), or NULL. */
static const char *
stat_field(const char *at, int n)
{
    for (int k = 0; k < n && at; k++) {
        at = strchr(at, ' ');
        if (at)
            at++;
    }
    return at;
}

/* The value of a "Key:" line of a task's status file (read into buf), or NULL: *readable says
 * whether the file could be read at all. */
static const char *
status_value(pid_t pid, pid_t tid, const char *key, char *buf, size_t cap, bool *readable)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    *readable = read_small(path, buf, cap) > 0;
    const char *q = *readable ? strstr(buf, key) : NULL;
    return q ? q + strlen(key) : NULL;
}

/* The state letter and kernel task flags of a task, from its stat; false if unreadable. */
static bool
task_stat(pid_t pid, pid_t tid, char *state, unsigned long *flags)
{
    char path[96], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    if (!read_small(path, buf, sizeof buf))
        return false;
    const char *q = stat_state(buf);
    if (!q)
        return false;
    *state = *q;
    q = stat_field(q, 6); /* state ppid pgrp session tty_nr tpgid flags */
    *flags = q ? strtoul(q, NULL, 10) : 0;
    return true;
}

pid_t
proc_ns_tid(pid_t pid, pid_t tid)
{
    char buf[4096];
    bool readable;
    const char *q = status_value(pid, tid, "\nNSpid:", buf, sizeof buf, &readable);
    if (!q)
        return readable ? tid : 0; /* readable: a kernel before 4.1, no namespaces to tell apart */
    long last = 0;
    for (;;) {
        char *end;
        long v = strtol(q, &end, 10);
        if (end == q)
            break;
        last = v;
        q = end;
    }
    return (pid_t)last;
}

bool
proc_other_pid_ns(pid_t pid)
{
    char path[64];
    struct stat mine, theirs;
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
    return stat("/proc/self/ns/pid", &mine) == 0 && stat(path, &theirs) == 0 &&
           (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev);
}

uint64_t
proc_stack_start(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!read_small(path, buf, sizeof buf))
        return 0;
    const char *q = stat_field(stat_state(buf), 28 - 3); /* from the state to startstack */
    return q ? strtoull(q, NULL, 10) : 0;
}

static bool
dead_state(char state)
{
    return state == 'Z' || state == 'X' || state == 'x';
}

static bool
task_alive(pid_t pid, pid_t tid)
{
    char state;
    unsigned long flags;
    return task_stat(pid, tid, &state, &flags) && !dead_state(state);
}

pid_t
proc_live_task(pid_t pid)
{
    if (task_alive(pid, pid))
        return pid;
    pid_t tids[TASKS_MAX];
    size_t nt = proc_tasks(pid, tids, TASKS_MAX);
    for (size_t i = 0; i < nt; i++)
        if (tids[i] != pid && task_alive(pid, tids[i]))
            return tids[i];
    return 0;
}

pid_t
proc_mm_pid(pid_t pid)
{
    pid_t t = proc_live_task(pid);
    return t ? t : pid;
}

bool
proc_alive(pid_t pid)
{
    /* a process whose main thread exited lives on while any other thread does */
    return proc_live_task(pid) != 0;
}

void
proc_cmdline(pid_t pid, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)proc_mm_pid(pid));
    size_t n = read_small(path, out, cap);
    if (n && out[n - 1] == '\0')
        n--;
    for (size_t i = 0; i < n; i++) /* arguments are NUL-separated */
        if (out[i] == '\0')
            out[i] = ' ';
    out[n] = '\0';
}

void
proc_thread_comm(pid_t pid, pid_t tid, char *out, size_t cap)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    read_small(path, out, cap);
    out[strcspn(out, "\n")] = '\0';
}

int
proc_thread_stat_open(ThreadStat *s, pid_t pid, pid_t tid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
    s->sched_fd = open(path, O_RDONLY | O_CLOEXEC);
    s->last = -1;
    s->last_run_ns = s->last_switches = UINT64_MAX;
    s->reads = s->sched_reads = 0;
    s->dead = false;
    s->seen_at = 0;
    return s->fd < 0 ? -1 : 0;
}

/* A decimal number at *at, then the spaces after it; false if there is none. (sscanf cost
 * more than the system call at every moment.) */
static bool
next_u64(const char **at, uint64_t *out)
{
    const char *q = *at;
    uint64_t v = 0;
    if (*q < '0' || *q > '9')
        return false;
    for (; *q >= '0' && *q <= '9'; q++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    while (*q == ' ')
        q++;
    *at = q;
    *out = v;
    return true;
}

/* The thread's schedstat: time on a CPU in ns and times scheduled in; false if unknown. */
static bool
activity(ThreadStat *s, uint64_t *run_ns, uint64_t *count)
{
    if (s->sched_fd < 0)
        return false;
    char buf[128];
    s->sched_reads++;
    ssize_t n = pread(s->sched_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *q = buf;
    uint64_t run, wait, c;
    /* all zeros: a kernel that keeps no scheduler statistics (or a thread never run) */
    if (!next_u64(&q, &run) || !next_u64(&q, &wait) || !next_u64(&q, &c) || (run == 0 && c == 0))
        return false;
    *run_ns = run;
    *count = c;
    return true;
}

/* Whether schedstat as read says the thread, asleep at the last read of its state, has not
 * run since. */
static bool
unchanged(const ThreadStat *s, bool known, uint64_t run_ns, uint64_t count)
{
    return s->last == 0 && known && run_ns == s->last_run_ns && count == s->last_switches;
}

/* Whether the thread, asleep at the last read of its state, has not run since. A reading
 * proc_thread_must_walk made at this moment that says so is taken as it is; one that says it
 * ran is not: the stat file is read next, and the schedstat reading it is dated by must be as
 * late as can be, or a thread caught running just after it waking (a run that ended before
 * the stat file said S) would look changed again at the next moment and cost another read of
 * the stat file, five times a schedstat read's cost. */
static bool
idle_since(ThreadStat *s, uint64_t moment, bool *known, uint64_t *run_ns, uint64_t *count)
{
    bool seen = moment && s->seen_at == moment;
    s->seen_at = 0; /* used once: a later call reads anew */
    if (seen && unchanged(s, s->seen_known, s->seen_run_ns, s->seen_switches))
        return true;
    *known = activity(s, run_ns, count);
    return unchanged(s, *known, *run_ns, *count);
}

/* Reads the thread's state letter from its open stat file and notes whether it is dead;
 * false when it cannot (errno is ESRCH when the task was reaped, 0 for an odd text). */
static bool
thread_state(ThreadStat *s, char *state)
{
    char buf[512];
    ssize_t n = pread(s->fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        if (n == 0)
            errno = 0;
        return false;
    }
    buf[n] = '\0';
    const char *q = stat_state(buf);
    if (!q) {
        errno = 0;
        return false;
    }
    *state = *q;
    s->dead = dead_state(*q);
    return true;
}

int
proc_thread_running(ThreadStat *s, uint64_t moment)
{
    if (s->fd < 0)
        return -1;
    bool known;
    uint64_t run_ns, count;
    if (idle_since(s, moment, &known, &run_ns, &count))
        return 0; /* asleep then, has not run since */
    char state;
    s->reads++;
    if (!thread_state(s, &state))
        return s->last = -1;
    s->last = state == 'R';
    /* read before the state: a thread that runs in between looks changed at the next call */
    s->last_run_ns = known ? run_ns : UINT64_MAX;
    s->last_switches = known ? count : UINT64_MAX;
    return s->last;
}

/* Whether the thread was asleep at the last reading of its state and has not run since,
 * keeping the schedstat read for a call of proc_thread_running at moment. A thread running
 * or unknown at that reading is not asleep whatever schedstat says: nothing is read. */
static bool
asleep_at(ThreadStat *s, uint64_t moment)
{
    if (s->fd < 0 || s->last != 0)
        return false;
    s->seen_known = activity(s, &s->seen_run_ns, &s->seen_switches);
    s->seen_at = moment;
    return unchanged(s, s->seen_known, s->seen_run_ns, s->seen_switches);
}

bool
proc_thread_still_asleep(ThreadStat *s)
{
    return asleep_at(s, 0);
}

bool
proc_thread_must_walk(ThreadStat *s, uint32_t *walked_at, uint64_t moment)
{
    if (!asleep_at(s, moment))
        return true;
    /* Each reading needs a walk after it. The walk after the reading before can have come
     * just before the thread ran on and fell asleep elsewhere, which that sample's own
     * reading of the state then saw: its stack is still to be read. */
    if (*walked_at != s->reads) {
        *walked_at = s->reads;
        return true;
    }
    return false;
}

void
proc_thread_ran(ThreadStat *s)
{
    s->last = -1;
    s->seen_at = 0;
}

bool
proc_thread_dead(ThreadStat *s)
{
    if (s->fd < 0)
        return false; /* unknown */
    char state;
    if (!thread_state(s, &state))
        s->dead = errno == ESRCH; /* reaped: the open file outlives the task */
    return s->dead;
}

void
proc_thread_stat_close(ThreadStat *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->sched_fd >= 0)
        close(s->sched_fd);
    s->fd = s->sched_fd = -1;
}

/* ---- freezing with ptrace ---- */

static bool
freeze_has(const Freeze *f, pid_t tid)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->tids[i] == tid)
            return true;
    return false;
}

/* Whether a thread is on its way out: gone, a zombie, or flagged PF_EXITING (0x4 in the
 * kernel's task flags). ptrace refuses such a thread with EPERM, which must not read as a
 * lack of permission when a short program ends just as it is first seized. */
static bool
thread_exiting(pid_t pid, pid_t tid)
{
    char state;
    unsigned long flags;
    return !task_stat(pid, tid, &state, &flags) || dead_state(state) || (flags & 0x4UL);
}

/* The pid of the task's tracer (status's TracerPid), 0 if none or unknown. */
static pid_t
tracer_of(pid_t pid, pid_t tid)
{
    char buf[2048];
    bool readable;
    const char *q = status_value(pid, tid, "\nTracerPid:", buf, sizeof buf, &readable);
    return q ? (pid_t)strtol(q, NULL, 10) : 0;
}

static int
freeze_seize_new(Freeze *f, Err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)f->pid);
    DIR *d = opendir(path);
    if (!d)
        return err_set(err, ERR_GONE, "process %d exited", (int)f->pid);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || freeze_has(f, tid))
            continue;
        if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
            int why = errno;
            pid_t tracer = why == EPERM && f->n == 0 ? tracer_of(f->pid, tid) : 0;
            if (tracer > 0) {
                char name[64] = "";
                proc_thread_comm(tracer, tracer, name, sizeof name);
                rc = err_set(err, ERR_PERM,
                             "--blocking: process %d is already traced by process %d%s%s%s "
                             "(a process has one tracer at a time): detach it, or sample "
                             "without --blocking",
                             (int)f->pid, (int)tracer, name[0] ? " (" : "", name,
                             name[0] ? ")" : "");
                break;
            }
            if (why == EPERM && f->n == 0 && !thread_exiting(f->pid, tid)) {
                rc = err_set(err, ERR_PERM,
                             "--blocking needs ptrace permission for process %d (run as the "
                             "same user with kernel.yama.ptrace_scope 0, or with CAP_SYS_PTRACE)",
                             (int)f->pid);
                break;
            }
            continue; /* the thread exited meanwhile */
        }
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 16;
            pid_t *t = realloc(f->tids, cap * sizeof *t);
            int *s = t ? realloc(f->pending_sig, cap * sizeof *s) : NULL;
            if (!t || !s) {
                if (t)
                    f->tids = t;
                rc = err_set(err, ERR_NOMEM, "out of memory");
                break;
            }
            f->tids = t;
            f->pending_sig = s;
            f->cap = cap;
        }
        f->pending_sig[f->n] = 0;
        f->tids[f->n++] = tid;
    }
    closedir(d);
    return rc;
}

int
freeze_init(Freeze *f, pid_t pid, Err *err)
{
    memset(f, 0, sizeof *f);
    f->pid = pid;
    return freeze_seize_new(f, err);
}

static void
freeze_drop(Freeze *f, size_t i)
{
    f->tids[i] = f->tids[f->n - 1];
    f->pending_sig[i] = f->pending_sig[f->n - 1];
    f->n--;
}

int
freeze_stop(Freeze *f, Err *err)
{
    if (freeze_seize_new(f, err) < 0)
        return -1;
    for (size_t i = 0; i < f->n; i++)
        ptrace(PTRACE_INTERRUPT, f->tids[i], NULL, NULL);
    /* wait (briefly) for each thread to stop; one stuck in the kernel is sampled as it is */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (size_t i = 0; i < f->n;) {
        int st;
        pid_t r = waitpid(f->tids[i], &st, __WALL | WNOHANG);
        if (r == f->tids[i]) {
            if (WIFEXITED(st) || WIFSIGNALED(st)) {
                if (f->tids[i] == f->pid) {
                    f->leader_reaped = true;
                    f->leader_status = st;
                }
                freeze_drop(f, i);
                continue;
            }
            if (WIFSTOPPED(st) && (st >> 16) == 0) {
                int sig = WSTOPSIG(st);
                if (sig != SIGTRAP && sig != SIGSTOP)
                    f->pending_sig[i] = sig; /* delivered on resume */
            }
            i++;
            continue;
        }
        if (r < 0) {
            freeze_drop(f, i); /* not ours any more (ECHILD) */
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 20000000L) {
            i++; /* give up on this one for this sample */
            continue;
        }
        struct timespec nap = {0, 10000};
        nanosleep(&nap, NULL);
    }
    return 0;
}

void
freeze_resume(Freeze *f)
{
    for (size_t i = 0; i < f->n; i++) {
        ptrace(PTRACE_CONT, f->tids[i], NULL, (void *)(intptr_t)f->pending_sig[i]);
        f->pending_sig[i] = 0;
    }
}

void
freeze_fini(Freeze *f)
{
    if (f->n) {
        Err err;
        freeze_stop(f, &err);
        for (size_t i = 0; i < f->n; i++)
            ptrace(PTRACE_DETACH, f->tids[i], NULL, (void *)(intptr_t)f->pending_sig[i]);
    }
    free(f->tids);
    free(f->pending_sig);
    memset(f, 0, sizeof *f);
}
