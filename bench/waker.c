/* SPDX-License-Identifier: MIT */
/* waker: a control for bench/wake_control.py. Runs COMMAND and, until it exits, wakes up HZ
 * times a second doing nothing else: what any sampler that sleeps between samples costs the
 * program, with none of the sampling. --spin busy-waits to each moment instead of sleeping
 * (one core kept busy, never idle). --burn US spends US microseconds of CPU after each
 * wake-up, touching nothing of the program: what a sampler's CPU time alone costs it.
 *
 *     build/bench/waker [--spin | --burn US] HZ COMMAND [ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static long long
now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int
main(int argc, char **argv)
{
    int a = 1;
    int spin = argc > a && strcmp(argv[a], "--spin") == 0;
    a += spin;
    char *end = "";
    double burn_us = 0;
    if (!spin && argc > a + 1 && strcmp(argv[a], "--burn") == 0) {
        burn_us = strtod(argv[a + 1], &end);
        a += 2;
    }
    const char *burn_end = end;
    double hz = argc > a + 1 ? strtod(argv[a], &end) : 0;
    if (argc <= a + 1 || *end || *burn_end || !(burn_us >= 0) || burn_us > 1e6 || !(hz > 0) ||
        hz > 100000) {
        fprintf(stderr, "usage: waker [--spin | --burn US] HZ COMMAND [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("waker: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[a + 1], argv + a + 1);
        fprintf(stderr, "waker: %s: %s\n", argv[a + 1], strerror(errno));
        _exit(127);
    }
    long long interval = (long long)(1e9 / hz), next = now_ns();
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("waker: waitpid");
            return 1;
        }
        if (burn_us > 0) {
            long long until = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (long long)(burn_us * 1000);
            while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < until)
                ;
        }
        next += interval;
        if (spin) {
            while (now_ns() < next)
                ;
        } else {
            struct timespec ts = {next / 1000000000LL, next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        }
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
