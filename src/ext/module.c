/* SPDX-License-Identifier: MIT */
/* module.c: the _ferret extension module: the tracer's Python API (start, stop, the
 * Recording type), naming of functions and threads for the tracer core, and the check
 * that the extension matches the interpreter loading it. The thin Python package
 * (python/ferret) builds ferret.trace() and the `ferret trace` boot on top of this.
 * Nothing here exits or aborts the process: hooks record failures in the tracer and the
 * next API call raises them. Exports only PyInit__ferret. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ext/ext.h"
#include "ext/merge.h"
#include "ext/recording.h"
#include "profile/callgraph.h"
#include "report/report.h"

ExtState ext = {.next_flush = UINT64_MAX};
_Thread_local ExtTls ext_tls EXT_TLS_MODEL;

/* ---- naming functions for the tracer ---------------------------------------------------- */

static const char *
utf8_or(PyObject *s, const char *fallback)
{
    if (!s || !PyUnicode_Check(s))
        return fallback;
    const char *u = PyUnicode_AsUTF8(s);
    if (!u) {
        PyErr_Clear(); /* lone surrogates: not representable, keep the fallback */
        return fallback;
    }
    return u;
}

static bool
has_glob(const char *p)
{
    return strpbrk(p, "*?[") != NULL;
}

/* --include: a pattern with * ? [ is a glob over the file path, the file's base name, the
 * qualified name and the plain name; a pattern without is a substring of the path or the
 * exact (qualified) name. */
static bool
include_one(const char *pat, const char *file, const char *qualname, const char *name)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (has_glob(pat))
        return fnmatch(pat, file, 0) == 0 || fnmatch(pat, base, 0) == 0 ||
               fnmatch(pat, qualname, 0) == 0 || fnmatch(pat, name, 0) == 0;
    return strstr(file, pat) != NULL || strcmp(qualname, pat) == 0 || strcmp(name, pat) == 0;
}

static bool
include_match(const char *file, const char *qualname, const char *name)
{
    if (!ext.ninclude)
        return true;
    bool any = false;
    for (size_t i = 0; i < ext.ninclude; i++) {
        if (include_one(ext.include[i], file, qualname, name)) {
            ext.include_hits[i]++;
            any = true;
        }
    }
    return any;
}

/* Builds "owner.method" names for C functions into buf. */
static void
cfunc_name(PyObject *callable, char *buf, size_t n)
{
    const char *meth = "?", *owner = NULL;
    if (PyCFunction_Check(callable)) {
        PyCFunctionObject *f = (PyCFunctionObject *)callable;
        meth = f->m_ml->ml_name;
        PyObject *self = f->m_self;
        if (!self || PyModule_Check(self))
            owner = utf8_or(f->m_module, NULL);
        else if (PyType_Check(self))
            owner = ((PyTypeObject *)self)->tp_name;
        else
            owner = Py_TYPE(self)->tp_name;
    } else if (Py_IS_TYPE(callable, &PyMethodDescr_Type)) {
        PyMethodDescrObject *d = (PyMethodDescrObject *)callable;
        meth = d->d_method->ml_name;
        owner = d->d_common.d_type->tp_name;
    }
    if (owner)
        snprintf(buf, n, "%s.%s", owner, meth);
    else
        snprintf(buf, n, "%s", meth);
}

static int
describe(void *ctx, const void *k1, const void *k2, TFuncDesc *out, Err *err)
{
    (void)ctx;
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    int rc = 0;
    if (k2 == NULL) { /* a code object */
        PyCodeObject *co = (PyCodeObject *)k1;
        if (PyList_Append(ext.keep, (PyObject *)co) < 0) {
            rc = err_set(err, ERR_NOMEM, "out of memory keeping a code object");
            goto done;
        }
        const char *name = utf8_or(co->co_name, "?");
#if PY_VERSION_HEX >= 0x030B0000
        const char *qualname = utf8_or(co->co_qualname, name);
#else
        const char *qualname = name;
#endif
        const char *file = utf8_or(co->co_filename, "");
        out->name = qualname;
        out->file = file;
        out->line = co->co_firstlineno;
        out->kind = TFUNC_PY;
        out->ignore = ext.ignore_dir && *ext.ignore_dir &&
                      strncmp(file, ext.ignore_dir, strlen(ext.ignore_dir)) == 0;
        out->lines = !out->ignore && include_match(file, qualname, name);
    } else { /* a C function: k1 its PyMethodDef, k2 a type kept alive here */
        static char name[256];
        if (PyList_Append(ext.keep, (PyObject *)k2) < 0) {
            rc = err_set(err, ERR_NOMEM, "out of memory keeping a type");
            goto done;
        }
        if (ext.hint)
            cfunc_name(ext.hint, name, sizeof name);
        else
            snprintf(name, sizeof name, "%s", ((const PyMethodDef *)k1)->ml_name);
        out->name = name;
        out->file = "";
        out->line = 0;
        out->kind = TFUNC_C;
        out->lines = false;
    }
done:
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return rc;
}

bool
ext_cfunc_key(PyObject *callable, const void **k1, const void **k2)
{
    if (PyCFunction_Check(callable)) {
        PyCFunctionObject *f = (PyCFunctionObject *)callable;
        PyObject *self = f->m_self;
        *k1 = f->m_ml;
        /* never NULL, so C keys differ from code keys (k2 == NULL) */
        *k2 = self ? (const void *)Py_TYPE(self) : (const void *)&PyCFunction_Type;
    } else if (Py_IS_TYPE(callable, &PyMethodDescr_Type)) {
        PyMethodDescrObject *d = (PyMethodDescrObject *)callable;
        *k1 = d->d_method;
        *k2 = d->d_common.d_type;
    } else {
        return false;
    }
    ext.hint = callable;
    return true;
}

/* ---- threads ------------------------------------------------------------------------------ */

void
ext_thread_name(TThread *th)
{
    if (th->name_tries < UINT8_MAX)
        th->name_tries++;
    if (th->ident == ext.main_ident) {
        Err err;
        tracer_thread_rename(th, "MainThread", &err);
        return;
    }
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    bool guard = th->guard;
    th->guard = true;
    PyObject *mod_name = PyUnicode_FromString("threading");
    PyObject *threading = mod_name ? PyImport_GetModule(mod_name) : NULL;
    PyObject *active = threading ? PyObject_GetAttrString(threading, "_active") : NULL;
    PyObject *key = PyLong_FromUnsignedLongLong(th->ident);
    PyObject *thread =
        active && key && PyDict_Check(active) ? PyDict_GetItemWithError(active, key) : NULL;
    PyObject *name = thread ? PyObject_GetAttrString(thread, "_name") : NULL;
    const char *s = utf8_or(name, NULL);
    if (s) {
        Err err;
        tracer_thread_rename(th, s, &err);
    }
    Py_XDECREF(name);
    Py_XDECREF(key);
    Py_XDECREF(active);
    Py_XDECREF(threading);
    Py_XDECREF(mod_name);
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
    th->guard = guard;
}

/* Pushes the frames running in the calling thread, outermost first. */
static int
seed_frames(TThread *th, bool skip_current, uint64_t now)
{
    PyFrameObject *f = PyEval_GetFrame(); /* borrowed */
    if (!f)
        return 0;
    Py_INCREF(f);
    if (skip_current) {
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    PyObject *chain = PyList_New(0);
    if (!chain) {
        Py_XDECREF(f);
        return -1;
    }
    while (f) {
        if (PyList_Append(chain, (PyObject *)f) < 0) {
            Py_DECREF(f);
            Py_DECREF(chain);
            return -1;
        }
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    int rc = 0;
    for (Py_ssize_t i = PyList_GET_SIZE(chain); i-- > 0 && rc >= 0;) {
        PyFrameObject *fr = (PyFrameObject *)PyList_GET_ITEM(chain, i);
        PyCodeObject *co = PyFrame_GetCode(fr);
        rc = tracer_seed(ext.t, th, co, NULL, PyFrame_GetLineNumber(fr), now);
        Py_DECREF(co);
    }
    Py_DECREF(chain);
    return rc < 0 ? -1 : 0;
}

/* The lowest address this thread's C stack may reach, keeping a reserve for what runs
 * between two Python calls and for raising and unwinding (the frame evaluator checks it
 * before each Python call; see hooks_eval.c). The reserve is a quarter of the stack, at
 * most 256 KiB: a small thread stack (threading.stack_size, ulimit -s) is guarded too,
 * and a 512 KiB one is not half reserve. 0 if unknown. */
static uintptr_t
stack_floor(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0 || size == 0)
        return 0;
    size_t reserve = size / 4 < (256u << 10) ? size / 4 : (256u << 10);
    return (uintptr_t)addr + reserve;
}

static TThread *
attach(bool seed, bool skip_current)
{
    Err err;
    err_clear(&err);
    TThread *th = tracer_thread_new(ext.t, (uint64_t)syscall(SYS_gettid),
                                    PyThread_get_thread_ident(), NULL, &err);
    if (!th) {
        tracer_fail(ext.t, &err);
        return NULL;
    }
    ext_tls.gen = ext.gen;
    ext_tls.th = th;
    ext_tls.stack_lo = stack_floor();
    ext_thread_name(th);
    if (seed) {
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        th->guard = true;
        if (seed_frames(th, skip_current, clock_ticks(&ext.t->clock)) < 0 && !ext.t->failed) {
            err_set(&err, ERR_NOMEM, "out of memory reading a thread's frames");
            tracer_fail(ext.t, &err);
        }
        th->seeded = th->depth;
        th->guard = false;
        PyErr_Clear();
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    return ext.t->failed ? NULL : th;
}

TThread *
ext_thread_attach(bool skip_current)
{
    /* a thread seen for the first time in this run: whatever it was running before is part
     * of its stack (a thread created after the start has nothing there yet) */
    return attach(true, skip_current);
}

/* ---- start / stop ------------------------------------------------------------------------- */

static void
free_include(void)
{
    for (size_t i = 0; i < ext.ninclude; i++)
        free(ext.include[i]);
    free(ext.include);
    free(ext.include_hits);
    ext.include = NULL;
    ext.include_hits = NULL;
    ext.ninclude = 0;
}

static void
release(void)
{
    tracer_free(ext.t);
    ext.t = NULL;
    Py_CLEAR(ext.keep);
    free_include();
    free(ext.ignore_dir);
    ext.ignore_dir = NULL;
    ext.gen++; /* per-thread slots and recordings of this run are now stale */
}

static PyObject *
py_start(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"lines", "builtins",   "cpu",        "timeline", "include",
                             "seed",  "ignore_dir", "main_ident", "rewrite",  NULL};
    int lines = 0, builtins = 0, cpu = 1, seed = 1, rewrite = 0;
    unsigned long long timeline = 0, main_ident = 0;
    PyObject *include = NULL;
    const char *ignore_dir = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pppKOpzKp", kwlist, &lines, &builtins, &cpu,
                                     &timeline, &include, &seed, &ignore_dir, &main_ident,
                                     &rewrite))
        return NULL;
    if (ext.running) {
        PyErr_SetString(PyExc_RuntimeError, "ferret: a trace is already running");
        return NULL;
    }
    if (timeline > UINT32_MAX - 1) {
        PyErr_SetString(PyExc_ValueError, "ferret: timeline size is too large");
        return NULL;
    }
    release();
    PyObject *seq = include && include != Py_None
                        ? PySequence_Fast(include, "include must be a sequence of str")
                        : NULL;
    if (include && include != Py_None && !seq)
        return NULL;
    Py_ssize_t n = seq ? PySequence_Fast_GET_SIZE(seq) : 0;
    ext.include = calloc((size_t)n + 1, sizeof *ext.include);
    ext.include_hits = calloc((size_t)n + 1, sizeof *ext.include_hits);
    if (!ext.include || !ext.include_hits) {
        Py_XDECREF(seq);
        free_include();
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *s = utf8_or(PySequence_Fast_GET_ITEM(seq, i), NULL);
        if (!s || !(ext.include[i] = strdup(s))) {
            Py_XDECREF(seq);
            free_include();
            PyErr_SetString(PyExc_TypeError, "ferret: include patterns must be str");
            return NULL;
        }
        ext.ninclude++;
    }
    Py_XDECREF(seq);
    ext.ignore_dir = ignore_dir ? strdup(ignore_dir) : NULL;
    ext.keep = PyList_New(0);
    if (!ext.keep || (ignore_dir && !ext.ignore_dir)) {
        release();
        return PyErr_NoMemory();
    }
    TracerOptions opt;
    tracer_options_default(&opt);
    opt.lines = lines;
    opt.builtins = builtins;
    opt.cpu = cpu;
    opt.timeline_cap = (uint32_t)timeline;
    Err err;
    err_clear(&err);
    ext.t = tracer_new(&opt, describe, NULL, &err);
    if (!ext.t) {
        release();
        return PyErr_Format(PyExc_MemoryError, "ferret: %s", err.msg);
    }
    ext.gen++;
    ext.lines = lines;
    ext.builtins = builtins;
    ext.rewrite = rewrite && !seed;
    ext.hook_replaced = false;
    ext.trace_replaced = false;
    ext.getitem_unseen = false;
    ext.eval_replaced = false;
    ext.next_flush = UINT64_MAX;
    ext.main_ident = main_ident ? (unsigned long)main_ident : PyThread_get_thread_ident();
    if (!attach(seed, false)) {
        PyErr_Format(PyExc_RuntimeError, "ferret: %s", ext.t->err.msg);
        release();
        return NULL;
    }
    ext.running = true;
    if (hooks_install() < 0) {
        ext.running = false;
        release();
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
py_stop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!ext.running)
        Py_RETURN_NONE;
    hooks_check();
    ext.running = false;
    hooks_remove();
    uint64_t now = clock_ticks(&ext.t->clock);
    TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
    tracer_finish(ext.t, me, now);
    Py_RETURN_NONE;
}

static PyObject *
py_release(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!ext.running)
        release();
    Py_RETURN_NONE;
}

static PyObject *
py_running(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!ext.running)
        Py_RETURN_NONE;
    return Py_BuildValue(
        "{s:O,s:O,s:O,s:I,s:s}", "lines", ext.lines ? Py_True : Py_False, "builtins",
        ext.builtins ? Py_True : Py_False, "cpu", ext.t->opt.cpu ? Py_True : Py_False, "timeline",
        (unsigned)ext.t->opt.timeline_cap, "hook", ext.hook_name ? ext.hook_name : "");
}

/* Raises the failure a hook recorded (once), as the next API call must. */
static PyObject *
py_check(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    static uint64_t reported_gen = UINT64_MAX;
    if (ext.t && ext.t->failed && reported_gen != ext.gen) {
        reported_gen = ext.gen;
        return PyErr_Format(PyExc_RuntimeError, "ferret: tracing stopped early: %s",
                            ext.t->err.msg);
    }
    Py_RETURN_NONE;
}

/* After fork(), in the child: the parent owns the trace and its file. */
static PyObject *
py_forked(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (ext.stream) {
        stream_abandon(ext.stream);
        ext.stream = NULL;
    }
    ext.next_flush = UINT64_MAX;
    if (ext.running) {
        ext.running = false;
        hooks_forget();
    }
    release();
    Py_RETURN_NONE;
}

/* ---- Recording ---------------------------------------------------------------------------- */

static PyTypeObject RecordingType;

static PyObject *
err_to_py(const Err *err)
{
    PyObject *type = err->kind == ERR_NOMEM                         ? PyExc_MemoryError
                     : err->kind == ERR_IO || err->kind == ERR_PERM ? PyExc_OSError
                     : err->kind == ERR_USAGE                       ? PyExc_ValueError
                                                                    : PyExc_RuntimeError;
    return PyErr_Format(type, "ferret: %s", err->msg[0] ? err->msg : err_kind_name(err->kind));
}

static int
rec_init(Recording *r, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"command", "python_version", NULL};
    const char *command = NULL, *pyver = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zz", kwlist, &command, &pyver))
        return -1;
    if (r->p)
        return 0;
    Err err;
    r->p = profile_new(PROFILE_TRACE, &err);
    r->command = command ? strdup(command) : NULL;
    r->python_version = pyver ? strdup(pyver) : NULL;
    if (!r->p || (command && !r->command) || (pyver && !r->python_version)) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
rec_dealloc(Recording *r)
{
    if (ext.stream == r) {
        ext.stream = NULL;
        ext.next_flush = UINT64_MAX;
    }
    if (r->writer)
        stream_abandon(r);
    emit_free(r->emit);
    profile_free(r->p);
    free(r->command);
    free(r->python_version);
    free(r->stream_path);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static int
bind(Recording *r, Err *err)
{
    if (!ext.t)
        return err_set(err, ERR_USAGE, "no trace is running");
    if (r->emit && r->gen == ext.gen)
        return emit_rebase(r->emit, ext.t, err);
    emit_free(r->emit);
    EmitInfo info = {.pid = (int32_t)getpid(),
                     .ppid = (int32_t)getppid(),
                     .command = r->command,
                     .python_version = r->python_version,
                     .hook = ext.hook_name};
    r->emit = emit_new(r->p, ext.t, &info, err);
    r->gen = ext.gen;
    return r->emit ? 0 : -1;
}

static PyObject *
rec_begin(Recording *r, PyObject *unused)
{
    (void)unused;
    Err err;
    err_clear(&err);
    /* time this thread ran before now belongs before the baseline, CPU time included */
    TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
    if (me && ext.running)
        tracer_sync_thread(ext.t, me, clock_ticks(&ext.t->clock));
    if (bind(r, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

/* Notes that belong in every report of this run: failures, lost hooks, unmatched patterns. */
static int
take_notes(Recording *r, Err *err)
{
    const struct {
        bool on;
        const char *key, *text;
    } notes[] = {
        {ext.t->failed, "warning.failed", ext.t->err.msg},
        {ext.hook_replaced, "warning.hook",
         "the program installed its own C-level profiler (cProfile, yappi, ...) in some "
         "threads: ferret's hook was replaced there and later calls are missing"},
        {ext.trace_replaced, "warning.trace",
         "the program installed its own C-level trace function (coverage, a debugger, ...) "
         "in some threads: ferret's hook was replaced there and later calls and lines are "
         "missing"},
        {ext.eval_replaced, "warning.eval",
         "the program installed its own frame evaluator (a JIT, a debugger, "
         "sys.activate_stack_trampoline): ferret's was replaced and later calls are missing"},
        {ext.getitem_unseen, "warning.getitem",
         "some __getitem__ calls may be missing: CPython 3.11.0-3.11.3 run a specialised "
         "subscript's __getitem__ without telling profilers (CPython gh-104405, fixed in "
         "3.11.4), and a class got its __getitem__ in a way ferret could not follow"},
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        if (notes[i].on && emit_note(r->emit, notes[i].key, notes[i].text, err) < 0)
            return -1;
    if (rewrite_failed) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "%llu function%s could not be given line probes (CPython 3.11 --lines): "
                 "their lines are missing from the line table",
                 (unsigned long long)rewrite_failed, rewrite_failed == 1 ? "" : "s");
        if (emit_note(r->emit, "warning.rewrite", msg, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < ext.ninclude; i++) {
        char key[64], msg[1200];
        if (ext.include_hits[i])
            continue;
        snprintf(key, sizeof key, "warning.include%zu", i);
        snprintf(msg, sizeof msg, "include pattern '%.1000s' matched no function that ran",
                 ext.include[i]);
        if (emit_note(r->emit, key, msg, err) < 0)
            return -1;
    }
    return 0;
}

int
recording_take(Recording *r, uint64_t now, Err *err)
{
    if (!ext.t || !r->emit || r->gen != ext.gen)
        return err_set(err, ERR_USAGE, "this recording's trace has ended");
    if (ext.running) {
        hooks_check();
        TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
        if (me)
            tracer_sync_thread(ext.t, me, now);
    }
    if (emit_deltas(r->emit, ext.t, now, err) < 0)
        return -1;
    return take_notes(r, err);
}

static PyObject *
rec_take(Recording *r, PyObject *unused)
{
    (void)unused;
    Err err;
    err_clear(&err);
    TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
    if (me)
        me->guard = true;
    int rc = recording_take(r, ext.t ? clock_ticks(&ext.t->clock) : 0, &err);
    if (me)
        me->guard = false;
    if (rc < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

static PyObject *
rec_spans(Recording *r, PyObject *unused)
{
    (void)unused;
    Err err;
    err_clear(&err);
    if (!ext.t || !r->emit || r->gen != ext.gen)
        return PyErr_Format(PyExc_RuntimeError, "ferret: this recording's trace has ended");
    if (emit_spans(r->emit, ext.t, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

static PyObject *
rec_note(Recording *r, PyObject *args)
{
    const char *key, *value;
    if (!PyArg_ParseTuple(args, "ss", &key, &value))
        return NULL;
    Err err;
    if (profile_meta_set(r->p, key, value, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

static int
fill_options(ReportOptions *opt, const Profile *p, const char *sort, int top, int color)
{
    report_options_init(opt, p);
    opt->sort = sort;
    if (top > 0)
        opt->top = top;
    opt->color = color;
    CgSort key;
    if (sort && !callgraph_sort_parse(sort, &key)) {
        PyErr_Format(PyExc_ValueError,
                     "ferret: unknown sort key '%s' (self, total, calls, cpu, name)", sort);
        return -1;
    }
    return 0;
}

static PyObject *
rec_report(Recording *r, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"format", "sort", "top", "color", NULL};
    const char *format = "text", *sort = NULL;
    int top = 0, color = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|szip", kwlist, &format, &sort, &top, &color))
        return NULL;
    const ReportWriter *w = report_find(format);
    if (!w)
        return PyErr_Format(PyExc_ValueError, "ferret: unknown format '%s' (one of: %s)", format,
                            report_format_list());
    ReportOptions opt;
    if (fill_options(&opt, r->p, sort, top, color) < 0)
        return NULL;
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    if (!f)
        return PyErr_NoMemory();
    Err err;
    err_clear(&err);
    int rc = w->write(r->p, &opt, f, &err);
    if (fclose(f) != 0 && rc == 0)
        rc = err_set(&err, ERR_NOMEM, "out of memory rendering the report");
    PyObject *res = NULL;
    if (rc < 0)
        err_to_py(&err);
    else if (w->binary)
        res = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
    else
        res = PyUnicode_DecodeUTF8(data, (Py_ssize_t)len, "replace");
    free(data);
    return res;
}

static PyObject *
rec_save(Recording *r, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "format", "sort", "top", NULL};
    const char *path, *format = "ferret", *sort = NULL;
    int top = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|szi", kwlist, &path, &format, &sort, &top))
        return NULL;
    Err err;
    err_clear(&err);
    if (strcmp(format, "ferret") == 0) {
        if (stream_save(r, path, &err) < 0)
            return err_to_py(&err);
        Py_RETURN_NONE;
    }
    const ReportWriter *w = report_find(format);
    if (!w)
        return PyErr_Format(PyExc_ValueError, "ferret: unknown format '%s' (one of: %s)", format,
                            report_format_list());
    ReportOptions opt;
    if (fill_options(&opt, r->p, sort, top, 0) < 0)
        return NULL;
    if (report_write_path(w, r->p, &opt, path, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

static PyObject *
str_of(const Profile *p, StrId id)
{
    return PyUnicode_DecodeUTF8(profile_strp(p, id), (Py_ssize_t)profile_strlen(p, id), "replace");
}

/* functions(thread=-1): [(name, file, line, is_c, calls, prim_calls, self_ns, total_ns,
 * self_cpu_ns, total_cpu_ns)], edges: [(caller index or -1, callee index, calls,
 * prim_calls, self_ns, total_ns)], lines: [(func index, line, hits, ns)]. */
static PyObject *
rec_stats(Recording *r, PyObject *args)
{
    long long thread = -1;
    if (!PyArg_ParseTuple(args, "|L", &thread))
        return NULL;
    Callgraph cg;
    Err err;
    err_clear(&err);
    if (callgraph_build(r->p, thread, &cg, &err) < 0)
        return err_to_py(&err);
    PyObject *funcs = PyList_New((Py_ssize_t)cg.nfuncs);
    PyObject *edges = PyList_New((Py_ssize_t)cg.nedges);
    PyObject *lines = PyList_New((Py_ssize_t)cg.nlines);
    PyObject *res = NULL;
    if (!funcs || !edges || !lines)
        goto done;
    for (size_t i = 0; i < cg.nfuncs; i++) {
        const CgFunc *f = &cg.funcs[i];
        PyObject *t = Py_BuildValue("(NNiOLLLLLL)", str_of(r->p, f->name), str_of(r->p, f->file),
                                    (int)f->line, f->kind == FRAME_NATIVE ? Py_True : Py_False,
                                    (long long)f->calls, (long long)f->prim_calls,
                                    (long long)f->self_ns, (long long)f->total_ns,
                                    (long long)f->self_cpu_ns, (long long)f->total_cpu_ns);
        if (!t)
            goto done;
        PyList_SET_ITEM(funcs, (Py_ssize_t)i, t);
    }
    for (size_t i = 0; i < cg.nedges; i++) {
        const CgEdge *e = &cg.edges[i];
        PyObject *t =
            Py_BuildValue("(LLLLLL)", e->caller == CG_ROOT ? -1LL : (long long)e->caller,
                          (long long)e->callee, (long long)e->calls, (long long)e->prim_calls,
                          (long long)e->self_ns, (long long)e->total_ns);
        if (!t)
            goto done;
        PyList_SET_ITEM(edges, (Py_ssize_t)i, t);
    }
    for (size_t i = 0; i < cg.nlines; i++) {
        const CgLine *l = &cg.lines[i];
        PyObject *t = Py_BuildValue("(LiLL)", (long long)l->func, (int)l->line, (long long)l->hits,
                                    (long long)l->ns);
        if (!t)
            goto done;
        PyList_SET_ITEM(lines, (Py_ssize_t)i, t);
    }
    res =
        Py_BuildValue("(OOOLL)", funcs, edges, lines, (long long)cg.wall_ns, (long long)cg.cpu_ns);
done:
    Py_XDECREF(funcs);
    Py_XDECREF(edges);
    Py_XDECREF(lines);
    callgraph_fini(&cg);
    return res;
}

static PyObject *
rec_threads(Recording *r, PyObject *unused)
{
    (void)unused;
    size_t n = profile_nthreads(r->p);
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (!list)
        return NULL;
    for (ThreadId i = 0; i < n; i++) {
        const ProfThread *t = profile_thread_at(r->p, i);
        PyObject *item = Py_BuildValue("(KN)", (unsigned long long)t->tid, str_of(r->p, t->name));
        if (!item) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static PyObject *
rec_meta(Recording *r, PyObject *unused)
{
    (void)unused;
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    for (size_t i = 0; i < profile_nmeta(r->p); i++) {
        const char *k, *v;
        profile_meta_at(r->p, i, &k, &v);
        PyObject *val = PyUnicode_DecodeUTF8(v, (Py_ssize_t)strlen(v), "replace");
        if (!val || PyDict_SetItemString(d, k, val) < 0) {
            Py_XDECREF(val);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(val);
    }
    const ProfileInfo *info = profile_info_c(r->p);
    PyObject *dur = PyLong_FromLongLong(info->duration_ns);
    if (!dur || PyDict_SetItemString(d, "duration_ns", dur) < 0) {
        Py_XDECREF(dur);
        Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(dur);
    return d;
}

/* merge(other): adds another recording's samples (a decorator's calls accumulate). */
static PyObject *
rec_merge(Recording *r, PyObject *other)
{
    if (!PyObject_TypeCheck(other, &RecordingType) || !((Recording *)other)->p)
        return PyErr_Format(PyExc_TypeError, "ferret: merge() takes a Recording");
    Err err;
    err_clear(&err);
    if (merge_profiles(r->p, ((Recording *)other)->p, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

PyObject *
recording_wrap(Profile *p)
{
    Recording *r = (Recording *)RecordingType.tp_alloc(&RecordingType, 0);
    if (!r)
        return NULL;
    r->p = p;
    return (PyObject *)r;
}

static PyObject *
rec_stream(Recording *r, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    if (ext.stream)
        return PyErr_Format(PyExc_RuntimeError, "ferret: a recording is already streaming");
    Err err;
    err_clear(&err);
    if (!ext.t || !r->emit || r->gen != ext.gen)
        return PyErr_Format(PyExc_RuntimeError, "ferret: begin() the recording first");
    if (stream_open(r, path, &err) < 0)
        return err_to_py(&err);
    ext.stream = r;
    /* a flush per second of trace time; the rate is estimated (tracer_new measured it) */
    ext.flush_ticks = ext.t->window_ticks * 1000;
    ext.next_flush = clock_ticks(&ext.t->clock) + ext.flush_ticks;
    Py_RETURN_NONE;
}

static PyObject *
rec_close_stream(Recording *r, PyObject *unused)
{
    (void)unused;
    if (ext.stream == r) {
        ext.stream = NULL;
        ext.next_flush = UINT64_MAX;
    }
    if (!r->writer)
        Py_RETURN_NONE;
    Err err;
    err_clear(&err);
    if (stream_close(r, &err) < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

static PyObject *
rec_seal(Recording *r, PyObject *unused)
{
    (void)unused;
    if (ext.stream != r || !r->writer)
        return PyErr_Format(PyExc_RuntimeError, "ferret: the recording is not streaming");
    TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
    if (me)
        me->guard = true;
    Err err;
    err_clear(&err);
    uint64_t now = clock_ticks(&ext.t->clock);
    int rc = stream_seal(r, now, &err);
    ext.next_flush = now + ext.flush_ticks;
    if (me)
        me->guard = false;
    if (rc < 0)
        return err_to_py(&err);
    Py_RETURN_NONE;
}

void
ext_flush_stream(uint64_t now)
{
    Recording *r = ext.stream;
    ext.next_flush = now + ext.flush_ticks;
    if (!r)
        return;
    TThread *me = ext_tls.gen == ext.gen ? ext_tls.th : NULL;
    if (me)
        me->guard = true;
    Err err;
    err_clear(&err);
    if (stream_flush(r, now, &err) < 0) {
        /* the file keeps what was flushed; tracing goes on, the error is reported at the end */
        tracer_fail(ext.t, &err);
        ext.next_flush = UINT64_MAX;
    }
    if (me)
        me->guard = false;
}

static PyMethodDef rec_methods[] = {
    {"begin", (PyCFunction)rec_begin, METH_NOARGS,
     "Start (or restart) collecting from the running trace; earlier activity is excluded."},
    {"take", (PyCFunction)rec_take, METH_NOARGS,
     "Add everything recorded since begin() or the last take()."},
    {"spans", (PyCFunction)rec_spans, METH_NOARGS, "Add the timeline spans (once, at the end)."},
    {"note", (PyCFunction)rec_note, METH_VARARGS, "Set a metadata key."},
    {"report", (PyCFunction)(void (*)(void))rec_report, METH_VARARGS | METH_KEYWORDS,
     "report(format='text', sort=None, top=0, color=False) -> str or bytes"},
    {"save", (PyCFunction)(void (*)(void))rec_save, METH_VARARGS | METH_KEYWORDS,
     "save(path, format='ferret', sort=None, top=0)"},
    {"stats", (PyCFunction)rec_stats, METH_VARARGS,
     "stats(thread=-1) -> (functions, edges, lines, wall_ns, cpu_ns)"},
    {"threads", (PyCFunction)rec_threads, METH_NOARGS, "[(tid, name)]"},
    {"meta", (PyCFunction)rec_meta, METH_NOARGS, "The profile's metadata."},
    {"merge", (PyCFunction)rec_merge, METH_O, "merge(other): add another recording's samples."},
    {"stream", (PyCFunction)rec_stream, METH_VARARGS,
     "stream(path): write to a .ferret file, flushed every second while tracing."},
    {"close_stream", (PyCFunction)rec_close_stream, METH_NOARGS,
     "Final take, timeline, end marker."},
    {"seal", (PyCFunction)rec_seal, METH_NOARGS,
     "Before an exec: a take and an end marker; the stream goes on if the program does."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RecordingType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_ferret.Recording",
    .tp_basicsize = sizeof(Recording),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A profile filled from the running tracer (see ferret.trace).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)rec_init,
    .tp_dealloc = (destructor)rec_dealloc,
    .tp_methods = rec_methods,
};

/* ---- module ------------------------------------------------------------------------------- */

static PyMethodDef module_methods[] = {
    {"start", (PyCFunction)(void (*)(void))py_start, METH_VARARGS | METH_KEYWORDS,
     "start(lines=False, builtins=False, cpu=True, timeline=0, include=None, seed=True, "
     "ignore_dir=None, main_ident=0): install the tracer's hooks in every thread."},
    {"stop", py_stop, METH_NOARGS, "Remove the hooks and close every thread's accounts."},
    {"release", py_release, METH_NOARGS, "Free the stopped tracer."},
    {"running", py_running, METH_NOARGS, "The running tracer's options, or None."},
    {"check", py_check, METH_NOARGS, "Raise a failure a hook recorded."},
    {"_forked", py_forked, METH_NOARGS, "Drop the parent's trace in a forked child."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ferret",
    .m_doc = "ferret's C core inside Python: the deterministic tracer (see the ferret package).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* Refuses to load into an interpreter of another minor version: struct layouts differ and
 * the hooks would crash the program instead of failing cleanly. Uses only functions every
 * CPython 3 exports with the same signature, so this check itself is safe to run. */
static int
version_check(void)
{
    const char *rt = Py_GetVersion();
    int major = 0, minor = 0;
    if (sscanf(rt, "%d.%d", &major, &minor) != 2 || major != PY_MAJOR_VERSION ||
        minor != PY_MINOR_VERSION) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "ferret: this _ferret extension was built for Python %s but is loaded into "
                 "Python %.*s; use the build for Python %d.%d",
                 PY_VERSION, (int)strcspn(rt, " "), rt, major, minor);
        PyErr_SetString(PyExc_ImportError, msg);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__ferret(void)
{
    if (version_check() < 0)
        return NULL;
    if (PyType_Ready(&RecordingType) < 0 || PyType_Ready(&SamplingType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&RecordingType);
    if (PyModule_AddObject(m, "Recording", (PyObject *)&RecordingType) < 0) {
        Py_DECREF(&RecordingType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&SamplingType);
    if (PyModule_AddObject(m, "Sampling", (PyObject *)&SamplingType) < 0) {
        Py_DECREF(&SamplingType);
        Py_DECREF(m);
        return NULL;
    }
    if (hooks_add_methods(m) < 0 || timing_add_methods(m) < 0 ||
        PyModule_AddStringConstant(m, "python_build", PY_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "monitoring", PY_VERSION_HEX >= 0x030C0000) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
