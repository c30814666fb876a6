/* SPDX-License-Identifier: MIT */
/* sample_cost.c: ferret's own cost per sample, without the clock: attaches to PID and takes
 * N samples back to back (walk + on-CPU state + stack interning, as the sampler does),
 * printing CPU microseconds per sample moment and per thread stack, and reads per sample.
 * Built by `make bench-tools`; used by bench/sampler.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "profile/profile.h"
#include "sampler/proc.h"
#include "sampler/target.h"
#include "sampler/walk.h"

static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sample_cost PID SAMPLES\n");
        return 2;
    }
    pid_t pid = atoi(argv[1]);
    long n = atol(argv[2]);
    Err err;
    Target *t = target_open(pid, TARGET_FIND_AUTO, &err);
    if (!t) {
        fprintf(stderr, "sample_cost: %s\n", err.msg);
        return 1;
    }
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    WalkThread *th = calloc(256, sizeof *th);
    FrameId *frames = calloc(1 << 18, sizeof *frames), path[PROFILE_MAX_DEPTH];
    ThreadStat st[256];
    for (int i = 0; i < 256; i++)
        st[i].fd = st[i].sched_fd = -1;
    WalkBuffers b = {th, 256, frames, 1 << 18, PROFILE_MAX_DEPTH};
    WalkDrops drops = {{0}};
    uint64_t stacks = 0, reads0, reads1, bytes;
    target_read_stats(t, &reads0, &bytes);
    double c0 = cpu_now();
    for (long i = 0; i < n; i++) {
        size_t nt;
        if (walk_sample(t, p, &b, &nt, &drops, &err) < 0) {
            fprintf(stderr, "sample_cost: %s\n", err.msg);
            return 1;
        }
        for (size_t k = 0; k < nt; k++) {
            if (st[k].fd < 0 && th[k].tid)
                proc_thread_stat_open(&st[k], pid, (pid_t)th[k].tid);
            proc_thread_running(&st[k]); /* as the sampler does for an unchanged stack */
            for (size_t f = 0; f < th[k].nframes; f++)
                path[f] = th[k].frames[th[k].nframes - 1 - f];
            StackId sid;
            profile_stack_path(p, path, th[k].nframes, &sid, &err);
            stacks++;
        }
    }
    double cpu = cpu_now() - c0;
    target_read_stats(t, &reads1, &bytes);
    printf("samples %ld threads/sample %.2f us/sample %.2f us/stack %.2f reads/sample %.2f "
           "dropped %llu\n",
           n, (double)stacks / (double)n, cpu * 1e6 / (double)n,
           stacks ? cpu * 1e6 / (double)stacks : 0, (double)(reads1 - reads0) / (double)n,
           (unsigned long long)(drops.n[0] + drops.n[1] + drops.n[2] + drops.n[3]));
    return 0;
}
