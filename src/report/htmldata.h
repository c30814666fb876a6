/* SPDX-License-Identifier: MIT */
/* htmldata.h: numbers the HTML report shows beside its flame graph, computed apart from the
 * JSON they end up in so unit tests can check them: per-line numbers grouped into the
 * hottest source files, the memory timeline thinned to what a plot can show, and the
 * per-thread totals of a trace. Used by html.c, html_mem.c and html_trace.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "report/memview.h"
#include "util/hash.h"
#include "util/err.h"

#define HTMLDATA_LINE_VALUES 3

/* One source line's numbers; what v[] holds is the caller's: self and total weight for a
 * sampled profile, bytes, count and native bytes for memory, hits and ns for a trace. */
typedef struct {
    StrId file;
    int32_t line;
    int64_t v[HTMLDATA_LINE_VALUES];
} HtmlLine;

/* How files are ordered: by the sum of v[rank_col] over their lines (weights counted once
 * per line, like self time or bytes), or, when file_rank is set, by file_rank(ctx, file);
 * then by their largest v[tie_col]. readable_first (used by htmlpage_sources, which reads
 * the files) puts the files whose source can be shown before the others. */
typedef struct {
    int rank_col, tie_col;
    int64_t (*file_rank)(const void *ctx, StrId file);
    const void *ctx;
    bool readable_first;
} HtmlOrder;

typedef struct {
    StrId file;
    int64_t rank;     /* as HtmlOrder says */
    int64_t tie;      /* largest v[tie_col] of a line, for files of equal rank */
    int32_t max_line; /* its highest line number */
    size_t first, n;  /* its lines: lines[first .. first + n), by increasing line number */
} HtmlFile;

/* Sorts lines[0..*n) by file and line, merges entries of the same file and line (summing
 * each v[]) and drops those without a file (PROFILE_EMPTY), with a line number below 1 or
 * with every v[] zero; *n becomes the number kept. Then fills *files (malloc'd, the
 * caller's to free) with one entry per file, ordered by rank then tie, largest first, then
 * by StrId. Returns 0, or -1 with *err set (then *files is NULL). */
int htmldata_group_lines(HtmlLine *lines, size_t *n, const HtmlOrder *order, HtmlFile **files,
                         size_t *nfiles, Err *err);

/* The weight under each source file's code: for every stack with a self weight, that weight
 * counted once for each file with a Python frame on the stack (a file's functions calling
 * each other, or recursing, count once), like a function's total time. */
typedef struct {
    HashU64 slot; /* file StrId -> index into total */
    int64_t *total;
    size_t n;
} HtmlFileTotals;

/* Fills *out from per-stack self weights (profile_self_weights). Returns 0, or -1 with
 * *err set; htmldata_file_totals_fini frees it either way. */
int htmldata_file_totals(const Profile *p, const int64_t *self, HtmlFileTotals *out, Err *err);
void htmldata_file_totals_fini(HtmlFileTotals *t);
/* The total of file (0 if it has none); fits HtmlOrder.file_rank with ctx an HtmlFileTotals. */
int64_t htmldata_file_total(const void *totals, StrId file);

/* Thins pts[0..n) (in time order) in place to at most max points (max >= 1): each kept
 * point stands for a run of consecutive points, with the time of the run's last point and
 * the highest heap and resident values in the run, so a peak is never thinned away. (A heap
 * point is the highest heap since the point before it: a kept point is then the highest heap
 * since the kept point before it.) Returns the new number of points. */
size_t htmldata_thin_timeline(MemPoint *pts, size_t n, size_t max);

/* A trace's totals for one thread: every call, the summed self wall and CPU time. */
typedef struct {
    ThreadId thread;
    int64_t calls, wall_ns, cpu_ns;
} HtmlThreadTotals;

/* One entry per thread of p with any call or time in the series "calls", "wall_ns" and
 * "cpu_ns" (those absent count as zero), by decreasing wall time, then thread id. *out is
 * malloc'd, the caller's to free. Returns 0, or -1 with *err set. */
int htmldata_thread_totals(const Profile *p, HtmlThreadTotals **out, size_t *n, Err *err);
