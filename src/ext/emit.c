/* SPDX-License-Identifier: MIT */
/* emit.c: tracer call tree -> Profile samples, as deltas against a baseline (emit.h). */
#include "ext/emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

typedef struct {
    uint64_t calls, ticks;
    double cpu_ticks;
    TLineTab lines; /* copy of the node's counters at the baseline (v owned) */
} NodeBase;

struct Emit {
    Profile *p;
    ProcId proc;
    SeriesId s_wall, s_calls, s_cpu, s_hits, s_line_ns, s_spans;
    bool cpu, lines, timeline;
    uint64_t start_ticks; /* baseline time of the first snapshot (spans start here) */
    uint64_t spans_base;  /* t->spans_total then */
    NodeBase *base;       /* per node */
    uint32_t nbase;       /* nodes covered by base (newer nodes have a zero baseline) */
    StackId *stack_of;    /* per node, 0 = not interned yet (roots are PROFILE_ROOT) */
    uint8_t *partial_of;  /* per node: stack was cut at PROFILE_MAX_DEPTH */
    uint32_t *base_of;    /* per node: itself, or for deep nodes the ancestor at depth
                           * PROFILE_MAX_DEPTH - 1 their stacks hang from */
    uint32_t nstack_of;
    FrameId *frame_of; /* per func, +1 (0 = not interned) */
    uint32_t nframe_of;
    HashU64 line_frames; /* (func << 32 | line) -> FrameId */
    ThreadId *thread_of; /* per tracer thread, +1 */
    uint32_t nthread_of;
};

static int
grow_zero(void **arr, uint32_t *have, uint32_t need, size_t elem, Err *err)
{
    if (need <= *have)
        return 0;
    void *p = realloc(*arr, (size_t)need * elem);
    if (!p)
        return err_set(err, ERR_NOMEM, "out of memory emitting the trace");
    memset((char *)p + (size_t)*have * elem, 0, (size_t)(need - *have) * elem);
    *arr = p;
    *have = need;
    return 0;
}

static int
snapshot(Emit *e, const Tracer *t, Err *err)
{
    uint32_t have = e->nbase;
    if (grow_zero((void **)&e->base, &have, t->nnodes, sizeof *e->base, err) < 0)
        return -1;
    e->nbase = have;
    for (uint32_t i = 1; i < t->nnodes; i++) {
        const TNode *n = &t->nodes[i];
        NodeBase *b = &e->base[i];
        b->calls = n->calls;
        b->ticks = n->self_ticks;
        b->cpu_ticks = n->cpu_ticks;
        if (n->lines && n->lines->n) {
            if (b->lines.n != n->lines->n) {
                TLine *v = realloc(b->lines.v, n->lines->n * sizeof *v);
                if (!v)
                    return err_set(err, ERR_NOMEM, "out of memory emitting the trace");
                b->lines.v = v;
            }
            memcpy(b->lines.v, n->lines->v, n->lines->n * sizeof *b->lines.v);
            b->lines.base = n->lines->base;
            b->lines.n = n->lines->n;
        }
    }
    return 0;
}

Emit *
emit_new(Profile *p, const Tracer *t, const EmitInfo *info, Err *err)
{
    Emit *e = calloc(1, sizeof *e);
    if (!e) {
        err_set(err, ERR_NOMEM, "out of memory emitting the trace");
        return NULL;
    }
    e->p = p;
    hashu64_init(&e->line_frames);
    e->cpu = t->opt.cpu;
    e->lines = t->opt.lines;
    e->timeline = t->opt.timeline_cap > 0;
    ProfileInfo *pi = profile_info(p);
    pi->kind = PROFILE_TRACE;
    if (!pi->start_unix_ns)
        pi->start_unix_ns = t->clock.real0_ns;
    char buf[32];
    snprintf(buf, sizeof buf, "%s", t->clock.use_tsc ? "tsc" : "monotonic");
    if (profile_series(p, "wall_ns", "ns", &e->s_wall, err) < 0 ||
        profile_series(p, "calls", "calls", &e->s_calls, err) < 0 ||
        (e->cpu && profile_series(p, "cpu_ns", "ns", &e->s_cpu, err) < 0) ||
        (e->lines && profile_series(p, "line_hits", "hits", &e->s_hits, err) < 0) ||
        (e->lines && profile_series(p, "line_ns", "ns", &e->s_line_ns, err) < 0) ||
        (e->timeline && profile_series(p, "spans", "ns", &e->s_spans, err) < 0) ||
        profile_process(p, info->pid, info->ppid, info->command, &e->proc, err) < 0 ||
        profile_meta_set(p, "mode", "trace", err) < 0 ||
        profile_meta_set(p, "clock", buf, err) < 0 ||
        (info->command && profile_meta_set(p, "command", info->command, err) < 0) ||
        (info->python_version &&
         profile_meta_set(p, "python_version", info->python_version, err) < 0) ||
        (info->hook && profile_meta_set(p, "tracer", info->hook, err) < 0) ||
        profile_meta_set(p, "lines", e->lines ? "1" : "0", err) < 0 ||
        profile_meta_set(p, "builtins", t->opt.builtins ? "1" : "0", err) < 0 ||
        profile_meta_set(p, "cpu", e->cpu ? "windowed" : "off", err) < 0)
        goto fail;
    e->start_ticks = clock_ticks(&t->clock);
    e->spans_base = t->spans_total;
    if (snapshot(e, t, err) < 0)
        goto fail;
    return e;
fail:
    emit_free(e);
    return NULL;
}

void
emit_free(Emit *e)
{
    if (!e)
        return;
    for (uint32_t i = 0; i < e->nbase; i++)
        free(e->base[i].lines.v);
    free(e->base);
    free(e->stack_of);
    free(e->partial_of);
    free(e->base_of);
    free(e->frame_of);
    free(e->thread_of);
    hashu64_fini(&e->line_frames);
    free(e);
}

int
emit_rebase(Emit *e, const Tracer *t, Err *err)
{
    e->start_ticks = clock_ticks(&t->clock);
    e->spans_base = t->spans_total;
    return snapshot(e, t, err);
}

int
emit_note(Emit *e, const char *key, const char *value, Err *err)
{
    return profile_meta_set(e->p, key, value, err);
}

static int
func_frame(Emit *e, const Tracer *t, uint32_t func, FrameId *out, Err *err)
{
    if (grow_zero((void **)&e->frame_of, &e->nframe_of, t->nfuncs, sizeof *e->frame_of, err) < 0)
        return -1;
    if (e->frame_of[func]) {
        *out = e->frame_of[func] - 1;
        return 0;
    }
    const TFunc *f = &t->funcs[func];
    ProfFrame fr = {
        .line = f->line, .fn_line = f->line, .kind = f->kind == TFUNC_C ? FRAME_NATIVE : FRAME_PY};
    if (profile_cstr(e->p, f->name ? f->name : "?", &fr.name, err) < 0 ||
        profile_cstr(e->p, f->file ? f->file : "", &fr.file, err) < 0 ||
        profile_frame(e->p, &fr, out, err) < 0)
        return -1;
    e->frame_of[func] = *out + 1;
    return 0;
}

static int
line_frame(Emit *e, const Tracer *t, uint32_t func, int32_t line, FrameId *out, Err *err)
{
    uint64_t key = (uint64_t)func << 32 | (uint32_t)line;
    uint32_t *v = hashu64_find(&e->line_frames, key);
    if (v) {
        *out = *v;
        return 0;
    }
    FrameId ff;
    if (func_frame(e, t, func, &ff, err) < 0)
        return -1;
    ProfFrame fr = *profile_frame_at(e->p, ff);
    fr.line = line;
    if (profile_frame(e->p, &fr, out, err) < 0)
        return -1;
    if (hashu64_put(&e->line_frames, key, *out) < 0)
        return err_set(err, ERR_NOMEM, "out of memory emitting the trace");
    return 0;
}

/* The stack of `node` with its own frame replaced by `leaf` (or the node's frame when
 * leaf is NULL). A node deeper than PROFILE_MAX_DEPTH keeps the outermost
 * PROFILE_MAX_DEPTH - 1 frames of its path plus its own frame (the frames in between are
 * dropped and the samples marked partial): O(1) per node, where cutting at the root would
 * cost the whole depth for each of the (in deep recursion, very many) deep nodes. */
static int
node_stack(Emit *e, const Tracer *t, uint32_t node, const FrameId *leaf, StackId *out,
           bool *partial, Err *err)
{
    const TNode *n = &t->nodes[node];
    *partial = false;
    if (n->depth == 0) {
        *out = PROFILE_ROOT;
        return 0;
    }
    FrameId fr;
    if (leaf)
        fr = *leaf;
    else if (func_frame(e, t, n->func, &fr, err) < 0)
        return -1;
    /* the parent's stack is interned already: nodes are emitted in id order and a
     * parent's id is smaller than its children's */
    uint32_t base = n->parent;
    if (n->depth >= PROFILE_MAX_DEPTH) {
        base = e->base_of[n->parent];
        *partial = true;
    } else {
        *partial = e->partial_of[n->parent];
    }
    return profile_stack(e->p, e->stack_of[base], fr, out, err);
}

static int
intern_stacks(Emit *e, const Tracer *t, Err *err)
{
    uint32_t from = e->nstack_of, have = e->nstack_of;
    if (grow_zero((void **)&e->stack_of, &have, t->nnodes, sizeof *e->stack_of, err) < 0)
        return -1;
    uint32_t have2 = from, have3 = from;
    if (grow_zero((void **)&e->partial_of, &have2, t->nnodes, sizeof *e->partial_of, err) < 0 ||
        grow_zero((void **)&e->base_of, &have3, t->nnodes, sizeof *e->base_of, err) < 0)
        return -1;
    e->nstack_of = t->nnodes;
    for (uint32_t i = from ? from : 1; i < t->nnodes; i++) {
        const TNode *n = &t->nodes[i];
        e->base_of[i] = n->depth < PROFILE_MAX_DEPTH ? i : e->base_of[n->parent];
        bool partial;
        StackId s;
        if (node_stack(e, t, i, NULL, &s, &partial, err) < 0) {
            e->nstack_of = i;
            return -1;
        }
        e->stack_of[i] = s;
        e->partial_of[i] = partial;
    }
    return 0;
}

static int
thread_id(Emit *e, const Tracer *t, uint32_t index, ThreadId *out, Err *err)
{
    if (grow_zero((void **)&e->thread_of, &e->nthread_of, t->nthreads, sizeof *e->thread_of, err) <
        0)
        return -1;
    const TThread *th = t->threads[index];
    /* called every emission, so a thread renamed since the last one gets its new name */
    if (profile_thread(e->p, e->proc, th->tid, th->name, out, err) < 0)
        return -1;
    e->thread_of[index] = *out + 1;
    return 0;
}

static int
add(Emit *e, SeriesId series, StackId stack, ThreadId thread, bool partial, int64_t t_ns,
    int64_t weight, Err *err)
{
    ProfSample s = {.t_ns = t_ns,
                    .stack = stack,
                    .thread = thread,
                    .series = series,
                    .weight = weight,
                    .flags = partial ? SAMPLE_PARTIAL : 0};
    return profile_add_sample(e->p, &s, err);
}

static int
emit_lines(Emit *e, Tracer *t, uint32_t node, ThreadId th, int64_t t_ns, Err *err)
{
    const TNode *n = &t->nodes[node];
    const TLineTab *lt = n->lines;
    const TLineTab *bl = node < e->nbase ? &e->base[node].lines : NULL;
    double rate = t->clock.ns_per_tick;
    for (uint32_t i = 0; i < lt->n; i++) {
        int32_t line = lt->base + (int32_t)i;
        TLine old = {0, 0};
        if (bl && bl->n && line >= bl->base && (uint32_t)(line - bl->base) < bl->n)
            old = bl->v[line - bl->base];
        uint64_t dh = lt->v[i].hits - old.hits, dt = lt->v[i].ticks - old.ticks;
        if (!dh && !dt)
            continue;
        FrameId fr;
        StackId s;
        bool partial;
        if (line_frame(e, t, n->func, line, &fr, err) < 0 ||
            node_stack(e, t, node, &fr, &s, &partial, err) < 0)
            return -1;
        if ((dh && add(e, e->s_hits, s, th, partial, t_ns, (int64_t)dh, err) < 0) ||
            (dt &&
             add(e, e->s_line_ns, s, th, partial, t_ns, (int64_t)((double)dt * rate), err) < 0))
            return -1;
    }
    return 0;
}

int
emit_deltas(Emit *e, Tracer *t, uint64_t now, Err *err)
{
    clock_rate(&t->clock);
    double rate = t->clock.ns_per_tick;
    int64_t t_ns = clock_ns_since_start(&t->clock, now);
    ProfileInfo *pi = profile_info(e->p);
    int64_t dur = clock_ns_since_start(&t->clock, now);
    if (dur > pi->duration_ns)
        pi->duration_ns = dur;
    if (intern_stacks(e, t, err) < 0)
        return -1;
    for (uint32_t i = 0; i < t->nthreads; i++) {
        ThreadId tid;
        if (thread_id(e, t, i, &tid, err) < 0)
            return -1;
    }
    for (uint32_t i = 1; i < t->nnodes; i++) {
        const TNode *n = &t->nodes[i];
        if (n->depth == 0)
            continue; /* time outside any traced frame is not a function's */
        NodeBase zero = {0};
        const NodeBase *b = i < e->nbase ? &e->base[i] : &zero;
        uint64_t dc = n->calls - b->calls, dt = n->self_ticks - b->ticks;
        double dcpu = n->cpu_ticks - b->cpu_ticks;
        bool dl = e->lines && n->lines;
        if (!dc && !dt && !(dcpu > 0) && !dl)
            continue;
        ThreadId th = e->thread_of[n->thread] - 1;
        StackId s = e->stack_of[i];
        bool partial = e->partial_of[i];
        if ((dt &&
             add(e, e->s_wall, s, th, partial, t_ns, (int64_t)((double)dt * rate), err) < 0) ||
            (dc && add(e, e->s_calls, s, th, partial, t_ns, (int64_t)dc, err) < 0) ||
            (e->cpu && dcpu * rate >= 1 &&
             add(e, e->s_cpu, s, th, partial, t_ns, (int64_t)(dcpu * rate), err) < 0))
            return -1;
        if (dl && emit_lines(e, t, i, th, t_ns, err) < 0)
            return -1;
    }
    return snapshot(e, t, err);
}

int
emit_spans(Emit *e, Tracer *t, Err *err)
{
    if (!e->timeline || !t->ring)
        return 0;
    clock_rate(&t->clock);
    if (intern_stacks(e, t, err) < 0)
        return -1;
    uint64_t fresh = t->spans_total - e->spans_base;
    uint64_t cap = t->opt.timeline_cap;
    uint64_t kept = fresh < cap ? fresh : cap;
    /* the newest `kept` spans end just before ring_pos */
    uint64_t first = ((uint64_t)t->ring_pos + cap - kept % cap) % cap;
    if (kept == cap)
        first = t->ring_pos;
    for (uint64_t k = 0; k < kept; k++) {
        const TSpan *sp = &t->ring[(first + k) % cap];
        const TNode *n = &t->nodes[sp->node];
        if (n->depth == 0)
            continue;
        uint64_t t0 = sp->t0 < e->start_ticks ? e->start_ticks : sp->t0;
        if (sp->t1 < t0)
            continue;
        ThreadId th;
        if (thread_id(e, t, n->thread, &th, err) < 0)
            return -1;
        if (add(e, e->s_spans, e->stack_of[sp->node], th, e->partial_of[sp->node],
                clock_ns_since_start(&t->clock, t0), clock_ticks_to_ns(&t->clock, sp->t1 - t0),
                err) < 0)
            return -1;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)kept);
    if (profile_meta_set(e->p, "timeline_spans", buf, err) < 0)
        return -1;
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)cap);
    if (profile_meta_set(e->p, "timeline_size", buf, err) < 0)
        return -1;
    if (fresh > kept && profile_add_dropped(e->p, "timeline", fresh - kept, err) < 0)
        return -1;
    return 0;
}
