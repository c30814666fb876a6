/* SPDX-License-Identifier: MIT */
/* code.c: code objects and str objects read from a target, turned into profile frames.
 * A code object's names and line table are read once and cached by address; the frame for
 * (code, instruction offset) is cached too. Each use re-reads the code object's header from
 * the sample's page snapshot (usually already there) and compares the pointers and first line
 * with the cache, so an address reused by another code object is reloaded, never misnamed. */
#include <stdlib.h>
#include <string.h>

#include "sampler/linetable.h"
#include "sampler/target_impl.h"
#include "util/rd.h"
#include "util/escape.h"

int
target_scratch(Target *t, size_t n, Err *err)
{
    if (n <= t->scratch_cap)
        return 0;
    size_t cap = t->scratch_cap ? t->scratch_cap : 16384;
    while (cap < n)
        cap *= 2;
    uint8_t *p = realloc(t->scratch, cap);
    if (!p)
        return err_set(err, ERR_NOMEM, "out of memory reading process %d", (int)t->pid);
    t->scratch = p;
    t->scratch_cap = cap;
    return 0;
}

int
code_read_string(Target *t, uintptr_t addr, char *out, size_t cap, size_t *outlen, Err *err)
{
    const LayoutUnicode *u = &t->layout.unicode_object;
    uint8_t hdr[LAYOUT_MAX_READ];
    size_t hlen = (size_t)u->compactunicodeobject_size + sizeof(uintptr_t);
    if (rmem_read(&t->mem, addr, hdr, hlen, err) < 0)
        return -1;
    if (t->unicode_type && rd_ptr(hdr, t->layout.pyobject.ob_type) != t->unicode_type)
        return err_set(err, ERR_IO, "expected a str object at %#lx", (unsigned long)addr);
    int64_t length = rd_i64(hdr, u->length);
    uint32_t state;
    memcpy(&state, hdr + u->state, sizeof state);
    unsigned kind = (state >> u->kind_shift) & 7;
    bool compact = (state >> u->compact_bit) & 1, ascii = (state >> u->ascii_bit) & 1;
    if (length < 0 || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1))
        return err_set(err, ERR_IO, "implausible str object at %#lx", (unsigned long)addr);
    uintptr_t data;
    if (compact)
        data = addr + (uintptr_t)(ascii ? u->asciiobject_size : u->compactunicodeobject_size);
    else
        data = rd_ptr(hdr, u->compactunicodeobject_size); /* PyUnicodeObject.data.any */
    if (length > STRING_MAX_CHARS)
        length = STRING_MAX_CHARS;
    uint8_t raw[STRING_MAX_CHARS * 4];
    size_t nbytes = (size_t)length * kind;
    if (nbytes && rmem_read(&t->mem, data, raw, nbytes, err) < 0)
        return -1;
    /* to UTF-8; lone surrogates and out-of-range values become U+FFFD */
    Buf b;
    buf_init(&b);
    if (ascii) {
        buf_append(&b, raw, nbytes);
    } else {
        for (int64_t i = 0; i < length; i++) {
            uint32_t cp;
            if (kind == 1) {
                cp = raw[i];
            } else if (kind == 2) {
                uint16_t v;
                memcpy(&v, raw + i * 2, 2);
                cp = v;
            } else {
                memcpy(&cp, raw + i * 4, 4);
            }
            if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                cp = 0xfffd;
            utf8_put(&b, cp);
        }
    }
    if (buf_failed(&b)) {
        buf_fini(&b);
        return err_set(err, ERR_NOMEM, "out of memory reading a string");
    }
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    memcpy(out, b.data ? b.data : "", n);
    out[n] = '\0';
    *outlen = n;
    buf_fini(&b);
    return 0;
}

void
code_cache_reset(Target *t)
{
    for (size_t i = 0; i < t->ncodes; i++)
        free(t->codes[i].linetable);
    t->ncodes = 0;
    hashu64_clear(&t->code_index);
    hashu64_clear(&t->line_frames);
}

void
code_cache_fini(Target *t)
{
    code_cache_reset(t);
    for (size_t i = 0; i < t->nwcache; i++) {
        free(t->wcache[i].raw);
        free(t->wcache[i].ids);
    }
    free(t->wcache);
    t->wcache = NULL;
    t->nwcache = t->wcache_cap = 0;
    free(t->listed);
    t->listed = NULL;
    t->nlisted = t->listed_cap = 0;
    free(t->codes);
    t->codes = NULL;
    t->codes_cap = 0;
    hashu64_fini(&t->code_index);
    hashu64_fini(&t->line_frames);
}

/* The fields that identify a code object, from its header bytes. */
static void
code_identity(const Target *t, const uint8_t *hdr, CodeInfo *ci)
{
    const LayoutCode *c = &t->layout.code_object;
    ci->name_ptr = rd_ptr(hdr, c->qualname >= 0 ? c->qualname : c->name);
    ci->file_ptr = rd_ptr(hdr, c->filename);
    ci->linetable_ptr = rd_ptr(hdr, c->linetable);
    memcpy(&ci->firstlineno, hdr + c->firstlineno, sizeof ci->firstlineno);
    ci->version = 0;
    if (c->co_version >= 0)
        memcpy(&ci->version, hdr + c->co_version, sizeof ci->version);
}

/* Whether the code object now at ci->addr (identity in now) is the one cached in ci. Equal
 * pointers are not enough: a code object compiled after one was freed (exec or compile in a
 * loop) often gets its address, and its name, file and line table the freed ones' (pymalloc
 * hands out the last freed block of a size class first), with other lines in that table.
 * 3.12+ numbers every new code object (co_version); without a number, the line table's bytes
 * are compared with the cached copy (its first LINETABLE_CHECK_MAX bytes and its length), at
 * most every LINETABLE_CHECK_EVERY samples: each comparison is a read, and a frame that moves
 * calls this on every sample (like the walk's cache, a replaced code object may so keep its
 * predecessor's lines for that many samples). */
static bool
code_same(Target *t, CodeInfo *ci, const CodeInfo *now)
{
    if (ci->name_ptr != now->name_ptr || ci->file_ptr != now->file_ptr ||
        ci->linetable_ptr != now->linetable_ptr || ci->firstlineno != now->firstlineno ||
        ci->version != now->version)
        return false;
    if (ci->version || !ci->linetable || t->sample_no - ci->checked < LINETABLE_CHECK_EVERY)
        return true;
    ci->checked = t->sample_no;
    const LayoutBytes *bo = &t->layout.bytes_object;
    size_t n = ci->linetable_len < LINETABLE_CHECK_MAX ? ci->linetable_len : LINETABLE_CHECK_MAX;
    Err err;
    const uint8_t *b = target_read(t, ci->linetable_ptr, (size_t)bo->ob_sval + n, &err);
    return b && rd_i64(b, bo->ob_size) == (int64_t)ci->linetable_len &&
           memcmp(b + bo->ob_sval, ci->linetable, n) == 0;
}

/* Reads the code object at addr (header already in hdr) into a new cache entry. */
static int
code_load(Target *t, Profile *p, uintptr_t addr, const uint8_t *hdr, uint32_t *idx, Err *err)
{
    CodeInfo ci = {.addr = addr, .profile = p, .checked = t->sample_no};
    code_identity(t, hdr, &ci);
    char s[STRING_MAX_CHARS * 4 + 1];
    size_t n;
    if (code_read_string(t, ci.name_ptr, s, sizeof s, &n, err) < 0 ||
        profile_str(p, s, n, &ci.name, err) < 0)
        return -1;
    if (code_read_string(t, ci.file_ptr, s, sizeof s, &n, err) < 0 ||
        profile_str(p, s, n, &ci.file, err) < 0)
        return -1;
    /* the line table is a bytes object */
    const LayoutBytes *bo = &t->layout.bytes_object;
    uint8_t bh[LAYOUT_MAX_READ];
    if (rmem_read(&t->mem, ci.linetable_ptr, bh, (size_t)bo->size, err) < 0)
        return -1;
    if (t->bytes_type && rd_ptr(bh, t->layout.pyobject.ob_type) != t->bytes_type)
        return err_set(err, ERR_IO, "expected a bytes object at %#lx",
                       (unsigned long)ci.linetable_ptr);
    int64_t len = rd_i64(bh, bo->ob_size);
    if (len >= 0 && len <= (int64_t)LINETABLE_MAX) {
        ci.linetable = malloc(len ? (size_t)len : 1);
        if (!ci.linetable)
            return err_set(err, ERR_NOMEM, "out of memory reading a line table");
        if (len && rmem_read(&t->mem, ci.linetable_ptr + (uintptr_t)bo->ob_sval, ci.linetable,
                             (size_t)len, err) < 0) {
            free(ci.linetable);
            return -1;
        }
        ci.linetable_len = (uint32_t)len;
    }
    if (t->ncodes >= CODE_CACHE_MAX) {
        free(ci.linetable);
        code_cache_reset(t);
        return err_set(err, ERR_IO, "code cache full; reset");
    }
    if (t->ncodes == t->codes_cap) {
        size_t cap = t->codes_cap ? t->codes_cap * 2 : 256;
        CodeInfo *nc = realloc(t->codes, cap * sizeof *nc);
        if (!nc) {
            free(ci.linetable);
            return err_set(err, ERR_NOMEM, "out of memory caching code objects");
        }
        t->codes = nc;
        t->codes_cap = cap;
    }
    *idx = (uint32_t)t->ncodes;
    if (hashu64_put(&t->code_index, addr, *idx) < 0) {
        free(ci.linetable);
        return err_set(err, ERR_NOMEM, "out of memory caching code objects");
    }
    t->codes[t->ncodes++] = ci;
    return 0;
}

int
code_frame(Target *t, Profile *p, uintptr_t code_addr, int addrq, FrameId *out, Err *err)
{
    if (p != t->cache_profile) {
        code_cache_reset(t);
        t->cache_profile = p;
    }
    const uint8_t *hdr = target_read(t, code_addr, (size_t)t->span_code, err);
    if (!hdr)
        return -1;
    if (t->code_type && rd_ptr(hdr, t->layout.pyobject.ob_type) != t->code_type)
        return err_set(err, ERR_IO, "expected a code object at %#lx", (unsigned long)code_addr);
    uint32_t idx;
    uint32_t *hit = hashu64_find(&t->code_index, code_addr);
    CodeInfo now;
    code_identity(t, hdr, &now);
    if (hit && *hit != UINT32_MAX) {
        if (code_same(t, &t->codes[*hit], &now))
            idx = *hit;
        else if (code_load(t, p, code_addr, hdr, &idx, err) < 0) /* another code object now */
            return -1;
    } else if (code_load(t, p, code_addr, hdr, &idx, err) < 0) {
        return -1;
    }
    uint64_t key = (uint64_t)idx << 32 | (uint32_t)addrq;
    uint32_t *fr = hashu64_find(&t->line_frames, key);
    if (fr) {
        *out = *fr;
        return 0;
    }
    const CodeInfo *ci = &t->codes[idx];
    int line = ci->linetable
                   ? linetable_line(t->layout.linetable_kind, ci->linetable, ci->linetable_len,
                                    ci->firstlineno, addrq)
                   : 0;
    ProfFrame f = {.name = ci->name, .file = ci->file, .line = line < 0 ? 0 : line,
                   .fn_line = ci->firstlineno, .kind = FRAME_PY};
    if (profile_frame(p, &f, out, err) < 0)
        return -1;
    if (hashu64_put(&t->line_frames, key, *out) < 0)
        return err_set(err, ERR_NOMEM, "out of memory caching frames");
    return 0;
}
