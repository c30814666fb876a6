/* SPDX-License-Identifier: MIT */
/* text.c: the terminal report: a header (samples, rate, mode, dropped), the top functions
 * by self and by total weight with file:line, the hottest lines, a call tree trimmed to the
 * paths that carry at least 1% of the total, and a per-thread summary of on-CPU, idle and
 * GIL shares. Weights print in the series' unit (samples as time). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/summary.h"
#include "report/flame.h"
#include "report/frame_name.h"
#include "report/memtext.h"
#include "report/report.h"
#include "util/escape.h"

typedef struct {
    const Profile *p;
    const ReportOptions *opt;
    Buf *b;
    double unit_scale; /* seconds per sample for sampled profiles */
    const char *unit;
} Ctx;

static void
pad_to(Buf *b, size_t start, size_t width)
{
    while (b->len - start < width)
        buf_putc(b, ' ');
}

static void
heading(Ctx *c, const char *title)
{
    if (c->opt->color)
        buf_printf(c->b, "\n\033[1m%s\033[0m\n", title);
    else
        buf_printf(c->b, "\n%s\n", title);
}

static double
pct(int64_t part, int64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
write_header(Ctx *c, int64_t matched)
{
    const Profile *p = c->p;
    const ProfileInfo *info = profile_info_c(p);
    Buf *b = c->b;
    int64_t all = 0; /* weighted: a late sample stands for several intervals */
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.series == c->opt->series)
            all += s.weight;
    }
    const char *mode = profile_meta_get(p, "mode");
    buf_printf(b, "ferret: %lld samples", (long long)all);
    if (info->duration_ns > 0)
        buf_printf(b, " over %.2fs", (double)info->duration_ns / 1e9);
    if (info->interval_ns > 0)
        buf_printf(b, " at %.0f Hz", 1e9 / (double)info->interval_ns);
    if (mode)
        buf_printf(b, ", %s mode", mode);
    const char *gil = profile_meta_get(p, "gil");
    if (gil && strcmp(gil, "1") == 0)
        buf_puts(b, ", GIL holder only");
    buf_printf(b, ", %zu thread%s", profile_nthreads(p), profile_nthreads(p) == 1 ? "" : "s");
    if (profile_nprocs(p) > 1)
        buf_printf(b, " in %zu processes", profile_nprocs(p));
    uint64_t taken = (uint64_t)all + info->dropped;
    buf_printf(b, ", %" PRIu64 " dropped (%.1f%%)\n", info->dropped,
               taken ? 100.0 * (double)info->dropped / (double)taken : 0.0);
    const char *cmd = profile_meta_get(p, "command");
    if (cmd) {
        buf_puts(b, "command: ");
        esc_text(b, cmd, strlen(cmd), 0);
        buf_putc(b, '\n');
    }
    const char *py = profile_meta_get(p, "python_version");
    if (py)
        buf_printf(b, "python: %s\n", py);
    if (matched != all && c->unit_scale > 0)
        buf_printf(b, "shown: %lld of %lld samples (%s)\n", (long long)matched, (long long)all,
                   c->opt->flags_want & SAMPLE_HAS_GIL ? "GIL holder" : "on CPU");
}

static void
write_funcs(Ctx *c, Summary *s, bool by_total)
{
    Buf *b = c->b;
    FuncStat *copy = malloc((s->nfuncs ? s->nfuncs : 1) * sizeof *copy);
    if (!copy) {
        b->failed = true;
        return;
    }
    memcpy(copy, s->funcs, s->nfuncs * sizeof *copy);
    summary_sort_funcs(c->p, copy, s->nfuncs, by_total);
    heading(c, by_total ? "Top functions by total time (self + callees)"
                        : "Top functions by self time");
    buf_puts(b, "   self%  total%      self     total  function (file:line)\n");
    int shown = 0;
    for (size_t i = 0; i < s->nfuncs && shown < c->opt->top; i++) {
        FuncStat *f = &copy[i];
        if ((by_total ? f->total : f->self) <= 0)
            break;
        if (f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS)
            continue;
        buf_printf(b, "  %5.1f%%  %5.1f%%  ", pct(f->self, s->grand_total),
                   pct(f->total, s->grand_total));
        size_t col = b->len;
        report_fmt_weight(b, c->unit, c->unit_scale, f->self);
        pad_to(b, col, 8);
        buf_puts(b, "  ");
        col = b->len;
        report_fmt_weight(b, c->unit, c->unit_scale, f->total);
        pad_to(b, col, 8);
        buf_puts(b, "  ");
        esc_text(b, profile_strp(c->p, f->name), profile_strlen(c->p, f->name), 0);
        if (f->kind == FRAME_PY && f->file != PROFILE_EMPTY) {
            buf_puts(b, " (");
            frame_short_file(b, c->p, f->file, 3, 0);
            buf_printf(b, ":%d)", (int)(f->fn_line ? f->fn_line : f->hot_line));
        }
        buf_putc(b, '\n');
        shown++;
    }
    free(copy);
}

static void
write_lines(Ctx *c, Summary *s)
{
    Buf *b = c->b;
    LineStat *copy = malloc((s->nlines ? s->nlines : 1) * sizeof *copy);
    if (!copy) {
        b->failed = true;
        return;
    }
    memcpy(copy, s->lines, s->nlines * sizeof *copy);
    summary_sort_lines(copy, s->nlines, false);
    heading(c, "Top lines by self time");
    buf_puts(b, "   self%      self  line\n");
    int shown = 0;
    for (size_t i = 0; i < s->nlines && shown < c->opt->top; i++) {
        LineStat *l = &copy[i];
        if (l->self <= 0)
            break;
        if (l->file == PROFILE_EMPTY)
            continue;
        buf_printf(b, "  %5.1f%%  ", pct(l->self, s->grand_total));
        size_t col = b->len;
        report_fmt_weight(b, c->unit, c->unit_scale, l->self);
        pad_to(b, col, 8);
        buf_puts(b, "  ");
        frame_short_file(b, c->p, l->file, 3, 0);
        buf_printf(b, ":%d in ", (int)l->line);
        esc_text(b, profile_strp(c->p, l->name), profile_strlen(c->p, l->name), 0);
        buf_putc(b, '\n');
        shown++;
    }
    free(copy);
}

#define TEXT_TREE_MIN_PERMILLE 10 /* call-tree nodes under 1% of the total are hidden */
#define TEXT_TREE_MAX_INDENT 24

/* The call tree, heaviest callees first, without the nodes under 1%: each line is total%,
 * self%, then the function indented by its depth. At most 4 * top lines. */
static int
write_tree(Ctx *c, Err *err)
{
    Buf *b = c->b;
    FlameProfile fp;
    if (flame_profile_build(&fp, c->p, c->opt->series, c->opt->flags_mask, c->opt->flags_want,
                            NULL, err) < 0)
        return -1;
    uint32_t *order;
    if (flame_order(&fp.tree, 0, &order, err) < 0) {
        flame_profile_fini(&fp);
        return -1;
    }
    int64_t grand = fp.tree.nodes[FLAME_ROOT].total[0];
    int64_t min = grand * TEXT_TREE_MIN_PERMILLE / 1000;
    if (min < 1)
        min = 1;
    int max_lines = c->opt->top * 4, lines = 0, hidden = 0;
    heading(c, "Call tree (total%, self%; callers above callees; under 1% hidden)");
    for (size_t k = 1; k < fp.tree.n; k++) {
        const FlameNode *n = &fp.tree.nodes[order[k]];
        if (n->total[0] < min)
            continue;
        if (lines >= max_lines) {
            hidden++;
            continue;
        }
        buf_printf(b, "  %5.1f%%  %5.1f%%  ", pct(n->total[0], grand), pct(n->self[0], grand));
        uint32_t indent = n->depth - 1;
        if (indent > TEXT_TREE_MAX_INDENT) {
            buf_printf(b, "%*s[%u] ", 2 * TEXT_TREE_MAX_INDENT, "", n->depth);
        } else {
            for (uint32_t i = 0; i < indent; i++)
                buf_puts(b, "  ");
        }
        FlameFunc f;
        fp.view.func(fp.view.ctx, n->func, &f);
        esc_text(b, f.name, f.name_len, 0);
        if (f.kind == FRAME_PY && f.file_len) {
            buf_puts(b, " (");
            esc_text(b, f.file, f.file_len, 0);
            buf_printf(b, ":%d)", (int)f.line);
        }
        buf_putc(b, '\n');
        lines++;
    }
    if (hidden)
        buf_printf(b, "  ... %d more over 1%% not shown (raise --top)\n", hidden);
    free(order);
    flame_profile_fini(&fp);
    return 0;
}

static void
write_threads(Ctx *c)
{
    const Profile *p = c->p;
    Buf *b = c->b;
    size_t nt = profile_nthreads(p);
    if (!nt)
        return;
    int64_t(*cnt)[3] = calloc(nt, sizeof *cnt); /* all, on-CPU, GIL */
    if (!cnt) {
        b->failed = true;
        return;
    }
    int64_t all = 0, oncpu = 0, gil = 0;
    for (size_t i = 0; i < profile_nsamples(p); i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.series != c->opt->series)
            continue;
        cnt[s.thread][0] += s.weight;
        all += s.weight;
        if (s.flags & SAMPLE_ON_CPU) {
            cnt[s.thread][1] += s.weight;
            oncpu += s.weight;
        }
        if (s.flags & SAMPLE_HAS_GIL) {
            cnt[s.thread][2] += s.weight;
            gil += s.weight;
        }
    }
    heading(c, "Threads");
    buf_puts(b, "  samples  on-CPU    idle     GIL  thread\n");
    for (ThreadId t = 0; t < nt; t++) {
        const ProfThread *th = profile_thread_at(p, t);
        buf_printf(b, "  %7lld  %5.1f%%  %5.1f%%  %5.1f%%  ", (long long)cnt[t][0],
                   pct(cnt[t][1], cnt[t][0]), pct(cnt[t][0] - cnt[t][1], cnt[t][0]),
                   pct(cnt[t][2], cnt[t][0]));
        if (profile_nprocs(p) > 1)
            buf_printf(b, "pid %d ", (int)profile_proc_at(p, th->proc)->pid);
        buf_printf(b, "tid %llu", (unsigned long long)th->tid);
        if (th->name != PROFILE_EMPTY) {
            buf_putc(b, ' ');
            esc_text(b, profile_strp(p, th->name), profile_strlen(p, th->name), 0);
        }
        buf_putc(b, '\n');
    }
    buf_printf(b, "  %7lld  %5.1f%%  %5.1f%%  %5.1f%%  all threads\n", (long long)all,
               pct(oncpu, all), pct(all - oncpu, all), pct(gil, all));
    free(cnt);
}

static void
write_dropped(Ctx *c)
{
    const Profile *p = c->p;
    if (!profile_info_c(p)->dropped)
        return;
    buf_printf(c->b, "\nDropped samples: %llu (",
               (unsigned long long)profile_info_c(p)->dropped);
    bool first = true;
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        if (strncmp(k, "dropped.", 8) != 0)
            continue;
        buf_printf(c->b, "%s%s %s", first ? "" : ", ", k + 8, v);
        first = false;
    }
    buf_puts(c->b, ")\n");
}

static int
text_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    if (profile_info_c(p)->kind == PROFILE_MEMORY)
        return memtext_write(p, opt, out, err);
    SeriesId calls;
    if (profile_info_c(p)->kind == PROFILE_TRACE && profile_series_find(p, "calls", &calls))
        return report_trace_text(p, opt, out, err);
    Buf b;
    buf_init(&b);
    Ctx c = {.p = p, .opt = opt, .b = &b};
    c.unit = profile_nseries(p) ? profile_series_unit(p, opt->series) : "samples";
    if (strcmp(c.unit, "samples") == 0 && profile_info_c(p)->interval_ns > 0)
        c.unit_scale = (double)profile_info_c(p)->interval_ns / 1e9;
    ProfFilter f;
    report_filter(opt, &f);
    Summary s;
    if (profile_nseries(p) == 0) {
        buf_puts(&b, "ferret: the profile holds no samples\n");
        memset(&s, 0, sizeof s);
    } else {
        if (summary_build(p, &f, &s, err) < 0) {
            buf_fini(&b);
            return -1;
        }
        write_header(&c, s.grand_total);
        if (s.grand_total == 0) {
            buf_puts(&b, "\nno samples to show: the program ended before the first sample, or "
                         "no sample matched the mode\n");
        } else {
            write_funcs(&c, &s, false);
            write_funcs(&c, &s, true);
            write_lines(&c, &s);
            if (write_tree(&c, err) < 0) {
                summary_fini(&s);
                buf_fini(&b);
                return -1;
            }
        }
        write_threads(&c);
        write_dropped(&c);
    }
    summary_fini(&s);
    int rc = 0;
    if (buf_failed(&b))
        rc = err_set(err, ERR_NOMEM, "out of memory writing the text report");
    else if (fwrite(b.data, 1, b.len, out) != b.len)
        rc = err_sys(err, errno, "writing the text report");
    buf_fini(&b);
    return rc;
}

const ReportWriter report_text = {
    .name = "text",
    .extension = ".txt",
    .binary = false,
    .write = text_write,
};
