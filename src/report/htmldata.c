/* SPDX-License-Identifier: MIT */
/* htmldata.c: source lines by file, the thinned memory timeline and per-thread trace totals
 * for the HTML report (htmldata.h). */
#include "report/htmldata.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_line(const void *a, const void *b)
{
    const HtmlLine *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int
cmp_file(const void *a, const void *b)
{
    const HtmlFile *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    if (x->tie != y->tie)
        return x->tie > y->tie ? -1 : 1;
    return (x->file > y->file) - (x->file < y->file);
}

static bool
empty(const HtmlLine *l)
{
    for (int k = 0; k < HTMLDATA_LINE_VALUES; k++)
        if (l->v[k])
            return false;
    return true;
}

int
htmldata_group_lines(HtmlLine *lines, size_t *n, const HtmlOrder *order, HtmlFile **files,
                     size_t *nfiles, Err *err)
{
    *files = NULL;
    *nfiles = 0;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (lines[i].file != PROFILE_EMPTY && lines[i].line > 0)
            lines[k++] = lines[i];
    if (k)
        qsort(lines, k, sizeof *lines, cmp_line);
    /* merge equal (file, line) entries, then drop the ones that sum to nothing */
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m && lines[m - 1].file == lines[i].file && lines[m - 1].line == lines[i].line) {
            for (int c = 0; c < HTMLDATA_LINE_VALUES; c++)
                lines[m - 1].v[c] += lines[i].v[c];
        } else {
            if (m && empty(&lines[m - 1]))
                m--;
            lines[m++] = lines[i];
        }
    }
    if (m && empty(&lines[m - 1]))
        m--;
    *n = m;
    size_t nf = 0;
    for (size_t i = 0; i < m; i++)
        nf += !i || lines[i].file != lines[i - 1].file;
    HtmlFile *f = calloc(nf ? nf : 1, sizeof *f);
    if (!f)
        return err_set(err, ERR_NOMEM, "out of memory grouping source lines");
    size_t j = 0;
    for (size_t i = 0; i < m; i++) {
        if (!i || lines[i].file != lines[i - 1].file)
            f[j++] = (HtmlFile){.file = lines[i].file, .first = i};
        HtmlFile *cur = &f[j - 1];
        cur->n++;
        cur->rank += lines[i].v[order->rank_col];
        if (lines[i].v[order->tie_col] > cur->tie)
            cur->tie = lines[i].v[order->tie_col];
        cur->max_line = lines[i].line; /* lines are in increasing order */
    }
    if (order->file_rank)
        for (size_t i = 0; i < nf; i++)
            f[i].rank = order->file_rank(order->ctx, f[i].file);
    if (nf)
        qsort(f, nf, sizeof *f, cmp_file);
    *files = f;
    *nfiles = nf;
    return 0;
}

int
htmldata_file_totals(const Profile *p, const int64_t *self, HtmlFileTotals *out, Err *err)
{
    memset(out, 0, sizeof *out);
    hashu64_init(&out->slot);
    size_t nfr = profile_nframes(p), ns = profile_nstacks(p);
    uint32_t *slot_of = malloc((nfr ? nfr : 1) * sizeof *slot_of);
    uint32_t *stamp = NULL;
    int rc = -1;
    if (!slot_of)
        goto nomem;
    for (FrameId i = 0; i < nfr; i++) {
        const ProfFrame *fr = profile_frame_at(p, i);
        slot_of[i] = UINT32_MAX;
        if (fr->kind != FRAME_PY || fr->file == PROFILE_EMPTY)
            continue;
        uint32_t *v = hashu64_find(&out->slot, fr->file);
        if (!v) {
            if (hashu64_put(&out->slot, fr->file, (uint32_t)out->n) < 0)
                goto nomem;
            slot_of[i] = (uint32_t)out->n++;
        } else {
            slot_of[i] = *v;
        }
    }
    out->total = calloc(out->n ? out->n : 1, sizeof *out->total);
    stamp = calloc(out->n ? out->n : 1, sizeof *stamp); /* last stack counted, + 1 */
    if (!out->total || !stamp)
        goto nomem;
    for (StackId s = 1; s < ns; s++) {
        if (!self[s])
            continue;
        for (StackId k = s; k != PROFILE_ROOT; k = profile_stack_at(p, k)->parent) {
            uint32_t f = slot_of[profile_stack_at(p, k)->frame];
            if (f != UINT32_MAX && stamp[f] != s) {
                stamp[f] = s;
                out->total[f] += self[s];
            }
        }
    }
    rc = 0;
    goto done;
nomem:
    err_set(err, ERR_NOMEM, "out of memory summing files");
done:
    free(slot_of);
    free(stamp);
    return rc;
}

void
htmldata_file_totals_fini(HtmlFileTotals *t)
{
    hashu64_fini(&t->slot);
    free(t->total);
    memset(t, 0, sizeof *t);
}

int64_t
htmldata_file_total(const void *totals, StrId file)
{
    const HtmlFileTotals *t = totals;
    uint32_t *v = hashu64_find(&t->slot, file);
    return v ? t->total[*v] : 0;
}

size_t
htmldata_thin_timeline(MemPoint *pts, size_t n, size_t max)
{
    if (max < 1)
        max = 1;
    if (n <= max)
        return n;
    size_t per = (n + max - 1) / max, out = 0;
    for (size_t i = 0; i < n; i += per) {
        MemPoint run = pts[i];
        for (size_t k = i + 1; k < i + per && k < n; k++) {
            if (pts[k].heap_bytes > run.heap_bytes)
                run.heap_bytes = pts[k].heap_bytes;
            if (pts[k].rss_bytes > run.rss_bytes)
                run.rss_bytes = pts[k].rss_bytes;
            run.t_ns = pts[k].t_ns;
        }
        pts[out++] = run;
    }
    return out;
}

static int
cmp_threads(const void *a, const void *b)
{
    const HtmlThreadTotals *x = a, *y = b;
    if (x->wall_ns != y->wall_ns)
        return x->wall_ns > y->wall_ns ? -1 : 1;
    return (x->thread > y->thread) - (x->thread < y->thread);
}

int
htmldata_thread_totals(const Profile *p, HtmlThreadTotals **out, size_t *n, Err *err)
{
    *out = NULL;
    *n = 0;
    size_t nt = profile_nthreads(p);
    HtmlThreadTotals *t = calloc(nt ? nt : 1, sizeof *t);
    if (!t)
        return err_set(err, ERR_NOMEM, "out of memory summing threads");
    SeriesId calls = 0, wall = 0, cpu = 0;
    bool has_calls = profile_series_find(p, "calls", &calls);
    bool has_wall = profile_series_find(p, "wall_ns", &wall);
    bool has_cpu = profile_series_find(p, "cpu_ns", &cpu);
    for (size_t i = 0; i < nt; i++)
        t[i].thread = (ThreadId)i;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.thread >= nt)
            continue;
        if (has_calls && s.series == calls)
            t[s.thread].calls += s.weight;
        else if (has_wall && s.series == wall)
            t[s.thread].wall_ns += s.weight;
        else if (has_cpu && s.series == cpu)
            t[s.thread].cpu_ns += s.weight;
    }
    size_t k = 0;
    for (size_t i = 0; i < nt; i++)
        if (t[i].calls || t[i].wall_ns || t[i].cpu_ns)
            t[k++] = t[i];
    if (k)
        qsort(t, k, sizeof *t, cmp_threads);
    *out = t;
    *n = k;
    return 0;
}
