/* SPDX-License-Identifier: MIT */
/* hooks_eval.c: function mode through the frame-evaluation function (PEP 523), on every
 * supported CPython. The interpreter calls it around the evaluation of each Python frame
 * (a call, a generator's creation, each resume). It is the cheapest exact source of calls
 * and returns there is: a profile function switches 3.9-3.11 into their tracing mode and
 * makes a frame object per call; sys.monitoring (3.12+) boxes arguments and dispatches two
 * callbacks per call (docs/TRACE.md has the measurements). The price: with an evaluator set
 * the interpreter stops running Python-to-Python calls inline, so each Python call nests
 * one C call. eval_hook therefore watches the C stack itself, and on 3.12+ gives back the
 * C recursion units each nested evaluation takes, so a program recurses as deep as
 * without ferret (sys.getrecursionlimit still decides).
 * Used by hooks_legacy.c and hooks_monitoring.c when neither --lines nor --builtins is on
 * and no other evaluator is installed. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ext/ext.h"

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11 made frames internal; their layout is in Include/internal/pycore_frame.h, which an
 * extension may include (3.12+ ask for Py_BUILD_CORE): fields are stable within a minor
 * version, and ferret's extension is built per minor version. */
#if PY_VERSION_HEX >= 0x030C0000
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#else
#include <opcode.h>

#include "internal/pycore_frame.h"
#endif
typedef struct _PyInterpreterFrame EvalFrame;
#else
#include <frameobject.h>
typedef PyFrameObject EvalFrame;
#endif

static inline PyCodeObject *
eval_code(EvalFrame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return (PyCodeObject *)f->f_executable; /* always code when the evaluator runs it */
#else
    return f->f_code;
#endif
}

/* The code object of the Python frame making this call (NULL: none), read before the
 * evaluation links f to it: 3.9/3.10 frames know their caller at creation; from 3.11 the
 * thread's current frame is still the caller's when the evaluator is called. */
static inline const void *
caller_code(PyThreadState *ts, EvalFrame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    (void)f;
    struct _PyInterpreterFrame *c = ts->current_frame;
    return c && c->f_executable && PyCode_Check(c->f_executable) ? c->f_executable : NULL;
#elif PY_VERSION_HEX >= 0x030B0000
    (void)f;
    struct _PyInterpreterFrame *c = ts->cframe ? ts->cframe->current_frame : NULL;
    return c ? (const void *)c->f_code : NULL;
#else
    (void)ts;
    return f->f_back ? (const void *)f->f_back->f_code : NULL;
#endif
}

/* What this evaluation of f is: 1 the start of a call, 0 a generator or coroutine
 * resuming, -1 the evaluation that only creates a generator (3.11+: its first instruction,
 * RETURN_GENERATOR, returns it; not a call of its body). */
static inline int
eval_kind(EvalFrame *f, PyCodeObject *co)
{
    if (!ext_code_is_gen(co))
        return 1;
#if PY_VERSION_HEX >= 0x030C0000
    /* Creation runs in a frame the thread owns; every later evaluation in the frame the
     * generator owns. Until the body starts, the frame has not reached its first
     * traceable instruction (the RESUME after RETURN_GENERATOR; pycore_frame.h's
     * _PyFrame_IsIncomplete uses the same bound): 3.12 keeps the last instruction run
     * (RETURN_GENERATOR), 3.13 the next one (the POP_TOP after it). */
    if (f->owner != FRAME_OWNED_BY_GENERATOR)
        return -1;
#if PY_VERSION_HEX >= 0x030D0000
    _Py_CODEUNIT *at = f->instr_ptr;
#else
    _Py_CODEUNIT *at = f->prev_instr;
#endif
    return at < _PyCode_CODE(co) + co->_co_firsttraceable;
#elif PY_VERSION_HEX >= 0x030B0000
    /* 3.11: at the first resume the last instruction run is still the RETURN_GENERATOR
     * (Python/ceval.c, RETURN_GENERATOR and gen_send_ex2) */
    if (f->prev_instr < _PyCode_CODE(co))
        return -1;
    return _Py_OPCODE(*f->prev_instr) == RETURN_GENERATOR;
#else
    /* 3.9, 3.10: a generator's frame is first evaluated at its first resume (f_lasti -1) */
    return f->f_lasti < 0;
#endif
}

/* 3.11.0 to 3.11.3 run Python __getitem__ methods without calling the frame evaluator
 * (BINARY_SUBSCR_GETITEM, gh-104405, fixed in 3.11.4): there the evaluator would miss
 * calls. Py_Version is the running interpreter's (3.11+). */
static bool
eval_sound(void)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    return (Py_Version & 0xffffff00UL) >= 0x030B0400UL;
#else
    return true;
#endif
}

#if PY_VERSION_HEX >= 0x030C0000
/* C recursion units _PyEval_EvalFrameDefault takes on entry and gives back on exit
 * (Python/ceval.c, PY_EVAL_C_STACK_UNITS, 3.12 and 3.13). Without ferret a Python call
 * made from Python takes none; with the evaluator each one would take these from the
 * C limit (1500 on 3.12: RecursionError at ~750 deep where the program reaches 1000). */
#define EVAL_C_UNITS 2
#endif

static PyObject *
eval_hook(PyThreadState *ts, EvalFrame *f, int throwflag)
{
    if (!ext.running)
        return _PyEval_EvalFrameDefault(ts, f, throwflag);
    PyCodeObject *co = eval_code(f);
    int kind = eval_kind(f, co);
    TThread *th = kind >= 0 ? ext_thread(false) : NULL;
    if (!th || th->guard)
        return _PyEval_EvalFrameDefault(ts, f, throwflag);
    char probe;
    if ((uintptr_t)&probe < ext_tls.stack_lo && !ext_code_is_gen(co)) {
        /* each Python call now nests a C call: at the end of the thread's stack, raise what
         * the interpreter raises for runaway recursion, not crash */
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded (the C stack is nearly full: ferret's "
                        "function tracer nests a C call per Python call)");
        return NULL;
    }
    uint64_t now = clock_ticks(&ext.t->clock);
    /* frames that ran before tracing started return without passing here: a call made
     * from below one of them says it has ended */
    if (th->seeded && th->depth <= th->seeded)
        tracer_unwind_seeded(ext.t, th, caller_code(ts, f), now);
    int rc = tracer_enter(ext.t, th, co, NULL, kind == 1, now);
    if (rc == 0 && !th->name[0] && th->name_tries < 16)
        ext_thread_name(th);
#if PY_VERSION_HEX >= 0x030C0000
    /* only where the stack guard above is known: it then stands in for the C limit */
    bool give = ext_tls.stack_lo != 0;
    if (give)
        ts->c_recursion_remaining += EVAL_C_UNITS;
    PyObject *res = _PyEval_EvalFrameDefault(ts, f, throwflag);
    if (give)
        ts->c_recursion_remaining -= EVAL_C_UNITS;
#else
    PyObject *res = _PyEval_EvalFrameDefault(ts, f, throwflag);
#endif
    if (rc == 0) {
        /* the tracer may have stopped meanwhile (ferret.trace() ended inside this frame) */
        if (ext.running && ext_tls.gen == ext.gen && ext_tls.th == th) {
            now = clock_ticks(&ext.t->clock);
            tracer_exit(ext.t, th, co, now);
            ext_maybe_flush(now);
        }
    }
    return res;
}

bool
eval_usable(bool lines, bool builtins)
{
    return !lines && !builtins && eval_sound() &&
           _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) ==
               _PyEval_EvalFrameDefault;
}

void
eval_install(void)
{
    /* per interpreter: every thread, old and new, goes through it */
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), eval_hook);
    ext.hook_name = "frame evaluation (PEP 523)";
}

void
eval_remove(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (_PyInterpreterState_GetEvalFrameFunc(interp) == eval_hook)
        _PyInterpreterState_SetEvalFrameFunc(interp, _PyEval_EvalFrameDefault);
}

bool
eval_installed(void)
{
    return _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) == eval_hook;
}
