/* SPDX-License-Identifier: MIT */
/* recording.h: the _ferret.Recording object: a Profile that collects what the tracer
 * recorded between begin() and take() (as emit.c deltas), optionally streamed to a .ferret
 * file every second (stream.c) for `ferret trace`. Include Python.h first. */
#pragma once
#include "ext/emit.h"
#include "profile/profile.h"

struct Recording {
    PyObject_HEAD Profile *p;
    Emit *emit; /* bound to tracer generation `gen`; NULL before begin() */
    uint64_t gen;
    char *command;
    char *python_version;
    struct FfileWriter *writer; /* the stream, or NULL */
    char *stream_path;
};

/* A new Recording owning p (taken over on success). NULL with a Python exception. */
PyObject *recording_wrap(Profile *p);
extern PyTypeObject SamplingType; /* sampling.c */

/* Emits what changed since the last take into r->p (and, when streaming, flushes it to
 * the file). Returns 0, or -1 with *err set. */
int recording_take(Recording *r, uint64_t now, Err *err);
/* stream.c: opens r's .ferret stream at path (the header and what r holds so far). */
int stream_open(Recording *r, const char *path, Err *err);
/* A take written to the stream as one chunk (called once a second from a hook). */
int stream_flush(Recording *r, uint64_t now, Err *err);
/* A take and an end marker, the stream left open (the program is about to exec): the file
 * is complete as it stands; the next flush goes on after the last chunk. The timeline is not
 * written. */
int stream_seal(Recording *r, uint64_t now, Err *err);
/* Final take, timeline spans, end marker, close. */
int stream_close(Recording *r, Err *err);
/* Closes without an end marker and without writing anything more (after fork). */
void stream_abandon(Recording *r);
/* Writes r's whole profile as a .ferret file (path.tmp, then rename). */
int stream_save(Recording *r, const char *path, Err *err);
