/* SPDX-License-Identifier: MIT */
/* memview.c: the view table of memview.h. */
#include "report/memview.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

static const struct {
    const char *name, *bytes, *companion, *what;
} views[] = {
#define X(sym, name, bytes, count, what) {name, bytes, count, what},
    MEM_VIEWS(X)
#undef X
};

bool
memview_find(const char *name, MemView *out)
{
    for (int i = 0; i < MEMVIEW_COUNT; i++) {
        if (strcmp(views[i].name, name) == 0) {
            *out = (MemView)i;
            return true;
        }
    }
    return false;
}

const char *
memview_list(void)
{
    return "peak, leaks, allocated, timeline";
}

const char *
memview_name(MemView v)
{
    return views[v].name;
}

const char *
memview_what(MemView v)
{
    return views[v].what;
}

int
memview_series(const Profile *p, MemView v, SeriesId *bytes, SeriesId *companion, Err *err)
{
    SeriesId b, c;
    if (!profile_series_find(p, views[v].bytes, &b) ||
        !profile_series_find(p, views[v].companion, &c))
        return err_set(err, ERR_FORMAT, "the profile has no %s view (not a memory profile?)",
                       views[v].name);
    if (bytes)
        *bytes = b;
    if (companion)
        *companion = c;
    return 0;
}

bool
memview_of_series(const Profile *p, SeriesId s, MemView *out)
{
    if (s >= profile_nseries(p))
        return false;
    const char *name = profile_series_name(p, s);
    for (int i = 0; i < MEMVIEW_COUNT; i++) {
        if (strcmp(views[i].bytes, name) == 0 || strcmp(views[i].companion, name) == 0) {
            *out = (MemView)i;
            return true;
        }
    }
    return false;
}

bool
memview_format_shows(MemView v, const char *format)
{
    static const char *const curves[] = {"text", "json", "html", "ferret"};
    if (v != MEMVIEW_TIMELINE)
        return true;
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
        if (strcmp(format, curves[i]) == 0)
            return true;
    return false;
}

int
memview_check_series(const Profile *p, SeriesId s, const char *format, Err *err)
{
    MemView v;
    if (profile_info_c(p)->kind != PROFILE_MEMORY || !memview_of_series(p, s, &v) ||
        memview_format_shows(v, format))
        return 0;
    return err_set(err, ERR_USAGE,
                   "--series %s is the memory timeline, which has no stacks to draw as %s; use "
                   "-f text, json or html",
                   profile_series_name(p, s), format);
}

int64_t
memview_meta_i(const Profile *p, const char *key)
{
    const char *v = profile_meta_get(p, key);
    return v ? strtoll(v, NULL, 10) : 0;
}

static int
cmp_lines(const void *a, const void *b)
{
    const MemLine *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

int
memview_lines(const Profile *p, SeriesId bytes, SeriesId count, MemLine **out, size_t *n,
              Err *err)
{
    size_t ns = profile_nstacks(p);
    int64_t *b = calloc(ns ? ns : 1, sizeof *b), *c = calloc(ns ? ns : 1, sizeof *c);
    MemLine *lines = NULL;
    size_t nl = 0, cap = 0;
    HashU64 idx;
    hashu64_init(&idx);
    int rc = -1;
    if (!b || !c) {
        err_set(err, ERR_NOMEM, "out of memory summing lines");
        goto done;
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = bytes;
    profile_self_weights(p, &f, b);
    f.series = count;
    profile_self_weights(p, &f, c);
    for (StackId s = 1; s < ns; s++) {
        if (!b[s] && !c[s])
            continue;
        const ProfStack *st = profile_stack_at(p, s);
        const ProfFrame *leaf = profile_frame_at(p, st->frame);
        const ProfFrame *py = NULL;
        for (StackId k = s; k != PROFILE_ROOT; k = profile_stack_at(p, k)->parent) {
            const ProfFrame *fr = profile_frame_at(p, profile_stack_at(p, k)->frame);
            if (fr->kind == FRAME_PY) {
                py = fr;
                break;
            }
        }
        uint64_t key = py ? (uint64_t)py->file << 32 | (uint32_t)py->line
                          : (1ULL << 63) | leaf->name;
        uint32_t *v = hashu64_find(&idx, key), at;
        if (v) {
            at = *v;
        } else {
            if (nl == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                MemLine *q = realloc(lines, ncap * sizeof *q);
                if (!q) {
                    err_set(err, ERR_NOMEM, "out of memory summing lines");
                    goto done;
                }
                lines = q;
                cap = ncap;
            }
            at = (uint32_t)nl++;
            lines[at] = (MemLine){.file = py ? py->file : PROFILE_EMPTY,
                                  .line = py ? py->line : 0,
                                  .func = py ? py->name : leaf->name};
            if (hashu64_put(&idx, key, at) < 0) {
                err_set(err, ERR_NOMEM, "out of memory summing lines");
                goto done;
            }
        }
        lines[at].bytes += b[s];
        lines[at].count += c[s];
        if (leaf->kind == FRAME_NATIVE)
            lines[at].native_bytes += b[s];
    }
    if (nl)
        qsort(lines, nl, sizeof *lines, cmp_lines);
    *out = lines;
    *n = nl;
    lines = NULL;
    rc = 0;
done:
    free(b);
    free(c);
    free(lines);
    hashu64_fini(&idx);
    return rc;
}

int
memview_timeline(const Profile *p, MemPoint **out, size_t *n, Err *err)
{
    SeriesId heap, rss;
    *out = NULL;
    *n = 0;
    if (memview_series(p, MEMVIEW_TIMELINE, &heap, &rss, err) < 0)
        return -1;
    MemPoint *pts = NULL;
    size_t np = 0, cap = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.series != heap && s.series != rss)
            continue;
        /* heap and rss points of one tick share a time and arrive together */
        if (!np || pts[np - 1].t_ns != s.t_ns) {
            if (np == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                MemPoint *q = realloc(pts, ncap * sizeof *q);
                if (!q) {
                    free(pts);
                    return err_set(err, ERR_NOMEM, "out of memory reading the timeline");
                }
                pts = q;
                cap = ncap;
            }
            pts[np++] = (MemPoint){s.t_ns, 0, 0};
        }
        if (s.series == heap)
            pts[np - 1].heap_bytes = s.weight;
        else
            pts[np - 1].rss_bytes = s.weight;
    }
    *out = pts;
    *n = np;
    return 0;
}
