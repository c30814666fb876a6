/* SPDX-License-Identifier: MIT */
/* jsonread.c: recursive-descent JSON parser into an arena. Numbers use strtod on a bounded
 * copy; strings are decoded with \u escapes and surrogate pairs; invalid UTF-8 in the input
 * is rejected. */
#include "util/jsonread.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/escape.h"

typedef struct {
    const char *s;
    size_t len, pos;
    Arena *arena;
    Err *err;
} Parser;

static int
fail(Parser *p, const char *what)
{
    return err_set(p->err, ERR_FORMAT, "invalid JSON at byte %zu: %s", p->pos, what);
}

static void
skip_ws(Parser *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
            p->s[p->pos] == '\r'))
        p->pos++;
}

static int
expect_word(Parser *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
        return fail(p, "unexpected word");
    p->pos += n;
    return 0;
}

static int
hex4(Parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4)
        return fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return fail(p, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote. The decoded string is never longer than its source. */
static int
parse_string(Parser *p, const char **out, size_t *out_len)
{
    p->pos++;
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return fail(p, "unterminated string");
    char *o = arena_alloc(p->arena, end - start + 1);
    if (!o)
        return err_set(p->err, ERR_NOMEM, "out of memory");
    size_t n = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20)
            return fail(p, "control character in string");
        if (c != '\\') {
            uint32_t cp;
            int k = utf8_decode((const unsigned char *)p->s + p->pos, end - p->pos, &cp);
            if (k < 0)
                return fail(p, "invalid UTF-8 in string");
            memcpy(o + n, p->s + p->pos, (size_t)k);
            n += (size_t)k;
            p->pos += (size_t)k;
            continue;
        }
        p->pos++;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p, &cp) < 0)
                return -1;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                    return fail(p, "lone surrogate");
                p->pos += 2;
                if (hex4(p, &lo) < 0)
                    return -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(p, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return fail(p, "lone surrogate");
            }
            n += put_utf8(o + n, cp); /* \uXXXX is 6 bytes, its UTF-8 at most 3 (4 for 12) */
            break;
        }
        default:
            p->pos--;
            return fail(p, "bad escape");
        }
    }
    p->pos++;
    o[n] = 0;
    *out = o;
    *out_len = n;
    return 0;
}

static int
parse_number(Parser *p, double *out)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->len && s[p->pos] == '0') {
        p->pos++;
    } else if (p->pos < p->len && s[p->pos] >= '1' && s[p->pos] <= '9') {
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
    } else {
        return fail(p, "bad number");
    }
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == d)
            return fail(p, "bad number");
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9')
            p->pos++;
        if (p->pos == d)
            return fail(p, "bad number");
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof tmp) { /* very long digit strings: parse a heap copy */
        char *h = malloc(n + 1);
        if (!h)
            return err_set(p->err, ERR_NOMEM, "out of memory");
        memcpy(h, s + start, n);
        h[n] = 0;
        *out = strtod(h, NULL);
        free(h);
    } else {
        memcpy(tmp, s + start, n);
        tmp[n] = 0;
        *out = strtod(tmp, NULL);
    }
    return 0;
}

static int parse_value(Parser *p, JsonVal *v, int depth);

/* Items are gathered in a heap vector, then moved into the arena in one piece. */
static int
parse_container(Parser *p, JsonVal *v, int depth, bool is_obj)
{
    char close = is_obj ? '}' : ']';
    p->pos++;
    JsonVal *vec = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        goto finish;
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            JsonVal *g = realloc(vec, cap * sizeof *g);
            if (!g) {
                err_set(p->err, ERR_NOMEM, "out of memory");
                goto done;
            }
            vec = g;
        }
        JsonVal *item = &vec[n];
        memset(item, 0, sizeof *item);
        skip_ws(p);
        if (is_obj) {
            size_t klen;
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, "expected a member name");
                goto done;
            }
            if (parse_string(p, &item->key, &klen) < 0)
                goto done;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                fail(p, "expected ':'");
                goto done;
            }
            p->pos++;
        }
        const char *key = item->key;
        if (parse_value(p, item, depth + 1) < 0)
            goto done;
        item->key = key;
        n++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            break;
        }
        fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        goto done;
    }
finish:
    v->type = is_obj ? JSON_OBJ : JSON_ARR;
    v->len = n;
    v->items = NULL;
    if (n) {
        v->items = arena_alloc(p->arena, n * sizeof *vec);
        if (!v->items) {
            err_set(p->err, ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(v->items, vec, n * sizeof *vec);
    }
    rc = 0;
done:
    free(vec);
    return rc;
}

static int
parse_value(Parser *p, JsonVal *v, int depth)
{
    if (depth > JSONREAD_MAX_DEPTH)
        return fail(p, "nested too deeply");
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end");
    memset(v, 0, sizeof *v);
    switch (p->s[p->pos]) {
    case '{':
        return parse_container(p, v, depth, true);
    case '[':
        return parse_container(p, v, depth, false);
    case '"':
        v->type = JSON_STR;
        return parse_string(p, &v->str, &v->len);
    case 't':
        v->type = JSON_BOOL;
        v->b = true;
        return expect_word(p, "true");
    case 'f':
        v->type = JSON_BOOL;
        return expect_word(p, "false");
    case 'n':
        v->type = JSON_NULL;
        return expect_word(p, "null");
    default:
        v->type = JSON_NUM;
        return parse_number(p, &v->num);
    }
}

int
jsonread_parse(JsonDoc *doc, const char *text, size_t len, Err *err)
{
    arena_init(&doc->arena);
    Parser p = {text, len, 0, &doc->arena, err};
    doc->root = arena_alloc(&doc->arena, sizeof *doc->root);
    if (!doc->root) {
        arena_fini(&doc->arena);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (parse_value(&p, doc->root, 0) < 0)
        goto fail;
    skip_ws(&p);
    if (p.pos != len) {
        fail(&p, "trailing characters");
        goto fail;
    }
    return 0;
fail:
    arena_fini(&doc->arena);
    doc->root = NULL;
    return -1;
}

void
jsonread_fini(JsonDoc *doc)
{
    arena_fini(&doc->arena);
    doc->root = NULL;
}

const JsonVal *
jsonread_get(const JsonVal *v, const char *key)
{
    if (!v || v->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->items[i].key, key) == 0)
            return &v->items[i];
    return NULL;
}

const JsonVal *
jsonread_get_type(const JsonVal *v, const char *key, JsonType type)
{
    const JsonVal *m = jsonread_get(v, key);
    return m && m->type == type ? m : NULL;
}
