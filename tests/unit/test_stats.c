/* SPDX-License-Identifier: MIT */
/* test_stats.c: every statistic of bench/stats.c against numpy/scipy reference values
 * (tests/data/stats_ref.py writes tests/data/stats_ref.h), plus hand-checked small cases. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "../data/stats_ref.h"
#include "bench/stats.h"
#include "check.h"

/* relative tolerance for values that went through different but exact arithmetic */
#define REL(x) (1e-12 * fabs(x) + 1e-300)

static void
check_summaries(void)
{
    for (size_t i = 0; i < ARRAY_LEN(ref_summaries); i++) {
        const RefSummary *r = &ref_summaries[i];
        int before = check_failures;
        StatsSummary s;
        Err err;
        CHECK_EQ_INT(stats_summarize(r->x, r->n, &s, &err), 0);
        CHECK_EQ_SIZE(s.n, r->n);
        CHECK_NEAR(s.mean, r->mean, REL(r->mean));
        CHECK_NEAR(s.stdev, r->stdev, 1e-10 * r->stdev + 1e-300);
        CHECK_NEAR(s.median, r->median, REL(r->median));
        CHECK_NEAR(s.mad, r->mad, REL(r->mad));
        CHECK_NEAR(s.min, r->min, 0);
        CHECK_NEAR(s.max, r->max, 0);
        CHECK_NEAR(s.p5, r->p5, REL(r->p5));
        CHECK_NEAR(s.p25, r->p25, REL(r->p25));
        CHECK_NEAR(s.p75, r->p75, REL(r->p75));
        CHECK_NEAR(s.p95, r->p95, REL(r->p95));
        CHECK_NEAR(s.ci_lo, r->ci_lo, 0);
        CHECK_NEAR(s.ci_hi, r->ci_hi, 0);
        CHECK_NEAR(s.ci_level, r->ci_level, 1e-9);
        CHECK_EQ_SIZE(s.outliers_low, r->out_lo);
        CHECK_EQ_SIZE(s.outliers_high, r->out_hi);
        if (check_failures != before)
            fprintf(stderr, "  (sample %s)\n", r->name);
    }
}

static void
check_pairs(void)
{
    for (size_t i = 0; i < ARRAY_LEN(ref_pairs); i++) {
        const RefPair *r = &ref_pairs[i];
        int before = check_failures;
        Err err;
        StatsMwu mw;
        StatsMwuMethod m = r->exact ? STATS_MWU_EXACT : STATS_MWU_ASYMPTOTIC;
        CHECK_EQ_INT(stats_mann_whitney_method(r->a, r->na, r->b, r->nb, m, &mw, &err), 0);
        CHECK_NEAR(mw.u, r->u, 0);
        CHECK_NEAR(mw.p, r->p, 1e-9 * r->p + 1e-300);
        /* the automatic choice agrees with the reference's method for these samples */
        CHECK_EQ_INT(stats_mann_whitney(r->a, r->na, r->b, r->nb, &mw, &err), 0);
        CHECK_EQ_INT(mw.method, m);
        StatsRatio q;
        CHECK_EQ_INT(stats_ratio(r->a, r->na, r->b, r->nb, &q, &err), 0);
        CHECK_NEAR(q.ratio, r->ratio, 1e-12 * r->ratio);
        CHECK_NEAR(q.lo, r->lo, 1e-12 * r->lo);
        CHECK_NEAR(q.hi, r->hi, 1e-12 * r->hi);
        CHECK_NEAR(q.p, r->ratio_p, 1e-9 * r->ratio_p + 1e-300);
        CHECK(q.lo <= q.ratio && q.ratio <= q.hi);
        CHECK_EQ_INT(q.significant, r->ratio_p < 0.05);
        /* the interval excludes 1 exactly when the test rejects (no pairwise difference is 0) */
        CHECK_EQ_INT(q.significant, q.lo > 1 || q.hi < 1);
        if (check_failures != before)
            fprintf(stderr, "  (pair %s)\n", r->name);
    }
}

static void
check_small_known(void)
{
    Err err;
    StatsSummary s;
    /* 1..9: median 5, MAD 2, stdev sqrt(7.5); n = 9 gives the interval [x(2), x(8)] */
    const double x[] = {9, 1, 8, 2, 7, 3, 6, 4, 5};
    CHECK_EQ_INT(stats_summarize(x, ARRAY_LEN(x), &s, &err), 0);
    CHECK_NEAR(s.median, 5, 0);
    CHECK_NEAR(s.mad, 2, 0);
    CHECK_NEAR(s.stdev, sqrt(7.5), 1e-15);
    CHECK_NEAR(s.ci_lo, 2, 0);
    CHECK_NEAR(s.ci_hi, 8, 0);
    CHECK_NEAR(s.ci_level, 1 - 2 * 10.0 / 512, 1e-15);
    /* errors: empty, non-finite */
    CHECK_EQ_INT(stats_summarize(x, 0, &s, &err), -1);
    CHECK_EQ_INT(err.kind, ERR_USAGE);
    const double bad[] = {1, NAN};
    CHECK_EQ_INT(stats_summarize(bad, 2, &s, &err), -1);
    StatsRatio q;
    const double neg[] = {-1, 2};
    CHECK_EQ_INT(stats_ratio(x, 3, neg, 2, &q, &err), -1);
    CHECK_EQ_INT(stats_ratio(x, 0, x, 2, &q, &err), -1);
    StatsMwu mw;
    CHECK_EQ_INT(stats_mann_whitney_method(x, 40, x, 40, STATS_MWU_EXACT, &mw, &err), -1);
    /* all values tied: p = 1, ratio exactly 1 */
    const double same[] = {2, 2, 2, 2};
    CHECK_EQ_INT(stats_ratio(same, 4, same, 4, &q, &err), 0);
    CHECK_NEAR(q.ratio, 1, 0);
    CHECK_NEAR(q.p, 1, 0);
    CHECK(!q.significant);
    /* completely separated samples of 5 and 5: exact p = 2 / C(10, 5) */
    const double lo5[] = {1, 2, 3, 4, 5}, hi5[] = {6, 7, 8, 9, 10};
    CHECK_EQ_INT(stats_mann_whitney(lo5, 5, hi5, 5, &mw, &err), 0);
    CHECK_NEAR(mw.p, 2.0 / 252, 1e-15);
    CHECK_NEAR(mw.u, 0, 0);
    /* a 2x shift: ratio exactly 2 */
    const double dbl[] = {2, 4, 6, 8, 10};
    CHECK_EQ_INT(stats_ratio(lo5, 5, dbl, 5, &q, &err), 0);
    CHECK_NEAR(q.ratio, 2, 1e-12);
}

/* splitmix64: a fixed seed, the same draws on every machine */
static uint64_t rng_state = 0x5eed;

static double
uniform01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* in (0, 1) */
}

/* The interval of the ratio claims a level (q.level): samples of both sides drawn from one
 * continuous distribution (true ratio 1) must have 1 inside it that often. For 2 or 3
 * values a side no interval reaches 95%; the claim is then the exact coverage of the range
 * of the pairwise ratios, and the test can never be significant there, so an interval that
 * excludes 1 never silently contradicts a "not significant". */
static void
check_ratio_coverage(void)
{
    static const struct {
        size_t na, nb;
        double level; /* exact coverage claimed: 1 - 2 P(U <= k - 1) */
    } cases[] = {
        {2, 2, 1 - 2.0 / 6},  /* range of the 4 ratios: 67% */
        {2, 3, 1 - 2.0 / 10}, /* 80% */
        {3, 3, 1 - 2.0 / 20}, /* 90% */
        {3, 4, 1 - 2.0 / 35}, /* 94.3%: still below 95% */
        {4, 4, 1 - 2.0 / 70}, /* 97.1%: the first at 95% or more, and p can reach 0.029 */
        {6, 6, 0},            /* exact level checked against the simulation only */
        {10, 10, 0},
    };
    enum { TRIALS = 20000 };
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        size_t na = cases[c].na, nb = cases[c].nb;
        size_t covered = 0, disagree = 0;
        double level = -1;
        int before = check_failures;
        for (int t = 0; t < TRIALS; t++) {
            double a[10], b[10];
            for (size_t i = 0; i < na; i++) /* log-normal-ish: exp of a uniform sum */
                a[i] = exp(uniform01() + uniform01() - 1) * 1e-3;
            for (size_t i = 0; i < nb; i++)
                b[i] = exp(uniform01() + uniform01() - 1) * 1e-3;
            StatsRatio q;
            Err err;
            CHECK_EQ_INT(stats_ratio(a, na, b, nb, &q, &err), 0);
            if (level < 0)
                level = q.level;
            CHECK_NEAR(q.level, level, 0); /* one level for given sizes */
            covered += q.lo <= 1 && 1 <= q.hi;
            disagree += q.significant != (q.lo > 1 || q.hi < 1);
            if (q.level < STATS_LEVEL)
                CHECK(!q.significant && q.p_min >= 1 - STATS_LEVEL);
        }
        if (cases[c].level > 0)
            CHECK_NEAR(level, cases[c].level, 1e-12);
        else
            CHECK(level >= STATS_LEVEL);
        /* the observed coverage is the claimed level, within 4 standard errors */
        double seen = (double)covered / TRIALS;
        CHECK_NEAR(seen, level, 4 * sqrt(level * (1 - level) / TRIALS));
        /* at 95% or more the interval excludes 1 exactly when the test rejects */
        if (level >= STATS_LEVEL)
            CHECK_EQ_SIZE(disagree, 0);
        if (check_failures != before)
            fprintf(stderr, "  (%zu vs %zu: claimed %.4f, seen %.4f)\n", na, nb, level, seen);
    }
}

int
main(void)
{
    for (size_t i = 0; i < ARRAY_LEN(ref_binom); i++)
        CHECK_NEAR(stats_binom_half_cdf(ref_binom[i].k, ref_binom[i].n), ref_binom[i].cdf,
                   1e-11 * ref_binom[i].cdf + 1e-300);
    for (size_t i = 0; i < ARRAY_LEN(ref_norm); i++)
        CHECK_NEAR(stats_norm_quantile(ref_norm[i].p), ref_norm[i].z, 1e-9);
    check_summaries();
    check_pairs();
    check_small_known();
    check_ratio_coverage();
    return check_report();
}
