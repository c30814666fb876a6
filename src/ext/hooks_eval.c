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

/* ---- CPython 3.11.0 to 3.11.3 (gh-104405) ----
 * There the specialised BINARY_SUBSCR_GETITEM runs a Python __getitem__ inline without
 * asking the frame evaluator (fixed in 3.11.4), so the evaluator would miss those calls.
 * The specialiser only takes a __getitem__ whose function version fits in 16 bits
 * (Python/specialize.c, _Py_Specialize_BinarySubscr: "version != (uint16_t)version"), so
 * ferret gives every such function a version above that range ("pins" it): the class's
 * subscripts then stay on the generic path, which calls the evaluator. Versions only need
 * to be unique (caches compare them for equality); ferret's count from 2^30 up, far from
 * the interpreter's own counter. Functions are pinned: of every class alive when tracing
 * starts; of every class a class statement makes while tracing (builtins.__build_class__
 * is wrapped); and any __getitem__ the evaluator sees run. A __getitem__ attached some
 * other way (type(name, bases, dict), setattr) and first run from an already specialised
 * subscript is not seen: at the end ferret looks for classes the specialiser took with an
 * unpinned function and says calls may be missing. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define PIN_FIRST 0x40000000u
static bool pinning; /* this interpreter needs it (decided at install) */
static uint32_t next_pin = PIN_FIRST;
static PyObject *getitem_name;     /* interned "__getitem__" */
static PyObject *orig_build_class; /* builtins.__build_class__ before ferret's */

static void
pin_function(PyObject *fn)
{
    if (!fn || !PyFunction_Check(fn))
        return;
    PyFunctionObject *f = (PyFunctionObject *)fn;
    if (f->func_version > 0xffff)
        return;
    f->func_version = next_pin++;
    if (next_pin == 0)
        next_pin = PIN_FIRST;
}

/* The class's own __getitem__, borrowed, or NULL (no exception). */
static PyObject *
own_getitem(PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || !tp->tp_dict)
        return NULL;
    PyObject *fn = PyDict_GetItemWithError(tp->tp_dict, getitem_name);
    if (!fn)
        PyErr_Clear();
    return fn;
}

/* Calls visit on every class alive (object and its subclasses, each once). -1 on error. */
static int
each_class(void (*visit)(PyTypeObject *))
{
    PyObject *stack = PyList_New(0), *seen = PySet_New(NULL);
    int rc = -1;
    if (!stack || !seen || PyList_Append(stack, (PyObject *)&PyBaseObject_Type) < 0)
        goto out;
    while (PyList_GET_SIZE(stack) > 0) {
        Py_ssize_t n = PyList_GET_SIZE(stack);
        PyObject *tp = ext_newref(PyList_GET_ITEM(stack, n - 1));
        if (PyList_SetSlice(stack, n - 1, n, NULL) < 0) {
            Py_DECREF(tp);
            goto out;
        }
        int known = PySet_Contains(seen, tp);
        if (known == 0)
            known = PySet_Add(seen, tp) < 0 ? -1 : 0;
        /* type.__subclasses__(tp): tp.__subclasses__() would be unbound when tp is type */
        PyObject *subs =
            known == 0 ? PyObject_CallMethod((PyObject *)&PyType_Type, "__subclasses__", "O", tp)
                       : NULL;
        if (known == 0 && subs) {
            visit((PyTypeObject *)tp);
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(subs) && known == 0; i++)
                known = PyList_Append(stack, PyList_GET_ITEM(subs, i));
        }
        Py_XDECREF(subs);
        Py_DECREF(tp);
        if (known < 0 || (known == 0 && !subs))
            goto out;
    }
    rc = 0;
out:
    Py_XDECREF(stack);
    Py_XDECREF(seen);
    return rc;
}

static void
pin_class(PyTypeObject *tp)
{
    pin_function(own_getitem(tp));
}

static PyObject *
build_class(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)self;
    PyObject *cls = PyObject_Vectorcall(orig_build_class, args, (size_t)nargs, kwnames);
    if (cls && PyType_Check(cls))
        pin_class((PyTypeObject *)cls);
    return cls;
}

static PyMethodDef build_class_def = {"__build_class__", (PyCFunction)(void (*)(void))build_class,
                                      METH_FASTCALL | METH_KEYWORDS, NULL};

static int
pinning_start(void)
{
    pinning = (Py_Version & 0xffffff00UL) < 0x030B0400UL;
    if (!pinning)
        return 0;
    if (!getitem_name && !(getitem_name = PyUnicode_InternFromString("__getitem__")))
        return -1;
    if (each_class(pin_class) < 0)
        return -1;
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed dict */
    PyObject *orig = builtins ? PyDict_GetItemString(builtins, "__build_class__") : NULL;
    if (!orig)
        return 0; /* no class statements to follow */
    PyObject *mine = PyCFunction_New(&build_class_def, NULL);
    if (!mine)
        return -1;
    Py_XSETREF(orig_build_class, ext_newref(orig));
    int rc = PyDict_SetItemString(builtins, "__build_class__", mine);
    Py_DECREF(mine);
    return rc;
}

/* A class the specialiser took with an unpinned __getitem__ (its subscripts may have run
 * the function inline, unseen). */
static void
check_class(PyTypeObject *tp)
{
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return;
    PyObject *cached = ((PyHeapTypeObject *)tp)->_spec_cache.getitem;
    if (cached && PyFunction_Check(cached) && ((PyFunctionObject *)cached)->func_version <= 0xffff)
        ext.getitem_unseen = true;
}

/* Restores __build_class__; with `check`, first looks for calls that may have been unseen
 * (not when the evaluator never ran: the profile function used instead is exact). */
static void
pinning_stop(bool check)
{
    if (!pinning)
        return;
    pinning = false;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (check && each_class(check_class) < 0)
        PyErr_Clear();
    PyObject *builtins = PyEval_GetBuiltins();
    PyObject *now = builtins ? PyDict_GetItemString(builtins, "__build_class__") : NULL;
    if (orig_build_class && now && PyCFunction_Check(now) &&
        ((PyCFunctionObject *)now)->m_ml == &build_class_def &&
        PyDict_SetItemString(builtins, "__build_class__", orig_build_class) < 0)
        PyErr_Clear();
    Py_CLEAR(orig_build_class);
    PyErr_Restore(type, value, tb);
}

static inline void
pin_if_getitem(EvalFrame *f, PyCodeObject *co)
{
    if (pinning && co->co_name == getitem_name && f->f_func)
        pin_function((PyObject *)f->f_func);
}
#else
static int
pinning_start(void)
{
    return 0;
}
static void
pinning_stop(bool check)
{
    (void)check;
}
static inline void
pin_if_getitem(EvalFrame *f, PyCodeObject *co)
{
    (void)f;
    (void)co;
}
#endif

#if PY_VERSION_HEX >= 0x030C0000
/* C recursion units _PyEval_EvalFrameDefault takes on entry and gives back on exit
 * (Python/ceval.c, PY_EVAL_C_STACK_UNITS, 3.12 and 3.13). Without ferret a Python call
 * made from Python takes none; with the evaluator each one would take these from the
 * C limit (1500 on 3.12: RecursionError at ~750 deep where the program reaches 1000). */
#define EVAL_C_UNITS 2
#endif

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11 --lines (rewrite.c): a frame of code that wants lines but has no probes yet is run
 * as a call of the probed copy instead; the frame itself is never run, and its caller
 * clears it as after any return. A function gets the copy as its __code__ (as assigning
 * __code__ does), so later calls run it directly and the generators it makes carry it.
 * Returns 1 with *res set (NULL: the copy raised), or 0: run f as it is. */
static int
rerun(EvalFrame *f, PyCodeObject *co, PyObject **res)
{
    PyObject *copy = rewrite_code(co);
    if (!copy || copy == Py_None) {
        if (!copy)
            PyErr_Clear(); /* recording failed: the report says so; the program runs on */
        Py_XDECREF(copy);
        return 0;
    }
    PyFunctionObject *fn = f->f_func;
    if (!(co->co_flags & CO_OPTIMIZED)) {
        /* module, class body, exec: no arguments, a namespace */
        *res = PyEval_EvalCodeEx(copy, f->f_globals, f->f_locals ? f->f_locals : f->f_globals, NULL,
                                 0, NULL, 0, NULL, 0, NULL, fn ? fn->func_closure : NULL);
        Py_DECREF(copy);
        return 1;
    }
    /* the arguments as the frame holds them: positional, keyword-only, *args, **kwargs */
    int argc = co->co_argcount, kwc = co->co_kwonlyargcount, idx = argc + kwc;
    PyObject **lp = f->localsplus;
    PyObject *varargs = (co->co_flags & CO_VARARGS) ? lp[idx++] : NULL;
    PyObject *varkw = (co->co_flags & CO_VARKEYWORDS) ? lp[idx++] : NULL;
    for (int i = 0; i < idx; i++) {
        if (!lp[i]) {
            Py_DECREF(copy);
            return 0;
        }
    }
    Py_ssize_t nv = varargs && PyTuple_Check(varargs) ? PyTuple_GET_SIZE(varargs) : 0;
    PyObject *args = PyTuple_New(argc + nv), *kwargs = NULL, *target = NULL;
    for (int i = 0; args && i < argc; i++)
        PyTuple_SET_ITEM(args, i, ext_newref(lp[i]));
    for (Py_ssize_t i = 0; args && i < nv; i++)
        PyTuple_SET_ITEM(args, argc + i, ext_newref(PyTuple_GET_ITEM(varargs, i)));
    if (args && (kwc || varkw)) {
        kwargs = PyDict_New();
        for (int i = 0; kwargs && i < kwc; i++) {
            if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(co->co_localsplusnames, argc + i),
                               lp[argc + i]) < 0)
                Py_CLEAR(kwargs);
        }
        if (kwargs && varkw && PyDict_Update(kwargs, varkw) < 0)
            Py_CLEAR(kwargs);
    }
    if (args && (kwargs || !(kwc || varkw))) {
        if (fn && fn->func_code == (PyObject *)co) {
            target = ext_newref((PyObject *)fn);
            Py_SETREF(fn->func_code, ext_newref(copy));
            uint32_t old = fn->func_version;
            fn->func_version = 0; /* as func.__code__ = ...: cached calls re-check */
            if (old > 0xffff)
                pin_function((PyObject *)fn); /* stays out of the 3.11.0-3.11.3 inlining */
        } else {
            target = PyFunction_NewWithQualName(copy, f->f_globals, fn ? fn->func_qualname : NULL);
            if (target && fn &&
                (PyFunction_SetDefaults(target, fn->func_defaults ? fn->func_defaults : Py_None) <
                     0 ||
                 PyFunction_SetKwDefaults(target, fn->func_kwdefaults ? fn->func_kwdefaults
                                                                      : Py_None) < 0 ||
                 PyFunction_SetClosure(target, fn->func_closure ? fn->func_closure : Py_None) < 0))
                Py_CLEAR(target);
        }
    }
    Py_DECREF(copy);
    if (!target) {
        Py_XDECREF(args);
        Py_XDECREF(kwargs);
        PyErr_Clear();
        return 0;
    }
    *res = PyObject_Call(target, args, kwargs);
    Py_DECREF(target);
    Py_DECREF(args);
    Py_XDECREF(kwargs);
    return 1;
}
#endif

static PyObject *
eval_hook(PyThreadState *ts, EvalFrame *f, int throwflag)
{
    if (!ext.running)
        return _PyEval_EvalFrameDefault(ts, f, throwflag);
    PyCodeObject *co = eval_code(f);
    int kind = eval_kind(f, co);
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    if (ext.lines && kind != 0 && !rewrite_probed(co)) {
        TThread *g = ext_thread(false);
        PyObject *res;
        if (g && !g->guard && tracer_key_lines(ext.t, co, NULL) == 1 && rerun(f, co, &res))
            return res;
    }
#endif
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
#if PY_VERSION_HEX >= 0x030C0000
        /* from 3.12 the evaluation pops its frame (before, _PyEval_Vector did): raise in
         * it, as gen.throw() does into a generator not yet started */
        return _PyEval_EvalFrameDefault(ts, f, 1);
#else
        return NULL;
#endif
    }
    pin_if_getitem(f, co);
    uint64_t now = clock_ticks(&ext.t->clock);
    /* frames that ran before tracing started return without passing here: a call made
     * from below one of them says it has ended */
    if (th->seeded && th->depth <= th->seeded)
        tracer_unwind_seeded(ext.t, th, caller_code(ts, f), now);
    int rc = tracer_enter(ext.t, th, co, NULL, kind == 1, now);
    if (rc == 0 && !th->name[0] && th->name_tries < 16)
        ext_thread_name(th);
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    /* a generator resumes on the line it left (its time counts from now, no hit) */
    if (rc == 0 && kind == 0 && ext.lines && th->stack[th->depth - 1].want_lines)
        tracer_resume_line(th,
                           PyCode_Addr2Line(co, (int)((f->prev_instr - _PyCode_CODE(co)) *
                                                      (int)sizeof(_Py_CODEUNIT))),
                           now);
#endif
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

static bool active; /* installed by eval_install (another evaluator may have replaced it) */

bool
eval_usable(bool lines, bool builtins)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    bool probes = ext.rewrite; /* lines from probes instead of the trace function */
#else
    bool probes = false;
#endif
    return (!lines || probes) && !builtins &&
           _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) ==
               _PyEval_EvalFrameDefault;
}

int
eval_install(void)
{
    if (pinning_start() < 0) {
        pinning_stop(false);
        return -1;
    }
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    if (ext.lines && rewrite_start() < 0) {
        pinning_stop(false);
        return -1;
    }
#endif
    /* per interpreter: every thread, old and new, goes through it */
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), eval_hook);
    ext.hook_name =
        ext.lines ? "frame evaluation (PEP 523) + line probes" : "frame evaluation (PEP 523)";
    active = true;
    return 0;
}

void
eval_remove(void)
{
    active = false;
    pinning_stop(true);
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (_PyInterpreterState_GetEvalFrameFunc(interp) == eval_hook)
        _PyInterpreterState_SetEvalFrameFunc(interp, _PyEval_EvalFrameDefault);
}

void
eval_check(void)
{
    if (ext.running && active &&
        _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get()) != eval_hook)
        ext.eval_replaced = true;
}
