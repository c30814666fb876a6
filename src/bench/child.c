/* SPDX-License-Identifier: MIT */
/* child.c: starting processes with the descriptors ferret bench needs (clone as posix_spawn
 * does), and reading a child's replies and stderr with poll() so neither pipe can fill up and
 * block it. */
#include "bench/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double
child_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* What the new process needs, on the parent's stack: with CLONE_VM the child shares ferret's
 * memory until its exec, and writes why the exec failed into `error`. */
typedef struct {
    char *const *argv;
    int cmd_r, res_w, err_w;
    pid_t parent;
    int error;
} SpawnArgs;

/* In the child, between clone and exec: it runs on its own stack in ferret's memory while
 * ferret's thread waits (CLONE_VFORK), so only async-signal-safe calls, and every signal
 * stays blocked until no handler of ferret's can run here. Not instrumented by
 * AddressSanitizer: the function never returns to unpoison its frame, on a stack ferret
 * unmaps once the exec is done. */
__attribute__((no_sanitize("address"))) static int
child_exec(void *arg)
{
    SpawnArgs *a = arg;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->parent) /* ferret died before the prctl */
        _exit(127);
    /* ferret's handlers would run here, in its memory: back to the default, as are SIGINT,
     * SIGTERM and SIGPIPE (which ferret ignores); a signal ferret was started with ignored
     * stays ignored */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigaction(sig, NULL, &old) < 0 || old.sa_handler == SIG_DFL)
            continue;
        if (old.sa_handler != SIG_IGN || sig == SIGINT || sig == SIGTERM || sig == SIGPIPE)
            sigaction(sig, &sa, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        goto fail;
    /* move the pipe ends out of the way of 0-4 before placing them */
    int fds[4] = {a->cmd_r, a->res_w, a->err_w, null};
    for (int i = 0; i < 4; i++) {
        if (fds[i] >= 0 && fds[i] <= CHILD_RESULT_FD) {
            int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
            if (moved < 0)
                goto fail;
            fds[i] = moved;
        }
    }
    if (dup2(fds[3], 0) < 0 || dup2(fds[3], 1) < 0 || dup2(fds[2], 2) < 0)
        goto fail;
    if (fds[0] >= 0 && (dup2(fds[0], CHILD_CMD_FD) < 0 || dup2(fds[1], CHILD_RESULT_FD) < 0))
        goto fail;
    execvp(a->argv[0], a->argv);
fail:
    a->error = errno ? errno : ENOEXEC;
    _exit(127);
}

/* The child's stack: execvp may build an argv one longer than ours for /bin/sh. */
static size_t
spawn_stack_bytes(char *const argv[])
{
    size_t n = 0;
    while (argv[n])
        n++;
    return ((n + 2) * sizeof(char *) + 64 * 1024 + 4095) & ~(size_t)4095;
}

int
child_spawn(Child *c, char *const argv[], bool pipes, Err *err)
{
    memset(c, 0, sizeof *c);
    c->cmd_fd = c->result_fd = c->stderr_fd = c->pid_fd = -1;
    buf_init(&c->line);
    int cmd[2] = {-1, -1}, res[2] = {-1, -1}, errp[2] = {-1, -1};
    if ((pipes && (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)) ||
        pipe2(errp, O_CLOEXEC) < 0) {
        err_sys(err, errno, "creating a pipe");
        goto fail;
    }
    /* clone(CLONE_VM | CLONE_VFORK), as posix_spawn does, rather than fork: nothing of
     * ferret's memory is copied for the exec to throw away, and ferret's thread sleeps until
     * the exec, so the time from here to the command's exit is the command's own */
    size_t stack_n = spawn_stack_bytes(argv);
    char *stack =
        mmap(NULL, stack_n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        err_sys(err, errno, "starting %s", argv[0]);
        goto fail;
    }
    SpawnArgs a = {
        .argv = argv, .cmd_r = cmd[0], .res_w = res[1], .err_w = errp[1], .parent = getpid()};
    sigset_t all, mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &mask);
    pid_t pid = clone(child_exec, stack + stack_n, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    munmap(stack, stack_n);
    if (pid < 0) {
        err_sys(err, clone_errno, "starting %s", argv[0]);
        goto fail;
    }
    close_fd(&cmd[0]);
    close_fd(&res[1]);
    close_fd(&errp[1]);
    c->pid = pid;
    c->cmd_fd = cmd[1];
    c->result_fd = res[0];
    c->stderr_fd = errp[0];
#ifdef SYS_pidfd_open
    c->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 before Linux 5.3: we poll instead */
#else
    c->pid_fd = -1;
#endif
    if (a.error) { /* exec failed */
        child_kill(c);
        child_fini(c);
        if (a.error == ENOENT)
            return err_set(err, ERR_USAGE, "%s: command not found", argv[0]);
        return err_sys(err, a.error, "cannot run %s", argv[0]);
    }
    return 0;
fail:
    close_fd(&cmd[0]);
    close_fd(&cmd[1]);
    close_fd(&res[0]);
    close_fd(&res[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    buf_fini(&c->line);
    return -1;
}

int
child_send(Child *c, const char *s, size_t n, Err *err)
{
    while (n > 0) {
        ssize_t w = write(c->cmd_fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EPIPE ? err_set(err, ERR_TARGET, "the benchmark process exited")
                                  : err_sys(err, errno, "writing to the benchmark process");
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void
drain_stderr(Child *c)
{
    char tmp[4096];
    ssize_t n = read(c->stderr_fd, tmp, sizeof tmp);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(&c->stderr_fd);
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        c->err_tail[(c->err_len + (size_t)i) % CHILD_STDERR_KEEP] = tmp[i];
    c->err_len += (size_t)n;
}

/* Waits until result_fd is readable (or closed), draining stderr meanwhile. Returns 0, or -1
 * with *err on timeout, interruption or error. */
static int
wait_result(Child *c, double deadline, volatile sig_atomic_t *stop, Err *err)
{
    for (;;) {
        if (stop && *stop)
            return err_set(err, ERR_TARGET, "interrupted");
        struct pollfd p[2];
        int np = 0, ei = -1;
        p[np++] = (struct pollfd){.fd = c->result_fd, .events = POLLIN};
        if (c->stderr_fd >= 0) {
            ei = np;
            p[np++] = (struct pollfd){.fd = c->stderr_fd, .events = POLLIN};
        }
        int ms = 200; /* wake up now and then to look at *stop */
        if (deadline > 0) {
            double left = deadline - child_now();
            if (left <= 0)
                return err_set(err, ERR_TARGET, "timed out");
            if (left * 1000 < ms)
                ms = (int)(left * 1000) + 1;
        }
        int r = poll(p, (nfds_t)np, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_sys(err, errno, "waiting for the benchmark process");
        if (ei >= 0 && p[ei].revents)
            drain_stderr(c);
        if (p[0].revents)
            return 0;
    }
}

int
child_read_line(Child *c, const char **line, double timeout_s, volatile sig_atomic_t *stop,
                Err *err)
{
    double deadline = timeout_s > 0 ? child_now() + timeout_s : 0;
    buf_reset(&c->line);
    for (;;) {
        if (c->result_fd < 0)
            return 0;
        if (wait_result(c, deadline, stop, err) < 0)
            return -1;
        char ch;
        ssize_t n = read(c->result_fd, &ch, 1); /* replies are short; byte reads keep it simple */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(err, errno, "reading from the benchmark process");
        if (n == 0) {
            close_fd(&c->result_fd);
            return 0;
        }
        if (ch == '\n') {
            if (buf_failed(&c->line))
                return err_set(err, ERR_NOMEM, "out of memory");
            *line = c->line.data ? c->line.data : "";
            return 1;
        }
        if (c->line.len > (1u << 24))
            return err_set(err, ERR_FORMAT, "the benchmark process sent an overlong reply");
        buf_putc(&c->line, ch);
    }
}

int
child_wait(Child *c, double timeout_s, volatile sig_atomic_t *stop, Err *err)
{
    double deadline = timeout_s > 0 ? child_now() + timeout_s : 0;
    for (;;) {
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            c->status = st;
            c->pid = 0;
            break;
        }
        if (r < 0 && errno != EINTR) {
            c->pid = 0;
            return err_sys(err, errno, "waiting for the benchmark process");
        }
        if ((stop && *stop) || (deadline > 0 && child_now() > deadline)) {
            int interrupted = stop && *stop;
            child_kill(c);
            return err_set(err, ERR_TARGET, interrupted ? "interrupted" : "timed out");
        }
        /* the pid descriptor becomes readable when the child exits, so the time we measure
         * ends right then; without one, look again every millisecond */
        struct pollfd p[2];
        int np = 0, ei = -1;
        if (c->pid_fd >= 0)
            p[np++] = (struct pollfd){.fd = c->pid_fd, .events = POLLIN};
        if (c->stderr_fd >= 0) {
            ei = np;
            p[np++] = (struct pollfd){.fd = c->stderr_fd, .events = POLLIN};
        }
        int rc = poll(p, (nfds_t)np, c->pid_fd >= 0 ? 200 : 1);
        if (rc > 0 && ei >= 0 && p[ei].revents)
            drain_stderr(c);
    }
    /* take what is left on stderr without waiting for descendants that may still hold it */
    if (c->stderr_fd >= 0) {
        fcntl(c->stderr_fd, F_SETFL, O_NONBLOCK);
        size_t before;
        do {
            before = c->err_len;
            drain_stderr(c);
        } while (c->stderr_fd >= 0 && c->err_len != before);
    }
    close_fd(&c->stderr_fd);
    close_fd(&c->pid_fd);
    return 0;
}

void
child_kill(Child *c)
{
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        int st;
        while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
            ;
        c->status = st;
        c->pid = 0;
    }
    close_fd(&c->cmd_fd);
    close_fd(&c->result_fd);
    close_fd(&c->stderr_fd);
    close_fd(&c->pid_fd);
}

void
child_fini(Child *c)
{
    close_fd(&c->cmd_fd);
    close_fd(&c->result_fd);
    close_fd(&c->stderr_fd);
    close_fd(&c->pid_fd);
    buf_fini(&c->line);
}

void
child_stderr_tail(const Child *c, Buf *out)
{
    buf_reset(out);
    size_t n = c->err_len < CHILD_STDERR_KEEP ? c->err_len : CHILD_STDERR_KEEP;
    size_t start = c->err_len - n;
    for (size_t i = 0; i < n; i++)
        buf_putc(out, c->err_tail[(start + i) % CHILD_STDERR_KEEP]);
}

void
child_describe_status(int status, char *out, size_t n)
{
    if (WIFEXITED(status))
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "ended with wait status %#x", status);
}
