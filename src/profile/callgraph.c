/* SPDX-License-Identifier: MIT */
/* callgraph.c: per-function and per-edge statistics folded from a trace profile's stack
 * tree (callgraph.h). One pass over stacks, ids in increasing order (parents first). */
#include "profile/callgraph.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

typedef struct {
    const CgFunc *funcs;
} FuncCtx;

static bool
func_eq(const void *ctx, uint32_t id, const void *key)
{
    const CgFunc *a = &((const FuncCtx *)ctx)->funcs[id];
    const ProfFrame *b = key;
    return a->name == b->name && a->file == b->file && a->line == b->fn_line && a->kind == b->kind;
}

typedef struct {
    int64_t *calls, *wall, *cpu, *hits, *line_ns; /* per stack self weights */
    int64_t *wall_total, *cpu_total;
    uint32_t *func_of_frame;
    uint32_t *func_of_stack;
    uint32_t *edge_slot;
} Scratch;

static void
scratch_free(Scratch *s)
{
    free(s->calls);
    free(s->wall);
    free(s->cpu);
    free(s->hits);
    free(s->line_ns);
    free(s->wall_total);
    free(s->cpu_total);
    free(s->func_of_frame);
    free(s->func_of_stack);
    free(s->edge_slot);
}

/* self weights of series `name` (zeros if absent); NULL only when out of memory */
static int64_t *
series_self(const Profile *p, const char *name, int64_t thread, bool *present)
{
    size_t n = profile_nstacks(p);
    int64_t *self = calloc(n ? n : 1, sizeof *self);
    SeriesId sid;
    *present = profile_series_find(p, name, &sid);
    if (self && *present) {
        ProfFilter f;
        profile_filter_init(&f);
        f.series = sid;
        f.thread = thread;
        profile_self_weights(p, &f, self);
    }
    return self;
}

static int
index_funcs(const Profile *p, Callgraph *cg, Scratch *s, Err *err)
{
    size_t nf = profile_nframes(p);
    IdSet set;
    idset_init(&set);
    s->func_of_frame = malloc((nf ? nf : 1) * sizeof *s->func_of_frame);
    cg->funcs = calloc(nf ? nf : 1, sizeof *cg->funcs);
    if (!s->func_of_frame || !cg->funcs)
        goto nomem;
    for (FrameId i = 0; i < nf; i++) {
        const ProfFrame *fr = profile_frame_at(p, i);
        uint64_t h = hash_combine(hash_combine(hash_u64(fr->name), fr->file),
                                  (uint64_t)(uint32_t)fr->fn_line << 8 | fr->kind);
        FuncCtx fc = {cg->funcs};
        uint32_t id;
        if (!idset_find(&set, h, func_eq, &fc, fr, &id)) {
            id = (uint32_t)cg->nfuncs++;
            cg->funcs[id] =
                (CgFunc){.name = fr->name, .file = fr->file, .line = fr->fn_line, .kind = fr->kind};
            if (idset_add(&set, h, id) < 0)
                goto nomem;
        }
        s->func_of_frame[i] = id;
    }
    idset_fini(&set);
    return 0;
nomem:
    idset_fini(&set);
    return err_set(err, ERR_NOMEM, "out of memory building the call graph");
}

/* Is the function of stack `sid` also the function of one of its ancestors? */
static bool
recursive(const Profile *p, const Scratch *s, StackId sid)
{
    uint32_t f = s->func_of_stack[sid];
    for (StackId a = profile_stack_at(p, sid)->parent; a != PROFILE_ROOT;
         a = profile_stack_at(p, a)->parent)
        if (s->func_of_stack[a] == f)
            return true;
    return false;
}

static int
add_edge(Callgraph *cg, HashU64 *edges, size_t *cap, uint32_t caller, uint32_t callee, CgEdge **out,
         Err *err)
{
    uint64_t key = (uint64_t)caller << 32 | callee;
    uint32_t *v = hashu64_find(edges, key);
    if (v) {
        *out = &cg->edges[*v];
        return 0;
    }
    if (cg->nedges == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        CgEdge *e = realloc(cg->edges, n * sizeof *e);
        if (!e)
            return err_set(err, ERR_NOMEM, "out of memory building the call graph");
        cg->edges = e;
        *cap = n;
    }
    if (hashu64_put(edges, key, (uint32_t)cg->nedges) < 0)
        return err_set(err, ERR_NOMEM, "out of memory building the call graph");
    *out = &cg->edges[cg->nedges++];
    **out = (CgEdge){.caller = caller, .callee = callee};
    return 0;
}

static int
cmp_lines(const void *a, const void *b)
{
    const CgLine *x = a, *y = b;
    if (x->func != y->func)
        return x->func < y->func ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int
build_lines(const Profile *p, Callgraph *cg, Scratch *s, Err *err)
{
    size_t ns = profile_nstacks(p);
    HashU64 map;
    hashu64_init(&map);
    size_t cap = 0;
    for (StackId sid = 1; sid < ns; sid++) {
        if (!s->hits[sid] && !s->line_ns[sid])
            continue;
        const ProfFrame *fr = profile_frame_at(p, profile_stack_at(p, sid)->frame);
        uint32_t f = s->func_of_stack[sid];
        uint64_t key = (uint64_t)f << 32 | (uint32_t)fr->line;
        uint32_t *v = hashu64_find(&map, key);
        CgLine *l;
        if (v) {
            l = &cg->lines[*v];
        } else {
            if (cg->nlines == cap) {
                size_t n = cap ? cap * 2 : 64;
                CgLine *q = realloc(cg->lines, n * sizeof *q);
                if (!q)
                    goto nomem;
                cg->lines = q;
                cap = n;
            }
            if (hashu64_put(&map, key, (uint32_t)cg->nlines) < 0)
                goto nomem;
            l = &cg->lines[cg->nlines++];
            *l = (CgLine){.func = f, .line = fr->line};
        }
        l->hits += s->hits[sid];
        l->ns += s->line_ns[sid];
    }
    hashu64_fini(&map);
    if (cg->nlines)
        qsort(cg->lines, cg->nlines, sizeof *cg->lines, cmp_lines);
    return 0;
nomem:
    hashu64_fini(&map);
    return err_set(err, ERR_NOMEM, "out of memory building the call graph");
}

int
callgraph_build(const Profile *p, int64_t thread, Callgraph *out, Err *err)
{
    memset(out, 0, sizeof *out);
    Scratch s = {0};
    HashU64 edges;
    hashu64_init(&edges);
    size_t edge_cap = 0;
    size_t ns = profile_nstacks(p);
    bool has_calls, has_wall, has_hits, has_line_ns;
    s.calls = series_self(p, "calls", thread, &has_calls);
    s.wall = series_self(p, "wall_ns", thread, &has_wall);
    s.cpu = series_self(p, "cpu_ns", thread, &out->has_cpu);
    s.hits = series_self(p, "line_hits", thread, &has_hits);
    s.line_ns = series_self(p, "line_ns", thread, &has_line_ns);
    s.wall_total = malloc(ns * sizeof *s.wall_total);
    s.cpu_total = malloc(ns * sizeof *s.cpu_total);
    s.func_of_stack = calloc(ns, sizeof *s.func_of_stack);
    if (!s.calls || !s.wall || !s.cpu || !s.hits || !s.line_ns || !s.wall_total || !s.cpu_total ||
        !s.func_of_stack) {
        err_set(err, ERR_NOMEM, "out of memory building the call graph");
        goto fail;
    }
    if (!has_calls || !has_wall) {
        /* a sampled profile: its first series as wall time, no call counts */
        SeriesId sid = 0;
        const char *unit = profile_nseries(p) ? profile_series_unit(p, sid) : "";
        /* samples count their interval (1 ms when the profile records none) */
        int64_t iv = profile_info_c(p)->interval_ns;
        double scale = strcmp(unit, "ns") == 0        ? 1.0
                       : strcmp(unit, "samples") == 0 ? (double)(iv > 0 ? iv : 1000000)
                                                      : 0.0;
        if (has_calls || has_wall || scale == 0.0) {
            err_set(err, ERR_FORMAT, "the profile holds no times (its first series is in %s)",
                    *unit ? unit : "no unit");
            goto fail;
        }
        ProfFilter f;
        profile_filter_init(&f);
        f.series = sid;
        f.thread = thread;
        profile_self_weights(p, &f, s.wall);
        for (size_t i = 0; i < ns; i++)
            s.wall[i] = (int64_t)((double)s.wall[i] * scale);
        out->sampled = true;
    }
    out->has_lines = has_hits || has_line_ns;
    if (index_funcs(p, out, &s, err) < 0)
        goto fail;
    profile_fold_totals(p, s.wall, s.wall_total);
    profile_fold_totals(p, s.cpu, s.cpu_total);
    for (StackId sid = 1; sid < ns; sid++)
        s.func_of_stack[sid] = s.func_of_frame[profile_stack_at(p, sid)->frame];
    for (StackId sid = 1; sid < ns; sid++) {
        if (!s.calls[sid] && !s.wall[sid] && !s.wall_total[sid] && !s.cpu[sid])
            continue;
        uint32_t f = s.func_of_stack[sid];
        StackId parent = profile_stack_at(p, sid)->parent;
        uint32_t g = parent == PROFILE_ROOT ? CG_ROOT : s.func_of_stack[parent];
        bool prim = !recursive(p, &s, sid);
        CgFunc *fn = &out->funcs[f];
        fn->calls += s.calls[sid];
        fn->self_ns += s.wall[sid];
        fn->self_cpu_ns += s.cpu[sid];
        if (prim) {
            fn->prim_calls += s.calls[sid];
            fn->total_ns += s.wall_total[sid];
            fn->total_cpu_ns += s.cpu_total[sid];
        }
        out->calls += s.calls[sid];
        out->wall_ns += s.wall[sid];
        out->cpu_ns += s.cpu[sid];
        CgEdge *e = NULL;
        if (add_edge(out, &edges, &edge_cap, g, f, &e, err) < 0)
            goto fail;
        e->calls += s.calls[sid];
        e->self_ns += s.wall[sid];
        if (prim) {
            e->prim_calls += s.calls[sid];
            e->total_ns += s.wall_total[sid];
        }
    }
    if (out->has_lines && build_lines(p, out, &s, err) < 0)
        goto fail;
    hashu64_fini(&edges);
    scratch_free(&s);
    return 0;
fail:
    hashu64_fini(&edges);
    scratch_free(&s);
    callgraph_fini(out);
    return -1;
}

void
callgraph_fini(Callgraph *cg)
{
    free(cg->funcs);
    free(cg->edges);
    free(cg->lines);
    memset(cg, 0, sizeof *cg);
}

static const Profile *order_p;
static const Callgraph *order_cg;
static CgSort order_key;

static int64_t
sort_value(const CgFunc *f, CgSort key)
{
    switch (key) {
    case CG_SORT_TOTAL:
        return f->total_ns;
    case CG_SORT_CALLS:
        return f->calls;
    case CG_SORT_CPU:
        return f->self_cpu_ns;
    case CG_SORT_NAME:
        return 0;
    case CG_SORT_SELF:
    default:
        return f->self_ns;
    }
}

static int
cmp_order(const void *a, const void *b)
{
    const CgFunc *x = &order_cg->funcs[*(const uint32_t *)a];
    const CgFunc *y = &order_cg->funcs[*(const uint32_t *)b];
    int64_t kx = sort_value(x, order_key), ky = sort_value(y, order_key);
    if (kx != ky)
        return kx > ky ? -1 : 1;
    int c = strcmp(profile_strp(order_p, x->name), profile_strp(order_p, y->name));
    if (c)
        return c;
    c = strcmp(profile_strp(order_p, x->file), profile_strp(order_p, y->file));
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

void
callgraph_order(const Profile *p, const Callgraph *cg, CgSort key, uint32_t *order)
{
    for (size_t i = 0; i < cg->nfuncs; i++)
        order[i] = (uint32_t)i;
    order_p = p;
    order_cg = cg;
    order_key = key;
    qsort(order, cg->nfuncs, sizeof *order, cmp_order);
}

bool
callgraph_sort_parse(const char *s, CgSort *out)
{
    static const struct {
        const char *name;
        CgSort key;
    } keys[] = {{"self", CG_SORT_SELF},     {"total", CG_SORT_TOTAL}, {"calls", CG_SORT_CALLS},
                {"cpu", CG_SORT_CPU},       {"name", CG_SORT_NAME},   {"tottime", CG_SORT_SELF},
                {"cumtime", CG_SORT_TOTAL}, {"ncalls", CG_SORT_CALLS}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(s, keys[i].name) == 0) {
            *out = keys[i].key;
            return true;
        }
    }
    return false;
}
