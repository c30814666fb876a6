/* SPDX-License-Identifier: MIT */
/* layout.c: the table of generated per-version layouts, their validation, and reading a
 * 3.13+ target's own _Py_DebugOffsets into a layout. Adding a CPython version: generate its
 * py3_X.h (make layouts) and add one line to `layouts` below. */
#include "layouts/layout.h"

#include <stdio.h>
#include <string.h>

#include "layouts/py3_10.h"
#include "layouts/py3_11.h"
#include "layouts/py3_12.h"
#include "layouts/py3_13.h"
#include "layouts/py3_9.h"
#include "util/rd.h"

static const PyLayout *const layouts[] = {
    &py3_9_layout, &py3_10_layout, &py3_11_layout, &py3_12_layout, &py3_13_layout,
};

const PyLayout *
layout_for(int major, int minor)
{
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i]->major == major && layouts[i]->minor == minor)
            return layouts[i];
    return NULL;
}

const PyLayout *
layout_require(int major, int minor, Err *err)
{
    const PyLayout *l = layout_for(major, minor);
    if (!l)
        err_set(err, ERR_UNSUPPORTED, "CPython %d.%d is not supported (ferret reads %s)", major,
                minor, layout_supported());
    return l;
}

const char *
layout_supported(void)
{
    static char text[128];
    if (!text[0]) {
        size_t off = 0;
        for (size_t i = 0; i < sizeof layouts / sizeof layouts[0] && off < sizeof text; i++)
            off += (size_t)snprintf(text + off, sizeof text - off, "%s%d.%d", i ? ", " : "",
                                    layouts[i]->major, layouts[i]->minor);
    }
    return text;
}

int
layout_validate(const PyLayout *l, Err *err)
{
    /* sections copied whole must fit one read; the others (runtime, interp) are huge and
     * only read field by field */
    const struct {
        const char *name;
        int64_t size;
    } whole[] = {
        {"thread", l->thread.size},         {"cframe", l->cframe.size},
        {"frame", l->frame.size},           {"stack_chunk", l->stack_chunk.size},
        {"code_object", l->code_object.size}, {"gil", l->gil.size},
        {"pyobject", l->pyobject.size},     {"bytes_object", l->bytes_object.size},
        {"unicode_object", l->unicode_object.size},
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        if (whole[i].size < 0 || whole[i].size > LAYOUT_MAX_READ)
            return err_set(err, ERR_FORMAT, "layout %d.%d: %s size %lld is implausible", l->major,
                           l->minor, whole[i].name, (long long)whole[i].size);
#define X(sec, fld, width)                                                                         \
    if (l->sec.fld != -1 && (l->sec.fld < 0 || l->sec.fld + (width) > l->sec.size))                \
        return err_set(err, ERR_FORMAT, "layout %d.%d: " #sec "." #fld " at %lld does not fit "    \
                       "in %lld bytes", l->major, l->minor, (long long)l->sec.fld,                 \
                       (long long)l->sec.size);
    PYLAYOUT_FIELDS(X)
#undef X
    /* what every version needs to walk a stack */
    if (l->runtime.interpreters_head < 0 || l->interp.threads_head < 0 || l->thread.next < 0 ||
        l->thread.interp < 0 || l->frame.previous < 0 || l->frame.executable < 0 ||
        l->frame.instr_ptr < 0 || l->code_object.filename < 0 || l->code_object.name < 0 ||
        l->code_object.linetable < 0 || l->code_object.firstlineno < 0)
        return err_set(err, ERR_FORMAT, "layout %d.%d lacks a field every version needs",
                       l->major, l->minor);
    if (l->thread.frame < 0 && l->thread.cframe < 0 && l->thread.current_frame < 0)
        return err_set(err, ERR_FORMAT, "layout %d.%d: no way from a thread to its frames",
                       l->major, l->minor);
    if (l->frames_kind == LAYOUT_FRAMES_INTERP && l->code_object.co_code_adaptive < 0)
        return err_set(err, ERR_FORMAT, "layout %d.%d: no bytecode offset in code objects",
                       l->major, l->minor);
    if (l->unicode_object.kind_bits != 3 || l->unicode_object.kind_shift < 0 ||
        l->unicode_object.kind_shift > 28 || l->unicode_object.compact_bit < 0 ||
        l->unicode_object.compact_bit > 31 || l->unicode_object.ascii_bit < 0 ||
        l->unicode_object.ascii_bit > 31 || l->unicode_object.asciiobject_size <= 0 ||
        l->unicode_object.compactunicodeobject_size < l->unicode_object.asciiobject_size)
        return err_set(err, ERR_FORMAT, "layout %d.%d: implausible str layout", l->major,
                       l->minor);
    return 0;
}

/* max(offset + width) over the present fields of one section (by name). */
static int64_t
span_of(const PyLayout *l, const char *section)
{
    int64_t span = 0;
#define X(sec, fld, width)                                                                         \
    if (strcmp(#sec, section) == 0 && l->sec.fld >= 0 && l->sec.fld + (width) > span)            \
        span = l->sec.fld + (width);
    PYLAYOUT_FIELDS(X)
#undef X
    return span;
}

int64_t
layout_span_thread(const PyLayout *l)
{
    return span_of(l, "thread");
}

int64_t
layout_span_frame(const PyLayout *l)
{
    return span_of(l, "frame");
}

int64_t
layout_span_code(const PyLayout *l)
{
    return span_of(l, "code_object");
}

int
layout_from_debug_offsets(const PyLayout *l, const uint8_t *buf, size_t n, PyLayout *out,
                          uint64_t *version_hex, int *ndiffer, Err *err)
{
    if (!l->debug.present)
        return err_set(err, ERR_INTERNAL, "CPython %d.%d has no debug offsets table", l->major,
                       l->minor);
    if (n < (size_t)l->debug.table_size || n < 16)
        return err_set(err, ERR_FORMAT, "debug offsets table cut short");
    if (memcmp(buf, "xdebugpy", 8) != 0)
        return err_set(err, ERR_FORMAT, "_PyRuntime does not start with the debug cookie");
    if (l->debug.free_threaded >= 0 && rd_u64(buf, l->debug.free_threaded) != 0)
        return err_set(err, ERR_UNSUPPORTED,
                       "free-threaded CPython (no GIL) is not supported: its frames differ");
    *out = *l;
    *version_hex = rd_u64(buf, l->debug.version);
    *ndiffer = 0;
    /* the target's offsets win; a value that does not fit an int64 is rejected below */
#define X(dbg, lay)                                                                                \
    if (l->debug.dbg >= 0 && l->debug.dbg + 8 <= l->debug.table_size) {                            \
        uint64_t v_ = rd_u64(buf, l->debug.dbg);                                                   \
        if (v_ > (uint64_t)INT32_MAX)                                                              \
            return err_set(err, ERR_FORMAT, "debug offset " #dbg " is implausible (%llu)",         \
                           (unsigned long long)v_);                                                \
        if ((int64_t)v_ != out->lay) {                                                             \
            (*ndiffer)++;                                                                          \
            out->lay = (int64_t)v_;                                                                \
        }                                                                                          \
    }
    LAYOUT_DEBUG_CHECKS(X)
#undef X
    if (layout_validate(out, err) < 0)
        return err_context(err, "the target's debug offsets");
    return 0;
}
