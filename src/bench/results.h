/* SPDX-License-Identifier: MIT */
/* results.h: a set of benchmark results (one `ferret bench` call, a result file, or rows
 * read back from the history) and its formats: the text table, JSON (the result file that
 * `ferret compare` reads back; schema in docs/BENCH.md), Markdown and CSV. Writers fill a
 * Buf; cli/ decides where the bytes go. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"
#include "bench/env.h"
#include "util/buf.h"
#include "util/err.h"

#define RESULTS_SCHEMA 1
/* The times a result file or the history may hold, in seconds per iteration: a Python
 * iteration takes nanoseconds at the least, and --timeout caps a value at 1e8 s. Beyond
 * these, ratios overflow (1e300 / 1e-300) and tables fill with digits. */
#define RESULTS_MIN_S 1e-12
#define RESULTS_MAX_S 1e9

typedef struct {
    BenchEnv env;
    Bench *benches; /* owned */
    size_t n;
    char *ferret_version; /* owned; NULL if unknown */
} BenchRun;

void results_init(BenchRun *r);
void results_fini(BenchRun *r);
/* Appends a Bench, taking ownership of its contents (the caller's copy is zeroed). */
int results_add(BenchRun *r, Bench *b, Err *err);
/* The benchmark with that name, or NULL. */
Bench *results_find(const BenchRun *r, const char *name);

/* "12.35 ms", "98.1 µs": 4 significant digits and a unit that keeps the number >= 1. */
void results_fmt_time(char *out, size_t n, double seconds);
/* Appends s padded to `width` columns (counting UTF-8 characters, not bytes: "µs" is two),
 * on the left when right-aligned. */
void results_pad(Buf *o, const char *s, size_t width, bool right);
/* A ratio: "1.312x"; "2.5e+06x" when it is orders of magnitude from 1. */
void results_fmt_ratio(char *out, size_t n, double x);
/* What the ratio's interval is: "95% CI", or "90% interval" when q->level is lower. */
void results_fmt_interval(char *out, size_t n, const StatsRatio *q);
/* One comparison in words: "'b' is 31.2% slower than 'a' (1.312x; 95% CI 1.30x to 1.32x);
 * significant: p = 4.1e-05 (Mann-Whitney U over 10 vs 10 process medians)"; with too few
 * observations for a 95% interval, its real level and why the test cannot decide. */
void results_describe_ratio(Buf *out, const char *base, const char *b, const StatsRatio *q,
                            size_t na, size_t nb, bool per_process);

/* Text table, then each benchmark compared with the first, then warnings about spread. */
int results_text(const BenchRun *r, Buf *out, Err *err);
/* Warnings about unstable results (spread, outliers, too few values), numbered from 0;
 * false when there are no more. */
bool results_warning(const BenchRun *r, size_t idx, char *out, size_t n);
int results_json(const BenchRun *r, Buf *out, Err *err);
int results_markdown(const BenchRun *r, Buf *out, Err *err);
/* s as the text of one Markdown table cell, shown as written: HTML-escaped, newlines as
 * spaces, and | \ ` * _ [ ] ~ backslash-escaped, so it can neither split the row nor turn
 * into markup. */
void results_md_cell(Buf *out, const char *s);
int results_csv(const BenchRun *r, Buf *out, Err *err);

/* Reads a result file's bytes (JSON written by results_json). Values are re-checked: each
 * must be a number from RESULTS_MIN_S to RESULTS_MAX_S. Returns 0, or -1 with *err set
 * (ERR_FORMAT). */
int results_parse_json(const char *text, size_t len, BenchRun *out, Err *err);
/* Reads a JSON array of arrays of seconds ([[v, ...], ...], one per process) into b. */
int results_parse_runs(const char *text, size_t len, Bench *b, Err *err);
/* Writes b's values as that JSON array of arrays. */
void results_runs_json(const Bench *b, Buf *out);
