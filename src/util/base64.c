/* SPDX-License-Identifier: MIT */
/* base64.c: RFC 4648 section 4 encoding and a strict decoder. */
#include "util/base64.h"

#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(Buf *out, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63],
                     alphabet[v & 63]};
        buf_append(out, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
        buf_append(out, q, 4);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
        buf_append(out, q, 4);
    }
}

static int
sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len, Err *err)
{
    if (n % 4)
        return err_set(err, ERR_FORMAT, "base64: length %zu is not a multiple of 4", n);
    uint8_t *o = malloc(n / 4 * 3 + 1);
    if (!o)
        return err_set(err, ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = s[i + j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            v[j] = pad ? -1 : sextet(c); /* nothing may follow padding */
            if (v[j] < 0) {
                free(o);
                return err_set(err, ERR_FORMAT, "base64: bad character at offset %zu", i + j);
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        o[k++] = (uint8_t)(w >> 16);
        if (pad < 2)
            o[k++] = (uint8_t)(w >> 8);
        if (pad < 1)
            o[k++] = (uint8_t)w;
    }
    *out = o;
    *out_len = k;
    return 0;
}
