/* SPDX-License-Identifier: MIT */
/* summary.h: per-function and per-line totals of a profile, the numbers behind the text
 * table, the HTML function table and `ferret diff`. A function is (name, file, first line,
 * kind); self counts samples where it is the innermost frame, total counts samples where it
 * appears at all (once per sample, however deep the recursion). */
#pragma once
#include "profile/profile.h"

typedef struct {
    StrId name;
    StrId file;
    int32_t fn_line;
    uint8_t kind;
    int32_t hot_line; /* the line with the largest self weight, else the first seen */
    int64_t self;
    int64_t total;
} FuncStat;

typedef struct {
    StrId file;
    int32_t line;
    StrId name;       /* function the line belongs to */
    int64_t self;
    int64_t total;
} LineStat;

typedef struct {
    FuncStat *funcs;
    size_t nfuncs;
    LineStat *lines;
    size_t nlines;
    uint32_t *func_of_frame; /* FrameId -> index into funcs (profile_nframes entries) */
    uint32_t *line_of_frame; /* FrameId -> index into lines */
    int64_t grand_total;     /* summed weight of the matching samples */
} Summary;

/* Builds the summary of the samples matching f. Returns 0, or -1 with *err set. */
int summary_build(const Profile *p, const ProfFilter *f, Summary *out, Err *err);
/* Same, from precomputed per-stack self weights (profile_self_weights). */
int summary_build_from_self(const Profile *p, const int64_t *self, Summary *out, Err *err);
void summary_fini(Summary *s);
/* Sorts funcs (or lines) by self or total weight, largest first; ties by name. Sorting
 * reorders the arrays, so func_of_frame/line_of_frame no longer index them: sort a copy
 * when both are needed. Not thread-safe. */
void summary_sort_funcs(const Profile *p, FuncStat *funcs, size_t n, bool by_total);
void summary_sort_lines(LineStat *lines, size_t n, bool by_total);
