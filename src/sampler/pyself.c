/* SPDX-License-Identifier: MIT */
/* pyself.c: the calling thread's own Python stack, read in place with the external
 * sampler's layouts and walk (no Python API beyond two lookups at open). The thread state
 * comes from PyGILState_GetThisThreadState, which reads thread-specific storage and works
 * with or without the GIL. */
#include "sampler/pyself.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/target_impl.h"

struct PySelf {
    Target *t;
    void *(*this_thread_state)(void);
};

_Static_assert(sizeof(PyRawFrame) == sizeof(RawFrame) &&
                   offsetof(PyRawFrame, code_addr) == offsetof(RawFrame, code) &&
                   offsetof(PyRawFrame, instr) == offsetof(RawFrame, addrq),
               "pyself.h's PyRawFrame must match the walker's RawFrame");

PySelf *
pyself_open(Err *err)
{
    int (*initialized)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    void *(*get)(void) = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    if (!initialized || !get) {
        err_set(err, ERR_NOTPY, "no CPython in this process");
        return NULL;
    }
    if (!initialized()) {
        err_set(err, ERR_NOTPY, "CPython is not initialised yet");
        return NULL;
    }
    PySelf *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->t = target_open_self_local(err);
    if (!s->t) {
        free(s);
        return NULL;
    }
    s->this_thread_state = get;
    /* the walk's scratch is sized once here, so pyself_stack never allocates */
    if (target_scratch(s->t, 4096, err) < 0) {
        pyself_close(s);
        return NULL;
    }
    return s;
}

void
pyself_close(PySelf *s)
{
    if (!s)
        return;
    target_close(s->t);
    free(s);
}

const char *
pyself_version(const PySelf *s)
{
    return target_version(s->t);
}

size_t
pyself_stack(PySelf *s, PyRawFrame *out, size_t max)
{
    uintptr_t tstate = (uintptr_t)s->this_thread_state();
    if (!tstate)
        return 0;
    Err err;
    size_t n = 0;
    bool partial;
    /* in place (local reads bypass the snapshot): the thread state is this thread's own */
    if (walk_raw(s->t, (const uint8_t *)tstate, (RawFrame *)out, max, &n, &partial, &err) < 0)
        return 0;
    return n;
}

int
pyself_frame(PySelf *s, const PyRawFrame *f, Profile *p, FrameId *out, Err *err)
{
    return code_frame(s->t, p, f->code_addr, f->instr, out, err);
}
