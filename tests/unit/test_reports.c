/* SPDX-License-Identifier: MIT */
/* test_reports.c: the report writers on hand-built profiles: the pprof encoder against bytes
 * worked out from profile.proto, the call tree, hostile names in every format for sampled,
 * memory and trace profiles (nothing unescaped reaches JSON, markup or a terminal), the diff statistics against scipy
 * (tests/data/diff_reference.py), and the default output paths. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "profile/ffile.h"
#include "profile/profile.h"
#include "report/diff.h"
#include "report/flame.h"
#include "report/pprof.h"
#include "report/report.h"
#include "util/escape.h"

static FrameId
frame(Profile *p, const char *name, const char *file, int line, int fn_line)
{
    Err err;
    ProfFrame f = {.line = line, .fn_line = fn_line, .kind = FRAME_PY};
    FrameId id = 0;
    CHECK(profile_cstr(p, name, &f.name, &err) == 0);
    CHECK(profile_cstr(p, file, &f.file, &err) == 0);
    CHECK(profile_frame(p, &f, &id, &err) == 0);
    return id;
}

static Profile *
new_profile(ThreadId *th, const char *thread_name)
{
    Err err;
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    SeriesId ser;
    ProcId proc;
    CHECK(profile_series(p, "samples", "samples", &ser, &err) == 0);
    CHECK(profile_process(p, 7, 0, NULL, &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 7, thread_name, th, &err) == 0);
    return p;
}

static void
add(Profile *p, ThreadId th, const FrameId *path, size_t n, int count, int64_t *t)
{
    Err err;
    StackId st;
    CHECK(profile_stack_path(p, path, n, &st, &err) == 0);
    for (int i = 0; i < count; i++) {
        ProfSample s = {.t_ns = (*t)++ * 1000, .stack = st, .thread = th, .weight = 1,
                        .flags = SAMPLE_ON_CPU};
        CHECK(profile_add_sample(p, &s, &err) == 0);
    }
}

static char *
render(const Profile *p, const ReportWriter *w, size_t *len)
{
    char *data = NULL;
    FILE *f = open_memstream(&data, len);
    Err err;
    ReportOptions opt;
    report_options_init(&opt, p);
    int rc = w->write(p, &opt, f, &err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  %s: %s\n", w->name, err.msg);
    fclose(f);
    return data;
}

static int
count(const char *hay, size_t n, const char *needle)
{
    int k = 0;
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        k += memcmp(hay + i, needle, m) == 0;
    return k;
}

static bool
valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len < 0)
            return false;
        i += (size_t)len;
    }
    return true;
}

static bool
has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n')
            return true;
    return false;
}

static void
test_pprof_bytes(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, NULL);
    FrameId f = frame(p, "f", "a.py", 3, 1);
    int64_t t = 0;
    add(p, th, &f, 1, 1, &t);
    /* profile.proto field by field (see the walk-through in pprof.c's order of fields) */
    static const unsigned char want[] = {
        0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,                   /* sample_type {samples, count} */
        0x12, 0x0c, 0x0a, 0x01, 0x01,                         /* sample: location_id [1] */
        0x12, 0x01, 0x01,                                     /*   value [1] */
        0x1a, 0x04, 0x08, 0x03, 0x18, 0x07,                   /*   label {thread_id, num 7} */
        0x22, 0x08, 0x08, 0x01, 0x22, 0x04, 0x08, 0x01, 0x10, 0x03, /* location 1: fn 1 line 3 */
        0x2a, 0x0a, 0x08, 0x01, 0x10, 0x04, 0x18, 0x04, 0x20, 0x05, 0x28, 0x01, /* function 1 */
        0x70, 0x01,                                           /* default_sample_type "samples" */
        0x32, 0x00,                                           /* string_table: "" */
        0x32, 0x07, 's', 'a', 'm', 'p', 'l', 'e', 's',
        0x32, 0x05, 'c', 'o', 'u', 'n', 't',
        0x32, 0x09, 't', 'h', 'r', 'e', 'a', 'd', '_', 'i', 'd',
        0x32, 0x01, 'f',
        0x32, 0x04, 'a', '.', 'p', 'y',
    };
    Buf b;
    buf_init(&b);
    Err err;
    ReportOptions opt;
    report_options_init(&opt, p);
    CHECK(pprof_encode(p, &opt, &b, &err) == 0);
    CHECK_EQ_SIZE(b.len, sizeof want);
    for (size_t i = 0; i < b.len && i < sizeof want; i++)
        if ((unsigned char)b.data[i] != want[i]) {
            CHECK_EQ_INT((unsigned char)b.data[i], want[i]);
            fprintf(stderr, "  first difference at byte %zu\n", i);
            break;
        }
    buf_fini(&b);
    profile_free(p);
}

/* pprof of a memory profile: the timeline gauges (heap_bytes, rss_bytes: one reading per
 * tick at the root) are no sample types, as pprof would add the readings up like allocations
 * (70 MB of "heap" from a 3 MB program), and the timeline's tick is no sampling period: no
 * period_type "wall". The views' series stay. */
static void
test_pprof_memory_gauges(void)
{
    static const char *const names[] = {"peak_bytes", "peak_count", "heap_bytes", "rss_bytes"};
    Err err;
    Profile *p = profile_new(PROFILE_MEMORY, &err);
    ProcId proc;
    ThreadId th;
    SeriesId ser;
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        CHECK(profile_series(p, names[i], strstr(names[i], "bytes") ? "bytes" : "count", &ser,
                             &err) == 0);
    CHECK(profile_process(p, 7, 0, NULL, &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 7, "MainThread", &th, &err) == 0);
    profile_info(p)->interval_ns = 10000000; /* the timeline's tick */
    FrameId f = frame(p, "f", "a.py", 3, 1);
    StackId st;
    CHECK(profile_stack_path(p, &f, 1, &st, &err) == 0);
    for (SeriesId s = 0; s < ARRAY_LEN(names); s++) {
        ProfSample smp = {.t_ns = 1000,
                          .stack = s < 2 ? st : PROFILE_ROOT,
                          .thread = th,
                          .series = s,
                          .weight = 4096};
        CHECK(profile_add_sample(p, &smp, &err) == 0);
    }
    Buf b;
    buf_init(&b);
    ReportOptions opt;
    report_options_init(&opt, p);
    CHECK(pprof_encode(p, &opt, &b, &err) == 0);
    CHECK_EQ_INT(count(b.data, b.len, "peak_bytes"), 1);
    CHECK_EQ_INT(count(b.data, b.len, "peak_count"), 1);
    CHECK_EQ_INT(count(b.data, b.len, "heap_bytes"), 0);
    CHECK_EQ_INT(count(b.data, b.len, "rss_bytes"), 0);
    CHECK_EQ_INT(count(b.data, b.len, "wall"), 0);
    buf_fini(&b);
    profile_free(p);
}

static void
test_call_tree(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, "MainThread");
    FrameId m10 = frame(p, "main", "app.py", 10, 1), m11 = frame(p, "main", "app.py", 11, 1);
    FrameId hot = frame(p, "hot", "app.py", 3, 2), cold = frame(p, "cold", "app.py", 7, 6);
    int64_t t = 0;
    FrameId a[] = {m10, hot}, b2[] = {m11, hot}, c[] = {m10, cold};
    add(p, th, a, 2, 5, &t);
    add(p, th, b2, 2, 3, &t); /* another line of main: merges with a's main -> hot */
    add(p, th, c, 2, 2, &t);
    add(p, th, &m10, 1, 1, &t);
    Err err;
    FlameProfile fp;
    CHECK(flame_profile_build(&fp, p, 0, 0, 0, NULL, &err) == 0);
    CHECK_EQ_SIZE(fp.tree.n, 4); /* root, main, main/hot, main/cold */
    CHECK_EQ_INT(fp.tree.nodes[FLAME_ROOT].total[0], 11);
    uint32_t *order;
    CHECK(flame_order(&fp.tree, 0, &order, &err) == 0);
    const FlameNode *n1 = &fp.tree.nodes[order[1]], *n2 = &fp.tree.nodes[order[2]];
    const FlameNode *n3 = &fp.tree.nodes[order[3]];
    CHECK_EQ_INT(n1->total[0], 11);
    CHECK_EQ_INT(n1->self[0], 1);
    CHECK_EQ_INT(n2->total[0], 8); /* hot before cold: heavier first */
    CHECK_EQ_INT(n3->total[0], 2);
    CHECK_EQ_INT(n2->depth, 2);
    FlameFunc f;
    fp.view.func(fp.view.ctx, n2->func, &f);
    CHECK(f.name_len == 3 && memcmp(f.name, "hot", 3) == 0);
    free(order);
    flame_profile_fini(&fp);

    size_t len;
    char *text = render(p, report_find("text"), &len);
    char *tree = strstr(text, "Call tree");
    CHECK(tree != NULL);
    if (tree) {
        CHECK(strstr(tree, "  100.0%    9.1%  main (app.py:1)\n") != NULL);
        CHECK(strstr(tree, "   72.7%   72.7%    hot (app.py:2)\n") != NULL);
        CHECK(strstr(tree, "   18.2%   18.2%    cold (app.py:6)\n") != NULL);
    }
    free(text);
    profile_free(p);
}

/* A sample of weight w stands for the w intervals ending at its time (the sampler merges a
 * thread's identical samples so): the HTML thread timeline spreads it over those intervals,
 * and the Chrome trace starts its span at the first of them. */
static void
test_merged_samples_in_time(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, "MainThread");
    profile_info(p)->interval_ns = 1000000; /* 1 ms */
    FrameId idle = frame(p, "idle", "app.py", 1, 1), busy = frame(p, "busy", "app.py", 5, 5);
    Err err;
    StackId si, sb;
    CHECK(profile_stack_path(p, &idle, 1, &si, &err) == 0);
    CHECK(profile_stack_path(p, &busy, 1, &sb, &err) == 0);
    /* 0 ms: busy; then idle for 1000 intervals, one sample at 1000 ms; then busy again */
    ProfSample a = {.t_ns = 0, .stack = sb, .thread = th, .weight = 1};
    ProfSample b = {.t_ns = 1000000000, .stack = si, .thread = th, .weight = 1000};
    ProfSample c = {.t_ns = 1001000000, .stack = sb, .thread = th, .weight = 1};
    CHECK(profile_add_sample(p, &a, &err) == 0);
    CHECK(profile_add_sample(p, &b, &err) == 0);
    CHECK(profile_add_sample(p, &c, &err) == 0);
    size_t len;
    char *html = render(p, report_find("html"), &len);
    CHECK(html != NULL);
    char *all = html ? strstr(html, "\"all\":[") : NULL;
    CHECK(all != NULL);
    if (all) {
        /* 400 buckets over ~1 s: the idle second fills them all, 2 or 3 per bucket */
        int nonzero = 0, biggest = 0;
        char *q = all + 7;
        for (int k = 0; k < 400; k++) {
            int v = (int)strtol(q, &q, 10);
            nonzero += v > 0;
            biggest = v > biggest ? v : biggest;
            q++; /* the comma or the bracket */
        }
        CHECK_EQ_INT(nonzero, 400);
        CHECK(biggest <= 5);
    }
    free(html);
    char *chrome = render(p, report_find("chrome"), &len);
    CHECK(chrome != NULL);
    /* busy [0, 1 ms), idle [1 ms, 1001 ms), busy [1001 ms, 1002 ms) */
    CHECK(chrome && strstr(chrome, "\"name\":\"idle\"") != NULL);
    CHECK(chrome && strstr(chrome, "\"ts\":1000.000,\"dur\":1000000.000") != NULL);
    if (chrome && !strstr(chrome, "\"ts\":1000.000,\"dur\":1000000.000"))
        fprintf(stderr, "%s\n", chrome);
    free(chrome);
    profile_free(p);
}

/* Chrome trace: a function and its callee seen by the same samples are spans with the same
 * ts and dur, which readers nest in file order (speedscope: the first is the parent). They
 * are written outermost first; they were written callee first and shown inverted. And on
 * whole microseconds, so that a reader's ts + dur in floating point gives both one end:
 * 1.000 + 2.499 and 1.000 + 2.499 agree, but 7999.365 + 1000 is not 0 + 8999.365 there. */
static void
test_chrome_twins_parent_first(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, "MainThread");
    profile_info(p)->interval_ns = 1000; /* 1 us, as add() spaces the samples */
    FrameId path[3] = {frame(p, "outer", "app.py", 1, 1), frame(p, "middle", "app.py", 5, 5),
                       frame(p, "inner", "app.py", 9, 9)};
    FrameId other = frame(p, "other", "app.py", 20, 20);
    int64_t t = 1; /* samples at 1 and 2 us: outer/middle/inner [1 us, 3 us) */
    add(p, th, path, 3, 2, &t);
    Err err;
    StackId st;
    CHECK(profile_stack_path(p, &other, 1, &st, &err) == 0);
    ProfSample last = {.t_ns = 3499, .stack = st, .thread = th, .weight = 1};
    CHECK(profile_add_sample(p, &last, &err) == 0);
    size_t len;
    char *out = render(p, report_find("chrome"), &len);
    CHECK(out != NULL);
    if (out) {
        const char *o = strstr(out, "\"name\":\"outer\"");
        const char *m = strstr(out, "\"name\":\"middle\"");
        const char *i = strstr(out, "\"name\":\"inner\"");
        CHECK(o && m && i && o < m && m < i);
        CHECK_EQ_INT(count(out, len, "\"ts\":1.000,\"dur\":2.000"), 3); /* 3499 ns: 3 us */
        CHECK_EQ_INT(count(out, len, "\"ts\":3.000,\"dur\":1.000"), 1);
        if (!(o && m && i && o < m && m < i))
            fprintf(stderr, "%s\n", out);
    }
    free(out);
    profile_free(p);
}

/* JSON: samples with no Python frame (the empty stack) are a stack with no frames, so the
 * stacks' values add up to "total" as in every other format. */
static void
test_json_empty_stack(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, "MainThread");
    FrameId f = frame(p, "work", "app.py", 3, 1);
    int64_t t = 1;
    add(p, th, &f, 1, 5, &t);
    add(p, th, NULL, 0, 3, &t);
    size_t len;
    char *out = render(p, report_find("json"), &len);
    CHECK(out != NULL);
    if (out) {
        CHECK(strstr(out, "\"total\":8,") != NULL);
        CHECK(
            strstr(out, "\"stacks\":[{\"frames\":[0],\"value\":5},{\"frames\":[],\"value\":3}]") !=
            NULL);
    }
    free(out);
    profile_free(p);
}

/* Renders p with writer w; returns its status, with *err set on failure. */
static int
render_status(const Profile *p, const ReportWriter *w, Err *err)
{
    char *data = NULL;
    size_t len;
    FILE *f = open_memstream(&data, &len);
    ReportOptions opt;
    report_options_init(&opt, p);
    int rc = w->write(p, &opt, f, err);
    fclose(f);
    free(data);
    return rc;
}

/* pstats: every caller is a key of the dict, as in cProfile's files; the synthetic thread
 * root of `ferret run --threads` is no function, so main's only caller (the root) is left
 * out, not written as a "<built-in method thread 7 MainThread>" key that is not there. A
 * profile without a single function is refused: pstats.Stats cannot load an empty dict. */
static void
test_pstats_keys(void)
{
    ThreadId th;
    Profile *p = new_profile(&th, "MainThread");
    Err err = {0};
    ProfFrame root = {.kind = FRAME_THREAD};
    FrameId path[2];
    CHECK(profile_cstr(p, "thread 7 MainThread", &root.name, &err) == 0);
    CHECK(profile_frame(p, &root, &path[0], &err) == 0);
    const ReportWriter *w = report_find("pstats");
    int64_t t = 0;
    add(p, th, path, 1, 2, &t); /* samples of the thread outside Python: no function */
    CHECK(render_status(p, w, &err) < 0 && err.kind == ERR_FORMAT);
    CHECK(strstr(err.msg, "pstats cannot load an empty profile") != NULL);
    path[1] = frame(p, "main", "app.py", 3, 1);
    add(p, th, path, 2, 3, &t);
    size_t len;
    char *out = render(p, w, &len);
    CHECK(out != NULL);
    if (out) {
        CHECK_EQ_INT(count(out, len, "main"), 1); /* the key; no caller entry */
        CHECK_EQ_INT(count(out, len, "MainThread"), 0);
        /* {('app.py', 1, 'main'): (0, 0, 0.03, 0.03, {})}: an empty caller dict, then the end */
        CHECK(len >= 2 && memcmp(out + len - 3, "{00", 3) == 0);
    }
    free(out);
    profile_free(p);
}

static const char *const hostile[] = {
    "<script>window.__ferretInjected=true</script>",
    "\"}]},{\"injected\":\"1",
    "</svg><svg onload=alert(1)>",
    "ctl\x01\x1b[31mred\x7f",
    "bad\xff\xfe\xc0\xafutf8",
    "sep\xe2\x80\xa8line;semi\nnl",
    "amp&lt;&amp;'quote'",
};

/* Renders p in every format and checks that nothing hostile got through unescaped. */
static void
check_hostile(const Profile *p, ProfileKind kind, FrameId probe)
{
    Err err;
    for (size_t i = 0; report_format_at(i); i++) {
        const ReportWriter *w = report_format_at(i);
        size_t len;
        bool chrome = strcmp(w->name, "chrome") == 0, pstats = strcmp(w->name, "pstats") == 0;
        if ((kind == PROFILE_MEMORY && (chrome || pstats)) || (kind == PROFILE_TRACE && chrome)) {
            /* pstats holds times, a Chrome trace a timeline: a memory profile, and a trace
             * without "spans", are refused, clearly (test_chrome_needs_a_timeline) */
            CHECK(render_status(p, w, &err) < 0 && err.kind == ERR_USAGE);
            continue;
        }
        char *out = render(p, w, &len);
        if (!out)
            continue;
        const char *name = w->name;
        if (strcmp(name, "pprof") == 0) {
            free(out);
            Buf b;
            buf_init(&b);
            ReportOptions opt;
            report_options_init(&opt, p);
            CHECK(pprof_encode(p, &opt, &b, &err) == 0);
            CHECK(count(b.data, b.len, "\x1b[31m") == 0); /* strings are cleaned */
            CHECK(count(b.data, b.len, "\xff\xfe") == 0);
            CHECK(count(b.data, b.len, "ctl\xef\xbf\xbd\xef\xbf\xbd[31mred") == 1);
            CHECK(count(b.data, b.len, "<script>window") == 1); /* kept, as data */
            buf_fini(&b);
            continue;
        }
        if (strcmp(name, "pstats") == 0) { /* marshal data: binary, strings made valid UTF-8 */
            CHECK(count(out, len, "\xff\xfe") == 0);
            CHECK(count(out, len, "bad\xef\xbf\xbd") >= 1);
            CHECK(count(out, len, "<script>window") >= 1); /* kept, as data */
            free(out);
            continue;
        }
        if (strcmp(name, "ferret") == 0) { /* binary, and every name kept exactly */
            Profile *back = ffile_read_mem((const uint8_t *)out, len, "ferret", &err);
            CHECK(back != NULL);
            if (back) {
                CHECK_EQ_SIZE(profile_nsamples(back), profile_nsamples(p));
                CHECK_EQ_STR(profile_strp(back, profile_frame_at(back, probe)->name), hostile[3]);
            }
            profile_free(back);
            free(out);
            continue;
        }
        CHECK(valid_utf8(out, len));
        if (!valid_utf8(out, len))
            fprintf(stderr, "  format %s is not valid UTF-8\n", name);
        CHECK(count(out, len, "\x1b") == 0);
        if (strcmp(name, "text") == 0 || strcmp(name, "collapsed") == 0) {
            CHECK(!has_control(out, len));
            CHECK(count(out, len, "ctl\\x01\\x1b[31mred") >= 1);
        } else if (strcmp(name, "html") == 0) {
            /* the template's own two scripts, nothing from the names */
            CHECK_EQ_INT(count(out, len, "<script"), 2);
            CHECK_EQ_INT(count(out, len, "</script"), 2);
            CHECK_EQ_INT(count(out, len, "<svg"), 0);
            CHECK(count(out, len, "\\u003cscript\\u003ewindow") >= 1);
            static const char *const kind_key[] = {"\"kind\":\"sampled\"", "\"kind\":\"memory\"",
                                                   "\"kind\":\"trace\""};
            CHECK_EQ_INT(count(out, len, kind_key[kind]), 1); /* the kind's own report */
            CHECK(!has_control(out, len));
        } else if (strcmp(name, "svg") == 0) {
            CHECK_EQ_INT(count(out, len, "<svg"), 1);
            CHECK_EQ_INT(count(out, len, "<script"), 1);
            CHECK(count(out, len, "&lt;/svg&gt;&lt;svg onload=alert(1)&gt;") >= 1);
            CHECK(count(out, len, "&amp;lt;&amp;amp;") >= 1);
            CHECK(!has_control(out, len));
        } else { /* JSON: speedscope, chrome */
            CHECK_EQ_INT(count(out, len, "<"), 0);
            CHECK_EQ_INT(count(out, len, "\"injected\""), 0);
            CHECK(count(out, len, "\\\"}]},{\\\"injected\\\":\\\"1") >= 1);
            CHECK(count(out, len, "\\u2028") >= 1);
            CHECK(!has_control(out, len));
        }
        free(out);
    }
}

/* A profile of `kind` whose function and file names, thread name and command are hostile:
 * seven nested functions, each with its own weight in every series of the kind (memory:
 * the views and the timeline; trace: calls, times and lines). frames[3] is checked after a
 * round trip. */
static Profile *
hostile_profile(ProfileKind kind, FrameId *frames)
{
    static const char *const memory[] = {"peak_bytes",  "peak_count",      "leaked_bytes",
                                         "leaked_count", "allocated_bytes", "allocated_count",
                                         "heap_bytes",   "rss_bytes"};
    static const char *const trace[] = {"wall_ns", "calls", "cpu_ns", "line_hits", "line_ns"};
    ThreadId th;
    Err err;
    Profile *p;
    if (kind == PROFILE_SAMPLED) {
        p = new_profile(&th, "<th>\"\x1b");
    } else {
        p = profile_new(kind, &err);
        const char *const *names = kind == PROFILE_MEMORY ? memory : trace;
        size_t n = kind == PROFILE_MEMORY ? ARRAY_LEN(memory) : ARRAY_LEN(trace);
        ProcId proc;
        SeriesId ser;
        for (size_t i = 0; i < n; i++)
            CHECK(profile_series(p, names[i], strstr(names[i], "bytes") ? "bytes" : "ns", &ser,
                                 &err) == 0);
        CHECK(profile_process(p, 7, 0, NULL, &proc, &err) == 0);
        CHECK(profile_thread(p, proc, 7, "<th>\"\x1b", &th, &err) == 0);
        CHECK(profile_meta_set(p, kind == PROFILE_MEMORY ? "mem.mode" : "tracer",
                               "</script><script>window.__ferretInjected=true</script>",
                               &err) == 0);
    }
    CHECK(profile_meta_set(p, "command", "python3 \"<b>\"\x1b.py", &err) == 0);
    int64_t t = 0;
    for (size_t i = 0; i < 7; i++) {
        frames[i] = frame(p, hostile[i], hostile[(i + 3) % 7], 5, 4);
        if (kind == PROFILE_SAMPLED) {
            add(p, th, frames, i + 1, 3, &t);
            continue;
        }
        StackId st, line_st;
        FrameId at_line[7];
        memcpy(at_line, frames, (i + 1) * sizeof *frames);
        at_line[i] = frame(p, hostile[i], hostile[(i + 3) % 7], 6, 4);
        CHECK(profile_stack_path(p, frames, i + 1, &st, &err) == 0);
        CHECK(profile_stack_path(p, at_line, i + 1, &line_st, &err) == 0);
        for (SeriesId s = 0; s < profile_nseries(p); s++) {
            const char *name = profile_series_name(p, s);
            bool gauge = strcmp(name, "heap_bytes") == 0 || strcmp(name, "rss_bytes") == 0;
            bool line = strncmp(name, "line_", 5) == 0;
            ProfSample smp = {.t_ns = (int64_t)i * 1000, .stack = gauge ? PROFILE_ROOT : line ? line_st : st,
                              .thread = th, .series = s, .weight = 3 + (int64_t)i};
            CHECK(profile_add_sample(p, &smp, &err) == 0);
        }
    }
    return p;
}

/* Every format, with names that try to break out of JSON strings, markup and terminals, in
 * a sampled, a memory and a trace profile (each kind has writers of its own). */
static void
test_hostile_names(void)
{
    static const ProfileKind kinds[] = {PROFILE_SAMPLED, PROFILE_MEMORY, PROFILE_TRACE};
    for (size_t ki = 0; ki < ARRAY_LEN(kinds); ki++) {
        FrameId frames[7];
        Profile *p = hostile_profile(kinds[ki], frames);
        check_hostile(p, kinds[ki], frames[3]);
        profile_free(p);
    }
}

/* A Chrome trace places each call in time. A memory profile (totals per stack, and the
 * heap's size over time) and a trace recorded without --timeline (totals per call path) have
 * no such times: their spans were all written at one instant, nearly all of zero duration.
 * They are refused with one line saying what to do instead, by the writer and before
 * report_write_path makes any file; a trace with the tracer's "spans" series is written. */
static void
test_chrome_needs_a_timeline(void)
{
    static const struct {
        ProfileKind kind;
        bool spans;
        const char *says; /* NULL: written */
    } cases[] = {
        {PROFILE_SAMPLED, false, NULL},
        {PROFILE_MEMORY, false,
         "a memory profile has no call timeline for a Chrome trace: use -f html (its timeline "
         "view plots the heap over time), json, speedscope or pprof"},
        {PROFILE_TRACE, false,
         "this trace has no timeline for a Chrome trace: record it with `ferret trace "
         "--timeline`, or use -f json, speedscope, pprof or html"},
        {PROFILE_TRACE, true, NULL},
    };
    const ReportWriter *w = report_find("chrome");
    char dir[] = "/tmp/ferret-test-reports-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], tmp[80];
    snprintf(path, sizeof path, "%s/out.trace.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        FrameId frames[7];
        Profile *p = hostile_profile(cases[i].kind, frames);
        Err err = {0};
        if (cases[i].spans) {
            SeriesId spans;
            StackId st;
            CHECK(profile_series(p, "spans", "ns", &spans, &err) == 0);
            CHECK(profile_stack_path(p, frames, 2, &st, &err) == 0);
            ProfSample s = {.t_ns = 5000, .stack = st, .thread = 0, .series = spans, .weight = 700};
            CHECK(profile_add_sample(p, &s, &err) == 0);
        }
        ReportOptions opt;
        report_options_init(&opt, p);
        if (!cases[i].says) {
            size_t len;
            char *out = render(p, w, &len);
            CHECK(out && count(out, len, "\"ph\":\"X\"") > 0);
            if (cases[i].spans) /* the span itself: 5 us, 0.7 us long */
                CHECK(out && count(out, len, "\"ts\":5.000,\"dur\":0.700") == 1);
            free(out);
            CHECK(report_write_path(w, p, &opt, path, &err) == 0 && access(path, F_OK) == 0);
            unlink(path);
        } else {
            CHECK(render_status(p, w, &err) < 0 && err.kind == ERR_USAGE);
            CHECK_EQ_STR(err.msg, cases[i].says);
            CHECK(report_write_path(w, p, &opt, path, &err) < 0 && err.kind == ERR_USAGE);
            CHECK_EQ_STR(err.msg, cases[i].says); /* one line: no "writing ... to PATH" */
            CHECK(access(path, F_OK) != 0 && access(tmp, F_OK) != 0);
        }
        profile_free(p);
    }
    rmdir(dir);
}

static void
test_diff_reference(void)
{
    /* counts from tests/data/diff_reference.py */
    static const int counts[3][2] = {{120, 210}, {80, 70}, {40, 52}};
    static const char *const fn[3] = {"A", "B", "C"};
    static const int n[2] = {400, 500};
    Profile *side[2];
    for (int s = 0; s < 2; s++) {
        ThreadId th;
        side[s] = new_profile(&th, "MainThread");
        FrameId main_f = frame(side[s], "main", "app.py", 1, 1);
        int64_t t = 0, used = 0;
        for (int i = 0; i < 3; i++) {
            FrameId path[] = {main_f, frame(side[s], fn[i], "app.py", 10 + i, 10 + i)};
            add(side[s], th, path, 2, counts[i][s], &t);
            used += counts[i][s];
        }
        add(side[s], th, &main_f, 1, (int)(n[s] - used), &t);
    }
    ReportOptions bo, no;
    report_options_init(&bo, side[0]);
    report_options_init(&no, side[1]);
    no.top = 10;
    Diff d;
    Err err;
    CHECK(diff_build(side[0], &bo, side[1], &no, 0.05, &d, &err) == 0);
    CHECK(d.tested);
    CHECK_EQ_INT(d.base_n, 400);
    CHECK_EQ_INT(d.new_n, 500);
    CHECK_EQ_SIZE(d.ntested, 4);
    static const double p_raw[3] = {0.00020552290242, 0.0163950718492, 0.84395867358};
    static const double p_holm[3] = {0.000822091609681, 0.0491852155476, 1};
    static const int change[3] = {1, -1, 0};
    for (size_t i = 0; i < d.n; i++) {
        const DiffFunc *f = &d.funcs[i];
        for (int k = 0; k < 3; k++) {
            if (f->name_len != 1 || f->name[0] != fn[k][0])
                continue;
            CHECK_NEAR(f->p_value, p_raw[k], 1e-9 + 1e-6 * p_raw[k]);
            CHECK_NEAR(f->p_adjusted, p_holm[k], 1e-9 + 1e-6 * p_holm[k]);
            CHECK_EQ_INT(f->change, change[k]);
            CHECK_NEAR(f->design_effect, 1, 0);
            CHECK_NEAR(f->delta, (double)counts[k][1] / n[1] - (double)counts[k][0] / n[0], 1e-12);
        }
    }
    CHECK_EQ_SIZE(d.nsignificant, 2);
    /* significant rows first, A (+12 pp) before B (-6 pp) */
    CHECK(d.funcs[0].name[0] == 'A' && d.funcs[1].name[0] == 'B');
    char *data = NULL;
    size_t len;
    FILE *f = open_memstream(&data, &len);
    CHECK(diff_writer_find("text")->write(&d, &no, f, &err) == 0);
    fclose(f);
    CHECK(strstr(data, "   30.0%   42.0%   +12.0 pp") != NULL);
    CHECK(strstr(data, "2 functions changed beyond sampling noise") != NULL);
    free(data);
    diff_fini(&d);

    /* correlated samples: 32 runs of 200 samples, A in every other run (base) or in two more
     * runs (new). Per sample that is a 6-pp change at z ~ 7; per run it is noise. Blocks of
     * 200 samples see shares of 0 or 1, so the design effect is large and nothing changes. */
    for (int s = 0; s < 2; s++)
        profile_free(side[s]);
    for (int s = 0; s < 2; s++) {
        ThreadId th;
        side[s] = new_profile(&th, "MainThread");
        FrameId main_f = frame(side[s], "main", "app.py", 1, 1);
        FrameId path[] = {main_f, frame(side[s], "A", "app.py", 10, 10)};
        int64_t t = 0;
        for (int run = 0; run < 32; run++) {
            bool has_a = run % 2 == 1 || (s == 1 && run % 16 == 0);
            add(side[s], th, path, has_a ? 2 : 1, 200, &t);
        }
    }
    report_options_init(&bo, side[0]);
    report_options_init(&no, side[1]);
    CHECK(diff_build(side[0], &bo, side[1], &no, 0.05, &d, &err) == 0);
    int seen = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (d.funcs[i].name[0] != 'A')
            continue;
        seen++;
        CHECK_NEAR(d.funcs[i].delta, 0.0625, 1e-12);
        CHECK(d.funcs[i].design_effect > 10);
        /* scipy's Student t with Welch-Satterthwaite df (tests/data/diff_reference.py) */
        CHECK_NEAR(d.funcs[i].z, 0.494059195025, 1e-9);
        CHECK_NEAR(d.funcs[i].p_value, 0.623010396647, 1e-9);
        CHECK_EQ_INT(d.funcs[i].change, 0);
    }
    CHECK_EQ_INT(seen, 1);
    diff_fini(&d);
    for (int s = 0; s < 2; s++)
        profile_free(side[s]);
}

static void
test_default_path(void)
{
    Err err;
    char *p = report_default_path("runs/app.ferret", report_find("html"), &err);
    CHECK_EQ_STR(p, "runs/app.html");
    free(p);
    p = report_default_path("app", report_find("pprof"), &err);
    CHECK_EQ_STR(p, "app.pb.gz");
    free(p);
    p = report_default_path(NULL, report_find("html"), &err);
    CHECK(p && strncmp(p, "ferret-", 7) == 0 && strstr(p, ".html") != NULL);
    free(p);
}

int
main(void)
{
    test_pprof_bytes();
    test_pprof_memory_gauges();
    test_call_tree();
    test_merged_samples_in_time();
    test_chrome_twins_parent_first();
    test_json_empty_stack();
    test_pstats_keys();
    test_hostile_names();
    test_chrome_needs_a_timeline();
    test_diff_reference();
    test_default_path();
    return check_report();
}
