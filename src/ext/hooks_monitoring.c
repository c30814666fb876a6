/* SPDX-License-Identifier: MIT */
/* hooks_monitoring.c: the tracer's events from sys.monitoring (PEP 669, CPython 3.12+),
 * for --lines and --builtins, and for function mode where the frame evaluator
 * (hooks_eval.c: calls.py 1.4x instead of 1.7x on 3.12) cannot be used.
 * ferret registers as its own tool id (4, else 3, else any free one) rather than
 * PROFILER_ID, so a program that runs cProfile (which takes PROFILER_ID from 3.12 on) or
 * sys.setprofile (a separate legacy slot) keeps working beside it. Events are global, so
 * every thread is traced, including threads that started before tracing did; callbacks
 * return DISABLE for locations ferret never wants again (its own code, lines outside
 * --include), which removes their cost at the source. Compiled to nothing before 3.12. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030C0000
#include "ext/ext.h"

static int tool_id = -1;
static PyObject *monitoring; /* sys.monitoring */
static PyObject *disable;    /* sys.monitoring.DISABLE */

static inline uint64_t
now_ticks(void)
{
    return clock_ticks(&ext.t->clock);
}

/* An exit whose key is not on top: ferret's own code (disable it) or a frame that
 * started before tracing (ignore). */
static PyObject *
exit_miss(TThread *th, PyObject *code, uint64_t now)
{
    tracer_exit_slow(ext.t, th, code, now);
    if (tracer_key_ignored(ext.t, code, NULL))
        return ext_newref(disable);
    Py_RETURN_NONE;
}

/* PyLong -> int for offsets and line numbers (PyLong_AsInt is 3.13+); -1 on error. */
static int
as_int(PyObject *o)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return v < INT32_MIN || v > INT32_MAX ? -1 : (int)v;
}

static PyObject *
on_py_start(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!ext.running || nargs < 1)
        Py_RETURN_NONE;
    TThread *th = ext_thread(true);
    if (!th || th->guard)
        Py_RETURN_NONE;
    uint64_t now = now_ticks();
    int rc = tracer_enter(ext.t, th, args[0], NULL, true, now);
    if (!th->name[0] && th->name_tries < 16)
        ext_thread_name(th);
    ext_maybe_flush(now);
    if (rc > 0)
        return ext_newref(disable);
    Py_RETURN_NONE;
}

static PyObject *
on_py_resume(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!ext.running || nargs < 2)
        Py_RETURN_NONE;
    TThread *th = ext_thread(true);
    if (!th || th->guard)
        Py_RETURN_NONE;
    uint64_t now = now_ticks();
    int rc = tracer_enter(ext.t, th, args[0], NULL, false, now);
    if (rc == 0 && ext.lines && PyCode_Check(args[0])) {
        int off = as_int(args[1]);
        if (off >= 0)
            tracer_resume_line(th, PyCode_Addr2Line((PyCodeObject *)args[0], off), now);
    }
    Py_RETURN_NONE;
}

static PyObject *
on_py_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!ext.running || nargs < 1)
        Py_RETURN_NONE;
    TThread *th = ext_thread(false);
    if (!th || th->guard)
        Py_RETURN_NONE;
    uint64_t now = now_ticks();
    if (th->depth && th->stack[th->depth - 1].k1 == args[0]) {
        tracer_charge(ext.t, th, now);
        tracer_pop(ext.t, th, now);
        ext_maybe_flush(now);
        Py_RETURN_NONE;
    }
    return exit_miss(th, args[0], now);
}

static PyObject *
on_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!ext.running || nargs < 2)
        Py_RETURN_NONE;
    TThread *th = ext_thread(false);
    if (!th || th->guard)
        Py_RETURN_NONE;
    int line = as_int(args[1]);
    if (line <= 0)
        Py_RETURN_NONE;
    if (!tracer_line(ext.t, th, args[0], line, now_ticks()))
        return ext_newref(disable);
    Py_RETURN_NONE;
}

/* JUMP (line mode): sys.settrace reports a line again when a loop jumps back within one
 * line (a one-line loop, a comprehension inlined by PEP 709), and monitoring's LINE does
 * not; ferret counts hits the way line_profiler and coverage users know them, so it
 * repeats that rule (CPython's Python/legacy_tracing.c, sys_trace_jump_func): forward
 * jumps and jumps to another line are disabled at their location after one call, a
 * backward jump within a line counts a hit of that line. */
static PyObject *
on_jump(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    static PyObject *last_code;
    static int last_from = -1, last_to = -1, last_line;
    if (!ext.running || nargs < 3 || !PyCode_Check(args[0]))
        Py_RETURN_NONE;
    int from = as_int(args[1]), to = as_int(args[2]);
    if (from < 0 || to < 0 || to > from)
        return ext_newref(disable);
    int line;
    if (args[0] == last_code && from == last_from && to == last_to) {
        line = last_line;
    } else {
        PyCodeObject *co = (PyCodeObject *)args[0];
        line = PyCode_Addr2Line(co, to);
        if (line != PyCode_Addr2Line(co, from))
            return ext_newref(disable);
        /* the code object is kept alive by the tracer once its frame was entered; a stale
         * pointer here only ever compares equal to a live object of the same identity */
        last_code = args[0];
        last_from = from;
        last_to = to;
        last_line = line;
    }
    TThread *th = ext_thread(false);
    if (th && !th->guard && line > 0 && !tracer_line(ext.t, th, args[0], line, now_ticks()))
        return ext_newref(disable);
    Py_RETURN_NONE;
}

static PyObject *
on_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    const void *k1, *k2;
    if (!ext.running || nargs < 3 || !ext_cfunc_key(args[2], &k1, &k2))
        Py_RETURN_NONE;
    TThread *th = ext_thread(false);
    if (!th || th->guard || ext_caller_ignored(th, args[0]))
        Py_RETURN_NONE;
    uint64_t now = now_ticks();
    tracer_enter(ext.t, th, k1, k2, true, now);
    ext_maybe_flush(now);
    Py_RETURN_NONE;
}

static PyObject *
on_c_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    const void *k1, *k2;
    if (!ext.running || nargs < 3)
        Py_RETURN_NONE;
    TThread *th = ext_thread(false);
    if (!th || th->guard || !th->depth)
        Py_RETURN_NONE;
    /* only pop a C frame this CALL pushed: C_RETURN also follows calls of types and other
     * callables that never got a frame */
    if (!ext_cfunc_key(args[2], &k1, &k2) || th->stack[th->depth - 1].k1 != k1)
        Py_RETURN_NONE;
    uint64_t now = now_ticks();
    tracer_charge(ext.t, th, now);
    tracer_pop(ext.t, th, now);
    Py_RETURN_NONE;
}

static PyMethodDef cb_defs[] = {
    {"py_start", (PyCFunction)(void (*)(void))on_py_start, METH_FASTCALL, NULL},
    {"py_resume", (PyCFunction)(void (*)(void))on_py_resume, METH_FASTCALL, NULL},
    {"py_exit", (PyCFunction)(void (*)(void))on_py_exit, METH_FASTCALL, NULL},
    {"line", (PyCFunction)(void (*)(void))on_line, METH_FASTCALL, NULL},
    {"call", (PyCFunction)(void (*)(void))on_call, METH_FASTCALL, NULL},
    {"c_exit", (PyCFunction)(void (*)(void))on_c_exit, METH_FASTCALL, NULL},
    {"jump", (PyCFunction)(void (*)(void))on_jump, METH_FASTCALL, NULL},
};

/* Which callback serves which event (looked up by name in sys.monitoring.events). */
static const struct {
    const char *event;
    int cb;   /* index into cb_defs */
    int need; /* 0 always, 1 with lines, 2 with builtins */
} bindings[] = {
    {"PY_START", 0, 0}, {"PY_RESUME", 1, 0}, {"PY_THROW", 1, 0}, {"PY_RETURN", 2, 0},
    {"PY_YIELD", 2, 0}, {"PY_UNWIND", 2, 0}, {"LINE", 3, 1},     {"JUMP", 6, 1},
    {"CALL", 4, 2},     {"C_RETURN", 5, 2},  {"C_RAISE", 5, 2},
};

/* sys.monitoring.events.<name>, or -1 with an exception set. */
static long
event_bit(const char *name)
{
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    PyObject *v = events ? PyObject_GetAttrString(events, name) : NULL;
    long bit = v ? PyLong_AsLong(v) : -1;
    Py_XDECREF(v);
    Py_XDECREF(events);
    return bit;
}

/* Claims a tool id: 4, then 3 (ids no convention reserves), then the others. */
static int
claim_tool_id(void)
{
    static const int order[] = {4, 3, 2, 1, 0, 5};
    Py_ssize_t n = sizeof order / sizeof order[0];
    PyObject *users = PyList_New(0);
    if (!users)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyObject_CallMethod(monitoring, "get_tool", "i", order[i]);
        if (!name)
            goto fail;
        if (name == Py_None) {
            Py_DECREF(name);
            PyObject *r = PyObject_CallMethod(monitoring, "use_tool_id", "is", order[i], "ferret");
            if (!r)
                goto fail;
            Py_DECREF(r);
            Py_DECREF(users);
            return order[i];
        }
        int rc = PyList_Append(users, name);
        Py_DECREF(name);
        if (rc < 0)
            goto fail;
    }
    PyObject *s = PyObject_Repr(users);
    PyErr_Format(PyExc_RuntimeError,
                 "ferret: cannot trace: every sys.monitoring tool id is in use (by %U)", s);
    Py_XDECREF(s);
fail:
    Py_DECREF(users);
    return -1;
}

int
hooks_install(void)
{
    if (eval_usable(ext.lines, ext.builtins))
        return eval_install();
    if (!monitoring) {
        PyObject *sys = PyImport_ImportModule("sys");
        if (!sys)
            return -1;
        monitoring = PyObject_GetAttrString(sys, "monitoring");
        Py_DECREF(sys);
        if (!monitoring)
            return -1;
        disable = PyObject_GetAttrString(monitoring, "DISABLE");
        if (!disable)
            return -1;
    }
    tool_id = claim_tool_id();
    if (tool_id < 0)
        return -1;
    /* earlier runs may have DISABLEd locations (e.g. lines outside another --include) */
    PyObject *r = PyObject_CallMethod(monitoring, "restart_events", NULL);
    if (!r)
        goto fail;
    Py_DECREF(r);
    long mask = 0;
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
        if ((bindings[i].need == 1 && !ext.lines) || (bindings[i].need == 2 && !ext.builtins))
            continue;
        long bit = event_bit(bindings[i].event);
        if (bit < 0)
            goto fail;
        PyObject *fn = PyCFunction_New(&cb_defs[bindings[i].cb], NULL);
        if (!fn)
            goto fail;
        r = PyObject_CallMethod(monitoring, "register_callback", "ilO", tool_id, bit, fn);
        Py_DECREF(fn);
        if (!r)
            goto fail;
        Py_DECREF(r);
        mask |= bit;
    }
    r = PyObject_CallMethod(monitoring, "set_events", "il", tool_id, mask);
    if (!r)
        goto fail;
    Py_DECREF(r);
    ext.hook_name = "sys.monitoring";
    return 0;
fail:
    hooks_remove();
    return -1;
}

void
hooks_remove(void)
{
    eval_remove();
    if (tool_id < 0 || !monitoring)
        return;
    PyObject *exc = PyErr_GetRaisedException();
    PyObject *r = PyObject_CallMethod(monitoring, "set_events", "ii", tool_id, 0);
    Py_XDECREF(r);
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++) {
        long bit = event_bit(bindings[i].event);
        r = bit < 0 ? NULL
                    : PyObject_CallMethod(monitoring, "register_callback", "ilO", tool_id, bit,
                                          Py_None);
        Py_XDECREF(r);
        PyErr_Clear();
    }
    r = PyObject_CallMethod(monitoring, "free_tool_id", "i", tool_id);
    Py_XDECREF(r);
    PyErr_Clear();
    PyErr_SetRaisedException(exc);
    tool_id = -1;
}

void
hooks_check(void)
{
    eval_check();
}

void
hooks_forget(void)
{
    hooks_remove();
}

/* sys.monitoring never takes the program's profile or trace slot (see hooks_legacy.c). */
static PyObject *
py_needs_slot(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    Py_RETURN_FALSE;
}

static PyMethodDef monitoring_methods[] = {
    {"_needs_profile_slot", py_needs_slot, METH_VARARGS, NULL},
    {"_uses_trace_slot", (PyCFunction)py_needs_slot, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int
hooks_add_methods(PyObject *module)
{
    return PyModule_AddFunctions(module, monitoring_methods);
}

#else
typedef int hooks_monitoring_unused; /* ISO C wants a declaration in every file */
#endif
