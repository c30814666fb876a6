/* SPDX-License-Identifier: MIT */
/* varint.h: unsigned LEB128 varints and zigzag signed mapping, as used by the .ferret file
 * (docs/FORMAT.md) and the pprof encoder (protobuf wire format uses the same varints). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10 /* bytes needed for any uint64_t */

static inline size_t
varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes v into buf (at least VARINT_MAX bytes). Returns the bytes written. */
static inline size_t
varint_put(uint8_t *buf, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint from p[0..avail). Returns the bytes consumed, or 0 when the input is
 * truncated or longer than a uint64_t can hold. Untrusted input is fine. */
static inline size_t
varint_get(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < avail && i < VARINT_MAX; i++) {
        uint64_t b = p[i] & 0x7f;
        if (i == 9 && b > 1)
            return 0;
        v |= b << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

static inline uint64_t
zigzag_enc(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
zigzag_dec(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
