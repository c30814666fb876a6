/* SPDX-License-Identifier: MIT */
/* jsonread.h: a small JSON reader (RFC 8259) for files ferret reads back: bench result
 * files, values stored in the history. Input is untrusted: depth, sizes and encodings are
 * checked, errors name the byte offset. The whole tree lives in one arena owned by the
 * JsonDoc, so a parse is freed at once. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/err.h"

#define JSONREAD_MAX_DEPTH 256

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } JsonType;

typedef struct JsonVal JsonVal;
struct JsonVal {
    JsonType type;
    bool b;           /* JSON_BOOL */
    double num;       /* JSON_NUM */
    const char *str;  /* JSON_STR: decoded UTF-8, NUL-terminated (may hold NUL bytes: see len) */
    size_t len;       /* JSON_STR: bytes in str; JSON_ARR/JSON_OBJ: number of items */
    const char *key;  /* set when this value is a member of an object (NUL-terminated) */
    JsonVal *items;   /* JSON_ARR elements or JSON_OBJ members, in document order */
};

typedef struct {
    Arena arena;
    JsonVal *root;
} JsonDoc;

/* Parses text[0..len) into doc (the caller's storage). Returns 0, or -1 with *err set
 * (ERR_FORMAT with the byte offset, or ERR_NOMEM); on failure nothing needs freeing. */
int jsonread_parse(JsonDoc *doc, const char *text, size_t len, Err *err);
void jsonread_fini(JsonDoc *doc);
/* The member named key of an object (the first if repeated), or NULL (also when v is not an
 * object). Borrowed from the doc. */
const JsonVal *jsonread_get(const JsonVal *v, const char *key);
/* The member if it exists with that type, else NULL. */
const JsonVal *jsonread_get_type(const JsonVal *v, const char *key, JsonType type);
