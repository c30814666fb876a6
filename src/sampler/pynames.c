/* SPDX-License-Identifier: MIT */
/* pynames.c: a Python thread's name (threading.Thread.name), read from outside:
 * sys.modules["threading"]._active[ident]._name. CPython 3.9-3.13 never pass the name to the
 * kernel, so this is the only way a report can say "cpu-1" rather than "python3". It runs
 * once per new thread (reads go straight to the target, not through the sample snapshot),
 * through the layout's dict, long and instance-attribute fields; anything implausible fails
 * the lookup and the caller keeps the kernel's name. */
#include "sampler/pynames.h"

#include <stdlib.h>
#include <string.h>

#include "sampler/target_impl.h"
#include "util/rd.h"

#define DICT_ENTRIES_MAX 65536 /* larger dicts are not searched */

typedef bool (*KeyMatch)(Target *t, uintptr_t key, const void *want);

static bool
str_is(Target *t, uintptr_t key, const void *want)
{
    const char *w = want;
    const LayoutUnicode *u = &t->layout.unicode_object;
    uint8_t hdr[LAYOUT_MAX_READ];
    Err err;
    /* the length first: most keys differ there, and it costs one small read */
    if (rmem_read(&t->mem, key, hdr, (size_t)u->asciiobject_size, &err) < 0 ||
        (t->unicode_type && rd_ptr(hdr, t->layout.pyobject.ob_type) != t->unicode_type) ||
        rd_i64(hdr, u->length) != (int64_t)strlen(w))
        return false;
    char buf[256];
    size_t n;
    return code_read_string(t, key, buf, sizeof buf, &n, &err) == 0 && strcmp(buf, w) == 0;
}

/* An int object equal to *want (a non-negative value of up to 64 bits)? */
static bool
long_is(Target *t, uintptr_t key, const void *want)
{
    const LayoutLong *l = &t->layout.long_object;
    uint8_t buf[64];
    Err err;
    if ((size_t)l->ob_digit + 12 > sizeof buf ||
        rmem_read(&t->mem, key, buf, (size_t)l->ob_digit + 12, &err) < 0)
        return false;
    int64_t ndigits;
    if (l->tagged) { /* 3.12+: digit count << 3 | sign (0 positive, 1 zero, 2 negative) */
        uint64_t tag = rd_u64(buf, l->size_or_tag);
        if ((tag & 3) == 2)
            return false;
        ndigits = (int64_t)(tag >> 3);
    } else {
        ndigits = rd_i64(buf, l->size_or_tag); /* negative for negative numbers */
    }
    if (ndigits < 0 || ndigits > 3)
        return false;
    uint64_t v = 0;
    for (int64_t i = ndigits - 1; i >= 0; i--) {
        uint32_t d;
        memcpy(&d, buf + l->ob_digit + 4 * i, sizeof d);
        v = v << 30 | (d & 0x3fffffff);
    }
    return v == *(const uint64_t *)want;
}

/* Finds the entry whose key matches in the keys object at keys: its index and (for combined
 * tables) its value. With want_hash, entries that store another hash are passed over without
 * reading their key: one read per lookup instead of one per entry (a process starting
 * thousands of threads looks each one up in a dict of thousands). */
static bool
keys_find(Target *t, uintptr_t keys, KeyMatch match, const void *want, const int64_t *want_hash,
          int64_t *index, uintptr_t *value)
{
    const LayoutDictKeys *k = &t->layout.dict_keys;
    uint8_t hdr[LAYOUT_MAX_READ];
    Err err;
    if (!keys || rmem_read(&t->mem, keys, hdr, (size_t)k->size, &err) < 0)
        return false;
    int64_t nentries = rd_i64(hdr, k->dk_nentries);
    uintptr_t entries;
    int64_t esize = k->entry_size, key_off = 8, value_off = 16; /* {hash, key, value} */
    if (k->dk_size >= 0) { /* 3.9-3.10: index width follows the table size */
        int64_t size = rd_i64(hdr, k->dk_size);
        if (size <= 0 || size > (1 << 24))
            return false;
        int64_t width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
        entries = keys + (uintptr_t)k->dk_indices + (uintptr_t)(size * width);
    } else {
        int log2_index_bytes = hdr[k->dk_log2_index_bytes];
        if (log2_index_bytes > 30)
            return false;
        entries = keys + (uintptr_t)k->dk_indices + ((uintptr_t)1 << log2_index_bytes);
        if (hdr[k->dk_kind] != 0) { /* unicode-only or split keys: {key, value} */
            esize = k->unicode_entry_size;
            key_off = 0;
            value_off = 8;
        }
    }
    if (nentries < 0 || nentries > DICT_ENTRIES_MAX)
        return false;
    size_t len = (size_t)(nentries * esize);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return false;
    bool found = false;
    if (len && rmem_read(&t->mem, entries, buf, len, &err) == 0) {
        for (int64_t i = 0; i < nentries && !found; i++) {
            uintptr_t key = rd_ptr(buf, i * esize + key_off);
            if (want_hash && key_off == 8 && rd_i64(buf, i * esize) != *want_hash)
                continue;
            if (key && !(key & 7) && match(t, key, want)) {
                *index = i;
                *value = rd_ptr(buf, i * esize + value_off);
                found = true;
            }
        }
    }
    free(buf);
    return found;
}

/* The value stored under the matching key of the dict object at dict (combined or split). */
static uintptr_t
dict_get(Target *t, uintptr_t dict, KeyMatch match, const void *want, const int64_t *want_hash)
{
    const LayoutDict *d = &t->layout.dict_object;
    uint8_t hdr[LAYOUT_MAX_READ];
    Err err;
    if (!dict || (dict & 7) || rmem_read(&t->mem, dict, hdr, (size_t)d->size, &err) < 0)
        return 0;
    int64_t index;
    uintptr_t value;
    if (!keys_find(t, rd_ptr(hdr, d->ma_keys), match, want, want_hash, &index, &value))
        return 0;
    uintptr_t values = rd_ptr(hdr, d->ma_values);
    if (!values)
        return value;
    /* a split table: values live apart, in key order */
    int64_t base = t->layout.dict_values.values >= 0 ? t->layout.dict_values.values : 0;
    uintptr_t v;
    if (rmem_read_ptr(&t->mem, values + (uintptr_t)(base + index * 8), &v, &err) < 0)
        return 0;
    return v;
}

/* The attribute `name` of the (Python class) instance at obj. */
static uintptr_t
attr_get(Target *t, uintptr_t obj, const char *name)
{
    const PyLayout *L = &t->layout;
    Err err;
    uintptr_t type;
    uint8_t th[LAYOUT_MAX_READ];
    if (!obj || (obj & 7) || rmem_read_ptr(&t->mem, obj + (uintptr_t)L->pyobject.ob_type, &type,
                                            &err) < 0 ||
        !type || rmem_read(&t->mem, type, th, (size_t)L->type_object.size, &err) < 0)
        return 0;
    uint64_t flags = rd_u64(th, L->type_object.tp_flags);
    uintptr_t dict = 0, values = 0;
    switch (L->attrs.kind) {
    case LAYOUT_ATTRS_DICTOFFSET: {
        int64_t off = rd_i64(th, L->type_object.tp_dictoffset);
        if (off <= 0 || off > 1 << 20 ||
            rmem_read_ptr(&t->mem, obj + (uintptr_t)off, &dict, &err) < 0)
            return 0;
        break;
    }
    case LAYOUT_ATTRS_MANAGED:
        if (!(flags & (uint64_t)L->attrs.managed_flag) ||
            rmem_read_ptr(&t->mem, obj + (uintptr_t)L->attrs.dict_offset, &dict, &err) < 0 ||
            rmem_read_ptr(&t->mem, obj + (uintptr_t)L->attrs.values_offset, &values, &err) < 0)
            return 0;
        break;
    case LAYOUT_ATTRS_DICT_OR_VALUES: {
        uintptr_t dorv;
        if (!(flags & (uint64_t)L->attrs.managed_flag) ||
            rmem_read_ptr(&t->mem, obj + (uintptr_t)L->attrs.dict_offset, &dorv, &err) < 0)
            return 0;
        if (dorv & 1) /* tagged: the values array, stored minus one (3.12 pycore_object.h) */
            values = dorv + 1;
        else
            dict = dorv;
        break;
    }
    case LAYOUT_ATTRS_INLINE:
        if (!(flags & (uint64_t)L->attrs.managed_flag) ||
            rmem_read_ptr(&t->mem, obj + (uintptr_t)L->attrs.dict_offset, &dict, &err) < 0)
            return 0;
        if (!dict && (flags & (uint64_t)L->attrs.inline_flag)) {
            uint8_t valid;
            values = obj + (uintptr_t)L->attrs.values_offset;
            if (rmem_read(&t->mem, values + 3, &valid, 1, &err) < 0 || !valid)
                return 0; /* PyDictValues.valid: the values moved into a dict meanwhile */
        }
        break;
    }
    if (dict)
        return dict_get(t, dict, str_is, name, NULL);
    if (!values || L->heap_type.ht_cached_keys < 0)
        return 0;
    /* values of a split table: the index comes from the class's shared keys */
    uintptr_t keys, v, ignored;
    int64_t index;
    if (rmem_read_ptr(&t->mem, type + (uintptr_t)L->heap_type.ht_cached_keys, &keys, &err) < 0 ||
        !keys_find(t, keys, str_is, name, NULL, &index, &ignored))
        return 0;
    int64_t base = L->dict_values.values >= 0 ? L->dict_values.values : 0;
    if (rmem_read_ptr(&t->mem, values + (uintptr_t)(base + index * 8), &v, &err) < 0)
        return 0;
    return v;
}

int
pynames_thread_name(Target *t, uintptr_t interp, uint64_t ident, bool refind, char *out, size_t cap)
{
    const PyLayout *L = &t->layout;
    Err err;
    out[0] = '\0';
    if (L->interp.modules < 0 || !interp)
        return -1;
    uintptr_t active = 0;
    if (!refind && (t->names_interp != interp || !t->names_active))
        return -1; /* finding _active is the expensive part: only when asked to */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = false;
        if (t->names_interp != interp || !t->names_active) {
            /* sys.modules["threading"]._active, found once per interpreter */
            uintptr_t modules, threading, mdict;
            if (rmem_read_ptr(&t->mem, interp + (uintptr_t)L->interp.modules, &modules, &err) < 0)
                return -1;
            threading = dict_get(t, modules, str_is, "threading", NULL);
            if (!threading || rmem_read_ptr(&t->mem, threading + (uintptr_t)L->module_object.md_dict,
                                            &mdict, &err) < 0)
                return -1;
            t->names_active = dict_get(t, mdict, str_is, "_active", NULL);
            t->names_interp = interp;
            if (!t->names_active)
                return -1;
            fresh = true;
        }
        active = t->names_active;
        /* CPython's hash of a non-negative int: its value modulo 2**61 - 1 */
        int64_t hash = (int64_t)(ident % (((uint64_t)1 << 61) - 1));
        uintptr_t thread = dict_get(t, active, long_is, &ident, &hash);
        uintptr_t name = thread ? attr_get(t, thread, "_name") : 0;
        size_t n;
        if (name && code_read_string(t, name, out, cap, &n, &err) == 0)
            return 0;
        if (fresh || !refind)
            return -1;       /* just found, so current: the thread is not in it (yet) */
        t->names_active = 0; /* stale? look it up again once */
    }
    return -1;
}
