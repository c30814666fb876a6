/* SPDX-License-Identifier: MIT */
/* layout.h: where CPython keeps what an external reader needs, for one minor version.
 * One PyLayout covers every version: a section per CPython struct, each starting with its
 * size, fields named as in CPython's own _Py_DebugOffsets so 3.13+ is checked against the
 * target's table. An absent field is -1. Differences between versions are the capability
 * fields (frames_kind, instr_kind, linetable_kind, owner_cstack), never version checks in
 * walk.c. The tables are generated (tools/genlayout) into py3_X.h; adding a version is a
 * generated header and one line in layout.c (docs/LAYOUTS.md). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

typedef enum {
    LAYOUT_FRAMES_OBJECTS = 1, /* 3.9-3.10: heap PyFrameObjects linked by f_back */
    LAYOUT_FRAMES_INTERP = 2,  /* 3.11+: _PyInterpreterFrames on per-thread data stacks */
} LayoutFramesKind;

typedef enum {
    LAYOUT_INSTR_LASTI_BYTES = 1, /* 3.9: int f_lasti, byte offset of the last instruction */
    LAYOUT_INSTR_LASTI_UNITS = 2, /* 3.10: int f_lasti, in 2-byte code units */
    LAYOUT_INSTR_PREV = 3,        /* 3.11-3.12: pointer to the code unit before the next one */
    LAYOUT_INSTR_CURRENT = 4,     /* 3.13+: pointer to the instruction being executed */
} LayoutInstrKind;

typedef enum {
    LAYOUT_LINETABLE_LNOTAB = 1,    /* 3.9 co_lnotab */
    LAYOUT_LINETABLE_310 = 2,       /* 3.10 co_linetable */
    LAYOUT_LINETABLE_LOCATIONS = 3, /* 3.11+ location table */
} LayoutLinetableKind;

typedef struct {
    int64_t size, interpreters_head, interpreters_main, ceval_gil, debug_offsets;
} LayoutRuntime;
typedef struct {
    int64_t size, id, next, threads_head, ceval_gil, modules;
} LayoutInterp;
typedef struct {
    int64_t size, locked, last_holder;
} LayoutGil;
typedef struct {
    int64_t size, prev, next, interp, frame, cframe, current_frame, native_thread_id,
        datastack_chunk, datastack_top, thread_id;
} LayoutThread;
typedef struct {
    int64_t size, current_frame;
} LayoutCFrame;
typedef struct {
    int64_t size, previous, executable, instr_ptr, owner;
} LayoutFrame;
typedef struct {
    int64_t size, previous, chunk_size, top;
} LayoutStackChunk;
typedef struct {
    int64_t size, filename, name, qualname, co_code_adaptive, linetable, firstlineno,
        firsttraceable, /* 3.11+: index of the first RESUME (_PyFrame_IsIncomplete) */
        co_version;     /* 3.12+: a number each new code object takes from a counter */
} LayoutCode;
typedef struct {
    int64_t size, ob_type;
} LayoutObject;
typedef struct {
    int64_t size, ob_size, ob_sval;
} LayoutBytes;
typedef struct {
    int64_t size, state, length, asciiobject_size, compactunicodeobject_size, kind_shift,
        kind_bits, compact_bit, ascii_bit;
} LayoutUnicode;
typedef struct {
    int64_t size, tp_basicsize, tp_flags, tp_dictoffset;
} LayoutType;
typedef struct {
    int64_t size, ht_cached_keys;
} LayoutHeapType;
typedef struct {
    int64_t size, ma_keys, ma_values;
} LayoutDict;
typedef struct {
    int64_t size, dk_size, dk_log2_size, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices,
        entry_size, unicode_entry_size;
} LayoutDictKeys;
typedef struct {
    int64_t size, values;
} LayoutDictValues;
typedef struct {
    int64_t size, size_or_tag, ob_digit, tagged;
} LayoutLong;
typedef struct {
    int64_t size, md_dict;
} LayoutModule;

/* Where an instance keeps its attributes (a capability, like frames_kind). */
typedef enum {
    LAYOUT_ATTRS_DICTOFFSET = 1,     /* 3.9-3.10: a dict at the type's tp_dictoffset */
    LAYOUT_ATTRS_MANAGED = 2,        /* 3.11: values pointer and dict pointer before the object */
    LAYOUT_ATTRS_DICT_OR_VALUES = 3, /* 3.12: one tagged pointer before the object */
    LAYOUT_ATTRS_INLINE = 4,         /* 3.13: values right after the object, or a dict */
} LayoutAttrsKind;
typedef struct {
    LayoutAttrsKind kind;
    int64_t managed_flag, inline_flag; /* tp_flags bits */
    int64_t dict_offset, values_offset; /* from the object's address */
} LayoutAttrs;

/* Where each checked offset sits inside the target's _Py_DebugOffsets table (byte position
 * of a uint64_t), for versions that have one (present = 1). X(debug_field, layout_field).
 * The GIL fields are left out: 3.13's table gives them relative to the interpreter's own
 * _gil member, while ferret reads the GIL through interp->ceval.gil. */
#define LAYOUT_DEBUG_CHECKS(X)                                                                     \
    X(runtime_interpreters_head, runtime.interpreters_head)                                        \
    X(interp_id, interp.id)                                                                        \
    X(interp_next, interp.next)                                                                    \
    X(interp_threads_head, interp.threads_head)                                                    \
    X(interp_ceval_gil, interp.ceval_gil)                                                          \
    X(thread_prev, thread.prev)                                                                    \
    X(thread_next, thread.next)                                                                    \
    X(thread_interp, thread.interp)                                                                \
    X(thread_current_frame, thread.current_frame)                                                  \
    X(thread_thread_id, thread.thread_id)                                                          \
    X(thread_native_thread_id, thread.native_thread_id)                                            \
    X(thread_datastack_chunk, thread.datastack_chunk)                                              \
    X(frame_previous, frame.previous)                                                              \
    X(frame_executable, frame.executable)                                                          \
    X(frame_instr_ptr, frame.instr_ptr)                                                            \
    X(frame_owner, frame.owner)                                                                    \
    X(code_filename, code_object.filename)                                                         \
    X(code_name, code_object.name)                                                                 \
    X(code_qualname, code_object.qualname)                                                         \
    X(code_linetable, code_object.linetable)                                                       \
    X(code_firstlineno, code_object.firstlineno)                                                   \
    X(code_co_code_adaptive, code_object.co_code_adaptive)                                         \
    X(pyobject_ob_type, pyobject.ob_type)                                                          \
    X(bytes_ob_size, bytes_object.ob_size)                                                         \
    X(bytes_ob_sval, bytes_object.ob_sval)                                                         \
    X(unicode_state, unicode_object.state)                                                         \
    X(unicode_length, unicode_object.length)                                                       \
    X(unicode_asciiobject_size, unicode_object.asciiobject_size)                                   \
    X(interp_imports_modules, interp.modules)                                                      \
    X(dict_ma_keys, dict_object.ma_keys)                                                           \
    X(dict_ma_values, dict_object.ma_values)                                                       \
    X(long_lv_tag, long_object.size_or_tag)                                                        \
    X(long_ob_digit, long_object.ob_digit)

typedef struct {
    int64_t present, table_size, version, free_threaded;
#define X(dbg, lay) int64_t dbg;
    LAYOUT_DEBUG_CHECKS(X)
#undef X
} LayoutDebug;

typedef struct {
    int major, minor;
    LayoutFramesKind frames_kind;
    LayoutInstrKind instr_kind;
    LayoutLinetableKind linetable_kind;
    int owner_cstack; /* owner value of C-stack shim frames (3.12+), -1 if none */
    int owner_generator; /* owner value of frames a generator or coroutine holds (3.11+) */
    int code_unit;    /* bytes per code unit */
    LayoutRuntime runtime;
    LayoutInterp interp;
    LayoutGil gil;
    LayoutThread thread;
    LayoutCFrame cframe;
    LayoutFrame frame;
    LayoutStackChunk stack_chunk;
    LayoutCode code_object;
    LayoutObject pyobject;
    LayoutBytes bytes_object;
    LayoutUnicode unicode_object;
    LayoutType type_object;
    LayoutHeapType heap_type;
    LayoutDict dict_object;
    LayoutDictKeys dict_keys;
    LayoutDictValues dict_values;
    LayoutLong long_object;
    LayoutModule module_object;
    LayoutAttrs attrs;
    LayoutDebug debug; /* positions inside _Py_DebugOffsets (3.13+) */
} PyLayout;

/* Every field a reader dereferences: X(section, field, width in bytes). Sections read as a
 * whole (thread, frame, code_object, ...) must hold each present field within their size;
 * layout_validate checks that once, so walk.c can trust the table afterwards. Keep in step
 * with the structs above and with genlayout.c. */
#define PYLAYOUT_FIELDS(X)                                                                         \
    X(runtime, interpreters_head, 8)                                                               \
    X(runtime, interpreters_main, 8)                                                               \
    X(runtime, ceval_gil, 8)                                                                       \
    X(interp, id, 8)                                                                               \
    X(interp, next, 8)                                                                             \
    X(interp, threads_head, 8)                                                                     \
    X(interp, ceval_gil, 8)                                                                        \
    X(gil, locked, 4)                                                                              \
    X(gil, last_holder, 8)                                                                         \
    X(thread, prev, 8)                                                                             \
    X(thread, next, 8)                                                                             \
    X(thread, interp, 8)                                                                           \
    X(thread, frame, 8)                                                                            \
    X(thread, cframe, 8)                                                                           \
    X(thread, current_frame, 8)                                                                    \
    X(thread, native_thread_id, 8)                                                                 \
    X(thread, datastack_chunk, 8)                                                                  \
    X(thread, datastack_top, 8)                                                                    \
    X(thread, thread_id, 8)                                                                        \
    X(cframe, current_frame, 8)                                                                    \
    X(frame, previous, 8)                                                                          \
    X(frame, executable, 8)                                                                        \
    X(frame, instr_ptr, 8)                                                                         \
    X(frame, owner, 1)                                                                             \
    X(stack_chunk, previous, 8)                                                                    \
    X(stack_chunk, chunk_size, 8)                                                                  \
    X(stack_chunk, top, 8)                                                                         \
    X(code_object, filename, 8)                                                                    \
    X(code_object, name, 8)                                                                        \
    X(code_object, qualname, 8)                                                                    \
    X(code_object, linetable, 8)                                                                   \
    X(code_object, firstlineno, 4)                                                                 \
    X(code_object, firsttraceable, 4)                                                              \
    X(code_object, co_version, 4)                                                                  \
    X(pyobject, ob_type, 8)                                                                        \
    X(bytes_object, ob_size, 8)                                                                    \
    X(unicode_object, state, 4)                                                                    \
    X(unicode_object, length, 8)                                                                   \
    X(type_object, tp_basicsize, 8)                                                                \
    X(type_object, tp_flags, 8)                                                                    \
    X(type_object, tp_dictoffset, 8)                                                               \
    X(heap_type, ht_cached_keys, 8)                                                                \
    X(dict_object, ma_keys, 8)                                                                     \
    X(dict_object, ma_values, 8)                                                                   \
    X(dict_keys, dk_size, 8)                                                                       \
    X(dict_keys, dk_log2_size, 1)                                                                  \
    X(dict_keys, dk_log2_index_bytes, 1)                                                           \
    X(dict_keys, dk_kind, 1)                                                                       \
    X(dict_keys, dk_nentries, 8)                                                                   \
    X(long_object, size_or_tag, 8)                                                                 \
    X(long_object, ob_digit, 4)                                                                    \
    X(module_object, md_dict, 8)

/* Largest section we ever copy out in one read; layout_validate refuses bigger sizes for
 * the sections read whole. */
#define LAYOUT_MAX_READ 4096

/* The generated table for major.minor, or NULL (an unknown version is refused, never
 * guessed). */
const PyLayout *layout_for(int major, int minor);
/* The same, or NULL with ERR_UNSUPPORTED: "CPython X.Y is not supported (ferret reads ...)". */
const PyLayout *layout_require(int major, int minor, Err *err);
/* Checks every present field lies inside its section and the sections read whole fit
 * LAYOUT_MAX_READ. Returns 0 or -1 with *err set. */
int layout_validate(const PyLayout *l, Err *err);
/* Supported versions as text ("3.9, 3.10, ..."). Static storage. */
const char *layout_supported(void);
/* Bytes of a section that must be read to see all of its fields: max(offset + width). */
int64_t layout_span_thread(const PyLayout *l);
int64_t layout_span_frame(const PyLayout *l);
int64_t layout_span_code(const PyLayout *l);

/* 3.13+: reads the target's own _Py_DebugOffsets (raw bytes copied from the start of
 * _PyRuntime, n >= l->debug.table_size of them) into *out, a copy of l: every checked offset
 * is taken from the target, and *ndiffer counts those that disagree with the generated
 * table (a patch release that moved a field). Fails with ERR_FORMAT when the cookie is
 * wrong, or the result does not validate. *version_hex gets the table's PY_VERSION_HEX. */
int layout_from_debug_offsets(const PyLayout *l, const uint8_t *buf, size_t n, PyLayout *out,
                              uint64_t *version_hex, int *ndiffer, Err *err);
