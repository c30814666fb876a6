/* SPDX-License-Identifier: MIT */
/* bench_profile.h: `ferret bench --profile` and the profile half of `ferret compare`.
 * While each measured Python process runs, a thread samples its Python stacks from outside
 * (sampler/target.h, sampler/walk.h) into one Profile per benchmark; the result is kept with
 * the benchmark as collapsed stacks (report/collapsed.c), which the JSON result and the
 * history store. compare then attributes a significant difference to functions: each
 * function's share of the samples times the median, B minus A.
 * This lives in cli/ because it joins bench/ with the sampler and the reports. */
#pragma once
#include <stddef.h>

#include "bench/bench.h"
#include "util/buf.h"
#include "util/err.h"

#define BENCH_PROFILE_INTERVAL_S 0.005 /* 200 Hz: a few hundred samples per benchmark */

typedef struct BenchProfiler BenchProfiler;

/* One profiler for n benchmarks. NULL with *err set. */
BenchProfiler *bench_profiler_new(size_t n, Err *err);
void bench_profiler_free(BenchProfiler *bp);
/* RunnerOptions.on_process: starts sampling pid (> 0) for benchmark `bench`, or stops
 * (pid 0). */
int bench_profiler_hook(void *ctx, size_t bench, int pid, Err *err);
/* Moves each benchmark's profile, as collapsed stacks, into benches[i].profile_blob. */
int bench_profiler_finish(BenchProfiler *bp, Bench *benches, size_t n, Err *err);
/* Explains the difference between a and b by function, when both carry profiles: appends
 * up to `top` lines to out. Returns 0 (also when there is nothing to say). */
int bench_profile_explain(const Bench *a, const Bench *b, size_t top, Buf *out, Err *err);
