/* SPDX-License-Identifier: MIT */
/* pyself.h: this process's own Python stacks, read in place, for code that runs inside the
 * target (the memory tracker's allocation hooks). The calling thread reads only its own
 * frames, which nothing else changes while it runs, so plain loads are safe. The layouts
 * and line tables are the external sampler's (walk.c, linetable.c), so in-process and
 * external stacks name frames identically. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/err.h"

typedef struct PySelf PySelf;

typedef struct {
    uintptr_t code_addr; /* the frame's code object */
    int32_t instr;       /* offset of the current instruction in bytes from co_code start */
} PyRawFrame;

/* Finds the CPython runtime linked into this process (executable or libpython), reads its
 * version and selects the layout. Fails with ERR_NOTPY when no supported CPython is loaded
 * or it is not initialised yet (call again later). The caller owns the result. */
PySelf *pyself_open(Err *err);
void pyself_close(PySelf *s); /* NULL is a no-op */
/* The "3.11.7"-style version of the interpreter found. Borrowed. */
const char *pyself_version(const PySelf *s);
/* The calling thread's Python frames, innermost first, at most max; returns how many were
 * written (0 when the thread has no Python thread state or no frames). Never allocates,
 * takes no locks, calls no Python API; safe inside malloc hooks and with or without the GIL. */
size_t pyself_stack(PySelf *s, PyRawFrame *out, size_t max);
/* Interns f as a profile frame (qualname, file, line, first line). Call while the code
 * object is alive (on the same thread, right after pyself_stack). Results are cached by code
 * address. Not thread-safe: serialise calls on one PySelf. Returns 0 or -1 with *err set. */
int pyself_frame(PySelf *s, const PyRawFrame *f, Profile *p, FrameId *out, Err *err);
