/* SPDX-License-Identifier: MIT */
/* inject.c: finding ferret's Python library, preparing a child's environment, running it
 * with signals passed on, and reading back what the injected boot function reported.
 * See inject.h and docs/INJECTION.md. */
#include "cli/inject.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
            return err_set(err, ERR_USAGE, "FERRET_LIBDIR=%s holds no ferret library "
                                           "(no inject/sitecustomize.py)", env);
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
                   "%s/../lib/ferret): run `make`, or set FERRET_LIBDIR", exe, exe);
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

/* The file execvp would run for cmd, or NULL. */
static char *
resolve(const char *cmd)
{
    if (strchr(cmd, '/'))
        return access(cmd, X_OK) == 0 ? strdup(cmd) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *p = join(*dir ? dir : ".", cmd);
        struct stat st;
        if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
            free(copy);
            return p;
        }
        free(p);
    }
    free(copy);
    return NULL;
}

/* Does this native executable contain a Python interpreter? Every CPython 3.9+ `python`
 * calls Py_BytesMain (Programs/python.c); programs embedding Python call Py_Initialize*
 * (the names sit in the dynamic symbol table, whether libpython is linked statically or
 * not). */
static bool
elf_has_python(int fd, size_t size)
{
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return true; /* cannot tell: let the run decide */
    bool found = memmem(map, size, "Py_BytesMain", 12) || memmem(map, size, "Py_Initialize", 13);
    munmap(map, size);
    return found;
}

int
inject_check_command(const char *cmd, Err *err)
{
    char *path = resolve(cmd);
    if (!path)
        return err_set(err, ERR_USAGE, "%s: %s", cmd,
                       strchr(cmd, '/') ? "no such executable file" : "command not found");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(path);
        return err_sys(err, e, "cannot read %s", cmd);
    }
    struct stat st;
    unsigned char head[4] = {0};
    int rc = 0;
    if (fstat(fd, &st) == 0 && read(fd, head, sizeof head) == (ssize_t)sizeof head &&
        memcmp(head, "\177ELF", 4) == 0 && !elf_has_python(fd, (size_t)st.st_size))
        rc = err_set(err, ERR_NOTPY,
                     "%s%s%s%s is not a Python program; run the interpreter, e.g. "
                     "`ferret trace -- python3 app.py`",
                     cmd, strcmp(cmd, path) ? " (" : "", strcmp(cmd, path) ? path : "",
                     strcmp(cmd, path) ? ")" : "");
    close(fd);
    free(path);
    return rc;
}

static volatile sig_atomic_t pending_signal;

static void
on_signal(int sig)
{
    pending_signal = sig;
}

int
inject_run(char **argv, int *exit_status, Err *err)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return err_sys(err, errno, "creating a pipe");
    static const int handled[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
    struct sigaction sa, old[4];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 4; i++)
        sigaction(handled[i], &sa, &old[i]);
    pending_signal = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        for (size_t i = 0; i < 4; i++)
            sigaction(handled[i], &old[i], NULL);
        return err_sys(err, e, "starting %s", argv[0]);
    }
    if (pid == 0) {
        for (size_t i = 0; i < 4; i++)
            sigaction(handled[i], &old[i], NULL);
        close(pipefd[0]);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pipefd[1]);
    int exec_errno = 0;
    ssize_t got;
    do
        got = read(pipefd[0], &exec_errno, sizeof exec_errno);
    while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    int status = 0, rc = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, 0);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            rc = err_sys(err, errno, "waiting for %s", argv[0]);
            break;
        }
        int sig = pending_signal;
        pending_signal = 0;
        if (sig == SIGTERM || sig == SIGHUP)
            kill(pid, sig);
    }
    for (size_t i = 0; i < 4; i++)
        sigaction(handled[i], &old[i], NULL);
    if (rc < 0)
        return -1;
    if (got == (ssize_t)sizeof exec_errno && exec_errno)
        return err_sys(err, exec_errno, "cannot run %s", argv[0]);
    if (WIFEXITED(status))
        *exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        *exit_status = 128 + WTERMSIG(status);
    else
        *exit_status = 1;
    return 0;
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
