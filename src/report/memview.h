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
/* The view a series belongs to; false when the series is not a memory view's. */
bool memview_of_series(const Profile *p, SeriesId s, MemView *out);
