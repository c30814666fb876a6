/* SPDX-License-Identifier: MIT */
/* emit.h: turns the tracer's call tree into Profile samples (what the .ferret file, the
 * reports and `ferret diff` read). An Emit is bound to one Profile and remembers what it
 * has already emitted (a baseline of every counter), so each emission adds only the change
 * since the last one: the .ferret stream flushes deltas every second, and a nested or
 * repeated `ferret.trace()` session is the difference between its start and its end.
 *
 * Series (the convention shared with the report writers; units in brackets):
 *   wall_ns [ns]    self wall time of each call-tree node, on the node's stack
 *   calls [calls]   calls that started at the node (generator resumes are not calls)
 *   cpu_ns [ns]     self CPU time (only with cpu on)
 *   line_hits [hits], line_ns [ns]   per line (only with lines on): on the stack of the
 *                   node's caller plus a frame of the node's function whose `line` is the
 *                   line; line_ns runs from the line's start to the next line of the same
 *                   frame, so it includes the functions the line calls (as line_profiler)
 *   spans [ns]      timeline: each sample is a complete span [t_ns, t_ns + weight) of its
 *                   stack's leaf frame on its thread (only with a timeline)
 * Inclusive times are the fold of self times up the stack tree (profile_fold_totals). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "ext/tracer.h"
#include "profile/profile.h"

typedef struct Emit Emit;

typedef struct {
    int32_t pid, ppid;
    const char *command;        /* the program's command line, for meta "command" */
    const char *python_version; /* meta "python_version" */
    const char *hook;           /* meta "tracer": sys.monitoring, setprofile or settrace */
} EmitInfo;

/* Binds an emitter to p (borrowed; must outlive the Emit) for tracer t: adds the series,
 * the process and the metadata, and takes t's current state as the baseline (nothing
 * before now will be emitted). NULL with *err set. */
Emit *emit_new(Profile *p, const Tracer *t, const EmitInfo *info, Err *err);
void emit_free(Emit *e); /* NULL is a no-op */
/* Moves the baseline to t's current state without emitting (a new session of a
 * decorator that accumulates into the same profile). */
int emit_rebase(Emit *e, const Tracer *t, Err *err);
/* Adds a sample for every counter that changed since the baseline, stamped `now` (ticks),
 * and moves the baseline. Measures the clock rate first (clock_rate). 0 or -1. */
int emit_deltas(Emit *e, Tracer *t, uint64_t now, Err *err);
/* Adds the timeline spans recorded since the baseline was first taken (those still in the
 * ring), clipped to start no earlier than it, and the count of dropped ones to
 * meta "dropped.timeline". Call once, at the end. 0 or -1. */
int emit_spans(Emit *e, Tracer *t, Err *err);
/* Records tracer-level failures and warnings in the profile's metadata. */
int emit_note(Emit *e, const char *key, const char *value, Err *err);
