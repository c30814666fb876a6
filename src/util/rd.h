/* SPDX-License-Identifier: MIT */
/* rd.h: reading fixed-width values at a byte offset of a buffer copied from elsewhere (a
 * target's memory, a file), without alignment or aliasing assumptions. The caller checks
 * that off + width lies inside the buffer. */
#pragma once
#include <stdint.h>
#include <string.h>

static inline uintptr_t
rd_ptr(const uint8_t *buf, int64_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static inline int32_t
rd_i32(const uint8_t *buf, int64_t off)
{
    int32_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static inline int64_t
rd_i64(const uint8_t *buf, int64_t off)
{
    int64_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static inline uint64_t
rd_u64(const uint8_t *buf, int64_t off)
{
    uint64_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}
