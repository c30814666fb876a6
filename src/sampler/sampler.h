/* SPDX-License-Identifier: MIT */
/* sampler.h: samples a Python process (and optionally its Python children) at a fixed rate
 * into a Profile: every thread's stack, whether it was on a CPU (the kernel's thread state)
 * and whether it held the GIL. Reads go through /proc and process_vm_readv, so the target
 * runs untouched unless blocking is asked for. A sample's weight is the number of sampling
 * intervals since the previous moment (1 when on time), so a sampler delayed by a busy
 * machine does not under-count what ran meanwhile. Used by `ferret run`/`attach`, by
 * `ferret bench --profile`, and by the extension for `ferret.profile()` on its own process
 * (no blocking there). It never prints, reads the environment or exits. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile/profile.h"
#include "sampler/target.h"
#include "util/err.h"

typedef enum { SAMPLER_WALL = 0, SAMPLER_CPU = 1 } SamplerMode;

#define SAMPLER_DEFAULT_RATE_HZ 1000.0
#define SAMPLER_MAX_RATE_HZ 100000.0

typedef struct {
    double rate_hz;    /* sampling moments per second */
    SamplerMode mode;  /* recorded as the profile's default view; every sample is kept */
    bool gil_only;     /* default view: only the GIL holder's samples */
    bool threads_root; /* each stack starts with a frame naming its thread */
    bool subprocesses; /* also sample Python children (each stack starts with its process) */
    bool merge_processes; /* with subprocesses: no process roots, all stacks merge */
    bool blocking;     /* stop the target's threads (ptrace) while reading each sample */
    bool wait_python;  /* the process may become Python later (a launcher that execs it) */
    double duration_s; /* stop after this long; 0 = until the process exits */
    TargetFind find;
    /* Called at least once a second while sampling and once at the end (e.g. to stream the
     * profile to a file). A failure stops sampling with that error. May be NULL. */
    int (*flush)(void *ctx, Profile *p, Err *err);
    void *flush_ctx;
} SamplerOptions;

typedef struct {
    uint64_t ticks;        /* sampling moments taken */
    uint64_t sampled_ticks; /* those that sampled a Python process (not a launcher's polls) */
    uint64_t ticks_missed; /* moments skipped because sampling fell behind */
    uint64_t samples;      /* thread stacks recorded */
    uint64_t dropped;      /* thread stacks that could not be read consistently */
    uint64_t processes;    /* processes sampled as Python (each once, whatever it exec'd) */
    bool root_python;      /* the process sampler_new was given is one of them */
    double elapsed_s;
    /* moments per second while a Python process was being sampled: a launcher's time before
     * Python was found (the pyenv shim, a shell) and gaps with no Python are not counted */
    double rate_hz;
    double cpu_s;          /* the sampling thread's own CPU time */
    uint64_t reads;        /* process_vm_readv calls */
    double prioritised_at_s; /* when it fell behind and asked for more priority, or 0 */
} SamplerStats;

typedef struct Sampler Sampler;

void sampler_options_init(SamplerOptions *o);
/* Prepares to sample pid into p (which the caller owns and must not touch until
 * sampler_free). Fails like target_open (ERR_GONE, ERR_PERM, ERR_NOTPY, ERR_UNSUPPORTED),
 * except that with wait_python a not-yet-Python process is accepted. */
Sampler *sampler_new(pid_t pid, const SamplerOptions *opt, Profile *p, Err *err);
/* Samples until the process (and, with subprocesses, every child) has exited, the duration
 * has passed, or *stop becomes non-zero. Returns 0, or -1 with *err (a permission error, a
 * failing flush, or ERR_NOTPY when a wait_python process exited without becoming Python).
 * The profile holds everything sampled either way. */
int sampler_run(Sampler *s, volatile sig_atomic_t *stop, Err *err);
/* One sampling moment now, outside sampler_run's clock (benchmarks of the per-moment cost).
 * Returns 0, or -1 with *err as sampler_run would stop. */
int sampler_step(Sampler *s, Err *err);
void sampler_stats(const Sampler *s, SamplerStats *out);
/* CPython version of the (first) target, "" before it was found. Borrowed. */
const char *sampler_python_version(const Sampler *s);
/* With blocking, the sampler's waits may reap the process's exit; if so this returns true
 * and its waitpid status. */
bool sampler_reaped(const Sampler *s, int *wstatus);
void sampler_free(Sampler *s); /* detaches; NULL is a no-op */
