/* SPDX-License-Identifier: MIT */
/* fuzz_results.c: result files as `ferret compare` reads them, and the values JSON the
 * history stores, on arbitrary bytes; what parses must also summarise and render. */
#include <stdint.h>
#include <string.h>

#include "bench/results.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    BenchRun r;
    Err err;
    if (results_parse_json((const char *)data, size, &r, &err) == 0) {
        Buf b;
        buf_init(&b);
        (void)results_text(&r, &b, &err);
        buf_reset(&b);
        (void)results_json(&r, &b, &err);
        buf_fini(&b);
        results_fini(&r);
    }
    Bench bench;
    if (bench_init(&bench, BENCH_STMT, "x", "x", NULL, NULL, NULL, &err) == 0) {
        (void)results_parse_runs((const char *)data, size, &bench, &err);
        bench_fini(&bench);
    }
    return 0;
}
