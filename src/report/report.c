/* SPDX-License-Identifier: MIT */
/* report.c: the format registry and atomic output files shared by every writer. */
#include "report/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (report_write_atomic(path, writer_cb, &c, err) < 0)
        return err_context(err, "writing %s report to %s", w->name, path);
    return 0;
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
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        free(tmp);
        return err_sys(err, e, "cannot create %s", path);
    }
    int rc = write(ctx, f, err);
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = err_sys(err, errno, "writing %s", path);
    if (rc == 0 && fsync(fileno(f)) != 0 && errno != EINVAL)
        rc = err_sys(err, errno, "writing %s", path);
    if (fclose(f) != 0 && rc == 0)
        rc = err_sys(err, errno, "writing %s", path);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = err_sys(err, errno, "renaming %s to %s", tmp, path);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
