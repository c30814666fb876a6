/* SPDX-License-Identifier: MIT */
/* tracker.h: what `ferret mem` knows inside the target process. The allocation hooks
 * (memhook.c) report two kinds of events:
 *
 *   - heap events: every block obtained from or returned to malloc or anonymous mmap,
 *     pymalloc's arenas included. Their running sum is "the heap"; its maximum is the peak,
 *     counted exactly in both modes.
 *   - attributed events: the allocations ferret attributes to a stack: Python objects (the
 *     PyMem hooks) and native blocks (malloc or mmap called from outside Python's
 *     allocator). In exact mode every one; in sampled mode those the byte sampler picked,
 *     weighted by 1/p (mem/sampling.h).
 *
 * The tracker keeps per-stack counters (allocated, live, live at the peak), the live
 * attributed blocks (mem/livetable.h), the mapped regions, and encodes what changed into
 * memstream chunks (profile/memstream.h) that the hook layer writes out. Every function
 * takes the tracker's lock itself; none may be called with it held. Only the hook layer
 * knows about threads, TLS and the real allocator. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/memstream.h"
#include "profile/profile.h"
#include "sampler/pyself.h"
#include "util/buf.h"
#include "util/err.h"

#define MEM_MAX_FRAMES 128 /* Python frames kept per stack; deeper stacks lose their root */
#define TRACKER_FILTER_BITS 17 /* 2^17 address hashes: a 16 KiB bitmap, L1-resident */

typedef struct Tracker Tracker;

typedef struct {
    bool exact;          /* every attributed allocation, weight = size */
    double sample_bytes; /* mean sampling interval in sampled mode */
    /* Interns one raw Python frame (pyself_frame in the target, a fake in tests). Called
     * with the tracker's lock held, on the allocating thread, while the frame is live. */
    int (*py_frame)(void *ctx, const PyRawFrame *f, Profile *p, FrameId *out, Err *err);
    /* Names the native code that owns a return address ("libz.so.1"), writing at most n
     * bytes including the NUL. Called WITHOUT the lock (it may take the loader's lock);
     * returns 0, or -1 when unknown. NULL: every native marker is "<native>". */
    int (*native_name)(void *ctx, uintptr_t ret, char *buf, size_t n);
    void *ctx;
    /* Monotonic clock in ns; NULL means CLOCK_MONOTONIC. */
    int64_t (*now_ns)(void *ctx);
} TrackerConfig;

/* Where an attributed allocation came from. */
typedef struct {
    const PyRawFrame *frames; /* the thread's Python frames, innermost first */
    size_t nframes;
    bool truncated; /* the thread had more frames than were captured */
    bool native;    /* malloc/mmap called from C code: a "<native: lib>" marker leaf */
    uintptr_t ret;  /* the caller's return address, for the marker */
} MemSite;

/* A live attributed block taken out of the table, so a failed realloc can put it back. */
typedef struct {
    uintptr_t addr;
    uint64_t size;
    uint32_t stack;
} MemBlock;

/* Creates a tracker; the caller owns it. NULL with *err set. */
Tracker *tracker_new(const TrackerConfig *cfg, Err *err);
void tracker_free(Tracker *t); /* NULL is a no-op */

/* Heap events (never fail). */
void tracker_heap_add(Tracker *t, uint64_t bytes);
void tracker_heap_sub(Tracker *t, uint64_t bytes);
int64_t tracker_heap(const Tracker *t);
int64_t tracker_peak_heap(const Tracker *t);

/* Records an attributed allocation of size bytes at addr (already picked by the sampler in
 * sampled mode). Failures (out of memory) are recorded and reported in the stream. When
 * stack is not NULL it receives the site's stack id (TRACKER_NO_STACK on failure), which
 * stays valid for the tracker's life: callers may cache it per site. */
void tracker_alloc(Tracker *t, uintptr_t addr, uint64_t size, const MemSite *site,
                   uint32_t *stack);
/* The same for a site whose stack id tracker_alloc returned before. */
void tracker_alloc_stack(Tracker *t, uintptr_t addr, uint64_t size, uint32_t stack);
#define TRACKER_NO_STACK UINT32_MAX
/* Could addr be an attributed live block? A lock-free check for the free fast path:
 * false means certainly not (sampled mode); always true in exact mode. */
static inline bool tracker_maybe_live(const Tracker *t, uintptr_t addr);
/* The bitmap behind tracker_maybe_live (sampled mode; bit h of byte h/8 for address hash h,
 * see tracker_filter_slot), for hooks that keep the pointer. NULL in exact mode. */
const _Atomic uint8_t *tracker_live_bits(const Tracker *t);
/* Removes addr if it is an attributed live block: returns true and fills *out. */
bool tracker_free_block(Tracker *t, uintptr_t addr, MemBlock *out);
/* Puts back a block tracker_free_block returned (the free did not happen). */
void tracker_restore_block(Tracker *t, const MemBlock *b);

/* Copies the file name of a raw Python frame of the calling thread into buf (at most n
 * bytes with the NUL). Returns 0, or -1 when the frame cannot be named. */
int tracker_frame_file(Tracker *t, const PyRawFrame *f, char *buf, size_t n);

/* Anonymous mappings: heap events for their length; attributed when site is not NULL
 * (site NULL: pymalloc's arenas and other memory Python's allocator manages). */
void tracker_map(Tracker *t, uintptr_t addr, uint64_t len, const MemSite *site);
/* Unmaps [addr, addr+len) from whatever tracked mappings it overlaps (any part of them). */
void tracker_unmap(Tracker *t, uintptr_t addr, uint64_t len);
/* Is there a tracked mapping starting at addr? */
bool tracker_is_mapped(Tracker *t, uintptr_t addr);

/* A timeline point: the highest heap since the last point, and the resident set size.
 * tracker_tick, tracker_flush and tracker_finish must not run at the same time as each
 * other (one writer thread, or the writer stopped); events may run alongside them. */
void tracker_tick(Tracker *t, int64_t rss_bytes);
/* Appends to out a chunk with everything new since the last flush. Returns 0, or -1 with
 * *err set (out of memory). */
int tracker_flush(Tracker *t, Buf *out, Err *err);
/* Appends the last chunk: the final counters (live now = live at exit) and MS_END. After
 * it, events are ignored. Returns 0 or -1. */
int tracker_finish(Tracker *t, MemEndReason reason, Buf *out, Err *err);
/* Appends a chunk with only the end (the closing metadata and MS_END), leaving the tracker
 * running: for exec, which ends the recording only if it succeeds. The caller flushes first
 * (so the counters sent before it are the live set at the end) and, if the exec fails, takes
 * these bytes out of the stream again and carries on. Returns 0 or -1. */
int tracker_end_chunk(Tracker *t, MemEndReason reason, Buf *out, Err *err);
/* Appends the start of a stream: the magic and a chunk with the MS_HEADER record. */
int tracker_header(Tracker *t, Buf *out, int32_t pid, int32_t ppid, int64_t start_unix_ns,
                   int64_t interval_ns, const char *python_version, const char *command,
                   Err *err);
/* Queues a metadata pair for the next chunk. */
void tracker_meta(Tracker *t, const char *key, const char *value);
bool tracker_finished(const Tracker *t);

/* Fork: prepare takes the lock, parent releases it; child resets it (the child stops
 * tracking, so it only needs the lock to be usable, not the data). */
void tracker_fork_prepare(Tracker *t);
void tracker_fork_parent(Tracker *t);
void tracker_fork_child(Tracker *t);

/* Bytes the tracker's own tables hold (approximate), for the report. */
size_t tracker_own_bytes(Tracker *t);

/* --- inline part ------------------------------------------------------------------- */

struct TrackerFast {
    bool exact;
    _Atomic uint8_t *bits; /* sampled mode: bit h set while a live block hashes to h */
};

static inline size_t
tracker_filter_slot(uintptr_t addr)
{
    return (size_t)(((uint64_t)(addr >> 4) * 0x9E3779B97F4A7C15ULL) >> (64 - TRACKER_FILTER_BITS));
}

static inline bool
tracker_maybe_live(const Tracker *t, uintptr_t addr)
{
    const struct TrackerFast *f = (const struct TrackerFast *)t; /* first member */
    if (f->exact)
        return true;
    size_t h = tracker_filter_slot(addr);
    return (atomic_load_explicit(&f->bits[h >> 3], memory_order_relaxed) >> (h & 7)) & 1;
}
