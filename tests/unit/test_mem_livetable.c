/* SPDX-License-Identifier: MIT */
/* test_mem_livetable.c: the live-allocation table against a plain reference array under
 * random puts and takes (clustered addresses, as an allocator hands them out, so probe
 * runs are long and backward-shift deletion is exercised), sizes of 4 GiB and more, and
 * overwrites. */
#include <stdlib.h>

#include "check.h"
#include "mem/livetable.h"

typedef struct {
    uintptr_t addr;
    uint64_t size;
    uint32_t stack;
    int live;
} Ref;

static uint64_t rng = 88172645463325252ULL;
static uint64_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
test_basic(void)
{
    LiveTable t;
    livetable_init(&t);
    uint64_t size;
    uint32_t stack;
    CHECK(!livetable_take(&t, 0x1000, &size, &stack)); /* empty table */
    LiveOld old;
    CHECK_EQ_INT(livetable_put(&t, 0x1000, 10, 3, &old), 0);
    CHECK(!old.present);
    CHECK_EQ_INT(livetable_put(&t, 0x2000, (uint64_t)5 << 32, 4, NULL), 0); /* 20 GiB */
    CHECK_EQ_INT(livetable_put(&t, 0x3000, UINT32_MAX, 5, NULL), 0);        /* exactly the marker */
    CHECK_EQ_SIZE(livetable_len(&t), 3);
    CHECK(livetable_get(&t, 0x2000, &size, &stack));
    CHECK_EQ_U64(size, (uint64_t)5 << 32);
    CHECK_EQ_INT(stack, 4);
    CHECK(livetable_get(&t, 0x3000, &size, &stack));
    CHECK_EQ_U64(size, UINT32_MAX);
    CHECK_EQ_INT(livetable_put(&t, 0x2000, 7, 6, &old), 0); /* a big one replaced by a small one */
    CHECK(old.present);
    CHECK_EQ_U64(old.size, (uint64_t)5 << 32);
    CHECK_EQ_INT(old.stack, 4);
    CHECK_EQ_SIZE(livetable_len(&t), 3);
    CHECK_EQ_SIZE(t.nbig, 1);
    CHECK(livetable_take(&t, 0x2000, &size, &stack));
    CHECK_EQ_U64(size, 7);
    CHECK_EQ_INT(stack, 6);
    CHECK(!livetable_get(&t, 0x2000, &size, &stack));
    CHECK(livetable_take(&t, 0x3000, &size, &stack));
    CHECK_EQ_U64(size, UINT32_MAX);
    CHECK_EQ_SIZE(t.nbig, 0);
    CHECK(!livetable_take(&t, 0x3000, &size, &stack));
    CHECK(livetable_take(&t, 0x1000, &size, &stack));
    CHECK_EQ_SIZE(livetable_len(&t), 0);
    CHECK(!livetable_get(&t, 0, &size, &stack));
    livetable_fini(&t);
}

static void
test_random(void)
{
    enum { N = 20000 };
    Ref *ref = calloc(N, sizeof *ref);
    LiveTable t;
    livetable_init(&t);
    for (size_t i = 0; i < N; i++) /* 16- and 32-byte neighbours in a few "pools" */
        ref[i].addr = 0x7f0000000000u + (i / 1000) * 0x100000 + (i % 1000) * 32 + (i % 3 ? 0 : 16);
    size_t live = 0;
    int mismatches = 0;
    for (int step = 0; step < 400000; step++) {
        Ref *r = &ref[rnd() % N];
        if (!r->live || rnd() % 4 == 0) {
            uint64_t sz = rnd() % 50 == 0 ? ((uint64_t)1 << 32) + rnd() % 100 : rnd() % 5000;
            uint32_t st = (uint32_t)(rnd() % 1000);
            LiveOld old;
            if (livetable_put(&t, r->addr, sz, st, &old) < 0)
                break;
            mismatches += old.present != (bool)r->live ||
                          (old.present && (old.size != r->size || old.stack != r->stack));
            live += !r->live;
            *r = (Ref){r->addr, sz, st, 1};
        } else {
            uint64_t sz;
            uint32_t st;
            bool got = livetable_take(&t, r->addr, &sz, &st);
            mismatches += !got || sz != r->size || st != r->stack;
            r->live = 0;
            live--;
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_SIZE(livetable_len(&t), live);
    for (size_t i = 0; i < N; i++) {
        uint64_t sz;
        uint32_t st;
        bool got = livetable_get(&t, ref[i].addr, &sz, &st);
        if (got != (bool)ref[i].live || (got && (sz != ref[i].size || st != ref[i].stack)))
            mismatches++;
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(livetable_bytes(&t) >= livetable_len(&t) * sizeof(LiveSlot));
    livetable_fini(&t);
    free(ref);
}

int
main(void)
{
    test_basic();
    test_random();
    return check_report();
}
