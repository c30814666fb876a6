/* SPDX-License-Identifier: MIT */
/* speedscope.c: speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * shared frames (one per function: name, file, first line) and one "sampled" profile per
 * thread with the thread's samples in time order, root-first frame indices. Consecutive
 * samples of a thread with the same stack are merged (their weights add), which keeps
 * speedscope's time-order view and shrinks the file. Weights are nanoseconds for sampled
 * profiles, otherwise the series' unit. Names go through esc_json. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/summary.h"
#include "report/report.h"
#include "util/satmath.h"
#include "util/escape.h"

typedef struct {
    const Profile *p;
    const Summary *sum;
    Buf stack_json;    /* "[1,2,3]" of every stack rendered so far, back to back */
    uint32_t *off;     /* per stack: offset into stack_json + 1 (0: not rendered yet) */
    uint32_t *len;
    FrameId *frames;   /* scratch, PROFILE_MAX_DEPTH */
} Ctx;

static void
put_stack(Ctx *c, Buf *b, StackId s)
{
    if (!c->off[s]) {
        size_t start = c->stack_json.len;
        size_t depth = profile_stack_frames(c->p, s, c->frames, PROFILE_MAX_DEPTH);
        if (depth > PROFILE_MAX_DEPTH)
            depth = PROFILE_MAX_DEPTH;
        buf_putc(&c->stack_json, '[');
        for (size_t i = 0; i < depth; i++)
            buf_printf(&c->stack_json, i ? ",%u" : "%u", c->sum->func_of_frame[c->frames[i]]);
        buf_putc(&c->stack_json, ']');
        c->off[s] = (uint32_t)start + 1;
        c->len[s] = (uint32_t)(c->stack_json.len - start);
    }
    if (!buf_failed(&c->stack_json))
        buf_append(b, c->stack_json.data + c->off[s] - 1, c->len[s]);
}

/* The run of samples from by_thread[*j] on with the same stack: sets *stack, advances *j
 * past the run and returns the run's summed weight. */
static int64_t
next_run(const Profile *p, const uint32_t *by_thread, uint32_t *j, uint32_t end, StackId *stack)
{
    ProfSample s;
    profile_sample_at(p, by_thread[*j], &s);
    *stack = s.stack;
    int64_t w = 0;
    while (*j < end) {
        profile_sample_at(p, by_thread[*j], &s);
        if (s.stack != *stack)
            break;
        w += s.weight;
        (*j)++;
    }
    return w;
}

static int
flush_out(Buf *b, FILE *out, Err *err)
{
    if (buf_failed(b))
        return err_set(err, ERR_NOMEM, "out of memory writing the speedscope file");
    if (fwrite(b->data, 1, b->len, out) != b->len)
        return err_sys(err, errno, "writing the speedscope file");
    buf_reset(b);
    return 0;
}

static int
speedscope_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    size_t ns = profile_nstacks(p), nt = profile_nthreads(p), nsamp = profile_nsamples(p);
    Summary sum = {0};
    Ctx c = {.p = p, .sum = &sum};
    Buf b;
    buf_init(&b);
    buf_init(&c.stack_json);
    int64_t *zero = calloc(ns, sizeof *zero);
    c.off = calloc(ns, sizeof *c.off);
    c.len = calloc(ns, sizeof *c.len);
    c.frames = malloc(PROFILE_MAX_DEPTH * sizeof *c.frames);
    uint32_t *first = calloc(nt + 1, sizeof *first); /* samples grouped by thread */
    uint32_t *by_thread = malloc((nsamp ? nsamp : 1) * sizeof *by_thread);
    int rc = -1;
    if (!zero || !c.off || !c.len || !c.frames || !first || !by_thread) {
        err_set(err, ERR_NOMEM, "out of memory writing the speedscope file");
        goto done;
    }
    if (summary_build_from_self(p, zero, &sum, err) < 0)
        goto done;
    ProfFilter f;
    report_filter(opt, &f);
    for (size_t i = 0; i < nsamp; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (profile_filter_match(&f, &s))
            first[s.thread + 1]++;
    }
    for (size_t t = 0; t < nt; t++)
        first[t + 1] += first[t];
    for (size_t i = 0, fill; i < nsamp; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (!profile_filter_match(&f, &s))
            continue;
        fill = first[s.thread]++;
        by_thread[fill] = (uint32_t)i;
    }
    for (size_t t = nt; t > 0; t--)
        first[t] = first[t - 1];
    first[0] = 0;

    const ProfileInfo *info = profile_info_c(p);
    const char *unit = profile_nseries(p) ? profile_series_unit(p, opt->series) : "samples";
    int64_t scale = 1;
    const char *ss_unit = "none";
    if (strcmp(unit, "samples") == 0 && info->interval_ns > 0) {
        scale = info->interval_ns;
        ss_unit = "nanoseconds";
    } else if (strcmp(unit, "ns") == 0) {
        ss_unit = "nanoseconds";
    } else if (strcmp(unit, "bytes") == 0) {
        ss_unit = "bytes";
    }

    buf_puts(&b, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
                 "\"exporter\":\"ferret\",\"name\":\"");
    const char *cmd = profile_meta_get(p, "command");
    const char *title = opt->title ? opt->title : cmd ? cmd : "ferret profile";
    esc_json(&b, title, strlen(title));
    buf_puts(&b, "\",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
    for (size_t i = 0; i < sum.nfuncs; i++) {
        const FuncStat *fs = &sum.funcs[i];
        buf_puts(&b, i ? ",{\"name\":\"" : "{\"name\":\"");
        esc_json(&b, profile_strp(p, fs->name), profile_strlen(p, fs->name));
        buf_putc(&b, '"');
        if (fs->file != PROFILE_EMPTY) {
            buf_puts(&b, ",\"file\":\"");
            esc_json(&b, profile_strp(p, fs->file), profile_strlen(p, fs->file));
            buf_putc(&b, '"');
            if (fs->fn_line > 0)
                buf_printf(&b, ",\"line\":%d", (int)fs->fn_line);
        }
        buf_putc(&b, '}');
        if (b.len > (1u << 20) && flush_out(&b, out, err) < 0)
            goto done;
    }
    buf_puts(&b, "]},\"profiles\":[");
    bool any = false;
    for (ThreadId t = 0; t < nt; t++) {
        if (first[t + 1] == first[t])
            continue;
        buf_puts(&b, any ? ",{\"type\":\"sampled\",\"name\":\"" : "{\"type\":\"sampled\",\"name\":\"");
        any = true;
        report_thread_json(&b, p, t);
        buf_printf(&b, "\",\"unit\":\"%s\",\"startValue\":0,\"samples\":[", ss_unit);
        /* two passes over the thread's runs: stacks, then weights (no big buffer) */
        int64_t total = 0;
        for (int pass = 0; pass < 2; pass++) {
            size_t k = 0;
            for (uint32_t j = first[t]; j < first[t + 1];) {
                StackId stack;
                int64_t w = sat_mul_i64(next_run(p, by_thread, &j, first[t + 1], &stack), scale);
                if (k++)
                    buf_putc(&b, ',');
                if (pass == 0) {
                    put_stack(&c, &b, stack);
                } else {
                    buf_printf(&b, "%" PRId64, w);
                    total += w;
                }
                if (b.len > (1u << 20) && flush_out(&b, out, err) < 0)
                    goto done;
            }
            buf_puts(&b, pass == 0 ? "],\"weights\":[" : "]");
        }
        buf_printf(&b, ",\"endValue\":%" PRId64 "}", total);
    }
    buf_puts(&b, "]}\n");
    if (buf_failed(&c.stack_json)) {
        err_set(err, ERR_NOMEM, "out of memory writing the speedscope file");
        goto done;
    }
    rc = flush_out(&b, out, err);
done:
    summary_fini(&sum);
    buf_fini(&b);
    buf_fini(&c.stack_json);
    free(zero);
    free(c.off);
    free(c.len);
    free(c.frames);
    free(first);
    free(by_thread);
    return rc;
}

const ReportWriter report_speedscope = {
    .name = "speedscope",
    .extension = ".speedscope.json",
    .binary = false,
    .write = speedscope_write,
};
