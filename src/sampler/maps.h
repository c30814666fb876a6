/* SPDX-License-Identifier: MIT */
/* maps.h: a process's memory map, parsed from /proc/PID/maps (untrusted text; fuzzed). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct {
    uintptr_t start, end;
    uint64_t offset;
    uint64_t inode;
    bool r, w, x;
    bool deleted; /* the file was unlinked (an upgrade replaced it): path is its old name */
    char *path;   /* owned; "" for anonymous mappings; without the kernel's " (deleted)" */
} MapRegion;

typedef struct {
    MapRegion *regions; /* sorted by start */
    size_t n;
} Maps;

/* Reads /proc/pid/maps. ERR_GONE if the process does not exist. */
int maps_read(pid_t pid, Maps *out, Err *err);
/* Parses maps text (len bytes). Lines that do not parse are skipped. */
int maps_parse(const char *text, size_t len, Maps *out, Err *err);
void maps_fini(Maps *m);
/* The region containing addr, or NULL. */
const MapRegion *maps_find(const Maps *m, uintptr_t addr);
/* Lowest mapping of a file whose base name satisfies match(basename), or NULL. */
const MapRegion *maps_find_file(const Maps *m, bool (*match)(const char *base));
/* Lowest mapping of exactly this path, or NULL. */
const MapRegion *maps_find_path(const Maps *m, const char *path);
