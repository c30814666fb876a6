/* SPDX-License-Identifier: MIT */
/* chrome.c: Chrome trace event JSON ("JSON Object Format" of the Trace Event Format, which
 * chrome://tracing and Perfetto open): one track per thread (metadata events name processes
 * and threads), complete ("X") events with microsecond times.
 *
 * Sampled series: consecutive samples of a thread that share a prefix of their stacks merge
 * into one span per function, open from the first sample to the sample after the last (or
 * one interval after it, when the thread's next sample is more than two intervals later).
 * A sample of weight w stands for the w intervals that end at its time (a late moment, or a
 * run of identical samples the sampler merged), so it begins w - 1 intervals earlier.
 * The tracer's "spans" series (unit ns, see profile.h users) is a timeline already: each
 * sample is a complete span [t_ns, t_ns + weight) of its stack's leaf function; when a
 * profile has it, those spans are written directly instead. Names go through esc_json. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/summary.h"
#include "report/report.h"
#include "util/escape.h"

typedef struct {
    uint32_t *funcs; /* open path, root first: function numbers */
    int64_t *start;  /* when each opened */
    size_t depth, cap;
    int64_t last_t;  /* time of the thread's previous sample */
    StackId last_stack; /* and its stack: an unchanged stack needs no walk */
    bool seen;
} Track;

typedef struct {
    const Profile *p;
    const Summary *sum;
    Buf b;
    FILE *out;
    Err *err;
    bool failed;
    size_t nevents;
    /* per function, its event tail `,"name":...,"args":{...}}` rendered once, in `tails` */
    Buf tails;
    uint32_t *tail_off; /* offset + 1; 0: not rendered yet */
    uint32_t *tail_len;
    /* per thread, its event head `{"ph":"X","pid":P,"tid":T,"ts":` */
    Buf heads;
    uint32_t *head_off;
    uint32_t *head_len;
} Ctx;

static void
put_u64(Buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_append(b, tmp + i, sizeof tmp - i);
}

static void
put_us(Buf *b, int64_t ns)
{
    /* microseconds with three decimals, exact */
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0)
        buf_putc(b, '-');
    put_u64(b, a / 1000);
    char frac[4] = {'.', (char)('0' + a % 1000 / 100), (char)('0' + a % 100 / 10),
                    (char)('0' + a % 10)};
    buf_append(b, frac, sizeof frac);
}

static int
drain(Ctx *c, bool force)
{
    if (c->failed)
        return -1;
    if (!force && c->b.len < (1u << 20))
        return 0;
    if (buf_failed(&c->b) || buf_failed(&c->tails) || buf_failed(&c->heads)) {
        c->failed = true;
        return err_set(c->err, ERR_NOMEM, "out of memory writing the Chrome trace");
    }
    if (fwrite(c->b.data, 1, c->b.len, c->out) != c->b.len) {
        c->failed = true;
        return err_sys(c->err, errno, "writing the Chrome trace");
    }
    buf_reset(&c->b);
    return 0;
}

static void
event(Ctx *c, uint32_t func, ThreadId thread, int64_t start, int64_t dur)
{
    const Profile *p = c->p;
    if (!c->head_off[thread]) {
        const ProfThread *th = profile_thread_at(p, thread);
        size_t at = c->heads.len;
        buf_printf(&c->heads, "{\"ph\":\"X\",\"pid\":%d,\"tid\":%" PRIu64 ",\"ts\":",
                   (int)profile_proc_at(p, th->proc)->pid, th->tid);
        c->head_off[thread] = (uint32_t)at + 1;
        c->head_len[thread] = (uint32_t)(c->heads.len - at);
    }
    if (!c->tail_off[func]) {
        const FuncStat *fs = &c->sum->funcs[func];
        size_t at = c->tails.len;
        buf_puts(&c->tails, ",\"name\":\"");
        esc_json(&c->tails, profile_strp(p, fs->name), profile_strlen(p, fs->name));
        buf_printf(&c->tails, "\",\"cat\":\"%s\"", fs->kind == FRAME_PY ? "python" : "native");
        if (fs->file != PROFILE_EMPTY) {
            buf_puts(&c->tails, ",\"args\":{\"file\":\"");
            esc_json(&c->tails, profile_strp(p, fs->file), profile_strlen(p, fs->file));
            buf_printf(&c->tails, "\",\"line\":%d}", (int)fs->fn_line);
        }
        buf_puts(&c->tails, "}");
        c->tail_off[func] = (uint32_t)at + 1;
        c->tail_len[func] = (uint32_t)(c->tails.len - at);
    }
    if (buf_failed(&c->heads) || buf_failed(&c->tails)) {
        c->b.failed = true;
        return;
    }
    if (c->nevents++)
        buf_append(&c->b, ",\n", 2);
    buf_append(&c->b, c->heads.data + c->head_off[thread] - 1, c->head_len[thread]);
    put_us(&c->b, start);
    buf_append(&c->b, ",\"dur\":", 7);
    put_us(&c->b, dur < 0 ? 0 : dur);
    buf_append(&c->b, c->tails.data + c->tail_off[func] - 1, c->tail_len[func]);
    drain(c, false);
}

/* ns rounded to the nearest whole microsecond (|ns| <= 2^62: FFILE_MAX_TIME_NS and weights). */
static int64_t
whole_us(int64_t ns)
{
    int64_t q = ns / 1000, r = ns % 1000;
    return (q + (r >= 500) - (r < -500)) * 1000;
}

/* Closes the track's open functions from depth `keep` on, at time `end`, outermost first:
 * a function and its callee opened by the same sample get the same ts and dur, and readers
 * nest such twins in the order of the file (speedscope's importer sorts stably by ts, then
 * longest first: the first of two twins becomes the parent). The spans start and end on
 * whole microseconds: readers take an event's end as ts + dur in floating point, exact only
 * for whole numbers; with decimals the callee of a function that ends at the same sample
 * could end 1 ulp after it and be read as its parent. (Samples are 100 us or more apart.) */
static void
close_to(Ctx *c, Track *tr, ThreadId th, size_t keep, int64_t end)
{
    for (size_t d = keep; d < tr->depth; d++)
        event(c, tr->funcs[d], th, whole_us(tr->start[d]), whole_us(end) - whole_us(tr->start[d]));
    if (tr->depth > keep)
        tr->depth = keep;
}

static void
metadata(Ctx *c)
{
    const Profile *p = c->p;
    for (ProcId i = 0; i < profile_nprocs(p); i++) {
        const ProfProcess *pr = profile_proc_at(p, i);
        buf_printf(&c->b, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":\"",
                   c->nevents++ ? ",\n" : "", (int)pr->pid);
        if (pr->command != PROFILE_EMPTY)
            esc_json(&c->b, profile_strp(p, pr->command), profile_strlen(p, pr->command));
        else
            buf_printf(&c->b, "pid %d", (int)pr->pid);
        buf_puts(&c->b, "\"}}");
    }
    for (ThreadId i = 0; i < profile_nthreads(p); i++) {
        const ProfThread *th = profile_thread_at(p, i);
        buf_printf(&c->b,
                   ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%" PRIu64
                   ",\"args\":{\"name\":\"",
                   (int)profile_proc_at(p, th->proc)->pid, th->tid);
        if (th->name != PROFILE_EMPTY)
            esc_json(&c->b, profile_strp(p, th->name), profile_strlen(p, th->name));
        else
            buf_printf(&c->b, "tid %" PRIu64, th->tid);
        buf_puts(&c->b, "\"}}");
        drain(c, false);
    }
}

/* A Chrome trace places each call in time: a memory profile has no such times (its samples
 * are totals per stack, its timeline the heap's size), nor has a trace recorded without its
 * timeline (only totals per call path). Written anyway, all their spans began at one instant. */
static int
chrome_check(ProfileKind kind, bool timeline, Err *err)
{
    if (kind == PROFILE_MEMORY)
        return err_set(err, ERR_USAGE,
                       "a memory profile has no call timeline for a Chrome trace: use -f html "
                       "(its timeline view plots the heap over time), json, speedscope or pprof");
    if (!timeline)
        return err_set(err, ERR_USAGE,
                       "this trace has no timeline for a Chrome trace: record it with `ferret "
                       "trace --timeline`, or use -f json, speedscope, pprof or html");
    return 0;
}

static int
chrome_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    if (report_check(&report_chrome, p, err) < 0)
        return -1;
    size_t ns = profile_nstacks(p), nt = profile_nthreads(p);
    Summary sum = {0};
    Ctx c = {.p = p, .sum = &sum, .out = out, .err = err};
    buf_init(&c.b);
    buf_init(&c.tails);
    buf_init(&c.heads);
    int64_t *zero = calloc(ns, sizeof *zero);
    Track *tracks = calloc(nt + 1, sizeof *tracks);
    FrameId *frames = malloc(PROFILE_MAX_DEPTH * sizeof *frames);
    c.head_off = calloc(nt + 1, sizeof *c.head_off);
    c.head_len = calloc(nt + 1, sizeof *c.head_len);
    int rc = -1;
    if (!zero || !tracks || !frames || !c.head_off || !c.head_len) {
        err_set(err, ERR_NOMEM, "out of memory writing the Chrome trace");
        goto done;
    }
    if (summary_build_from_self(p, zero, &sum, err) < 0)
        goto done;
    c.tail_off = calloc(sum.nfuncs + 1, sizeof *c.tail_off);
    c.tail_len = calloc(sum.nfuncs + 1, sizeof *c.tail_len);
    if (!c.tail_off || !c.tail_len) {
        err_set(err, ERR_NOMEM, "out of memory writing the Chrome trace");
        goto done;
    }
    SeriesId spans;
    bool has_spans = profile_series_find(p, "spans", &spans);
    ProfFilter f;
    report_filter(opt, &f);
    if (has_spans) {
        f.series = spans;
        f.flags_mask = f.flags_want = 0;
    }
    int64_t gap = profile_info_c(p)->interval_ns > 0 ? profile_info_c(p)->interval_ns : 0;

    buf_puts(&c.b, "{\"displayTimeUnit\":\"ms\",\"otherData\":{");
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        buf_puts(&c.b, i ? ",\"" : "\"");
        esc_json(&c.b, k, strlen(k));
        buf_puts(&c.b, "\":\"");
        esc_json(&c.b, v, strlen(v));
        buf_putc(&c.b, '"');
    }
    buf_puts(&c.b, "},\"traceEvents\":[\n");
    metadata(&c);
    for (size_t i = 0; i < profile_nsamples(p) && !c.failed; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (!profile_filter_match(&f, &s))
            continue;
        ThreadId th = s.thread;
        if (has_spans) {
            if (s.stack != PROFILE_ROOT)
                event(&c, sum.func_of_frame[profile_stack_at(p, s.stack)->frame], th, s.t_ns,
                      s.weight);
            continue;
        }
        Track *tr = &tracks[s.thread];
        int64_t begin = profile_sample_begin(p, &s);
        if (tr->seen && begin < tr->last_t)
            begin = tr->last_t;
        bool reopen = false;
        if (tr->seen && gap > 0 && begin - tr->last_t > 2 * gap) {
            close_to(&c, tr, th, 0, tr->last_t + gap); /* the thread was not seen meanwhile */
            reopen = true;
        }
        if (tr->seen && !reopen && s.stack == tr->last_stack) { /* the spans go on */
            tr->last_t = s.t_ns;
            continue;
        }
        size_t depth = profile_stack_frames(p, s.stack, frames, PROFILE_MAX_DEPTH);
        if (depth > PROFILE_MAX_DEPTH)
            depth = PROFILE_MAX_DEPTH;
        if (depth > tr->cap) {
            uint32_t *fu = realloc(tr->funcs, depth * sizeof *fu);
            if (fu)
                tr->funcs = fu;
            int64_t *st = fu ? realloc(tr->start, depth * sizeof *st) : NULL;
            if (!st) {
                err_set(err, ERR_NOMEM, "out of memory writing the Chrome trace");
                goto done;
            }
            tr->start = st;
            tr->cap = depth;
        }
        size_t keep = 0;
        while (keep < depth && keep < tr->depth && tr->funcs[keep] == sum.func_of_frame[frames[keep]])
            keep++;
        close_to(&c, tr, th, keep, begin);
        for (size_t k = keep; k < depth; k++) {
            tr->funcs[k] = sum.func_of_frame[frames[k]];
            tr->start[k] = begin;
        }
        tr->depth = depth;
        tr->last_t = s.t_ns;
        tr->last_stack = s.stack;
        tr->seen = true;
    }
    for (ThreadId t = 0; t < nt && !has_spans; t++)
        if (tracks[t].seen)
            close_to(&c, &tracks[t], t, 0, tracks[t].last_t + (gap ? gap : 1));
    buf_puts(&c.b, "\n]}\n");
    rc = drain(&c, true);
done:
    for (size_t t = 0; tracks && t < nt; t++) {
        free(tracks[t].funcs);
        free(tracks[t].start);
    }
    summary_fini(&sum);
    buf_fini(&c.b);
    buf_fini(&c.tails);
    buf_fini(&c.heads);
    free(c.tail_off);
    free(c.tail_len);
    free(c.head_off);
    free(c.head_len);
    free(zero);
    free(tracks);
    free(frames);
    return rc;
}

const ReportWriter report_chrome = {
    .name = "chrome",
    .extension = ".trace.json",
    .binary = false,
    .write = chrome_write,
    .check = chrome_check,
};
