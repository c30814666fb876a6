/* SPDX-License-Identifier: MIT */
/* satmath.h: int64_t arithmetic that sticks at the limits instead of overflowing, for
 * writers that scale weights read from files (weights times the sampling interval). */
#pragma once
#include <stdint.h>

static inline int64_t
sat_mul_i64(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
    return r;
}

static inline int64_t
sat_add_i64(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b < 0 ? INT64_MIN : INT64_MAX;
    return r;
}
