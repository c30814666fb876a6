/* SPDX-License-Identifier: MIT */
/* sampling.c: exponential countdowns and the inverse-probability weights of sampling.h. */
#include "mem/sampling.h"

#include <math.h>

static uint64_t
next_u64(ByteSampler *s)
{
    /* xorshift64* (Vigna): small state, fast, good enough to place sampling points */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void
sampling_seed(ByteSampler *s, uint64_t seed, double mean_bytes)
{
    /* splitmix64 scrambles the seed so that thread ids close together start far apart */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    s->rng = z ? z : 0x9E3779B97F4A7C15ULL;
    s->countdown = sampling_next(s, mean_bytes);
}

int64_t
sampling_next(ByteSampler *s, double mean_bytes)
{
    /* u uniform in (0, 1]: 53 random bits, shifted so that log(u) is finite */
    double u = (double)((next_u64(s) >> 11) + 1) * 0x1.0p-53;
    double x = -log(u) * mean_bytes;
    if (!(x >= 1))
        return 1;
    if (x > 0x1.0p62)
        return INT64_C(1) << 62;
    return (int64_t)x;
}

void
sampling_weights(uint64_t n, double mean_bytes, int64_t *bytes, int64_t *count_fx)
{
    if (mean_bytes <= 0 || n == 0) {
        *bytes = (int64_t)n;
        *count_fx = MEM_COUNT_ONE;
        return;
    }
    /* p = 1 - exp(-n/mean), via expm1 so that n << mean keeps its precision */
    double p = -expm1(-(double)n / mean_bytes);
    if (!(p > 0))
        p = 0x1.0p-60;
    double b = (double)n / p, c = MEM_COUNT_ONE / p;
    *bytes = b > 0x1.0p62 ? INT64_C(1) << 62 : llround(b);
    *count_fx = c > 0x1.0p62 ? INT64_C(1) << 62 : llround(c);
}
