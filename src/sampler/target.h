/* SPDX-License-Identifier: MIT */
/* target.h: a CPython process read from outside. target_open finds the interpreter: the
 * executable or the libpython mapped into the process, _PyRuntime from its ELF symbols, the
 * .PyRuntime section, or (last resort) a validated scan of its writable memory; the version
 * from Py_Version, the debug table, file names or the binary's own version string; then the
 * per-version layout (for 3.13+ read from and checked against the target's _Py_DebugOffsets).
 * walk.h reads stacks through a Target. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct Target Target;

typedef enum {
    TARGET_FIND_AUTO = 0, /* symbol, then section, then scan */
    TARGET_FIND_SCAN = 1, /* only the memory scan (to test the last resort) */
} TargetFind;

/* Opens pid. Errors: ERR_GONE (no such process, or one that has exited: a zombie), ERR_PERM
 * (not allowed to read it: the message explains ptrace_scope and CAP_SYS_PTRACE), ERR_NOTPY
 * (no CPython in it), ERR_UNSUPPORTED (a CPython version ferret has no layout for). The
 * caller owns the result. */
Target *target_open(pid_t pid, TargetFind how, Err *err);
/* Opens this very process, reading memory in place (in-process use; see pyself.h). */
Target *target_open_self_local(Err *err);
void target_close(Target *t); /* NULL is a no-op */
pid_t target_pid(const Target *t);
/* "3.11.7" (micro version when it is known). Borrowed. */
const char *target_version(const Target *t);
/* Where the runtime was found: "symbol", "section", "scan", "debug-cookie". Borrowed. */
const char *target_found_by(const Target *t);
/* Address of _PyRuntime in the target. */
uintptr_t target_runtime_addr(const Target *t);
/* Is the interpreter initialised (an interpreter with at least one thread)? */
bool target_initialized(Target *t, Err *err);
/* Statistics: system calls and bytes read so far. */
void target_read_stats(const Target *t, uint64_t *reads, uint64_t *bytes);
