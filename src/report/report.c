/* SPDX-License-Identifier: MIT */
/* report.c: the format registry and atomic output files shared by every writer. */
#include "report/report.h"
#include "util/outpath.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/escape.h"

static const ReportWriter *const writers[] = {
#define X(sym) &report_##sym,
    REPORT_FORMATS(X)
#undef X
};

const ReportWriter *
report_find(const char *name)
{
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
        if (strcmp(writers[i]->name, name) == 0)
            return writers[i];
    return NULL;
}

const char *
report_format_for_path(const char *path, ProfileKind kind)
{
    static const struct {
        const char *ext, *format;
    } by_ext[] = {
        {".speedscope.json", "speedscope"}, /* before .json */
        {".trace.json", "chrome"},
        {".ferret", "ferret"},
        {".html", "html"},
        {".svg", "svg"},
        {".pb.gz", "pprof"},
        {".pb", "pprof"},
        {".pprof", "pprof"},
        {".prof", "pstats"},
        {".pstats", "pstats"},
        {".folded", "collapsed"},
        {".collapsed", "collapsed"},
        {".txt", "text"},
        {".json", NULL}, /* by kind, below */
    };
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof by_ext / sizeof by_ext[0]; i++) {
        size_t m = strlen(by_ext[i].ext);
        if (n > m && strcmp(path + n - m, by_ext[i].ext) == 0)
            /* a trace's .json is a timeline for chrome://tracing and Perfetto, as viztracer's */
            return by_ext[i].format ? by_ext[i].format : kind == PROFILE_TRACE ? "chrome" : "json";
    }
    return NULL;
}

const ReportWriter *
report_format_at(size_t i)
{
    return i < sizeof writers / sizeof writers[0] ? writers[i] : NULL;
}

void
report_filter(const ReportOptions *opt, ProfFilter *f)
{
    profile_filter_init(f);
    f->series = opt->series;
    f->flags_mask = opt->flags_mask;
    f->flags_want = opt->flags_want;
}

const char *
report_format_list(void)
{
    static char list[256];
    if (!list[0]) {
        size_t off = 0;
        for (size_t i = 0; i < sizeof writers / sizeof writers[0] && off < sizeof list; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
                                    writers[i]->name);
    }
    return list;
}

const char *
report_format_list_for(ProfileKind kind)
{
    static char lists[3][256];
    char *list = lists[kind <= PROFILE_TRACE ? kind : PROFILE_SAMPLED];
    if (!list[0]) {
        size_t off = 0;
        for (size_t i = 0; i < sizeof writers / sizeof writers[0] && off < sizeof lists[0]; i++) {
            Err err;
            if (report_check_kind(writers[i], kind, kind != PROFILE_MEMORY, &err) == 0)
                off += (size_t)snprintf(list + off, sizeof lists[0] - off, "%s%s", off ? ", " : "",
                                        writers[i]->name);
        }
    }
    return list;
}

int
report_check_kind(const ReportWriter *w, ProfileKind kind, bool timeline, Err *err)
{
    return w->check ? w->check(kind, timeline, err) : 0;
}

int
report_check(const ReportWriter *w, const Profile *p, Err *err)
{
    ProfileKind kind = profile_info_c(p)->kind;
    SeriesId spans;
    bool timeline = kind == PROFILE_SAMPLED ||
                    (kind == PROFILE_TRACE && profile_series_find(p, "spans", &spans));
    return report_check_kind(w, kind, timeline, err);
}

void
report_options_init(ReportOptions *opt, const Profile *p)
{
    memset(opt, 0, sizeof *opt);
    opt->top = 15;
    const char *mode = profile_meta_get(p, "mode");
    if (mode && strcmp(mode, "cpu") == 0) {
        opt->flags_mask |= SAMPLE_ON_CPU;
        opt->flags_want |= SAMPLE_ON_CPU;
    }
    const char *gil = profile_meta_get(p, "gil");
    if (gil && strcmp(gil, "1") == 0) {
        opt->flags_mask |= SAMPLE_HAS_GIL;
        opt->flags_want |= SAMPLE_HAS_GIL;
    }
}

typedef struct {
    const ReportWriter *w;
    const Profile *p;
    const ReportOptions *opt;
} WriterCtx;

static int
writer_cb(void *ctx, FILE *out, Err *err)
{
    WriterCtx *c = ctx;
    return c->w->write(c->p, c->opt, out, err);
}

int
report_write_path(const ReportWriter *w, const Profile *p, const ReportOptions *opt,
                  const char *path, Err *err)
{
    WriterCtx c = {w, p, opt};
    if (report_check(w, p, err) < 0)
        return -1;
    if (report_write_atomic(path, writer_cb, &c, err) < 0) {
        char what[64];
        snprintf(what, sizeof what, "%s report", w->name);
        return report_write_failed(err, what, path);
    }
    return 0;
}

int
report_write_failed(Err *err, const char *what, const char *path)
{
    if (strcmp(path, "-") != 0)
        return err_context(err, "writing %s to %s", what, path);
    if (err->sys_errno) /* the writer's own words ("writing the text report") add nothing */
        return err_sys(err, err->sys_errno, "writing the %s to standard output", what);
    return err_context(err, "writing the %s to standard output", what);
}

int
report_write_atomic(const char *path, int (*write)(void *ctx, FILE *out, Err *err), void *ctx,
                    Err *err)
{
    if (strcmp(path, "-") == 0) {
        if (write(ctx, stdout, err) < 0)
            return -1;
        if (fflush(stdout) != 0 || ferror(stdout))
            return err_sys(err, errno, "writing to standard output");
        return 0;
    }
    /* a regular file is written beside it (FILE.tmp) and renamed over it once complete; a
     * device, FIFO or link is written in place, never replaced */
    char *tmp;
    if (outpath_staging(path, &tmp, err) < 0)
        return -1;
    FILE *f = fopen(tmp ? tmp : path, "wb");
    if (!f) {
        int e = errno;
        bool created = tmp != NULL;
        free(tmp);
        char cwd[16];
        if (e == ENOENT && !strchr(path, '/') && !getcwd(cwd, sizeof cwd) && errno == ENOENT)
            return err_set(err, ERR_IO, "cannot create %s: the current directory was removed",
                           path);
        return err_sys(err, e, "cannot %s %s", created ? "create" : "write", path);
    }
    int rc = write(ctx, f, err);
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = err_sys(err, errno, "writing %s", path);
    if (rc == 0 && tmp && fsync(fileno(f)) != 0 && errno != EINVAL)
        rc = err_sys(err, errno, "writing %s", path);
    if (fclose(f) != 0 && rc == 0)
        rc = err_sys(err, errno, "writing %s", path);
    if (tmp) {
        if (rc == 0 && rename(tmp, path) != 0)
            rc = err_sys(err, errno, "renaming %s to %s", tmp, path);
        if (rc != 0)
            unlink(tmp);
        free(tmp);
    }
    return rc;
}

char *
report_default_path(const char *stem, const ReportWriter *w, Err *err)
{
    char base[64];
    size_t n;
    if (stem) {
        n = strlen(stem);
        if (n > 7 && strcmp(stem + n - 7, ".ferret") == 0)
            n -= 7;
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(base, sizeof base, "ferret-%Y%m%d-%H%M%S", &tm);
        stem = base;
        n = strlen(base);
    }
    size_t cap = n + strlen(w->extension) + 16;
    char *path = malloc(cap);
    if (!path) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(path, cap, "%.*s%s", (int)n, stem, w->extension);
    struct stat st;
    for (int i = 2; stem == base && stat(path, &st) == 0 && i < 1000; i++)
        snprintf(path, cap, "%.*s-%d%s", (int)n, stem, i, w->extension);
    return path;
}

void
report_fmt_weight(Buf *b, const char *unit, double scale, int64_t w)
{
    if (strcmp(unit, "bytes") == 0) {
        double v = (double)w;
        const char *suffix[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while ((v >= 1024 || v <= -1024) && i < 4) {
            v /= 1024;
            i++;
        }
        buf_printf(b, i ? "%.1f %s" : "%.0f %s", v, suffix[i]);
    } else if (strcmp(unit, "ns") == 0 || scale > 0) {
        double s = strcmp(unit, "ns") == 0 ? (double)w / 1e9 : (double)w * scale;
        if (s >= 1 || s == 0)
            buf_printf(b, "%.2fs", s);
        else if (s >= 1e-3)
            buf_printf(b, "%.1fms", s * 1e3);
        else
            buf_printf(b, "%.1fus", s * 1e6);
    } else {
        buf_printf(b, "%lld", (long long)w);
    }
}


void
report_thread_json(Buf *b, const Profile *p, ThreadId t)
{
    const ProfThread *th = profile_thread_at(p, t);
    if (th->name != PROFILE_EMPTY)
        esc_json(b, profile_strp(p, th->name), profile_strlen(p, th->name));
    else
        buf_puts(b, "thread");
    if (profile_nprocs(p) > 1)
        buf_printf(b, " (pid %d, tid %" PRIu64 ")", (int)profile_proc_at(p, th->proc)->pid,
                   th->tid);
    else
        buf_printf(b, " (tid %" PRIu64 ")", th->tid);
}
