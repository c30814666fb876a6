/* SPDX-License-Identifier: MIT */
/* profile.h: the in-memory profile shared by the sampler, the tracer, the memory tracker,
 * the .ferret file and every report writer. Strings, frames, stacks, processes and threads
 * are interned into append-only tables and referred to by id; samples are a time series.
 *
 * Stacks are a prefix tree: a StackId names (parent stack, leaf frame), and stack 0 is the
 * empty stack. A parent's id is always smaller than its children's, so a single backwards
 * pass folds per-stack values into inclusive totals. Every table only grows, so a streaming
 * writer can emit "what is new since last time" by remembering counts.
 *
 * Samples belong to a series (a measure with a unit, like pprof's sample types): a sampled
 * profile has one series "samples"; a memory profile has e.g. "peak_bytes" and
 * "allocated_bytes"; a trace has "calls" and "wall_ns". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct Profile Profile; /* opaque */
typedef uint32_t StrId, FrameId, StackId, ThreadId, ProcId;
typedef uint8_t SeriesId;

#define PROFILE_ROOT ((StackId)0)  /* the empty stack */
#define PROFILE_EMPTY ((StrId)0)   /* the empty string */
#define PROFILE_MAX_DEPTH 4096     /* frames in one stack; deeper stacks are cut at the root */
#define PROFILE_MAX_SERIES 32
#define PROFILE_MAX_STR (1u << 20) /* longest string interned; longer ones are cut */

typedef enum {
    FRAME_PY = 0,      /* a Python function: name, file, line */
    FRAME_NATIVE = 1,  /* native code (a C function or a "<native>" marker) */
    FRAME_THREAD = 2,  /* synthetic root naming a thread (ferret run --threads) */
    FRAME_PROCESS = 3, /* synthetic root naming a process (--subprocesses) */
    FRAME_MARKER = 4,  /* other synthetic frames: "<idle>", "<gc>", "<truncated>" */
    FRAME_KIND_COUNT
} FrameKind;

typedef struct {
    StrId name;      /* qualified function name (co_qualname where the version has it) */
    StrId file;      /* source file as the program named it; PROFILE_EMPTY if none */
    int32_t line;    /* line being executed; 0 if unknown */
    int32_t fn_line; /* first line of the function (co_firstlineno); 0 if unknown */
    uint8_t kind;    /* FrameKind */
} ProfFrame;

typedef struct {
    StackId parent; /* caller's stack; PROFILE_ROOT for an outermost frame */
    FrameId frame;  /* the innermost frame of this stack */
    uint32_t depth; /* number of frames; 0 for PROFILE_ROOT */
} ProfStack;

typedef struct {
    int32_t pid;
    int32_t ppid;  /* 0 if unknown */
    StrId command; /* command line, spaces between arguments */
} ProfProcess;

typedef struct {
    ProcId proc;
    uint64_t tid;     /* kernel thread id (native_thread_id), or the interpreter's id if unknown */
    StrId name;       /* thread name if known (threading.Thread.name or the OS comm) */
} ProfThread;

enum {
    SAMPLE_ON_CPU = 1u << 0,  /* the thread was running on a CPU (kernel state R) */
    SAMPLE_HAS_GIL = 1u << 1, /* the thread held the GIL */
    SAMPLE_PARTIAL = 1u << 2, /* the stack was cut (too deep); the root side is missing */
};

typedef struct {
    int64_t t_ns;    /* time since the profile's start */
    StackId stack;
    ThreadId thread;
    uint8_t flags;   /* SAMPLE_* */
    SeriesId series;
    int64_t weight; /* in the series' unit; 1 for a plain sample. A sampled series' sample
                     * of weight w stands for the w intervals ending at t_ns (a late
                     * moment, or identical samples of one thread merged) */
} ProfSample;

typedef enum { PROFILE_SAMPLED = 0, PROFILE_MEMORY = 1, PROFILE_TRACE = 2 } ProfileKind;

typedef struct {
    ProfileKind kind;
    int64_t interval_ns;   /* sampling interval; 0 if not sampled */
    int64_t start_unix_ns; /* wall-clock start (CLOCK_REALTIME) */
    int64_t duration_ns;   /* how long recording lasted */
    uint64_t dropped;      /* samples dropped in total; reasons in meta "dropped.<reason>" */
} ProfileInfo;

/* Creates an empty profile of the given kind. The caller owns it. NULL with *err set. */
Profile *profile_new(ProfileKind kind, Err *err);
void profile_free(Profile *p); /* NULL is a no-op */

/* Mutable header fields (kind, interval, times, dropped). Borrowed until profile_free. */
ProfileInfo *profile_info(Profile *p);
const ProfileInfo *profile_info_c(const Profile *p);

/* Interning. Each returns 0 and the id, or -1 with *err set (ERR_NOMEM). Inputs are copied. */
int profile_str(Profile *p, const char *s, size_t len, StrId *out, Err *err);
int profile_cstr(Profile *p, const char *s, StrId *out, Err *err);
int profile_frame(Profile *p, const ProfFrame *f, FrameId *out, Err *err);
int profile_stack(Profile *p, StackId parent, FrameId frame, StackId *out, Err *err);
/* Interns a whole stack given root-first; n may be 0 (gives PROFILE_ROOT). */
int profile_stack_path(Profile *p, const FrameId *root_first, size_t n, StackId *out, Err *err);
/* Processes and threads are keyed by pid and (proc, tid). A later call with a non-empty
 * name/command updates it. */
int profile_process(Profile *p, int32_t pid, int32_t ppid, const char *command, ProcId *out,
                    Err *err);
int profile_thread(Profile *p, ProcId proc, uint64_t tid, const char *name, ThreadId *out,
                   Err *err);
/* Series are keyed by name; the first one added is SeriesId 0. */
int profile_series(Profile *p, const char *name, const char *unit, SeriesId *out, Err *err);
int profile_add_sample(Profile *p, const ProfSample *s, Err *err);
/* Metadata: string key/value pairs (command, python_version, mode, ...). Setting an existing
 * key replaces its value. */
int profile_meta_set(Profile *p, const char *key, const char *value, Err *err);
/* Adds n to the dropped total and to meta "dropped.<reason>". */
int profile_add_dropped(Profile *p, const char *reason, uint64_t n, Err *err);

/* Reading. Ids must be valid (< the matching count); results borrowed until profile_free. */
size_t profile_nstrs(const Profile *p);
size_t profile_nframes(const Profile *p);
size_t profile_nstacks(const Profile *p);
size_t profile_nprocs(const Profile *p);
size_t profile_nthreads(const Profile *p);
size_t profile_nseries(const Profile *p);
size_t profile_nsamples(const Profile *p);
size_t profile_nmeta(const Profile *p);
const char *profile_strp(const Profile *p, StrId id); /* NUL-terminated */
size_t profile_strlen(const Profile *p, StrId id);
const ProfFrame *profile_frame_at(const Profile *p, FrameId id);
const ProfStack *profile_stack_at(const Profile *p, StackId id);
const ProfProcess *profile_proc_at(const Profile *p, ProcId id);
const ProfThread *profile_thread_at(const Profile *p, ThreadId id);
const char *profile_series_name(const Profile *p, SeriesId id);
const char *profile_series_unit(const Profile *p, SeriesId id);
void profile_sample_at(const Profile *p, size_t i, ProfSample *out);
/* When the time a sample stands for begins: in a sampled profile a sample of weight w covers
 * the w intervals that end at its t_ns (a late moment, or identical samples of a thread the
 * sampler merged), so it begins w - 1 intervals earlier; any other sample at t_ns. */
int64_t profile_sample_begin(const Profile *p, const ProfSample *s);
void profile_meta_at(const Profile *p, size_t i, const char **key, const char **value);
const char *profile_meta_get(const Profile *p, const char *key); /* NULL if absent */
/* Looks a series up by name; returns false if absent. */
bool profile_series_find(const Profile *p, const char *name, SeriesId *out);

/* Writes the frames of `stack` root-first into out[0..max); returns the depth (which may
 * exceed max, in which case only the outermost max frames are written). */
size_t profile_stack_frames(const Profile *p, StackId stack, FrameId *out, size_t max);

/* Aggregation shared by the report writers. */
typedef struct {
    SeriesId series;
    int64_t thread;       /* a ThreadId, or -1 for all threads */
    uint8_t flags_mask;   /* a sample counts when (flags & flags_mask) == flags_want */
    uint8_t flags_want;
    int64_t t_from_ns;    /* time window [from, to); to <= 0 means no upper bound */
    int64_t t_to_ns;
} ProfFilter;
void profile_filter_init(ProfFilter *f); /* series 0, all threads, all flags, all times */
bool profile_filter_match(const ProfFilter *f, const ProfSample *s);
/* self[i] = summed weight of matching samples whose stack is exactly i (self must hold
 * profile_nstacks() entries). Returns the summed weight of all matching samples. */
int64_t profile_self_weights(const Profile *p, const ProfFilter *f, int64_t *self);
/* total[i] = self[i] + totals of i's descendants (arrays of profile_nstacks() entries). */
void profile_fold_totals(const Profile *p, const int64_t *self, int64_t *total);
