/* SPDX-License-Identifier: MIT */
/* test_jsonread.c: the JSON reader on valid documents and on each kind of malformed input. */
#include "check.h"
#include "util/jsonread.h"

static int
parse(const char *s, JsonDoc *doc)
{
    Err err;
    return jsonread_parse(doc, s, strlen(s), &err);
}

int
main(void)
{
    JsonDoc d;
    CHECK_EQ_INT(parse(" {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\n\\u00e9\\ud83d\\ude00\\\"\","
                       " \"o\": {}, \"e\": []} ", &d), 0);
    const JsonVal *a = jsonread_get_type(d.root, "a", JSON_ARR);
    CHECK(a != NULL);
    if (a) {
        CHECK_EQ_SIZE(a->len, 5);
        CHECK_NEAR(a->items[0].num, 1, 0);
        CHECK_NEAR(a->items[1].num, -2500, 0);
        CHECK(a->items[2].type == JSON_BOOL && a->items[2].b);
        CHECK(a->items[3].type == JSON_BOOL && !a->items[3].b);
        CHECK(a->items[4].type == JSON_NULL);
    }
    const JsonVal *s = jsonread_get_type(d.root, "s", JSON_STR);
    CHECK(s != NULL);
    if (s)
        CHECK_EQ_STR(s->str, "x\n\xc3\xa9\xf0\x9f\x98\x80\"");
    CHECK(jsonread_get_type(d.root, "o", JSON_OBJ) != NULL);
    CHECK(jsonread_get_type(d.root, "e", JSON_ARR) != NULL);
    CHECK(jsonread_get(d.root, "missing") == NULL);
    CHECK(jsonread_get_type(d.root, "a", JSON_OBJ) == NULL);
    jsonread_fini(&d);

    /* a round-trip of the precision ferret writes values with */
    CHECK_EQ_INT(parse("[0.00012345678901234567]", &d), 0);
    CHECK_NEAR(d.root->items[0].num, 0.00012345678901234567, 0);
    jsonread_fini(&d);

    static const char *bad[] = {
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "1e", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\x01\"", "\"\xff\"",
        "[1] 2", "{1:2}", "[\"\\ud800\\u0041\"]",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        Err err;
        int rc = jsonread_parse(&d, bad[i], strlen(bad[i]), &err);
        CHECK_EQ_INT(rc, -1);
        if (rc == 0)
            jsonread_fini(&d);
        else
            CHECK_EQ_INT(err.kind, ERR_FORMAT);
    }
    /* nesting beyond the limit is refused, not a stack overflow */
    char deep[2 * (JSONREAD_MAX_DEPTH + 10) + 1];
    for (int i = 0; i < JSONREAD_MAX_DEPTH + 10; i++) {
        deep[i] = '[';
        deep[JSONREAD_MAX_DEPTH + 10 + i] = ']';
    }
    deep[sizeof deep - 1] = 0;
    CHECK_EQ_INT(parse(deep, &d), -1);
    return check_report();
}
