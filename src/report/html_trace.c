/* SPDX-License-Identifier: MIT */
/* html_trace.c: the data of the HTML report of a trace profile (ferret trace,
 * docs/TRACE.md): the flame graph with widths in wall time (CPU time as a second view when
 * it was measured) and each node's exact calls; the function table with calls, self and
 * total wall and CPU time as callgraph.h defines them (recursion counted once, as cProfile
 * does); with --lines, the source files with per-line hits and time; per-thread totals.
 * html.c hands trace profiles here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/callgraph.h"
#include "report/htmlpage.h"

static const struct {
    const char *series, *id, *label, *what, *root;
} views[] = {
    {"wall_ns", "wall", "Wall time", "wall time", "all traced time"},
    {"cpu_ns", "cpu", "CPU time", "CPU time", "all traced CPU time"},
};

/* One view: the flame graph of one time series, with calls on side 1. The first also
 * writes the function list into `top` and checks that the call graph numbers functions as
 * the flame graph's summary does (both number them by first frame). */
static int
put_view(Buf *b, Buf *top, const Profile *p, size_t pos, size_t vi, SeriesId series, SeriesId calls,
         const Callgraph *cg, Err *err)
{
    FlameProfile fp;
    int64_t *ncalls, total_calls;
    if (htmlpage_flame(&fp, p, series, calls, &ncalls, &total_calls, err) < 0)
        return -1;
    int rc = -1;
    if (pos == 0) {
        bool same = fp.sum.nfuncs == cg->nfuncs;
        for (size_t i = 0; same && i < cg->nfuncs; i++) {
            const FuncStat *a = &fp.sum.funcs[i];
            const CgFunc *c = &cg->funcs[i];
            same = a->name == c->name && a->file == c->file && a->fn_line == c->line &&
                   a->kind == c->kind;
        }
        if (!same) {
            err_set(err, ERR_INTERNAL,
                    "the call graph and the flame graph number functions "
                    "differently");
            goto done;
        }
        htmlpage_funcs(top, &fp.view, fp.sum.nfuncs);
    }
    buf_printf(b, "%s{\"grand\":[%" PRId64 ",%" PRId64 "],", pos ? "," : "", fp.view.grand[0],
               total_calls);
    if (htmlpage_nodes(b, &fp.view, true, err) < 0)
        goto done;
    buf_printf(b, "\"id\":\"%s\",\"label\":\"%s\",\"what\":\"%s\",\"rootLabel\":\"%s\"}",
               views[vi].id, views[vi].label, views[vi].what, views[vi].root);
    rc = 0;
done:
    free(ncalls);
    flame_profile_fini(&fp);
    return rc;
}

/* table: [func, calls, primitive calls, self wall, total wall, self cpu, total cpu]. */
static void
put_table(Buf *b, const Callgraph *cg)
{
    buf_puts(b, "\"table\":[");
    bool first = true;
    for (size_t i = 0; i < cg->nfuncs; i++) {
        const CgFunc *f = &cg->funcs[i];
        if (!(f->calls || f->self_ns || f->total_ns) || f->kind == FRAME_THREAD ||
            f->kind == FRAME_PROCESS)
            continue;
        buf_printf(
            b, "%s[%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
            first ? "" : ",", i, f->calls, f->prim_calls, f->self_ns, f->total_ns, f->self_cpu_ns,
            f->total_cpu_ns);
        first = false;
    }
    buf_puts(b, "],");
}

/* sources: files by the wall time under their code (a file's functions calling each other
 * count once; line times include the calls made on the line, so summing them would count
 * nested calls again), each line [line, hits, ns]. */
static int
put_sources(Buf *b, const Profile *p, const Callgraph *cg, SeriesId wall, HtmlTexts *texts,
            Err *err)
{
    size_t ns = profile_nstacks(p);
    HtmlLine *lines = malloc((cg->nlines ? cg->nlines : 1) * sizeof *lines);
    int64_t *self = malloc((ns ? ns : 1) * sizeof *self);
    HtmlFileTotals totals;
    memset(&totals, 0, sizeof totals);
    int rc = -1;
    if (!lines || !self) {
        err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
        goto done;
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = wall;
    profile_self_weights(p, &f, self);
    if (htmldata_file_totals(p, self, &totals, err) < 0)
        goto done;
    size_t n = 0;
    for (size_t i = 0; i < cg->nlines; i++) {
        const CgLine *l = &cg->lines[i];
        const CgFunc *fn = &cg->funcs[l->func];
        if (fn->kind == FRAME_PY)
            lines[n++] = (HtmlLine){.file = fn->file, .line = l->line, .v = {l->hits, l->ns}};
    }
    HtmlOrder order = {.rank_col = 1,
                       .tie_col = 0,
                       .file_rank = htmldata_file_total,
                       .ctx = &totals,
                       .readable_first = true};
    rc = htmlpage_sources(b, p, lines, n, &order, 2, texts, err);
done:
    htmldata_file_totals_fini(&totals);
    free(lines);
    free(self);
    return rc;
}

static int
put_threads(Buf *b, const Profile *p, Err *err)
{
    HtmlThreadTotals *t;
    size_t n;
    if (htmldata_thread_totals(p, &t, &n, err) < 0)
        return -1;
    buf_puts(b, "\"threadTable\":[");
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, i ? ",[\"" : "[\"");
        report_thread_json(b, p, t[i].thread);
        buf_printf(b, "\",%" PRId64 ",%" PRId64 ",%" PRId64 "]", t[i].calls, t[i].wall_ns,
                   t[i].cpu_ns);
    }
    buf_puts(b, "],");
    free(t);
    return 0;
}

static void
put_facts(Buf *b, const Profile *p, const Callgraph *cg)
{
    Buf v;
    buf_init(&v);
    bool first = true;
    size_t nf = 0;
    for (size_t i = 0; i < cg->nfuncs; i++)
        nf += cg->funcs[i].calls || cg->funcs[i].self_ns || cg->funcs[i].total_ns;
    buf_puts(b, "\"facts\":[");
    buf_printf(&v, "%" PRId64 " calls of %zu functions", cg->calls, nf);
    htmlpage_fact(b, &first, "Calls", &v);
    buf_reset(&v);
    report_fmt_weight(&v, "ns", 0, cg->wall_ns);
    buf_puts(&v, " wall");
    if (cg->has_cpu) {
        buf_puts(&v, ", ");
        report_fmt_weight(&v, "ns", 0, cg->cpu_ns);
        buf_puts(&v, " CPU");
    }
    buf_puts(&v, " in functions");
    htmlpage_fact(b, &first, "Traced", &v);
    buf_reset(&v);
    buf_puts(&v, cg->has_lines ? "hits and time per line" : "not recorded (ferret trace --lines)");
    htmlpage_fact(b, &first, "Lines", &v);
    const char *hook = profile_meta_get(p, "tracer");
    if (hook) {
        buf_reset(&v);
        buf_puts(&v, hook);
        htmlpage_fact(b, &first, "Hook", &v);
    }
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *val;
        profile_meta_at(p, i, &k, &val);
        const char *label = NULL;
        buf_reset(&v);
        if (strcmp(k, "warning") == 0 || strncmp(k, "warning.", 8) == 0) {
            label = "Warning";
            buf_puts(&v, val);
        } else if (strcmp(k, "dropped.timeline") == 0) {
            label = "Timeline";
            buf_printf(&v, "%s spans dropped (raise --timeline-size)", val);
        } else if (strcmp(k, "incomplete") == 0 && strcmp(val, "1") == 0) {
            label = "Incomplete";
            buf_puts(&v, "the traced program did not finish writing (killed?): totals are from "
                         "the last flush");
        }
        if (label)
            htmlpage_fact(b, &first, label, &v);
    }
    buf_puts(b, "],");
    if (buf_failed(&v))
        b->failed = true;
    buf_fini(&v);
}

int
html_trace_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    const char *title = htmlpage_title(p, opt);
    SeriesId calls, series[sizeof views / sizeof views[0]];
    size_t which[sizeof views / sizeof views[0]], nviews = 0, initial = 0;
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        if (!profile_series_find(p, views[i].series, &series[nviews]))
            continue;
        if (series[nviews] == opt->series)
            initial = nviews;
        which[nviews++] = i;
    }
    if (!nviews || !profile_series_find(p, "calls", &calls))
        return err_set(err, ERR_FORMAT, "the trace profile has no wall_ns or calls series");
    Callgraph cg;
    if (callgraph_build(p, -1, &cg, err) < 0)
        return -1;
    Buf data, vb;
    buf_init(&data);
    buf_init(&vb);
    HtmlTexts texts = {.n = 0};
    int rc = -1;
    char lead[64];
    snprintf(lead, sizeof lead, "trace profile: %" PRId64 " calls", cg.calls);
    htmlpage_head(&data, p, "trace", title, lead, "ns");
    buf_printf(&data, "\"view\":%zu,\"tab\":\"flame\",", initial);
    buf_printf(&data, "\"hasCpu\":%s,\"hasLines\":%s,", cg.has_cpu ? "true" : "false",
               cg.has_lines ? "true" : "false");
    put_facts(&data, p, &cg);
    buf_puts(&vb, "\"views\":[");
    for (size_t i = 0; i < nviews; i++)
        if (put_view(&vb, &data, p, i, which[i], series[i], calls, &cg, err) < 0)
            goto done;
    buf_puts(&vb, "],");
    htmlpage_append(&data, &vb);
    put_table(&data, &cg);
    if ((cg.has_lines && put_sources(&data, p, &cg, series[0], &texts, err) < 0) ||
        put_threads(&data, p, err) < 0)
        goto done;
    if (!cg.has_lines)
        buf_puts(&data, "\"sources\":[],");
    htmlpage_texts(&data, p, &texts);
    htmlpage_meta(&data, p);
    buf_putc(&data, '}');
    rc = htmlpage_emit(title, &data, out, err);
done:
    buf_fini(&data);
    buf_fini(&vb);
    callgraph_fini(&cg);
    return rc;
}
