/* SPDX-License-Identifier: MIT */
/* arena.h: a bump allocator for scratch memory that is dropped all at once (per sample,
 * per report). Blocks are kept across arena_reset() so steady state allocates nothing. */
#pragma once
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct {
    ArenaBlock *head; /* block being filled */
    ArenaBlock *free; /* blocks kept by arena_reset */
    size_t used;      /* bytes used in head */
} Arena;

void arena_init(Arena *a);
void arena_fini(Arena *a);
/* Returns size bytes aligned to 16, valid until arena_reset/arena_fini; NULL if out of memory. */
void *arena_alloc(Arena *a, size_t size);
void arena_reset(Arena *a);
