/* SPDX-License-Identifier: MIT */
/* hooks_legacy.c: the tracer's events before CPython 3.12, from the fastest source each
 * configuration allows:
 *  - function mode: the frame-evaluation function (PEP 523, hooks_eval.c), called around
 *    the evaluation of every Python frame (calls and generator resumes). Unlike a profile
 *    function it
 *    leaves the interpreter on its fast paths (a profile function switches 3.11 into its
 *    tracing mode and makes a frame object per call), and it leaves sys.setprofile to the
 *    program.
 *  - --builtins: the C-level profile function (PyEval_SetProfile), the only source of C
 *    calls; --lines: the C-level trace function (PyEval_SetTrace), the only source of lines.
 *    Both are per thread: ferret sets them on every existing thread state and, through
 *    threading.setprofile / settrace, on each new thread.
 * A program that calls sys.setprofile while a profile function is in use keeps ferret's:
 * the Python layer routes the call here and ferret calls the program's function for every
 * profile event, as CPython would (chain_call); sys.settrace while the trace function is
 * in use likewise (trace_chain_call). A C-level profiler or tracer (cProfile, yappi,
 * coverage) replaces the hook of its thread; hooks_check notices and the report says so.
 * Compiled to nothing from 3.12 on (hooks_monitoring.c). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
#include <frameobject.h>

#include "ext/ext.h"

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11 made PyFrameObject opaque; its layout is in the internal header (Include/internal/
 * pycore_frame.h), which an extension may include: fields are stable within 3.11.x. */
#include <opcode.h>

#include "internal/pycore_frame.h"
#endif

/* Per-thread Python-level profile function of the program (sys.setprofile), called by
 * ferret's hook: TThread has no Python fields, so these live in a dict ident -> func. */
static PyObject *chains;         /* dict: thread ident -> callable */
static PyObject *thread_profile; /* threading.setprofile's function of the program */
/* The same for sys.settrace / threading.settrace while ferret holds the trace slot (--lines):
 * the program's trace function is called from ferret's hook as CPython's trampoline would,
 * so neither loses events. */
static PyObject *trace_chains;   /* dict: thread ident -> callable */
static PyObject *thread_trace;   /* threading.settrace's function of the program */
static PyObject *event_names[8]; /* "call", "exception", ... by PyTrace_* value */

static inline PyCodeObject *
frame_code(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return f->f_frame->f_code;
#else
    return f->f_code;
#endif
}

/* Is this 'call' event the start of the code (not a generator or coroutine resuming)? */
static inline bool
frame_is_start(PyFrameObject *f, PyCodeObject *co)
{
    if (!ext_code_is_gen(co))
        return true;
#if PY_VERSION_HEX >= 0x030B0000
    /* 3.11: a generator's first entry stops on its RESUME 0 (after RETURN_GENERATOR and
     * POP_TOP); a resume stops on RESUME 1..3. The adaptive copy may hold RESUME_QUICK. */
    _Py_CODEUNIT w = *f->f_frame->prev_instr;
    return (_Py_OPCODE(w) == RESUME || _Py_OPCODE(w) == RESUME_QUICK) && _Py_OPARG(w) == 0;
#else
    /* 3.9, 3.10: f_lasti is -1 until the first instruction runs */
    return f->f_lasti < 0;
#endif
}

static inline int
frame_line(PyFrameObject *f)
{
    /* call_trace sets f_lineno before calling the trace function (3.9: maybe_call_line_trace;
     * 3.10, 3.11: call_trace itself), so no line table is decoded here */
    return f->f_lineno;
}

static int
chain_call(TThread *th, PyFrameObject *frame, int what, PyObject *arg)
{
    PyObject *key = PyLong_FromUnsignedLongLong(th ? th->ident : PyThread_get_thread_ident());
    if (!key)
        return -1;
    PyObject *fn = PyDict_GetItemWithError(chains, key); /* borrowed */
    if (!fn) {
        Py_DECREF(key);
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(fn);
    PyObject *r = PyObject_CallFunctionObjArgs(fn, (PyObject *)frame, event_names[what],
                                               arg ? arg : Py_None, NULL);
    Py_DECREF(fn);
    if (!r) {
        /* as CPython's profile_trampoline: a failing profile function is removed and its
         * exception propagates into the program */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (PyDict_DelItem(chains, key) < 0)
            PyErr_Clear();
        PyErr_Restore(type, value, tb);
        Py_DECREF(key);
        return -1;
    }
    Py_DECREF(r);
    Py_DECREF(key);
    return 0;
}

static inline int
maybe_chain(TThread *th, PyFrameObject *frame, int what, PyObject *arg)
{
    if (!chains || !PyDict_GET_SIZE(chains) || what > PyTrace_C_RETURN)
        return 0;
    return chain_call(th, frame, what, arg);
}

static inline void
c_event(TThread *th, PyFrameObject *frame, int what, PyObject *arg, uint64_t now)
{
    const void *k1, *k2;
    if (what == PyTrace_C_CALL) {
        if (!ext_caller_ignored(th, frame_code(frame)) && ext_cfunc_key(arg, &k1, &k2))
            tracer_enter(ext.t, th, k1, k2, true, now);
    } else if (th->depth && ext_cfunc_key(arg, &k1, &k2) && th->stack[th->depth - 1].k1 == k1) {
        tracer_charge(ext.t, th, now);
        tracer_pop(ext.t, th, now);
    }
}

static int
prof_hook(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    if (!ext.running)
        return 0;
    /* without --builtins the C events (a million a second in loop-heavy code) only matter
     * to a chained profile function: no thread lookup, no clock read */
    bool c_ev = what == PyTrace_C_CALL || what == PyTrace_C_RETURN || what == PyTrace_C_EXCEPTION;
    if (c_ev && !ext.builtins)
        return maybe_chain(NULL, frame, what, arg);
    TThread *th = ext_thread(what == PyTrace_CALL);
    if (th && !th->guard) {
        uint64_t now = clock_ticks(&ext.t->clock);
        switch (what) {
        case PyTrace_CALL:
            if (!ext.lines) {
                PyCodeObject *co = frame_code(frame);
                tracer_enter(ext.t, th, co, NULL, frame_is_start(frame, co), now);
                if (!th->name[0] && th->name_tries < 16)
                    ext_thread_name(th);
            }
            break;
        case PyTrace_RETURN:
            if (!ext.lines)
                tracer_exit(ext.t, th, frame_code(frame), now);
            break;
        case PyTrace_C_CALL:
        case PyTrace_C_RETURN:
        case PyTrace_C_EXCEPTION:
            if (ext.builtins)
                c_event(th, frame, what, arg, now);
            break;
        default:
            break;
        }
        ext_maybe_flush(now);
    }
    return maybe_chain(th, frame, what, arg);
}

/* The program's trace function of this thread (borrowed), or NULL (no exception). */
static PyObject *
trace_chained(void)
{
    if (!trace_chains || !PyDict_GET_SIZE(trace_chains))
        return NULL;
    PyObject *key = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    PyObject *fn = key ? PyDict_GetItemWithError(trace_chains, key) : NULL;
    Py_XDECREF(key);
    if (!fn)
        PyErr_Clear();
    return fn;
}

/* Calls the program's trace function as CPython's trace_trampoline and call_trampoline
 * (Python/sysmodule.c, 3.9-3.11) do: 'call' goes to the thread's function, every other
 * event to the frame's local one (f_trace), which the result replaces unless None; the
 * frame's locals are synced around the call. A function that raises is removed (CPython
 * removes the trace function) and the exception goes into the program. */
static int
trace_chain_call(PyObject *global, PyFrameObject *frame, int what, PyObject *arg)
{
    PyObject *fn = what == PyTrace_CALL ? global : frame->f_trace;
    if (!fn || what > PyTrace_OPCODE)
        return 0;
    Py_INCREF(fn);
    PyObject *r = NULL;
    if (PyFrame_FastToLocalsWithError(frame) == 0) {
        r = PyObject_CallFunctionObjArgs(fn, (PyObject *)frame, event_names[what],
                                         arg ? arg : Py_None, NULL);
        PyFrame_LocalsToFast(frame, 1);
    }
    Py_DECREF(fn);
    if (!r) {
        PyTraceBack_Here(frame);
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *key = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        if (!key || PyDict_DelItem(trace_chains, key) < 0)
            PyErr_Clear();
        Py_XDECREF(key);
        Py_CLEAR(frame->f_trace);
        PyErr_Restore(type, value, tb);
        return -1;
    }
    if (r != Py_None)
        Py_XSETREF(frame->f_trace, r);
    else
        Py_DECREF(r);
    return 0;
}

static int
trace_hook(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    if (!ext.running)
        return 0;
    TThread *th = ext_thread(what == PyTrace_CALL);
    if (th && th->guard)
        return 0;
    PyObject *chained = trace_chained();
    if (!th)
        return chained ? trace_chain_call(chained, frame, what, arg) : 0;
    uint64_t now = clock_ticks(&ext.t->clock);
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *co = frame_code(frame);
        if (tracer_enter(ext.t, th, co, NULL, frame_is_start(frame, co), now) != 0 ||
            !th->stack[th->depth - 1].want_lines) {
            if (!chained)
                frame->f_trace_lines = 0; /* no line events for this frame at all */
        } else if (!frame_is_start(frame, co))
            tracer_resume_line(th, frame_line(frame), now);
        if (!th->name[0] && th->name_tries < 16)
            ext_thread_name(th);
        ext_maybe_flush(now);
        break;
    }
    case PyTrace_RETURN:
        tracer_exit(ext.t, th, frame_code(frame), now);
        ext_maybe_flush(now);
        break;
    case PyTrace_LINE:
        if (!tracer_line(ext.t, th, frame_code(frame), frame_line(frame), now) && !chained)
            frame->f_trace_lines = 0;
        break;
    default:
        break;
    }
    /* ferret's own frames (the routed sys.settrace) stay out of the program's sight */
    if (!chained || (what == PyTrace_CALL && tracer_key_ignored(ext.t, frame_code(frame), NULL)))
        return 0;
    return trace_chain_call(chained, frame, what, arg);
}

/* Which sources this run uses (decided in hooks_install). */
static bool use_eval; /* function mode through the frame evaluator */

static bool
need_profile_hook(void)
{
    return !use_eval && (!ext.lines || ext.builtins);
}

static int
chain_set_in(PyObject *dict, uint64_t ident, PyObject *fn)
{
    PyObject *key = PyLong_FromUnsignedLongLong(ident);
    int rc = key ? PyDict_SetItem(dict, key, fn) : -1;
    Py_XDECREF(key);
    return rc;
}

/* A new thread's hooks: ferret's (the profile slot only where ferret needs it: a program's
 * threading.setprofile function is set there by threading itself), and the functions the
 * program gave threading.setprofile / settrace while routed to ferret. */
static int
thread_hooks_set(void)
{
    if (need_profile_hook())
        PyEval_SetProfile(prof_hook, NULL);
    if (ext.lines)
        PyEval_SetTrace(trace_hook, NULL);
    uint64_t ident = PyThread_get_thread_ident();
    if (thread_profile && chain_set_in(chains, ident, thread_profile) < 0)
        return -1;
    if (thread_trace && ext.lines && chain_set_in(trace_chains, ident, thread_trace) < 0)
        return -1;
    return 0;
}

static PyObject *thread_boot(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
static PyMethodDef boot_def = {"_thread_boot", (PyCFunction)(void (*)(void))thread_boot,
                               METH_FASTCALL, NULL};

/* threading.setprofile / settrace target: runs once in each new thread, as a Python-level
 * hook (unless the patched sys.setprofile sees it first, see py_setprofile), and swaps
 * itself for the C-level ones. */
static PyObject *
thread_boot(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!ext.running || nargs < 3 || !PyFrame_Check(args[0]) || !PyUnicode_Check(args[1]))
        Py_RETURN_NONE;
    PyFrameObject *frame = (PyFrameObject *)args[0];
    bool is_call = PyUnicode_CompareWithASCIIString(args[1], "call") == 0;
    if (thread_hooks_set() < 0)
        return NULL;
    TThread *th = ext_thread(is_call);
    if (th && is_call) {
        uint64_t now = clock_ticks(&ext.t->clock);
        PyCodeObject *co = frame_code(frame);
        tracer_enter(ext.t, th, co, NULL, frame_is_start(frame, co), now);
    }
    Py_RETURN_NONE;
}

static PyObject *saved_profile_hook, *saved_trace_hook; /* threading's, restored at the end */

static int
set_threading_hook(const char *attr, PyObject *value, PyObject **saved)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    if (saved) {
        *saved = PyObject_GetAttrString(threading, attr);
        if (!*saved) {
            PyErr_Clear();
            *saved = ext_newref(Py_None);
        }
    }
    int rc = PyObject_SetAttrString(threading, attr, value);
    Py_DECREF(threading);
    return rc;
}

/* Refuses to start where another C-level profiler or tracer owns a thread's hook: on these
 * versions there is one slot per thread and taking it would silently stop the other. */
static int
check_free_slots(PyInterpreterState *interp)
{
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if (need_profile_hook() && ts->c_profilefunc && ts->c_profilefunc != prof_hook) {
            PyErr_Format(PyExc_RuntimeError,
                         "ferret: cannot trace: another profiler is active in thread %lu (%R); "
                         "on Python < 3.12 a thread has one profiler slot: stop it first",
                         ts->thread_id, ts->c_profileobj ? ts->c_profileobj : Py_None);
            return -1;
        }
        if (ext.lines && ts->c_tracefunc && ts->c_tracefunc != trace_hook) {
            PyErr_Format(PyExc_RuntimeError,
                         "ferret: cannot trace lines: another tracer (sys.settrace: a debugger "
                         "or coverage) is active in thread %lu; on Python < 3.12 a thread has "
                         "one trace slot: stop it first",
                         ts->thread_id);
            return -1;
        }
    }
    return 0;
}

int
hooks_install(void)
{
    static const char *names[] = {"call",   "exception",   "line",     "return",
                                  "c_call", "c_exception", "c_return", "opcode"};
    if (!event_names[0]) {
        for (size_t i = 0; i < 8; i++)
            if (!(event_names[i] = PyUnicode_InternFromString(names[i])))
                return -1;
    }
    if ((!chains && !(chains = PyDict_New())) || (!trace_chains && !(trace_chains = PyDict_New())))
        return -1;
    PyDict_Clear(chains);
    PyDict_Clear(trace_chains);
    Py_CLEAR(thread_profile);
    Py_CLEAR(thread_trace);
    PyInterpreterState *interp = PyInterpreterState_Get();
    use_eval = eval_usable(ext.lines, ext.builtins);
    if (use_eval) {
        if (eval_install() == 0)
            return 0;
        /* 3.11.0-3.11.3 could not make the evaluator exact: the profile function is */
        PyErr_Clear();
        use_eval = false;
    }
    if (check_free_slots(interp) < 0)
        return -1;
    PyObject *boot = PyCFunction_New(&boot_def, NULL);
    if (!boot)
        return -1;
    int rc = 0;
    if (need_profile_hook())
        rc = set_threading_hook("_profile_hook", boot, &saved_profile_hook);
    if (rc == 0 && ext.lines)
        rc = set_threading_hook("_trace_hook", boot, &saved_trace_hook);
    Py_DECREF(boot);
    if (rc < 0) {
        hooks_remove();
        return -1;
    }
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if ((need_profile_hook() && _PyEval_SetProfile(ts, prof_hook, NULL) < 0) ||
            (ext.lines && _PyEval_SetTrace(ts, trace_hook, NULL) < 0)) {
            hooks_remove();
            return -1;
        }
    }
    ext.hook_name = ext.lines ? "settrace" : "setprofile";
    return 0;
}

void
hooks_remove(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyInterpreterState *interp = PyInterpreterState_Get();
    eval_remove();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        if (ts->c_profilefunc == prof_hook && _PyEval_SetProfile(ts, NULL, NULL) < 0)
            PyErr_Clear();
        if (ts->c_tracefunc == trace_hook && _PyEval_SetTrace(ts, NULL, NULL) < 0)
            PyErr_Clear();
    }
    /* the program's own sys.setprofile / settrace functions are handed back by the Python
     * layer */
    if (chains)
        PyDict_Clear(chains);
    if (trace_chains)
        PyDict_Clear(trace_chains);
    if (saved_profile_hook) {
        if (set_threading_hook("_profile_hook",
                               thread_profile ? thread_profile : saved_profile_hook, NULL) < 0)
            PyErr_Clear();
        Py_CLEAR(saved_profile_hook);
    }
    if (saved_trace_hook) {
        if (set_threading_hook("_trace_hook", thread_trace ? thread_trace : saved_trace_hook,
                               NULL) < 0)
            PyErr_Clear();
        Py_CLEAR(saved_trace_hook);
    }
    Py_CLEAR(thread_profile);
    Py_CLEAR(thread_trace);
    PyErr_Restore(type, value, tb);
}

void
hooks_check(void)
{
    if (!ext.running || !ext.t)
        return;
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (use_eval) {
        eval_check();
        return;
    }
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp); ts;
         ts = PyThreadState_Next(ts)) {
        bool lost_profile = need_profile_hook() && ts->c_profilefunc != prof_hook;
        bool lost_trace = ext.lines && ts->c_tracefunc != trace_hook;
        if (!lost_profile && !lost_trace)
            continue;
        for (uint32_t i = 0; i < ext.t->nthreads; i++) {
            TThread *th = ext.t->threads[i];
            if (th->ident == ts->thread_id && !th->replaced) {
                th->replaced = true;
                ext.hook_replaced |= lost_profile;
                ext.trace_replaced |= lost_trace;
            }
        }
    }
}

void
hooks_forget(void)
{
    /* after fork only this thread remains; its hooks go, threading's hooks go back */
    if (!use_eval)
        PyEval_SetProfile(NULL, NULL);
    if (ext.lines)
        PyEval_SetTrace(NULL, NULL);
    hooks_remove();
}

static bool
is_boot(PyObject *fn)
{
    return PyCFunction_Check(fn) && ((PyCFunctionObject *)fn)->m_ml == &boot_def;
}

/* Sets (or with None removes) the calling thread's function in a chain dict. */
static int
chain_put(PyObject *dict, PyObject *fn)
{
    PyObject *key = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    if (!key)
        return -1;
    int rc = fn == Py_None ? PyDict_DelItem(dict, key) : PyDict_SetItem(dict, key, fn);
    if (rc < 0 && fn == Py_None && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        rc = 0;
    }
    Py_DECREF(key);
    return rc;
}

/* The calling thread's function in a chain dict, or None (new reference). */
static PyObject *
chain_get(PyObject *dict)
{
    if (!dict)
        Py_RETURN_NONE;
    PyObject *key = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    if (!key)
        return NULL;
    PyObject *fn = PyDict_GetItemWithError(dict, key);
    Py_DECREF(key);
    if (!fn && PyErr_Occurred())
        return NULL;
    return ext_newref(fn ? fn : Py_None);
}

/* _ferret._setprofile(func) / _settrace(func): the program's sys.setprofile / settrace
 * while ferret traces (the Python layer routes them here only then). threading's bootstrap
 * of a new thread calls them with threading's hook, which is ferret's: the thread's hooks
 * are installed then. */
static PyObject *
route(PyObject *fn, bool trace)
{
    PyObject *dict = trace ? trace_chains : chains;
    if (!ext.running || !dict || (trace && !ext.lines)) {
        PyErr_SetString(PyExc_RuntimeError, "ferret is not tracing");
        return NULL;
    }
    if (is_boot(fn)) {
        if (thread_hooks_set() < 0)
            return NULL;
        (void)ext_thread(false);
        Py_RETURN_NONE;
    }
    if (chain_put(dict, fn) < 0)
        return NULL;
    PyThreadState *ts = PyThreadState_Get();
    if (trace && ts->c_tracefunc != trace_hook)
        PyEval_SetTrace(trace_hook, NULL); /* a thread threading did not start */
    else if (!trace && ts->c_profilefunc != prof_hook && fn != Py_None)
        PyEval_SetProfile(prof_hook, NULL); /* --lines without --builtins had none */
    Py_RETURN_NONE;
}

static PyObject *
py_setprofile(PyObject *self, PyObject *fn)
{
    (void)self;
    return route(fn, false);
}

static PyObject *
py_settrace(PyObject *self, PyObject *fn)
{
    (void)self;
    return route(fn, true);
}

/* _ferret._getprofile() / _gettrace(): what sys.getprofile / gettrace should answer while
 * ferret traces. */
static PyObject *
py_getprofile(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return chain_get(chains);
}

static PyObject *
py_gettrace(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return chain_get(trace_chains);
}

/* _ferret._thread_setprofile(func) / _thread_settrace(func): threading.setprofile /
 * settrace while ferret traces. */
static PyObject *
py_thread_setprofile(PyObject *self, PyObject *fn)
{
    (void)self;
    Py_XSETREF(thread_profile, fn == Py_None ? NULL : ext_newref(fn));
    Py_RETURN_NONE;
}

static PyObject *
py_thread_settrace(PyObject *self, PyObject *fn)
{
    (void)self;
    Py_XSETREF(thread_trace, fn == Py_None ? NULL : ext_newref(fn));
    Py_RETURN_NONE;
}

/* _ferret._uses_trace_slot(): does the running trace hold each thread's trace function
 * slot (so the Python layer must route sys.settrace)? */
static PyObject *
py_uses_trace_slot(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(ext.running && ext.lines && !use_eval);
}

/* _ferret._needs_profile_slot(lines, builtins): will a trace with these options take each
 * thread's profile function slot (so the Python layer must route sys.setprofile)? */
static PyObject *
py_needs_slot(PyObject *self, PyObject *args)
{
    (void)self;
    int lines, builtins;
    if (!PyArg_ParseTuple(args, "pp", &lines, &builtins))
        return NULL;
    return PyBool_FromLong(!eval_usable(lines, builtins) && (!lines || builtins));
}

static PyMethodDef legacy_methods[] = {
    {"_needs_profile_slot", py_needs_slot, METH_VARARGS, NULL},
    {"_setprofile", py_setprofile, METH_O, NULL},
    {"_getprofile", py_getprofile, METH_NOARGS, NULL},
    {"_thread_setprofile", py_thread_setprofile, METH_O, NULL},
    {"_settrace", py_settrace, METH_O, NULL},
    {"_gettrace", py_gettrace, METH_NOARGS, NULL},
    {"_thread_settrace", py_thread_settrace, METH_O, NULL},
    {"_uses_trace_slot", py_uses_trace_slot, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int
hooks_add_methods(PyObject *module)
{
    return PyModule_AddFunctions(module, legacy_methods);
}

#else
typedef int hooks_legacy_unused; /* ISO C wants a declaration in every file */
#endif
