/* SPDX-License-Identifier: MIT */
/* htmlpage.h: the pieces of the HTML report's data shared by its builders: html.c (the
 * template, sampled profiles and diffs), html_mem.c (memory profiles) and html_trace.c
 * (trace profiles). Each builder appends one JSON object to a Buf and hands it to
 * htmlpage_emit; the htmlpage_ writers of a member append `"key":value,` (comma included)
 * except htmlpage_meta, which appends no comma. Every string from a profile goes in through
 * htmlpage_str (esc_json, which also escapes < > & so the JSON cannot close its <script>
 * element); report.html's script puts strings in the page only as text. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/profile.h"
#include "report/flame.h"
#include "report/htmldata.h"
#include "report/report.h"
#include "util/buf.h"
#include "util/err.h"

#define HTMLPAGE_SOURCE_FILES 8 /* hottest files per view with their lines */
#define HTMLPAGE_MAX_TEXTS 32   /* source texts embedded per report */

/* Opens the data object of a memory or trace report: version, kind, title and a subtitle
 * of `lead` followed by the duration, threads and Python version; "unit" as given. */
void htmlpage_head(Buf *b, const Profile *p, const char *kind, const char *title,
                   const char *lead, const char *unit);
/* Appends src to dst; dst fails when src did. */
void htmlpage_append(Buf *dst, const Buf *src);
/* JSON string values (quoted, escaped). */
void htmlpage_str(Buf *b, const char *s, size_t n);
void htmlpage_cstr(Buf *b, const char *s);
void htmlpage_pstr(Buf *b, const Profile *p, StrId id);
/* A finite number, or null. */
void htmlpage_num(Buf *b, double v);

/* "funcs":{name,file,line,kind}, parallel arrays indexed by the view's function numbers. */
void htmlpage_funcs(Buf *b, const FlameView *v, size_t nfuncs);
/* "nodes":{func,depth,total,self[,count,selfCount]},"maxDelta":x, the tree of v in
 * depth-first order, pruned to about 300,000 nodes by a minimum share of side
 * v->side. `counts` adds side 1's totals and selves as count and selfCount (the
 * allocations of a memory view, the calls of a trace) when v is not a diff. */
int htmlpage_nodes(Buf *b, const FlameView *v, bool counts, Err *err);

/* The flame graph of series `weight` with series `count` on side 1 (a memory view's
 * allocations, a trace's calls): fp as flame_profile_build makes it, folded; *counts gets
 * the count's per-stack self weights (malloc'd, the caller's to free) and *ncount their
 * sum. Returns 0, or -1 with *err set and nothing to free. */
int htmlpage_flame(FlameProfile *fp, const Profile *p, SeriesId weight, SeriesId count,
                   int64_t **counts, int64_t *ncount, Err *err);

/* Source files whose text the report embeds, each once however many views show it. */
typedef struct {
    StrId file[HTMLPAGE_MAX_TEXTS];
    int32_t max_line[HTMLPAGE_MAX_TEXTS];
    size_t n;
} HtmlTexts;

/* "sources":[{"file":name,"text":k,"rank":r,"heat":[[line,v0..v(ncols-1)],...]},...]: the
 * HTMLPAGE_SOURCE_FILES hottest files of lines[0..n) (grouped by htmldata_group_lines, which
 * reorders and shrinks the array), "text" indexing the texts table (-1 when it is full). */
int htmlpage_sources(Buf *b, const Profile *p, HtmlLine *lines, size_t n, const HtmlOrder *order,
                     int ncols, HtmlTexts *texts, Err *err);
/* "texts":[[line, line, ...] or null, ...]: each embedded file's lines 1 .. its highest
 * shown line + 3, when it is a readable regular file of reasonable size. */
void htmlpage_texts(Buf *b, const Profile *p, const HtmlTexts *texts);
/* One [label, value] entry of a "facts" array (the header of a memory or trace report);
 * *first says whether it opens the array (no comma before it) and is then cleared. */
void htmlpage_fact(Buf *b, bool *first, const char *label, const Buf *value);
/* "meta":[[key,value],...]: the profile kind, interval, duration, drops, threads, processes
 * and every metadata entry. */
void htmlpage_meta(Buf *b, const Profile *p);
/* Writes the template with the title (HTML-escaped) and data (the JSON object) filled in. */
int htmlpage_emit(const char *title, const Buf *data, FILE *out, Err *err);
/* The title of p's report: opt->title, else the command, else "ferret profile". */
const char *htmlpage_title(const Profile *p, const ReportOptions *opt);

/* The memory and trace reports (html_mem.c, html_trace.c). Return 0, or -1 with *err set. */
int html_mem_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err);
int html_trace_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err);
