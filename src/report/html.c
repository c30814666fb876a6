/* SPDX-License-Identifier: MIT */
/* html.c: the interactive HTML report: one self-contained file made of the template
 * src/report/report.html and the profile as JSON (htmlpage.h). This file builds the data of
 * a sampled profile: the call tree in depth-first order (for the canvas icicle graph), the
 * function table, the hottest source files with per-line heat (their text embedded when
 * readable here), a per-thread timeline of on-CPU, idle and GIL, and the metadata; and of a
 * diff (diff_html). Memory and trace profiles go to html_mem.c and html_trace.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/diff.h"
#include "report/flame.h"
#include "report/htmlpage.h"
#include "report/report.h"

#define HTML_THREADS 64
#define HTML_BUCKETS 400

static void
put_common(Buf *b, const FlameView *v, const char *title, const char *subtitle)
{
    buf_printf(b, "{\"version\":1,\"kind\":\"%s\",\"diff\":%s,\"title\":",
               v->diff ? "diff" : "sampled", v->diff ? "true" : "false");
    htmlpage_cstr(b, title);
    buf_puts(b, ",\"subtitle\":");
    htmlpage_cstr(b, subtitle);
    buf_puts(b, ",\"unit\":");
    htmlpage_cstr(b, v->unit);
    buf_printf(b, ",\"sample_ns\":%" PRId64 ",\"grand\":[%" PRId64 ",%" PRId64 "],\"rootLabel\":",
               v->sample_ns, v->grand[0], v->grand[1]);
    htmlpage_cstr(b, v->diff ? "all samples (new)" : "all samples");
    buf_putc(b, ',');
}

/* sources: the hottest files by self weight, each with per-line [line, self, total]. */
static int
put_sources(Buf *b, const Profile *p, const Summary *sum, Err *err)
{
    HtmlLine *lines = malloc((sum->nlines ? sum->nlines : 1) * sizeof *lines);
    if (!lines)
        return err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    size_t n = 0;
    for (size_t i = 0; i < sum->nlines; i++) {
        const LineStat *l = &sum->lines[i];
        if (l->total > 0)
            lines[n++] = (HtmlLine){.file = l->file, .line = l->line, .v = {l->self, l->total}};
    }
    HtmlTexts texts = {.n = 0};
    int rc =
        htmlpage_sources(b, p, lines, n, &(HtmlOrder){.rank_col = 0, .tie_col = 1}, 2, &texts, err);
    if (rc == 0)
        htmlpage_texts(b, p, &texts);
    free(lines);
    return rc;
}

static int
cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
    return x > y ? -1 : x < y;
}

static size_t
bucket_of(int64_t t, int64_t t0, double span)
{
    double q = (double)(t - t0) / span * HTML_BUCKETS;
    return q <= 0 ? 0 : q >= HTML_BUCKETS ? HTML_BUCKETS - 1 : (size_t)q;
}

/* threads: the busiest threads, each with per-bucket counts of all, on-CPU and GIL. */
static int
put_threads(Buf *b, const Profile *p, const ReportOptions *opt, Err *err)
{
    size_t nt = profile_nthreads(p), ns = profile_nsamples(p);
    int64_t (*cnt)[2] = calloc(nt + 1, sizeof *cnt); /* samples, thread id */
    int64_t *bk = NULL;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t i = 0; cnt && i < ns; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.series != opt->series)
            continue;
        cnt[s.thread][0] += s.weight;
        int64_t begin = profile_sample_begin(p, &s);
        t0 = begin < t0 ? begin : t0;
        t1 = s.t_ns > t1 ? s.t_ns : t1;
    }
    for (size_t t = 0; cnt && t < nt; t++)
        cnt[t][1] = (int64_t)t;
    size_t shown = nt < HTML_THREADS ? nt : HTML_THREADS;
    if (cnt) {
        qsort(cnt, nt, sizeof *cnt, cmp_desc_i64);
        bk = calloc(shown * 3 * HTML_BUCKETS + 1, sizeof *bk);
    }
    if (!cnt || !bk) {
        free(cnt);
        return err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    }
    int32_t *slot = malloc((nt + 1) * sizeof *slot);
    if (!slot) {
        free(cnt);
        free(bk);
        return err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    }
    for (size_t t = 0; t < nt; t++)
        slot[t] = -1;
    for (size_t k = 0; k < shown; k++)
        slot[cnt[k][1]] = (int32_t)k;
    double span = t1 > t0 ? (double)(t1 - t0) + 1 : 1;
    for (size_t i = 0; i < ns; i++) {
        ProfSample s;
        profile_sample_at(p, i, &s);
        if (s.series != opt->series || slot[s.thread] < 0)
            continue;
        int64_t *row = bk + (size_t)slot[s.thread] * 3 * HTML_BUCKETS;
        /* a sample standing for several intervals (profile_sample_begin) goes one interval
         * at a time, unless it falls in one bucket */
        int64_t begin = profile_sample_begin(p, &s), step = profile_info_c(p)->interval_ns;
        size_t q0 = bucket_of(begin, t0, span), q1 = bucket_of(s.t_ns, t0, span);
        bool spread = begin != s.t_ns && q0 != q1;
        int64_t units = spread ? s.weight : 1, each = spread ? 1 : s.weight;
        for (int64_t k = 0; k < units; k++) {
            size_t q = spread ? bucket_of(begin + k * step, t0, span) : q1;
            row[q] += each;
            if (s.flags & SAMPLE_ON_CPU)
                row[HTML_BUCKETS + q] += each;
            if (s.flags & SAMPLE_HAS_GIL)
                row[2 * HTML_BUCKETS + q] += each;
        }
    }
    buf_puts(b, "\"threads\":[");
    for (size_t k = 0; k < shown && cnt[k][0] > 0; k++) {
        buf_puts(b, k ? ",{\"name\":\"" : "{\"name\":\"");
        report_thread_json(b, p, (ThreadId)cnt[k][1]);
        buf_putc(b, '"');
        const int64_t *row = bk + k * 3 * HTML_BUCKETS;
        int64_t sums[3] = {0, 0, 0};
        static const char *const keys[] = {"all", "on", "gil"};
        for (int r = 0; r < 3; r++) {
            buf_printf(b, ",\"%s\":[", keys[r]);
            for (size_t q = 0; q < HTML_BUCKETS; q++) {
                buf_printf(b, q ? ",%" PRId64 : "%" PRId64, row[r * HTML_BUCKETS + q]);
                sums[r] += row[r * HTML_BUCKETS + q];
            }
            buf_putc(b, ']');
        }
        buf_printf(b, ",\"samples\":%" PRId64 ",\"oncpu\":%" PRId64 ",\"gilTotal\":%" PRId64 "}",
                   sums[0], sums[1], sums[2]);
    }
    buf_puts(b, "],");
    free(cnt);
    free(bk);
    free(slot);
    return 0;
}

static void
subtitle(Buf *b, const Profile *p, int64_t matched, const char *unit)
{
    const ProfileInfo *in = profile_info_c(p);
    report_fmt_weight(b, unit,
                      strcmp(unit, "samples") == 0 && in->interval_ns > 0
                          ? (double)in->interval_ns / 1e9
                          : 0,
                      matched);
    buf_printf(b, " in %" PRId64 " %s", matched, strcmp(unit, "samples") == 0 ? "samples" : unit);
    if (in->duration_ns > 0)
        buf_printf(b, " over %.2f s", (double)in->duration_ns / 1e9);
    if (in->interval_ns > 0)
        buf_printf(b, " at %.0f Hz", 1e9 / (double)in->interval_ns);
    const char *mode = profile_meta_get(p, "mode");
    if (mode)
        buf_printf(b, ", %s mode", mode);
    buf_printf(b, ", %zu thread%s", profile_nthreads(p), profile_nthreads(p) == 1 ? "" : "s");
    if (in->dropped)
        buf_printf(b, ", %" PRIu64 " dropped", in->dropped);
    const char *inc = profile_meta_get(p, "incomplete");
    if (inc && strcmp(inc, "1") == 0)
        buf_puts(b, " (incomplete: the recorder was stopped)");
}

static int
sampled_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    const char *title = htmlpage_title(p, opt);
    FlameProfile fp;
    if (flame_profile_build(&fp, p, opt->series, opt->flags_mask, opt->flags_want, title, err) < 0)
        return -1;
    Buf data, sub;
    buf_init(&data);
    buf_init(&sub);
    int rc = -1;
    subtitle(&sub, p, fp.view.grand[0], fp.view.unit);
    put_common(&data, &fp.view, title, sub.data ? sub.data : "");
    htmlpage_funcs(&data, &fp.view, fp.sum.nfuncs);
    if (htmlpage_nodes(&data, &fp.view, false, err) < 0)
        goto done;
    buf_puts(&data, "\"table\":[");
    bool first = true;
    for (size_t i = 0; i < fp.sum.nfuncs; i++) {
        const FuncStat *f = &fp.sum.funcs[i];
        if (f->total <= 0 || f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS)
            continue;
        buf_printf(&data, "%s[%zu,%" PRId64 ",%" PRId64 "]", first ? "" : ",", i, f->self,
                   f->total);
        first = false;
    }
    buf_puts(&data, "],");
    if (put_sources(&data, p, &fp.sum, err) < 0 || put_threads(&data, p, opt, err) < 0)
        goto done;
    htmlpage_meta(&data, p);
    buf_putc(&data, '}');
    rc = htmlpage_emit(title, &data, out, err);
done:
    buf_fini(&data);
    buf_fini(&sub);
    flame_profile_fini(&fp);
    return rc;
}

/* Memory and trace profiles get reports of their own; one that lacks its series (a file
 * written by something else) is drawn like a sampled profile, from the chosen series. */
static int
html_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    SeriesId s;
    switch (profile_info_c(p)->kind) {
    case PROFILE_MEMORY:
        if (profile_series_find(p, "peak_bytes", &s) && profile_series_find(p, "heap_bytes", &s))
            return html_mem_write(p, opt, out, err);
        break;
    case PROFILE_TRACE:
        if (profile_series_find(p, "wall_ns", &s) && profile_series_find(p, "calls", &s))
            return html_trace_write(p, opt, out, err);
        break;
    default:
        break;
    }
    return sampled_write(p, opt, out, err);
}

int
diff_html(const Diff *d, const ReportOptions *opt, FILE *out, Err *err)
{
    FlameView v;
    diff_flame_view(d, opt, &v);
    const char *title = opt->title ? opt->title : "ferret diff";
    Buf data, sub;
    buf_init(&data);
    buf_init(&sub);
    buf_printf(&sub, "base %" PRId64 " %s, new %" PRId64 " %s; ", d->base_n, d->unit, d->new_n,
               d->unit);
    if (d->tested)
        buf_printf(&sub,
                   "%zu of %zu functions changed beyond sampling noise (two-proportion z-test, "
                   "Holm-corrected, alpha %.2g); red grew, blue shrank",
                   d->nsignificant, d->ntested, d->alpha);
    else
        buf_puts(&sub, "shares only (the series does not count samples); red grew, blue shrank");
    put_common(&data, &v, title, sub.data);
    htmlpage_funcs(&data, &v, d->n);
    int rc = htmlpage_nodes(&data, &v, false, err);
    if (rc == 0) {
        buf_puts(&data, "\"table\":[");
        bool first = true;
        for (size_t key = 0; key < d->n; key++) {
            const DiffFunc *f = &d->funcs[d->rank[key]];
            if (f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS ||
                f->base_total + f->new_total == 0)
                continue;
            buf_printf(&data, "%s[%zu,", first ? "" : ",", key);
            first = false;
            htmlpage_num(&data, f->base_share);
            buf_putc(&data, ',');
            htmlpage_num(&data, f->new_share);
            buf_putc(&data, ',');
            htmlpage_num(&data, f->base_self_share);
            buf_putc(&data, ',');
            htmlpage_num(&data, f->new_self_share);
            buf_putc(&data, ',');
            htmlpage_num(&data, f->p_adjusted);
            buf_printf(&data, ",%d]", f->change);
        }
        buf_puts(&data, "],\"sources\":[],\"texts\":[],\"threads\":[],\"meta\":[[\"method\",");
        htmlpage_cstr(&data, d->tested
                                 ? "per function: two-sided two-proportion z-test on its share "
                                   "of samples (incl. callees), Holm's correction"
                                 : "shares only");
        buf_printf(&data, "],[\"base\",\"%" PRId64 " %s\"],[\"new\",\"%" PRId64 " %s\"]]}",
                   d->base_n, d->unit, d->new_n, d->unit);
        rc = htmlpage_emit(title, &data, out, err);
    }
    buf_fini(&data);
    buf_fini(&sub);
    return rc;
}

const ReportWriter report_html = {
    .name = "html",
    .extension = ".html",
    .binary = false,
    .write = html_write,
};
