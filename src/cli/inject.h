/* SPDX-License-Identifier: MIT */
/* inject.h: running a command with ferret's Python library loaded into the Python
 * interpreter it starts, without the user changing the program (docs/INJECTION.md).
 * The library tree (lib/ferret: the `ferret` package, the _ferret extension for every
 * interpreter, inject/sitecustomize.py) is found next to the ferret binary. The child gets
 *   PYTHONPATH=<lib>/inject:$PYTHONPATH   Python's site module imports the shim from there
 *   FERRET_PYTHONPATH=<lib>/python         where the shim loads the `ferret` package from
 *   FERRET_BOOT=module:function[,...]      what the shim runs (e.g. ferret._boot:trace_main)
 *   FERRET_STATUS=<run dir>/status         the boot function's report back to the CLI
 * plus the caller's own variables. The first Python process claims the status file
 * (O_EXCL); its children find it taken. The caller starts the command itself (sampler/proc.h:
 * proc_check_python, proc_spawn). Used by `ferret trace`; meant for `ferret mem`. */
#pragma once
#include <stddef.h>

#include "util/err.h"

typedef struct {
    char *libdir;      /* .../lib/ferret */
    char *rundir;      /* private temporary directory of this run */
    char *status_path; /* rundir/status */
} Inject;

typedef enum {
    INJECT_NONE,    /* no Python process ran the boot function */
    INJECT_STARTED, /* it started and did not finish (os._exit, a signal) */
    INJECT_DONE,    /* it finished and said so */
    INJECT_ERROR,   /* it could not start or finish; the message says why */
} InjectState;

/* Finds the library tree ($FERRET_LIBDIR, <dir of ferret>/lib/ferret, <dir>/../lib/ferret)
 * and makes the run directory. Returns 0, or -1 with *err set. */
int inject_init(Inject *inj, Err *err);
/* Removes the run directory and every file in it (not subdirectories); frees inj. */
void inject_fini(Inject *inj);
/* Sets the variables above in this process's environment (inherited by the child). */
int inject_setenv(const Inject *inj, const char *boot, Err *err);
/* The boot function's last report; msg gets the error text for INJECT_ERROR. */
InjectState inject_status(const Inject *inj, char *msg, size_t n);
