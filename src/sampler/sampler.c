/* SPDX-License-Identifier: MIT */
/* sampler.c: the sampling clock and the bookkeeping around walk_sample: processes (the
 * target, its Python children, a launcher that execs Python later), threads (kernel state
 * through an open /proc file, profile ids, root frames) and turning each thread's frames into
 * a profile stack. Steady state allocates nothing per sample: a thread whose stack did not
 * change since the last sample reuses its stack id. */
#include "sampler/sampler.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sampler/proc.h"
#include "sampler/pynames.h"
#include "sampler/walk.h"
#include "util/buf.h"

#define MAX_THREADS 1024             /* threads of one sample at first: grown when short */
#define FRAMES_CAP (1u << 18)        /* frames of one process's sample at first, likewise */
#define FRAMES_CAP_MAX (1u << 24)    /* ... up to 64 MiB of frame ids */
#define DISCOVER_NS 100000000LL      /* children and exec checks, every 100 ms */
#define FLUSH_NS 1000000000LL        /* flush at least once a second */
#define CHILD_WAIT_NS 2000000000LL   /* a child that runs one image this long, not Python */
#define UNREADY_MAX_NS 1000000000LL  /* a Python not readable yet is retried this long */
#define PENDING_NS 10000000LL        /* the process started, not Python yet: discover, */
#define LOOK_NS 1000000LL            /* ... look at it alone this often */
#define LOOK_FOR_NS 20000000LL       /* ... in its first 20 ms after an exec */
#define FAILS_BEFORE_REOPEN 20       /* all-failed samples before re-finding the runtime */
#define MAX_PROCS 256
#define MAX_WEIGHT 100                 /* intervals one late sample may stand for */
#define NAME_TRIES 8                   /* lookups of a thread's Python name */
#define NAME_RETRY_TICKS 64            /* sampling moments between them */
#define DEFER_NS 250000000LL           /* --threads: how long a new thread's samples wait */
#define DEFER_MAX 2048                 /* ... and how many of them, for its name */
#define NAME_QUICK_NS 1000000LL        /* ... which is looked for this often meanwhile */
#define SAMPLER_NICE (-10)             /* the sampling thread's priority, where allowed */
#define RUN_MAX_NS 100000000LL         /* a thread's identical samples merge for this long */
#define CHILD_GRACE_NS 1000000000LL    /* a Python child is the program after this long */

/* A sample held back until its thread has a name (see defer_samples). */
typedef struct {
    int64_t t_ns, weight;
    size_t off, n; /* its frames in the slot's pend_frames (FrameIds), innermost first */
    bool partial;
    uint8_t flags;
} Pending;

typedef struct {
    uint64_t ns, host; /* a thread's id in the program's pid namespace, and in ferret's */
} TidPair;

/* Which program a process runs: a change means an exec. */
typedef struct {
    dev_t dev;
    ino_t ino;
    uint64_t stack; /* where the exec put the main stack (0: unknown) */
} ImageId;

typedef struct {
    uint64_t key; /* kernel tid, or the interpreter's thread id when the tid is unknown */
    uint64_t tid;
    ThreadStat stat;
    int running; /* kernel state at this tick: 1 running, 0 not, -1 unknown */
    uint64_t fingerprint; /* of the last stack: a change means the thread ran */
    bool have_fingerprint;
    bool fresh; /* state read at creation, this tick */
    uint32_t walked_at; /* for proc_thread_must_walk */
    uint64_t asked_at;  /* the moment thread_unchanged last answered for it, and how */
    bool asked_unchanged;
    bool named;      /* has its Python name (threading.Thread.name) */
    int name_tries;  /* lookups so far; a new thread registers its name a moment later */
    int64_t name_next_ns; /* the next quick lookup while its samples are held back */
    ThreadId thread;
    FrameId thread_frame;
    uint64_t seen_tick;
    FrameId *last; /* last stack's frames, innermost first, and its id */
    size_t last_n, last_cap;
    bool last_partial;
    bool relabel; /* the --threads root changed: the last stack needs rebuilding */
    StackId last_stack;
    int64_t born_ns; /* first seen */
    Buf pend;        /* samples waiting for the name (Pending), and their frames */
    Buf pend_frames;
    /* The thread's last sample, not added yet: the samples after it that are the same
     * (stack, flags) add their weight to it and move its time on (see add_sample). */
    ProfSample run;
    int64_t run_start_ns;
    bool run_open;
} Slot;

typedef struct {
    pid_t pid, ppid;
    Target *t;  /* NULL while the process is not Python (yet) */
    bool was_python; /* sampled as Python once: in the profile's processes and the count */
    bool registered; /* its command and root frame are in the profile for this image */
    bool gone;
    bool not_python; /* gave up waiting for Python; its children are still watched */
    int fails; /* consecutive samples with no readable thread */
    /* not Python yet: its executable and since when it runs it (an exec starts over); since
     * when its Python is found but cannot be read (see still_loading), 0 if not; whether
     * that was ever so in this image (a look while it exits finds no Python), and why */
    ImageId img;
    int64_t img_since_ns;
    int64_t unready_since_ns;
    bool unready_seen;
    Err unready_err;
    ProcId proc;
    FrameId proc_frame;
    ImageId exe; /* the image its target was found in */
    uint64_t moment; /* sampling moments of this process, from 1 */
    /* In another pid namespace (a container seen from its host) the tids the program holds
     * are not ferret's: the map from theirs to ferret's, rebuilt when a tid is not in it, and
     * tids that were not found, not looked for again for a while. */
    bool other_ns;
    TidPair *tids;
    size_t ntids, tids_cap;
    struct {
        uint64_t tid;
        int64_t until_ns;
    } missing[8];
    unsigned nmissing;
    Freeze freeze;
    bool frozen;
    Slot *slots;
    size_t nslots, slots_cap;
} Proc;

struct Sampler {
    SamplerOptions opt;
    Profile *p;
    SeriesId series;
    Proc procs[MAX_PROCS];
    size_t nprocs;
    WalkThread *wthreads;
    size_t wthreads_cap;
    FrameId *frames;
    size_t frames_cap;
    FrameId *path; /* root-first stack under construction */
    FrameId truncated_frame;
    WalkDrops drops, drops_flushed;
    SamplerStats stats;
    char version[24];
    int64_t t0_ns;
    bool reaped;
    int reaped_status;
    bool in_run; /* inside sampler_run, which hands held-back samples over before it returns */
    bool prioritised; /* fell behind and asked for more priority (more_priority) */
    bool exec_seen;   /* a sample found a process's image replaced: discover now */
    /* Without subprocesses: a child of the command (or a child's child: py_child_depth)
     * found running Python while the command is not (see look_for_python_child), since when,
     * and when to look again. */
    pid_t py_child;
    int py_child_depth;
    int64_t py_child_since_ns, next_child_look_ns;
};

static int64_t
now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
sampler_options_init(SamplerOptions *o)
{
    memset(o, 0, sizeof *o);
    o->rate_hz = SAMPLER_DEFAULT_RATE_HZ;
}

static int
intern_marker(Profile *p, FrameKind kind, const char *label, FrameId *out, Err *err)
{
    ProfFrame f = {.kind = (uint8_t)kind};
    if (profile_cstr(p, label, &f.name, err) < 0)
        return -1;
    return profile_frame(p, &f, out, err);
}

/* The program a process runs, and which exec of it; false if unknown (a zombie leader's
 * exe cannot be read). */
static bool
exe_identity(pid_t pid, ImageId *id)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    if (stat(path, &st) < 0)
        return false;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->stack = proc_stack_start(pid);
    return true;
}

static bool
same_image(const ImageId *a, const ImageId *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->stack == b->stack;
}

/* Whether the process now runs another executable than the one its target was found in. */
static bool
exec_changed(const Proc *pr)
{
    ImageId now;
    return exe_identity(pr->pid, &now) && !same_image(&now, &pr->exe);
}

/* Can this failure to open a process that is becoming Python (just exec'd, or a new child)
 * mean it is still loading? The dynamic loader maps libpython in steps: the whole file from
 * offset 0 first, then each segment in its place. Caught in between, the runtime's symbol is
 * there but its data is not: what is read there fails its checks (3.13+: the debug table's
 * cookie) or faults. Other failures (permission, an unsupported version) are final. */
static bool
still_loading(const Err *e)
{
    return e->kind == ERR_FORMAT || e->kind == ERR_IO;
}

/* Tries to find Python in pr; 1 when found, 0 when not (yet), -1 on a hard error. With
 * patient (a process becoming Python, not one attached to), a runtime that does not read
 * as one is looked at again later, and is an error only after UNREADY_MAX_NS. */
static int
proc_open_target(Sampler *s, Proc *pr, bool patient, Err *err)
{
    Err e2;
    Target *t = target_open(pr->pid, s->opt.find, &e2);
    if (!t) {
        if (e2.kind == ERR_GONE) {
            pr->gone = true;
            return 0;
        }
        if (e2.kind != ERR_NOTPY && !(patient && still_loading(&e2))) {
            *err = e2;
            return -1;
        }
        int64_t now = now_ns(CLOCK_MONOTONIC);
        /* (a process that is exiting has no executable any more: not another image) */
        ImageId img = {0};
        bool known = exe_identity(pr->pid, &img);
        if (!pr->img_since_ns || (known && !same_image(&img, &pr->img))) {
            pr->img_since_ns = now;
            pr->img = img;
            pr->unready_since_ns = 0;
            pr->unready_seen = false;
        }
        if (e2.kind == ERR_NOTPY) {
            pr->unready_since_ns = 0;
            return 0;
        }
        if (!pr->unready_since_ns)
            pr->unready_since_ns = now;
        pr->unready_seen = true;
        pr->unready_err = e2;
        if (now - pr->unready_since_ns >= UNREADY_MAX_NS) {
            *err = e2;
            return -1;
        }
        return 0;
    }
    pr->t = t;
    pr->fails = 0;
    pr->other_ns = proc_other_pid_ns(pr->pid);
    pr->img_since_ns = pr->unready_since_ns = 0;
    pr->unready_seen = false;
    pr->registered = false; /* at its first sample (proc_register) */
    exe_identity(pr->pid, &pr->exe);
    if (!s->version[0])
        snprintf(s->version, sizeof s->version, "%s", target_version(t));
    if (s->opt.blocking && !pr->frozen) {
        if (freeze_init(&pr->freeze, pr->pid, err) < 0) {
            freeze_fini(&pr->freeze);
            return -1;
        }
        pr->frozen = true;
    }
    return 1;
}

/* Enters a process found Python into the profile with its first sampled thread (a child
 * caught between its fork and its exec is a copy of Python that may be gone before that):
 * its command line as Python runs it (a launcher may have exec'd since the start) and, with
 * subprocesses, the root frame that names it. Counted once, whatever it exec'd. */
static int
proc_register(Sampler *s, Proc *pr, Err *err)
{
    char cmd[1024];
    proc_cmdline(pr->pid, cmd, sizeof cmd);
    if (profile_process(s->p, pr->pid, pr->ppid, cmd, &pr->proc, err) < 0)
        return -1;
    if (s->opt.subprocesses && !s->opt.merge_processes) {
        char label[1100];
        snprintf(label, sizeof label, "process %d %s", (int)pr->pid, cmd);
        if (intern_marker(s->p, FRAME_PROCESS, label, &pr->proc_frame, err) < 0)
            return -1;
    }
    pr->registered = true;
    if (!pr->was_python) {
        pr->was_python = true;
        s->stats.processes++;
        s->stats.root_python |= pr == &s->procs[0];
    }
    return 0;
}

/* After a sample that found the buffers short (`threads` more threads than it held, or
 * stacks cut for want of frames): room for all of them next time, or twice the frames (a
 * failed allocation keeps the old size). */
static void
grow_buffers(Sampler *s, uint64_t threads, bool frames)
{
    if (threads && s->wthreads_cap < WALK_MAX_THREADS) {
        size_t cap = s->wthreads_cap * 2;
        while (cap < WALK_MAX_THREADS && cap < s->wthreads_cap + threads)
            cap *= 2;
        if (cap > WALK_MAX_THREADS)
            cap = WALK_MAX_THREADS;
        WalkThread *w = calloc(cap, sizeof *w);
        if (w) {
            free(s->wthreads);
            s->wthreads = w;
            s->wthreads_cap = cap;
        }
    }
    if (frames && s->frames_cap < FRAMES_CAP_MAX) {
        FrameId *f = calloc(s->frames_cap * 2, sizeof *f);
        if (f) {
            free(s->frames);
            s->frames = f;
            s->frames_cap *= 2;
        }
    }
}

/* Closes a forgotten thread's /proc files and frees what it kept. */
static void
slot_fini(Slot *sl)
{
    proc_thread_stat_close(&sl->stat);
    free(sl->last);
    buf_fini(&sl->pend);
    buf_fini(&sl->pend_frames);
}

static void
slots_fini(Proc *pr)
{
    for (size_t i = 0; i < pr->nslots; i++)
        slot_fini(&pr->slots[i]);
    free(pr->slots);
    pr->slots = NULL;
    pr->nslots = pr->slots_cap = 0;
}

static void
proc_close(Proc *pr)
{
    if (pr->frozen) {
        freeze_fini(&pr->freeze);
        pr->frozen = false;
    }
    target_close(pr->t);
    pr->t = NULL;
    slots_fini(pr);
    free(pr->tids);
    pr->tids = NULL;
    pr->ntids = pr->tids_cap = pr->nmissing = 0;
}

/* A process to watch, or NULL when MAX_PROCS are watched. It joins the profile's processes
 * only once it is sampled as Python (proc_register): a wrapper, a shim's steps and the
 * non-Python helpers a program runs are watched (they may exec Python) but are no processes
 * of the profile, and the place of one that exited without being sampled is taken by the
 * next (a program may run thousands in its life). The first process watched is the root,
 * procs[0]. */
static Proc *
add_proc(Sampler *s, pid_t pid, pid_t ppid)
{
    Proc *pr = NULL;
    for (size_t i = 1; i < s->nprocs && !pr; i++)
        if (s->procs[i].gone && !s->procs[i].was_python)
            pr = &s->procs[i];
    if (!pr && s->nprocs < MAX_PROCS)
        pr = &s->procs[s->nprocs++];
    if (pr) {
        proc_close(pr); /* a copy of Python gone before its first sample holds a target */
        memset(pr, 0, sizeof *pr);
        pr->pid = pid;
        pr->ppid = ppid;
    }
    return pr;
}

Sampler *
sampler_new(pid_t pid, const SamplerOptions *opt, Profile *p, Err *err)
{
    if (!(opt->rate_hz > 0) || opt->rate_hz > SAMPLER_MAX_RATE_HZ) {
        err_set(err, ERR_USAGE, "the rate must be between 0 and %.0f Hz", SAMPLER_MAX_RATE_HZ);
        return NULL;
    }
    Sampler *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->opt = *opt;
    s->p = p;
    s->wthreads = calloc(MAX_THREADS, sizeof *s->wthreads);
    s->wthreads_cap = MAX_THREADS;
    s->frames = calloc(FRAMES_CAP, sizeof *s->frames);
    s->frames_cap = FRAMES_CAP;
    s->path = calloc(PROFILE_MAX_DEPTH + 4, sizeof *s->path);
    if (!s->wthreads || !s->frames || !s->path) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (profile_series(p, "samples", "samples", &s->series, err) < 0 ||
        intern_marker(p, FRAME_MARKER, "<truncated>", &s->truncated_frame, err) < 0)
        goto fail;
    Proc *root = add_proc(s, pid, 0);
    int rc = proc_open_target(s, root, opt->wait_python, err);
    if (rc < 0)
        goto fail;
    if (rc == 0 && !opt->wait_python) {
        /* say why, as target_open would */
        Target *t = target_open(pid, opt->find, err);
        target_close(t);
        if (t)
            err_set(err, ERR_INTERNAL, "process %d: could not be opened", (int)pid);
        goto fail;
    }
    ProfileInfo *info = profile_info(p);
    info->interval_ns = (int64_t)(1e9 / opt->rate_hz);
    char rate[32];
    snprintf(rate, sizeof rate, "%g", opt->rate_hz);
    if (profile_meta_set(p, "mode", opt->mode == SAMPLER_CPU ? "cpu" : "wall", err) < 0 ||
        profile_meta_set(p, "gil", opt->gil_only ? "1" : "0", err) < 0 ||
        profile_meta_set(p, "rate_hz", rate, err) < 0 ||
        profile_meta_set(p, "blocking", opt->blocking ? "1" : "0", err) < 0)
        goto fail;
    return s;
fail:
    sampler_free(s);
    return NULL;
}

void
sampler_free(Sampler *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nprocs; i++)
        proc_close(&s->procs[i]);
    free(s->wthreads);
    free(s->frames);
    free(s->path);
    free(s);
}

/* Names a thread: its Python name when the program has one registered (threading), else
 * the kernel's name ("MainThread" for the main thread). The --threads root frame follows.
 * A quick lookup only looks for the Python name, and changes nothing when there is none. */
static int
name_slot(Sampler *s, Proc *pr, Slot *sl, const WalkThread *w, bool quick, Err *err)
{
    char name[128] = "";
    if (!quick)
        sl->name_tries++;
    if (pr->t &&
        pynames_thread_name(pr->t, w->interp, w->thread_id, !quick, name, sizeof name) == 0) {
        sl->named = true;
    } else if (quick || sl->name_tries > 1) {
        return 0; /* still unnamed: keep the fallback given the first time */
    } else if (w->tid == (uint64_t)pr->pid) {
        snprintf(name, sizeof name, "MainThread");
    } else if (w->tid) {
        proc_thread_comm(pr->pid, (pid_t)w->tid, name, sizeof name);
    }
    if (profile_thread(s->p, pr->proc, w->tid ? w->tid : w->thread_id, name, &sl->thread, err) < 0)
        return -1;
    if (s->opt.threads_root) {
        char label[192];
        snprintf(label, sizeof label, "thread %llu%s%s",
                 (unsigned long long)(w->tid ? w->tid : w->thread_id), name[0] ? " " : "", name);
        if (intern_marker(s->p, FRAME_THREAD, label, &sl->thread_frame, err) < 0)
            return -1;
        sl->relabel = true; /* the cached stack had the old root */
    }
    return 0;
}

static Slot *
find_slot(Sampler *s, Proc *pr, const WalkThread *w, int64_t t_ns, Err *err)
{
    uint64_t key = w->tid ? w->tid : w->thread_id;
    for (size_t i = 0; i < pr->nslots; i++)
        if (pr->slots[i].key == key)
            return &pr->slots[i];
    if (pr->nslots == pr->slots_cap) {
        size_t cap = pr->slots_cap ? pr->slots_cap * 2 : 8;
        Slot *ns = realloc(pr->slots, cap * sizeof *ns);
        if (!ns) {
            err_set(err, ERR_NOMEM, "out of memory tracking threads");
            return NULL;
        }
        pr->slots = ns;
        pr->slots_cap = cap;
    }
    Slot *sl = &pr->slots[pr->nslots];
    memset(sl, 0, sizeof *sl);
    sl->key = key;
    sl->tid = w->tid;
    sl->stat.fd = sl->stat.sched_fd = -1;
    sl->running = -1;
    sl->born_ns = t_ns;
    if (w->tid) {
        proc_thread_stat_open(&sl->stat, pr->pid, (pid_t)w->tid);
        sl->running = proc_thread_running(&sl->stat, pr->moment); /* and stat.dead */
        sl->fresh = true;
    }
    if (!pr->registered && proc_register(s, pr, err) < 0)
        return NULL;
    if (profile_thread(s->p, pr->proc, w->tid ? w->tid : w->thread_id, NULL, &sl->thread, err) < 0)
        return NULL;
    if (name_slot(s, pr, sl, w, false, err) < 0)
        return NULL;
    pr->nslots++;
    return sl;
}

/* Turns a thread's frames (innermost first) into a stack id under its roots. */
static int
build_stack(Sampler *s, Proc *pr, Slot *sl, const FrameId *frames, size_t nframes, bool partial,
            StackId *out, Err *err)
{
    size_t n = 0;
    if (s->opt.subprocesses && !s->opt.merge_processes)
        s->path[n++] = pr->proc_frame;
    if (s->opt.threads_root)
        s->path[n++] = sl->thread_frame;
    if (partial)
        s->path[n++] = s->truncated_frame;
    size_t depth = nframes < PROFILE_MAX_DEPTH ? nframes : PROFILE_MAX_DEPTH;
    for (size_t i = 0; i < depth; i++)
        s->path[n++] = frames[depth - 1 - i];
    if (profile_stack_path(s->p, s->path, n, out, err) < 0)
        return -1;
    sl->last_stack = *out;
    sl->relabel = false;
    return 0;
}

/* Keeps a copy of a thread's walked frames as its last stack (sl->last). */
static int
remember(Slot *sl, const WalkThread *w, Err *err)
{
    if (sl->last_cap < w->nframes) {
        size_t cap = w->nframes < 64 ? 64 : w->nframes;
        FrameId *nl = realloc(sl->last, cap * sizeof *nl);
        if (!nl)
            return err_set(err, ERR_NOMEM, "out of memory");
        sl->last = nl;
        sl->last_cap = cap;
    }
    if (w->nframes) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(sl->last, w->frames, w->nframes * sizeof *w->frames);
    sl->last_n = w->nframes;
    sl->last_partial = w->partial;
    return 0;
}

/* Turns one thread's walked frames into a stack id, reusing the last one when nothing changed. */
static int
thread_stack(Sampler *s, Proc *pr, Slot *sl, const WalkThread *w, StackId *out, Err *err)
{
    if (sl->last && !sl->relabel && sl->last_n == w->nframes && sl->last_partial == w->partial &&
        memcmp(sl->last, w->frames, w->nframes * sizeof *w->frames) == 0) {
        *out = sl->last_stack;
        return 0;
    }
    if (build_stack(s, pr, sl, w->frames, w->nframes, w->partial, out, err) < 0)
        return -1;
    return remember(sl, w, err);
}

/* Adds the thread's open run of samples to the profile. */
static int
close_run(Sampler *s, Slot *sl, Err *err)
{
    if (!sl->run_open)
        return 0;
    sl->run_open = false;
    return profile_add_sample(s->p, &sl->run, err);
}

/* Records a thread's sample. A thread often stays in one stack from sample to sample (asleep,
 * waiting, in a long C call): such samples merge into one whose weight is the intervals it
 * stands for and whose time is the last of them (as for a late moment), so a long attach to
 * a process of mostly idle threads does not keep a record per thread per moment. A run ends
 * when the stack or flags change, after RUN_MAX_NS (the HTML timeline places a sample at
 * its time), at each flush (what was streamed is complete), and when sampling ends. */
static int
add_sample(Sampler *s, Slot *sl, const ProfSample *smp, Err *err)
{
    if (!s->in_run) /* sampler_step: each moment on its own */
        return profile_add_sample(s->p, smp, err);
    if (sl->run_open && sl->run.stack == smp->stack && sl->run.flags == smp->flags &&
        smp->t_ns - sl->run_start_ns < RUN_MAX_NS && sl->run.weight + smp->weight <= INT32_MAX) {
        sl->run.weight += smp->weight;
        sl->run.t_ns = smp->t_ns;
        return 0;
    }
    if (close_run(s, sl, err) < 0)
        return -1;
    sl->run = *smp;
    sl->run_start_ns = smp->t_ns;
    sl->run_open = true;
    return 0;
}

static int
close_runs(Sampler *s, Err *err)
{
    for (size_t i = 0; i < s->nprocs; i++)
        for (size_t k = 0; k < s->procs[i].nslots; k++)
            if (close_run(s, &s->procs[i].slots[k], err) < 0)
                return -1;
    return 0;
}

/* With --threads, the samples of a thread seen before it has its name (a new thread runs a
 * moment before threading registers it) are held back until the name comes, so that all
 * of its stacks get the same root; for a while only, as some threads never get one. */
static bool
defer_samples(const Sampler *s, const Slot *sl, int64_t t_ns)
{
    return s->in_run && s->opt.threads_root && !sl->named && t_ns - sl->born_ns < DEFER_NS &&
           sl->pend.len < DEFER_MAX * sizeof(Pending) &&
           sl->pend_frames.len + sl->last_n * sizeof(FrameId) <= DEFER_MAX * 64 * sizeof(FrameId);
}

/* Holds a sample of the last stack (sl->last) back. */
static int
hold(Slot *sl, int64_t t_ns, int64_t weight, uint8_t flags, Err *err)
{
    Pending h = {.t_ns = t_ns,
                 .weight = weight,
                 .off = sl->pend_frames.len / sizeof(FrameId),
                 .n = sl->last_n,
                 .partial = sl->last_partial,
                 .flags = flags};
    buf_append(&sl->pend, &h, sizeof h);
    buf_append(&sl->pend_frames, sl->last, sl->last_n * sizeof *sl->last);
    if (buf_failed(&sl->pend) || buf_failed(&sl->pend_frames))
        return err_set(err, ERR_NOMEM, "out of memory");
    return 0;
}

/* Adds the held-back samples of a thread under its root as it is now. Afterwards the last
 * stack is built again (the last one held back had the same frames as sl->last). */
static int
hand_over(Sampler *s, Proc *pr, Slot *sl, Err *err)
{
    const Pending *held = (const Pending *)sl->pend.data;
    const FrameId *frames = (const FrameId *)sl->pend_frames.data;
    for (size_t i = 0; i < sl->pend.len / sizeof *held; i++) {
        const Pending *h = &held[i];
        StackId stack;
        if (build_stack(s, pr, sl, frames + h->off, h->n, h->partial, &stack, err) < 0)
            return -1;
        ProfSample smp = {.t_ns = h->t_ns,
                          .stack = stack,
                          .thread = sl->thread,
                          .flags = h->flags,
                          .series = s->series,
                          .weight = h->weight};
        if (profile_add_sample(s->p, &smp, err) < 0)
            return -1;
    }
    buf_reset(&sl->pend);
    buf_reset(&sl->pend_frames);
    return 0;
}

/* Adds every sample of a thread still held back or in an open run. */
static int
slot_flush(Sampler *s, Proc *pr, Slot *sl, Err *err)
{
    if (sl->pend.len && hand_over(s, pr, sl, err) < 0)
        return -1;
    return close_run(s, sl, err);
}

static int
hand_over_proc(Sampler *s, Proc *pr, Err *err)
{
    for (size_t i = 0; i < pr->nslots; i++)
        if (slot_flush(s, pr, &pr->slots[i], err) < 0)
            return -1;
    return 0;
}

/* Reads the map of the process's threads from their ids in its namespace to ferret's. */
static void
read_tids(Proc *pr)
{
    pid_t host[MAX_THREADS];
    size_t n = proc_tasks(pr->pid, host, MAX_THREADS);
    if (n > pr->tids_cap) {
        TidPair *nt = realloc(pr->tids, n * sizeof *nt);
        if (!nt)
            return;
        pr->tids = nt;
        pr->tids_cap = n;
    }
    pr->ntids = 0;
    for (size_t i = 0; i < n; i++) {
        pid_t ns = proc_ns_tid(pr->pid, host[i]);
        if (ns > 0)
            pr->tids[pr->ntids++] = (TidPair){(uint64_t)ns, (uint64_t)host[i]};
    }
}

/* The kernel tid ferret sees for a tid the program holds (its native_thread_id, or glibc's
 * tid): the same, unless the program runs in another pid namespace. 0 if no live thread has
 * it. */
static uint64_t
host_tid(Proc *pr, uint64_t tid)
{
    if (!pr->other_ns || !tid)
        return tid;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < pr->ntids; i++)
            if (pr->tids[i].ns == tid)
                return pr->tids[i].host;
        if (pass)
            break;
        int64_t now = now_ns(CLOCK_MONOTONIC);
        for (unsigned k = 0; k < pr->nmissing && k < 8; k++)
            if (pr->missing[k].tid == tid && pr->missing[k].until_ns > now)
                return 0; /* looked for lately, in vain (a thread state left behind) */
        read_tids(pr);
    }
    unsigned k = pr->nmissing++ % 8;
    pr->missing[k].tid = tid;
    pr->missing[k].until_ns = now_ns(CLOCK_MONOTONIC) + DISCOVER_NS;
    return 0;
}

/* walk_sample's question before reading a thread's frames: a known thread asleep since its
 * stack was last read keeps that stack. */
static bool
thread_unchanged(void *ctx, uint64_t tid)
{
    Proc *pr = ctx;
    tid = host_tid(pr, tid);
    for (size_t i = 0; tid && i < pr->nslots; i++) {
        Slot *sl = &pr->slots[i];
        if (sl->key != tid)
            continue;
        /* asked again in the same moment (a thread with a state in each of two interpreters,
         * whose stacks are joined): the same answer */
        if (sl->asked_at == pr->moment)
            return sl->asked_unchanged;
        sl->asked_at = pr->moment;
        return sl->asked_unchanged = sl->have_fingerprint && !pr->frozen &&
                                     !proc_thread_must_walk(&sl->stat, &sl->walked_at, pr->moment);
    }
    return false;
}

/* One sampling moment of one process; each stack stands for `weight` sampling intervals. */
static int
sample_proc_once(Sampler *s, Proc *pr, int64_t t_ns, int64_t weight, Err *err)
{
    /* blocking: kernel states first, a frozen thread would look stopped */
    if (pr->frozen)
        for (size_t i = 0; i < pr->nslots; i++)
            pr->slots[i].running = proc_thread_running(&pr->slots[i].stat, 0);
    if (pr->frozen && freeze_stop(&pr->freeze, err) < 0) {
        if (err->kind != ERR_GONE)
            return -1;
        pr->gone = true;
        return 0;
    }
    if (pr->frozen && pr->freeze.leader_reaped && !s->reaped) {
        s->reaped = true;
        s->reaped_status = pr->freeze.leader_status;
    }
    size_t n = 0;
    WalkBuffers b = {s->wthreads,       s->wthreads_cap,  s->frames, s->frames_cap,
                     PROFILE_MAX_DEPTH, thread_unchanged, pr};
    pr->moment++;
    WalkDrops saved = s->drops;
    uint64_t before = 0;
    for (int r = 0; r < WALK_DROP_COUNT; r++)
        before += s->drops.n[r];
    int rc = walk_sample(pr->t, s->p, &b, &n, &s->drops, err);
    if (pr->frozen)
        freeze_resume(&pr->freeze);
    if (rc < 0) {
        if (err->kind == ERR_GONE) {
            pr->gone = true;
            return 0;
        }
        return -1;
    }
    uint64_t after = 0;
    for (int r = 0; r < WALK_DROP_COUNT; r++)
        after += s->drops.n[r];
    pr->fails = (n == 0 && after > before) ? pr->fails + 1 : 0;
    for (size_t i = 0; pr->other_ns && i < n; i++)
        s->wthreads[i].tid = host_tid(pr, s->wthreads[i].tid);
    if (pr->fails && exec_changed(pr)) {
        /* nothing was torn: an exec replaced the program these addresses belonged to */
        s->drops = saved;
        pr->fails = 0;
        s->exec_seen = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const WalkThread *w = &s->wthreads[i];
        Slot *sl = find_slot(s, pr, w, t_ns, err);
        if (!sl)
            return -1;
        sl->seen_tick = s->stats.ticks;
        if (sl->stat.dead) /* its kernel thread exited, its Python state stayed */
            continue;
        bool defer = defer_samples(s, sl, t_ns);
        if (!sl->named) {
            int nrc = 0;
            if (defer && t_ns >= sl->name_next_ns) {
                sl->name_next_ns = t_ns + NAME_QUICK_NS;
                nrc = name_slot(s, pr, sl, w, true, err);
            } else if (!defer && sl->name_tries < NAME_TRIES &&
                       s->stats.ticks % NAME_RETRY_TICKS == sl->key % NAME_RETRY_TICKS) {
                nrc = name_slot(s, pr, sl, w, false, err);
            }
            if (nrc < 0)
                return -1;
            defer = defer_samples(s, sl, t_ns);
        }
        if (!defer && sl->pend.len && hand_over(s, pr, sl, err) < 0)
            return -1;
        /* a thread whose Python stack changed since the last sample executed code meanwhile;
         * only an unchanged one (asleep, blocked, or in a long C call) needs the kernel's
         * state, which costs more to read than the whole stack; one asleep since the last
         * sample was not even walked */
        StackId stack = sl->last_stack;
        if (w->unchanged) { /* asleep since the last sample: the same stack, idle */
            sl->running = 0;
            if (!defer && sl->relabel &&
                build_stack(s, pr, sl, sl->last, sl->last_n, sl->last_partial, &stack, err) < 0)
                return -1;
        } else {
            /* a changed stack proves the thread ran during the last interval; a late moment
             * stands for several intervals, so only the kernel can say what it is doing now */
            bool ran = sl->have_fingerprint && sl->fingerprint != w->fingerprint;
            if (ran) /* whatever the kernel said at its last read, it ran since */
                proc_thread_ran(&sl->stat);
            if (!pr->frozen) {
                if (weight == 1 && ran)
                    sl->running = 1;
                else if (!sl->fresh)
                    sl->running = proc_thread_running(&sl->stat, pr->moment);
            }
            sl->fingerprint = w->fingerprint;
            sl->have_fingerprint = true;
            if (defer) {
                if (remember(sl, w, err) < 0)
                    return -1;
                sl->relabel = true; /* last_stack is not this one */
            } else if (thread_stack(s, pr, sl, w, &stack, err) < 0) {
                return -1;
            }
        }
        sl->fresh = false;
        uint8_t flags = 0;
        if (sl->running != 0) /* unknown counts as running */
            flags |= SAMPLE_ON_CPU;
        if (w->has_gil)
            flags |= SAMPLE_HAS_GIL;
        if (w->partial)
            flags |= SAMPLE_PARTIAL;
        if (defer) {
            if (hold(sl, t_ns, weight, flags, err) < 0)
                return -1;
            s->stats.samples++;
            continue;
        }
        ProfSample smp = {.t_ns = t_ns, .stack = stack, .thread = sl->thread, .flags = flags,
                          .series = s->series, .weight = weight};
        if (add_sample(s, sl, &smp, err) < 0)
            return -1;
        s->stats.samples++;
    }
    return 0;
}

/* The same, and room for more threads or frames next time if this moment lacked it (the
 * threads left out are counted as dropped, a stack cut short keeps its innermost frames). */
static int
sample_proc(Sampler *s, Proc *pr, int64_t t_ns, int64_t weight, Err *err)
{
    uint64_t threads = s->drops.n[WALK_DROP_buffer], frames = s->drops.frames_short;
    int rc = sample_proc_once(s, pr, t_ns, weight, err);
    grow_buffers(s, s->drops.n[WALK_DROP_buffer] - threads, s->drops.frames_short > frames);
    return rc;
}

/* Forgets threads not seen for a while (they exited): closes their /proc files. */
static int
prune_slots(Sampler *s, Proc *pr, Err *err)
{
    uint64_t horizon = (uint64_t)(s->opt.rate_hz / 2) + 2; /* half a second of ticks */
    size_t k = 0;
    for (size_t i = 0; i < pr->nslots; i++) {
        Slot *sl = &pr->slots[i];
        if (s->stats.ticks - sl->seen_tick > horizon) {
            if (slot_flush(s, pr, sl, err) < 0)
                return -1;
            slot_fini(sl);
            continue;
        }
        proc_thread_dead(&sl->stat); /* notes stat.dead */
        pr->slots[k++] = *sl;
    }
    pr->nslots = k;
    return 0;
}

/* Children (with --subprocesses), exec'd images, and processes still becoming Python. */
static int
discover(Sampler *s, Err *err)
{
    size_t n = s->nprocs;
    for (size_t i = 0; i < n; i++) {
        Proc *pr = &s->procs[i];
        if (pr->gone)
            continue;
        if (!proc_alive(pr->pid)) { /* exited (a zombie until its parent waits) */
            pr->gone = true;
            continue;
        }
        if (prune_slots(s, pr, err) < 0)
            return -1;
        if (!pr->t && !pr->not_python) {
            if (proc_open_target(s, pr, true, err) < 0)
                return -1;
            /* (by time in one image, not by looks: they come every 10 ms while the command
             * is not Python yet, and a wrapper's child may take longer to exec and load) */
            if (!pr->t && !pr->gone && !pr->unready_since_ns && i > 0 && pr->img_since_ns &&
                now_ns(CLOCK_MONOTONIC) - pr->img_since_ns >= CHILD_WAIT_NS)
                pr->not_python = true;
        } else if (pr->t) {
            /* an exec replaced the image, or reads keep failing: find the runtime again */
            if (exec_changed(pr) || pr->fails >= FAILS_BEFORE_REOPEN) {
                if (hand_over_proc(s, pr, err) < 0)
                    return -1;
                proc_close(pr);
                if (proc_open_target(s, pr, true, err) < 0)
                    return -1;
            }
        }
        if (!s->opt.subprocesses || pr->gone) /* (its place may be taken below) */
            continue;
        pid_t kids[64];
        size_t nk = proc_children(pr->pid, kids, 64);
        for (size_t k = 0; k < nk; k++) {
            bool known = false;
            for (size_t j = 0; j < s->nprocs && !known; j++)
                known = s->procs[j].pid == kids[k] && !s->procs[j].gone;
            if (known || !proc_alive(kids[k])) /* a zombie: exited, and its parent not told */
                continue;
            Proc *child = add_proc(s, kids[k], pr->pid);
            if (!child)
                break;
            if (proc_open_target(s, child, true, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int
flush(Sampler *s, Err *err)
{
    if (close_runs(s, err) < 0)
        return -1;
    for (int r = 0; r < WALK_DROP_COUNT; r++) {
        uint64_t d = s->drops.n[r] - s->drops_flushed.n[r];
        if (d && profile_add_dropped(s->p, walk_drop_name((WalkDropReason)r), d, err) < 0)
            return -1;
        s->drops_flushed.n[r] = s->drops.n[r];
    }
    profile_info(s->p)->duration_ns = now_ns(CLOCK_MONOTONIC) - s->t0_ns;
    if (s->version[0] && profile_meta_set(s->p, "python_version", s->version, err) < 0)
        return -1;
    if (s->opt.flush && s->opt.flush(s->opt.flush_ctx, s->p, err) < 0)
        return -1;
    return 0;
}

/* sched_setattr(2)'s argument; glibc has no declaration of it. */
typedef struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
} SchedAttr;

#define SAMPLER_SLICE_NS 100000 /* the sampling thread's time slice (EEVDF, Linux 6.12+) */
#define EXIT_POLL_NS 20000000LL /* at low rates, how often to look whether the process ended */
#define LATE_WINDOW 1000        /* wake-ups per look at the sampler's own punctuality */
#define LATE_PERCENT 5          /* intervals lost to late wake-ups that call for priority */

/* This thread's nice value and, where the kernel has them (6.12+), a custom time slice. */
static int
sched_fair(int nice, uint64_t slice_ns)
{
    SchedAttr a = {.size = sizeof a, .policy = 0 /* SCHED_OTHER */, .nice = nice,
                   .runtime = slice_ns};
    return (int)syscall(SYS_sched_setattr, 0, &a, 0);
}

/* Timely wake-ups for this thread only (never the program, which was started before): the
 * least timer slack and a short time slice. The sampler uses little CPU but must run when
 * its moment comes. On a machine whose cores the target keeps busy, a normal thread waking
 * every millisecond waits for a core: measured here, one wake-up in ten came over 2 ms
 * late, and nice -10 alone hardly helped. The kernel's EEVDF scheduler lets a thread that
 * asks for a short slice preempt at wake-up: with a 100 us slice, 1 in 400. It stays a
 * fair-share thread (no real-time policy that could starve the target). Returns the nice
 * value to restore. */
static int
timely(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int before = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno)
        before = 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    sched_fair(before, SAMPLER_SLICE_NS); /* fails on kernels before 6.12: nothing changes */
    return before;
}

/* More priority (nice -10), where allowed (root, CAP_SYS_NICE), for a sampler that falls
 * behind even so: at 10 kHz beside 4 computing threads the slice alone reached 86-88% of
 * the rate, 97-98% with it. Not from the start, because the program pays for it whenever a
 * core is free anyway: the sampler then preempts the program's threads rather than wait
 * for the idle core, and threads.py (two threads passing the GIL, two waking every 5 and
 * 20 ms) ran 1.5-2 points slower at 1 kHz with it, where the slice alone keeps 99% of the
 * rate. */
static void
more_priority(int before)
{
    int nice = before > SAMPLER_NICE ? SAMPLER_NICE : before;
    if (nice != before && sched_fair(nice, SAMPLER_SLICE_NS) < 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice); /* old kernel */
}

/* Without subprocesses only the command itself is sampled, once it is Python. One that runs
 * Python as its child instead (a wrapper that forks, such as timeout or time; a shell script
 * that does not exec) would never be: its Python child is looked for, to say so once it has
 * run for CHILD_GRACE_NS (a launcher may run Python for a moment, then exec it). So are the
 * children's children, a few generations down (a script that runs `timeout 5 python3 ...`). */
#define CHILD_LOOK_GENERATIONS 3
#define CHILD_LOOK_MAX 64
static void
look_for_python_child(Sampler *s, int64_t now)
{
    if (now < s->next_child_look_ns || (s->py_child && proc_alive(s->py_child)))
        return;
    s->next_child_look_ns = now + DISCOVER_NS;
    /* breadth first: [from, n) is one generation, appended to by the next */
    pid_t kids[CHILD_LOOK_MAX];
    size_t n = proc_children(s->procs[0].pid, kids, CHILD_LOOK_MAX), from = 0;
    for (int depth = 1; depth <= CHILD_LOOK_GENERATIONS && from < n; depth++) {
        size_t to = n;
        for (size_t k = from; k < to; k++) {
            Err e;
            Target *t = proc_alive(kids[k]) ? target_open(kids[k], s->opt.find, &e) : NULL;
            if (t) {
                target_close(t);
                s->py_child = kids[k];
                s->py_child_depth = depth;
                s->py_child_since_ns = now;
                return;
            }
        }
        for (size_t k = from; k < to && n < CHILD_LOOK_MAX; k++)
            n += proc_children(kids[k], kids + n, CHILD_LOOK_MAX - n);
        from = to;
    }
}

/* The command was never Python itself, but ran it as its child: how to sample that. */
static int
python_child_error(const Sampler *s, bool exited, Err *err)
{
    pid_t pid = s->procs[0].pid;
    const char *kin = s->py_child_depth == 1   ? "child"
                      : s->py_child_depth == 2 ? "grandchild"
                                               : "descendant";
    if (exited)
        return err_set(err, ERR_NOTPY,
                       "process %d exited without running Python itself but ran it as its "
                       "%s process %d: add --subprocesses to sample child processes",
                       (int)pid, kin, (int)s->py_child);
    char comm[64] = "";
    proc_thread_comm(pid, pid, comm, sizeof comm);
    return err_set(err, ERR_NOTPY,
                   "process %d%s%s%s runs Python as its %s process %d, not itself: add "
                   "--subprocesses to sample child processes",
                   (int)pid, comm[0] ? " (" : "", comm, comm[0] ? ")" : "", kin, (int)s->py_child);
}

/* Sleeps until the moment `next`. At low rates (-r 10 and below) a moment can be far off:
 * wake at the end of --duration instead if that comes first, and look every EXIT_POLL_NS
 * whether the process started has exited, so that ferret (and `ferret run`) does not wait up
 * to a whole interval after the program ended. That look is made until it first sees the exit
 * (*exit_seen): the moment it brings forward finds the process gone; any child processes
 * sampled on keep the schedule. */
static void
sleep_until(Sampler *s, int64_t next, int64_t end, bool *exit_seen, volatile sig_atomic_t *stop)
{
    int64_t wake = end && end < next ? end : next;
    for (;;) {
        int64_t until = wake, now = now_ns(CLOCK_MONOTONIC);
        bool look = !*exit_seen && wake - now > EXIT_POLL_NS;
        if (look)
            until = now + EXIT_POLL_NS;
        struct timespec ts = {until / 1000000000LL, until % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
               !(stop && *stop))
            ;
        if (!look || (stop && *stop))
            return;
        if (!proc_alive(s->procs[0].pid)) {
            *exit_seen = true;
            return;
        }
    }
}

int
sampler_run(Sampler *s, volatile sig_atomic_t *stop, Err *err)
{
    const int64_t interval = (int64_t)(1e9 / s->opt.rate_hz);
    int nice_before = timely();
    /* punctuality: intervals lost to late wake-ups among the last LATE_WINDOW */
    uint64_t win_wakes = 0, win_lost = 0;
    s->in_run = true;
    s->t0_ns = now_ns(CLOCK_MONOTONIC);
    profile_info(s->p)->start_unix_ns = now_ns(CLOCK_REALTIME);
    int64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t end = s->opt.duration_s > 0 ? s->t0_ns + (int64_t)(s->opt.duration_s * 1e9) : 0;
    int64_t next = s->t0_ns, next_discover = s->t0_ns + DISCOVER_NS,
            next_flush = s->t0_ns + FLUSH_NS, next_pending = s->t0_ns, next_look = s->t0_ns;
    int rc = 0;
    bool ever_python = false, cut_short = false;
    /* the time rate_hz is measured over: each sampled moment stands for the time since the
     * one before when that one sampled too, else for one interval */
    int64_t sampling_ns = 0, prev_ns = 0;
    uint64_t sampling_ticks = 0;
    bool prev_sampled = false, exit_seen = false;
    while (!(stop && *stop)) {
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (end && now >= end) {
            cut_short = true;
            break;
        }
        /* a moment that comes late (the machine was busy) also stands for the whole intervals
         * it missed, so the weights add up to the time elapsed and busy phases of the target
         * are not under-counted */
        int64_t weight = 1;
        if (now - next >= interval) {
            int64_t missed = (now - next) / interval;
            s->stats.ticks_missed += (uint64_t)missed;
            next += missed * interval;
            weight += missed;
        }
        if (weight > MAX_WEIGHT)
            weight = MAX_WEIGHT;
        bool alive = false, sampled = false;
        for (size_t i = 0; i < s->nprocs; i++) {
            Proc *pr = &s->procs[i];
            if (pr->t && !pr->gone) {
                ever_python = sampled = true;
                if (sample_proc(s, pr, now - s->t0_ns, weight, err) < 0) {
                    rc = -1;
                    goto done;
                }
            }
            alive |= !pr->gone;
        }
        s->stats.ticks++;
        s->stats.sampled_ticks += sampled;
        if (sampled && alive) { /* not the moment that found the last process gone */
            sampling_ns += prev_sampled ? now - prev_ns : interval;
            sampling_ticks++;
        }
        prev_sampled = sampled;
        prev_ns = now;
        if (!alive)
            break;
        /* Until the process started is Python, it and its children are looked at every
         * 10 ms, and it alone every millisecond just after its exec, while the loader maps
         * libpython and the interpreter starts: a short program is sampled from its start.
         * A look reads its maps and ELF headers (50-100 us), too much for every 1 ms of a
         * launcher that runs Python as a child. Sampling keeps its own pace meanwhile. */
        Proc *root = &s->procs[0];
        bool pending = !root->t && !root->gone;
        if ((pending && now >= next_pending) || now >= next_discover || s->exec_seen) {
            s->exec_seen = false;
            if (discover(s, err) < 0) {
                rc = -1;
                goto done;
            }
            next_discover = now + DISCOVER_NS;
            next_pending = now + PENDING_NS;
            next_look = now + LOOK_NS;
        } else if (pending && now >= next_look && now - root->img_since_ns < LOOK_FOR_NS) {
            if (proc_open_target(s, root, true, err) < 0) {
                rc = -1;
                goto done;
            }
            next_look = now + LOOK_NS;
        }
        pending = !root->t && !root->gone;
        if (pending && s->opt.wait_python && !s->opt.subprocesses) {
            look_for_python_child(s, now);
            if (s->py_child && now - s->py_child_since_ns >= CHILD_GRACE_NS &&
                proc_alive(s->py_child)) {
                rc = python_child_error(s, false, err);
                goto done;
            }
        }
        bool look = pending && now - root->img_since_ns < LOOK_FOR_NS;
        if (now >= next_flush) {
            if (flush(s, err) < 0) {
                rc = -1;
                goto done;
            }
            next_flush = now + FLUSH_NS;
        }
        if (sampled || !pending)
            next += interval;
        else /* nothing to sample yet */
            next = look && next_look < next_pending ? next_look : next_pending;
        sleep_until(s, next, end, &exit_seen, stop);
        /* Only a wake-up that came late (no core for the thread in time) counts, not a
         * moment that took long (opening a target, a flush). */
        if (!s->prioritised && (sampled || !pending)) {
            win_lost += (uint64_t)((now_ns(CLOCK_MONOTONIC) - next) / interval);
            if (++win_wakes >= LATE_WINDOW) {
                if (win_lost * 100 > LATE_PERCENT * (win_wakes + win_lost)) {
                    more_priority(nice_before);
                    s->prioritised = true;
                    s->stats.prioritised_at_s = (double)(next - s->t0_ns) / 1e9;
                }
                win_wakes = win_lost = 0;
            }
        }
    }
done:
    s->in_run = false;
    for (size_t i = 0; i < s->nprocs; i++) {
        Err herr;
        if (hand_over_proc(s, &s->procs[i], rc == 0 ? err : &herr) < 0)
            rc = -1;
    }
    if (sched_fair(nice_before, 0) < 0) /* the default slice again */
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice_before);
    s->stats.elapsed_s = (double)(now_ns(CLOCK_MONOTONIC) - s->t0_ns) / 1e9;
    s->stats.cpu_s = (double)(now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e9;
    s->stats.rate_hz = sampling_ns > 0 ? (double)sampling_ticks * 1e9 / (double)sampling_ns : 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%.1f", s->stats.rate_hz);
    Err ferr;
    char at[64];
    snprintf(at, sizeof at, "%.3f", s->stats.prioritised_at_s);
    if (profile_meta_set(s->p, "rate_achieved_hz", buf, &ferr) < 0 ||
        (s->prioritised && profile_meta_set(s->p, "sampler_prioritised_at_s", at, &ferr) < 0) ||
        flush(s, rc == 0 ? err : &ferr) < 0) {
        if (rc == 0)
            rc = -1;
    }
    /* the duration or a signal ended sampling before Python started: a short, empty
     * profile, not a failure */
    cut_short |= stop && *stop;
    if (rc == 0 && !ever_python && s->opt.wait_python && !cut_short) {
        if (s->procs[0].unready_seen) { /* it ended while its Python could not be read */
            *err = s->procs[0].unready_err;
            rc = -1;
        } else if (s->py_child) {
            rc = python_child_error(s, true, err);
        } else {
            rc = err_set(err, ERR_NOTPY, "process %d exited without running Python",
                         (int)s->procs[0].pid);
        }
    }
    return rc;
}

int
sampler_step(Sampler *s, Err *err)
{
    if (!s->t0_ns)
        s->t0_ns = now_ns(CLOCK_MONOTONIC);
    int64_t t = now_ns(CLOCK_MONOTONIC) - s->t0_ns;
    bool sampled = false;
    for (size_t i = 0; i < s->nprocs; i++) {
        Proc *pr = &s->procs[i];
        if (pr->t && !pr->gone) {
            sampled = true;
            if (sample_proc(s, pr, t, 1, err) < 0)
                return -1;
        }
    }
    s->stats.ticks++;
    s->stats.sampled_ticks += sampled;
    return 0;
}

void
sampler_stats(const Sampler *s, SamplerStats *out)
{
    *out = s->stats;
    out->dropped = 0;
    for (int r = 0; r < WALK_DROP_COUNT; r++)
        out->dropped += s->drops.n[r];
    out->reads = 0;
    for (size_t i = 0; i < s->nprocs; i++) {
        if (s->procs[i].t) {
            uint64_t reads, bytes;
            target_read_stats(s->procs[i].t, &reads, &bytes);
            out->reads += reads;
        }
    }
}

const char *
sampler_python_version(const Sampler *s)
{
    return s->version;
}

bool
sampler_reaped(const Sampler *s, int *wstatus)
{
    if (s->reaped)
        *wstatus = s->reaped_status;
    return s->reaped;
}
