/* SPDX-License-Identifier: MIT */
/* bench_profile.h: `ferret bench --profile` and the profile half of `ferret compare`.
 * While each measured Python process runs, the sampler (sampler/sampler.h) records its
 * stacks from outside into one Profile per benchmark; the profile is kept with the result as
 * .ferret bytes (profile/ffile.h), which the JSON result (base64) and the history (a blob)
 * store. compare explains a significant difference with report/diff.h: which functions'
 * share of the samples changed beyond noise, turned into time per iteration with each
 * side's median. This lives in cli/ because it joins bench/ with the sampler and the
 * reports. */
#pragma once
#include <stddef.h>

#include "bench/bench.h"
#include "util/buf.h"
#include "util/err.h"

/* A few hundred samples per benchmark at the default budget, and the sampling thread's
 * share of a core stays small next to the benchmark on a 2-core machine. */
#define BENCH_PROFILE_RATE_HZ 250.0

typedef struct BenchProfiler BenchProfiler;

/* One profiler for the n benchmarks (it keeps which are commands). NULL with *err set. */
BenchProfiler *bench_profiler_new(const Bench *benches, size_t n, Err *err);
void bench_profiler_free(BenchProfiler *bp);
/* RunnerOptions.on_process: starts sampling pid (> 0) for benchmark `bench`, or stops
 * (pid 0). A command's run is sampled once it (or a child, e.g. under the shell) runs
 * Python; one that never does leaves no samples, which is not an error. */
int bench_profiler_hook(void *ctx, size_t bench, int pid, Err *err);
/* Stores each benchmark's profile, as .ferret bytes, in benches[i].profile_blob; a
 * benchmark with no samples gets none, and its name is appended (comma-separated) to
 * `empty` when that is not NULL. */
int bench_profiler_finish(BenchProfiler *bp, Bench *benches, size_t n, Buf *empty, Err *err);
/* Explains the difference between a and b by function, when both carry profiles: appends
 * up to `top` lines to out. Returns 0 (also when there is nothing to say), -1 with *err set
 * ("profile of B: ...") and nothing appended when a stored profile cannot be read. */
int bench_profile_explain(const Bench *a, const Bench *b, size_t top, Buf *out, Err *err);
