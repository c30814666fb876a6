/* SPDX-License-Identifier: MIT */
/* The clock reading the C programs of bench/ share. */
#ifndef FERRET_BENCH_CLOCK_H
#define FERRET_BENCH_CLOCK_H

#include <time.h>

/* clock's reading in nanoseconds (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...). */
static inline long long
clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
