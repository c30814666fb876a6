/* SPDX-License-Identifier: MIT */
/* ffile_fmt.h: the constants of the .ferret file shared by ffile_write.c and ffile_read.c
 * only. docs/FORMAT.md is the spec; a change here changes it (and the format version). */
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"

/* File header (docs/FORMAT.md "Header"): 8 magic bytes, then u16 major, u16 minor (LE). */
#define FFILE_MAGIC "\x89" "FERRET\n"
#define FFILE_MAGIC_LEN 8
#define FFILE_HEADER_LEN 12

/* Chunk header (FORMAT.md "Chunks"): tag u8, stored length u32, raw length u32, CRC-32 u32
 * over the tag, both lengths and the stored bytes. */
#define FFILE_CHUNK_HEADER_LEN 13
enum {
    FFILE_CHUNK_RAW = 'D',     /* payload stored as is */
    FFILE_CHUNK_DEFLATE = 'Z', /* payload stored as a zlib stream */
    FFILE_CHUNK_END = 'E',     /* end marker: payload = table counts */
};
#define FFILE_CHUNK_MAX_RAW (64u << 20) /* readers refuse larger payloads */
#define FFILE_CHUNK_TARGET (4u << 20)   /* writers start a new chunk past this */

/* Sections of a payload (FORMAT.md "Sections"): tag, record count and byte length (varints),
 * then the records. Readers skip tags they do not know. */
enum {
    FFILE_SEC_INFO = 1,
    FFILE_SEC_META = 2,
    FFILE_SEC_STRS = 3,
    FFILE_SEC_FRAMES = 4,
    FFILE_SEC_STACKS = 5,
    FFILE_SEC_PROCS = 6,
    FFILE_SEC_THREADS = 7,
    FFILE_SEC_SERIES = 8,
    FFILE_SEC_SAMPLES = 9,
};

/* Sample record header byte (FORMAT.md "Samples"). */
enum {
    FFILE_S_FLAGS = 0x07,        /* SAMPLE_ON_CPU | SAMPLE_HAS_GIL | SAMPLE_PARTIAL */
    FFILE_S_THREAD = 1u << 3,    /* thread differs from the previous sample's: varint */
    FFILE_S_STACK = 1u << 4,     /* stack differs from this thread's last: zigzag delta */
    FFILE_S_WEIGHT = 1u << 5,    /* weight is not 1: zigzag */
    FFILE_S_SERIES = 1u << 6,    /* series differs from the previous sample's: byte */
    FFILE_S_FLAGS8 = 1u << 7,    /* flags use bits above the low three: whole byte */
};

/* The sample codec's per-thread "last stack in this chunk" (FORMAT.md "Samples"): last[t] is
 * valid while gen[t] equals the chunk's generation. Grows both arrays to n threads (new
 * entries invalid). Returns 0, or -1 when out of memory (arrays unchanged in size). */
static inline int
ffile_grow_last(StackId **last, uint32_t **gen, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    StackId *l = realloc(*last, n * sizeof *l);
    if (!l)
        return -1;
    *last = l;
    uint32_t *g = realloc(*gen, n * sizeof *g);
    if (!g)
        return -1;
    *gen = g;
    memset(g + *cap, 0, (n - *cap) * sizeof *g);
    *cap = n;
    return 0;
}
