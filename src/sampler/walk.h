/* SPDX-License-Identifier: MIT */
/* walk.h: one snapshot of every Python thread of a Target: interpreter -> thread states ->
 * frames, each frame interned into a Profile. What is read is validated (type pointers,
 * back-pointers, sizes, frame owners, depth); a thread whose stack cannot be read
 * consistently is left out and counted by reason, never reported half-read. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "sampler/target.h"
#include "util/err.h"

#define WALK_DROPS(X)                                                                              \
    X(read, "read failed")                                                                         \
    X(torn, "torn stack")                                                                          \
    X(thread_list, "thread list changed")                                                          \
    X(code, "unreadable code object")

typedef enum {
#define X(name, text) WALK_DROP_##name,
    WALK_DROPS(X)
#undef X
        WALK_DROP_COUNT
} WalkDropReason;

typedef struct {
    uint64_t n[WALK_DROP_COUNT];
} WalkDrops;

const char *walk_drop_name(WalkDropReason r); /* "read", "torn", ... */

typedef struct {
    uint64_t tid;       /* kernel thread id; 0 when it cannot be known */
    uint64_t thread_id; /* the interpreter's own thread id (pthread_t) */
    uintptr_t tstate;
    uintptr_t interp;
    int64_t interp_id;
    bool has_gil;
    bool partial;       /* deeper than the frame buffer allowed: outermost frames missing */
    uint64_t fingerprint; /* hash of the raw frames (code objects and instruction offsets):
                             it changes whenever the thread executed Python code */
    size_t nframes;
    const FrameId *frames; /* innermost first; points into the caller's buffer */
} WalkThread;

typedef struct {
    WalkThread *threads; /* caller's array */
    size_t max_threads;
    FrameId *frames;     /* caller's buffer shared by all threads of a sample */
    size_t frames_cap;
    size_t max_depth;    /* frames kept per thread (outermost dropped beyond) */
} WalkBuffers;

/* Takes one snapshot. *nthreads gets the threads with a stack (a thread with no Python frame
 * is still listed, with nframes 0). Returns 0, or -1 with *err only when the whole target is
 * unreadable: ERR_GONE (exited), ERR_PERM; any other fault drops that thread or that sample
 * and is counted in *drops. */
int walk_sample(Target *t, Profile *p, const WalkBuffers *b, size_t *nthreads, WalkDrops *drops,
                Err *err);

