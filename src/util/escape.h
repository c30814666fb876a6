/* SPDX-License-Identifier: MIT */
/* escape.h: writing untrusted strings (function and file names read from a target, a file
 * or the user) into output formats. Every writer goes through these: names may hold quotes,
 * markup, control characters or invalid UTF-8. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Decodes one UTF-8 sequence from s[0..n) (n >= 1). Returns its length (1-4) and sets *cp;
 * for an invalid, overlong, surrogate or truncated sequence returns -1 and sets *cp to
 * 0xFFFD (the caller skips one byte). */
int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
void utf8_put(Buf *b, uint32_t cp);
/* The length in bytes of s[0..n)'s first `chars` characters, each invalid byte counted as
 * one (as esc_text shows it): where to cut a string for display without splitting one. */
size_t utf8_prefix(const char *s, size_t n, size_t chars);

/* JSON string body (no quotes): \" \\ \b \f \n \r \t, other controls as \u00XX, invalid
 * UTF-8 as \ufffd, and < > & U+2028 U+2029 as \u escapes so the JSON can sit inside an
 * HTML <script> element unchanged. */
void esc_json(Buf *b, const char *s, size_t n);
/* HTML/XML text and attribute values: & < > " ' as entities; controls other than tab and
 * newline, and invalid UTF-8, as U+FFFD. */
void esc_html(Buf *b, const char *s, size_t n);

/* Valid UTF-8 with no control characters (C0, DEL, C1): each invalid byte and each control
 * becomes U+FFFD. For formats that carry strings raw, like protobuf (pprof). */
void esc_clean(Buf *b, const char *s, size_t n);

/* Plain text for terminals and line formats: controls and invalid bytes as \xNN (no escape
 * sequence reaches the terminal, no line is split). With ESC_TEXT_SEP, ';' becomes ':' too,
 * so a name cannot split a collapsed-stack frame. */
enum { ESC_TEXT_SEP = 1 };
void esc_text(Buf *b, const char *s, size_t n, int flags);
