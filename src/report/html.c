/* SPDX-License-Identifier: MIT */
/* html.c: the interactive HTML report: one self-contained file made of the template
 * src/report/report.html (embedded at build time by mk/report.mk) and the profile as JSON:
 * the call tree in depth-first order (for the canvas icicle graph), the function table, the
 * hottest source files with per-line heat (their text embedded when readable here), a
 * per-thread timeline of on-CPU, idle and GIL, and the metadata. diff_html renders a diff
 * with the same template. All strings go through esc_json, which also escapes < > & so the
 * JSON cannot close its <script> element; the page's script only uses textContent. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/diff.h"
#include "report/flame.h"
#include "report/report.h"
#include "report_html.h"
#include "util/escape.h"

#define HTML_MAX_NODES 300000 /* beyond this, nodes under 1/HTML_MAX_NODES of the total go */
#define HTML_SOURCE_FILES 8
#define HTML_SOURCE_MAX_BYTES (4u << 20)
#define HTML_THREADS 64
#define HTML_BUCKETS 400

static void
json_str(Buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    esc_json(b, s, n);
    buf_putc(b, '"');
}

static void
json_cstr(Buf *b, const char *s)
{
    json_str(b, s, strlen(s));
}

static void
json_num(Buf *b, double v)
{
    if (isfinite(v))
        buf_printf(b, "%.6g", v);
    else
        buf_puts(b, "null");
}

/* funcs: parallel arrays name/file/line/kind indexed by the view's function numbers. */
static void
put_funcs(Buf *b, const FlameView *v, size_t nfuncs)
{
    static const char *const keys[] = {"name", "file", "line", "kind"};
    buf_puts(b, "\"funcs\":{");
    for (int k = 0; k < 4; k++) {
        buf_printf(b, "%s\"%s\":[", k ? "," : "", keys[k]);
        for (size_t i = 0; i < nfuncs; i++) {
            FlameFunc f;
            v->func(v->ctx, (uint32_t)i, &f);
            if (i)
                buf_putc(b, ',');
            if (k == 0)
                json_str(b, f.name, f.name_len);
            else if (k == 1)
                json_str(b, f.kind == FRAME_PY ? f.file : "", f.kind == FRAME_PY ? f.file_len : 0);
            else
                buf_printf(b, "%d", k == 2 ? (int)f.line : (int)f.kind);
        }
        buf_putc(b, ']');
    }
    buf_puts(b, "},");
}

/* nodes: depth-first, pruned to HTML_MAX_NODES-ish by a minimum share. */
static int
put_nodes(Buf *b, const FlameView *v, Err *err)
{
    const FlameTree *t = v->tree;
    int s = v->side;
    uint32_t *order;
    if (flame_order(t, s, &order, err) < 0)
        return -1;
    int64_t min = t->n > HTML_MAX_NODES ? t->nodes[FLAME_ROOT].total[s] / HTML_MAX_NODES : 0;
    if (min < 1)
        min = 1;
    static const char *const keys[] = {"func", "depth", "total", "self", "total_base", "self_base"};
    double max_delta = 0;
    buf_puts(b, "\"nodes\":{");
    for (int k = 0; k < (v->diff ? 6 : 4); k++) {
        buf_printf(b, "%s\"%s\":[", k ? "," : "", keys[k]);
        bool first = true;
        for (size_t j = 0; j < t->n; j++) {
            const FlameNode *n = &t->nodes[order[j]];
            if (order[j] != FLAME_ROOT && n->total[s] < min)
                continue;
            if (!first)
                buf_putc(b, ',');
            first = false;
            switch (k) {
            case 0: buf_printf(b, "%u", order[j] == FLAME_ROOT ? 0 : n->func); break;
            case 1: buf_printf(b, "%u", n->depth); break;
            case 2: buf_printf(b, "%" PRId64, n->total[s]); break;
            case 3: buf_printf(b, "%" PRId64, n->self[s]); break;
            case 4: buf_printf(b, "%" PRId64, n->total[0]); break;
            default: buf_printf(b, "%" PRId64, n->self[0]); break;
            }
            if (k == 0 && v->diff && order[j] != FLAME_ROOT) {
                double d = (v->grand[1] ? (double)n->total[1] / (double)v->grand[1] : 0) -
                           (v->grand[0] ? (double)n->total[0] / (double)v->grand[0] : 0);
                if (fabs(d) > max_delta)
                    max_delta = fabs(d);
            }
        }
        buf_putc(b, ']');
    }
    buf_puts(b, "},\"maxDelta\":");
    json_num(b, max_delta);
    buf_putc(b, ',');
    free(order);
    return 0;
}

static void
put_common(Buf *b, const FlameView *v, const char *title, const char *subtitle)
{
    buf_printf(b, "{\"version\":1,\"diff\":%s,\"title\":", v->diff ? "true" : "false");
    json_cstr(b, title);
    buf_puts(b, ",\"subtitle\":");
    json_cstr(b, subtitle);
    buf_puts(b, ",\"unit\":");
    json_cstr(b, v->unit);
    buf_printf(b, ",\"sample_ns\":%" PRId64 ",\"grand\":[%" PRId64 ",%" PRId64 "],\"rootLabel\":",
               v->sample_ns, v->grand[0], v->grand[1]);
    json_cstr(b, v->diff ? "all samples (new)" : "all samples");
    buf_putc(b, ',');
}

/* The source text of `file`, if it is a readable regular file of reasonable size: lines
 * 1..max_line as a JSON array, else null. */
static void
put_source_text(Buf *b, const char *file, int32_t max_line)
{
    struct stat st;
    FILE *f = NULL;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > HTML_SOURCE_MAX_BYTES ||
        !(f = fopen(file, "rb"))) {
        buf_puts(b, "null");
        return;
    }
    buf_putc(b, '[');
    char line[4096];
    Buf cur;
    buf_init(&cur);
    int32_t no = 0;
    while (no < max_line && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        bool eol = len && line[len - 1] == '\n';
        buf_append(&cur, line, eol ? len - 1 : len);
        if (!eol && !feof(f))
            continue; /* a long line: keep reading it */
        if (cur.len && cur.data[cur.len - 1] == '\r')
            cur.len--;
        if (no++)
            buf_putc(b, ',');
        json_str(b, cur.data ? cur.data : "", cur.len);
        buf_reset(&cur);
    }
    buf_fini(&cur);
    fclose(f);
    buf_putc(b, ']');
}

typedef struct {
    StrId file;
    int64_t self, total;
    int32_t max_line;
} FileHeat;

static const Summary *heat_sum;

static int
cmp_line(const void *a, const void *b)
{
    const LineStat *x = &heat_sum->lines[*(const uint32_t *)a];
    const LineStat *y = &heat_sum->lines[*(const uint32_t *)b];
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int
cmp_heat(const void *a, const void *b)
{
    const FileHeat *x = a, *y = b;
    if (x->self != y->self)
        return x->self > y->self ? -1 : 1;
    return x->total > y->total ? -1 : x->total < y->total;
}

/* sources: the hottest files by self weight, each with per-line [line, self, total]. */
static int
put_sources(Buf *b, const Profile *p, const Summary *sum, Err *err)
{
    uint32_t *idx = malloc((sum->nlines ? sum->nlines : 1) * sizeof *idx);
    FileHeat *files = calloc(sum->nlines + 1, sizeof *files);
    if (!idx || !files) {
        free(idx);
        free(files);
        return err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    }
    size_t k = 0, nf = 0;
    for (size_t i = 0; i < sum->nlines; i++) {
        const LineStat *l = &sum->lines[i];
        if (l->file != PROFILE_EMPTY && l->total > 0 && l->line > 0)
            idx[k++] = (uint32_t)i;
    }
    heat_sum = sum;
    qsort(idx, k, sizeof *idx, cmp_line);
    for (size_t i = 0; i < k; i++) {
        const LineStat *l = &sum->lines[idx[i]];
        if (!nf || files[nf - 1].file != l->file)
            files[nf++] = (FileHeat){.file = l->file};
        files[nf - 1].self += l->self;
        files[nf - 1].total = files[nf - 1].total > l->total ? files[nf - 1].total : l->total;
        if (l->line > files[nf - 1].max_line)
            files[nf - 1].max_line = l->line;
    }
    qsort(files, nf, sizeof *files, cmp_heat);
    buf_puts(b, "\"sources\":[");
    for (size_t f = 0; f < nf && f < HTML_SOURCE_FILES; f++) {
        buf_puts(b, f ? ",{\"file\":" : "{\"file\":");
        json_str(b, profile_strp(p, files[f].file), profile_strlen(p, files[f].file));
        buf_printf(b, ",\"self\":%" PRId64 ",\"heat\":[", files[f].self);
        /* lines of this file, merged across functions (lines are sorted by file, line) */
        bool first = true;
        for (size_t i = 0; i < k;) {
            const LineStat *l = &sum->lines[idx[i]];
            if (l->file != files[f].file) {
                i++;
                continue;
            }
            int64_t self = 0, total = 0;
            int32_t line = l->line;
            for (; i < k && sum->lines[idx[i]].file == l->file && sum->lines[idx[i]].line == line; i++) {
                self += sum->lines[idx[i]].self;
                total += sum->lines[idx[i]].total;
            }
            buf_printf(b, "%s[%d,%" PRId64 ",%" PRId64 "]", first ? "" : ",", (int)line, self, total);
            first = false;
        }
        buf_puts(b, "],\"text\":");
        put_source_text(b, profile_strp(p, files[f].file), files[f].max_line + 3);
        buf_putc(b, '}');
    }
    buf_puts(b, "],");
    free(idx);
    free(files);
    return 0;
}

static int
cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
    return x > y ? -1 : x < y;
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
        t0 = s.t_ns < t0 ? s.t_ns : t0;
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
        size_t q = (size_t)((double)(s.t_ns - t0) / span * HTML_BUCKETS);
        if (q >= HTML_BUCKETS)
            q = HTML_BUCKETS - 1;
        int64_t *row = bk + (size_t)slot[s.thread] * 3 * HTML_BUCKETS;
        row[q] += s.weight;
        if (s.flags & SAMPLE_ON_CPU)
            row[HTML_BUCKETS + q] += s.weight;
        if (s.flags & SAMPLE_HAS_GIL)
            row[2 * HTML_BUCKETS + q] += s.weight;
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
put_meta(Buf *b, const Profile *p)
{
    const ProfileInfo *in = profile_info_c(p);
    static const char *const kinds[] = {"sampled", "memory", "trace"};
    buf_puts(b, "\"meta\":[[\"profile kind\",");
    json_cstr(b, in->kind <= PROFILE_TRACE ? kinds[in->kind] : "?");
    buf_puts(b, "]");
    if (in->interval_ns > 0)
        buf_printf(b, ",[\"sampling interval\",\"%.3f ms (%.0f Hz)\"]", (double)in->interval_ns / 1e6,
                   1e9 / (double)in->interval_ns);
    if (in->duration_ns > 0)
        buf_printf(b, ",[\"duration\",\"%.3f s\"]", (double)in->duration_ns / 1e9);
    buf_printf(b, ",[\"samples dropped\",\"%" PRIu64 "\"]", in->dropped);
    buf_printf(b, ",[\"threads\",\"%zu\"],[\"processes\",\"%zu\"]", profile_nthreads(p),
               profile_nprocs(p));
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        buf_puts(b, ",[");
        json_cstr(b, k);
        buf_putc(b, ',');
        json_cstr(b, v);
        buf_putc(b, ']');
    }
    buf_puts(b, "]}");
}

/* Writes the template with @TITLE@ (HTML-escaped) and @DATA@ (the JSON) filled in. */
static int
emit(const char *title, const Buf *data, FILE *out, Err *err)
{
    Buf b;
    buf_init(&b);
    const char *t = report_html_template;
    const char *a = strstr(t, "@TITLE@"), *d = strstr(t, "@DATA@");
    if (!a || !d || d < a) {
        buf_fini(&b);
        return err_set(err, ERR_INTERNAL, "the HTML template lacks its @TITLE@/@DATA@ slots");
    }
    buf_append(&b, t, (size_t)(a - t));
    esc_html(&b, title, strlen(title));
    buf_append(&b, a + 7, (size_t)(d - (a + 7)));
    int rc = 0;
    if (buf_failed(&b) || buf_failed(data))
        rc = err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    else if (fwrite(b.data, 1, b.len, out) != b.len ||
             fwrite(data->data, 1, data->len, out) != data->len ||
             fputs(d + 6, out) == EOF)
        rc = err_sys(err, errno, "writing the HTML report");
    buf_fini(&b);
    return rc;
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
html_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    const char *cmd = profile_meta_get(p, "command");
    const char *title = opt->title ? opt->title : cmd ? cmd : "ferret profile";
    FlameProfile fp;
    if (flame_profile_build(&fp, p, opt->series, opt->flags_mask, opt->flags_want, title, err) < 0)
        return -1;
    Buf data, sub;
    buf_init(&data);
    buf_init(&sub);
    int rc = -1;
    subtitle(&sub, p, fp.view.grand[0], fp.view.unit);
    put_common(&data, &fp.view, title, sub.data ? sub.data : "");
    put_funcs(&data, &fp.view, fp.sum.nfuncs);
    if (put_nodes(&data, &fp.view, err) < 0)
        goto done;
    buf_puts(&data, "\"table\":[");
    bool first = true;
    for (size_t i = 0; i < fp.sum.nfuncs; i++) {
        const FuncStat *f = &fp.sum.funcs[i];
        if (f->total <= 0 || f->kind == FRAME_THREAD || f->kind == FRAME_PROCESS)
            continue;
        buf_printf(&data, "%s[%zu,%" PRId64 ",%" PRId64 "]", first ? "" : ",", i, f->self, f->total);
        first = false;
    }
    buf_puts(&data, "],");
    if (put_sources(&data, p, &fp.sum, err) < 0 || put_threads(&data, p, opt, err) < 0)
        goto done;
    put_meta(&data, p);
    rc = emit(title, &data, out, err);
done:
    buf_fini(&data);
    buf_fini(&sub);
    flame_profile_fini(&fp);
    return rc;
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
    put_funcs(&data, &v, d->n);
    int rc = put_nodes(&data, &v, err);
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
            json_num(&data, f->base_share);
            buf_putc(&data, ',');
            json_num(&data, f->new_share);
            buf_putc(&data, ',');
            json_num(&data, f->base_self_share);
            buf_putc(&data, ',');
            json_num(&data, f->new_self_share);
            buf_putc(&data, ',');
            json_num(&data, f->p_adjusted);
            buf_printf(&data, ",%d]", f->change);
        }
        buf_puts(&data, "],\"sources\":[],\"threads\":[],\"meta\":[[\"method\",");
        json_cstr(&data, d->tested ? "per function: two-sided two-proportion z-test on its share "
                                     "of samples (incl. callees), Holm's correction"
                                   : "shares only");
        buf_printf(&data, "],[\"base\",\"%" PRId64 " %s\"],[\"new\",\"%" PRId64 " %s\"]]}",
                   d->base_n, d->unit, d->new_n, d->unit);
        rc = emit(title, &data, out, err);
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
