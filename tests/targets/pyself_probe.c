/* SPDX-License-Identifier: MIT */
/* pyself_probe.c: a test-only shared library. Loaded into an interpreter with ctypes, its
 * probe() captures the calling thread's Python stack with pyself.h and writes it as
 * "name:line;name:line..." (innermost first), so tests/e2e/test_pyself.py can compare it
 * with what the interpreter itself says. */
#include <stdio.h>
#include <string.h>

#include "sampler/pyself.h"

__attribute__((visibility("default"))) int
probe(char *out, size_t cap)
{
    Err err;
    PySelf *s = pyself_open(&err);
    if (!s) {
        snprintf(out, cap, "error: %s", err.msg);
        return -1;
    }
    Profile *p = profile_new(PROFILE_MEMORY, &err);
    PyRawFrame raw[256];
    size_t n = pyself_stack(s, raw, 256);
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && p; i++) {
        FrameId id;
        if (pyself_frame(s, &raw[i], p, &id, &err) < 0) {
            snprintf(out, cap, "error: %s", err.msg);
            break;
        }
        const ProfFrame *f = profile_frame_at(p, id);
        off += (size_t)snprintf(out + off, off < cap ? cap - off : 0, "%s%s:%d",
                                i ? ";" : "", profile_strp(p, f->name), (int)f->line);
    }
    profile_free(p);
    pyself_close(s);
    return (int)n;
}
