/* SPDX-License-Identifier: MIT */
/* history.h: every `ferret bench` run kept in an SQLite database (default
 * .ferret/history.db): one row per run (environment, commit, time) and one per benchmark
 * (values grouped by process, statistics, optional profile). A run is stored in a single
 * transaction, so a crash, a kill, a full disk or Ctrl-C leaves either the whole run or
 * nothing. Errors name the cause: locked, read-only, not a ferret history, corrupted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/results.h"
#include "util/err.h"

#define HISTORY_SCHEMA 1
#define HISTORY_APP_ID 0x46455254 /* "FERT" in PRAGMA application_id */
#define HISTORY_BUSY_MS 3000      /* how long to wait for another writer's lock */

typedef struct History History;

/* Opens (with create, also creates it and its directory) and checks the database: that it
 * is SQLite, a ferret history of a known schema, and passes a quick integrity check.
 * Without create it is opened read-only and never changed: a missing or empty file, or one
 * that is not a ferret history, is an error. Returns 0, or -1 with *err set. */
int history_open(const char *path, bool create, History **out, Err *err);
void history_close(History *h); /* NULL is a no-op */
/* Takes and releases the write lock: fails now, before a long run, if the database is
 * read-only or locked. */
int history_check_writable(History *h, Err *err);
/* Stores a run and all its benchmarks in one transaction. argv_line is recorded as given.
 * Returns 0 (and the new run's id), or -1 with *err set and nothing stored. */
int history_store(History *h, const BenchRun *run, const char *argv_line, int64_t *run_id,
                  Err *err);

typedef struct {
    int64_t run_id;
    double started_unix;
    char git_commit[48];
    int git_dirty; /* -1 unknown */
    Bench bench;   /* values, groups, kind, code, python version, profile */
} HistoryEntry;

/* The entries of one benchmark, oldest first; at most `limit` of the latest (0: all).
 * *out is malloc'd; free with history_entries_free. */
int history_series(History *h, const char *name, size_t limit, HistoryEntry **out, size_t *n,
                   Err *err);
void history_entries_free(HistoryEntry *e, size_t n);
/* The entry `back` runs before the latest one of `name` (0: the latest). */
int history_get(History *h, const char *name, size_t back, HistoryEntry *out, Err *err);

typedef struct {
    char *name;
    size_t runs;
    double last_median;
    double last_unix;
} HistoryName;
/* Every benchmark name with its number of runs and latest median, by name. */
int history_names(History *h, HistoryName **out, size_t *n, Err *err);
void history_names_free(HistoryName *v, size_t n);
