/* SPDX-License-Identifier: MIT */
/* livetable.c: the open-addressing table of livetable.h. */
#include "mem/livetable.h"

#include <stdlib.h>
#include <string.h>

/* Blocks born and freed together sit side by side in memory (pymalloc's pools, glibc's
 * bins), so the slot keeps each 4 KiB page's blocks together: the page number is scrambled
 * (Fibonacci hashing) and picks a run of 256 slots, the 16-byte offset within the page
 * picks the slot in it. A loop that churns objects then touches a few cache lines of the
 * table instead of one random line per allocation; with fully random slots the table's
 * cache misses cost more than everything else the tracker does. */
static inline size_t
slot_of(const LiveTable *t, uintptr_t addr)
{
    uint64_t page = (uint64_t)(addr >> 12) * 0x9E3779B97F4A7C15ULL;
    return (size_t)(((page >> t->shift) << 8) + ((addr >> 4) & 0xff)) & (t->cap - 1);
}

static bool
big_find(const LiveTable *t, uintptr_t addr, size_t *at)
{
    for (size_t i = 0; i < t->nbig; i++) {
        if (t->big[i].addr == addr) {
            *at = i;
            return true;
        }
    }
    return false;
}

static void
big_drop(LiveTable *t, uintptr_t addr)
{
    size_t i;
    if (big_find(t, addr, &i))
        t->big[i] = t->big[--t->nbig];
}

void
livetable_init(LiveTable *t)
{
    memset(t, 0, sizeof *t);
}

void
livetable_fini(LiveTable *t)
{
    free(t->slots);
    free(t->big);
    memset(t, 0, sizeof *t);
}

static int
grow(LiveTable *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    LiveSlot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    LiveSlot *old = t->slots;
    size_t ocap = t->cap;
    t->slots = ns;
    t->cap = ncap;
    t->shift = 64 + 8; /* 256-slot runs: the page picks one of cap / 256 */
    for (size_t c = ncap; c > 1; c >>= 1)
        t->shift--;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].addr)
            continue;
        size_t j = slot_of(t, old[i].addr);
        while (ns[j].addr)
            j = (j + 1) & (ncap - 1);
        ns[j] = old[i];
    }
    free(old);
    return 0;
}

static uint64_t
size_of(const LiveTable *t, const LiveSlot *s)
{
    size_t i;
    if (s->size32 != LIVE_BIG)
        return s->size32;
    return big_find(t, s->addr, &i) ? t->big[i].size : LIVE_BIG;
}

int
livetable_put(LiveTable *t, uintptr_t addr, uint64_t size, uint32_t stack, LiveOld *old)
{
    if (old)
        old->present = false;
    /* keep the load at most 3/4: in exact mode the table is ferret's largest memory cost
     * (an entry per live block), and with page-local slots probe runs stay short anyway */
    if ((t->len + 1) * 4 > t->cap * 3 && grow(t) < 0)
        return -1;
    if (size >= LIVE_BIG && t->nbig == t->bigcap) { /* room first: nothing fails later */
        size_t nc = t->bigcap ? t->bigcap * 2 : 8;
        LiveBig *nb = realloc(t->big, nc * sizeof *nb);
        if (!nb)
            return -1;
        t->big = nb;
        t->bigcap = nc;
    }
    size_t j = slot_of(t, addr);
    while (t->slots[j].addr && t->slots[j].addr != addr)
        j = (j + 1) & (t->cap - 1);
    if (t->slots[j].addr) {
        if (old)
            *old = (LiveOld){true, size_of(t, &t->slots[j]), t->slots[j].stack};
        if (t->slots[j].size32 == LIVE_BIG)
            big_drop(t, addr);
    } else {
        t->len++;
    }
    if (size >= LIVE_BIG)
        t->big[t->nbig++] = (LiveBig){addr, size};
    t->slots[j] = (LiveSlot){addr, stack, size >= LIVE_BIG ? LIVE_BIG : (uint32_t)size};
    return 0;
}

static bool
find(const LiveTable *t, uintptr_t addr, size_t *at)
{
    if (!t->cap || !addr)
        return false;
    size_t j = slot_of(t, addr);
    while (t->slots[j].addr) {
        if (t->slots[j].addr == addr) {
            *at = j;
            return true;
        }
        j = (j + 1) & (t->cap - 1);
    }
    return false;
}

bool
livetable_get(const LiveTable *t, uintptr_t addr, uint64_t *size, uint32_t *stack)
{
    size_t j;
    if (!find(t, addr, &j))
        return false;
    *size = size_of(t, &t->slots[j]);
    *stack = t->slots[j].stack;
    return true;
}

bool
livetable_take(LiveTable *t, uintptr_t addr, uint64_t *size, uint32_t *stack)
{
    size_t j;
    if (!find(t, addr, &j))
        return false;
    *size = size_of(t, &t->slots[j]);
    *stack = t->slots[j].stack;
    if (t->slots[j].size32 == LIVE_BIG)
        big_drop(t, addr);
    /* backward-shift deletion: pull later members of the probe run into the hole when
     * their home slot does not lie strictly between the hole and themselves */
    size_t mask = t->cap - 1, hole = j, k = j;
    for (;;) {
        k = (k + 1) & mask;
        if (!t->slots[k].addr)
            break;
        size_t home = slot_of(t, t->slots[k].addr);
        bool stays = hole <= k ? (hole < home && home <= k) : (hole < home || home <= k);
        if (stays)
            continue;
        t->slots[hole] = t->slots[k];
        hole = k;
    }
    t->slots[hole].addr = 0;
    t->len--;
    return true;
}

size_t
livetable_bytes(const LiveTable *t)
{
    return t->cap * sizeof(LiveSlot) + t->bigcap * sizeof(LiveBig);
}
