/* SPDX-License-Identifier: MIT */
/* report.h: one ReportWriter per output format; each sees only a Profile and options.
 * The list of formats is written once, in REPORT_FORMATS below; cli/ looks writers up by
 * name and report_write_path() gives every format the same safe file handling (OUT.tmp,
 * then rename; nothing left behind on failure). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/profile.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct {
    SeriesId series;     /* which series to render (memory views, trace measures) */
    uint8_t flags_mask;  /* only samples with (flags & mask) == want: --mode cpu, --gil */
    uint8_t flags_want;
    int top;             /* text: rows per table */
    bool color;          /* text: ANSI colours allowed (a terminal) */
    const char *title;   /* report title; NULL for a default from the profile */
    const char *sort;    /* text of a trace: self, total, calls, cpu or name (NULL: self) */
} ReportOptions;

typedef struct {
    const char *name;      /* as given to -f */
    const char *extension; /* default file extension, with the dot */
    bool binary;           /* not for a terminal */
    /* Renders the profile to out. Returns 0, or -1 with *err set. Must not close out. */
    int (*write)(const Profile *p, const ReportOptions *opt, FILE *out, Err *err);
    /* Refuses a kind of profile the format cannot show: -1 with ERR_USAGE and one line naming
     * what to do instead, else 0; NULL takes every profile. timeline: the samples place calls
     * in time (see report_check). Decided by what is recorded, not by the data, so the
     * commands that record check it before recording (report_check_kind). */
    int (*check)(ProfileKind kind, bool timeline, Err *err);
} ReportWriter;

/* Every format, in the order `ferret --help` lists them. X(symbol) names a ReportWriter
 * `report_<symbol>` defined in report/<symbol>.c. */
#define REPORT_FORMATS(X)                                                                          \
    X(text) X(collapsed) X(html) X(svg) X(speedscope) X(pprof) X(chrome) X(json) X(ferret)     \
    X(pstats)

#define X(sym) extern const ReportWriter report_##sym;
REPORT_FORMATS(X)
#undef X

/* The text report of a trace profile (trace_text.c; text.c hands PROFILE_TRACE to it). */
int report_trace_text(const Profile *p, const ReportOptions *opt, FILE *out, Err *err);

/* Looks a format up by name; NULL if unknown. */
const ReportWriter *report_find(const char *name);
/* The format an output file's name asks for, by its ending (app.svg -> "svg", x.pb.gz ->
 * "pprof"; .json is "chrome" for a trace, "json" otherwise); NULL when the name says none.
 * One table for run, attach, mem, trace and report. */
const char *report_format_for_path(const char *path, ProfileKind kind);
/* The i-th format in REPORT_FORMATS order; NULL past the last. */
const ReportWriter *report_format_at(size_t i);
/* Appends weight w in its unit: bytes as B/KiB/MiB..., "ns" as time, "samples" as time when
 * scale (seconds per sample) is positive, else a plain number. */
void report_fmt_weight(Buf *b, const char *unit, double scale, int64_t w);
/* Appends a thread's label as JSON string content: its name (or "thread"), then
 * " (tid N)", or " (pid P, tid N)" when the profile has several processes. */
void report_thread_json(Buf *b, const Profile *p, ThreadId t);
/* Sets f to the samples the options select (series, flags); all threads and times. */
void report_filter(const ReportOptions *opt, ProfFilter *f);
/* Comma-separated list of format names, for messages. Static storage. */
const char *report_format_list(void);
/* The same list without the formats that refuse what a recording command records: kind
 * PROFILE_SAMPLED (run, attach), PROFILE_TRACE (trace, which records the timeline when the
 * format needs it) or PROFILE_MEMORY (mem). Static storage. */
const char *report_format_list_for(ProfileKind kind);
/* w->check for a profile not recorded yet (see ReportWriter). Returns 0, or -1 with *err set. */
int report_check_kind(const ReportWriter *w, ProfileKind kind, bool timeline, Err *err);
/* w->check for p: its kind, and whether it has a timeline (a sampled profile; a trace with
 * the tracer's "spans" series, recorded with --timeline; never a memory profile, whose heap
 * timeline places no calls). report_write_path calls it before creating any file; its
 * message stands alone, without "writing ... to PATH". Returns 0, or -1 with *err set. */
int report_check(const ReportWriter *w, const Profile *p, Err *err);
/* Options with defaults taken from the profile's metadata: the first series, the recorded
 * mode (meta "mode" = cpu keeps only on-CPU samples; meta "gil" = 1 only GIL holders). */
void report_options_init(ReportOptions *opt, const Profile *p);
/* Writes a report to path ("-" = stdout): into "path.tmp" first, renamed over path only
 * when complete; on any failure the temporary file is removed. Returns 0 or -1. */
int report_write_path(const ReportWriter *w, const Profile *p, const ReportOptions *opt,
                      const char *path, Err *err);
/* A default output path for format w: `stem` minus a trailing ".ferret" plus w's extension
 * (app.ferret -> app.html); with stem NULL, "ferret-YYYYmmdd-HHMMSS" in the current
 * directory, with "-2", "-3"... added if that file exists. Returns a malloc'd string, or NULL
 * with *err set. `ferret run` without -o prints the text report and writes the HTML report
 * to report_default_path(NULL, &report_html). */
char *report_default_path(const char *stem, const ReportWriter *w, Err *err);
/* Same contract for any producer: write(ctx, FILE*) fills the file. */
int report_write_atomic(const char *path, int (*write)(void *ctx, FILE *out, Err *err), void *ctx,
                        Err *err);
/* Says which output failed: "writing <what> to <path>: ...", with "-" named standard output
 * (where an I/O error's errno says all: "writing the text report to standard output: No
 * space left on device"). Returns -1. */
int report_write_failed(Err *err, const char *what, const char *path);
