/* SPDX-License-Identifier: MIT */
/* driver.h: the Python driver ferret bench runs with `python -c`, and its line protocol
 * (described in driver.c). Parsing replies is pure, so it is fuzzed: the driver process runs
 * the user's code, which could write anything on its descriptors. */
#pragma once
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The driver's Python source, for `python -c`. */
extern const char driver_source[];

typedef enum { DRIVER_OK, DRIVER_VALUE, DRIVER_ERR, DRIVER_FN, DRIVER_END } DriverReplyKind;

typedef struct {
    DriverReplyKind kind;
    double seconds; /* DRIVER_VALUE: finite, >= 0 */
    /* decoded strings, owned (driver_reply_fini frees them):
     * DRIVER_OK: version, executable; DRIVER_ERR: where, summary, traceback; DRIVER_FN: name */
    char *str[3];
} DriverReply;

/* Appends s[0..n) hex-encoded ("-" when empty). */
void driver_hex(Buf *b, const char *s, size_t n);
/* Parses one reply line. Returns 0, or -1 with *err set (ERR_FORMAT, ERR_NOMEM); on failure
 * nothing needs freeing. */
int driver_parse_reply(const char *line, DriverReply *r, Err *err);
void driver_reply_fini(DriverReply *r);
