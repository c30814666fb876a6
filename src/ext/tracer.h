/* SPDX-License-Identifier: MIT */
/* tracer.h: the deterministic tracer's core, free of Python: per-thread shadow stacks over a
 * call tree whose nodes count calls, self wall ticks, self CPU time and per-line hits and
 * time, plus an optional ring of completed spans for the timeline. The hook layer
 * (hooks_*.c) turns interpreter events into tracer_enter/exit/line calls; emit.c turns the
 * tree into Profile samples. Inclusive times are not kept: folding self times up the tree
 * gives them, recursion included, without any per-event bookkeeping.
 *
 * Threads: one TThread per OS thread, used only by that thread while it holds the GIL;
 * everything else (the node and function tables, the ring) is also only touched with the
 * GIL held, which is what serialises all of it. The hot functions are inline below; their
 * structures are visible for that reason only: callers use the functions, not the fields.
 *
 * Functions are identified by a key (k1, k2) the hook layer chooses (a code object; a
 * PyMethodDef and a type for C functions) and keeps alive; the first time a key is seen the
 * tracer asks the describe callback for its name, file and line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ext/clock.h"
#include "util/err.h"

/* The per-event functions below must inline into the hooks (gcc sometimes declines). */
#define TRACER_HOT static inline __attribute__((always_inline))

#define TRACER_NO_NODE 0u         /* node ids start at 1 */
#define TRACER_IGNORED UINT32_MAX /* a key whose calls are transparent (ferret's own code) */

typedef struct {
    bool lines;            /* per-line hits and time */
    bool builtins;         /* C functions become frames too */
    bool cpu;              /* CPU time per function (windowed, see tracer_window_close) */
    uint32_t timeline_cap; /* spans kept in the ring; 0 = no timeline */
    int64_t cpu_window_ns; /* CPU window length (default 1 ms) */
    int64_t cpu_gap_ns;    /* an interval this long closes the window at once (50 us) */
} TracerOptions;

typedef enum { TFUNC_PY = 0, TFUNC_C = 1 } TFuncKind;

/* What the describe callback fills; strings are copied by the tracer. */
typedef struct {
    const char *name;
    const char *file;
    int32_t line;
    TFuncKind kind;
    bool ignore; /* don't record this function at all (ferret's own frames) */
    bool lines;  /* record line events inside it (--include matched, or no pattern) */
} TFuncDesc;

/* Returns 0, or -1 with *err set. Called with the GIL held, from inside a hook. */
typedef int (*TDescribe)(void *ctx, const void *k1, const void *k2, TFuncDesc *out, Err *err);

typedef struct {
    char *name;
    char *file;
    int32_t line;
    uint8_t kind; /* TFuncKind */
    bool lines;
    const void *k1, *k2;
} TFunc;

typedef struct {
    uint64_t hits;
    uint64_t ticks; /* from the line's start to the next line event in the same frame */
} TLine;

typedef struct {
    int32_t base; /* line number of v[0] */
    uint32_t n;
    TLine *v;
} TLineTab;

typedef struct {
    uint64_t calls;      /* times the function started here (generator resumes excluded) */
    uint64_t self_ticks; /* time with this node on top of its thread's stack */
    uint64_t win_ticks;  /* self ticks inside the thread's open CPU window */
    double cpu_ticks;    /* self CPU time, expressed in ticks */
    const void *last_k1, *last_k2; /* one-entry child cache */
    uint32_t last_child;
    uint32_t parent; /* TRACER_NO_NODE for a thread's root */
    uint32_t func;   /* 0 for a thread's root */
    uint32_t thread; /* index into Tracer.threads */
    uint32_t depth;  /* 0 for a root */
    TLineTab *lines; /* NULL until the first line event */
} TNode;

typedef struct {
    const void *k1; /* key of the frame, to match its exit */
    uint32_t node;
    int32_t line; /* line being executed (0: none yet) */
    uint64_t t_enter;
    uint64_t line_start;
    bool want_lines;
} TEntry;

typedef struct {
    uint64_t t0, t1; /* ticks */
    uint32_t node;
} TSpan;

typedef struct {
    uint64_t tid;   /* kernel thread id */
    uint64_t ident; /* the interpreter's thread ident */
    char *name;
    uint32_t index;
    uint32_t root; /* root node */
    uint32_t top;  /* node on top of the stack (root when empty) */
    TEntry *stack;
    uint32_t depth, cap;
    uint64_t last; /* ticks at the last charge */
    /* CPU window */
    uint64_t win_start;
    int64_t win_cpu_ns;
    uint32_t *dirty; /* nodes with win_ticks > 0 */
    uint32_t ndirty, dirty_cap;
    bool cpu_ok;
    uint8_t name_tries; /* lookups of the thread's name so far (bounded) */
    bool guard;         /* ferret is running its own code in this thread: ignore events */
    bool replaced;      /* another profiler took this thread's hook (pre-3.12) */
    uint32_t seeded;    /* stack entries at the bottom that were running before tracing
                           (tracer_seed): a hook without their return events unwinds them
                           with tracer_unwind_seeded */
} TThread;

typedef struct {
    const void *k1, *k2;
    uint32_t parent;
    uint32_t node; /* 0 = empty slot */
} TNodeSlot;

typedef struct {
    const void *k1, *k2;
    uint32_t func; /* 0 = empty slot */
} TFuncSlot;

typedef struct Tracer {
    TracerOptions opt;
    TClock clock;
    uint64_t window_ticks, gap_ticks; /* opt.cpu_* converted at start */
    double ns_per_tick_est;           /* the rate estimated at start (CPU windows use it) */

    TNode *nodes;
    uint32_t nnodes, nodes_cap;
    TNodeSlot *nmap;
    uint32_t nmap_cap, nmap_len;

    TFunc *funcs; /* funcs[0] is the root placeholder */
    uint32_t nfuncs, funcs_cap;
    TFuncSlot *fmap;
    uint32_t fmap_cap, fmap_len;

    TThread **threads;
    uint32_t nthreads, threads_cap;

    TSpan *ring;
    uint64_t spans_total; /* spans ever recorded; the ring keeps the last opt.timeline_cap */
    uint32_t ring_pos;    /* next slot to write */

    TDescribe describe;
    void *describe_ctx;

    bool failed; /* a hook hit an error; recording stopped; err says why */
    Err err;
    uint64_t events_lost; /* events ignored after a failure */
} Tracer;

/* Creates a tracer and starts its clock. The caller owns it. NULL with *err set. */
Tracer *tracer_new(const TracerOptions *opt, TDescribe describe, void *ctx, Err *err);
void tracer_free(Tracer *t); /* NULL is a no-op */
void tracer_options_default(TracerOptions *opt);

/* Adds a thread (its root node and an empty stack). NULL with *err set. */
TThread *tracer_thread_new(Tracer *t, uint64_t tid, uint64_t ident, const char *name, Err *err);
int tracer_thread_rename(TThread *th, const char *name, Err *err);

/* Out-of-line parts of the hot functions. */
uint32_t tracer_child_slow(Tracer *t, uint32_t parent, const void *k1, const void *k2);
int tracer_stack_grow(Tracer *t, TThread *th);
void tracer_dirty_push(TThread *th, uint32_t node);
void tracer_window_close(Tracer *t, TThread *th, uint64_t now, uint32_t gap_node, uint64_t gap);
void tracer_exit_slow(Tracer *t, TThread *th, const void *k1, uint64_t now);
/* For a hook that sees no returns of the frames that were running when tracing started
 * (the frame evaluator): a new call is being made from the frame keyed `caller` (NULL: from
 * no Python frame). If the top of the stack is a seeded entry that is not the caller, the
 * seeded frames above the caller's have returned; they end now. Nothing happens when the
 * caller is not among the seeded entries (ferret's own code, say). */
void tracer_unwind_seeded(Tracer *t, TThread *th, const void *caller, uint64_t now);
TLine *tracer_line_slot_slow(Tracer *t, uint32_t node, int32_t line);
void tracer_fail(Tracer *t, const Err *err);

/* The counters of `line` in `node` (allocated on first use); NULL if memory ran out. */
TRACER_HOT TLine *
tracer_line_slot(Tracer *t, uint32_t node, int32_t line)
{
    TLineTab *lt = t->nodes[node].lines;
    if (lt && line >= lt->base && (uint32_t)(line - lt->base) < lt->n)
        return &lt->v[line - lt->base];
    return tracer_line_slot_slow(t, node, line);
}

/* Charges the time since the thread's last event to the node on top of its stack. */
TRACER_HOT void
tracer_charge(Tracer *t, TThread *th, uint64_t now)
{
    uint64_t d = now - th->last;
    th->last = now;
    uint32_t top = th->top;
    TNode *n = &t->nodes[top];
    n->self_ticks += d;
    if (t->opt.cpu && th->cpu_ok && d) {
        if (!n->win_ticks)
            tracer_dirty_push(th, top);
        n->win_ticks += d;
        if (d >= t->gap_ticks)
            tracer_window_close(t, th, now, top, d);
        else if (now - th->win_start >= t->window_ticks)
            tracer_window_close(t, th, now, 0, 0);
    }
}

TRACER_HOT uint32_t
tracer_child(Tracer *t, uint32_t parent, const void *k1, const void *k2)
{
    TNode *p = &t->nodes[parent];
    if (p->last_k1 == k1 && p->last_k2 == k2 && p->last_child)
        return p->last_child;
    return tracer_child_slow(t, parent, k1, k2);
}

/* A function starts (count = true) or a generator/coroutine resumes (count = false).
 * Returns 0, 1 when the key is ignored (ferret's own code), or -1 when recording has
 * failed (t->failed is set). */
TRACER_HOT int
tracer_enter(Tracer *t, TThread *th, const void *k1, const void *k2, bool count, uint64_t now)
{
    uint32_t node = tracer_child(t, th->top, k1, k2);
    if (node == TRACER_IGNORED)
        return 1;
    if (node == TRACER_NO_NODE)
        return -1;
    if (th->depth == th->cap && tracer_stack_grow(t, th) < 0)
        return -1;
    tracer_charge(t, th, now);
    TNode *n = &t->nodes[node];
    n->calls += count;
    TEntry *e = &th->stack[th->depth++];
    e->k1 = k1;
    e->node = node;
    e->line = 0;
    e->t_enter = now;
    e->want_lines = t->funcs[n->func].lines;
    th->top = node;
    return 0;
}

/* Records a completed span in the timeline ring, over the oldest one when it is full. */
TRACER_HOT void
tracer_ring_push(Tracer *t, uint64_t t0, uint64_t t1, uint32_t node)
{
    TSpan *s = &t->ring[t->ring_pos];
    s->t0 = t0;
    s->t1 = t1;
    s->node = node;
    t->spans_total++;
    if (++t->ring_pos == t->opt.timeline_cap)
        t->ring_pos = 0;
}

/* Pops the top entry (whose time has been charged). */
TRACER_HOT void
tracer_pop(Tracer *t, TThread *th, uint64_t now)
{
    TEntry *e = &th->stack[--th->depth];
    if (e->line) {
        TLine *l = tracer_line_slot(t, e->node, e->line);
        if (l)
            l->ticks += now - e->line_start;
    }
    if (t->ring)
        tracer_ring_push(t, e->t_enter, now, e->node);
    th->top = th->depth ? th->stack[th->depth - 1].node : th->root;
    if (!th->depth && t->opt.cpu && th->cpu_ok)
        tracer_window_close(t, th, now, 0, 0);
}

/* The frame keyed k1 returns, yields or unwinds. An exit with no matching entry (a frame
 * that started before tracing, or ferret's own) is ignored. */
TRACER_HOT void
tracer_exit(Tracer *t, TThread *th, const void *k1, uint64_t now)
{
    if (th->depth && th->stack[th->depth - 1].k1 == k1) {
        tracer_charge(t, th, now);
        tracer_pop(t, th, now);
        return;
    }
    tracer_exit_slow(t, th, k1, now);
}

/* A line starts in the frame keyed k1. Returns false when that frame does not want line
 * events (the hook may switch them off at the source). */
TRACER_HOT bool
tracer_line(Tracer *t, TThread *th, const void *k1, int32_t line, uint64_t now)
{
    if (!th->depth)
        return true;
    TEntry *e = &th->stack[th->depth - 1];
    if (e->k1 != k1)
        return true;
    if (!e->want_lines)
        return false;
    if (e->line) {
        TLine *l = tracer_line_slot(t, e->node, e->line);
        if (l)
            l->ticks += now - e->line_start;
    }
    TLine *l = tracer_line_slot(t, e->node, line);
    if (l)
        l->hits++;
    e->line = line;
    e->line_start = now;
    return true;
}

/* Sets the line a resumed frame is on, without counting a hit (its time counts from now). */
TRACER_HOT void
tracer_resume_line(TThread *th, int32_t line, uint64_t now)
{
    if (th->depth && th->stack[th->depth - 1].want_lines) {
        th->stack[th->depth - 1].line = line;
        th->stack[th->depth - 1].line_start = now;
    }
}

/* Is (k1, k2) a key the describe callback said to ignore? (No describing here.) */
bool tracer_key_ignored(const Tracer *t, const void *k1, const void *k2);

/* Does the function keyed (k1, k2) want line events (--lines, --include)? Describes it on
 * first sight. 1 or 0; -1 when recording has failed. */
int tracer_key_lines(Tracer *t, const void *k1, const void *k2);
/* Pushes a frame that was already running when tracing started (no call is counted).
 * Returns like tracer_enter. */
int tracer_seed(Tracer *t, TThread *th, const void *k1, const void *k2, int32_t line, uint64_t now);
/* Ends recording: charges every thread's top up to now, closes CPU windows (reading other
 * threads' CPU time from /proc), and records spans for frames still open. The current
 * thread is `self` (may be NULL). Stacks stay as they are. */
void tracer_finish(Tracer *t, TThread *self, uint64_t now);
/* Closes the current thread's CPU window (before taking results mid-run). */
void tracer_sync_thread(Tracer *t, TThread *th, uint64_t now);
