/* SPDX-License-Identifier: MIT */
/* clock.h: the tracer's event clock. On x86-64 with an invariant TSC (constant_tsc and
 * nonstop_tsc) a tick is one TSC cycle: rdtsc costs ~9 ns against ~21 ns for a vDSO
 * clock_gettime(CLOCK_MONOTONIC) on the machines we measured. Elsewhere a tick is one
 * nanosecond of CLOCK_MONOTONIC. Ticks become nanoseconds through a rate measured between
 * two (tick, monotonic) pairs: the tracer's start and the moment results are taken. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

typedef struct {
    bool use_tsc;       /* ticks are TSC cycles; otherwise monotonic ns */
    uint64_t tick0;     /* ticks at calibration start */
    int64_t mono0_ns;   /* CLOCK_MONOTONIC at calibration start */
    int64_t real0_ns;   /* CLOCK_REALTIME at calibration start */
    double ns_per_tick; /* 1 until clock_rate() has measured it */
} TClock;

static inline int64_t
clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t
clock_ticks(const TClock *c)
{
#if defined(__x86_64__)
    if (c->use_tsc)
        return __rdtsc();
#endif
    (void)c;
    return (uint64_t)clock_mono_ns();
}

/* Picks the tick source (checks /proc/cpuinfo once) and records the start pair. */
void clock_init(TClock *c);
/* Measures ns_per_tick from the process's first calibration point to now; until 20 ms have
 * passed since that point it sleeps for the rest, so the rate is good to ~0.01%. */
void clock_rate(TClock *c);
/* A rough ns_per_tick (at least 1 ms of measurement) without touching c. */
double clock_estimate(TClock *c);
/* Ticks since the start, in nanoseconds (after clock_rate). */
static inline int64_t
clock_ns_since_start(const TClock *c, uint64_t ticks)
{
    return (int64_t)((double)(int64_t)(ticks - c->tick0) * c->ns_per_tick);
}
static inline int64_t
clock_ticks_to_ns(const TClock *c, uint64_t ticks)
{
    return (int64_t)((double)ticks * c->ns_per_tick);
}
