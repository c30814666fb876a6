/* SPDX-License-Identifier: MIT */
/* sampling.c: _ferret.Sampling, the sampler of `ferret run` (sampler/sampler.h) pointed at
 * the program's own process: a native thread, holding no GIL, reads this process's
 * interpreter with process_vm_readv at a fixed rate until stop(). The program runs at full
 * speed meanwhile (no hooks); the result is a Recording with the same stacks and reports
 * as `ferret run`. Several may run at once (nested ferret.profile() blocks). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ext/ext.h"
#include "ext/recording.h"
#include "sampler/sampler.h"

typedef struct {
    PyObject_HEAD Sampler *s;
    Profile *p;
    pthread_t thread;
    bool started, joined;
    volatile sig_atomic_t stop;
    int rc;  /* sampler_run's result, valid once joined */
    Err err; /* its error */
} Sampling;

static void *
sampling_main(void *arg)
{
    Sampling *sm = arg;
    /* signals are the program's: this thread takes none of them */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    err_clear(&sm->err);
    sm->rc = sampler_run(sm->s, &sm->stop, &sm->err);
    return NULL;
}

static int
sm_init(Sampling *sm, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"rate", "mode", "gil", "threads", "command", NULL};
    double rate = SAMPLER_DEFAULT_RATE_HZ;
    const char *mode = "wall", *command = NULL;
    int gil = 0, threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dsppz", kwlist, &rate, &mode, &gil, &threads,
                                     &command))
        return -1;
    if (sm->p) {
        PyErr_SetString(PyExc_RuntimeError, "ferret: Sampling is already set up");
        return -1;
    }
    if (!(rate > 0) || rate > SAMPLER_MAX_RATE_HZ) {
        PyErr_Format(PyExc_ValueError, "ferret: rate must be in (0, %g] samples per second",
                     SAMPLER_MAX_RATE_HZ);
        return -1;
    }
    if (strcmp(mode, "wall") != 0 && strcmp(mode, "cpu") != 0) {
        PyErr_Format(PyExc_ValueError, "ferret: mode must be 'wall' or 'cpu', not '%s'", mode);
        return -1;
    }
    SamplerOptions opt;
    sampler_options_init(&opt);
    opt.rate_hz = rate;
    opt.mode = strcmp(mode, "cpu") == 0 ? SAMPLER_CPU : SAMPLER_WALL;
    opt.gil_only = gil;
    opt.threads_root = threads;
    Err err;
    err_clear(&err);
    sm->p = profile_new(PROFILE_SAMPLED, &err);
    if (!sm->p || (command && profile_meta_set(sm->p, "command", command, &err) < 0)) {
        PyErr_NoMemory();
        return -1;
    }
    sm->s = sampler_new(getpid(), &opt, sm->p, &err);
    if (!sm->s) {
        PyErr_Format(PyExc_RuntimeError, "ferret: cannot sample this process: %s", err.msg);
        return -1;
    }
    return 0;
}

static void
join(Sampling *sm)
{
    if (!sm->started || sm->joined)
        return;
    sm->stop = 1;
    Py_BEGIN_ALLOW_THREADS pthread_join(sm->thread, NULL);
    Py_END_ALLOW_THREADS sm->joined = true;
}

static void
sm_dealloc(Sampling *sm)
{
    join(sm);
    sampler_free(sm->s);
    profile_free(sm->p);
    Py_TYPE(sm)->tp_free((PyObject *)sm);
}

static PyObject *
sm_start(Sampling *sm, PyObject *unused)
{
    (void)unused;
    if (!sm->s || sm->started) {
        PyErr_SetString(PyExc_RuntimeError, "ferret: this sampler cannot start (again)");
        return NULL;
    }
    int rc = pthread_create(&sm->thread, NULL, sampling_main, sm);
    if (rc != 0) {
        errno = rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    sm->started = true;
    Py_RETURN_NONE;
}

/* Stops sampling and hands the profile over as a Recording. */
static PyObject *
sm_stop(Sampling *sm, PyObject *unused)
{
    (void)unused;
    if (!sm->started || !sm->p) {
        PyErr_SetString(PyExc_RuntimeError, "ferret: this sampler is not running");
        return NULL;
    }
    join(sm);
    sampler_free(sm->s);
    sm->s = NULL;
    if (sm->rc < 0)
        return PyErr_Format(PyExc_RuntimeError, "ferret: sampling failed: %s", sm->err.msg);
    PyObject *rec = recording_wrap(sm->p);
    if (rec)
        sm->p = NULL; /* the Recording owns it now */
    return rec;
}

static PyMethodDef sm_methods[] = {
    {"start", (PyCFunction)sm_start, METH_NOARGS, "Start the sampling thread."},
    {"stop", (PyCFunction)sm_stop, METH_NOARGS, "Stop it; returns the Recording."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject SamplingType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_ferret.Sampling",
    .tp_basicsize = sizeof(Sampling),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sampling(rate=1000.0, mode='wall', gil=False, threads=False, command=None): "
              "ferret run's sampler on this process (see ferret.profile).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)sm_init,
    .tp_dealloc = (destructor)sm_dealloc,
    .tp_methods = sm_methods,
};
