/* SPDX-License-Identifier: MIT */
/* check.h: the unit-test harness. Each CHECK prints file:line and both values on failure
 * and the test goes on; check_report() prints the tally and is main's return value. */
#pragma once
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK_FAIL_(fmt, ...)                                                                      \
    (check_failures++, fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__))

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond))                                                                               \
            CHECK_FAIL_("CHECK(%s) failed", #cond);                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        check_count++;                                                                             \
        if (a_ != b_)                                                                              \
            CHECK_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                                 \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        check_count++;                                                                             \
        if (a_ != b_)                                                                              \
            CHECK_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_);                      \
    } while (0)

#define CHECK_EQ_SIZE(a, b) CHECK_EQ_U64(a, b)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        check_count++;                                                                             \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            CHECK_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",                  \
                        b_ ? b_ : "(null)");                                                       \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                             \
        check_count++;                                                                             \
        if (!(fabs(a_ - b_) <= t_))                                                                \
            CHECK_FAIL_("%s ~= %s: %.17g vs %.17g (tolerance %g)", #a, #b, a_, b_, t_);            \
    } while (0)

static inline int
check_report(void)
{
    if (check_failures)
        fprintf(stderr, "%d of %d checks failed\n", check_failures, check_count);
    else
        printf("  %d checks passed\n", check_count);
    return check_failures ? 1 : 0;
}
