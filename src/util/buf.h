/* SPDX-License-Identifier: MIT */
/* buf.h: a growable byte buffer for building output and file chunks.
 * Allocation failure is sticky: appends become no-ops and buf_failed() reports it, so a
 * writer appends freely and checks once before it writes the bytes out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;  /* owned; NUL-terminated after every append (not counted in len) */
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; contents are incomplete */
} Buf;

void buf_init(Buf *b);  /* empty buffer, no allocation */
void buf_fini(Buf *b);  /* frees; the Buf may be re-initialised */
void buf_reset(Buf *b); /* len = 0, keeps capacity, clears `failed` */
/* Makes room for `extra` more bytes. Returns 0, or -1 (and sets failed). */
int buf_reserve(Buf *b, size_t extra);
void buf_append(Buf *b, const void *data, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool
buf_failed(const Buf *b)
{
    return b->failed;
}
/* Transfers the bytes to the caller (free() them); the Buf is left empty. */
char *buf_steal(Buf *b, size_t *len);
