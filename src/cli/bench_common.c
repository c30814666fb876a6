/* SPDX-License-Identifier: MIT */
/* bench_common.c: helpers shared by cmd_bench.c, cmd_compare.c and cmd_history.c. */
#include "cli/bench_common.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/report.h"
#include "util/escape.h"
#include "util/outpath.h"

volatile sig_atomic_t bench_stop;

static void
on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

void
bench_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
bench_db_path(const char *opt, const char **db, Err *err)
{
    if (opt && !*opt) /* SQLite would make a temporary database and throw it away */
        return err_set(err, ERR_USAGE, "--db: empty path (give the history database's file)");
    const char *env = getenv("FERRET_DB");
    *db = opt ? opt : env && *env ? env : BENCH_DEFAULT_DB;
    return 0;
}

/* "DIR/NAME" with DIR resolved, for a path whose file may not exist yet. */
static bool
resolved(const char *path, char *out, size_t n)
{
    char *copy = strdup(path);
    if (!copy)
        return false;
    char *slash = strrchr(copy, '/');
    const char *name = slash ? slash + 1 : copy, *dir = ".";
    if (slash) {
        *slash = '\0';
        dir = *copy ? copy : "/";
    }
    char real[PATH_MAX];
    bool ok = realpath(dir, real) && snprintf(out, n, "%s/%s", real, name) < (int)n;
    free(copy);
    return ok;
}

/* Do a and b name the same file (by inode when both exist, else by resolved path)? */
static bool
same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ra[PATH_MAX + NAME_MAX + 2], rb[PATH_MAX + NAME_MAX + 2];
    return resolved(a, ra, sizeof ra) && resolved(b, rb, sizeof rb) && strcmp(ra, rb) == 0;
}

void
bench_print_detail(const char *detail)
{
    if (!detail || !*detail)
        return;
    Buf b;
    buf_init(&b);
    const char *p = detail;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        buf_puts(&b, "  ");
        esc_text(&b, p, n, 0);
        buf_putc(&b, '\n');
        p += n + (nl ? 1 : 0);
    }
    if (b.data)
        fputs(b.data, stderr);
    buf_fini(&b);
}

static int
write_buf(void *ctx, FILE *out, Err *err)
{
    const Buf *b = ctx;
    if (b->len && fwrite(b->data, 1, b->len, out) != b->len)
        return err_sys(err, errno, "writing");
    return 0;
}

int
bench_check_output(const char *path, const char *db, Err *err)
{
    if (path && strcmp(path, "-") != 0 && same_file(path, db))
        return err_set(err, ERR_USAGE,
                       "%s is the history database (--db): write the output to another file", path);
    return outpath_check(path, err);
}

int
bench_write_output(const char *path, const Buf *b, Err *err)
{
    return report_write_atomic(path, write_buf, (void *)b, err);
}

int
bench_read_file(const char *path, char **out, size_t *len, Err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_sys(err, errno, "cannot open %s", path);
    Buf b;
    buf_init(&b);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        buf_append(&b, tmp, n);
        if (b.len > (256u << 20)) {
            fclose(f);
            buf_fini(&b);
            return err_set(err, ERR_FORMAT, "%s: too large for a result file", path);
        }
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr) {
        buf_fini(&b);
        return err_sys(err, rerr, "reading %s", path);
    }
    if (buf_failed(&b)) {
        buf_fini(&b);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    *len = b.len;
    *out = b.data ? buf_steal(&b, NULL) : strdup("");
    buf_fini(&b);
    return *out ? 0 : err_set(err, ERR_NOMEM, "out of memory");
}
