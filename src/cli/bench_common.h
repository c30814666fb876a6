/* SPDX-License-Identifier: MIT */
/* bench_common.h: what `ferret bench`, `compare` and `history` share in cli/: the history
 * path (--db, FERRET_DB, .ferret/history.db), the Ctrl-C flag, printing a failed
 * benchmark's traceback or stderr, and writing an output file (or "-") atomically. */
#pragma once
#include <signal.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/err.h"

#define BENCH_DEFAULT_DB ".ferret/history.db"

extern volatile sig_atomic_t bench_stop;
/* Installs SIGINT/SIGTERM handlers that set bench_stop (no SA_RESTART, so waits wake up). */
void bench_install_signals(void);
/* The history database: --db (opt) if given, else $FERRET_DB, else the default under the
 * current directory; an empty --db is an error. */
int bench_db_path(const char *opt, const char **db, Err *err);
/* Refuses (ERR_USAGE) an output path (NULL: none) that is the history database db: checked
 * before a command does anything, so an output never replaces the history. */
int bench_check_output(const char *path, const char *db, Err *err);
/* Prints a child's traceback or stderr to stderr, indented, with control bytes escaped. */
void bench_print_detail(const char *detail);
/* Writes buf to path ("-" = stdout) through path.tmp and rename. */
int bench_write_output(const char *path, const Buf *b, Err *err);
/* Reads a whole file (at most 256 MiB). *out is malloc'd and NUL-terminated. */
int bench_read_file(const char *path, char **out, size_t *len, Err *err);
