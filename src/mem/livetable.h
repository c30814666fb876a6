/* SPDX-License-Identifier: MIT */
/* livetable.h: the allocations the memory tracker attributes and that are still live:
 * address -> (size, stack). Open addressing with linear probing and backward-shift deletion
 * (no tombstones, so a table that sees a billion allocations and frees never degrades).
 * Entries are 16 bytes; sizes of 4 GiB and more are kept in a small side list. The caller
 * serialises every call (the tracker's lock). Address 0 is never stored. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uintptr_t addr; /* 0 = empty slot */
    uint32_t stack;
    uint32_t size32; /* LIVE_BIG: the size is in the side list */
} LiveSlot;

typedef struct {
    uintptr_t addr;
    uint64_t size;
} LiveBig;

typedef struct {
    LiveSlot *slots;
    size_t cap;     /* power of two (at least 1024), or 0 */
    unsigned shift; /* 72 - log2(cap): picks one of cap/256 runs of slots */
    size_t len;
    LiveBig *big;
    size_t nbig, bigcap;
} LiveTable;

#define LIVE_BIG UINT32_MAX

void livetable_init(LiveTable *t); /* empty, no allocation */
void livetable_fini(LiveTable *t);
/* What livetable_put replaced. */
typedef struct {
    bool present;
    uint64_t size;
    uint32_t stack;
} LiveOld;

/* Records addr (non-zero). An address already present is overwritten (a free ferret did
 * not see) and, when old is not NULL, what it held is returned there. Returns 0, or -1
 * when memory runs out (the table is unchanged). */
int livetable_put(LiveTable *t, uintptr_t addr, uint64_t size, uint32_t stack, LiveOld *old);
/* Removes addr; returns true and its size and stack if it was present. */
bool livetable_take(LiveTable *t, uintptr_t addr, uint64_t *size, uint32_t *stack);
/* Looks addr up without removing it. */
bool livetable_get(const LiveTable *t, uintptr_t addr, uint64_t *size, uint32_t *stack);
static inline size_t
livetable_len(const LiveTable *t)
{
    return t->len;
}
/* Bytes the table holds (slots and side list), for ferret's own accounting. */
size_t livetable_bytes(const LiveTable *t);
