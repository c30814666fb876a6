/* SPDX-License-Identifier: MIT */
/* json.c: a profile as one JSON document for scripts (schema: docs/MEM.md, "JSON").
 * The selected series (a memory view, or the samples of a sampled profile) as frames,
 * stacks (largest first), functions and lines; memory profiles add their header numbers,
 * per-stack counts and the timeline. Names are untrusted and escaped (esc_json). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/summary.h"
#include "report/memview.h"
#include "report/report.h"
#include "util/escape.h"

#define JSON_VERSION 1

static void
str(Buf *b, const char *s)
{
    buf_putc(b, '"');
    esc_json(b, s, strlen(s));
    buf_putc(b, '"');
}

static void
pstr(Buf *b, const Profile *p, StrId id)
{
    buf_putc(b, '"');
    esc_json(b, profile_strp(p, id), profile_strlen(p, id));
    buf_putc(b, '"');
}

static const char *
kind_name(uint8_t k)
{
    static const char *const names[] = {"python", "native", "thread", "process", "marker"};
    return k < FRAME_KIND_COUNT ? names[k] : "unknown";
}

typedef struct {
    StackId stack;
    int64_t value, count;
} Row;

static int
cmp_rows(const void *a, const void *b)
{
    const Row *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return (x->stack > y->stack) - (x->stack < y->stack);
}

static void
write_meta(Buf *b, const Profile *p)
{
    buf_puts(b, "\"meta\":{");
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        if (i)
            buf_putc(b, ',');
        str(b, k);
        buf_putc(b, ':');
        str(b, v);
    }
    buf_putc(b, '}');
}

static void
write_memory(Buf *b, const Profile *p, MemView v, int64_t total_b, int64_t total_n)
{
    const char *mode = profile_meta_get(p, "mem.mode");
    const char *end = profile_meta_get(p, "mem.end");
    buf_printf(b, ",\"view\":\"%s\",\"memory\":{\"mode\":", memview_name(v));
    str(b, mode ? mode : "");
    buf_printf(b,
               ",\"sample_bytes\":%" PRId64 ",\"peak_heap_bytes\":%" PRId64
               ",\"peak_t_s\":%.6f,\"peak_attributed_bytes\":%" PRId64 ",\"end\":",
               memview_meta_i(p, "mem.sample_bytes"), memview_meta_i(p, "mem.peak_heap_bytes"),
               (double)memview_meta_i(p, "mem.peak_t_ns") / 1e9,
               memview_meta_i(p, "mem.peak_attributed_bytes"));
    str(b, end ? end : "none");
    buf_printf(b, ",\"exit_heap_bytes\":%" PRId64 ",\"total_bytes\":%" PRId64
                  ",\"total_count\":%" PRId64 "}",
               memview_meta_i(p, "mem.exit_heap_bytes"), total_b, total_n);
}

static int
write_timeline(Buf *b, const Profile *p, Err *err)
{
    MemPoint *pts;
    size_t n;
    if (memview_timeline(p, &pts, &n, err) < 0)
        return -1;
    buf_puts(b, ",\"timeline\":[");
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s{\"t_s\":%.6f,\"heap_bytes\":%" PRId64 ",\"rss_bytes\":%" PRId64 "}",
                   i ? "," : "", (double)pts[i].t_ns / 1e9, pts[i].heap_bytes, pts[i].rss_bytes);
    buf_putc(b, ']');
    free(pts);
    return 0;
}

static int
write_lines(Buf *b, const Profile *p, SeriesId sb, SeriesId sc, bool memory, const Summary *s,
            Err *err)
{
    buf_puts(b, ",\"lines\":[");
    if (memory) {
        MemLine *lines;
        size_t n;
        if (memview_lines(p, sb, sc, &lines, &n, err) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            buf_puts(b, i ? ",{\"file\":" : "{\"file\":");
            if (lines[i].file == PROFILE_EMPTY)
                buf_puts(b, "null");
            else
                pstr(b, p, lines[i].file);
            buf_printf(b, ",\"line\":%d,\"function\":", (int)lines[i].line);
            pstr(b, p, lines[i].func);
            buf_printf(b, ",\"value\":%" PRId64 ",\"count\":%" PRId64 ",\"native\":%" PRId64 "}",
                       lines[i].bytes, lines[i].count, lines[i].native_bytes);
        }
        free(lines);
    } else {
        LineStat *copy = malloc((s->nlines ? s->nlines : 1) * sizeof *copy);
        if (!copy)
            return err_set(err, ERR_NOMEM, "out of memory writing JSON");
        memcpy(copy, s->lines, s->nlines * sizeof *copy);
        summary_sort_lines(copy, s->nlines, false);
        bool first = true;
        for (size_t i = 0; i < s->nlines; i++) {
            if (copy[i].self <= 0 || copy[i].file == PROFILE_EMPTY)
                continue;
            buf_puts(b, first ? "{\"file\":" : ",{\"file\":");
            first = false;
            pstr(b, p, copy[i].file);
            buf_printf(b, ",\"line\":%d,\"function\":", (int)copy[i].line);
            pstr(b, p, copy[i].name);
            buf_printf(b, ",\"value\":%" PRId64 "}", copy[i].self);
        }
        free(copy);
    }
    buf_putc(b, ']');
    return 0;
}

static int
json_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    const ProfileInfo *info = profile_info_c(p);
    bool memory = info->kind == PROFILE_MEMORY;
    MemView v = MEMVIEW_PEAK;
    /* a memory view has bytes (value) and counts (count) per stack; "series" and "total"
     * name and sum the one asked for, which may be the count (leaked_count) */
    SeriesId sb = opt->series, sc = opt->series, shown = opt->series;
    if (memory) {
        if (!memview_of_series(p, opt->series, &v))
            v = MEMVIEW_PEAK;
        if (memview_series(p, v, &sb, &sc, err) < 0)
            return -1;
        if (shown != sc)
            shown = sb;
    }
    bool stacks_view = !(memory && v == MEMVIEW_TIMELINE);
    size_t ns = profile_nstacks(p);
    int64_t *wb = calloc(ns, sizeof *wb), *wc = calloc(ns, sizeof *wc);
    Row *rows = malloc(ns * sizeof *rows);
    FrameId *frames = malloc(PROFILE_MAX_DEPTH * sizeof *frames);
    Buf b;
    buf_init(&b);
    Summary s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    if (!wb || !wc || !rows || !frames) {
        err_set(err, ERR_NOMEM, "out of memory writing JSON");
        goto done;
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = sb;
    f.flags_mask = opt->flags_mask;
    f.flags_want = opt->flags_want;
    int64_t total_b = stacks_view && profile_nseries(p) ? profile_self_weights(p, &f, wb) : 0;
    int64_t total_n = 0;
    if (memory && stacks_view) {
        f.series = sc;
        total_n = profile_self_weights(p, &f, wc);
        f.series = sb;
    }
    const char *kinds[] = {"sampled", "memory", "trace"};
    buf_printf(&b, "{\"format\":\"ferret-json\",\"version\":%d,\"kind\":\"%s\",", JSON_VERSION,
               info->kind <= PROFILE_TRACE ? kinds[info->kind] : "unknown");
    buf_printf(&b, "\"start_unix_ns\":%" PRId64 ",\"duration_s\":%.6f,", info->start_unix_ns,
               (double)info->duration_ns / 1e9);
    write_meta(&b, p);
    buf_puts(&b, ",\"series\":{\"name\":");
    str(&b, profile_nseries(p) ? profile_series_name(p, shown) : "");
    buf_puts(&b, ",\"unit\":");
    str(&b, profile_nseries(p) ? profile_series_unit(p, shown) : "");
    buf_printf(&b, "},\"total\":%" PRId64, memory && shown == sc ? total_n : total_b);
    if (memory)
        write_memory(&b, p, v, total_b, total_n);
    /* frames: all of them, so stack entries can index the array directly */
    buf_puts(&b, ",\"frames\":[");
    for (size_t i = 0; i < profile_nframes(p); i++) {
        const ProfFrame *fr = profile_frame_at(p, (FrameId)i);
        buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        pstr(&b, p, fr->name);
        buf_puts(&b, ",\"file\":");
        if (fr->file == PROFILE_EMPTY)
            buf_puts(&b, "null");
        else
            pstr(&b, p, fr->file);
        buf_printf(&b, ",\"line\":%d,\"function_line\":%d,\"kind\":\"%s\"}", (int)fr->line,
                   (int)fr->fn_line, kind_name(fr->kind));
    }
    buf_puts(&b, "],\"stacks\":[");
    size_t nr = 0; /* (the empty stack too: samples with no Python frame, in the total) */
    for (StackId sid = PROFILE_ROOT; stacks_view && sid < ns; sid++)
        if (wb[sid] > 0 || wc[sid] > 0)
            rows[nr++] = (Row){sid, wb[sid], wc[sid]};
    qsort(rows, nr, sizeof *rows, cmp_rows);
    for (size_t i = 0; i < nr; i++) {
        size_t depth = profile_stack_frames(p, rows[i].stack, frames, PROFILE_MAX_DEPTH);
        if (depth > PROFILE_MAX_DEPTH)
            depth = PROFILE_MAX_DEPTH;
        buf_puts(&b, i ? ",{\"frames\":[" : "{\"frames\":[");
        for (size_t k = 0; k < depth; k++)
            buf_printf(&b, "%s%u", k ? "," : "", (unsigned)frames[k]);
        buf_printf(&b, "],\"value\":%" PRId64, rows[i].value);
        if (memory)
            buf_printf(&b, ",\"count\":%" PRId64, rows[i].count);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "],\"functions\":[");
    if (stacks_view && profile_nseries(p)) {
        if (summary_build_from_self(p, wb, &s, err) < 0)
            goto done;
        FuncStat *copy = malloc((s.nfuncs ? s.nfuncs : 1) * sizeof *copy);
        if (!copy) {
            err_set(err, ERR_NOMEM, "out of memory writing JSON");
            goto done;
        }
        memcpy(copy, s.funcs, s.nfuncs * sizeof *copy);
        summary_sort_funcs(p, copy, s.nfuncs, true);
        for (size_t i = 0; i < s.nfuncs; i++) {
            buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            pstr(&b, p, copy[i].name);
            buf_puts(&b, ",\"file\":");
            if (copy[i].file == PROFILE_EMPTY)
                buf_puts(&b, "null");
            else
                pstr(&b, p, copy[i].file);
            buf_printf(&b,
                       ",\"line\":%d,\"kind\":\"%s\",\"self\":%" PRId64 ",\"total\":%" PRId64 "}",
                       (int)copy[i].fn_line, kind_name(copy[i].kind), copy[i].self,
                       copy[i].total);
        }
        free(copy);
    }
    buf_putc(&b, ']');
    if (stacks_view && profile_nseries(p) && write_lines(&b, p, sb, sc, memory, &s, err) < 0)
        goto done;
    if (!stacks_view || !profile_nseries(p))
        buf_puts(&b, ",\"lines\":[]");
    if (memory && write_timeline(&b, p, err) < 0)
        goto done;
    buf_puts(&b, "}\n");
    if (buf_failed(&b)) {
        err_set(err, ERR_NOMEM, "out of memory writing JSON");
        goto done;
    }
    if (fwrite(b.data, 1, b.len, out) != b.len) {
        err_sys(err, errno, "writing JSON");
        goto done;
    }
    rc = 0;
done:
    summary_fini(&s);
    buf_fini(&b);
    free(wb);
    free(wc);
    free(rows);
    free(frames);
    return rc;
}

const ReportWriter report_json = {
    .name = "json",
    .extension = ".json",
    .binary = false,
    .write = json_write,
};
