/* SPDX-License-Identifier: MIT */
/* test_html.c: the HTML report's numbers for memory and trace profiles. The aggregations
 * of htmldata.c on tables worked out by hand (lines grouped into files, the thinned
 * timeline, weight under each file, per-thread totals), then the data embedded in the
 * report of a hand-built memory profile and of a trace profile, read back with the JSON
 * reader: each view's totals, the function table, per-line numbers, the timeline. */
#include <stdlib.h>

#include "check.h"
#include "profile/memstream.h"
#include "profile/profile.h"
#include "report/htmldata.h"
#include "report/report.h"
#include "util/jsonread.h"

static FrameId
frame(Profile *p, const char *name, const char *file, int line, int fn_line, uint8_t kind)
{
    Err err;
    ProfFrame f = {.line = line, .fn_line = fn_line, .kind = kind};
    FrameId id = 0;
    CHECK(profile_cstr(p, name, &f.name, &err) == 0);
    CHECK(profile_cstr(p, file, &f.file, &err) == 0);
    CHECK(profile_frame(p, &f, &id, &err) == 0);
    return id;
}

static StackId
stack(Profile *p, const FrameId *path, size_t n)
{
    Err err;
    StackId s = PROFILE_ROOT;
    if (n)
        CHECK(profile_stack_path(p, path, n, &s, &err) == 0);
    return s;
}

static void
sample(Profile *p, const char *series, StackId st, ThreadId th, int64_t t_ns, int64_t w)
{
    Err err;
    SeriesId s = 0;
    CHECK(profile_series_find(p, series, &s));
    ProfSample smp = {.t_ns = t_ns, .stack = st, .thread = th, .series = s, .weight = w};
    CHECK(profile_add_sample(p, &smp, &err) == 0);
}

static void
test_group_lines(void)
{
    Err err;
    /* files 7 and 9; line 3 of file 7 comes twice (two functions), one line sums to zero,
     * one has no file and one no line number */
    HtmlLine lines[] = {
        {7, 3, {10, 1, 0}}, {9, 5, {4, 40, 0}}, {7, 1, {2, 5, 0}},
        {7, 3, {5, 2, 0}},  {9, 2, {0, 0, 0}},  {PROFILE_EMPTY, 4, {99, 9, 0}},
        {9, 0, {50, 1, 0}}, {9, 8, {3, 7, 0}},
    };
    size_t n = ARRAY_LEN(lines), nf = 0;
    HtmlFile *files = NULL;
    CHECK(htmldata_group_lines(lines, &n, &(HtmlOrder){.rank_col = 0, .tie_col = 1}, &files, &nf,
                               &err) == 0);
    CHECK_EQ_SIZE(n, 4);
    CHECK_EQ_SIZE(nf, 2);
    if (nf == 2 && n == 4) {
        /* file 7: 2 + 15 = 17 ranks above file 9: 4 + 3 = 7 */
        CHECK_EQ_INT(files[0].file, 7);
        CHECK_EQ_INT(files[0].rank, 17);
        CHECK_EQ_INT(files[0].tie, 5);
        CHECK_EQ_INT(files[0].max_line, 3);
        CHECK_EQ_SIZE(files[0].n, 2);
        const HtmlLine *l = &lines[files[0].first];
        CHECK_EQ_INT(l[0].line, 1);
        CHECK_EQ_INT(l[1].line, 3);
        CHECK_EQ_INT(l[1].v[0], 15); /* merged */
        CHECK_EQ_INT(l[1].v[1], 3);
        CHECK_EQ_INT(files[1].file, 9);
        CHECK_EQ_INT(files[1].rank, 7);
        CHECK_EQ_INT(files[1].max_line, 8);
        CHECK_EQ_INT(lines[files[1].first].line, 5);
    }
    free(files);

    /* by the second column instead, and equal ranks broken by the largest tie value */
    HtmlLine two[] = {{7, 1, {1, 6, 0}}, {9, 1, {3, 2, 0}}, {9, 2, {4, 4, 0}}};
    n = ARRAY_LEN(two);
    CHECK(htmldata_group_lines(two, &n, &(HtmlOrder){.rank_col = 1, .tie_col = 0}, &files, &nf,
                               &err) == 0);
    CHECK_EQ_SIZE(nf, 2);
    if (nf == 2) {
        CHECK_EQ_INT(files[0].file, 9); /* 6 = 6, then 4 > 1 */
        CHECK_EQ_INT(files[1].file, 7);
    }
    free(files);

    /* nothing left */
    HtmlLine none[] = {{PROFILE_EMPTY, 1, {1, 1, 1}}};
    n = 1;
    CHECK(htmldata_group_lines(none, &n, &(HtmlOrder){0}, &files, &nf, &err) == 0);
    CHECK_EQ_SIZE(n, 0);
    CHECK_EQ_SIZE(nf, 0);
    free(files);
}

static void
test_thin_timeline(void)
{
    MemPoint pts[10];
    for (int i = 0; i < 10; i++)
        pts[i] = (MemPoint){.t_ns = i * 10, .heap_bytes = i == 6 ? 1000 : i, .rss_bytes = 100 - i};
    CHECK_EQ_SIZE(htmldata_thin_timeline(pts, 10, 20), 10); /* few enough: untouched */
    CHECK_EQ_INT(pts[6].heap_bytes, 1000);
    /* runs of 4: [0..3] [4..7] [8..9]; each keeps its last time and highest values */
    CHECK_EQ_SIZE(htmldata_thin_timeline(pts, 10, 3), 3);
    static const int64_t t[] = {30, 70, 90}, heap[] = {3, 1000, 9}, rss[] = {100, 96, 92};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(pts[i].t_ns, t[i]);
        CHECK_EQ_INT(pts[i].heap_bytes, heap[i]);
        CHECK_EQ_INT(pts[i].rss_bytes, rss[i]);
    }
    MemPoint one[3] = {{0, 5, 1}, {1, 7, 9}, {2, 6, 3}};
    CHECK_EQ_SIZE(htmldata_thin_timeline(one, 3, 1), 1);
    CHECK_EQ_INT(one[0].t_ns, 2);
    CHECK_EQ_INT(one[0].heap_bytes, 7);
    CHECK_EQ_INT(one[0].rss_bytes, 9);
}

/* The trace profile of the report test: main calls rec, which recurses and calls leaf;
 * main calls leaf; a second thread calls leaf. Lines of main and rec with --lines. */
typedef struct {
    Profile *p;
    ThreadId a, b;
} Trace;

static Trace
trace_profile(void)
{
    Err err;
    Trace tr = {profile_new(PROFILE_TRACE, &err), 0, 0};
    Profile *p = tr.p;
    SeriesId s;
    ProcId proc;
    static const char *const series[][2] = {{"wall_ns", "ns"},
                                            {"calls", "calls"},
                                            {"cpu_ns", "ns"},
                                            {"line_hits", "hits"},
                                            {"line_ns", "ns"}};
    for (size_t i = 0; i < ARRAY_LEN(series); i++)
        CHECK(profile_series(p, series[i][0], series[i][1], &s, &err) == 0);
    CHECK(profile_process(p, 7, 0, "python3 t.py", &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 7, "MainThread", &tr.a, &err) == 0);
    CHECK(profile_thread(p, proc, 8, "worker", &tr.b, &err) == 0);
    CHECK(profile_meta_set(p, "mode", "trace", &err) == 0);
    FrameId main = frame(p, "main", "t.py", 1, 1, FRAME_PY);
    FrameId rec = frame(p, "rec", "t.py", 5, 5, FRAME_PY);
    FrameId leaf = frame(p, "leaf", "t.py", 9, 9, FRAME_PY);
    FrameId main2 = frame(p, "main", "t.py", 2, 1, FRAME_PY);
    FrameId main3 = frame(p, "main", "t.py", 3, 1, FRAME_PY);
    FrameId rec6 = frame(p, "rec", "t.py", 6, 5, FRAME_PY);
    static const struct {
        int path[4];
        size_t n;
        int64_t wall, calls, cpu;
    } calls[] = {
        {{0}, 1, 100, 1, 90},         {{0, 1}, 2, 50, 2, 50}, {{0, 1, 1}, 3, 30, 3, 30},
        {{0, 1, 1, 2}, 4, 20, 4, 10}, {{0, 2}, 2, 5, 1, 5},
    };
    const FrameId fn[] = {main, rec, leaf};
    for (size_t i = 0; i < ARRAY_LEN(calls); i++) {
        FrameId path[4];
        for (size_t k = 0; k < calls[i].n; k++)
            path[k] = fn[calls[i].path[k]];
        StackId st = stack(p, path, calls[i].n);
        /* two flushes: the samples are deltas that add up */
        sample(p, "wall_ns", st, tr.a, 1000, calls[i].wall - 1);
        sample(p, "wall_ns", st, tr.a, 2000, 1);
        sample(p, "calls", st, tr.a, 1000, calls[i].calls);
        sample(p, "cpu_ns", st, tr.a, 1000, calls[i].cpu);
    }
    StackId leaf_b = stack(p, &leaf, 1);
    sample(p, "wall_ns", leaf_b, tr.b, 1000, 7);
    sample(p, "calls", leaf_b, tr.b, 1000, 7);
    sample(p, "cpu_ns", leaf_b, tr.b, 1000, 7);
    /* lines sit on the caller's stack plus a frame of the function at the line */
    StackId l2 = stack(p, &main2, 1), l3 = stack(p, &main3, 1);
    StackId l6a = stack(p, (FrameId[]){main, rec6}, 2),
            l6b = stack(p, (FrameId[]){main, rec, rec6}, 3);
    sample(p, "line_hits", l2, tr.a, 1000, 1);
    sample(p, "line_ns", l2, tr.a, 1000, 180);
    sample(p, "line_hits", l3, tr.a, 1000, 1);
    sample(p, "line_ns", l3, tr.a, 1000, 25);
    sample(p, "line_hits", l6a, tr.a, 1000, 2);
    sample(p, "line_ns", l6a, tr.a, 1000, 100);
    sample(p, "line_hits", l6b, tr.a, 1000, 3);
    sample(p, "line_ns", l6b, tr.a, 1000, 50);
    return tr;
}

static void
test_file_and_thread_totals(void)
{
    Err err;
    Trace tr = trace_profile();
    Profile *p = tr.p;
    /* one more file under t.py's main, recursing into itself through t.py */
    FrameId main = frame(p, "main", "t.py", 1, 1, FRAME_PY);
    FrameId u = frame(p, "u", "u.py", 3, 3, FRAME_PY), uu = frame(p, "uu", "u.py", 8, 8, FRAME_PY);
    FrameId rec = frame(p, "rec", "t.py", 5, 5, FRAME_PY);
    StackId deep = stack(p, (FrameId[]){main, u, rec, uu}, 4);
    sample(p, "wall_ns", deep, tr.a, 3000, 11);
    size_t ns = profile_nstacks(p);
    int64_t *self = calloc(ns, sizeof *self);
    ProfFilter f;
    profile_filter_init(&f);
    CHECK(profile_series_find(p, "wall_ns", &f.series));
    profile_self_weights(p, &f, self);
    HtmlFileTotals t;
    CHECK(htmldata_file_totals(p, self, &t, &err) == 0);
    StrId tpy, upy, none;
    CHECK(profile_cstr(p, "t.py", &tpy, &err) == 0);
    CHECK(profile_cstr(p, "u.py", &upy, &err) == 0);
    CHECK(profile_cstr(p, "v.py", &none, &err) == 0);
    CHECK_EQ_INT(htmldata_file_total(&t, tpy), 212 + 11); /* every stack, each once */
    CHECK_EQ_INT(htmldata_file_total(&t, upy), 11);
    CHECK_EQ_INT(htmldata_file_total(&t, none), 0);
    htmldata_file_totals_fini(&t);
    free(self);

    HtmlThreadTotals *tt;
    size_t n;
    CHECK(htmldata_thread_totals(p, &tt, &n, &err) == 0);
    CHECK_EQ_SIZE(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(tt[0].thread, tr.a);
        CHECK_EQ_INT(tt[0].calls, 11);
        CHECK_EQ_INT(tt[0].wall_ns, 205 + 11);
        CHECK_EQ_INT(tt[0].cpu_ns, 185);
        CHECK_EQ_INT(tt[1].thread, tr.b);
        CHECK_EQ_INT(tt[1].calls, 7);
        CHECK_EQ_INT(tt[1].wall_ns, 7);
    }
    free(tt);
    profile_free(p);
}

/* Renders p's HTML report and parses the JSON it embeds. */
static bool
html_json(const Profile *p, const char *series, JsonDoc *doc, char **html)
{
    Err err;
    ReportOptions opt;
    report_options_init(&opt, p);
    if (series)
        CHECK(profile_series_find(p, series, &opt.series));
    size_t len;
    FILE *f = open_memstream(html, &len);
    int rc = report_find("html")->write(p, &opt, f, &err);
    fclose(f);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  html: %s\n", err.msg);
        return false;
    }
    const char *start = strstr(*html, "type=\"application/json\">");
    const char *end = start ? strstr(start, "</script>") : NULL;
    CHECK(start && end);
    if (!start || !end)
        return false;
    start += strlen("type=\"application/json\">");
    int ok = jsonread_parse(doc, start, (size_t)(end - start), &err);
    CHECK(ok == 0);
    if (ok)
        fprintf(stderr, "  json: %s\n", err.msg);
    return ok == 0;
}

static double
num(const JsonVal *v, size_t i)
{
    return v && (v->type == JSON_ARR) && i < v->len && v->items[i].type == JSON_NUM
               ? v->items[i].num
               : -1;
}

static const JsonVal *
at(const JsonVal *v, size_t i)
{
    return v && (v->type == JSON_ARR || v->type == JSON_OBJ) && i < v->len ? &v->items[i] : NULL;
}

/* The number member `key` of object v, or -1. */
static double
get_num(const JsonVal *v, const char *key)
{
    const JsonVal *n = jsonread_get_type(v, key, JSON_NUM);
    return n ? n->num : -1;
}

static const char *
str(const JsonVal *v)
{
    return v && v->type == JSON_STR ? v->str : "";
}

/* The index of the function named `name` in funcs, or -1. */
static int
func_index(const JsonVal *root, const char *name)
{
    const JsonVal *names = jsonread_get(jsonread_get(root, "funcs"), "name");
    for (size_t i = 0; names && i < names->len; i++)
        if (strcmp(str(&names->items[i]), name) == 0)
            return (int)i;
    return -1;
}

/* The table row of function f (its first element is f), or NULL. */
static const JsonVal *
table_row(const JsonVal *table, int f)
{
    for (size_t i = 0; table && i < table->len; i++)
        if ((int)num(&table->items[i], 0) == f)
            return &table->items[i];
    return NULL;
}

/* The heat entry [line, ...] of `line` in the source of file `file`, or NULL. */
static const JsonVal *
heat_line(const JsonVal *sources, const char *file, int line)
{
    for (size_t i = 0; sources && i < sources->len; i++) {
        const JsonVal *s = &sources->items[i];
        if (strcmp(str(jsonread_get(s, "file")), file) != 0)
            continue;
        const JsonVal *heat = jsonread_get(s, "heat");
        for (size_t k = 0; heat && k < heat->len; k++)
            if ((int)num(&heat->items[k], 0) == line)
                return &heat->items[k];
    }
    return NULL;
}

/* The report of p rendered for `series` opens on view number `view` and tab `tab`. */
static void
check_opens_on(const Profile *p, const char *series, int view, const char *tab)
{
    JsonDoc doc;
    char *html = NULL;
    if (html_json(p, series, &doc, &html)) {
        CHECK_EQ_INT(get_num(doc.root, "view"), view);
        CHECK_EQ_STR(str(jsonread_get(doc.root, "tab")), tab);
        jsonread_fini(&doc);
    }
    free(html);
}

static Profile *
memory_profile(void)
{
    Err err;
    Profile *p = profile_new(PROFILE_MEMORY, &err);
    SeriesId s;
    ProcId proc;
    ThreadId th;
#define X(sym, name, unit) CHECK(profile_series(p, name, unit, &s, &err) == 0);
    MEM_SERIES(X)
#undef X
    CHECK(profile_process(p, 9, 0, "python3 app.py", &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 9, "MainThread", &th, &err) == 0);
    static const char *const meta[][2] = {
        {"mem.mode", "sampled"},
        {"mem.sample_bytes", "65536"},
        {"mem.peak_t_ns", "20000000"},
        {"mem.peak_heap_bytes", "2100"},
        {"mem.end", "atexit"},
        {"mem.exit_heap_bytes", "800"},
        {"mem.peak_attributed_bytes", "1500"},
        {"mem.timeline_interval_ns", "10000000"},
    };
    for (size_t i = 0; i < ARRAY_LEN(meta); i++)
        CHECK(profile_meta_set(p, meta[i][0], meta[i][1], &err) == 0);
    FrameId m = frame(p, "<module>", "app.py", 30, 1, FRAME_PY);
    FrameId m31 = frame(p, "<module>", "app.py", 31, 1, FRAME_PY);
    FrameId p10 = frame(p, "peak", "app.py", 10, 9, FRAME_PY);
    FrameId p11 = frame(p, "peak", "app.py", 11, 9, FRAME_PY);
    FrameId lk = frame(p, "leak", "app.py", 20, 19, FRAME_PY);
    FrameId nat = frame(p, "<native: libz.so.1>", "", 0, 0, FRAME_NATIVE);
    FrameId interp = frame(p, "<interpreter>", "", 0, 0, FRAME_MARKER);
    StackId s1 = stack(p, (FrameId[]){m, p10}, 2), s2 = stack(p, (FrameId[]){m, p11, nat}, 3);
    StackId s3 = stack(p, (FrameId[]){m31, lk}, 2), s4 = stack(p, &interp, 1);
    sample(p, "peak_bytes", s1, th, 20000000, 1000);
    sample(p, "peak_count", s1, th, 20000000, 10);
    sample(p, "peak_bytes", s2, th, 20000000, 500);
    sample(p, "peak_count", s2, th, 20000000, 1);
    sample(p, "leaked_bytes", s2, th, 30000000, 500);
    sample(p, "leaked_count", s2, th, 30000000, 1);
    sample(p, "leaked_bytes", s3, th, 30000000, 300);
    sample(p, "leaked_count", s3, th, 30000000, 3);
    sample(p, "allocated_bytes", s1, th, 10000000, 1500);
    sample(p, "allocated_count", s1, th, 10000000, 15);
    sample(p, "allocated_bytes", s3, th, 10000000, 300);
    sample(p, "allocated_count", s3, th, 10000000, 3);
    sample(p, "allocated_bytes", s4, th, 10000000, 64);
    sample(p, "allocated_count", s4, th, 10000000, 2);
    static const int64_t heap[] = {100, 2000, 800}, rss[] = {5000, 6000, 6500};
    for (int i = 0; i < 3; i++) {
        sample(p, "heap_bytes", PROFILE_ROOT, th, (i + 1) * 10000000, heap[i]);
        sample(p, "rss_bytes", PROFILE_ROOT, th, (i + 1) * 10000000, rss[i]);
    }
    profile_info(p)->duration_ns = 35000000;
    return p;
}

static void
test_memory_report(void)
{
    Profile *p = memory_profile();
    JsonDoc doc;
    char *html = NULL;
    if (html_json(p, NULL, &doc, &html)) {
        const JsonVal *r = doc.root;
        CHECK_EQ_STR(str(jsonread_get(r, "kind")), "memory");
        CHECK_EQ_INT(get_num(r, "view"), 0);
        CHECK_EQ_STR(str(jsonread_get(r, "tab")), "flame");
        const JsonVal *views = jsonread_get(r, "views");
        CHECK(views && views->len == 3);
        static const char *const ids[] = {"peak", "leaks", "allocated"};
        static const int64_t bytes[] = {1500, 800, 1864}, counts[] = {11, 4, 20};
        for (size_t i = 0; views && i < 3 && i < views->len; i++) {
            const JsonVal *v = &views->items[i];
            CHECK_EQ_STR(str(jsonread_get(v, "id")), ids[i]);
            CHECK_EQ_INT(num(jsonread_get(v, "grand"), 0), bytes[i]);
            CHECK_EQ_INT(num(jsonread_get(v, "grand"), 1), counts[i]);
            const JsonVal *nodes = jsonread_get(v, "nodes");
            CHECK_EQ_INT(num(jsonread_get(nodes, "total"), 0), bytes[i]); /* the root */
            CHECK_EQ_INT(num(jsonread_get(nodes, "count"), 0), counts[i]);
        }
        const JsonVal *peak = at(views, 0), *leaks = at(views, 1);
        /* peak: the function's own line 10, its native allocation under line 11 */
        int fpeak = func_index(r, "peak"), fnat = func_index(r, "<native: libz.so.1>");
        const JsonVal *row = table_row(jsonread_get(peak, "table"), fpeak);
        CHECK(row != NULL);
        CHECK_EQ_INT(num(row, 1), 1000); /* self */
        CHECK_EQ_INT(num(row, 2), 1500); /* total */
        CHECK_EQ_INT(num(row, 3), 10);   /* self allocations */
        CHECK_EQ_INT(num(row, 4), 11);   /* total allocations */
        row = table_row(jsonread_get(peak, "table"), fnat);
        CHECK_EQ_INT(num(row, 1), 500);
        CHECK(table_row(jsonread_get(leaks, "table"), fpeak) != NULL);
        CHECK(table_row(jsonread_get(peak, "table"), func_index(r, "leak")) == NULL);
        const JsonVal *h = heat_line(jsonread_get(peak, "sources"), "app.py", 10);
        CHECK_EQ_INT(num(h, 1), 1000);
        CHECK_EQ_INT(num(h, 2), 10);
        CHECK_EQ_INT(num(h, 3), 0);
        h = heat_line(jsonread_get(peak, "sources"), "app.py", 11); /* native, at its line */
        CHECK_EQ_INT(num(h, 1), 500);
        CHECK_EQ_INT(num(h, 2), 1);
        CHECK_EQ_INT(num(h, 3), 500);
        CHECK(heat_line(jsonread_get(peak, "sources"), "app.py", 20) == NULL);
        h = heat_line(jsonread_get(leaks, "sources"), "app.py", 20);
        CHECK_EQ_INT(num(h, 1), 300);
        CHECK_EQ_INT(get_num(at(jsonread_get(peak, "sources"), 0), "rank"), 1500);
        const JsonVal *tl = jsonread_get(r, "timeline");
        static const int64_t t[] = {10000000, 20000000, 30000000}, heap[] = {100, 2000, 800},
                             rss[] = {5000, 6000, 6500};
        for (size_t i = 0; i < 3; i++) {
            CHECK_EQ_INT(num(jsonread_get(tl, "t"), i), t[i]);
            CHECK_EQ_INT(num(jsonread_get(tl, "heap"), i), heap[i]);
            CHECK_EQ_INT(num(jsonread_get(tl, "rss"), i), rss[i]);
        }
        CHECK_EQ_INT(get_num(tl, "peakT"), 20000000);
        CHECK_EQ_INT(get_num(tl, "peakHeap"), 2100);
        /* the header: peak, mode, end */
        const JsonVal *facts = jsonread_get(r, "facts");
        bool mode = false, ended = false, peak_fact = false;
        for (size_t i = 0; facts && i < facts->len; i++) {
            const char *k = str(at(&facts->items[i], 0)), *v = str(at(&facts->items[i], 1));
            peak_fact |= strcmp(k, "Peak heap") == 0 && strstr(v, "2.1 KiB at 0.02 s") != NULL;
            mode |= strcmp(k, "Mode") == 0 && strncmp(v, "sampled", 7) == 0;
            ended |= strcmp(k, "Ended") == 0 && strncmp(v, "normally", 8) == 0;
        }
        CHECK(peak_fact && mode && ended);
        jsonread_fini(&doc);
    }
    free(html);
    /* the report opens on the view asked for; the timeline on its tab */
    check_opens_on(p, "leaked_bytes", 1, "flame");
    check_opens_on(p, "allocated_bytes", 2, "flame");
    check_opens_on(p, "heap_bytes", 0, "timeline");
    profile_free(p);
}

static void
test_trace_report(void)
{
    Trace tr = trace_profile();
    Profile *p = tr.p;
    JsonDoc doc;
    char *html = NULL;
    if (html_json(p, NULL, &doc, &html)) {
        const JsonVal *r = doc.root;
        CHECK_EQ_STR(str(jsonread_get(r, "kind")), "trace");
        const JsonVal *views = jsonread_get(r, "views");
        CHECK(views && views->len == 2);
        CHECK_EQ_STR(str(jsonread_get(at(views, 0), "id")), "wall");
        CHECK_EQ_STR(str(jsonread_get(at(views, 1), "id")), "cpu");
        CHECK_EQ_INT(num(jsonread_get(at(views, 0), "grand"), 0), 212);
        CHECK_EQ_INT(num(jsonread_get(at(views, 0), "grand"), 1), 18);
        CHECK_EQ_INT(num(jsonread_get(at(views, 1), "grand"), 0), 192);
        const JsonVal *nodes = jsonread_get(at(views, 0), "nodes");
        CHECK_EQ_INT(num(jsonread_get(nodes, "total"), 0), 212);
        CHECK_EQ_INT(num(jsonread_get(nodes, "count"), 0), 18);
        /* node 1 is main (the heaviest child of the root): its calls and those below it */
        CHECK_EQ_INT(num(jsonread_get(nodes, "func"), 1), func_index(r, "main"));
        CHECK_EQ_INT(num(jsonread_get(nodes, "count"), 1), 11);
        CHECK_EQ_INT(num(jsonread_get(nodes, "selfCount"), 1), 1);
        CHECK_EQ_INT(num(jsonread_get(nodes, "total"), 1), 205);
        /* the table: [func, calls, primitive, self, total, cpu self, cpu total] */
        static const struct {
            const char *name;
            int64_t v[6];
        } want[] = {
            {"main", {1, 1, 100, 205, 90, 185}},
            {"rec", {5, 2, 80, 100, 80, 90}}, /* the recursion counts once in total */
            {"leaf", {12, 12, 32, 32, 22, 22}},
        };
        const JsonVal *table = jsonread_get(r, "table");
        CHECK_EQ_SIZE(table ? table->len : 0, 3);
        for (size_t i = 0; i < ARRAY_LEN(want); i++) {
            const JsonVal *row = table_row(table, func_index(r, want[i].name));
            CHECK(row != NULL);
            for (size_t k = 0; row && k < 6; k++)
                CHECK_EQ_INT(num(row, k + 1), want[i].v[k]);
        }
        /* lines: [line, hits, ns], rec's line 6 summed over both recursion depths */
        const JsonVal *src = jsonread_get(r, "sources");
        static const int64_t lines[][3] = {{2, 1, 180}, {3, 1, 25}, {6, 5, 150}};
        for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
            const JsonVal *h = heat_line(src, "t.py", (int)lines[i][0]);
            CHECK_EQ_INT(num(h, 1), lines[i][1]);
            CHECK_EQ_INT(num(h, 2), lines[i][2]);
        }
        CHECK(heat_line(src, "t.py", 1) == NULL);
        CHECK_EQ_INT(get_num(at(src, 0), "rank"), 212); /* every traced stack runs t.py's code */
        const JsonVal *threads = jsonread_get(r, "threadTable");
        CHECK_EQ_SIZE(threads ? threads->len : 0, 2);
        CHECK(strncmp(str(at(at(threads, 0), 0)), "MainThread (tid 7)", 18) == 0);
        CHECK_EQ_INT(num(at(threads, 0), 1), 11);
        CHECK_EQ_INT(num(at(threads, 0), 2), 205);
        CHECK_EQ_INT(num(at(threads, 0), 3), 185);
        CHECK(strncmp(str(at(at(threads, 1), 0)), "worker (tid 8)", 14) == 0);
        jsonread_fini(&doc);
    }
    free(html);
    check_opens_on(p, "cpu_ns", 1, "flame"); /* --series cpu_ns: the CPU view */
    check_opens_on(p, "calls", 0, "flame");
    profile_free(p);
}

/* A trace recorded with --no-cpu and without --lines: one view, no CPU, no sources. */
static void
test_trace_report_wall_only(void)
{
    Err err;
    Profile *p = profile_new(PROFILE_TRACE, &err);
    SeriesId s;
    ProcId proc;
    ThreadId th;
    CHECK(profile_series(p, "wall_ns", "ns", &s, &err) == 0);
    CHECK(profile_series(p, "calls", "calls", &s, &err) == 0);
    CHECK(profile_process(p, 7, 0, NULL, &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 7, NULL, &th, &err) == 0);
    FrameId f = frame(p, "f", "t.py", 1, 1, FRAME_PY);
    StackId st = stack(p, &f, 1);
    sample(p, "wall_ns", st, th, 0, 40);
    sample(p, "calls", st, th, 0, 3);
    JsonDoc doc;
    char *html = NULL;
    if (html_json(p, NULL, &doc, &html)) {
        const JsonVal *r = doc.root;
        CHECK_EQ_SIZE(jsonread_get(r, "views") ? jsonread_get(r, "views")->len : 0, 1);
        const JsonVal *cpu = jsonread_get_type(r, "hasCpu", JSON_BOOL);
        const JsonVal *lines = jsonread_get_type(r, "hasLines", JSON_BOOL);
        CHECK(cpu && !cpu->b && lines && !lines->b);
        CHECK_EQ_SIZE(jsonread_get(r, "sources") ? jsonread_get(r, "sources")->len : 1, 0);
        const JsonVal *row = table_row(jsonread_get(r, "table"), func_index(r, "f"));
        CHECK_EQ_INT(num(row, 1), 3);
        CHECK_EQ_INT(num(row, 3), 40);
        CHECK_EQ_INT(num(row, 5), 0);
        jsonread_fini(&doc);
    }
    free(html);
    profile_free(p);
}

int
main(void)
{
    test_group_lines();
    test_thin_timeline();
    test_file_and_thread_totals();
    test_memory_report();
    test_trace_report();
    test_trace_report_wall_only();
    return check_report();
}
