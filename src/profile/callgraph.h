/* SPDX-License-Identifier: MIT */
/* callgraph.h: exact per-function statistics of a trace profile (series "calls",
 * "wall_ns", "cpu_ns", "line_hits", "line_ns"; see ext/emit.h) with caller -> callee
 * edges: the numbers behind the trace text report, the pstats writer and the Python API.
 *
 * Semantics follow cProfile's, so pstats files agree with it: `calls` counts every call,
 * `prim_calls` only calls not made while the same function was already on the stack
 * (recursion); `self` is time with the function on top; `total` includes callees and
 * counts recursive activations once (the outermost one). An edge (caller, callee) holds
 * the same four numbers restricted to calls from that caller. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/err.h"

#define CG_ROOT UINT32_MAX /* caller of outermost calls */

typedef struct {
    StrId name;
    StrId file;
    int32_t line; /* first line of the function; 0 for C functions */
    uint8_t kind; /* FrameKind */
    int64_t calls, prim_calls;
    int64_t self_ns, total_ns;         /* wall */
    int64_t self_cpu_ns, total_cpu_ns; /* 0 without a cpu_ns series */
} CgFunc;

typedef struct {
    uint32_t caller; /* index into funcs, or CG_ROOT */
    uint32_t callee;
    int64_t calls, prim_calls;
    int64_t self_ns, total_ns;
} CgEdge;

typedef struct {
    uint32_t func; /* index into funcs */
    int32_t line;
    int64_t hits;
    int64_t ns;
} CgLine;

typedef struct {
    CgFunc *funcs;
    size_t nfuncs;
    CgEdge *edges;
    size_t nedges;
    CgLine *lines; /* sorted by function, then line */
    size_t nlines;
    int64_t wall_ns; /* summed self wall time (= every traced thread's time in functions) */
    int64_t cpu_ns;
    int64_t calls;
    bool has_cpu, has_lines;
    bool sampled; /* built from a sampled profile: times estimated, no call counts */
} Callgraph;

typedef enum { CG_SORT_SELF, CG_SORT_TOTAL, CG_SORT_CALLS, CG_SORT_CPU, CG_SORT_NAME } CgSort;

/* Builds the call graph of the samples of one thread (a ThreadId) or of all (-1). A
 * sampled profile (no "calls" and "wall_ns" series) gives times from its first series
 * (samples times the interval, 1 ms if none was recorded, or ns) and no calls; one whose first
 * series is not a time (memory) gives ERR_FORMAT. Returns 0 or -1. */
int callgraph_build(const Profile *p, int64_t thread, Callgraph *out, Err *err);
void callgraph_fini(Callgraph *cg);
/* Fills order[0..nfuncs) with function indices sorted by key, largest first (names
 * alphabetically), ties by name then file. */
void callgraph_order(const Profile *p, const Callgraph *cg, CgSort key, uint32_t *order);
/* Parses "self", "total", "calls", "cpu" or "name"; false if unknown. */
bool callgraph_sort_parse(const char *s, CgSort *out);
