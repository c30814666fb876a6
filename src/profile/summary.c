/* SPDX-License-Identifier: MIT */
/* summary.c: folds per-stack weights into per-function and per-line self/total. */
#include "profile/summary.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

typedef struct {
    const FuncStat *funcs;
} FuncCtx;

static bool
func_eq(const void *ctx, uint32_t id, const void *key)
{
    const FuncStat *a = &((const FuncCtx *)ctx)->funcs[id];
    const FuncStat *b = key;
    return a->name == b->name && a->file == b->file && a->fn_line == b->fn_line &&
           a->kind == b->kind;
}

static bool
line_eq(const void *ctx, uint32_t id, const void *key)
{
    const LineStat *a = &((const LineStat *)ctx)[id];
    const LineStat *b = key;
    return a->file == b->file && a->line == b->line && a->name == b->name;
}

/* Maps every frame to its function and line entries. */
static int
index_frames(const Profile *p, Summary *s, Err *err)
{
    size_t nf = profile_nframes(p);
    IdSet fset, lset;
    idset_init(&fset);
    idset_init(&lset);
    int rc = -1;
    s->func_of_frame = malloc((nf ? nf : 1) * sizeof *s->func_of_frame);
    s->line_of_frame = malloc((nf ? nf : 1) * sizeof *s->line_of_frame);
    s->funcs = malloc((nf ? nf : 1) * sizeof *s->funcs);
    s->lines = malloc((nf ? nf : 1) * sizeof *s->lines);
    if (!s->func_of_frame || !s->line_of_frame || !s->funcs || !s->lines) {
        err_set(err, ERR_NOMEM, "out of memory summarising the profile");
        goto done;
    }
    for (FrameId i = 0; i < nf; i++) {
        const ProfFrame *fr = profile_frame_at(p, i);
        FuncStat fk = {.name = fr->name, .file = fr->file, .fn_line = fr->fn_line,
                       .kind = fr->kind, .hot_line = fr->line};
        uint64_t h = hash_combine(hash_combine(hash_u64(fr->name), fr->file),
                                  (uint64_t)fr->fn_line << 8 | fr->kind);
        uint32_t id;
        FuncCtx fc = {s->funcs};
        if (!idset_find(&fset, h, func_eq, &fc, &fk, &id)) {
            id = (uint32_t)s->nfuncs++;
            s->funcs[id] = fk;
            if (idset_add(&fset, h, id) < 0) {
                err_set(err, ERR_NOMEM, "out of memory summarising the profile");
                goto done;
            }
        }
        s->func_of_frame[i] = id;
        LineStat lk = {.file = fr->file, .line = fr->line, .name = fr->name};
        h = hash_combine(hash_combine(hash_u64(fr->file), (uint32_t)fr->line), fr->name);
        if (!idset_find(&lset, h, line_eq, s->lines, &lk, &id)) {
            id = (uint32_t)s->nlines++;
            s->lines[id] = lk;
            if (idset_add(&lset, h, id) < 0) {
                err_set(err, ERR_NOMEM, "out of memory summarising the profile");
                goto done;
            }
        }
        s->line_of_frame[i] = id;
    }
    rc = 0;
done:
    idset_fini(&fset);
    idset_fini(&lset);
    return rc;
}

int
summary_build_from_self(const Profile *p, const int64_t *self, Summary *out, Err *err)
{
    memset(out, 0, sizeof *out);
    if (index_frames(p, out, err) < 0) {
        summary_fini(out);
        return -1;
    }
    size_t ns = profile_nstacks(p);
    /* stamps remember the last stack that counted a function/line, so recursion counts once */
    uint32_t *fstamp = calloc(out->nfuncs + 1, sizeof *fstamp);
    uint32_t *lstamp = calloc(out->nlines + 1, sizeof *lstamp);
    int64_t *hot = calloc(out->nlines + 1, sizeof *hot);
    if (!fstamp || !lstamp || !hot) {
        free(fstamp);
        free(lstamp);
        free(hot);
        summary_fini(out);
        return err_set(err, ERR_NOMEM, "out of memory summarising the profile");
    }
    for (StackId sid = 1; sid < ns; sid++) {
        int64_t w = self[sid];
        if (!w)
            continue;
        out->grand_total += w;
        const ProfStack *st = profile_stack_at(p, sid);
        out->funcs[out->func_of_frame[st->frame]].self += w;
        out->lines[out->line_of_frame[st->frame]].self += w;
        for (StackId s = sid; s != PROFILE_ROOT; s = profile_stack_at(p, s)->parent) {
            FrameId fr = profile_stack_at(p, s)->frame;
            uint32_t fi = out->func_of_frame[fr], li = out->line_of_frame[fr];
            if (fstamp[fi] != sid) {
                fstamp[fi] = sid;
                out->funcs[fi].total += w;
            }
            if (lstamp[li] != sid) {
                lstamp[li] = sid;
                out->lines[li].total += w;
            }
        }
    }
    out->grand_total += self[PROFILE_ROOT];
    /* hot line of each function: the line with the most self weight (then total); weights
     * from a file are untrusted, so the key saturates instead of overflowing */
    for (size_t li = 0; li < out->nlines; li++) {
        int64_t sw = out->lines[li].self;
        hot[li] = sw > (INT64_MAX - 1) / 4 ? INT64_MAX
                  : sw < INT64_MIN / 4     ? INT64_MIN
                                           : sw * 4 + (out->lines[li].total > 0);
    }
    int64_t *best = calloc(out->nfuncs + 1, sizeof *best);
    if (!best) {
        free(fstamp);
        free(lstamp);
        free(hot);
        summary_fini(out);
        return err_set(err, ERR_NOMEM, "out of memory summarising the profile");
    }
    for (FrameId fr = 0; fr < profile_nframes(p); fr++) {
        uint32_t fi = out->func_of_frame[fr], li = out->line_of_frame[fr];
        if (hot[li] > best[fi]) {
            best[fi] = hot[li];
            out->funcs[fi].hot_line = out->lines[li].line;
        }
    }
    free(best);
    free(fstamp);
    free(lstamp);
    free(hot);
    return 0;
}

int
summary_build(const Profile *p, const ProfFilter *f, Summary *out, Err *err)
{
    int64_t *self = malloc(profile_nstacks(p) * sizeof *self);
    if (!self)
        return err_set(err, ERR_NOMEM, "out of memory summarising the profile");
    profile_self_weights(p, f, self);
    int rc = summary_build_from_self(p, self, out, err);
    free(self);
    return rc;
}

void
summary_fini(Summary *s)
{
    free(s->funcs);
    free(s->lines);
    free(s->func_of_frame);
    free(s->line_of_frame);
    memset(s, 0, sizeof *s);
}

static const Profile *sort_profile;
static bool sort_by_total;

static int
cmp_funcs(const void *a, const void *b)
{
    const FuncStat *x = a, *y = b;
    int64_t kx = sort_by_total ? x->total : x->self, ky = sort_by_total ? y->total : y->self;
    if (kx != ky)
        return kx > ky ? -1 : 1;
    int64_t tx = sort_by_total ? x->self : x->total, ty = sort_by_total ? y->self : y->total;
    if (tx != ty)
        return tx > ty ? -1 : 1;
    return strcmp(profile_strp(sort_profile, x->name), profile_strp(sort_profile, y->name));
}

void
summary_sort_funcs(const Profile *p, FuncStat *funcs, size_t n, bool by_total)
{
    sort_profile = p;
    sort_by_total = by_total;
    qsort(funcs, n, sizeof *funcs, cmp_funcs);
}

static int
cmp_lines(const void *a, const void *b)
{
    const LineStat *x = a, *y = b;
    int64_t kx = sort_by_total ? x->total : x->self, ky = sort_by_total ? y->total : y->self;
    if (kx != ky)
        return kx > ky ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

void
summary_sort_lines(LineStat *lines, size_t n, bool by_total)
{
    sort_by_total = by_total;
    qsort(lines, n, sizeof *lines, cmp_lines);
}
