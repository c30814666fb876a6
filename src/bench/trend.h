/* SPDX-License-Identifier: MIT */
/* trend.h: a benchmark's history as a series of runs: each run's median and interval, the
 * step from the previous run, and the change points where performance moved beyond noise.
 * Also the SVG/HTML plot of it. Pure: entries in, Buf out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"
#include "bench/stats.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct {
    const char *label; /* x-axis label: short commit or date; borrowed */
    double median, ci_lo, ci_hi;
    bool has_step;     /* false for the first run */
    StatsRatio step;   /* this run against the previous one */
    bool change;       /* a change point: see trend_analyse */
} TrendPoint;

/* Fills points[i] from benches[i] (oldest first) and flags change points: a run is one when
 * it differs significantly from the previous run (Mann-Whitney U over process medians,
 * p < 0.01) AND the step is larger than both `threshold` (a fraction, e.g. 0.02) and three
 * times the run-to-run noise of the series (1.4826 x the MAD of the log steps between
 * consecutive medians), so a series that wanders by 3% between runs does not flag 3% steps.
 * Returns 0, or -1 with *err set. */
int trend_analyse(const Bench *const *benches, size_t n, double threshold, TrendPoint *points,
                  Err *err);
/* The noise estimate used above, for display: a fraction; 0 with fewer than 5 runs. */
double trend_noise(const TrendPoint *points, size_t n);

/* An SVG plot of one series: medians with their intervals over the runs, change points in
 * red. `title` is escaped. */
void trend_svg(Buf *out, const char *title, const TrendPoint *points, size_t n);
