/* SPDX-License-Identifier: MIT */
/* htmlpage.c: the shared pieces of the HTML report (htmlpage.h): JSON strings and numbers,
 * the function list, the flame graph's nodes, source files with per-line numbers and their
 * embedded text, the metadata, and the template (src/report/report.html, embedded at build
 * time by mk/report.mk) the data is written into. */
#include "report/htmlpage.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_html.h"
#include "util/escape.h"

#define HTMLPAGE_MAX_NODES 300000 /* beyond this, nodes under 1/MAX of the total go */
#define HTMLPAGE_SOURCE_MAX_BYTES (4u << 20)

void
htmlpage_str(Buf *b, const char *s, size_t n)
{
    buf_putc(b, '"');
    esc_json(b, s, n);
    buf_putc(b, '"');
}

void
htmlpage_cstr(Buf *b, const char *s)
{
    htmlpage_str(b, s, strlen(s));
}

void
htmlpage_pstr(Buf *b, const Profile *p, StrId id)
{
    htmlpage_str(b, profile_strp(p, id), profile_strlen(p, id));
}

void
htmlpage_num(Buf *b, double v)
{
    if (isfinite(v))
        buf_printf(b, "%.6g", v);
    else
        buf_puts(b, "null");
}

void
htmlpage_head(Buf *b, const Profile *p, const char *kind, const char *title, const char *lead,
              const char *unit)
{
    Buf sub;
    buf_init(&sub);
    buf_puts(&sub, lead);
    if (profile_info_c(p)->duration_ns > 0)
        buf_printf(&sub, " over %.2f s", (double)profile_info_c(p)->duration_ns / 1e9);
    buf_printf(&sub, ", %zu thread%s", profile_nthreads(p), profile_nthreads(p) == 1 ? "" : "s");
    const char *py = profile_meta_get(p, "python_version");
    if (py)
        buf_printf(&sub, ", Python %s", py);
    buf_printf(b, "{\"version\":1,\"kind\":\"%s\",\"diff\":false,\"title\":", kind);
    htmlpage_cstr(b, title);
    buf_puts(b, ",\"subtitle\":");
    htmlpage_str(b, sub.data ? sub.data : "", sub.len);
    buf_printf(b, ",\"unit\":\"%s\",\"sample_ns\":0,", unit);
    if (buf_failed(&sub))
        b->failed = true;
    buf_fini(&sub);
}

void
htmlpage_append(Buf *dst, const Buf *src)
{
    buf_append(dst, src->data, src->len);
    if (buf_failed(src))
        dst->failed = true;
}

void
htmlpage_funcs(Buf *b, const FlameView *v, size_t nfuncs)
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
                htmlpage_str(b, f.name, f.name_len);
            else if (k == 1)
                htmlpage_str(b, f.kind == FRAME_PY ? f.file : "",
                             f.kind == FRAME_PY ? f.file_len : 0);
            else
                buf_printf(b, "%d", k == 2 ? (int)f.line : (int)f.kind);
        }
        buf_putc(b, ']');
    }
    buf_puts(b, "},");
}

int
htmlpage_nodes(Buf *b, const FlameView *v, bool counts, Err *err)
{
    const FlameTree *t = v->tree;
    int s = v->side;
    uint32_t *order;
    if (flame_order(t, s, &order, err) < 0)
        return -1;
    int64_t min =
        t->n > HTMLPAGE_MAX_NODES ? t->nodes[FLAME_ROOT].total[s] / HTMLPAGE_MAX_NODES : 0;
    if (min < 1)
        min = 1;
    static const char *const keys[] = {"func", "depth", "total", "self", "total_base", "self_base"};
    static const char *const count_keys[] = {"count", "selfCount"};
    int nkeys = v->diff || counts ? 6 : 4;
    double max_delta = 0;
    buf_puts(b, "\"nodes\":{");
    for (int k = 0; k < nkeys; k++) {
        buf_printf(b, "%s\"%s\":[", k ? "," : "", k >= 4 && !v->diff ? count_keys[k - 4] : keys[k]);
        bool first = true;
        for (size_t j = 0; j < t->n; j++) {
            const FlameNode *n = &t->nodes[order[j]];
            if (order[j] != FLAME_ROOT && n->total[s] < min)
                continue;
            if (!first)
                buf_putc(b, ',');
            first = false;
            /* a diff's base is side 0 (the view draws side 1); a count is side 1 */
            int other = v->diff ? 0 : 1;
            switch (k) {
            case 0:
                buf_printf(b, "%u", order[j] == FLAME_ROOT ? 0 : n->func);
                break;
            case 1:
                buf_printf(b, "%u", n->depth);
                break;
            case 2:
                buf_printf(b, "%" PRId64, n->total[s]);
                break;
            case 3:
                buf_printf(b, "%" PRId64, n->self[s]);
                break;
            case 4:
                buf_printf(b, "%" PRId64, n->total[other]);
                break;
            default:
                buf_printf(b, "%" PRId64, n->self[other]);
                break;
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
    htmlpage_num(b, max_delta);
    buf_putc(b, ',');
    free(order);
    return 0;
}

int
htmlpage_flame(FlameProfile *fp, const Profile *p, SeriesId weight, SeriesId count,
               int64_t **counts, int64_t *ncount, Err *err)
{
    *counts = NULL;
    if (flame_profile_build(fp, p, weight, 0, 0, "", err) < 0)
        return -1;
    size_t ns = profile_nstacks(p);
    int64_t *c = malloc((ns ? ns : 1) * sizeof *c);
    if (!c) {
        flame_profile_fini(fp);
        return err_set(err, ERR_NOMEM, "out of memory writing the HTML report");
    }
    ProfFilter f;
    profile_filter_init(&f);
    f.series = count;
    *ncount = profile_self_weights(p, &f, c);
    if (flame_add(&fp->tree, p, c, fp->sum.func_of_frame, 1, err) < 0) {
        free(c);
        flame_profile_fini(fp);
        return -1;
    }
    flame_fold(&fp->tree);
    *counts = c;
    return 0;
}

/* The index of file in the texts table, adding it (or -1 when the table is full). */
static int
text_slot(HtmlTexts *t, StrId file, int32_t max_line)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->file[i] == file) {
            if (max_line > t->max_line[i])
                t->max_line[i] = max_line;
            return (int)i;
        }
    }
    if (t->n == HTMLPAGE_MAX_TEXTS)
        return -1;
    t->file[t->n] = file;
    t->max_line[t->n] = max_line;
    return (int)t->n++;
}

/* The source of `file` when it can be embedded (a readable regular file of reasonable
 * size), open for reading; else NULL. */
static FILE *
open_source(const char *file)
{
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > HTMLPAGE_SOURCE_MAX_BYTES)
        return NULL;
    return fopen(file, "rb");
}

static bool
readable(const Profile *p, StrId file)
{
    FILE *f = open_source(profile_strp(p, file));
    if (f)
        fclose(f);
    return f != NULL;
}

int
htmlpage_sources(Buf *b, const Profile *p, HtmlLine *lines, size_t n, const HtmlOrder *order,
                 int ncols, HtmlTexts *texts, Err *err)
{
    HtmlFile *files;
    size_t nf;
    if (htmldata_group_lines(lines, &n, order, &files, &nf, err) < 0)
        return -1;
    if (order->readable_first) { /* a stable partition of the files to show */
        size_t k = 0;
        for (size_t i = 0; i < nf && k < HTMLPAGE_SOURCE_FILES; i++) {
            if (!readable(p, files[i].file))
                continue;
            HtmlFile f = files[i];
            memmove(files + k + 1, files + k, (i - k) * sizeof *files);
            files[k++] = f;
        }
    }
    buf_puts(b, "\"sources\":[");
    for (size_t f = 0; f < nf && f < HTMLPAGE_SOURCE_FILES; f++) {
        buf_puts(b, f ? ",{\"file\":" : "{\"file\":");
        htmlpage_pstr(b, p, files[f].file);
        buf_printf(b, ",\"text\":%d,\"rank\":%" PRId64 ",\"heat\":[",
                   text_slot(texts, files[f].file, files[f].max_line + 3), files[f].rank);
        for (size_t i = 0; i < files[f].n; i++) {
            const HtmlLine *l = &lines[files[f].first + i];
            buf_printf(b, "%s[%d", i ? "," : "", (int)l->line);
            for (int c = 0; c < ncols; c++)
                buf_printf(b, ",%" PRId64, l->v[c]);
            buf_putc(b, ']');
        }
        buf_puts(b, "]}");
    }
    buf_puts(b, "],");
    free(files);
    return 0;
}

/* The source text of `file`, if it is a readable regular file of reasonable size: lines
 * 1..max_line as a JSON array, else null. */
static void
put_source_text(Buf *b, const char *file, int32_t max_line)
{
    FILE *f = open_source(file);
    if (!f) {
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
        htmlpage_str(b, cur.data ? cur.data : "", cur.len);
        buf_reset(&cur);
    }
    buf_fini(&cur);
    fclose(f);
    buf_putc(b, ']');
}

void
htmlpage_texts(Buf *b, const Profile *p, const HtmlTexts *texts)
{
    buf_puts(b, "\"texts\":[");
    for (size_t i = 0; i < texts->n; i++) {
        if (i)
            buf_putc(b, ',');
        put_source_text(b, profile_strp(p, texts->file[i]), texts->max_line[i]);
    }
    buf_puts(b, "],");
}

void
htmlpage_fact(Buf *b, bool *first, const char *label, const Buf *value)
{
    buf_puts(b, *first ? "[" : ",[");
    *first = false;
    htmlpage_cstr(b, label);
    buf_putc(b, ',');
    htmlpage_str(b, value->data ? value->data : "", value->len);
    buf_putc(b, ']');
}

void
htmlpage_meta(Buf *b, const Profile *p)
{
    const ProfileInfo *in = profile_info_c(p);
    static const char *const kinds[] = {"sampled", "memory", "trace"};
    buf_puts(b, "\"meta\":[[\"profile kind\",");
    htmlpage_cstr(b, in->kind <= PROFILE_TRACE ? kinds[in->kind] : "?");
    buf_puts(b, "]");
    if (in->interval_ns > 0) /* a memory profile's is its timeline's */
        buf_printf(b, ",[\"%s interval\",\"%.3f ms (%.0f Hz)\"]",
                   in->kind == PROFILE_MEMORY ? "timeline" : "sampling",
                   (double)in->interval_ns / 1e6, 1e9 / (double)in->interval_ns);
    if (in->duration_ns > 0)
        buf_printf(b, ",[\"duration\",\"%.3f s\"]", (double)in->duration_ns / 1e9);
    buf_printf(b, ",[\"samples dropped\",\"%" PRIu64 "\"]", in->dropped);
    buf_printf(b, ",[\"threads\",\"%zu\"],[\"processes\",\"%zu\"]", profile_nthreads(p),
               profile_nprocs(p));
    for (size_t i = 0; i < profile_nmeta(p); i++) {
        const char *k, *v;
        profile_meta_at(p, i, &k, &v);
        buf_puts(b, ",[");
        htmlpage_cstr(b, k);
        buf_putc(b, ',');
        htmlpage_cstr(b, v);
        buf_putc(b, ']');
    }
    buf_puts(b, "]");
}

int
htmlpage_emit(const char *title, const Buf *data, FILE *out, Err *err)
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
             fwrite(data->data, 1, data->len, out) != data->len || fputs(d + 6, out) == EOF)
        rc = err_sys(err, errno, "writing the HTML report");
    buf_fini(&b);
    return rc;
}

const char *
htmlpage_title(const Profile *p, const ReportOptions *opt)
{
    const char *cmd = profile_meta_get(p, "command");
    return opt->title ? opt->title : cmd ? cmd : "ferret profile";
}
