/* SPDX-License-Identifier: MIT */
/* inject.c: finding ferret's Python library, preparing a child's environment, and reading
 * back what the injected boot function reported. See inject.h and docs/INJECTION.md. */
#include "cli/inject.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *
join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static bool
is_lib(const char *dir)
{
    char *shim = join(dir, "inject/sitecustomize.py");
    bool ok = shim && access(shim, R_OK) == 0;
    free(shim);
    return ok;
}

static int
find_lib(char **out, Err *err)
{
    const char *env = getenv("FERRET_LIBDIR");
    if (env && *env) {
        if (!is_lib(env))
            return err_set(err, ERR_USAGE,
                           "FERRET_LIBDIR=%s holds no ferret library "
                           "(no inject/sitecustomize.py)",
                           env);
        *out = strdup(env);
        return *out ? 0 : err_set(err, ERR_NOMEM, "out of memory");
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return err_sys(err, errno, "finding ferret's own path");
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    static const char *rel[] = {"lib/ferret", "../lib/ferret"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char *dir = join(exe, rel[i]);
        if (!dir)
            return err_set(err, ERR_NOMEM, "out of memory");
        char real[PATH_MAX];
        if (is_lib(dir) && realpath(dir, real)) {
            free(dir);
            *out = strdup(real);
            return *out ? 0 : err_set(err, ERR_NOMEM, "out of memory");
        }
        free(dir);
    }
    return err_set(err, ERR_UNSUPPORTED,
                   "ferret's Python library is missing (looked in %s/lib/ferret and "
                   "%s/../lib/ferret): run `make`, or set FERRET_LIBDIR",
                   exe, exe);
}

int
inject_init(Inject *inj, Err *err)
{
    memset(inj, 0, sizeof *inj);
    if (find_lib(&inj->libdir, err) < 0)
        return -1;
    const char *tmp = getenv("TMPDIR");
    char *templ = join(tmp && *tmp ? tmp : "/tmp", "ferret-XXXXXX");
    if (!templ) {
        inject_fini(inj);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (!mkdtemp(templ)) {
        int e = errno;
        free(templ);
        inject_fini(inj);
        return err_sys(err, e, "creating a temporary directory");
    }
    inj->rundir = templ;
    inj->status_path = join(templ, "status");
    if (!inj->status_path) {
        inject_fini(inj);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    return 0;
}

void
inject_fini(Inject *inj)
{
    if (inj->rundir) {
        DIR *d = opendir(inj->rundir);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                char *p = join(inj->rundir, e->d_name);
                if (p)
                    unlink(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(inj->rundir);
    }
    free(inj->libdir);
    free(inj->rundir);
    free(inj->status_path);
    memset(inj, 0, sizeof *inj);
}

int
inject_setenv(const Inject *inj, const char *boot, Err *err)
{
    char *shim = join(inj->libdir, "inject");
    char *pkg = join(inj->libdir, "python");
    if (!shim || !pkg) {
        free(shim);
        free(pkg);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    const char *old = getenv("PYTHONPATH");
    size_t n = strlen(shim) + (old ? strlen(old) : 0) + 2;
    char *path = malloc(n);
    int rc = 0;
    if (!path) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
    } else {
        snprintf(path, n, "%s%s%s", shim, old && *old ? ":" : "", old && *old ? old : "");
        if (setenv("PYTHONPATH", path, 1) != 0 || setenv("FERRET_PYTHONPATH", pkg, 1) != 0 ||
            setenv("FERRET_BOOT", boot, 1) != 0 ||
            setenv("FERRET_STATUS", inj->status_path, 1) != 0)
            rc = err_sys(err, errno, "setting the environment");
    }
    free(path);
    free(shim);
    free(pkg);
    return rc;
}

InjectState
inject_status(const Inject *inj, char *msg, size_t n)
{
    if (n)
        msg[0] = '\0';
    FILE *f = fopen(inj->status_path, "r");
    if (!f)
        return INJECT_NONE;
    char line[2048];
    InjectState st = INJECT_NONE;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "started ", 8) == 0) {
            st = INJECT_STARTED;
        } else if (strcmp(line, "done") == 0) {
            if (st != INJECT_ERROR)
                st = INJECT_DONE;
        } else if (strncmp(line, "error ", 6) == 0) {
            st = INJECT_ERROR;
            const char *m = line + 6;
            if (strncmp(m, "ferret: ", 8) == 0)
                m += 8;
            snprintf(msg, n, "%s", m);
        }
    }
    fclose(f);
    return st;
}
