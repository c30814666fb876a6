/* SPDX-License-Identifier: MIT */
/* tracer.c: the slow paths of the tracer core: interning functions and call-tree nodes,
 * growing stacks and line tables, CPU windows, and ending a recording. See tracer.h. */
#include "ext/tracer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void
tracer_options_default(TracerOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->cpu = true;
    opt->cpu_window_ns = 1000000;
    opt->cpu_gap_ns = 50000;
}

static uint64_t
key_hash(uint32_t parent, const void *k1, const void *k2)
{
    uint64_t h = (uint64_t)(uintptr_t)k1 * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)(uintptr_t)k2 * 0xc2b2ae3d27d4eb4fULL;
    h ^= (uint64_t)parent * 0x165667b19e3779f9ULL;
    return h ^ (h >> 29);
}

static int
grow_array(void **arr, uint32_t *cap, uint32_t need, size_t elem, Err *err)
{
    if (need <= *cap)
        return 0;
    uint64_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX - 1 || n > SIZE_MAX / elem)
        return err_set(err, ERR_NOMEM, "tracer table too large");
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p)
        return err_set(err, ERR_NOMEM, "out of memory growing the tracer's tables");
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *arr = p;
    *cap = (uint32_t)n;
    return 0;
}

#define GROW(arr, cap, need, err) grow_array((void **)&(arr), &(cap), (need), sizeof *(arr), (err))

Tracer *
tracer_new(const TracerOptions *opt, TDescribe describe, void *ctx, Err *err)
{
    Tracer *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, ERR_NOMEM, "out of memory creating the tracer");
        return NULL;
    }
    t->opt = *opt;
    if (t->opt.cpu_window_ns <= 0)
        t->opt.cpu_window_ns = 1000000;
    if (t->opt.cpu_gap_ns <= 0)
        t->opt.cpu_gap_ns = 50000;
    t->describe = describe;
    t->describe_ctx = ctx;
    /* node 0 is "no node"; func 0 is the placeholder of thread roots */
    if (GROW(t->nodes, t->nodes_cap, 1024, err) < 0 || GROW(t->funcs, t->funcs_cap, 256, err) < 0)
        goto fail;
    t->nnodes = 1;
    t->nfuncs = 1;
    t->funcs[0].name = strdup("<thread>");
    t->funcs[0].file = strdup("");
    if (!t->funcs[0].name || !t->funcs[0].file) {
        err_set(err, ERR_NOMEM, "out of memory creating the tracer");
        goto fail;
    }
    if (opt->timeline_cap) {
        t->ring = calloc(opt->timeline_cap, sizeof *t->ring);
        if (!t->ring) {
            err_set(err, ERR_NOMEM, "out of memory for a timeline of %" PRIu32 " spans",
                    opt->timeline_cap);
            goto fail;
        }
    }
    clock_init(&t->clock);
    /* the window thresholds need ticks before the rate is measured: a rough estimate */
    double npt = clock_estimate(&t->clock);
    t->ns_per_tick_est = npt;
    t->window_ticks = (uint64_t)((double)t->opt.cpu_window_ns / npt);
    t->gap_ticks = (uint64_t)((double)t->opt.cpu_gap_ns / npt);
    return t;
fail:
    tracer_free(t);
    return NULL;
}

void
tracer_free(Tracer *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].lines) {
            free(t->nodes[i].lines->v);
            free(t->nodes[i].lines);
        }
    }
    free(t->nodes);
    free(t->nmap);
    for (uint32_t i = 0; i < t->nfuncs; i++) {
        free(t->funcs[i].name);
        free(t->funcs[i].file);
    }
    free(t->funcs);
    free(t->fmap);
    for (uint32_t i = 0; i < t->nthreads; i++) {
        free(t->threads[i]->stack);
        free(t->threads[i]->dirty);
        free(t->threads[i]->name);
        free(t->threads[i]);
    }
    free(t->threads);
    free(t->ring);
    free(t);
}

void
tracer_fail(Tracer *t, const Err *err)
{
    if (!t->failed) {
        t->failed = true;
        t->err = *err;
    }
}

static int64_t
thread_cpu_ns(bool *ok)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        *ok = false;
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

TThread *
tracer_thread_new(Tracer *t, uint64_t tid, uint64_t ident, const char *name, Err *err)
{
    if (GROW(t->threads, t->threads_cap, t->nthreads + 1, err) < 0 ||
        GROW(t->nodes, t->nodes_cap, t->nnodes + 1, err) < 0)
        return NULL;
    TThread *th = calloc(1, sizeof *th);
    if (!th) {
        err_set(err, ERR_NOMEM, "out of memory adding a thread");
        return NULL;
    }
    th->name = strdup(name ? name : "");
    if (!th->name || GROW(th->stack, th->cap, 256, err) < 0) {
        free(th->name);
        free(th);
        err_set(err, ERR_NOMEM, "out of memory adding a thread");
        return NULL;
    }
    th->tid = tid;
    th->ident = ident;
    th->index = t->nthreads;
    uint32_t root = t->nnodes++;
    memset(&t->nodes[root], 0, sizeof t->nodes[root]);
    t->nodes[root].thread = th->index;
    th->root = th->top = root;
    th->last = clock_ticks(&t->clock);
    th->cpu_ok = t->opt.cpu;
    th->win_start = th->last;
    th->win_cpu_ns = thread_cpu_ns(&th->cpu_ok);
    t->threads[t->nthreads++] = th;
    return th;
}

int
tracer_thread_rename(TThread *th, const char *name, Err *err)
{
    char *n = strdup(name ? name : "");
    if (!n)
        return err_set(err, ERR_NOMEM, "out of memory naming a thread");
    free(th->name);
    th->name = n;
    return 0;
}

static int
fmap_grow(Tracer *t, Err *err)
{
    uint32_t cap = t->fmap_cap ? t->fmap_cap * 2 : 1024;
    TFuncSlot *m = calloc(cap, sizeof *m);
    if (!m)
        return err_set(err, ERR_NOMEM, "out of memory growing the function table");
    for (uint32_t i = 0; i < t->fmap_cap; i++) {
        TFuncSlot *s = &t->fmap[i];
        if (!s->func)
            continue;
        uint64_t h = key_hash(0, s->k1, s->k2);
        uint32_t j = (uint32_t)h & (cap - 1);
        while (m[j].func)
            j = (j + 1) & (cap - 1);
        m[j] = *s;
    }
    free(t->fmap);
    t->fmap = m;
    t->fmap_cap = cap;
    return 0;
}

/* Returns the function of key (k1, k2), describing it the first time; 0 on failure. */
static uint32_t
func_for(Tracer *t, const void *k1, const void *k2, bool *ignored, Err *err)
{
    if (t->fmap_len * 2 >= t->fmap_cap && fmap_grow(t, err) < 0)
        return 0;
    uint64_t h = key_hash(0, k1, k2);
    uint32_t mask = t->fmap_cap - 1, i = (uint32_t)h & mask;
    for (; t->fmap[i].func; i = (i + 1) & mask) {
        if (t->fmap[i].k1 == k1 && t->fmap[i].k2 == k2) {
            uint32_t f = t->fmap[i].func;
            *ignored = t->funcs[f].name == NULL;
            return f;
        }
    }
    TFuncDesc d = {0};
    if (t->describe(t->describe_ctx, k1, k2, &d, err) < 0)
        return 0;
    if (GROW(t->funcs, t->funcs_cap, t->nfuncs + 1, err) < 0)
        return 0;
    TFunc *f = &t->funcs[t->nfuncs];
    memset(f, 0, sizeof *f);
    f->k1 = k1;
    f->k2 = k2;
    if (!d.ignore) { /* an ignored function keeps name NULL */
        f->name = strdup(d.name ? d.name : "?");
        f->file = strdup(d.file ? d.file : "");
        if (!f->name || !f->file) {
            free(f->name);
            free(f->file);
            f->name = f->file = NULL;
            err_set(err, ERR_NOMEM, "out of memory describing a function");
            return 0;
        }
    }
    f->line = d.line;
    f->kind = (uint8_t)d.kind;
    f->lines = t->opt.lines && d.lines && !d.ignore;
    *ignored = d.ignore;
    t->fmap[i] = (TFuncSlot){k1, k2, t->nfuncs};
    t->fmap_len++;
    return t->nfuncs++;
}

bool
tracer_key_ignored(const Tracer *t, const void *k1, const void *k2)
{
    if (!t->fmap_cap)
        return false;
    uint32_t mask = t->fmap_cap - 1, i = (uint32_t)key_hash(0, k1, k2) & mask;
    for (; t->fmap[i].func; i = (i + 1) & mask)
        if (t->fmap[i].k1 == k1 && t->fmap[i].k2 == k2)
            return t->funcs[t->fmap[i].func].name == NULL;
    return false;
}

int
tracer_key_lines(Tracer *t, const void *k1, const void *k2)
{
    if (t->failed)
        return -1;
    Err err;
    err_clear(&err);
    bool ignored = false;
    uint32_t f = func_for(t, k1, k2, &ignored, &err);
    if (!f) {
        tracer_fail(t, &err);
        return -1;
    }
    return t->funcs[f].lines;
}

static int
nmap_grow(Tracer *t, Err *err)
{
    uint32_t cap = t->nmap_cap ? t->nmap_cap * 2 : 4096;
    if (cap == 0)
        return err_set(err, ERR_NOMEM, "call tree too large");
    TNodeSlot *m = calloc(cap, sizeof *m);
    if (!m)
        return err_set(err, ERR_NOMEM, "out of memory growing the call tree");
    for (uint32_t i = 0; i < t->nmap_cap; i++) {
        TNodeSlot *s = &t->nmap[i];
        if (!s->node)
            continue;
        uint32_t j = (uint32_t)key_hash(s->parent, s->k1, s->k2) & (cap - 1);
        while (m[j].node)
            j = (j + 1) & (cap - 1);
        m[j] = *s;
    }
    free(t->nmap);
    t->nmap = m;
    t->nmap_cap = cap;
    return 0;
}

uint32_t
tracer_child_slow(Tracer *t, uint32_t parent, const void *k1, const void *k2)
{
    if (t->failed)
        return TRACER_NO_NODE;
    Err err;
    err_clear(&err);
    if (t->nmap_len * 2 >= t->nmap_cap && nmap_grow(t, &err) < 0)
        goto fail;
    uint32_t mask = t->nmap_cap - 1;
    uint32_t i = (uint32_t)key_hash(parent, k1, k2) & mask;
    for (; t->nmap[i].node; i = (i + 1) & mask) {
        TNodeSlot *s = &t->nmap[i];
        if (s->parent == parent && s->k1 == k1 && s->k2 == k2)
            goto found;
    }
    bool ignored = false;
    uint32_t func = func_for(t, k1, k2, &ignored, &err);
    if (!func)
        goto fail;
    uint32_t node = TRACER_IGNORED;
    if (!ignored) {
        if (GROW(t->nodes, t->nodes_cap, t->nnodes + 1, &err) < 0)
            goto fail;
        node = t->nnodes++;
        TNode *n = &t->nodes[node];
        memset(n, 0, sizeof *n);
        n->parent = parent;
        n->func = func;
        n->thread = t->nodes[parent].thread;
        n->depth = t->nodes[parent].depth + 1;
    }
    t->nmap[i] = (TNodeSlot){k1, k2, parent, node};
    t->nmap_len++;
found:;
    TNode *p = &t->nodes[parent];
    p->last_k1 = k1;
    p->last_k2 = k2;
    p->last_child = t->nmap[i].node;
    return p->last_child;
fail:
    tracer_fail(t, &err);
    return TRACER_NO_NODE;
}

int
tracer_stack_grow(Tracer *t, TThread *th)
{
    Err err;
    if (GROW(th->stack, th->cap, th->depth + 1, &err) < 0) {
        tracer_fail(t, &err);
        return -1;
    }
    return 0;
}

void
tracer_dirty_push(TThread *th, uint32_t node)
{
    Err err;
    if (th->ndirty == th->dirty_cap && GROW(th->dirty, th->dirty_cap, th->ndirty + 1, &err) < 0) {
        /* without room the window cannot be apportioned: CPU time stops for this thread */
        th->cpu_ok = false;
        return;
    }
    th->dirty[th->ndirty++] = node;
}

/* Apportions the CPU time of a window among the nodes that ran in it. The thread's CPU
 * clock is read once per window (a system call, ~0.4 us) instead of at every event:
 *  - a window ends after cpu_window_ns, or as soon as one interval between events lasts
 *    cpu_gap_ns or more (a sleep, I/O, a GIL wait or a long C call);
 *  - the short intervals are taken to be on CPU (capped by the CPU time measured), and
 *    the long interval, if any, gets the rest;
 *  - with no long interval, every node gets its share of the window's CPU/wall ratio.
 * So blocking shows up in the function that blocked, to within one window of mixing. */
static void
window_close_at(Tracer *t, TThread *th, uint64_t now, int64_t cpu_ns, uint32_t gap_node,
                uint64_t gap)
{
    /* the window's wall time comes from the event ticks themselves: a clock read here could
     * fall after a preemption that happened since `now` was read and skew the ratios */
    uint64_t win = now - th->win_start;
    double wall_ns = (double)win * t->ns_per_tick_est;
    double cpu = (double)(cpu_ns - th->win_cpu_ns);
    if (cpu < 0)
        cpu = 0;
    double r_short = 1, r_gap = 0;
    if (win && wall_ns > 0) {
        if (gap && gap <= win) {
            double gap_ns = wall_ns * (double)gap / (double)win;
            double short_ns = wall_ns - gap_ns;
            double cpu_short = cpu < short_ns ? cpu : short_ns;
            r_short = short_ns > 0 ? cpu_short / short_ns : 1;
            r_gap = gap_ns > 0 ? (cpu - cpu_short) / gap_ns : 0;
            if (r_gap > 1)
                r_gap = 1;
        } else {
            r_short = cpu / wall_ns;
            gap = 0;
        }
        if (r_short > 1)
            r_short = 1;
    }
    for (uint32_t i = 0; i < th->ndirty; i++) {
        TNode *n = &t->nodes[th->dirty[i]];
        if (gap && th->dirty[i] == gap_node) {
            uint64_t rest = n->win_ticks > gap ? n->win_ticks - gap : 0;
            n->cpu_ticks += (double)rest * r_short + (double)gap * r_gap;
        } else {
            n->cpu_ticks += (double)n->win_ticks * r_short;
        }
        n->win_ticks = 0;
    }
    th->ndirty = 0;
    th->win_start = now;
    th->win_cpu_ns = cpu_ns;
}

void
tracer_window_close(Tracer *t, TThread *th, uint64_t now, uint32_t gap_node, uint64_t gap)
{
    int64_t cpu = thread_cpu_ns(&th->cpu_ok);
    if (!th->cpu_ok)
        return;
    window_close_at(t, th, now, cpu, gap_node, gap);
}

void
tracer_exit_slow(Tracer *t, TThread *th, const void *k1, uint64_t now)
{
    uint32_t i = th->depth;
    while (i > 0 && th->stack[i - 1].k1 != k1)
        i--;
    if (i == 0)
        return;
    /* entries above the match missed their exit (e.g. a C frame whose return event never
     * came); they end here too */
    tracer_charge(t, th, now);
    while (th->depth >= i)
        tracer_pop(t, th, now);
}

void
tracer_unwind_seeded(Tracer *t, TThread *th, const void *caller, uint64_t now)
{
    if (th->seeded > th->depth)
        th->seeded = th->depth; /* seeded entries may have ended through other events */
    if (!th->depth || th->depth > th->seeded || th->stack[th->depth - 1].k1 == caller)
        return;
    uint32_t keep = 0; /* entries to keep: up to and including the caller's */
    if (caller) {
        uint32_t i = th->depth - 1;
        while (i > 0 && th->stack[i - 1].k1 != caller)
            i--;
        if (i == 0)
            return;
        keep = i;
    }
    tracer_charge(t, th, now);
    while (th->depth > keep)
        tracer_pop(t, th, now);
    th->seeded = th->depth;
}

TLine *
tracer_line_slot_slow(Tracer *t, uint32_t node, int32_t line)
{
    if (line <= 0 || node == TRACER_NO_NODE)
        return NULL;
    TNode *n = &t->nodes[node];
    TLineTab *lt = n->lines;
    if (!lt) {
        lt = calloc(1, sizeof *lt);
        if (!lt)
            return NULL;
        lt->base = line;
        n->lines = lt;
    }
    int64_t lo = line, hi = (int64_t)line + 1;
    if (lt->n) {
        int64_t end = (int64_t)lt->base + lt->n;
        if (lt->base < lo)
            lo = lt->base;
        if (end > hi)
            hi = end;
    }
    /* leave room on the side that grew: functions are usually entered at their top */
    int64_t want = hi - lo;
    int64_t cap = want < 16 ? 16 : want + want / 2;
    if (line < lt->base && lt->n) {
        lo = hi - cap;
        if (lo < 1)
            lo = 1;
    } else {
        hi = lo + cap;
    }
    if (hi - lo > (1 << 24))
        return NULL; /* a line table this large is not a real function */
    TLine *v = calloc((size_t)(hi - lo), sizeof *v);
    if (!v)
        return NULL;
    if (lt->n)
        memcpy(v + (lt->base - lo), lt->v, lt->n * sizeof *v);
    free(lt->v);
    lt->v = v;
    lt->base = (int32_t)lo;
    lt->n = (uint32_t)(hi - lo);
    return &lt->v[line - lt->base];
}

int
tracer_seed(Tracer *t, TThread *th, const void *k1, const void *k2, int32_t line, uint64_t now)
{
    if (t->failed)
        return -1;
    int rc = tracer_enter(t, th, k1, k2, false, now);
    if (rc == 0)
        tracer_resume_line(th, line, now);
    return rc;
}

/* CPU time of another thread of this process, from /proc (sum_exec_runtime, the same
 * quantity CLOCK_THREAD_CPUTIME_ID reads). */
static bool
other_thread_cpu_ns(uint64_t tid, int64_t *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%" PRIu64 "/schedstat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    long long ns = 0;
    bool ok = fscanf(f, "%lld", &ns) == 1;
    fclose(f);
    *out = ns;
    return ok;
}

void
tracer_sync_thread(Tracer *t, TThread *th, uint64_t now)
{
    tracer_charge(t, th, now);
    if (t->opt.cpu && th->cpu_ok)
        tracer_window_close(t, th, now, 0, 0);
}

void
tracer_finish(Tracer *t, TThread *self, uint64_t now)
{
    for (uint32_t i = 0; i < t->nthreads; i++) {
        TThread *th = t->threads[i];
        if (th == self) {
            tracer_sync_thread(t, th, now);
        } else {
            /* charge without closing a window from this thread's clock */
            uint64_t d = now - th->last;
            th->last = now;
            TNode *n = &t->nodes[th->top];
            n->self_ticks += d;
            if (t->opt.cpu && th->cpu_ok && d) {
                if (!n->win_ticks)
                    tracer_dirty_push(th, th->top);
                n->win_ticks += d;
            }
            if (t->opt.cpu && th->cpu_ok && th->ndirty) {
                int64_t cpu;
                uint64_t win = now - th->win_start;
                if (!other_thread_cpu_ns(th->tid, &cpu)) {
                    /* the thread is gone: assume it ran except in its last interval */
                    cpu = th->win_cpu_ns + (int64_t)((double)(win - d) * t->ns_per_tick_est);
                }
                window_close_at(t, th, now, cpu, th->top, d);
            }
        }
        for (uint32_t k = 0; k < th->depth; k++) {
            TEntry *e = &th->stack[k];
            if (e->line) {
                TLine *l = tracer_line_slot(t, e->node, e->line);
                if (l)
                    l->ticks += now - e->line_start;
                e->line_start = now;
            }
        }
        if (t->ring) {
            for (uint32_t k = th->depth; k-- > 0;)
                tracer_ring_push(t, th->stack[k].t_enter, now, th->stack[k].node);
        }
    }
}
