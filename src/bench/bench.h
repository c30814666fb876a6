/* SPDX-License-Identifier: MIT */
/* bench.h: one benchmark and its measurements, as the runner fills them, the history
 * stores them and the output writers print them. Values are seconds per iteration in the
 * order they were measured, grouped by the process that produced them (a command's every
 * run is its own process). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/stats.h"
#include "util/err.h"

/* X(symbol, name written in results) */
#define BENCH_KINDS(X)                                                                             \
    X(BENCH_STMT, "statement")                                                                     \
    X(BENCH_FUNC, "function")                                                                      \
    X(BENCH_CMD, "command")

typedef enum {
#define X(sym, name) sym,
    BENCH_KINDS(X)
#undef X
} BenchKind;

typedef struct {
    BenchKind kind;
    char *name;   /* how results and the history call it */
    char *code;   /* the statement, the command line, or the function's name */
    char *setup;  /* statements: setup code ("" if none); NULL otherwise */
    char *file;   /* functions: the file defining them; NULL otherwise */
    char *python; /* statements and functions: the interpreter as given; NULL for commands */

    /* filled by the runner (or read back from a result file or the history) */
    char *python_version; /* e.g. "3.12.1 cpython"; NULL if not Python */
    char *python_exe;     /* sys.executable */
    uint64_t loops;       /* iterations per value (1 for commands) */
    double *values;       /* seconds per iteration */
    size_t nvalues, cap_values;
    size_t *group_end; /* values[group_end[g-1] .. group_end[g]) came from process g */
    size_t ngroups, cap_groups;
    double machine_s;     /* wall time spent on this benchmark, start-up included */
    double startup_s;     /* median time from spawn to ready (Python), 0 for commands */
    char *error_detail;   /* a traceback or the command's stderr when it failed; owned */
    void *profile_blob;   /* --profile: the .ferret bytes of its sampled profile, owned */
    size_t profile_len;
    char *profile_error; /* why a stored profile could not be decoded (owned), else NULL */
} Bench;

const char *bench_kind_name(BenchKind k);
/* Parses a kind name; returns -1 if unknown. */
int bench_kind_parse(const char *s, BenchKind *out);

/* Fills *b for a benchmark; strings are copied (setup/file/python may be NULL). */
int bench_init(Bench *b, BenchKind kind, const char *name, const char *code, const char *setup,
               const char *file, const char *python, Err *err);
void bench_fini(Bench *b);
/* Starts a new process group, appends a value to the current one. */
int bench_begin_group(Bench *b, Err *err);
int bench_add_value(Bench *b, double seconds, Err *err);
/* Drops an empty last group (a process that produced no value). */
void bench_end_group(Bench *b);
/* A benchmark's name (or any user string) for one line of terminal text, as every message
 * and warning shows it: controls and invalid UTF-8 as \xNN (esc_text), cut after
 * BENCH_SHOWN_CHARS characters with "...". */
#define BENCH_SHOWN_CHARS 60
#define BENCH_SHOWN_MAX (4 * BENCH_SHOWN_CHARS + 4)
void bench_shown(const char *name, char out[BENCH_SHOWN_MAX]);
/* Sets a string field (replacing it). */
int bench_set_str(char **field, const char *s, Err *err);

/* The independent observations inference uses: with at least BENCH_MIN_GROUPS processes that
 * each gave several values, one median per process (values from one process share its luck:
 * memory layout, hash seed, what else ran); otherwise the values themselves. *out is
 * malloc'd (free it). Returns 0, or -1 with *err set. */
#define BENCH_MIN_GROUPS 3
int bench_units(const Bench *b, double **out, size_t *n, bool *per_process, Err *err);

/* Summary of the values (stats_summarize) and, when per-process medians are used for
 * inference, the interval of the median computed from those instead. */
int bench_summary(const Bench *b, StatsSummary *s, Err *err);
/* Compares b against base: ratio b/base with interval and significance over bench_units. */
int bench_compare(const Bench *base, const Bench *b, StatsRatio *r, Err *err);
