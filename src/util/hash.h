/* SPDX-License-Identifier: MIT */
/* hash.h: hashing and two open-addressing tables.
 * HashU64 maps 64-bit keys to 32-bit values (code-object caches, stack interning).
 * IdSet interns variable-size records: it stores ids and asks the caller to compare keys,
 * so the records themselves live in the caller's arrays (strings, frames). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *data, size_t n);
static inline uint64_t
hash_u64(uint64_t x)
{
    /* a strong 64-bit finaliser (xor-shift-multiply); keys are addresses and small ids */
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}
static inline uint64_t
hash_combine(uint64_t h, uint64_t v)
{
    return hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

typedef struct {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *used;
    size_t cap; /* power of two, or 0 */
    size_t len;
} HashU64;

void hashu64_init(HashU64 *h);
void hashu64_fini(HashU64 *h);
void hashu64_clear(HashU64 *h); /* removes every entry, keeps capacity */
/* Returns a pointer to the value for key (valid until the next insert), or NULL. */
uint32_t *hashu64_find(const HashU64 *h, uint64_t key);
/* Inserts or overwrites. Returns 0, or -1 when memory runs out (table unchanged). */
int hashu64_put(HashU64 *h, uint64_t key, uint32_t val);

typedef bool (*IdEq)(const void *ctx, uint32_t id, const void *key);
typedef struct {
    uint32_t *slots; /* 0 = empty, otherwise id + 1 */
    uint32_t *hashes;
    size_t cap;
    size_t len;
} IdSet;

void idset_init(IdSet *s);
void idset_fini(IdSet *s);
/* Looks key up: returns true and sets *id when eq(ctx, id, key) holds for a stored id. */
bool idset_find(const IdSet *s, uint64_t hash, IdEq eq, const void *ctx, const void *key,
                uint32_t *id);
/* Adds id under hash; the caller has checked it is absent. Returns 0 or -1 (out of memory). */
int idset_add(IdSet *s, uint64_t hash, uint32_t id);
