/* SPDX-License-Identifier: MIT */
/* memtext.c: the terminal report of a memory profile (report_text hands memory profiles
 * here). A header with the exact peak heap, how the run ended and how the numbers were
 * measured; then for peak, leaks and allocated: the top lines (file:line, bytes, count,
 * native share), the top functions (inclusive and self) and the largest stacks; for the
 * timeline: heap and resident memory over time as a table with bars. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/summary.h"
#include "report/frame_name.h"
#include "report/memtext.h"
#include "report/memview.h"
#include "util/escape.h"

typedef struct {
    const Profile *p;
    const ReportOptions *opt;
    Buf *b;
} Ctx;

static void
bytes(Buf *b, int64_t v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int i = 0;
    while ((x >= 1024 || x <= -1024) && i < 4) {
        x /= 1024;
        i++;
    }
    buf_printf(b, i ? "%.1f %s" : "%.0f %s", x, unit[i]);
}

/* Right-aligns what fill() appends to width columns. */
static void
rjust(Buf *b, size_t width, void (*fill)(Buf *, int64_t), int64_t v)
{
    Buf tmp;
    buf_init(&tmp);
    fill(&tmp, v);
    for (size_t i = tmp.len; i < width; i++)
        buf_putc(b, ' ');
    buf_append(b, tmp.data ? tmp.data : "", tmp.len);
    if (buf_failed(&tmp))
        b->failed = true;
    buf_fini(&tmp);
}

static void
count(Buf *b, int64_t v)
{
    /* thousands separated, so 1234567 reads as 1,234,567 */
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRId64, v < 0 ? -v : v);
    if (v < 0)
        buf_putc(b, '-');
    for (int i = 0; i < n; i++) {
        buf_putc(b, digits[i]);
        if ((n - i - 1) % 3 == 0 && i != n - 1)
            buf_putc(b, ',');
    }
}

static double
pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
heading(Ctx *c, const char *title, const char *what)
{
    if (c->opt->color)
        buf_printf(c->b, "\n\033[1m%s\033[0m (%s)\n", title, what);
    else
        buf_printf(c->b, "\n%s (%s)\n", title, what);
}

static void
seconds(Buf *b, int64_t ns)
{
    buf_printf(b, "%.2fs", (double)ns / 1e9);
}

static void
write_header(Ctx *c, MemView v, int64_t total_b, int64_t total_n)
{
    const Profile *p = c->p;
    Buf *b = c->b;
    int64_t peak = memview_meta_i(p, "mem.peak_heap_bytes");
    buf_puts(b, "ferret mem: peak heap ");
    bytes(b, peak);
    buf_puts(b, " at ");
    seconds(b, memview_meta_i(p, "mem.peak_t_ns"));
    buf_puts(b, " of ");
    seconds(b, profile_info_c(p)->duration_ns);
    const char *end = profile_meta_get(p, "mem.end");
    if (end && strcmp(end, "none") != 0) {
        buf_puts(b, "; heap at exit ");
        bytes(b, memview_meta_i(p, "mem.exit_heap_bytes"));
    }
    buf_puts(b, "\n  (heap: bytes the program holds from malloc and mmap, Python's arenas "
                "included, counted exactly)\n");
    const char *cmd = profile_meta_get(p, "command");
    if (cmd) {
        buf_puts(b, "command: ");
        esc_text(b, cmd, strlen(cmd), 0);
        buf_putc(b, '\n');
    }
    const char *py = profile_meta_get(p, "python_version");
    const char *mode = profile_meta_get(p, "mem.mode");
    bool exact = mode && strcmp(mode, "exact") == 0;
    if (py)
        buf_printf(b, "python: %s  ", py);
    if (exact) {
        buf_puts(b, "mode: exact (every allocation)");
    } else {
        buf_puts(b, "mode: sampled, one allocation per ");
        bytes(b, memview_meta_i(p, "mem.sample_bytes"));
        buf_puts(b, " on average (bytes and counts below are estimates)");
    }
    buf_putc(b, '\n');
    if (!end || strcmp(end, "none") == 0)
        buf_puts(b, "the recording did not end cleanly (crash or kill): leaks are what was "
                    "live at the last flush\n");
    else if (strcmp(end, "exec") == 0)
        buf_puts(b, "ended by exec (the program was replaced): leaks are what was live then\n");
    else if (strcmp(end, "atexit") != 0)
        buf_printf(b, "ended by %s(): leaks are what was live then (no interpreter clean-up)\n",
                   strcmp(end, "_exit") == 0 ? "_exit" : "exit");
    uint64_t dropped = (uint64_t)memview_meta_i(p, "mem.dropped");
    if (dropped) {
        const char *why = profile_meta_get(p, "mem.error");
        buf_printf(b, "dropped: %" PRIu64 " allocations were not attributed (", dropped);
        esc_text(b, why ? why : "unknown", strlen(why ? why : "unknown"), 0);
        buf_puts(b, ")\n");
    }
    if (v == MEMVIEW_TIMELINE)
        return;
    buf_printf(b, "%s: ", memview_what(v));
    bytes(b, total_b);
    buf_puts(b, " in ");
    count(b, total_n);
    buf_printf(b, " allocation%s", total_n == 1 ? "" : "s");
    if (v == MEMVIEW_PEAK) {
        buf_puts(b, " attributed to a stack");
        if (peak > 0)
            buf_printf(b, " (%.0f%% of the heap; the rest is allocator free space and memory "
                          "allocated before tracking)",
                       pct(total_b, peak));
    }
    buf_putc(b, '\n');
}

static void
write_lines(Ctx *c, MemView v, SeriesId sb, SeriesId sc, int64_t total, Err *err)
{
    MemLine *lines = NULL;
    size_t n = 0;
    if (memview_lines(c->p, sb, sc, &lines, &n, err) < 0) {
        c->b->failed = true;
        return;
    }
    Buf *b = c->b;
    heading(c, "Top lines", memview_what(v));
    buf_puts(b, "       bytes       %        count  line\n");
    for (size_t i = 0; i < n && (int)i < c->opt->top; i++) {
        MemLine *l = &lines[i];
        if (l->bytes <= 0 && l->count <= 0)
            break;
        rjust(b, 12, bytes, l->bytes);
        buf_printf(b, "  %5.1f%%  ", pct(l->bytes, total));
        rjust(b, 11, count, l->count);
        buf_puts(b, "  ");
        if (l->file != PROFILE_EMPTY) {
            frame_short_file(b, c->p, l->file, 3, 0);
            buf_printf(b, ":%d in ", (int)l->line);
        }
        esc_text(b, profile_strp(c->p, l->func), profile_strlen(c->p, l->func), 0);
        if (l->native_bytes > 0 && l->file != PROFILE_EMPTY) {
            buf_puts(b, " (native ");
            bytes(b, l->native_bytes);
            buf_putc(b, ')');
        }
        buf_putc(b, '\n');
    }
    free(lines);
}

static void
write_funcs(Ctx *c, MemView v, SeriesId sb, Err *err)
{
    ProfFilter f;
    profile_filter_init(&f);
    f.series = sb;
    Summary s;
    if (summary_build(c->p, &f, &s, err) < 0) {
        c->b->failed = true;
        return;
    }
    FuncStat *copy = malloc((s.nfuncs ? s.nfuncs : 1) * sizeof *copy);
    if (!copy) {
        summary_fini(&s);
        c->b->failed = true;
        return;
    }
    memcpy(copy, s.funcs, s.nfuncs * sizeof *copy);
    summary_sort_funcs(c->p, copy, s.nfuncs, true);
    Buf *b = c->b;
    heading(c, "Top functions", "inclusive: the function and what it called");
    buf_puts(b, "       total       %         self  function (file:line)\n");
    int shown = 0;
    for (size_t i = 0; i < s.nfuncs && shown < c->opt->top; i++) {
        FuncStat *fs = &copy[i];
        if (fs->total <= 0)
            break;
        if (fs->kind == FRAME_THREAD || fs->kind == FRAME_PROCESS)
            continue;
        rjust(b, 12, bytes, fs->total);
        buf_printf(b, "  %5.1f%%  ", pct(fs->total, s.grand_total));
        rjust(b, 11, bytes, fs->self);
        buf_puts(b, "  ");
        esc_text(b, profile_strp(c->p, fs->name), profile_strlen(c->p, fs->name), 0);
        if (fs->kind == FRAME_PY && fs->file != PROFILE_EMPTY) {
            buf_puts(b, " (");
            frame_short_file(b, c->p, fs->file, 3, 0);
            buf_printf(b, ":%d)", (int)(fs->fn_line ? fs->fn_line : fs->hot_line));
        }
        buf_putc(b, '\n');
        shown++;
    }
    (void)v;
    free(copy);
    summary_fini(&s);
}

typedef struct {
    StackId stack;
    int64_t bytes, count;
} StackRow;

static int
cmp_rows(const void *a, const void *b)
{
    const StackRow *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return (x->stack > y->stack) - (x->stack < y->stack);
}

/* The largest stacks, root first; long ones keep their innermost frames. */
static void
write_stacks(Ctx *c, SeriesId sb, SeriesId sc)
{
    const Profile *p = c->p;
    size_t ns = profile_nstacks(p);
    int64_t *wb = calloc(ns, sizeof *wb), *wc = calloc(ns, sizeof *wc);
    StackRow *rows = malloc(ns * sizeof *rows);
    FrameId *frames = malloc(PROFILE_MAX_DEPTH * sizeof *frames);
    if (!wb || !wc || !rows || !frames) {
        c->b->failed = true;
        goto done;
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = sb;
    profile_self_weights(p, &f, wb);
    f.series = sc;
    profile_self_weights(p, &f, wc);
    size_t nr = 0;
    for (StackId s = 1; s < ns; s++)
        if (wb[s] > 0)
            rows[nr++] = (StackRow){s, wb[s], wc[s]};
    qsort(rows, nr, sizeof *rows, cmp_rows);
    Buf *b = c->b;
    heading(c, "Largest stacks", "root first; the innermost frame is where the memory was allocated");
    int top = c->opt->top < 10 ? c->opt->top : 10;
    for (size_t i = 0; i < nr && (int)i < top; i++) {
        rjust(b, 12, bytes, rows[i].bytes);
        buf_puts(b, "  ");
        rjust(b, 9, count, rows[i].count);
        buf_puts(b, "x  ");
        size_t depth = profile_stack_frames(p, rows[i].stack, frames, PROFILE_MAX_DEPTH);
        if (depth > PROFILE_MAX_DEPTH)
            depth = PROFILE_MAX_DEPTH;
        size_t from = depth > 6 ? depth - 6 : 0;
        if (from)
            buf_puts(b, "... > ");
        for (size_t k = from; k < depth; k++) {
            if (k > from)
                buf_puts(b, " > ");
            frame_label(b, p, frames[k], 0);
        }
        buf_putc(b, '\n');
    }
done:
    free(wb);
    free(wc);
    free(rows);
    free(frames);
}

static void
write_timeline(Ctx *c, Err *err)
{
    MemPoint *pts;
    size_t n;
    if (memview_timeline(c->p, &pts, &n, err) < 0) {
        c->b->failed = true;
        return;
    }
    Buf *b = c->b;
    int64_t peak_rss = 0, peak_rss_t = 0, top = 1;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].rss_bytes > peak_rss) {
            peak_rss = pts[i].rss_bytes;
            peak_rss_t = pts[i].t_ns;
        }
        if (pts[i].heap_bytes > top)
            top = pts[i].heap_bytes;
        if (pts[i].rss_bytes > top)
            top = pts[i].rss_bytes;
    }
    buf_puts(b, "peak resident set ");
    bytes(b, peak_rss);
    buf_puts(b, " at ");
    seconds(b, peak_rss_t);
    buf_printf(b, "; %zu points, one every %.0f ms\n", n,
               (double)memview_meta_i(c->p, "mem.timeline_interval_ns") / 1e6);
    heading(c, "Timeline", "heap = highest heap in the interval, # heap, + resident beyond it");
    buf_puts(b, "     time         heap          rss\n");
    /* at most `rows` rows: each shows the highest values of its slice of the run */
    size_t rows = (size_t)(c->opt->top > 15 ? c->opt->top : 40);
    size_t per = n > rows ? (n + rows - 1) / rows : 1;
    for (size_t i = 0; i < n; i += per) {
        int64_t h = 0, r = 0;
        for (size_t k = i; k < i + per && k < n; k++) {
            if (pts[k].heap_bytes > h)
                h = pts[k].heap_bytes;
            if (pts[k].rss_bytes > r)
                r = pts[k].rss_bytes;
        }
        buf_printf(b, "%8.2fs  ", (double)pts[i].t_ns / 1e9);
        rjust(b, 11, bytes, h);
        buf_puts(b, "  ");
        rjust(b, 11, bytes, r);
        buf_puts(b, "  |");
        int hw = (int)(40.0 * (double)h / (double)top), rw = (int)(40.0 * (double)r / (double)top);
        for (int k = 0; k < hw; k++)
            buf_putc(b, '#');
        for (int k = hw; k < rw; k++)
            buf_putc(b, '+');
        buf_putc(b, '\n');
    }
    if (!n)
        buf_puts(b, "  (no points: the program ended before the first tick)\n");
    free(pts);
}

int
memtext_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    Buf b;
    buf_init(&b);
    Ctx c = {p, opt, &b};
    MemView v;
    if (!memview_of_series(p, opt->series, &v))
        v = MEMVIEW_PEAK;
    SeriesId sb, sc;
    if (memview_series(p, v, &sb, &sc, err) < 0) {
        buf_fini(&b);
        return -1;
    }
    int64_t total_b = 0, total_n = 0;
    if (v != MEMVIEW_TIMELINE) {
        for (size_t i = 0; i < profile_nsamples(p); i++) {
            ProfSample s;
            profile_sample_at(p, i, &s);
            if (s.series == sb)
                total_b += s.weight;
            else if (s.series == sc)
                total_n += s.weight;
        }
    }
    write_header(&c, v, total_b, total_n);
    Err werr;
    err_clear(&werr);
    if (v == MEMVIEW_TIMELINE) {
        write_timeline(&c, &werr);
    } else if (total_b <= 0 && total_n <= 0) {
        buf_printf(&b, "\nnothing to show: no memory %s\n", memview_what(v));
    } else {
        write_lines(&c, v, sb, sc, total_b, &werr);
        write_funcs(&c, v, sb, &werr);
        write_stacks(&c, sb, sc);
    }
    int rc = 0;
    if (buf_failed(&b))
        rc = werr.kind != ERR_NONE ? (*err = werr, -1)
                                   : err_set(err, ERR_NOMEM, "out of memory writing the report");
    else if (fwrite(b.data, 1, b.len, out) != b.len)
        rc = err_sys(err, errno, "writing the memory report");
    buf_fini(&b);
    return rc;
}
