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
    X(code, "unreadable code object")                                                              \
    X(buffer, "more threads than the caller's buffer holds")

typedef enum {
#define X(name, text) WALK_DROP_##name,
    WALK_DROPS(X)
#undef X
        WALK_DROP_COUNT
} WalkDropReason;

typedef struct {
    uint64_t n[WALK_DROP_COUNT];
    uint64_t frames_short; /* stacks cut because the frame buffer was full (not a drop: the
                              stack is kept, outermost frames missing) */
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
    bool unchanged;     /* not walked: the caller said it cannot have changed (frames empty) */
    uint64_t fingerprint; /* hash of the raw frames (code objects and instruction offsets):
                             it changes whenever the thread executed Python code */
    size_t nframes;
    const FrameId *frames; /* innermost first; points into the caller's buffer */
} WalkThread;

#define WALK_MAX_THREADS 8192 /* the most threads one sample of a process can hold */

typedef struct {
    WalkThread *threads; /* caller's array (at most WALK_MAX_THREADS) */
    size_t max_threads;
    FrameId *frames;     /* caller's buffer shared by all threads of a sample */
    size_t frames_cap;
    size_t max_depth;    /* frames kept per thread (outermost dropped beyond) */
    /* Optional. Asked with a thread's kernel id before its frames are read: true means the
     * thread has not run since the caller last saw its stack, so the walk skips the frames
     * and marks it `unchanged`. It is asked once more for the threads of the last sample,
     * before anything is read (to read the pages of those to walk with the rest): within a
     * sample it must answer as it did the first time. */
    bool (*unchanged)(void *ctx, uint64_t tid);
    void *ctx;
} WalkBuffers;

/* Takes one snapshot. *nthreads gets the threads with a stack (a thread with no Python frame
 * is still listed, with nframes 0). Returns 0, or -1 with *err only when the whole target is
 * unreadable: ERR_GONE (exited), ERR_PERM; any other fault drops that thread or that sample
 * and is counted in *drops. */
int walk_sample(Target *t, Profile *p, const WalkBuffers *b, size_t *nthreads, WalkDrops *drops,
                Err *err);

