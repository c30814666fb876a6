/* SPDX-License-Identifier: MIT */
/* linetable.c: line-table decoders for CPython 3.9 to 3.13 (format notes in
 * CPython's Objects/lnotab_notes.txt and Objects/locations.md of each version). Every
 * decoder walks address ranges [start, end) with a running line, like the interpreter's
 * PyCodeAddressRange, and answers for the range that contains addrq. */
#include "sampler/linetable.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* Lines are ints; a table from the target can drive a running line past that (a garbled
 * or hostile table): such a line is no line (-1), never an overflow. */
static bool
line_ok(int64_t line)
{
    return line >= INT_MIN && line <= INT_MAX;
}

/* 3.9 co_lnotab: (byte offset increment, signed line increment) pairs; the line of addrq is
 * the running line after every pair whose cumulative offset does not exceed addrq. */
static int
line_lnotab(const uint8_t *t, size_t len, int firstlineno, int addrq)
{
    int64_t line = firstlineno;
    long addr = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += t[i];
        if (addr > addrq)
            break;
        line += (int8_t)t[i + 1];
        if (!line_ok(line))
            return -1;
    }
    return (int)line;
}

/* 3.10 co_linetable: (unsigned byte length, signed line delta) pairs, a delta of -128
 * meaning the range has no line; zero-length ranges only carry line deltas. */
static int
line_310(const uint8_t *t, size_t len, int firstlineno, int addrq)
{
    if (addrq < 0)
        return firstlineno;
    size_t i = 0;
    long start = -1, end = 0;
    int64_t computed = firstlineno;
    int line = -1;
    while (end <= addrq) {
        do {
            if (i + 1 >= len)
                return -1;
            start = end;
            end += t[i];
            int8_t delta = (int8_t)t[i + 1];
            i += 2;
            if (delta == -128) {
                line = -1;
            } else {
                computed += delta;
                if (!line_ok(computed))
                    return -1;
                line = (int)computed;
            }
        } while (start == end);
    }
    return line;
}

/* Reads a 6-bit-group varint (bit 6 = more) starting at t[*i]; false if it runs off the end
 * or overflows. */
static bool
varint6(const uint8_t *t, size_t len, size_t *i, unsigned *out)
{
    unsigned val = 0, shift = 0;
    for (;;) {
        if (*i >= len || shift > 24)
            return false;
        uint8_t b = t[(*i)++];
        val |= (unsigned)(b & 63) << shift;
        if (!(b & 64))
            break;
        shift += 6;
    }
    *out = val;
    return true;
}

/* 3.11+ location table: each entry starts with a byte 1CCCCLLL (code C, length L+1 code
 * units); codes 13 and 14 carry a signed varint line delta, 10-12 a delta of 0-2, 15 means
 * no location, 0-9 are same-line short forms. Continuation bytes have the top bit clear. */
static int
line_locations(const uint8_t *t, size_t len, int firstlineno, int addrq)
{
    if (addrq < 0)
        return firstlineno;
    size_t i = 0;
    long end = 0;
    int64_t computed = firstlineno;
    int line = -1;
    while (end <= addrq) {
        if (i >= len)
            return -1;
        uint8_t first = t[i];
        int code = (first >> 3) & 15;
        int delta = 0;
        if (code == 13 || code == 14) {
            size_t j = i + 1;
            unsigned u;
            if (!varint6(t, len, &j, &u))
                return -1;
            delta = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
        } else if (code >= 10 && code <= 12) {
            delta = code - 10;
        }
        computed += delta;
        if (!line_ok(computed))
            return -1;
        line = (first >> 3) == 0x1f ? -1 : (int)computed;
        end += ((first & 7) + 1) * 2;
        do
            i++;
        while (i < len && (t[i] & 128) == 0);
    }
    return line;
}

int
linetable_line(LayoutLinetableKind kind, const uint8_t *table, size_t len, int firstlineno,
               int addrq)
{
    switch (kind) {
    case LAYOUT_LINETABLE_LNOTAB:
        return line_lnotab(table, len, firstlineno, addrq);
    case LAYOUT_LINETABLE_310:
        return line_310(table, len, firstlineno, addrq);
    case LAYOUT_LINETABLE_LOCATIONS:
        return line_locations(table, len, firstlineno, addrq);
    }
    return -1;
}
