/* SPDX-License-Identifier: MIT */
/* syscall_cost.c: what the system calls of one sampling moment cost on this machine, each
 * repeated back to back against a running process PID (so caches are warm: a floor), and
 * what one sleep of an interval costs the sleeping thread in CPU time (the wake-up every
 * sampler pays, whatever it then does). Prints a Markdown table. Built by
 * `make bench-tools`.
 *
 *     build/bench/syscall_cost PID [HZ]
 *
 * Rows: a bare system call (getppid); a read of /proc/PID/task/TID/schedstat and of .../stat
 * (ferret reads the first for every thread at every moment, the second for a thread whose
 * schedstat moved while its stack did not); process_vm_readv of 64 bytes and of 1, 4 and 16
 * whole pages of the process's heap; clock_nanosleep to the next of HZ moments a second, in
 * the thread's CPU time per sleep (the waker of bench/waker.c, alone). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static long long
cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* The start of the process's [heap] mapping (or of its first writable one), 0 if none. */
static uintptr_t
heap_of(pid_t pid, size_t *len)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uintptr_t found = 0, any = 0;
    size_t found_len = 0, any_len = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
            continue;
        if (!found && strstr(line, "[heap]")) {
            found = lo;
            found_len = hi - lo;
        }
        if (!any && perms[1] == 'w') {
            any = lo;
            any_len = hi - lo;
        }
    }
    fclose(f);
    *len = found ? found_len : any_len;
    return found ? found : any;
}

static void
row(const char *what, long long ns, long n)
{
    printf("| %s | %.2f |\n", what, (double)ns / 1e3 / (double)n);
}

int
main(int argc, char **argv)
{
    char *end = "";
    long pid_l = argc == 2 || argc == 3 ? strtol(argv[1], &end, 10) : 0;
    double hz = 1000;
    if (!*end && argc == 3)
        hz = strtod(argv[2], &end);
    if (argc < 2 || argc > 3 || *end || pid_l <= 0 || !(hz >= 1) || hz > 100000) {
        fprintf(stderr, "usage: syscall_cost PID [HZ]\n");
        return 2;
    }
    pid_t pid = (pid_t)pid_l;
    enum { N = 20000, SLEEPS = 2000, PAGES_MAX = 16 };
    char path[96], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)pid);
    int sched_fd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    int stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t heap_len = 0;
    uintptr_t heap = heap_of(pid, &heap_len);
    if (sched_fd < 0 || stat_fd < 0 || !heap || heap_len < PAGES_MAX * 4096) {
        fprintf(stderr, "syscall_cost: cannot read process %d: %s\n", (int)pid,
                errno ? strerror(errno) : "no heap of 16 pages");
        return 1;
    }
    static char copy[PAGES_MAX * 4096];
    struct iovec local = {copy, 64}, remote = {(void *)heap, 64};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0) {
        fprintf(stderr, "syscall_cost: cannot read process %d's memory: %s\n", (int)pid,
                strerror(errno));
        return 1;
    }
    printf("| system call (back to back, %d times) | CPU us each |\n|---|---|\n", N);
    long long t = cpu_ns();
    for (int i = 0; i < N; i++)
        (void)getppid();
    row("getppid (entry and return only)", cpu_ns() - t, N);
    t = cpu_ns();
    for (int i = 0; i < N; i++)
        (void)!pread(sched_fd, buf, sizeof buf, 0);
    row("pread /proc/PID/task/TID/schedstat", cpu_ns() - t, N);
    t = cpu_ns();
    for (int i = 0; i < N; i++)
        (void)!pread(stat_fd, buf, sizeof buf, 0);
    row("pread /proc/PID/task/TID/stat", cpu_ns() - t, N);
    t = cpu_ns();
    for (int i = 0; i < N; i++)
        (void)process_vm_readv(pid, &local, 1, &remote, 1, 0);
    row("process_vm_readv, 64 bytes", cpu_ns() - t, N);
    for (size_t pages = 1; pages <= PAGES_MAX; pages *= 4) {
        local.iov_len = remote.iov_len = pages * 4096;
        t = cpu_ns();
        for (int i = 0; i < N; i++)
            (void)process_vm_readv(pid, &local, 1, &remote, 1, 0);
        char what[64];
        snprintf(what, sizeof what, "process_vm_readv, %zu page%s", pages, pages > 1 ? "s" : "");
        row(what, cpu_ns() - t, N);
    }
    long long interval = (long long)(1e9 / hz), next = clock_ns(CLOCK_MONOTONIC), late = 0;
    t = cpu_ns();
    for (int i = 0; i < SLEEPS; i++) {
        next += interval;
        struct timespec ts = {next / 1000000000LL, next % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        late += clock_ns(CLOCK_MONOTONIC) - next;
    }
    char what[96];
    snprintf(what, sizeof what, "clock_nanosleep to the next moment at %g Hz (%d sleeps)", hz,
             SLEEPS);
    row(what, cpu_ns() - t, SLEEPS);
    printf("\nwake-ups came %.1f us late on average\n", (double)late / 1e3 / SLEEPS);
    return 0;
}
