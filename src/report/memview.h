/* SPDX-License-Identifier: MIT */
/* memview.h: the views of a memory profile (`--view peak|leaks|allocated|timeline`) and the
 * series behind each, shared by `ferret mem`, `ferret report` and the writers that render
 * memory profiles (memtext.c, json.c). The series themselves are defined by the memory
 * stream reader (profile/memstream.h). */
#pragma once
#include <stdbool.h>

#include "profile/profile.h"
#include "util/err.h"

#define MEM_VIEWS(X)                                                                               \
    X(PEAK, "peak", "peak_bytes", "peak_count", "live at the peak")                                \
    X(LEAKS, "leaks", "leaked_bytes", "leaked_count", "still live at exit")                        \
    X(ALLOCATED, "allocated", "allocated_bytes", "allocated_count", "allocated in total")          \
    X(TIMELINE, "timeline", "heap_bytes", "rss_bytes", "heap and resident memory over time")

typedef enum {
#define X(sym, name, bytes, count, what) MEMVIEW_##sym,
    MEM_VIEWS(X)
#undef X
        MEMVIEW_COUNT
} MemView;

/* Looks a view up by name; false if unknown. */
bool memview_find(const char *name, MemView *out);
/* "peak, leaks, allocated, timeline", for messages. */
const char *memview_list(void);
const char *memview_name(MemView v);
/* What the view shows, e.g. "live at the peak". */
const char *memview_what(MemView v);
/* The view's byte series (timeline: heap_bytes) and its companion (the count series, or
 * rss_bytes for the timeline). Fails with ERR_FORMAT when the profile lacks them. */
int memview_series(const Profile *p, MemView v, SeriesId *bytes, SeriesId *companion, Err *err);
/* The view a series belongs to, by its byte series or its companion (leaked_count -> leaks,
 * rss_bytes -> timeline); false when the series is not a memory view's. */
bool memview_of_series(const Profile *p, SeriesId s, MemView *out);
/* Can the format show view v? The timeline is a curve, not stacks: only text, json and html
 * show it (and the .ferret file keeps it); the formats that only draw stacks cannot. */
bool memview_format_shows(MemView v, const char *format);
/* For a series chosen by name (`ferret report --series`): ERR_USAGE when the profile is a
 * memory profile, the series is its timeline's and the format cannot show it; else 0. */
int memview_check_series(const Profile *p, SeriesId s, const char *format, Err *err);

/* Memory attributed to a source line: the innermost Python frame of each stack, so native
 * allocations made by C code called from a line count for that line (native_bytes says
 * how much). Stacks without a Python frame (interpreter start-up, C threads) get a row of
 * their own with file PROFILE_EMPTY, line 0 and func the marker's name. */
typedef struct {
    StrId file;
    int32_t line;
    StrId func;
    int64_t bytes, count, native_bytes;
} MemLine;

/* Per-line totals of a view, largest first. *out is the caller's to free(). */
int memview_lines(const Profile *p, SeriesId bytes, SeriesId count, MemLine **out, size_t *n,
                  Err *err);

typedef struct {
    int64_t t_ns, heap_bytes, rss_bytes;
} MemPoint;

/* The timeline, in time order. *out is the caller's to free(). */
int memview_timeline(const Profile *p, MemPoint **out, size_t *n, Err *err);
/* The profile's memory metadata as a number (0 when absent or not a number). */
int64_t memview_meta_i(const Profile *p, const char *key);
