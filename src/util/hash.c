/* SPDX-License-Identifier: MIT */
/* hash.c: byte hashing and the HashU64 / IdSet open-addressing tables (linear probing,
 * load factor at most 1/2). */
#include "util/hash.h"

#include <stdlib.h>
#include <string.h>

uint64_t
hash_bytes(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0x243f6a8885a308d3ULL ^ (n * 0x9e3779b97f4a7c15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ hash_u64(w)) * 0x100000001b3ULL;
        p += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, n);
    return hash_u64(h ^ tail ^ (uint64_t)n << 56);
}

void
hashu64_init(HashU64 *h)
{
    memset(h, 0, sizeof *h);
}

void
hashu64_fini(HashU64 *h)
{
    free(h->keys);
    free(h->vals);
    free(h->used);
    hashu64_init(h);
}

void
hashu64_clear(HashU64 *h)
{
    if (h->used)
        memset(h->used, 0, h->cap);
    h->len = 0;
}

uint32_t *
hashu64_find(const HashU64 *h, uint64_t key)
{
    if (!h->cap)
        return NULL;
    size_t mask = h->cap - 1;
    for (size_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
        if (!h->used[i])
            return NULL;
        if (h->keys[i] == key)
            return &h->vals[i];
    }
}

static int
hashu64_grow(HashU64 *h)
{
    size_t cap = h->cap ? h->cap * 2 : 64;
    uint64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    uint8_t *used = calloc(cap, 1);
    if (!keys || !vals || !used) {
        free(keys);
        free(vals);
        free(used);
        return -1;
    }
    for (size_t j = 0; j < h->cap; j++) {
        if (!h->used[j])
            continue;
        size_t i = hash_u64(h->keys[j]) & (cap - 1);
        while (used[i])
            i = (i + 1) & (cap - 1);
        used[i] = 1;
        keys[i] = h->keys[j];
        vals[i] = h->vals[j];
    }
    free(h->keys);
    free(h->vals);
    free(h->used);
    h->keys = keys;
    h->vals = vals;
    h->used = used;
    h->cap = cap;
    return 0;
}

int
hashu64_put(HashU64 *h, uint64_t key, uint32_t val)
{
    uint32_t *v = hashu64_find(h, key);
    if (v) {
        *v = val;
        return 0;
    }
    if ((h->len + 1) * 2 > h->cap && hashu64_grow(h) < 0)
        return -1;
    size_t mask = h->cap - 1;
    size_t i = hash_u64(key) & mask;
    while (h->used[i])
        i = (i + 1) & mask;
    h->used[i] = 1;
    h->keys[i] = key;
    h->vals[i] = val;
    h->len++;
    return 0;
}

void
idset_init(IdSet *s)
{
    memset(s, 0, sizeof *s);
}

void
idset_fini(IdSet *s)
{
    free(s->slots);
    free(s->hashes);
    idset_init(s);
}

bool
idset_find(const IdSet *s, uint64_t hash, IdEq eq, const void *ctx, const void *key, uint32_t *id)
{
    if (!s->cap)
        return false;
    size_t mask = s->cap - 1;
    uint32_t h32 = (uint32_t)hash;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        if (!s->slots[i])
            return false;
        if (s->hashes[i] == h32 && eq(ctx, s->slots[i] - 1, key)) {
            *id = s->slots[i] - 1;
            return true;
        }
    }
}

static int
idset_grow(IdSet *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    uint32_t *hashes = malloc(cap * sizeof *hashes);
    if (!slots || !hashes) {
        free(slots);
        free(hashes);
        return -1;
    }
    /* stored hashes are the low 32 bits; they index the new table as the full hash would
     * for any capacity up to 2^32 slots */
    for (size_t j = 0; j < s->cap; j++) {
        if (!s->slots[j])
            continue;
        size_t i = s->hashes[j] & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = s->slots[j];
        hashes[i] = s->hashes[j];
    }
    free(s->slots);
    free(s->hashes);
    s->slots = slots;
    s->hashes = hashes;
    s->cap = cap;
    return 0;
}

int
idset_add(IdSet *s, uint64_t hash, uint32_t id)
{
    if ((s->len + 1) * 2 > s->cap && idset_grow(s) < 0)
        return -1;
    size_t mask = s->cap - 1;
    size_t i = (uint32_t)hash & mask;
    while (s->slots[i])
        i = (i + 1) & mask;
    s->slots[i] = id + 1;
    s->hashes[i] = (uint32_t)hash;
    s->len++;
    return 0;
}
