/* SPDX-License-Identifier: MIT */
/* memhook.c: libferret_mem.so, the library `ferret mem` preloads into the target. It
 * interposes malloc & co, mmap/munmap/mremap, _exit and the exec family; wraps Python's MEM and OBJ
 * allocator domains with PyMem_SetAllocator from its constructor, before the interpreter
 * allocates anything; runs a writer thread that ticks the timeline and streams the
 * tracker's chunks to the file the CLI named; and takes the exit snapshot from Python's
 * atexit (registered from an audit hook as the main program starts, or else through a
 * pending call), from _exit, from exec, or from its destructor.
 * The bookkeeping is tracker.c's; this file is the glue. It never exits or aborts the
 * process: on any failure it stops tracking and the program runs on. Called by the
 * dynamic loader (constructor), the target's allocations, and Python's atexit. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mem/sampling.h"
#include "mem/tracker.h"
#include "profile/memstream.h"
#include "layouts/layout.h"
#include "sampler/pyself.h"
#include "util/buf.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))

#define FLUSH_NS 500000000LL          /* stream chunks at least twice a second */
#define WRITER_RESTART_NS 20000000LL  /* after a fork, wait this long before a new writer */
#define PYSELF_RETRY_NS 2000000LL     /* how often to look for the interpreter again */

/* --- the real allocator ----------------------------------------------------------- */

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable)(void *);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    void *(*mmap64)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
    void (*exit_)(int) __attribute__((noreturn));
    void (*Exit_)(int) __attribute__((noreturn));
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*execveat)(int, const char *, char *const[], char *const[], int);
} real;

/* Memory handed out while the real functions are being looked up (dlsym may allocate).
 * Never freed; each block starts with its size so realloc can copy it. */
static _Alignas(16) char boot_buf[1 << 16];
static atomic_size_t boot_used;
static int resolving;

static bool
boot_owns(const void *p)
{
    return (const char *)p >= boot_buf && (const char *)p < boot_buf + sizeof boot_buf;
}

static void *
boot_alloc(size_t n)
{
    size_t need = (n + 16 + 15) & ~(size_t)15;
    size_t at = atomic_fetch_add(&boot_used, need);
    if (at + need > sizeof boot_buf)
        return NULL;
    memcpy(boot_buf + at, &n, sizeof n);
    return boot_buf + at + 16;
}

static size_t
boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - 16, sizeof n);
    return n;
}

#define RESOLVE(field, name) real.field = (__typeof__(real.field))dlsym(RTLD_NEXT, name)

static void
resolve_real(void)
{
    if (real.malloc || resolving)
        return;
    resolving = 1;
    RESOLVE(free, "free");
    RESOLVE(calloc, "calloc");
    RESOLVE(realloc, "realloc");
    RESOLVE(posix_memalign, "posix_memalign");
    RESOLVE(aligned_alloc, "aligned_alloc");
    RESOLVE(memalign, "memalign");
    RESOLVE(valloc, "valloc");
    RESOLVE(pvalloc, "pvalloc");
    RESOLVE(usable, "malloc_usable_size");
    RESOLVE(mmap, "mmap");
    RESOLVE(mmap64, "mmap64");
    RESOLVE(munmap, "munmap");
    RESOLVE(mremap, "mremap");
    RESOLVE(exit_, "_exit");
    RESOLVE(Exit_, "_Exit");
    RESOLVE(execve, "execve");
    RESOLVE(execv, "execv");
    RESOLVE(execvp, "execvp");
    RESOLVE(execvpe, "execvpe");
    RESOLVE(fexecve, "fexecve");
    RESOLVE(execveat, "execveat");
    void *(*m)(size_t) = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    resolving = 0;
    __atomic_store_n(&real.malloc, m, __ATOMIC_RELEASE);
}

/* --- state --------------------------------------------------------------------------- */

enum { ST_OFF = 0, ST_ON = 1, ST_DONE = 2 };

static atomic_int g_state; /* ST_ON while this process is being recorded */
static Tracker *g_tracker;
static bool g_exact;
static double g_mean;
static pid_t g_pid;

/* A file ferret keeps open in the target, and which file it is: a program that closes
 * descriptors it does not own (os.closerange(3, N), a daemon) closes ferret's too, and the
 * next file it opens may get the same number. own_fd checks before each use and opens the
 * file again by name when the descriptor is no longer it, so nothing is written into the
 * program's files and nothing recorded is lost. Used by one thread at a time: the writer,
 * or whoever stopped it. */
typedef struct {
    const char *path;
    int flags;
    bool same_inode; /* a reopened file must be the very file first opened */
    int fd;          /* -1: not open */
    dev_t dev;
    ino_t ino;
} OwnFile;

static char g_stream_path[PATH_MAX];
static OwnFile g_stream = {g_stream_path, O_WRONLY | O_APPEND, true, -1, 0, 0};
static OwnFile g_statm = {"/proc/self/statm", O_RDONLY, false, -1, 0, 0};
static int64_t g_interval_ns = 10000000;
static _Atomic(PySelf *) g_pyself;
static atomic_llong g_pyself_next_try;
static atomic_flag g_pyself_busy = ATOMIC_FLAG_INIT;

/* One word for both re-entrancy guards, so every check reads exactly what the last
 * increment wrote (separate fields read together stall store-to-load forwarding, which
 * cost more than the rest of the hook). */
#define G_INNER 1u          /* inside Python's allocator (or ferret's Python calls): heap only */
#define G_FERRET 0x10000u   /* inside ferret's own code: nothing is tracked, not even the heap */
#define G_INNER_MASK 0xffffu

/* A thread's cache of Python allocation sites: a 64-bit hash of the raw frames (code
 * object and instruction of each) -> the stack id the tracker gave that site. Stack ids
 * never change, so entries never go stale; a hit skips the site lookup under the lock.
 * Two different sites with the same 64-bit hash would share a stack: with a million
 * sites the chance is about 1 in 3e7. Heap-allocated (not TLS) to keep each thread's
 * static TLS, which comes out of its stack, small; freed when the thread exits. */
#define SITE_CACHE 1024
typedef struct {
    uint64_t key;
    uint32_t stack;
} SiteSlot;

typedef struct {
    uint32_t guard;
    bool streaming;  /* this thread holds g_stream_mu */
    ByteSampler s;   /* this thread's countdown */
    SiteSlot *sites; /* NULL until the thread's first attributed Python allocation */
} Tls;
static TLS Tls tls;
static pthread_key_t g_sites_key;
static bool g_sites_ok; /* the key exists */

/* Python's allocator table, PyMemAllocatorEx in Include/cpython/pymem.h: the same layout
 * in 3.5 through 3.13. Domains: 0 RAW, 1 MEM, 2 OBJ. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t n);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
} PyAlloc;

static PyAlloc py_orig[3], py_mine[3];

/* The few stable-ABI functions ferret calls, found in the executable or libpython. */
static struct {
    void (*get_allocator)(int, PyAlloc *);
    void (*set_allocator)(int, PyAlloc *);
    int (*is_initialized)(void);
    int (*add_pending_call)(int (*)(void *), void *);
    void *(*import_module)(const char *);
    void *(*cfunction_new)(void *def, void *self, void *module);
    void *(*call_method)(void *obj, const char *name, const char *format, ...);
    void (*decref)(void *);
    void (*incref)(void *);
    void (*err_clear)(void);
    const char *(*get_version)(void);
    void *(*get_frame)(void);
    int (*add_audit_hook)(int (*)(const char *, void *, void *), void *);
    void *none;
} py;

static atomic_bool g_atexit_asked; /* a registration was asked for or done: no more asks */
static bool g_atexit_done;         /* registered (or failed for good); main thread, with the GIL */

/* --- the writer thread ------------------------------------------------------------ */

static pthread_t g_writer;
static bool g_writer_running;
static pthread_mutex_t g_wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wcond;
static bool g_wstop;
static atomic_bool g_writer_restart; /* a fork stopped the writer; start a new one later */
static int64_t g_forked_at;

/* Held by whoever stops the writer to write the stream itself: the end (finish), exec and
 * fork; so only one of them writes at a time and the stream never gets two ends. */
static pthread_mutex_t g_stream_mu = PTHREAD_MUTEX_INITIALIZER;

/* Takes g_stream_mu; false (and nothing taken) when this thread holds it already: a signal
 * handler that exits or execs while its thread is ending must not wait for itself. */
static bool
stream_lock(void)
{
    if (tls.streaming)
        return false;
    pthread_mutex_lock(&g_stream_mu);
    tls.streaming = true;
    return true;
}

static void
stream_unlock(void)
{
    tls.streaming = false;
    pthread_mutex_unlock(&g_stream_mu);
}

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int open_high(const char *path, int flags);

/* The file's descriptor, opened again if the program closed it; -1 when it cannot be. A
 * descriptor that is no longer ferret's is the program's now: left alone, never closed. */
static int
own_fd(OwnFile *f)
{
    struct stat st;
    if (f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
        return f->fd;
    f->fd = open_high(f->path, f->flags);
    if (f->fd < 0)
        return -1;
    if (fstat(f->fd, &st) != 0 || (f->same_inode && (st.st_dev != f->dev || st.st_ino != f->ino))) {
        close(f->fd); /* the name is another file now */
        f->fd = -1;
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return f->fd;
}

static bool
write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Writes what the tracker has to say; on a write error recording stops for good. */
static void
flush_stream(bool last, MemEndReason reason)
{
    Buf b;
    Err err;
    buf_init(&b);
    int rc = last ? tracker_finish(g_tracker, reason, &b, &err) : tracker_flush(g_tracker, &b, &err);
    if (rc == 0 && b.len && !write_all(own_fd(&g_stream), b.data, b.len))
        atomic_store(&g_state, ST_DONE);
    buf_fini(&b);
}

static int64_t
read_rss(void)
{
    char buf[128];
    int fd = own_fd(&g_statm);
    if (fd < 0)
        return 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static void try_open_pyself(void);
static void ask_for_atexit(void);
static void check_py_hooks(void);

static void *
writer_main(void *arg)
{
    (void)arg;
    tls.guard = G_FERRET; /* everything this thread allocates is ferret's */
    int64_t next_tick = mono_ns(), next_flush = mono_ns() + FLUSH_NS; /* a point right away */
    for (;;) {
        pthread_mutex_lock(&g_wmu);
        while (!g_wstop) {
            int64_t now = mono_ns();
            if (now >= next_tick)
                break;
            struct timespec ts = {(time_t)(next_tick / 1000000000), (long)(next_tick % 1000000000)};
            pthread_cond_timedwait(&g_wcond, &g_wmu, &ts);
        }
        bool stop = g_wstop;
        pthread_mutex_unlock(&g_wmu);
        if (stop || atomic_load(&g_state) != ST_ON)
            break;
        int64_t now = mono_ns();
        next_tick += g_interval_ns;
        if (next_tick < now) /* fell behind (a stopped process): don't catch up */
            next_tick = now + g_interval_ns;
        tracker_tick(g_tracker, read_rss());
        if (!atomic_load_explicit(&g_pyself, memory_order_acquire))
            try_open_pyself();
        ask_for_atexit();
        if (now >= next_flush) {
            flush_stream(false, 0);
            next_flush = now + FLUSH_NS;
        }
    }
    return NULL;
}

/* Starts the writer with every signal blocked, so the program's signals go to its own
 * threads. Called with tls.ferret set. */
static void
start_writer(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    g_wstop = false;
    g_writer_running = pthread_create(&g_writer, NULL, writer_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
stop_writer(void)
{
    if (!g_writer_running)
        return;
    pthread_mutex_lock(&g_wmu);
    g_wstop = true;
    pthread_cond_signal(&g_wcond);
    pthread_mutex_unlock(&g_wmu);
    if (!pthread_equal(pthread_self(), g_writer))
        pthread_join(g_writer, NULL);
    g_writer_running = false;
}

/* After a fork the writer is restarted lazily, from the allocation path once a little
 * time has passed: Python 3.12+ counts the process's threads right after fork() returns
 * and warns if there is more than one, so the writer must not be back by then. */
static void
maybe_restart_writer(void)
{
    if (LIKELY(!atomic_load_explicit(&g_writer_restart, memory_order_relaxed)))
        return;
    if (mono_ns() - g_forked_at < WRITER_RESTART_NS || tls.streaming ||
        pthread_mutex_trylock(&g_stream_mu) != 0)
        return; /* someone is writing the stream: try again at a later allocation */
    if (atomic_exchange(&g_writer_restart, false) && atomic_load(&g_state) == ST_ON)
        start_writer();
    pthread_mutex_unlock(&g_stream_mu);
}

/* --- the end of the recording --------------------------------------------------------- */

static void
finish(MemEndReason reason)
{
    if (getpid() != g_pid || !stream_lock())
        return;
    int expected = ST_ON;
    if (atomic_compare_exchange_strong(&g_state, &expected, ST_DONE)) {
        tls.guard += G_FERRET;
        stop_writer();
        tracker_tick(g_tracker, read_rss()); /* the last point of the timeline */
        flush_stream(true, reason);
        tls.guard -= G_FERRET;
    }
    stream_unlock();
}

EXPORT void
_exit(int status)
{
    if (atomic_load(&g_state) == ST_ON)
        finish(MEM_END__EXIT);
    if (!real.exit_)
        resolve_real();
    if (real.exit_)
        real.exit_(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

EXPORT void
_Exit(int status)
{
    if (atomic_load(&g_state) == ST_ON)
        finish(MEM_END__EXIT);
    if (!real.Exit_)
        resolve_real();
    if (real.Exit_)
        real.Exit_(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

__attribute__((destructor)) static void
memhook_fini(void)
{
    if (atomic_load(&g_state) == ST_ON)
        finish(MEM_END_EXIT);
}

/* --- exec ------------------------------------------------------------------------------ */

/* exec replaces the program, so the recording ends there (docs/MEM.md): before the real call
 * everything is flushed and an end record written. If the call fails (os.execvp tries each
 * directory of PATH in turn) the end record is cut off the file again and recording goes
 * on. Returns whether it took g_stream_mu; *cut is where the end record starts, or -1. A
 * vfork child (subprocess, posix_spawn) is another process: it goes straight through. */
static bool
exec_begin(off_t *cut)
{
    *cut = -1;
    if (atomic_load(&g_state) != ST_ON || getpid() != g_pid || !stream_lock())
        return false;
    if (atomic_load(&g_state) != ST_ON) { /* finished while this thread waited */
        stream_unlock();
        return false;
    }
    tls.guard += G_FERRET;
    atomic_store(&g_writer_restart, false);
    stop_writer();
    tracker_tick(g_tracker, read_rss());
    flush_stream(false, 0);
    Buf b;
    Err err;
    buf_init(&b);
    int fd = atomic_load(&g_state) == ST_ON ? own_fd(&g_stream) : -1;
    off_t at = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (at >= 0 && tracker_end_chunk(g_tracker, MEM_END_EXEC, &b, &err) == 0) {
        if (write_all(fd, b.data, b.len))
            *cut = at;
        else if (ftruncate(fd, at) != 0) /* a torn end record: the stream would not read */
            atomic_store(&g_state, ST_DONE);
    }
    buf_fini(&b);
    tls.guard -= G_FERRET;
    return true;
}

/* The exec failed: take the end record back and carry on recording. Keeps errno. */
static void
exec_failed(bool began, off_t cut)
{
    if (!began)
        return;
    int e = errno;
    tls.guard += G_FERRET;
    if (cut >= 0 && ftruncate(own_fd(&g_stream), cut) != 0)
        atomic_store(&g_state, ST_DONE); /* the file says it ended: it has to stay so */
    if (atomic_load(&g_state) == ST_ON)
        start_writer();
    tls.guard -= G_FERRET;
    stream_unlock();
    errno = e;
}

#define EXEC_HOOK(name, params, args)                                                              \
    EXPORT int name params                                                                         \
    {                                                                                              \
        if (UNLIKELY(!real.name))                                                                  \
            resolve_real();                                                                        \
        if (UNLIKELY(!real.name)) {                                                                \
            errno = ENOSYS;                                                                        \
            return -1;                                                                             \
        }                                                                                          \
        off_t cut;                                                                                 \
        bool began = exec_begin(&cut);                                                             \
        int rc = real.name args;                                                                   \
        exec_failed(began, cut);                                                                   \
        return rc;                                                                                 \
    }
/* glibc's own exec functions call its internal execve, past any hook: each is hooked */
EXEC_HOOK(execve, (const char *path, char *const argv[], char *const envp[]), (path, argv, envp))
EXEC_HOOK(execv, (const char *path, char *const argv[]), (path, argv))
EXEC_HOOK(execvp, (const char *file, char *const argv[]), (file, argv))
EXEC_HOOK(execvpe, (const char *file, char *const argv[], char *const envp[]), (file, argv, envp))
EXEC_HOOK(fexecve, (int fd, char *const argv[], char *const envp[]), (fd, argv, envp))
EXEC_HOOK(execveat,
          (int dirfd, const char *path, char *const argv[], char *const envp[], int flags),
          (dirfd, path, argv, envp, flags))

/* execl, execlp and execle: the argument list gathered into an array (ferret's memory, not
 * the program's), then the hooks above; execle's environment follows the list's NULL. */
typedef enum { LIST_EXECV, LIST_EXECVP, LIST_EXECVE } ListExec;

static int
exec_list(ListExec how, const char *path, const char *arg0, va_list *ap)
{
    size_t n = 1;
    if (arg0) {
        va_list count;
        va_copy(count, *ap);
        while (va_arg(count, char *))
            n++;
        va_end(count);
    }
    tls.guard += G_FERRET;
    char **argv = malloc((n + 1) * sizeof *argv);
    tls.guard -= G_FERRET;
    if (!argv) {
        errno = ENOMEM;
        return -1;
    }
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= n && arg0; i++)
        argv[i] = va_arg(*ap, char *); /* argv[n] is the closing NULL */
    argv[n] = NULL;
    int rc = how == LIST_EXECV    ? execv(path, argv)
             : how == LIST_EXECVP ? execvp(path, argv)
                                  : execve(path, argv, va_arg(*ap, char *const *));
    int e = errno;
    tls.guard += G_FERRET;
    free(argv);
    tls.guard -= G_FERRET;
    errno = e;
    return rc;
}

#define EXEC_LIST_HOOK(name, how)                                                                  \
    EXPORT int name(const char *path, const char *arg, ...)                                        \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, arg);                                                                         \
        int rc = exec_list(how, path, arg, &ap);                                                   \
        va_end(ap);                                                                                \
        return rc;                                                                                 \
    }
EXEC_LIST_HOOK(execl, LIST_EXECV)
EXEC_LIST_HOOK(execlp, LIST_EXECVP)
EXEC_LIST_HOOK(execle, LIST_EXECVE)

/* Python's atexit runs before the interpreter tears the modules down: the right moment for
 * "still live at exit". The callback is registered from a pending call (run by the main
 * thread with the GIL), because only then may ferret call into Python. */
typedef struct {
    const char *name;
    void *(*meth)(void *self, void *unused);
    int flags;
    const char *doc;
} PyMethodDefX; /* PyMethodDef, Include/methodobject.h, unchanged in 3.x */
#define METH_NOARGS_X 0x0004

static void *
atexit_cb(void *self, void *unused)
{
    (void)self;
    (void)unused;
    finish(MEM_END_ATEXIT);
    py.incref(py.none);
    return py.none;
}

static PyMethodDefX atexit_def = {"ferret_mem_exit", atexit_cb, METH_NOARGS_X,
                                  "ferret mem: records what is still live at exit"};

/* Pending calls run at any bytecode boundary. Importing `atexit` from one while the
 * thread is inside the import system's own code (importlib's module locks) corrupts that
 * import (a KeyError in _ModuleLock.acquire, and the program dies), the same hazard as a
 * signal handler that imports. So the registration only goes ahead when the innermost
 * frame is someone else's; otherwise it is asked for again a tick later. */
static bool
import_system_running(void)
{
    PySelf *s = atomic_load_explicit(&g_pyself, memory_order_acquire);
    if (!s)
        return true; /* cannot tell yet */
    PyRawFrame f;
    if (pyself_stack(s, &f, 1) == 0)
        return false;
    char file[64];
    if (tracker_frame_file(g_tracker, &f, file, sizeof file) < 0)
        return true;
    return strncmp(file, "<frozen importlib", 17) == 0 || strncmp(file, "<frozen zipimport", 17) == 0 ||
           strstr(file, "/importlib/") != NULL || strstr(file, "/zipimport.py") != NULL;
}

/* Registers atexit_cb with Python's atexit, once. The caller holds the GIL on the main
 * thread, where the import system is not running. */
static void
register_now(void)
{
    if (g_atexit_done || atomic_load(&g_state) != ST_ON || getpid() != g_pid)
        return;
    g_atexit_done = true;
    tls.guard += G_INNER; /* these objects are ferret's: on the heap, never in a view */
    void *mod = py.import_module("atexit");
    void *fn = mod ? py.cfunction_new(&atexit_def, NULL, NULL) : NULL;
    void *r = fn ? py.call_method(mod, "register", "O", fn) : NULL;
    if (!r) {
        py.err_clear();
        tracker_meta(g_tracker, "mem.atexit", "could not register with atexit");
    }
    py.decref(r);
    py.decref(fn);
    py.decref(mod);
    tls.guard -= G_INNER;
}

/* The pending call, for an interpreter that does not raise cpython.run_* (one embedded in
 * another program), or one that runs before it did. */
static int
register_atexit(void *arg)
{
    (void)arg;
    if (g_atexit_done || atomic_load(&g_state) != ST_ON || getpid() != g_pid)
        return 0;
    tls.guard += G_FERRET;
    if (!atomic_load(&g_pyself))
        try_open_pyself();
    bool later = import_system_running();
    tls.guard -= G_FERRET;
    if (later) {
        atomic_store(&g_atexit_asked, false); /* the writer asks again at its next tick */
        return 0;
    }
    register_now();
    return 0;
}

/* PySys_AddAuditHook takes its list entry from the raw domain's allocator of the moment
 * (the constructor's: malloc), and Py_FinalizeEx (_PySys_ClearAuditHooks) gives it back to
 * the raw allocator of that later moment: with debug hooks set up in between (-X dev,
 * PYTHONMALLOC=debug) a fatal "bad ID". So the entry's address is noted as it is taken and,
 * if the raw allocator has changed by the time the program starts, a thin hook on that domain
 * returns the entry to the allocator that made it. Raw calls come from any thread. */
static PyAlloc raw_first, raw_later;
static _Atomic(void *) g_hook_entry;

static void *
raw_note_malloc(void *ctx, size_t n)
{
    PyAlloc *o = ctx;
    void *p = o->malloc(o->ctx, n);
    void *none = NULL;
    atomic_compare_exchange_strong(&g_hook_entry, &none, p);
    return p;
}

static void *
raw_malloc(void *ctx, size_t n)
{
    PyAlloc *o = ctx;
    return o->malloc(o->ctx, n);
}

static void *
raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyAlloc *o = ctx;
    return o->calloc(o->ctx, nelem, elsize);
}

static void *
raw_realloc(void *ctx, void *p, size_t n)
{
    PyAlloc *o = ctx;
    return o->realloc(o->ctx, p, n);
}

static void
raw_free(void *ctx, void *p)
{
    PyAlloc *o = ctx;
    void *entry = p;
    if (p && atomic_compare_exchange_strong(&g_hook_entry, &entry, NULL)) {
        raw_first.free(raw_first.ctx, p); /* the address may come back from the new allocator */
        return;
    }
    o->free(o->ctx, p);
}

/* Called on the main thread before the program's code runs: a hook on the raw domain is
 * allowed at any time (it calls the allocator it replaces). */
static void
keep_entry_free_right(void)
{
    PyAlloc cur;
    py.get_allocator(0, &cur);
    if (!atomic_load(&g_hook_entry) || cur.free == raw_first.free || cur.free == raw_free)
        return;
    raw_later = cur;
    PyAlloc mine = {&raw_later, raw_malloc, raw_calloc, raw_realloc, raw_free};
    py.set_allocator(0, &mine);
}

/* Python raises cpython.run_command, _module, _file or _stdin (Py_RunMain, Modules/main.c,
 * 3.8+) on the main thread, with the GIL and no Python frame, once the interpreter is
 * initialised and right before the program's own code: a moment sure to come before any
 * normal end, with the import system idle. Registering there, first, also puts ferret's
 * handler after every one the program registers (atexit runs the last registered first).
 * The pending call alone left the registration to chance: it runs only where the main
 * thread next looks for one (on 3.12, when the writer asked, only once the main thread takes
 * the GIL again or collects), it is declined inside the import system, and finalisation
 * runs the queue once, so a short program, or any on a loaded machine, could end first and
 * be recorded as ending by exit(). Hooks cannot be removed: each audited event (open,
 * import, sys._getframe, ...) costs the building of its arguments, about 50 ns. The same
 * name given to sys.audit() by Python code (a frame runs) is ignored; no event is failed. */
static int
audit_hook(const char *event, void *args, void *data)
{
    (void)args;
    (void)data;
    if (strncmp(event, "cpython.run_", 12) != 0 || py.get_frame()) /* a sys.audit() call */
        return 0;
    atomic_store(&g_atexit_asked, true); /* nothing left to ask for */
    keep_entry_free_right();
    register_now();
    return 0;
}

/* Adds audit_hook from the constructor, before Py_Initialize, which keeps it (3.8+). */
static void
add_audit_hook(void)
{
    if (!py.add_audit_hook)
        return;
    py.get_allocator(0, &raw_first);
    PyAlloc noting = {&raw_first, raw_note_malloc, raw_calloc, raw_realloc, raw_free};
    py.set_allocator(0, &noting);
    py.add_audit_hook(audit_hook, NULL);
    py.set_allocator(0, &raw_first);
}

static void
ask_for_atexit(void)
{
    if (LIKELY(atomic_load_explicit(&g_atexit_asked, memory_order_relaxed)))
        return;
    if (!py.is_initialized || !py.is_initialized())
        return;
    if (atomic_exchange(&g_atexit_asked, true))
        return;
    if (py.add_pending_call(register_atexit, NULL) != 0)
        atomic_store(&g_atexit_asked, false); /* the queue was full: try again later */
}

/* --- stacks --------------------------------------------------------------------------- */

static void
try_open_pyself(void)
{
    int64_t now = mono_ns();
    if (now < atomic_load_explicit(&g_pyself_next_try, memory_order_relaxed))
        return;
    if (atomic_flag_test_and_set(&g_pyself_busy))
        return;
    atomic_store(&g_pyself_next_try, now + PYSELF_RETRY_NS);
    if (!atomic_load(&g_pyself)) {
        Err err;
        PySelf *s = pyself_open(&err);
        if (s)
            atomic_store_explicit(&g_pyself, s, memory_order_release);
    }
    atomic_flag_clear(&g_pyself_busy);
}

static int
py_frame_cb(void *ctx, const PyRawFrame *f, Profile *p, FrameId *out, Err *err)
{
    (void)ctx;
    PySelf *s = atomic_load_explicit(&g_pyself, memory_order_acquire);
    if (!s)
        return err_set(err, ERR_NOTPY, "no interpreter");
    return pyself_frame(s, f, p, out, err);
}

static int
native_name_cb(void *ctx, uintptr_t ret, char *buf, size_t n)
{
    (void)ctx;
    Dl_info info;
    if (!dladdr((void *)ret, &info) || !info.dli_fname)
        return -1;
    const char *name = info.dli_fname, *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    if (!*name)
        return -1;
    snprintf(buf, n, "%s", name);
    return 0;
}

static void
sites_free(void *c)
{
    tls.guard += G_FERRET; /* allocated as ferret's: freed as ferret's */
    tls.sites = NULL;
    free(c);
    tls.guard -= G_FERRET;
}

static SiteSlot *
sites_get(void)
{
    if (LIKELY(tls.sites != NULL))
        return tls.sites;
    if (!g_sites_ok)
        return NULL;
    SiteSlot *c = calloc(SITE_CACHE, sizeof *c);
    if (c && pthread_setspecific(g_sites_key, c) != 0) {
        free(c);
        c = NULL;
    }
    tls.sites = c;
    return c;
}

static uint64_t
site_key(const PyRawFrame *f, size_t n, bool truncated)
{
    /* one multiply per frame (this runs for every allocation in exact mode): user-space
     * code addresses fit in 47 bits, so the instruction offset goes above them */
    uint64_t h = 0x9E3779B97F4A7C15ULL * (n + 1) + truncated;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = f[i].code_addr ^ ((uint64_t)(uint32_t)f[i].instr << 47);
        h = (h ^ x ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL;
    }
    h ^= h >> 32;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 29;
    return h | 1; /* 0 marks an empty slot */
}

/* Records an attributed allocation from this thread (tls.ferret is set). */
static void
record(void *p, size_t n, bool native, uintptr_t ret, bool mapping)
{
    PyRawFrame frames[MEM_MAX_FRAMES + 1];
    size_t nf = 0;
    PySelf *s = atomic_load_explicit(&g_pyself, memory_order_acquire);
    if (!s) {
        try_open_pyself();
        s = atomic_load_explicit(&g_pyself, memory_order_acquire);
    }
    if (s)
        nf = pyself_stack(s, frames, MEM_MAX_FRAMES + 1);
    MemSite site = {.frames = frames, .nframes = nf > MEM_MAX_FRAMES ? MEM_MAX_FRAMES : nf,
                    .truncated = nf > MEM_MAX_FRAMES, .native = native, .ret = ret};
    check_py_hooks();
    if (mapping) {
        tracker_map(g_tracker, (uintptr_t)p, n, &site);
    } else if (native) {
        tracker_alloc(g_tracker, (uintptr_t)p, n, &site, NULL);
    } else {
        SiteSlot *c = sites_get(), *e = NULL;
        uint64_t key = 0;
        if (c) {
            key = site_key(site.frames, site.nframes, site.truncated);
            e = &c[key & (SITE_CACHE - 1)];
            if (e->key == key) {
                tracker_alloc_stack(g_tracker, (uintptr_t)p, n, e->stack);
                goto done;
            }
        }
        uint32_t sid;
        tracker_alloc(g_tracker, (uintptr_t)p, n, &site, &sid);
        if (e && sid != TRACKER_NO_STACK)
            *e = (SiteSlot){key, sid};
    }
done:
    if (!native) {
        /* a declined registration is asked for again at the next attributed Python
         * allocation: during imports those come often, so the call soon lands outside the
         * import system (the pending call itself runs guarded and never re-asks) */
        ask_for_atexit();
        maybe_restart_writer();
    }
}

/* The sampler's decision for n more bytes on this thread, past the inline countdown. */
static bool
sampled_slow(Tls *ts, size_t n)
{
    if (UNLIKELY(ts->s.rng == 0)) {
        sampling_seed(&ts->s, (uint64_t)syscall(SYS_gettid) ^ (uint64_t)mono_ns(), g_mean);
        ts->s.countdown -= (int64_t)n;
        if (ts->s.countdown > 0)
            return false;
    }
    ts->s.countdown = sampling_next(&ts->s, g_mean);
    return true;
}

static inline bool
picked(Tls *ts, size_t n)
{
    if (g_exact)
        return true;
    ts->s.countdown -= (int64_t)n;
    return ts->s.countdown <= 0 && sampled_slow(ts, n);
}

/* --- Python's allocator domains ------------------------------------------------------- */

/* The hot paths. Every Python object's allocation and free passes here, so the common case
 * is a countdown (allocation) or one bit (free) and nothing else: exact mode keeps the
 * countdown at zero and every bit set, so everything reaches the slow paths, which check
 * the state and the guard. */
static _Alignas(64) uint8_t no_bits[1 << (TRACKER_FILTER_BITS - 3)];
static _Alignas(64) uint8_t all_bits[1 << (TRACKER_FILTER_BITS - 3)];
static const uint8_t *g_bits = no_bits; /* set once, before any Python allocation */

static inline bool
maybe_live(const void *p)
{
    size_t h = tracker_filter_slot((uintptr_t)p);
    return (__atomic_load_n(&g_bits[h >> 3], __ATOMIC_RELAXED) >> (h & 7)) & 1;
}

static inline bool
on(const Tls *ts)
{
    return ts->guard == 0 && atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ON;
}

/* The allocation crossed a sampling point (always, in exact mode). */
static __attribute__((noinline)) void
py_record_slow(Tls *ts, void *p, size_t n)
{
    if (g_exact) {
        /* after the recording, the countdown goes out of the way for good */
        ts->s.countdown = atomic_load_explicit(&g_state, memory_order_relaxed) == ST_DONE
                              ? INT64_C(1) << 62
                              : 0;
    } else if (!sampled_slow(ts, n)) {
        return;
    }
    /* a sampling point that falls in ferret's own allocation, or outside the recording, is
     * spent without a record: the next one is drawn as usual, so nothing is biased */
    if (!p || !on(ts))
        return;
    ts->guard += G_FERRET;
    record(p, n, false, 0, false);
    ts->guard -= G_FERRET;
}

static inline void
py_record(Tls *ts, void *p, size_t n)
{
    if ((ts->s.countdown -= (int64_t)n) <= 0)
        py_record_slow(ts, p, n);
}

static __attribute__((noinline)) bool
py_forget_slow(void *p, MemBlock *out)
{
    Tls *ts = &tls;
    if (!on(ts))
        return false;
    ts->guard += G_FERRET;
    bool had = tracker_free_block(g_tracker, (uintptr_t)p, out);
    ts->guard -= G_FERRET;
    return had;
}

static void *
py_malloc(void *ctx, size_t n)
{
    PyAlloc *o = ctx;
    Tls *ts = &tls;
    ts->guard += G_INNER; /* what pymalloc asks malloc/mmap for is heap, not a new site */
    void *p = o->malloc(o->ctx, n);
    ts->guard -= G_INNER;
    py_record(ts, p, n);
    return p;
}

static void *
py_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyAlloc *o = ctx;
    Tls *ts = &tls;
    ts->guard += G_INNER;
    void *p = o->calloc(o->ctx, nelem, elsize);
    ts->guard -= G_INNER;
    size_t n;
    if (!__builtin_mul_overflow(nelem, elsize, &n))
        py_record(ts, p, n);
    return p;
}

static void *
py_realloc(void *ctx, void *p, size_t n)
{
    PyAlloc *o = ctx;
    Tls *ts = &tls;
    MemBlock old;
    bool had = p && maybe_live(p) && py_forget_slow(p, &old);
    ts->guard += G_INNER;
    void *q = o->realloc(o->ctx, p, n);
    ts->guard -= G_INNER;
    if (!q) {
        if (had) {
            ts->guard += G_FERRET;
            tracker_restore_block(g_tracker, &old);
            ts->guard -= G_FERRET;
        }
        return NULL;
    }
    py_record(ts, q, n);
    return q;
}

/* No guard around Python's free: a raw free or munmap it makes only changes the heap, which
 * the malloc-level hooks count the same either way. */
static void
py_free(void *ctx, void *p)
{
    PyAlloc *o = ctx;
    if (p && UNLIKELY(maybe_live(p)))
        py_forget_slow(p, NULL);
    o->free(o->ctx, p);
}

static void
install_py_hooks(void)
{
    for (int d = 1; d <= 2; d++) {
        py.get_allocator(d, &py_orig[d]);
        py_mine[d] = (PyAlloc){&py_orig[d], py_malloc, py_calloc, py_realloc, py_free};
    }
    for (int d = 1; d <= 2; d++)
        py.set_allocator(d, &py_mine[d]);
}

/* PYTHONMALLOC=malloc|debug|... (and -X dev) make the interpreter replace every allocator
 * during its pre-initialisation, after ferret installed its wrappers. Wrap the new ones
 * then: only the main thread runs at that point, so swapping the table is safe, and blocks
 * already recorded at the malloc level are in the same table the wrappers consult. Checked
 * from the allocation path until the interpreter is initialised. */
static atomic_bool g_hooks_settled;

static void
check_py_hooks(void)
{
    if (LIKELY(atomic_load_explicit(&g_hooks_settled, memory_order_relaxed)))
        return;
    bool initialized = py.is_initialized();
    PyAlloc cur;
    py.get_allocator(2, &cur);
    if (cur.malloc != py_malloc && !initialized)
        install_py_hooks();
    if (initialized)
        atomic_store(&g_hooks_settled, true);
}

/* --- malloc & co ---------------------------------------------------------------------- */

#define RET() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

/* A block from the real allocator: on the heap always, attributed as native unless it is
 * Python's allocator asking. */
static inline void
native_alloc(Tls *ts, void *p, size_t n, uintptr_t ret)
{
    ts->guard += G_FERRET;
    tracker_heap_add(g_tracker, real.usable(p));
    if (!(ts->guard & G_INNER_MASK) && picked(ts, n))
        record(p, n, true, ret, false);
    ts->guard -= G_FERRET;
}

static inline bool
tracking(const Tls *ts)
{
    return ts->guard < G_FERRET && atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ON;
}

EXPORT void *
malloc(size_t n)
{
    if (UNLIKELY(!real.malloc)) {
        resolve_real();
        if (!real.malloc)
            return boot_alloc(n);
    }
    Tls *ts = &tls;
    if (!tracking(ts))
        return real.malloc(n);
    void *p = real.malloc(n);
    if (p)
        native_alloc(ts, p, n, RET());
    return p;
}

EXPORT void *
calloc(size_t nelem, size_t elsize)
{
    if (UNLIKELY(!real.calloc)) {
        resolve_real();
        if (!real.calloc) { /* dlsym itself may ask: serve it from the boot buffer */
            size_t n;
            if (__builtin_mul_overflow(nelem, elsize, &n))
                return NULL;
            void *p = boot_alloc(n);
            if (p)
                memset(p, 0, n);
            return p;
        }
    }
    Tls *ts = &tls;
    if (!tracking(ts))
        return real.calloc(nelem, elsize);
    void *p = real.calloc(nelem, elsize);
    if (p)
        native_alloc(ts, p, nelem * elsize, RET());
    return p;
}

EXPORT void
free(void *p)
{
    if (!p || UNLIKELY(boot_owns(p)))
        return;
    if (UNLIKELY(!real.free))
        resolve_real();
    Tls *ts = &tls;
    if (tracking(ts)) {
        ts->guard += G_FERRET;
        if (!(ts->guard & G_INNER_MASK) && tracker_maybe_live(g_tracker, (uintptr_t)p))
            tracker_free_block(g_tracker, (uintptr_t)p, NULL);
        tracker_heap_sub(g_tracker, real.usable(p));
        ts->guard -= G_FERRET;
    }
    real.free(p);
}

EXPORT void *
realloc(void *p, size_t n)
{
    if (UNLIKELY(!real.realloc))
        resolve_real();
    if (UNLIKELY(p && boot_owns(p))) {
        void *q = malloc(n);
        if (q) {
            size_t old = boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    if (UNLIKELY(!real.realloc))
        return p ? NULL : boot_alloc(n);
    Tls *ts = &tls;
    if (!tracking(ts))
        return real.realloc(p, n);
    uintptr_t ret = RET();
    ts->guard += G_FERRET;
    size_t old_u = p ? real.usable(p) : 0;
    MemBlock old;
    bool had = p && !(ts->guard & G_INNER_MASK) && tracker_maybe_live(g_tracker, (uintptr_t)p) &&
               tracker_free_block(g_tracker, (uintptr_t)p, &old);
    ts->guard -= G_FERRET;
    void *q = real.realloc(p, n);
    ts->guard += G_FERRET;
    if (q) {
        size_t new_u = real.usable(q);
        if (new_u >= old_u)
            tracker_heap_add(g_tracker, new_u - old_u);
        else
            tracker_heap_sub(g_tracker, old_u - new_u);
        if (!(ts->guard & G_INNER_MASK) && picked(ts, n))
            record(q, n, true, ret, false);
    } else if (p && n == 0) { /* glibc: realloc(p, 0) frees p */
        tracker_heap_sub(g_tracker, old_u);
    } else if (had) {
        tracker_restore_block(g_tracker, &old);
    }
    ts->guard -= G_FERRET;
    return q;
}

EXPORT int
posix_memalign(void **out, size_t align, size_t n)
{
    if (UNLIKELY(!real.posix_memalign))
        resolve_real();
    if (UNLIKELY(!real.posix_memalign))
        return ENOMEM;
    int rc = real.posix_memalign(out, align, n);
    Tls *ts = &tls;
    if (rc == 0 && tracking(ts))
        native_alloc(ts, *out, n, RET());
    return rc;
}

#define ALIGNED_HOOK(name, params, args, nbytes)                                                   \
    EXPORT void *name params                                                                       \
    {                                                                                              \
        if (UNLIKELY(!real.name))                                                                  \
            resolve_real();                                                                        \
        if (UNLIKELY(!real.name))                                                                  \
            return NULL;                                                                           \
        void *p = real.name args;                                                                  \
        Tls *ts = &tls;                                                                            \
        if (p && tracking(ts))                                                                     \
            native_alloc(ts, p, nbytes, RET());                                                    \
        return p;                                                                                  \
    }
ALIGNED_HOOK(aligned_alloc, (size_t align, size_t n), (align, n), n)
ALIGNED_HOOK(memalign, (size_t align, size_t n), (align, n), n)
ALIGNED_HOOK(valloc, (size_t n), (n), n)
ALIGNED_HOOK(pvalloc, (size_t n), (n), n)

/* --- mappings ---------------------------------------------------------------------- */

static size_t
page_round(size_t n)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) & ~(page - 1);
}

static void
mapped(void *p, size_t len, int prot, int flags, uintptr_t ret)
{
    Tls *ts = &tls;
    if (p == MAP_FAILED || !tracking(ts))
        return;
    ts->guard += G_FERRET;
    size_t plen = page_round(len);
    if (!(flags & MAP_ANONYMOUS) || prot == PROT_NONE) {
        /* file data or an address reservation: not heap, but it replaces what was there */
        if (flags & MAP_FIXED)
            tracker_unmap(g_tracker, (uintptr_t)p, plen);
    } else if (!(ts->guard & G_INNER_MASK) && picked(ts, plen)) {
        record(p, plen, true, ret, true);
    } else {
        tracker_map(g_tracker, (uintptr_t)p, plen, NULL);
    }
    ts->guard -= G_FERRET;
}

EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (UNLIKELY(!real.mmap))
        resolve_real();
    void *p = real.mmap(addr, len, prot, flags, fd, off);
    mapped(p, len, prot, flags, RET());
    return p;
}

EXPORT void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (UNLIKELY(!real.mmap64))
        resolve_real();
    void *p = real.mmap64(addr, len, prot, flags, fd, off);
    mapped(p, len, prot, flags, RET());
    return p;
}

EXPORT int
munmap(void *addr, size_t len)
{
    if (UNLIKELY(!real.munmap))
        resolve_real();
    Tls *ts = &tls;
    if (tracking(ts)) {
        ts->guard += G_FERRET;
        tracker_unmap(g_tracker, (uintptr_t)addr, page_round(len));
        ts->guard -= G_FERRET;
    }
    return real.munmap(addr, len);
}

EXPORT void *
mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    if (UNLIKELY(!real.mremap))
        resolve_real();
    void *want = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    Tls *ts = &tls;
    bool ours = tracking(ts) && tracker_is_mapped(g_tracker, (uintptr_t)old);
    void *q = real.mremap(old, old_len, new_len, flags, want);
    if (ours && q != MAP_FAILED) {
        ts->guard += G_FERRET;
        tracker_unmap(g_tracker, (uintptr_t)old, page_round(old_len));
        ts->guard -= G_FERRET;
        mapped(q, new_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
               RET()); /* a resized anonymous mapping is a new allocation */
    }
    return q;
}

/* --- fork --------------------------------------------------------------------------- */

static bool g_fork_prepared;

static void
fork_prepare(void)
{
    g_fork_prepared = atomic_load(&g_state) == ST_ON && getpid() == g_pid && stream_lock();
    if (!g_fork_prepared)
        return;
    tls.guard += G_FERRET;
    stop_writer();
    tracker_tick(g_tracker, read_rss()); /* a point even when forks come faster than ticks */
    flush_stream(false, 0);              /* what happened before the fork is on disk */
    tracker_fork_prepare(g_tracker);
}

static void
fork_parent(void)
{
    if (!g_fork_prepared)
        return;
    tracker_fork_parent(g_tracker);
    g_forked_at = mono_ns();
    atomic_store(&g_writer_restart, true);
    tls.guard -= G_FERRET;
    stream_unlock();
}

/* The child is not recorded: its copy of the tables goes unused and it never writes. */
static void
fork_child(void)
{
    if (!g_fork_prepared)
        return;
    atomic_store(&g_state, ST_DONE);
    tracker_fork_child(g_tracker);
    pthread_mutex_init(&g_wmu, NULL);
    pthread_mutex_init(&g_stream_mu, NULL);
    tls.streaming = false;
    g_writer_running = false;
    struct stat st;
    if (g_stream.fd >= 0 && fstat(g_stream.fd, &st) == 0 && st.st_dev == g_stream.dev &&
        st.st_ino == g_stream.ino)
        close(g_stream.fd); /* only if it is still ferret's */
    g_stream.fd = -1;
    tls.guard -= G_FERRET;
}

/* --- start ------------------------------------------------------------------------- */

static void *
pysym(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

static bool
find_python(void)
{
    py.get_allocator = (void (*)(int, PyAlloc *))pysym("PyMem_GetAllocator");
    py.set_allocator = (void (*)(int, PyAlloc *))pysym("PyMem_SetAllocator");
    py.is_initialized = (int (*)(void))pysym("Py_IsInitialized");
    py.add_pending_call = (int (*)(int (*)(void *), void *))pysym("Py_AddPendingCall");
    py.import_module = (void *(*)(const char *))pysym("PyImport_ImportModule");
    py.cfunction_new = (void *(*)(void *, void *, void *))pysym("PyCFunction_NewEx");
    py.call_method = (void *(*)(void *, const char *, const char *, ...))pysym("PyObject_CallMethod");
    py.decref = (void (*)(void *))pysym("Py_DecRef");
    py.incref = (void (*)(void *))pysym("Py_IncRef");
    py.err_clear = (void (*)(void))pysym("PyErr_Clear");
    py.get_version = (const char *(*)(void))pysym("Py_GetVersion");
    py.get_frame = (void *(*)(void))pysym("PyEval_GetFrame");
    py.add_audit_hook =
        (int (*)(int (*)(const char *, void *, void *), void *))pysym("PySys_AddAuditHook");
    py.none = pysym("_Py_NoneStruct");
    return py.get_allocator && py.set_allocator && py.is_initialized && py.add_pending_call &&
           py.import_module && py.cfunction_new && py.call_method && py.decref && py.incref &&
           py.err_clear && py.get_frame && py.none;
}

/* Open at a high descriptor so the program's own numbering is undisturbed. */
static int
open_high(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 600);
    if (hi >= 0) {
        close(fd);
        return hi;
    }
    return fd;
}

static void
read_command(char *buf, size_t n)
{
    buf[0] = '\0';
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    if (got <= 0)
        return;
    while (got > 0 && buf[got - 1] == '\0')
        got--;
    for (ssize_t i = 0; i < got; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[got] = '\0';
}

/* Leaves the environment as the program would have seen it without ferret, so processes it
 * starts do not load the tracker (they would not be recorded anyway). */
static void
clean_environment(void)
{
    const char *orig = getenv("FERRET_MEM_PRELOAD");
    if (orig)
        setenv("LD_PRELOAD", orig, 1);
    else
        unsetenv("LD_PRELOAD");
    static const char *const vars[] = {"FERRET_MEM_PID", "FERRET_MEM_OUT", "FERRET_MEM_SAMPLE",
                                       "FERRET_MEM_EXACT", "FERRET_MEM_INTERVAL_NS",
                                       "FERRET_MEM_PRELOAD"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

__attribute__((constructor)) static void
memhook_init(void)
{
    resolve_real();
    const char *pid_s = getenv("FERRET_MEM_PID"), *out = getenv("FERRET_MEM_OUT");
    if (!pid_s || !out || atol(pid_s) != (long)getpid() || !real.malloc || !real.usable)
        return; /* not the process ferret started: stay out of the way */
    if (!find_python())
        return; /* not Python (yet: a shell that will exec python keeps the variables) */
    tls.guard += G_FERRET;
    const char *s = getenv("FERRET_MEM_SAMPLE"), *x = getenv("FERRET_MEM_EXACT");
    const char *iv = getenv("FERRET_MEM_INTERVAL_NS");
    g_exact = x && strcmp(x, "1") == 0;
    g_mean = s ? strtod(s, NULL) : 0;
    if (!(g_mean >= 1))
        g_mean = 65536;
    if (iv && atoll(iv) > 0)
        g_interval_ns = atoll(iv);
    g_pid = getpid();
    TrackerConfig cfg = {.exact = g_exact, .sample_bytes = g_mean, .py_frame = py_frame_cb,
                         .native_name = native_name_cb};
    Err err;
    g_tracker = tracker_new(&cfg, &err);
    if (g_tracker && g_exact) {
        memset(all_bits, 0xff, sizeof all_bits);
        g_bits = all_bits;
    } else if (g_tracker) {
        g_bits = (const uint8_t *)tracker_live_bits(g_tracker);
    }
    snprintf(g_stream_path, sizeof g_stream_path, "%s", out);
    g_stream.same_inode = false; /* the first open says which file it is */
    int fd = strlen(out) < sizeof g_stream_path ? own_fd(&g_stream) : -1;
    g_stream.same_inode = true;
    if (!g_tracker || fd < 0) {
        tls.guard -= G_FERRET;
        return;
    }
    char version[32] = "", command[4096];
    if (py.get_version) {
        snprintf(version, sizeof version, "%s", py.get_version());
        version[strcspn(version, " ")] = '\0';
    }
    /* A version whose frames ferret cannot read (3.5-3.8) is not tracked: the header alone
     * tells ferret mem which one it was. */
    int major = 0, minor = -1;
    bool readable = sscanf(version, "%d.%d", &major, &minor) == 2 && layout_for(major, minor);
    read_command(command, sizeof command);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    Buf b;
    buf_init(&b);
    bool ok = tracker_header(g_tracker, &b, (int32_t)g_pid, (int32_t)getppid(),
                             (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, g_interval_ns, version,
                             command, &err) == 0 &&
              write_all(fd, b.data, b.len);
    buf_fini(&b);
    if (!ok || !readable) {
        if (ok)
            clean_environment();
        tls.guard -= G_FERRET;
        return;
    }
    clean_environment();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_wcond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    g_sites_ok = pthread_key_create(&g_sites_key, sites_free) == 0;
    atomic_store(&g_state, ST_ON);
    install_py_hooks();
    add_audit_hook();
    start_writer();
    tls.guard -= G_FERRET;
}
