/* SPDX-License-Identifier: MIT */
/* arena.c: bump allocation in 64 KiB (or larger) blocks. */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>

struct ArenaBlock {
    ArenaBlock *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 65536

void
arena_init(Arena *a)
{
    a->head = NULL;
    a->free = NULL;
    a->used = 0;
}

static void
free_list(ArenaBlock *b)
{
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
}

void
arena_fini(Arena *a)
{
    free_list(a->head);
    free_list(a->free);
    arena_init(a);
}

void *
arena_alloc(Arena *a, size_t size)
{
    if (size > SIZE_MAX - 64)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    if (a->head && a->used + size <= a->head->size) {
        void *p = a->head->data + a->used;
        a->used += size;
        return p;
    }
    ArenaBlock *b = NULL;
    if (a->free && a->free->size >= size) {
        b = a->free;
        a->free = b->next;
    } else {
        size_t bsize = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = malloc(sizeof *b + bsize);
        if (!b)
            return NULL;
        b->size = bsize;
    }
    b->next = a->head;
    a->head = b;
    a->used = size;
    return b->data;
}

void
arena_reset(Arena *a)
{
    while (a->head) {
        ArenaBlock *b = a->head;
        a->head = b->next;
        b->next = a->free;
        a->free = b;
    }
    a->used = 0;
}
