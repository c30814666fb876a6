/* SPDX-License-Identifier: MIT */
/* runner.h: measures benchmarks. Python statements and functions run in fresh driver
 * processes (driver.c); commands are started once per value. All benchmarks of one call are
 * interleaved: round after round each gets one process (a command: one run), the order
 * rotating, so drift of the machine hits them alike. The runner prints nothing; it reports
 * progress through a callback and leaves the output to cli/. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"
#include "util/err.h"

typedef struct {
    size_t bench;       /* index of the benchmark just measured */
    size_t round;       /* rounds completed by it */
    double fraction;    /* of the whole run, 0..1 */
    double elapsed_s;
    bool calibrated;    /* this update announces a calibration (loops now known) */
} RunnerProgress;

typedef struct {
    double budget_s;    /* machine time per benchmark; rounds continue until it is spent */
    int processes;      /* > 0: exactly this many processes (commands: runs); budget ignored */
    int min_processes;  /* with a budget: at least this many */
    int values;         /* values per Python process */
    int warmups;        /* discarded values per Python process; discarded runs per command */
    double min_time_s;  /* calibration: one value lasts at least this long */
    double timeout_s;   /* one value or run may take at most this long (<= 0: no limit) */
    bool shell;         /* commands run through /bin/sh -c (else split on spaces and exec) */
    bool keep_gc;       /* leave Python's garbage collector on while timing */
    bool ignore_failure; /* a command's non-zero exit is not an error */
    /* Called after each process/run and after each calibration; may be NULL. */
    void (*progress)(void *ctx, const Bench *benches, const RunnerProgress *p);
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* set by a signal handler: stop, kill the child, fail */
    /* Optional hook around each measured process: called with the pid once it is ready (a
     * Python benchmark's driver) or has started (a run of a command: exec'd, perhaps not
     * Python yet), and again with 0 when it is done (ferret bench --profile). */
    int (*on_process)(void *ctx, size_t bench, int pid, Err *err);
    void *on_process_ctx;
} RunnerOptions;

void runner_options_default(RunnerOptions *o);

/* Measures every benchmark in place (their values, loops, versions). Returns 0, or -1 with
 * *err set naming the benchmark that failed; its error_detail then holds the Python
 * traceback or the command's stderr. */
int runner_run(Bench *benches, size_t n, const RunnerOptions *o, Err *err);

/* Lists the bench_* functions a file defines, in definition order, by asking `python`.
 * *names is a malloc'd array of malloc'd strings. On an import failure, *detail (malloc'd)
 * receives the traceback. Returns 0, or -1 with *err set. */
int runner_list_functions(const char *python, const char *file, char ***names, size_t *n,
                          char **detail, double timeout_s, volatile sig_atomic_t *stop, Err *err);
