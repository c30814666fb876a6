/* SPDX-License-Identifier: MIT */
/* sampling.h: byte sampling for the memory tracker. Each thread counts down a random number
 * of bytes drawn from an exponential distribution whose mean is the sampling interval; the
 * allocation that crosses zero is sampled. That makes every byte a sampling point with
 * probability 1/mean, independently (a Poisson process over the bytes allocated), so an
 * allocation of n bytes is sampled with probability p(n) = 1 - exp(-n / mean) whatever came
 * before it, and n / p(n) bytes and 1 / p(n) allocations are unbiased estimates of what it
 * stands for. Pure and allocation-free: the hooks call it from inside malloc. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts are kept in fixed point so that estimated counts (1 / p) add up without drift. */
#define MEM_COUNT_ONE 1024

typedef struct {
    int64_t countdown; /* bytes left before the next sample; <= 0 when unseeded */
    uint64_t rng;      /* xorshift state; never 0 once seeded */
} ByteSampler;

/* Seeds s (seed may be anything, 0 included) and draws its first countdown. */
void sampling_seed(ByteSampler *s, uint64_t seed, double mean_bytes);
/* Draws the next countdown: an exponential variate with the given mean, at least 1. */
int64_t sampling_next(ByteSampler *s, double mean_bytes);

/* Charges n bytes to the countdown; true when this allocation is sampled (the countdown is
 * redrawn then). s must be seeded. */
static inline bool
sampling_take(ByteSampler *s, size_t n, double mean_bytes)
{
    s->countdown -= (int64_t)n;
    if (s->countdown > 0)
        return false;
    s->countdown = sampling_next(s, mean_bytes);
    return true;
}

/* Estimated bytes and fixed-point count a sampled allocation of n bytes stands for. With
 * mean_bytes <= 0 (exact mode) it is n and MEM_COUNT_ONE. Deterministic, so the same values
 * can be recomputed when the allocation is freed. */
void sampling_weights(uint64_t n, double mean_bytes, int64_t *bytes, int64_t *count_fx);
