/* SPDX-License-Identifier: MIT */
/* sample_cost.c: ferret's own cost per sampling moment, without the clock: attaches to PID
 * and takes N moments back to back with sampler_step (exactly what `ferret run` does at each
 * moment: the page snapshot, the walk, kernel states, stack interning), printing CPU
 * microseconds per moment and per thread stack, and reads per moment. Built by
 * `make bench-tools`; used by bench/sampler.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "profile/profile.h"
#include "sampler/sampler.h"

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
        fprintf(stderr, "usage: sample_cost PID MOMENTS\n");
        return 2;
    }
    pid_t pid = atoi(argv[1]);
    long n = atol(argv[2]);
    Err err;
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    SamplerOptions opt;
    sampler_options_init(&opt);
    Sampler *s = p ? sampler_new(pid, &opt, p, &err) : NULL;
    if (!s) {
        fprintf(stderr, "sample_cost: %s\n", err.msg);
        return 1;
    }
    double c0 = cpu_now();
    for (long i = 0; i < n; i++) {
        if (sampler_step(s, &err) < 0) {
            fprintf(stderr, "sample_cost: %s\n", err.msg);
            return 1;
        }
    }
    double cpu = cpu_now() - c0;
    SamplerStats st;
    sampler_stats(s, &st);
    printf("moments %ld threads/moment %.2f us/moment %.2f us/stack %.2f reads/moment %.2f "
           "dropped %llu\n",
           n, (double)st.samples / (double)n, cpu * 1e6 / (double)n,
           st.samples ? cpu * 1e6 / (double)st.samples : 0, (double)st.reads / (double)n,
           (unsigned long long)st.dropped);
    sampler_free(s);
    profile_free(p);
    return 0;
}
