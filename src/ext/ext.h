/* SPDX-License-Identifier: MIT */
/* ext.h: state shared by the _ferret extension's files: the one tracer a process can run
 * (hooks are process-wide), per-thread lookup, and the entry points between module.c
 * (the Python API) and the hook layer (hooks_monitoring.c from CPython 3.12 on,
 * hooks_legacy.c before). Everything here is touched only with the GIL held.
 * Include Python.h before this header. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "ext/tracer.h"

typedef struct Recording Recording;

typedef struct {
    Tracer *t;    /* the running tracer, or the last one until released */
    uint64_t gen; /* bumped at every start; per-thread slots from older runs are stale */
    bool running; /* hooks installed */
    bool lines, builtins;
    PyObject *keep;         /* list holding every key object (code, type) the tracer has seen */
    PyObject *hint;         /* the callable being described (C functions), borrowed */
    char *ignore_dir;       /* frames from files under this directory are ferret's own */
    char **include;         /* --include patterns */
    uint64_t *include_hits; /* functions each pattern matched */
    size_t ninclude;
    uint64_t next_flush;   /* ticks when the stream is next flushed; UINT64_MAX: no stream */
    uint64_t flush_ticks;  /* one second in ticks */
    Recording *stream;     /* the recording streamed to a .ferret file (ferret trace) */
    const char *hook_name; /* "sys.monitoring", "setprofile", "settrace" */
    bool hook_replaced;    /* another profiler took the hook in some thread (pre-3.12) */
    bool trace_replaced;   /* a C-level tracer took the trace hook in some thread (pre-3.12) */
    bool eval_replaced;    /* another frame evaluator took ferret's place (a JIT, -X perf) */
    bool getitem_unseen;   /* 3.11.0-3.11.3: a __getitem__ may have run unseen (gh-104405) */
    bool rewrite;          /* 3.11 --lines: probes in copies of the code (rewrite.c), not
                              the trace function; only where tracing starts before the
                              program (`ferret trace`): frames already running keep their code */
    unsigned long main_ident;
} ExtState;

extern ExtState ext;

typedef struct {
    uint64_t gen;
    TThread *th;
    uintptr_t stack_lo; /* lowest safe C stack address of this thread (0: unknown) */
} ExtTls;

/* initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per event (4.5%
 * of a traced calls.py on 3.12). 24 bytes fit the static TLS glibc reserves for modules
 * loaded with dlopen. */
#define EXT_TLS_MODEL __attribute__((tls_model("initial-exec")))
extern _Thread_local ExtTls ext_tls EXT_TLS_MODEL;

/* Slow path of ext_thread(): the first event of a thread in this run. Adds the thread and,
 * with `seed`, pushes the frames already running in it (the current frame too unless
 * skip_current: an event that starts or resumes the current frame pushes it itself).
 * NULL when the tracer has failed. */
TThread *ext_thread_attach(bool skip_current);

/* The calling thread's TThread, or NULL when no tracer runs or recording has failed. */
static inline TThread *
ext_thread(bool skip_current)
{
    if (ext_tls.gen == ext.gen && ext_tls.th)
        return ext.t->failed ? NULL : ext_tls.th;
    if (!ext.running || !ext.t || ext.t->failed)
        return NULL;
    return ext_thread_attach(skip_current);
}

/* Looks the calling thread's name up in threading._active (a bounded number of tries:
 * a new thread registers there only after its first frames run). */
void ext_thread_name(TThread *th);

/* Flushes the streamed recording (called from a hook once a second). */
void ext_flush_stream(uint64_t now);
static inline void
ext_maybe_flush(uint64_t now)
{
    if (now >= ext.next_flush)
        ext_flush_stream(now);
}

/* Key of a C callable (builtin function or method, method descriptor); false for
 * anything else. Sets ext.hint for the describe callback. */
bool ext_cfunc_key(PyObject *callable, const void **k1, const void **k2);
/* Does a C call made from `caller` (a code object) belong to ferret's own code? The usual
 * answer comes from the top of the stack; only a caller not on top is looked up. */
static inline bool
ext_caller_ignored(TThread *th, const void *caller)
{
    if (th->depth && th->stack[th->depth - 1].k1 == caller)
        return false;
    return tracer_key_ignored(ext.t, caller, NULL);
}

/* Is this code object a generator, coroutine or async generator? */
static inline bool
ext_code_is_gen(PyCodeObject *co)
{
    return (co->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
}

/* Py_NewRef is 3.10+. */
static inline PyObject *
ext_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}

/* Hook layer (one implementation per CPython generation). */
int hooks_install(void); /* 0, or -1 with a Python exception set */
void hooks_remove(void); /* safe to call twice */
/* Checks whether another profiler replaced ferret's hook in some thread (pre-3.12);
 * sets ext.hook_replaced. */
void hooks_check(void);
/* Adds the hook layer's own functions to the module (pre-3.12: sys.setprofile routing). */
int hooks_add_methods(PyObject *module);
/* Adds ferret.bench()'s timing loop and statistics (timing.c). */
int timing_add_methods(PyObject *module);
/* Called after fork() in the child: drop the hooks without touching other threads. */
void hooks_forget(void);

/* 3.11 line events from probes in copies of the code (rewrite.c). rewrite_start: 0, or -1
 * with a Python exception set. rewrite_code: the copy to run for co (new reference), Py_None
 * when co wants no lines or cannot be given probes (rewrite_failed counts those), NULL with
 * an exception on failure. rewrite_probed: is co such a copy? */
int rewrite_start(void);
PyObject *rewrite_code(PyCodeObject *co);
bool rewrite_probed(PyCodeObject *co);
extern uint64_t rewrite_failed;

/* Function mode through the frame evaluator (hooks_eval.c), shared by both hook layers.
 * eval_usable: can a trace with these options use it here (neither lines nor builtins, no
 * other evaluator installed)? eval_install: 0, or -1 with a Python exception set. */
bool eval_usable(bool lines, bool builtins);
int eval_install(void);
void eval_remove(void); /* only removes ferret's own */
/* While ferret's evaluator should be in place: sets ext.eval_replaced if another one has
 * taken its place. */
void eval_check(void);
