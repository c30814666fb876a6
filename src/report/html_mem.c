/* SPDX-License-Identifier: MIT */
/* html_mem.c: the data of the HTML report of a memory profile (ferret mem, docs/MEM.md).
 * Three views the page switches between, peak, leaks and allocated, each with its flame
 * graph of bytes (allocations as the count beside them), function table and source files
 * with per-line bytes (a native allocation counts for the Python line that called into C,
 * as memview_lines attributes it); the heap and resident timeline with the moment of the
 * peak; a header with the peak, the mode and how the run ended. html.c hands memory
 * profiles here; the page (report.html) opens on the view opt->series names. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/htmlpage.h"
#include "report/memview.h"

#define HTML_MEM_POINTS 2000 /* the timeline is thinned to at most this many points */

static const struct {
    MemView view;
    const char *label, *root;
} views[] = {
    {MEMVIEW_PEAK, "Peak", "all memory live at the peak"},
    {MEMVIEW_LEAKS, "Leaks", "all memory still live at exit"},
    {MEMVIEW_ALLOCATED, "Allocated", "all memory allocated"},
};

static void
bytes(Buf *b, int64_t v)
{
    report_fmt_weight(b, "bytes", 0, v);
}

/* "facts": the peak, the mode, how the run ended, what was not attributed. */
static void
put_facts(Buf *b, const Profile *p)
{
    Buf v;
    buf_init(&v);
    bool first = true;
    int64_t peak = memview_meta_i(p, "mem.peak_heap_bytes");
    buf_puts(b, "\"facts\":[");
    bytes(&v, peak);
    buf_printf(&v, " at %.2f s of %.2f s", (double)memview_meta_i(p, "mem.peak_t_ns") / 1e9,
               (double)profile_info_c(p)->duration_ns / 1e9);
    htmlpage_fact(b, &first, "Peak heap", &v);
    if (profile_meta_get(p, "mem.peak_attributed_bytes")) {
        buf_reset(&v);
        int64_t attributed = memview_meta_i(p, "mem.peak_attributed_bytes");
        bytes(&v, attributed);
        if (peak > 0)
            buf_printf(&v, " (%.0f%% of the peak heap)",
                       100.0 * (double)attributed / (double)peak);
        htmlpage_fact(b, &first, "Attributed at the peak", &v);
    }
    const char *end = profile_meta_get(p, "mem.end");
    bool ended = end && strcmp(end, "none") != 0;
    if (ended) {
        buf_reset(&v);
        bytes(&v, memview_meta_i(p, "mem.exit_heap_bytes"));
        htmlpage_fact(b, &first, "Heap at exit", &v);
    }
    buf_reset(&v);
    const char *mode = profile_meta_get(p, "mem.mode");
    if (mode && strcmp(mode, "exact") == 0) {
        buf_puts(&v, "exact (every allocation)");
    } else {
        buf_puts(&v, "sampled: one allocation per ");
        bytes(&v, memview_meta_i(p, "mem.sample_bytes"));
        buf_puts(&v, " on average (bytes and counts are estimates)");
    }
    htmlpage_fact(b, &first, "Mode", &v);
    buf_reset(&v);
    if (!ended)
        buf_puts(&v, "did not end cleanly (crash or kill): leaks are what was live at the "
                     "last flush");
    else if (strcmp(end, "atexit") == 0)
        buf_puts(&v, "normally (leaks: live when atexit ran)");
    else if (strcmp(end, "_exit") == 0)
        buf_puts(&v, "by os._exit() (leaks: live at the call, no clean-up)");
    else if (strcmp(end, "exec") == 0)
        buf_puts(&v, "by exec, which replaced the program (leaks: live at the call)");
    else
        buf_puts(&v, "by exit() without Python's clean-up (leaks: live then)");
    htmlpage_fact(b, &first, "Ended", &v);
    int64_t dropped = memview_meta_i(p, "mem.dropped");
    if (dropped > 0) {
        const char *why = profile_meta_get(p, "mem.error");
        buf_reset(&v);
        buf_printf(&v, "%" PRId64 " allocations not attributed (%s)", dropped,
                   why ? why : "unknown");
        htmlpage_fact(b, &first, "Dropped", &v);
    }
    buf_puts(b, "],");
    if (buf_failed(&v))
        b->failed = true;
    buf_fini(&v);
}

static int
put_timeline(Buf *b, const Profile *p, Err *err)
{
    MemPoint *pts;
    size_t n;
    if (memview_timeline(p, &pts, &n, err) < 0)
        return -1;
    size_t kept = htmldata_thin_timeline(pts, n, HTML_MEM_POINTS);
    static const char *const keys[] = {"t", "heap", "rss"};
    buf_puts(b, "\"timeline\":{");
    for (int k = 0; k < 3; k++) {
        buf_printf(b, "%s\"%s\":[", k ? "," : "", keys[k]);
        for (size_t i = 0; i < kept; i++) {
            int64_t v = k == 0 ? pts[i].t_ns : k == 1 ? pts[i].heap_bytes : pts[i].rss_bytes;
            buf_printf(b, i ? ",%" PRId64 : "%" PRId64, v);
        }
        buf_putc(b, ']');
    }
    buf_printf(b,
               ",\"points\":%zu,\"interval\":%" PRId64 ",\"peakT\":%" PRId64
               ",\"peakHeap\":%" PRId64 ",\"duration\":%" PRId64 "},",
               n, memview_meta_i(p, "mem.timeline_interval_ns"), memview_meta_i(p, "mem.peak_t_ns"),
               memview_meta_i(p, "mem.peak_heap_bytes"), profile_info_c(p)->duration_ns);
    free(pts);
    return 0;
}

/* One view: its flame graph, table and sources. The first also writes the function list
 * (the numbering is the same for every series) into `top`. */
static int
put_view(Buf *b, Buf *top, const Profile *p, size_t vi, HtmlTexts *texts, Err *err)
{
    SeriesId sb, sc;
    if (memview_series(p, views[vi].view, &sb, &sc, err) < 0)
        return -1;
    FlameProfile fp;
    int64_t *counts, ncount;
    if (htmlpage_flame(&fp, p, sb, sc, &counts, &ncount, err) < 0)
        return -1;
    MemLine *ml = NULL;
    HtmlLine *lines = NULL;
    Summary cs = {0};
    int rc = -1;
    if (summary_build_from_self(p, counts, &cs, err) < 0)
        goto done;
    if (vi == 0)
        htmlpage_funcs(top, &fp.view, fp.sum.nfuncs);
    buf_printf(b, "%s{\"grand\":[%" PRId64 ",%" PRId64 "],", vi ? "," : "", fp.view.grand[0],
               ncount);
    if (htmlpage_nodes(b, &fp.view, true, err) < 0)
        goto done;
    buf_puts(b, "\"table\":[");
    bool first = true;
    for (size_t i = 0; i < fp.sum.nfuncs; i++) {
        const FuncStat *fs = &fp.sum.funcs[i];
        if (fs->total <= 0 || fs->kind == FRAME_THREAD || fs->kind == FRAME_PROCESS)
            continue;
        buf_printf(b, "%s[%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]", first ? "" : ",",
                   i, fs->self, fs->total, cs.funcs[i].self, cs.funcs[i].total);
        first = false;
    }
    buf_puts(b, "],");
    size_t nl;
    if (memview_lines(p, sb, sc, &ml, &nl, err) < 0)
        goto done;
    lines = malloc((nl ? nl : 1) * sizeof *lines);
    if (!lines) {
        err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
        goto done;
    }
    for (size_t i = 0; i < nl; i++)
        lines[i] = (HtmlLine){.file = ml[i].file,
                              .line = ml[i].line,
                              .v = {ml[i].bytes, ml[i].count, ml[i].native_bytes}};
    if (htmlpage_sources(b, p, lines, nl,
                         &(HtmlOrder){.rank_col = 0, .tie_col = 1, .readable_first = true}, 3,
                         texts, err) < 0)
        goto done;
    buf_printf(b, "\"id\":\"%s\",\"label\":\"%s\",\"what\":\"%s\",\"rootLabel\":\"%s\"}",
               memview_name(views[vi].view), views[vi].label, memview_what(views[vi].view),
               views[vi].root);
    rc = 0;
done:
    free(counts);
    free(ml);
    free(lines);
    summary_fini(&cs);
    flame_profile_fini(&fp);
    return rc;
}

int
html_mem_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    const char *title = htmlpage_title(p, opt);
    MemView want = MEMVIEW_PEAK;
    if (!memview_of_series(p, opt->series, &want))
        want = MEMVIEW_PEAK;
    size_t initial = 0;
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
        if (views[i].view == want)
            initial = i;
    Buf data, vb;
    buf_init(&data);
    buf_init(&vb);
    HtmlTexts texts = {.n = 0};
    int rc = -1;
    htmlpage_head(&data, p, "memory", title, "memory profile", "bytes");
    buf_printf(&data, "\"view\":%zu,\"tab\":\"%s\",", initial,
               want == MEMVIEW_TIMELINE ? "timeline" : "flame");
    put_facts(&data, p);
    buf_puts(&vb, "\"views\":[");
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
        if (put_view(&vb, &data, p, i, &texts, err) < 0)
            goto done;
    buf_puts(&vb, "],");
    htmlpage_append(&data, &vb);
    if (put_timeline(&data, p, err) < 0)
        goto done;
    htmlpage_texts(&data, p, &texts);
    htmlpage_meta(&data, p);
    buf_putc(&data, '}');
    rc = htmlpage_emit(title, &data, out, err);
done:
    buf_fini(&data);
    buf_fini(&vb);
    return rc;
}
