/* SPDX-License-Identifier: MIT */
/* test_mem_sampling.c: the byte sampler: exponential countdowns with the right mean, each
 * allocation sampled with probability 1 - exp(-n/mean), and inverse-probability weights
 * whose sums estimate the bytes and allocations without bias. Seeds are fixed, so every
 * run draws the same numbers; tolerances are several standard errors wide. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "mem/sampling.h"

static void
test_weights(void)
{
    int64_t b, n;
    sampling_weights(1000, 0, &b, &n); /* exact mode */
    CHECK_EQ_INT(b, 1000);
    CHECK_EQ_INT(n, MEM_COUNT_ONE);
    sampling_weights(0, 4096, &b, &n);
    CHECK_EQ_INT(b, 0);
    sampling_weights(4096, 4096, &b, &n); /* p = 1 - 1/e */
    CHECK_NEAR(b, 4096 / (1 - exp(-1)), 1);
    CHECK_NEAR(n, MEM_COUNT_ONE / (1 - exp(-1)), 1);
    sampling_weights(16, 1 << 20, &b, &n); /* n << mean: p ~ n/mean, weight ~ mean */
    CHECK_NEAR(b, (double)(1 << 20), 10);
    CHECK_NEAR((double)n / MEM_COUNT_ONE, (double)(1 << 20) / 16, 1);
    sampling_weights(1 << 30, 65536, &b, &n); /* n >> mean: p = 1 */
    CHECK_EQ_INT(b, 1 << 30);
    CHECK_EQ_INT(n, MEM_COUNT_ONE);
}

static void
test_countdown_mean(void)
{
    ByteSampler s;
    sampling_seed(&s, 0, 65536);
    double sum = 0, sumsq = 0;
    int64_t lo = INT64_MAX;
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        int64_t x = sampling_next(&s, 65536);
        sum += (double)x;
        sumsq += (double)x * (double)x;
        if (x < lo)
            lo = x;
    }
    double mean = sum / N, var = sumsq / N - mean * mean;
    CHECK_NEAR(mean, 65536, 65536 * 0.01); /* standard error 0.22% */
    CHECK_NEAR(sqrt(var), 65536, 65536 * 0.02); /* exponential: sd = mean */
    CHECK(lo >= 1);
    CHECK(s.countdown != 0 || s.rng != 0);
    sampling_seed(&s, 0, 1); /* a one-byte interval still draws at least 1 */
    CHECK(sampling_next(&s, 1) >= 1);
}

/* The probability that an allocation of n bytes is sampled, whatever came before. */
static void
test_probability(void)
{
    static const size_t sizes[] = {64, 4096, 65536, 200000};
    const double mean = 65536;
    for (size_t k = 0; k < ARRAY_LEN(sizes); k++) {
        ByteSampler s;
        sampling_seed(&s, 42 + k, mean);
        int hits = 0;
        enum { N = 400000 };
        for (int i = 0; i < N; i++) {
            sampling_take(&s, 1000, mean); /* unrelated traffic in between */
            hits += sampling_take(&s, sizes[k], mean);
        }
        double p = 1 - exp(-(double)sizes[k] / mean);
        double se = sqrt(p * (1 - p) / N);
        CHECK_NEAR((double)hits / N, p, 5 * se + 1e-6);
    }
}

/* Sampled weights estimate total bytes and counts of a mixed workload. */
static void
test_unbiased(void)
{
    const double mean = 32768;
    ByteSampler s;
    sampling_seed(&s, 7, mean);
    uint64_t state = 1;
    double true_b = 0, true_n = 0, est_b = 0, est_n = 0, big_true = 0, big_est = 0;
    for (int i = 0; i < 3000000; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = (state >> 33) % 3 == 0 ? 24 + (state >> 40) % 200 : 512 + (state >> 44) % 4096;
        if (i % 5000 == 0)
            n = 1 << 20; /* a few big blocks */
        true_b += (double)n;
        true_n += 1;
        if (n == 1 << 20)
            big_true += (double)n;
        if (sampling_take(&s, n, mean)) {
            int64_t b, c;
            sampling_weights(n, mean, &b, &c);
            est_b += (double)b;
            est_n += (double)c / MEM_COUNT_ONE;
            if (n == 1 << 20)
                big_est += (double)b;
        }
    }
    /* ~180k sampling points: relative standard error ~0.25% */
    CHECK_NEAR(est_b / true_b, 1.0, 0.015);
    CHECK_NEAR(est_n / true_n, 1.0, 0.03);
    /* 1 MiB blocks with a 32 KiB interval are sampled with p = 1 - e^-32: exactly */
    CHECK_NEAR(big_est / big_true, 1.0, 1e-9);
}

int
main(void)
{
    test_weights();
    test_countdown_mean();
    test_probability();
    test_unbiased();
    return check_report();
}
