/* SPDX-License-Identifier: MIT */
/* clock.c: choosing the tracer's tick source and measuring its rate (see clock.h). */
#include "ext/clock.h"

#include <stdio.h>
#include <string.h>

/* Both flags mean the TSC ticks at one rate in every P-state and C-state, and Linux keeps
 * it synchronised across CPUs (arch/x86/kernel/tsc.c marks it unstable otherwise, and the
 * clocksource is then not "tsc"). */
static bool
tsc_usable(void)
{
#if defined(__x86_64__)
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    char src[64] = "";
    if (f) {
        if (!fgets(src, sizeof src, f))
            src[0] = '\0';
        fclose(f);
    }
    if (strncmp(src, "tsc", 3) != 0)
        return false;
    f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
#else
    return false;
#endif
}

static int64_t
real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The rate is measured from the first calibration point of the process, so only the
 * first ~20 ms of a process's first trace may have to wait for it; later ones never do. */
static bool origin_set;
static uint64_t origin_ticks;
static int64_t origin_mono_ns;

void
clock_init(TClock *c)
{
    static int usable = -1; /* /proc is read once per process */
    if (usable < 0)
        usable = tsc_usable();
    c->use_tsc = usable;
    c->real0_ns = real_ns();
    c->mono0_ns = clock_mono_ns();
    c->tick0 = clock_ticks(c);
    c->ns_per_tick = 1.0;
    if (!origin_set) {
        origin_set = true;
        origin_ticks = c->tick0;
        origin_mono_ns = c->mono0_ns;
    }
}

void
clock_rate(TClock *c)
{
    if (!c->use_tsc) {
        c->ns_per_tick = 1.0;
        return;
    }
    int64_t wait_ns = 20000000 - (clock_mono_ns() - origin_mono_ns);
    if (wait_ns > 0) {
        struct timespec ts = {0, (long)wait_ns};
        nanosleep(&ts, NULL);
    }
    int64_t mono = clock_mono_ns();
    uint64_t ticks = clock_ticks(c);
    if (ticks > origin_ticks)
        c->ns_per_tick = (double)(mono - origin_mono_ns) / (double)(ticks - origin_ticks);
}

double
clock_estimate(TClock *c)
{
    if (!c->use_tsc)
        return 1.0;
    int64_t elapsed = clock_mono_ns() - origin_mono_ns;
    if (elapsed < 1000000) {
        struct timespec ts = {0, 1000000 - elapsed};
        nanosleep(&ts, NULL);
    }
    int64_t mono = clock_mono_ns();
    uint64_t ticks = clock_ticks(c);
    return ticks > origin_ticks ? (double)(mono - origin_mono_ns) / (double)(ticks - origin_ticks)
                                : 1.0;
}
