/* SPDX-License-Identifier: MIT */
/* fuzz_jsonread.c: the JSON reader on arbitrary bytes (bench result files, history values). */
#include <stddef.h>
#include <stdint.h>

#include "util/jsonread.h"

static size_t
walk(const JsonVal *v)
{
    size_t n = 1;
    if (v->type == JSON_ARR || v->type == JSON_OBJ)
        for (size_t i = 0; i < v->len; i++)
            n += walk(&v->items[i]);
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    JsonDoc doc;
    Err err;
    if (jsonread_parse(&doc, (const char *)data, size, &err) == 0) {
        (void)walk(doc.root);
        (void)jsonread_get(doc.root, "benchmarks");
        jsonread_fini(&doc);
    }
    return 0;
}
