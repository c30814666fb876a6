/* SPDX-License-Identifier: MIT */
/* base64.h: RFC 4648 base64 (standard alphabet, with padding), for binary data carried in
 * JSON (a .ferret profile inside a bench result file). Decoding is strict: untrusted input. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

void base64_encode(Buf *out, const void *data, size_t n);
/* Decodes s[0..n) into a malloc'd buffer (*out, *out_len). Whitespace is not allowed.
 * Returns 0, or -1 with *err set (ERR_FORMAT with the offset, ERR_NOMEM). */
int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len, Err *err);
