/* SPDX-License-Identifier: MIT */
/* stats.h: the statistics behind ferret bench, compare and history. Pure functions over
 * arrays of doubles: no I/O, no globals, so the extension (ferret.bench() from Python) can
 * call them too. Definitions follow numpy/scipy so tests/data/stats_ref.py can check them:
 * sample standard deviation (ddof=1), numpy's linear percentiles, unscaled MAD, the
 * order-statistic (binomial) confidence interval of the median, Tukey's fences for outliers,
 * scipy's two-sided Mann-Whitney U, and a Hodges-Lehmann ratio with its rank-based interval. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Confidence level used everywhere a level is implied (CIs, significance at 1 - level). */
#define STATS_LEVEL 0.95

typedef struct {
    size_t n;
    double mean, stdev; /* stdev: sample (n - 1); 0 when n < 2 */
    double median, mad; /* mad: median of |x - median|, unscaled */
    double min, max;
    double p5, p25, p75, p95;
    double ci_lo, ci_hi; /* STATS_LEVEL interval of the median (stats_median_ci) */
    double ci_level;     /* its exact coverage; below STATS_LEVEL when n < 6 */
    size_t outliers_low, outliers_high; /* beyond Tukey's fences: Q1 - 1.5 IQR, Q3 + 1.5 IQR */
} StatsSummary;

/* Summarises x[0..n) (n >= 1, any order; x is not modified). Returns 0, or -1 with *err set
 * (ERR_NOMEM; ERR_USAGE when n is 0 or a value is not finite). */
int stats_summarize(const double *x, size_t n, StatsSummary *out, Err *err);

double stats_mean(const double *x, size_t n);  /* n >= 1 */
double stats_stdev(const double *x, size_t n); /* sample standard deviation; 0 when n < 2 */
/* Sorts x in place, ascending. */
void stats_sort(double *x, size_t n);
/* numpy.percentile(x, pct) with the default linear method; sorted input, n >= 1, pct in
 * [0, 100]. */
double stats_percentile_sorted(const double *sorted, size_t n, double pct);
double stats_median_sorted(const double *sorted, size_t n);
/* Median absolute deviation from the median (scipy.stats.median_abs_deviation, scale 1).
 * scratch holds n doubles. */
double stats_mad_sorted(const double *sorted, size_t n, double *scratch);
/* Distribution-free interval of the median at `level`: the order statistics x(l) and
 * x(n+1-l) with l the largest index such that P(B <= l - 1) <= (1 - level)/2 for
 * B ~ Binomial(n, 1/2). When even l = 1 does not reach the level (n < 6 at 95%), the
 * interval is [min, max]. *coverage receives the exact coverage 1 - 2 P(B <= l - 1). */
void stats_median_ci_sorted(const double *sorted, size_t n, double level, double *lo, double *hi,
                            double *coverage);
/* P(B <= k) for B ~ Binomial(n, 1/2). */
double stats_binom_half_cdf(size_t k, size_t n);
/* Standard normal CDF and its inverse (p in (0, 1)). */
double stats_norm_cdf(double z);
double stats_norm_quantile(double p);

typedef enum { STATS_MWU_EXACT, STATS_MWU_ASYMPTOTIC } StatsMwuMethod;

typedef struct {
    double u;      /* U statistic of the first sample (scipy's U1) */
    double p;      /* two-sided p-value */
    StatsMwuMethod method;
} StatsMwu;

/* Two-sided Mann-Whitney U test of a against b (scipy.stats.mannwhitneyu with
 * alternative='two-sided'). Exact null distribution when there are no ties and
 * na + nb <= STATS_MWU_EXACT_MAX; otherwise the normal approximation with tie correction and
 * continuity correction. Returns 0, or -1 with *err set (ERR_NOMEM, or ERR_USAGE if a sample
 * is empty). */
#define STATS_MWU_EXACT_MAX 60
int stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, StatsMwu *out,
                       Err *err);
/* The same with the method forced (for tests against scipy's method='exact'/'asymptotic').
 * The exact method ignores ties and needs na + nb <= STATS_MWU_EXACT_MAX. */
int stats_mann_whitney_method(const double *a, size_t na, const double *b, size_t nb,
                              StatsMwuMethod method, StatsMwu *out, Err *err);

typedef struct {
    double ratio;  /* b relative to a: median of all pairwise ratios b_j / a_i */
    double lo, hi; /* its STATS_LEVEL interval (inverted Mann-Whitney test on logs) */
    /* the coverage of [lo, hi] for a shift of continuous distributions: exact with the exact
     * method, STATS_LEVEL with the normal approximation. Below STATS_LEVEL only when the
     * samples are too small for any interval at that level (2 vs 2 to 3 vs 3 and the
     * like); [lo, hi] is then the range of all pairwise ratios, which covers
     * 1 - 2 / C(na + nb, na) (3 vs 3: 90%) */
    double level;
    double p;         /* two-sided Mann-Whitney p-value of a against b */
    double p_min;     /* the smallest p the exact test can give at these sizes, 2 / C(na + nb,
                       * na): at or above 1 - STATS_LEVEL no difference can be significant */
    bool significant; /* p < 1 - STATS_LEVEL */
    StatsMwuMethod method;
} StatsRatio;

/* Compares two samples of positive values (times): the Hodges-Lehmann estimate of the ratio
 * b/a (exp of the median pairwise difference of logs), the interval of pairwise differences
 * whose exclusion the Mann-Whitney test would reject at STATS_LEVEL (or, when no shift can
 * be rejected at these sizes, the range of all of them, with its lower level), and the test.
 * Returns 0, or -1 with *err set (ERR_USAGE if a value is not positive and finite, ERR_NOMEM). */
int stats_ratio(const double *a, size_t na, const double *b, size_t nb, StatsRatio *out,
                Err *err);
