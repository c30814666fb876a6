/* SPDX-License-Identifier: MIT */
/* child.h: the processes ferret bench starts: a Python driver with a command pipe and a
 * result pipe, or a benchmarked command. Each child gets its own process group (Ctrl-C
 * reaches ferret only, which then stops the child), dies with ferret (PR_SET_PDEATHSIG),
 * reads /dev/null and writes its stdout to /dev/null; its stderr is kept (the last
 * CHILD_STDERR_KEEP bytes) so a failure can show it. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

#define CHILD_STDERR_KEEP 4096
#define CHILD_CMD_FD 3    /* the driver reads commands here */
#define CHILD_RESULT_FD 4 /* and writes replies here */

typedef struct {
    pid_t pid;        /* 0 once reaped */
    int cmd_fd;       /* ferret's write end of the command pipe; -1 if none */
    int result_fd;    /* ferret's read end of the result pipe; -1 if none */
    int stderr_fd;    /* read end of the child's stderr; -1 at EOF */
    int pid_fd;       /* pidfd of the child (readable when it exits); -1 if unavailable */
    char err_tail[CHILD_STDERR_KEEP]; /* ring of the last stderr bytes */
    size_t err_len;   /* bytes ever read from stderr */
    Buf line;         /* partial reply line */
    int status;       /* wait status once reaped */
} Child;

/* Starts argv[0] (searched in PATH) with argv. With pipes, the child has CHILD_CMD_FD and
 * CHILD_RESULT_FD connected to c->cmd_fd / c->result_fd. Returns 0, or -1 with *err set
 * (a missing or non-executable program is reported from the exec itself). */
int child_spawn(Child *c, char *const argv[], bool pipes, Err *err);
/* Writes all of s to the command pipe. -1 with *err set if the child has gone. */
int child_send(Child *c, const char *s, size_t n, Err *err);
/* Waits for one reply line (without its newline, NUL-terminated, borrowed until the next
 * call) while draining stderr. Gives up after timeout_s (<= 0: never) or when *stop becomes
 * non-zero. Returns 1 with a line, 0 at EOF (the child closed its end: usually it died),
 * -1 with *err set (timeout, interrupted, I/O). */
int child_read_line(Child *c, const char **line, double timeout_s, volatile sig_atomic_t *stop,
                    Err *err);
/* Reaps the child (draining stderr meanwhile; whatever stderr holds once it has exited is
 * kept too). Returns 0, or -1 with *err set on timeout or interruption (the child is then
 * killed and reaped). */
int child_wait(Child *c, double timeout_s, volatile sig_atomic_t *stop, Err *err);
/* Kills the child's process group, reaps it, closes every descriptor. Safe to call twice. */
void child_kill(Child *c);
/* Closes descriptors and frees the line buffer (the child must have been reaped or killed). */
void child_fini(Child *c);
/* The kept end of the child's stderr, oldest byte first, into out (replaced). */
void child_stderr_tail(const Child *c, Buf *out);
/* Describes a wait status: "exited with status 3", "was killed by signal 9 (Killed)". */
void child_describe_status(int status, char *out, size_t n);
/* Monotonic time in seconds. */
double child_now(void);
