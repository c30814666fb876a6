/* SPDX-License-Identifier: MIT */
/* flame.c: merges a profile's stack tree into a per-function call tree and orders it. */
#include "report/flame.h"

#include <stdlib.h>
#include <string.h>

int
flame_init(FlameTree *t, Err *err)
{
    memset(t, 0, sizeof *t);
    hashu64_init(&t->map);
    t->nodes = calloc(16, sizeof *t->nodes);
    if (!t->nodes)
        return err_set(err, ERR_NOMEM, "out of memory building the call tree");
    t->cap = 16;
    t->n = 1;
    t->nodes[0] = (FlameNode){.parent = FLAME_ROOT, .func = FLAME_NO_FUNC};
    return 0;
}

void
flame_fini(FlameTree *t)
{
    free(t->nodes);
    hashu64_fini(&t->map);
    memset(t, 0, sizeof *t);
}

static int
child(FlameTree *t, uint32_t parent, uint32_t func, uint32_t *out, Err *err)
{
    uint64_t key = (uint64_t)parent << 32 | func;
    uint32_t *v = hashu64_find(&t->map, key);
    if (v) {
        *out = *v;
        return 0;
    }
    if (t->n == t->cap) {
        FlameNode *q = realloc(t->nodes, 2 * t->cap * sizeof *q);
        if (!q)
            return err_set(err, ERR_NOMEM, "out of memory building the call tree");
        t->nodes = q;
        t->cap *= 2;
    }
    uint32_t id = (uint32_t)t->n;
    if (hashu64_put(&t->map, key, id) < 0)
        return err_set(err, ERR_NOMEM, "out of memory building the call tree");
    t->nodes[id] = (FlameNode){.parent = parent, .func = func,
                               .depth = t->nodes[parent].depth + 1};
    t->n++;
    *out = id;
    return 0;
}

int
flame_add(FlameTree *t, const Profile *p, const int64_t *self, const uint32_t *func_of_frame,
          int side, Err *err)
{
    size_t ns = profile_nstacks(p);
    int64_t *total = malloc(ns * sizeof *total);
    uint32_t *node = malloc(ns * sizeof *node);
    int rc = -1;
    if (!total || !node) {
        err_set(err, ERR_NOMEM, "out of memory building the call tree");
        goto done;
    }
    profile_fold_totals(p, self, total);
    node[PROFILE_ROOT] = FLAME_ROOT;
    t->nodes[FLAME_ROOT].self[side] += self[PROFILE_ROOT];
    for (StackId s = 1; s < ns; s++) {
        const ProfStack *st = profile_stack_at(p, s);
        /* a parent without a node (nothing below it; or, with negative weights from an
         * untrusted file, weights that cancel out) gives its stacks none either */
        if (total[s] == 0 || node[st->parent] == UINT32_MAX) {
            node[s] = UINT32_MAX;
            continue;
        }
        if (child(t, node[st->parent], func_of_frame[st->frame], &node[s], err) < 0)
            goto done;
        t->nodes[node[s]].self[side] += self[s];
    }
    rc = 0;
done:
    free(total);
    free(node);
    return rc;
}

void
flame_fold(FlameTree *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int s = 0; s < 2; s++)
            t->nodes[i].total[s] = t->nodes[i].self[s];
    for (size_t i = t->n; i-- > 1;)
        for (int s = 0; s < 2; s++)
            t->nodes[t->nodes[i].parent].total[s] += t->nodes[i].total[s];
}

static const FlameTree *sort_tree;
static int sort_side;

static int
cmp_nodes(const void *a, const void *b)
{
    const FlameNode *x = &sort_tree->nodes[*(const uint32_t *)a];
    const FlameNode *y = &sort_tree->nodes[*(const uint32_t *)b];
    /* both sides summed as a tie-break so a diff's nodes gone in `new` still sort */
    int64_t kx = x->total[sort_side], ky = y->total[sort_side];
    if (kx != ky)
        return kx > ky ? -1 : 1;
    int64_t ox = x->total[!sort_side], oy = y->total[!sort_side];
    if (ox != oy)
        return ox > oy ? -1 : 1;
    return x->func < y->func ? -1 : x->func > y->func;
}

int
flame_order(const FlameTree *t, int side, uint32_t **order, Err *err)
{
    size_t n = t->n;
    uint32_t *first = calloc(n + 1, sizeof *first); /* children of i: kids[first[i]..first[i+1]) */
    uint32_t *kids = malloc(n * sizeof *kids);
    uint32_t *out = malloc(n * sizeof *out);
    uint32_t *stack = malloc(n * sizeof *stack);
    if (!first || !kids || !out || !stack) {
        free(first);
        free(kids);
        free(out);
        free(stack);
        return err_set(err, ERR_NOMEM, "out of memory ordering the call tree");
    }
    for (size_t i = 1; i < n; i++)
        first[t->nodes[i].parent + 1]++;
    for (size_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    uint32_t *fill = stack; /* reused as a cursor per parent before the walk */
    memcpy(fill, first, n * sizeof *fill);
    for (size_t i = 1; i < n; i++)
        kids[fill[t->nodes[i].parent]++] = (uint32_t)i;
    sort_tree = t;
    sort_side = side;
    for (size_t i = 0; i < n; i++)
        if (first[i + 1] - first[i] > 1)
            qsort(kids + first[i], first[i + 1] - first[i], sizeof *kids, cmp_nodes);
    /* iterative preorder: push children in reverse so the heaviest comes out first */
    size_t sp = 0, k = 0;
    stack[sp++] = FLAME_ROOT;
    while (sp) {
        uint32_t v = stack[--sp];
        out[k++] = v;
        for (uint32_t c = first[v + 1]; c-- > first[v];)
            stack[sp++] = kids[c];
    }
    free(first);
    free(kids);
    free(stack);
    *order = out;
    return 0;
}

static void
profile_func(const void *ctx, uint32_t func, FlameFunc *out)
{
    const FlameProfile *fp = ctx;
    const FuncStat *fs = &fp->sum.funcs[func];
    *out = (FlameFunc){.name = profile_strp(fp->p, fs->name),
                       .name_len = profile_strlen(fp->p, fs->name),
                       .file = profile_strp(fp->p, fs->file),
                       .file_len = profile_strlen(fp->p, fs->file),
                       .line = fs->fn_line,
                       .kind = fs->kind};
}

int
flame_profile_build(FlameProfile *fp, const Profile *p, SeriesId series, uint8_t flags_mask,
                    uint8_t flags_want, const char *title, Err *err)
{
    memset(fp, 0, sizeof *fp);
    fp->p = p;
    if (flame_init(&fp->tree, err) < 0)
        return -1;
    fp->self = malloc(profile_nstacks(p) * sizeof *fp->self);
    if (!fp->self) {
        flame_profile_fini(fp);
        return err_set(err, ERR_NOMEM, "out of memory building the call tree");
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = series;
    f.flags_mask = flags_mask;
    f.flags_want = flags_want;
    int64_t n = profile_self_weights(p, &f, fp->self);
    if (summary_build_from_self(p, fp->self, &fp->sum, err) < 0 ||
        flame_add(&fp->tree, p, fp->self, fp->sum.func_of_frame, 0, err) < 0) {
        flame_profile_fini(fp);
        return -1;
    }
    flame_fold(&fp->tree);
    const char *unit = profile_nseries(p) ? profile_series_unit(p, series) : "samples";
    fp->view = (FlameView){.tree = &fp->tree,
                           .grand = {n, 0},
                           .unit = unit,
                           .sample_ns = strcmp(unit, "samples") == 0
                                            ? profile_info_c(p)->interval_ns
                                            : 0,
                           .title = title,
                           .func = profile_func,
                           .ctx = fp};
    return 0;
}

void
flame_profile_fini(FlameProfile *fp)
{
    summary_fini(&fp->sum);
    free(fp->self);
    flame_fini(&fp->tree);
}
