/* SPDX-License-Identifier: MIT */
/* test_walk.c: walk_raw over frame chains built in this process's own memory with 3.10's
 * layout (frames as heap objects linked by f_back), read through the page snapshot as a
 * target's would be: a chain is walked whole, cut at the buffer, and a chain that loops back
 * on itself (what a read torn across calls and returns can give) is refused within a few
 * times its length, not followed CHAIN_MAX times. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "layouts/layout.h"
#include "sampler/target_impl.h"

enum { FRAMES = 5000, FRAME_BYTES = 128 };

static uint8_t *frames; /* FRAMES fake frame objects, FRAME_BYTES apart */
static uint8_t tstate[512];
static const PyLayout *L;

static uintptr_t
frame_at(size_t i)
{
    return (uintptr_t)(frames + i * FRAME_BYTES);
}

/* Frame i: its code (a fake, aligned address), its caller (prev), its instruction. */
static void
set_frame(size_t i, uintptr_t prev)
{
    uint8_t *f = frames + i * FRAME_BYTES;
    memset(f, 0, FRAME_BYTES);
    uintptr_t code = 0x10000 + 64 * (i % 7);
    memcpy(f + L->frame.executable, &code, 8);
    memcpy(f + L->frame.previous, &prev, 8);
    int32_t lasti = (int32_t)(i % 50);
    memcpy(f + L->frame.instr_ptr, &lasti, 4);
}

static void
set_top(uintptr_t top)
{
    memset(tstate, 0, sizeof tstate);
    memcpy(tstate + L->thread.frame, &top, 8);
}

int
main(void)
{
    L = layout_for(3, 10);
    CHECK(L != NULL && L->frames_kind == LAYOUT_FRAMES_OBJECTS);
    frames = aligned_alloc(64, FRAMES * FRAME_BYTES);
    Target *t = calloc(1, sizeof *t);
    CHECK(frames != NULL && t != NULL);
    if (!L || !frames || !t)
        return check_report();
    CHECK(L->frame.executable + 8 <= FRAME_BYTES && L->frame.previous + 8 <= FRAME_BYTES &&
          L->frame.instr_ptr + 4 <= FRAME_BYTES && L->thread.frame + 8 <= (int64_t)sizeof tstate);
    t->pid = getpid();
    t->layout = *L;
    t->span_frame = FRAME_BYTES;
    t->span_thread = sizeof tstate;
    t->frame_type = 0; /* no type check: these are not real frame objects */
    CHECK_EQ_INT(snap_init(&t->snap), 0);
    rmem_init(&t->mem, getpid());
    RawFrame raw[64];
    size_t n;
    bool partial;
    Err err;

    /* a chain of 40 frames, innermost first: walked whole */
    for (size_t i = 0; i < 40; i++)
        set_frame(i, i + 1 < 40 ? frame_at(i + 1) : 0);
    set_top(frame_at(0));
    CHECK_EQ_INT(snap_begin(&t->snap, &t->mem, &err), 0);
    CHECK_EQ_INT(walk_raw(t, tstate, raw, 64, &n, &partial, &err), 0);
    CHECK_EQ_SIZE(n, 40);
    CHECK(!partial);
    CHECK_EQ_U64(raw[0].code, 0x10000);
    CHECK_EQ_INT(raw[39].addrq, 39 * L->code_unit);
    snap_end(&t->snap);

    /* a long chain (FRAMES) with room for 64: cut, the innermost kept, no cycle claimed */
    for (size_t i = 0; i < FRAMES; i++)
        set_frame(i, i + 1 < FRAMES ? frame_at(i + 1) : 0);
    CHECK_EQ_INT(snap_begin(&t->snap, &t->mem, &err), 0);
    CHECK_EQ_INT(walk_raw(t, tstate, raw, 64, &n, &partial, &err), 0);
    CHECK_EQ_SIZE(n, 64);
    CHECK(partial);
    snap_end(&t->snap);

    /* loops: frame 2999 back to frame 1000 (a loop of 2000 after 1000 frames), and a loop of
     * 2 right at the top */
    size_t loops[][2] = {{2999, 1000}, {1, 0}};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < FRAMES; i++)
            set_frame(i, i + 1 < FRAMES ? frame_at(i + 1) : 0);
        set_frame(loops[k][0], frame_at(loops[k][1]));
        CHECK_EQ_INT(snap_begin(&t->snap, &t->mem, &err), 0);
        uint64_t before = t->snap.served;
        CHECK_EQ_INT(walk_raw(t, tstate, raw, 64, &n, &partial, &err), -1);
        CHECK(strstr(err.msg, "a cycle") != NULL);
        /* one read a frame, found within twice the loop and its distance from the top (the
         * loop was followed CHAIN_MAX = 100,000 times before) */
        uint64_t reads = t->snap.served - before;
        CHECK(reads <= 2 * (loops[k][0] + 1) + 2);
        snap_end(&t->snap);
    }
    snap_fini(&t->snap);
    free(t);
    free(frames);
    return check_report();
}
