/* SPDX-License-Identifier: MIT */
/* test_util.c: varints, hash tables, buffers, error context and the escapers. */
#include <stdlib.h>

#include "check.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/escape.h"
#include "util/hash.h"
#include "util/varint.h"

static void
test_varint(void)
{
    static const uint64_t cases[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t buf[VARINT_MAX];
        uint64_t back = 12345;
        size_t n = varint_put(buf, cases[i]);
        CHECK_EQ_SIZE(n, varint_len(cases[i]));
        CHECK_EQ_SIZE(varint_get(buf, n, &back), n);
        CHECK_EQ_U64(back, cases[i]);
        if (n > 1)
            CHECK_EQ_SIZE(varint_get(buf, n - 1, &back), 0); /* truncated */
    }
    uint8_t overlong[11] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
    uint64_t v;
    CHECK_EQ_SIZE(varint_get(overlong, sizeof overlong, &v), 0);
    static const int64_t sv[] = {0, -1, 1, -2, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < ARRAY_LEN(sv); i++)
        CHECK_EQ_INT(zigzag_dec(zigzag_enc(sv[i])), sv[i]);
    CHECK_EQ_U64(zigzag_enc(-1), 1);
    CHECK_EQ_U64(zigzag_enc(1), 2);
}

static void
test_hash(void)
{
    HashU64 h;
    hashu64_init(&h);
    for (uint64_t k = 0; k < 10000; k++)
        CHECK(hashu64_put(&h, k * 4096 + 7, (uint32_t)k) == 0);
    CHECK_EQ_SIZE(h.len, 10000);
    int bad = 0;
    for (uint64_t k = 0; k < 10000; k++) {
        uint32_t *v = hashu64_find(&h, k * 4096 + 7);
        bad += !v || *v != k;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(hashu64_find(&h, 3) == NULL);
    CHECK(hashu64_put(&h, 7, 99) == 0);
    CHECK_EQ_INT(*hashu64_find(&h, 7), 99);
    CHECK_EQ_SIZE(h.len, 10000);
    hashu64_clear(&h);
    CHECK(hashu64_find(&h, 7) == NULL);
    hashu64_fini(&h);
    CHECK(hash_bytes("abc", 3) != hash_bytes("abd", 3));
    CHECK(hash_bytes("", 0) != hash_bytes("\0", 1));
}

static void
test_err(void)
{
    Err e;
    err_clear(&e);
    CHECK_EQ_INT(err_sys(&e, 3 /* ESRCH */, "reading %s", "x"), -1);
    CHECK_EQ_INT(e.kind, ERR_GONE);
    err_context(&e, "attach %d", 42);
    CHECK_EQ_STR(e.msg, "attach 42: reading x: No such process");
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    err_set(&e, ERR_IO, "%s", big);
    err_context(&e, "ctx");
    CHECK(strncmp(e.msg, "ctx: aaa", 8) == 0);
    CHECK_EQ_SIZE(strlen(e.msg), ERR_MSG_MAX - 1);
}

static void
test_escape(void)
{
    Buf b;
    buf_init(&b);
    esc_json(&b, "a\"b\\c\n</script>\x01", 16);
    CHECK_EQ_STR(b.data, "a\\\"b\\\\c\\n\\u003c/script\\u003e\\u0001");
    buf_reset(&b);
    esc_json(&b, "caf\xc3\xa9 \xff", 7); /* valid é, then an invalid byte */
    CHECK_EQ_STR(b.data, "caf\xc3\xa9 \\ufffd");
    buf_reset(&b);
    esc_html(&b, "<img src=x onerror='a'>&", 24);
    CHECK_EQ_STR(b.data, "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;");
    buf_reset(&b);
    esc_html(&b, "\x1b[31m\xc0\xaf", 7); /* ESC and an overlong '/' */
    CHECK_EQ_STR(b.data, "\xef\xbf\xbd[31m\xef\xbf\xbd\xef\xbf\xbd");
    buf_reset(&b);
    esc_text(&b, "f;g\n\x1b\xe2\x82", 7, ESC_TEXT_SEP);
    CHECK_EQ_STR(b.data, "f:g\\x0a\\x1b\\xe2\\x82");
    buf_reset(&b);
    esc_text(&b, "\xe6\x97\xa5\xe6\x9c\xac", 6, 0); /* valid CJK passes through */
    CHECK_EQ_STR(b.data, "\xe6\x97\xa5\xe6\x9c\xac");
    buf_fini(&b);
    /* cut by characters: whole UTF-8 sequences, an invalid byte counting as one */
    CHECK_EQ_SIZE(utf8_prefix("\xe6\x97\xa5\xe6\x9c\xac", 6, 1), 3);
    CHECK_EQ_SIZE(utf8_prefix("a\xff"
                              "b\xc3\xa9"
                              "c",
                              6, 4),
                  5);
    CHECK_EQ_SIZE(utf8_prefix("ab", 2, 10), 2);
    CHECK_EQ_SIZE(utf8_prefix("ab", 2, 0), 0);
}

static void
test_buf(void)
{
    Buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    CHECK(!buf_failed(&b));
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    CHECK_EQ_SIZE(strlen(b.data), b.len);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buf_reset(&b);
    buf_printf(&b, "<%s>", big);
    CHECK_EQ_SIZE(b.len, 601);
    size_t n;
    char *s = buf_steal(&b, &n);
    CHECK_EQ_SIZE(n, 601);
    CHECK(b.data == NULL);
    free(s);
}

int
main(void)
{
    test_varint();
    test_hash();
    test_err();
    test_escape();
    test_buf();
    return check_report();
}
