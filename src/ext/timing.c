/* SPDX-License-Identifier: MIT */
/* timing.c: the C half of ferret.bench(): a tight loop of calls timed with the monotonic
 * clock, and `ferret bench`'s statistics (bench/stats.h) over the samples, so a benchmark
 * from code is summarised and compared exactly as `ferret bench` and `ferret compare` do. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <time.h>

#include "bench/stats.h"
#include "ext/ext.h"

static int64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* time_calls(fn, args, kwargs, number) -> ns for `number` calls of fn(*args, **kwargs). */
static PyObject *
py_time_calls(PyObject *self, PyObject *a)
{
    (void)self;
    PyObject *fn, *args, *kwargs;
    long long number;
    if (!PyArg_ParseTuple(a, "OO!OL", &fn, &PyTuple_Type, &args, &kwargs, &number))
        return NULL;
    if (kwargs == Py_None)
        kwargs = NULL;
    else if (!PyDict_Check(kwargs))
        return PyErr_Format(PyExc_TypeError, "ferret: kwargs must be a dict");
    if (number < 1)
        return PyErr_Format(PyExc_ValueError, "ferret: number must be at least 1");
    int64_t t0 = mono_ns();
    for (long long i = 0; i < number; i++) {
        PyObject *r = PyObject_Call(fn, args, kwargs);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    return PyLong_FromLongLong(mono_ns() - t0);
}

/* A list of floats as a malloc'd array; NULL with an exception. */
static double *
doubles(PyObject *list, size_t *n)
{
    PyObject *seq = PySequence_Fast(list, "ferret: samples must be a sequence of numbers");
    if (!seq)
        return NULL;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    double *x = malloc((size_t)(len ? len : 1) * sizeof *x);
    if (!x) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        x[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (x[i] == -1.0 && PyErr_Occurred()) {
            free(x);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    *n = (size_t)len;
    return x;
}

static PyObject *
stats_error(const Err *err)
{
    return PyErr_Format(err->kind == ERR_NOMEM ? PyExc_MemoryError : PyExc_ValueError, "ferret: %s",
                        err->msg);
}

/* stats_summary(samples) -> dict (bench/stats.h StatsSummary). */
static PyObject *
py_stats_summary(PyObject *self, PyObject *list)
{
    (void)self;
    size_t n;
    double *x = doubles(list, &n);
    if (!x)
        return NULL;
    StatsSummary s;
    Err err;
    err_clear(&err);
    int rc = stats_summarize(x, n, &s, &err);
    free(x);
    if (rc < 0)
        return stats_error(&err);
    return Py_BuildValue("{s:n,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:n,s:n}", "n",
                         (Py_ssize_t)s.n, "mean", s.mean, "stdev", s.stdev, "median", s.median,
                         "mad", s.mad, "min", s.min, "max", s.max, "p5", s.p5, "p25", s.p25, "p75",
                         s.p75, "p95", s.p95, "ci_lo", s.ci_lo, "ci_hi", s.ci_hi, "ci_level",
                         s.ci_level, "outliers_low", (Py_ssize_t)s.outliers_low, "outliers_high",
                         (Py_ssize_t)s.outliers_high);
}

/* stats_ratio(a, b) -> dict: b relative to a (bench/stats.h StatsRatio). */
static PyObject *
py_stats_ratio(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *la, *lb;
    if (!PyArg_ParseTuple(args, "OO", &la, &lb))
        return NULL;
    size_t na, nb;
    double *a = doubles(la, &na);
    double *b = a ? doubles(lb, &nb) : NULL;
    if (!b) {
        free(a);
        return NULL;
    }
    StatsRatio r;
    Err err;
    err_clear(&err);
    int rc = stats_ratio(a, na, b, nb, &r, &err);
    free(a);
    free(b);
    if (rc < 0)
        return stats_error(&err);
    return Py_BuildValue("{s:d,s:d,s:d,s:d,s:O,s:s}", "ratio", r.ratio, "lo", r.lo, "hi", r.hi, "p",
                         r.p, "significant", r.significant ? Py_True : Py_False, "method",
                         r.method == STATS_MWU_EXACT ? "exact" : "asymptotic");
}

static PyMethodDef timing_methods[] = {
    {"time_calls", py_time_calls, METH_VARARGS,
     "time_calls(fn, args, kwargs, number) -> ns for number calls"},
    {"stats_summary", py_stats_summary, METH_O, "stats_summary(samples) -> dict"},
    {"stats_ratio", py_stats_ratio, METH_VARARGS, "stats_ratio(a, b) -> dict (b relative to a)"},
    {NULL, NULL, 0, NULL},
};

int
timing_add_methods(PyObject *module)
{
    return PyModule_AddFunctions(module, timing_methods);
}
