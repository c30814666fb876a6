/* SPDX-License-Identifier: MIT */
/* target_impl.h: the Target's insides, shared by target.c (discovery), code.c (code objects
 * and strings) and walk.c (threads and frames). Nothing outside src/sampler includes it. */
#pragma once
#include <stdint.h>

#include "layouts/layout.h"
#include "profile/profile.h"
#include "sampler/rmem.h"
#include "sampler/snap.h"
#include "sampler/target.h"
#include "util/hash.h"

/* What ferret keeps of one code object, keyed by its address in the target. */
typedef struct {
    uintptr_t addr;
    /* the fields a later read compares to detect that the address now holds another code
     * object (freed and reused) */
    uintptr_t name_ptr, file_ptr, linetable_ptr;
    int32_t firstlineno;
    uint32_t version; /* 3.12+ co_version (0: none, or the counter has run out) */
    uint64_t checked; /* Target.sample_no when its line table was last compared (no version) */
    StrId name; /* qualified name where the version has one */
    StrId file;
    uint8_t *linetable; /* owned copy */
    uint32_t linetable_len;
    Profile *profile; /* the profile name and file were interned into */
} CodeInfo;

#define CODE_CACHE_MAX 65536       /* code objects remembered; the cache is reset beyond */
#define LINETABLE_MAX (1u << 20)   /* longer tables are refused (the frame gets line 0) */
#define LINETABLE_CHECK_MAX 4096   /* bytes of a cached line table compared with the target's */
#define LINETABLE_CHECK_EVERY 32   /* samples between those comparisons of one code object */
#define STRING_MAX_CHARS 4096      /* longer names are cut */
#define THREADS_MAX 4096           /* threads walked per interpreter and sample */
#define INTERPS_MAX 64
#define CHAIN_MAX 100000           /* frames followed before a chain counts as a cycle */

/* A frame as found on the stack: its code object and instruction offset in bytes. */
typedef struct {
    uintptr_t code;
    int32_t addrq;
} RawFrame;

/* The last stack seen for one thread state (walk.c): outer frames that are still the same
 * (code object and instruction) reuse their frame ids without re-checking the code objects,
 * except on every WALK_FULL_CHECK-th sample of the thread. */
#define WALK_FULL_CHECK 32
typedef struct {
    uintptr_t tstate;
    RawFrame *raw;
    FrameId *ids;
    size_t n, cap;
    uint32_t samples;
    uint64_t seen; /* Target.sample_no when last used */
    SnapRec pages; /* the pages its last walk read */
} WalkCache;

/* A thread state listed at the last sample, and its kernel thread id (walk.c). */
typedef struct {
    uint64_t tid;
    uintptr_t tstate;
    uint32_t cache; /* its WalkCache's index when it was walked, else UINT32_MAX */
} WalkListed;

struct Target {
    pid_t pid;
    pid_t ns_pid; /* pid as the program's own pid namespace sees it (= pid outside containers) */
    Rmem mem;
    PyLayout layout; /* a copy: 3.13+ may override offsets from the target's table */
    char version[24];
    const char *found_by;
    uintptr_t runtime_addr;
    /* type objects, for validating what is read (0 when unknown: the check is skipped) */
    uintptr_t code_type, frame_type, unicode_type, bytes_type;
    /* 3.9/3.10: offset of the kernel tid inside glibc's struct pthread, or -1 until found */
    int64_t pthread_tid_offset;
    bool tid_offset_tried;
    uint8_t tid_offset_others; /* other threads' struct pthread searched (main's had none) */
    /* caches */
    CodeInfo *codes;
    size_t ncodes, codes_cap;
    HashU64 code_index; /* code address -> index into codes */
    HashU64 line_frames; /* code index << 32 | (uint32_t)addrq -> FrameId + 1 */
    Profile *cache_profile; /* the profile the caches' ids refer to */
    /* this sample's view of the target's memory */
    Snap snap;
    /* scratch, reused every sample */
    uint8_t *scratch;
    size_t scratch_cap;
    /* GIL of each interpreter (3.12+: interp->ceval.gil), cached by interpreter address */
    uintptr_t gil_interp[INTERPS_MAX], gil_addr[INTERPS_MAX];
    size_t ngil;
    /* walk.c: per-thread last stacks, valid for cache_profile */
    WalkCache *wcache;
    size_t nwcache, wcache_cap;
    WalkListed *listed; /* the last sample's threads with a kernel id, for its prefetch */
    size_t nlisted, listed_cap;
    uint64_t sample_no;
    /* pynames.c: threading._active of one interpreter, once found */
    uintptr_t names_interp, names_active;
    int64_t span_thread, span_frame, span_code;
};

/* code.c */
/* Interns the frame executing code_addr at byte offset addrq into p. The code object's
 * identifying fields are read (through the sample's snapshot) and compared with the cache
 * every time, so an address reused by another code object is noticed. Returns 0, or -1
 * with *err: ERR_IO for a torn or implausible read. */
int code_frame(Target *t, Profile *p, uintptr_t code_addr, int addrq, FrameId *out, Err *err);
/* Reads a str object into buf as UTF-8 (at most cap - 1 bytes, NUL-terminated). */
int code_read_string(Target *t, uintptr_t str_addr, char *buf, size_t cap, size_t *len, Err *err);
/* Drops every cached code object (e.g. when samples go to a new profile). */
void code_cache_reset(Target *t);
void code_cache_fini(Target *t);
/* Grows t->scratch to at least n bytes. */
int target_scratch(Target *t, size_t n, Err *err);
/* walk.c: reads through the sample's snapshot (or in place, in-process). */
const uint8_t *target_read(Target *t, uintptr_t addr, size_t len, Err *err);
/* The Python frames of the thread state whose bytes (layout_span_thread of them) are in
 * ts, innermost first, at most max of them (*partial when there were more). Only reads, no
 * interning: safe for the in-process reader. Returns 0, or -1 with *err (ERR_IO: torn). */
int walk_raw(Target *t, const uint8_t *ts, RawFrame *out, size_t max, size_t *n, bool *partial,
             Err *err);
