/* SPDX-License-Identifier: MIT */
/* trace_text.c: the terminal report of a trace profile (ferret trace, ferret.trace()):
 * a header, the function table (exact calls, self and total wall and CPU time, time per
 * call) in the order --sort asks, callers and callees of the costliest functions, the
 * hottest lines with their source when lines were traced, per-thread totals, and notes
 * (dropped timeline spans, a replaced hook, --include patterns that matched nothing). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/callgraph.h"
#include "report/frame_name.h"
#include "report/report.h"
#include "util/escape.h"

typedef struct {
    const Profile *p;
    const ReportOptions *opt;
    const Callgraph *cg;
    Buf *b;
} Ctx;

static void
fmt_ns(Buf *b, int64_t ns)
{
    double v = (double)ns;
    if (v >= 1e9)
        buf_printf(b, "%.2fs", v / 1e9);
    else if (v >= 1e6)
        buf_printf(b, "%.1fms", v / 1e6);
    else if (v >= 1e3)
        buf_printf(b, "%.1fus", v / 1e3);
    else
        buf_printf(b, "%.0fns", v);
}

/* Appends s right-aligned in `width` columns. */
static void
cell(Buf *b, const char *s, int width)
{
    int n = (int)strlen(s);
    for (int i = n; i < width; i++)
        buf_putc(b, ' ');
    buf_puts(b, s);
}

static void
cell_ns(Buf *b, int64_t ns, int width)
{
    Buf t;
    buf_init(&t);
    fmt_ns(&t, ns);
    cell(b, t.data ? t.data : "", width);
    if (buf_failed(&t))
        b->failed = true;
    buf_fini(&t);
}

static void
cell_int(Buf *b, int64_t v, int width)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    cell(b, s, width);
}

static void
func_label(Ctx *c, const CgFunc *f)
{
    esc_text(c->b, profile_strp(c->p, f->name), profile_strlen(c->p, f->name), 0);
    if (f->kind == FRAME_PY && f->file != PROFILE_EMPTY) {
        buf_puts(c->b, " (");
        frame_short_file(c->b, c->p, f->file, 3, 0);
        buf_printf(c->b, ":%d)", (int)f->line);
    } else if (f->kind == FRAME_NATIVE) {
        buf_puts(c->b, " [C]");
    }
}

static void heading(Ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
heading(Ctx *c, const char *fmt, ...)
{
    char title[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(title, sizeof title, fmt, ap);
    va_end(ap);
    if (c->opt->color)
        buf_printf(c->b, "\n\033[1m%s\033[0m\n", title);
    else
        buf_printf(c->b, "\n%s\n", title);
}

static const char *
sort_title(CgSort key)
{
    switch (key) {
    case CG_SORT_TOTAL:
        return "total time";
    case CG_SORT_CALLS:
        return "calls";
    case CG_SORT_CPU:
        return "self CPU time";
    case CG_SORT_NAME:
        return "name";
    case CG_SORT_SELF:
    default:
        return "self time";
    }
}

static bool
shown(const CgFunc *f)
{
    return f->calls || f->self_ns || f->total_ns;
}

static void
write_header(Ctx *c)
{
    const Profile *p = c->p;
    const ProfileInfo *info = profile_info_c(p);
    size_t nf = 0;
    for (size_t i = 0; i < c->cg->nfuncs; i++)
        nf += shown(&c->cg->funcs[i]);
    buf_printf(c->b, "ferret trace: %" PRId64 " calls of %zu functions in %zu thread%s",
               c->cg->calls, nf, profile_nthreads(p), profile_nthreads(p) == 1 ? "" : "s");
    if (info->duration_ns > 0)
        buf_printf(c->b, " over %.2fs", (double)info->duration_ns / 1e9);
    const char *hook = profile_meta_get(p, "tracer");
    if (hook)
        buf_printf(c->b, " (%s)", hook);
    buf_putc(c->b, '\n');
    const char *cmd = profile_meta_get(p, "command");
    if (cmd) {
        buf_puts(c->b, "command: ");
        esc_text(c->b, cmd, strlen(cmd), 0);
        buf_putc(c->b, '\n');
    }
    const char *py = profile_meta_get(p, "python_version");
    if (py) {
        buf_puts(c->b, "python: ");
        esc_text(c->b, py, strlen(py), 0);
        buf_putc(c->b, '\n');
    }
    buf_printf(c->b, "traced: %.3fs of wall time in functions", (double)c->cg->wall_ns / 1e9);
    if (c->cg->has_cpu)
        buf_printf(c->b, ", %.3fs of CPU time", (double)c->cg->cpu_ns / 1e9);
    buf_putc(c->b, '\n');
}

static void
write_funcs(Ctx *c, const uint32_t *order, CgSort key)
{
    const Callgraph *cg = c->cg;
    Buf *b = c->b;
    size_t nf = 0;
    for (size_t i = 0; i < cg->nfuncs; i++)
        nf += shown(&cg->funcs[i]);
    heading(c, "Functions by %s (top %d of %zu)", sort_title(key),
            c->opt->top < (int)nf ? c->opt->top : (int)nf, nf);
    buf_puts(b, "       calls   self wall  total wall");
    if (cg->has_cpu)
        buf_puts(b, "    self cpu   total cpu");
    buf_puts(b, "   wall/call  function (file:line)\n");
    int rows = 0;
    for (size_t i = 0; i < cg->nfuncs && rows < c->opt->top; i++) {
        const CgFunc *f = &cg->funcs[order[i]];
        if (!shown(f))
            continue;
        if (f->calls != f->prim_calls) {
            char s[48];
            snprintf(s, sizeof s, "%" PRId64 "/%" PRId64, f->calls, f->prim_calls);
            cell(b, s, 12);
        } else {
            cell_int(b, f->calls, 12);
        }
        cell_ns(b, f->self_ns, 12);
        cell_ns(b, f->total_ns, 12);
        if (cg->has_cpu) {
            cell_ns(b, f->self_cpu_ns, 12);
            cell_ns(b, f->total_cpu_ns, 12);
        }
        if (f->prim_calls)
            cell_ns(b, f->total_ns / f->prim_calls, 12);
        else
            cell(b, "-", 12);
        buf_puts(b, "  ");
        func_label(c, f);
        buf_putc(b, '\n');
        rows++;
    }
    buf_puts(b, "(calls shown as all/primitive where a function recursed; total time counts "
                "a recursion once)\n");
}

/* Callers and callees of the top few functions by total time. */
static void
write_edges(Ctx *c, const uint32_t *by_total)
{
    const Callgraph *cg = c->cg;
    Buf *b = c->b;
    int want = c->opt->top < 5 ? c->opt->top : 5;
    heading(c, "Callers and callees (top %d functions by total time)", want);
    int done = 0;
    for (size_t i = 0; i < cg->nfuncs && done < want; i++) {
        uint32_t f = by_total[i];
        const CgFunc *fn = &cg->funcs[f];
        if (!shown(fn))
            continue;
        buf_puts(b, "  ");
        func_label(c, fn);
        buf_printf(b, ": %" PRId64 " calls, total ", fn->calls);
        fmt_ns(b, fn->total_ns);
        buf_putc(b, '\n');
        for (int dir = 0; dir < 2; dir++) {
            bool any = false;
            for (size_t k = 0; k < cg->nedges; k++) {
                const CgEdge *e = &cg->edges[k];
                if ((dir == 0 && e->callee != f) || (dir == 1 && e->caller != f))
                    continue;
                buf_puts(b, dir == 0 ? "      <- " : "      -> ");
                any = true;
                cell_int(b, e->calls, 10);
                buf_puts(b, " calls  ");
                cell_ns(b, e->total_ns ? e->total_ns : e->self_ns, 9);
                buf_puts(b, "  ");
                uint32_t other = dir == 0 ? e->caller : e->callee;
                if (other == CG_ROOT)
                    buf_puts(b, "<outermost>");
                else
                    func_label(c, &cg->funcs[other]);
                if (other == f)
                    buf_puts(b, " (recursion)");
                buf_putc(b, '\n');
            }
            if (!any && dir == 1)
                buf_puts(b, "      -> (calls nothing traced)\n");
        }
        done++;
    }
}

/* One source line of `file`, read on demand; the last file read is kept. */
typedef struct {
    StrId file;
    char *text;
    size_t len;
    bool loaded;
} Source;

static void
source_line(const Profile *p, Source *src, StrId file, int32_t line, Buf *b)
{
    if (!src->loaded || src->file != file) {
        free(src->text);
        src->text = NULL;
        src->len = 0;
        src->loaded = true;
        src->file = file;
        FILE *f = fopen(profile_strp(p, file), "rb");
        if (f) {
            Buf t;
            buf_init(&t);
            char chunk[65536];
            size_t n;
            while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && t.len < (64u << 20))
                buf_append(&t, chunk, n);
            fclose(f);
            if (!buf_failed(&t))
                src->text = buf_steal(&t, &src->len);
            buf_fini(&t);
        }
    }
    if (!src->text || line <= 0)
        return;
    const char *s = src->text, *end = src->text + src->len;
    for (int32_t l = 1; l < line && s < end; l++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    const char *e = memchr(s, '\n', (size_t)(end - s));
    if (!e)
        e = end;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    size_t n = (size_t)(e - s);
    if (n > 60)
        n = 60;
    buf_puts(b, "  | ");
    esc_text(b, s, n, 0);
}

static int
cmp_line_ns(const void *a, const void *b)
{
    const CgLine *x = *(const CgLine *const *)a, *y = *(const CgLine *const *)b;
    if (x->ns != y->ns)
        return x->ns > y->ns ? -1 : 1;
    if (x->hits != y->hits)
        return x->hits > y->hits ? -1 : 1;
    if (x->func != y->func)
        return x->func < y->func ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static void
write_lines(Ctx *c)
{
    const Callgraph *cg = c->cg;
    Buf *b = c->b;
    const CgLine **sorted = malloc((cg->nlines ? cg->nlines : 1) * sizeof *sorted);
    if (!sorted) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < cg->nlines; i++)
        sorted[i] = &cg->lines[i];
    qsort(sorted, cg->nlines, sizeof *sorted, cmp_line_ns);
    heading(c, "Lines by time (top %d of %zu; time includes calls made on the line)",
            c->opt->top < (int)cg->nlines ? c->opt->top : (int)cg->nlines, cg->nlines);
    buf_puts(b, "        hits        time    per hit  line\n");
    Source src = {0};
    for (size_t i = 0; i < cg->nlines && (int)i < c->opt->top; i++) {
        const CgLine *l = sorted[i];
        const CgFunc *f = &cg->funcs[l->func];
        cell_int(b, l->hits, 12);
        cell_ns(b, l->ns, 12);
        if (l->hits)
            cell_ns(b, l->ns / l->hits, 11);
        else
            cell(b, "-", 11);
        buf_puts(b, "  ");
        frame_short_file(b, c->p, f->file, 3, 0);
        buf_printf(b, ":%d ", (int)l->line);
        esc_text(b, profile_strp(c->p, f->name), profile_strlen(c->p, f->name), 0);
        source_line(c->p, &src, f->file, l->line, b);
        buf_putc(b, '\n');
    }
    free(src.text);
    free(sorted);
}

static void
write_threads(Ctx *c)
{
    const Profile *p = c->p;
    Buf *b = c->b;
    size_t nt = profile_nthreads(p);
    if (nt < 2)
        return;
    heading(c, "Threads");
    buf_puts(b, "       calls        wall");
    if (c->cg->has_cpu)
        buf_puts(b, "         cpu");
    buf_puts(b, "  thread\n");
    for (ThreadId t = 0; t < nt; t++) {
        Callgraph one;
        Err err;
        if (callgraph_build(p, t, &one, &err) < 0) {
            b->failed = true;
            return;
        }
        cell_int(b, one.calls, 12);
        cell_ns(b, one.wall_ns, 12);
        if (c->cg->has_cpu)
            cell_ns(b, one.cpu_ns, 12);
        const ProfThread *th = profile_thread_at(p, t);
        buf_printf(b, "  tid %llu", (unsigned long long)th->tid);
        if (th->name != PROFILE_EMPTY) {
            buf_putc(b, ' ');
            esc_text(b, profile_strp(p, th->name), profile_strlen(p, th->name), 0);
        }
        buf_putc(b, '\n');
        callgraph_fini(&one);
    }
}

static void
write_notes(Ctx *c)
{
    const Profile *p = c->p;
    Buf *b = c->b;
    bool head = false;
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        const char *text = NULL;
        if (strcmp(k, "dropped.timeline") == 0)
            text = "timeline spans dropped (the ring kept the newest; raise --timeline-size)";
        else if (strcmp(k, "warning") == 0 || strncmp(k, "warning.", 8) == 0)
            text = "";
        else if (strcmp(k, "incomplete") == 0 && strcmp(v, "1") == 0)
            text = "the traced program did not finish writing (killed?): totals are from the "
                   "last flush";
        if (!text)
            continue;
        if (!head) {
            heading(c, "Notes");
            head = true;
        }
        buf_puts(b, "  ");
        if (strcmp(k, "incomplete") == 0) {
            buf_puts(b, text);
        } else {
            esc_text(b, v, strlen(v), 0);
            if (*text)
                buf_printf(b, " %s", text);
        }
        buf_putc(b, '\n');
    }
}

int
report_trace_text(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    CgSort key = CG_SORT_SELF;
    if (opt->sort && !callgraph_sort_parse(opt->sort, &key))
        return err_set(err, ERR_USAGE, "unknown sort key '%s' (self, total, calls, cpu, name)",
                       opt->sort);
    Callgraph cg;
    if (callgraph_build(p, -1, &cg, err) < 0)
        return -1;
    Buf b;
    buf_init(&b);
    Ctx c = {.p = p, .opt = opt, .cg = &cg, .b = &b};
    uint32_t *order = malloc((cg.nfuncs ? cg.nfuncs : 1) * sizeof *order);
    uint32_t *by_total = malloc((cg.nfuncs ? cg.nfuncs : 1) * sizeof *by_total);
    int rc = -1;
    if (!order || !by_total) {
        err_set(err, ERR_NOMEM, "out of memory writing the trace report");
        goto done;
    }
    callgraph_order(p, &cg, key, order);
    callgraph_order(p, &cg, CG_SORT_TOTAL, by_total);
    write_header(&c);
    if (!cg.calls && !cg.wall_ns) {
        buf_puts(&b, "\nnothing was traced: no Python function ran while tracing was on\n");
    } else {
        write_funcs(&c, order, key);
        write_edges(&c, by_total);
        if (cg.has_lines)
            write_lines(&c);
        write_threads(&c);
    }
    write_notes(&c);
    if (buf_failed(&b)) {
        err_set(err, ERR_NOMEM, "out of memory writing the trace report");
        goto done;
    }
    if (fwrite(b.data, 1, b.len, out) != b.len) {
        err_sys(err, errno, "writing the trace report");
        goto done;
    }
    rc = 0;
done:
    free(order);
    free(by_total);
    buf_fini(&b);
    callgraph_fini(&cg);
    return rc;
}
