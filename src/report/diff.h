/* SPDX-License-Identifier: MIT */
/* diff.h: what changed between two profiles of the same program, function by function:
 * each function's share of the samples (total: the samples it appears in; self: where it is
 * the innermost frame) in base and in new, the change in percentage points, and whether the
 * change is larger than sampling noise.
 *
 * Method (docs/REPORTS.md "ferret diff"): per function, a two-sided two-proportion z-test on
 * its total share (x_base of n_base samples vs x_new of n_new, pooled variance). Samples
 * taken close together are correlated (a program stays in a function for a while), which
 * makes the binomial variance too small; so each side's matched samples are also cut, in
 * time order, into 32 blocks, and the variance of the function's share is estimated from
 * the spread of its share across blocks (batch means). When that variance is the larger,
 * the function gets a Welch t-test on it instead (Welch-Satterthwaite degrees of freedom);
 * the test is never made narrower than the binomial one. Then Holm's step-down correction
 * over every function tested, at family-wise level alpha (default 0.05). The test needs
 * counts: it runs only when both series count samples (unit "samples"; a sample the
 * sampler weighted for the intervals it stands for counts through Kish's effective sample
 * size); for other units (bytes, ns) shares and deltas are reported untested.
 *
 * Functions are matched across the profiles by qualified name and file (not line numbers,
 * which move when code is edited). Used by `ferret diff` and by `ferret compare` (issue 4),
 * which explains a benchmark difference with the functions that changed. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "profile/summary.h"
#include "report/flame.h"
#include "report/report.h"

typedef struct {
    const char *name; /* borrowed from the base or new profile */
    size_t name_len;
    const char *file;
    size_t file_len;
    uint8_t kind;             /* FrameKind */
    int32_t fn_line;          /* first line in new (base if absent there) */
    int64_t base_self, base_total, new_self, new_total;
    double base_share, new_share;           /* total / all samples, 0..1 */
    double base_self_share, new_self_share; /* self / all samples */
    double delta;                           /* new_share - base_share */
    double z, p_value, p_adjusted;          /* NaN when not tested */
    double design_effect; /* batch-means variance / binomial variance when the t-test was
                             used (> 1), else 1 */
    int change; /* +1: share grew beyond noise, -1: shrank beyond noise, 0: within noise */
} DiffFunc;

typedef struct {
    DiffFunc *funcs;      /* significant first, then by |delta|, largest first */
    size_t n;
    int64_t base_n, new_n; /* summed weight of the samples compared on each side */
    const char *unit;      /* the compared series' unit (base's) */
    int64_t sample_ns;     /* for unit "samples": new's sampling interval (0 if unknown) */
    bool tested;           /* the significance test applied (both sides count samples) */
    double alpha;
    size_t ntested, nsignificant;
    FlameTree tree;        /* call tree with base on side 0, new on side 1; node.func is a
                              function key, see diff_func_of_node */
    uint32_t *rank;        /* function key -> index into funcs */
} Diff;

/* Compares the samples bopt selects in base with those nopt selects in new. alpha <= 0
 * means 0.05. Returns 0, or -1 with *err set (ERR_USAGE when the two series have different
 * units: a sampled profile, a trace and a memory profile are not compared). diff_fini frees. */
int diff_build(const Profile *base, const ReportOptions *bopt, const Profile *new,
               const ReportOptions *nopt, double alpha, Diff *out, Err *err);
void diff_fini(Diff *d);
/* The DiffFunc behind a call-tree node of d->tree (not the root). */
const DiffFunc *diff_func_of_node(const Diff *d, uint32_t node);

/* The differential flame graph's view of d (widths from new, colours by change). */
void diff_flame_view(const Diff *d, const ReportOptions *opt, FlameView *v);
/* HTML diff report (report/html.c). */
int diff_html(const Diff *d, const ReportOptions *opt, FILE *out, Err *err);

/* Renderers of a diff: `text` (a table), `html` and `svg` (differential flame graphs, width =
 * new, colour = change of share: red grew, blue shrank). */
typedef struct {
    const char *name;
    const char *extension;
    int (*write)(const Diff *d, const ReportOptions *opt, FILE *out, Err *err);
} DiffWriter;

const DiffWriter *diff_writer_find(const char *name);
const char *diff_format_list(void); /* "text, html, svg" */
/* Writes through report_write_atomic (OUT.tmp, then rename; "-" = stdout). */
int diff_write_path(const DiffWriter *w, const Diff *d, const ReportOptions *opt,
                    const char *path, Err *err);
