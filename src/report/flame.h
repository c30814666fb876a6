/* SPDX-License-Identifier: MIT */
/* flame.h: the call tree behind the flame graphs (html, svg), the text call tree and the
 * differential flame graph of `ferret diff`. A node is a function called from its parent
 * node's function: stacks that differ only in line numbers merge. Each node carries weights
 * for two sides (a single profile uses side 0; a diff puts base on 0 and new on 1). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/profile.h"
#include "profile/summary.h"
#include "util/err.h"
#include "util/hash.h"

#define FLAME_ROOT 0u /* node 0: above every outermost frame; func is FLAME_NO_FUNC */
#define FLAME_NO_FUNC UINT32_MAX

typedef struct {
    uint32_t parent; /* node index, smaller than this node's */
    uint32_t func;   /* function number (the caller's numbering, e.g. Summary.func_of_frame) */
    uint32_t depth;  /* 0 for the root */
    int64_t self[2];
    int64_t total[2];
} FlameNode;

typedef struct {
    FlameNode *nodes;
    size_t n, cap;
    HashU64 map; /* (parent << 32 | func) -> node */
} FlameTree;

/* An empty tree (just the root). Returns 0, or -1 with *err set. */
int flame_init(FlameTree *t, Err *err);
void flame_fini(FlameTree *t);
/* Adds p's per-stack self weights (profile_self_weights) on `side` (0 or 1); frames map to
 * functions through func_of_frame. Stacks with no weight below them add no node. */
int flame_add(FlameTree *t, const Profile *p, const int64_t *self, const uint32_t *func_of_frame,
              int side, Err *err);
/* Fills total[] from self[] (call once, after the last flame_add). */
void flame_fold(FlameTree *t);
/* Depth-first order of all nodes (the root first), children by decreasing total on `side`,
 * ties by function number. *order gets a malloc'd array of t->n entries. Returns 0 or -1. */
int flame_order(const FlameTree *t, int side, uint32_t **order, Err *err);

/* What a flame graph renderer needs to draw a tree: widths from `side`, names through
 * `func`, and for a diff (`diff` true) colours from the change of each node's share between
 * side 0 (base) and side 1 (new). Filled by the html and svg writers and by diff.c. */
typedef struct {
    const char *name; /* untrusted bytes: escape for the output format */
    size_t name_len;
    const char *file;
    size_t file_len;
    int32_t line; /* first line of the function, 0 if unknown */
    uint8_t kind; /* FrameKind */
} FlameFunc;

typedef struct {
    const FlameTree *tree;
    int side;
    bool diff;
    int64_t grand[2];  /* summed weight per side, for shares */
    const char *unit;  /* unit of the weights ("samples", "bytes", "ns") */
    int64_t sample_ns; /* for unit "samples": nanoseconds per sample (0 if unknown) */
    const char *title;
    void (*func)(const void *ctx, uint32_t func, FlameFunc *out);
    const void *ctx;
} FlameView;

/* The standalone SVG flame graph (report/svg.c). */
int flame_svg(const FlameView *v, FILE *out, Err *err);

/* A single profile's call tree and view, as the html, svg and text writers use it: the
 * samples opt selects, functions numbered as in `sum`. */
typedef struct {
    const Profile *p;
    Summary sum;
    int64_t *self; /* per stack */
    FlameTree tree;
    FlameView view;
} FlameProfile;

int flame_profile_build(FlameProfile *fp, const Profile *p, SeriesId series, uint8_t flags_mask,
                        uint8_t flags_want, const char *title, Err *err);
void flame_profile_fini(FlameProfile *fp);
